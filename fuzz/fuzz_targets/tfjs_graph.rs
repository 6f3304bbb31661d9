//! Fuzz target: see `tfjs_graph` in fuzz/harness/engine.rs (needs the engine: `--features engine`).
#![no_main]

#[path = "../harness/engine.rs"]
mod engine;

libfuzzer_sys::fuzz_target!(|data: &[u8]| engine::tfjs_graph(data));
