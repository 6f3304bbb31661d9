//! Comparing embeddings: cosine similarity and the match decision.

use crate::error::{Error, Result};
pub use crate::vector::similarity;

/// Cosine similarity above which two faces are declared the same person when the model has no
/// calibration; calibrated models use the threshold at [`crate::score::calibration::DEFAULT_FAR`].
pub const DEFAULT_THRESHOLD: f32 = 0.45;

/// How a comparison's threshold is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// The calibrated threshold at this false-accept rate (default
    /// [`crate::score::calibration::DEFAULT_FAR`]).
    AtFar(Option<f64>),
    /// A cosine the caller chose; it needs no calibration.
    Cosine(f32),
}

impl Threshold {
    /// The rule of the options `{ far, threshold }`: an explicit threshold wins over `far`
    /// (a calibration that cannot support `far` must not fail a call that named its threshold).
    pub fn from_options(far: Option<f64>, threshold: Option<f32>) -> Self {
        match threshold {
            Some(t) => Threshold::Cosine(t),
            None => Threshold::AtFar(far),
        }
    }
}

/// The answer to "are these the same?".
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Verification {
    /// Cosine similarity of the two embeddings, in [-1, 1].
    pub similarity: f32,
    /// `similarity >= threshold`.
    #[serde(rename = "match")]
    pub is_match: bool,
    /// The cosine the similarity had to reach.
    pub threshold: f32,
    /// Estimated false-accept rate at this similarity: the share of impostor pairs of the
    /// calibration set scoring at least as high (`None` without a calibration).
    pub far: Option<f64>,
    /// How many faces the detector found in each photo (`None` when the inputs were
    /// embeddings or ready crops).
    pub faces: Option<[usize; 2]>,
}

/// Compares two embeddings at `threshold`.
pub fn verify(a: &[f32], b: &[f32], threshold: f32) -> Result<Verification> {
    if !threshold.is_finite() {
        return Err(Error::InvalidInput(format!(
            "threshold {threshold} is not a number"
        )));
    }
    let similarity = similarity(a, b)?;
    Ok(Verification {
        similarity,
        is_match: similarity >= threshold,
        threshold,
        far: None,
        faces: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_of_known_vectors() {
        assert!((similarity(&[1.0, 0.0], &[0.0, 2.0]).unwrap()).abs() < 1e-7);
        assert!((similarity(&[1.0, 1.0], &[2.0, 2.0]).unwrap() - 1.0).abs() < 1e-7);
        assert!((similarity(&[1.0, 0.0], &[-3.0, 0.0]).unwrap() + 1.0).abs() < 1e-7);
        let s = similarity(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert!((s - 32.0 / (14f32.sqrt() * 77f32.sqrt())).abs() < 1e-6);
    }

    #[test]
    fn bad_embeddings_are_errors() {
        assert_eq!(
            similarity(&[1.0], &[1.0, 2.0]).unwrap_err().code(),
            "INVALID_INPUT"
        );
        assert_eq!(similarity(&[], &[]).unwrap_err().code(), "INVALID_INPUT");
        assert_eq!(
            similarity(&[f32::NAN, 1.0], &[1.0, 1.0])
                .unwrap_err()
                .code(),
            "INVALID_INPUT"
        );
        assert_eq!(
            similarity(&[0.0, 0.0], &[1.0, 1.0]).unwrap_err().code(),
            "INVALID_INPUT"
        );
        assert!(verify(&[1.0], &[1.0], f32::NAN).is_err());
    }

    #[test]
    fn verify_applies_the_threshold() {
        let v = verify(&[1.0, 0.0], &[1.0, 1.0], 0.7).unwrap();
        assert!(v.is_match && (v.similarity - 0.70710677).abs() < 1e-6);
        assert!(!verify(&[1.0, 0.0], &[1.0, 1.0], 0.75).unwrap().is_match);
    }
}
