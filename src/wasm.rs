//! wasm-bindgen bindings: the engine behind the JavaScript package (`pkg/index.js`).
//!
//! Every fallible call returns a rejected promise (or throws) with a JS `Error` whose `code`
//! is [`Error::code`]; nothing here unwraps caller input, so the instance survives bad input.
//! Methods that run the model return promises because GPU reads are asynchronous in browsers.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::backend::Backend;
use crate::detect::Detector;
use crate::embedder::Embedder;
use crate::error::Error;
use crate::gallery::{Aggregation, Gallery};
use crate::image::{Image, PixelFormat};
use crate::pipeline::{FaceMode, Pipeline};
use crate::quality::{self, Offered};
use crate::search::TemplateIndex;
use crate::verify;

#[wasm_bindgen(start)]
fn start() {
    // A panic would be a bug; at least make it readable in the console.
    console_error_panic_hook::set_once();
}

fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    let _ = Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

fn image(data: &[u8], width: u32, height: u32, channels: u32, stride: u32) -> Result<Image, Error> {
    let format = PixelFormat::from_channels(channels as usize)?;
    let stride = (stride > 0).then_some(stride as usize);
    Image::from_pixels(data, width as usize, height as usize, format, stride)
}

fn set(obj: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(obj, &key.into(), &value);
}

/// A loaded model on one backend.
#[wasm_bindgen]
pub struct Engine {
    inner: Rc<Pipeline>,
}

#[wasm_bindgen]
impl Engine {
    /// Loads the embedder weights (bytes of a webverify weights file) on `backend`
    /// (`webgpu`, `flex`, `ndarray` or `cpu`), and the face detector's when given.
    pub async fn create(
        weights: Vec<u8>,
        backend: String,
        detector: Option<Vec<u8>>,
    ) -> Result<Engine, JsValue> {
        let backend = Backend::parse(&backend).map_err(js_error)?;
        let embedder = Embedder::load(&weights, backend).await.map_err(js_error)?;
        let detector = match detector {
            Some(bytes) => {
                Some(Detector::with_device(&bytes, embedder.device().clone()).map_err(js_error)?)
            }
            None => None,
        };
        Ok(Engine {
            inner: Rc::new(Pipeline { embedder, detector }),
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
    /// Resolves to `{ embeddings, faces, mainFaces }`: one `Float32Array` of `count * 192`
    /// unit-length values, per image the number of faces found (null with `none`), and as JSON
    /// the face each embedding was made from.
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
            // The faces the embeddings were made from, as JSON (null entries with `none`).
            let main = serde_json::to_string(&embedded.main).unwrap_or_else(|_| "[]".into());
            set(&obj, "mainFaces", main.into());
            Ok(obj.into())
        })
    }

    /// Refits the score calibration on labelled pairs of embeddings: `a` and `b` hold the
    /// pairs' embeddings one after another, `same[i]` is 1 when pair `i` is one person. Returns
    /// JSON `{ genuine, impostors, thresholds: [{ far, threshold, tar }] }`; from now on
    /// `compare` uses the new thresholds and FAR estimates.
    pub fn calibrate(&self, a: &[f32], b: &[f32], same: &[u8]) -> Result<String, JsValue> {
        let dim = self.inner.embedder.model_info().embedding_dim;
        if a.len() != b.len() || a.len() != same.len() * dim {
            return Err(js_error(Error::InvalidInput(format!(
                "calibrate expects {} pairs of {dim}-d embeddings, got {} and {} values",
                same.len(),
                a.len(),
                b.len()
            ))));
        }
        let pairs: Vec<(&[f32], &[f32], bool)> = a
            .chunks_exact(dim)
            .zip(b.chunks_exact(dim))
            .zip(same)
            .map(|((x, y), &s)| (x, y, s != 0))
            .collect();
        let refit = self.inner.embedder.calibrate(&pairs).map_err(js_error)?;
        Ok(serde_json::to_string(&refit).unwrap_or_default())
    }

    /// Goes back to the calibration shipped with the weights.
    #[wasm_bindgen(js_name = resetCalibration)]
    pub fn reset_calibration(&self) {
        self.inner.embedder.reset_calibration();
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
    /// The faces in one image as JSON: `[{ box: {x, y, width, height}, score, landmarks:
    /// {rightEye, leftEye, noseTip, mouth, rightEar, leftEar} }]`, in pixels, best first.
    pub fn detect(&self, data: Vec<u8>, shapes: Vec<u32>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes).map_err(js_error)?;
            let faces = inner.detect_async(&images[0]).await.map_err(js_error)?;
            Ok(serde_json::to_string(&faces)
                .unwrap_or_else(|_| "[]".into())
                .into())
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
            let config = train_config(&options).map_err(js_error)?;
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
    /// when they were tuned from another base model. Returns the new `modelInfo`.
    #[wasm_bindgen(js_name = importTuned)]
    pub fn import_tuned(&self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        self.inner.embedder.load_tuned(bytes).map_err(js_error)?;
        Ok(self.model_info())
    }

    /// Goes back to the shipped weights and calibration.
    #[wasm_bindgen(js_name = resetModel)]
    pub fn reset_model(&self) {
        self.inner.embedder.reset_model();
    }
}

/// The fine-tuning options of [`Engine::fine_tune`], with the Rust defaults for what is absent.
fn train_config(json: &str) -> Result<crate::train::TrainConfig, Error> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Options {
        loss: Option<String>,
        trainable: Option<String>,
        steps: Option<usize>,
        batch_size: Option<usize>,
        lr: Option<f64>,
        weight_decay: Option<f32>,
        temperature: Option<f32>,
        margin: Option<f32>,
        scale: Option<f32>,
        seed: Option<u64>,
        shading: Option<f32>,
    }
    let o: Options = serde_json::from_str(json)
        .map_err(|e| Error::InvalidInput(format!("fine-tuning options: {e}")))?;
    let d = crate::train::TrainConfig::default();
    Ok(crate::train::TrainConfig {
        loss: match o.loss {
            Some(l) => crate::train::Loss::parse(&l)?,
            None => d.loss,
        },
        scope: match o.trainable {
            Some(t) => crate::tuned::Scope::parse(&t)?,
            None => d.scope,
        },
        steps: o.steps.unwrap_or(d.steps),
        batch_size: o.batch_size.unwrap_or(d.batch_size),
        lr: o.lr.unwrap_or(d.lr),
        weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
        temperature: o.temperature.unwrap_or(d.temperature),
        margin: o.margin.or(d.margin),
        scale: o.scale.unwrap_or(d.scale),
        seed: o.seed.unwrap_or(d.seed),
        augmentation: crate::augment::Augmentation {
            shading_probability: o.shading.unwrap_or(d.augmentation.shading_probability),
            ..d.augmentation
        },
    })
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
fn unpack(data: &[u8], shapes: &[u32]) -> Result<Vec<Image>, Error> {
    if shapes.is_empty() || shapes.len() % 4 != 0 {
        return Err(Error::InvalidInput(format!(
            "expected 4 numbers (width, height, channels, stride) per image, got {}",
            shapes.len()
        )));
    }
    let mut images = Vec::new();
    let mut offset = 0usize;
    for s in shapes.chunks_exact(4) {
        let [w, h, c, stride] = [s[0], s[1], s[2], s[3]];
        let row = if stride > 0 {
            stride as usize
        } else {
            (w as usize) * (c as usize)
        };
        let len = row.saturating_mul(h as usize);
        let end = offset.saturating_add(len).min(data.len());
        images.push(image(&data[offset..end], w, h, c, stride)?);
        offset = end;
    }
    Ok(images)
}

/// Cosine similarity of two embeddings.
#[wasm_bindgen]
pub fn similarity(a: &[f32], b: &[f32]) -> Result<f32, JsValue> {
    verify::similarity(a, b).map_err(js_error)
}

/// `{ similarity, match, threshold }` for two embeddings (threshold: the default when absent).
#[wasm_bindgen(js_name = verifyEmbeddings)]
pub fn verify_embeddings(a: &[f32], b: &[f32], threshold: Option<f32>) -> Result<JsValue, JsValue> {
    let v =
        verify::verify(a, b, threshold.unwrap_or(verify::DEFAULT_THRESHOLD)).map_err(js_error)?;
    let obj = Object::new();
    set(&obj, "similarity", v.similarity.into());
    set(&obj, "match", v.is_match.into());
    set(&obj, "threshold", v.threshold.into());
    Ok(obj.into())
}

/// Backends compiled into this module.
#[wasm_bindgen(js_name = compiledBackends)]
pub fn compiled_backends() -> Vec<String> {
    Backend::compiled()
        .iter()
        .map(|b| b.name().to_string())
        .collect()
}

/// Photos offered for enrollment by [`Engine::offer`]: embeddings and quality issues, kept in
/// wasm memory until [`WasmGallery::enroll`] consumes them.
#[wasm_bindgen]
pub struct Offer {
    items: Vec<Offered>,
}

#[wasm_bindgen]
impl Offer {
    /// JSON: per photo, the issues found (`[{ code, message }]`).
    #[wasm_bindgen(getter)]
    pub fn issues(&self) -> String {
        let issues: Vec<_> = self.items.iter().map(|o| &o.issues).collect();
        serde_json::to_string(&issues).unwrap_or_default()
    }
}

#[wasm_bindgen]
impl Engine {
    /// Prepares photos for enrollment: resolves to an [`Offer`] (embeddings and the issues
    /// that do not depend on the gallery: NO_FACE, SEVERAL_FACES, SMALL_FACE, BLURRY).
    pub fn offer(&self, data: Vec<u8>, shapes: Vec<u32>, face: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes).map_err(js_error)?;
            let mode = FaceMode::parse(&face).map_err(js_error)?;
            let items = inner.offer_async(&images, mode).await.map_err(js_error)?;
            Ok(Offer { items }.into())
        })
    }
}

/// A gallery of enrolled identities tied to the model of the engine that made it. Shared with
/// the searches in flight (they run asynchronously on the engine's device).
#[wasm_bindgen(js_name = Gallery)]
pub struct WasmGallery {
    inner: Rc<RefCell<Gallery>>,
    /// The search matrix on the engine's device, with the gallery generation and policy it
    /// was built for.
    index: Rc<RefCell<Option<(u64, Aggregation, Rc<TemplateIndex>)>>>,
}

impl WasmGallery {
    fn wrap(gallery: Gallery) -> Self {
        Self {
            inner: Rc::new(RefCell::new(gallery)),
            index: Rc::new(RefCell::new(None)),
        }
    }
}

#[wasm_bindgen(js_class = Gallery)]
impl WasmGallery {
    /// An empty gallery for `engine`'s model.
    #[wasm_bindgen(constructor)]
    pub fn new(engine: &Engine) -> WasmGallery {
        Self::wrap(Gallery::new(engine.inner.embedder.model_ref()))
    }

    /// A gallery from bytes written by `toBytes`; MODEL_MISMATCH when another model made it,
    /// FORMAT_VERSION when a newer format wrote it, CORRUPT_DATA when the bytes are damaged.
    #[wasm_bindgen(js_name = fromBytes)]
    /// A gallery of the shipped model loaded into an adapter-tuned engine is migrated.
    pub fn from_bytes(engine: &Engine, bytes: &[u8]) -> Result<WasmGallery, JsValue> {
        let embedder = &engine.inner.embedder;
        let gallery = match Gallery::from_bytes(bytes, embedder.model_ref()) {
            Err(Error::ModelMismatch(m)) => {
                let mut shipped = Gallery::from_bytes(bytes, embedder.shipped_model_ref())
                    .map_err(|_| js_error(Error::ModelMismatch(m)))?;
                embedder.migrate_gallery(&mut shipped).map_err(js_error)?;
                shipped
            }
            other => other.map_err(js_error)?,
        };
        Ok(Self::wrap(gallery))
    }

    /// Brings the gallery to `engine`'s model after a fine-tune: templates of the shipped model
    /// pass through an adapter exactly; other changes are MODEL_MISMATCH (enroll again).
    /// Returns whether templates changed.
    pub fn migrate(&self, engine: &Engine) -> Result<bool, JsValue> {
        let changed = engine
            .inner
            .embedder
            .migrate_gallery(&mut self.inner.borrow_mut())
            .map_err(js_error)?;
        *self.index.borrow_mut() = None;
        Ok(changed)
    }

    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.borrow().to_bytes()
    }

    /// Enrolls the offered photos that pass the quality gate (all that have a face when
    /// `force`); JSON `{ enrolled, issues }`.
    pub fn enroll(
        &self,
        engine: &Engine,
        id: String,
        offer: Offer,
        metadata: Option<String>,
        force: bool,
    ) -> Result<String, JsValue> {
        let embedder = &engine.inner.embedder;
        self.inner
            .borrow()
            .ensure_model(&embedder.model_ref())
            .map_err(js_error)?;
        let threshold = embedder
            .threshold(Some(quality::CONSISTENCY_FAR))
            .or_else(|_| embedder.threshold(None))
            .map_err(js_error)?;
        let report = quality::enroll(
            &mut self.inner.borrow_mut(),
            &id,
            offer.items,
            metadata.as_deref(),
            force,
            threshold,
        )
        .map_err(js_error)?;
        Ok(serde_json::to_string(&report).unwrap_or_default())
    }

    /// Enrolls ready embeddings (`count * dim` values) without the photo checks.
    #[wasm_bindgen(js_name = enrollEmbeddings)]
    pub fn enroll_embeddings(
        &self,
        id: String,
        embeddings: &[f32],
        metadata: Option<String>,
    ) -> Result<(), JsValue> {
        let mut gallery = self.inner.borrow_mut();
        let dim = gallery.model().dim;
        if embeddings.is_empty() || embeddings.len() % dim != 0 {
            return Err(js_error(Error::InvalidInput(format!(
                "{} values are not a whole number of {dim}-d embeddings",
                embeddings.len()
            ))));
        }
        let list: Vec<Vec<f32>> = embeddings.chunks_exact(dim).map(<[f32]>::to_vec).collect();
        gallery
            .enroll(&id, &list, metadata.as_deref())
            .map_err(js_error)
    }

    /// Removes an identity; false when it was not enrolled.
    pub fn remove(&self, id: &str) -> bool {
        self.inner.borrow_mut().remove(id)
    }

    /// JSON `[{ id, templates, metadata }]` in enrollment order.
    pub fn list(&self) -> String {
        serde_json::to_string(&self.inner.borrow().list()).unwrap_or_default()
    }

    /// Number of identities.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.inner.borrow().size() as u32
    }

    #[wasm_bindgen(getter, js_name = templateCount)]
    pub fn template_count(&self) -> u32 {
        self.inner.borrow().template_count() as u32
    }

    /// Who is `probe` (an embedding)? Resolves to JSON `{ candidates: [{ id, similarity, far }],
    /// match, threshold, far }`: the threshold keeps the whole search's false-accept rate at
    /// `far` (default 1e-3) over this gallery's comparisons; each candidate's `far` estimates
    /// how often a search of this size would put a stranger that high. The search is one matrix
    /// product on the engine's device, whose copy of the matrix is kept until the gallery
    /// changes. `threshold` (a cosine) overrides the one chosen by `far`.
    pub fn identify(
        &self,
        engine: &Engine,
        probe: Vec<f32>,
        top_k: u32,
        far: Option<f64>,
        aggregation: Option<String>,
        threshold: Option<f32>,
    ) -> Promise {
        let (gallery, index, pipeline) =
            (self.inner.clone(), self.index.clone(), engine.inner.clone());
        future_to_promise(async move {
            let aggregation = match aggregation {
                Some(a) => Aggregation::parse(&a).map_err(js_error)?,
                None => Aggregation::default(),
            };
            let embedder = &pipeline.embedder;
            let (generation, dim, comparisons) = {
                let g = gallery.borrow();
                g.ensure_model(&embedder.model_ref()).map_err(js_error)?;
                (
                    g.generation(),
                    g.model().dim,
                    g.comparisons(aggregation).max(1),
                )
            };
            let probe = crate::gallery::normalised(&probe, dim).map_err(js_error)?;
            // On WebGPU the matrix lives in GPU memory and one kernel scores it; on the CPU
            // backends a plain loop over the gallery's own matrix is faster than a tensor op
            // that copies it (docs/BENCHMARKS.md, "1:N search").
            let scores = if embedder.backend() == Backend::WebGpu {
                let cached = index
                    .borrow()
                    .as_ref()
                    .filter(|(gen, agg, _)| *gen == generation && *agg == aggregation)
                    .map(|(_, _, i)| i.clone());
                let search = match cached {
                    Some(i) => i,
                    None => {
                        let matrix = gallery.borrow().search_matrix(aggregation).to_vec();
                        let i = Rc::new(
                            TemplateIndex::new(&matrix, dim, embedder.device())
                                .map_err(js_error)?,
                        );
                        *index.borrow_mut() = Some((generation, aggregation, i.clone()));
                        i
                    }
                };
                search.scores_async(&probe).await.map_err(js_error)?
            } else {
                gallery
                    .borrow()
                    .row_scores(&probe, aggregation)
                    .map_err(js_error)?
            };
            let g = gallery.borrow();
            if g.generation() != generation {
                return Err(js_error(Error::InvalidInput(
                    "the gallery changed during the search; search again".into(),
                )));
            }
            let threshold = match threshold {
                Some(t) if t.is_finite() => Ok(t),
                Some(t) => Err(Error::InvalidInput(format!(
                    "threshold {t} is not a number"
                ))),
                None => embedder.search_threshold(far, comparisons),
            }
            .map_err(js_error)?;
            let identity_scores = g.fold(&scores, aggregation).map_err(js_error)?;
            let result = g.rank(&identity_scores, top_k as usize, threshold);
            let candidates: Vec<_> = result
                .candidates
                .iter()
                .map(|c| serde_json::json!({ "id": c.id, "similarity": c.similarity, "far": embedder.search_far_at(c.similarity, comparisons) }))
                .collect();
            Ok(serde_json::json!({
                "candidates": candidates,
                "match": result.matched,
                "threshold": result.threshold,
                "far": far.unwrap_or(crate::calibration::DEFAULT_FAR),
            })
            .to_string()
            .into())
        })
    }
}
