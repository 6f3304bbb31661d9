//! A small feed-forward graph of convolutions run on burn tensors: for networks whose topology
//! is data rather than code (MediaPipe Face Mesh, whose heads branch off a shared trunk). The
//! converter (`crate::tools::graph`) compiles a TF.js graph into a [`Program`]: ops in
//! execution order, each reading earlier ops' outputs by index; the weights file stores the
//! program as JSON metadata and each op's tensors as `ops.{index}.weight` / `.bias` / `.alpha`
//! / `.value`.
//!
//! Imported ONNX networks (`crate::tools::onnx`) use the general ops below [`Op::Output`]. Their
//! values are stored as `[N, a, b, c]`: the per-sample shape padded with ones on the left to
//! rank 3, so that NumPy-style broadcasting (aligned on the right) and a matrix product over
//! the last two axes mean the same as in ONNX. The converter resolves every shape and axis to
//! that storage; the runtime does no shape inference.

mod generic;
mod net;
#[cfg(feature = "imported")]
mod ops;

pub use generic::{Arithmetic, Function};
pub use net::GraphNet;

use crate::error::{Error, Result};
use crate::nn::conv::{ConvSpec, Padding};

/// One operation; `inputs` index earlier ops (the graph input is op 0, [`Op::Input`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// The network's input, `[N, channels, size, size]`.
    Input {
        channels: usize,
        size: usize,
    },
    /// A convolution with its bias, optionally followed by PReLU (TensorFlow padding).
    Conv {
        input: usize,
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        depthwise: bool,
        same: bool,
        prelu: bool,
    },
    /// Element-wise sum of two maps.
    Add {
        inputs: [usize; 2],
    },
    /// Per-channel PReLU.
    Prelu {
        input: usize,
        channels: usize,
    },
    /// 2x2 max pooling, stride 2.
    MaxPool {
        input: usize,
    },
    /// Zero channels appended up to `channels`.
    PadChannels {
        input: usize,
        channels: usize,
    },
    Sigmoid {
        input: usize,
    },
    /// A named output, flattened to `[N, C·H·W]` in TensorFlow's order (channels last), or
    /// with `row_major` in the stored order (ONNX's).
    Output {
        input: usize,
        name: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        row_major: bool,
    },
    /// A constant (`ops.{i}.value`), stored with this shape (the first axis 1: it broadcasts
    /// over the batch).
    Constant {
        shape: [usize; 4],
    },
    /// A general 2-D convolution (weights `[out, in / groups, kh, kw]`, optional bias).
    Convolution {
        input: usize,
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
        /// Top, left, bottom, right.
        pads: [usize; 4],
        groups: usize,
        bias: bool,
    },
    /// An element-wise function of one value.
    Unary {
        input: usize,
        function: Function,
    },
    /// An element-wise function of two values, broadcast.
    Binary {
        inputs: [usize; 2],
        function: Arithmetic,
    },
    /// Max or average pooling over windows of the last two axes.
    Pool {
        input: usize,
        max: bool,
        kernel: [usize; 2],
        stride: [usize; 2],
        /// Top, left, bottom, right.
        pads: [usize; 4],
        count_include_pad: bool,
        ceil: bool,
    },
    /// The matrix product over the last two axes, the others broadcast.
    MatMul {
        inputs: [usize; 2],
    },
    /// The per-sample shape becomes `shape` (same number of values).
    Reshape {
        input: usize,
        shape: [usize; 3],
    },
    /// Axes reordered (`perm[0]` is 0: the batch stays first).
    Transpose {
        input: usize,
        perm: [usize; 4],
    },
    Concat {
        inputs: Vec<usize>,
        axis: usize,
    },
    /// `start..end` along `axis`, every `step`-th.
    Slice {
        input: usize,
        axis: usize,
        start: usize,
        end: usize,
        step: usize,
    },
    Softmax {
        input: usize,
        axis: usize,
    },
    /// The mean over `axes`, kept with size 1.
    ReduceMean {
        input: usize,
        axes: Vec<usize>,
    },
    /// Normalised over the last axis (`size` values), then scaled and shifted
    /// (`ops.{i}.weight`, `.bias`).
    LayerNorm {
        input: usize,
        size: usize,
        epsilon: f32,
    },
}

impl Op {
    /// The ops this op reads.
    pub fn inputs(&self) -> Vec<usize> {
        self.clone().inputs_mut().into_iter().map(|i| *i).collect()
    }

    /// The same, to renumber (the converter drops dead ops).
    pub fn inputs_mut(&mut self) -> Vec<&mut usize> {
        match self {
            Op::Input { .. } | Op::Constant { .. } => Vec::new(),
            Op::Add { inputs } | Op::Binary { inputs, .. } | Op::MatMul { inputs } => {
                inputs.iter_mut().collect()
            }
            Op::Concat { inputs, .. } => inputs.iter_mut().collect(),
            Op::Conv { input, .. }
            | Op::Prelu { input, .. }
            | Op::MaxPool { input }
            | Op::PadChannels { input, .. }
            | Op::Sigmoid { input }
            | Op::Output { input, .. }
            | Op::Convolution { input, .. }
            | Op::Unary { input, .. }
            | Op::Pool { input, .. }
            | Op::Reshape { input, .. }
            | Op::Transpose { input, .. }
            | Op::Slice { input, .. }
            | Op::Softmax { input, .. }
            | Op::ReduceMean { input, .. }
            | Op::LayerNorm { input, .. } => vec![input],
        }
    }
}

/// The ops of a network, checked: every input names an earlier op, op 0 is the only input.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Program {
    pub ops: Vec<Op>,
}

impl Program {
    /// Parses and checks the JSON of a weights file's `program` metadata.
    pub fn parse(json: &str) -> Result<Self> {
        let program: Program = serde_json::from_str(json)
            .map_err(|e| Error::ModelLoad(format!("the network's program: {e}")))?;
        program.check()?;
        Ok(program)
    }

    pub fn check(&self) -> Result<()> {
        if !matches!(self.ops.first(), Some(Op::Input { .. })) || self.ops.len() > 10_000 {
            return Err(Error::ModelLoad(
                "the program must start with its input".into(),
            ));
        }
        for (i, op) in self.ops.iter().enumerate().skip(1) {
            if matches!(op, Op::Input { .. }) || op.inputs().iter().any(|&j| j >= i) {
                return Err(Error::ModelLoad(format!(
                    "op {i} reads an op that does not run before it"
                )));
            }
            if let Op::Conv {
                in_channels,
                out_channels,
                kernel,
                stride,
                depthwise,
                ..
            } = op
            {
                let sane = |v: usize| (1..=4096).contains(&v);
                if !(sane(*in_channels) && sane(*out_channels) && sane(*kernel) && sane(*stride))
                    || (*depthwise && in_channels != out_channels)
                {
                    return Err(Error::ModelLoad(format!("op {i}: impossible convolution")));
                }
            }
            generic::check(op).map_err(|e| Error::ModelLoad(format!("op {i}: {e}")))?;
        }
        Ok(())
    }

    /// The conv op `i` as a [`ConvSpec`] named `ops.{i}` (`None` for other ops).
    pub fn conv_spec(&self, i: usize) -> Option<ConvSpec> {
        let Op::Conv {
            in_channels,
            out_channels,
            kernel,
            stride,
            depthwise,
            same,
            prelu,
            ..
        } = &self.ops[i]
        else {
            return None;
        };
        let mut spec = ConvSpec::new(
            format!("ops.{i}"),
            [*in_channels, *out_channels],
            *kernel,
            *stride,
        );
        spec.depthwise = *depthwise;
        spec.prelu = *prelu;
        spec.padding = if *same { Padding::Same } else { Padding::Valid };
        Some(spec)
    }
}
