//! The training recipe: objective, trainable scope, optimiser and augmentation settings.

use crate::error::{Error, Result};
use crate::nn::adapter::Scope;
use crate::train::augment::Augmentation;
use crate::train::losses::MarginHead;

/// The training objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum Loss {
    /// SimCLR's NT-Xent: needs no labels.
    NtXent,
    /// Supervised contrastive (Khosla et al.): labels, two views per image.
    SupCon,
    /// Triplet loss with semi-hard negatives (FaceNet).
    Triplet,
    /// ArcFace additive angular margin.
    ArcFace,
    /// CosFace additive cosine margin.
    CosFace,
    /// SphereFace multiplicative angular margin.
    SphereFace,
    /// Normalised softmax (no margin).
    Softmax,
}

impl Loss {
    /// `ntxent`, `supcon`, `triplet`, `arcface`, `cosface`, `sphereface` or `softmax`.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "ntxent" => Loss::NtXent,
            "supcon" => Loss::SupCon,
            "triplet" => Loss::Triplet,
            "arcface" => Loss::ArcFace,
            "cosface" => Loss::CosFace,
            "sphereface" => Loss::SphereFace,
            "softmax" => Loss::Softmax,
            other => {
                return Err(Error::InvalidInput(format!(
                    "loss {other:?}: use ntxent, supcon, triplet, arcface, cosface, sphereface or softmax"
                )))
            }
        })
    }

    /// The loss's name as [`Loss::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Loss::NtXent => "ntxent",
            Loss::SupCon => "supcon",
            Loss::Triplet => "triplet",
            Loss::ArcFace => "arcface",
            Loss::CosFace => "cosface",
            Loss::SphereFace => "sphereface",
            Loss::Softmax => "softmax",
        }
    }

    /// Whether the loss needs a label per image.
    pub fn needs_labels(self) -> bool {
        self != Loss::NtXent
    }

    pub(crate) fn is_margin_head(self) -> bool {
        matches!(
            self,
            Loss::ArcFace | Loss::CosFace | Loss::SphereFace | Loss::Softmax
        )
    }

    /// The margin when none is given: FaceNet's α = 0.2, ArcFace's m = 0.5, CosFace's 0.35,
    /// SphereFace's m = 4.
    pub fn default_margin(self) -> f32 {
        match self {
            Loss::Triplet => 0.2,
            Loss::ArcFace => 0.5,
            Loss::CosFace => 0.35,
            Loss::SphereFace => 4.0,
            _ => 0.0,
        }
    }
}

/// A training recipe. Deserialised from the same camelCase options object by the JS package
/// (`fineTune(options)`) and the CLI (`webverify train`), absent keys keeping the defaults:
/// `{ loss, trainable, steps, batchSize, lr, weightDecay, temperature, margin, scale, seed,
/// shading, holdBack }`; unknown keys are refused.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TrainConfig {
    /// The objective.
    pub loss: Loss,
    #[serde(rename = "trainable")]
    /// What is trained (`trainable` in the options).
    pub scope: Scope,
    /// Optimiser steps.
    pub steps: usize,
    /// Images per step; each gives two augmented views.
    pub batch_size: usize,
    /// Peak learning rate of AdamW, decayed to 0 on a cosine.
    pub lr: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f32,
    /// NT-Xent and SupCon temperature τ.
    pub temperature: f32,
    /// `None`: [`Loss::default_margin`].
    pub margin: Option<f32>,
    /// Scale `s` of the margin heads.
    pub scale: f32,
    /// Seed of the sampling and the augmentations.
    pub seed: u64,
    /// From the options: only `shading`, the probability of the illumination gradient.
    #[serde(rename = "shading", deserialize_with = "shading_only")]
    pub augmentation: Augmentation,
    /// The share of the labelled classes (identities) held back from training to calibrate the
    /// tuned model on (`crate::train::hold_back`); 0 trains on every class and keeps the
    /// previous calibration.
    pub hold_back: f64,
}

/// The default augmentations with the given probability of a random illumination gradient.
fn shading_only<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Augmentation, D::Error> {
    let shading_probability = <f32 as serde::Deserialize>::deserialize(d)?;
    Ok(Augmentation {
        shading_probability,
        ..Augmentation::default()
    })
}

impl TryFrom<String> for Loss {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Loss::parse(&s)
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            loss: Loss::NtXent,
            scope: Scope::Adapter,
            steps: 100,
            batch_size: 16,
            lr: 1e-3,
            weight_decay: 1e-4,
            temperature: 0.1,
            margin: None,
            scale: 16.0,
            seed: 0,
            augmentation: Augmentation::default(),
            hold_back: DEFAULT_HOLD_BACK,
        }
    }
}

/// A fifth of the classes: on Extended Yale B's 27 training people, 5 held back give 41 000
/// impostor pairs, enough for a FAR of 1e-4 (docs/FINETUNE.md, "A tuned model calibrates itself").
pub const DEFAULT_HOLD_BACK: f64 = 0.2;

impl TrainConfig {
    /// A recipe from a JSON options object (see [`TrainConfig`]).
    ///
    /// ```
    /// use webverify::{Loss, Scope, TrainConfig};
    /// let c = TrainConfig::from_json(r#"{ "loss": "supcon", "trainable": "head", "steps": 50 }"#).unwrap();
    /// assert_eq!((c.loss, c.scope, c.steps), (Loss::SupCon, Scope::Head, 50));
    /// assert_eq!(c.batch_size, TrainConfig::default().batch_size);
    /// assert!(TrainConfig::from_json(r#"{ "epochs": 3 }"#).is_err());
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json)
            .map_err(|e| Error::InvalidInput(format!("fine-tuning options: {e}")))
    }

    pub(crate) fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if self.steps == 0 || self.steps > 100_000 {
            return bad(format!("steps {} must be in 1..=100000", self.steps));
        }
        if self.batch_size < 2 || self.batch_size > 256 {
            return bad(format!("batchSize {} must be in 2..=256", self.batch_size));
        }
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return bad(format!("lr {} must be in (0, 1)", self.lr));
        }
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return bad(format!("temperature {} must be positive", self.temperature));
        }
        if !(self.scale > 0.0 && self.scale.is_finite()) {
            return bad(format!("scale {} must be positive", self.scale));
        }
        if let Some(m) = self.margin {
            if !(m >= 0.0 && m.is_finite()) {
                return bad(format!("margin {m} must be ≥ 0"));
            }
        }
        if !(0.0..=1.0).contains(&self.augmentation.shading_probability) {
            return bad(format!(
                "shading {} must be a probability",
                self.augmentation.shading_probability
            ));
        }
        if !(0.0..=0.5).contains(&self.hold_back) {
            return bad(format!(
                "holdBack {} must be a share of the classes in [0, 0.5]",
                self.hold_back
            ));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(format!("weight decay {} must be ≥ 0", self.weight_decay));
        }
        Ok(())
    }

    pub(crate) fn head(&self) -> Option<MarginHead> {
        let margin = self.margin.unwrap_or(self.loss.default_margin());
        let scale = self.scale;
        match self.loss {
            Loss::ArcFace => Some(MarginHead::ArcFace { scale, margin }),
            Loss::CosFace => Some(MarginHead::CosFace { scale, margin }),
            Loss::SphereFace => Some(MarginHead::SphereFace {
                scale,
                margin: margin.round().max(1.0) as u32,
            }),
            Loss::Softmax => Some(MarginHead::Softmax { scale }),
            _ => None,
        }
    }

    /// Learning rate at `step` of a cosine schedule from `lr` to 0.
    pub fn lr_at(&self, step: usize) -> f64 {
        let t = step as f64 / self.steps as f64;
        self.lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
    }

    /// The recipe as metadata of the tuned weights file.
    pub fn metadata(&self) -> Vec<(&'static str, String)> {
        vec![
            ("loss", self.loss.name().to_string()),
            ("steps", self.steps.to_string()),
            ("batch_size", self.batch_size.to_string()),
            ("lr", self.lr.to_string()),
            ("temperature", self.temperature.to_string()),
            (
                "margin",
                self.margin
                    .unwrap_or(self.loss.default_margin())
                    .to_string(),
            ),
            ("scale", self.scale.to_string()),
            ("seed", self.seed.to_string()),
            ("shading", self.augmentation.shading_probability.to_string()),
            ("hold_back", self.hold_back.to_string()),
        ]
    }
}
