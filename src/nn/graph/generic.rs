//! The general ops of imported (ONNX) programs: their parameters and the checks that run when
//! a program is parsed (every build; `ops` runs them, with the `imported` feature).

use super::Op;

/// Element-wise functions of one value.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Function {
    Relu,
    Sigmoid,
    Tanh,
    Exp,
    Neg,
    Abs,
    Sqrt,
    Reciprocal,
    Erf,
    /// `x · relu6(x + 3) / 6`.
    HardSwish,
    /// `max(0, min(1, alpha · x + beta))`.
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// The exact GELU, `x · Φ(x)`.
    Gelu,
    /// GELU's tanh approximation.
    GeluTanh,
    LeakyRelu {
        alpha: f32,
    },
    Clip {
        min: f32,
        max: f32,
    },
}

/// Element-wise functions of two values; `Prelu` is `x` where positive, else `slope · x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arithmetic {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Prelu,
}

fn axis_ok(axis: usize) -> bool {
    (1..4).contains(&axis)
}

/// What cannot run, found before any tensor is made (burn's option constructors panic on zeros).
pub(super) fn check(op: &Op) -> std::result::Result<(), String> {
    let positive = |v: &[usize]| v.iter().all(|&x| (1..=65_536).contains(&x));
    let ok = match op {
        Op::Constant { shape } => shape[0] == 1 && positive(shape),
        Op::Convolution {
            in_channels,
            out_channels,
            kernel,
            stride,
            dilation,
            groups,
            ..
        } => {
            positive(&[*in_channels, *out_channels, *groups])
                && positive(kernel)
                && positive(stride)
                && positive(dilation)
                && in_channels % groups == 0
                && out_channels % groups == 0
        }
        Op::Pool { kernel, stride, .. } => positive(kernel) && positive(stride),
        Op::Reshape { shape, .. } => positive(shape),
        Op::Transpose { perm, .. } => {
            let mut seen = [false; 4];
            perm[0] == 0
                && perm
                    .iter()
                    .all(|&p| p < 4 && !std::mem::replace(&mut seen[p], true))
        }
        Op::Concat { inputs, axis } => !inputs.is_empty() && axis_ok(*axis),
        Op::Slice {
            axis,
            start,
            end,
            step,
            ..
        } => axis_ok(*axis) && start < end && *step >= 1,
        Op::Softmax { axis, .. } => axis_ok(*axis),
        Op::ReduceMean { axes, .. } => !axes.is_empty() && axes.iter().all(|&a| axis_ok(a)),
        Op::LayerNorm { size, epsilon, .. } => positive(&[*size]) && epsilon.is_finite(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("impossible parameters in {op:?}"))
    }
}
