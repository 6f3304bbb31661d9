//! The embedder's scoring policy: the calibration in use (shipped, refitted or restored), the
//! thresholds it gives by false-accept rate (for 1:1 and for a 1:N search), and the comparison
//! of two embeddings under it. Comparisons read the calibration in place, behind its lock, without
//! a copy.

use std::sync::{PoisonError, RwLockReadGuard};

use super::Embedder;
use crate::error::{Error, Result};
use crate::score::calibration::{Calibration, Refit, ThresholdSource, DEFAULT_FAR};
use crate::score::verify::{self, Threshold, Verification, DEFAULT_THRESHOLD};

impl Embedder {
    /// The score calibration in use (shipped with the weights or refitted).
    pub fn calibration(&self) -> Option<Calibration> {
        self.calibration_now().clone()
    }

    /// The calibration in use, borrowed (a comparison reads it without a copy).
    fn calibration_now(&self) -> RwLockReadGuard<'_, Option<Calibration>> {
        self.calibration
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the calibration.
    pub fn set_calibration(&self, calibration: Option<Calibration>) {
        *self
            .calibration
            .write()
            .unwrap_or_else(PoisonError::into_inner) = calibration;
    }

    /// Refits the calibration on the user's labelled pairs of embeddings `(a, b, same person)`
    /// and uses it from now on; see [`Calibration::from_labelled`].
    pub fn calibrate(&self, pairs: &[(&[f32], &[f32], bool)]) -> Result<Refit> {
        let scores = pairs
            .iter()
            .map(|(a, b, same)| Ok((verify::similarity(a, b)?, *same)))
            .collect::<Result<Vec<_>>>()?;
        let source = format!("{} labelled pairs given to calibrate()", pairs.len());
        let mut refit = Calibration::from_labelled(&source, &scores)?;
        self.set_calibration(Some(refit.calibration.clone()));
        self.fill_unsupported(&mut refit);
        Ok(refit)
    }

    /// Where the refit in use cannot support a reported FAR, [`Embedder::threshold`] keeps the
    /// shipped one: `refit` says so (`source: shipped`) with that threshold.
    pub(crate) fn fill_unsupported(&self, refit: &mut Refit) {
        for t in refit
            .thresholds
            .iter_mut()
            .filter(|t| t.threshold.is_none())
        {
            if let Ok(shipped) = self.threshold(Some(t.far)) {
                t.threshold = Some(shipped);
                t.source = ThresholdSource::Shipped;
                t.tar = None;
            }
        }
    }

    /// [`Embedder::calibrate`] on pairs packed one after another: `a` and `b` hold the pairs'
    /// embeddings (`same.len()` of this model's dimension each), `same[i]` says whether pair `i`
    /// is one person.
    pub fn calibrate_packed(&self, a: &[f32], b: &[f32], same: &[bool]) -> Result<Refit> {
        let dim = self.model_info().embedding_dim;
        if dim == 0 || a.len() != b.len() || a.len() != same.len() * dim {
            return Err(Error::InvalidInput(format!(
                "calibrate expects {} pairs of {dim}-d embeddings, got {} and {} values",
                same.len(),
                a.len(),
                b.len()
            )));
        }
        let pairs: Vec<(&[f32], &[f32], bool)> = a
            .chunks_exact(dim)
            .zip(b.chunks_exact(dim))
            .zip(same)
            .map(|((x, y), &s)| (x, y, s))
            .collect();
        self.calibrate(&pairs)
    }

    /// Goes back to the calibration shipped with the weights (for the test-time augmentation
    /// in use).
    pub fn reset_calibration(&self) {
        self.set_calibration(self.shipped_calibration_now().cloned());
    }

    /// The weights' calibration for the test-time augmentation in use: `calibration_flip` for
    /// flip when the file carries one, else `calibration`, which then estimates the FARs of
    /// flip scores (see [`Embedder::flip_calibrated`]).
    pub fn shipped_calibration_now(&self) -> Option<&Calibration> {
        match (self.tta(), &self.shipped_flip_calibration) {
            (super::Tta::Flip, Some(flip)) => Some(flip),
            _ => self.shipped_calibration.as_ref(),
        }
    }

    /// Whether the weights carry a calibration of their own for flip test-time augmentation.
    pub fn flip_calibrated(&self) -> bool {
        self.shipped_flip_calibration.is_some()
    }

    /// The match threshold at `far` (default [`DEFAULT_FAR`]); [`DEFAULT_THRESHOLD`] for an
    /// uncalibrated model asked for no particular FAR.
    ///
    /// After a refit on too few impostor pairs for `far` (100 pairs support 1e-2, not the default
    /// 1e-3), the shipped calibration's threshold is used at that FAR, so that `calibrate` never
    /// makes a plain `verify()` fail; [`Embedder::calibrate`] reports where it does so.
    pub fn threshold(&self, far: Option<f64>) -> Result<f32> {
        match (self.calibration_now().as_ref(), far) {
            (Some(c), far) => {
                let far = far.unwrap_or(DEFAULT_FAR);
                match self.shipped_calibration_now() {
                    Some(shipped) if !c.supports(far) && shipped.supports(far) => {
                        shipped.threshold(far)
                    }
                    _ => c.threshold(far),
                }
            }
            (None, None) => Ok(DEFAULT_THRESHOLD),
            (None, Some(_)) => Err(Error::InvalidInput(
                "these weights carry no calibration, so no threshold can be chosen by FAR; \
                 calibrate on labelled pairs first"
                    .into(),
            )),
        }
    }

    /// The threshold for a 1:N search whose overall false-accept rate is `far` (default
    /// [`DEFAULT_FAR`]) when it makes `comparisons` comparisons: the calibrated threshold at the
    /// per-comparison FAR. Errors when the calibration cannot support that rate.
    pub fn search_threshold(&self, far: Option<f64>, comparisons: usize) -> Result<f32> {
        let far = far.unwrap_or(DEFAULT_FAR);
        let per = crate::score::calibration::per_comparison_far(far, comparisons);
        self.threshold(Some(per)).map_err(|e| match e {
            Error::InvalidInput(m) => Error::InvalidInput(format!(
                "a search over {comparisons} templates at FAR {far:e} needs a per-comparison FAR \
                 of {per:.1e}: {m}"
            )),
            other => other,
        })
    }

    /// The estimated false-accept rate of a 1:N search over `comparisons` comparisons whose best
    /// score is `similarity` (`None` without a calibration).
    pub fn search_far_at(&self, similarity: f32, comparisons: usize) -> Option<f64> {
        self.calibration_now()
            .as_ref()
            .map(|c| crate::score::calibration::search_far(c.far_at(similarity), comparisons))
    }

    /// Compares two embeddings at the threshold for `far`, with the FAR estimated at their
    /// similarity.
    pub fn compare(&self, a: &[f32], b: &[f32], far: Option<f64>) -> Result<Verification> {
        self.decide(a, b, Threshold::AtFar(far))
    }

    /// Compares two embeddings at the threshold `rule` names (a cosine given by the caller is
    /// used as it is: it needs no calibration), with the FAR estimated at their similarity
    /// whenever the model is calibrated.
    pub fn decide(&self, a: &[f32], b: &[f32], rule: Threshold) -> Result<Verification> {
        let threshold = match rule {
            Threshold::Cosine(t) => t,
            Threshold::AtFar(far) => self.threshold(far)?,
        };
        let mut v = verify::verify(a, b, threshold)?;
        v.far = self
            .calibration_now()
            .as_ref()
            .map(|c| c.far_at(v.similarity));
        Ok(v)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::Backend;

    #[test]
    fn an_explicit_threshold_wins_over_far() {
        let e = Embedder::from_path(crate::DEFAULT_WEIGHTS_PATH, Backend::Flex).unwrap();
        let a = [1.0, 0.0];
        let b = [1.0, 1.0];
        // The shipped calibration cannot support FAR 1e-9: asked for it alone, an error...
        assert_eq!(
            e.decide(&a, &b, Threshold::AtFar(Some(1e-9)))
                .unwrap_err()
                .code(),
            "INVALID_INPUT"
        );
        // ...but with a threshold named as well, that threshold decides, and FAR is estimated.
        let v = e
            .decide(&a, &b, Threshold::from_options(Some(1e-9), Some(0.5)))
            .unwrap();
        assert_eq!(v.threshold, 0.5);
        assert!(v.is_match);
        assert!(v.far.is_some());
    }
}
