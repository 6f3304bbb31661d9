//! The photo half of the quality gate at enrollment: no face, several faces, a tiny or blurred
//! face, a low quality score. The half that needs the gallery (a face that disagrees with the identity's other
//! templates) is `crate::gallery::enroll`. And a graded quality score (ideas of ISO/IEC
//! 29794-5: sharpness, exposure, pose, face size, detection confidence, and with the face mesh
//! eyes open and visibility), each component reported.

use crate::face::prepared::Prepared;
use crate::image::Image;

/// Faces narrower than this (pixels of the input) carry too little detail: the 112x112 crop
/// holds the face in about 70 pixels, so below 56 it is upsampled by more than 1.25.
pub const MIN_FACE_WIDTH: f32 = 56.0;
/// Variance of the Laplacian of the grey 112x112 crop below which the face is blurred: the 1st
/// percentile over the 3 443 LFW View 1 DevTrain crops is 34.7 (5th 56.3, median 143;
/// `cargo test --release --test quality -- --ignored --nocapture` measures it).
pub const MIN_SHARPNESS: f32 = 35.0;

/// The quality score below which enrollment holds a photo back (`LOW_QUALITY`): on LFW View 1
/// DevTrain, rejecting the 10 % of pairs whose worse image scores lowest keeps the pairs at or
/// above 0.094 and lowers the false non-match rate at the FAR 1e-3 threshold from 2.64 % to
/// 1.83 % (`webverify eval`, int8 weights; docs/ACCURACY.md has DevTest at this gate). Kept when
/// flip test-time augmentation and the occlusion component came (issue 29): on DevTrain it then
/// rejects 10.5 % of pairs and the FNMR of those kept is 1.53 % (2.36 % with none rejected).
pub const MIN_QUALITY: f32 = 0.094;

/// The codes of an [`Issue`], spelled as the package and its types spell them
/// (`ISSUE_CODES` in `pkg/constants.js`, checked equal by `tests/shared_constants.rs`).
pub mod issue_code {
    /// No face was found.
    pub const NO_FACE: &str = "NO_FACE";
    /// More than one face: which one is meant is not clear.
    pub const SEVERAL_FACES: &str = "SEVERAL_FACES";
    /// The face is too small for a good template.
    pub const SMALL_FACE: &str = "SMALL_FACE";
    /// The aligned crop is too blurred.
    pub const BLURRY: &str = "BLURRY";
    /// The eyes are closed (with the face mesh).
    pub const EYES_CLOSED: &str = "EYES_CLOSED";
    /// Something covers the eyes (sunglasses), the mouth and nose (a mask) or one side (a hand).
    pub const OCCLUDED: &str = "OCCLUDED";
    /// The face is too dark to show its features.
    pub const TOO_DARK: &str = "TOO_DARK";
    /// The quality score is below the enrollment gate.
    pub const LOW_QUALITY: &str = "LOW_QUALITY";
    /// The photo does not match the identity's other templates.
    pub const INCONSISTENT: &str = "INCONSISTENT";
    /// Every code.
    pub const ALL: [&str; 9] = [
        NO_FACE,
        SEVERAL_FACES,
        SMALL_FACE,
        BLURRY,
        EYES_CLOSED,
        OCCLUDED,
        TOO_DARK,
        LOW_QUALITY,
        INCONSISTENT,
    ];
}

/// Why a template was held back.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Issue {
    /// `NO_FACE`, `SEVERAL_FACES`, `SMALL_FACE`, `BLURRY`, `EYES_CLOSED` (with the face mesh),
    /// `OCCLUDED`, `TOO_DARK`, `LOW_QUALITY` or `INCONSISTENT`.
    pub code: &'static str,
    /// What is wrong, in words for the user.
    pub message: String,
}

/// Variance of the 4-neighbour Laplacian over the grey image: low when edges are soft.
pub fn sharpness(crop: &Image) -> f32 {
    let (w, h) = (crop.width(), crop.height());
    if w < 3 || h < 3 {
        return 0.0;
    }
    let grey: Vec<f32> = crop
        .as_rgb()
        .chunks_exact(3)
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect();
    let mut values = Vec::with_capacity((w - 2) * (h - 2));
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = grey[y * w + x];
            values.push(
                grey[(y - 1) * w + x]
                    + grey[(y + 1) * w + x]
                    + grey[y * w + x - 1]
                    + grey[y * w + x + 1]
                    - 4.0 * c,
            );
        }
    }
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n
}

/// The median sharpness of the LFW View 1 DevTrain crops (see [`MIN_SHARPNESS`]): a crop this
/// sharp or sharper scores 1.
const TYPICAL_SHARPNESS: f32 = 143.0;
/// A face this many pixels wide or wider carries the detail of the 112x112 crop.
const FULL_DETAIL_WIDTH: f32 = 112.0;

/// How fit a face image is for recognition: each component in [0, 1] (1: no concern), `score`
/// their product. Built from measurements the pipeline already has; the components follow
/// ISO/IEC 29794-5's ideas, the weights are ours (docs/ACCURACY.md measures that rejecting the
/// lowest scores lowers the false non-match rate).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quality {
    /// The product of the components.
    pub score: f32,
    /// Laplacian variance of the aligned crop against a typical sharp face.
    pub sharpness: f32,
    /// Brightness of the face's centre and the share of clipped pixels.
    pub exposure: f32,
    /// Frontality: the nose's offset from the eyes' midpoint along the eye line.
    pub pose: f32,
    /// Face width against the crop's 112 pixels.
    pub face_size: f32,
    /// The detector's confidence.
    pub detection: f32,
    /// Whether the eyes and the mouth show their features: the least textured of the three
    /// regions against the crop's texture (sunglasses, a mask or a hand leave a flat region).
    pub occlusion: f32,
    /// With the face mesh: the less open eye's aspect ratio against an open eye's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eyes_open: Option<f32>,
    /// With the face mesh: how sure the mesh is that its crop shows a whole face (its face
    /// flag, as a logit); a covered or partial face lowers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<f32>,
}

/// The quality of a prepared photo's main face (`None` with `FaceMode::None`: no face known).
pub fn quality(prepared: &Prepared) -> Option<Quality> {
    let main = prepared.main.as_ref()?;
    let sharpness = (sharpness(&prepared.crop) / TYPICAL_SHARPNESS).clamp(0.0, 1.0);
    let (mean, clipped) = centre_grey(&prepared.crop);
    let exposure =
        (1.0 - clipped) * (1.0 - ((mean - 128.0).abs() - 48.0).max(0.0) / 80.0).clamp(0.0, 1.0);
    let lm = &main.landmarks;
    let eye = [
        lm.left_eye[0] - lm.right_eye[0],
        lm.left_eye[1] - lm.right_eye[1],
    ];
    let mid = [
        (lm.left_eye[0] + lm.right_eye[0]) / 2.0,
        (lm.left_eye[1] + lm.right_eye[1]) / 2.0,
    ];
    let iod2 = (eye[0] * eye[0] + eye[1] * eye[1]).max(1e-6);
    let offset = ((lm.nose_tip[0] - mid[0]) * eye[0] + (lm.nose_tip[1] - mid[1]) * eye[1]) / iod2;
    let pose = (1.0 - offset.abs() / 0.5).clamp(0.0, 1.0);
    let face_size = (main.bbox.width / FULL_DETAIL_WIDTH).clamp(0.0, 1.0);
    let detection = main.score.clamp(0.0, 1.0);
    let occlusion = ramp(
        least_textured_region(&prepared.crop).1,
        COVERED_TEXTURE,
        VISIBLE_TEXTURE,
    );
    let mesh = prepared.mesh.as_ref();
    let eyes_open = mesh.map(|m| {
        let [r, l] = m.eye_openness();
        ((r.min(l) - CLOSED_EYE) / (OPEN_EYE - CLOSED_EYE)).clamp(0.0, 1.0)
    });
    let visibility = mesh.map(|m| {
        ((m.face_logit - UNSURE_FACE_LOGIT) / (SURE_FACE_LOGIT - UNSURE_FACE_LOGIT)).clamp(0.0, 1.0)
    });
    let mut q = Quality {
        score: 1.0,
        sharpness,
        exposure,
        pose,
        face_size,
        detection,
        occlusion,
        eyes_open,
        visibility,
    };
    q.score = q.components().iter().map(|c| c.1).product();
    Some(q)
}

/// The mean grey of the crop's centre (skin) and the share of its pixels clipped to black or
/// white.
fn centre_grey(crop: &Image) -> (f32, f32) {
    let (w, h) = (crop.width(), crop.height());
    let rgb = crop.as_rgb();
    let (mut sum, mut clipped, mut n) = (0.0f32, 0usize, 0usize);
    for y in h / 4..h * 3 / 4 {
        for x in w / 4..w * 3 / 4 {
            let p = &rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
            let g = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
            sum += g;
            clipped += (g <= 5.0 || g >= 250.0) as usize;
            n += 1;
        }
    }
    (sum / n.max(1) as f32, clipped as f32 / n.max(1) as f32)
}

/// The mean grey of the crop's centre, 0–255.
pub fn centre_brightness(crop: &Image) -> f32 {
    centre_grey(crop).0
}

fn ramp(value: f32, zero: f32, one: f32) -> f32 {
    ((value - zero) / (one - zero)).clamp(0.0, 1.0)
}

/// The regions of the aligned 112x112 crop (4- and 5-point templates alike) that an occluder
/// hides and a visible face fills with detail: each eye (lids, iris, lashes; not the brow, which
/// thin sunglasses leave visible) and the mouth. `(name, centre x, centre y, half width, half
/// height)`.
const FEATURE_REGIONS: [(&str, f32, f32, f32, f32); 3] = [
    ("right eye", 38.3, 51.7, 10.0, 4.0),
    ("left eye", 73.5, 51.5, 10.0, 4.0),
    ("mouth", 56.1, 92.3, 14.0, 6.0),
];

/// The region with the least detail, and its detail against the whole crop's: the mean absolute
/// grey gradient inside the region over the mean over the crop's central part. A ratio keeps
/// blur, darkness and contrast (which change both) from reading as occlusion; an occluder's flat
/// colour leaves its region with only noise and the occluder's edge.
pub fn least_textured_region(crop: &Image) -> (&'static str, f32) {
    let crop = crop.resize_bilinear(112, 112);
    let grey: Vec<f32> = crop
        .as_rgb()
        .chunks_exact(3)
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect();
    let gradient = |x: usize, y: usize| {
        let at = |x: usize, y: usize| grey[y * 112 + x];
        (at(x + 1, y) - at(x - 1, y)).abs() + (at(x, y + 1) - at(x, y - 1)).abs()
    };
    let mean = |x0: usize, x1: usize, y0: usize, y1: usize| {
        let (mut sum, mut n) = (0.0, 0usize);
        for y in y0.max(1)..y1.min(111) {
            for x in x0.max(1)..x1.min(111) {
                sum += gradient(x, y);
                n += 1;
            }
        }
        sum / n.max(1) as f32
    };
    let whole = mean(16, 96, 24, 104).max(1e-3);
    FEATURE_REGIONS
        .iter()
        .map(|&(name, cx, cy, hw, hh)| {
            let r = mean(
                (cx - hw) as usize,
                (cx + hw) as usize,
                (cy - hh) as usize,
                (cy + hh) as usize,
            );
            (name, r / whole)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("none", 1.0))
}

/// Region detail ratios (see [`least_textured_region`]) between which `occlusion` goes from 0
/// to 1. Over 431 LFW View 1 DevTrain crops (every 8th image) the ratio's 1st percentile is 0.60
/// (0.2 % below 0.35); with the synthetic occluders of `webverify eval --degrade` it is below 0.35
/// for 94 % of crops behind sunglasses (0.5 eye distances), 99 % behind a mask (level 0.3) and 70 %
/// behind a hand (0.8) (`cargo test --release --features flex,cli --test quality -- --ignored
/// --nocapture measure_occlusion`; docs/ACCURACY.md, "Robustness").
const COVERED_TEXTURE: f32 = 0.3;
const VISIBLE_TEXTURE: f32 = 0.55;
/// Below this `occlusion`, enrollment says what is covered (`OCCLUDED`).
pub const MIN_OCCLUSION: f32 = 0.5;
/// Below this mean grey of the face's centre (0–255), enrollment asks for more light
/// (`TOO_DARK`): a face at 4 stops under a normal exposure.
pub const MIN_BRIGHTNESS: f32 = 40.0;

/// Eye aspect ratios (`Mesh::eye_openness`) of a shut and of a surely open eye: LFW's median eye
/// measures 0.29, eyes shut 0.09–0.13; 2.5 % of LFW View 1 DevTrain pairs fall below 0.16.
/// Chosen so that the component marks shut eyes without ranking narrow open eyes (which did
/// not lower the false non-match rate on DevTrain; docs/ACCURACY.md).
const CLOSED_EYE: f32 = 0.10;
const OPEN_EYE: f32 = 0.16;
/// Below this `eyes_open`, enrollment asks for open eyes (`EYES_CLOSED`): both eye aspect ratios
/// under about 0.115.
pub const MIN_EYES_OPEN: f32 = 0.25;
/// The mesh's face logits between which `visibility` goes from 0 to 1: over LFW View 1 DevTrain's
/// pairs (each its worse face) the median is 20.5, the 5th percentile 12.8, the 1st 8.3 (the
/// probability rounds to 1 in f32 above about 17, hence the logit).
const UNSURE_FACE_LOGIT: f32 = 5.0;
const SURE_FACE_LOGIT: f32 = 15.0;

/// The issues of one prepared photo that do not depend on the gallery.
pub fn photo_issues(prepared: &Prepared) -> Vec<Issue> {
    let mut issues = Vec::new();
    if prepared.faces.len() > 1 {
        issues.push(Issue {
            code: issue_code::SEVERAL_FACES,
            message: format!(
                "{} faces in the photo; the main one would be enrolled",
                prepared.faces.len()
            ),
        });
    }
    if let Some(main) = &prepared.main {
        if main.bbox.width < MIN_FACE_WIDTH {
            issues.push(Issue {
                code: issue_code::SMALL_FACE,
                message: format!(
                    "the face is {:.0} pixels wide; come closer (at least {MIN_FACE_WIDTH:.0})",
                    main.bbox.width
                ),
            });
        }
    }
    let s = sharpness(&prepared.crop);
    if s < MIN_SHARPNESS {
        issues.push(Issue {
            code: issue_code::BLURRY,
            message: format!("the face is blurred (sharpness {s:.0}, at least {MIN_SHARPNESS:.0})"),
        });
    }
    let graded = quality(prepared);
    // `graded` exists exactly when a face was found.
    if let Some(q) = graded {
        // A washed-out or black face is flat everywhere: that is exposure (LOW_QUALITY names
        // it), not something in front of the face. Which region is flat is looked up again only
        // to say so.
        if q.occlusion < MIN_OCCLUSION && q.exposure >= 0.5 {
            let (region, detail) = least_textured_region(&prepared.crop);
            let what = if region == "mouth" {
                "the mouth and nose look covered (a mask?)"
            } else {
                "an eye looks covered (sunglasses, a hand or hair?)"
            };
            issues.push(Issue {
                code: issue_code::OCCLUDED,
                message: format!(
                    "{what}: use a photo with the whole face visible ({region} detail {detail:.2})"
                ),
            });
        }
        let brightness = centre_brightness(&prepared.crop);
        if brightness < MIN_BRIGHTNESS {
            issues.push(Issue {
                code: issue_code::TOO_DARK,
                message: format!(
                    "the face is too dark (brightness {brightness:.0} of 255, at least \
                     {MIN_BRIGHTNESS:.0}): add light in front of the face"
                ),
            });
        }
    }
    if let Some(open) = graded
        .and_then(|q| q.eyes_open)
        .filter(|&o| o < MIN_EYES_OPEN)
    {
        issues.push(Issue {
            code: issue_code::EYES_CLOSED,
            message: format!(
                "the eyes look closed (eyes open {open:.2}): use a photo with open eyes"
            ),
        });
    }
    if let Some(q) = graded.filter(|q| q.score < MIN_QUALITY) {
        let (name, value) = q.weakest();
        issues.push(Issue {
            code: issue_code::LOW_QUALITY,
            message: format!(
                "the photo's quality is low ({:.3}, at least {MIN_QUALITY}; weakest: {name} \
                 {value:.2}): use a sharp, well-lit photo facing the camera",
                q.score
            ),
        });
    }
    issues
}

impl Quality {
    /// Every component, by name (the mesh's only where the pipeline has the mesh).
    pub fn components(&self) -> Vec<(&'static str, f32)> {
        let mut all = vec![
            ("sharpness", self.sharpness),
            ("exposure", self.exposure),
            ("pose", self.pose),
            ("face size", self.face_size),
            ("detection", self.detection),
            ("occlusion", self.occlusion),
        ];
        let mesh = [
            ("eyes open", self.eyes_open),
            ("visibility", self.visibility),
        ];
        all.extend(mesh.into_iter().filter_map(|(n, v)| Some((n, v?))));
        all
    }

    /// One component by name (`None`: this quality has no such component).
    pub fn component(&self, name: &str) -> Option<f32> {
        self.components()
            .into_iter()
            .find(|c| c.0 == name)
            .map(|c| c.1)
    }

    /// The worse of two qualities, component by component (a pair of photos is as good as its
    /// worse photo); `score` is the lower score.
    pub fn worse(&self, other: &Quality) -> Quality {
        let min = |a: f32, b: f32| a.min(b);
        let min_opt = |a: Option<f32>, b: Option<f32>| Some(a?.min(b?));
        Quality {
            score: min(self.score, other.score),
            sharpness: min(self.sharpness, other.sharpness),
            exposure: min(self.exposure, other.exposure),
            pose: min(self.pose, other.pose),
            face_size: min(self.face_size, other.face_size),
            detection: min(self.detection, other.detection),
            occlusion: min(self.occlusion, other.occlusion),
            eyes_open: min_opt(self.eyes_open, other.eyes_open),
            visibility: min_opt(self.visibility, other.visibility),
        }
    }

    /// The lowest component, by name.
    pub fn weakest(&self) -> (&'static str, f32) {
        self.components()
            .into_iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(("score", self.score))
    }
}

/// One photo offered for enrollment: its embedding (none when no face was found) and the issues
/// found so far.
#[derive(Clone, Debug)]
pub struct Offered {
    /// The embedding of the photo's main face (`None` when it has no face).
    pub embedding: Option<Vec<f32>>,
    /// The photo checks' findings (empty when it passed).
    pub issues: Vec<Issue>,
}
