//! Classes held back from fine-tuning to calibrate the tuned model on.
//!
//! A model tuned on a new domain scores pairs differently from the one it came from: the shipped
//! face calibration is meaningless there (on Extended Yale B its FAR-1e-2 threshold accepted
//! about half the impostor pairs of a tuned model). So a run with labels sets aside a share of
//! its classes (identities), never trains on them, and fits the FAR thresholds on their pairs
//! afterwards: pairs of classes the model never saw, as the pairs it will verify are.

use crate::random::Rng;
use crate::score::calibration::{FarThreshold, Refit};
use crate::train::TrainingSet;

/// Fewest held-back classes (impostor pairs need two) and fewest classes left to train on (a
/// pair loss needs two per batch).
const MIN_CLASSES: usize = 2;
/// Fewest impostor pairs a calibration is fitted on (`Calibration::from_impostors`).
const MIN_IMPOSTOR_PAIRS: usize = 100;

/// The images of the held-back classes, as model inputs with their labels.
pub struct HeldBack {
    /// One model input per held-back image.
    pub inputs: Vec<Vec<f32>>,
    /// Each image's label (as given).
    pub labels: Vec<usize>,
    /// How many classes were held back.
    pub classes: usize,
}

impl HeldBack {
    /// Every pair of held-back images: `(i, j, same class)`, `i < j`.
    pub fn pairs(&self) -> impl Iterator<Item = (usize, usize, bool)> + '_ {
        let n = self.labels.len();
        (0..n).flat_map(move |i| (i + 1..n).map(move |j| (i, j, self.labels[i] == self.labels[j])))
    }
}

/// Splits `set` into the images trained on and the held-back classes: `round(share × classes)`
/// classes (at least [`MIN_CLASSES`]) drawn with `seed`. Holds back nothing, and says why, when
/// there are no labels, `share` is 0, fewer than two classes would be left to train on, or the
/// held-back images give fewer than [`MIN_IMPOSTOR_PAIRS`] impostor pairs.
pub fn split(set: TrainingSet, share: f64, seed: u64) -> (TrainingSet, Result<HeldBack, String>) {
    let labels = match &set.labels {
        Some(l) if l.len() == set.inputs.len() => l.clone(),
        _ => {
            let why = "no labels (one per image) were given, so no classes could be held back";
            return (set, Err(why.into()));
        }
    };
    if share <= 0.0 {
        return (set, Err("holdBack is 0: every class was trained on".into()));
    }
    let mut ids: Vec<usize> = labels.clone();
    ids.sort_unstable();
    ids.dedup();
    let classes = ids.len();
    let held = ((share * classes as f64).round() as usize).max(MIN_CLASSES);
    if classes < held + MIN_CLASSES {
        let why = format!(
            "{classes} classes are too few to hold {held} back and train on at least \
             {MIN_CLASSES}; give at least {} classes",
            held + MIN_CLASSES
        );
        return (set, Err(why));
    }
    let mut rng = Rng::new(seed ^ 0x686f_6c64_6261_636b); // "holdback": not the sampling's stream
    for i in 0..held {
        let j = i + ((rng.next_f32() * (classes - i) as f32) as usize).min(classes - i - 1);
        ids.swap(i, j);
    }
    let held_ids = &ids[..held];
    let is_held = |l: &usize| held_ids.contains(l);
    let images = |c: usize| labels.iter().filter(|&&l| l == c).count();
    let held_images: Vec<usize> = held_ids.iter().map(|&c| images(c)).collect();
    let all: usize = held_images.iter().sum();
    let impostors = (all * all - held_images.iter().map(|n| n * n).sum::<usize>()) / 2;
    if impostors < MIN_IMPOSTOR_PAIRS {
        let why = format!(
            "the {held} classes held back would give {impostors} impostor pairs, fewer than the \
             {MIN_IMPOSTOR_PAIRS} a calibration needs; give more images per class"
        );
        return (set, Err(why));
    }
    // Moved, not copied: a training set can hold hundreds of megabytes of model inputs.
    let mut train = TrainingSet {
        inputs: Vec::new(),
        labels: Some(Vec::new()),
    };
    let mut back = HeldBack {
        inputs: Vec::new(),
        labels: Vec::new(),
        classes: held,
    };
    for (input, label) in set.inputs.into_iter().zip(labels) {
        if is_held(&label) {
            back.inputs.push(input);
            back.labels.push(label);
        } else {
            train.inputs.push(input);
            train.labels.get_or_insert_with(Vec::new).push(label);
        }
    }
    (train, Ok(back))
}

/// How a tuned model was calibrated: on held-back classes, or not at all (and why).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TunedCalibration {
    /// Classes held back from training (0 when none were).
    pub held_back_classes: usize,
    /// Their images.
    pub held_back_images: usize,
    /// Same-class pairs of held-back images (the TARs rest on them).
    pub genuine: usize,
    /// Different-class pairs of held-back images (the thresholds rest on them).
    pub impostors: usize,
    /// The thresholds at the reported FARs; `source: "shipped"` where the pairs are too few for
    /// that FAR and the previous model's threshold is used (empty when nothing was held back).
    pub thresholds: Vec<FarThreshold>,
    /// True when the tuned model kept the previous calibration.
    pub inherited: bool,
    /// Why nothing was held back (`None` when the model calibrated itself).
    pub reason: Option<String>,
}

impl TunedCalibration {
    /// Fitted on `back`'s pairs.
    pub fn fitted(back: &HeldBack, refit: &Refit) -> Self {
        Self {
            held_back_classes: back.classes,
            held_back_images: back.inputs.len(),
            genuine: refit.genuine,
            impostors: refit.impostors,
            thresholds: refit.thresholds.clone(),
            inherited: false,
            reason: None,
        }
    }

    /// Nothing held back, for `reason`: the previous calibration is kept.
    pub fn inherited(reason: String) -> Self {
        Self {
            held_back_classes: 0,
            held_back_images: 0,
            genuine: 0,
            impostors: 0,
            thresholds: Vec::new(),
            inherited: true,
            reason: Some(reason),
        }
    }

    /// The calibration's `source`: what it rests on.
    pub fn source(back: &HeldBack, genuine: usize, impostors: usize) -> String {
        format!(
            "fine-tuning: {} classes held back from training ({} images; {genuine} genuine and \
             {impostors} impostor pairs)",
            back.classes,
            back.inputs.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(per_class: &[usize]) -> TrainingSet {
        let mut inputs = Vec::new();
        let mut labels = Vec::new();
        for (c, &n) in per_class.iter().enumerate() {
            for i in 0..n {
                inputs.push(vec![c as f32, i as f32]);
                labels.push(c * 10 + 7); // any integers
            }
        }
        TrainingSet {
            inputs,
            labels: Some(labels),
        }
    }

    #[test]
    fn a_share_of_the_classes_is_held_back_and_never_trained_on() {
        let s = set(&[10; 27]);
        let (train, back) = split(s.clone(), 0.2, 0);
        let back = back.unwrap();
        assert_eq!(back.classes, 5);
        assert_eq!(back.inputs.len(), 50);
        assert_eq!(train.inputs.len(), 220);
        let trained = train.labels.unwrap();
        assert!(back.labels.iter().all(|l| !trained.contains(l)));
        // 5 classes of 10: 5·45 genuine pairs, 10·100 impostor pairs.
        let (g, i) = back.pairs().fold(
            (0, 0),
            |(g, i), p| if p.2 { (g + 1, i) } else { (g, i + 1) },
        );
        assert_eq!((g, i), (225, 1000));
        // Seeded: the same seed holds back the same classes, another seed others.
        let again = split(s.clone(), 0.2, 0).1.unwrap();
        assert_eq!(again.labels, back.labels);
        let other = split(s, 0.2, 1).1.unwrap();
        assert_ne!(other.labels, back.labels);
    }

    #[test]
    fn too_few_classes_or_pairs_hold_nothing_back_and_say_why() {
        let why = |s: TrainingSet, share| {
            let n = s.inputs.len();
            let (train, back) = split(s, share, 0);
            assert_eq!(train.inputs.len(), n, "everything is trained on");
            back.err().unwrap()
        };
        assert!(why(set(&[10; 3]), 0.2).contains("3 classes are too few"));
        assert!(why(set(&[3; 8]), 0.2).contains("impostor pairs"));
        assert!(why(set(&[10; 8]), 0.0).contains("holdBack is 0"));
        let unlabelled = TrainingSet {
            inputs: vec![vec![0.0]; 4],
            labels: None,
        };
        assert!(why(unlabelled, 0.2).contains("no labels"));
        // Four classes of ten: two held back give 100 impostor pairs, just enough.
        assert_eq!(split(set(&[10; 4]), 0.2, 0).1.unwrap().classes, 2);
    }
}
