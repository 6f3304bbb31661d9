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
    orl_people(shared, 4, 4)
}

/// The first `photos` photos of ORL's first `people` people, labelled by person.
fn orl_people(shared: &Path, people: usize, photos: usize) -> (Vec<Image>, Vec<usize>) {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for person in 1..=people {
        for i in 1..=photos {
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

/// The tuned model in use, as its file.
fn exported(pipeline: &Pipeline) -> Vec<u8> {
    pollster::block_on(pipeline.embedder.export_tuned())
        .unwrap()
        .expect("a tuned model is in use")
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

        let bytes = exported(&pipeline);
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

/// With enough classes, a share is held back, never trained on, and the tuned model is
/// calibrated on their pairs: the file carries that calibration, and it is the one the loaded
/// model's own embeddings of two held-back people give.
#[test]
fn a_tuned_model_calibrates_itself_on_held_back_classes() {
    let shared = shared_or_skip!();
    let (images, labels) = orl_people(&shared, 12, 10);
    let pipeline = common::pipeline();
    let config = TrainConfig {
        loss: Loss::SupCon,
        steps: 3,
        batch_size: 8,
        ..Default::default()
    };
    let tuned = tune(&pipeline, &images, Some(&labels), &config).unwrap();
    let c = &tuned.calibration;
    // round(0.2 × 12) = 2 people of 10 photos: 2·45 genuine and 10·10 impostor pairs.
    assert_eq!((c.held_back_classes, c.held_back_images), (2, 20));
    assert_eq!((c.genuine, c.impostors), (90, 100));
    assert!(!c.inherited && c.reason.is_none());
    assert!(!pipeline.embedder.calibration_inherited());
    let tuned_info = pipeline.embedder.tuned().unwrap();
    assert_eq!(
        tuned_info.metadata.get("images").map(String::as_str),
        Some("100")
    );
    // 100 impostor pairs support FAR 1e-2; the lower FARs keep the shipped thresholds, and say so.
    let sources: Vec<String> = c
        .thresholds
        .iter()
        .map(|t| format!("{:?}", t.source))
        .collect();
    assert_eq!(sources, ["Refit", "Shipped", "Shipped"]);
    let fitted = pipeline.embedder.calibration().unwrap();
    assert_eq!(fitted.negatives, 100);
    assert!(
        fitted.source.contains("2 classes held back"),
        "{}",
        fitted.source
    );
    assert_eq!(
        c.thresholds[0].threshold,
        Some(fitted.threshold(1e-2).unwrap())
    );

    // The calibration is the one the tuned model's own embeddings of one pair of people give
    // (within 2e-3: the held-back crops are mirrored for the flip TTA after resizing to 112x112,
    // an embedding's views before, and the resize rounds to bytes; other pairs differ by 0.03+).
    let e = pipeline.embed_batch(&images, FaceMode::None).unwrap();
    let cross = |a: usize, b: usize| {
        let mut scores = Vec::new();
        for (i, x) in e.iter().enumerate().filter(|(i, _)| labels[*i] == a) {
            for (j, y) in e.iter().enumerate().filter(|(j, _)| labels[*j] == b) {
                assert_ne!(i, j);
                scores.push(x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>());
            }
        }
        webverify::Calibration::from_impostors("x", &scores).unwrap()
    };
    let same_curve = |c: &webverify::Calibration| {
        c.curve.len() == fitted.curve.len()
            && c.curve
                .iter()
                .zip(&fitted.curve)
                .all(|(p, q)| p.0 == q.0 && (p.1 - q.1).abs() < 2e-3)
    };
    let matching: Vec<(usize, usize)> = (1..=12)
        .flat_map(|a| (a + 1..=12).map(move |b| (a, b)))
        .filter(|&(a, b)| same_curve(&cross(a, b)))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "one pair of people gives the calibration: {matching:?}"
    );

    // The exported file carries it: loaded again, the same calibration, not inherited.
    let bytes = exported(&pipeline);
    pipeline.embedder.reset_model();
    assert_ne!(pipeline.embedder.calibration().unwrap(), fitted);
    pipeline.embedder.load_tuned(&bytes).unwrap();
    assert_eq!(pipeline.embedder.calibration().unwrap(), fitted);
    assert!(!pipeline.embedder.calibration_inherited());

    // `holdBack: 0` trains on every class and keeps the previous calibration, saying why.
    pipeline.embedder.reset_model();
    let all = TrainConfig {
        hold_back: 0.0,
        ..config
    };
    let tuned = tune(&pipeline, &images, Some(&labels), &all).unwrap();
    assert!(tuned.calibration.inherited);
    assert!(tuned.calibration.reason.unwrap().contains("holdBack is 0"));
    assert!(pipeline.embedder.calibration_inherited());
    assert_eq!(
        pipeline
            .embedder
            .tuned()
            .unwrap()
            .metadata
            .get("images")
            .map(String::as_str),
        Some("120")
    );
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
    let bytes = exported(&pipeline);
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
