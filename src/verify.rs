//! Comparing embeddings: cosine similarity and the match decision.

use crate::error::{Error, Result};

/// Cosine similarity above which two faces are declared the same person when the model has no
/// calibration; calibrated models use the threshold at [`crate::calibration::DEFAULT_FAR`].
pub const DEFAULT_THRESHOLD: f32 = 0.45;

/// The answer to "are these the same?".
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Verification {
    /// Cosine similarity of the two embeddings, in [-1, 1].
    pub similarity: f32,
    /// `similarity >= threshold`.
    #[serde(rename = "match")]
    pub is_match: bool,
    pub threshold: f32,
    /// Estimated false-accept rate at this similarity: the share of impostor pairs of the
    /// calibration set scoring at least as high (`None` without a calibration).
    pub far: Option<f64>,
    /// How many faces the detector found in each photo (`None` when the inputs were
    /// embeddings or ready crops).
    pub faces: Option<[usize; 2]>,
}

/// Cosine similarity of two embeddings of equal length (they need not be normalised).
pub fn similarity(a: &[f32], b: &[f32]) -> Result<f32> {
    if a.len() != b.len() || a.is_empty() {
        return Err(Error::InvalidInput(format!(
            "embeddings of lengths {} and {} cannot be compared",
            a.len(),
            b.len()
        )));
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if !(dot.is_finite() && na.is_finite() && nb.is_finite()) {
        return Err(Error::InvalidInput(
            "an embedding holds NaN or infinity".into(),
        ));
    }
    if na == 0.0 || nb == 0.0 {
        return Err(Error::InvalidInput("an embedding is all zeros".into()));
    }
    Ok((dot / (na.sqrt() * nb.sqrt())).clamp(-1.0, 1.0) as f32)
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

/// Scales `v` to unit length (left as is when all zeros).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
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
