//! `webverify eval-challenge`: the challenge and the passive check combined, on test videos made
//! from a database laid out as NUAA's (`tools::challenge_video`): one recording per live or
//! attack frame picked from the reporting split, each asked for a random sequence of motions.
//!
//! Per picked live frame: the face making the asked motions (bona fide), and the frame held
//! still (what a flawless photo or screen of the person shows: the passive model cannot tell it
//! from the person, the challenge can). Per picked print frame: the print bent and tilted
//! through the asked motions (the attacker's best case with a print: the warp moves it as a head
//! would), and the print held still. A presentation is
//! accepted when the whole challenge passes. APCER per attack type and BPCER follow; beside
//! them, the passive check alone on the same videos (mean live probability of the frames
//! facing the camera against the same threshold), to show what the challenge adds.
//!
//! The videos are synthetic (warped single frames): the figures measure the decision on known
//! motions, not how real people move, blink or hold a phone.

use std::path::Path;

use crate::error::Result;
use crate::face::mesh::FaceMesh;
use crate::face::pipeline::Pipeline;
use crate::image::Image;
use crate::liveness::challenge::{observe_async, Action, Challenge, ChallengeStatus};
use crate::liveness::Liveness;
use crate::tools::challenge_video::{self, script};
use crate::tools::liveness_eval::{nuaa_split, Frame};

/// Frames per second of the test videos, and the stillness before the first motion and the
/// time per motion in them.
pub const FPS: f32 = 5.0;
const LEAD_S: f32 = 1.0;
const STEP_S: f32 = 1.5;
/// Time allowed per motion.
pub const STEP_MS: f64 = 5000.0;
/// Motions asked per challenge (blinks are not synthesised: `tools::challenge_video`).
pub const MOTIONS: usize = 2;

/// How one kind of presentation fared.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Presentations shown.
    pub shown: usize,
    /// Accepted by the whole challenge (motions and passive score).
    pub accepted: usize,
    /// Accepted by the passive check alone on the same frames.
    pub passive_accepted: usize,
    /// Why the rejected ones failed (`failure` name → count).
    pub failures: std::collections::BTreeMap<String, usize>,
}

impl Outcome {
    fn add(&mut self, status: &ChallengeStatus) {
        self.shown += 1;
        self.accepted += status.passed as usize;
        self.passive_accepted += status.passive.is_some_and(|p| p.live) as usize;
        let why = match status.failure {
            Some(f) => serde_json::to_value(f)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            // Undecided when the video ended: a reject.
            None if !status.passed => "videoEnded".into(),
            None => return,
        };
        *self.failures.entry(why).or_default() += 1;
    }
}

/// The kinds of presentation.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub live: Outcome,
    /// A live frame held still: what a flawless photo or screen of the person would show.
    pub still_live: Outcome,
    pub moving_print: Outcome,
    pub still_print: Outcome,
    pub threshold: f32,
    pub seconds: f64,
}

/// The models a challenge runs.
pub struct Models<'a> {
    pub pipeline: &'a Pipeline,
    pub mesh: &'a FaceMesh,
    pub liveness: &'a Liveness,
}

/// Runs one challenge asking for `asked` (each within `step_ms`) on `frames` taken [`FPS`]
/// apart; its status when it ended or the frames ran out.
pub fn run(
    m: &Models,
    asked: &[Action],
    step_ms: f64,
    threshold: f32,
    frames: &[Image],
) -> Result<ChallengeStatus> {
    let mut c = Challenge::new(asked.to_vec(), step_ms, threshold)?;
    let mut status = c.status(0.0);
    for (i, frame) in frames.iter().enumerate() {
        let seen = pollster::block_on(observe_async(m.pipeline, m.mesh, m.liveness, frame))?;
        status = c.observe(i as f64 * 1000.0 / FPS as f64, seen)?;
        if status.done {
            break;
        }
    }
    Ok(status)
}

/// `frame` made into a video that makes `motions` (none: held still for as long as a
/// challenge of [`MOTIONS`] motions may take), or `None` when its face is not found.
fn video(m: &Models, frame: &Path, motions: &[Action]) -> Result<Option<Vec<Image>>> {
    let lead = if motions.is_empty() {
        (MOTIONS + 1) as f32 * STEP_MS as f32 / 1000.0 + 1.0
    } else {
        LEAD_S
    };
    let poses = script(motions, FPS, lead, STEP_S)?;
    match challenge_video::video(m.pipeline, m.mesh, &Image::open(frame)?, &poses) {
        Ok(frames) => Ok(Some(frames)),
        Err(crate::Error::NoFace { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every `every`-th live and print frame of `split` of the NUAA-like database at `root`, each
/// asked for a sequence drawn from a seed (its position, so that runs repeat).
pub fn evaluate(
    m: &Models,
    root: &Path,
    split: &str,
    every: usize,
    threshold: f32,
    progress: bool,
) -> Result<Report> {
    let start = std::time::Instant::now();
    let picked: Vec<Frame> = nuaa_split(root, split)?
        .into_iter()
        .step_by(every.max(1))
        .collect();
    let mut report = Report {
        threshold,
        ..Report::default()
    };
    let moving = [Action::TurnLeft, Action::TurnRight, Action::LookUp];
    let bar = crate::tools::eval::progress_bar(picked.len(), "recordings", progress);
    for (i, frame) in picked.iter().enumerate() {
        bar.inc(1);
        let asked = Challenge::random_steps_from(&moving, MOTIONS, i as u64)?;
        let Some(frames) = video(m, &frame.path, &asked)? else {
            // No face: nothing to challenge (the live face counts as rejected).
            if frame.attack.is_none() {
                report.live.shown += 1;
                *report.live.failures.entry("noFace".into()).or_default() += 1;
            }
            continue;
        };
        let status = run(m, &asked, STEP_MS, threshold, &frames)?;
        if frame.attack.is_none() {
            report.live.add(&status);
            if let Some(still) = video(m, &frame.path, &[])? {
                report
                    .still_live
                    .add(&run(m, &asked, STEP_MS, threshold, &still)?);
            }
        } else {
            report.moving_print.add(&status);
            if let Some(still) = video(m, &frame.path, &[])? {
                report
                    .still_print
                    .add(&run(m, &asked, STEP_MS, threshold, &still)?);
            }
        }
    }
    bar.finish_and_clear();
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
        writeln!(
            f,
            "passive threshold {:.4}; {MOTIONS} random head motions per challenge, {STEP_MS} ms each",
            self.threshold
        )?;
        writeln!(
            f,
            "{:<42} {:>6} {:>22} {:>22}",
            "presentation", "shown", "challenge (accepted)", "passive only (accepted)"
        )?;
        for (name, o, rate) in [
            ("live, making the motions", &self.live, "BPCER"),
            (
                "live frame held still (a flawless photo)",
                &self.still_live,
                "APCER",
            ),
            (
                "print moved through the motions",
                &self.moving_print,
                "APCER",
            ),
            ("print held still", &self.still_print, "APCER"),
        ] {
            let (c, p) = if rate == "BPCER" {
                (o.shown - o.accepted, o.shown - o.passive_accepted)
            } else {
                (o.accepted, o.passive_accepted)
            };
            writeln!(
                f,
                "{name:<42} {:>6} {rate} {:>6.2} % ({:>3}) {rate} {:>6.2} % ({:>3})",
                o.shown,
                pct(c, o.shown),
                o.accepted,
                pct(p, o.shown),
                o.passive_accepted
            )?;
            writeln!(f, "{:<42} rejected: {:?}", "", o.failures)?;
        }
        write!(f, "{:.1} s", self.seconds)
    }
}
