//! Face detection: letterboxing into BlazeFace's 128x128 input, anchor decoding, and MediaPipe's
//! weighted non-maximum suppression; results in the input image's pixels.
//!
//! Why this file is long: its 370 lines of code stay under the ~500-line rule; the other
//! 144 are its unit tests, kept beside the private items they exercise.

use burn::tensor::{Device, Tensor, TensorData};

use crate::backend::read_back;
use crate::error::{Error, Result};
use crate::face::align::{Point, Similarity};
use crate::image::Image;
use crate::io::weights::{ModelInfo, WeightFile};
use crate::nn::blazeface::{
    BlazeFace, BlazeFaceWeights, HEADS, INPUT_SIZE, MODEL_NAME, VALUES_PER_ANCHOR,
};
use crate::nn::cpu::{KernelSwitch, PackedBlazeFace};

/// MediaPipe's `min_score_thresh` for the short-range model.
pub const MIN_SCORE: f32 = 0.5;
/// MediaPipe's `min_suppression_threshold` (IoU).
pub const NMS_IOU: f32 = 0.3;

/// An axis-aligned box in pixels.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BoundingBox {
    /// Left edge, in pixels of the input image.
    pub x: f32,
    /// Top edge, in pixels.
    pub y: f32,
    /// Width in pixels.
    pub width: f32,
    /// Height in pixels.
    pub height: f32,
}

impl BoundingBox {
    /// Width × height, in square pixels.
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }
    /// Intersection over union with `o`.
    pub fn iou(&self, o: &BoundingBox) -> f32 {
        let ix = (self.x + self.width).min(o.x + o.width) - self.x.max(o.x);
        let iy = (self.y + self.height).min(o.y + o.height) - self.y.max(o.y);
        let inter = ix.max(0.0) * iy.max(0.0);
        let union = self.area() + o.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

/// The six BlazeFace keypoints. "Right" is the subject's right: on the image's left for a
/// face looking at the camera.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Landmarks {
    /// Centre of the subject's right eye (on the left of the image for a frontal face).
    pub right_eye: Point,
    /// Centre of the subject's left eye.
    pub left_eye: Point,
    /// Tip of the nose.
    pub nose_tip: Point,
    /// Centre of the mouth.
    pub mouth: Point,
    /// The subject's right ear tragion.
    pub right_ear: Point,
    /// The subject's left ear tragion.
    pub left_ear: Point,
}

impl Landmarks {
    /// The four points aligned to [`crate::face::align::TEMPLATE_112`].
    pub fn alignment_points(&self) -> [Point; 4] {
        [self.right_eye, self.left_eye, self.nose_tip, self.mouth]
    }

    /// Every point moved by `f` (e.g. from a crop's coordinates back to the image's).
    pub fn map(&self, f: impl Fn(Point) -> Point) -> Self {
        Self {
            right_eye: f(self.right_eye),
            left_eye: f(self.left_eye),
            nose_tip: f(self.nose_tip),
            mouth: f(self.mouth),
            right_ear: f(self.right_ear),
            left_ear: f(self.left_ear),
        }
    }
}

/// One detected face.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Face {
    #[serde(rename = "box")]
    /// Where the face is.
    pub bbox: BoundingBox,
    /// Detection confidence in [0, 1].
    pub score: f32,
    /// The six BlazeFace keypoints, in pixels.
    pub landmarks: Landmarks,
}

impl Face {
    /// The transform from the image into a `size`x`size` crop centred on the face's box, `context`
    /// times the box's larger side wide, rotated so that the eyes come out level: how the detector's
    /// second look and the face mesh see a face. `None` for a degenerate box or eye line.
    pub fn upright_crop(&self, context: f32, size: usize) -> Option<Similarity> {
        let b = &self.bbox;
        let centre = [b.x + b.width / 2.0, b.y + b.height / 2.0];
        let side = b.width.max(b.height) * context;
        let [r, l] = [self.landmarks.right_eye, self.landmarks.left_eye];
        let angle = (l[1] - r[1]).atan2(l[0] - r[0]);
        if !(side > 1.0 && angle.is_finite()) {
            return None;
        }
        // crop = s·R(−angle)·(p − centre) + size / 2
        let scale = size as f32 / side;
        let (a, b) = (scale * angle.cos(), -scale * angle.sin());
        let half = size as f32 / 2.0;
        Some(Similarity {
            a,
            b,
            tx: half - (a * centre[0] - b * centre[1]),
            ty: half - (b * centre[0] + a * centre[1]),
        })
    }
}

/// Anchor centres in [0, 1] of the 128x128 input, in the network's output order (SSD anchors with
/// fixed size 1: per feature map, per row, per column, `anchors` copies of the cell centre).
pub fn anchors() -> Vec<[f32; 2]> {
    let mut out = Vec::new();
    for (grid, per_cell) in [(16usize, HEADS[0].2), (8, HEADS[1].2)] {
        for y in 0..grid {
            for x in 0..grid {
                for _ in 0..per_cell {
                    out.push([
                        (x as f32 + 0.5) / grid as f32,
                        (y as f32 + 0.5) / grid as f32,
                    ]);
                }
            }
        }
    }
    out
}

/// How an image was fitted into the square input: `input = image · scale + offset`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    pub scale: f32,
    pub offset: [f32; 2],
}

impl Letterbox {
    pub fn fit(width: usize, height: usize, size: usize) -> Self {
        let scale = size as f32 / width.max(height) as f32;
        Self {
            scale,
            offset: [
                (size as f32 - width as f32 * scale) / 2.0,
                (size as f32 - height as f32 * scale) / 2.0,
            ],
        }
    }
    fn to_image(self, p: Point) -> Point {
        [
            (p[0] - self.offset[0]) / self.scale,
            (p[1] - self.offset[1]) / self.scale,
        ]
    }
}

/// The detector input: the image scaled to fit 128x128 without distortion, centred, the border
/// black; planar CHW with values `v / 127.5 − 1`.
pub fn letterboxed_input(image: &Image) -> (Vec<f32>, Letterbox) {
    let lb = Letterbox::fit(image.width(), image.height(), INPUT_SIZE);
    let w = ((image.width() as f32 * lb.scale).round() as usize).clamp(1, INPUT_SIZE);
    let h = ((image.height() as f32 * lb.scale).round() as usize).clamp(1, INPUT_SIZE);
    let scaled = image.resize_area(w, h);
    let (ox, oy) = ((INPUT_SIZE - w) / 2, (INPUT_SIZE - h) / 2);
    let lb = Letterbox {
        scale: lb.scale,
        offset: [ox as f32, oy as f32],
    };
    let plane = INPUT_SIZE * INPUT_SIZE;
    let mut out = vec![-1.0; 3 * plane];
    for y in 0..h {
        for x in 0..w {
            let px = &scaled.as_rgb()[(y * w + x) * 3..(y * w + x) * 3 + 3];
            for c in 0..3 {
                out[c * plane + (y + oy) * INPUT_SIZE + x + ox] = px[c] as f32 / 127.5 - 1.0;
            }
        }
    }
    (out, lb)
}

/// Decodes raw anchor outputs (`anchors.len() * 17` values) into faces above `min_score`, then
/// merges overlapping ones (weighted NMS), in image pixels, highest score first.
pub fn decode(raw: &[f32], lb: Letterbox, min_score: f32) -> Vec<Face> {
    let size = INPUT_SIZE as f32;
    let mut candidates = Vec::new();
    for (a, r) in anchors().iter().zip(raw.chunks_exact(VALUES_PER_ANCHOR)) {
        let score = 1.0 / (1.0 + (-r[0].clamp(-100.0, 100.0)).exp());
        // A row with a non-finite value (a broken backend, corrupt weights) is no face: its box
        // could not be compared with any other, and once made `weighted_nms` loop forever.
        if !(score >= min_score) || r.iter().any(|v| !v.is_finite()) {
            continue;
        }
        // Offsets are in input pixels from the anchor centre.
        let point = |dx: f32, dy: f32| lb.to_image([a[0] * size + dx, a[1] * size + dy]);
        let [cx, cy] = point(r[1], r[2]);
        let (w, h) = (r[3] / lb.scale, r[4] / lb.scale);
        let kp = |k: usize| point(r[5 + 2 * k], r[6 + 2 * k]);
        candidates.push(Face {
            bbox: BoundingBox {
                x: cx - w / 2.0,
                y: cy - h / 2.0,
                width: w,
                height: h,
            },
            score,
            landmarks: Landmarks {
                right_eye: kp(0),
                left_eye: kp(1),
                nose_tip: kp(2),
                mouth: kp(3),
                right_ear: kp(4),
                left_ear: kp(5),
            },
        });
    }
    weighted_nms(candidates, NMS_IOU)
}

/// MediaPipe's WEIGHTED suppression: the best remaining face and every face overlapping it by
/// more than `iou` form a cluster whose box and keypoints are averaged, weighted by score; the
/// cluster keeps the best score.
pub fn weighted_nms(mut faces: Vec<Face>, iou: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    // Each round removes at least the top face (by position, not by `==`, which a NaN
    // coordinate would defeat), so the loop ends after at most `faces.len()` rounds.
    while !faces.is_empty() {
        let top = faces.remove(0);
        let (mut cluster, rest): (Vec<Face>, Vec<Face>) =
            faces.into_iter().partition(|f| f.bbox.iou(&top.bbox) > iou);
        cluster.insert(0, top);
        faces = rest;
        let total: f32 = cluster.iter().map(|f| f.score).sum();
        let avg = |get: &dyn Fn(&Face) -> f32| {
            cluster.iter().map(|f| get(f) * f.score).sum::<f32>() / total
        };
        let avg_point = |get: &dyn Fn(&Face) -> Point| [avg(&|f| get(f)[0]), avg(&|f| get(f)[1])];
        let (x0, y0) = (avg(&|f| f.bbox.x), avg(&|f| f.bbox.y));
        let (x1, y1) = (
            avg(&|f| f.bbox.x + f.bbox.width),
            avg(&|f| f.bbox.y + f.bbox.height),
        );
        out.push(Face {
            bbox: BoundingBox {
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
            },
            score: top.score,
            landmarks: Landmarks {
                right_eye: avg_point(&|f| f.landmarks.right_eye),
                left_eye: avg_point(&|f| f.landmarks.left_eye),
                nose_tip: avg_point(&|f| f.landmarks.nose_tip),
                mouth: avg_point(&|f| f.landmarks.mouth),
                right_ear: avg_point(&|f| f.landmarks.right_ear),
                left_ear: avg_point(&|f| f.landmarks.left_ear),
            },
        });
    }
    out
}

/// A loaded face detector on one backend.
pub struct Detector {
    model: BlazeFace,
    /// The same network packed for the CPU kernels (on Flex; `None` on other backends).
    packed: Option<PackedBlazeFace>,
    /// Whether detection on Flex runs the packed kernels (see [`KernelSwitch`]).
    kernels: KernelSwitch,
    device: Device,
    info: ModelInfo,
}

impl Detector {
    /// Loads detector weights (a webverify weights file of BlazeFace) onto `device`.
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
        let read = |name: &str, shape: &[usize]| file.read(name, shape);
        let weights = BlazeFaceWeights::read(&read)?;
        let packed = if KernelSwitch::serves(&device) {
            Some(PackedBlazeFace::build(&weights)?)
        } else {
            None
        };
        Ok(Self {
            model: BlazeFace::build(&weights, &device),
            packed,
            kernels: KernelSwitch::default(),
            device,
            info: file.info.clone(),
        })
    }

    /// On Flex, whether detection runs the packed CPU kernels (`true`, the default in wasm) or
    /// burn's ops.
    pub fn set_packed_kernels(&self, on: bool) {
        self.kernels.set(on);
    }

    /// Whether detection runs the packed CPU kernels now.
    pub fn uses_packed_kernels(&self) -> bool {
        self.kernels.pick(self.packed.as_ref()).is_some()
    }

    /// The raw anchor outputs (`896 × 17`) for one letterboxed input (`[3, 128, 128]`).
    pub async fn raw_async(&self, input: Vec<f32>) -> Result<Vec<f32>> {
        if let Some(packed) = self.kernels.pick(self.packed.as_ref()) {
            return Ok(packed.forward(&input));
        }
        let x = Tensor::<4>::from_data(
            TensorData::new(input, [1, 3, INPUT_SIZE, INPUT_SIZE]),
            &self.device,
        );
        read_back(self.model.forward(x), "reading detections back")
            .await?
            .try_into_vec::<f32>()
            .map_err(|e| Error::Inference(format!("{e:?}")))
    }

    /// The detector weights' name and checksum.
    pub fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    /// Faces in `image`, highest score first.
    pub async fn detect_async(&self, image: &Image) -> Result<Vec<Face>> {
        let (input, lb) = letterboxed_input(image);
        let raw = self.raw_async(input).await?;
        Ok(decode(&raw, lb, MIN_SCORE))
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// The faces in `image`, best first (blocking; [`Detector::detect_async`] in wasm).
    pub fn detect(&self, image: &Image) -> Result<Vec<Face>> {
        pollster::block_on(self.detect_async(image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "flex")]
    #[test]
    fn the_packed_kernels_give_the_burn_modules_outputs() {
        let weights = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/blazeface-short.safetensors"
        ))
        .unwrap();
        let detector = Detector::with_device(&weights, Device::flex()).unwrap();
        assert!(detector.packed.is_some(), "Flex packs the detector");
        // A smooth pattern with edges in every channel, in [-1, 1], so that every layer (the
        // padded channels, the pooled shortcuts, both heads) sees non-trivial values.
        let n = INPUT_SIZE;
        let input: Vec<f32> = (0..3 * n * n)
            .map(|i| {
                let (c, y, x) = (i / (n * n), (i / n) % n, i % n);
                ((x as f32 * 0.11 + c as f32).sin() * (y as f32 * 0.07).cos()
                    + if (x / 16 + y / 16 + c) % 2 == 0 {
                        0.3
                    } else {
                        -0.3
                    })
                .clamp(-1.0, 1.0)
            })
            .collect();
        let run = |packed: bool| {
            detector.set_packed_kernels(packed);
            assert_eq!(detector.uses_packed_kernels(), packed);
            pollster::block_on(detector.raw_async(input.clone())).unwrap()
        };
        let (kernels, burn) = (run(true), run(false));
        assert_eq!(kernels.len(), 896 * VALUES_PER_ANCHOR);
        assert_eq!(kernels.len(), burn.len());
        let scale = burn.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 1.0, "outputs of size {scale}");
        for (k, (a, b)) in kernels.iter().zip(&burn).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "anchor {} value {}: kernels {a}, burn {b} (scale {scale})",
                k / VALUES_PER_ANCHOR,
                k % VALUES_PER_ANCHOR
            );
        }
    }

    #[test]
    fn anchor_layout() {
        let a = anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], [1.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(a[512], [0.5 / 8.0, 0.5 / 8.0]);
        assert_eq!(a[895], [7.5 / 8.0, 7.5 / 8.0]);
    }

    #[test]
    fn letterbox_round_trip() {
        let lb = Letterbox::fit(400, 200, 128);
        assert_eq!(lb.scale, 0.32);
        assert_eq!(lb.offset, [0.0, 32.0]);
        let p = lb.to_image([64.0, 64.0]);
        assert!((p[0] - 200.0).abs() < 1e-4 && (p[1] - 100.0).abs() < 1e-4);
    }

    fn face(x: f32, score: f32) -> Face {
        let p = [x, 0.0];
        Face {
            bbox: BoundingBox {
                x,
                y: 0.0,
                width: 10.0,
                height: 10.0,
            },
            score,
            landmarks: Landmarks {
                right_eye: p,
                left_eye: p,
                nose_tip: p,
                mouth: p,
                right_ear: p,
                left_ear: p,
            },
        }
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_separate_faces() {
        let out = weighted_nms(vec![face(0.0, 0.9), face(2.0, 0.6), face(50.0, 0.7)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        // x averaged with weights 0.9 and 0.6: (0·0.9 + 2·0.6) / 1.5 = 0.8.
        assert!((out[0].bbox.x - 0.8).abs() < 1e-6);
        assert!((out[0].landmarks.nose_tip[0] - 0.8).abs() < 1e-6);
        assert_eq!(out[1].bbox.x, 50.0);
    }

    #[test]
    fn non_finite_boxes_end_the_suppression_and_are_not_faces() {
        // A NaN box with a finite score used to stay at the top of the list forever.
        let mut bad = face(0.0, 0.9);
        bad.bbox.x = f32::NAN;
        // It returns (f32::min/max skip NaN, so the NaN box overlaps the others and takes them
        // into its cluster): at most one cluster per face.
        let out = weighted_nms(vec![bad, face(50.0, 0.7), face(f32::INFINITY, 0.8)], 0.3);
        assert!((1..=3).contains(&out.len()), "{}", out.len());
        // decode drops rows with a non-finite value.
        let mut raw = vec![-50.0f32; 896 * 17];
        raw[..17].copy_from_slice(&[5.0; 17]);
        raw[3] = f32::NAN;
        raw[17..34].copy_from_slice(&[5.0; 17]);
        raw[17 + 8] = f32::INFINITY;
        let lb = Letterbox {
            scale: 0.5,
            offset: [0.0, 0.0],
        };
        assert!(decode(&raw, lb, 0.5).is_empty());
    }

    #[test]
    fn decode_places_a_box_at_its_anchor() {
        // One confident anchor (index 2: cell (1, 0) of the 16x16 map) with zero offsets.
        let mut raw = vec![-50.0f32; 896 * 17];
        raw[2 * 17..3 * 17].copy_from_slice(&[
            5.0, 0.0, 0.0, 16.0, 16.0, -4.0, 0.0, 4.0, 0.0, 0.0, 2.0, 0.0, 6.0, -7.0, 0.0, 7.0, 0.0,
        ]);
        let lb = Letterbox {
            scale: 0.5,
            offset: [0.0, 0.0],
        };
        let faces = decode(&raw, lb, 0.5);
        assert_eq!(faces.len(), 1);
        let f = faces[0];
        // Anchor centre (12, 4) in input pixels → (24, 8) in the image; box 16/0.5 = 32 wide.
        assert!((f.bbox.x - 8.0).abs() < 1e-4 && (f.bbox.width - 32.0).abs() < 1e-4);
        assert!((f.landmarks.right_eye[0] - 16.0).abs() < 1e-4);
        assert!((f.landmarks.mouth[1] - 20.0).abs() < 1e-4);
    }
}
