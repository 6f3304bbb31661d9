//! Compiles a TF.js graph model into a [`Program`] (`crate::nn::graph`) and its tensors: the
//! nodes that the wanted outputs depend on, in an order where every op runs after its inputs.
//! Used for MediaPipe Face Mesh (`webverify convert facemesh.json`).

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::io::weights::{f32_bytes, sha256_hex, write_file, Provenance};
use crate::nn::graph::{Op, Program};
use crate::tools::tfjs::{convolution, Graph, Node};

fn err(msg: impl Into<String>) -> Error {
    Error::ModelLoad(msg.into())
}

/// A TF.js node name without its `:0` output suffix.
fn base(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

struct Compiler<'g> {
    graph: &'g Graph,
    nodes: HashMap<&'g str, &'g Node>,
    /// Node name → op index (pass-through nodes map to their input's op).
    done: HashMap<String, usize>,
    ops: Vec<Op>,
    channels: Vec<usize>,
    tensors: Vec<(String, Vec<usize>, Vec<u8>)>,
    input: (usize, usize),
}

impl<'g> Compiler<'g> {
    fn push(&mut self, op: Op, channels: usize) -> usize {
        self.ops.push(op);
        self.channels.push(channels);
        self.ops.len() - 1
    }

    /// The op index computing `name`, compiling it (and what it needs) first.
    fn compile(&mut self, name: &str, depth: usize) -> Result<usize> {
        let name = base(name);
        if let Some(&i) = self.done.get(name) {
            return Ok(i);
        }
        if depth > 2_000 {
            return Err(err("the graph is too deep"));
        }
        let node = *self
            .nodes
            .get(name)
            .ok_or_else(|| err(format!("node {name} is missing")))?;
        // Data inputs (constants are read by the conversions below).
        let data: Vec<&String> = node
            .inputs
            .iter()
            .filter(|i| !self.graph.constants.contains_key(base(i)))
            .collect();
        let first = |c: &mut Self| -> Result<usize> {
            let i = data
                .first()
                .ok_or_else(|| err(format!("{name} has no input")))?;
            c.compile(i, depth + 1)
        };
        let index = match node.op.as_str() {
            "Placeholder" => {
                let (size, channels) = self.input;
                self.push(Op::Input { channels, size }, channels)
            }
            "Identity" | "Reshape" => first(self)?,
            "_FusedConv2D" | "Conv2D" | "DepthwiseConv2dNative" => {
                let input = first(self)?;
                let conv = convolution(self.graph, node)?.expect("a convolution node");
                if conv.relu {
                    return Err(err(format!("{name}: fused ReLU is not supported here")));
                }
                if self.channels[input] != conv.in_channels {
                    return Err(err(format!(
                        "{name}: {} input channels, {} produced",
                        conv.in_channels, self.channels[input]
                    )));
                }
                let i = self.ops.len();
                let groups = if conv.depthwise { conv.in_channels } else { 1 };
                let shape = vec![
                    conv.out_channels,
                    conv.in_channels / groups,
                    conv.kernel,
                    conv.kernel,
                ];
                self.tensors
                    .push((format!("ops.{i}.weight"), shape, f32_bytes(&conv.weight)));
                self.tensors.push((
                    format!("ops.{i}.bias"),
                    vec![conv.out_channels],
                    f32_bytes(&conv.bias),
                ));
                if let Some(alpha) = &conv.alpha {
                    self.tensors.push((
                        format!("ops.{i}.alpha"),
                        vec![conv.out_channels],
                        f32_bytes(alpha),
                    ));
                }
                self.push(
                    Op::Conv {
                        input,
                        in_channels: conv.in_channels,
                        out_channels: conv.out_channels,
                        kernel: conv.kernel,
                        stride: conv.stride,
                        depthwise: conv.depthwise,
                        same: conv.same_padding,
                        prelu: conv.alpha.is_some(),
                    },
                    conv.out_channels,
                )
            }
            "AddV2" | "Add" => {
                let [a, b] = data[..] else {
                    return Err(err(format!("{name}: Add of {} inputs", data.len())));
                };
                let (a, b) = (self.compile(a, depth + 1)?, self.compile(b, depth + 1)?);
                let c = self.channels[a];
                self.push(Op::Add { inputs: [a, b] }, c)
            }
            "Prelu" => {
                let input = first(self)?;
                let alpha = node
                    .inputs
                    .get(1)
                    .ok_or_else(|| err(format!("{name}: no slopes")))
                    .and_then(|a| self.graph.constant(base(a)))?;
                let c = self.channels[input];
                if alpha.values.len() != c {
                    return Err(err(format!(
                        "{name}: {} slopes for {c} channels",
                        alpha.values.len()
                    )));
                }
                let i = self.ops.len();
                self.tensors
                    .push((format!("ops.{i}.alpha"), vec![c], f32_bytes(&alpha.values)));
                self.push(Op::Prelu { input, channels: c }, c)
            }
            "MaxPool" => {
                let input = first(self)?;
                let (k, s) = (node.ints("ksize"), node.ints("strides"));
                if k != [1, 2, 2, 1] || s != [1, 2, 2, 1] {
                    return Err(err(format!(
                        "{name}: only 2x2 stride-2 pooling, not {k:?} {s:?}"
                    )));
                }
                let c = self.channels[input];
                self.push(Op::MaxPool { input }, c)
            }
            "Pad" => {
                let input = first(self)?;
                let pads = node
                    .inputs
                    .get(1)
                    .ok_or_else(|| err(format!("{name}: no paddings")))
                    .and_then(|p| self.graph.constant(base(p)))?;
                // NHWC [[0, 0], [0, 0], [0, 0], [0, extra]]: channels appended.
                let v: Vec<i64> = pads.values.iter().map(|&x| x as i64).collect();
                let [0, 0, 0, 0, 0, 0, 0, extra] = v[..] else {
                    return Err(err(format!("{name}: only channel padding, not {v:?}")));
                };
                let c = self.channels[input] + extra.max(0) as usize;
                self.push(Op::PadChannels { input, channels: c }, c)
            }
            "Sigmoid" => {
                let input = first(self)?;
                let c = self.channels[input];
                self.push(Op::Sigmoid { input }, c)
            }
            other => return Err(err(format!("{name}: op {other} is not supported"))),
        };
        self.done.insert(name.to_string(), index);
        Ok(index)
    }
}

/// Converts `graph` into a webverify weights file of `model` computing `outputs` (name in our
/// file, node in the graph) from a square RGB input of `input_size`.
pub fn graph_to_weights(
    graph: &Graph,
    model: &str,
    input_size: usize,
    outputs: &[(&str, &str)],
    provenance: &Provenance,
) -> Result<Vec<u8>> {
    let mut c = Compiler {
        graph,
        nodes: graph.nodes.iter().map(|n| (n.name.as_str(), n)).collect(),
        done: HashMap::new(),
        ops: Vec::new(),
        channels: Vec::new(),
        tensors: Vec::new(),
        input: (input_size, 3),
    };
    for (name, node) in outputs {
        let input = c.compile(node, 0)?;
        let channels = c.channels[input];
        c.push(
            Op::Output {
                input,
                name: name.to_string(),
                row_major: false,
            },
            channels,
        );
    }
    if !matches!(c.ops.first(), Some(Op::Input { .. })) {
        return Err(err("the outputs do not depend on the input first"));
    }
    let program = Program { ops: c.ops };
    program.check()?;
    let json = serde_json::to_string(&program).map_err(|e| err(e.to_string()))?;
    Ok(write_file(
        model,
        &c.tensors,
        &[("input_size", input_size.to_string()), ("program", json)],
        provenance,
    ))
}

/// MediaPipe Face Mesh from its TF.js graph: outputs `mesh` (468 × x, y, z in input pixels) and
/// `face` (the probability that the crop holds a face).
pub fn facemesh_from_tfjs(model_json: &[u8], weights: &[u8], source: &str) -> Result<Vec<u8>> {
    let graph = Graph::parse(model_json, weights)?;
    graph_to_weights(
        &graph,
        crate::face::mesh::MODEL_NAME,
        crate::face::mesh::INPUT_SIZE,
        &[("mesh", "Identity_2"), ("face", "Identity_1")],
        &Provenance {
            source: source.into(),
            source_sha256: sha256_hex(&[model_json, weights].concat()),
        },
    )
}
