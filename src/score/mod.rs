//! Embeddings and what they mean: the embedder (a loaded model on a backend), the score
//! calibration (every FAR computation, 1:1 and per search) and the match decision; and
//! networks imported from ONNX.

pub mod calibration;
pub mod embedder;
#[cfg(feature = "imported")]
pub mod imported;
pub mod verify;
