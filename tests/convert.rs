//! The converter turns the source TFLite model into exactly the committed weights, and refuses
//! files that are not the network it knows.

mod common;

use webverify::tools::convert::Architecture;
use webverify::tools::convert::{convert_tflite, convert_to_weights};

fn tflite(shared: &std::path::Path) -> Vec<u8> {
    std::fs::read(shared.join("models-src/mobilefacenet-tflite/MobileFaceNet.tflite")).unwrap()
}

#[test]
fn conversion_reproduces_the_committed_weights() {
    let shared = shared_or_skip!();
    let converted = convert_to_weights(&tflite(&shared), "MobileFaceNet.tflite").unwrap();
    // The committed file also carries the score calibration, added by `webverify calibrate`.
    let committed =
        webverify::io::weights::set_metadata(&common::weights(), "calibration", None).unwrap();
    assert!(
        converted == committed,
        "models/mobilefacenet.safetensors differs from a fresh conversion: re-run \
         `webverify convert` and update models/README.md"
    );
}

#[test]
fn conversion_finds_every_layer_with_its_prelu() {
    let shared = shared_or_skip!();
    let arch = Architecture::mobilefacenet();
    let convs = convert_tflite(&tflite(&shared), &arch).unwrap();
    assert_eq!(convs.len(), arch.convs().len());
    assert_eq!(arch.convs().len(), 3 + 15 * 3 + 4);
    let prelus = convs.iter().filter(|c| c.alpha.is_some()).count();
    // stem conv + stem depthwise + 2 per bottleneck + head expansion.
    assert_eq!(prelus, 2 + 15 * 2 + 1);
    // The slopes are 2c of the `c·(x − |x|)` term: small positive numbers, as PReLU learns.
    let alpha = convs[0].alpha.as_ref().unwrap();
    assert!(alpha.iter().all(|a| a.is_finite()) && alpha.iter().any(|&a| a != 0.0));
    let params: usize = convs
        .iter()
        .map(|c| c.weight.len() + c.bias.len() + c.alpha.as_ref().map_or(0, Vec::len))
        .sum();
    // 1.30 M parameters, as MobileFaceNet with batch norm folded.
    assert!(
        (1_250_000..1_350_000).contains(&params),
        "{params} parameters"
    );
}

#[test]
fn conversion_refuses_other_files() {
    let shared = shared_or_skip!();
    let arch = Architecture::mobilefacenet();
    let bytes = tflite(&shared);
    for (what, bad) in [
        ("empty", Vec::new()),
        ("truncated", bytes[..bytes.len() / 3].to_vec()),
        (
            "TF.js graph",
            std::fs::read(shared.join("models-src/mobilefacenet/mobilefacenet.json")).unwrap(),
        ),
    ] {
        let e = convert_tflite(&bad, &arch)
            .err()
            .unwrap_or_else(|| panic!("{what} accepted"));
        assert_eq!(e.code(), "MODEL_LOAD", "{what}: {e}");
    }
    // A real TFLite file of another network (the anti-spoofing model) fails the layer check.
    let other =
        std::fs::read(shared.join("models-src/face-antispoofing-tflite/FaceAntiSpoofing.tflite"))
            .unwrap();
    let e = convert_tflite(&other, &arch)
        .err()
        .expect("another network accepted");
    assert_eq!(e.code(), "MODEL_LOAD");
}

#[test]
fn corrupted_tflite_files_are_errors_not_panics() {
    let shared = shared_or_skip!();
    let arch = Architecture::mobilefacenet();
    let bytes = tflite(&shared);
    // Overwrite 4 bytes at positions spread over the header, the tables and the weights; the
    // verifier or the layer check must answer, whatever the result.
    let mut state = 0x2545_f491_u32;
    for _ in 0..300 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let at = (state as usize) % (bytes.len() - 4);
        let mut bad = bytes.clone();
        bad[at..at + 4].copy_from_slice(&state.to_le_bytes());
        let _ = std::panic::catch_unwind(|| convert_tflite(&bad, &arch))
            .unwrap_or_else(|_| panic!("panicked on 4 bytes changed at offset {at}"));
    }
}

/// A TF.js manifest whose shape product overflows `usize` used to wrap to a small count and
/// pass the length check (a panic in debug builds, garbage in release ones).
#[test]
fn tfjs_shapes_that_overflow_are_errors() {
    let huge = 1usize << 40;
    let json = serde_json::json!({
        "modelTopology": { "node": [] },
        "weightsManifest": [{ "paths": [], "weights": [
            { "name": "w", "shape": [huge, huge, 16], "dtype": "float32" }
        ] }]
    });
    let err = webverify::tools::tfjs::Graph::parse(json.to_string().as_bytes(), &[0; 64])
        .err()
        .expect("an overflowing shape is refused");
    assert_eq!(err.code(), "MODEL_LOAD", "{err}");
}

#[test]
fn liveness_conversion_reproduces_the_committed_weights() {
    let shared = shared_or_skip!();
    for (source, committed, scale) in [
        (
            "4_0_0_80x80_MiniFASNetV1SE.pth",
            "minifasnet-v1se.safetensors",
            4.0,
        ),
        (
            "2.7_80x80_MiniFASNetV2.pth",
            "minifasnet-v2.safetensors",
            2.7,
        ),
    ] {
        let name = webverify::tools::minifasnet::crop_scale_from_name(source).unwrap();
        assert_eq!(name, scale);
        let converted = webverify::tools::minifasnet::minifasnet_from_pytorch(
            &shared.join("models-src/minifasnet").join(source),
            scale,
        )
        .unwrap();
        let want = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("models")
                .join(committed),
        )
        .unwrap();
        assert!(
            converted == want,
            "models/{committed} differs from a fresh conversion"
        );
    }
    // A file that is not a PyTorch checkpoint is an error, not a panic.
    let not_torch = shared.join("models-src/face-mesh/facemesh.json");
    assert_eq!(
        webverify::tools::minifasnet::minifasnet_from_pytorch(&not_torch, 4.0)
            .unwrap_err()
            .code(),
        "MODEL_LOAD"
    );
}
