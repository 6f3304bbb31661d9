//! The first test of every backend: our MobileFaceNet gives the TFLite interpreter's outputs on
//! the 16 reference inputs (cosine ≥ 0.99999, max abs diff ≤ 1e-3 × the reference's norm). On
//! Flex both ways of running it are checked: the packed CPU kernels (the default) and burn's ops.

mod common;

use webverify::{Backend, Embedder};

fn check(backend: Backend, packed_kernels: bool) {
    let shared = shared_or_skip!();
    let reference = common::reference(&shared);
    let embedder = Embedder::new(&common::weights(), backend).unwrap();
    embedder.set_packed_kernels(packed_kernels);
    assert_eq!(embedder.uses_packed_kernels(), packed_kernels);
    let ours = pollster::block_on(embedder.embed_raw(&reference.images)).unwrap();
    let (mut worst_cos, mut worst_diff) = (1.0f64, 0.0f64);
    for ((name, got), want) in reference.names.iter().zip(&ours).zip(&reference.outputs) {
        let (cos, diff) = common::agreement(got, want);
        assert!(cos >= 0.99999, "{}: {name} cosine {cos}", backend.name());
        assert!(
            diff <= 1e-3,
            "{}: {name} max diff {diff} × norm",
            backend.name()
        );
        worst_cos = worst_cos.min(cos);
        worst_diff = worst_diff.max(diff);
    }
    println!(
        "fidelity {}{}: worst cosine {worst_cos:.8}, worst max|diff|/norm {worst_diff:.2e}",
        backend.name(),
        if packed_kernels {
            " (packed kernels)"
        } else {
            ""
        }
    );

    // One image alone gives what it gave inside the batch.
    let single = pollster::block_on(embedder.embed_raw(&reference.images[..1])).unwrap();
    let (cos, diff) = common::agreement(&single[0], &ours[0]);
    assert!(
        cos > 0.999999 && diff < 1e-5,
        "batch and single differ: {cos} {diff}"
    );
}

#[cfg(feature = "flex")]
#[test]
fn flex_matches_the_tflite_reference() {
    check(Backend::Flex, true);
}

#[cfg(feature = "flex")]
#[test]
fn flex_through_burns_ops_matches_the_tflite_reference() {
    check(Backend::Flex, false);
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_matches_the_tflite_reference() {
    check(Backend::NdArray, false);
}

#[cfg(feature = "flex")]
#[test]
fn embeddings_are_unit_length_and_faces_differ_from_noise() {
    let shared = shared_or_skip!();
    let reference = common::reference(&shared);
    let embedder = Embedder::new(&common::weights(), Backend::Flex).unwrap();
    let all = embedder.embed_batch(&reference.images).unwrap();
    for e in &all {
        let norm: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
    // A face against itself is 1; against a constant image it is far from 1.
    let face = &all[0];
    assert!((webverify::similarity(face, face).unwrap() - 1.0).abs() < 1e-6);
    let black = reference
        .names
        .iter()
        .position(|n| n.contains("const_black"))
        .unwrap();
    assert!(webverify::similarity(face, &all[black]).unwrap() < 0.5);
}

#[cfg(feature = "flex")]
#[test]
fn the_layer_profile_times_every_kind_on_both_paths() {
    use webverify::LayerKind::*;
    let embedder = Embedder::new(&common::weights(), Backend::Flex).unwrap();
    let (kernels, burn) = embedder.profile_layers(1).unwrap();
    let kinds = |t: &webverify::LayerTimes| t.0.iter().map(|(k, _)| *k).collect::<Vec<_>>();
    let convs = [
        FirstConv,
        PointwiseExpand,
        PointwiseProject,
        DepthwiseStride1,
        DepthwiseStride2,
        HeadGdcAndLinear,
    ];
    // The kernels fuse PReLU and the residual add; burn runs them as ops of their own.
    let mut sorted = kinds(&kernels);
    sorted.sort();
    assert_eq!(sorted, convs);
    let mut sorted = kinds(&burn);
    sorted.sort();
    assert_eq!(sorted, [&convs[..], &[Prelu, ResidualAdd]].concat());
    assert!(kernels.total() > 0.0 && burn.total() > 0.0);
    let refused = embedder.profile_layers(0).unwrap_err();
    assert_eq!(refused.code(), "INVALID_INPUT");
}

/// The smaller storages (src/io/storage.rs) on the same inputs: the rounding of the weights is
/// the only difference, so the bounds are the measured worst cases with a margin, for the four
/// faces and for all 16 inputs (the synthetic gradients and noise are far from any face, and
/// int8 moves them most: worst 0.9815 on a horizontal gradient, faces ≥ 0.9988). docs/ACCURACY.md
/// ("Weights formats") has what the formats do to LFW.
#[cfg(feature = "flex")]
#[test]
fn stored_formats_stay_close_to_the_tflite_reference() {
    use webverify::io::storage::Storage;
    let shared = shared_or_skip!();
    let reference = common::reference(&shared);
    let f32_bytes = common::weights();
    for (storage, min_faces, min_all) in [
        (Storage::F16, 0.9999, 0.9999),
        (Storage::Int8, 0.998, 0.975),
    ] {
        let bytes = webverify::io::weights::restore(&f32_bytes, storage).unwrap();
        let embedder = Embedder::new(&bytes, Backend::Flex).unwrap();
        assert_eq!(embedder.model_info().format_version, 2);
        let ours = pollster::block_on(embedder.embed_raw(&reference.images)).unwrap();
        let (mut faces, mut all) = (1.0f64, 1.0f64);
        for ((name, got), want) in reference.names.iter().zip(&ours).zip(&reference.outputs) {
            let cos = common::agreement(got, want).0;
            all = all.min(cos);
            if name.starts_with("face_") {
                faces = faces.min(cos);
            }
        }
        println!(
            "fidelity {} weights ({} bytes): worst cosine {faces:.6} on the faces, {all:.6} on all 16 inputs",
            storage.name(),
            bytes.len()
        );
        assert!(
            faces >= min_faces,
            "{}: faces, worst cosine {faces}",
            storage.name()
        );
        assert!(
            all >= min_all,
            "{}: all inputs, worst cosine {all}",
            storage.name()
        );
    }
}
