//! The error-versus-reject figures of `webverify eval` (ISO/IEC 29794-1's idea): FNMR and FMR at
//! the calibrated FAR 1e-3 threshold after the lowest-quality pairs are rejected, by share and at
//! the enrollment gate; and FAR and TAR at each calibrated threshold.

use crate::face::pipeline::Pipeline;
use crate::tools::metrics::Scored;

/// Shares of pairs rejected for the lowest quality (ISO/IEC 29794-1's error-versus-reject idea).
pub const QUALITY_REJECT: [f64; 3] = [0.0, 0.05, 0.10];

/// Rows of `Report::quality_reject` and `Report::quality_gate` (crate::tools::eval).
pub type QualityRows = (
    Vec<(f64, f64, f64, usize, f32)>,
    Option<(f64, f64, f64, usize)>,
);

/// FNMR and FMR at the calibrated FAR 1e-3 threshold after rejecting the lowest-quality pairs,
/// by share and at the enrollment gate's quality (empty without a calibration). Pairs of equal
/// `quality` go in the order of `tie` (a component that is 1 for most faces is ranked by the
/// overall score among them, not by the list's order).
pub fn quality_reject(
    pipeline: &Pipeline,
    scored: &[Scored],
    quality: &[f32],
    tie: &[f32],
) -> QualityRows {
    let Some(t) = pipeline
        .embedder
        .calibration()
        .and_then(|c| c.threshold(1e-3).ok())
    else {
        return (Vec::new(), None);
    };
    // FNMR and FMR of the pairs `kept`.
    let rates = |kept: &[usize]| {
        let rate = |same: bool, wrong: &dyn Fn(f32) -> bool| {
            let set: Vec<f32> = kept
                .iter()
                .map(|&i| &scored[i])
                .filter(|s| s.same == same)
                .map(|s| s.score)
                .collect();
            set.iter().filter(|&&s| wrong(s)).count() as f64 / set.len().max(1) as f64
        };
        (rate(true, &|s| s < t), rate(false, &|s| s >= t))
    };
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|&a, &b| {
        quality[a]
            .total_cmp(&quality[b])
            .then(tie[a].total_cmp(&tie[b]))
    });
    let shares = QUALITY_REJECT
        .iter()
        .map(|&share| {
            let kept = &order[(share * scored.len() as f64).round() as usize..];
            let (fnmr, fmr) = rates(kept);
            let lowest = kept.first().map_or(0.0, |&i| quality[i]);
            (share, fnmr, fmr, kept.len(), lowest)
        })
        .collect();
    let gate = crate::face::quality::MIN_QUALITY;
    let kept: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| quality[i] >= gate)
        .collect();
    let (fnmr, fmr) = rates(&kept);
    let rejected = 1.0 - kept.len() as f64 / scored.len().max(1) as f64;
    (shares, Some((rejected, fnmr, fmr, kept.len())))
}

/// FAR and TAR on `scored` at the thresholds the model's calibration gives.
pub fn calibrated_rates(pipeline: &Pipeline, scored: &[Scored]) -> Vec<(f64, f32, f64, f64)> {
    let Some(c) = pipeline.embedder.calibration() else {
        return Vec::new();
    };
    let rate = |same: bool, t: f32| {
        let set: Vec<_> = scored.iter().filter(|s| s.same == same).collect();
        set.iter().filter(|s| s.score >= t).count() as f64 / set.len().max(1) as f64
    };
    crate::score::calibration::REPORTED_FARS
        .into_iter()
        .filter_map(|far| {
            c.threshold(far)
                .ok()
                .map(|t| (far, t, rate(false, t), rate(true, t)))
        })
        .collect()
}
