//! What an ONNX value is while its graph is lowered: a tensor computed at run time (with its
//! per-sample shape), a float constant, or integers known at conversion time (shape
//! arithmetic, where the batch size is the one unknown).

use super::proto::{data_type, AttributeProto, NodeProto, TensorProto};
use crate::error::{Error, Result};

pub(super) fn err(msg: impl Into<String>) -> Error {
    Error::ModelLoad(msg.into())
}

/// One entry of a shape computed at conversion time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Dim {
    /// The batch size, unknown until run time.
    Batch,
    Fixed(i64),
}

#[derive(Clone, Debug)]
pub(super) enum Value {
    /// The output of program op `op`; `shape` excludes the batch axis.
    Run { op: usize, shape: Vec<usize> },
    /// A float constant with its full shape.
    Const { shape: Vec<usize>, data: Vec<f32> },
    /// Integers (a shape, axes, indices).
    Ints(Vec<Dim>),
}

/// The storage shape `[a, b, c]` of a per-sample shape: leading ones dropped, then padded with
/// ones on the left to three axes (`None` past three).
pub(super) fn storage(shape: &[usize]) -> Option<[usize; 3]> {
    let first = shape.iter().position(|&d| d != 1).unwrap_or(shape.len());
    let rest = &shape[first..];
    if rest.len() > 3 {
        return None;
    }
    let mut out = [1; 3];
    out[3 - rest.len()..].copy_from_slice(rest);
    Some(out)
}

/// The storage axis (1..=3) of per-sample axis `axis` of a value of per-sample rank `rank`.
pub(super) fn storage_axis(axis: usize, rank: usize) -> Option<usize> {
    (axis + 3 >= rank).then(|| 1 + 3 + axis - rank)
}

/// An ONNX axis (negative counts from the end) of a runtime value of per-sample rank `rank` as a
/// per-sample axis; the batch axis is refused.
pub(super) fn sample_axis(axis: i64, rank: usize, node: &str) -> Result<usize> {
    let full = rank as i64 + 1;
    let a = if axis < 0 { axis + full } else { axis };
    if a <= 0 || a >= full {
        return Err(err(format!(
            "node {node}: axis {axis} is the batch axis or out of range (rank {full})"
        )));
    }
    Ok(a as usize - 1)
}

/// NumPy broadcasting of two shapes aligned on the right.
pub(super) fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let at = |s: &[usize], i: usize| (i + s.len()).checked_sub(n).map(|j| s[j]).unwrap_or(1);
    (0..n)
        .map(|i| {
            let (x, y) = (at(a, i), at(b, i));
            (x == y || x == 1 || y == 1).then(|| x.max(y))
        })
        .collect()
}

/// A constant's shape as seen beside a runtime value of per-sample rank `rank`: its batch-axis
/// entry (if it reaches that far) must be 1 and is dropped.
pub(super) fn const_sample_shape(shape: &[usize], rank: usize, node: &str) -> Result<Vec<usize>> {
    if shape.len() > rank {
        if shape.len() > rank + 1 || shape[0] != 1 {
            return Err(err(format!(
                "node {node}: a constant of shape {shape:?} against a value of rank {}",
                rank + 1
            )));
        }
        return Ok(shape[1..].to_vec());
    }
    Ok(shape.to_vec())
}

/// The values of an initializer or a `Constant` node's tensor.
pub(super) fn tensor_value(t: &TensorProto) -> Result<Value> {
    if !t.external_data.is_empty() {
        return Err(err(format!(
            "tensor {} is stored outside the model file; save the model with its data inside",
            t.name
        )));
    }
    let shape: Vec<usize> = t.dims.iter().map(|&d| d.max(0) as usize).collect();
    let count: usize = shape.iter().product();
    let raw = &t.raw_data;
    let chunks = |w: usize| raw.chunks_exact(w);
    let value = match t.data_type {
        data_type::FLOAT => {
            let data: Vec<f32> = if raw.is_empty() {
                t.float_data.clone()
            } else {
                chunks(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect()
            };
            Value::Const {
                shape: shape.clone(),
                data,
            }
        }
        data_type::DOUBLE => {
            let data: Vec<f32> = if raw.is_empty() {
                t.double_data.iter().map(|&v| v as f32).collect()
            } else {
                chunks(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
                    .collect()
            };
            Value::Const {
                shape: shape.clone(),
                data,
            }
        }
        data_type::INT64 | data_type::INT32 => {
            let ints: Vec<i64> = match (t.data_type, raw.is_empty()) {
                (data_type::INT64, true) => t.int64_data.clone(),
                (data_type::INT64, false) => chunks(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
                (_, true) => t.int32_data.iter().map(|&v| v as i64).collect(),
                (_, false) => chunks(4)
                    .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64)
                    .collect(),
            };
            if shape.len() > 1 {
                return Err(err(format!(
                    "tensor {}: integer tensors of rank {} are not supported",
                    t.name,
                    shape.len()
                )));
            }
            Value::Ints(ints.into_iter().map(Dim::Fixed).collect())
        }
        other => {
            return Err(err(format!(
                "tensor {}: element type {other} is not supported (float, double, int32, int64)",
                t.name
            )))
        }
    };
    let len = match &value {
        Value::Const { data, .. } => data.len(),
        Value::Ints(v) => v.len(),
        Value::Run { .. } => 0,
    };
    if len != count {
        return Err(err(format!(
            "tensor {}: {len} values for shape {shape:?}",
            t.name
        )));
    }
    Ok(value)
}

/// A node's attributes by name.
pub(super) struct Attributes<'n>(pub &'n NodeProto);

impl Attributes<'_> {
    fn get(&self, name: &str) -> Option<&AttributeProto> {
        self.0.attribute.iter().find(|a| a.name == name)
    }
    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.get(name).map_or(default, |a| a.i)
    }
    pub fn float(&self, name: &str, default: f32) -> f32 {
        self.get(name).map_or(default, |a| a.f)
    }
    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.get(name).map(|a| a.ints.clone())
    }
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }
    pub fn tensor(&self, name: &str) -> Option<&TensorProto> {
        self.get(name).and_then(|a| a.t.as_ref())
    }
}
