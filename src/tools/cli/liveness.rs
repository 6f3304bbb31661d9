//! `liveness`, `eval-liveness`, `challenge`, `eval-challenge` and `challenge-video`: passive
//! and challenge liveness on frames, and their measurement.

use super::args::*;
use super::{json, read};
use crate::{Backend, Image};
use std::time::Instant;

pub(super) fn liveness(args: LivenessArgs) -> crate::Result<()> {
    let LivenessArgs {
        frames,
        weights,
        detector,
        backend,
        bpcer,
        threshold,
    } = args;
    let device = Backend::parse(&backend)?.cpu_device()?;
    let detector = crate::Detector::with_device(&read(&detector)?, device.clone())?;
    let model = crate::LivenessModel::with_device(&read(&weights)?, device)?;
    let liveness = crate::Liveness::new(vec![model])?;
    let images = frames
        .iter()
        .map(Image::open)
        .collect::<crate::Result<Vec<_>>>()?;
    let result = pollster::block_on(liveness.check_async(&detector, &images, bpcer, threshold))?;
    println!(
        "{}",
        serde_json::to_string(&result).map_err(|e| crate::Error::Inference(e.to_string()))?
    );
    Ok(())
}

pub(super) fn challenge(args: ChallengeArgs) -> crate::Result<()> {
    let ChallengeArgs {
        frames,
        actions,
        fps,
        step_ms,
        models,
    } = args;
    let (pipeline, mesh, liveness) = models.load()?;
    let mut challenge = crate::liveness::challenge::Challenge::new(
        parse_actions(&actions)?,
        step_ms,
        liveness.threshold(models.bpcer, None)?,
    )?;
    for (i, path) in frames.iter().enumerate() {
        let frame = Image::open(path)?;
        let seen = pollster::block_on(crate::liveness::challenge::observe_async(
            &pipeline, &mesh, &liveness, &frame,
        ))?;
        let status = challenge.observe(i as f64 * 1000.0 / fps, seen)?;
        println!(
            "{}",
            json(&serde_json::json!({ "frame": path, "seen": seen }))?
        );
        if status.done || i + 1 == frames.len() {
            println!("{}", json(&status)?);
            break;
        }
    }
    Ok(())
}

pub(super) fn eval_challenge(args: EvalChallengeArgs) -> crate::Result<()> {
    let EvalChallengeArgs {
        data,
        split,
        every,
        models,
    } = args;
    let (pipeline, mesh, liveness) = models.load()?;
    let m = crate::tools::challenge_eval::Models {
        pipeline: &pipeline,
        mesh: &mesh,
        liveness: &liveness,
    };
    let threshold = liveness.threshold(models.bpcer, None)?;
    let report = crate::tools::challenge_eval::evaluate(&m, &data, &split, every, threshold, true)?;
    println!("{report}");
    Ok(())
}

pub(super) fn challenge_video(args: ChallengeVideoArgs) -> crate::Result<()> {
    let ChallengeVideoArgs {
        frame,
        actions,
        out,
        fps,
        lead,
        step,
        models,
    } = args;
    use crate::tools::challenge_video::{script, video};
    let (pipeline, mesh, _) = models.load()?;
    let poses = script(&parse_actions(&actions)?, fps, lead, step)?;
    let frames = video(&pipeline, &mesh, &Image::open(&frame)?, &poses)?;
    std::fs::create_dir_all(&out)
        .map_err(|e| crate::Error::InvalidInput(format!("cannot create {}: {e}", out.display())))?;
    for (i, frame) in frames.iter().enumerate() {
        let path = out.join(format!("{:04}.png", i + 1));
        image::save_buffer(
            &path,
            frame.as_rgb(),
            frame.width() as u32,
            frame.height() as u32,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| crate::Error::InvalidInput(format!("cannot write {}: {e}", path.display())))?;
    }
    eprintln!("{} frames in {}", poses.len(), out.display());
    Ok(())
}

pub(super) fn eval_liveness(a: LivenessEval) -> crate::Result<()> {
    use crate::tools::liveness_eval as le;
    let device = Backend::parse(&a.backend)?.cpu_device()?;
    let detector = crate::Detector::with_device(&read(&a.detector)?, device.clone())?;
    let models = a
        .weights
        .iter()
        .map(|w| crate::LivenessModel::with_device(&read(w)?, device.clone()))
        .collect::<crate::Result<Vec<_>>>()?;
    let fixed = if a.stored_thresholds {
        let [only] = models.as_slice() else {
            return Err(crate::Error::InvalidInput(
                "--stored-thresholds needs exactly one model".into(),
            ));
        };
        let stored = |b: f64| {
            only.calibrated_threshold(b).ok_or_else(|| {
                crate::Error::InvalidInput(format!("the model stores no threshold for BPCER {b}"))
            })
        };
        Some([stored(le::BPCERS[0])?, stored(le::BPCERS[1])?])
    } else {
        None
    };
    let liveness = crate::Liveness::new(models)?;
    let started = Instant::now();
    let train = le::nuaa_split(&a.data, "train")?;
    let test = le::nuaa_split(&a.data, "test")?;
    let train_scores = le::score_frames(&train, &detector, &liveness, a.cut, true)?;
    let test_scores = le::score_frames(&test, &detector, &liveness, a.cut, true)?;
    let missed = |s: &[Option<f32>]| s.iter().filter(|s| s.is_none()).count();
    let names: Vec<String> = a.weights.iter().map(|w| w.display().to_string()).collect();
    println!(
        "models           {} (mean of live probabilities when several)",
        names.join(" + ")
    );
    println!(
        "frames           {} train, {} test ({} and {} without a face, left out); cut {}",
        train.len(),
        test.len(),
        missed(&train_scores),
        missed(&test_scores),
        a.cut
            .map_or("none".into(), |c| format!("{c}x the face box"))
    );
    let frames = le::report(
        "frames",
        &le::frame_presentations(&train, &train_scores),
        &le::frame_presentations(&test, &test_scores),
        fixed,
    )?;
    print!("{frames}");
    let tracks = le::report(
        &format!("tracks of {} frames", a.track),
        &le::track_presentations(&train, &train_scores, a.track),
        &le::track_presentations(&test, &test_scores, a.track),
        // As the SDK does: a track's mean is compared with the frame thresholds.
        Some([frames.points[0].threshold, frames.points[1].threshold]),
    )?;
    print!("{tracks}");
    println!("seconds          {:.1}", started.elapsed().as_secs_f64());
    if let Some(path) = &a.outputs.roc {
        std::fs::write(path, crate::tools::eval::roc_csv(&frames.roc))
            .map_err(|e| crate::Error::InvalidInput(format!("{}: {e}", path.display())))?;
    }
    if let Some(path) = &a.outputs.plot {
        crate::tools::eval::roc_svg(
            &frames.roc,
            "liveness ROC (accepted attacks vs accepted live)",
            path,
        )?;
    }
    if let Some(path) = &a.outputs.scores {
        let csv = le::scores_csv(&[
            ("train", &train, &train_scores),
            ("test", &test, &test_scores),
        ]);
        std::fs::write(path, csv)
            .map_err(|e| crate::Error::InvalidInput(format!("{}: {e}", path.display())))?;
    }
    if let Some(path) = &a.write {
        if a.weights.len() != 1 || a.cut.is_some() || a.stored_thresholds {
            return Err(crate::Error::InvalidInput(
                "--write stores the thresholds of one model on uncut frames".into(),
            ));
        }
        let mut bytes = read(path)?;
        for p in &frames.points {
            let key = format!(
                "{}{}",
                crate::liveness::THRESHOLD_KEY_PREFIX,
                p.target_bpcer
            );
            bytes = crate::io::weights::set_metadata(&bytes, &key, Some(&p.threshold.to_string()))?;
        }
        let source = format!(
            "frames of the train lists of {}",
            a.data
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        bytes = crate::io::weights::set_metadata(&bytes, "liveness_calibrated_on", Some(&source))?;
        std::fs::write(path, &bytes)
            .map_err(|e| crate::Error::InvalidInput(format!("{}: {e}", path.display())))?;
        println!(
            "wrote {} (thresholds stored; sha256 {})",
            path.display(),
            crate::io::weights::sha256_hex(&bytes)
        );
    }
    Ok(())
}

/// `blink,turnLeft` → the actions; empty → none.
fn parse_actions(list: &str) -> crate::Result<Vec<crate::liveness::challenge::Action>> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(crate::liveness::challenge::Action::parse)
        .collect()
}
