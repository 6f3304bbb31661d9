//! The liveness port: our MiniFASNet V1SE and V2 give onnxruntime's logits for the upstream ONNX
//! exports (tests/fixtures/minifasnet-reference.json, made by tools/minifasnet_reference.py) on
//! synthetic inputs and on real NUAA frames, on every compiled backend; crafted bad weights are
//! refused with typed errors; live frames score above print attacks end to end.

mod common;

use std::path::{Path, PathBuf};

use webverify::io::weights::set_metadata;
use webverify::{Backend, ErrorCode, Image, Liveness, LivenessModel};

const SIDE: usize = 80;

fn model_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("models/{name}.safetensors"))
}

fn reference() -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minifasnet-reference.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The script's synthetic pattern `k`: planar BGR `[3, 80, 80]`.
fn synthetic(k: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(3 * SIDE * SIDE);
    for c in 0..3 {
        for y in 0..SIDE {
            for x in 0..SIDE {
                out.push(
                    ((37 * x + 71 * y + 113 * c + 57 * k * k + (x * y) % 17 * 5) % 256) as f32,
                );
            }
        }
    }
    out
}

/// The script's cut of a NUAA frame: pixels `(x0 + step·i + step/2, y0 + …)`, BGR planar.
fn frame_input(image: &Image, x0: usize, y0: usize, step: usize) -> Vec<f32> {
    let rgb = image.as_rgb();
    let mut out = vec![0.0; 3 * SIDE * SIDE];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (sx, sy) = (x0 + x * step + step / 2, y0 + y * step + step / 2);
            let p = &rgb[(sy * image.width() + sx) * 3..][..3];
            for c in 0..3 {
                out[(2 - c) * SIDE * SIDE + y * SIDE + x] = p[c] as f32;
            }
        }
    }
    out
}

fn compare(model: &str, backend: Backend, first: usize, inputs: Vec<f32>, tolerance: f32) {
    compare_file(model, model, backend, first, inputs, tolerance)
}

/// `file` (a stored form of `model`) against `model`'s reference logits.
fn compare_file(
    file: &str,
    model: &str,
    backend: Backend,
    first: usize,
    inputs: Vec<f32>,
    tolerance: f32,
) {
    let reference = reference();
    let n = inputs.len() / (3 * SIDE * SIDE);
    let bytes = std::fs::read(model_path(file)).unwrap();
    let liveness = LivenessModel::with_device(&bytes, backend.cpu_device().unwrap()).unwrap();
    let logits = pollster::block_on(liveness.logits_async(inputs, n)).unwrap();
    let mut worst = 0.0f32;
    for (i, got) in logits.chunks_exact(3).enumerate() {
        let want: Vec<f32> = reference["logits"][model][first + i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        for (g, w) in got.iter().zip(&want) {
            let d = (g - w).abs();
            worst = worst.max(d);
            assert!(
                d <= tolerance,
                "{model} on {}: input {} logits {got:?} vs onnxruntime {want:?}",
                backend.name(),
                first + i
            );
        }
    }
    println!(
        "{model} on {}: worst |logit difference| {worst:.2e}",
        backend.name()
    );
}

#[test]
fn synthetic_inputs_give_onnxruntimes_logits() {
    for backend in Backend::compiled() {
        for model in ["minifasnet-v1se", "minifasnet-v2"] {
            let inputs: Vec<f32> = (0..4).flat_map(synthetic).collect();
            compare(model, backend, 0, inputs, 1e-3);
        }
    }
}

#[test]
fn the_shipped_f16_file_stays_close_to_onnxruntime() {
    // f16 weights (expanded to f32 at load): measured worst 6e-3 on these inputs.
    let inputs: Vec<f32> = (0..4).flat_map(synthetic).collect();
    compare_file(
        "minifasnet-v1se-f16",
        "minifasnet-v1se",
        Backend::Flex,
        0,
        inputs,
        2e-2,
    );
}

#[test]
fn nuaa_frames_give_onnxruntimes_logits() {
    let shared = shared_or_skip!();
    let reference = reference();
    let crop = &reference["crop"];
    let at = |k: &str| crop[k].as_u64().unwrap() as usize;
    let mut inputs = Vec::new();
    for entry in reference["inputs"].as_array().unwrap().iter().skip(4) {
        let path = shared.join("data/nuaa").join(entry[1].as_str().unwrap());
        let image = Image::open(&path).unwrap();
        inputs.extend(frame_input(&image, at("x0"), at("y0"), at("step")));
    }
    // The JPEG decoders (PIL's libjpeg-turbo, the image crate's) differ by a level in some
    // pixels, which moves the logits by up to ~0.08 (measured): a looser bound than the
    // synthetic inputs' 1e-3, still far below what a wrong layer or channel order gives (whole
    // units; live and print frames are 5–8 logits apart).
    for model in ["minifasnet-v1se", "minifasnet-v2"] {
        compare(model, Backend::Flex, 4, inputs.clone(), 0.25);
    }
}

#[test]
fn crafted_liveness_weights_are_refused_with_typed_errors() {
    let good = std::fs::read(model_path("minifasnet-v1se")).unwrap();
    let device = || Backend::Flex.cpu_device().unwrap();
    let code = |bytes: &[u8]| match LivenessModel::with_device(bytes, device()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.kind(),
    };
    assert_eq!(code(&good[..good.len() / 2]), ErrorCode::ModelLoad);
    assert_eq!(code(&[]), ErrorCode::ModelLoad);
    // The embedder's weights are another model.
    assert_eq!(code(&common::weights()), ErrorCode::ModelVersion);
    // No crop scale, or a nonsense one.
    assert_eq!(
        code(&set_metadata(&good, "crop_scale", None).unwrap()),
        ErrorCode::ModelLoad
    );
    assert_eq!(
        code(&set_metadata(&good, "crop_scale", Some("NaN")).unwrap()),
        ErrorCode::ModelLoad
    );
    // A newer format.
    assert_eq!(
        code(&set_metadata(&good, "format_version", Some("99")).unwrap()),
        ErrorCode::ModelVersion
    );
    // Wrong inputs to a good model: typed errors, and the model still works after them.
    let model = LivenessModel::with_device(&good, device()).unwrap();
    let bad = |inputs: Vec<f32>, n| {
        pollster::block_on(model.logits_async(inputs, n))
            .unwrap_err()
            .kind()
    };
    assert_eq!(bad(vec![0.0; 10], 1), ErrorCode::InvalidInput);
    assert_eq!(bad(Vec::new(), 0), ErrorCode::InvalidInput);
    let mut nan = synthetic(0);
    nan[5] = f32::NAN;
    assert_eq!(bad(nan, 1), ErrorCode::InvalidInput);
    assert_eq!(
        pollster::block_on(model.logits_async(synthetic(1), 1))
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn live_frames_score_above_print_attacks_end_to_end() {
    let shared = shared_or_skip!();
    let pipeline = common::pipeline();
    let detector = pipeline.detector.as_ref().unwrap();
    let bytes = std::fs::read(model_path("minifasnet-v1se")).unwrap();
    let liveness = Liveness::new(vec![LivenessModel::with_device(
        &bytes,
        Backend::Flex.cpu_device().unwrap(),
    )
    .unwrap()])
    .unwrap();
    let score = |list: &str| {
        let path = shared.join("data/nuaa").join(list);
        let folder = if list.starts_with("client") {
            "ClientRaw"
        } else {
            "ImposterRaw"
        };
        let names: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .take(6)
            .map(String::from)
            .collect();
        let frames: Vec<Image> = names
            .iter()
            .map(|n| Image::open(shared.join("data/nuaa").join(folder).join(n)).unwrap())
            .collect();
        let faces: Vec<_> = frames
            .iter()
            .map(|f| detector.detect(f).unwrap().first().map(|face| face.bbox))
            .collect();
        pollster::block_on(liveness.assess_async(&frames, &faces, 0.5)).unwrap()
    };
    let live = score("client_test_raw.txt");
    let print = score("imposter_test_raw.txt");
    println!(
        "live track {:.3}, print track {:.3}",
        live.score, print.score
    );
    assert!(live.frames_with_face >= 5 && print.frames_with_face >= 5);
    assert!(live.score > 0.5 && print.score < 0.5, "{live:?} {print:?}");
}
