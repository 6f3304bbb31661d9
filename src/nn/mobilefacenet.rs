//! MobileFaceNet (Chen et al. 2018) as burn modules.
//!
//! The layout is the one of sirius-ai/MobileFaceNet_TF, which the shipped TFLite weights come
//! from: a 3x3 stride-2 stem, a depthwise 3x3 and a linear 1x1, fifteen inverted-residual
//! bottlenecks with PReLU, a 1x1 expansion to 512, the global depthwise conv (7x7 depthwise over
//! the whole 7x7 map), then two linear 1x1 convs down to the 192-d embedding. Batch norm is
//! folded into every conv's weights and bias by the source model.
//!
//! [`Architecture`] lists every conv in forward order; it is the single description both the
//! converter (TFLite → named tensors) and the loader (named tensors → modules) walk.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::nn::conv::{ConvSpec, ConvUnit, ConvWeights};

/// Side of the square RGB input, in pixels.
pub const INPUT_SIZE: usize = 112;
/// Length of the embedding.
pub const EMBEDDING_DIM: usize = 192;

/// An inverted-residual bottleneck: 1x1 expand + PReLU, 3x3 depthwise + PReLU, 1x1 linear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockSpec {
    pub expand: ConvSpec,
    pub depthwise: ConvSpec,
    pub project: ConvSpec,
    /// Input added to the output (stride 1 and equal channel counts).
    pub residual: bool,
}

/// Every conv of the network, grouped as the modules are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Architecture {
    /// The convs before the bottlenecks.
    pub stem: Vec<ConvSpec>,
    /// The inverted-residual bottlenecks.
    pub blocks: Vec<BlockSpec>,
    /// The convs after them, down to the embedding.
    pub head: Vec<ConvSpec>,
}

/// Bottleneck stages as (expansion t, output channels c, repeats n, first stride s): table 1 of
/// the MobileFaceNet paper, as the TFLite graph has it.
const STAGES: [[usize; 4]; 5] = [
    [2, 64, 5, 2],
    [4, 128, 1, 2],
    [2, 128, 6, 1],
    [4, 128, 1, 2],
    [2, 128, 2, 1],
];

impl Architecture {
    /// MobileFaceNet with a 192-d embedding.
    pub fn mobilefacenet() -> Self {
        let stem = vec![
            ConvSpec::new("stem.conv".into(), [3, 64], 3, 2).prelu(),
            ConvSpec::new("stem.depthwise".into(), [64, 64], 3, 1)
                .depthwise()
                .prelu(),
            ConvSpec::new("stem.pointwise".into(), [64, 64], 1, 1),
        ];
        let mut blocks = Vec::new();
        let mut channels = 64;
        for [t, c, n, s] in STAGES {
            for repeat in 0..n {
                let i = blocks.len();
                let stride = if repeat == 0 { s } else { 1 };
                let hidden = channels * t;
                blocks.push(BlockSpec {
                    expand: ConvSpec::new(format!("blocks.{i}.expand"), [channels, hidden], 1, 1)
                        .prelu(),
                    depthwise: ConvSpec::new(
                        format!("blocks.{i}.depthwise"),
                        [hidden, hidden],
                        3,
                        stride,
                    )
                    .depthwise()
                    .prelu(),
                    project: ConvSpec::new(format!("blocks.{i}.project"), [hidden, c], 1, 1),
                    residual: stride == 1 && channels == c,
                });
                channels = c;
            }
        }
        let head = vec![
            ConvSpec::new("head.expand".into(), [channels, 512], 1, 1).prelu(),
            // Global depthwise conv: a 7x7 kernel over the 7x7 map, one weight per position.
            ConvSpec::new("head.gdc".into(), [512, 512], 7, 1)
                .depthwise()
                .valid(),
            ConvSpec::new("head.linear".into(), [512, 512], 1, 1).valid(),
            ConvSpec::new("head.embedding".into(), [512, EMBEDDING_DIM], 1, 1),
        ];
        Self { stem, blocks, head }
    }

    /// Every conv in the order the forward pass runs them.
    pub fn convs(&self) -> Vec<&ConvSpec> {
        let mut all: Vec<&ConvSpec> = self.stem.iter().collect();
        for b in &self.blocks {
            all.extend([&b.expand, &b.depthwise, &b.project]);
        }
        all.extend(self.head.iter());
        all
    }
}

/// See [`BlockSpec`].
#[derive(Module, Debug)]
pub struct Bottleneck {
    pub expand: ConvUnit,
    pub depthwise: ConvUnit,
    pub project: ConvUnit,
    #[module(skip)]
    pub residual: bool,
}

impl Bottleneck {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self
            .project
            .forward(self.depthwise.forward(self.expand.forward(x.clone())));
        if self.residual {
            y + x
        } else {
            y
        }
    }
}

/// The embedding network: `[N, 3, 112, 112]` normalised RGB → `[N, 192]` raw embeddings.
#[derive(Module, Debug)]
pub struct MobileFaceNet {
    pub stem: Vec<ConvUnit>,
    pub blocks: Vec<Bottleneck>,
    pub head: Vec<ConvUnit>,
}

impl MobileFaceNet {
    /// Builds the network from an architecture and a source of weights per conv.
    pub fn build<E>(
        arch: &Architecture,
        mut weights: impl FnMut(&ConvSpec) -> Result<ConvWeights, E>,
    ) -> Result<Self, E> {
        let mut unit = |spec: &ConvSpec| weights(spec).map(|w| ConvUnit::new(spec, w));
        let stem = arch.stem.iter().map(&mut unit).collect::<Result<_, _>>()?;
        let blocks = arch
            .blocks
            .iter()
            .map(|b| {
                Ok(Bottleneck {
                    expand: unit(&b.expand)?,
                    depthwise: unit(&b.depthwise)?,
                    project: unit(&b.project)?,
                    residual: b.residual,
                })
            })
            .collect::<Result<_, _>>()?;
        let head = arch.head.iter().map(&mut unit).collect::<Result<_, _>>()?;
        Ok(Self { stem, blocks, head })
    }

    /// Runs every unit this network holds; a part made by [`MobileFaceNet::split`] runs only its
    /// own units.
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.stem.iter().fold(x, |x, u| u.forward(x));
        let x = self.blocks.iter().fold(x, |x, b| b.forward(x));
        self.head.iter().fold(x, |x, u| u.forward(x))
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.features(x);
        let [n, c, _, _] = x.dims();
        x.reshape([n, c])
    }

    /// Splits the network before bottleneck `block` (`None`: before the stem) into the part that
    /// runs first and the rest, so that fine-tuning can run a frozen part without autodiff.
    /// [`MobileFaceNet::join`] puts them back.
    pub fn split(self, block: Option<usize>) -> (Self, Self) {
        let Self {
            stem,
            mut blocks,
            head,
        } = self;
        let empty = || Self {
            stem: Vec::new(),
            blocks: Vec::new(),
            head: Vec::new(),
        };
        match block {
            None => (empty(), Self { stem, blocks, head }),
            Some(k) => {
                let rest = blocks.split_off(k.min(blocks.len()));
                (
                    Self {
                        stem,
                        blocks,
                        head: Vec::new(),
                    },
                    Self {
                        stem: Vec::new(),
                        blocks: rest,
                        head,
                    },
                )
            }
        }
    }

    /// The inverse of [`MobileFaceNet::split`].
    pub fn join(first: Self, rest: Self) -> Self {
        let mut stem = first.stem;
        stem.extend(rest.stem);
        let mut blocks = first.blocks;
        blocks.extend(rest.blocks);
        let mut head = first.head;
        head.extend(rest.head);
        Self { stem, blocks, head }
    }

    /// Every conv unit in forward order: the order of [`Architecture::convs`].
    pub fn units(&self) -> Vec<&ConvUnit> {
        let mut all: Vec<&ConvUnit> = self.stem.iter().collect();
        for b in &self.blocks {
            all.extend([&b.expand, &b.depthwise, &b.project]);
        }
        all.extend(self.head.iter());
        all
    }

    pub fn device(&self) -> Device {
        self.head[0].conv.weight.val().device()
    }
}
