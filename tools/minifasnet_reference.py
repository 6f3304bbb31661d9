#!/usr/bin/env python3
"""Reference logits of the MiniFASNet ONNX exports (onnxruntime, fp32) for the liveness port's
fidelity test (tests/liveness.rs). Run from the project root:

    pip install onnxruntime numpy pillow
    python3 tools/minifasnet_reference.py > tests/fixtures/minifasnet-reference.json

Inputs, all [3, 80, 80] BGR 0-255 as the models take them, rebuilt bit for bit by the test:
- four synthetic patterns (integer formula below);
- four NUAA frames (two live, two print; ../shared/data, not committed), each cut to the same
  320x320 rectangle and sampled to 80x80 by nearest neighbour (pixel 4*i + 2).
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT.parent / "shared" / "models-src" / "minifasnet"
NUAA = ROOT.parent / "shared" / "data" / "nuaa"
MODELS = {
    "minifasnet-v1se": "4_0_0_80x80_MiniFASNetV1SE.onnx",
    "minifasnet-v2": "2.7_80x80_MiniFASNetV2.onnx",
}
FRAMES = [
    "ClientRaw/0001/0001_00_00_01_0.jpg",
    "ClientRaw/0009/" + sorted((NUAA / "ClientRaw/0009").iterdir())[0].name,
    "ImposterRaw/0001/" + sorted((NUAA / "ImposterRaw/0001").iterdir())[0].name,
    "ImposterRaw/0009/" + sorted((NUAA / "ImposterRaw/0009").iterdir())[0].name,
]
X0, Y0, STEP = 160, 80, 4


def synthetic(k):
    c, y, x = np.meshgrid(np.arange(3), np.arange(80), np.arange(80), indexing="ij")
    return ((37 * x + 71 * y + 113 * c + 57 * k * k + (x * y) % 17 * 5) % 256).astype(np.float32)


def frame(path):
    rgb = np.asarray(Image.open(NUAA / path).convert("RGB"))
    idx = np.arange(80) * STEP + STEP // 2
    crop = rgb[Y0 + idx][:, X0 + idx]  # [80, 80, 3] RGB
    return crop[:, :, ::-1].transpose(2, 0, 1).astype(np.float32)  # BGR, planar


inputs = [("synthetic", k, synthetic(k)) for k in range(4)] + [("frame", p, frame(p)) for p in FRAMES]
batch = np.stack([x for _, _, x in inputs])
out = {"crop": {"x0": X0, "y0": Y0, "step": STEP}, "inputs": [[kind, key] for kind, key, _ in inputs], "logits": {}}
for name, file in MODELS.items():
    session = ort.InferenceSession(str(SOURCES / file), providers=["CPUExecutionProvider"])
    logits = np.concatenate([session.run(None, {"input": x[None]})[0] for x in batch])
    out["logits"][name] = logits.tolist()
json.dump(out, sys.stdout, indent=1)
print()
