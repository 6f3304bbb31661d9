//! Fuzz target: see `weights_bytes` in fuzz/harness/engine.rs (needs the engine: `--features engine`).
#![no_main]

#[path = "../harness/engine.rs"]
mod engine;

libfuzzer_sys::fuzz_target!(|data: &[u8]| engine::weights_bytes(data));
