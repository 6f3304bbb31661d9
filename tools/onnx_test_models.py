#!/usr/bin/env python3
"""The ONNX models and onnxruntime references of the importer's tests (tests/onnx_import.rs).
Run from the project root:

    pip install onnx onnxruntime numpy
    python3 tools/onnx_test_models.py

Writes into tests/fixtures/onnx/:
- tiny-resnet.onnx: a ResNet-style CNN with the operators the face networks lack (grouped,
  dilated and depthwise convs, batch norms to fold and one that cannot be folded, max and average
  pooling with padding, LeakyRelu, HardSwish, HardSigmoid, Clip, PRelu, a squeeze-excite Mul,
  Concat, Slice, Sub/Div, GlobalAveragePool, Flatten, Gemm);
- tiny-vit.onnx: one ViT block (patch conv, the x.view(x.size(0), C, -1) shape chain, a position
  embedding, LayerNormalization, two-head attention with MatMul/Transpose/Softmax, GELU, a
  class-token Gather, ReduceMean, Concat);
- unsupported.onnx: a graph with an Einsum node (the importer must name it and refuse);
- reference.json: each model's input (an integer formula the Rust test recomputes) and outputs,
  and onnxruntime's outputs for the shared MobileFaceNet and MiniFASNet exports on the same kind
  of inputs.
Weights are random (seeded): the operators are what is tested.
"""
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "onnx"
SHARED = ROOT.parent / "shared"
rng = np.random.default_rng(7)


def pattern(k, shape):
    """Sample k of an input batch: integers mapped to [-1, 1], exact in f32 in both languages."""
    idx = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return (((idx * 37 + k * 101 + (idx // 7) * 13) % 255).astype(np.float32) - 127.0) / 128.0


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def w(self, shape, scale=None, positive=False):
        self.n += 1
        fan = np.prod(shape[1:]) if len(shape) > 1 else shape[0]
        v = rng.standard_normal(shape).astype(np.float32) * (scale or 1.0 / np.sqrt(fan))
        if positive:
            v = np.abs(v) + 0.5
        name = f"w{self.n}"
        self.inits.append(numpy_helper.from_array(v.astype(np.float32), name))
        return name

    def ints(self, values):
        self.n += 1
        name = f"i{self.n}"
        self.inits.append(numpy_helper.from_array(np.array(values, dtype=np.int64), name))
        return name

    def scalar(self, value):
        self.n += 1
        name = f"s{self.n}"
        self.inits.append(numpy_helper.from_array(np.array(value, dtype=np.float32), name))
        return name

    def op(self, op_type, inputs, **attrs):
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=f"{op_type.lower()}_{self.n}", **attrs))
        return out

    def bn(self, x, c):
        return self.op("BatchNormalization", [x, self.w([c], positive=True), self.w([c]), self.w([c], 0.1),
                                              self.w([c], positive=True)], epsilon=1e-3)

    def model(self, x_shape, out, out_dim, opset):
        g = helper.make_graph(self.nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", out_dim])], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="webverify tests")
        m.ir_version = 9
        onnx.checker.check_model(m, full_check=True)
        return m


def tiny_resnet():
    g = Graph()
    x = g.op("Div", [g.op("Sub", ["input", g.w([1, 3, 1, 1])]), g.w([3, 1, 1], positive=True)])
    x = g.op("Relu", [g.bn(g.op("Conv", [x, g.w([16, 3, 3, 3])], strides=[2, 2], pads=[1, 1, 1, 1]), 16)])
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])  # 8x8
    y = g.op("LeakyRelu", [g.bn(g.op("Conv", [x, g.w([16, 8, 3, 3])], group=2, pads=[1, 1, 1, 1]), 16)], alpha=0.1)
    y = g.op("HardSwish", [g.op("Conv", [y, g.w([16, 1, 3, 3]), g.w([16])], group=16, dilations=[2, 2],
                                pads=[2, 2, 2, 2])])
    x = g.op("Add", [x, y])
    se = g.op("GlobalAveragePool", [x])
    se = g.op("HardSigmoid", [g.op("Conv", [se, g.w([16, 16, 1, 1]), g.w([16])])], alpha=0.25, beta=0.5)
    x = g.op("Mul", [x, se])
    a = g.op("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0)
    b = g.op("Conv", [x, g.w([8, 16, 3, 3])], strides=[2, 2], auto_pad="SAME_LOWER")
    b = g.op("Clip", [b, g.scalar(0.0), g.scalar(0.5)])
    x = g.op("Concat", [a, b], axis=1)  # 24 x 4 x 4
    x = g.op("Slice", [x, g.ints([2]), g.ints([22]), g.ints([1])])  # channels 2..22
    x = g.op("PRelu", [x, g.w([20, 1, 1], 0.3)])
    x = g.bn(g.op("Mul", [x, g.w([1, 20, 1, 1])]), 20)  # a batch norm that cannot fold
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    x = g.op("Gemm", [x, g.w([12, 20]), g.w([12])], transB=1, alpha=0.5, beta=2.0)
    x = g.op("Tanh", [x])
    return g.model(["N", 3, 32, 32], x, 12, 17)


def tiny_vit():
    g = Graph()
    d, t, heads = 16, 16, 2
    x = g.op("Conv", ["input", g.w([d, 3, 8, 8]), g.w([d])], strides=[8, 8])  # N x 16 x 4 x 4
    shape = g.op("Shape", [x])
    n = g.op("Gather", [shape, g.ints(0)], axis=0)
    target = g.op("Concat", [g.op("Unsqueeze", [n, g.ints([0])]), g.ints([d, -1])], axis=0)
    x = g.op("Transpose", [g.op("Reshape", [x, target])], perm=[0, 2, 1])  # N x T x D
    x = g.op("Add", [x, g.w([1, t, d], 0.1)])
    h = g.op("LayerNormalization", [x, g.w([d], positive=True), g.w([d], 0.1)], axis=-1, epsilon=1e-5)

    def proj(v):
        return g.op("Add", [g.op("MatMul", [v, g.w([d, d])]), g.w([d], 0.1)])

    def split(v):  # N x T x D -> N x H x T x D/H
        return g.op("Transpose", [g.op("Reshape", [v, g.ints([0, t, heads, d // heads])])], perm=[0, 2, 1, 3])

    q, k, v = split(proj(h)), split(proj(h)), split(proj(h))
    kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    att = g.op("Softmax", [g.op("Mul", [g.op("MatMul", [q, kt]), g.scalar(1 / np.sqrt(d // heads))])], axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [att, v])], perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.ints([0, t, d])])
    x = g.op("Add", [x, proj(o)])
    h = g.op("LayerNormalization", [x, g.w([d], positive=True), g.w([d], 0.1)], axis=-1)
    h = g.op("Gelu", [g.op("MatMul", [h, g.w([d, 2 * d])])])
    h = g.op("Gelu", [h], approximate="tanh")
    x = g.op("Add", [x, g.op("MatMul", [h, g.w([2 * d, d])])])
    token = g.op("Gather", [x, g.ints(0)], axis=1)  # N x D
    pooled = g.op("Sigmoid", [g.op("ReduceMean", [x, g.ints([1])], keepdims=0)])  # N x D
    x = g.op("Concat", [token, pooled], axis=1)
    x = g.op("Div", [x, g.w([2 * d], positive=True)])
    return g.model(["N", 3, 32, 32], x, 2 * d, 20)


def unsupported():
    g = Graph()
    x = g.op("Flatten", [g.op("GlobalAveragePool", ["input"])])
    g.nodes.append(helper.make_node("Einsum", [x, g.w([3, 4])], ["mixed"], name="mix", equation="nc,cd->nd"))
    return g.model(["N", 3, 8, 8], "mixed", 4, 17)


def run(model_path, inputs):
    s = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return s.run(None, {name: np.stack(inputs)})[0]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    reference = {}
    for name, build in [("tiny-resnet", tiny_resnet), ("tiny-vit", tiny_vit), ("unsupported", unsupported)]:
        model = build()
        path = OUT / f"{name}.onnx"
        onnx.save(model, path)
        if name == "unsupported":
            continue
        shape = [3, 32, 32]
        outputs = run(path, [pattern(k, shape) for k in range(3)])
        reference[name] = {"input": shape, "samples": 3, "outputs": outputs.tolist()}
    shared = {
        "mobilefacenet": (SHARED / "peers/ort/models/mobilefacenet.onnx", [112, 112, 3]),
        "minifasnet-v2": (SHARED / "models-src/minifasnet/2.7_80x80_MiniFASNetV2.onnx", [3, 80, 80]),
        "minifasnet-v1se": (SHARED / "models-src/minifasnet/4_0_0_80x80_MiniFASNetV1SE.onnx", [3, 80, 80]),
    }
    for name, (path, shape) in shared.items():
        outputs = run(path, [pattern(k, shape) for k in range(2)])
        reference[name] = {"input": shape, "samples": 2, "outputs": outputs.tolist()}
    with open(OUT / "reference.json", "w") as f:
        json.dump(reference, f, indent=None)
        f.write("\n")


if __name__ == "__main__":
    main()
