//! The engine's passive liveness check: weights loaded on demand (`loadLiveness`), then
//! `liveness` on a face track.

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::engine::{unpack, Engine};
use super::to_js;
use crate::error::Error;
use crate::liveness::{Liveness, LivenessModel, CALIBRATED_BPCERS, DEFAULT_BPCER};

#[wasm_bindgen]
impl Engine {
    /// Loads liveness weights (a webverify weights file of MiniFASNet) on this engine's backend,
    /// replacing any loaded before. Returns `{ id, name, sha256, cropScale, thresholds }`
    /// (`thresholds`: `[{ bpcer, threshold }]` stored by the calibration).
    #[wasm_bindgen(js_name = loadLiveness)]
    pub fn load_liveness(&self, weights: Vec<u8>) -> Result<JsValue, JsValue> {
        let model = LivenessModel::with_device(&weights, self.inner.embedder.device().clone())?;
        let m = model.model_info();
        let info = to_js(&LivenessInfo {
            id: m.id(),
            name: m.name.clone(),
            sha256: m.sha256.clone(),
            crop_scale: model.crop_scale(),
            thresholds: CALIBRATED_BPCERS
                .iter()
                .filter_map(|&bpcer| {
                    model
                        .calibrated_threshold(bpcer)
                        .map(|threshold| CalibratedPoint { bpcer, threshold })
                })
                .collect(),
        })?;
        let liveness = Liveness::new(vec![model])?;
        *self.liveness.borrow_mut() = Some(Rc::new(liveness));
        Ok(info)
    }

    /// Whether `loadLiveness` has run.
    #[wasm_bindgen(getter, js_name = hasLiveness)]
    pub fn has_liveness(&self) -> bool {
        self.liveness.borrow().is_some()
    }

    /// The passive check on the frames packed in `data` (see `embedBatch`): the main face of
    /// each, its live probability, their mean against the threshold at `bpcer` (default 0.05)
    /// or `threshold`. Resolves to `{ live, score, threshold, frameScores, framesWithFace,
    /// faces }`; NO_FACE when no frame has a face.
    pub fn liveness(
        &self,
        data: Vec<u8>,
        shapes: Vec<u32>,
        bpcer: Option<f64>,
        threshold: Option<f32>,
    ) -> Promise {
        let inner = self.inner.clone();
        let liveness = self.liveness.borrow().clone();
        future_to_promise(async move {
            let liveness = liveness.ok_or_else(|| {
                JsValue::from(Error::InvalidInput(
                    "no liveness model is loaded (loadLiveness)".into(),
                ))
            })?;
            let detector = inner.detector.as_ref().ok_or_else(|| {
                JsValue::from(Error::InvalidInput(
                    "liveness needs the face detector; this engine was created without one".into(),
                ))
            })?;
            let frames = unpack(&data, &shapes)?;
            let result = liveness
                .check_async(detector, &frames, bpcer.unwrap_or(DEFAULT_BPCER), threshold)
                .await?;
            to_js(&result)
        })
    }
}

/// What `loadLiveness` returns.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LivenessInfo {
    id: String,
    name: String,
    sha256: String,
    crop_scale: f32,
    /// The thresholds the calibration stored, per BPCER point.
    thresholds: Vec<CalibratedPoint>,
}

#[derive(serde::Serialize)]
struct CalibratedPoint {
    bpcer: f64,
    threshold: f32,
}
