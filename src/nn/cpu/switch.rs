//! Which path a network's forward pass takes: the packed CPU kernels of this module, or burn's
//! ops on the module. One switch type and one rule for every network that has a packed form (the
//! embedder and the detector), so the choice is written once.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;

/// On (the default in wasm) the packed kernels run wherever the network has a packed form; off
/// (the default natively, where burn's Flex convs reach gemm's AVX2/FMA code, detected at run
/// time, which the kernels, compiled for the baseline target, do not: docs/BENCHMARKS.md) burn's
/// ops run. Benchmarks and tests flip it to compare the two; it is also a fallback.
pub struct KernelSwitch(AtomicBool);

impl Default for KernelSwitch {
    fn default() -> Self {
        Self(AtomicBool::new(cfg!(target_arch = "wasm32")))
    }
}

impl KernelSwitch {
    /// Whether networks on `device` get a packed form at all: the kernels serve Flex only
    /// (NdArray is kept to measure burn's kernels; WebGPU runs burn's shaders).
    pub fn serves(device: &Device) -> bool {
        #[cfg(feature = "flex")]
        {
            *device == Device::flex()
        }
        #[cfg(not(feature = "flex"))]
        {
            let _ = device;
            false
        }
    }

    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::Relaxed);
    }

    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The packed form to run now, if any: `packed` when there is one and the switch is on.
    pub fn pick<P>(&self, packed: Option<P>) -> Option<P> {
        packed.filter(|_| self.is_on())
    }
}
