//! The `Engine` class: a loaded model (embedder and detector) on one backend.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{js_error, set, to_js};
use crate::backend::Backend;
use crate::error::Error;
use crate::face::detect::Detector;
use crate::face::mesh::FaceMesh;
use crate::face::pipeline::Pipeline;
use crate::face::prepared::FaceMode;
use crate::image::Image;
use crate::liveness::Liveness;
use crate::score::calibration::Calibration;
use crate::score::embedder::Embedder;

/// A loaded model on one backend.
#[wasm_bindgen]
pub struct Engine {
    pub(crate) inner: Rc<Pipeline>,
    /// The passive liveness check, once `loadLiveness` gave it weights.
    pub(crate) liveness: RefCell<Option<Rc<Liveness>>>,
    /// The face mesh a challenge loaded (`loadChallengeMesh`) when the pipeline has none.
    pub(crate) challenge_mesh: RefCell<Option<Rc<FaceMesh>>>,
}

#[wasm_bindgen]
impl Engine {
    /// Loads the embedder weights (bytes of a webverify weights file) on `backend`
    /// (`webgpu`, `flex`, `ndarray` or `cpu`), the face detector's when given, and the face
    /// mesh's when given (five-point alignment and `landmarks`). `sha256s`, when given, holds
    /// the three files' SHA-256 (hex; '' for a file not given) as the package computed them
    /// with WebCrypto, so that they are not hashed again here.
    pub async fn create(
        weights: Vec<u8>,
        backend: String,
        detector: Option<Vec<u8>>,
        mesh: Option<Vec<u8>>,
        sha256s: Option<Vec<String>>,
    ) -> Result<Engine, JsValue> {
        let backend = Backend::parse(&backend).map_err(js_error)?;
        let digest = |i: usize| {
            sha256s
                .as_ref()
                .and_then(|d| d.get(i))
                .map(String::as_str)
                .filter(|d| !d.is_empty())
        };
        let embedder = Embedder::load_digested(&weights, digest(0), backend)
            .await
            .map_err(js_error)?;
        let device = || embedder.device().clone();
        let detector = match detector {
            Some(bytes) => Some(
                Detector::with_device_digested(&bytes, digest(1), device()).map_err(js_error)?,
            ),
            None => None,
        };
        let mesh = match mesh {
            Some(bytes) => Some(
                FaceMesh::with_device_digested(&bytes, digest(2), device()).map_err(js_error)?,
            ),
            None => None,
        };
        Ok(Engine {
            inner: Rc::new(Pipeline {
                embedder,
                detector,
                mesh,
            }),
            liveness: RefCell::new(None),
            challenge_mesh: RefCell::new(None),
        })
    }

    /// The backend this engine runs on.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.inner.embedder.backend().name().to_string()
    }

    /// `{ id, name, sha256, embeddingDim, inputSize, formatVersion, tuned, calibrationInherited }`
    /// of the weights in use.
    #[wasm_bindgen(getter, js_name = modelInfo)]
    pub fn model_info(&self) -> JsValue {
        model_info(&self.inner.embedder)
    }

    /// `{ similarity, match, threshold, far }` for two embeddings: the threshold is the
    /// calibrated one at `far` (default 1e-3) when the weights carry a calibration, and `far`
    /// in the result estimates the false-accept rate at this similarity (null without one).
    pub fn compare(&self, a: &[f32], b: &[f32], far: Option<f64>) -> Result<JsValue, JsValue> {
        let v = self.inner.embedder.compare(a, b, far).map_err(js_error)?;
        let obj = Object::new();
        set(&obj, "similarity", v.similarity.into());
        set(&obj, "match", v.is_match.into());
        set(&obj, "threshold", v.threshold.into());
        set(&obj, "far", v.far.map_or(JsValue::NULL, JsValue::from));
        Ok(obj.into())
    }

    /// Embeds images packed one after another in `data`; `shapes` holds
    /// `[width, height, channels, stride]` per image (stride 0: packed rows); `face` is
    /// `detect` (align the main face; NO_FACE when there is none) or `none` (ready crops).
    /// Resolves to `{ embeddings, faces, mainFaces, quality }`: one `Float32Array` of
    /// `count * 192` unit-length values, per image the number of faces found (null with
    /// `none`), the face each embedding was made from, and its quality components.
    #[wasm_bindgen(js_name = embedBatch)]
    pub fn embed_batch(&self, data: Vec<u8>, shapes: Vec<u32>, face: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes).map_err(js_error)?;
            let mode = FaceMode::parse(&face).map_err(js_error)?;
            let embedded = inner
                .embed_photos_async(&images, mode)
                .await
                .map_err(js_error)?;
            let flat: Vec<f32> = embedded.embeddings.into_iter().flatten().collect();
            let faces = js_sys::Array::new();
            for n in embedded.faces {
                faces.push(&n.map_or(JsValue::NULL, |n| (n as u32).into()));
            }
            let obj = Object::new();
            set(
                &obj,
                "embeddings",
                Float32Array::from(flat.as_slice()).into(),
            );
            set(&obj, "faces", faces.into());
            // The faces the embeddings were made from (null entries with `none`).
            set(&obj, "mainFaces", to_js(&embedded.main)?);
            set(&obj, "quality", to_js(&embedded.quality)?);
            Ok(obj.into())
        })
    }

    /// Refits the score calibration on labelled pairs of embeddings: `a` and `b` hold the
    /// pairs' embeddings one after another, `same[i]` is 1 when pair `i` is one person. Returns
    /// `{ genuine, impostors, thresholds: [{ far, threshold, tar }] }`; from now on
    /// `compare` uses the new thresholds and FAR estimates.
    pub fn calibrate(&self, a: &[f32], b: &[f32], same: &[u8]) -> Result<JsValue, JsValue> {
        let same: Vec<bool> = same.iter().map(|&s| s != 0).collect();
        let refit = self
            .inner
            .embedder
            .calibrate_packed(a, b, &same)
            .map_err(js_error)?;
        to_js(&refit)
    }

    /// Where the time of one embedding goes on Flex (for benches/profile.mjs):
    /// `{ kernels, burn }`, each `[[layer, ms], …]`: per-kind medians over `rounds` passes on
    /// the packed CPU kernels and on burn's ops.
    #[wasm_bindgen(js_name = profileLayers)]
    pub fn profile_layers(&self, rounds: u32) -> Result<JsValue, JsValue> {
        let (kernels, burn) = self
            .inner
            .embedder
            .profile_layers(rounds as usize)
            .map_err(js_error)?;
        let rows = |t: &crate::nn::profile::LayerTimes| -> Vec<(&str, f64)> {
            t.0.iter().map(|(k, ms)| (k.label(), *ms)).collect()
        };
        let obj = Object::new();
        set(&obj, "kernels", to_js(&rows(&kernels))?);
        set(&obj, "burn", to_js(&rows(&burn))?);
        Ok(obj.into())
    }

    /// Milliseconds per embedding on this engine's backend (median of `runs` after a warm-up):
    /// what `backend: 'auto'` compares.
    #[wasm_bindgen(js_name = timeEmbedding)]
    pub fn time_embedding(&self, runs: u32) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let ms = inner
                .embedder
                .time_embedding(runs as usize)
                .await
                .map_err(js_error)?;
            Ok(ms.into())
        })
    }

    /// On Flex, run the embedder and the detector on the packed CPU kernels (`true`, the
    /// default) or on burn's ops (benchmarks and tests compare the two; also a fallback).
    #[wasm_bindgen(js_name = setPackedKernels)]
    pub fn set_packed_kernels(&self, on: bool) {
        self.inner.embedder.set_packed_kernels(on);
        if let Some(d) = &self.inner.detector {
            d.set_packed_kernels(on);
        }
    }

    /// Goes back to the calibration shipped with the weights.
    #[wasm_bindgen(js_name = resetCalibration)]
    pub fn reset_calibration(&self) {
        self.inner.embedder.reset_calibration();
    }

    /// The calibration in use as JSON (null when the model has none): with
    /// [`Engine::restore_calibration`] it carries the state to a new engine when the package
    /// restarts one after a trap.
    #[wasm_bindgen(js_name = calibrationJson)]
    pub fn calibration_json(&self) -> Option<String> {
        self.inner.embedder.calibration().map(|c| c.to_json())
    }

    /// Uses a calibration from [`Engine::calibration_json`] (checked like one in a weights
    /// file: MODEL_LOAD when it makes no sense); null for none.
    #[wasm_bindgen(js_name = restoreCalibration)]
    pub fn restore_calibration(&self, json: Option<String>) -> Result<(), JsValue> {
        let calibration = json
            .map(|j| Calibration::from_json(&j))
            .transpose()
            .map_err(js_error)?;
        self.inner.embedder.set_calibration(calibration);
        Ok(())
    }

    /// Like [`Engine::embed_batch`] but the model's raw, unnormalised outputs (for fidelity
    /// checks against the reference implementation).
    #[wasm_bindgen(js_name = embedRaw)]
    pub fn embed_raw(&self, data: Vec<u8>, shapes: Vec<u32>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes).map_err(js_error)?;
            let embeddings = inner.embedder.embed_raw(&images).await.map_err(js_error)?;
            let flat: Vec<f32> = embeddings.into_iter().flatten().collect();
            Ok(Float32Array::from(flat.as_slice()).into())
        })
    }
}

#[wasm_bindgen]
impl Engine {
    /// The faces in one image: `[{ box: {x, y, width, height}, score, landmarks:
    /// {rightEye, leftEye, noseTip, mouth, rightEar, leftEar} }]`, in pixels, best first.
    pub fn detect(&self, data: Vec<u8>, shapes: Vec<u32>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes).map_err(js_error)?;
            let faces = inner.detect_async(&images[0]).await.map_err(js_error)?;
            to_js(&faces)
        })
    }

    /// The main face's dense landmarks in one image (needs the mesh): `{ face, mesh: { points,
    /// faceScore, faceLogit }, alignmentPoints, eyeOpenness, headPose: { yaw, pitch, roll } }`.
    pub fn landmarks(&self, data: Vec<u8>, shapes: Vec<u32>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes).map_err(js_error)?;
            let found = inner.landmarks_async(&images[0]).await.map_err(js_error)?;
            to_js(&found)
        })
    }

    /// The 112x112 RGB crop the model sees for one image (`face`: `detect` or `none`).
    #[wasm_bindgen(js_name = alignedFace)]
    pub fn aligned_face(&self, data: Vec<u8>, shapes: Vec<u32>, face: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes).map_err(js_error)?;
            let mode = FaceMode::parse(&face).map_err(js_error)?;
            let prepared = inner
                .prepare_async(&images[0], mode)
                .await
                .map_err(js_error)?;
            let crop = prepared.crop.resize_bilinear(112, 112);
            Ok(js_sys::Uint8Array::from(crop.as_rgb()).into())
        })
    }
}

/// Fine-tuning on the device.
#[cfg(feature = "train")]
#[wasm_bindgen]
impl Engine {
    /// Fine-tunes the embedder on images packed as for [`Engine::embed_batch`], with `labels`
    /// (one integer per image; empty for none), `face` (`detect`/`none`) and `options` JSON
    /// `{ loss, trainable, steps, batchSize, lr, weightDecay, temperature, margin, scale, seed }`.
    /// `on_step({ step, steps, loss, ms })` is called after every step and may return a promise;
    /// a result of `false` cancels (ABORTED, model unchanged). Awaiting it also gives the event
    /// loop a turn, so messages (a cancel) are seen between steps. Resolves to `{ losses, ms,
    /// skipped, modelInfo }`; from then on the engine embeds with the tuned model.
    #[wasm_bindgen(js_name = fineTune)]
    pub fn fine_tune(
        &self,
        data: Vec<u8>,
        shapes: Vec<u32>,
        labels: Vec<u32>,
        face: String,
        options: String,
        on_step: js_sys::Function,
    ) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes).map_err(js_error)?;
            let mode = FaceMode::parse(&face).map_err(js_error)?;
            let config = crate::train::TrainConfig::from_json(&options).map_err(js_error)?;
            let labels: Option<Vec<usize>> =
                (!labels.is_empty()).then(|| labels.iter().map(|&l| l as usize).collect());
            let tuned = inner
                .fine_tune_async(&images, labels.as_deref(), mode, &config, |p| {
                    let progress = Object::new();
                    set(&progress, "step", (p.step as u32).into());
                    set(&progress, "steps", (p.steps as u32).into());
                    set(&progress, "loss", p.loss.into());
                    set(&progress, "ms", p.ms.into());
                    let returned = on_step.call1(&JsValue::NULL, &progress.into());
                    async move {
                        let value = match returned {
                            Ok(v) if v.is_instance_of::<Promise>() => {
                                wasm_bindgen_futures::JsFuture::from(Promise::from(v)).await
                            }
                            other => other,
                        };
                        // A callback that throws or answers `false` stops the run.
                        matches!(value, Ok(v) if v != JsValue::FALSE)
                    }
                })
                .await
                .map_err(js_error)?;
            let obj = Object::new();
            set(
                &obj,
                "losses",
                Float32Array::from(tuned.losses.as_slice()).into(),
            );
            set(&obj, "ms", tuned.ms.into());
            set(&obj, "skipped", (tuned.skipped as u32).into());
            set(&obj, "modelInfo", model_info(&inner.embedder));
            Ok(obj.into())
        })
    }
}

/// Tuned weights.
#[wasm_bindgen]
impl Engine {
    /// The tuned weights in use as bytes (null for the shipped model), tagged with the base
    /// model's checksum.
    #[wasm_bindgen(js_name = exportTuned)]
    pub fn export_tuned(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            Ok(
                match inner.embedder.export_tuned().await.map_err(js_error)? {
                    Some(bytes) => js_sys::Uint8Array::from(bytes.as_slice()).into(),
                    None => JsValue::NULL,
                },
            )
        })
    }

    /// Uses tuned weights from [`Engine::export_tuned`] or `webverify train`; MODEL_MISMATCH
    /// when they were tuned from another base model, MODEL_LOAD when they are invalid.
    /// Resolves to the new `modelInfo`.
    #[wasm_bindgen(js_name = importTuned)]
    pub fn import_tuned(&self, bytes: Vec<u8>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner
                .embedder
                .load_tuned_async(&bytes)
                .await
                .map_err(js_error)?;
            Ok(model_info(&inner.embedder))
        })
    }

    /// Goes back to the shipped weights and calibration.
    #[wasm_bindgen(js_name = resetModel)]
    pub fn reset_model(&self) {
        self.inner.embedder.reset_model();
    }
}

/// What [`Engine::model_info`] returns, for the engine's getter and fine-tuning's result.
fn model_info(embedder: &Embedder) -> JsValue {
    let info = embedder.model_info();
    let obj = Object::new();
    set(&obj, "id", info.id().into());
    set(&obj, "name", info.name.clone().into());
    set(&obj, "sha256", info.sha256.clone().into());
    set(&obj, "embeddingDim", (info.embedding_dim as u32).into());
    set(&obj, "inputSize", (info.input_size as u32).into());
    set(&obj, "formatVersion", info.format_version.into());
    let tuned = match embedder.tuned() {
        Some(t) => {
            let meta = |k: &str| t.metadata.get(k).cloned();
            let o = Object::new();
            set(&o, "scope", t.scope.name().into());
            set(&o, "baseSha256", t.base_sha256.clone().into());
            set(&o, "baseId", embedder.shipped_info().id().into());
            set(
                &o,
                "loss",
                meta("loss").map_or(JsValue::NULL, JsValue::from),
            );
            set(
                &o,
                "steps",
                meta("steps")
                    .and_then(|v| v.parse::<u32>().ok())
                    .map_or(JsValue::NULL, JsValue::from),
            );
            o.into()
        }
        None => JsValue::NULL,
    };
    set(&obj, "tuned", tuned);
    set(
        &obj,
        "calibrationInherited",
        embedder.calibration_inherited().into(),
    );
    obj.into()
}

/// Splits the packed batch of [`Engine::embed_batch`] into images.
pub(crate) fn unpack(data: &[u8], shapes: &[u32]) -> Result<Vec<Image>, Error> {
    Image::unpack(data, shapes)
}
