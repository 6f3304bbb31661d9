//! Passive liveness (presentation-attack detection): is the face in front of the camera a live
//! person or a print or screen held up to it? MiniFASNet ([`crate::nn::minifasnet`]) scores the
//! face's surroundings; the score of a face track is the mean of its frames' scores, compared
//! with a threshold calibrated at a stated BPCER (bona fide presentations wrongly rejected).
//!
//! What this does not stop (docs/LIVENESS.md): masks, deepfakes, virtual cameras and injected
//! streams; a passive model alone also lets through good replays, hence the challenge.

pub mod challenge;
pub mod crop;

use burn::tensor::{Device, Tensor, TensorData};

use crate::backend::read_back;
use crate::error::{Error, Result};
use crate::face::detect::{BoundingBox, Detector};
use crate::face::pipeline::main_face;
use crate::image::Image;
use crate::io::weights::{ModelInfo, WeightFile};
use crate::nn::minifasnet::{
    Architecture, MiniFasNet, CLASSES, INPUT_SIZE, LIVE_CLASS, MODEL_NAME,
};

/// Metadata key of the crop scale a liveness model was trained with (2.7 for V2, 4.0 for V1SE).
pub const CROP_SCALE_KEY: &str = "crop_scale";
/// Metadata key prefix of the calibrated thresholds: `threshold_bpcer_0.05` holds the threshold
/// on the live probability that rejects 5 % of live faces on the calibration data.
pub const THRESHOLD_KEY_PREFIX: &str = "threshold_bpcer_";
/// The BPCERs a calibration stores thresholds for.
pub const CALIBRATED_BPCERS: [f64; 2] = [0.01, 0.05];
/// The operating point used when the caller names none (by the wasm bindings and the CLI).
#[cfg_attr(not(any(feature = "cli", target_arch = "wasm32")), allow(dead_code))]
pub const DEFAULT_BPCER: f64 = 0.05;

/// The softmax probability of the live class from one image's logits.
pub fn live_probability(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    exp[LIVE_CLASS] / exp.iter().sum::<f32>()
}

/// One liveness classifier on one backend.
pub struct LivenessModel {
    network: MiniFasNet,
    device: Device,
    crop_scale: f32,
    info: ModelInfo,
}

impl LivenessModel {
    /// Loads liveness weights (a webverify weights file of MiniFASNet) onto `device`. Every bad
    /// file (truncated, another model, forged shapes or scales, no crop scale) is an error.
    pub fn with_device(weights: &[u8], device: Device) -> Result<Self> {
        let file = WeightFile::parse_model(weights, MODEL_NAME)?;
        let arch = Architecture::from_shapes(|name| file.shape(name))?;
        let crop_scale = file
            .info
            .metadata
            .get(CROP_SCALE_KEY)
            .and_then(|v| v.parse::<f32>().ok())
            .filter(|s| s.is_finite() && (1.0..=8.0).contains(s))
            .ok_or_else(|| {
                Error::ModelLoad(format!(
                    "liveness weights lack a usable {CROP_SCALE_KEY} (the face box scale the \
                     model was trained with)"
                ))
            })?;
        let network = MiniFasNet::build(&arch, |spec| file.conv_weights(spec, &device))?;
        Ok(Self {
            network,
            device,
            crop_scale,
            info: file.info.clone(),
        })
    }

    /// The weights' name, checksum and metadata.
    pub fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    /// How much the face box is enlarged around its centre for this model.
    pub fn crop_scale(&self) -> f32 {
        self.crop_scale
    }

    /// The threshold stored for `bpcer` by `webverify eval-liveness --write`, if any.
    pub fn calibrated_threshold(&self, bpcer: f64) -> Option<f32> {
        self.info
            .metadata
            .get(&format!("{THRESHOLD_KEY_PREFIX}{bpcer}"))
            .and_then(|v| v.parse::<f32>().ok())
            .filter(|t| t.is_finite())
    }

    /// Logits (`n × 3`) of `n` inputs made by [`crop::model_input`].
    pub async fn logits_async(&self, inputs: Vec<f32>, n: usize) -> Result<Vec<f32>> {
        let expected = n * 3 * INPUT_SIZE * INPUT_SIZE;
        if inputs.len() != expected || n == 0 {
            return Err(Error::InvalidInput(format!(
                "{} values for {n} liveness inputs of 3x{INPUT_SIZE}x{INPUT_SIZE}",
                inputs.len()
            )));
        }
        if inputs.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidInput("liveness input holds NaN or ∞".into()));
        }
        let x = Tensor::<4>::from_data(
            TensorData::new(inputs, [n, 3, INPUT_SIZE, INPUT_SIZE]),
            &self.device,
        );
        let data = read_back(self.network.forward(x), "reading liveness scores back").await?;
        let logits = data
            .try_to_vec::<f32>()
            .map_err(|e| Error::Inference(format!("{e:?}")))?;
        debug_assert_eq!(logits.len(), n * CLASSES);
        Ok(logits)
    }

    /// The live probability of the face in each (frame, face box) pair.
    pub async fn score_async(&self, faces: &[(&Image, BoundingBox)]) -> Result<Vec<f32>> {
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<f32> = faces
            .iter()
            .flat_map(|(frame, face)| crop::model_input(frame, face, self.crop_scale))
            .collect();
        let logits = self.logits_async(inputs, faces.len()).await?;
        Ok(logits.chunks_exact(CLASSES).map(live_probability).collect())
    }
}

/// The passive check: one or more models (their live probabilities averaged per frame) and the
/// threshold of an operating point.
pub struct Liveness {
    models: Vec<LivenessModel>,
}

/// What [`Liveness::assess_async`] says about a face track.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LivenessResult {
    /// Mean live probability over the frames with a face, 0–1.
    pub score: f32,
    /// The threshold the score was compared with.
    pub threshold: f32,
    /// `score >= threshold`.
    pub live: bool,
    /// Each frame's live probability (`None` where no face was found).
    pub frame_scores: Vec<Option<f32>>,
    /// Frames in which a face was found.
    pub frames_with_face: usize,
    /// The face scored in each frame, in its pixels (`None` where none was found).
    pub faces: Vec<Option<BoundingBox>>,
}

impl Liveness {
    /// A check made of `models` (at least one).
    pub fn new(models: Vec<LivenessModel>) -> Result<Self> {
        if models.is_empty() {
            return Err(Error::InvalidInput(
                "liveness needs at least one model".into(),
            ));
        }
        Ok(Self { models })
    }

    /// The models whose live probabilities are averaged.
    pub fn models(&self) -> &[LivenessModel] {
        &self.models
    }

    /// The threshold for an operating point: an explicit threshold wins; otherwise the first
    /// model's calibrated one for `bpcer`. Only a single model carries a calibration that
    /// applies to the check (a mean of models is calibrated by the caller).
    pub fn threshold(&self, bpcer: f64, explicit: Option<f32>) -> Result<f32> {
        if let Some(t) = explicit {
            return if (0.0..=1.0).contains(&t) {
                Ok(t)
            } else {
                Err(Error::InvalidInput(format!(
                    "liveness threshold {t} is outside 0–1"
                )))
            };
        }
        let calibrated = match self.models.as_slice() {
            [only] => only.calibrated_threshold(bpcer),
            _ => None,
        };
        calibrated.ok_or_else(|| {
            Error::InvalidInput(format!(
                "no liveness threshold calibrated at BPCER {bpcer} (calibrated: {:?}); pass a \
                 threshold",
                CALIBRATED_BPCERS
            ))
        })
    }

    /// Live probability (mean over the models) of each (frame, face box) pair.
    pub async fn score_async(&self, faces: &[(&Image, BoundingBox)]) -> Result<Vec<f32>> {
        let mut sum = vec![0.0f32; faces.len()];
        for model in &self.models {
            for (s, p) in sum.iter_mut().zip(model.score_async(faces).await?) {
                *s += p;
            }
        }
        let k = self.models.len() as f32;
        Ok(sum.into_iter().map(|s| s / k).collect())
    }

    /// Scores a face track: `faces[i]` is frame `i`'s face box (`None`: no face found there).
    /// Fails with `NoFace` when no frame has one.
    pub async fn assess_async(
        &self,
        frames: &[Image],
        faces: &[Option<BoundingBox>],
        threshold: f32,
    ) -> Result<LivenessResult> {
        if frames.len() != faces.len() {
            return Err(Error::InvalidInput(format!(
                "{} frames but {} face boxes",
                frames.len(),
                faces.len()
            )));
        }
        let found: Vec<(&Image, BoundingBox)> = frames
            .iter()
            .zip(faces)
            .filter_map(|(f, b)| b.map(|b| (f, b)))
            .collect();
        if found.is_empty() {
            return Err(Error::NoFace { found: 0 });
        }
        let mut scores = self.score_async(&found).await?.into_iter();
        let frame_scores: Vec<Option<f32>> = faces
            .iter()
            .map(|b| b.and_then(|_| scores.next()))
            .collect();
        let present: Vec<f32> = frame_scores.iter().flatten().copied().collect();
        let score = present.iter().sum::<f32>() / present.len() as f32;
        Ok(LivenessResult {
            score,
            threshold,
            live: score >= threshold,
            frames_with_face: present.len(),
            frame_scores,
            faces: faces.to_vec(),
        })
    }

    /// The whole passive check on a face track: the main face of each frame (as verification
    /// picks it), scored and averaged, compared with the threshold of `bpcer` (or `explicit`).
    pub async fn check_async(
        &self,
        detector: &Detector,
        frames: &[Image],
        bpcer: f64,
        explicit: Option<f32>,
    ) -> Result<LivenessResult> {
        let threshold = self.threshold(bpcer, explicit)?;
        let mut faces = Vec::with_capacity(frames.len());
        for frame in frames {
            let found = detector.detect_async(frame).await?;
            faces.push(main_face(&found, frame.width(), frame.height()).map(|f| f.bbox));
        }
        self.assess_async(frames, &faces, threshold).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_probability_is_the_softmax_of_class_one() {
        let p = live_probability(&[0.0, 2.0f32.ln(), 0.0]);
        assert!((p - 0.5).abs() < 1e-6);
        // Large logits do not overflow.
        assert!((live_probability(&[-1000.0, 1000.0, -1000.0]) - 1.0).abs() < 1e-6);
    }
}
