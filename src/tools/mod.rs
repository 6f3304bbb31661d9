//! Native tooling behind the `cli` feature: the TFLite, TF.js and PyTorch readers and converters, the
//! LFW-protocol evaluation and its metrics, pair lists, benchmarks, and the command line. None
//! of it is in the runtime or the wasm module.

pub mod challenge_eval;
pub mod challenge_video;
pub mod cli;
pub mod convert;
pub mod degrade;
pub mod eval;
pub mod graph;
pub mod identify_eval;
pub mod liveness_eval;
pub mod metrics;
pub mod minifasnet;
pub mod onnx;
pub mod pairs;
pub mod reject;
pub mod robustness;
pub mod roc_plot;
pub mod shots_eval;
pub mod tfjs;
pub mod tflite;
