//! `webverify eval-liveness`: presentation-attack detection measured the ISO/IEC 30107-3 way on
//! a database laid out as NUAA's (lists of live and attack frames for a calibration split and a
//! reporting split). Thresholds are chosen on the calibration split at stated BPCERs and applied
//! unchanged to the reporting split: APCER per attack type, BPCER, ACER, and the split's own ROC
//! AUC and EER. Frames are scored alone and as face tracks (the mean over consecutive frames of
//! one recording), as the SDK scores a camera stream.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::face::detect::{BoundingBox, Detector};
use crate::face::pipeline::main_face;
use crate::image::Image;
use crate::liveness::Liveness;
use crate::tools::metrics::{self, RocPoint, Scored};

/// The operating points reported (BPCER on the calibration split).
pub const BPCERS: [f64; 2] = [0.01, 0.05];

/// One frame of the database.
#[derive(Clone, Debug)]
pub struct Frame {
    pub path: PathBuf,
    /// `None` for a live (bona fide) frame, else the attack type.
    pub attack: Option<String>,
    /// The recording it belongs to (frames of one recording form tracks).
    pub recording: String,
    /// Position in the recording (the frame number in NUAA's names).
    pub index: u32,
}

/// A split of NUAA (`train` or `test`): its live and print lists.
pub fn nuaa_split(root: &Path, split: &str) -> Result<Vec<Frame>> {
    let mut frames = Vec::new();
    for (list, folder, attack) in [
        ("client", "ClientRaw", None),
        ("imposter", "ImposterRaw", Some("print".to_string())),
    ] {
        let path = root.join(format!("{list}_{split}_raw.txt"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::InvalidInput(format!("{}: {e}", path.display())))?;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            // 0001/0001_00_00_01_134.jpg: subject, glasses, session, position, frame number.
            let stem = Path::new(line)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (recording, index) = stem
                .rsplit_once('_')
                .and_then(|(r, i)| Some((r.to_string(), i.parse().ok()?)))
                .ok_or_else(|| {
                    Error::InvalidInput(format!("{}: unexpected name {line}", path.display()))
                })?;
            frames.push(Frame {
                path: root.join(folder).join(line),
                attack: attack.clone(),
                recording: format!("{folder}/{recording}"),
                index,
            });
        }
    }
    Ok(frames)
}

/// The frame cut to `factor` × the face box about its centre (clamped to the frame), and the box
/// in the cut's coordinates: what a camera close to the face (or an attacker who hides the
/// medium's edges) shows.
pub fn cut_to_face(frame: &Image, face: &BoundingBox, factor: f32) -> (Image, BoundingBox) {
    let (cx, cy) = (face.x + face.width / 2.0, face.y + face.height / 2.0);
    let (w, h) = (face.width * factor, face.height * factor);
    let x0 = (cx - w / 2.0).max(0.0) as usize;
    let y0 = (cy - h / 2.0).max(0.0) as usize;
    let x1 = ((cx + w / 2.0).ceil() as usize).min(frame.width());
    let y1 = ((cy + h / 2.0).ceil() as usize).min(frame.height());
    let cut = frame.crop(x0, y0, x1, y1);
    let moved = BoundingBox {
        x: face.x - x0 as f32,
        y: face.y - y0 as f32,
        ..*face
    };
    (cut, moved)
}

/// The live probability of every frame (`None` where no face was found).
pub fn score_frames(
    frames: &[Frame],
    detector: &Detector,
    liveness: &Liveness,
    cut: Option<f32>,
    progress: bool,
) -> Result<Vec<Option<f32>>> {
    let bar = crate::tools::eval::progress_bar(frames.len(), "frames", progress);
    let mut scores = Vec::with_capacity(frames.len());
    for frame in frames {
        let image = Image::open(&frame.path)?;
        let faces = detector.detect(&image)?;
        let score = match main_face(&faces, image.width(), image.height()) {
            None => None,
            Some(face) => {
                let (image, bbox) = match cut {
                    Some(f) => cut_to_face(&image, &face.bbox, f),
                    None => (image, face.bbox),
                };
                let s = pollster::block_on(liveness.score_async(&[(&image, bbox)]))?;
                Some(s[0])
            }
        };
        scores.push(score);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(scores)
}

/// A scored presentation: a frame, or a track of frames.
#[derive(Clone, Debug)]
pub struct Presentation {
    pub score: f32,
    pub attack: Option<String>,
}

/// Frames with a face, one presentation each.
pub fn frame_presentations(frames: &[Frame], scores: &[Option<f32>]) -> Vec<Presentation> {
    frames
        .iter()
        .zip(scores)
        .filter_map(|(f, s)| {
            s.map(|score| Presentation {
                score,
                attack: f.attack.clone(),
            })
        })
        .collect()
}

/// Tracks of `length` consecutive scored frames of one recording (in frame order; a recording's
/// last frames that do not fill a track are dropped), scored by their mean.
pub fn track_presentations(
    frames: &[Frame],
    scores: &[Option<f32>],
    length: usize,
) -> Vec<Presentation> {
    let mut recordings: BTreeMap<&str, Vec<(u32, f32, &Option<String>)>> = BTreeMap::new();
    for (f, s) in frames.iter().zip(scores) {
        if let Some(s) = s {
            recordings
                .entry(&f.recording)
                .or_default()
                .push((f.index, *s, &f.attack));
        }
    }
    let mut out = Vec::new();
    for mut frames in recordings.into_values() {
        frames.sort_by_key(|f| f.0);
        for track in frames.chunks_exact(length.max(1)) {
            out.push(Presentation {
                score: track.iter().map(|f| f.1).sum::<f32>() / track.len() as f32,
                attack: track[0].2.clone(),
            });
        }
    }
    out
}

/// The threshold rejecting at most a fraction `bpcer` of the live scores (a live presentation
/// passes with `score >= threshold`).
pub fn threshold_at_bpcer(live: &[f32], bpcer: f64) -> Option<f32> {
    if live.is_empty() {
        return None;
    }
    let mut s = live.to_vec();
    s.sort_by(f32::total_cmp);
    let k = ((bpcer * s.len() as f64).floor() as usize).min(s.len() - 1);
    Some(s[k])
}

/// Error rates of one split at one threshold.
#[derive(Clone, Debug)]
pub struct OperatingPoint {
    pub target_bpcer: f64,
    pub threshold: f32,
    pub bpcer: f64,
    /// APCER per attack type (the fraction of its presentations accepted as live).
    pub apcer: Vec<(String, f64)>,
    /// ISO/IEC 30107-3's ACER: (worst APCER + BPCER) / 2.
    pub acer: f64,
}

pub fn operating_point(p: &[Presentation], target_bpcer: f64, threshold: f32) -> OperatingPoint {
    let live: Vec<f32> = p
        .iter()
        .filter(|x| x.attack.is_none())
        .map(|x| x.score)
        .collect();
    let bpcer = live.iter().filter(|&&s| s < threshold).count() as f64 / live.len().max(1) as f64;
    let mut types: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for x in p {
        if let Some(a) = &x.attack {
            let e = types.entry(a).or_default();
            e.0 += (x.score >= threshold) as usize;
            e.1 += 1;
        }
    }
    let apcer: Vec<(String, f64)> = types
        .into_iter()
        .map(|(a, (accepted, n))| (a.to_string(), accepted as f64 / n as f64))
        .collect();
    let worst = apcer.iter().map(|a| a.1).fold(0.0, f64::max);
    OperatingPoint {
        target_bpcer,
        threshold,
        bpcer,
        acer: (worst + bpcer) / 2.0,
        apcer,
    }
}

/// A split's threshold-free figures: ROC (live accepted against attacks accepted), AUC, EER.
pub fn roc_of(p: &[Presentation]) -> (Vec<RocPoint>, f64, f64) {
    let scored: Vec<Scored> = p
        .iter()
        .map(|x| Scored {
            score: x.score,
            same: x.attack.is_none(),
            fold: 0,
        })
        .collect();
    let roc = metrics::roc(&scored);
    let (auc, eer) = (metrics::auc(&roc), metrics::eer(&roc));
    (roc, auc, eer)
}

/// Everything printed for one kind of presentation (frames or tracks).
pub struct Report {
    pub unit: String,
    pub calibration: (usize, usize),
    pub reporting: (usize, usize),
    pub calibration_auc: f64,
    pub auc: f64,
    pub eer: f64,
    pub points: Vec<OperatingPoint>,
    /// The same thresholds on the calibration split (what a choice between models may look at).
    pub calibration_points: Vec<OperatingPoint>,
    pub roc: Vec<RocPoint>,
}

fn counts(p: &[Presentation]) -> (usize, usize) {
    let live = p.iter().filter(|x| x.attack.is_none()).count();
    (live, p.len() - live)
}

/// Calibrates on `calibration` and reports on `reporting`; `fixed` gives the thresholds for
/// [`BPCERS`] instead (those stored in a model, or the frames' for tracks).
pub fn report(
    unit: &str,
    calibration: &[Presentation],
    reporting: &[Presentation],
    fixed: Option<[f32; 2]>,
) -> Result<Report> {
    let live: Vec<f32> = calibration
        .iter()
        .filter(|x| x.attack.is_none())
        .map(|x| x.score)
        .collect();
    let (mut points, mut calibration_points) = (Vec::new(), Vec::new());
    for (i, b) in BPCERS.into_iter().enumerate() {
        let t = match fixed {
            Some(t) => t[i],
            None => threshold_at_bpcer(&live, b).ok_or_else(|| {
                Error::InvalidInput("no live frame with a face to calibrate on".into())
            })?,
        };
        points.push(operating_point(reporting, b, t));
        calibration_points.push(operating_point(calibration, b, t));
    }
    let (roc, auc, eer) = roc_of(reporting);
    Ok(Report {
        unit: unit.into(),
        calibration: counts(calibration),
        reporting: counts(reporting),
        calibration_auc: roc_of(calibration).1,
        auc,
        eer,
        points,
        calibration_points,
        roc,
    })
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: calibration {} live + {} attack, reporting {} live + {} attack",
            self.unit, self.calibration.0, self.calibration.1, self.reporting.0, self.reporting.1
        )?;
        writeln!(
            f,
            "  ROC AUC {:.4} (calibration split {:.4}), EER {:.2} %",
            self.auc,
            self.calibration_auc,
            100.0 * self.eer
        )?;
        for (p, c) in self.points.iter().zip(&self.calibration_points) {
            let on_calibration: Vec<String> = c
                .apcer
                .iter()
                .map(|(a, v)| format!("APCER {a} {:.2} %", 100.0 * v))
                .collect();
            writeln!(
                f,
                "  calibration split at BPCER {:.0} %: BPCER {:.2} %, {}",
                100.0 * c.target_bpcer,
                100.0 * c.bpcer,
                on_calibration.join(", ")
            )?;
            let apcer: Vec<String> = p
                .apcer
                .iter()
                .map(|(a, v)| format!("APCER {a} {:.2} %", 100.0 * v))
                .collect();
            writeln!(
                f,
                "  threshold {:.4} (BPCER {:.0} % point): BPCER {:.2} %, {}, ACER {:.2} %",
                p.threshold,
                100.0 * p.target_bpcer,
                100.0 * p.bpcer,
                apcer.join(", "),
                100.0 * p.acer
            )?;
        }
        Ok(())
    }
}

/// Every frame's score as CSV (split, attack, recording, frame, score; empty score: no face).
pub fn scores_csv(splits: &[(&str, &[Frame], &[Option<f32>])]) -> String {
    let mut out = String::from("split,attack,recording,frame,score\n");
    for (split, frames, scores) in splits {
        for (f, s) in frames.iter().zip(scores.iter()) {
            out += &format!(
                "{split},{},{},{},{}\n",
                f.attack.as_deref().unwrap_or("live"),
                f.recording,
                f.index,
                s.map(|v| v.to_string()).unwrap_or_default()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(score: f32, attack: bool) -> Presentation {
        Presentation {
            score,
            attack: attack.then(|| "print".to_string()),
        }
    }

    #[test]
    fn bpcer_thresholds_and_error_rates() {
        let live: Vec<f32> = (0..100).map(|i| i as f32 / 100.0).collect();
        // 5 % of live below: the 6th lowest score.
        assert_eq!(threshold_at_bpcer(&live, 0.05), Some(0.05));
        assert_eq!(threshold_at_bpcer(&live, 0.0), Some(0.0));
        let set = [
            p(0.9, false),
            p(0.8, false),
            p(0.2, false),
            p(0.7, true),
            p(0.1, true),
        ];
        let op = operating_point(&set, 0.05, 0.5);
        assert!((op.bpcer - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(op.apcer, vec![("print".to_string(), 0.5)]);
        assert!((op.acer - (0.5 + 1.0 / 3.0) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn tracks_average_consecutive_frames_of_one_recording() {
        let frame = |rec: &str, index, attack: bool| Frame {
            path: PathBuf::new(),
            attack: attack.then(|| "print".into()),
            recording: rec.into(),
            index,
        };
        let frames = [
            frame("a", 3, false),
            frame("a", 1, false),
            frame("a", 2, false),
            frame("b", 1, true),
        ];
        let scores = [Some(0.3), Some(0.1), None, Some(0.9)];
        let tracks = track_presentations(&frames, &scores, 2);
        assert_eq!(tracks.len(), 1);
        assert!((tracks[0].score - 0.2).abs() < 1e-6);
    }
}
