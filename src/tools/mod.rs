//! Native tooling behind the `cli` feature: the TFLite and TF.js readers and converters, the
//! LFW-protocol evaluation and its metrics, pair lists, benchmarks, and the command line. None
//! of it is in the runtime or the wasm module.

pub mod cli;
pub mod convert;
pub mod eval;
pub mod identify_eval;
pub mod metrics;
pub mod pairs;
pub mod tfjs;
pub mod tflite;
