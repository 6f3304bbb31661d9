//! Face detection and alignment on real faces: the converter reproduces the committed detector
//! weights, faces are found with landmarks in anatomical order, and the pipeline refuses images
//! without a face with NO_FACE.

mod common;

use std::path::Path;

use webverify::Detector;
use webverify::{Backend, Image};
use webverify::{FaceMode, Pipeline};

fn detector_weights() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(webverify::DEFAULT_DETECTOR_PATH))
        .unwrap()
}

#[test]
fn detector_conversion_reproduces_the_committed_weights() {
    let shared = shared_or_skip!();
    let json = shared.join("models-src/face-detection-short/facemesh-detection-short.json");
    let (model, shards) = webverify::tools::tfjs::read_files(&json).unwrap();
    let converted = webverify::tools::convert::blazeface_from_tfjs(
        &model,
        &shards,
        "facemesh-detection-short.json",
    )
    .unwrap();
    assert!(
        converted == detector_weights(),
        "models/blazeface-short.safetensors differs from a fresh conversion"
    );
    // The MobileFaceNet graph is not BlazeFace.
    let other = shared.join("models-src/mobilefacenet/mobilefacenet.json");
    let (model, shards) = webverify::tools::tfjs::read_files(&other).unwrap();
    assert_eq!(
        webverify::tools::convert::blazeface_from_tfjs(&model, &shards, "x")
            .unwrap_err()
            .code(),
        "MODEL_LOAD"
    );
}

#[test]
fn finds_one_face_per_reference_portrait_with_ordered_landmarks() {
    let shared = shared_or_skip!();
    let detector =
        Detector::with_device(&detector_weights(), Backend::Flex.cpu_device().unwrap()).unwrap();
    for name in [
        "face_00_faceid.png",
        "face_01_facematch_selected.png",
        "face_02_samples_woman.png",
        "face_03_samples_man.png",
    ] {
        let image = Image::open(shared.join("reference/mobilefacenet/inputs").join(name)).unwrap();
        let faces = detector.detect(&image).unwrap();
        assert_eq!(faces.len(), 1, "{name}: {faces:?}");
        let f = faces[0];
        let l = f.landmarks;
        assert!(f.score > 0.5, "{name}: score {}", f.score);
        // Subject's right eye on the image's left; eyes above the nose above the mouth.
        assert!(l.right_eye[0] < l.left_eye[0], "{name}: {l:?}");
        assert!(
            l.right_eye[1].max(l.left_eye[1]) < l.nose_tip[1] && l.nose_tip[1] < l.mouth[1],
            "{name}: {l:?}"
        );
        // Landmarks lie inside the box.
        for p in [l.right_eye, l.left_eye, l.nose_tip, l.mouth] {
            assert!(
                p[0] > f.bbox.x
                    && p[0] < f.bbox.x + f.bbox.width
                    && p[1] > f.bbox.y
                    && p[1] < f.bbox.y + f.bbox.height
            );
        }
    }
}

#[test]
fn the_packed_detector_finds_the_faces_burns_module_finds() {
    let shared = shared_or_skip!();
    let detector =
        Detector::with_device(&detector_weights(), Backend::Flex.cpu_device().unwrap()).unwrap();
    let inputs = shared.join("reference/mobilefacenet/inputs");
    for name in [
        "face_00_faceid.png",
        "face_01_facematch_selected.png",
        "face_02_samples_woman.png",
        "face_03_samples_man.png",
    ] {
        let image = Image::open(inputs.join(name)).unwrap();
        detector.set_packed_kernels(true);
        let kernels = detector.detect(&image).unwrap();
        detector.set_packed_kernels(false);
        let burn = detector.detect(&image).unwrap();
        assert_eq!(kernels.len(), burn.len(), "{name}");
        for (k, b) in kernels.iter().zip(&burn) {
            assert!((k.score - b.score).abs() < 1e-4, "{name}: {k:?} vs {b:?}");
            let (kp, bp) = (
                k.landmarks.alignment_points(),
                b.landmarks.alignment_points(),
            );
            for (p, q) in kp.iter().zip(&bp) {
                assert!(
                    (p[0] - q[0]).abs() < 1e-2 && (p[1] - q[1]).abs() < 1e-2,
                    "{name}: {k:?} vs {b:?}"
                );
            }
        }
    }
}

#[test]
fn no_face_is_a_typed_error_and_aligned_faces_still_match() {
    let shared = shared_or_skip!();
    let pipeline = Pipeline::from_paths(
        common::weights_path(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join(webverify::DEFAULT_DETECTOR_PATH),
        Backend::Flex,
    )
    .unwrap();
    let inputs = shared.join("reference/mobilefacenet/inputs");
    for blank in ["synth_14_const_black.png", "synth_08_grad_horizontal.png"] {
        let e = pipeline
            .prepare(&Image::open(inputs.join(blank)).unwrap(), FaceMode::Detect)
            .unwrap_err();
        assert_eq!(e.code(), "NO_FACE", "{blank}");
    }
    // The same face shifted inside a larger canvas is found, aligned, and matches itself.
    let face = Image::open(inputs.join("face_03_samples_man.png")).unwrap();
    let (w, h) = (face.width(), face.height());
    let mut canvas = vec![90u8; 300 * 220 * 3];
    for y in 0..h {
        canvas[((y + 60) * 300 + 150) * 3..((y + 60) * 300 + 150 + w) * 3]
            .copy_from_slice(&face.as_rgb()[y * w * 3..(y + 1) * w * 3]);
    }
    let shifted = Image::from_pixels(&canvas, 300, 220, webverify::PixelFormat::Rgb, None).unwrap();
    let verified = pipeline
        .verify(
            &face,
            &shifted,
            FaceMode::Detect,
            webverify::Threshold::AtFar(None),
        )
        .unwrap();
    let v = verified.verification;
    assert!(v.similarity > 0.9, "similarity {}", v.similarity);
    assert_eq!(v.faces, Some([1, 1]), "one face in each photo");
    // One call carries what a page draws: the faces compared (the shifted one 150 px right and
    // 60 px down of the original), their quality and the crops the model saw.
    // (The eyes, not the boxes: the original photo cuts the face at its border, which moves
    // the box; the landmarks stay.)
    let [fa, fb] = verified.main_faces.expect("faces with FaceMode::Detect");
    let [xa, ya] = fa.landmarks.right_eye;
    let [xb, yb] = fb.landmarks.right_eye;
    assert!((xb - xa - 150.0).abs() < 3.0, "{fa:?} {fb:?}");
    assert!((yb - ya - 60.0).abs() < 3.0, "{fa:?} {fb:?}");
    assert!(verified.quality.is_some());
    assert!(verified
        .crops
        .iter()
        .all(|c| c.width() == 112 && c.height() == 112));
    assert_eq!(
        pipeline
            .prepare(&shifted, FaceMode::Detect)
            .unwrap()
            .crop
            .width(),
        112
    );
}

#[test]
fn mesh_conversion_reproduces_the_committed_weights() {
    let shared = shared_or_skip!();
    let json = shared.join("models-src/face-mesh/facemesh.json");
    let (model, shards) = webverify::tools::tfjs::read_files(&json).unwrap();
    let converted =
        webverify::tools::graph::facemesh_from_tfjs(&model, &shards, "facemesh.json").unwrap();
    // The committed file is the conversion stored as f16 (the source's own precision).
    let stored =
        webverify::io::weights::restore(&converted, webverify::io::storage::Storage::F16).unwrap();
    let committed = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/facemesh.safetensors"),
    )
    .unwrap();
    assert!(
        stored == committed,
        "models/facemesh.safetensors differs from a fresh conversion"
    );
    // BlazeFace's graph has no mesh output: refused, not half-converted.
    let other = shared.join("models-src/face-detection-short/facemesh-detection-short.json");
    let (model, shards) = webverify::tools::tfjs::read_files(&other).unwrap();
    assert_eq!(
        webverify::tools::graph::facemesh_from_tfjs(&model, &shards, "x")
            .unwrap_err()
            .code(),
        "MODEL_LOAD"
    );
}
