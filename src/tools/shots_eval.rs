//! How many photos to enroll, and how to combine them (`webverify eval-identify --shots 1,3,5`):
//! open-set identification (ISO/IEC 19795-1 terms: DIR, the share of mated searches identified
//! at rank 1 above the threshold, at a fixed FPIR, the share of non-mated searches that return
//! anyone) with each person enrolled from 1, 3 or 5 photos, kept as separate templates (the best
//! one counts), as their mean, or as a mean weighted by each photo's quality score.
//!
//! Mated people are those with more photos than the most shots: each is enrolled from their first
//! photos and searched with every photo after the most shots, so that every shot count is
//! measured on the same searches. Non-mated searches are the first photo of every person with
//! fewer photos. The threshold for an FPIR is taken from the non-mated searches' best scores, as
//! NIST FRVT does. People alternate between halves A and B in name order: choose on A, report B.

use crate::error::Result;
use crate::face::pipeline::Pipeline;
use crate::face::prepared::FaceMode;
use crate::gallery::{Aggregation, Gallery};
use crate::tools::identify_eval::Person;
use crate::tools::metrics;

/// How a person's photos become what a search compares with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// One template per photo; the best-matching one counts.
    Separate,
    /// One template: the normalised mean of the photos' embeddings (the gallery's `centroid`).
    Mean,
    /// One template: the normalised mean weighted by each photo's quality score.
    QualityWeighted,
}

impl Combine {
    pub const ALL: [Combine; 3] = [Combine::Separate, Combine::Mean, Combine::QualityWeighted];

    pub fn name(self) -> &'static str {
        match self {
            Combine::Separate => "separate templates (best)",
            Combine::Mean => "mean (centroid)",
            Combine::QualityWeighted => "quality-weighted mean",
        }
    }
}

/// The FPIRs DIR is reported at.
pub const FPIRS: [f64; 2] = [1e-2, 1e-3];

/// One row: a half, a shot count, a way of combining.
#[derive(Clone, Debug)]
pub struct Row {
    pub half: usize,
    pub shots: usize,
    pub combine: Combine,
    pub enrolled: usize,
    pub mated: usize,
    pub non_mated: usize,
    pub rank1: f64,
    /// (FPIR, threshold, DIR).
    pub dir: Vec<(f64, f32, f64)>,
}

/// Runs the protocol for every shot count and way of combining, on both halves.
pub fn evaluate(
    pipeline: &Pipeline,
    people: &[Person],
    shots: &[usize],
    mode: FaceMode,
) -> Result<Vec<Row>> {
    let most = shots.iter().copied().max().unwrap_or(1);
    let paths: Vec<&std::path::PathBuf> = people
        .iter()
        .flat_map(|p| {
            let n = if p.images.len() > most {
                p.images.len()
            } else {
                1
            };
            &p.images[..n]
        })
        .collect();
    let embedded = crate::tools::eval::embed_all_with_quality(pipeline, &paths, mode, true)?;
    let embedding =
        |p: &std::path::PathBuf| embedded.embeddings.get(p.as_path()).and_then(|e| e.clone());
    let quality =
        |p: &std::path::PathBuf| embedded.qualities.get(p.as_path()).map_or(0.0, |q| q.score);
    let model = pipeline.embedder.model_ref();
    let mut rows = Vec::new();
    for half in 0..2 {
        let subset: Vec<&Person> = people.iter().skip(half).step_by(2).collect();
        let mated: Vec<&Person> = subset
            .iter()
            .copied()
            .filter(|p| p.images.len() > most)
            .collect();
        let non_mated: Vec<Vec<f32>> = subset
            .iter()
            .filter(|p| p.images.len() <= most)
            .filter_map(|p| embedding(&p.images[0]))
            .collect();
        // Mated searches without a face count as misses; so do photos to enroll without one.
        let searches: Vec<(&str, Option<Vec<f32>>)> = mated
            .iter()
            .flat_map(|p| {
                p.images[most..]
                    .iter()
                    .map(|i| (p.name.as_str(), embedding(i)))
            })
            .collect();
        for &k in shots {
            for combine in Combine::ALL {
                let mut gallery = Gallery::new(model.clone());
                for p in &mated {
                    let photos: Vec<(Vec<f32>, f32)> = p.images[..k]
                        .iter()
                        .filter_map(|i| Some((embedding(i)?, quality(i))))
                        .collect();
                    if photos.is_empty() {
                        continue;
                    }
                    let templates = match combine {
                        Combine::Separate | Combine::Mean => {
                            photos.into_iter().map(|(e, _)| e).collect()
                        }
                        Combine::QualityWeighted => vec![weighted_mean(&photos)],
                    };
                    gallery.enroll(&p.name, &templates, None)?;
                }
                let aggregation = match combine {
                    Combine::Separate => Aggregation::Best,
                    Combine::Mean => Aggregation::Centroid,
                    // One template: every aggregation gives its similarity.
                    Combine::QualityWeighted => Aggregation::Best,
                };
                let best = |e: &[f32]| -> Result<(Option<String>, f32)> {
                    let scores = gallery.identity_scores(e, aggregation)?;
                    let top = gallery.rank(&scores, 1, f32::INFINITY);
                    Ok(top
                        .candidates
                        .first()
                        .map_or((None, -1.0), |c| (Some(c.id.clone()), c.similarity)))
                };
                let non_mated_best: Vec<f32> = non_mated
                    .iter()
                    .map(|e| best(e).map(|b| b.1))
                    .collect::<Result<_>>()?;
                let mated_best: Vec<(bool, f32)> = searches
                    .iter()
                    .map(|(name, e)| match e {
                        Some(e) => best(e).map(|(id, s)| (id.as_deref() == Some(name), s)),
                        None => Ok((false, -1.0)),
                    })
                    .collect::<Result<_>>()?;
                let share = |k: usize| k as f64 / mated_best.len().max(1) as f64;
                let dir = FPIRS
                    .iter()
                    .filter_map(|&fpir| {
                        let (t, _) = metrics::threshold_at_far(&non_mated_best, fpir)?;
                        let hits = mated_best.iter().filter(|(ok, s)| *ok && *s >= t).count();
                        Some((fpir, t, share(hits)))
                    })
                    .collect();
                rows.push(Row {
                    half,
                    shots: k,
                    combine,
                    enrolled: gallery.size(),
                    mated: mated_best.len(),
                    non_mated: non_mated_best.len(),
                    rank1: share(mated_best.iter().filter(|(ok, _)| *ok).count()),
                    dir,
                });
            }
        }
    }
    Ok(rows)
}

/// The normalised mean of embeddings weighted by their quality (a plain mean when every
/// weight is 0).
fn weighted_mean(photos: &[(Vec<f32>, f32)]) -> Vec<f32> {
    let total: f32 = photos.iter().map(|p| p.1).sum();
    let mut sum = vec![0.0f32; photos[0].0.len()];
    for (e, q) in photos {
        let w = if total > 0.0 { *q } else { 1.0 };
        sum.iter_mut().zip(e).for_each(|(s, v)| *s += w * v);
    }
    crate::vector::l2_normalize(&mut sum);
    sum
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| half | shots | enrolled as | people | mated / non-mated searches | rank-1 | DIR @ FPIR 1e-2 (threshold) | DIR @ FPIR 1e-3 (threshold) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let dir = |fpir: f64| {
            r.dir
                .iter()
                .find(|d| d.0 == fpir)
                .map_or("–".to_string(), |d| {
                    format!("{:.2} % ({:.3})", 100.0 * d.2, d.1)
                })
        };
        out += &format!(
            "| {} | {} | {} | {} | {} / {} | {:.2} % | {} | {} |\n",
            ["A", "B"][r.half],
            r.shots,
            r.combine.name(),
            r.enrolled,
            r.mated,
            r.non_mated,
            100.0 * r.rank1,
            dir(1e-2),
            dir(1e-3)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weighted_mean_leans_to_the_better_photo() {
        let photos = vec![(vec![1.0, 0.0], 0.9), (vec![0.0, 1.0], 0.1)];
        let m = weighted_mean(&photos);
        assert!(m[0] > 0.99 && m[1] > 0.0 && m[1] < 0.2, "{m:?}");
        // Every weight 0: the plain mean.
        let flat = weighted_mean(&[(vec![1.0, 0.0], 0.0), (vec![0.0, 1.0], 0.0)]);
        assert!((flat[0] - flat[1]).abs() < 1e-6);
    }
}
