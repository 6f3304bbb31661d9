//! The networks as burn modules, forward passes only: the MobileFaceNet embedder, the BlazeFace
//! detector and the adapter of a tuned model. Weights come in through closures, so this layer
//! knows no file format.

pub mod adapter;
pub mod blazeface;
pub mod mobilefacenet;
