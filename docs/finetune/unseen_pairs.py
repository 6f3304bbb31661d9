#!/usr/bin/env python3
"""Writes every pair of images of the people a fine-tuning run never saw (the general
`fold path_a path_b same` pair format), to measure the FAR at a tuned model's self-fitted
thresholds on unseen classes (docs/FINETUNE.md, "A tuned model calibrates itself").

`webverify train --from A --to B` trains on the people whose folder names sort between A and B
(as strings); the people outside that range are the unseen ones listed here. Folds are dealt
round robin (the FAR needs none; `webverify eval` reports accuracy over them).

usage: unseen_pairs.py <folder of people> <from> <to> > pairs.txt   (paths relative to the folder)
"""
import itertools
import os
import sys

root, first, last = sys.argv[1], sys.argv[2], sys.argv[3]
people = sorted(
    p for p in os.listdir(root)
    if os.path.isdir(os.path.join(root, p)) and not (first <= p <= last)
)
images = [
    (p, f"{p}/{f}")
    for p in people
    for f in sorted(os.listdir(os.path.join(root, p)))
    if f.lower().endswith((".png", ".pgm", ".jpg", ".jpeg"))
]
print(f"# fold\tpath_a\tpath_b\tsame; every pair of {len(people)} people outside {first}..{last}")
for k, ((p, a), (q, b)) in enumerate(itertools.combinations(images, 2)):
    print(f"{k % 10 + 1}\t{a}\t{b}\t{int(p == q)}")
