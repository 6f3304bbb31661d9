//! webverify: "are these two images the same person?" answered on the user's device.
//!
//! A MobileFaceNet embedder written with burn runs natively or in WebAssembly, on WebGPU or on
//! the CPU; two images match when the cosine similarity of their embeddings passes a threshold.
//!
//! ```no_run
//! # fn main() -> webverify::Result<()> {
//! use webverify::{Backend, Embedder, Image};
//! let embedder = Embedder::from_path("models/mobilefacenet.safetensors", Backend::Flex)?;
//! let result = embedder.verify(&Image::open("a.png")?, &Image::open("b.png")?)?;
//! println!("similarity {:.3}, match: {}", result.similarity, result.is_match);
//! # Ok(()) }
//! ```

pub mod align;
pub mod augment;
pub mod backend;
pub mod blazeface;
pub mod calibration;
pub mod detect;
pub mod embedder;
pub mod error;
pub mod gallery;
pub mod image;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod pairs;
pub mod pipeline;
pub mod quality;
pub mod random;
pub mod search;
pub mod template;
#[cfg(feature = "train")]
pub mod train;
pub mod tuned;
pub mod verify;
pub mod weights;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod convert;
#[cfg(not(target_arch = "wasm32"))]
pub mod eval;
#[cfg(not(target_arch = "wasm32"))]
pub mod identify_eval;
#[cfg(not(target_arch = "wasm32"))]
pub mod tfjs;
#[cfg(not(target_arch = "wasm32"))]
pub mod tflite;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use backend::Backend;
pub use embedder::Embedder;
pub use error::{Error, Result};
pub use image::{Image, PixelFormat};
pub use verify::{similarity, verify, Verification, DEFAULT_THRESHOLD};

/// The shipped weights, relative to the crate root.
pub const DEFAULT_WEIGHTS_PATH: &str = "models/mobilefacenet.safetensors";
/// The shipped face detector weights, relative to the crate root.
pub const DEFAULT_DETECTOR_PATH: &str = "models/blazeface-short.safetensors";
