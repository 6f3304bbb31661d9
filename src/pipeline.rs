//! Raw photos in, embeddings out: detect the faces, keep the largest, align it to the 112x112
//! template, embed it. With [`FaceMode::None`] the input is taken as a ready aligned crop.

use crate::align::align_face;
use crate::detect::{Detector, Face};
use crate::embedder::Embedder;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::verify::Verification;

/// How the input is turned into the model's crop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FaceMode {
    /// Detect faces and align the largest (the default).
    #[default]
    Detect,
    /// The input already is an aligned face crop; it is only resized.
    None,
}

impl FaceMode {
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
    pub crop: Image,
    /// Every detected face, highest score first (empty with [`FaceMode::None`]).
    pub faces: Vec<Face>,
}

/// Detector and embedder together; without a detector only [`FaceMode::None`] works.
pub struct Pipeline {
    pub embedder: Embedder,
    pub detector: Option<Detector>,
}

impl Pipeline {
    /// The largest face's aligned crop (or the input itself with [`FaceMode::None`]).
    pub async fn prepare_async(&self, image: &Image, mode: FaceMode) -> Result<Prepared> {
        if mode == FaceMode::None {
            return Ok(Prepared {
                crop: image.clone(),
                faces: Vec::new(),
            });
        }
        let faces = self.detect_async(image).await?;
        let largest = faces
            .iter()
            .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
            .ok_or(Error::NoFace { found: 0 })?;
        let crop = align_face(image, &largest.landmarks.alignment_points())
            .ok_or(Error::NoFace { found: faces.len() })?;
        Ok(Prepared { crop, faces })
    }

    /// Faces in `image`, highest score first.
    pub async fn detect_async(&self, image: &Image) -> Result<Vec<Face>> {
        let detector = self.detector.as_ref().ok_or_else(|| {
            Error::ModelLoad(
                "no face detector is loaded; load its weights or use face: 'none'".into(),
            )
        })?;
        detector.detect_async(image).await
    }

    /// Unit-length embeddings of the faces in `images`.
    pub async fn embed_batch_async(
        &self,
        images: &[Image],
        mode: FaceMode,
    ) -> Result<Vec<Vec<f32>>> {
        let mut crops = Vec::with_capacity(images.len());
        for image in images {
            crops.push(self.prepare_async(image, mode).await?.crop);
        }
        self.embedder.embed_batch_async(&crops).await
    }

    pub async fn verify_async(&self, a: &Image, b: &Image, mode: FaceMode) -> Result<Verification> {
        let e = self
            .embed_batch_async(&[a.clone(), b.clone()], mode)
            .await?;
        self.embedder.compare(&e[0], &e[1], None)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Pipeline {
    /// Loads both models from their files onto a CPU backend.
    pub fn from_paths(
        embedder: impl AsRef<std::path::Path>,
        detector: impl AsRef<std::path::Path>,
        backend: crate::Backend,
    ) -> Result<Self> {
        let path = detector.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::ModelLoad(format!("cannot read {}: {e}", path.display())))?;
        Ok(Self {
            embedder: Embedder::from_path(embedder, backend)?,
            detector: Some(Detector::with_device(&bytes, backend.cpu_device()?)?),
        })
    }

    pub fn prepare(&self, image: &Image, mode: FaceMode) -> Result<Prepared> {
        pollster::block_on(self.prepare_async(image, mode))
    }

    pub fn embed_batch(&self, images: &[Image], mode: FaceMode) -> Result<Vec<Vec<f32>>> {
        pollster::block_on(self.embed_batch_async(images, mode))
    }

    pub fn verify(&self, a: &Image, b: &Image, mode: FaceMode) -> Result<Verification> {
        pollster::block_on(self.verify_async(a, b, mode))
    }
}
