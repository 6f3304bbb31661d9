//! The lowering of ONNX's layers with weights: Conv, BatchNormalization (folded into the conv
//! before it where it can be), pooling, Gemm and LayerNormalization.

use super::lower::Lowerer;
use super::proto::NodeProto;
use super::values::*;
use crate::error::Result;
use crate::nn::graph::{Arithmetic, Op};

fn input(node: &NodeProto, i: usize) -> Option<String> {
    node.input.get(i).filter(|s| !s.is_empty()).cloned()
}

fn need(node: &NodeProto, i: usize) -> Result<String> {
    input(node, i).ok_or_else(|| err(format!("node {}: input {i} is missing", node.name)))
}

/// The output size of a window over `size` values.
fn windows(
    size: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad: usize,
    ceil: bool,
) -> Option<usize> {
    let span = dilation * (kernel - 1) + 1;
    let room = (size + pad).checked_sub(span)?;
    Some(
        if ceil {
            room.div_ceil(stride)
        } else {
            room / stride
        } + 1,
    )
}

/// Pads as [top, left, bottom, right] from `pads` or `auto_pad`.
fn pads(
    a: &Attributes<'_>,
    size: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> Result<[usize; 4]> {
    let name = &a.0.name;
    match a.string("auto_pad").as_deref() {
        None | Some("NOTSET") | Some("") => {
            let p = a.ints("pads").unwrap_or_else(|| vec![0; 4]);
            if p.len() != 4 || p.iter().any(|&v| v < 0) {
                return Err(err(format!("node {name}: pads {p:?}")));
            }
            Ok([p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize])
        }
        Some("VALID") => Ok([0; 4]),
        Some(same @ ("SAME_UPPER" | "SAME_LOWER")) => {
            let mut out = [0; 4];
            for k in 0..2 {
                let o = size[k].div_ceil(stride[k]);
                let span = dilation[k] * (kernel[k] - 1) + 1;
                let total = ((o - 1) * stride[k] + span).saturating_sub(size[k]);
                let (small, big) = (total / 2, total - total / 2);
                let (begin, end) = if same == "SAME_UPPER" {
                    (small, big)
                } else {
                    (big, small)
                };
                out[k] = begin;
                out[k + 2] = end;
            }
            Ok(out)
        }
        Some(other) => Err(err(format!("node {name}: auto_pad {other}"))),
    }
}

fn pair(a: &Attributes<'_>, key: &str, default: usize) -> Result<[usize; 2]> {
    match a.ints(key) {
        None => Ok([default; 2]),
        Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 1) => Ok([v[0] as usize, v[1] as usize]),
        Some(v) => Err(err(format!("node {}: {key} {v:?} (2-D only)", a.0.name))),
    }
}

pub(super) fn conv(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = node.name.clone();
    let a = Attributes(node);
    let (x, shape) = run_input(l, node, 0)?;
    let (wshape, weight) = const_input(l, node, 1)?;
    if shape.len() != 3 || wshape.len() != 4 {
        return Err(err(format!(
            "node {name}: Conv of {shape:?} with weights {wshape:?} (2-D convolutions only)"
        )));
    }
    let groups = a.int("group", 1).max(1) as usize;
    let (out_channels, kernel) = (wshape[0], [wshape[2], wshape[3]]);
    if wshape[1] * groups != shape[0] {
        return Err(err(format!(
            "node {name}: weights {wshape:?} in {groups} groups for {} channels",
            shape[0]
        )));
    }
    let stride = pair(&a, "strides", 1)?;
    let dilation = pair(&a, "dilations", 1)?;
    let pads = pads(&a, [shape[1], shape[2]], kernel, stride, dilation)?;
    let out = |k: usize| {
        windows(
            shape[1 + k],
            kernel[k],
            stride[k],
            dilation[k],
            pads[k] + pads[k + 2],
            false,
        )
    };
    let (Some(h), Some(w)) = (out(0), out(1)) else {
        return Err(err(format!("node {name}: a kernel larger than its input")));
    };
    let bias = match input(node, 2) {
        Some(_) => Some(const_input(l, node, 2)?.1),
        None => None,
    };
    let op = l.push(Op::Convolution {
        input: x,
        in_channels: shape[0],
        out_channels,
        kernel,
        stride,
        dilation,
        pads,
        groups,
        bias: bias.is_some(),
    });
    let mut tensors = vec![("weight", wshape, weight)];
    if let Some(b) = bias {
        tensors.push(("bias", vec![out_channels], b));
    }
    l.tensors.insert(op, tensors);
    l.values.insert(
        node.output[0].clone(),
        Value::Run {
            op,
            shape: vec![out_channels, h, w],
        },
    );
    Ok(())
}

pub(super) fn batch_norm(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = node.name.clone();
    let first = need(node, 0)?;
    let (x, shape) = run_input(l, node, 0)?;
    let epsilon = Attributes(node).float("epsilon", 1e-5);
    let [scale, shift, mean, var] = [1, 2, 3, 4].map(|i| const_input(l, node, i).map(|c| c.1));
    let (scale, shift, mean, var) = (scale?, shift?, mean?, var?);
    let c = shape.first().copied().unwrap_or(0);
    if [&scale, &shift, &mean, &var].iter().any(|v| v.len() != c) || node.output.len() > 1 {
        return Err(err(format!(
            "node {name}: a batch norm of {shape:?} (inference form only)"
        )));
    }
    // y = x · k + (shift − mean · k), k = scale / √(var + ε).
    let k: Vec<f32> = (0..c)
        .map(|i| scale[i] / (var[i] + epsilon).sqrt())
        .collect();
    let offset: Vec<f32> = (0..c).map(|i| shift[i] - mean[i] * k[i]).collect();
    let folds =
        l.readers.get(&first).copied() == Some(1) && matches!(l.ops[x], Op::Convolution { .. });
    if folds {
        let tensors = l.tensors.get_mut(&x).expect("a convolution's tensors");
        let per = tensors[0].2.len() / c;
        for (i, w) in tensors[0].2.iter_mut().enumerate() {
            *w *= k[i / per];
        }
        match tensors.iter_mut().find(|t| t.0 == "bias") {
            Some(b) => {
                b.2.iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = *v * k[i] + offset[i])
            }
            None => tensors.push(("bias", vec![c], offset)),
        }
        if let Op::Convolution { bias, .. } = &mut l.ops[x] {
            *bias = true;
        }
        l.values
            .insert(node.output[0].clone(), Value::Run { op: x, shape });
        return Ok(());
    }
    // Channels are the first per-sample axis: constants of shape [C, 1, …].
    let mut per_channel = vec![1; shape.len()];
    per_channel[0] = c;
    let ks = l.constant_op(&per_channel, k, &name)?;
    let scaled = l.push(Op::Binary {
        inputs: [x, ks],
        function: Arithmetic::Mul,
    });
    let os = l.constant_op(&per_channel, offset, &name)?;
    let op = l.push(Op::Binary {
        inputs: [scaled, os],
        function: Arithmetic::Add,
    });
    l.values
        .insert(node.output[0].clone(), Value::Run { op, shape });
    Ok(())
}

pub(super) fn pool(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = node.name.clone();
    let a = Attributes(node);
    let (x, shape) = run_input(l, node, 0)?;
    let max = node.op_type == "MaxPool";
    if shape.len() != 3 || (max && node.output.len() > 1 && !node.output[1].is_empty()) {
        return Err(err(format!(
            "node {name}: {} of {shape:?} (2-D, without indices)",
            node.op_type
        )));
    }
    let kernel = pair(&a, "kernel_shape", 0)?;
    if kernel.contains(&0) {
        return Err(err(format!("node {name}: no kernel_shape")));
    }
    let stride = pair(&a, "strides", 1)?;
    if pair(&a, "dilations", 1)? != [1, 1] {
        return Err(err(format!("node {name}: dilated pooling")));
    }
    let pads = pads(&a, [shape[1], shape[2]], kernel, stride, [1, 1])?;
    let ceil = a.int("ceil_mode", 0) != 0;
    let out = |k: usize| {
        windows(
            shape[1 + k],
            kernel[k],
            stride[k],
            1,
            pads[k] + pads[k + 2],
            ceil,
        )
    };
    let (Some(h), Some(w)) = (out(0), out(1)) else {
        return Err(err(format!("node {name}: a window larger than its input")));
    };
    let op = l.push(Op::Pool {
        input: x,
        max,
        kernel,
        stride,
        pads,
        count_include_pad: a.int("count_include_pad", 0) != 0,
        ceil,
    });
    l.values.insert(
        node.output[0].clone(),
        Value::Run {
            op,
            shape: vec![shape[0], h, w],
        },
    );
    Ok(())
}

pub(super) fn gemm(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = node.name.clone();
    let a = Attributes(node);
    let (x, shape) = run_input(l, node, 0)?;
    let (bshape, mut b) = const_input(l, node, 1)?;
    if shape.len() != 1 || bshape.len() != 2 || a.int("transA", 0) != 0 {
        return Err(err(format!(
            "node {name}: Gemm of {shape:?} and {bshape:?}"
        )));
    }
    let (mut k, mut m) = (bshape[0], bshape[1]);
    if a.int("transB", 0) != 0 {
        b = (0..k * m).map(|i| b[(i % k) * m + i / k]).collect();
        (k, m) = (m, k);
    }
    if k != shape[0] {
        return Err(err(format!(
            "node {name}: Gemm of {shape:?} and {bshape:?}"
        )));
    }
    let alpha = a.float("alpha", 1.0);
    b.iter_mut().for_each(|v| *v *= alpha);
    let w = l.constant_op(&[k, m], b, &name)?;
    let mut op = l.push(Op::MatMul { inputs: [x, w] });
    if input(node, 2).is_some() {
        let (cshape, mut c) = const_input(l, node, 2)?;
        let beta = a.float("beta", 1.0);
        c.iter_mut().for_each(|v| *v *= beta);
        let sample = const_sample_shape(&cshape, 1, &name)?;
        if broadcast(&[m], &sample) != Some(vec![m]) {
            return Err(err(format!(
                "node {name}: a Gemm bias {cshape:?} for {m} outputs"
            )));
        }
        let cs = l.constant_op(&sample, c, &name)?;
        op = l.push(Op::Binary {
            inputs: [op, cs],
            function: Arithmetic::Add,
        });
    }
    l.values
        .insert(node.output[0].clone(), Value::Run { op, shape: vec![m] });
    Ok(())
}

pub(super) fn layer_norm(l: &mut Lowerer, node: &NodeProto) -> Result<()> {
    let name = node.name.clone();
    let a = Attributes(node);
    let (x, shape) = run_input(l, node, 0)?;
    let size = shape.last().copied().unwrap_or(0);
    let axis = sample_axis(a.int("axis", -1), shape.len(), &name)?;
    if axis + 1 != shape.len()
        || node.output.len() > 1 && node.output[1..].iter().any(|o| !o.is_empty())
    {
        return Err(err(format!(
            "node {name}: a layer norm over axis {} of {shape:?} (the last axis only)",
            axis + 1
        )));
    }
    let (_, weight) = const_input(l, node, 1)?;
    let bias = match input(node, 2) {
        Some(_) => const_input(l, node, 2)?.1,
        None => vec![0.0; size],
    };
    if weight.len() != size || bias.len() != size {
        return Err(err(format!(
            "node {name}: layer norm weights for {size} values"
        )));
    }
    let op = l.push(Op::LayerNorm {
        input: x,
        size,
        epsilon: a.float("epsilon", 1e-5),
    });
    l.tensors.insert(
        op,
        vec![
            ("weight", vec![1, 1, 1, size], weight),
            ("bias", vec![1, 1, 1, size], bias),
        ],
    );
    l.values
        .insert(node.output[0].clone(), Value::Run { op, shape });
    Ok(())
}

fn run_input(l: &Lowerer, node: &NodeProto, i: usize) -> Result<(usize, Vec<usize>)> {
    match l.values.get(&need(node, i)?) {
        Some(Value::Run { op, shape }) => Ok((*op, shape.clone())),
        _ => Err(err(format!(
            "node {}: input {i} must be a computed tensor",
            node.name
        ))),
    }
}

fn const_input(l: &Lowerer, node: &NodeProto, i: usize) -> Result<(Vec<usize>, Vec<f32>)> {
    match l.values.get(&need(node, i)?) {
        Some(Value::Const { shape, data }) => Ok((shape.clone(), data.clone())),
        _ => Err(err(format!(
            "node {}: input {i} must be a float constant (weights computed at run time are not supported)",
            node.name
        ))),
    }
}
