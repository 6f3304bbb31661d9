//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The project's `../shared` folder (or `$WEBVERIFY_SHARED`), if present. Tests that need it
/// print why they skip and return — unless `WEBVERIFY_REQUIRE_SHARED=1` (set by CI), where a
/// missing folder fails the test: a skip that passes in CI would check nothing.
pub fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("WEBVERIFY_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if !dir.is_dir() && shared_required() {
        panic!(
            "WEBVERIFY_REQUIRE_SHARED=1 but {} is absent: this test would check nothing",
            dir.display()
        );
    }
    dir.is_dir().then_some(dir)
}

/// True where skipping for want of `../shared` must fail instead (CI).
pub fn shared_required() -> bool {
    std::env::var("WEBVERIFY_REQUIRE_SHARED").is_ok_and(|v| v == "1")
}

#[macro_export]
macro_rules! shared_or_skip {
    () => {
        match common::shared() {
            Some(dir) => dir,
            None => {
                eprintln!("SKIPPED: ../shared is absent (set WEBVERIFY_SHARED to run this test)");
                return;
            }
        }
    };
}

pub fn weights_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(webverify::DEFAULT_WEIGHTS_PATH)
}

pub fn weights() -> Vec<u8> {
    std::fs::read(weights_path()).expect("models/mobilefacenet.safetensors is committed")
}

/// The 16 reference inputs and the TFLite interpreter's raw outputs for them.
pub struct Reference {
    pub names: Vec<String>,
    pub images: Vec<webverify::Image>,
    pub outputs: Vec<Vec<f32>>,
}

pub fn reference(shared: &Path) -> Reference {
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(shared.join("reference/mobilefacenet-tflite/embeddings.json")).unwrap(),
    )
    .unwrap();
    let outputs = json["outputs"].as_object().unwrap();
    let mut names: Vec<String> = outputs.keys().cloned().collect();
    names.sort();
    let images = names
        .iter()
        .map(|n| {
            webverify::Image::open(shared.join("reference/mobilefacenet/inputs").join(n)).unwrap()
        })
        .collect();
    let outputs = names
        .iter()
        .map(|n| {
            outputs[n]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    Reference {
        names,
        images,
        outputs,
    }
}

/// (cosine similarity, max |a − b| / ‖b‖) of an output against its reference.
pub fn agreement(ours: &[f32], reference: &[f32]) -> (f64, f64) {
    let dot: f64 = ours
        .iter()
        .zip(reference)
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum();
    let na: f64 = ours.iter().map(|&a| (a as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = reference
        .iter()
        .map(|&b| (b as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    let max_diff = ours
        .iter()
        .zip(reference)
        .map(|(&a, &b)| (a as f64 - b as f64).abs())
        .fold(0.0, f64::max);
    (dot / (na * nb), max_diff / nb)
}

/// The shipped embedder and detector on the Flex CPU backend.
pub fn pipeline() -> webverify::Pipeline {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    webverify::Pipeline::from_paths(
        root.join(webverify::DEFAULT_WEIGHTS_PATH),
        root.join(webverify::DEFAULT_DETECTOR_PATH),
        webverify::Backend::Flex,
    )
    .unwrap()
}
