//! Replays the fuzz corpus (`fuzz/corpus/template_bytes`, grown by `make fuzz`) through the
//! template and gallery parsers, plain and sealed, as the fuzz target does: every input is an error or a value,
//! never a panic. Also writes the seed inputs (`--ignored`).

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use webverify::io::template::{
    decode_gallery, decode_template, encode_gallery, encode_template, ModelRef, StoredIdentity,
};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/template_bytes")
}

/// The model the fuzz target checks against.
fn fuzz_model() -> ModelRef {
    ModelRef {
        name: "fuzz".into(),
        sha256: "0".repeat(64),
        dim: 4,
    }
}

#[test]
fn the_fuzz_corpus_never_panics_the_parser() {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus()).expect("fuzz/corpus/template_bytes is committed") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let (flag, body) = match data.split_first() {
            Some((flag, rest)) => (*flag, rest),
            None => (0, &data[..]),
        };
        let mut bytes = body.to_vec();
        if flag & 1 == 1 {
            let digest = Sha256::digest(&bytes);
            bytes.extend_from_slice(&digest);
        }
        const KEY: &[u8] = b"fuzzing key, 32 bytes long......";
        if flag & 2 == 2 {
            bytes = webverify::io::sealed::seal(&bytes, KEY).unwrap();
        }
        if flag & 6 != 0 {
            match webverify::io::sealed::open(&bytes, KEY) {
                Ok(inner) => bytes = inner.to_vec(),
                Err(_) => {
                    n += 1;
                    continue;
                }
            }
        }
        let _ = decode_gallery(&bytes, &fuzz_model());
        let _ = decode_template(&bytes, &fuzz_model());
        n += 1;
    }
    assert!(n >= 3, "the corpus holds at least the seeds");
}

/// Writes valid seeds (flag byte 1: the target appends the checksum).
#[test]
#[ignore]
fn write_seeds() {
    let m = fuzz_model();
    let gallery = encode_gallery(
        &m,
        &[
            StoredIdentity {
                id: "a".into(),
                metadata: "{\"k\":1}".into(),
                templates: vec![vec![1.0, 0.0, 0.0, 0.0], vec![0.0, 1.0, 0.0, 0.0]],
            },
            StoredIdentity {
                id: "b".into(),
                metadata: String::new(),
                templates: vec![vec![0.5; 4]],
            },
        ],
    );
    let template = encode_template(&m, &[0.1, 0.2, 0.3, 0.4]).unwrap();
    let empty = encode_gallery(&m, &[]);
    std::fs::create_dir_all(corpus()).unwrap();
    for (name, bytes) in [
        ("gallery", gallery),
        ("template", template),
        ("empty", empty),
    ] {
        let mut seed = vec![1u8];
        seed.extend_from_slice(&bytes[..bytes.len() - 32]);
        std::fs::write(corpus().join(format!("seed-{name}")), &seed).unwrap();
        // The same, sealed by the target under its key (flag bit 1).
        seed[0] = 3;
        std::fs::write(corpus().join(format!("seed-sealed-{name}")), seed).unwrap();
    }
}
