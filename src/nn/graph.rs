//! A small feed-forward graph of convolutions run on burn tensors: for networks whose topology
//! is data rather than code (MediaPipe Face Mesh, whose heads branch off a shared trunk). The
//! converter (`crate::tools::graph`) compiles a TF.js graph into a [`Program`]: ops in
//! execution order, each reading earlier ops' outputs by index; the weights file stores the
//! program as JSON metadata and each op's tensors as `ops.{index}.weight` / `.bias` / `.alpha`.

use burn::module::Param;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::PRelu;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::nn::conv::{ConvSpec, ConvUnit, ConvWeights, Padding};

/// One operation; `inputs` index earlier ops (the graph input is op 0, [`Op::Input`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// A named output, flattened to `[N, C·H·W]`.
    Output {
        input: usize,
        name: String,
    },
}

impl Op {
    fn inputs(&self) -> Vec<usize> {
        match self {
            Op::Input { .. } => Vec::new(),
            Op::Add { inputs } => inputs.to_vec(),
            Op::Conv { input, .. }
            | Op::Prelu { input, .. }
            | Op::MaxPool { input }
            | Op::PadChannels { input, .. }
            | Op::Sigmoid { input }
            | Op::Output { input, .. } => vec![*input],
        }
    }
}

/// The ops of a network, checked: every input names an earlier op, op 0 is the only input.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// What runs an op that has parameters.
enum Layer {
    Conv(ConvUnit),
    Prelu(PRelu),
    Pool(MaxPool2d),
    None,
}

/// A [`Program`] with its weights on a device.
pub struct GraphNet {
    program: Program,
    layers: Vec<Layer>,
}

/// Where the weights come from: `read(name, shape)` gives a tensor's values.
pub type Reader<'a> = &'a dyn Fn(&str, &[usize]) -> Result<Vec<f32>>;

impl GraphNet {
    /// Uploads the program's tensors (read by name) to `device`.
    pub fn build(program: Program, read: Reader<'_>, device: &Device) -> Result<Self> {
        program.check()?;
        let vector = |name: &str, n: usize| -> Result<Tensor<1>> {
            Ok(Tensor::from_data(
                TensorData::new(read(name, &[n])?, [n]),
                device,
            ))
        };
        let mut layers = Vec::with_capacity(program.ops.len());
        for (i, op) in program.ops.iter().enumerate() {
            layers.push(match op {
                Op::Conv { .. } => {
                    let spec = program.conv_spec(i).expect("a conv op");
                    let shape = spec.weight_shape();
                    let weight = Tensor::from_data(
                        TensorData::new(read(&format!("ops.{i}.weight"), &shape)?, shape),
                        device,
                    );
                    let w = ConvWeights {
                        weight,
                        bias: vector(&format!("ops.{i}.bias"), spec.out_channels)?,
                        alpha: if spec.prelu {
                            Some(vector(&format!("ops.{i}.alpha"), spec.out_channels)?)
                        } else {
                            None
                        },
                    };
                    Layer::Conv(ConvUnit::new(&spec, w))
                }
                Op::Prelu { channels, .. } => Layer::Prelu(PRelu {
                    alpha: Param::from_tensor(vector(&format!("ops.{i}.alpha"), *channels)?),
                    alpha_value: 0.0,
                }),
                Op::MaxPool { .. } => {
                    Layer::Pool(MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init())
                }
                _ => Layer::None,
            });
        }
        Ok(Self { program, layers })
    }

    /// Runs the program on `x` and returns its outputs in program order, by name.
    pub fn forward(&self, x: Tensor<4>) -> Result<Vec<(String, Tensor<2>)>> {
        let mut values: Vec<Option<Tensor<4>>> = Vec::with_capacity(self.program.ops.len());
        let mut outputs = Vec::new();
        let get = |values: &Vec<Option<Tensor<4>>>, i: usize| {
            values[i]
                .clone()
                .ok_or_else(|| Error::Inference(format!("op {i} has no value")))
        };
        for (op, layer) in self.program.ops.iter().zip(&self.layers) {
            let value = match (op, layer) {
                (Op::Input { channels, size }, _) => {
                    let dims = x.dims();
                    if dims[1..] != [*channels, *size, *size] {
                        return Err(Error::InvalidInput(format!(
                            "input {dims:?}, the network takes [N, {channels}, {size}, {size}]"
                        )));
                    }
                    Some(x.clone())
                }
                (Op::Conv { input, .. }, Layer::Conv(unit)) => {
                    Some(unit.forward(get(&values, *input)?))
                }
                (Op::Prelu { input, .. }, Layer::Prelu(p)) => {
                    Some(p.forward(get(&values, *input)?))
                }
                (Op::Add { inputs: [a, b] }, _) => {
                    let (a, b) = (get(&values, *a)?, get(&values, *b)?);
                    if a.dims() != b.dims() {
                        return Err(Error::Inference(format!(
                            "adding maps {:?} and {:?}",
                            a.dims(),
                            b.dims()
                        )));
                    }
                    Some(a + b)
                }
                (Op::MaxPool { input }, Layer::Pool(pool)) => {
                    Some(pool.forward(get(&values, *input)?))
                }
                (Op::PadChannels { input, channels }, _) => {
                    let v = get(&values, *input)?;
                    let [n, c, h, w] = v.dims();
                    if *channels < c {
                        return Err(Error::Inference(format!(
                            "padding {c} channels to {channels}"
                        )));
                    }
                    if *channels == c {
                        Some(v)
                    } else {
                        let zeros = Tensor::zeros([n, channels - c, h, w], &v.device());
                        Some(Tensor::cat(vec![v, zeros], 1))
                    }
                }
                (Op::Sigmoid { input }, _) => Some(sigmoid(get(&values, *input)?)),
                (Op::Output { input, name }, _) => {
                    let v = get(&values, *input)?;
                    let [n, c, h, w] = v.dims();
                    // TensorFlow flattens NHWC: channels last.
                    let flat = v.permute([0, 2, 3, 1]).reshape([n, h * w * c]);
                    outputs.push((name.clone(), flat));
                    None
                }
                _ => return Err(Error::Inference("an op without its layer".into())),
            };
            values.push(value);
        }
        Ok(outputs)
    }
}
