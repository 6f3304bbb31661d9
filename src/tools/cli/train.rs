//! `train`: fine-tuning on a folder per identity.

use super::args::*;
use crate::Image;

pub(super) fn train(args: TrainArgs) -> crate::Result<()> {
    let TrainArgs {
        images,
        from,
        to,
        recipe,
        out,
        models,
    } = args;
    // The same options object, and so the same mapping and checks, as the JS package's.
    let options = serde_json::to_value(&recipe)
        .map_err(|e| crate::Error::InvalidInput(format!("training options: {e}")))?;
    let config: crate::train::TrainConfig = serde_json::from_value(options)
        .map_err(|e| crate::Error::InvalidInput(format!("training options: {e}")))?;
    fine_tune_folders(&images, from, to, &config, &models, &out)
}

/// Loads the people, fine-tunes with a progress bar, writes the tuned file.
fn fine_tune_folders(
    root: &std::path::Path,
    from: Option<String>,
    to: Option<String>,
    config: &crate::train::TrainConfig,
    models: &Models,
    out: &std::path::Path,
) -> crate::Result<()> {
    let people: Vec<_> = crate::tools::identify_eval::people(root)?
        .into_iter()
        .filter(|p| from.as_ref().is_none_or(|f| &p.name >= f))
        .filter(|p| to.as_ref().is_none_or(|t| &p.name <= t))
        .collect();
    let (pipeline, mode) = models.load()?;
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (label, person) in people.iter().enumerate() {
        for path in &person.images {
            images.push(Image::open(path)?);
            labels.push(label);
        }
    }
    eprintln!(
        "{} images of {} identities ({} to {}), loss {}, trainable {}, {} steps of {} images",
        images.len(),
        people.len(),
        people.first().map_or("", |p| p.name.as_str()),
        people.last().map_or("", |p| p.name.as_str()),
        config.loss.name(),
        config.scope.name(),
        config.steps,
        config.batch_size
    );
    let bar = indicatif::ProgressBar::new(config.steps as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed}<{eta}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let labels = config.loss.needs_labels().then_some(labels.as_slice());
    let tuned = pollster::block_on(
        pipeline.fine_tune_async(&images, labels, mode, config, |p| {
            bar.set_position(p.step as u64);
            bar.set_message(format!("loss {:.4}", p.loss));
            std::future::ready(true)
        }),
    )?;
    bar.finish();
    let bytes = pollster::block_on(pipeline.embedder.export_tuned())?
        .ok_or_else(|| crate::Error::Inference("no tuned model after training".into()))?;
    std::fs::write(out, &bytes)
        .map_err(|e| crate::Error::InvalidInput(format!("cannot write {}: {e}", out.display())))?;
    let mean = |l: &[f32]| l.iter().sum::<f32>() / l.len().max(1) as f32;
    let tenth = (tuned.losses.len() / 10).max(1);
    println!(
        "trained {} steps in {:.1} s ({:.2} steps/s; {} photos without a face left out); loss {:.4} over the first tenth, {:.4} over the last",
        tuned.losses.len(),
        tuned.ms / 1000.0,
        tuned.losses.len() as f64 / (tuned.ms / 1000.0),
        tuned.skipped,
        mean(&tuned.losses[..tenth]),
        mean(&tuned.losses[tuned.losses.len() - tenth..]),
    );
    print_calibration(&tuned.calibration);
    println!(
        "wrote {} ({} bytes, {}, tuned from {})",
        out.display(),
        bytes.len(),
        tuned.info.id(),
        pipeline.embedder.shipped_info().id()
    );
    Ok(())
}

/// How the tuned model was calibrated: the thresholds fitted on the held-back classes, or why
/// it kept the previous model's.
fn print_calibration(c: &crate::train::TunedCalibration) {
    if let Some(reason) = &c.reason {
        println!("calibration inherited from the shipped model: {reason}");
        return;
    }
    println!(
        "calibrated on {} held-back classes ({} images; {} genuine, {} impostor pairs):",
        c.held_back_classes, c.held_back_images, c.genuine, c.impostors
    );
    for t in &c.thresholds {
        let threshold = t.threshold.map_or("none".into(), |v| format!("{v:.4}"));
        let tar = t
            .tar
            .map_or(String::new(), |v| format!(", TAR {:.2} %", v * 100.0));
        println!(
            "  FAR {:e}: threshold {threshold} ({:?}{tar})",
            t.far, t.source
        );
    }
}
