//! MediaPipe BlazeFace (short range) as burn modules (its conversion from the TF.js graph is
//! `crate::tools::convert::blazeface_from_tfjs`).
//!
//! A 5x5 stride-2 stem, then "BlazeBlocks": depthwise 3x3 → linear 1x1, added to the input
//! (max-pooled 2x2 when the block strides, zero-padded in channels when it widens), then ReLU.
//! Two heads read the 16x16 map (2 anchors per cell) and the 8x8 map (6 anchors per cell): a
//! score logit and 16 regression values per anchor.

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::Result;
use crate::nn::conv::ConvSpec;

/// Where the weights come from: `read(name, shape)` gives a tensor's values.
pub type Reader<'a> = &'a dyn Fn(&str, &[usize]) -> Result<Vec<f32>>;

pub const MODEL_NAME: &str = "blazeface-short";
/// Side of the square input.
pub const INPUT_SIZE: usize = 128;
/// Values per anchor: score logit, box (cx, cy, w, h), six keypoints (x, y).
pub const VALUES_PER_ANCHOR: usize = 17;

/// (input channels, output channels, stride) of each block.
pub const BLOCKS: [(usize, usize, usize); 16] = [
    (24, 24, 1),
    (24, 28, 1),
    (28, 32, 2),
    (32, 36, 1),
    (36, 42, 1),
    (42, 48, 2),
    (48, 56, 1),
    (56, 64, 1),
    (64, 72, 1),
    (72, 80, 1),
    (80, 88, 1),
    (88, 96, 2),
    (96, 96, 1),
    (96, 96, 1),
    (96, 96, 1),
    (96, 96, 1),
];
/// Heads: (after block index, channels, anchors per cell).
pub const HEADS: [(usize, usize, usize); 2] = [(10, 88, 2), (15, 96, 6)];

fn conv_spec(
    name: String,
    io: (usize, usize),
    kernel: usize,
    stride: usize,
    depthwise: bool,
) -> ConvSpec {
    let spec = ConvSpec::new(name, [io.0, io.1], kernel, stride);
    if depthwise {
        spec.depthwise()
    } else {
        spec
    }
}

/// The network's convs by role. The one place their tensor names are spelled: the converter,
/// the weights loader and both forward paths (burn's and the CPU kernels') go through it.
pub struct Layout<T> {
    pub stem: T,
    /// Per block: its depthwise 3x3, then its pointwise 1x1.
    pub blocks: Vec<[T; 2]>,
    /// Per head: its classifier, then its regressor.
    pub heads: Vec<[T; 2]>,
}

/// Every conv's description.
pub fn layout() -> Layout<ConvSpec> {
    Layout {
        stem: conv_spec("stem".into(), (3, 24), 5, 2, false),
        blocks: BLOCKS
            .iter()
            .enumerate()
            .map(|(i, &(cin, cout, stride))| {
                [
                    conv_spec(format!("blocks.{i}.depthwise"), (cin, cin), 3, stride, true),
                    conv_spec(format!("blocks.{i}.pointwise"), (cin, cout), 1, 1, false),
                ]
            })
            .collect(),
        heads: HEADS
            .iter()
            .enumerate()
            .map(|(h, &(_, channels, anchors))| {
                [
                    conv_spec(
                        format!("heads.{h}.classifier"),
                        (channels, anchors),
                        1,
                        1,
                        false,
                    ),
                    conv_spec(
                        format!("heads.{h}.regressor"),
                        (channels, anchors * 16),
                        1,
                        1,
                        false,
                    ),
                ]
            })
            .collect(),
    }
}

/// One conv's description and values (burn's `[out, in / groups, k, k]` weight layout).
pub struct ConvTensors {
    pub spec: ConvSpec,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The detector's weights, read once from a weights file for both forward paths.
pub type BlazeFaceWeights = Layout<ConvTensors>;

impl BlazeFaceWeights {
    /// Reads every conv of [`layout`] through `read(name, shape)`.
    pub fn read(read: Reader) -> Result<Self> {
        let tensors = |spec: ConvSpec| -> Result<ConvTensors> {
            Ok(ConvTensors {
                weight: read(&format!("{}.weight", spec.name), &spec.weight_shape())?,
                bias: read(&format!("{}.bias", spec.name), &[spec.out_channels])?,
                spec,
            })
        };
        let pair =
            |[a, b]: [ConvSpec; 2]| -> Result<[ConvTensors; 2]> { Ok([tensors(a)?, tensors(b)?]) };
        let Layout {
            stem,
            blocks,
            heads,
        } = layout();
        Ok(Layout {
            stem: tensors(stem)?,
            blocks: blocks.into_iter().map(pair).collect::<Result<_>>()?,
            heads: heads.into_iter().map(pair).collect::<Result<_>>()?,
        })
    }
}

fn conv(t: &ConvTensors, device: &Device) -> Conv2d {
    let slot = &t.spec;
    Conv2d {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(t.weight.clone(), slot.weight_shape()),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(t.bias.clone(), [slot.out_channels]),
            device,
        ))),
        stride: [slot.stride, slot.stride],
        kernel_size: [slot.kernel, slot.kernel],
        dilation: [1, 1],
        groups: slot.groups(),
        padding: PaddingConfig2d::Same,
    }
}

#[derive(Module, Debug)]
pub struct BlazeBlock {
    pub depthwise: Conv2d,
    pub pointwise: Conv2d,
    pub pool: Option<MaxPool2d>,
    #[module(skip)]
    pub extra_channels: usize,
}

impl BlazeBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.pointwise.forward(self.depthwise.forward(x.clone()));
        let mut shortcut = match &self.pool {
            Some(pool) => pool.forward(x),
            None => x,
        };
        if self.extra_channels > 0 {
            let [n, _, h, w] = shortcut.dims();
            let zeros = Tensor::zeros([n, self.extra_channels, h, w], &shortcut.device());
            shortcut = Tensor::cat(vec![shortcut, zeros], 1);
        }
        relu(y + shortcut)
    }
}

#[derive(Module, Debug)]
pub struct Head {
    pub classifier: Conv2d,
    pub regressor: Conv2d,
}

/// The detector network: `[N, 3, 128, 128]` in [−1, 1] → `[N, 896, 17]` raw anchor outputs.
#[derive(Module, Debug)]
pub struct BlazeFace {
    pub stem: Conv2d,
    pub blocks: Vec<BlazeBlock>,
    pub heads: Vec<Head>,
}

impl BlazeFace {
    /// Builds the network from its weights on `device`.
    pub fn build(weights: &BlazeFaceWeights, device: &Device) -> Self {
        let blocks = BLOCKS
            .iter()
            .zip(&weights.blocks)
            .map(
                |(&(cin, cout, stride), [depthwise, pointwise])| BlazeBlock {
                    depthwise: conv(depthwise, device),
                    pointwise: conv(pointwise, device),
                    pool: (stride == 2)
                        .then(|| MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init()),
                    extra_channels: cout - cin,
                },
            )
            .collect();
        let heads = weights
            .heads
            .iter()
            .map(|[classifier, regressor]| Head {
                classifier: conv(classifier, device),
                regressor: conv(regressor, device),
            })
            .collect();
        Self {
            stem: conv(&weights.stem, device),
            blocks,
            heads,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<3> {
        let mut x = relu(self.stem.forward(x));
        let mut maps = Vec::new();
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(x);
            if HEADS.iter().any(|h| h.0 == i) {
                maps.push(x.clone());
            }
        }
        let mut outputs = Vec::new();
        for (head, map) in self.heads.iter().zip(maps) {
            // NCHW → NHWC then flatten: anchors ordered by row, column, anchor, as MediaPipe's.
            let flat = |t: Tensor<4>, per_anchor: usize| {
                let [n, c, h, w] = t.dims();
                t.permute([0, 2, 3, 1])
                    .reshape([n, h * w * c / per_anchor, per_anchor])
            };
            let scores = flat(head.classifier.forward(map.clone()), 1);
            let boxes = flat(head.regressor.forward(map), 16);
            outputs.push(Tensor::cat(vec![scores, boxes], 2));
        }
        Tensor::cat(outputs, 1)
    }
}
