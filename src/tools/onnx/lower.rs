//! Lowers ONNX nodes, in graph order, to program ops (`crate::nn::graph`): shapes are resolved
//! here (the batch size is the only unknown), batch norms folded into the convolutions before
//! them, shape arithmetic computed, and every axis mapped to the runtime's `[N, a, b, c]`
//! storage. A node that cannot be lowered exactly is an error naming it; nothing is guessed.

use std::collections::HashMap;

use super::proto::NodeProto;
use super::values::*;
use crate::error::Result;
use crate::nn::graph::{Arithmetic, Function, Op};

/// One tensor of an op: its name suffix (`weight`, `bias`, `value`), shape and values.
pub(super) type OpTensor = (&'static str, Vec<usize>, Vec<f32>);

/// The program being built: ops, their tensors, and each ONNX name's value.
pub(super) struct Lowerer {
    pub ops: Vec<Op>,
    /// Per op: (suffix, shape, values) of its tensors.
    pub tensors: HashMap<usize, Vec<OpTensor>>,
    pub values: HashMap<String, Value>,
    /// How many nodes (and graph outputs) read each name: a conv's output read once may take
    /// the batch norm after it.
    pub readers: HashMap<String, usize>,
    pub opset: i64,
}

/// Storage-shape helper: panics never; callers checked the rank.
fn padded(shape: &[usize], node: &str) -> Result<[usize; 3]> {
    storage(shape).ok_or_else(|| {
        err(format!(
            "node {node}: a value of shape {shape:?} has more than 3 axes besides the batch"
        ))
    })
}

impl Lowerer {
    pub fn push(&mut self, op: Op) -> usize {
        self.ops.push(op);
        self.ops.len() - 1
    }

    fn value(&self, name: &str, node: &str) -> Result<Value> {
        self.values.get(name).cloned().ok_or_else(|| {
            err(format!(
                "node {node}: input {name:?} is not computed before it"
            ))
        })
    }

    /// A runtime input: its op and per-sample shape.
    fn run(&mut self, name: &str, node: &str) -> Result<(usize, Vec<usize>)> {
        match self.value(name, node)? {
            Value::Run { op, shape } => Ok((op, shape)),
            _ => Err(err(format!(
                "node {node}: input {name:?} is constant where a computed tensor is needed"
            ))),
        }
    }

    fn constant(&self, name: &str, node: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        match self.value(name, node)? {
            Value::Const { shape, data } => Ok((shape, data)),
            _ => Err(err(format!(
                "node {node}: input {name:?} must be a float constant (an initializer)"
            ))),
        }
    }

    fn ints(&self, name: &str, node: &str) -> Result<Vec<i64>> {
        match self.value(name, node)? {
            Value::Ints(v) => v
                .into_iter()
                .map(|d| match d {
                    Dim::Fixed(v) => Ok(v),
                    Dim::Batch => Err(err(format!("node {node}: {name:?} depends on the batch"))),
                })
                .collect(),
            _ => Err(err(format!(
                "node {node}: {name:?} must be constant integers"
            ))),
        }
    }

    /// Emits a constant as an op, with `sample` its shape beside the value it meets.
    pub fn constant_op(&mut self, sample: &[usize], data: Vec<f32>, node: &str) -> Result<usize> {
        let [a, b, c] = padded(sample, node)?;
        let shape = [1, a, b, c];
        let i = self.push(Op::Constant { shape });
        self.tensors
            .insert(i, vec![("value", shape.to_vec(), data)]);
        Ok(i)
    }

    fn set(&mut self, node: &NodeProto, op: usize, shape: Vec<usize>) -> Result<()> {
        padded(&shape, &node.name)?;
        let name = node.output.first().cloned().unwrap_or_default();
        self.values.insert(name, Value::Run { op, shape });
        Ok(())
    }

    /// Lowers one node.
    pub fn node(&mut self, node: &NodeProto) -> Result<()> {
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(self.unsupported(node));
        }
        let name = node.name.clone();
        let a = Attributes(node);
        let input = |i: usize| node.input.get(i).filter(|s| !s.is_empty()).cloned();
        // Empty for a Constant; any other node without it fails on reading it.
        let first = input(0).unwrap_or_default();
        let unary = |f: Function| Some(f);
        let function = match node.op_type.as_str() {
            "Relu" => unary(Function::Relu),
            "Sigmoid" => unary(Function::Sigmoid),
            "Tanh" => unary(Function::Tanh),
            "Exp" => unary(Function::Exp),
            "Neg" => unary(Function::Neg),
            "Abs" => unary(Function::Abs),
            "Sqrt" => unary(Function::Sqrt),
            "Reciprocal" => unary(Function::Reciprocal),
            "Erf" => unary(Function::Erf),
            "HardSwish" => unary(Function::HardSwish),
            "HardSigmoid" => unary(Function::HardSigmoid {
                alpha: a.float("alpha", 0.2),
                beta: a.float("beta", 0.5),
            }),
            "LeakyRelu" => unary(Function::LeakyRelu {
                alpha: a.float("alpha", 0.01),
            }),
            "Gelu" => match a.string("approximate").as_deref() {
                None | Some("none") => unary(Function::Gelu),
                Some("tanh") => unary(Function::GeluTanh),
                Some(other) => return Err(err(format!("node {name}: Gelu approximate={other}"))),
            },
            "Clip" => {
                let bound = |i: usize, attr: &str, default: f32| -> Result<f32> {
                    match input(i) {
                        Some(n) => Ok(self
                            .constant(&n, &name)?
                            .1
                            .first()
                            .copied()
                            .unwrap_or(default)),
                        None => Ok(a.float(attr, default)),
                    }
                };
                unary(Function::Clip {
                    min: bound(1, "min", f32::MIN)?,
                    max: bound(2, "max", f32::MAX)?,
                })
            }
            _ => None,
        };
        if let Some(function) = function {
            let (x, shape) = self.run(&first, &name)?;
            let op = self.push(Op::Unary { input: x, function });
            return self.set(node, op, shape);
        }
        let arithmetic = match node.op_type.as_str() {
            "Add" => Some(Arithmetic::Add),
            "Sub" => Some(Arithmetic::Sub),
            "Mul" => Some(Arithmetic::Mul),
            "Div" => Some(Arithmetic::Div),
            "Pow" => Some(Arithmetic::Pow),
            "PRelu" => Some(Arithmetic::Prelu),
            _ => None,
        };
        if let Some(f) = arithmetic {
            let second = input(1).ok_or_else(|| err(format!("node {name}: one operand")))?;
            return self.binary(node, f, &first, &second);
        }
        match node.op_type.as_str() {
            "Identity" | "Dropout" => {
                let v = self.value(&first, &name)?;
                self.values.insert(node.output[0].clone(), v);
                Ok(())
            }
            "Cast" => {
                // Shape arithmetic casts between integer types; a computed tensor stays float.
                let v = self.value(&first, &name)?;
                match (&v, a.int("to", 1)) {
                    (Value::Run { .. }, 1) | (Value::Ints(_), 6 | 7) | (Value::Const { .. }, 1) => {
                        self.values.insert(node.output[0].clone(), v);
                        Ok(())
                    }
                    _ => Err(err(format!("node {name}: Cast to type {}", a.int("to", 1)))),
                }
            }
            "Constant" => {
                let t = a.tensor("value").ok_or_else(|| {
                    err(format!("node {name}: a Constant without a tensor value"))
                })?;
                let v = tensor_value(t)?;
                self.values.insert(node.output[0].clone(), v);
                Ok(())
            }
            "Conv" => super::layers::conv(self, node),
            "BatchNormalization" => super::layers::batch_norm(self, node),
            "MaxPool" | "AveragePool" => super::layers::pool(self, node),
            "GlobalAveragePool" => {
                let (x, shape) = self.run(&first, &name)?;
                if shape.len() != 3 {
                    return Err(err(format!("node {name}: GlobalAveragePool of {shape:?}")));
                }
                let op = self.push(Op::ReduceMean {
                    input: x,
                    axes: vec![2, 3],
                });
                self.set(node, op, vec![shape[0], 1, 1])
            }
            "Gemm" => super::layers::gemm(self, node),
            "MatMul" => {
                let second = input(1).ok_or_else(|| err(format!("node {name}: one operand")))?;
                self.matmul(node, &first, &second)
            }
            "LayerNormalization" => super::layers::layer_norm(self, node),
            "Softmax" => {
                let (x, shape) = self.run(&first, &name)?;
                let axis = sample_axis(
                    a.int("axis", if self.opset >= 13 { -1 } else { 1 }),
                    shape.len(),
                    &name,
                )?;
                if self.opset < 13 && axis + 1 != shape.len() {
                    return Err(err(format!(
                        "node {name}: Softmax before opset 13 over axis {} flattens; only the last axis is supported",
                        axis + 1
                    )));
                }
                let axis = storage_axis(axis, shape.len())
                    .ok_or_else(|| err(format!("node {name}: softmax over a leading axis")))?;
                let op = self.push(Op::Softmax { input: x, axis });
                self.set(node, op, shape)
            }
            "ReduceMean" => {
                let (x, shape) = self.run(&first, &name)?;
                let axes = match (a.ints("axes"), input(1)) {
                    (Some(v), _) => v,
                    (None, Some(n)) => self.ints(&n, &name)?,
                    (None, None) => (1..=shape.len() as i64).collect(),
                };
                let keep = a.int("keepdims", 1) != 0;
                let mut sample: Vec<usize> = axes
                    .iter()
                    .map(|&ax| sample_axis(ax, shape.len(), &name))
                    .collect::<Result<_>>()?;
                sample.sort_unstable();
                sample.dedup();
                let stored = sample
                    .iter()
                    .map(|&s| storage_axis(s, shape.len()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| err(format!("node {name}: a mean over a leading axis")))?;
                let op = self.push(Op::ReduceMean {
                    input: x,
                    axes: stored,
                });
                let kept: Vec<usize> = (0..shape.len())
                    .map(|i| if sample.contains(&i) { 1 } else { shape[i] })
                    .collect();
                if keep {
                    return self.set(node, op, kept);
                }
                let out: Vec<usize> = (0..shape.len())
                    .filter(|i| !sample.contains(i))
                    .map(|i| shape[i])
                    .collect();
                self.reshape_to(node, op, &kept, out)
            }
            "Flatten" => {
                let (x, shape) = self.run(&first, &name)?;
                if a.int("axis", 1) != 1 {
                    return Err(err(format!(
                        "node {name}: Flatten with axis {} mixes the batch axis",
                        a.int("axis", 1)
                    )));
                }
                self.reshape_to(node, x, &shape, vec![shape.iter().product()])
            }
            "Reshape" => super::shapes::reshape(self, node),
            "Squeeze" | "Unsqueeze" => super::shapes::squeeze(self, node),
            "Transpose" => super::shapes::transpose(self, node),
            "Concat" => super::shapes::concat(self, node),
            "Slice" => super::shapes::slice(self, node),
            "Shape" => super::shapes::shape(self, node),
            "Gather" => super::shapes::gather(self, node),
            _ => Err(self.unsupported(node)),
        }
    }

    pub fn unsupported(&self, node: &NodeProto) -> crate::Error {
        let domain = if node.domain.is_empty() {
            String::new()
        } else {
            format!(" (domain {})", node.domain)
        };
        err(format!(
            "operator {}{domain} of node {:?} is not supported (docs/MODELS.md lists the operators)",
            node.op_type, node.name
        ))
    }

    /// A reshape op from `from` to `to` (per-sample shapes), skipped when storage is unchanged.
    pub fn reshape_to(
        &mut self,
        node: &NodeProto,
        x: usize,
        from: &[usize],
        to: Vec<usize>,
    ) -> Result<()> {
        let name = &node.name;
        if from.iter().product::<usize>() != to.iter().product::<usize>() {
            return Err(err(format!("node {name}: reshaping {from:?} to {to:?}")));
        }
        let (a, b) = (padded(from, name)?, padded(&to, name)?);
        let op = if a == b {
            x
        } else {
            self.push(Op::Reshape { input: x, shape: b })
        };
        self.set(node, op, to)
    }

    fn binary(&mut self, node: &NodeProto, f: Arithmetic, a: &str, b: &str) -> Result<()> {
        let name = node.name.clone();
        let (va, vb) = (self.value(a, &name)?, self.value(b, &name)?);
        // Integer shape arithmetic stays at conversion time.
        if let (Value::Ints(x), Value::Ints(y)) = (&va, &vb) {
            let out = super::shapes::int_arithmetic(x, y, f, &name)?;
            self.values.insert(node.output[0].clone(), Value::Ints(out));
            return Ok(());
        }
        let rank = match (&va, &vb) {
            (Value::Run { shape, .. }, _) | (_, Value::Run { shape, .. }) => shape.len(),
            _ => {
                return Err(err(format!(
                    "node {name}: {} of two constants (fold it before exporting)",
                    node.op_type
                )))
            }
        };
        let mut operand = |v: Value| -> Result<(usize, Vec<usize>)> {
            match v {
                Value::Run { op, shape } => Ok((op, shape)),
                Value::Const { shape, data } => {
                    let sample = const_sample_shape(&shape, rank, &name)?;
                    Ok((self.constant_op(&sample, data, &name)?, sample))
                }
                Value::Ints(_) => Err(err(format!("node {name}: integers in float arithmetic"))),
            }
        };
        let (x, sx) = operand(va)?;
        let (y, sy) = operand(vb)?;
        let shape = broadcast(&sx, &sy).ok_or_else(|| {
            err(format!(
                "node {name}: shapes {sx:?} and {sy:?} do not broadcast"
            ))
        })?;
        if f == Arithmetic::Prelu && shape != sx {
            return Err(err(format!(
                "node {name}: a PRelu slope {sy:?} wider than its input {sx:?}"
            )));
        }
        let op = self.push(Op::Binary {
            inputs: [x, y],
            function: f,
        });
        self.set(node, op, shape)
    }

    fn matmul(&mut self, node: &NodeProto, a: &str, b: &str) -> Result<()> {
        let name = node.name.clone();
        let (x, sx) = self.run(a, &name)?;
        let (y, sy) = match self.value(b, &name)? {
            Value::Run { op, shape } => (op, shape),
            Value::Const { shape, data } => {
                // A weight matrix, or a stack of them whose leading axes meet A's.
                let sample = if shape.len() <= 2 {
                    shape
                } else {
                    const_sample_shape(&shape, sx.len(), &name)?
                };
                (self.constant_op(&sample, data, &name)?, sample)
            }
            Value::Ints(_) => return Err(err(format!("node {name}: a product with integers"))),
        };
        // ONNX's rule for a 1-D operand: the runtime value always has the batch axis, so `sx`
        // with one axis is a row of a [N, K] matrix.
        if sy.len() < 2 || sx.is_empty() {
            return Err(err(format!("node {name}: MatMul of {sx:?} and {sy:?}")));
        }
        let k = sx[sx.len() - 1];
        if sy[sy.len() - 2] != k {
            return Err(err(format!("node {name}: MatMul of {sx:?} and {sy:?}")));
        }
        let m = sy[sy.len() - 1];
        let shape = if sx.len() == 1 {
            // [N, K] × [K, M] (or batched B whose first axis meets N).
            if sy.len() > 2 {
                return Err(err(format!("node {name}: MatMul of {sx:?} and {sy:?}")));
            }
            vec![m]
        } else {
            let lead = broadcast(&sx[..sx.len() - 2], &sy[..sy.len() - 2])
                .ok_or_else(|| err(format!("node {name}: MatMul of {sx:?} and {sy:?}")))?;
            let mut s = lead;
            s.extend([sx[sx.len() - 2], m]);
            s
        };
        let op = self.push(Op::MatMul { inputs: [x, y] });
        self.set(node, op, shape)
    }
}
