//! The `Engine` class: a loaded model (embedder and detector) on one backend.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{to_js, with_arrays};
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
use crate::score::verify::Threshold;

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
        let backend = Backend::parse(&backend)?;
        let digest = |i: usize| {
            sha256s
                .as_ref()
                .and_then(|d| d.get(i))
                .map(String::as_str)
                .filter(|d| !d.is_empty())
        };
        let embedder = Embedder::load_digested(&weights, digest(0), backend).await?;
        let device = || embedder.device().clone();
        let detector = match detector {
            Some(bytes) => Some(Detector::with_device_digested(&bytes, digest(1), device())?),
            None => None,
        };
        let mesh = match mesh {
            Some(bytes) => Some(FaceMesh::with_device_digested(&bytes, digest(2), device())?),
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
        to_js(&self.inner.embedder.compare(a, b, far)?)
    }

    /// Verifies two photos in one call: `data`/`shapes` hold both images packed as for
    /// [`Engine::embed_batch`], `face` is `detect` or `none`; the threshold is `threshold` when
    /// given (it wins over `far`), else the calibrated one at `far` (default 1e-3). Resolves to
    /// `{ similarity, match, threshold, far, faces, mainFaces, quality }` and, with `crops`,
    /// `crops`: the two 112x112 RGB crops the model saw, one after the other in a `Uint8Array`.
    pub fn verify(
        &self,
        data: Vec<u8>,
        shapes: Vec<u32>,
        face: String,
        far: Option<f64>,
        threshold: Option<f32>,
        crops: bool,
    ) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes)?;
            let [a, b] = images.as_slice() else {
                return Err(Error::InvalidInput(format!(
                    "verify compares two images, not {}",
                    images.len()
                ))
                .into());
            };
            let mode = FaceMode::parse(&face)?;
            let rule = Threshold::from_options(far, threshold);
            let v = inner.verify_async(a, b, mode, rule).await?;
            let mut arrays: Vec<(&str, JsValue)> = Vec::new();
            if crops {
                let pixels: Vec<u8> = v
                    .crops
                    .iter()
                    .flat_map(|c| c.resize_bilinear(112, 112).as_rgb().to_vec())
                    .collect();
                arrays.push(("crops", js_sys::Uint8Array::from(pixels.as_slice()).into()));
            }
            with_arrays(&v, arrays)
        })
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
            let images = unpack(&data, &shapes)?;
            let mode = FaceMode::parse(&face)?;
            let embedded = inner.embed_photos_async(&images, mode).await?;
            let flat: Vec<f32> = embedded.embeddings.iter().flatten().copied().collect();
            with_arrays(
                &EmbeddedPhotos {
                    faces: &embedded.faces,
                    main_faces: &embedded.main,
                    quality: &embedded.quality,
                },
                vec![("embeddings", Float32Array::from(flat.as_slice()).into())],
            )
        })
    }

    /// Refits the score calibration on labelled pairs of embeddings: `a` and `b` hold the
    /// pairs' embeddings one after another, `same[i]` is 1 when pair `i` is one person. Returns
    /// `{ genuine, impostors, thresholds: [{ far, threshold, tar }] }`; from now on
    /// `compare` uses the new thresholds and FAR estimates.
    pub fn calibrate(&self, a: &[f32], b: &[f32], same: &[u8]) -> Result<JsValue, JsValue> {
        let same: Vec<bool> = same.iter().map(|&s| s != 0).collect();
        let refit = self.inner.embedder.calibrate_packed(a, b, &same)?;
        to_js(&refit)
    }

    /// Where the time of one embedding goes on Flex (for benches/profile.mjs):
    /// `{ kernels, burn }`, each `[[layer, ms], …]`: per-kind medians over `rounds` passes on
    /// the packed CPU kernels and on burn's ops.
    #[wasm_bindgen(js_name = profileLayers)]
    pub fn profile_layers(&self, rounds: u32) -> Result<JsValue, JsValue> {
        let (kernels, burn) = self.inner.embedder.profile_layers(rounds as usize)?;
        let rows = |t: &crate::nn::profile::LayerTimes| -> Vec<(&str, f64)> {
            t.0.iter().map(|(k, ms)| (k.label(), *ms)).collect()
        };
        #[derive(serde::Serialize)]
        struct Profile<'a> {
            kernels: Vec<(&'a str, f64)>,
            burn: Vec<(&'a str, f64)>,
        }
        to_js(&Profile {
            kernels: rows(&kernels),
            burn: rows(&burn),
        })
    }

    /// Milliseconds per embedding on this engine's backend (median of `runs` after a warm-up):
    /// what `backend: 'auto'` compares.
    #[wasm_bindgen(js_name = timeEmbedding)]
    pub fn time_embedding(&self, runs: u32) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let ms = inner.embedder.time_embedding(runs as usize).await?;
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

    /// Test-time augmentation for every embedding from now on: `none` or `flip` (each face and
    /// its mirror image, summed: twice the network's work). Scores then use the weights'
    /// calibration for that mode (`calibration_flip` for flip, where the file has one); a
    /// refitted calibration is dropped, as it was fitted on the other mode's embeddings.
    #[wasm_bindgen(js_name = setTta)]
    pub fn set_tta(&self, tta: String) -> Result<(), JsValue> {
        self.inner
            .embedder
            .set_tta(crate::score::embedder::Tta::parse(&tta)?);
        Ok(())
    }

    /// The test-time augmentation in use: `none` or `flip`.
    #[wasm_bindgen(getter)]
    pub fn tta(&self) -> String {
        self.inner.embedder.tta().name().to_string()
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
        let calibration = json.map(|j| Calibration::from_json(&j)).transpose()?;
        self.inner.embedder.set_calibration(calibration);
        Ok(())
    }

    /// Like [`Engine::embed_batch`] but the model's raw, unnormalised outputs (for fidelity
    /// checks against the reference implementation).
    #[wasm_bindgen(js_name = embedRaw)]
    pub fn embed_raw(&self, data: Vec<u8>, shapes: Vec<u32>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes)?;
            let embeddings = inner.embedder.embed_raw(&images).await?;
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
            let images = unpack(&data, &shapes)?;
            let faces = inner.detect_async(&images[0]).await?;
            to_js(&faces)
        })
    }

    /// The main face's dense landmarks in one image (needs the mesh): `{ face, mesh: { points,
    /// faceScore, faceLogit }, alignmentPoints, eyeOpenness, headPose: { yaw, pitch, roll } }`.
    pub fn landmarks(&self, data: Vec<u8>, shapes: Vec<u32>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes)?;
            let found = inner.landmarks_async(&images[0]).await?;
            to_js(&found)
        })
    }

    /// The 112x112 RGB crop the model sees for one image (`face`: `detect` or `none`).
    #[wasm_bindgen(js_name = alignedFace)]
    pub fn aligned_face(&self, data: Vec<u8>, shapes: Vec<u32>, face: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes)?;
            let mode = FaceMode::parse(&face)?;
            let prepared = inner.prepare_async(&images[0], mode).await?;
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
    /// skipped, modelInfo, calibration }` (`calibration`: [`crate::train::TunedCalibration`]);
    /// from then on the engine embeds with the tuned model.
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
            let images = unpack(&data, &shapes)?;
            let mode = FaceMode::parse(&face)?;
            let config = crate::train::TrainConfig::from_json(&options)?;
            let labels: Option<Vec<usize>> =
                (!labels.is_empty()).then(|| labels.iter().map(|&l| l as usize).collect());
            let tuned = inner
                .fine_tune_async(&images, labels.as_deref(), mode, &config, |p| {
                    let returned = to_js(&p).and_then(|p| on_step.call1(&JsValue::NULL, &p));
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
                .await?;
            #[derive(serde::Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Tuned {
                ms: f64,
                skipped: usize,
                model_info: ModelSummary,
                calibration: crate::train::TunedCalibration,
            }
            let summary = Tuned {
                ms: tuned.ms,
                skipped: tuned.skipped,
                model_info: ModelSummary::of(&inner.embedder),
                calibration: tuned.calibration,
            };
            with_arrays(
                &summary,
                vec![("losses", Float32Array::from(tuned.losses.as_slice()).into())],
            )
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
            Ok(match inner.embedder.export_tuned().await? {
                Some(bytes) => js_sys::Uint8Array::from(bytes.as_slice()).into(),
                None => JsValue::NULL,
            })
        })
    }

    /// Uses tuned weights from [`Engine::export_tuned`] or `webverify train`; MODEL_MISMATCH
    /// when they were tuned from another base model, MODEL_LOAD when they are invalid.
    /// Resolves to the new `modelInfo`.
    #[wasm_bindgen(js_name = importTuned)]
    pub fn import_tuned(&self, bytes: Vec<u8>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.embedder.load_tuned_async(&bytes).await?;
            Ok(model_info(&inner.embedder))
        })
    }

    /// Goes back to the shipped weights and calibration.
    #[wasm_bindgen(js_name = resetModel)]
    pub fn reset_model(&self) {
        self.inner.embedder.reset_model();
    }
}

/// What [`Engine::embed_batch`] returns beside the embeddings.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbeddedPhotos<'a> {
    /// Faces found per image (null with `none`).
    faces: &'a [Option<usize>],
    /// The faces the embeddings were made from (null entries with `none`).
    main_faces: &'a [Option<crate::face::detect::Face>],
    quality: &'a [Option<crate::face::quality::Quality>],
}

/// What [`Engine::model_info`] returns, for the engine's getter and fine-tuning's result.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelSummary {
    id: String,
    name: String,
    sha256: String,
    embedding_dim: usize,
    input_size: usize,
    format_version: u32,
    /// What a tuned model was tuned from and how (null: the shipped model).
    tuned: Option<TunedSummary>,
    calibration_inherited: bool,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TunedSummary {
    scope: &'static str,
    base_sha256: String,
    base_id: String,
    loss: Option<String>,
    steps: Option<u32>,
}

impl ModelSummary {
    fn of(embedder: &Embedder) -> Self {
        let info = embedder.model_info();
        let tuned = embedder.tuned().map(|t| TunedSummary {
            scope: t.scope.name(),
            base_sha256: t.base_sha256.clone(),
            base_id: embedder.shipped_info().id(),
            loss: t.metadata.get("loss").cloned(),
            steps: t.metadata.get("steps").and_then(|v| v.parse().ok()),
        });
        ModelSummary {
            id: info.id(),
            name: info.name,
            sha256: info.sha256,
            embedding_dim: info.embedding_dim,
            input_size: info.input_size,
            format_version: info.format_version,
            tuned,
            calibration_inherited: embedder.calibration_inherited(),
        }
    }
}

fn model_info(embedder: &Embedder) -> JsValue {
    // A struct of strings and numbers always converts.
    to_js(&ModelSummary::of(embedder)).unwrap_or(JsValue::NULL)
}

/// Splits the packed batch of [`Engine::embed_batch`] into images.
pub(crate) fn unpack(data: &[u8], shapes: &[u32]) -> Result<Vec<Image>, Error> {
    Image::unpack(data, shapes)
}
