//! Browser tests (wasm-bindgen-test in headless Chromium), on the CPU backend and on WebGPU:
//! fidelity against the TFLite reference, bad input that leaves the engine usable, and the
//! fine-tuning losses, gradients and augmentations on every device.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;
use webverify::{Backend, Embedder, Image, PixelFormat};

wasm_bindgen_test_configure!(run_in_browser);

const WEIGHTS: &[u8] = include_bytes!("../models/mobilefacenet.safetensors");
const REFERENCE_IMAGES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/reference.bin"));
const REFERENCE_JSON: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/reference.json"));

fn u32_at(bytes: &[u8], at: &mut usize) -> usize {
    let v = u32::from_le_bytes(bytes[*at..*at + 4].try_into().unwrap()) as usize;
    *at += 4;
    v
}

/// (name, image, reference raw output) for the 16 reference inputs decoded by build.rs.
fn reference() -> Vec<(String, Image, Vec<f32>)> {
    let json: serde_json::Value = serde_json::from_slice(REFERENCE_JSON).unwrap();
    let mut at = 0;
    let count = u32_at(REFERENCE_IMAGES, &mut at);
    (0..count)
        .map(|_| {
            let n = u32_at(REFERENCE_IMAGES, &mut at);
            let name = String::from_utf8(REFERENCE_IMAGES[at..at + n].to_vec()).unwrap();
            at += n;
            let (width, height) = (
                u32_at(REFERENCE_IMAGES, &mut at),
                u32_at(REFERENCE_IMAGES, &mut at),
            );
            let channels = u32_at(REFERENCE_IMAGES, &mut at);
            let len = width * height * channels;
            let format = PixelFormat::from_channels(channels).unwrap();
            let image =
                Image::from_pixels(&REFERENCE_IMAGES[at..at + len], width, height, format, None)
                    .unwrap();
            at += len;
            let want = json["outputs"][&name]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            (name, image, want)
        })
        .collect()
}

fn agreement(ours: &[f32], reference: &[f32]) -> (f64, f64) {
    let dot: f64 = ours
        .iter()
        .zip(reference)
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum();
    let na = ours.iter().map(|&a| (a as f64).powi(2)).sum::<f64>().sqrt();
    let nb = reference
        .iter()
        .map(|&b| (b as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    let max = ours
        .iter()
        .zip(reference)
        .map(|(&a, &b)| (a as f64 - b as f64).abs())
        .fold(0.0, f64::max);
    (dot / (na * nb), max / nb)
}

async fn fidelity(backend: Backend) {
    if !cfg!(has_shared_reference) {
        console_log!("SKIPPED: ../shared was absent at build time");
        return;
    }
    let reference = reference();
    assert_eq!(reference.len(), 16);
    let embedder = Embedder::load(WEIGHTS, backend).await.unwrap();
    let images: Vec<Image> = reference.iter().map(|r| r.1.clone()).collect();
    let ours = embedder.embed_raw(&images).await.unwrap();
    let (mut worst_cos, mut worst_diff) = (1.0f64, 0.0f64);
    for ((name, _, want), got) in reference.iter().zip(&ours) {
        let (cos, diff) = agreement(got, want);
        assert!(cos >= 0.99999, "{}: {name} cosine {cos}", backend.name());
        assert!(
            diff <= 1e-3,
            "{}: {name} max diff {diff} x norm",
            backend.name()
        );
        worst_cos = worst_cos.min(cos);
        worst_diff = worst_diff.max(diff);
    }
    console_log!(
        "fidelity wasm {}: worst cosine {worst_cos:.8}, worst max|diff|/norm {worst_diff:.2e}",
        backend.name()
    );
}

async fn errors_leave_the_engine_usable(backend: Backend) {
    // Bad weights: typed errors, no panic.
    for bad in [
        &WEIGHTS[..WEIGHTS.len() / 2],
        &WEIGHTS[..10],
        b"not a model".as_slice(),
    ] {
        let e = Embedder::load(bad, backend)
            .await
            .err()
            .expect("bad weights accepted");
        assert_eq!(e.code(), "MODEL_LOAD");
    }
    let embedder = Embedder::load(WEIGHTS, backend).await.unwrap();
    // Bad images: typed errors.
    assert_eq!(
        Image::from_pixels(&[], 0, 0, PixelFormat::Rgba, None)
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
    assert_eq!(
        Image::from_pixels(&[0; 99], 5, 5, PixelFormat::Rgba, None)
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
    // Then a good call on the same engine.
    let pixels: Vec<u8> = (0..112 * 112 * 4).map(|i| (i % 253) as u8).collect();
    let image = Image::from_pixels(&pixels, 112, 112, PixelFormat::Rgba, None).unwrap();
    let e = embedder.embed_async(&image).await.unwrap();
    let norm: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
}

#[wasm_bindgen_test]
async fn cpu_fidelity() {
    fidelity(Backend::DEFAULT_CPU).await;
}

#[wasm_bindgen_test]
async fn cpu_errors_leave_the_engine_usable() {
    errors_leave_the_engine_usable(Backend::DEFAULT_CPU).await;
}

#[wasm_bindgen_test]
async fn webgpu_fidelity() {
    fidelity(Backend::WebGpu).await;
}

#[wasm_bindgen_test]
async fn webgpu_errors_leave_the_engine_usable() {
    errors_leave_the_engine_usable(Backend::WebGpu).await;
}

/// Every loss, its gradient and the augmentations on `backend` agree with the same code on
/// the CPU backend (whose values the native tests check by hand and by finite differences).
async fn losses_and_augmentations(backend: Backend) {
    use burn::tensor::{Tensor, TensorData};
    use webverify::train::augment::Augmentation;
    use webverify::train::losses::{nt_xent, supcon, triplet_semi_hard, MarginHead};
    use webverify::Rng;

    let (n, d) = (8, 6);
    let values = Rng::new(11).centred(n * d);
    let weights = Rng::new(12).centred(4 * d);
    let labels = [0, 0, 1, 1, 2, 2, 3, 3];
    async fn read(t: Tensor<1>) -> Vec<f32> {
        t.into_data_async()
            .await
            .unwrap()
            .try_to_vec::<f32>()
            .unwrap()
    }
    // Loss value and gradient with respect to the embeddings, on one device.
    async fn run(
        device: &burn::tensor::Device,
        values: &[f32],
        weights: &[f32],
        which: usize,
        labels: &[usize],
    ) -> (f32, Vec<f32>) {
        let (n, d) = (labels.len(), values.len() / labels.len());
        let x = Tensor::<2>::from_data(TensorData::new(values.to_vec(), [n, d]), device)
            .autodiff()
            .require_grad();
        let w = Tensor::<2>::from_data(TensorData::new(weights.to_vec(), [4, d]), device);
        let loss = match which {
            0 => nt_xent(x.clone(), 0.5).unwrap(),
            1 => supcon(x.clone(), labels, 0.5).unwrap(),
            2 => triplet_semi_hard(x.clone(), labels, 0.5).unwrap(),
            3 => MarginHead::Softmax { scale: 4.0 }
                .loss(x.clone(), w, labels)
                .unwrap(),
            4 => MarginHead::CosFace {
                scale: 4.0,
                margin: 0.3,
            }
            .loss(x.clone(), w, labels)
            .unwrap(),
            5 => MarginHead::ArcFace {
                scale: 4.0,
                margin: 0.3,
            }
            .loss(x.clone(), w, labels)
            .unwrap(),
            _ => MarginHead::SphereFace {
                scale: 4.0,
                margin: 2,
            }
            .loss(x.clone(), w, labels)
            .unwrap(),
        };
        let value = read(loss.clone()).await[0];
        let grads = loss.backward();
        let g = x.grad(&grads).unwrap().flatten::<1>(0, 1);
        (value, read(g).await)
    }
    let device = backend.device_async().await.unwrap();
    let cpu = Backend::DEFAULT_CPU.device_async().await.unwrap();
    for which in 0..7 {
        let (v, g) = run(&device, &values, &weights, which, &labels).await;
        let (v_cpu, g_cpu) = run(&cpu, &values, &weights, which, &labels).await;
        // GPU transcendentals (acos, cos in SphereFace) differ in the last digits.
        assert!(
            (v - v_cpu).abs() < 1e-4 + 1e-4 * v_cpu.abs(),
            "loss {which}: {v} on {backend:?}, {v_cpu} on the CPU"
        );
        for (a, b) in g.iter().zip(&g_cpu) {
            assert!(
                (a - b).abs() < 1e-4 + 1e-3 * b.abs(),
                "loss {which} gradient: {a} vs {b}"
            );
        }
    }
    // The same seeded views on both devices.
    let pixels = Rng::new(5).centred(2 * 3 * 32 * 32);
    let view = |device: &burn::tensor::Device| {
        let x = Tensor::<4>::from_data(TensorData::new(pixels.clone(), [2, 3, 32, 32]), device);
        Augmentation::default()
            .apply(x, &mut Rng::new(9))
            .flatten::<1>(0, 3)
    };
    let (a, b) = (read(view(&device)).await, read(view(&cpu)).await);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(
        worst < 1e-3,
        "augmentations differ by {worst} on {backend:?}"
    );
}

#[wasm_bindgen_test]
async fn webgpu_losses_and_augmentations() {
    losses_and_augmentations(Backend::WebGpu).await;
}

// NdArray is not in the shipped modules (Makefile: WASM_FEATURES); this runs when it is built in.
#[cfg(feature = "ndarray")]
#[wasm_bindgen_test]
async fn cpu_ndarray_losses_and_augmentations() {
    losses_and_augmentations(Backend::NdArray).await;
}
