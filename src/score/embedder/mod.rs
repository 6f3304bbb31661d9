//! The embedder: images in, unit-length embeddings out, on any backend.
//!
//! The core is async because on WebGPU in a browser the only way to read a result back is an
//! async read (a blocking read would kill the wasm instance). Native callers get blocking
//! wrappers that drive the same futures.
//!
//! This file is the model runtime (load, pack for the CPU kernels, tuned import and export,
//! embed); `raw` runs a network on images or model inputs, `scoring` holds the scoring policy
//! (calibration, thresholds, comparisons) and `hooks` what benchmarks and the backend choice use.

mod hooks;
mod raw;
mod scoring;
mod tta;

pub use tta::Tta;

use burn::tensor::Device;

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::io::tuned::TunedInfo;
use crate::io::weights::{ModelInfo, WeightFile};
use crate::nn::adapter::Network;
use crate::nn::cpu::{KernelSwitch, PackedNetwork};
use crate::nn::mobilefacenet::{Architecture, MobileFaceNet, INPUT_SIZE};
use crate::score::calibration::Calibration;
use crate::score::verify::Verification;

/// Metadata of a tuned weights file that describes its recipe and is kept on re-export.
const TUNED_RECIPE_KEYS: [&str; 12] = [
    "batch_size",
    "loss",
    "lr",
    "margin",
    "scale",
    "seed",
    "steps",
    "temperature",
    "images",
    "shading",
    "hold_back",
    "calibration",
];

/// Largest batch sent to the device at once; bigger requests are split.
pub const MAX_BATCH: usize = 32;

/// How many times longer or shorter than the shipped network's a tuned network's raw output on
/// the probe image may be. A short adapter fine-tune was measured to lengthen it about 100x
/// (the losses see only normalised embeddings, so the length drifts freely); 1e4 leaves room for
/// that and keeps the squares far inside f32, where normalising would otherwise overflow (an
/// adapter scaled to 1e30 gives lengths of 1e31, whose square is infinite in f32).
const PROBE_NORM_RATIO: f64 = 1e4;

/// A fixed face-sized test pattern (smooth gradients and stripes in all three channels) on
/// which tuned weights must give a sensible embedding before they are used.
fn probe_image() -> Image {
    let n = INPUT_SIZE;
    let pixels: Vec<u8> = (0..n * n * 3)
        .map(|i| {
            let (y, x, c) = (i / (3 * n), (i / 3) % n, i % 3);
            ((x * 2 + y + c * 40 + (x / 8 + y / 8) % 2 * 60) % 256) as u8
        })
        .collect();
    Image::from_pixels(&pixels, n, n, crate::image::PixelFormat::Rgb, None)
        .expect("the probe pattern has its own dimensions")
}

/// A network ready to run: packed for the CPU kernels, or the burn module.
enum Model {
    Packed(Arc<PackedNetwork>),
    Burn(Network),
}

/// The network in use and what it is.
struct Current {
    network: Network,
    /// The same network packed for the CPU kernels (on Flex; `None` on other backends).
    packed: Option<Arc<PackedNetwork>>,
    info: ModelInfo,
    tuned: Option<TunedInfo>,
    /// A tuned model without its own calibration keeps the one it had (see
    /// [`Embedder::calibration_inherited`]).
    calibration_inherited: bool,
}

/// A loaded model on one backend: images (ready face crops) in, unit-length embeddings out,
/// compared with the calibrated thresholds the weights carry.
///
/// ```
/// # fn main() -> webverify::Result<()> {
/// use webverify::{Backend, Embedder, Image, PixelFormat};
/// let embedder = Embedder::from_path(webverify::DEFAULT_WEIGHTS_PATH, Backend::Flex)?;
/// let grey = Image::from_pixels(&[128; 112 * 112], 112, 112, PixelFormat::Gray, None)?;
/// let e = embedder.embed(&grey)?;
/// assert_eq!(e.len(), 192);
/// let same = embedder.compare(&e, &e, None)?; // at the calibrated FAR 1e-3 threshold
/// assert!(same.is_match && same.similarity > 0.999);
/// # Ok(()) }
/// ```
pub struct Embedder {
    /// The weights as shipped: fine-tuning starts from them and `reset_model` returns to them.
    shipped: MobileFaceNet,
    shipped_info: ModelInfo,
    current: RwLock<Current>,
    device: Device,
    backend: Backend,
    /// The calibration in use: the shipped one, or one refitted by [`Embedder::calibrate`].
    /// Behind a lock so that a shared engine (the wasm one) can be recalibrated.
    calibration: RwLock<Option<Calibration>>,
    shipped_calibration: Option<Calibration>,
    /// The weights' calibration for flip test-time augmentation (`calibration_flip`), if any.
    shipped_flip_calibration: Option<Calibration>,
    /// Length of the shipped network's raw output on [`probe_image`], measured at the first
    /// tuned import and kept: every later import compares with it.
    shipped_probe_norm: std::sync::OnceLock<f64>,
    /// The shipped network packed for the CPU kernels (on Flex).
    shipped_packed: Option<Arc<PackedNetwork>>,
    /// Whether inference on Flex uses the packed kernels or burn's ops (see [`KernelSwitch`]).
    kernels: KernelSwitch,
    /// The test-time augmentation of every embedding (see [`Tta`]).
    tta: tta::TtaSwitch,
}

impl Embedder {
    /// Loads weights (the bytes of a webverify weights file) onto `backend`.
    pub async fn load(weights: &[u8], backend: Backend) -> Result<Self> {
        Self::load_digested(weights, None, backend).await
    }

    /// [`Self::load`] with the file's SHA-256 computed by the caller
    /// ([`WeightFile::parse_model_digested`] says why).
    pub async fn load_digested(
        weights: &[u8],
        sha256: Option<&str>,
        backend: Backend,
    ) -> Result<Self> {
        // Parse before touching the device: a bad file must not cost a GPU start-up.
        let file = WeightFile::parse_digested(weights, sha256)?;
        let device = backend.device_async().await?;
        Self::with_device(&file, backend, device).await
    }

    async fn with_device(file: &WeightFile<'_>, backend: Backend, device: Device) -> Result<Self> {
        let model = file.build(&Architecture::mobilefacenet(), &device)?;
        let calibration = Calibration::from_metadata(&file.info.metadata)?;
        let flip_calibration = Calibration::from_metadata_key(
            &file.info.metadata,
            crate::score::calibration::FLIP_METADATA_KEY,
        )?;
        let network = Network {
            base: model.clone(),
            adapter: None,
        };
        let shipped_packed = Self::pack(&device, &network).await?;
        let embedder = Self {
            current: RwLock::new(Current {
                network,
                packed: shipped_packed.clone(),
                info: file.info.clone(),
                tuned: None,
                calibration_inherited: false,
            }),
            shipped: model,
            shipped_info: file.info.clone(),
            device,
            backend,
            // Set below: the calibration for the test-time augmentation the embedder starts with.
            calibration: RwLock::new(None),
            shipped_calibration: calibration,
            shipped_flip_calibration: flip_calibration,
            shipped_probe_norm: std::sync::OnceLock::new(),
            shipped_packed,
            kernels: KernelSwitch::default(),
            tta: tta::TtaSwitch::default(),
        };
        embedder.reset_calibration();
        Ok(embedder)
    }

    /// The network packed for the CPU kernels, on Flex (the only backend they serve: NdArray is
    /// kept to measure burn's kernels, WebGPU runs burn's shaders). Natively too, where the
    /// kernels are off by default: a copy of the 5 MB of weights at load, so that
    /// `set_packed_kernels(true)` and `profile_layers` need no second path.
    async fn pack(device: &Device, network: &Network) -> Result<Option<Arc<PackedNetwork>>> {
        if !KernelSwitch::serves(device) {
            return Ok(None);
        }
        PackedNetwork::from_network(network)
            .await
            .map(|p| Some(Arc::new(p)))
            .map_err(|e| Error::ModelLoad(format!("packing the weights for the CPU kernels: {e}")))
    }

    /// The network in use and, where the kernels are on, its packed form.
    /// The burn module is cloned only when it is the one that will run (an A/B of the two in
    /// Chromium showed no measurable difference per call; it is simply not needed).
    fn current_model(&self) -> Model {
        let packed = self.current().packed.clone();
        match self.kernels.pick(packed) {
            Some(p) => Model::Packed(p),
            None => Model::Burn(self.network()),
        }
    }

    /// The network in use (a cheap handle: tensors are shared).
    pub fn network(&self) -> Network {
        self.current().network.clone()
    }

    /// The network as shipped, without any tuning.
    pub fn shipped_network(&self) -> Network {
        Network {
            base: self.shipped.clone(),
            adapter: None,
        }
    }

    /// The shipped weights' name and checksum (a tuned model's base).
    pub fn shipped_info(&self) -> &ModelInfo {
        &self.shipped_info
    }

    /// What the tuned model in use was tuned from and how (`None`: the shipped model).
    pub fn tuned(&self) -> Option<TunedInfo> {
        self.current().tuned.clone()
    }

    /// True when a tuned model uses the calibration of the model before it (its weights carry
    /// none): thresholds by FAR are then estimates for the old model; refit with `calibrate`.
    pub fn calibration_inherited(&self) -> bool {
        self.current().calibration_inherited
    }

    /// Uses tuned weights (a file from [`crate::io::tuned::export`]) on top of the shipped model.
    /// Refused with `MODEL_MISMATCH` when they were tuned from other base weights, and with
    /// `MODEL_LOAD` when their tensors or calibration are invalid or the tuned network does not
    /// give a finite, non-degenerate embedding of a probe image (weights scaled to 1e30, an
    /// adapter that maps every embedding to zero): such a file would silently stop the verifier
    /// from verifying. Async because the probe reads the device back.
    pub async fn load_tuned_async(&self, bytes: &[u8]) -> Result<ModelInfo> {
        let (network, info, tuned) =
            crate::io::tuned::import(bytes, &self.shipped, &self.shipped_info, &self.device)?;
        // A calibration stored in the tuned file (by `webverify calibrate --tuned … --write`).
        let file_calibration = Calibration::from_metadata(&info.metadata)?;
        let packed = Self::pack(&self.device, &network).await?;
        let model = match &packed {
            Some(p) => Model::Packed(p.clone()),
            None => Model::Burn(network.clone()),
        };
        self.check_tuned(&model).await?;
        let inherited = file_calibration.is_none();
        if let Some(c) = file_calibration {
            self.set_calibration(Some(c));
        }
        *self.current_mut() = Current {
            network,
            packed,
            info: info.clone(),
            tuned: Some(tuned),
            calibration_inherited: inherited,
        };
        Ok(info)
    }

    /// Refuses a tuned network whose raw output on [`probe_image`] is not finite or whose length
    /// is not within a factor of [`PROBE_NORM_RATIO`] of the shipped network's: collapsed to
    /// zero, or so long that normalising it overflows.
    async fn check_tuned(&self, tuned: &Model) -> Result<()> {
        let probe = [probe_image()];
        let refuse = |why: String| Error::ModelLoad(format!("tuned weights refused: {why}"));
        let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        let shipped = match self.shipped_probe_norm.get() {
            Some(&n) => n,
            None => {
                let shipped = match &self.shipped_packed {
                    Some(p) => Model::Packed(p.clone()),
                    None => Model::Burn(self.shipped_network()),
                };
                let n = norm(&self.raw_with(&shipped, &probe).await?[0]);
                *self.shipped_probe_norm.get_or_init(|| n)
            }
        };
        let got = self.raw_with(tuned, &probe).await.map_err(|_| {
            refuse("the tuned network gives NaN or infinity on a probe image".into())
        })?;
        let ratio = norm(&got[0]) / shipped;
        if !(ratio.is_finite() && (1.0 / PROBE_NORM_RATIO..=PROBE_NORM_RATIO).contains(&ratio)) {
            return Err(refuse(format!(
                "on a probe image the tuned network's output is {ratio:.3e} times as long as the \
                 shipped network's (allowed: {:e} to {PROBE_NORM_RATIO:e})",
                1.0 / PROBE_NORM_RATIO
            )));
        }
        Ok(())
    }

    /// Goes back to the shipped weights and their calibration.
    pub fn reset_model(&self) {
        *self.current_mut() = Current {
            network: self.shipped_network(),
            packed: self.shipped_packed.clone(),
            info: self.shipped_info.clone(),
            tuned: None,
            calibration_inherited: false,
        };
        self.reset_calibration();
    }

    /// The tuned weights in use as a file (`None` for the shipped model). Async because tensors
    /// are read back from the device.
    pub async fn export_tuned(&self) -> Result<Option<Vec<u8>>> {
        let Some(tuned) = self.tuned() else {
            return Ok(None);
        };
        let mut extra: Vec<(&str, String)> = tuned
            .metadata
            .iter()
            .filter(|(k, _)| TUNED_RECIPE_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        extra.sort();
        crate::io::tuned::export(&self.network(), tuned.scope, &self.shipped_info, &extra)
            .await
            .map(Some)
    }

    /// The backend the model runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The device the model lives on (other models can share it).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Name, checksum and shape of the weights in use (a tuned model's own checksum).
    pub fn model_info(&self) -> ModelInfo {
        self.current().info.clone()
    }

    /// The model in use. A lock poisoned by a panic elsewhere still holds a whole `Current`
    /// (it is only ever replaced whole), so its value is used: falling back to the shipped
    /// model would silently verify with a different network than the one loaded.
    fn current(&self) -> RwLockReadGuard<'_, Current> {
        self.current.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The model in use, to replace (see [`Self::current`] on poisoning).
    fn current_mut(&self) -> RwLockWriteGuard<'_, Current> {
        self.current.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Which model made this embedder's embeddings, as templates record it.
    pub fn model_ref(&self) -> crate::io::template::ModelRef {
        let info = self.model_info();
        crate::io::template::ModelRef {
            name: info.name,
            sha256: info.sha256,
            dim: info.embedding_dim,
        }
    }

    /// The shipped model, as templates record it.
    pub fn shipped_model_ref(&self) -> crate::io::template::ModelRef {
        crate::io::template::ModelRef {
            name: self.shipped_info.name.clone(),
            sha256: self.shipped_info.sha256.clone(),
            dim: self.shipped_info.embedding_dim,
        }
    }

    /// Unit-length embeddings of `images`, batched, with the test-time augmentation in use
    /// ([`Embedder::set_tta`]).
    pub async fn embed_batch_async(&self, images: &[Image]) -> Result<Vec<Vec<f32>>> {
        let mut all = self.raw_views(images).await?;
        all.iter_mut().for_each(|e| crate::vector::l2_normalize(e));
        Ok(all)
    }

    /// The unit-length embedding of one image.
    pub async fn embed_async(&self, image: &Image) -> Result<Vec<f32>> {
        let mut all = self.embed_batch_async(std::slice::from_ref(image)).await?;
        Ok(all.remove(0))
    }

    /// Embeds both images and compares them (see [`Embedder::compare`]).
    pub async fn verify_async(&self, a: &Image, b: &Image) -> Result<Verification> {
        let e = self.embed_batch_async(&[a.clone(), b.clone()]).await?;
        self.compare(&e[0], &e[1], None)
    }
}

/// Blocking API for native programs (CLI, tests, servers).
#[cfg(not(target_arch = "wasm32"))]
impl Embedder {
    /// Loads weights onto a CPU backend.
    pub fn new(weights: &[u8], backend: Backend) -> Result<Self> {
        let file = WeightFile::parse(weights)?;
        pollster::block_on(Self::with_device(&file, backend, backend.cpu_device()?))
    }

    /// [`Embedder::load_tuned_async`], blocking.
    pub fn load_tuned(&self, bytes: &[u8]) -> Result<ModelInfo> {
        pollster::block_on(self.load_tuned_async(bytes))
    }

    /// Loads a weights file from disk.
    pub fn from_path(path: impl AsRef<std::path::Path>, backend: Backend) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::ModelLoad(format!("cannot read {}: {e}", path.display())))?;
        Self::new(&bytes, backend)
    }

    /// The unit-length embedding of a ready face crop (blocking; `embed_async` in wasm).
    pub fn embed(&self, image: &Image) -> Result<Vec<f32>> {
        pollster::block_on(self.embed_async(image))
    }

    /// Embeddings of ready face crops, as batches (blocking).
    pub fn embed_batch(&self, images: &[Image]) -> Result<Vec<Vec<f32>>> {
        pollster::block_on(self.embed_batch_async(images))
    }

    /// Embeds both crops and compares them (blocking).
    pub fn verify(&self, a: &Image, b: &Image) -> Result<Verification> {
        pollster::block_on(self.verify_async(a, b))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn embedder() -> Embedder {
        Embedder::from_path(crate::DEFAULT_WEIGHTS_PATH, Backend::Flex).unwrap()
    }

    /// Panics while holding both write locks, as a bug in another thread would.
    fn poison(e: &Embedder) {
        std::thread::scope(|s| {
            let _ = s
                .spawn(|| {
                    let _current = e.current.write().unwrap();
                    let _calibration = e.calibration.write().unwrap();
                    panic!("poisoning the locks on purpose");
                })
                .join();
        });
        assert!(e.current.is_poisoned() && e.calibration.is_poisoned());
    }

    #[test]
    fn a_poisoned_lock_keeps_the_model_and_calibration_in_use() {
        let e = embedder();
        // A model other than the shipped one in use (what a tuned import leaves).
        let mut tuned = e.model_info();
        tuned.name = "tuned-for-the-test".into();
        e.current_mut().info = tuned.clone();
        e.set_calibration(None);
        poison(&e);
        assert_eq!(e.model_info().name, tuned.name, "not the shipped model");
        assert!(e.calibration().is_none(), "not the shipped calibration");
        // Writes still land.
        e.reset_model();
        assert_eq!(e.model_info().name, e.shipped_info().name);
        assert!(e.calibration().is_some());
    }
}
