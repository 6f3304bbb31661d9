//! Replays the corpora of the fuzz targets for the engine's readers and the pixel unpacking
//! (`fuzz/corpus/<target>`, grown by `make fuzz`) through the same code the targets run
//! (fuzz/harness/): every input must be an error or a value, never a panic. Also writes the
//! seed inputs (`--ignored`; the TFLite and TF.js seeds need `../shared`).

use std::path::{Path, PathBuf};

#[path = "../fuzz/harness/engine.rs"]
mod engine;
#[path = "../fuzz/harness/pixels.rs"]
#[macro_use]
mod pixels;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Runs `run` on every file of the target's corpus; returns how many there were.
fn replay(target: &str, run: impl Fn(&[u8])) -> usize {
    let dir = corpus(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (the corpus is committed)", dir.display()))
    {
        run(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= 2, "{target}: the corpus holds at least the seeds");
    n
}

#[test]
fn weights_corpus() {
    replay("weights_bytes", engine::weights_bytes);
}

#[test]
fn tuned_corpus() {
    replay("tuned_bytes", engine::tuned_bytes);
}

#[test]
fn tflite_corpus() {
    replay("tflite_graph", engine::tflite_graph);
}

#[test]
fn tfjs_corpus() {
    replay("tfjs_graph", engine::tfjs_graph);
}

#[test]
fn pixels_corpus() {
    replay("pixels", |data| {
        unpack_pixels!(data, webverify::Image::unpack)
    });
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(corpus(target)).unwrap();
    std::fs::write(corpus(target).join(name), bytes).unwrap();
}

/// A safetensors file's header with `keep` bytes of its data: the readers get past the header
/// checks to the tensors.
fn header_and(bytes: &[u8], keep: usize) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[..(8 + n + keep).min(bytes.len())].to_vec()
}

/// Writes the seeds: headers of the shipped files, a valid tuned adapter, small valid pixel
/// batches, and the first bytes of the source graphs.
#[test]
#[ignore]
fn write_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read(root.join(webverify::DEFAULT_WEIGHTS_PATH)).unwrap();
    let detector = std::fs::read(root.join(webverify::DEFAULT_DETECTOR_PATH)).unwrap();
    write(
        "weights_bytes",
        "seed-embedder-header",
        &[&[0u8][..], &header_and(&shipped, 256)].concat(),
    );
    write(
        "weights_bytes",
        "seed-detector-header",
        &[&[1u8][..], &header_and(&detector, 256)].concat(),
    );

    let base = webverify::Embedder::new(&shipped, webverify::Backend::Flex).unwrap();
    let dim = base.model_info().embedding_dim;
    let mut adapter = vec![0f32; dim * dim];
    for i in 0..dim {
        adapter[i * dim + i] = 0.5;
    }
    let bytes: Vec<u8> = adapter.iter().flat_map(|x| x.to_le_bytes()).collect();
    let info = base.model_info();
    let meta = format!(
        r#"{{"format":"webverify-weights","format_version":"1","model":"mobilefacenet-tuned","source":"seed","source_sha256":"{sha}","embedding_dim":"{dim}","input_size":"112","base_model":"{name}","base_sha256":"{sha}","scope":"adapter"}}"#,
        sha = info.sha256,
        name = info.name
    );
    let mut header = format!(
        r#"{{"__metadata__":{meta},"adapter.weight":{{"dtype":"F32","shape":[{dim},{dim}],"data_offsets":[0,{}]}}}}"#,
        bytes.len()
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let tuned = [
        &(header.len() as u64).to_le_bytes()[..],
        header.as_bytes(),
        &bytes,
    ]
    .concat();
    assert!(base.load_tuned(&tuned).is_ok(), "the seed adapter is valid");
    write("tuned_bytes", "seed-identity-adapter", &tuned);
    write(
        "tuned_bytes",
        "seed-shipped-header",
        &header_and(&shipped, 64),
    );

    let shape = |w: u32, h: u32, c: u32, s: u32| {
        [w, h, c, s]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    write(
        "pixels",
        "seed-rgba-2x2",
        &[&[4u8][..], &shape(2, 2, 4, 0), &[200; 16]].concat(),
    );
    write(
        "pixels",
        "seed-two-images",
        &[&[8u8][..], &shape(1, 2, 3, 4), &shape(2, 1, 1, 0), &[9; 10]].concat(),
    );

    let shared = root.join("../shared/models-src");
    let tflite =
        std::fs::read(shared.join("mobilefacenet-tflite/MobileFaceNet.tflite")).expect("../shared");
    write("tflite_graph", "seed-first-64k", &tflite[..65536]);
    write("tflite_graph", "seed-first-4k", &tflite[..4096]);
    let json =
        std::fs::read(shared.join("face-detection-short/facemesh-detection-short.json")).unwrap();
    let bin =
        std::fs::read(shared.join("face-detection-short/facemesh-detection-short.bin")).unwrap();
    // The graph without its weights shard, and a small JSON with a little of the shard.
    write(
        "tfjs_graph",
        "seed-graph-json",
        &[&(json.len() as u32).to_le_bytes()[..], &json, &bin[..1024]].concat(),
    );
    let small = br#"{"modelTopology":{"node":[]},"weightsManifest":[{"paths":["a.bin"],"weights":[{"name":"w","shape":[2,2],"dtype":"float32"}]}]}"#;
    write(
        "tfjs_graph",
        "seed-small-json",
        &[
            &(small.len() as u32).to_le_bytes()[..],
            &small[..],
            &[0; 16],
        ]
        .concat(),
    );
}
