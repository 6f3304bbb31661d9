//! webverify: "are these two images the same person?" answered on the user's device.
//!
//! A MobileFaceNet embedder written with burn runs natively or in WebAssembly, on WebGPU or on
//! the CPU; two images match when the cosine similarity of their embeddings passes a threshold.
//!
//! ```no_run
//! # fn main() -> webverify::Result<()> {
//! use webverify::{Backend, FaceMode, Image, Pipeline, Threshold};
//! // The embedder and the face detector: photos in, faces found and aligned, then compared.
//! let pipeline = Pipeline::from_paths(
//!     webverify::DEFAULT_WEIGHTS_PATH,
//!     webverify::DEFAULT_DETECTOR_PATH,
//!     Backend::Flex,
//! )?;
//! let a = Image::open("a.jpg")?;
//! let b = Image::open("b.jpg")?;
//! // At the calibrated threshold for a false-accept rate of 1e-3 (the default).
//! let result = pipeline.verify(&a, &b, FaceMode::Detect, Threshold::AtFar(None))?;
//! let v = result.verification;
//! println!("similarity {:.3}, match: {}, FAR {:?}", v.similarity, v.is_match, v.far);
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! Each folder of `src/` is one layer; a layer uses only the ones above it in this list:
//!
//! - the base: [`Error`], [`Backend`], [`Image`], vector arithmetic;
//! - `nn`: the networks as burn modules (forward passes only);
//! - [`io`]: file formats (weights, tuned weights, templates and galleries);
//! - `score`: the [`Embedder`], the [`Calibration`] (all FAR arithmetic), verification;
//! - `face`: detection, alignment, the photo checks, the [`Pipeline`];
//! - `liveness`: presentation-attack detection: passive ([`Liveness`]) on the detector's faces,
//!   and the [`challenge`] (asked motions checked on the mesh);
//! - `gallery`: the [`Gallery`], enrollment, the calibrated 1:N search, migration;
//! - [`train`]: losses, augmentations, the training loop (feature `train`);
//! - [`tools`] (feature `cli`, native only): converters, evaluation, the command line;
//! - `wasm`: the JavaScript bindings, which only convert arguments and errors.
//!
//! The runtime's public API is the list re-exported here; [`io`] and [`train`] are public for
//! the file formats and the training building blocks.

#![warn(missing_docs)]

mod backend;
mod error;
mod image;
mod random;
mod vector;

mod face;
mod gallery;
pub mod io;
mod liveness;
mod nn;
mod score;
#[cfg(feature = "train")]
pub mod train;

// The tooling is public for the `webverify` binary and the integration tests, not as a stable
// API: its items (flatbuffer accessors, CLI plumbing) are documented where they are not obvious.
#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
#[allow(missing_docs)]
pub mod tools;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use backend::Backend;
pub use error::{Error, ErrorCode, Result};
pub use face::detect::{BoundingBox, Detector, Face, Landmarks};
pub use face::mesh::{FaceMesh, HeadPose, Mesh};
pub use face::pipeline::{Embedded, PhotoVerification, Pipeline};
pub use face::prepared::{FaceMode, Prepared};
pub use face::quality;
pub use gallery::enroll::{EnrollReport, CONSISTENCY_FAR};
pub use gallery::identify::{SearchOptions, Searcher};
pub use gallery::{Aggregation, Candidate, Gallery, Identification, IdentitySummary};
pub use image::{Image, PixelFormat};
pub use liveness::challenge;
pub use liveness::{Liveness, LivenessModel, LivenessResult, CALIBRATED_BPCERS};
pub use nn::adapter::Scope;
pub use nn::mobilefacenet::{EMBEDDING_DIM, INPUT_SIZE};
pub use nn::profile::{LayerKind, LayerTimes};
pub use random::Rng;
pub use score::calibration::{
    Calibration, FarThreshold, Refit, ThresholdSource, DEFAULT_FAR, REPORTED_FARS,
};
pub use score::embedder::{Embedder, Tta};
#[cfg(feature = "imported")]
pub use score::imported::{ImportedNet, Preprocessing, IMPORTED_MODEL};
pub use score::verify::{verify, Threshold, Verification, DEFAULT_THRESHOLD};
#[cfg(feature = "train")]
pub use train::{fine_tune, FineTuned, Loss, Progress, TrainConfig, TrainingSet};
pub use vector::similarity;

/// The shipped weights, relative to the crate root.
pub const DEFAULT_WEIGHTS_PATH: &str = "models/mobilefacenet.safetensors";
/// The shipped face detector weights, relative to the crate root.
pub const DEFAULT_DETECTOR_PATH: &str = "models/blazeface-short.safetensors";
/// The face mesh weights (MediaPipe Face Mesh, f16 as its source), relative to the crate root.
pub const DEFAULT_MESH_PATH: &str = "models/facemesh.safetensors";
/// The shipped liveness weights (MiniFASNet V1SE, f16, with thresholds calibrated on NUAA
/// train), relative to the crate root.
pub const DEFAULT_LIVENESS_PATH: &str = "models/minifasnet-v1se-f16.safetensors";
