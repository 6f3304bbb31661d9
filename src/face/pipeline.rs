//! Raw photos in, embeddings out: detect the faces, keep the main one (see [`main_face`]),
//! refine its landmarks, align it to the 112x112 template, embed it. With [`FaceMode::None`] the input is taken as a ready aligned crop.

use crate::error::{Error, Result};
use crate::face::align::warp;
use crate::face::align::{align_face, align_face_five};
use crate::face::detect::{Detector, Face, Landmarks};
use crate::face::mesh::{FaceMesh, HeadPose, Mesh};
use crate::face::prepared::{FaceMode, Prepared};
use crate::face::quality::{issue_code, photo_issues, Issue, Offered, Quality};
use crate::image::Image;
use crate::score::embedder::Embedder;
use crate::score::verify::{Threshold, Verification};

/// The mesh's face probability below which its points are not used for alignment.
const MESH_MIN_FACE: f32 = 0.5;

/// Side of the refinement crop in face widths (chosen on LFW View 1 DevTrain among 1.5, 2, 2.5, 3).
const REFINE_CONTEXT: f32 = 2.5;

/// The face a photo is "of": the largest, discounted by its distance from the image centre
/// (InsightFace's rule, `area − 2·offset²`), so that a bigger face cut off at the border or a
/// bystander does not win over the centred subject.
pub fn main_face(faces: &[Face], width: usize, height: usize) -> Option<&Face> {
    let prominence = |f: &Face| {
        let b = &f.bbox;
        let dx = b.x + b.width / 2.0 - width as f32 / 2.0;
        let dy = b.y + b.height / 2.0 - height as f32 / 2.0;
        b.area() - 2.0 * (dx * dx + dy * dy)
    };
    faces
        .iter()
        .max_by(|a, b| prominence(a).total_cmp(&prominence(b)))
}

/// Detector and embedder together; without a detector only [`FaceMode::None`] works.
///
/// ```
/// # fn main() -> webverify::Result<()> {
/// use webverify::{Backend, FaceMode, Image, PixelFormat, Pipeline};
/// let pipeline = Pipeline::from_paths(
///     webverify::DEFAULT_WEIGHTS_PATH,
///     webverify::DEFAULT_DETECTOR_PATH,
///     Backend::Flex,
/// )?;
/// let blank = Image::from_pixels(&[200; 160 * 120], 160, 120, PixelFormat::Gray, None)?;
/// // No face in a blank picture: a typed error, not a guess.
/// let err = pipeline.prepare(&blank, FaceMode::Detect).unwrap_err();
/// assert_eq!(err.kind(), webverify::ErrorCode::NoFace);
/// // A ready crop skips detection.
/// assert_eq!(pipeline.embed_batch(&[blank], FaceMode::None)?[0].len(), 192);
/// # Ok(()) }
/// ```
pub struct Pipeline {
    /// The face embedder.
    pub embedder: Embedder,
    /// The face detector; `None` for ready crops only.
    pub detector: Option<Detector>,
    /// Dense landmarks for five-point alignment; `None`: the detector's four points.
    pub mesh: Option<FaceMesh>,
}

impl Pipeline {
    /// The main face's aligned crop (or the input itself with [`FaceMode::None`]).
    pub async fn prepare_async(&self, image: &Image, mode: FaceMode) -> Result<Prepared> {
        if mode == FaceMode::None {
            return Ok(Prepared {
                crop: image.clone(),
                faces: Vec::new(),
                main: None,
                mesh: None,
            });
        }
        let (faces, refined) = self.refined_main_face_async(image).await?;
        // With the mesh: its eye centres and mouth corners, the five points the embedder was
        // trained with (the detector has only the mouth centre). A crop the mesh does not see
        // as a face keeps the detector's points.
        let mesh = match &self.mesh {
            Some(mesh) => Some(mesh.mesh_async(image, &refined).await?),
            None => None,
        };
        let five = mesh
            .as_ref()
            .filter(|m| m.face_score >= MESH_MIN_FACE)
            .map(|m| m.alignment_points());
        let crop = match five {
            Some(points) => align_face_five(image, &points),
            None => align_face(image, &refined.landmarks.alignment_points()),
        }
        .ok_or(Error::NoFace { found: faces.len() })?;
        Ok(Prepared {
            crop,
            faces,
            main: Some(refined),
            mesh,
        })
    }

    /// Every face in `image` and the main one with refined landmarks; `NO_FACE` without one.
    async fn refined_main_face_async(&self, image: &Image) -> Result<(Vec<Face>, Face)> {
        let faces = self.detect_async(image).await?;
        let main =
            *main_face(&faces, image.width(), image.height()).ok_or(Error::NoFace { found: 0 })?;
        // A second look at an upright crop around the face refines the landmarks: the detector
        // was trained on faces that fill its input, and 2.5 face widths of context measured best
        // on LFW View 1 DevTrain (98.86 % → 99.32 %).
        let landmarks = self
            .refine_async(image, &main)
            .await?
            .unwrap_or(main.landmarks);
        Ok((faces, Face { landmarks, ..main }))
    }

    /// The dense landmarks of the main face (needs the mesh): its 468 points, the five
    /// alignment points, eye openness and head pose. `NO_FACE` when there is no face.
    pub async fn landmarks_async(&self, image: &Image) -> Result<FaceLandmarks> {
        let mesh = self.mesh.as_ref().ok_or_else(|| {
            Error::InvalidInput(
                "landmarks need the face mesh: create the verifier with alignment 'mesh'".into(),
            )
        })?;
        self.landmarks_with_async(mesh, image).await
    }

    /// [`Self::landmarks_async`] with a mesh held elsewhere (the challenge loads its own when
    /// the verifier aligns on the detector's points).
    pub async fn landmarks_with_async(
        &self,
        mesh: &FaceMesh,
        image: &Image,
    ) -> Result<FaceLandmarks> {
        let (_, face) = self.refined_main_face_async(image).await?;
        let m = mesh.mesh_async(image, &face).await?;
        Ok(FaceLandmarks {
            face,
            alignment_points: m.alignment_points(),
            eye_openness: m.eye_openness(),
            head_pose: m.head_pose(),
            mesh: m,
        })
    }

    /// Landmarks of `face` re-detected in a crop of [`REFINE_CONTEXT`] face widths around it,
    /// rotated so that the eyes are level; `None` when the second look finds no face.
    async fn refine_async(&self, image: &Image, face: &Face) -> Result<Option<Landmarks>> {
        let size = crate::nn::blazeface::INPUT_SIZE;
        let half = size as f32 / 2.0;
        let Some(t) = face.upright_crop(REFINE_CONTEXT, size) else {
            return Ok(None);
        };
        let Some(crop) = warp(image, &t, size) else {
            return Ok(None);
        };
        let Some(inv) = t.inverse() else {
            return Ok(None);
        };
        let faces = self.detect_async(&crop).await?;
        let best = faces.iter().min_by(|p, q| {
            let d = |f: &Face| {
                (f.bbox.x + f.bbox.width / 2.0 - half).powi(2)
                    + (f.bbox.y + f.bbox.height / 2.0 - half).powi(2)
            };
            d(p).total_cmp(&d(q))
        });
        Ok(best.map(|f| f.landmarks.map(|p| inv.apply(p))))
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
        Ok(self.embed_photos_async(images, mode).await?.embeddings)
    }

    /// Embeddings of the main face of each image, with how many faces each held.
    pub async fn embed_photos_async(&self, images: &[Image], mode: FaceMode) -> Result<Embedded> {
        let mut crops = Vec::with_capacity(images.len());
        let mut faces = Vec::with_capacity(images.len());
        let mut main = Vec::with_capacity(images.len());
        let mut quality = Vec::with_capacity(images.len());
        for image in images {
            let prepared = self.prepare_async(image, mode).await?;
            faces.push((mode == FaceMode::Detect).then_some(prepared.faces.len()));
            quality.push(crate::face::quality::quality(&prepared));
            main.push(prepared.main);
            crops.push(prepared.crop);
        }
        Ok(Embedded {
            embeddings: self.embedder.embed_batch_async(&crops).await?,
            faces,
            main,
            quality,
            crops,
        })
    }

    /// Are the main faces of `a` and `b` the same person? Both photos are prepared and embedded
    /// as one batch and compared at the threshold `rule` names; the result carries what a page
    /// shows beside the verdict (the faces compared, their quality and crops), so that one call
    /// answers a comparison.
    pub async fn verify_async(
        &self,
        a: &Image,
        b: &Image,
        mode: FaceMode,
        rule: Threshold,
    ) -> Result<PhotoVerification> {
        let e = self
            .embed_photos_async(&[a.clone(), b.clone()], mode)
            .await?;
        let mut verification = self
            .embedder
            .decide(&e.embeddings[0], &e.embeddings[1], rule)?;
        verification.faces = both(&e.faces);
        let [crop_a, crop_b]: [Image; 2] = e
            .crops
            .try_into()
            .map_err(|_| Error::Inference("two photos gave other than two crops".into()))?;
        Ok(PhotoVerification {
            verification,
            main_faces: both(&e.main),
            quality: both(&e.quality),
            crops: [crop_a, crop_b],
        })
    }
}

/// The two entries of a pair as an array, when both are there.
fn both<T: Copy>(pair: &[Option<T>]) -> Option<[T; 2]> {
    pair.first()
        .copied()
        .flatten()
        .zip(pair.get(1).copied().flatten())
        .map(|(x, y)| [x, y])
}

/// A verification of two photos: the verdict and what it was made from.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhotoVerification {
    /// Similarity, match, threshold, FAR and the number of faces in each photo.
    #[serde(flatten)]
    pub verification: Verification,
    /// The face compared in each photo, with refined landmarks (`None` with [`FaceMode::None`]).
    pub main_faces: Option<[Face; 2]>,
    /// The quality of each compared face (`None` with [`FaceMode::None`]).
    pub quality: Option<[Quality; 2]>,
    /// The aligned crops the model saw (112x112 RGB); not serialised: bindings pass them as
    /// bytes when asked.
    #[serde(skip)]
    pub crops: [Image; 2],
}

impl Pipeline {
    /// Photos offered for enrollment: each one's embedding and the quality issues that do not
    /// depend on the gallery (no face is an issue here, not an error).
    pub async fn offer_async(&self, images: &[Image], mode: FaceMode) -> Result<Vec<Offered>> {
        let mut offered = Vec::with_capacity(images.len());
        let mut crops = Vec::new();
        for image in images {
            match self.prepare_async(image, mode).await {
                Ok(prepared) => {
                    let issues = if mode == FaceMode::Detect {
                        photo_issues(&prepared)
                    } else {
                        Vec::new()
                    };
                    crops.push(prepared.crop);
                    offered.push(Offered {
                        embedding: None,
                        issues,
                    });
                }
                Err(e @ Error::NoFace { .. }) => offered.push(Offered {
                    embedding: None,
                    issues: vec![Issue {
                        code: issue_code::NO_FACE,
                        message: e.to_string(),
                    }],
                }),
                Err(e) => return Err(e),
            }
        }
        if !crops.is_empty() {
            let mut embeddings = self.embedder.embed_batch_async(&crops).await?.into_iter();
            for o in offered
                .iter_mut()
                .filter(|o| o.issues.iter().all(|i| i.code != issue_code::NO_FACE))
            {
                o.embedding = embeddings.next();
            }
        }
        Ok(offered)
    }
}

/// What [`Pipeline::landmarks_async`] finds on the main face.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceLandmarks {
    /// The detected face (box, score, refined detector keypoints).
    pub face: Face,
    /// The 468 mesh points and the mesh's face probability.
    pub mesh: Mesh,
    /// Eye centres, nose tip, mouth corners (image left first).
    pub alignment_points: [crate::face::align::Point; 5],
    /// Eye aspect ratio (subject's right, left): ~0.25–0.35 open, below ~0.15 closed.
    pub eye_openness: [f32; 2],
    /// Yaw, pitch and roll in degrees.
    pub head_pose: HeadPose,
}

/// Embeddings of a batch of photos.
pub struct Embedded {
    /// The quality of each main face (`None` with [`FaceMode::None`]).
    pub quality: Vec<Option<crate::face::quality::Quality>>,
    /// One unit-length embedding per input.
    pub embeddings: Vec<Vec<f32>>,
    /// Faces found in each photo (`None` with [`FaceMode::None`]).
    pub faces: Vec<Option<usize>>,
    /// The face each embedding was made from, with refined landmarks (`None` with
    /// [`FaceMode::None`]).
    pub main: Vec<Option<Face>>,
    /// The aligned crops the embeddings were made from.
    pub crops: Vec<Image>,
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
            mesh: None,
        })
    }

    /// The crop the model sees for `image` (blocking form of `prepare_async`).
    pub fn prepare(&self, image: &Image, mode: FaceMode) -> Result<Prepared> {
        pollster::block_on(self.prepare_async(image, mode))
    }

    /// Embeddings of the main face of each image (blocking form of `embed_batch_async`).
    pub fn embed_batch(&self, images: &[Image], mode: FaceMode) -> Result<Vec<Vec<f32>>> {
        pollster::block_on(self.embed_batch_async(images, mode))
    }

    /// Are the main faces of `a` and `b` the same person? (blocking form of `verify_async`).
    pub fn verify(
        &self,
        a: &Image,
        b: &Image,
        mode: FaceMode,
        rule: Threshold,
    ) -> Result<PhotoVerification> {
        pollster::block_on(self.verify_async(a, b, mode, rule))
    }
}
