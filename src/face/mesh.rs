//! Dense landmarks: MediaPipe Face Mesh (468 points) on the detector's face, rotated so that the
//! eyes are level and enlarged as MediaPipe crops it; and what the points give: the five ArcFace
//! alignment points, eye openness and head pose.

use burn::tensor::{Device, Tensor, TensorData};

use crate::backend::read_back;
use crate::error::{Error, Result};
use crate::face::align::{warp, Point};
use crate::face::detect::Face;
use crate::image::Image;
use crate::io::weights::{ModelInfo, WeightFile};
use crate::nn::graph::{GraphNet, Op, Program};

/// The `model` metadata of mesh weights.
pub const MODEL_NAME: &str = "facemesh";
/// Side of the square RGB input (values 0–1).
pub const INPUT_SIZE: usize = 192;
/// Points of the mesh.
pub const POINTS: usize = 468;
/// The crop's side in detector boxes (MediaPipe enlarges the box by 1.5).
pub const CROP_SCALE: f32 = 1.5;

/// Standard mesh indices (MediaPipe's canonical face): eye corners, nose tip, mouth corners,
/// eyelids. "Right" is the subject's right (the image's left for a frontal face).
pub mod index {
    pub const RIGHT_EYE_OUTER: usize = 33;
    pub const RIGHT_EYE_INNER: usize = 133;
    pub const LEFT_EYE_INNER: usize = 362;
    pub const LEFT_EYE_OUTER: usize = 263;
    pub const NOSE_TIP: usize = 1;
    pub const MOUTH_RIGHT: usize = 61;
    pub const MOUTH_LEFT: usize = 291;
    pub const RIGHT_EYE_TOP: usize = 159;
    pub const RIGHT_EYE_BOTTOM: usize = 145;
    pub const LEFT_EYE_TOP: usize = 386;
    pub const LEFT_EYE_BOTTOM: usize = 374;
    pub const FOREHEAD: usize = 10;
    pub const CHIN: usize = 152;
}

/// Head rotation in degrees, from the mesh's 3D points: yaw (turning; positive when the subject
/// turns to their left, the image's right), pitch (nodding; positive looking up), roll
/// (tilting; positive when the subject's left eye is lower in the image).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct HeadPose {
    /// Turning left (+) or right (−), degrees.
    pub yaw: f32,
    /// Looking up (+) or down (−), degrees.
    pub pitch: f32,
    /// Tilting, degrees.
    pub roll: f32,
}

/// The mesh of one face, in the pixels of the image it was found in.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mesh {
    /// 468 points `[x, y, z]`; z is depth relative to the face, in the same pixel scale.
    pub points: Vec<[f32; 3]>,
    /// The network's probability that the crop holds a face.
    pub face_score: f32,
    /// The same before its sigmoid: the probability rounds to 1 in f32 for nine LFW faces in
    /// ten, the logit still ranks them (the quality's `visibility`).
    pub face_logit: f32,
}

impl Mesh {
    fn at(&self, i: usize) -> Point {
        [self.points[i][0], self.points[i][1]]
    }

    fn mid(&self, i: usize, j: usize) -> Point {
        let (a, b) = (self.at(i), self.at(j));
        [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
    }

    /// The five ArcFace points in template order: eye centres (image left first), nose tip,
    /// mouth corners (image left first).
    pub fn alignment_points(&self) -> [Point; 5] {
        use index::*;
        [
            self.mid(RIGHT_EYE_OUTER, RIGHT_EYE_INNER),
            self.mid(LEFT_EYE_INNER, LEFT_EYE_OUTER),
            self.at(NOSE_TIP),
            self.at(MOUTH_RIGHT),
            self.at(MOUTH_LEFT),
        ]
    }

    /// Head rotation from three axes of the face: the line between the outer eye corners
    /// (yaw from its depth change, roll from its slope) and the forehead–chin line (pitch from
    /// its depth change). A geometric estimate, not a fitted head model: good to a few degrees
    /// near frontal, which is what a challenge ("turn left") needs.
    pub fn head_pose(&self) -> HeadPose {
        use index::*;
        let v = |a: usize, b: usize| {
            let (p, q) = (self.points[a], self.points[b]);
            [q[0] - p[0], q[1] - p[1], q[2] - p[2]]
        };
        let eyes = v(RIGHT_EYE_OUTER, LEFT_EYE_OUTER);
        let down = v(FOREHEAD, CHIN);
        let deg = |r: f32| r.to_degrees();
        // The mesh's z grows away from the camera: turning to the left takes the left eye
        // back, looking up brings the chin forward.
        HeadPose {
            yaw: deg(eyes[2].atan2(eyes[0])),
            pitch: deg((-down[2]).atan2(down[1])),
            roll: deg(eyes[1].atan2(eyes[0])),
        }
    }

    /// Eye aspect ratio per eye (right, left): lid distance over corner distance; about 0.25–0.35
    /// open, below ~0.15 closed.
    pub fn eye_openness(&self) -> [f32; 2] {
        use index::*;
        let d = |a: Point, b: Point| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        let ratio = |top, bottom, outer, inner| {
            d(self.at(top), self.at(bottom)) / d(self.at(outer), self.at(inner)).max(1e-6)
        };
        [
            ratio(
                RIGHT_EYE_TOP,
                RIGHT_EYE_BOTTOM,
                RIGHT_EYE_OUTER,
                RIGHT_EYE_INNER,
            ),
            ratio(
                LEFT_EYE_TOP,
                LEFT_EYE_BOTTOM,
                LEFT_EYE_OUTER,
                LEFT_EYE_INNER,
            ),
        ]
    }
}

/// Points the program's `face` output at the input of its final sigmoid, so that the network
/// gives the logit (the weights file keeps the source graph's sigmoid).
fn expose_face_logit(program: &mut Program) -> Result<()> {
    let ops = &program.ops;
    let logit = ops.iter().enumerate().find_map(|(o, op)| match op {
        Op::Output { input, name, .. } if name == "face" => match ops.get(*input) {
            Some(Op::Sigmoid { input }) => Some((o, *input)),
            _ => None,
        },
        _ => None,
    });
    let Some((o, logit)) = logit else {
        return Err(Error::ModelLoad(
            "the mesh program's face output must be a sigmoid".into(),
        ));
    };
    if let Op::Output { input, .. } = &mut program.ops[o] {
        *input = logit;
    }
    Ok(())
}

/// The mesh network on one backend.
pub struct FaceMesh {
    net: GraphNet,
    device: Device,
    info: ModelInfo,
}

impl FaceMesh {
    /// Loads mesh weights (a webverify weights file of Face Mesh) onto `device`.
    pub fn with_device(weights: &[u8], device: Device) -> Result<Self> {
        Self::with_device_digested(weights, None, device)
    }

    /// [`Self::with_device`] with the file's SHA-256 computed by the caller
    /// ([`WeightFile::parse_model_digested`] says why).
    pub fn with_device_digested(
        weights: &[u8],
        sha256: Option<&str>,
        device: Device,
    ) -> Result<Self> {
        let file = WeightFile::parse_model_digested(weights, MODEL_NAME, sha256)?;
        let mut program = Program::parse(
            file.info
                .metadata
                .get("program")
                .ok_or_else(|| Error::ModelLoad("the mesh weights have no program".into()))?,
        )?;
        expose_face_logit(&mut program)?;
        let net = GraphNet::build(program, &|name, shape| file.read(name, shape), &device)?;
        Ok(Self {
            net,
            device,
            info: file.info.clone(),
        })
    }

    /// The weights' name and checksum.
    pub fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    /// Raw outputs for `n` crops (`[n, 3, 192, 192]`, values 0–1): 1404 mesh values (x, y, z per
    /// point, crop pixels) and the face logit (the face probability before its sigmoid), per
    /// crop.
    pub async fn run_async(&self, input: Vec<f32>, n: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        if n == 0 || input.len() != n * 3 * INPUT_SIZE * INPUT_SIZE {
            return Err(Error::InvalidInput(format!(
                "{} values for {n} mesh inputs",
                input.len()
            )));
        }
        let x = Tensor::<4>::from_data(
            TensorData::new(input, [n, 3, INPUT_SIZE, INPUT_SIZE]),
            &self.device,
        );
        let mut mesh = Vec::new();
        let mut face = Vec::new();
        for (name, t) in self.net.forward(x)? {
            let values = read_back(t, "reading the mesh back")
                .await?
                .try_to_vec::<f32>()
                .map_err(|e| Error::Inference(format!("{e:?}")))?;
            match name.as_str() {
                "mesh" => mesh = values,
                "face" => face = values,
                _ => {}
            }
        }
        if mesh.len() != n * POINTS * 3 || face.len() != n {
            return Err(Error::Inference(format!(
                "the mesh network gave {} points and {} face scores for {n} crops",
                mesh.len() / 3,
                face.len()
            )));
        }
        Ok((mesh, face))
    }

    /// The mesh of a detected face, in `image`'s pixels.
    pub async fn mesh_async(&self, image: &Image, face: &Face) -> Result<Mesh> {
        let t = face
            .upright_crop(CROP_SCALE, INPUT_SIZE)
            .ok_or_else(|| Error::InvalidInput("the face box is degenerate".into()))?;
        let crop = warp(image, &t, INPUT_SIZE)
            .ok_or_else(|| Error::InvalidInput("the face box is degenerate".into()))?;
        let plane = INPUT_SIZE * INPUT_SIZE;
        let mut input = vec![0.0; 3 * plane];
        for (i, px) in crop.as_rgb().chunks_exact(3).enumerate() {
            for c in 0..3 {
                input[c * plane + i] = px[c] as f32 / 255.0;
            }
        }
        let (mesh, face_logit) = self.run_async(input, 1).await?;
        let back = t
            .inverse()
            .ok_or_else(|| Error::InvalidInput("the face box is degenerate".into()))?;
        let scale = (back.a * back.a + back.b * back.b).sqrt();
        let points = mesh
            .chunks_exact(3)
            .map(|p| {
                let [x, y] = back.apply([p[0], p[1]]);
                [x, y, p[2] * scale]
            })
            .collect();
        Ok(Mesh {
            points,
            face_score: 1.0 / (1.0 + (-face_logit[0]).exp()),
            face_logit: face_logit[0],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(face_reads_sigmoid: bool) -> Program {
        let output = |input, name: &str| Op::Output {
            input,
            name: name.into(),
            row_major: false,
        };
        Program {
            ops: vec![
                Op::Input {
                    channels: 3,
                    size: INPUT_SIZE,
                },
                Op::Sigmoid { input: 0 },
                output(0, "mesh"),
                output(if face_reads_sigmoid { 1 } else { 0 }, "face"),
            ],
        }
    }

    #[test]
    fn the_face_output_is_moved_before_its_sigmoid() {
        let mut p = program(true);
        expose_face_logit(&mut p).unwrap();
        assert_eq!(
            p.ops[3],
            Op::Output {
                input: 0,
                name: "face".into(),
                row_major: false,
            }
        );
        // A program whose face output is not a sigmoid is refused, not misread.
        let mut p = program(false);
        assert!(matches!(
            expose_face_logit(&mut p),
            Err(Error::ModelLoad(_))
        ));
    }
}
