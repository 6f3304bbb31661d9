//! A reader for TensorFlow.js graph models (`model.json` + weight shards): the graph's nodes in
//! order and its constant tensors, dequantised to f32. The converter walks these to fill burn
//! modules; nothing here runs a graph.

use std::collections::HashMap;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, Result};

fn err(msg: impl Into<String>) -> Error {
    Error::ModelLoad(msg.into())
}

#[derive(Deserialize)]
struct ModelJson {
    #[serde(rename = "modelTopology")]
    topology: Topology,
    #[serde(rename = "weightsManifest")]
    manifest: Vec<ManifestGroup>,
}

#[derive(Deserialize)]
struct Topology {
    node: Vec<NodeJson>,
}

#[derive(Deserialize)]
struct NodeJson {
    name: String,
    op: String,
    #[serde(default)]
    input: Vec<String>,
    #[serde(default)]
    attr: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct ManifestGroup {
    #[serde(default)]
    paths: Vec<String>,
    weights: Vec<WeightSpec>,
}

/// Reads `model.json` and its weight shards (named by the manifest, beside the JSON file).
#[cfg(not(target_arch = "wasm32"))]
pub fn read_files(model_json: &std::path::Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| err(format!("cannot read {}: {e}", p.display())))
    };
    let json = read(model_json)?;
    let model: ModelJson = serde_json::from_slice(&json)
        .map_err(|e| err(format!("not a TF.js graph model.json: {e}")))?;
    let dir = model_json.parent().unwrap_or(std::path::Path::new("."));
    let mut weights = Vec::new();
    for path in model.manifest.iter().flat_map(|g| &g.paths) {
        weights.extend(read(&dir.join(path))?);
    }
    Ok((json, weights))
}

#[derive(Deserialize)]
struct WeightSpec {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    quantization: Option<Quantization>,
}

#[derive(Deserialize)]
struct Quantization {
    dtype: String,
    scale: Option<f32>,
    min: Option<f32>,
}

/// One graph node.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub op: String,
    pub inputs: Vec<String>,
    attr: serde_json::Map<String, serde_json::Value>,
}

impl Node {
    /// An integer list attribute (`strides`, `ksize`, ...).
    pub fn ints(&self, key: &str) -> Vec<i64> {
        self.attr
            .get(key)
            .and_then(|a| a["list"]["i"].as_array())
            .map(|v| v.iter().filter_map(|x| x.as_str()?.parse().ok()).collect())
            .unwrap_or_default()
    }

    /// A string attribute (`padding`), stored base64-encoded in model.json.
    pub fn string(&self, key: &str) -> Option<String> {
        let b64 = self.attr.get(key)?["s"].as_str()?;
        decode(b64)
    }

    /// A string list attribute (`fused_ops`).
    pub fn strings(&self, key: &str) -> Vec<String> {
        self.attr
            .get(key)
            .and_then(|a| a["list"]["s"].as_array())
            .map(|v| v.iter().filter_map(|x| decode(x.as_str()?)).collect())
            .unwrap_or_default()
    }
}

fn decode(b64: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    String::from_utf8(bytes).ok()
}

/// A constant tensor: shape and values as f32.
#[derive(Clone, Debug, PartialEq)]
pub struct Constant {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// A parsed graph model.
pub struct Graph {
    pub nodes: Vec<Node>,
    pub constants: HashMap<String, Constant>,
}

impl Graph {
    /// Parses `model.json` and its weight shards (concatenated in manifest order).
    pub fn parse(model_json: &[u8], weights: &[u8]) -> Result<Self> {
        let model: ModelJson = serde_json::from_slice(model_json)
            .map_err(|e| err(format!("not a TF.js graph model.json: {e}")))?;
        let mut constants = HashMap::new();
        let mut offset = 0usize;
        for spec in model.manifest.iter().flat_map(|g| &g.weights) {
            // Checked: a hostile shape ([2^40, 2^40]) would overflow and wrap to a small count.
            let count = spec
                .shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .ok_or_else(|| {
                    err(format!(
                        "{}: shape {:?} is too large",
                        spec.name, spec.shape
                    ))
                })?;
            let stored = spec
                .quantization
                .as_ref()
                .map_or(spec.dtype.as_str(), |q| q.dtype.as_str());
            let width = match stored {
                "float32" | "int32" => 4,
                "float16" => 2,
                "uint8" => 1,
                other => {
                    return Err(err(format!(
                        "{}: unsupported stored dtype {other}",
                        spec.name
                    )))
                }
            };
            let end = count
                .checked_mul(width)
                .and_then(|n| n.checked_add(offset))
                .ok_or_else(|| {
                    err(format!(
                        "{}: shape {:?} is too large",
                        spec.name, spec.shape
                    ))
                })?;
            let bytes = weights
                .get(offset..end)
                .ok_or_else(|| err(format!("weights end before {}", spec.name)))?;
            offset = end;
            let values: Vec<f32> = match (stored, &spec.quantization) {
                ("float32", _) => bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                ("int32", _) => bytes
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
                    .collect(),
                ("float16", _) => bytes
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                ("uint8", Some(q)) => {
                    let (scale, min) = (q.scale.unwrap_or(1.0), q.min.unwrap_or(0.0));
                    bytes.iter().map(|&v| min + scale * v as f32).collect()
                }
                _ => {
                    return Err(err(format!(
                        "{}: uint8 weights without quantization",
                        spec.name
                    )))
                }
            };
            constants.insert(
                spec.name.clone(),
                Constant {
                    shape: spec.shape.clone(),
                    values,
                },
            );
        }
        if offset != weights.len() {
            return Err(err(format!(
                "the manifest describes {offset} bytes of weights, the file has {}",
                weights.len()
            )));
        }
        let nodes = model
            .topology
            .node
            .into_iter()
            .map(|n| Node {
                name: n.name,
                op: n.op,
                inputs: n.input,
                attr: n.attr,
            })
            .collect();
        Ok(Self { nodes, constants })
    }

    pub fn constant(&self, name: &str) -> Result<&Constant> {
        self.constants
            .get(name)
            .ok_or_else(|| err(format!("constant {name} is missing")))
    }
}

/// A convolution found in a graph, with TensorFlow's layouts converted to burn's.
#[derive(Clone, Debug)]
pub struct GraphConv {
    pub name: String,
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub depthwise: bool,
    pub same_padding: bool,
    pub relu: bool,
    /// The slopes of a fused PReLU.
    pub alpha: Option<Vec<f32>>,
    /// `[out, in / groups, k, k]`.
    pub weight: Vec<f32>,
    /// Zeros for depthwise convs, which TF.js exports without a bias.
    pub bias: Vec<f32>,
}

/// Every `_FusedConv2D` / `Conv2D` / `DepthwiseConv2dNative` node, in graph order.
pub fn convolutions(graph: &Graph) -> Result<Vec<GraphConv>> {
    let mut out = Vec::new();
    for node in &graph.nodes {
        if let Some(conv) = convolution(graph, node)? {
            out.push(conv);
        }
    }
    Ok(out)
}

/// The convolution of `node` (`None` when it is another op).
pub fn convolution(graph: &Graph, node: &Node) -> Result<Option<GraphConv>> {
    {
        let depthwise = match node.op.as_str() {
            "_FusedConv2D" | "Conv2D" => false,
            "DepthwiseConv2dNative" => true,
            _ => return Ok(None),
        };
        let w = graph.constant(node.inputs.get(1).map_or("", String::as_str))?;
        let [kh, kw, cin, m] = w.shape[..] else {
            return Err(err(format!(
                "{}: weights of rank {}",
                node.name,
                w.shape.len()
            )));
        };
        if kh != kw {
            return Err(err(format!("{}: non-square kernel", node.name)));
        }
        let strides = node.ints("strides");
        let stride = *strides.get(1).unwrap_or(&1) as usize;
        if strides.get(2).map(|&s| s as usize) != Some(stride) {
            return Err(err(format!("{}: unequal strides {strides:?}", node.name)));
        }
        let fused = node.strings("fused_ops");
        if fused
            .iter()
            .any(|f| f != "BiasAdd" && f != "Relu" && f != "Prelu")
        {
            return Err(err(format!(
                "{}: unsupported fused ops {fused:?}",
                node.name
            )));
        }
        let (out_channels, weight) = if depthwise {
            if m != 1 {
                return Err(err(format!("{}: depth multiplier {m}", node.name)));
            }
            // HWC1 → C1HW
            let mut o = vec![0.0; w.values.len()];
            for y in 0..kh {
                for x in 0..kw {
                    for c in 0..cin {
                        o[(c * kh + y) * kw + x] = w.values[(y * kw + x) * cin + c];
                    }
                }
            }
            (cin, o)
        } else {
            // HWIO → OIHW
            let mut o = vec![0.0; w.values.len()];
            for y in 0..kh {
                for x in 0..kw {
                    for i in 0..cin {
                        for oc in 0..m {
                            o[((oc * cin + i) * kh + y) * kw + x] =
                                w.values[((y * kw + x) * cin + i) * m + oc];
                        }
                    }
                }
            }
            (m, o)
        };
        let bias = if fused.iter().any(|f| f == "BiasAdd") {
            let b = graph.constant(node.inputs.get(2).map_or("", String::as_str))?;
            if b.values.len() != out_channels {
                return Err(err(format!(
                    "{}: bias of {} for {out_channels} channels",
                    node.name,
                    b.values.len()
                )));
            }
            b.values.clone()
        } else {
            vec![0.0; out_channels]
        };
        let alpha = if fused.iter().any(|f| f == "Prelu") {
            let a = graph.constant(node.inputs.get(3).map_or("", String::as_str))?;
            if a.values.len() != out_channels {
                return Err(err(format!(
                    "{}: PReLU of {} for {out_channels} channels",
                    node.name,
                    a.values.len()
                )));
            }
            Some(a.values.clone())
        } else {
            None
        };
        Ok(Some(GraphConv {
            name: node.name.clone(),
            in_channels: cin,
            out_channels,
            kernel: kh,
            stride,
            depthwise,
            same_padding: node.string("padding").as_deref() == Some("SAME"),
            relu: fused.iter().any(|f| f == "Relu"),
            alpha,
            weight,
            bias,
        }))
    }
}
