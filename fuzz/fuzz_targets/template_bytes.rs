//! Template and gallery bytes from anywhere (IndexedDB, an app's backend) must never panic the
//! parser. Half the inputs get a valid checksum appended so that the fuzzer reaches the parser
//! behind the SHA-256 check instead of stopping at it.
#![no_main]

// The parser and its error type, compiled in from the crate's sources: they depend on neither
// burn nor the rest of the crate, so the fuzzer builds in seconds.
#[allow(dead_code)]
#[path = "../../src/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../src/io/template.rs"]
mod template;

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use template::{decode_gallery, decode_template, ModelRef};

fuzz_target!(|data: &[u8]| {
    let model = ModelRef {
        name: "fuzz".into(),
        sha256: "0".repeat(64),
        dim: 4,
    };
    let (fix_checksum, body) = match data.split_first() {
        Some((flag, rest)) => (flag & 1 == 1, rest),
        None => (false, data),
    };
    let mut bytes = body.to_vec();
    if fix_checksum {
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
    }
    let _ = decode_gallery(&bytes, &model);
    let _ = decode_template(&bytes, &model);
});
