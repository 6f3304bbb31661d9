//! Template and gallery bytes from anywhere (IndexedDB, an app's backend) must never panic the
//! parser, plain or sealed. The first byte steers: bit 0 appends a valid checksum so that the
//! fuzzer reaches the parser behind the SHA-256 check instead of stopping at it; bit 1 wraps the
//! rest as sealed bytes under a fixed key (a valid tag), bit 2 opens them as they are (a forged
//! tag), so `sealed::open` and the parser behind it are both reached.
#![no_main]

// The parser and its error type, compiled in from the crate's sources: they depend on neither
// burn nor the rest of the crate, so the fuzzer builds in seconds.
#[allow(dead_code)]
#[path = "../../src/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../src/io/sealed.rs"]
mod sealed;
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
    let (flag, body) = match data.split_first() {
        Some((flag, rest)) => (*flag, rest),
        None => (0, data),
    };
    let mut bytes = body.to_vec();
    if flag & 1 == 1 {
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
    }
    const KEY: &[u8] = b"fuzzing key, 32 bytes long......";
    if flag & 2 == 2 {
        bytes = sealed::seal(&bytes, KEY).expect("the key is long enough");
    }
    if flag & 6 != 0 {
        match sealed::open(&bytes, KEY) {
            Ok(inner) => bytes = inner.to_vec(),
            Err(_) => return,
        }
    }
    let _ = decode_gallery(&bytes, &model);
    let _ = decode_template(&bytes, &model);
});
