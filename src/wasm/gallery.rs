//! The `Gallery` class and enrollment offers.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::engine::{unpack, Engine};
use super::to_js;
use crate::face::prepared::FaceMode;
use crate::face::quality::Offered;
use crate::gallery::identify::{SearchOptions, Searcher};
use crate::gallery::{Aggregation, Gallery};

/// Photos offered for enrollment by [`Engine::offer`]: embeddings and quality issues, kept in
/// wasm memory until [`WasmGallery::enroll`] consumes them.
#[wasm_bindgen]
pub struct Offer {
    items: Vec<Offered>,
}

#[wasm_bindgen]
impl Engine {
    /// Prepares photos for enrollment: resolves to an [`Offer`] (embeddings and the issues
    /// that do not depend on the gallery: NO_FACE, SEVERAL_FACES, SMALL_FACE, BLURRY).
    pub fn offer(&self, data: Vec<u8>, shapes: Vec<u32>, face: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let images = unpack(&data, &shapes)?;
            let mode = FaceMode::parse(&face)?;
            let items = inner.offer_async(&images, mode).await?;
            Ok(Offer { items }.into())
        })
    }
}

/// A gallery of enrolled identities tied to the model of the engine that made it. Shared with
/// the searches in flight (they run asynchronously on the engine's device).
#[wasm_bindgen(js_name = Gallery)]
pub struct WasmGallery {
    inner: Rc<RefCell<Gallery>>,
    searcher: Rc<Searcher>,
}

impl WasmGallery {
    fn wrap(gallery: Gallery) -> Self {
        Self {
            inner: Rc::new(RefCell::new(gallery)),
            searcher: Rc::new(Searcher::new()),
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
        let gallery = engine.inner.embedder.load_gallery(bytes)?;
        Ok(Self::wrap(gallery))
    }

    /// Brings the gallery to `engine`'s model after a fine-tune: templates of the shipped model
    /// pass through an adapter exactly; other changes are MODEL_MISMATCH (enroll again).
    /// Returns whether templates changed.
    pub fn migrate(&self, engine: &Engine) -> Result<bool, JsValue> {
        let changed = engine
            .inner
            .embedder
            .migrate_gallery(&mut self.inner.borrow_mut())?;
        self.searcher.invalidate();
        Ok(changed)
    }

    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.borrow().to_bytes()
    }

    /// The gallery's bytes sealed (HMAC-SHA256) under `key`: see `io::sealed`.
    #[wasm_bindgen(js_name = toSealedBytes)]
    pub fn to_sealed_bytes(&self, key: &[u8]) -> Result<Vec<u8>, JsValue> {
        self.inner
            .borrow()
            .to_sealed_bytes(key)
            .map_err(JsValue::from)
    }

    /// A gallery from `toSealedBytes` bytes: WRONG_KEY unless they check under `key`, then as
    /// `fromBytes`.
    #[wasm_bindgen(js_name = fromSealedBytes)]
    pub fn from_sealed_bytes(
        engine: &Engine,
        bytes: &[u8],
        key: &[u8],
    ) -> Result<WasmGallery, JsValue> {
        let gallery = engine.inner.embedder.load_sealed_gallery(bytes, key)?;
        Ok(Self::wrap(gallery))
    }

    /// Enrolls the offered photos that pass the quality gate (all that have a face when
    /// `force`); `{ enrolled, issues }`.
    pub fn enroll(
        &self,
        engine: &Engine,
        id: String,
        offer: Offer,
        metadata: Option<String>,
        force: bool,
    ) -> Result<JsValue, JsValue> {
        let report = self.inner.borrow_mut().enroll_photos(
            &engine.inner.embedder,
            &id,
            offer.items,
            metadata.as_deref(),
            force,
        )?;
        to_js(&report)
    }

    /// Enrolls ready embeddings (`count * dim` values) without the photo checks.
    #[wasm_bindgen(js_name = enrollEmbeddings)]
    pub fn enroll_embeddings(
        &self,
        id: String,
        embeddings: &[f32],
        metadata: Option<String>,
    ) -> Result<(), JsValue> {
        self.inner
            .borrow_mut()
            .enroll_packed(&id, embeddings, metadata.as_deref())
            .map_err(JsValue::from)
    }

    /// Removes an identity; false when it was not enrolled.
    pub fn remove(&self, id: &str) -> bool {
        self.inner.borrow_mut().remove(id)
    }

    /// `[{ id, templates, metadata }]` in enrollment order (metadata: the caller's JSON).
    pub fn list(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.borrow().list())
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

    /// Who is `probe` (an embedding)? Resolves to `{ candidates: [{ id, similarity, far }],
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
        let (gallery, searcher, pipeline) = (
            self.inner.clone(),
            self.searcher.clone(),
            engine.inner.clone(),
        );
        future_to_promise(async move {
            let aggregation = match aggregation {
                Some(a) => Aggregation::parse(&a)?,
                None => Aggregation::default(),
            };
            let options = SearchOptions {
                top_k: top_k as usize,
                far,
                aggregation,
                threshold,
            };
            let result = searcher
                .identify(&gallery, &pipeline.embedder, &probe, &options)
                .await?;
            to_js(&result)
        })
    }
}
