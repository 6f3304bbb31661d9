//! Compute backends and their devices. Which ones exist is decided by Cargo features; the same
//! model code runs on all of them through burn's device-dispatched tensors.

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};

/// A compute backend the embedder can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// burn's Flex: pure-Rust CPU kernels (native and wasm).
    Flex,
    /// burn's NdArray CPU backend (deprecated upstream, kept to measure against Flex).
    NdArray,
    /// burn's wgpu backend on the browser's WebGPU.
    WebGpu,
}

impl Backend {
    /// The CPU backend used when none is named (the faster of Flex and NdArray in wasm; see
    /// docs/BENCHMARKS.md).
    pub const DEFAULT_CPU: Backend = Backend::Flex;

    /// The backend's name as the JS package and the CLI spell it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::NdArray => "ndarray",
            Backend::WebGpu => "webgpu",
        }
    }

    /// Parses a backend name; `cpu` means [`Backend::DEFAULT_CPU`].
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "cpu" => Ok(Self::DEFAULT_CPU),
            "flex" => Ok(Backend::Flex),
            "ndarray" => Ok(Backend::NdArray),
            "webgpu" => Ok(Backend::WebGpu),
            other => Err(Error::InvalidInput(format!(
                "unknown backend {other:?}; use cpu, flex, ndarray or webgpu"
            ))),
        }
    }

    /// Backends compiled into this build.
    pub fn compiled() -> Vec<Backend> {
        let mut all = Vec::new();
        if cfg!(feature = "flex") {
            all.push(Backend::Flex);
        }
        if cfg!(feature = "ndarray") {
            all.push(Backend::NdArray);
        }
        if cfg!(feature = "webgpu") {
            all.push(Backend::WebGpu);
        }
        all
    }

    fn missing(self) -> Error {
        Error::BackendUnavailable(format!(
            "this build of webverify was compiled without the {} backend (cargo feature `{}`)",
            self.name(),
            self.name()
        ))
    }

    /// The device of a CPU backend. WebGPU needs [`Backend::device_async`].
    pub fn cpu_device(self) -> Result<Device> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)] // measured against Flex on purpose
            Backend::NdArray => Ok(Device::ndarray()),
            Backend::WebGpu => Err(Error::BackendUnavailable(
                "WebGPU needs asynchronous start-up; use the async constructor".into(),
            )),
            #[allow(unreachable_patterns)]
            other => Err(other.missing()),
        }
    }

    /// The device of any backend; WebGPU asks the browser for an adapter.
    pub async fn device_async(self) -> Result<Device> {
        match self {
            Backend::WebGpu => webgpu_device().await,
            cpu => cpu.cpu_device(),
        }
    }
}

#[cfg(feature = "webgpu")]
async fn webgpu_device() -> Result<Device> {
    use std::sync::Mutex;
    // burn's wgpu runtime can be initialised once per page; every embedder shares it.
    static DEVICE: Mutex<Option<Device>> = Mutex::new(None);
    if let Some(device) = DEVICE.lock().ok().and_then(|d| d.clone()) {
        return Ok(device);
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| Error::BackendUnavailable(format!("WebGPU could not start: {e}")))?;
    if let Ok(mut slot) = DEVICE.lock() {
        *slot = Some(device.clone());
    }
    Ok(device)
}

#[cfg(not(feature = "webgpu"))]
async fn webgpu_device() -> Result<Device> {
    Err(Backend::WebGpu.missing())
}

/// Reads `tensor` back from its device (`what` says what it holds, for the error). A failure is
/// classified by [`read_back_error`]; one that does not say the device is lost is checked with a
/// one-value read on the same device. A device destroyed while the read's buffer was being
/// mapped fails that map with a plain execution error, and wgpu reports the loss later, through a
/// callback that may not have run yet when the probe reads (measured in a worker by
/// tests/browser/recovery.test.mjs, "a lost WebGPU device": the probe failed as plainly in one CI
/// run). A healthy device does not fail a one-value read, so a probe that fails in any way means
/// the device is gone; one that succeeds means the first failure was the read's own.
pub(crate) async fn read_back<const D: usize>(tensor: Tensor<D>, what: &str) -> Result<TensorData> {
    let device = tensor.device();
    match tensor.into_data_async().await {
        Ok(data) => Ok(data),
        Err(e @ burn_std::ExecutionError::DevicePoisoned { .. }) => Err(read_back_error(what, e)),
        Err(e) => match Tensor::<1>::zeros([1], &device).into_data_async().await {
            Err(lost @ burn_std::ExecutionError::DevicePoisoned { .. }) => {
                Err(read_back_error(what, lost))
            }
            Err(probe) => Err(read_back_error(
                what,
                burn_std::ExecutionError::device_poisoned(format!(
                    "{}; a one-value read on the same device failed too: {}",
                    e.reason(),
                    probe.reason()
                )),
            )),
            Ok(_) => Err(read_back_error(what, e)),
        },
    }
}

/// A failed read of a tensor from its device, as our error: on a lost (poisoned) device nothing
/// works again, so it is `BACKEND_UNAVAILABLE` (the package then moves the verifier to the CPU);
/// any other failure is `INFERENCE`. `what` says what was being read.
pub(crate) fn read_back_error(what: &str, e: burn_std::ExecutionError) -> Error {
    match e {
        burn_std::ExecutionError::DevicePoisoned { reason } => Error::BackendUnavailable(format!(
            "the GPU device was lost while {what} ({}); the CPU backend still works",
            // What says why, without burn's "Caused by:" / backtrace lines.
            reason
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("Caused by") && !l.contains("acktrace"))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        other => Error::Inference(format!("{what}: {other:?}")),
    }
}
