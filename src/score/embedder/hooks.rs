//! What benchmarks and the backend choice ask of an embedder beyond embedding: the switch
//! between the packed CPU kernels and burn's ops, the per-layer profile of one pass, and the
//! timed embedding that `backend: 'auto'` compares backends by.

use burn::tensor::{Tensor, TensorData};

use super::{probe_image, Embedder};
use crate::error::{Error, Result};
use crate::nn::mobilefacenet::{Architecture, INPUT_SIZE};
use crate::nn::profile::LayerTimes;

impl Embedder {
    /// On Flex, whether inference runs the packed CPU kernels (`true`, the default in wasm) or
    /// burn's ops on the module (`false`, the default natively, where burn's gemm uses AVX2/FMA;
    /// kept in wasm to compare the two and as a fallback). Training always runs burn. No effect
    /// on other backends.
    pub fn set_packed_kernels(&self, on: bool) {
        self.kernels.set(on);
    }

    /// Whether inference runs the packed CPU kernels now.
    pub fn uses_packed_kernels(&self) -> bool {
        self.kernels.pick(self.shipped_packed.as_ref()).is_some()
    }

    /// Where the time of one embedding goes on Flex: per-layer-kind medians over `rounds`
    /// passes (after two warm-ups) on the packed kernels and on burn's ops, for the network in
    /// use, on the probe image. `INVALID_INPUT` on other backends (WebGPU runs asynchronously,
    /// so its ops cannot be timed one by one from here).
    pub fn profile_layers(&self, rounds: usize) -> Result<(LayerTimes, LayerTimes)> {
        let packed = self.current().packed.clone();
        let Some(packed) = packed.filter(|_| rounds > 0) else {
            return Err(Error::InvalidInput(
                "the layer profile runs on the flex backend, with rounds ≥ 1".into(),
            ));
        };
        let input = probe_image().to_model_input(INPUT_SIZE);
        let passes = |f: &mut dyn FnMut() -> LayerTimes| {
            let _warm = (f(), f());
            LayerTimes::median(&(0..rounds).map(|_| f()).collect::<Vec<_>>())
        };
        let on_kernels = passes(&mut || packed.profile_pass(&input));
        let network = self.network();
        let specs = Architecture::mobilefacenet();
        let specs = specs.convs();
        let on_burn = passes(&mut || {
            let shape = [1, 3, INPUT_SIZE, INPUT_SIZE];
            let x = Tensor::<4>::from_data(TensorData::new(input.clone(), shape), &self.device);
            crate::nn::profile::burn_pass(&network.base, &specs, x)
        });
        Ok((on_kernels, on_burn))
    }

    /// Milliseconds per embedding on this backend, as `auto` compares backends: one warm-up
    /// embedding of the probe image (compiles the shaders on WebGPU), then the median of `runs`
    /// timed ones, read-back included.
    pub async fn time_embedding(&self, runs: usize) -> Result<f64> {
        let probe = [probe_image()];
        self.embed_raw(&probe).await?;
        let mut ms = Vec::with_capacity(runs.max(1));
        for _ in 0..runs.max(1) {
            let start = web_time::Instant::now();
            self.embed_raw(&probe).await?;
            ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        Ok(ms[ms.len() / 2])
    }
}
