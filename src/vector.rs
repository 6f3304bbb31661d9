//! Arithmetic on embeddings shared by every layer: cosine similarity, normalisation and the
//! dot product of the 1:N search.

use crate::error::{Error, Result};

/// Cosine similarity of two embeddings of equal length (they need not be normalised).
///
/// ```
/// let s = webverify::similarity(&[1.0, 0.0], &[1.0, 1.0]).unwrap();
/// assert!((s - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
/// assert!(webverify::similarity(&[1.0], &[f32::NAN]).is_err());
/// ```
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

/// Scales `v` to unit length (left as is when all zeros).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// `v` scaled to unit length; an error unless it has `dim` finite values, not all zero.
pub fn normalised(v: &[f32], dim: usize) -> Result<Vec<f32>> {
    if v.len() != dim {
        return Err(Error::InvalidInput(format!(
            "an embedding of {} values for a gallery of {dim}-d templates",
            v.len()
        )));
    }
    let norm = v
        .iter()
        .map(|x| (*x as f64) * (*x as f64))
        .sum::<f64>()
        .sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return Err(Error::InvalidInput(
            "an embedding is zero or holds NaN or infinity".into(),
        ));
    }
    Ok(v.iter().map(|x| (*x as f64 / norm) as f32).collect())
}

/// Dot product with eight independent sums: the compiler may not reorder one float sum, but it
/// turns eight into SIMD lanes (the 1:N search is this loop over the whole gallery).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}
