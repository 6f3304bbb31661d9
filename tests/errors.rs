//! Bad input is a typed error, never a panic, and the embedder keeps working afterwards.

mod common;

use webverify::{Backend, Embedder, Image, PixelFormat};

fn face_sized() -> Image {
    let pixels: Vec<u8> = (0..112 * 112 * 3).map(|i| (i % 251) as u8).collect();
    Image::from_pixels(&pixels, 112, 112, PixelFormat::Rgb, None).unwrap()
}

fn load_error(bytes: &[u8]) -> &'static str {
    match Embedder::new(bytes, Backend::DEFAULT_CPU) {
        Ok(_) => panic!("loaded a bad weights file"),
        Err(e) => e.code(),
    }
}

/// A copy of the real weights whose metadata entry `key` is replaced.
fn with_metadata(key: &str, value: &str) -> Vec<u8> {
    webverify::io::weights::set_metadata(&common::weights(), key, Some(value)).unwrap()
}

#[test]
fn bad_weights_are_typed_errors() {
    let good = common::weights();
    assert_eq!(load_error(&[]), "MODEL_LOAD");
    assert_eq!(load_error(&good[..good.len() / 2]), "MODEL_LOAD");
    assert_eq!(load_error(&good[..100]), "MODEL_LOAD");
    assert_eq!(load_error(b"<html>404 not found</html>"), "MODEL_LOAD");
    assert_eq!(
        load_error(&with_metadata("format", "something-else")),
        "MODEL_LOAD"
    );
    assert_eq!(
        load_error(&with_metadata("model", "arcface-r100")),
        "MODEL_VERSION"
    );
    assert_eq!(
        load_error(&with_metadata("format_version", "99")),
        "MODEL_VERSION"
    );
    assert_eq!(
        load_error(&with_metadata("embedding_dim", "512")),
        "MODEL_VERSION"
    );
    // Calibrations are checked for meaning: every threshold −1 would accept every pair "at FAR
    // 1e-6"; thresholds that fall as the FAR falls, FARs outside (0, 1] or below 1/negatives.
    for forged in [
        r#"{"source":"x","negatives":1000000,"curve":[[1.0,-1.0],[0.001,-1.0],[0.000001,-1.0]]}"#,
        r#"{"source":"x","negatives":1000,"curve":[[1.0,-0.2],[0.01,0.5],[0.001,0.3]]}"#,
        r#"{"source":"x","negatives":1000,"curve":[[1.5,-0.2],[0.01,0.5]]}"#,
        r#"{"source":"x","negatives":1000,"curve":[[1.0,-0.2],[0.00001,0.5]]}"#,
        r#"{"source":"x","negatives":1000,"curve":[[1.0,-3.0],[0.01,0.5]]}"#,
        r#"{"source":"x","negatives":0,"curve":[]}"#,
    ] {
        assert_eq!(
            load_error(&with_metadata("calibration", forged)),
            "MODEL_LOAD",
            "{forged}"
        );
    }
    // A weights file whose data is flipped to NaN.
    let mut nan = good.clone();
    let end = nan.len();
    nan[end - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(load_error(&nan), "MODEL_LOAD");
}

#[test]
fn bad_images_are_typed_errors_and_the_embedder_survives() {
    let embedder = Embedder::new(&common::weights(), Backend::DEFAULT_CPU).unwrap();
    let cases: Vec<(&str, webverify::Result<Image>)> = vec![
        (
            "zero width",
            Image::from_pixels(&[], 0, 10, PixelFormat::Rgba, None),
        ),
        (
            "zero height",
            Image::from_pixels(&[0; 40], 10, 0, PixelFormat::Rgba, None),
        ),
        (
            "short buffer",
            Image::from_pixels(&[0; 10 * 10 * 4 - 1], 10, 10, PixelFormat::Rgba, None),
        ),
        (
            "short stride",
            Image::from_pixels(&[0; 400], 10, 10, PixelFormat::Rgba, Some(39)),
        ),
        (
            "huge",
            Image::from_pixels(&[0; 4], 100_000, 1, PixelFormat::Gray, None),
        ),
        (
            "bad channels",
            PixelFormat::from_channels(2).map(|_| face_sized()),
        ),
        (
            // stride × (height − 1) overflows usize: it used to wrap past the length check.
            "overflowing stride",
            Image::from_pixels(&[0; 64], 4, 3, PixelFormat::Rgba, Some(usize::MAX / 2 + 1)),
        ),
    ];
    for (what, result) in cases {
        assert_eq!(
            result.err().map(|e| e.code()),
            Some("INVALID_INPUT"),
            "{what}"
        );
    }
    let e = embedder.embed(&face_sized()).unwrap();
    assert_eq!(e.len(), 192);
    assert!(webverify::verify(&e, &e[..10], 0.5).is_err());
    let again = embedder.embed(&face_sized()).unwrap();
    assert_eq!(e, again, "the same input gives the same embedding");
}

#[test]
fn missing_backend_is_a_typed_error() {
    assert_eq!(Backend::parse("tpu").unwrap_err().code(), "INVALID_INPUT");
    #[cfg(not(feature = "webgpu"))]
    assert_eq!(
        Embedder::new(&common::weights(), Backend::WebGpu)
            .err()
            .unwrap()
            .code(),
        "BACKEND_UNAVAILABLE"
    );
}

#[test]
fn corrupted_weight_files_are_errors_not_panics() {
    let good = common::weights();
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    // Damage the header (where parsing decisions are made) byte by byte, and cut the file at
    // many lengths.
    for at in (0..8 + n).step_by(7) {
        let mut bad = good.clone();
        bad[at] ^= 0x5a;
        let result = std::panic::catch_unwind(|| {
            webverify::io::weights::WeightFile::parse(&bad).map(|_| ())
        });
        assert!(result.is_ok(), "panicked with byte {at} changed");
    }
    for len in (0..good.len()).step_by(good.len() / 97) {
        let result = std::panic::catch_unwind(|| {
            webverify::io::weights::WeightFile::parse(&good[..len]).map(|_| ())
        });
        assert!(
            matches!(result, Ok(Err(_))),
            "a file cut at {len} bytes was not an error"
        );
    }
}

#[test]
fn a_digest_given_by_the_caller_names_the_model_and_a_malformed_one_is_refused() {
    use webverify::io::weights::{sha256_hex, WeightFile};
    let good = common::weights();
    let own = WeightFile::parse(&good).unwrap().info;
    assert_eq!(own.sha256, sha256_hex(&good));
    // The browser package hands over WebCrypto's digest of the same bytes: the same model.
    let given = WeightFile::parse_digested(&good, Some(&own.sha256))
        .unwrap()
        .info;
    assert_eq!((given.id(), given.sha256), (own.id(), own.sha256.clone()));
    for bad in [
        "",
        "abc",
        &own.sha256.to_uppercase(),
        &format!("{}0", own.sha256),
    ] {
        let e = WeightFile::parse_digested(&good, Some(bad)).err();
        assert_eq!(e.map(|e| e.code()), Some("INVALID_INPUT"), "digest {bad:?}");
    }
}
