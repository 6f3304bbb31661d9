//! The ONNX importer (`webverify convert model.onnx`): every test model converts and its program
//! gives onnxruntime's outputs (tests/fixtures/onnx/reference.json, made by
//! tools/onnx_test_models.py) on every compiled backend; the imported MobileFaceNet gives the
//! shipped model's embeddings on the reference faces; what cannot be imported is refused with an
//! error that names it.
//!
//! Tolerances: the small test models' outputs agree within 1e-4 (absolute; they are O(1));
//! MobileFaceNet within the fidelity test's bounds (cosine ≥ 0.99999, max |diff| ≤ 1e-3 × the
//! reference's norm); MiniFASNet's logits within 1e-3 × their largest magnitude.

mod common;

use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData};
use webverify::tools::onnx::{onnx_to_weights, ImportOptions};
use webverify::{Backend, Embedder, ErrorCode, ImportedNet};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

fn reference() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture("reference.json")).unwrap()).unwrap()
}

/// Sample `k` of a test batch, as tools/onnx_test_models.py's `pattern` makes it (exact in f32).
fn pattern(k: i64, len: usize) -> Vec<f32> {
    (0..len as i64)
        .map(|i| ((i * 37 + k * 101 + (i / 7) * 13) % 255) as f32 - 127.0)
        .map(|v| v / 128.0)
        .collect()
}

fn backends() -> Vec<Backend> {
    Backend::compiled()
        .into_iter()
        .filter(|b| b.name() != "webgpu")
        .collect()
}

fn convert(path: &Path, options: &ImportOptions) -> webverify::Result<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    Ok(onnx_to_weights(&bytes, "test.onnx", options)?.bytes)
}

/// Runs the imported `name` on the reference's samples and returns (ours, onnxruntime's).
fn outputs(name: &str, path: &Path, backend: Backend) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let reference = &reference()[name];
    let shape: Vec<usize> = serde_json::from_value(reference["input"].clone()).unwrap();
    let samples = reference["samples"].as_u64().unwrap() as usize;
    let want: Vec<Vec<f32>> = serde_json::from_value(reference["outputs"].clone()).unwrap();
    let device = pollster::block_on(backend.device_async()).unwrap();
    let net =
        ImportedNet::from_weights(&convert(path, &ImportOptions::default()).unwrap(), &device)
            .unwrap();
    let len: usize = shape.iter().product();
    let mut values = Vec::new();
    for k in 0..samples {
        let sample = pattern(k as i64, len);
        if net.preprocessing.layout == "nhwc" {
            // The program takes NCHW; the reference fed the model's own NHWC.
            let (h, w, c) = (shape[0], shape[1], shape[2]);
            for ch in 0..c {
                for p in 0..h * w {
                    values.push(sample[p * c + ch]);
                }
            }
        } else {
            values.extend(sample);
        }
    }
    let p = &net.preprocessing;
    let x = Tensor::from_data(
        TensorData::new(values, [samples, p.channels, p.size, p.size]),
        &device,
    );
    let out = net
        .forward(x)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let ours = out.chunks(net.output_dim).map(<[f32]>::to_vec).collect();
    (ours, want)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn the_small_test_models_give_onnxruntimes_outputs() {
    for backend in backends() {
        for name in ["tiny-resnet", "tiny-vit"] {
            let (ours, want) = outputs(name, &fixture(&format!("{name}.onnx")), backend);
            let worst = ours
                .iter()
                .zip(&want)
                .map(|(a, b)| max_diff(a, b))
                .fold(0.0, f32::max);
            let scale = want.iter().flatten().map(|v| v.abs()).fold(0.0, f32::max);
            println!(
                "{name} on {}: max |diff| {worst:.2e} (outputs up to {scale:.2})",
                backend.name()
            );
            assert!(scale > 0.5, "{name}: outputs too small to test anything");
            assert!(worst <= 1e-4, "{name} on {}: {worst}", backend.name());
        }
    }
}

#[test]
fn the_minifasnet_exports_give_onnxruntimes_logits() {
    let shared = shared_or_skip!();
    let files = [
        ("minifasnet-v2", "2.7_80x80_MiniFASNetV2.onnx"),
        ("minifasnet-v1se", "4_0_0_80x80_MiniFASNetV1SE.onnx"),
    ];
    for backend in backends() {
        for (name, file) in files {
            let path = shared.join("models-src/minifasnet").join(file);
            let (ours, want) = outputs(name, &path, backend);
            for (a, b) in ours.iter().zip(&want) {
                let scale = b.iter().map(|v| v.abs()).fold(0.0, f32::max);
                let diff = max_diff(a, b);
                println!(
                    "{name} on {}: max |diff| {diff:.2e} of {scale:.2}",
                    backend.name()
                );
                assert!(
                    diff <= 1e-3 * scale,
                    "{name} on {}: {a:?} vs {b:?}",
                    backend.name()
                );
            }
        }
    }
}

#[test]
fn the_imported_mobilefacenet_gives_onnxruntimes_and_the_shipped_models_embeddings() {
    let shared = shared_or_skip!();
    let path = shared.join("peers/ort/models/mobilefacenet.onnx");
    let options = ImportOptions {
        mean: Some(vec![127.5]),
        std: Some(vec![128.0]),
        ..ImportOptions::default()
    };
    let weights = convert(&path, &options).unwrap();
    let reference = common::reference(&shared);
    for backend in backends() {
        let (ours, want) = outputs("mobilefacenet", &path, backend);
        for (a, b) in ours.iter().zip(&want) {
            let (cos, diff) = common::agreement(a, b);
            assert!(cos >= 0.99999 && diff <= 1e-3, "onnxruntime: {cos} {diff}");
        }
        // The reference faces through the imported file's own preprocessing, against the
        // TFLite reference and the shipped model.
        let device = pollster::block_on(backend.device_async()).unwrap();
        let net = ImportedNet::from_weights(&weights, &device).unwrap();
        let imported = pollster::block_on(net.embed_raw(&reference.images, &device)).unwrap();
        let shipped = Embedder::new(&common::weights(), backend).unwrap();
        let shipped = pollster::block_on(shipped.embed_raw(&reference.images)).unwrap();
        let mut worst = (1.0f64, 0.0f64);
        for ((got, tflite), ours) in imported.iter().zip(&reference.outputs).zip(&shipped) {
            for want in [tflite, ours] {
                let (cos, diff) = common::agreement(got, want);
                assert!(
                    cos >= 0.99999 && diff <= 1e-3,
                    "{}: {cos} {diff}",
                    backend.name()
                );
                worst = (worst.0.min(cos), worst.1.max(diff));
            }
        }
        println!(
            "imported MobileFaceNet on {}: worst cosine {:.8}, max|diff|/norm {:.2e} over {} faces",
            backend.name(),
            worst.0,
            worst.1,
            imported.len()
        );
    }
}

#[test]
fn an_unsupported_operator_is_named_with_its_node() {
    let e = convert(&fixture("unsupported.onnx"), &ImportOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorCode::ModelLoad);
    let message = e.to_string();
    assert!(
        message.contains("Einsum") && message.contains("\"mix\""),
        "{message}"
    );
}

#[test]
fn broken_models_and_files_are_typed_errors() {
    let bytes = std::fs::read(fixture("tiny-resnet.onnx")).unwrap();
    // Truncated ONNX bytes and bytes that are not ONNX at all.
    for bad in [&bytes[..bytes.len() / 2], b"not an onnx model".as_slice()] {
        let e = onnx_to_weights(bad, "bad.onnx", &ImportOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorCode::ModelLoad, "{e}");
    }
    // An option the input cannot take.
    let options = ImportOptions {
        mean: Some(vec![1.0, 2.0]),
        ..ImportOptions::default()
    };
    assert!(onnx_to_weights(&bytes, "m.onnx", &options).is_err());
    // A converted file whose program or preprocessing was tampered with.
    let weights = onnx_to_weights(&bytes, "m.onnx", &ImportOptions::default())
        .unwrap()
        .bytes;
    let device = pollster::block_on(Backend::Flex.device_async()).unwrap();
    let file = webverify::io::weights::WeightFile::parse_model(&weights, webverify::IMPORTED_MODEL)
        .unwrap();
    let program = file.info.metadata["program"].clone();
    let tampered = [
        (
            "program",
            program.replacen("\"groups\":2", "\"groups\":3", 1),
        ),
        (
            "program",
            program.replacen("\"in_channels\":3", "\"in_channels\":5", 1),
        ),
        (
            "program",
            program.replacen("\"input\":", "\"input\":9999,\"x\":", 1),
        ),
        ("program", "{\"ops\":[]}".to_string()),
        ("preprocessing", "{\"size\":0}".to_string()),
        ("output_dim", "many".to_string()),
    ];
    for (key, value) in tampered {
        assert!(value != program, "the tampering changed nothing");
        let bad = webverify::io::weights::set_metadata(&weights, key, Some(&value)).unwrap();
        let e = ImportedNet::from_weights(&bad, &device)
            .err()
            .unwrap_or_else(|| panic!("{key} = {value} was accepted"));
        assert_eq!(e.kind(), ErrorCode::ModelLoad, "{key}: {e}");
    }
    // The intact file still loads on the same device afterwards.
    ImportedNet::from_weights(&weights, &device).unwrap();
}

#[cfg(feature = "flex")]
#[test]
fn the_packed_cpu_kernels_run_what_they_can_and_agree_with_burns_ops() {
    let shared = common::shared();
    let mut models = vec![
        ("tiny-resnet".to_string(), fixture("tiny-resnet.onnx")),
        ("tiny-vit".to_string(), fixture("tiny-vit.onnx")),
    ];
    if let Some(shared) = &shared {
        models.push((
            "mobilefacenet".into(),
            shared.join("peers/ort/models/mobilefacenet.onnx"),
        ));
        models.push((
            "minifasnet-v1se".into(),
            shared.join("models-src/minifasnet/4_0_0_80x80_MiniFASNetV1SE.onnx"),
        ));
    }
    let device = pollster::block_on(Backend::Flex.device_async()).unwrap();
    let images: Vec<webverify::Image> = (0..3)
        .map(|k| {
            let pixels: Vec<u8> = (0..64 * 64 * 3)
                .map(|i| ((i * 7 + k * 31) % 251) as u8)
                .collect();
            webverify::Image::from_pixels(&pixels, 64, 64, webverify::PixelFormat::Rgb, None)
                .unwrap()
        })
        .collect();
    let mut packed_counts = Vec::new();
    for (name, path) in &models {
        let net =
            ImportedNet::from_weights(&convert(path, &ImportOptions::default()).unwrap(), &device)
                .unwrap();
        net.set_packed_kernels(false);
        assert_eq!(net.packed_convolutions(), 0);
        let on_burn = pollster::block_on(net.embed_raw(&images, &device)).unwrap();
        net.set_packed_kernels(true);
        let packed = net.packed_convolutions();
        let on_kernels = pollster::block_on(net.embed_raw(&images, &device)).unwrap();
        for (a, b) in on_kernels.iter().zip(&on_burn) {
            let scale = b.iter().map(|v| v.abs()).fold(0.0, f32::max).max(1e-6);
            let diff = max_diff(a, b);
            assert!(diff <= 1e-4 * scale.max(1.0), "{name}: {diff} of {scale}");
        }
        println!("{name}: {packed} convolutions on the packed kernels");
        packed_counts.push((name.clone(), packed));
    }
    // MobileFaceNet's whole conv stack (52 convs) runs packed; MiniFASNet's stem and first
    // depthwise conv (its pruned 1x1 convs have channel counts the GEMM's panels do not take);
    // the test models none (they start with element-wise ops: only a leading run of convs is
    // packed).
    for (name, packed) in packed_counts {
        match name.as_str() {
            "mobilefacenet" => assert_eq!(packed, 52, "{name}"),
            "minifasnet-v1se" => assert!(packed >= 2, "{name}"),
            _ => assert_eq!(packed, 0, "{name}"),
        }
    }
}
