//! Crafted tuned weights files: each is well-formed safetensors that passes the checksum and
//! format checks, and each would have stopped the verifier from verifying (or crashed it) had it
//! been loaded. All are refused with a typed error, and the embedder keeps working.

mod common;

use webverify::io::weights::{f32_bytes, write_file, Provenance};
use webverify::{Backend, Embedder, Image, PixelFormat};

const D: usize = 192;

/// An `adapter`-scope tuned file of the shipped model with adapter `W`, and metadata entries
/// replaced (`Some`) or removed (`None`).
fn adapter_file(embedder: &Embedder, w: &[f32], changes: &[(&str, Option<&str>)]) -> Vec<u8> {
    let base = embedder.shipped_info();
    let mut meta: Vec<(&str, Option<String>)> = vec![
        ("embedding_dim", Some(D.to_string())),
        ("input_size", Some("112".into())),
        ("base_model", Some(base.name.clone())),
        ("base_sha256", Some(base.sha256.clone())),
        ("scope", Some("adapter".into())),
    ];
    for (key, value) in changes {
        match meta.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.map(str::to_string),
            None => meta.push((key, value.map(str::to_string))),
        }
    }
    let extra: Vec<(&str, String)> = meta
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let provenance = Provenance {
        source: "crafted by tests/tuned_files.rs".into(),
        source_sha256: base.sha256.clone(),
    };
    let tensors = vec![("adapter.weight".to_string(), vec![D, D], f32_bytes(w))];
    write_file("mobilefacenet-tuned", &tensors, &extra, &provenance)
}

fn scaled_identity(s: f32) -> Vec<f32> {
    (0..D * D)
        .map(|i| if i / D == i % D { s } else { 0.0 })
        .collect()
}

fn face() -> Image {
    let pixels: Vec<u8> = (0..112 * 112 * 3).map(|i| (i * 7 % 253) as u8).collect();
    Image::from_pixels(&pixels, 112, 112, PixelFormat::Rgb, None).unwrap()
}

#[test]
fn crafted_tuned_files_are_refused_and_the_embedder_keeps_working() {
    let embedder = Embedder::new(&common::weights(), Backend::Flex).unwrap();
    let before = embedder.embed(&face()).unwrap();

    // The control: the identity adapter is a valid tuned model and changes nothing.
    let identity = adapter_file(&embedder, &vec![0.0; D * D], &[]);
    embedder.load_tuned(&identity).unwrap();
    let same = embedder.embed(&face()).unwrap();
    assert!(webverify::similarity(&before, &same).unwrap() > 0.9999);
    embedder.reset_model();

    let calibration_all_minus_one =
        r#"{"source":"x","negatives":1000000,"curve":[[1.0,-1.0],[0.001,-1.0],[0.000001,-1.0]]}"#;
    // The identity adapter with metadata changed: each change alone makes the file invalid.
    let identity_with =
        |changes: &[(&str, Option<&str>)]| adapter_file(&embedder, &vec![0.0; D * D], changes);
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        // I + W = 0: every embedding is zero.
        (
            "negated identity adapter".into(),
            adapter_file(&embedder, &scaled_identity(-1.0), &[]),
        ),
        (
            "adapter scaled to 1e30".into(),
            adapter_file(&embedder, &scaled_identity(1e30), &[]),
        ),
        ("NaN in the adapter".into(), {
            let mut w = vec![0.0; D * D];
            w[5] = f32::NAN;
            adapter_file(&embedder, &w, &[])
        }),
        ("adapter of the wrong shape".into(), {
            let text =
                String::from_utf8_lossy(&identity_with(&[])).replacen("[192,192]", "[96,384]", 1);
            text.into_bytes()
        }),
    ];
    for (key, value) in [
        ("embedding_dim", None),
        ("embedding_dim", Some("0")),
        ("embedding_dim", Some("5")),
        ("embedding_dim", Some("96")),
        ("embedding_dim", Some("384")),
        ("input_size", None),
        ("scope", Some("everything")),
        ("calibration", Some(calibration_all_minus_one)),
    ] {
        cases.push((format!("{key} = {value:?}"), identity_with(&[(key, value)])));
    }
    for (what, bytes) in &cases {
        let err = embedder.load_tuned(bytes).unwrap_err();
        assert_eq!(err.code(), "MODEL_LOAD", "{what}: {err}");
        assert!(
            embedder.tuned().is_none(),
            "{what}: a refused file changes nothing"
        );
    }
    // Another base model is a mismatch, not a load error.
    let foreign = adapter_file(
        &embedder,
        &vec![0.0; D * D],
        &[("base_sha256", Some(&"0".repeat(64)))],
    );
    assert_eq!(
        embedder.load_tuned(&foreign).unwrap_err().code(),
        "MODEL_MISMATCH"
    );

    let after = embedder.embed(&face()).unwrap();
    assert_eq!(
        before, after,
        "the embedder is unchanged by every refused file"
    );
    // And calibrate/enroll still work on the model in use.
    assert!(embedder.threshold(None).unwrap() > 0.0);
}
