//! `eval`, `calibrate` and `eval-identify`: verification and identification measured on
//! labelled data, and the score calibration.

use super::args::*;
use super::read;
use std::path::PathBuf;

pub(super) fn eval(args: EvalArgs) -> crate::Result<()> {
    let EvalArgs {
        list,
        models,
        outputs,
        degrade,
    } = args;
    let (pipeline, mode) = models.load()?;
    let pairs = list.read()?;
    if !degrade.is_empty() {
        let kinds = degrade
            .iter()
            .map(|spec| crate::tools::degrade::parse(spec))
            .collect::<crate::Result<Vec<_>>>()?;
        let start = std::time::Instant::now();
        let curves = crate::tools::robustness::curves(&pipeline, &pairs, mode, &kinds, true)?;
        println!(
            "{} ({} pairs, the second photo of each degraded; tta {})",
            list.name(),
            pairs.len(),
            models.tta
        );
        for ((kind, _), curve) in kinds.iter().zip(&curves) {
            println!("\n{}:", kind.name());
            print!("{}", crate::tools::robustness::table(*kind, curve));
            if let Some(dir) = &outputs.plot {
                std::fs::create_dir_all(dir).map_err(|e| {
                    crate::Error::InvalidInput(format!("cannot create {}: {e}", dir.display()))
                })?;
                let path = dir.join(format!("robustness-{}.svg", kind.name()));
                let title = format!("{}: {} ({} pairs)", kind.name(), list.name(), pairs.len());
                crate::tools::robustness::svg(*kind, curve, &title, &path)?;
            }
        }
        println!("time {:.1} s", start.elapsed().as_secs_f64());
        return Ok(());
    }
    let (scored, report) = crate::tools::eval::evaluate(&pipeline, &pairs, mode, true)?;
    println!("{report}");
    let write = |path: &PathBuf, body: &str| {
        std::fs::write(path, body).map_err(|e| {
            crate::Error::InvalidInput(format!("cannot write {}: {e}", path.display()))
        })
    };
    if let Some(path) = outputs.roc {
        write(&path, &crate::tools::eval::roc_csv(&report.roc))?;
    }
    if let Some(path) = outputs.plot {
        let title = format!("ROC, {} ({} pairs)", list.name(), report.pairs);
        crate::tools::eval::roc_svg(&report.roc, &title, &path)?;
    }
    if let Some(path) = outputs.scores {
        write(
            &path,
            &crate::tools::eval::scores_csv(&pairs, &scored, &report),
        )?;
    }
    Ok(())
}

pub(super) fn calibrate(args: CalibrateArgs) -> crate::Result<()> {
    let CalibrateArgs {
        list,
        models,
        write,
    } = args;
    let pairs = list.read()?;
    let (pipeline, mode) = models.load()?;
    let unique = crate::tools::eval::unique_images(&pairs);
    let embeddings = crate::tools::eval::embed_all(&pipeline, &unique, mode, true)?;
    let impostor = crate::tools::eval::cross_identity_impostors(&embeddings);
    let source = format!(
        "all cross-identity pairs of the {} images of {} (face {}, tta {}; {} without a face left out)",
        embeddings.values().filter(|e| e.is_some()).count(),
        list.name(),
        models.face,
        models.tta,
        embeddings.values().filter(|e| e.is_none()).count(),
    );
    let c = crate::score::calibration::Calibration::from_impostors(&source, &impostor)?;
    println!("calibration: {source}: {} impostor pairs", c.negatives);
    for far in crate::score::calibration::REPORTED_FARS {
        match c.threshold(far) {
            Ok(t) => println!(
                "FAR {far:e}: threshold {t:.4} (backed by {:.0} accepted impostor pairs)",
                far * c.negatives as f64
            ),
            Err(e) => println!("FAR {far:e}: {e}"),
        }
    }
    if let Some(out) = write {
        // Each test-time augmentation has its own calibration: its scores are distributed
        // differently.
        let key = match pipeline.embedder.tta() {
            crate::score::embedder::Tta::None => crate::score::calibration::METADATA_KEY,
            crate::score::embedder::Tta::Flip => crate::score::calibration::FLIP_METADATA_KEY,
        };
        let bytes = crate::io::weights::set_metadata(&read(&out)?, key, Some(&c.to_json()))?;
        std::fs::write(&out, bytes).map_err(|e| {
            crate::Error::InvalidInput(format!("cannot write {}: {e}", out.display()))
        })?;
        println!("stored in {} under {key}", out.display());
    }
    Ok(())
}

pub(super) fn eval_identify(args: EvalIdentifyArgs) -> crate::Result<()> {
    let EvalIdentifyArgs {
        images,
        enroll,
        shots,
        far,
        models,
    } = args;
    let (pipeline, mode) = models.load()?;
    if let Some(list) = shots {
        let shots = list
            .split(',')
            .map(|s| s.trim().parse::<usize>().ok().filter(|&k| k > 0))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                crate::Error::InvalidInput(format!("--shots {list:?}: write counts, e.g. 1,3,5"))
            })?;
        let people = crate::tools::identify_eval::people(&images)?;
        let start = std::time::Instant::now();
        let rows = crate::tools::shots_eval::evaluate(&pipeline, &people, &shots, mode)?;
        println!(
            "{} people in {}; shots {list}; tta {}; halves A and B alternate people in name order",
            people.len(),
            images.display(),
            models.tta
        );
        print!("{}", crate::tools::shots_eval::table(&rows));
        println!("time {:.1} s", start.elapsed().as_secs_f64());
        return Ok(());
    }
    let threshold = pipeline.embedder.threshold(Some(far))?;
    let people = crate::tools::identify_eval::people(&images)?;
    let start = std::time::Instant::now();
    let halves = crate::tools::identify_eval::evaluate(&pipeline, &people, enroll, far, mode)?;
    println!(
        "{} people in {}; enroll {enroll} per person; FAR {far:e}: per comparison at threshold {threshold:.4}, per search at the threshold for FAR {far:e} / comparisons; halves A and B alternate people in name order",
        people.len(),
        images.display()
    );
    print!("{}", crate::tools::identify_eval::table(&halves));
    println!("time {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
