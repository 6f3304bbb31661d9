//! Inference-only CPU kernels: MobileFaceNet's and BlazeFace's layers as SIMD kernels over NHWC
//! maps with the epilogues (bias, PReLU or ReLU, residual add) fused in, fed from the burn
//! module's own parameters (the detector's: from the same weights file as its module). The burn module stays the model and its single source of truth (training,
//! WebGPU, export all use it); these kernels are a second, faster way to run its forward pass on
//! the CPU, repacked from it once whenever the weights change. docs/BENCHMARKS.md measures both.
//!
//! Why not a burn backend extension or a patch of burn-flex: burn 0.22's tensors are dispatched
//! at run time (`Tensor<D>` without a backend type), so a custom op would have to be added to
//! burn's dispatch itself, and a per-op patch of Flex could not fuse a conv with the PReLU or the
//! residual add that follow it (separate calls through the dispatch) nor keep NHWC between layers
//! (Flex's convs take and return NCHW). Both belong upstream; this module is small enough to be
//! proposed there as Flex's fused depthwise-separable path.

mod blazeface;
mod depthwise;
mod im2col;
mod lanes;
mod mobilefacenet;
mod pointwise;
#[cfg(feature = "imported")]
mod program;
mod switch;

pub use blazeface::PackedBlazeFace;
pub use mobilefacenet::PackedMobileFaceNet;
#[cfg(feature = "imported")]
pub use program::PackedProgram;
pub use switch::KernelSwitch;

use std::sync::Mutex;

use crate::nn::adapter::Network;

/// A network's working memory: `len` floats kept between calls (allocating and zeroing them
/// per image cost more than small layers), taken for the call so that a concurrent one (a
/// worker's overlapping requests) allocates its own instead of waiting.
struct Scratch {
    len: usize,
    kept: Mutex<Option<Vec<f32>>>,
}

impl Scratch {
    fn new(len: usize) -> Self {
        Self {
            len,
            kept: Mutex::new(None),
        }
    }

    /// Runs `f` on the kept buffer (or a new one), then keeps it for the next call.
    fn with<R>(&self, f: impl FnOnce(&mut [f32]) -> R) -> R {
        let mut buffer = self
            .kept
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_else(|| vec![0.0; self.len]);
        let out = f(&mut buffer);
        if let Ok(mut s) = self.kept.lock() {
            *s = Some(buffer);
        }
        out
    }
}
use crate::nn::mobilefacenet::Architecture;

/// A [`Network`] (base model and optional adapter) packed for the CPU kernels.
pub struct PackedNetwork {
    base: PackedMobileFaceNet,
    /// The adapter's `d × d` matrix `W` (row-major): the output is `e + W·e`.
    adapter: Option<Vec<f32>>,
}

impl PackedNetwork {
    pub async fn from_network(network: &Network) -> Result<Self, String> {
        let base =
            PackedMobileFaceNet::from_module(&network.base, &Architecture::mobilefacenet()).await?;
        let adapter = match &network.adapter {
            Some(a) => Some(
                a.weight
                    .val()
                    .into_data_async()
                    .await
                    .map_err(|e| format!("reading the adapter: {e:?}"))?
                    .try_to_vec::<f32>()
                    .map_err(|e| format!("the adapter is not f32: {e:?}"))?,
            ),
            None => None,
        };
        Ok(Self { base, adapter })
    }

    /// Per-layer-kind times of one forward pass of the base network on the first image.
    pub fn profile_pass(&self, input: &[f32]) -> crate::nn::profile::LayerTimes {
        self.base.profile_pass(input)
    }

    /// Raw embeddings (`n × 192`) of `n` images in burn's input layout (`[n, 3, 112, 112]`).
    pub fn forward(&self, input: &[f32], n: usize) -> Vec<f32> {
        let mut out = self.base.forward(input, n);
        if let Some(w) = &self.adapter {
            let d = crate::nn::mobilefacenet::EMBEDDING_DIM;
            for e in out.chunks_exact_mut(d) {
                let mapped: Vec<f32> = w
                    .chunks_exact(d)
                    .map(|row| row.iter().zip(e.iter()).map(|(a, b)| a * b).sum())
                    .collect();
                e.iter_mut().zip(mapped).for_each(|(v, m)| *v += m);
            }
        }
        out
    }
}
