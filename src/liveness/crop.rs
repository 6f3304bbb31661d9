//! The liveness models' input: the face box enlarged about its centre, kept inside the frame, and
//! resized to 80x80 BGR — upstream's `CropImage`, so that the models see the context (the paper's
//! edges, a screen's bezel, hands) they were trained to look at.

use crate::face::detect::BoundingBox;
use crate::image::Image;
use crate::nn::minifasnet::INPUT_SIZE;

/// The pixel rectangle `(x0, y0, x1, y1)` (inclusive) that a model with crop `scale` reads around
/// `face` in a `width`x`height` frame. As upstream: the scale shrinks until the box fits, and a
/// box that crosses an edge is shifted back inside rather than cut.
pub fn crop_rect(face: &BoundingBox, scale: f32, width: usize, height: usize) -> [usize; 4] {
    let (w, h) = ((width - 1) as f32, (height - 1) as f32);
    let (bw, bh) = (face.width.max(1.0), face.height.max(1.0));
    let scale = scale.min(h / bh).min(w / bw);
    let (cx, cy) = (face.x + bw / 2.0, face.y + bh / 2.0);
    let (nw, nh) = (bw * scale, bh * scale);
    let (mut x0, mut y0, mut x1, mut y1) =
        (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if x0 < 0.0 {
        x1 -= x0;
        x0 = 0.0;
    }
    if y0 < 0.0 {
        y1 -= y0;
        y0 = 0.0;
    }
    if x1 > w {
        x0 -= x1 - w;
        x1 = w;
    }
    if y1 > h {
        y0 -= y1 - h;
        y1 = h;
    }
    let px = |v: f32, max: f32| v.clamp(0.0, max) as usize;
    [px(x0, w), px(y0, h), px(x1, w), px(y1, h)]
}

/// The model input for `face` in `frame`: planar BGR `[3, 80, 80]`, values 0–255 (the models
/// were trained on OpenCV's BGR frames without normalisation). Resized bilinearly, as upstream.
pub fn model_input(frame: &Image, face: &BoundingBox, scale: f32) -> Vec<f32> {
    let [x0, y0, x1, y1] = crop_rect(face, scale, frame.width(), frame.height());
    let crop = frame
        .crop(x0, y0, x1 + 1, y1 + 1)
        .resize_bilinear(INPUT_SIZE, INPUT_SIZE);
    let plane = INPUT_SIZE * INPUT_SIZE;
    let mut out = vec![0.0; 3 * plane];
    for (i, px) in crop.as_rgb().chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[(2 - c) * plane + i] = px[c] as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, s: f32) -> BoundingBox {
        BoundingBox {
            x,
            y,
            width: s,
            height: s,
        }
    }

    #[test]
    fn the_rect_is_scaled_about_the_centre_and_shifted_inside() {
        // Centred: 2x of a 40 px box at (100, 100) in 400x300.
        assert_eq!(
            crop_rect(&face(80.0, 80.0, 40.0), 2.0, 400, 300),
            [60, 60, 140, 140]
        );
        // At the left edge: shifted right, not cut.
        assert_eq!(
            crop_rect(&face(0.0, 80.0, 40.0), 2.0, 400, 300),
            [0, 60, 80, 140]
        );
        // Larger than the frame: the scale shrinks to fit the height.
        let [x0, y0, x1, y1] = crop_rect(&face(150.0, 100.0, 100.0), 4.0, 400, 300);
        assert_eq!((y0, y1), (0, 299));
        assert!(x1 - x0 <= 299 && x1 <= 399);
    }

    #[test]
    fn the_input_is_bgr_without_normalisation() {
        let red = Image::from_pixels(
            &[255, 0, 0].repeat(64 * 64),
            64,
            64,
            crate::PixelFormat::Rgb,
            None,
        )
        .unwrap();
        let input = model_input(&red, &face(16.0, 16.0, 32.0), 2.7);
        let plane = INPUT_SIZE * INPUT_SIZE;
        assert_eq!(input.len(), 3 * plane);
        assert!(input[..2 * plane].iter().all(|&v| v == 0.0));
        assert!(input[2 * plane..].iter().all(|&v| v == 255.0));
    }
}
