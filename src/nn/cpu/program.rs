//! Imported programs (`crate::nn::graph`, from ONNX) on this module's kernels. The longest
//! prefix of a program made of convolutions the kernels take runs here on NHWC buffers, with a
//! PReLU or a residual add that follows a conv fused into its store as for MobileFaceNet; the
//! rest of the program continues on burn's ops from the prefix's last value
//! ([`crate::nn::graph::GraphNet::forward_from`]). Taken convolutions: 1x1 (stride 1, no
//! padding) as GEMMs; depthwise 3x3, 5x5 and 7x7 at any stride and padding; a 3x3 or 5x5 first
//! conv over the 3-channel input as im2col rows and one GEMM.

use super::depthwise::{Depthwise, Geometry};
use super::im2col::im2col;
use super::pointwise::{Epilogue, Pointwise, PANEL};
use crate::nn::graph::{Arithmetic, Op, Program};

/// How a step's conv runs.
enum Kernel {
    Pointwise(Pointwise),
    Depthwise3(Depthwise<3>, Geometry),
    Depthwise5(Depthwise<5>, Geometry),
    Depthwise7(Depthwise<7>, Geometry),
    /// A KxK first conv: im2col rows (`3·K·K` values) of the NCHW input, then a GEMM.
    Stem {
        gemm: Pointwise,
        kernel: usize,
        stride: usize,
        pad: usize,
    },
}

/// What the store adds after the bias.
#[derive(Clone, Copy)]
enum Fused {
    Linear,
    Prelu,
    /// `+` the value of this op.
    Residual(usize),
}

struct Step {
    /// The op whose value this step makes (the conv's, or the fused PReLU's or add's).
    produces: usize,
    /// The op whose value it reads.
    reads: usize,
    kernel: Kernel,
    fused: Fused,
    /// Output side and channels.
    side: usize,
    channels: usize,
}

/// The packed prefix of a program.
pub struct PackedProgram {
    steps: Vec<Step>,
    /// The input's channels and side.
    input: (usize, usize),
    /// The op whose value the prefix ends with, and its `[channels, side, side]`.
    pub boundary: usize,
    pub boundary_shape: [usize; 3],
    /// Per step: the values no later step reads, whose buffers go back to the pool after it.
    frees: Vec<Vec<usize>>,
    /// Buffers kept between calls: allocating and zeroing a map per layer cost a third of the
    /// time (as the shipped network's `Scratch` found).
    pool: std::sync::Mutex<Vec<Vec<f32>>>,
}

/// A buffer of at least `n` floats from `pool` (its values are stale: every kernel writes all
/// of its output).
fn take(pool: &mut Vec<Vec<f32>>, n: usize) -> Vec<f32> {
    match pool.iter().position(|b| b.len() >= n) {
        Some(i) => pool.swap_remove(i),
        None => vec![0.0; n],
    }
}

/// Where the weights come from (as [`crate::nn::graph::GraphNet::build`]'s reader).
pub type Reader<'a> = &'a dyn Fn(&str, &[usize]) -> crate::Result<Vec<f32>>;

fn readers(program: &Program) -> Vec<Vec<usize>> {
    let mut readers = vec![Vec::new(); program.ops.len()];
    for (i, op) in program.ops.iter().enumerate() {
        for j in op.inputs() {
            readers[j].push(i);
        }
    }
    readers
}

impl PackedProgram {
    /// Packs the program's leading convolutions; `None` when not even its first op is taken.
    pub fn new(program: &Program, read: Reader<'_>) -> crate::Result<Option<Self>> {
        let Some(&Op::Input { channels, size }) = program.ops.first() else {
            return Ok(None);
        };
        let readers = readers(program);
        // Per op: `[channels, side]` of the values the steps make.
        let mut shapes: Vec<Option<(usize, usize)>> = vec![None; program.ops.len()];
        shapes[0] = Some((channels, size));
        let mut steps: Vec<Step> = Vec::new();
        let mut i = 1;
        while i < program.ops.len() {
            if matches!(program.ops[i], Op::Constant { .. }) {
                i += 1;
                continue;
            }
            let Some(mut step) = conv_step(program, i, &shapes, read)? else {
                break;
            };
            // A PReLU or a residual add that alone reads the conv goes into its store.
            if let [reader] = readers[i][..] {
                let gemm = matches!(step.kernel, Kernel::Pointwise(_) | Kernel::Stem { .. });
                let found = fusion(
                    program,
                    i,
                    reader,
                    &shapes,
                    (step.channels, step.side),
                    gemm,
                    read,
                )?;
                if let Some((fused, alpha)) = found {
                    if let Some(alpha) = alpha {
                        step.set_alpha(alpha)?;
                    }
                    step.fused = fused;
                    step.produces = reader;
                }
            }
            shapes[step.produces] = Some((step.channels, step.side));
            i = step.produces + 1;
            steps.push(step);
        }
        // The rest of the program may read the last value only (and constants).
        while let Some(last) = steps.last() {
            let end = last.produces;
            let leaks = (0..end).any(|j| {
                !matches!(program.ops[j], Op::Constant { .. })
                    && readers[j].iter().any(|&r| r > end)
            });
            if !leaks {
                break;
            }
            steps.pop();
        }
        let Some(last) = steps.last() else {
            return Ok(None);
        };
        let (boundary, boundary_shape) = (last.produces, [last.channels, last.side, last.side]);
        // The last step that reads each value (as input or residual).
        let mut last_read = std::collections::HashMap::new();
        for (k, step) in steps.iter().enumerate() {
            last_read.insert(step.reads, k);
            if let Fused::Residual(r) = step.fused {
                last_read.insert(r, k);
            }
        }
        let mut frees = vec![Vec::new(); steps.len()];
        for (value, k) in last_read {
            if value != 0 && value != boundary {
                frees[k].push(value);
            }
        }
        Ok(Some(Self {
            steps,
            input: (channels, size),
            boundary,
            boundary_shape,
            frees,
            pool: Default::default(),
        }))
    }

    /// How many of the program's convolutions run here.
    pub fn steps(&self) -> usize {
        self.steps.len()
    }

    /// The boundary value, NCHW (`n × channels × side × side`), of `n` inputs in burn's layout.
    pub fn forward(&self, input: &[f32], n: usize) -> Vec<f32> {
        let (c, side) = self.input;
        let per_image = c * side * side;
        let [oc, os, _] = self.boundary_shape;
        let mut out = vec![0.0; n * oc * os * os];
        let mut pool = self
            .pool
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        for (image, dst) in input
            .chunks_exact(per_image)
            .zip(out.chunks_exact_mut(oc * os * os))
        {
            let nhwc = self.forward_one(image, &mut pool);
            for (p, px) in nhwc[..oc * os * os].chunks_exact(oc).enumerate() {
                for (ch, v) in px.iter().enumerate() {
                    dst[ch * os * os + p] = *v;
                }
            }
            pool.push(nhwc);
        }
        if let Ok(mut kept) = self.pool.lock() {
            *kept = pool;
        }
        out
    }

    /// One image (NCHW planes) to the boundary value (NHWC).
    fn forward_one(&self, planes: &[f32], pool: &mut Vec<Vec<f32>>) -> Vec<f32> {
        let (c, side) = self.input;
        let mut values: std::collections::HashMap<usize, Vec<f32>> = Default::default();
        let mut input_nhwc: Option<Vec<f32>> = None;
        for (k, step) in self.steps.iter().enumerate() {
            let mut out = take(pool, step.side * step.side * step.channels);
            let x: &[f32] = if step.reads == 0 {
                match step.kernel {
                    Kernel::Stem { .. } => planes,
                    _ => input_nhwc.get_or_insert_with(|| {
                        let plane = side * side;
                        (0..plane * c)
                            .map(|k| planes[(k % c) * plane + k / c])
                            .collect::<Vec<f32>>()
                    }),
                }
            } else {
                &values[&step.reads]
            };
            let residual;
            let epilogue = match step.fused {
                Fused::Linear => Epilogue::Linear,
                Fused::Prelu => Epilogue::Prelu,
                Fused::Residual(r) => {
                    residual = &values[&r];
                    Epilogue::Residual(residual)
                }
            };
            let pixels = step.side * step.side;
            match &step.kernel {
                Kernel::Pointwise(p) => p.run(x, pixels, epilogue, &mut out),
                Kernel::Depthwise3(d, g) => d.run(x, *g, &mut out),
                Kernel::Depthwise5(d, g) => d.run(x, *g, &mut out),
                Kernel::Depthwise7(d, g) => d.run(x, *g, &mut out),
                Kernel::Stem {
                    gemm,
                    kernel,
                    stride,
                    pad,
                } => {
                    let mut rows = take(pool, pixels * 3 * kernel * kernel);
                    if *kernel == 3 {
                        im2col::<3>(x, side, *stride, *pad, step.side, &mut rows);
                    } else {
                        im2col::<5>(x, side, *stride, *pad, step.side, &mut rows);
                    }
                    gemm.run(&rows, pixels, epilogue, &mut out);
                    pool.push(rows);
                }
            }
            values.insert(step.produces, out);
            for v in &self.frees[k] {
                if let Some(buffer) = values.remove(v) {
                    pool.push(buffer);
                }
            }
        }
        values
            .remove(&self.boundary)
            .expect("the last step's value")
    }
}

impl Step {
    fn set_alpha(&mut self, alpha: Vec<f32>) -> crate::Result<()> {
        match &mut self.kernel {
            Kernel::Pointwise(p) | Kernel::Stem { gemm: p, .. } => p.set_alpha(alpha),
            Kernel::Depthwise3(d, _) => d.set_alpha(alpha),
            Kernel::Depthwise5(d, _) => d.set_alpha(alpha),
            Kernel::Depthwise7(d, _) => d.set_alpha(alpha),
        }
        .map_err(crate::Error::ModelLoad)
    }
}

/// Op `i` as a step, if it is a convolution the kernels take over a value they make.
fn conv_step(
    program: &Program,
    i: usize,
    shapes: &[Option<(usize, usize)>],
    read: Reader<'_>,
) -> crate::Result<Option<Step>> {
    let Op::Convolution {
        input,
        in_channels,
        out_channels,
        kernel,
        stride,
        dilation,
        pads,
        groups,
        bias,
    } = program.ops[i]
    else {
        return Ok(None);
    };
    let Some((channels, side)) = shapes[input] else {
        return Ok(None);
    };
    let square = kernel[0] == kernel[1] && stride[0] == stride[1] && dilation == [1, 1];
    if channels != in_channels || !square {
        return Ok(None);
    }
    let (k, s) = (kernel[0], stride[0]);
    let weight = read(
        &format!("ops.{i}.weight"),
        &[out_channels, in_channels / groups, k, k],
    )?;
    let bias = if bias {
        read(&format!("ops.{i}.bias"), &[out_channels])?
    } else {
        vec![0.0; out_channels]
    };
    let out_side = |pad: usize| (side + pad).checked_sub(k).map(|r| r / s + 1);
    let (Some(out_h), Some(out_w)) = (out_side(pads[0] + pads[2]), out_side(pads[1] + pads[3]))
    else {
        return Ok(None);
    };
    if out_h != out_w {
        return Ok(None);
    }
    let geometry = Geometry {
        height: side,
        width: side,
        out_height: out_h,
        out_width: out_w,
        pad_top: pads[0],
        pad_left: pads[1],
    };
    let kernel = if k == 1 && s == 1 && pads == [0; 4] && groups == 1 {
        if out_channels % PANEL != 0 {
            return Ok(None);
        }
        Kernel::Pointwise(
            Pointwise::new(&weight, in_channels, out_channels, bias, None)
                .map_err(crate::Error::ModelLoad)?,
        )
    } else if groups == in_channels && in_channels == out_channels && in_channels % 4 == 0 {
        // Every output pixel must read at least one input pixel (the kernel's precondition).
        let reaches = (out_h - 1) * s < side + pads[0] && (out_w - 1) * s < side + pads[1];
        if !reaches {
            return Ok(None);
        }
        let packed = |e: String| crate::Error::ModelLoad(e);
        match k {
            3 => Kernel::Depthwise3(
                Depthwise::new(&weight, in_channels, s, bias, None).map_err(packed)?,
                geometry,
            ),
            5 => Kernel::Depthwise5(
                Depthwise::new(&weight, in_channels, s, bias, None).map_err(packed)?,
                geometry,
            ),
            7 => Kernel::Depthwise7(
                Depthwise::new(&weight, in_channels, s, bias, None).map_err(packed)?,
                geometry,
            ),
            _ => return Ok(None),
        }
    } else if input == 0
        && in_channels == 3
        && groups == 1
        && matches!(k, 3 | 5)
        && pads[0] == pads[1]
        && out_channels % PANEL == 0
    {
        Kernel::Stem {
            gemm: Pointwise::new(&weight, 3 * k * k, out_channels, bias, None)
                .map_err(crate::Error::ModelLoad)?,
            kernel: k,
            stride: s,
            pad: pads[0],
        }
    } else {
        return Ok(None);
    };
    Ok(Some(Step {
        produces: i,
        reads: input,
        kernel,
        fused: Fused::Linear,
        side: out_h,
        channels: out_channels,
    }))
}

/// What op `reader` adds to conv `conv`'s store: a per-channel PReLU (its slopes), or (for the
/// GEMM kernels, whose store takes it) a residual add of a value the steps made, of the conv's
/// `[channels, side]`.
fn fusion(
    program: &Program,
    conv: usize,
    reader: usize,
    shapes: &[Option<(usize, usize)>],
    made: (usize, usize),
    gemm: bool,
    read: Reader<'_>,
) -> crate::Result<Option<(Fused, Option<Vec<f32>>)>> {
    let Op::Binary { inputs, function } = &program.ops[reader] else {
        return Ok(None);
    };
    let other = if inputs[0] == conv {
        inputs[1]
    } else {
        inputs[0]
    };
    if other == conv {
        return Ok(None);
    }
    match function {
        Arithmetic::Prelu if inputs[0] == conv => match program.ops[other] {
            Op::Constant { shape } if shape == [1, made.0, 1, 1] => {
                let alpha = read(&format!("ops.{other}.value"), &shape)?;
                Ok(Some((Fused::Prelu, Some(alpha))))
            }
            _ => Ok(None),
        },
        Arithmetic::Add if gemm && shapes[other] == Some(made) => {
            Ok(Some((Fused::Residual(other), None)))
        }
        _ => Ok(None),
    }
}
