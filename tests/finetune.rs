//! Fine-tuning end to end on real faces (ORL, 4 people × 4 photos): the loss goes down, the tuned
//! model's embeddings differ from the shipped one's, export → import gives the same embeddings,
//! tuned weights are refused on another base model, a cancelled run changes nothing, and reset
//! returns to the shipped model. For every trainable scope and a loss of each family.
#![cfg(feature = "train")]

mod common;

use std::path::Path;

use webverify::train::{Loss, TrainConfig};
use webverify::Scope;
use webverify::{Error, Image};
use webverify::{FaceMode, Pipeline};

/// ORL photos are grey 92x112 face crops: used as ready crops (`face: none`).
fn orl(shared: &Path) -> (Vec<Image>, Vec<usize>) {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for person in 1..=4 {
        for i in 1..=4 {
            let path = shared.join(format!("data/orl/s{person}/{i}.pgm"));
            images.push(Image::open(&path).unwrap());
            labels.push(person);
        }
    }
    (images, labels)
}

/// A fine-tune whose progress is ignored.
fn tune(
    pipeline: &Pipeline,
    images: &[Image],
    labels: Option<&[usize]>,
    config: &TrainConfig,
) -> webverify::Result<webverify::FineTuned> {
    pollster::block_on(
        pipeline.fine_tune_async(images, labels, FaceMode::None, config, |_| {
            std::future::ready(true)
        }),
    )
}

fn max_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len() as f32
}

#[test]
fn fine_tune_lowers_the_loss_and_round_trips() {
    let shared = shared_or_skip!();
    let (images, labels) = orl(&shared);
    let pipeline = common::pipeline();
    let base = pipeline.embed_batch(&images, FaceMode::None).unwrap();
    let recipes = [
        (Loss::SupCon, Scope::Adapter, 1e-2),
        (Loss::ArcFace, Scope::Head, 1e-3),
        (Loss::NtXent, Scope::All, 1e-4),
    ];
    for (loss, scope, lr) in recipes {
        let config = TrainConfig {
            loss,
            scope,
            steps: 12,
            batch_size: 8,
            lr,
            seed: 3,
            ..Default::default()
        };
        let labels = loss.needs_labels().then_some(labels.as_slice());
        let mut seen = Vec::new();
        let tuned = pollster::block_on(pipeline.fine_tune_async(
            &images,
            labels,
            FaceMode::None,
            &config,
            |p| {
                seen.push(p.step);
                std::future::ready(true)
            },
        ))
        .unwrap();
        let what = format!("{} / {}", loss.name(), scope.name());
        assert_eq!(
            seen,
            (1..=12).collect::<Vec<_>>(),
            "{what}: progress per step"
        );
        let (first, last) = (mean(&tuned.losses[..4]), mean(&tuned.losses[8..]));
        assert!(last < first, "{what}: loss {first} → {last}");
        assert_ne!(tuned.info.sha256, pipeline.embedder.shipped_info().sha256);

        let after = pipeline.embed_batch(&images, FaceMode::None).unwrap();
        assert!(
            max_difference(&after, &base) > 1e-3,
            "{what}: embeddings changed"
        );

        let bytes = pollster::block_on(pipeline.embedder.export_tuned())
            .unwrap()
            .unwrap();
        assert_eq!(
            webverify::io::weights::sha256_hex(&bytes),
            tuned.info.sha256,
            "{what}: the export is the file the model was loaded from"
        );
        pipeline.embedder.reset_model();
        assert!(
            max_difference(
                &pipeline.embed_batch(&images, FaceMode::None).unwrap(),
                &base
            ) < 1e-6
        );
        assert!(pipeline.embedder.tuned().is_none());
        let info = pipeline.embedder.load_tuned(&bytes).unwrap();
        assert_eq!(info.sha256, tuned.info.sha256);
        let reloaded = pipeline.embed_batch(&images, FaceMode::None).unwrap();
        assert!(
            max_difference(&reloaded, &after) < 1e-6,
            "{what}: import → same embeddings"
        );
        assert_eq!(pipeline.embedder.tuned().unwrap().scope, scope);
        assert!(pipeline.embedder.calibration_inherited());
        pipeline.embedder.reset_model();
    }
}

#[test]
fn tuned_weights_are_checked() {
    let shared = shared_or_skip!();
    let (images, labels) = orl(&shared);
    let pipeline = common::pipeline();
    let config = TrainConfig {
        loss: Loss::Triplet,
        steps: 2,
        batch_size: 8,
        ..Default::default()
    };
    tune(&pipeline, &images, Some(&labels), &config).unwrap();
    let bytes = pollster::block_on(pipeline.embedder.export_tuned())
        .unwrap()
        .unwrap();
    pipeline.embedder.reset_model();

    // Another base model: refused.
    let other =
        webverify::io::weights::set_metadata(&bytes, "base_sha256", Some(&"0".repeat(64))).unwrap();
    assert_eq!(
        pipeline.embedder.load_tuned(&other).unwrap_err().code(),
        "MODEL_MISMATCH"
    );
    // Truncated, or the base weights file instead of a tuned one.
    assert_eq!(
        pipeline
            .embedder
            .load_tuned(&bytes[..bytes.len() / 2])
            .unwrap_err()
            .code(),
        "MODEL_LOAD"
    );
    assert_eq!(
        pipeline
            .embedder
            .load_tuned(&common::weights())
            .unwrap_err()
            .code(),
        "MODEL_VERSION"
    );
    assert!(
        pipeline.embedder.tuned().is_none(),
        "failed imports change nothing"
    );

    // Bad recipes and data are INVALID_INPUT before any training.
    let bad = |config: TrainConfig, labels: Option<&[usize]>| {
        tune(&pipeline, &images, labels, &config)
            .err()
            .map(|e| e.code())
    };
    let supcon = TrainConfig {
        loss: Loss::SupCon,
        ..config.clone()
    };
    assert_eq!(
        bad(supcon.clone(), None),
        Some("INVALID_INPUT"),
        "labels needed"
    );
    assert_eq!(
        bad(supcon.clone(), Some(&labels[..3])),
        Some("INVALID_INPUT")
    );
    let singletons: Vec<usize> = (0..images.len()).collect();
    assert_eq!(
        bad(supcon.clone(), Some(&singletons)),
        Some("INVALID_INPUT")
    );
    for broken in [
        TrainConfig {
            steps: 0,
            ..supcon.clone()
        },
        TrainConfig {
            lr: f64::NAN,
            ..supcon.clone()
        },
        TrainConfig {
            temperature: 0.0,
            ..supcon.clone()
        },
        TrainConfig {
            batch_size: 1,
            ..supcon.clone()
        },
    ] {
        assert_eq!(bad(broken, Some(&labels)), Some("INVALID_INPUT"));
    }

    // Cancelled after the second step: an Aborted error and the shipped model still in use.
    let mut calls = 0;
    let cancelled = pollster::block_on(pipeline.fine_tune_async(
        &images,
        Some(&labels),
        FaceMode::None,
        &TrainConfig { steps: 5, ..supcon },
        |_| {
            calls += 1;
            std::future::ready(calls < 2)
        },
    ));
    assert!(matches!(cancelled, Err(Error::Aborted(_))));
    assert!(pipeline.embedder.tuned().is_none());
}

#[test]
fn galleries_follow_an_adapter_and_are_flagged_otherwise() {
    use webverify::Gallery;
    let shared = shared_or_skip!();
    let (images, labels) = orl(&shared);
    let pipeline = common::pipeline();
    let base = pipeline.embed_batch(&images, FaceMode::None).unwrap();
    let mut gallery = Gallery::new(pipeline.embedder.model_ref());
    gallery.enroll("s1", &base[..4], None).unwrap();
    let tune = |scope| {
        let config = TrainConfig {
            loss: Loss::SupCon,
            scope,
            steps: 3,
            batch_size: 8,
            lr: 1e-2,
            ..Default::default()
        };
        tune(&pipeline, &images, Some(&labels), &config).unwrap();
    };

    tune(Scope::Head);
    let mut flagged = Gallery::from_bytes(&gallery.to_bytes(), gallery.model().clone()).unwrap();
    assert_eq!(
        pipeline
            .embedder
            .migrate_gallery(&mut flagged)
            .unwrap_err()
            .code(),
        "MODEL_MISMATCH",
        "a head fine-tune cannot carry templates over"
    );
    assert_eq!(
        flagged
            .ensure_model(&pipeline.embedder.model_ref())
            .unwrap_err()
            .code(),
        "MODEL_MISMATCH"
    );

    tune(Scope::Adapter);
    assert!(pipeline.embedder.migrate_gallery(&mut gallery).unwrap());
    assert_eq!(gallery.model(), &pipeline.embedder.model_ref());
    assert!(
        !pipeline.embedder.migrate_gallery(&mut gallery).unwrap(),
        "already there"
    );
    // The migrated templates are what the tuned model makes of the same photos.
    let tuned = pipeline.embed_batch(&images[..4], FaceMode::None).unwrap();
    let migrated = gallery.similarities_to("s1", &tuned[0]).unwrap();
    assert!((migrated[0] - 1.0).abs() < 1e-5, "{migrated:?}");
    for (i, t) in tuned.iter().enumerate() {
        let s = gallery.similarities_to("s1", t).unwrap();
        assert!((s[i] - 1.0).abs() < 1e-5, "template {i}: {s:?}");
    }
}
