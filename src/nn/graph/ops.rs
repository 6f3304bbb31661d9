//! The general ops of imported (ONNX) programs run on burn tensors stored `[N, a, b, c]` (see
//! the module above). Behind the `imported` feature: the browser modules do not run imported
//! programs yet, and these ops' kernels cost the WebGPU module 10.4 MB and the CPU one 0.6 MB (raw).

use burn::tensor::activation::{gelu, hard_sigmoid, relu, sigmoid, softmax};
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};

use super::generic::{Arithmetic, Function};
use super::net::Reader;
use super::Op;
use crate::error::{Error, Result};

/// The weights of an op that has them.
pub(super) enum Layer {
    Constant(Tensor<4>),
    Convolution {
        weight: Tensor<4>,
        bias: Option<Tensor<1>>,
        options: ConvOptions<2>,
    },
    Norm {
        weight: Tensor<4>,
        bias: Tensor<4>,
    },
}

/// Reads the weights of op `i` (`None` for ops without any).
pub(super) fn layer(op: &Op, i: usize, read: Reader<'_>, device: &Device) -> Result<Option<Layer>> {
    let tensor = |suffix: &str, shape: [usize; 4]| -> Result<Tensor<4>> {
        let values = read(&format!("ops.{i}.{suffix}"), &shape)?;
        Ok(Tensor::from_data(TensorData::new(values, shape), device))
    };
    Ok(Some(match op {
        Op::Constant { shape } => Layer::Constant(tensor("value", *shape)?),
        Op::Convolution {
            in_channels,
            out_channels,
            kernel,
            stride,
            dilation,
            pads,
            groups,
            bias,
            ..
        } => {
            let weight = tensor(
                "weight",
                [*out_channels, in_channels / groups, kernel[0], kernel[1]],
            )?;
            let bias = if *bias {
                let values = read(&format!("ops.{i}.bias"), &[*out_channels])?;
                Some(Tensor::from_data(
                    TensorData::new(values, [*out_channels]),
                    device,
                ))
            } else {
                None
            };
            let padding = [(pads[0], pads[2]), (pads[1], pads[3])];
            let options = ConvOptions::new_with_padding(*stride, padding, *dilation, *groups);
            Layer::Convolution {
                weight,
                bias,
                options,
            }
        }
        Op::LayerNorm { size, .. } => Layer::Norm {
            weight: tensor("weight", [1, 1, 1, *size])?,
            bias: tensor("bias", [1, 1, 1, *size])?,
        },
        _ => return Ok(None),
    }))
}

fn unary(x: Tensor<4>, f: Function) -> Tensor<4> {
    match f {
        Function::Relu => relu(x),
        Function::Sigmoid => sigmoid(x),
        Function::Tanh => x.tanh(),
        Function::Exp => x.exp(),
        Function::Neg => x.neg(),
        Function::Abs => x.abs(),
        Function::Sqrt => x.sqrt(),
        Function::Reciprocal => x.recip(),
        Function::Erf => x.erf(),
        Function::HardSwish => x.clone() * (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Function::HardSigmoid { alpha, beta } => hard_sigmoid(x, alpha as f64, beta as f64),
        Function::Gelu => gelu(x),
        Function::GeluTanh => {
            // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))), as ONNX's approximate = "tanh".
            let inner = (x.clone() + x.clone().powi_scalar(3) * 0.044_715)
                * (2.0 / std::f64::consts::PI).sqrt();
            x * (inner.tanh() + 1.0) * 0.5
        }
        Function::LeakyRelu { alpha } => burn::tensor::activation::leaky_relu(x, alpha as f64),
        Function::Clip { min, max } => x.clamp(min, max),
    }
}

fn binary(a: Tensor<4>, b: Tensor<4>, f: Arithmetic) -> Result<Tensor<4>> {
    let (da, db) = (a.dims(), b.dims());
    if (0..4).any(|k| da[k] != db[k] && da[k] != 1 && db[k] != 1) {
        return Err(Error::Inference(format!(
            "{f:?} of {da:?} and {db:?}: the shapes do not broadcast"
        )));
    }
    Ok(match f {
        Arithmetic::Add => a + b,
        Arithmetic::Sub => a - b,
        Arithmetic::Mul => a * b,
        Arithmetic::Div => a / b,
        Arithmetic::Pow => a.powf(b),
        Arithmetic::Prelu => {
            let negative = a.clone().clamp_max(0.0);
            a.clamp_min(0.0) + negative * b
        }
    })
}

/// Runs a general op on its input values (in [`Op::inputs`] order).
pub(super) fn run(op: &Op, layer: Option<&Layer>, inputs: Vec<Tensor<4>>) -> Result<Tensor<4>> {
    let mut inputs = inputs.into_iter();
    let mut next = || {
        inputs
            .next()
            .ok_or_else(|| Error::Inference("an op without its input".into()))
    };
    let missing = || Error::Inference(format!("{op:?} has no weights"));
    Ok(match op {
        Op::Constant { .. } => match layer {
            Some(Layer::Constant(t)) => t.clone(),
            _ => return Err(missing()),
        },
        Op::Convolution { in_channels, .. } => {
            let Some(Layer::Convolution {
                weight,
                bias,
                options,
            }) = layer
            else {
                return Err(missing());
            };
            let x = next()?;
            if x.dims()[1] != *in_channels {
                return Err(Error::Inference(format!(
                    "a convolution of {in_channels} channels given {:?}",
                    x.dims()
                )));
            }
            conv2d(x, weight.clone(), bias.clone(), options.clone())
        }
        Op::Unary { function, .. } => unary(next()?, *function),
        Op::Binary { function, .. } => binary(next()?, next()?, *function)?,
        Op::Pool {
            max,
            kernel,
            stride,
            pads,
            count_include_pad,
            ceil,
            ..
        } => {
            let padding = [(pads[0], pads[2]), (pads[1], pads[3])];
            let x = next()?;
            if *max {
                let mut o = MaxPoolOptions::new(*kernel).with_stride(*stride);
                o.padding = padding;
                o.ceil_mode = *ceil;
                max_pool2d(x, o)
            } else {
                let mut o = AvgPoolOptions::new(*kernel).with_stride(*stride);
                o.padding = padding;
                o.ceil_mode = *ceil;
                o.count_include_pad = *count_include_pad;
                avg_pool2d(x, o)
            }
        }
        Op::MatMul { .. } => {
            let (a, b) = (next()?, next()?);
            let (da, db) = (a.dims(), b.dims());
            let broadcast = (0..2).all(|k| da[k] == db[k] || da[k] == 1 || db[k] == 1);
            if da[3] != db[2] || !broadcast {
                return Err(Error::Inference(format!(
                    "a matrix product of {da:?} and {db:?}"
                )));
            }
            a.matmul(b)
        }
        Op::Reshape { shape, .. } => {
            let x = next()?;
            let [n, a, b, c] = x.dims();
            if a * b * c != shape.iter().product::<usize>() {
                return Err(Error::Inference(format!(
                    "reshaping {:?} to {shape:?}",
                    x.dims()
                )));
            }
            x.reshape([n, shape[0], shape[1], shape[2]])
        }
        Op::Transpose { perm, .. } => next()?.permute(*perm),
        Op::Concat { axis, .. } => {
            let parts = std::iter::from_fn(|| inputs.next()).collect::<Vec<_>>();
            let first = parts[0].dims();
            let same = parts.iter().all(|p| {
                let d = p.dims();
                (0..4).all(|k| k == *axis || d[k] == first[k])
            });
            if !same {
                return Err(Error::Inference("concatenating unlike shapes".into()));
            }
            Tensor::cat(parts, *axis)
        }
        Op::Slice {
            axis,
            start,
            end,
            step,
            ..
        } => {
            let x = next()?;
            let len = x.dims()[*axis];
            if *end > len {
                return Err(Error::Inference(format!("slicing {start}..{end} of {len}")));
            }
            let x = x.narrow(*axis, *start, end - start);
            if *step == 1 {
                x
            } else {
                let picked: Vec<i64> = (0..end - start).step_by(*step).map(|v| v as i64).collect();
                let n = picked.len();
                let index = Tensor::<1, burn::tensor::Int>::from_data(
                    TensorData::new(picked, [n]),
                    &x.device(),
                );
                x.select(*axis, index)
            }
        }
        Op::Softmax { axis, .. } => softmax(next()?, *axis),
        Op::ReduceMean { axes, .. } => {
            let mut x = next()?;
            for &a in axes {
                x = x.mean_dim(a);
            }
            x
        }
        Op::LayerNorm { size, epsilon, .. } => {
            let Some(Layer::Norm { weight, bias }) = layer else {
                return Err(missing());
            };
            let x = next()?;
            if x.dims()[3] != *size {
                return Err(Error::Inference(format!(
                    "a layer norm over {size} values given {:?}",
                    x.dims()
                )));
            }
            let mean = x.clone().mean_dim(3);
            let centred = x - mean;
            let variance = centred.clone().powi_scalar(2).mean_dim(3);
            centred / (variance + *epsilon as f64).sqrt() * weight.clone() + bias.clone()
        }
        _ => return Err(Error::Inference(format!("{op:?} is not a general op"))),
    })
}
