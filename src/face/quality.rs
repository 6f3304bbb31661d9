//! The photo half of the quality gate at enrollment: no face, several faces, a tiny or blurred
//! face. The half that needs the gallery (a face that disagrees with the identity's other
//! templates) is `crate::gallery::enroll`.

use crate::face::prepared::Prepared;
use crate::image::Image;

/// Faces narrower than this (pixels of the input) carry too little detail: the 112x112 crop
/// holds the face in about 70 pixels, so below 56 it is upsampled by more than 1.25.
pub const MIN_FACE_WIDTH: f32 = 56.0;
/// Variance of the Laplacian of the grey 112x112 crop below which the face is blurred: the 1st
/// percentile over the 3 443 LFW View 1 DevTrain crops is 34.7 (5th 56.3, median 143;
/// `cargo test --release --test quality -- --ignored --nocapture` measures it).
pub const MIN_SHARPNESS: f32 = 35.0;

/// Why a template was held back.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Issue {
    /// `NO_FACE`, `SEVERAL_FACES`, `SMALL_FACE`, `BLURRY` or `INCONSISTENT`.
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

/// The issues of one prepared photo that do not depend on the gallery.
pub fn photo_issues(prepared: &Prepared) -> Vec<Issue> {
    let mut issues = Vec::new();
    if prepared.faces.len() > 1 {
        issues.push(Issue {
            code: "SEVERAL_FACES",
            message: format!(
                "{} faces in the photo; the main one would be enrolled",
                prepared.faces.len()
            ),
        });
    }
    if let Some(main) = &prepared.main {
        if main.bbox.width < MIN_FACE_WIDTH {
            issues.push(Issue {
                code: "SMALL_FACE",
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
            code: "BLURRY",
            message: format!("the face is blurred (sharpness {s:.0}, at least {MIN_SHARPNESS:.0})"),
        });
    }
    issues
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
