//! Where the time of one embedding goes: MobileFaceNet's layers timed by kind, on the packed CPU
//! kernels and on burn's ops (each op timed alone: Flex runs eagerly, so an op's call returns
//! when its result is computed). Used by `webverify bench --layers` and the wasm engine's
//! `profileLayers` (benches/profile.mjs).

use burn::tensor::Tensor;
use web_time::Instant;

use crate::nn::conv::{ConvSpec, ConvUnit};
use crate::nn::mobilefacenet::MobileFaceNet;

/// The kinds of layer the profile groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LayerKind {
    /// The 3x3 stride-2 conv over RGB (im2col + GEMM in the packed kernels).
    FirstConv,
    /// 1x1 convs that expand channels (each followed by PReLU).
    PointwiseExpand,
    /// 1x1 linear convs that project back (stem and bottlenecks; the residual add is fused
    /// into them in the packed kernels).
    PointwiseProject,
    /// Depthwise 3x3 convs with stride 1 (each followed by PReLU).
    DepthwiseStride1,
    /// Depthwise 3x3 convs with stride 2, which halve the map (each followed by PReLU).
    DepthwiseStride2,
    /// The 7x7 global depthwise conv and the two 1x1 linear layers on one pixel.
    HeadGdcAndLinear,
    /// Separate PReLU ops (burn; fused into the convs in the packed kernels).
    Prelu,
    /// Separate residual adds (burn; fused in the packed kernels).
    ResidualAdd,
}

impl LayerKind {
    /// The kind's name in the profile's tables.
    pub fn label(self) -> &'static str {
        match self {
            LayerKind::FirstConv => "first conv 3x3/2, 3→64",
            LayerKind::PointwiseExpand => "1x1 expand (+PReLU when fused)",
            LayerKind::PointwiseProject => "1x1 project (+residual when fused)",
            LayerKind::DepthwiseStride1 => "depthwise 3x3/1 (+PReLU when fused)",
            LayerKind::DepthwiseStride2 => "depthwise 3x3/2 (+PReLU when fused)",
            LayerKind::HeadGdcAndLinear => "global depthwise 7x7 + linear 1x1s",
            LayerKind::Prelu => "PReLU (separate op)",
            LayerKind::ResidualAdd => "residual add (separate op)",
        }
    }

    /// The kind of a conv by its shape (the ops after it are timed on their own).
    pub fn of(spec: &ConvSpec) -> Self {
        match (spec.depthwise, spec.kernel, spec.stride) {
            (false, 3, _) => LayerKind::FirstConv,
            (true, 3, 1) => LayerKind::DepthwiseStride1,
            (true, 3, _) => LayerKind::DepthwiseStride2,
            (true, _, _) => LayerKind::HeadGdcAndLinear,
            (false, _, _) if spec.name.starts_with("head.") && !spec.prelu => {
                LayerKind::HeadGdcAndLinear
            }
            (false, _, _) if spec.prelu => LayerKind::PointwiseExpand,
            (false, _, _) => LayerKind::PointwiseProject,
        }
    }
}

/// Milliseconds per kind, summed over the layers of one forward pass.
#[derive(Clone, Debug, Default)]
pub struct LayerTimes(pub Vec<(LayerKind, f64)>);

impl LayerTimes {
    /// Charges `ms` to `kind`.
    pub fn add(&mut self, kind: LayerKind, ms: f64) {
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, t)) => *t += ms,
            None => self.0.push((kind, ms)),
        }
    }

    /// The pass's time, all kinds together.
    pub fn total(&self) -> f64 {
        self.0.iter().map(|(_, t)| t).sum()
    }

    /// The per-kind median over several passes (each kind's median on its own).
    pub fn median(passes: &[LayerTimes]) -> LayerTimes {
        let mut kinds: Vec<LayerKind> = passes
            .iter()
            .flat_map(|p| p.0.iter().map(|(k, _)| *k))
            .collect();
        kinds.sort();
        kinds.dedup();
        LayerTimes(
            kinds
                .into_iter()
                .map(|k| {
                    let mut ms: Vec<f64> = passes
                        .iter()
                        .map(|p| p.0.iter().find(|(x, _)| *x == k).map_or(0.0, |(_, t)| *t))
                        .collect();
                    ms.sort_by(f64::total_cmp);
                    (k, ms[ms.len() / 2])
                })
                .collect(),
        )
    }
}

/// A stopwatch that charges the time since its last lap to a kind.
pub struct Laps {
    last: Instant,
    pub times: LayerTimes,
}

impl Default for Laps {
    fn default() -> Self {
        Self {
            last: Instant::now(),
            times: LayerTimes::default(),
        }
    }
}

impl Laps {
    /// Charges the time since the last lap (or the start) to `kind`.
    pub fn lap(&mut self, kind: LayerKind) {
        let now = Instant::now();
        self.times.add(kind, (now - self.last).as_secs_f64() * 1e3);
        self.last = now;
    }
}

/// One forward pass of the burn module, every conv, PReLU and add timed alone.
pub fn burn_pass(model: &MobileFaceNet, specs: &[&ConvSpec], x: Tensor<4>) -> LayerTimes {
    let mut laps = Laps::default();
    let mut specs = specs.iter();
    let mut unit = |u: &ConvUnit, x: Tensor<4>, laps: &mut Laps| {
        let spec = specs.next().expect("a spec per unit");
        let y = u.conv.forward(x);
        laps.lap(LayerKind::of(spec));
        match &u.prelu {
            Some(p) => {
                let y = p.forward(y);
                laps.lap(LayerKind::Prelu);
                y
            }
            None => y,
        }
    };
    let mut x = x;
    for u in &model.stem {
        x = unit(u, x, &mut laps);
    }
    for b in &model.blocks {
        let e = unit(&b.expand, x.clone(), &mut laps);
        let d = unit(&b.depthwise, e, &mut laps);
        let y = unit(&b.project, d, &mut laps);
        x = if b.residual {
            let sum = y + x;
            laps.lap(LayerKind::ResidualAdd);
            sum
        } else {
            y
        };
    }
    for u in &model.head {
        x = unit(u, x, &mut laps);
    }
    laps.times
}
