//! BlazeFace's inference on the CPU kernels of this module, built from the same weights file as
//! the burn module (`crate::nn::blazeface`), which stays the reference the tests compare to.
//!
//! Why: on burn's Flex ops the detector cost twice the embedder in a verification (it runs four
//! times per pair: each photo, then an upright crop around its face), through a generic 3-D conv,
//! a max pool that also computes indices, and a copy per channel padding. Here every map is NHWC
//! with its channels padded to the GEMM panel ([`PANEL`], zero weights and biases: the padded
//! channels stay exactly 0 through every layer), the residual add and ReLU are fused into the 1x1
//! conv, and the shortcut's max pool and channel padding are one pass.

use super::depthwise::{same, Depthwise, Geometry};
use super::im2col::im2col;
use super::pointwise::{Epilogue, Pointwise, PANEL};
use super::Scratch;
use crate::error::{Error, Result};
use crate::nn::blazeface::{
    BlazeFaceWeights, ConvTensors, BLOCKS, HEADS, INPUT_SIZE, VALUES_PER_ANCHOR,
};

/// Side of the stem's output: 128 / 2.
const STEM_SIDE: usize = INPUT_SIZE / 2;
/// The largest map: 64 × 64 pixels × 32 (28 channels padded).
const MAX_MAP: usize = STEM_SIDE * STEM_SIDE * 32;
/// The stem's im2col rows: 64 × 64 pixels × 5 · 5 · 3; they fit in the three maps the stem
/// does not write.
const STEM_ROWS: usize = STEM_SIDE * STEM_SIDE * 75;
const _: () = assert!(STEM_ROWS <= 3 * MAX_MAP);

fn padded(channels: usize) -> usize {
    channels.next_multiple_of(PANEL)
}

struct Block {
    depthwise: Depthwise<3>,
    pointwise: Pointwise,
    stride: usize,
    /// Padded channels in and out.
    inputs: usize,
    outputs: usize,
}

struct Head {
    /// After which block it reads the map.
    after: usize,
    anchors: usize,
    classifier: Pointwise,
    regressor: Pointwise,
}

/// BlazeFace packed for the CPU kernels.
pub struct PackedBlazeFace {
    /// The 5x5 stride-2 stem as a GEMM over im2col rows (75 inputs), ReLU fused.
    stem: Pointwise,
    blocks: Vec<Block>,
    heads: Vec<Head>,
    /// Four maps.
    scratch: Scratch,
}

/// A conv's weights (burn's `[o, i, k, k]`) and bias with the output and input channels padded
/// with zeros to `outputs` and `inputs`.
fn padded_tensors(t: &ConvTensors, inputs: usize, outputs: usize) -> (Vec<f32>, Vec<f32>) {
    let [o, i, kh, kw] = t.spec.weight_shape();
    let taps = kh * kw;
    let mut weight = vec![0.0; outputs * inputs * taps];
    for oc in 0..o {
        for ic in 0..i {
            let from = (oc * i + ic) * taps;
            let to = (oc * inputs + ic) * taps;
            weight[to..to + taps].copy_from_slice(&t.weight[from..from + taps]);
        }
    }
    let mut bias = vec![0.0; outputs];
    bias[..o].copy_from_slice(&t.bias);
    (weight, bias)
}

fn packing(name: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::ModelLoad(format!("packing {name} for the CPU kernels: {e}"))
}

fn pointwise(t: &ConvTensors) -> Result<Pointwise> {
    let (inputs, outputs) = (padded(t.spec.in_channels), padded(t.spec.out_channels));
    let (w, b) = padded_tensors(t, inputs, outputs);
    Pointwise::new(&w, inputs, outputs, b, None).map_err(packing(&t.spec.name))
}

impl PackedBlazeFace {
    /// Packs the detector from its weights (the same values as the burn module's).
    pub fn build(weights: &BlazeFaceWeights) -> Result<Self> {
        let stem_out = weights.stem.spec.out_channels;
        let (w, b) = padded_tensors(&weights.stem, 3, padded(stem_out));
        let stem = Pointwise::new(&w, 75, padded(stem_out), b, None).map_err(packing("stem"))?;
        let mut blocks = Vec::with_capacity(BLOCKS.len());
        for (&(cin, cout, stride), [depthwise, pointwise_conv]) in
            BLOCKS.iter().zip(&weights.blocks)
        {
            let (w, b) = padded_tensors(depthwise, 1, padded(cin));
            let depthwise = Depthwise::<3>::new(&w, padded(cin), stride, b, None)
                .map_err(packing(&depthwise.spec.name))?;
            blocks.push(Block {
                depthwise,
                pointwise: pointwise(pointwise_conv)?,
                stride,
                inputs: padded(cin),
                outputs: padded(cout),
            });
        }
        let heads = HEADS
            .iter()
            .zip(&weights.heads)
            .map(|(&(after, _, anchors), [classifier, regressor])| {
                Ok(Head {
                    after,
                    anchors,
                    classifier: pointwise(classifier)?,
                    regressor: pointwise(regressor)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            stem,
            blocks,
            heads,
            scratch: Scratch::new(4 * MAX_MAP),
        })
    }

    /// The raw anchor outputs (`896 × 17`: score logit, then 16 box and keypoint values, anchors
    /// ordered as the burn module's) of one image given as burn's input (`[3, 128, 128]`, in
    /// [−1, 1]).
    pub fn forward(&self, image: &[f32]) -> Vec<f32> {
        assert_eq!(
            image.len(),
            3 * INPUT_SIZE * INPUT_SIZE,
            "input of 3 × {INPUT_SIZE}²"
        );
        self.scratch
            .with(|scratch| self.forward_with(image, scratch))
    }

    fn forward_with(&self, image: &[f32], scratch: &mut [f32]) -> Vec<f32> {
        let (mut x, rest) = scratch.split_at_mut(MAX_MAP);
        let (mut side, pad) = same(INPUT_SIZE, 5, 2);
        im2col::<5>(image, INPUT_SIZE, 2, pad, side, rest);
        self.stem.run(rest, side * side, Epilogue::Relu, x);
        let (mut y, rest) = rest.split_at_mut(MAX_MAP);
        let (d, shortcut) = rest.split_at_mut(MAX_MAP);

        let anchors: usize = HEADS
            .iter()
            .map(|&(after, _, a)| {
                let s = self.side_after(after);
                s * s * a
            })
            .sum();
        let mut out = vec![0.0; anchors * VALUES_PER_ANCHOR];
        let mut written = 0;
        for (i, b) in self.blocks.iter().enumerate() {
            let (out_side, g) = Geometry::same(side, 3, b.stride);
            b.depthwise.run(x, g, d);
            let residual: &[f32] = if b.stride == 1 && b.inputs == b.outputs {
                x
            } else {
                pool_and_widen(x, side, b.inputs, b.stride, b.outputs, shortcut);
                shortcut
            };
            b.pointwise
                .run(d, out_side * out_side, Epilogue::ResidualRelu(residual), y);
            std::mem::swap(&mut x, &mut y);
            side = out_side;
            for head in self.heads.iter().filter(|h| h.after == i) {
                written += head.run(x, side * side, &mut out[written..]);
            }
        }
        out
    }

    /// The side of the map after block `after`.
    fn side_after(&self, after: usize) -> usize {
        let strides: usize = self.blocks[..=after].iter().map(|b| b.stride).product();
        STEM_SIDE / strides
    }
}

impl Head {
    /// Writes the rows of this head's anchors (pixel, then anchor) into `out`; returns how many
    /// values it wrote.
    fn run(&self, map: &[f32], pixels: usize, out: &mut [f32]) -> usize {
        let (co, ro) = (self.classifier.outputs(), self.regressor.outputs());
        let mut scores = vec![0.0; pixels * co];
        let mut boxes = vec![0.0; pixels * ro];
        self.classifier
            .run(map, pixels, Epilogue::Linear, &mut scores);
        self.regressor
            .run(map, pixels, Epilogue::Linear, &mut boxes);
        let mut k = 0;
        for p in 0..pixels {
            for a in 0..self.anchors {
                let row = &mut out[k..k + VALUES_PER_ANCHOR];
                row[0] = scores[p * co + a];
                row[1..].copy_from_slice(&boxes[p * ro + a * 16..][..16]);
                k += VALUES_PER_ANCHOR;
            }
        }
        k
    }
}

/// The shortcut of a block that strides or widens: `x` (`side²` pixels × `inputs` channels)
/// max-pooled 2x2 when `stride` is 2, then zero-padded to `outputs` channels, into `out`.
fn pool_and_widen(
    x: &[f32],
    side: usize,
    inputs: usize,
    stride: usize,
    outputs: usize,
    out: &mut [f32],
) {
    let out_side = side / stride;
    for oy in 0..out_side {
        for ox in 0..out_side {
            let o = &mut out[(oy * out_side + ox) * outputs..][..outputs];
            let at = |y: usize, xx: usize| &x[(y * side + xx) * inputs..][..inputs];
            if stride == 1 {
                o[..inputs].copy_from_slice(at(oy, ox));
            } else {
                let (y, xx) = (oy * 2, ox * 2);
                let (a, b, c, d) = (at(y, xx), at(y, xx + 1), at(y + 1, xx), at(y + 1, xx + 1));
                for ch in 0..inputs {
                    o[ch] = a[ch].max(b[ch]).max(c[ch].max(d[ch]));
                }
            }
            o[inputs..].fill(0.0);
        }
    }
}
