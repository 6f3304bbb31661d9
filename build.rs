//! Makes the reference inputs available to the browser tests (`tests/web.rs`), which cannot read
//! files: when `../shared` is present its 16 reference PNGs and the TFLite outputs are copied
//! into OUT_DIR and `has_shared_reference` is set; otherwise empty stand-ins are written and the
//! tests skip with a message. Nothing from here is compiled into the library itself.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_shared_reference)");
    let out = std::env::var("OUT_DIR").unwrap();
    let shared = std::env::var("WEBVERIFY_SHARED").unwrap_or_else(|_| "../shared".into());
    let inputs = Path::new(&shared).join("reference/mobilefacenet/inputs");
    let outputs = Path::new(&shared).join("reference/mobilefacenet-tflite/embeddings.json");
    println!("cargo::rerun-if-changed={}", outputs.display());
    println!("cargo::rerun-if-env-changed=WEBVERIFY_SHARED");

    // reference.bin: u32 count, then per image u32 name length, name, u32 PNG length, PNG.
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
            let bytes = std::fs::read(&p).unwrap();
            blob.extend((name.len() as u32).to_le_bytes());
            blob.extend(name.as_bytes());
            blob.extend((bytes.len() as u32).to_le_bytes());
            blob.extend(bytes);
        }
        json = j;
        println!("cargo::rustc-cfg=has_shared_reference");
    }
    std::fs::write(Path::new(&out).join("reference.bin"), blob).unwrap();
    std::fs::write(Path::new(&out).join("reference.json"), json).unwrap();
}
