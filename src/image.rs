//! Images as the SDK takes them: 8-bit RGB in memory, built from RGBA, RGB or grey buffers with
//! any row stride (canvas `ImageData`, video frames, decoded files), plus the conversion to the
//! model's input tensor layout.

use crate::error::{Error, Result};

/// Largest side accepted, to turn a garbage width into an error instead of a huge allocation.
pub const MAX_SIDE: usize = 16_384;

/// Layout of the pixels handed to [`Image::from_pixels`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// 4 bytes per pixel, R G B A (canvas `ImageData`); alpha is ignored.
    Rgba,
    /// 3 bytes per pixel, R G B.
    Rgb,
    /// 1 byte per pixel, luminance.
    Gray,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Rgba => 4,
            PixelFormat::Rgb => 3,
            PixelFormat::Gray => 1,
        }
    }

    /// From a channel count (4, 3 or 1).
    pub fn from_channels(channels: usize) -> Result<Self> {
        match channels {
            4 => Ok(PixelFormat::Rgba),
            3 => Ok(PixelFormat::Rgb),
            1 => Ok(PixelFormat::Gray),
            n => Err(Error::InvalidInput(format!(
                "{n} channels per pixel; use 4 (RGBA), 3 (RGB) or 1 (grey)"
            ))),
        }
    }
}

/// An 8-bit RGB image, rows packed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    /// Copies pixels of `format` out of `data`, whose rows start every `stride` bytes
    /// (`None`: rows are packed). Fails, never panics, on sizes that do not add up.
    pub fn from_pixels(
        data: &[u8],
        width: usize,
        height: usize,
        format: PixelFormat,
        stride: Option<usize>,
    ) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::InvalidInput(format!(
                "the image is {width}x{height}; it needs at least one pixel (is the video playing \
                 and the image loaded?)"
            )));
        }
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(Error::InvalidInput(format!(
                "the image is {width}x{height}; sides above {MAX_SIDE} pixels are not accepted"
            )));
        }
        #[cfg(feature = "fault-injection")]
        if (width, height) == (7, 13) {
            panic!("fault injected for testing: a 7x13 image traps this build");
        }
        let channels = format.channels();
        let row = width * channels;
        let stride = stride.unwrap_or(row);
        if stride < row {
            return Err(Error::InvalidInput(format!(
                "row stride {stride} is shorter than a row of {width} pixels ({row} bytes)"
            )));
        }
        // Checked: a hostile stride overflows `usize` (32 bits in wasm), and a wrapped product
        // would pass the length check and index out of bounds.
        let needed = stride
            .checked_mul(height - 1)
            .and_then(|n| n.checked_add(row))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "row stride {stride} for {height} rows is larger than any image"
                ))
            })?;
        if data.len() < needed {
            return Err(Error::InvalidInput(format!(
                "{} bytes given for a {width}x{height} {format:?} image; {needed} needed",
                data.len()
            )));
        }
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            let line = &data[y * stride..y * stride + row];
            match format {
                PixelFormat::Rgb => rgb.extend_from_slice(line),
                PixelFormat::Rgba => line
                    .chunks_exact(4)
                    .for_each(|p| rgb.extend_from_slice(&p[..3])),
                PixelFormat::Gray => line.iter().for_each(|&v| rgb.extend_from_slice(&[v, v, v])),
            }
        }
        Ok(Self { width, height, rgb })
    }

    /// Images packed one after another in `data`, as the JS package sends them (src/wasm):
    /// `shapes` holds `width, height, channels, stride` per image (stride 0: rows are packed).
    /// Every count comes from outside, so each is checked: a short buffer, a zero or huge
    /// side, an unknown channel count or a stride shorter than a row is an error, never a
    /// panic or an oversized allocation.
    pub fn unpack(data: &[u8], shapes: &[u32]) -> Result<Vec<Image>> {
        if shapes.is_empty() || shapes.len() % 4 != 0 {
            return Err(Error::InvalidInput(format!(
                "expected 4 numbers (width, height, channels, stride) per image, got {}",
                shapes.len()
            )));
        }
        let mut images = Vec::new();
        let mut offset = 0usize;
        for s in shapes.chunks_exact(4) {
            let [w, h, c, stride] = [s[0], s[1], s[2], s[3]].map(|x| x as usize);
            let format = PixelFormat::from_channels(c)?;
            let row = if stride > 0 {
                stride
            } else {
                w.saturating_mul(c)
            };
            let len = row.saturating_mul(h);
            let end = offset.saturating_add(len).min(data.len());
            let stride = (stride > 0).then_some(stride);
            images.push(Image::from_pixels(
                &data[offset..end],
                w,
                h,
                format,
                stride,
            )?);
            offset = end;
        }
        Ok(images)
    }

    /// Decodes an image file (PNG, JPEG, PGM/PPM); feature `files`.
    #[cfg(all(feature = "files", not(target_arch = "wasm32")))]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let decoded = image::open(path)
            .map_err(|e| Error::InvalidInput(format!("cannot read {}: {e}", path.display())))?
            .into_rgb8();
        let (w, h) = decoded.dimensions();
        Self::from_pixels(
            decoded.as_raw(),
            w as usize,
            h as usize,
            PixelFormat::Rgb,
            None,
        )
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }
    /// Packed RGB bytes, `width * height * 3`.
    pub fn as_rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// The pixels of columns `x0..x1` and rows `y0..y1`, clamped to the image (at least one
    /// pixel).
    pub fn crop(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> Image {
        let x0 = x0.min(self.width - 1);
        let y0 = y0.min(self.height - 1);
        let x1 = x1.clamp(x0 + 1, self.width);
        let y1 = y1.clamp(y0 + 1, self.height);
        let mut rgb = Vec::with_capacity((x1 - x0) * (y1 - y0) * 3);
        for y in y0..y1 {
            rgb.extend_from_slice(&self.rgb[(y * self.width + x0) * 3..(y * self.width + x1) * 3]);
        }
        Image {
            width: x1 - x0,
            height: y1 - y0,
            rgb,
        }
    }

    /// The image mirrored left to right (the second view of flip test-time augmentation).
    pub fn mirror(&self) -> Image {
        let mut rgb = Vec::with_capacity(self.rgb.len());
        for row in self.rgb.chunks_exact(self.width * 3) {
            row.chunks_exact(3)
                .rev()
                .for_each(|p| rgb.extend_from_slice(p));
        }
        Image {
            width: self.width,
            height: self.height,
            rgb,
        }
    }

    /// Bilinear resize with pixel centres at `(i + 0.5)` (OpenCV's `INTER_LINEAR`, TensorFlow's
    /// `resize_bilinear` with `half_pixel_centers`). Meant for the small scale changes of an
    /// already cropped face; downscaling by large factors aliases, as bilinear does.
    pub fn resize_bilinear(&self, width: usize, height: usize) -> Image {
        if width == self.width && height == self.height {
            return self.clone();
        }
        let sx = self.width as f32 / width as f32;
        let sy = self.height as f32 / height as f32;
        let axis = |i: usize, scale: f32, len: usize| {
            let p = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, (len - 1) as f32);
            let i0 = p.floor() as usize;
            (i0, (i0 + 1).min(len - 1), p - i0 as f32)
        };
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            let (y0, y1, fy) = axis(y, sy, self.height);
            for x in 0..width {
                let (x0, x1, fx) = axis(x, sx, self.width);
                for c in 0..3 {
                    let at = |yy: usize, xx: usize| self.rgb[(yy * self.width + xx) * 3 + c] as f32;
                    let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
                    let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
                    rgb.push((top * (1.0 - fy) + bottom * fy).round() as u8);
                }
            }
        }
        Image { width, height, rgb }
    }

    /// Downscale by averaging each output pixel's footprint (a box filter, OpenCV's
    /// `INTER_AREA` for integer-aligned footprints): no aliasing when a photo is shrunk many
    /// times, as for the detector's 128x128 input. Enlarging falls back to bilinear.
    pub fn resize_area(&self, width: usize, height: usize) -> Image {
        if width >= self.width || height >= self.height {
            return self.resize_bilinear(width, height);
        }
        let span = |i: usize, out: usize, len: usize| {
            let a = i * len / out;
            (a, ((i + 1) * len / out).max(a + 1))
        };
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            let (y0, y1) = span(y, height, self.height);
            for x in 0..width {
                let (x0, x1) = span(x, width, self.width);
                let mut sum = [0u32; 3];
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        let p =
                            &self.rgb[(yy * self.width + xx) * 3..(yy * self.width + xx) * 3 + 3];
                        sum.iter_mut().zip(p).for_each(|(s, &v)| *s += v as u32);
                    }
                }
                let n = ((y1 - y0) * (x1 - x0)) as u32;
                rgb.extend(sum.map(|s| ((s + n / 2) / n) as u8));
            }
        }
        Image { width, height, rgb }
    }

    /// The model's input for this image: resized to `size`x`size`, planar CHW, each value
    /// `(v − 127.5) / 128` as MobileFaceNet was trained.
    pub fn to_model_input(&self, size: usize) -> Vec<f32> {
        let img = self.resize_bilinear(size, size);
        let plane = size * size;
        let mut out = vec![0.0; 3 * plane];
        for (i, px) in img.rgb.chunks_exact(3).enumerate() {
            for c in 0..3 {
                out[c * plane + i] = (px[c] as f32 - 127.5) / 128.0;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(list: &[[u32; 4]]) -> Vec<u32> {
        list.iter().flatten().copied().collect()
    }

    #[test]
    fn mirror_reverses_each_row_and_twice_is_the_image() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let image = Image::from_pixels(&data, 2, 2, PixelFormat::Rgb, None).unwrap();
        assert_eq!(
            image.mirror().as_rgb(),
            &[4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]
        );
        assert_eq!(image.mirror().mirror(), image);
    }

    #[test]
    fn unpack_splits_a_batch_by_its_shapes() {
        // A 2x1 RGBA image, then a 1x2 grey one whose rows are 3 bytes apart.
        let data = [1, 2, 3, 255, 4, 5, 6, 255, 7, 0, 0, 8];
        let images = Image::unpack(&data, &shapes(&[[2, 1, 4, 0], [1, 2, 1, 3]])).unwrap();
        assert_eq!(images[0].as_rgb(), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(images[1].as_rgb(), &[7, 7, 7, 8, 8, 8]);
    }

    #[test]
    fn unpack_refuses_what_does_not_add_up() {
        let refused = |data: &[u8], s: &[[u32; 4]]| {
            assert!(
                matches!(Image::unpack(data, &shapes(s)), Err(Error::InvalidInput(_))),
                "{s:?}"
            );
        };
        refused(&[0; 12], &[]);
        assert!(
            Image::unpack(&[0; 12], &[1, 1, 3]).is_err(),
            "not 4 numbers per image"
        );
        refused(&[0; 11], &[[2, 2, 3, 0]]); // a byte short
        refused(&[0; 12], &[[2, 2, 2, 0]]); // two channels
        refused(&[0; 12], &[[2, 2, 3, 5]]); // stride shorter than a row
        refused(&[0; 12], &[[0, 2, 3, 0]]);
        refused(&[0; 12], &[[u32::MAX, u32::MAX, 4, 0]]);
        refused(&[0; 12], &[[2, 2, 3, u32::MAX]]);
        refused(&[0; 24], &[[2, 2, 3, 0], [2, 2, 3, 0], [1, 1, 1, 0]]); // the third has no bytes
    }
}
