//! [`GraphNet`]: a [`Program`] with its weights on a device, and its forward pass.

use burn::module::Param;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::PRelu;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};

#[cfg(feature = "imported")]
use super::ops::{self, Layer as GenericLayer};
use super::{Op, Program};
use crate::error::{Error, Result};
use crate::nn::conv::{ConvUnit, ConvWeights};

/// What runs an op that has parameters.
enum Layer {
    Conv(ConvUnit),
    Prelu(PRelu),
    Pool(MaxPool2d),
    #[cfg(feature = "imported")]
    Generic(Box<GenericLayer>),
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
                #[cfg(feature = "imported")]
                _ => match ops::layer(op, i, read, device)? {
                    Some(layer) => Layer::Generic(Box::new(layer)),
                    None => Layer::None,
                },
                #[cfg(not(feature = "imported"))]
                _ => Layer::None,
            });
        }
        Ok(Self { program, layers })
    }

    /// Runs the program on `x` and returns its outputs in program order, by name.
    pub fn forward(&self, x: Tensor<4>) -> Result<Vec<(String, Tensor<2>)>> {
        self.run(x, None)
    }

    /// Runs the program from op `start` on, given that op's value (computed elsewhere: the CPU
    /// kernels' prefix, `crate::nn::cpu::PackedProgram`). The ops before it are skipped, but
    /// for their constants.
    #[cfg(feature = "imported")]
    pub fn forward_from(&self, start: usize, value: Tensor<4>) -> Result<Vec<(String, Tensor<2>)>> {
        if start >= self.program.ops.len() {
            return Err(Error::Inference(format!("no op {start}")));
        }
        self.run(value, Some(start))
    }

    fn run(&self, x: Tensor<4>, resume: Option<usize>) -> Result<Vec<(String, Tensor<2>)>> {
        let mut values: Vec<Option<Tensor<4>>> = Vec::with_capacity(self.program.ops.len());
        let mut outputs = Vec::new();
        // The last reader of each value, so that it is dropped (and its memory reused) then.
        let mut last_use = vec![0; self.program.ops.len()];
        for (i, op) in self.program.ops.iter().enumerate() {
            for j in op.inputs() {
                last_use[j] = i;
            }
        }
        let get = |values: &Vec<Option<Tensor<4>>>, i: usize| {
            values[i]
                .clone()
                .ok_or_else(|| Error::Inference(format!("op {i} has no value")))
        };
        for (index, (op, layer)) in self.program.ops.iter().zip(&self.layers).enumerate() {
            match resume {
                Some(k) if index == k => {
                    values.push(Some(x.clone()));
                    continue;
                }
                Some(k) if index < k && !matches!(op, Op::Constant { .. }) => {
                    values.push(None);
                    continue;
                }
                _ => {}
            }
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
                (
                    Op::Output {
                        input,
                        name,
                        row_major,
                    },
                    _,
                ) => {
                    let v = get(&values, *input)?;
                    let [n, c, h, w] = v.dims();
                    let flat = if *row_major {
                        v.reshape([n, c * h * w])
                    } else {
                        // TensorFlow flattens NHWC: channels last.
                        v.permute([0, 2, 3, 1]).reshape([n, h * w * c])
                    };
                    outputs.push((name.clone(), flat));
                    None
                }
                (Op::Conv { .. } | Op::Prelu { .. } | Op::MaxPool { .. }, _) => {
                    return Err(Error::Inference("an op without its layer".into()))
                }
                #[cfg(feature = "imported")]
                (op, layer) => {
                    let inputs = op
                        .inputs()
                        .into_iter()
                        .map(|j| get(&values, j))
                        .collect::<Result<Vec<_>>>()?;
                    let layer = match layer {
                        Layer::Generic(l) => Some(l.as_ref()),
                        _ => None,
                    };
                    Some(ops::run(op, layer, inputs)?)
                }
                #[cfg(not(feature = "imported"))]
                (op, _) => {
                    return Err(Error::Inference(format!(
                        "this build of webverify does not run imported programs' ops ({op:?})"
                    )))
                }
            };
            values.push(value);
            // Free what no later op reads.
            for j in op.inputs() {
                if last_use[j] == index {
                    values[j] = None;
                }
            }
        }
        Ok(outputs)
    }
}
