//! What the pipeline makes of one input before the model sees it.

use crate::error::{Error, Result};
use crate::face::detect::Face;
use crate::face::mesh::Mesh;
use crate::image::Image;

/// How the input is turned into the model's crop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FaceMode {
    /// Detect faces and align the main one (the default).
    #[default]
    Detect,
    /// The input already is an aligned face crop; it is only resized.
    None,
}

impl FaceMode {
    /// `detect` or `none`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "detect" => Ok(FaceMode::Detect),
            "none" => Ok(FaceMode::None),
            other => Err(Error::InvalidInput(format!(
                "face mode {other:?}: use 'detect' or 'none'"
            ))),
        }
    }
}

/// The crop the model sees for one input, and the faces found in it.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The aligned crop (or the input itself with [`FaceMode::None`]).
    pub crop: Image,
    /// Every detected face, highest score first (empty with [`FaceMode::None`]).
    pub faces: Vec<Face>,
    /// The face that was aligned (with refined landmarks).
    pub main: Option<Face>,
    /// The main face's dense landmarks, when the pipeline has the face mesh.
    pub mesh: Option<Mesh>,
}
