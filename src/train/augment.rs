//! SimCLR's augmentations on batches of model inputs `[n, 3, h, w]` (values `(v − 127.5) / 128`),
//! seeded: random resized crop, horizontal flip, colour distortion (brightness, contrast,
//! saturation, hue, random greyscale) and Gaussian blur. The random choices are made on the CPU
//! from [`Rng`]; the pixels never leave the device, so the same code runs on WebGPU.

use burn::tensor::module::{conv2d, interpolate};
use burn::tensor::ops::{ConvOptions, InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor, TensorData};

use crate::random::Rng;

/// How strong each augmentation is (SimCLR's defaults, with a gentler crop for faces: a face
/// crop keeps at least half of the aligned face).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augmentation {
    /// Range of the crop's area as a fraction of the image.
    pub crop_area: (f32, f32),
    /// Probability of a horizontal flip.
    pub flip_probability: f32,
    /// Probability of the colour jitter, and its strengths.
    pub jitter_probability: f32,
    /// Brightness jitter: a factor in `[1 − b, 1 + b]`.
    pub brightness: f32,
    /// Contrast jitter: a factor in `[1 − c, 1 + c]`.
    pub contrast: f32,
    /// Saturation jitter: a factor in `[1 − s, 1 + s]`.
    pub saturation: f32,
    /// Hue rotation of up to `h` turns either way.
    pub hue: f32,
    /// Probability of turning the view grey.
    pub grey_probability: f32,
    /// Probability of a Gaussian blur.
    pub blur_probability: f32,
    /// Range of the blur's sigma in pixels.
    pub blur_sigma: (f32, f32),
    /// Probability of a random illumination gradient (not in SimCLR; 0 by default): intensities
    /// scaled by `1 + g·(cos φ·x + sin φ·y)` over the image (x, y in [−1, 1]), `g` up to
    /// [`Augmentation::shading`], `φ` any direction — light from one side, the nuisance of
    /// faces under directional lighting that colour jitter does not imitate.
    pub shading_probability: f32,
    /// Largest gain `g` of the illumination gradient.
    pub shading: f32,
}

impl Default for Augmentation {
    fn default() -> Self {
        Self {
            crop_area: (0.5, 1.0),
            flip_probability: 0.5,
            jitter_probability: 0.8,
            brightness: 0.4,
            contrast: 0.4,
            saturation: 0.4,
            hue: 0.1,
            grey_probability: 0.2,
            blur_probability: 0.5,
            blur_sigma: (0.1, 2.0),
            shading_probability: 0.0,
            shading: 0.8,
        }
    }
}

fn per_sample(values: Vec<f32>, device: &Device) -> Tensor<4> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n, 1, 1, 1]), device)
}

/// Mirrors the images where `flip[i]`.
pub fn flip(x: Tensor<4>, flip: &[bool]) -> Tensor<4> {
    let device = x.device();
    let m = per_sample(flip.iter().map(|&f| f as u8 as f32).collect(), &device);
    x.clone() + m * (x.clone().flip([3]) - x)
}

/// Crops box `(top, left, height, width)` of each image and resizes it back to `h × w`
/// (bilinear, half-pixel centres).
pub fn resized_crop(x: Tensor<4>, boxes: &[(usize, usize, usize, usize)]) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let crops: Vec<Tensor<4>> = boxes
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, &(top, left, bh, bw))| {
            let (bh, bw) = (bh.clamp(1, h), bw.clamp(1, w));
            let (top, left) = (top.min(h - bh), left.min(w - bw));
            let crop = x
                .clone()
                .slice([i..i + 1, 0..c, top..top + bh, left..left + bw]);
            if (bh, bw) == (h, w) {
                return crop;
            }
            let mut options = InterpolateOptions::new(InterpolateMode::Bilinear);
            options.align_corners = false;
            options.output_size = Some([h, w]);
            interpolate(crop, options)
        })
        .collect();
    Tensor::cat(crops, 0)
}

/// Brightness (added), contrast (scaled about each image's mean), saturation (blended with the
/// grey image) per image; factors of 1 (and brightness 0) leave an image unchanged.
pub fn colour(x: Tensor<4>, brightness: &[f32], contrast: &[f32], saturation: &[f32]) -> Tensor<4> {
    let device = x.device();
    let [n, _, h, w] = x.dims();
    let x = x + per_sample(brightness.to_vec(), &device);
    let mean = x.clone().mean_dims(&[1, 2, 3]);
    let x = mean.clone() + (x - mean) * per_sample(contrast.to_vec(), &device);
    let grey = grey(x.clone()).expand([n, 3, h, w]);
    grey.clone() + (x - grey) * per_sample(saturation.to_vec(), &device)
}

/// The luma (ITU-R BT.601 weights) as a one-channel image.
fn grey(x: Tensor<4>) -> Tensor<4> {
    let [n, _, h, w] = x.dims();
    let r = x.clone().slice([0..n, 0..1, 0..h, 0..w]);
    let g = x.clone().slice([0..n, 1..2, 0..h, 0..w]);
    let b = x.slice([0..n, 2..3, 0..h, 0..w]);
    r * 0.299 + g * 0.587 + b * 0.114
}

/// Rotates each image's hue by `turns[i]` of a full turn (a rotation about the grey axis in
/// YIQ space), and makes images grey where `grey[i]`.
pub fn hue_and_grey(x: Tensor<4>, turns: &[f32], make_grey: &[bool]) -> Tensor<4> {
    let device = x.device();
    let [n, _, h, w] = x.dims();
    // RGB → YIQ, rotate I and Q, back: one 3x3 matrix per image, applied channel by channel.
    let rows: Vec<f32> = turns
        .iter()
        .zip(make_grey)
        .flat_map(|(&t, &g)| {
            let (c, s) = (
                (t * std::f32::consts::TAU).cos(),
                (t * std::f32::consts::TAU).sin(),
            );
            let to_yiq = [
                [0.299, 0.587, 0.114],
                [0.596, -0.274, -0.322],
                [0.211, -0.523, 0.312],
            ];
            let to_rgb = [
                [1.0, 0.956, 0.621],
                [1.0, -0.272, -0.647],
                [1.0, -1.106, 1.703],
            ];
            let (c, s) = if g { (0.0, 0.0) } else { (c, s) };
            let rot = [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]];
            let mul = |a: [[f32; 3]; 3], b: [[f32; 3]; 3]| {
                let mut m = [[0f32; 3]; 3];
                for i in 0..3 {
                    for j in 0..3 {
                        m[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
                    }
                }
                m
            };
            mul(to_rgb, mul(rot, to_yiq))
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
        })
        .collect();
    let m = Tensor::<3>::from_data(TensorData::new(rows, [n, 3, 3]), &device);
    let channels: Vec<Tensor<4>> = (0..3)
        .map(|out| {
            (0..3)
                .map(|inp| {
                    let k = m
                        .clone()
                        .slice([0..n, out..out + 1, inp..inp + 1])
                        .reshape([n, 1, 1, 1]);
                    x.clone().slice([0..n, inp..inp + 1, 0..h, 0..w]) * k
                })
                .reduce(|a, b| a + b)
                .expect("three channels")
        })
        .collect();
    Tensor::cat(channels, 1)
}

/// Gaussian blur of each image with its own sigma (0: unchanged), a depthwise convolution with
/// a separable kernel of radius ⌈3σ⌉ (at most 7), edges padded with zeros (the input's mid-grey
/// is 0 after normalisation).
pub fn blur(x: Tensor<4>, sigmas: &[f32]) -> Tensor<4> {
    let device = x.device();
    let [n, c, h, w] = x.dims();
    let images: Vec<Tensor<4>> = (0..n)
        .map(|i| {
            let image = x.clone().slice([i..i + 1, 0..c, 0..h, 0..w]);
            let sigma = sigmas.get(i).copied().unwrap_or(0.0);
            if sigma <= 0.0 {
                return image;
            }
            let radius = ((3.0 * sigma).ceil() as usize).clamp(1, 7);
            let taps: Vec<f32> = (0..2 * radius + 1)
                .map(|k| (-((k as f32 - radius as f32).powi(2)) / (2.0 * sigma * sigma)).exp())
                .collect();
            let sum: f32 = taps.iter().sum();
            let taps: Vec<f32> = taps.iter().map(|t| t / sum).collect();
            let size = taps.len();
            let horizontal =
                Tensor::<4>::from_data(TensorData::new(taps.repeat(c), [c, 1, 1, size]), &device);
            let vertical =
                Tensor::<4>::from_data(TensorData::new(taps.repeat(c), [c, 1, size, 1]), &device);
            let image = conv2d(
                image,
                horizontal,
                None,
                ConvOptions::new([1, 1], [0, radius], [1, 1], c),
            );
            conv2d(
                image,
                vertical,
                None,
                ConvOptions::new([1, 1], [radius, 0], [1, 1], c),
            )
        })
        .collect();
    Tensor::cat(images, 0)
}

/// Scales each image's intensities by a linear ramp `1 + gx·x + gy·y` (x, y in [−1, 1] across
/// the image), about black: the input's values are `(v − 127.5) / 128`, so intensity `v` maps to
/// `v·f` as `(x + c)·f − c` with `c = 127.5 / 128`. Gains of 0 leave an image unchanged.
pub fn shade(x: Tensor<4>, gains: &[(f32, f32)]) -> Tensor<4> {
    let device = x.device();
    let [_, _, h, w] = x.dims();
    let ramp = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|i| 2.0 * (i as f32 + 0.5) / len as f32 - 1.0)
            .collect()
    };
    let xs = Tensor::<4>::from_data(TensorData::new(ramp(w), [1, 1, 1, w]), &device);
    let ys = Tensor::<4>::from_data(TensorData::new(ramp(h), [1, 1, h, 1]), &device);
    let gx = per_sample(gains.iter().map(|g| g.0).collect(), &device);
    let gy = per_sample(gains.iter().map(|g| g.1).collect(), &device);
    let factor = (gx * xs + gy * ys).add_scalar(1.0).clamp_min(0.0);
    let c = 127.5 / 128.0;
    (x.add_scalar(c) * factor).sub_scalar(c).clamp(-c, 1.0)
}

impl Augmentation {
    /// One random view of each image in `x`, drawn from `rng`.
    pub fn apply(&self, x: Tensor<4>, rng: &mut Rng) -> Tensor<4> {
        let [n, _, h, w] = x.dims();
        let mut draw = |p: f32| rng.next_f32() < p;
        let flips: Vec<bool> = (0..n).map(|_| draw(self.flip_probability)).collect();
        let boxes: Vec<_> = (0..n)
            .map(|_| {
                let area =
                    self.crop_area.0 + rng.next_f32() * (self.crop_area.1 - self.crop_area.0);
                // Aspect ratio log-uniform in [3/4, 4/3].
                let aspect = ((rng.next_f32() * 2.0 - 1.0) * (4.0f32 / 3.0).ln()).exp();
                let bh = ((area / aspect).sqrt() * h as f32).round() as usize;
                let bw = ((area * aspect).sqrt() * w as f32).round() as usize;
                let (bh, bw) = (bh.clamp(1, h), bw.clamp(1, w));
                let top = (rng.next_f32() * (h - bh + 1) as f32) as usize;
                let left = (rng.next_f32() * (w - bw + 1) as f32) as usize;
                (top, left, bh, bw)
            })
            .collect();
        let mut brightness = vec![0.0; n];
        let mut contrast = vec![1.0; n];
        let mut saturation = vec![1.0; n];
        let mut turns = vec![0.0; n];
        for i in 0..n {
            if rng.next_f32() < self.jitter_probability {
                let mut factor = |s: f32| 1.0 + (rng.next_f32() * 2.0 - 1.0) * s;
                // Brightness as SimCLR's multiplicative factor, applied as a shift of the
                // normalised input (its mid-grey is 0).
                brightness[i] = factor(self.brightness) - 1.0;
                contrast[i] = factor(self.contrast);
                saturation[i] = factor(self.saturation);
                turns[i] = (rng.next_f32() * 2.0 - 1.0) * self.hue;
            }
        }
        let greys: Vec<bool> = (0..n)
            .map(|_| rng.next_f32() < self.grey_probability)
            .collect();
        let sigmas: Vec<f32> = (0..n)
            .map(|_| {
                if rng.next_f32() < self.blur_probability {
                    self.blur_sigma.0 + rng.next_f32() * (self.blur_sigma.1 - self.blur_sigma.0)
                } else {
                    0.0
                }
            })
            .collect();
        let x = flip(resized_crop(x, &boxes), &flips);
        let x = hue_and_grey(
            colour(x, &brightness, &contrast, &saturation),
            &turns,
            &greys,
        );
        // Drawn only when enabled, so the default views stay what they were.
        let x = if self.shading_probability > 0.0 {
            let gains: Vec<(f32, f32)> = (0..n)
                .map(|_| {
                    if rng.next_f32() < self.shading_probability {
                        let g = rng.next_f32() * self.shading;
                        let phi = rng.next_f32() * std::f32::consts::TAU;
                        (g * phi.cos(), g * phi.sin())
                    } else {
                        (0.0, 0.0)
                    }
                })
                .collect();
            shade(x, &gains)
        } else {
            x
        };
        blur(x, &sigmas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        crate::Backend::Flex.cpu_device().unwrap()
    }

    fn batch(n: usize, h: usize, w: usize, seed: u64) -> Tensor<4> {
        let v = Rng::new(seed).centred(n * 3 * h * w);
        Tensor::from_data(TensorData::new(v, [n, 3, h, w]), &device())
    }

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().as_slice::<f32>().unwrap().to_vec()
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn identities_leave_images_unchanged() {
        let x = batch(2, 8, 6, 1);
        let v = values(x.clone());
        assert!(max_diff(&values(flip(x.clone(), &[false, false])), &v) < 1e-6);
        assert!(
            max_diff(
                &values(flip(flip(x.clone(), &[true, false]), &[true, false])),
                &v
            ) < 1e-6
        );
        assert!(
            max_diff(
                &values(resized_crop(x.clone(), &[(0, 0, 8, 6), (0, 0, 8, 6)])),
                &v
            ) < 1e-6
        );
        assert!(
            max_diff(
                &values(colour(x.clone(), &[0.0; 2], &[1.0; 2], &[1.0; 2])),
                &v
            ) < 1e-5
        );
        assert!(max_diff(&values(hue_and_grey(x.clone(), &[0.0; 2], &[false; 2])), &v) < 2e-3);
        assert!(
            max_diff(&values(hue_and_grey(x.clone(), &[1.0; 2], &[false; 2])), &v) < 2e-3,
            "a full turn"
        );
        assert!(max_diff(&values(blur(x.clone(), &[0.0; 2])), &v) < 1e-6);
        assert!(max_diff(&values(shade(x.clone(), &[(0.0, 0.0); 2])), &v) < 1e-6);
    }

    #[test]
    fn shading_lights_one_side() {
        // Mid-grey everywhere (intensity 127.5 is the input value 0).
        let flat = Tensor::<4>::zeros([1, 3, 4, 4], &device());
        let s = values(shade(flat, &[(0.5, 0.0)]));
        // Along a row the intensity grows left to right by the ramp: 127.5·(1 + 0.5·x).
        let at = |col: usize| s[col] * 128.0 + 127.5;
        let x = |col: usize| 2.0 * (col as f32 + 0.5) / 4.0 - 1.0;
        for col in 0..4 {
            assert!(
                (at(col) - 127.5 * (1.0 + 0.5 * x(col))).abs() < 1e-3,
                "{col}: {}",
                at(col)
            );
        }
        // Rows are equal (the light comes from the side only); black stays black.
        assert!(max_diff(&s[..4], &s[4..8]) < 1e-6);
        let black = Tensor::<4>::ones([1, 3, 4, 4], &device()) * (-127.5 / 128.0);
        assert!(values(shade(black, &[(0.5, 0.5)]))
            .iter()
            .all(|v| (v + 127.5 / 128.0).abs() < 1e-6));
    }

    #[test]
    fn each_augmentation_does_what_it_says() {
        let x = batch(1, 8, 6, 2);
        let v = values(x.clone());
        // Flip: column j becomes column 5 − j.
        let f = values(flip(x.clone(), &[true]));
        assert_eq!(f[0], v[5]);
        // Brightness shifts every value.
        let b = values(colour(x.clone(), &[0.25], &[1.0], &[1.0]));
        assert!(b.iter().zip(&v).all(|(p, q)| (p - q - 0.25).abs() < 1e-5));
        // Saturation 0 and greyscale make the three channels equal.
        for out in [
            values(colour(x.clone(), &[0.0], &[1.0], &[0.0])),
            values(hue_and_grey(x.clone(), &[0.3], &[true])),
        ] {
            let plane = 48;
            assert!(max_diff(&out[..plane], &out[plane..2 * plane]) < 1e-3);
            assert!(max_diff(&out[..plane], &out[2 * plane..]) < 1e-3);
        }
        // Blur keeps a flat image flat (inside the border) and smooths noise.
        let flat = Tensor::<4>::ones([1, 3, 16, 16], &device()) * 0.5;
        let fb = values(blur(flat, &[1.0]));
        assert!((fb[8 * 16 + 8] - 0.5).abs() < 1e-5);
        let variance = |a: &[f32]| {
            let m = a.iter().sum::<f32>() / a.len() as f32;
            a.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / a.len() as f32
        };
        assert!(variance(&values(blur(x.clone(), &[1.5]))) < 0.5 * variance(&v));
        // A crop of the left half comes back at full size, and differs from the original.
        let c = values(resized_crop(x, &[(0, 0, 8, 3)]));
        assert_eq!(c.len(), v.len());
        assert!(max_diff(&c, &v) > 0.01);
    }

    #[test]
    fn views_are_seeded() {
        let x = batch(3, 16, 16, 3);
        let a = values(Augmentation::default().apply(x.clone(), &mut Rng::new(9)));
        let b = values(Augmentation::default().apply(x.clone(), &mut Rng::new(9)));
        let c = values(Augmentation::default().apply(x.clone(), &mut Rng::new(10)));
        assert_eq!(a, b);
        assert!(max_diff(&a, &c) > 0.01);
        assert_eq!(a.len(), 3 * 3 * 16 * 16);
        assert!(a.iter().all(|v| v.is_finite()));
    }
}
