//! Face alignment: the least-squares similarity transform (rotation, uniform scale, translation)
//! from detected landmarks to the standard ArcFace 112x112 template, and the bilinear warp that
//! produces the model's input crop.
//!
//! Coordinates follow OpenCV's convention (pixel centres at integer coordinates), as the
//! template was defined with `cv2.warpAffine`.

use crate::image::Image;

/// A point in pixels.
pub type Point = [f32; 2];

/// The ArcFace template in the 112x112 crop, in image order: the eye on the image's left (the
/// subject's right eye), the other eye, the nose tip, and the mouth centre (the midpoint of the
/// template's mouth corners 41.5493,92.3655 and 70.7299,92.2041 — detectors give the centre).
pub const TEMPLATE_112: [Point; 4] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [56.1396, 92.2848],
];

/// The full five-point ArcFace template: eye centres (image left first), nose tip, mouth corners
/// (image left first).
pub const TEMPLATE_112_FIVE: [Point; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// `dst = [[a, −b], [b, a]] · src + t`: a similarity transform without reflection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    /// The least-squares fit mapping `src[i]` onto `dst[i]` (Umeyama 1991, restricted to
    /// rotations: in 2D the optimum has the closed form below). `None` when the source points
    /// all coincide or lengths differ.
    pub fn fit(src: &[Point], dst: &[Point]) -> Option<Self> {
        if src.len() != dst.len() || src.len() < 2 {
            return None;
        }
        let n = src.len() as f64;
        let mean = |p: &[Point]| {
            let (sx, sy) = p.iter().fold((0.0f64, 0.0f64), |(x, y), q| {
                (x + q[0] as f64, y + q[1] as f64)
            });
            (sx / n, sy / n)
        };
        let (msx, msy) = mean(src);
        let (mdx, mdy) = mean(dst);
        let (mut dot, mut cross, mut var) = (0.0f64, 0.0f64, 0.0f64);
        for (s, d) in src.iter().zip(dst) {
            let (sx, sy) = (s[0] as f64 - msx, s[1] as f64 - msy);
            let (dx, dy) = (d[0] as f64 - mdx, d[1] as f64 - mdy);
            dot += sx * dx + sy * dy;
            cross += sx * dy - sy * dx;
            var += sx * sx + sy * sy;
        }
        if var <= f64::EPSILON || !var.is_finite() {
            return None;
        }
        let (a, b) = (dot / var, cross / var);
        Some(Self {
            a: a as f32,
            b: b as f32,
            tx: (mdx - (a * msx - b * msy)) as f32,
            ty: (mdy - (b * msx + a * msy)) as f32,
        })
    }

    pub fn apply(&self, p: Point) -> Point {
        [
            self.a * p[0] - self.b * p[1] + self.tx,
            self.b * p[0] + self.a * p[1] + self.ty,
        ]
    }

    /// The inverse transform (`None` for a degenerate, zero-scale one).
    pub fn inverse(&self) -> Option<Self> {
        let s = self.a * self.a + self.b * self.b;
        if s <= f32::EPSILON || !s.is_finite() {
            return None;
        }
        let (a, b) = (self.a / s, -self.b / s);
        Some(Self {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        })
    }
}

/// Warps `image` into a `size`x`size` crop: each output pixel samples the source bilinearly at
/// `transform⁻¹(x, y)`; outside the source it is black, as `cv2.warpAffine` does by default.
/// Hand-written rather than taken from imageproc: 30 lines versus a dependency (with rayon and
/// nalgebra) compiled into the wasm module.
pub fn warp(image: &Image, transform: &Similarity, size: usize) -> Option<Image> {
    let inv = transform.inverse()?;
    let (w, h) = (image.width(), image.height());
    let src = image.as_rgb();
    let mut out = vec![0u8; size * size * 3];
    for y in 0..size {
        for x in 0..size {
            let [sx, sy] = inv.apply([x as f32, y as f32]);
            if !(sx > -1.0 && sy > -1.0 && sx < w as f32 && sy < h as f32) {
                continue;
            }
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            let at = |xx: isize, yy: isize, c: usize| -> f32 {
                if xx < 0 || yy < 0 || xx >= w as isize || yy >= h as isize {
                    0.0
                } else {
                    src[(yy as usize * w + xx as usize) * 3 + c] as f32
                }
            };
            for c in 0..3 {
                let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
                let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
                out[(y * size + x) * 3 + c] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
    Image::from_pixels(&out, size, size, crate::image::PixelFormat::Rgb, None).ok()
}

/// The aligned 112x112 crop for a face with landmarks in `TEMPLATE_112` order.
pub fn align_face(image: &Image, landmarks: &[Point; 4]) -> Option<Image> {
    let t = Similarity::fit(landmarks, &TEMPLATE_112)?;
    warp(image, &t, 112)
}

/// The aligned 112x112 crop for a face with five points in `TEMPLATE_112_FIVE` order (from the
/// mesh: the mouth corners the embedder was trained with, where the detector has only the
/// mouth centre).
pub fn align_face_five(image: &Image, points: &[Point; 5]) -> Option<Image> {
    let t = Similarity::fit(points, &TEMPLATE_112_FIVE)?;
    warp(image, &t, 112)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_similarity() {
        // Rotate 30°, scale 1.7, translate (12, −5).
        let (s, r) = (1.7f32, 30f32.to_radians());
        let truth = Similarity {
            a: s * r.cos(),
            b: s * r.sin(),
            tx: 12.0,
            ty: -5.0,
        };
        let src: Vec<Point> = vec![
            [0.0, 0.0],
            [10.0, 2.0],
            [3.0, 9.0],
            [7.0, -4.0],
            [-2.0, 5.0],
        ];
        let dst: Vec<Point> = src.iter().map(|&p| truth.apply(p)).collect();
        let fit = Similarity::fit(&src, &dst).unwrap();
        for (got, want) in [
            (fit.a, truth.a),
            (fit.b, truth.b),
            (fit.tx, truth.tx),
            (fit.ty, truth.ty),
        ] {
            assert!((got - want).abs() < 1e-4, "{fit:?} vs {truth:?}");
        }
        let back = fit.inverse().unwrap();
        let p = back.apply(fit.apply([3.5, -1.25]));
        assert!((p[0] - 3.5).abs() < 1e-4 && (p[1] + 1.25).abs() < 1e-4);
    }

    #[test]
    fn least_squares_with_noise_and_degenerate_input() {
        // Template points mapped by scale 2 with noise that sums to zero: the fit is exact in the
        // mean and close in scale.
        let src: Vec<Point> = TEMPLATE_112.to_vec();
        let noise = [[0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [-0.5, -0.5]];
        let dst: Vec<Point> = src
            .iter()
            .zip(noise)
            .map(|(p, n)| [2.0 * p[0] + n[0], 2.0 * p[1] + n[1]])
            .collect();
        let fit = Similarity::fit(&src, &dst).unwrap();
        let scale = (fit.a * fit.a + fit.b * fit.b).sqrt();
        assert!((scale - 2.0).abs() < 0.02 && fit.b.abs() < 0.02);
        assert!(Similarity::fit(&[[1.0, 1.0]; 4], &TEMPLATE_112).is_none());
        assert!(Similarity::fit(&src[..2], &dst[..3]).is_none());
    }

    #[test]
    fn warp_moves_a_landmark_onto_the_template() {
        // A white dot at (150, 80) in a 200x160 black image; landmarks are the template scaled by
        // 2 and shifted so that the first one sits on the dot.
        let (w, h) = (200usize, 160usize);
        let mut px = vec![0u8; w * h * 3];
        for y in 79..=81 {
            for x in 149..=151 {
                px[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        let image = Image::from_pixels(&px, w, h, crate::image::PixelFormat::Rgb, None).unwrap();
        let shift = [
            150.0 - 2.0 * TEMPLATE_112[0][0],
            80.0 - 2.0 * TEMPLATE_112[0][1],
        ];
        let landmarks = TEMPLATE_112.map(|p| [2.0 * p[0] + shift[0], 2.0 * p[1] + shift[1]]);
        let crop = align_face(&image, &landmarks).unwrap();
        let at = |x: usize, y: usize| crop.as_rgb()[(y * 112 + x) * 3];
        let (tx, ty) = (
            TEMPLATE_112[0][0].round() as usize,
            TEMPLATE_112[0][1].round() as usize,
        );
        assert!(at(tx, ty) > 200, "the dot lands on the template eye");
        assert_eq!(at(5, 5), 0);
        assert_eq!(at(100, 100), 0);
    }
}
