//! Makes the reference inputs available to the browser tests (`tests/web.rs`), which cannot read
//! files: when `../shared` is present its 16 reference PNGs, decoded here, and the TFLite outputs
//! are written into OUT_DIR and `has_shared_reference` is set; otherwise empty stand-ins are
//! written and the tests skip with a message. Nothing from here is compiled into the library.
//!
//! The PNGs are decoded here rather than in the test: `png` as a wasm dev-dependency turned on
//! features of `miniz_oxide` that burn also depends on (through backtrace), so the test build
//! and the release build of the wasm module resolved different features and burn was compiled
//! twice.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_shared_reference)");
    let out = std::env::var("OUT_DIR").unwrap();
    let shared = std::env::var("WEBVERIFY_SHARED").unwrap_or_else(|_| "../shared".into());
    let inputs = Path::new(&shared).join("reference/mobilefacenet/inputs");
    let outputs = Path::new(&shared).join("reference/mobilefacenet-tflite/embeddings.json");
    println!("cargo::rerun-if-changed={}", outputs.display());
    println!("cargo::rerun-if-env-changed=WEBVERIFY_SHARED");
    println!("cargo::rerun-if-env-changed=WEBVERIFY_REQUIRE_SHARED");
    // CI sets WEBVERIFY_REQUIRE_SHARED=1: there the empty stand-in would let the browser
    // fidelity tests pass having checked nothing, so a missing folder stops the build instead.
    let required = std::env::var("WEBVERIFY_REQUIRE_SHARED").is_ok_and(|v| v == "1");
    if required && !(inputs.is_dir() && outputs.is_file()) {
        panic!(
            "WEBVERIFY_REQUIRE_SHARED=1 but the reference data is absent ({} / {})",
            inputs.display(),
            outputs.display()
        );
    }

    // reference.bin: u32 count, then per image u32 name length, name, u32 width, u32 height,
    // u32 channels (1, 3 or 4), and the packed 8-bit pixels.
    let mut blob = Vec::new();
    let mut json = b"{}".to_vec();
    if let (Ok(entries), Ok(j)) = (std::fs::read_dir(&inputs), std::fs::read(&outputs)) {
        let mut pngs: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        pngs.sort();
        blob.extend((pngs.len() as u32).to_le_bytes());
        for p in pngs {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let (width, height, channels, pixels) = decode_png(&p);
            blob.extend((name.len() as u32).to_le_bytes());
            blob.extend(name.as_bytes());
            for v in [width, height, channels] {
                blob.extend(v.to_le_bytes());
            }
            blob.extend(pixels);
        }
        json = j;
        println!("cargo::rustc-cfg=has_shared_reference");
    }
    std::fs::write(Path::new(&out).join("reference.bin"), blob).unwrap();
    std::fs::write(Path::new(&out).join("reference.json"), json).unwrap();
}

/// `(width, height, channels, packed 8-bit pixels)` of a PNG.
fn decode_png(path: &Path) -> (u32, u32, u32, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        png::ColorType::Grayscale => 1,
        other => panic!("{}: unexpected PNG colour type {other:?}", path.display()),
    };
    let row = info.width as usize * channels;
    let pixels = buf
        .chunks(info.line_size)
        .take(info.height as usize)
        .flat_map(|line| &line[..row])
        .copied()
        .collect();
    (info.width, info.height, channels as u32, pixels)
}
