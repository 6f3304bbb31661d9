//! Image construction from every pixel layout, the bilinear resize and the model's input layout.

use webverify::{Image, PixelFormat};

#[test]
fn rgba_rgb_and_grey_with_strides_give_the_same_image() {
    let (w, h) = (3, 2);
    let rgb: Vec<u8> = (0..(w * h * 3) as u8).collect();
    let reference = Image::from_pixels(&rgb, w, h, PixelFormat::Rgb, None).unwrap();
    // RGBA with 2 bytes of padding per row.
    let mut rgba = Vec::new();
    for y in 0..h {
        for x in 0..w {
            rgba.extend_from_slice(&rgb[(y * w + x) * 3..(y * w + x) * 3 + 3]);
            rgba.push(255);
        }
        rgba.extend([9, 9]);
    }
    let from_rgba = Image::from_pixels(&rgba, w, h, PixelFormat::Rgba, Some(w * 4 + 2)).unwrap();
    assert_eq!(from_rgba, reference);
    let grey = Image::from_pixels(
        &[10, 20, 30, 0, 40, 50, 60, 0],
        3,
        2,
        PixelFormat::Gray,
        Some(4),
    )
    .unwrap();
    assert_eq!(
        grey.as_rgb(),
        &[10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40, 50, 50, 50, 60, 60, 60]
    );
}

#[test]
fn bilinear_resize_has_half_pixel_centres() {
    // 2x1 → 4x1: output centres at 0.25, 0.75, 1.25, 1.75 of the source → clamp, 1/4, 3/4, clamp.
    let img = Image::from_pixels(&[0, 0, 0, 100, 100, 100], 2, 1, PixelFormat::Rgb, None).unwrap();
    let up = img.resize_bilinear(4, 1);
    let reds: Vec<u8> = up.as_rgb().chunks(3).map(|p| p[0]).collect();
    assert_eq!(reds, vec![0, 25, 75, 100]);
    // 4x1 → 2x1 samples between source pixels 0,1 and 2,3.
    let img = Image::from_pixels(
        &[0, 0, 0, 40, 0, 0, 80, 0, 0, 120, 0, 0],
        4,
        1,
        PixelFormat::Rgb,
        None,
    )
    .unwrap();
    let down = img.resize_bilinear(2, 1);
    assert_eq!(down.as_rgb(), &[20, 0, 0, 100, 0, 0]);
    // Constant images stay constant, and same-size resize is the identity.
    let flat = Image::from_pixels(&[77; 5 * 7 * 3], 5, 7, PixelFormat::Rgb, None).unwrap();
    assert!(flat
        .resize_bilinear(112, 112)
        .as_rgb()
        .iter()
        .all(|&v| v == 77));
    assert_eq!(flat.resize_bilinear(5, 7), flat);
}

#[test]
fn model_input_is_planar_and_normalised() {
    let img =
        Image::from_pixels(&[0, 128, 255, 255, 128, 0], 2, 1, PixelFormat::Rgb, None).unwrap();
    let x = img.to_model_input(2);
    // Resizing 2x1 to 2x2 repeats the row; planes are R then G then B.
    let v = |u: u8| (u as f32 - 127.5) / 128.0;
    assert_eq!(x.len(), 12);
    assert_eq!(&x[0..4], &[v(0), v(255), v(0), v(255)]);
    assert_eq!(&x[4..8], &[v(128); 4]);
    assert_eq!(&x[8..12], &[v(255), v(0), v(255), v(0)]);
}
