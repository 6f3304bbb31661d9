#!/usr/bin/env python3
"""Writes a validation pair list (the general `fold path_a path_b same` format) over Extended
Yale B people yaleB23-yaleB28: training people held out to choose fine-tuning settings, so
that the reported test people (yaleB29-yaleB39, pairs_test.txt) are never used to tune.

usage: validation_pairs.py <yaleb folder> > yaleb-validation.txt   (paths relative to <yaleb folder>)
"""
import os
import random
import sys

root = sys.argv[1]
people = [f"yaleB{i:02d}" for i in range(23, 29)]
images = {
    p: sorted(f for f in os.listdir(os.path.join(root, p)) if f.endswith(".png"))
    for p in people
    if os.path.isdir(os.path.join(root, p))
}
rng = random.Random(0)
print("# fold\tpath_a\tpath_b\tsame; validation people yaleB23-yaleB28, seed 0")
for fold in range(1, 11):
    for _ in range(150):
        p = rng.choice(sorted(images))
        a, b = rng.sample(images[p], 2)
        print(f"{fold}\t{p}/{a}\t{p}/{b}\t1")
    for _ in range(150):
        p, q = rng.sample(sorted(images), 2)
        print(f"{fold}\t{p}/{rng.choice(images[p])}\t{q}/{rng.choice(images[q])}\t0")
