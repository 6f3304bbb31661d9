//! What the fuzz targets that need the engine do with one input: hand bytes from outside to the
//! readers the runtime and the converters use. Each must return an error or a value, never
//! panic, overflow, hang or allocate without bound. Shared by the fuzz targets
//! (fuzz/fuzz_targets/) and `cargo test --test fuzz_corpus`, which replays their corpora.

use webverify::tools::convert::{blazeface_from_tfjs, convert_to_weights};
use webverify::{Backend, Detector, Embedder};

thread_local! {
    /// The shipped embedder on Flex: tuned files are checked against it, and its device holds
    /// the detectors.
    static BASE: Embedder = Embedder::new(
        include_bytes!("../../models/mobilefacenet.safetensors"),
        Backend::Flex,
    )
    .expect("the shipped weights load");
}

/// The first byte steers, the rest is the file.
fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((flag, rest)) => (*flag, rest),
        None => (0, data),
    }
}

/// Weights files as `Verifier.create` takes them from `modelUrl` / `detectorUrl`: bit 0 of the
/// first byte picks the detector.
pub fn weights_bytes(data: &[u8]) {
    let (flag, file) = split(data);
    if flag & 1 == 0 {
        let _ = Embedder::new(file, Backend::Flex);
    } else {
        BASE.with(|base| {
            let _ = Detector::with_device(file, base.device().clone());
        });
    }
}

/// Tuned weights as `importTuned` takes them; a file that loads is then used once (an
/// embedding of a flat grey face) and the model reset.
pub fn tuned_bytes(data: &[u8]) {
    BASE.with(|base| {
        if base.load_tuned(data).is_ok() {
            let face = webverify::Image::from_pixels(
                &[128; 112 * 112 * 3],
                112,
                112,
                webverify::PixelFormat::Rgb,
                None,
            )
            .expect("a valid image");
            let _ = base.embed(&face);
            base.reset_model();
        }
    });
}

/// A TFLite file given to `webverify convert`.
pub fn tflite_graph(data: &[u8]) {
    let _ = convert_to_weights(data, "fuzz");
}

/// A TF.js graph given to `webverify convert` (a model.json): the first four bytes (little
/// endian) say how many of the rest are model.json; the others are the weights shard.
pub fn tfjs_graph(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let split_at =
        (u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize).min(data.len() - 4);
    let (json, weights) = data[4..].split_at(split_at);
    let _ = blazeface_from_tfjs(json, weights, "fuzz");
}
