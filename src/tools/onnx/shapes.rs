//! The lowering of ONNX's shape ops: on computed tensors they become reshapes, transposes,
//! slices and concatenations in the runtime's storage; on integers (the `Shape` → `Gather` →
//! `Concat` → `Reshape` chain of a PyTorch `x.view(x.size(0), -1)`) they are computed here.

use super::lower::Lowerer;
use super::proto::NodeProto;
use super::values::*;
use crate::error::Result;
use crate::nn::graph::{Arithmetic, Op};

fn input(node: &NodeProto, i: usize) -> Result<String> {
    node.input
        .get(i)
        .filter(|s| !s.is_empty())
        .cloned()
        .ok_or_else(|| err(format!("node {}: input {i} is missing", node.name)))
}

fn value(l: &Lowerer, name: &str, node: &NodeProto) -> Result<Value> {
    l.values.get(name).cloned().ok_or_else(|| {
        err(format!(
            "node {}: input {name:?} is not computed before it",
            node.name
        ))
    })
}

fn fixed(v: &[Dim], node: &NodeProto) -> Result<Vec<i64>> {
    v.iter()
        .map(|d| match d {
            Dim::Fixed(x) => Ok(*x),
            Dim::Batch => Err(err(format!(
                "node {}: indices that depend on the batch",
                node.name
            ))),
        })
        .collect()
}

/// Integers from an input (opset ≥ 13 style) or an attribute (older opsets).
fn ints_from(l: &Lowerer, node: &NodeProto, i: usize, attr: &str) -> Result<Option<Vec<i64>>> {
    if let Some(v) = Attributes(node).ints(attr) {
        return Ok(Some(v));
    }
    match node.input.get(i).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(n) => match value(l, n, node)? {
            Value::Ints(v) => Ok(Some(fixed(&v, node)?)),
            _ => Err(err(format!(
                "node {}: {attr} must be constant integers",
                node.name
            ))),
        },
    }
}

fn set(l: &mut Lowerer, node: &NodeProto, v: Value) {
    l.values.insert(node.output[0].clone(), v);
}

/// Integer arithmetic on shapes (e.g. `size // heads`).
pub(super) fn int_arithmetic(x: &[Dim], y: &[Dim], f: Arithmetic, node: &str) -> Result<Vec<Dim>> {
    let n = x.len().max(y.len());
    let at = |v: &[Dim], i: usize| if v.len() == 1 { v[0] } else { v[i] };
    if !(x.len() == y.len() || x.len() == 1 || y.len() == 1) {
        return Err(err(format!("node {node}: integer shapes {x:?} and {y:?}")));
    }
    (0..n)
        .map(|i| match (at(x, i), at(y, i)) {
            (Dim::Fixed(a), Dim::Fixed(b)) => Ok(Dim::Fixed(match f {
                Arithmetic::Add => a + b,
                Arithmetic::Sub => a - b,
                Arithmetic::Mul => a * b,
                Arithmetic::Div if b != 0 => a.div_euclid(b),
                _ => return Err(err(format!("node {node}: integer {f:?} of {a} and {b}"))),
            })),
            _ => Err(err(format!("node {node}: arithmetic on the batch size"))),
        })
        .collect()
}

pub(super) fn shape(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let v = value(l, &input(node, 0)?, node)?;
    let dims: Vec<Dim> = match v {
        Value::Run { shape, .. } => std::iter::once(Dim::Batch)
            .chain(shape.iter().map(|&d| Dim::Fixed(d as i64)))
            .collect(),
        Value::Const { shape, .. } => shape.iter().map(|&d| Dim::Fixed(d as i64)).collect(),
        Value::Ints(v) => vec![Dim::Fixed(v.len() as i64)],
    };
    let a = Attributes(node);
    let n = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + n } else { v }).clamp(0, n) as usize;
    let (start, end) = (clamp(a.int("start", 0)), clamp(a.int("end", n)));
    set(l, node, Value::Ints(dims[start..end.max(start)].to_vec()));
    Ok(())
}

pub(super) fn gather(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let data = value(l, &input(node, 0)?, node)?;
    let indices = match value(l, &input(node, 1)?, node)? {
        Value::Ints(v) => fixed(&v, node)?,
        _ => {
            return Err(err(format!(
                "node {}: Gather indices must be constant",
                node.name
            )))
        }
    };
    let axis = Attributes(node).int("axis", 0);
    match data {
        Value::Ints(v) if axis == 0 => {
            let n = v.len() as i64;
            let picked = indices
                .iter()
                .map(|&i| v.get((if i < 0 { i + n } else { i }) as usize).copied())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| err(format!("node {}: Gather index out of range", node.name)))?;
            set(l, node, Value::Ints(picked));
            Ok(())
        }
        // `x[:, i]` (a ViT's class token): one index on a non-batch axis is a slice that drops
        // the axis.
        Value::Run { op, shape } if indices.len() == 1 => {
            let axis = sample_axis(axis, shape.len(), &node.name)?;
            let len = shape[axis] as i64;
            let i = if indices[0] < 0 {
                indices[0] + len
            } else {
                indices[0]
            };
            if !(0..len).contains(&i) {
                return Err(err(format!(
                    "node {}: Gather index out of range",
                    node.name
                )));
            }
            let stored = storage_axis(axis, shape.len())
                .ok_or_else(|| err(format!("node {}: Gather on a leading axis", node.name)))?;
            let mut kept = shape.clone();
            kept[axis] = 1;
            let sliced = l.push(Op::Slice {
                input: op,
                axis: stored,
                start: i as usize,
                end: i as usize + 1,
                step: 1,
            });
            let mut out = shape;
            out.remove(axis);
            l.reshape_to(node, sliced, &kept, out)
        }
        _ => Err(err(format!(
            "node {}: Gather of this kind (constant data, or several indices of a computed tensor)",
            node.name
        ))),
    }
}

pub(super) fn reshape(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = &node.name;
    let (x, shape) = match value(l, &input(node, 0)?, node)? {
        Value::Run { op, shape } => (op, shape),
        _ => {
            return Err(err(format!(
                "node {name}: Reshape of a constant (fold it before exporting)"
            )))
        }
    };
    let target = match value(l, &input(node, 1)?, node)? {
        Value::Ints(v) => v,
        _ => {
            return Err(err(format!(
                "node {name}: the shape must be computable at conversion"
            )))
        }
    };
    let allow_zero = Attributes(node).int("allowzero", 0) != 0;
    let count: usize = shape.iter().product();
    // The first entry must keep the batch: the batch itself, 0 (copy), -1 with the rest fixed,
    // or 1 where the export fixed the batch at one.
    let rest: Vec<i64> = target
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, d)| match d {
            Dim::Fixed(0) if !allow_zero => shape
                .get(i - 1)
                .map(|&v| v as i64)
                .ok_or_else(|| err(format!("node {name}: a 0 past the input's rank"))),
            Dim::Fixed(v) => Ok(*v),
            Dim::Batch => Err(err(format!(
                "node {name}: the batch size moves to axis {i}"
            ))),
        })
        .collect::<Result<_>>()?;
    let known: i64 = rest.iter().filter(|&&v| v != -1).product();
    let inferred = rest.iter().filter(|&&v| v == -1).count();
    let batch_kept = match target.first() {
        Some(Dim::Batch) | Some(Dim::Fixed(1)) => true,
        Some(Dim::Fixed(0)) => !allow_zero,
        Some(Dim::Fixed(-1)) => inferred == 0 && known == count as i64,
        _ => false,
    };
    if !batch_kept || inferred > 1 || rest.iter().any(|&v| v < -1) || known <= 0 {
        return Err(err(format!(
            "node {name}: Reshape of [N, {shape:?}] to {target:?} mixes the batch axis"
        )));
    }
    let out: Vec<usize> = rest
        .iter()
        .map(|&v| {
            if v == -1 {
                count / known as usize
            } else {
                v as usize
            }
        })
        .collect();
    l.reshape_to(node, x, &shape, out)
}

pub(super) fn squeeze(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = &node.name;
    let squeeze = node.op_type == "Squeeze";
    let axes = ints_from(l, node, 1, "axes")?;
    match value(l, &input(node, 0)?, node)? {
        // Shape arithmetic treats scalars and one-element vectors alike.
        v @ Value::Ints(_) => {
            set(l, node, v);
            Ok(())
        }
        Value::Run { op, shape } => {
            let mut out = shape.clone();
            if squeeze {
                let mut axes: Vec<usize> = match axes {
                    Some(a) => a
                        .iter()
                        .map(|&ax| sample_axis(ax, shape.len(), name))
                        .collect::<Result<_>>()?,
                    None => (0..shape.len()).filter(|&i| shape[i] == 1).collect(),
                };
                axes.sort_unstable();
                for &a in axes.iter().rev() {
                    if out[a] != 1 {
                        return Err(err(format!("node {name}: squeezing an axis of {}", out[a])));
                    }
                    out.remove(a);
                }
            } else {
                let axes =
                    axes.ok_or_else(|| err(format!("node {name}: Unsqueeze without axes")))?;
                let rank = shape.len() + axes.len();
                let mut axes: Vec<usize> = axes
                    .iter()
                    .map(|&ax| sample_axis(ax, rank, name))
                    .collect::<Result<_>>()?;
                axes.sort_unstable();
                for a in axes {
                    out.insert(a, 1);
                }
            }
            l.reshape_to(node, op, &shape, out)
        }
        Value::Const { .. } => Err(err(format!("node {name}: {} of a constant", node.op_type))),
    }
}

pub(super) fn transpose(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = &node.name;
    let (x, shape) = match value(l, &input(node, 0)?, node)? {
        Value::Run { op, shape } => (op, shape),
        _ => return Err(err(format!("node {name}: Transpose of a constant"))),
    };
    let r = shape.len();
    let perm = Attributes(node)
        .ints("perm")
        .unwrap_or_else(|| (0..=r as i64).rev().collect());
    if perm.len() != r + 1 || perm[0] != 0 {
        return Err(err(format!(
            "node {name}: Transpose {perm:?} moves the batch axis"
        )));
    }
    let sample: Vec<usize> = perm[1..].iter().map(|&p| p as usize - 1).collect();
    let out: Vec<usize> = sample.iter().map(|&p| shape[p]).collect();
    // Axes that stay in the storage's last three places.
    let mut stored = [0, 1, 2, 3];
    for (i, &p) in sample.iter().enumerate() {
        match (storage_axis(i, r), storage_axis(p, r)) {
            (Some(to), Some(from)) => stored[to] = from,
            _ if i == p => {}
            _ => return Err(err(format!("node {name}: Transpose {perm:?} of {shape:?}"))),
        }
    }
    // Two transposes in a row compose (an NHWC input meets the model's own NCHW transpose).
    let (source, composed) = match &l.ops[x] {
        Op::Transpose { input, perm: first } => (*input, stored.map(|p| first[p])),
        _ => (x, stored),
    };
    let op = if composed == [0, 1, 2, 3] {
        source
    } else {
        l.push(Op::Transpose {
            input: source,
            perm: composed,
        })
    };
    l.values
        .insert(node.output[0].clone(), Value::Run { op, shape: out });
    Ok(())
}

pub(super) fn concat(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = &node.name;
    let parts: Vec<Value> = node
        .input
        .iter()
        .map(|n| value(l, n, node))
        .collect::<Result<_>>()?;
    if parts.iter().all(|p| matches!(p, Value::Ints(_))) {
        let joined = parts
            .into_iter()
            .flat_map(|p| match p {
                Value::Ints(v) => v,
                _ => unreachable!(),
            })
            .collect();
        set(l, node, Value::Ints(joined));
        return Ok(());
    }
    let rank = parts
        .iter()
        .find_map(|p| match p {
            Value::Run { shape, .. } => Some(shape.len()),
            _ => None,
        })
        .ok_or_else(|| err(format!("node {name}: Concat of constants")))?;
    let axis = sample_axis(Attributes(node).int("axis", 0), rank, name)?;
    let mut ops = Vec::new();
    let mut shapes = Vec::new();
    for p in parts {
        let (op, shape) = match p {
            Value::Run { op, shape } => (op, shape),
            // A constant joined to every sample (a ViT's class token) needs the batch size.
            _ => {
                return Err(err(format!(
                    "node {name}: Concat of a constant with computed tensors"
                )))
            }
        };
        ops.push(op);
        shapes.push(shape);
    }
    let same = shapes
        .iter()
        .all(|s| s.len() == rank && (0..rank).all(|k| k == axis || s[k] == shapes[0][k]));
    if !same {
        return Err(err(format!("node {name}: Concat of {shapes:?}")));
    }
    let stored = storage_axis(axis, rank)
        .ok_or_else(|| err(format!("node {name}: Concat on a leading axis")))?;
    let mut out = shapes[0].clone();
    out[axis] = shapes.iter().map(|s| s[axis]).sum();
    let op = l.push(Op::Concat {
        inputs: ops,
        axis: stored,
    });
    l.values
        .insert(node.output[0].clone(), Value::Run { op, shape: out });
    Ok(())
}

pub(super) fn slice(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = &node.name;
    let data = value(l, &input(node, 0)?, node)?;
    let starts =
        ints_from(l, node, 1, "starts")?.ok_or_else(|| err(format!("node {name}: no starts")))?;
    let ends =
        ints_from(l, node, 2, "ends")?.ok_or_else(|| err(format!("node {name}: no ends")))?;
    let steps = ints_from(l, node, 4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
    let rank = match &data {
        Value::Run { shape, .. } => shape.len() + 1,
        Value::Ints(_) => 1,
        Value::Const { .. } => return Err(err(format!("node {name}: Slice of a constant"))),
    };
    let axes = ints_from(l, node, 3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    if starts.len() != ends.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(err(format!(
            "node {name}: Slice with unequal starts, ends, axes and steps"
        )));
    }
    let range = |len: i64, s: i64, e: i64| {
        let fix = |v: i64| (if v < 0 { v + len } else { v }).clamp(0, len);
        (fix(s) as usize, fix(e) as usize)
    };
    match data {
        Value::Ints(v) => {
            let (s, e) = range(v.len() as i64, starts[0], ends[0]);
            if steps[0] != 1 || axes[0] != 0 {
                return Err(err(format!("node {name}: a strided slice of a shape")));
            }
            set(l, node, Value::Ints(v[s..e.max(s)].to_vec()));
            Ok(())
        }
        Value::Run { mut op, mut shape } => {
            for k in 0..starts.len() {
                let axis = sample_axis(axes[k], rank - 1, name)?;
                let (s, e) = range(shape[axis] as i64, starts[k], ends[k]);
                if steps[k] < 1 || e <= s {
                    return Err(err(format!("node {name}: an empty or reversed slice")));
                }
                if (s, e, steps[k]) == (0, shape[axis], 1) {
                    continue;
                }
                let stored = storage_axis(axis, shape.len())
                    .ok_or_else(|| err(format!("node {name}: a slice of a leading axis")))?;
                op = l.push(Op::Slice {
                    input: op,
                    axis: stored,
                    start: s,
                    end: e,
                    step: steps[k] as usize,
                });
                shape[axis] = (e - s).div_ceil(steps[k] as usize);
            }
            l.values
                .insert(node.output[0].clone(), Value::Run { op, shape });
            Ok(())
        }
        Value::Const { .. } => unreachable!(),
    }
}
