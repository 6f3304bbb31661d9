//! Calibrated scores: what a cosine similarity means as a false-accept rate.
//!
//! A calibration is the impostor score distribution of a labelled set, kept as a curve of
//! (FAR, similarity) points on a log-spaced FAR grid. From it: the threshold for a target FAR,
//! and the FAR estimated at an observed similarity ("how surprising is this match?"). It is
//! stored as JSON in the weights' metadata under [`METADATA_KEY`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const METADATA_KEY: &str = "calibration";
/// The metadata key of the calibration for embeddings made with flip test-time augmentation
/// (`crate::score::embedder::Tta::Flip`), whose scores are distributed differently.
pub const FLIP_METADATA_KEY: &str = "calibration_flip";
/// The FAR used when none is given.
pub const DEFAULT_FAR: f64 = 1e-3;
/// The FARs a calibration reports thresholds for.
pub const REPORTED_FARS: [f64; 3] = [1e-2, 1e-3, 1e-4];

/// A calibration refitted on labelled pairs, with what it means at the reported FARs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Refit {
    #[serde(skip)]
    /// The new calibration, now in use.
    pub calibration: Calibration,
    /// Pairs of one person given.
    pub genuine: usize,
    /// Pairs of different people given.
    pub impostors: usize,
    /// The thresholds at the reported FARs.
    pub thresholds: Vec<FarThreshold>,
}

/// The threshold at one FAR (`None` where the impostor pairs are too few to support it) and
/// the share of genuine pairs it accepts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FarThreshold {
    /// The false-accept rate.
    pub far: f64,
    /// The cosine that gives it (`None` when the pairs cannot support that FAR).
    pub threshold: Option<f32>,
    /// The share of genuine pairs accepted there (`None` without genuine pairs, or where the
    /// threshold is the shipped one).
    pub tar: Option<f64>,
    /// Whether the threshold comes from the refit or, where the pairs are too few for this
    /// FAR, from the calibration shipped with the weights (which the embedder then keeps).
    pub source: ThresholdSource,
}

/// Where a reported threshold comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ThresholdSource {
    /// Fitted on the pairs given.
    Refit,
    /// The shipped calibration's, kept because the pairs cannot support this FAR.
    Shipped,
}

/// The distribution of impostor scores, as thresholds by false-accept rate: what turns a cosine
/// into "1 pair of different people in 1 000 scores this high".
///
/// ```
/// # fn main() -> webverify::Result<()> {
/// use webverify::Calibration;
/// // 10 000 impostor scores spread evenly over [-0.5, 0.5).
/// let impostors: Vec<f32> = (0..10_000).map(|i| i as f32 / 10_000.0 - 0.5).collect();
/// let c = Calibration::from_impostors("example", &impostors)?;
/// let t = c.threshold(1e-2)?;
/// assert!((t - 0.49).abs() < 0.01, "{t}");
/// assert!((c.far_at(t) - 1e-2).abs() < 1e-3);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Where the impostor pairs came from.
    pub source: String,
    /// How many impostor pairs the curve was measured on: FARs below `1 / negatives` are
    /// extrapolations and are refused.
    pub negatives: usize,
    /// `(far, similarity)`: accepting `score >= similarity` admits a fraction `far` of impostors;
    /// FAR decreasing, similarity increasing.
    pub curve: Vec<(f64, f32)>,
}

impl Calibration {
    /// Builds the curve from impostor scores.
    pub fn from_impostors(source: &str, impostor: &[f32]) -> Result<Self> {
        if impostor.len() < 100 {
            return Err(Error::InvalidInput(format!(
                "{} impostor pairs are too few to calibrate; give at least 100",
                impostor.len()
            )));
        }
        let mut s = impostor.to_vec();
        s.sort_by(|a, b| b.total_cmp(a));
        let n = s.len();
        let lowest = (1.0 / n as f64).log10();
        let steps = 120;
        let mut curve = Vec::new();
        for i in 0..=steps {
            let far = 10f64.powf(lowest * i as f64 / steps as f64);
            // The k-th highest impostor score accepts k/n of them.
            let k = ((far * n as f64).round() as usize).clamp(1, n);
            let point = (k as f64 / n as f64, s[k - 1]);
            // Tied scores: accepting `score >= s` admits all of them, so the first (largest)
            // FAR is the true one; keeping one point per similarity keeps the curve strictly
            // monotone, which `from_json` requires of every stored calibration.
            if curve.last().map(|p: &(f64, f32)| p.1) != Some(point.1) {
                curve.push(point);
            }
        }
        curve.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(Self {
            source: source.into(),
            negatives: n,
            curve,
        })
    }

    /// Refits on labelled scores `(similarity, same person)`: the impostor scores make the
    /// curve, the genuine ones say how many true matches each threshold keeps.
    pub fn from_labelled(source: &str, scores: &[(f32, bool)]) -> Result<Refit> {
        if let Some((s, _)) = scores.iter().find(|(s, _)| !s.is_finite()) {
            return Err(Error::InvalidInput(format!("score {s} is not a number")));
        }
        let impostor: Vec<f32> = scores.iter().filter(|p| !p.1).map(|p| p.0).collect();
        let genuine: Vec<f32> = scores.iter().filter(|p| p.1).map(|p| p.0).collect();
        let calibration = Self::from_impostors(source, &impostor)?;
        let thresholds = REPORTED_FARS
            .iter()
            .map(|&far| {
                let threshold = calibration.threshold(far).ok();
                let tar = threshold.filter(|_| !genuine.is_empty()).map(|t| {
                    genuine.iter().filter(|&&s| s >= t).count() as f64 / genuine.len() as f64
                });
                FarThreshold {
                    far,
                    threshold,
                    tar,
                    source: ThresholdSource::Refit,
                }
            })
            .collect();
        Ok(Refit {
            calibration,
            genuine: genuine.len(),
            impostors: impostor.len(),
            thresholds,
        })
    }

    /// The similarity threshold admitting at most `far` of impostors.
    pub fn threshold(&self, far: f64) -> Result<f32> {
        let floor = 1.0 / self.negatives as f64;
        if !(far > 0.0 && far <= 1.0) {
            return Err(Error::InvalidInput(format!("far {far} must be in (0, 1]")));
        }
        if far < floor * 0.999 {
            return Err(Error::InvalidInput(format!(
                "FAR {far:e} is below what the calibration can support ({} impostor pairs: at \
                 least {floor:.1e}); recalibrate with more pairs",
                self.negatives
            )));
        }
        // The point with the largest FAR not above the target, i.e. the lowest safe threshold.
        self.curve
            .iter()
            .filter(|(f, _)| *f <= far * 1.000001)
            .map(|&(_, s)| s)
            .fold(None, |best: Option<f32>, s| {
                Some(best.map_or(s, |b| b.min(s)))
            })
            .ok_or_else(|| Error::InvalidInput(format!("no threshold for FAR {far:e}")))
    }

    /// The estimated FAR at `similarity`: the fraction of calibration impostors scoring at least
    /// that much, interpolated on a log scale; `1 / negatives` above the highest impostor.
    pub fn far_at(&self, similarity: f32) -> f64 {
        let (mut hi_far, mut hi_s) = (1.0f64, f32::NEG_INFINITY);
        for &(far, s) in &self.curve {
            if similarity <= s {
                if !hi_s.is_finite() || s == hi_s {
                    return far;
                }
                let t = ((similarity - hi_s) / (s - hi_s)) as f64;
                return 10f64.powf(hi_far.log10() + t * (far.log10() - hi_far.log10()));
            }
            (hi_far, hi_s) = (far, s);
        }
        1.0 / self.negatives as f64
    }

    /// The calibration stored in a weights file's metadata (base or tuned), if any.
    pub fn from_metadata(
        metadata: &std::collections::HashMap<String, String>,
    ) -> Result<Option<Self>> {
        Self::from_metadata_key(metadata, METADATA_KEY)
    }

    /// The calibration stored under `key` ([`METADATA_KEY`] or [`FLIP_METADATA_KEY`]), if any.
    pub fn from_metadata_key(
        metadata: &std::collections::HashMap<String, String>,
        key: &str,
    ) -> Result<Option<Self>> {
        metadata
            .get(key)
            .map(|json| Self::from_json(json))
            .transpose()
    }

    /// The calibration as the JSON stored in a weights file's metadata.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A calibration from that JSON, checked for meaning as well as form: a calibration decides
    /// what counts as a match, so one whose thresholds are all −1 (every pair "matches at FAR
    /// 1e-6") must be refused, not trusted.
    pub fn from_json(json: &str) -> Result<Self> {
        let c: Self = serde_json::from_str(json)
            .map_err(|e| Error::ModelLoad(format!("calibration metadata: {e}")))?;
        c.check().map_err(|why| {
            Error::ModelLoad(format!(
                "the calibration in these weights is invalid: {why}"
            ))
        })?;
        Ok(c)
    }

    /// What is wrong with this calibration, if anything: at least one impostor pair, FARs in
    /// (0, 1] strictly decreasing and none below `1 / negatives`, similarities in [−1, 1]
    /// strictly increasing (a threshold admits fewer impostors only by being higher).
    fn check(&self) -> std::result::Result<(), String> {
        if self.negatives == 0 || self.curve.is_empty() {
            return Err("it holds no impostor scores".into());
        }
        let floor = 1.0 / self.negatives as f64;
        for (i, &(far, s)) in self.curve.iter().enumerate() {
            if !(far > 0.0 && far <= 1.0) || far < floor * 0.999 {
                return Err(format!(
                    "FAR {far} is outside ({floor:e}, 1] for {} impostor pairs",
                    self.negatives
                ));
            }
            if !(-1.0..=1.0).contains(&s) {
                return Err(format!("threshold {s} is not a cosine in [-1, 1]"));
            }
            if let Some(&(prev_far, prev_s)) = i.checked_sub(1).map(|j| &self.curve[j]) {
                if far >= prev_far || s <= prev_s {
                    return Err(format!(
                        "thresholds must rise as the FAR falls: ({prev_far:e}, {prev_s}) is \
                         followed by ({far:e}, {s})"
                    ));
                }
            }
        }
        Ok(())
    }

    /// True when the calibration has enough impostor pairs to give a threshold at `far`.
    pub fn supports(&self, far: f64) -> bool {
        far > 0.0 && far <= 1.0 && far >= 0.999 / self.negatives as f64
    }
}

/// The per-comparison FAR that gives a search over `comparisons` independent comparisons an
/// overall false-accept rate of `search_far`: `1 − (1 − search_far)^(1/comparisons)`.
pub fn per_comparison_far(search_far: f64, comparisons: usize) -> f64 {
    if comparisons <= 1 {
        return search_far;
    }
    -((-search_far).ln_1p() / comparisons as f64).exp_m1()
}

/// The inverse of [`per_comparison_far`]: the false-accept rate of a search over `comparisons`
/// comparisons, each at `per_comparison`.
pub fn search_far(per_comparison: f64, comparisons: usize) -> f64 {
    -((comparisons.max(1) as f64) * (-per_comparison).ln_1p()).exp_m1()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_far_splits_over_comparisons() {
        assert_eq!(per_comparison_far(1e-3, 1), 1e-3);
        let p = per_comparison_far(1e-2, 100);
        // 1 − (1 − p)^100 = 1e-2, and p is close to 1e-4.
        assert!(((1.0 - (1.0 - p).powi(100)) - 1e-2).abs() < 1e-12);
        assert!((p / 1e-4 - 1.0).abs() < 0.01, "{p}");
        assert!((search_far(p, 100) - 1e-2).abs() < 1e-12);
    }

    fn uniform(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32 / n as f32).collect()
    }

    #[test]
    fn thresholds_admit_the_target_fraction() {
        let scores = uniform(10_000);
        let c = Calibration::from_impostors("test", &scores).unwrap();
        for far in [1e-1, 1e-2, 1e-3, 1e-4] {
            let t = c.threshold(far).unwrap();
            let admitted = scores.iter().filter(|&&s| s >= t).count() as f64 / scores.len() as f64;
            assert!(
                admitted <= far * 1.0001 && admitted >= far * 0.8,
                "far {far}: threshold {t} admits {admitted}"
            );
        }
        assert!(c.threshold(1e-5).is_err(), "below 1/n is refused");
        assert!(c.threshold(0.0).is_err() && c.threshold(f64::NAN).is_err());
    }

    #[test]
    fn far_estimate_inverts_the_threshold() {
        let c = Calibration::from_impostors("test", &uniform(10_000)).unwrap();
        // Grid points invert exactly; between them the threshold is the conservative neighbour.
        let half = c.far_at(c.threshold(0.5).unwrap());
        assert!(half <= 0.5 && half > 0.45, "{half}");
        for far in [1e-1, 1e-2, 1e-3] {
            let est = c.far_at(c.threshold(far).unwrap());
            assert!((est / far - 1.0).abs() < 0.05, "far {far} estimated {est}");
        }
        assert_eq!(c.far_at(2.0), 1e-4);
        assert_eq!(c.far_at(-1.0), 1.0);
        let back = Calibration::from_json(&c.to_json()).unwrap();
        assert_eq!(back, c);
        assert!(Calibration::from_json("{}").is_err());
        assert!(Calibration::from_impostors("x", &[0.1; 10]).is_err());
    }

    #[test]
    fn refit_on_labelled_pairs_reports_tar() {
        // 1000 impostors uniform on [0, 1); genuine scores 0.95 (above every threshold) and 0.5
        // (below the 1e-2 one, 0.99).
        let mut scores: Vec<(f32, bool)> = uniform(1000).into_iter().map(|s| (s, false)).collect();
        scores.extend([(0.995, true), (0.5, true)]);
        let r = Calibration::from_labelled("test", &scores).unwrap();
        assert_eq!((r.genuine, r.impostors), (2, 1000));
        let at = |far: f64| r.thresholds.iter().find(|t| t.far == far).unwrap().clone();
        assert_eq!(at(1e-2).threshold, Some(0.99));
        assert_eq!(at(1e-2).tar, Some(0.5));
        assert_eq!(at(1e-3).threshold, Some(0.999));
        assert_eq!(at(1e-3).tar, Some(0.0));
        assert_eq!(
            at(1e-4).threshold,
            None,
            "1000 impostors cannot support 1e-4"
        );
        assert!(Calibration::from_labelled("x", &[(f32::NAN, false)]).is_err());
    }
}
