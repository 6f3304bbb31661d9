//! `webverify convert model.onnx out.safetensors`: an ONNX embedding network into a program of
//! general ops (`crate::nn::graph`) and its weights, with the preprocessing the network expects
//! in the file's metadata (`crate::score::imported`). Fidelity against onnxruntime:
//! tests/onnx_import.rs.

mod layers;
mod lower;
mod proto;
mod shapes;
mod values;

use std::collections::HashMap;

use crate::error::Result;
use crate::io::weights::{f32_bytes, sha256_hex, write_file, Provenance};
use crate::nn::graph::{Op, Program};
use crate::score::imported::{Preprocessing, IMPORTED_MODEL};
use lower::Lowerer;
use proto::dimension;
use values::{err, tensor_value, Value};

/// What the ONNX file cannot say: how pixels become its input.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// `"nchw"` or `"nhwc"`; read from the input's shape when absent.
    pub layout: Option<String>,
    /// `"rgb"` (default) or `"bgr"`.
    pub colour: Option<String>,
    /// Per-channel mean and standard deviation in 0–255 units (one value: every channel).
    pub mean: Option<Vec<f32>>,
    pub std: Option<Vec<f32>>,
    /// The output to keep (default: the graph's first).
    pub output: Option<String>,
}

/// A converted network: the weights file, and what was decided on the way (for the CLI).
#[derive(Debug)]
pub struct Imported {
    pub bytes: Vec<u8>,
    pub preprocessing: Preprocessing,
    pub ops: usize,
    pub output: String,
    pub output_dim: usize,
    /// Notes on choices the options did not make (e.g. a default normalisation).
    pub notes: Vec<String>,
}

/// Converts ONNX model bytes; `source` names the file in the provenance.
pub fn onnx_to_weights(bytes: &[u8], source: &str, options: &ImportOptions) -> Result<Imported> {
    let model = proto::decode(bytes)?;
    let graph = model
        .graph
        .ok_or_else(|| err("the ONNX model has no graph"))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(1, |o| o.version);
    let mut notes = Vec::new();
    let mut l = Lowerer {
        ops: Vec::new(),
        tensors: HashMap::new(),
        values: HashMap::new(),
        readers: HashMap::new(),
        opset,
    };
    for t in &graph.initializer {
        l.values.insert(t.name.clone(), tensor_value(t)?);
    }
    for name in graph
        .node
        .iter()
        .flat_map(|n| n.input.iter())
        .chain(graph.output.iter().map(|o| &o.name))
    {
        *l.readers.entry(name.clone()).or_default() += 1;
    }
    // The one input that is not an initializer.
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !l.values.contains_key(&i.name))
        .collect();
    let [input] = inputs[..] else {
        return Err(err(format!(
            "the model has {} inputs; an embedder takes one image batch",
            inputs.len()
        )));
    };
    let dims: Vec<Option<i64>> = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .and_then(|t| t.shape.as_ref())
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(dimension::Value::DimValue(v)) if *v > 0 => Some(*v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if dims.len() != 4 || dims[1..].iter().any(Option::is_none) {
        return Err(err(format!(
            "input {:?} has shape {dims:?}; an image batch [N, C, H, W] or [N, H, W, C] with fixed sizes is needed",
            input.name
        )));
    }
    let d: Vec<usize> = dims[1..].iter().map(|v| v.unwrap() as usize).collect();
    let layout = match options.layout.as_deref() {
        Some(l @ ("nchw" | "nhwc")) => l.to_string(),
        Some(other) => return Err(err(format!("layout {other}: nchw or nhwc"))),
        None if matches!(d[2], 1 | 3) && !matches!(d[0], 1 | 3) => "nhwc".into(),
        None => "nchw".into(),
    };
    let (channels, h, w) = if layout == "nhwc" {
        (d[2], d[0], d[1])
    } else {
        (d[0], d[1], d[2])
    };
    if h != w || !matches!(channels, 1 | 3) {
        return Err(err(format!(
            "input {:?}: {channels} channels of {h}x{w}; square images of 1 or 3 channels are supported",
            input.name
        )));
    }
    let first = l.push(Op::Input { channels, size: h });
    let value = if layout == "nhwc" {
        let t = l.push(Op::Transpose {
            input: first,
            perm: [0, 2, 3, 1],
        });
        Value::Run {
            op: t,
            shape: vec![h, w, channels],
        }
    } else {
        Value::Run {
            op: first,
            shape: vec![channels, h, w],
        }
    };
    l.values.insert(input.name.clone(), value);
    for node in &graph.node {
        l.node(node)?;
    }
    let output = match &options.output {
        Some(o) => o.clone(),
        None => graph
            .output
            .first()
            .map(|o| o.name.clone())
            .ok_or_else(|| err("the graph has no output"))?,
    };
    let (op, shape) = match l.values.get(&output) {
        Some(Value::Run { op, shape }) => (*op, shape.clone()),
        Some(_) => {
            return Err(err(format!(
                "output {output:?} does not depend on the input"
            )))
        }
        None => return Err(err(format!("the graph has no value {output:?}"))),
    };
    let output_dim: usize = shape.iter().product();
    l.push(Op::Output {
        input: op,
        name: output.clone(),
        row_major: true,
    });
    let (ops, tensors) = live_ops(&l);
    let program = Program { ops };
    program.check()?;

    let per_channel = |v: &Option<Vec<f32>>, default: f32, what: &str| -> Result<Vec<f32>> {
        match v.as_deref() {
            None => Ok(vec![default; channels]),
            Some([x]) => Ok(vec![*x; channels]),
            Some(v) if v.len() == channels => Ok(v.to_vec()),
            Some(v) => Err(err(format!(
                "{what}: {} values for {channels} channels",
                v.len()
            ))),
        }
    };
    if options.mean.is_none() && options.std.is_none() {
        notes.push(
            "no --mean/--std: the network is assumed to take pixels scaled to [0, 1] (mean 0, std 255)"
                .into(),
        );
    }
    let preprocessing = Preprocessing {
        size: h,
        channels,
        colour: options.colour.clone().unwrap_or_else(|| "rgb".into()),
        mean: per_channel(&options.mean, 0.0, "mean")?,
        std: per_channel(&options.std, 255.0, "std")?,
        layout,
    };
    preprocessing.check()?;
    let metadata = [
        (
            "program",
            serde_json::to_string(&program).expect("a program serialises"),
        ),
        (
            "preprocessing",
            serde_json::to_string(&preprocessing).expect("plain data"),
        ),
        ("output", output.clone()),
        ("output_dim", output_dim.to_string()),
        ("onnx_opset", opset.to_string()),
        ("onnx_producer", model.producer_name.clone()),
    ];
    let provenance = Provenance {
        source: source.to_string(),
        source_sha256: sha256_hex(bytes),
    };
    let stored: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, values)| (name, shape, f32_bytes(&values)))
        .collect();
    Ok(Imported {
        bytes: write_file(IMPORTED_MODEL, &stored, &metadata, &provenance),
        ops: program.ops.len(),
        preprocessing,
        output,
        output_dim,
        notes,
    })
}

/// A tensor of the weights file: name, shape, values.
type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// The ops the output depends on, renumbered, and their tensors under the new numbers.
fn live_ops(l: &Lowerer) -> (Vec<Op>, Vec<NamedTensor>) {
    let mut live = vec![false; l.ops.len()];
    live[0] = true;
    for i in (0..l.ops.len()).rev() {
        if matches!(l.ops[i], Op::Output { .. }) || live[i] {
            live[i] = true;
            for j in l.ops[i].inputs() {
                live[j] = true;
            }
        }
    }
    let mut index = vec![usize::MAX; l.ops.len()];
    let mut ops = Vec::new();
    let mut tensors = Vec::new();
    for (i, op) in l.ops.iter().enumerate().filter(|(i, _)| live[*i]) {
        index[i] = ops.len();
        let mut op = op.clone();
        op.inputs_mut().into_iter().for_each(|i| *i = index[*i]);
        for (suffix, shape, values) in l.tensors.get(&i).into_iter().flatten() {
            tensors.push((
                format!("ops.{}.{suffix}", ops.len()),
                shape.clone(),
                values.clone(),
            ));
        }
        ops.push(op);
    }
    (ops, tensors)
}
