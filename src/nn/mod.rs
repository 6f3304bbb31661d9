//! The networks as burn modules, forward passes only: the MobileFaceNet embedder, the BlazeFace
//! detector, the MiniFASNet liveness classifier and the adapter of a tuned model. Weights come in through closures, so this layer
//! knows no file format. `cpu` runs the embedder's and the detector's forward passes on fused SIMD kernels.

pub mod adapter;
pub mod blazeface;
pub mod conv;
pub mod cpu;
pub mod graph;
pub mod minifasnet;
pub mod mobilefacenet;
pub mod profile;
