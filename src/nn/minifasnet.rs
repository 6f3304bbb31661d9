//! MiniFASNet (minivision-ai/Silent-Face-Anti-Spoofing), the passive liveness classifier, as
//! burn modules: `[N, 3, 80, 80]` BGR pixels (0–255, no normalisation) → `[N, 3]` logits, class
//! 1 = a live face, 0 and 2 = presentation attacks.
//!
//! It is a narrow MobileFaceNet: a 3x3 stride-2 stem and a 3x3 depthwise, fifteen
//! inverted-residual blocks in four stages (a stride-2 block without residual opens each stage:
//! 1 + 4, 1 + 6, 1 + 2), a 1x1 expansion to 512, a 5x5 global depthwise conv, and a linear
//! classifier. The widths differ per variant (V2, V1SE: pruned "keep" lists), so they are read
//! from the weights; V1SE adds a squeeze-and-excitation gate to the last block of each stage.
//! Batch norm is folded into every conv by the converter, and the classifier's two linear layers
//! with the batch norm between them (no non-linearity, dropout off at inference) into one 1x1
//! conv `head.logits`.
//!
//! Padding is PyTorch's (one pixel on every side of a 3x3 conv), not TensorFlow's SAME: they
//! differ for stride 2 on even maps.

use burn::module::Module;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::Tensor;

use crate::error::{Error, Result};
use crate::nn::conv::{ConvSpec, ConvUnit, ConvWeights, Padding};

/// The `model` metadata of liveness weights.
pub const MODEL_NAME: &str = "minifasnet";
/// Side of the square BGR input, in pixels.
pub const INPUT_SIZE: usize = 80;
/// Output classes; [`LIVE_CLASS`] is the live face.
pub const CLASSES: usize = 3;
/// The class index of a live face (upstream's label 1).
pub const LIVE_CLASS: usize = 1;
/// Stride of each block's depthwise conv, in forward order: four stages, each opened by a
/// stride-2 block without residual.
pub const BLOCK_STRIDES: [usize; 15] = [2, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1];
/// Width after the 1x1 expansion of the head.
const HEAD_WIDTH: usize = 512;

/// An inverted-residual block, optionally gated by squeeze-and-excitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockSpec {
    pub expand: ConvSpec,
    pub depthwise: ConvSpec,
    pub project: ConvSpec,
    /// The gate's two 1x1 convs (reduce + ReLU, expand + sigmoid) on the pooled output.
    pub gate: Option<[ConvSpec; 2]>,
    pub residual: bool,
}

/// Every conv of one MiniFASNet variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Architecture {
    pub stem: Vec<ConvSpec>,
    pub blocks: Vec<BlockSpec>,
    /// 1x1 expansion + PReLU, the 5x5 global depthwise conv, the classifier.
    pub head: Vec<ConvSpec>,
}

fn torch_3x3(name: String, io: [usize; 2], stride: usize) -> ConvSpec {
    let mut spec = ConvSpec::new(name, io, 3, stride);
    spec.padding = Padding::Symmetric(1);
    spec
}

impl Architecture {
    /// The variant whose weights have these shapes: `shape(name)` gives the shape of tensor
    /// `name` (`None` when absent). Fails on weights that are not MiniFASNet's.
    pub fn from_shapes(shape: impl Fn(&str) -> Option<Vec<usize>>) -> Result<Self> {
        let out = |name: &str| -> Result<usize> {
            shape(&format!("{name}.weight"))
                .and_then(|s| s.first().copied())
                .filter(|&c| c > 0 && c <= 4096)
                .ok_or_else(|| {
                    Error::ModelLoad(format!("liveness weights lack a usable {name}.weight"))
                })
        };
        let width = out("stem.conv")?;
        let stem = vec![
            torch_3x3("stem.conv".into(), [3, width], 2).prelu(),
            torch_3x3("stem.depthwise".into(), [width, width], 1)
                .depthwise()
                .prelu(),
        ];
        let mut channels = width;
        let mut blocks = Vec::new();
        for (i, &stride) in BLOCK_STRIDES.iter().enumerate() {
            let name = |part: &str| format!("blocks.{i}.{part}");
            let hidden = out(&name("expand"))?;
            let c = out(&name("project"))?;
            let gate = match shape(&format!("{}.weight", name("gate.reduce"))) {
                Some(_) => {
                    let reduced = out(&name("gate.reduce"))?;
                    Some([
                        ConvSpec::new(name("gate.reduce"), [c, reduced], 1, 1),
                        ConvSpec::new(name("gate.expand"), [reduced, c], 1, 1),
                    ])
                }
                None => None,
            };
            blocks.push(BlockSpec {
                expand: ConvSpec::new(name("expand"), [channels, hidden], 1, 1).prelu(),
                depthwise: torch_3x3(name("depthwise"), [hidden, hidden], stride)
                    .depthwise()
                    .prelu(),
                project: ConvSpec::new(name("project"), [hidden, c], 1, 1),
                gate,
                residual: stride == 1,
            });
            if stride == 1 && c != channels {
                return Err(Error::ModelLoad(format!(
                    "liveness block {i} is residual but changes width {channels} → {c}"
                )));
            }
            channels = c;
        }
        // The 80x80 input is 5x5 after four stride-2 steps: the global conv covers it.
        let head = vec![
            ConvSpec::new("head.expand".into(), [channels, HEAD_WIDTH], 1, 1).prelu(),
            ConvSpec::new("head.gdc".into(), [HEAD_WIDTH, HEAD_WIDTH], 5, 1)
                .depthwise()
                .valid(),
            ConvSpec::new("head.logits".into(), [HEAD_WIDTH, CLASSES], 1, 1),
        ];
        Ok(Self { stem, blocks, head })
    }

    /// Every conv in forward order (a block's gate after its projection).
    #[cfg_attr(not(feature = "cli"), allow(dead_code))] // the converter's walk
    pub fn convs(&self) -> Vec<&ConvSpec> {
        let mut all: Vec<&ConvSpec> = self.stem.iter().collect();
        for b in &self.blocks {
            all.extend([&b.expand, &b.depthwise, &b.project]);
            if let Some(gate) = &b.gate {
                all.extend(gate.iter());
            }
        }
        all.extend(self.head.iter());
        all
    }
}

/// Squeeze-and-excitation: per-channel weights in (0, 1) from the pooled map.
#[derive(Module, Debug)]
pub struct Gate {
    pub reduce: ConvUnit,
    pub expand: ConvUnit,
}

impl Gate {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let pooled = x.clone().mean_dim(2).mean_dim(3);
        let weights = sigmoid(self.expand.forward(relu(self.reduce.forward(pooled))));
        x * weights
    }
}

/// See [`BlockSpec`].
#[derive(Module, Debug)]
pub struct Block {
    pub expand: ConvUnit,
    pub depthwise: ConvUnit,
    pub project: ConvUnit,
    pub gate: Option<Gate>,
    #[module(skip)]
    pub residual: bool,
}

impl Block {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = self
            .project
            .forward(self.depthwise.forward(self.expand.forward(x.clone())));
        if let Some(gate) = &self.gate {
            y = gate.forward(y);
        }
        if self.residual {
            y + x
        } else {
            y
        }
    }
}

/// The liveness classifier: `[N, 3, 80, 80]` BGR 0–255 → `[N, 3]` logits.
#[derive(Module, Debug)]
pub struct MiniFasNet {
    pub stem: Vec<ConvUnit>,
    pub blocks: Vec<Block>,
    pub head: Vec<ConvUnit>,
}

impl MiniFasNet {
    /// Builds the network from an architecture and a source of weights per conv.
    pub fn build(
        arch: &Architecture,
        mut weights: impl FnMut(&ConvSpec) -> Result<ConvWeights>,
    ) -> Result<Self> {
        let mut unit = |spec: &ConvSpec| weights(spec).map(|w| ConvUnit::new(spec, w));
        let stem = arch.stem.iter().map(&mut unit).collect::<Result<_>>()?;
        let blocks = arch
            .blocks
            .iter()
            .map(|b| {
                Ok(Block {
                    expand: unit(&b.expand)?,
                    depthwise: unit(&b.depthwise)?,
                    project: unit(&b.project)?,
                    gate: match &b.gate {
                        Some([reduce, expand]) => Some(Gate {
                            reduce: unit(reduce)?,
                            expand: unit(expand)?,
                        }),
                        None => None,
                    },
                    residual: b.residual,
                })
            })
            .collect::<Result<_>>()?;
        let head = arch.head.iter().map(&mut unit).collect::<Result<_>>()?;
        Ok(Self { stem, blocks, head })
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.stem.iter().fold(x, |x, u| u.forward(x));
        let x = self.blocks.iter().fold(x, |x, b| b.forward(x));
        let x = self.head.iter().fold(x, |x, u| u.forward(x));
        let [n, c, _, _] = x.dims();
        x.reshape([n, c])
    }
}
