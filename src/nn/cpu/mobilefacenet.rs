//! MobileFaceNet's inference on the CPU kernels of this module: the burn module's parameters
//! repacked once (at load, and again whenever the weights change), then a forward pass over NHWC
//! maps that fuses every bias, PReLU and residual add into the conv that precedes it.

use burn::tensor::Tensor;

use super::depthwise::{same, Depthwise, Geometry};
use super::im2col::im2col;
use super::pointwise::{Epilogue, Pointwise};
use super::Scratch;
use crate::nn::conv::{ConvSpec, ConvUnit, Padding};
use crate::nn::mobilefacenet::{Architecture, MobileFaceNet, EMBEDDING_DIM, INPUT_SIZE};
use crate::nn::profile::{Laps, LayerKind, LayerTimes};

/// The largest map the network makes: 56 × 56 pixels × 128 channels (the first bottleneck's
/// expansion); also holds the first conv's im2col rows (56 × 56 × 27).
const MAX_MAP: usize = 56 * 56 * 128;

struct Block {
    expand: Pointwise,
    depthwise: Depthwise<3>,
    project: Pointwise,
    residual: bool,
}

/// MobileFaceNet packed for the CPU kernels.
pub struct PackedMobileFaceNet {
    /// The 3x3 stride-2 stem conv as a GEMM over im2col rows (3 · 3 · 3 = 27 inputs).
    stem: Pointwise,
    stem_stride: usize,
    stem_depthwise: Depthwise<3>,
    stem_pointwise: Pointwise,
    blocks: Vec<Block>,
    head_expand: Pointwise,
    /// The global depthwise conv: 7x7 over the 7x7 map.
    gdc: Depthwise<7>,
    linear: Pointwise,
    embedding: Pointwise,
    /// Four maps of [`MAX_MAP`] floats.
    scratch: Scratch,
}

/// A tensor's values as f32 (async: the module's tensors live on a device).
async fn values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, String> {
    t.into_data_async()
        .await
        .map_err(|e| format!("reading weights: {e:?}"))?
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| format!("weights are not f32: {e:?}"))
}

struct Unit {
    weight: Vec<f32>,
    bias: Vec<f32>,
    alpha: Option<Vec<f32>>,
}

async fn read(unit: &ConvUnit, spec: &ConvSpec) -> Result<Unit, String> {
    let weight = values(unit.conv.weight.val()).await?;
    let bias = match &unit.conv.bias {
        Some(b) => values(b.val()).await?,
        None => vec![0.0; spec.out_channels],
    };
    let alpha = match &unit.prelu {
        Some(p) => Some(values(p.alpha.val()).await?),
        None => None,
    };
    if alpha.is_some() != spec.prelu {
        return Err(format!(
            "{}: PReLU present in the module but not the architecture, or the reverse",
            spec.name
        ));
    }
    Ok(Unit {
        weight,
        bias,
        alpha,
    })
}

fn pointwise(u: Unit, spec: &ConvSpec) -> Result<Pointwise, String> {
    if spec.kernel != 1 || spec.stride != 1 || spec.depthwise {
        return Err(format!("{} is not a 1x1 conv", spec.name));
    }
    Pointwise::new(
        &u.weight,
        spec.in_channels,
        spec.out_channels,
        u.bias,
        u.alpha,
    )
    .map_err(|e| format!("{}: {e}", spec.name))
}

fn depthwise<const K: usize>(u: Unit, spec: &ConvSpec) -> Result<Depthwise<K>, String> {
    if spec.kernel != K || !spec.depthwise {
        return Err(format!("{} is not a {K}x{K} depthwise conv", spec.name));
    }
    Depthwise::<K>::new(&u.weight, spec.in_channels, spec.stride, u.bias, u.alpha)
        .map_err(|e| format!("{}: {e}", spec.name))
}

impl PackedMobileFaceNet {
    /// Repacks a MobileFaceNet module (the shipped one or a tuned one) of architecture `arch`.
    pub async fn from_module(model: &MobileFaceNet, arch: &Architecture) -> Result<Self, String> {
        let units = model.units();
        let specs = arch.convs();
        if units.len() != specs.len() || arch.stem.len() != 3 || arch.head.len() != 4 {
            return Err("the module does not have MobileFaceNet's layers".into());
        }
        let mut read_all = Vec::with_capacity(units.len());
        for (unit, spec) in units.iter().zip(&specs) {
            read_all.push(read(unit, spec).await?);
        }
        let mut units = read_all.into_iter();
        let mut next = || units.next().expect("as many units as specs");

        let stem_spec = &arch.stem[0];
        if stem_spec.kernel != 3 || stem_spec.depthwise || stem_spec.in_channels != 3 {
            return Err("the stem is not a 3x3 conv over RGB".into());
        }
        let s = next();
        let stem = Pointwise::new(&s.weight, 27, stem_spec.out_channels, s.bias, s.alpha)
            .map_err(|e| format!("stem: {e}"))?;
        let stem_depthwise = depthwise::<3>(next(), &arch.stem[1])?;
        let stem_pointwise = pointwise(next(), &arch.stem[2])?;
        let mut blocks = Vec::with_capacity(arch.blocks.len());
        for b in &arch.blocks {
            if b.depthwise.padding != Padding::Same {
                return Err(format!("{}: only SAME padding is packed", b.depthwise.name));
            }
            blocks.push(Block {
                expand: pointwise(next(), &b.expand)?,
                depthwise: depthwise::<3>(next(), &b.depthwise)?,
                project: pointwise(next(), &b.project)?,
                residual: b.residual,
            });
        }
        let head_expand = pointwise(next(), &arch.head[0])?;
        let gdc = depthwise::<7>(next(), &arch.head[1])?;
        let linear = pointwise(next(), &arch.head[2])?;
        let embedding = pointwise(next(), &arch.head[3])?;
        if embedding.outputs() != EMBEDDING_DIM {
            return Err(format!(
                "the embedding has {} values, not {EMBEDDING_DIM}",
                embedding.outputs()
            ));
        }
        Ok(Self {
            stem,
            stem_stride: stem_spec.stride,
            stem_depthwise,
            stem_pointwise,
            blocks,
            head_expand,
            gdc,
            linear,
            embedding,
            scratch: Scratch::new(4 * MAX_MAP),
        })
    }

    /// Raw embeddings of `n` images given as burn's input (`[n, 3, 112, 112]`, normalised).
    pub fn forward(&self, input: &[f32], n: usize) -> Vec<f32> {
        let plane = INPUT_SIZE * INPUT_SIZE;
        assert_eq!(
            input.len(),
            n * 3 * plane,
            "input of {n} images of 3 × {INPUT_SIZE}²"
        );
        let mut out = vec![0.0; n * EMBEDDING_DIM];
        self.scratch.with(|scratch| {
            for (image, embedding) in input
                .chunks_exact(3 * plane)
                .zip(out.chunks_exact_mut(EMBEDDING_DIM))
            {
                self.forward_one(image, scratch, embedding, &mut |_| {});
            }
        });
        out
    }

    /// One forward pass of the first image of `input`, each layer timed and charged to its kind.
    pub fn profile_pass(&self, input: &[f32]) -> LayerTimes {
        let mut scratch = vec![0.0; 4 * MAX_MAP];
        let mut embedding = vec![0.0; EMBEDDING_DIM];
        let mut laps = Laps::default();
        self.forward_one(
            &input[..3 * INPUT_SIZE * INPUT_SIZE],
            &mut scratch,
            &mut embedding,
            &mut |k| laps.lap(k),
        );
        laps.times
    }

    /// `lap(kind)` is called after each layer (a no-op outside the profile).
    fn forward_one(
        &self,
        image: &[f32],
        scratch: &mut [f32],
        embedding: &mut [f32],
        lap: &mut impl FnMut(LayerKind),
    ) {
        let (mut x, rest) = scratch.split_at_mut(MAX_MAP);
        let (mut y, rest) = rest.split_at_mut(MAX_MAP);
        let (e, d) = rest.split_at_mut(MAX_MAP);

        // Stem: im2col of the 3x3 stride-2 conv straight from the NCHW planes, then one GEMM.
        let (h, pad) = same(INPUT_SIZE, 3, self.stem_stride);
        im2col::<3>(image, INPUT_SIZE, self.stem_stride, pad, h, e);
        self.stem.run(e, h * h, Epilogue::Prelu, x);
        lap(LayerKind::FirstConv);
        let mut side = h;
        let dw = &self.stem_depthwise;
        dw.run(x, Geometry::same(side, 3, dw.stride()).1, d);
        lap(depthwise_kind(dw.stride()));
        self.stem_pointwise.run(d, side * side, Epilogue::Linear, y);
        lap(LayerKind::PointwiseProject);
        std::mem::swap(&mut x, &mut y);

        for b in &self.blocks {
            let pixels = side * side;
            b.expand.run(x, pixels, Epilogue::Prelu, e);
            lap(LayerKind::PointwiseExpand);
            let (out_side, g) = Geometry::same(side, 3, b.depthwise.stride());
            b.depthwise.run(e, g, d);
            lap(depthwise_kind(b.depthwise.stride()));
            side = out_side;
            let epilogue = if b.residual {
                Epilogue::Residual(x)
            } else {
                Epilogue::Linear
            };
            b.project.run(d, side * side, epilogue, y);
            lap(LayerKind::PointwiseProject);
            std::mem::swap(&mut x, &mut y);
        }

        self.head_expand.run(x, side * side, Epilogue::Prelu, e);
        lap(LayerKind::PointwiseExpand);
        let g = Geometry {
            height: side,
            width: side,
            out_height: side + 1 - 7,
            out_width: side + 1 - 7,
            pad_top: 0,
            pad_left: 0,
        };
        self.gdc.run(e, g, d);
        self.linear.run(d, 1, Epilogue::Linear, y);
        self.embedding.run(y, 1, Epilogue::Linear, embedding);
        lap(LayerKind::HeadGdcAndLinear);
    }
}

fn depthwise_kind(stride: usize) -> LayerKind {
    if stride == 1 {
        LayerKind::DepthwiseStride1
    } else {
        LayerKind::DepthwiseStride2
    }
}
