//! TFLite → webverify weights.
//!
//! Walks the graph in execution order and turns it into a list of layers: every CONV_2D and
//! DEPTHWISE_CONV_2D (batch norm already folded by the exporter), PReLU — either the PRELU
//! operator or the `relu(x) + c·(x − |x|)` subgraph that TF 1.x exports write it as, whose slope
//! is `2c` — and residual ADDs. The layers are then matched one to one against
//! [`Architecture`], checking every kernel, stride, channel count, padding and activation, so a
//! different network fails loudly instead of producing wrong weights.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::io::weights::{sha256_hex, HostConv, Provenance};
use crate::nn::blazeface;
use crate::nn::conv::{ConvSpec, Padding};
pub use crate::nn::mobilefacenet::Architecture;
use crate::tools::tflite::{self, op, ConvSettings};

/// One conv as found in the graph, weights already in burn's `[out, in / groups, k, k]`.
#[derive(Clone, Debug)]
struct GraphConv {
    in_channels: usize,
    out_channels: usize,
    kernel: [usize; 2],
    depthwise: bool,
    settings: ConvSettings,
    output: i32,
    weights: HostConv,
}

#[derive(Clone, Debug)]
enum Layer {
    Conv(Box<GraphConv>),
    Residual,
}

fn err(msg: impl Into<String>) -> Error {
    Error::ModelLoad(msg.into())
}

struct Graph<'a> {
    tensors: Vec<tflite::TensorDef<'a>>,
    buffers: Vec<tflite::Buffer<'a>>,
    ops: Vec<(i32, tflite::Operator<'a>)>,
    producer: HashMap<i32, usize>,
}

impl<'a> Graph<'a> {
    fn new(model: &tflite::Model<'a>) -> Result<Self> {
        let codes: Vec<i32> = model
            .operator_codes()
            .ok_or_else(|| err("no operator codes"))?
            .iter()
            .map(|c| c.code())
            .collect();
        let subgraph = model
            .subgraphs()
            .and_then(|s| (!s.is_empty()).then(|| s.get(0)))
            .ok_or_else(|| err("no subgraph"))?;
        let tensors: Vec<_> = subgraph
            .tensors()
            .ok_or_else(|| err("no tensors"))?
            .iter()
            .collect();
        let buffers: Vec<_> = model
            .buffers()
            .ok_or_else(|| err("no buffers"))?
            .iter()
            .collect();
        let mut ops = Vec::new();
        let mut producer = HashMap::new();
        for (i, o) in subgraph
            .operators()
            .ok_or_else(|| err("no operators"))?
            .iter()
            .enumerate()
        {
            let code = *codes
                .get(o.opcode_index() as usize)
                .ok_or_else(|| err(format!("operator {i} has a bad opcode index")))?;
            for out in o.outputs() {
                producer.insert(out, i);
            }
            ops.push((code, o));
        }
        Ok(Self {
            tensors,
            buffers,
            ops,
            producer,
        })
    }

    fn tensor(&self, index: i32) -> Result<&tflite::TensorDef<'a>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.tensors.get(i))
            .ok_or_else(|| err(format!("tensor index {index} out of range")))
    }

    /// A constant float tensor's values and shape.
    fn constant(&self, index: i32) -> Result<(Vec<f32>, Vec<usize>)> {
        let t = self.tensor(index)?;
        let shape: Vec<usize> = t.shape().iter().map(|&d| d.max(0) as usize).collect();
        if t.tensor_type() != tflite::TENSOR_FLOAT32 {
            return Err(err(format!("tensor {} is not float32", t.name())));
        }
        let data = self
            .buffers
            .get(t.buffer() as usize)
            .map(|b| b.data())
            .unwrap_or(&[]);
        // Checked: a hostile shape would overflow and wrap to a count that matches the data.
        let count = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| {
                err(format!(
                    "tensor {} has an oversized shape {shape:?}",
                    t.name()
                ))
            })?
            / 4;
        if data.len() != count * 4 {
            return Err(err(format!(
                "tensor {} holds {} bytes for shape {shape:?}",
                t.name(),
                data.len()
            )));
        }
        let values = data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok((values, shape))
    }

    fn is_constant(&self, index: i32) -> bool {
        !self.producer.contains_key(&index)
            && self
                .tensor(index)
                .ok()
                .and_then(|t| self.buffers.get(t.buffer() as usize))
                .is_some_and(|b| !b.data().is_empty())
    }

    /// The op producing `tensor`, if its code is `code`.
    fn producer_of(&self, tensor: i32, code: i32) -> Option<usize> {
        self.producer
            .get(&tensor)
            .copied()
            .filter(|&i| self.ops[i].0 == code)
    }

    fn inputs(&self, op: usize) -> Vec<i32> {
        self.ops[op].1.inputs()
    }

    /// Recognises `add(relu(x), mul(c, sub(x, abs(x))))` and returns (x, the ops, slope 2c).
    fn prelu_subgraph(&self, add: usize) -> Option<(i32, [usize; 4], Vec<f32>)> {
        let inputs = self.inputs(add);
        let [a, b] = inputs[..] else { return None };
        for (relu_out, mul_out) in [(a, b), (b, a)] {
            let Some(relu) = self.producer_of(relu_out, op::RELU) else {
                continue;
            };
            let Some(mul) = self.producer_of(mul_out, op::MUL) else {
                continue;
            };
            // `get`, not `[0]`: an op in a hostile graph may have no inputs.
            let x = *self.inputs(relu).first()?;
            let mul_in = self.inputs(mul);
            let (Some(&c), Some(&d)) = (
                mul_in.iter().find(|&&t| self.is_constant(t)),
                mul_in.iter().find(|&&t| !self.is_constant(t)),
            ) else {
                continue;
            };
            let Some(sub) = self.producer_of(d, op::SUB) else {
                continue;
            };
            let sub_in = self.inputs(sub);
            let Some(abs) = self.producer_of(*sub_in.get(1)?, op::ABS) else {
                continue;
            };
            if sub_in.first() != Some(&x) || self.inputs(abs).first() != Some(&x) {
                continue;
            }
            let (c, _) = self.constant(c).ok()?;
            return Some((
                x,
                [relu, mul, sub, abs],
                c.iter().map(|v| 2.0 * v).collect(),
            ));
        }
        None
    }

    fn conv(&self, index: usize, depthwise: bool) -> Result<GraphConv> {
        let (_, o) = &self.ops[index];
        let inputs = o.inputs();
        let [_, w, b] = inputs[..] else {
            return Err(err(format!(
                "conv op {index} needs input, weights and bias"
            )));
        };
        let (weight, shape) = self.constant(w)?;
        let (bias, _) = self.constant(b)?;
        let [d0, kh, kw, d3] = shape[..] else {
            return Err(err(format!(
                "conv op {index}: weights of rank {}",
                shape.len()
            )));
        };
        let (settings, out_channels, in_channels, weight) = if depthwise {
            let options = o
                .depthwise_conv_2d_options()
                .ok_or_else(|| err(format!("depthwise op {index} has no options")))?;
            if d0 != 1 || options.depth_multiplier() != 1 {
                return Err(err(format!(
                    "depthwise op {index}: depth multiplier must be 1"
                )));
            }
            // 1HWO → O1HW
            let mut out = vec![0.0; weight.len()];
            for y in 0..kh {
                for x in 0..kw {
                    for c in 0..d3 {
                        out[(c * kh + y) * kw + x] = weight[(y * kw + x) * d3 + c];
                    }
                }
            }
            (options.settings(), d3, d3, out)
        } else {
            let options = o
                .conv_2d_options()
                .ok_or_else(|| err(format!("conv op {index} has no options")))?;
            // OHWI → OIHW
            let mut out = vec![0.0; weight.len()];
            for oc in 0..d0 {
                for y in 0..kh {
                    for x in 0..kw {
                        for ic in 0..d3 {
                            out[((oc * d3 + ic) * kh + y) * kw + x] =
                                weight[((oc * kh + y) * kw + x) * d3 + ic];
                        }
                    }
                }
            }
            (options.settings(), d0, d3, out)
        };
        if settings.fused_activation != 0 {
            return Err(err(format!(
                "conv op {index}: fused activation {} is not supported",
                settings.fused_activation
            )));
        }
        if bias.len() != out_channels {
            return Err(err(format!("conv op {index}: bias length {}", bias.len())));
        }
        Ok(GraphConv {
            in_channels,
            out_channels,
            kernel: [kh, kw],
            depthwise,
            settings,
            output: o.outputs().first().copied().unwrap_or(-1),
            weights: HostConv {
                weight,
                bias,
                alpha: None,
            },
        })
    }

    /// The graph as convs (with their PReLU) and residual adds, in execution order.
    fn layers(&self) -> Result<Vec<Layer>> {
        let mut prelus = HashMap::new();
        let mut absorbed = HashSet::new();
        for (i, (code, _)) in self.ops.iter().enumerate() {
            if *code == op::ADD {
                if let Some((x, members, alpha)) = self.prelu_subgraph(i) {
                    prelus.insert(i, (x, alpha));
                    absorbed.extend(members);
                }
            }
        }
        let mut layers: Vec<Layer> = Vec::new();
        for (i, (code, o)) in self.ops.iter().enumerate() {
            match *code {
                op::CONV_2D | op::DEPTHWISE_CONV_2D => {
                    let conv = self.conv(i, *code == op::DEPTHWISE_CONV_2D)?;
                    layers.push(Layer::Conv(Box::new(conv)));
                }
                op::ADD if prelus.contains_key(&i) => {
                    let (x, alpha) = prelus[&i].clone();
                    let conv = last_conv(&mut layers)
                        .filter(|c| c.output == x && c.weights.alpha.is_none())
                        .ok_or_else(|| err(format!("PReLU at op {i} does not follow a conv")))?;
                    if alpha.len() != conv.out_channels {
                        return Err(err(format!("PReLU at op {i}: {} slopes", alpha.len())));
                    }
                    conv.weights.alpha = Some(alpha);
                }
                op::PRELU => {
                    let inputs = o.inputs();
                    let (alpha, _) = self.constant(*inputs.get(1).unwrap_or(&-1))?;
                    let conv = last_conv(&mut layers)
                        .filter(|c| Some(&c.output) == inputs.first() && c.weights.alpha.is_none())
                        .ok_or_else(|| err(format!("PReLU at op {i} does not follow a conv")))?;
                    conv.weights.alpha = Some(alpha);
                }
                op::ADD => {
                    if o.add_options().is_some_and(|a| a.fused_activation() != 0) {
                        return Err(err(format!("ADD op {i} has a fused activation")));
                    }
                    layers.push(Layer::Residual);
                }
                op::RELU | op::ABS | op::SUB | op::MUL if absorbed.contains(&i) => {}
                // The final [N,1,1,192] → [N,192] squeeze.
                op::RESHAPE if i + 1 == self.ops.len() => {}
                other => {
                    return Err(err(format!(
                        "operator code {other} at op {i} is not supported"
                    )))
                }
            }
        }
        Ok(layers)
    }
}

fn last_conv(layers: &mut [Layer]) -> Option<&mut GraphConv> {
    match layers.last_mut() {
        Some(Layer::Conv(c)) => Some(c),
        _ => None,
    }
}

/// Converts a TFLite MobileFaceNet into host weights for [`Architecture::mobilefacenet`].
pub fn convert_tflite(bytes: &[u8], arch: &Architecture) -> Result<Vec<HostConv>> {
    let model = tflite::parse(bytes).map_err(|e| err(format!("not a valid TFLite file: {e}")))?;
    let layers = Graph::new(&model)?.layers()?;

    // Expected sequence: each conv, and a residual add after each residual block's projection.
    let residual_after: HashSet<&str> = arch
        .blocks
        .iter()
        .filter(|b| b.residual)
        .map(|b| b.project.name.as_str())
        .collect();
    let mut expected = Vec::new();
    for spec in arch.convs() {
        expected.push(Some(spec));
        if residual_after.contains(spec.name.as_str()) {
            expected.push(None);
        }
    }
    if expected.len() != layers.len() {
        return Err(err(format!(
            "the graph has {} layers, MobileFaceNet has {}",
            layers.len(),
            expected.len()
        )));
    }
    let mut out = Vec::new();
    for (position, (want, got)) in expected.iter().zip(layers).enumerate() {
        match (want, got) {
            (None, Layer::Residual) => {}
            (Some(spec), Layer::Conv(c)) => {
                let padding_matters = spec.kernel > 1;
                let same = spec.padding == Padding::Same;
                let matches = c.in_channels == spec.in_channels
                    && c.out_channels == spec.out_channels
                    && c.kernel == [spec.kernel, spec.kernel]
                    && c.depthwise == spec.depthwise
                    && c.settings.stride == [spec.stride, spec.stride]
                    && c.settings.dilation == [1, 1]
                    && (!padding_matters || c.settings.same_padding == same)
                    && c.weights.alpha.is_some() == spec.prelu;
                if !matches {
                    return Err(err(format!(
                        "layer {position} ({}) does not match: graph has {}→{} channels, \
                         kernel {:?}, depthwise {}, {:?}, PReLU {}",
                        spec.name,
                        c.in_channels,
                        c.out_channels,
                        c.kernel,
                        c.depthwise,
                        c.settings,
                        c.weights.alpha.is_some()
                    )));
                }
                out.push(c.weights);
            }
            (want, _) => {
                return Err(err(format!(
                    "layer {position}: expected {}",
                    want.map_or("a residual add".to_string(), |s| s.name.clone())
                )))
            }
        }
    }
    Ok(out)
}

/// Converts `bytes` (a TFLite file) into a webverify weights file.
pub fn convert_to_weights(bytes: &[u8], source: &str) -> Result<Vec<u8>> {
    let arch = Architecture::mobilefacenet();
    let convs = convert_tflite(bytes, &arch)?;
    crate::io::weights::write(
        &arch,
        &convs,
        &Provenance {
            source: source.to_string(),
            source_sha256: sha256_hex(bytes),
        },
    )
}

/// Converts the TF.js BlazeFace graph into a webverify weights file.
pub fn blazeface_from_tfjs(model_json: &[u8], weights: &[u8], source: &str) -> Result<Vec<u8>> {
    let graph = crate::tools::tfjs::Graph::parse(model_json, weights)?;
    let convs = crate::tools::tfjs::convolutions(&graph)?;
    let slots = blazeface_graph_order();
    if convs.len() != slots.len() {
        return Err(Error::ModelLoad(format!(
            "the graph has {} convolutions, BlazeFace short-range has {}",
            convs.len(),
            slots.len()
        )));
    }
    let mut tensors = Vec::new();
    for (slot, c) in slots.iter().zip(convs) {
        let stem = slot.name == "stem";
        let ok = c.in_channels == slot.in_channels
            && c.out_channels == slot.out_channels
            && c.kernel == slot.kernel
            && c.stride == slot.stride
            && c.depthwise == slot.depthwise
            && (c.kernel == 1 || c.same_padding)
            && c.relu == stem
            && c.alpha.is_none();
        if !ok {
            return Err(Error::ModelLoad(format!(
                "{} ({}) does not match: {}→{} k{} s{} depthwise {} relu {}",
                slot.name,
                c.name,
                c.in_channels,
                c.out_channels,
                c.kernel,
                c.stride,
                c.depthwise,
                c.relu
            )));
        }
        let f = crate::io::weights::f32_bytes;
        tensors.push((
            format!("{}.weight", slot.name),
            slot.weight_shape().to_vec(),
            f(&c.weight),
        ));
        tensors.push((
            format!("{}.bias", slot.name),
            vec![slot.out_channels],
            f(&c.bias),
        ));
    }
    let bytes = [model_json, weights].concat();
    Ok(crate::io::weights::write_file(
        blazeface::MODEL_NAME,
        &tensors,
        &[("input_size", blazeface::INPUT_SIZE.to_string())],
        &crate::io::weights::Provenance {
            source: source.into(),
            source_sha256: crate::io::weights::sha256_hex(&bytes),
        },
    ))
}

/// Every conv in the order the TF.js graph lists them (heads of the 16x16 map come before the
/// blocks that follow it).
fn blazeface_graph_order() -> Vec<ConvSpec> {
    let blazeface::Layout {
        stem,
        blocks,
        heads,
    } = blazeface::layout();
    let mut all = vec![stem];
    let mut heads = heads.into_iter();
    for (i, block) in blocks.into_iter().enumerate() {
        all.extend(block);
        if blazeface::HEADS.iter().any(|&(after, _, _)| after == i) {
            all.extend(heads.next().into_iter().flatten());
        }
    }
    all
}
