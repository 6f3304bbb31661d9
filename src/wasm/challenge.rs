//! The engine's challenge liveness: the face mesh loaded on demand (`loadChallengeMesh`),
//! `challengeStart` for the asked motions, `challengeFrame` for each frame. The challenge's
//! state travels with the calls as a string, so the page's loop (pkg/challenge.js) holds it and
//! a restarted engine can go on.

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::engine::{unpack, Engine};
use super::to_js;
use crate::error::Error;
use crate::face::mesh::FaceMesh;
use crate::liveness::challenge::{
    observe_async, Action, Challenge, ChallengeStatus, Observation, DEFAULT_STEP_MS,
};
use crate::liveness::DEFAULT_BPCER;

/// Motions asked when the caller names neither steps nor a count.
const DEFAULT_COUNT: usize = 3;

#[wasm_bindgen]
impl Engine {
    /// Loads the face mesh for challenges on an engine created without one.
    #[wasm_bindgen(js_name = loadChallengeMesh)]
    pub fn load_challenge_mesh(&self, weights: Vec<u8>) -> Result<(), JsValue> {
        let mesh = FaceMesh::with_device(&weights, self.inner.embedder.device().clone())?;
        *self.challenge_mesh.borrow_mut() = Some(Rc::new(mesh));
        Ok(())
    }

    /// Whether a face mesh is available for challenges (the engine's own or a loaded one).
    #[wasm_bindgen(getter, js_name = hasMesh)]
    pub fn has_mesh(&self) -> bool {
        self.inner.mesh.is_some() || self.challenge_mesh.borrow().is_some()
    }

    /// A new challenge: the motions `steps` (names) in that order, or `count` (default 3)
    /// different ones in an order drawn from `seed`; each within `stepMs` (default 5000); the
    /// passive score against the threshold at `bpcer` (default 0.05) or `threshold`. Returns
    /// `{ state, status }` (`status.steps`: the motions to ask for).
    #[wasm_bindgen(js_name = challengeStart)]
    pub fn challenge_start(
        &self,
        steps: Option<Vec<String>>,
        count: Option<u32>,
        seed: u32,
        step_ms: Option<f64>,
        bpcer: Option<f64>,
        threshold: Option<f32>,
    ) -> Result<JsValue, JsValue> {
        let liveness = self.liveness.borrow().clone().ok_or_else(|| {
            JsValue::from(Error::InvalidInput(
                "no liveness model is loaded (loadLiveness)".into(),
            ))
        })?;
        let actions = match (steps, count) {
            (Some(_), Some(_)) => {
                return Err(JsValue::from(Error::InvalidInput(
                    "pass steps or count, not both".into(),
                )))
            }
            (Some(names), None) => names
                .iter()
                .map(|n| Action::parse(n))
                .collect::<Result<Vec<_>, _>>()?,
            (None, count) => {
                Challenge::random_steps(count.map_or(DEFAULT_COUNT, |c| c as usize), seed as u64)?
            }
        };
        let threshold = liveness.threshold(bpcer.unwrap_or(DEFAULT_BPCER), threshold)?;
        let challenge = Challenge::new(actions, step_ms.unwrap_or(DEFAULT_STEP_MS), threshold)?;
        to_js(&Step {
            state: challenge.to_state()?,
            status: challenge.status(0.0),
            seen: None,
        })
    }

    /// One frame of a challenge (packed as for `embedBatch`) taken at `tMs`: resolves to
    /// `{ state, status, seen }` (`seen`: the face's yaw, pitch, eye openness, live probability
    /// and box, or null).
    #[wasm_bindgen(js_name = challengeFrame)]
    pub fn challenge_frame(
        &self,
        state: String,
        data: Vec<u8>,
        shapes: Vec<u32>,
        t_ms: f64,
    ) -> Promise {
        let inner = self.inner.clone();
        let liveness = self.liveness.borrow().clone();
        let loaded_mesh = self.challenge_mesh.borrow().clone();
        future_to_promise(async move {
            let liveness = liveness.ok_or_else(|| {
                JsValue::from(Error::InvalidInput(
                    "no liveness model is loaded (loadLiveness)".into(),
                ))
            })?;
            let mesh = inner
                .mesh
                .as_ref()
                .or(loaded_mesh.as_deref())
                .ok_or_else(|| {
                    JsValue::from(Error::InvalidInput(
                        "no face mesh is loaded (loadChallengeMesh)".into(),
                    ))
                })?;
            let mut challenge = Challenge::from_state(&state)?;
            let frames = unpack(&data, &shapes)?;
            let [frame] = <[_; 1]>::try_from(frames).map_err(|f: Vec<_>| {
                JsValue::from(Error::InvalidInput(format!(
                    "a challenge takes one frame at a time, not {}",
                    f.len()
                )))
            })?;
            let seen = observe_async(&inner, mesh, &liveness, &frame).await?;
            let status = challenge.observe(t_ms, seen)?;
            to_js(&Step {
                state: challenge.to_state()?,
                status,
                seen,
            })
        })
    }
}

/// What `challengeStart` and `challengeFrame` return: the state to hand back with the next
/// frame, the status, and what the frame showed (null at the start, or without a face).
#[derive(serde::Serialize)]
struct Step {
    state: String,
    status: ChallengeStatus,
    seen: Option<Observation>,
}
