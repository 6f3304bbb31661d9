//! Verification metrics computed the standard way: ROC, AUC, EER, TAR at a FAR, the LFW k-fold
//! accuracy (threshold chosen on the other folds), and thresholds at a target FAR.
//!
//! A score is a similarity: higher means "more likely the same". A pair is accepted when
//! `score >= threshold`.

/// One scored pair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub score: f32,
    pub same: bool,
    pub fold: usize,
}

/// One point of the ROC curve: accepting `score >= threshold`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RocPoint {
    pub threshold: f32,
    /// False accept rate: impostor pairs accepted / impostor pairs.
    pub far: f64,
    /// True accept rate: genuine pairs accepted / genuine pairs.
    pub tar: f64,
}

/// The ROC curve from (FAR 0, TAR 0) to (1, 1), one point per distinct score.
pub fn roc(pairs: &[Scored]) -> Vec<RocPoint> {
    let positives = pairs.iter().filter(|p| p.same).count().max(1) as f64;
    let negatives = pairs.iter().filter(|p| !p.same).count().max(1) as f64;
    let mut sorted: Vec<&Scored> = pairs.iter().collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut points = vec![RocPoint {
        threshold: f32::INFINITY,
        far: 0.0,
        tar: 0.0,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < sorted.len() {
        let threshold = sorted[i].score;
        while i < sorted.len() && sorted[i].score == threshold {
            if sorted[i].same {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        points.push(RocPoint {
            threshold,
            far: fp as f64 / negatives,
            tar: tp as f64 / positives,
        });
    }
    points
}

/// Area under the ROC curve (trapezoids; ties count half, as the Mann–Whitney statistic).
pub fn auc(roc: &[RocPoint]) -> f64 {
    roc.windows(2)
        .map(|w| (w[1].far - w[0].far) * (w[1].tar + w[0].tar) / 2.0)
        .sum()
}

/// Equal error rate: where FAR = 1 − TAR, interpolated linearly between ROC points.
pub fn eer(roc: &[RocPoint]) -> f64 {
    for w in roc.windows(2) {
        let (d0, d1) = (w[0].far - (1.0 - w[0].tar), w[1].far - (1.0 - w[1].tar));
        if d0 <= 0.0 && d1 >= 0.0 {
            let t = if d1 - d0 > 0.0 { -d0 / (d1 - d0) } else { 0.0 };
            return w[0].far + t * (w[1].far - w[0].far);
        }
    }
    1.0
}

/// The highest TAR reachable with FAR ≤ `far`.
pub fn tar_at_far(roc: &[RocPoint], far: f64) -> f64 {
    roc.iter()
        .filter(|p| p.far <= far)
        .map(|p| p.tar)
        .fold(0.0, f64::max)
}

/// The threshold accepting at most a fraction `far` of `impostor` scores, and how many impostor
/// pairs back it (a FAR of 1e-3 needs thousands of them to mean anything).
pub fn threshold_at_far(impostor: &[f32], far: f64) -> Option<(f32, usize)> {
    if impostor.is_empty() {
        return None;
    }
    let mut s = impostor.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    // Accepting the k highest impostors gives FAR k/n: the largest k with k/n ≤ far.
    let k = (far * s.len() as f64).floor() as usize;
    let threshold = if k == 0 {
        next_up(s[0])
    } else if k >= s.len() {
        s[s.len() - 1]
    } else {
        // Strictly above the (k+1)-th highest, so that at most k impostors pass.
        next_up(s[k])
    };
    Some((threshold, s.len()))
}

fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    let bits = x.to_bits();
    let next = if x == 0.0 {
        1
    } else if x > 0.0 {
        bits + 1
    } else {
        bits - 1
    };
    f32::from_bits(next)
}

/// Accuracy of `score >= threshold` over `pairs`.
pub fn accuracy(pairs: &[&Scored], threshold: f32) -> f64 {
    let right = pairs
        .iter()
        .filter(|p| (p.score >= threshold) == p.same)
        .count();
    right as f64 / pairs.len().max(1) as f64
}

/// The threshold that maximises accuracy on `pairs` (midpoints between sorted scores).
pub fn best_threshold(pairs: &[&Scored]) -> f32 {
    let mut scores: Vec<f32> = pairs.iter().map(|p| p.score).collect();
    scores.sort_by(f32::total_cmp);
    scores.dedup();
    let mut candidates: Vec<f32> = scores.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    if let (Some(&lo), Some(&hi)) = (scores.first(), scores.last()) {
        candidates.push(lo);
        candidates.push(next_up(hi));
    }
    candidates
        .into_iter()
        .map(|t| (accuracy(pairs, t), t))
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map_or(0.0, |(_, t)| t)
}

/// LFW protocol accuracy: for each fold, the threshold is chosen on the other folds and the
/// accuracy measured on the fold. Returns (mean, standard deviation, per-fold thresholds).
pub fn kfold_accuracy(pairs: &[Scored]) -> (f64, f64, Vec<f32>) {
    let folds = pairs.iter().map(|p| p.fold).max().map_or(0, |m| m + 1);
    let mut accs = Vec::new();
    let mut thresholds = Vec::new();
    for fold in 0..folds {
        let train: Vec<&Scored> = pairs.iter().filter(|p| p.fold != fold).collect();
        let test: Vec<&Scored> = pairs.iter().filter(|p| p.fold == fold).collect();
        if test.is_empty() || train.is_empty() {
            continue;
        }
        let t = best_threshold(&train);
        accs.push(accuracy(&test, t));
        thresholds.push(t);
    }
    let n = accs.len().max(1) as f64;
    let mean = accs.iter().sum::<f64>() / n;
    let var = accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt(), thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(genuine: &[f32], impostor: &[f32]) -> Vec<Scored> {
        genuine
            .iter()
            .map(|&s| (s, true))
            .chain(impostor.iter().map(|&s| (s, false)))
            .enumerate()
            .map(|(i, (score, same))| Scored {
                score,
                same,
                fold: i % 2,
            })
            .collect()
    }

    #[test]
    fn perfect_separation() {
        let p = pairs(&[0.9, 0.8, 0.7], &[0.1, 0.2, 0.3]);
        let r = roc(&p);
        assert_eq!(auc(&r), 1.0);
        assert_eq!(eer(&r), 0.0);
        assert_eq!(tar_at_far(&r, 0.0), 1.0);
        let refs: Vec<&Scored> = p.iter().collect();
        let t = best_threshold(&refs);
        assert!(t > 0.3 && t <= 0.7, "{t}");
        assert_eq!(accuracy(&refs, t), 1.0);
    }

    #[test]
    fn known_overlap() {
        // Genuine 0.9 0.6 0.4, impostor 0.5 0.3 0.1: one of 9 orderings is wrong → AUC 8/9.
        let p = pairs(&[0.9, 0.6, 0.4], &[0.5, 0.3, 0.1]);
        let r = roc(&p);
        assert!((auc(&r) - 8.0 / 9.0).abs() < 1e-12);
        // At threshold 0.45: FAR 1/3, TAR 2/3 → EER 1/3.
        assert!((eer(&r) - 1.0 / 3.0).abs() < 1e-12);
        assert!((tar_at_far(&r, 0.0) - 2.0 / 3.0).abs() < 1e-12);
        assert!((tar_at_far(&r, 0.34) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn threshold_at_far_accepts_at_most_that_fraction() {
        let impostor: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        let (t, n) = threshold_at_far(&impostor, 0.01).unwrap();
        assert_eq!(n, 1000);
        let accepted = impostor.iter().filter(|&&s| s >= t).count();
        assert_eq!(accepted, 10);
        let (t0, _) = threshold_at_far(&impostor, 1e-4).unwrap();
        assert_eq!(impostor.iter().filter(|&&s| s >= t0).count(), 0);
    }

    #[test]
    fn kfold_picks_thresholds_on_the_other_folds() {
        // Fold 0 is separable at 0.5; fold 1 at 0.5 too: every fold is predicted perfectly.
        let p = pairs(&[0.9, 0.8, 0.7, 0.6], &[0.4, 0.3, 0.2, 0.1]);
        let (mean, std, thresholds) = kfold_accuracy(&p);
        assert_eq!((mean, std), (1.0, 0.0));
        assert_eq!(thresholds.len(), 2);
    }
}
