//! Photo degradations for the robustness curves (`webverify eval --degrade KIND:LEVELS`): what
//! users' photos suffer (blur, compression, distance, darkness, tilt, things in front of the
//! face), applied to a clean photo at a chosen strength. Occluders are placed from the face's
//! detected landmarks on the clean photo, as a real pair of sunglasses or a mask sits on the face.

use crate::error::{Error, Result};
use crate::face::detect::Landmarks;
use crate::image::{Image, PixelFormat};
use crate::random::Rng;

/// One kind of degradation; its level's meaning is in [`Kind::describe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Gaussian blur, level: sigma in pixels of the photo.
    Blur,
    /// JPEG re-encoding, level: quality 1–100.
    Jpeg,
    /// Downscaling, level: the face's width in pixels after it (the detector's box).
    Width,
    /// Low light, level: stops of under-exposure, with sensor noise.
    Dark,
    /// In-plane rotation about the face's centre, level: degrees.
    Rotate,
    /// A dark band over the eyes (sunglasses), level: its height in eye distances.
    Sunglasses,
    /// A surgical-mask shape from the chin up, level: how far up, from the mouth (0) to the eyes (1).
    Mask,
    /// A skin-coloured hand-sized block over one side of the face, level: its side in eye distances.
    Hand,
}

/// Every kind, as `--degrade` spells them.
pub const KINDS: [(&str, Kind); 8] = [
    ("blur", Kind::Blur),
    ("jpeg", Kind::Jpeg),
    ("width", Kind::Width),
    ("dark", Kind::Dark),
    ("rotate", Kind::Rotate),
    ("sunglasses", Kind::Sunglasses),
    ("mask", Kind::Mask),
    ("hand", Kind::Hand),
];

impl Kind {
    /// The name `--degrade` reads.
    pub fn name(self) -> &'static str {
        KINDS.iter().find(|k| k.1 == self).map_or("?", |k| k.0)
    }

    /// What the level means, for tables and plot axes.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Blur => "Gaussian blur sigma (px of the photo)",
            Kind::Jpeg => "JPEG quality",
            Kind::Width => "face width after downscaling (px)",
            Kind::Dark => "under-exposure (stops), with sensor noise",
            Kind::Rotate => "in-plane rotation (degrees)",
            Kind::Sunglasses => "dark band over the eyes, height (eye distances)",
            Kind::Mask => "mask top, from the mouth (0) to the eyes (1)",
            Kind::Hand => "block over one side of the face, side (eye distances)",
        }
    }

    /// Whether the level that changes nothing (a clean photo) is `level` (0 for most kinds).
    pub fn is_clean(self, level: f32) -> bool {
        match self {
            Kind::Jpeg => level >= 100.0,
            Kind::Width => level <= 0.0,
            _ => level == 0.0,
        }
    }
}

/// `KIND:L1,L2,…` as `--degrade` takes it.
pub fn parse(spec: &str) -> Result<(Kind, Vec<f32>)> {
    let bad = |why: String| Error::InvalidInput(format!("--degrade {spec:?}: {why}"));
    let (name, levels) = spec
        .split_once(':')
        .ok_or_else(|| bad("write KIND:LEVEL[,LEVEL…], e.g. blur:0,1,2,4".into()))?;
    let kind = KINDS
        .iter()
        .find(|k| k.0 == name)
        .map(|k| k.1)
        .ok_or_else(|| {
            let names: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
            bad(format!("unknown kind; use one of {}", names.join(", ")))
        })?;
    let levels = levels
        .split(',')
        .map(|l| {
            l.trim()
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| bad(format!("level {l:?} is not a number ≥ 0")))
        })
        .collect::<Result<Vec<_>>>()?;
    if kind == Kind::Jpeg && levels.iter().any(|&q| !(1.0..=100.0).contains(&q)) {
        return Err(bad("JPEG quality is 1–100".into()));
    }
    Ok((kind, levels))
}

/// The photo degraded by `kind` at `level`. `face` is the face's box width and landmarks on the
/// clean photo (the size and occluder kinds need them; the others ignore it). `seed` fixes the
/// sensor noise.
pub fn apply(
    image: &Image,
    kind: Kind,
    level: f32,
    face: Option<(f32, &Landmarks)>,
    seed: u64,
) -> Result<Image> {
    if kind.is_clean(level) {
        return Ok(image.clone());
    }
    let needs_face = || {
        face.ok_or_else(|| {
            Error::InvalidInput(format!(
                "{} needs the face's landmarks on the clean photo",
                kind.name()
            ))
        })
    };
    match kind {
        Kind::Blur => Ok(blur(image, level)),
        Kind::Jpeg => jpeg(image, level as u8),
        Kind::Width => {
            let (width, _) = needs_face()?;
            let scale = (level / width.max(1.0)).min(1.0);
            let w = ((image.width() as f32 * scale).round() as usize).max(1);
            let h = ((image.height() as f32 * scale).round() as usize).max(1);
            Ok(image.resize_area(w, h))
        }
        Kind::Dark => Ok(dark(image, level, seed)),
        Kind::Rotate => {
            let centre = face.map_or(
                [image.width() as f32 / 2.0, image.height() as f32 / 2.0],
                |(_, lm)| midpoint(lm.right_eye, lm.mouth),
            );
            Ok(rotate(image, level, centre))
        }
        Kind::Sunglasses | Kind::Mask | Kind::Hand => {
            let (_, lm) = needs_face()?;
            Ok(occlude(image, kind, level, lm))
        }
    }
}

fn midpoint(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
}

fn to_buffer(image: &Image) -> image::RgbImage {
    image::RgbImage::from_raw(
        image.width() as u32,
        image.height() as u32,
        image.as_rgb().to_vec(),
    )
    .expect("an Image holds width x height RGB pixels")
}

fn from_buffer(buffer: &image::RgbImage) -> Image {
    Image::from_pixels(
        buffer.as_raw(),
        buffer.width() as usize,
        buffer.height() as usize,
        PixelFormat::Rgb,
        None,
    )
    .expect("an RgbImage holds width x height RGB pixels")
}

fn blur(image: &Image, sigma: f32) -> Image {
    from_buffer(&image::imageops::blur(&to_buffer(image), sigma))
}

fn jpeg(image: &Image, quality: u8) -> Result<Image> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100))
        .encode(
            image.as_rgb(),
            image.width() as u32,
            image.height() as u32,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| Error::InvalidInput(format!("JPEG encoding: {e}")))?;
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .map_err(|e| Error::InvalidInput(format!("JPEG decoding: {e}")))?;
    Ok(from_buffer(&decoded.to_rgb8()))
}

/// Under-exposure by `stops` in linear light, then a sensor's noise: shot noise (its variance
/// proportional to the light collected) and read noise (constant), then back to sRGB-like gamma.
/// The photo stays dark, as a phone's front camera gives it in a dim room before any
/// enhancement. At 4 stops a mid-grey face is around 40 of 255, with visible grain.
fn dark(image: &Image, stops: f32, seed: u64) -> Image {
    const GAMMA: f32 = 2.2;
    // Full-well electrons of a small phone sensor pixel and its read noise, in electrons.
    const FULL_WELL: f32 = 4000.0;
    const READ_NOISE: f32 = 3.0;
    let gain = 2f32.powf(-stops);
    let mut rng = Rng::new(seed);
    let mut gaussian = move || {
        // Box-Muller on two uniforms (u1 kept away from 0).
        let u1 = rng.next_f32().max(1e-7);
        let u2 = rng.next_f32();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    };
    let rgb: Vec<u8> = image
        .as_rgb()
        .iter()
        .map(|&v| {
            let electrons = (v as f32 / 255.0).powf(GAMMA) * gain * FULL_WELL;
            let sigma = (electrons + READ_NOISE * READ_NOISE).sqrt();
            let noisy = ((electrons + sigma * gaussian()) / FULL_WELL).clamp(0.0, 1.0);
            (noisy.powf(1.0 / GAMMA) * 255.0).round() as u8
        })
        .collect();
    Image::from_pixels(&rgb, image.width(), image.height(), PixelFormat::Rgb, None)
        .expect("same size as the input")
}

/// Rotated by `degrees` (counter-clockwise as seen) about `centre`, bilinear, the corners that
/// come from outside the photo filled with its edge pixels.
fn rotate(image: &Image, degrees: f32, centre: [f32; 2]) -> Image {
    let (w, h) = (image.width(), image.height());
    let (sin, cos) = degrees.to_radians().sin_cos();
    let src = image.as_rgb();
    let at = |x: isize, y: isize, c: usize| {
        let x = x.clamp(0, w as isize - 1) as usize;
        let y = y.clamp(0, h as isize - 1) as usize;
        src[(y * w + x) * 3 + c] as f32
    };
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            // The source pixel that lands here: the inverse rotation (y points down).
            let (dx, dy) = (x as f32 - centre[0], y as f32 - centre[1]);
            let sx = centre[0] + cos * dx - sin * dy;
            let sy = centre[1] + sin * dx + cos * dy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            for c in 0..3 {
                let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
                let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
                rgb.push((top * (1.0 - fy) + bottom * fy).round() as u8);
            }
        }
    }
    Image::from_pixels(&rgb, w, h, PixelFormat::Rgb, None).expect("same size as the input")
}

/// Whether a point of the face's frame `(u, v)` is inside an occluder.
type Region = Box<dyn Fn(f32, f32) -> bool>;

/// Paints an occluder in the face's own frame: `u` along the eye line (in eye distances, 0 at
/// the eyes' midpoint, towards the subject's left eye), `v` down the face (in eye distances, 0
/// on the eye line). Each kind is a region of that frame and a colour.
fn occlude(image: &Image, kind: Kind, level: f32, lm: &Landmarks) -> Image {
    let mid = midpoint(lm.right_eye, lm.left_eye);
    let eye = [
        lm.left_eye[0] - lm.right_eye[0],
        lm.left_eye[1] - lm.right_eye[1],
    ];
    let iod = (eye[0] * eye[0] + eye[1] * eye[1]).sqrt().max(1.0);
    let (ux, uy) = (eye[0] / iod, eye[1] / iod);
    // The mouth's distance below the eye line, in eye distances (about 1.1 for a frontal face).
    let mouth_v = ((lm.mouth[0] - mid[0]) * -uy + (lm.mouth[1] - mid[1]) * ux) / iod;
    let (colour, inside): ([u8; 3], Region) = match kind {
        // Lenses from beyond the outer eye corners, centred on the eye line.
        Kind::Sunglasses => (
            [22, 22, 26],
            Box::new(move |u: f32, v: f32| u.abs() <= 1.05 && v.abs() <= level / 2.0),
        ),
        // From below the chin up to `level` of the way from the mouth to the eyes, as wide as
        // the cheeks, its lower corners rounded (an ellipse below the mouth).
        Kind::Mask => {
            let top = mouth_v * (1.0 - level.min(1.0));
            let chin = mouth_v + 0.75;
            (
                [168, 196, 214],
                Box::new(move |u: f32, v: f32| {
                    let below = (v - mouth_v).max(0.0) / (chin - mouth_v);
                    v >= top && v <= chin && (u / 1.0).powi(2) + below.powi(2) <= 1.0
                }),
            )
        }
        // A square on the subject's right side, from the eye line down: a hand on the cheek.
        Kind::Hand => (
            [196, 146, 118],
            Box::new(move |u: f32, v: f32| {
                (-0.5 - level..=-0.5 + level * 0.5).contains(&u)
                    && (-level * 0.3..=level * 0.7).contains(&v)
            }),
        ),
        _ => unreachable!("occlude is called for the occluder kinds only"),
    };
    let (w, h) = (image.width(), image.height());
    let mut rgb = image.as_rgb().to_vec();
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 + 0.5 - mid[0], y as f32 + 0.5 - mid[1]);
            let u = (dx * ux + dy * uy) / iod;
            let v = (-dx * uy + dy * ux) / iod;
            if inside(u, v) {
                rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&colour);
            }
        }
    }
    Image::from_pixels(&rgb, w, h, PixelFormat::Rgb, None).expect("same size as the input")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(value: u8) -> Image {
        Image::from_pixels(&[value; 40 * 30 * 3], 40, 30, PixelFormat::Rgb, None).unwrap()
    }

    fn landmarks() -> Landmarks {
        Landmarks {
            right_eye: [14.0, 10.0],
            left_eye: [26.0, 10.0],
            nose_tip: [20.0, 15.0],
            mouth: [20.0, 23.0],
            right_ear: [8.0, 12.0],
            left_ear: [32.0, 12.0],
        }
    }

    #[test]
    fn parse_reads_kind_and_levels_and_refuses_the_rest() {
        assert_eq!(parse("blur:0,1.5").unwrap(), (Kind::Blur, vec![0.0, 1.5]));
        for bad in ["blur", "fog:1", "blur:x", "blur:-1", "jpeg:0", "jpeg:101"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_clean_level_changes_nothing_and_the_others_do() {
        let mut photo = grey(128);
        // An edge, so that blur and rotation have something to change.
        let mut rgb = photo.as_rgb().to_vec();
        rgb[..20 * 30 * 3].fill(40);
        photo = Image::from_pixels(&rgb, 40, 30, PixelFormat::Rgb, None).unwrap();
        let lm = landmarks();
        let face = Some((20.0, &lm));
        for (kind, clean, strong) in [
            (Kind::Blur, 0.0, 3.0),
            (Kind::Jpeg, 100.0, 5.0),
            (Kind::Width, 0.0, 10.0),
            (Kind::Dark, 0.0, 4.0),
            (Kind::Rotate, 0.0, 30.0),
            (Kind::Sunglasses, 0.0, 0.6),
            (Kind::Mask, 0.0, 0.7),
            (Kind::Hand, 0.0, 1.0),
        ] {
            assert_eq!(
                apply(&photo, kind, clean, face, 1).unwrap(),
                photo,
                "{kind:?}"
            );
            assert_ne!(
                apply(&photo, kind, strong, face, 1).unwrap(),
                photo,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn each_kind_does_what_it_says() {
        let lm = landmarks();
        let face = Some((20.0, &lm));
        let photo = grey(150);
        // Downscaling to a 10-pixel face halves a photo whose face is 20 wide.
        let small = apply(&photo, Kind::Width, 10.0, face, 0).unwrap();
        assert_eq!((small.width(), small.height()), (20, 15));
        // Four stops darker: a mean far below the input's.
        let dark = apply(&photo, Kind::Dark, 4.0, None, 0).unwrap();
        let mean =
            dark.as_rgb().iter().map(|&v| v as f32).sum::<f32>() / dark.as_rgb().len() as f32;
        assert!(mean < 75.0, "{mean}");
        // Sunglasses cover both eyes and leave the mouth.
        let glasses = apply(&photo, Kind::Sunglasses, 0.5, face, 0).unwrap();
        let px = |img: &Image, x: usize, y: usize| img.as_rgb()[(y * 40 + x) * 3];
        assert_eq!((px(&glasses, 14, 10), px(&glasses, 26, 10)), (22, 22));
        assert_eq!(px(&glasses, 20, 23), 150);
        // A mask up to the nose covers the mouth and leaves the eyes.
        let mask = apply(&photo, Kind::Mask, 0.6, face, 0).unwrap();
        assert_eq!((px(&mask, 20, 23), px(&mask, 14, 10)), (168, 150));
        // The hand covers the subject's right eye (left in the image), not the left one.
        let hand = apply(&photo, Kind::Hand, 1.0, face, 0).unwrap();
        assert_eq!((px(&hand, 14, 10), px(&hand, 26, 10)), (196, 150));
    }
}
