//! Depthwise KxK convolution over NHWC maps (one filter per channel), with bias and PReLU fused.
//! Padding is handled by skipping the taps that fall outside the map, not by copying the input
//! into a padded buffer: interior pixels take an unrolled path without checks.
//!
//! Order: for each output row, for each tile of [`COLUMNS`] output pixels, for each group of four
//! channels, the K·K weight vectors stay in registers while the tile is swept; the tile's input
//! (3 rows × 17 pixels × 128 channels at most in MobileFaceNet) stays in L1 across the groups.

use super::lanes::F32x4;

/// Output pixels per tile: a tile's input (K rows × ~COLUMNS·stride pixels × every channel)
/// stays in L1 while the channel groups pass over it.
const COLUMNS: usize = 8;

/// A packed depthwise convolution.
pub struct Depthwise<const K: usize> {
    channels: usize,
    stride: usize,
    /// `[K·K][channels]`: tap-major, so one tap's weights for four channels are one load.
    weights: Vec<f32>,
    bias: Vec<f32>,
    alpha: Option<Vec<f32>>,
}

/// Map sizes and the padding before the first row and column (TensorFlow's SAME puts the odd
/// one after, so it is implied by the output size).
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub height: usize,
    pub width: usize,
    pub out_height: usize,
    pub out_width: usize,
    pub pad_top: usize,
    pub pad_left: usize,
}

/// TensorFlow's SAME padding along one side of `n` pixels (burn's `PaddingConfig2d::Same` is the
/// same rule): (output size, padding before; the odd one goes after).
pub fn same(n: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = n.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(n);
    (out, total / 2)
}

impl Geometry {
    /// Output side and geometry of a SAME conv over a square map of `side` pixels.
    pub fn same(side: usize, kernel: usize, stride: usize) -> (usize, Geometry) {
        let (out, pad) = same(side, kernel, stride);
        (
            out,
            Geometry {
                height: side,
                width: side,
                out_height: out,
                out_width: out,
                pad_top: pad,
                pad_left: pad,
            },
        )
    }
}

impl<const K: usize> Depthwise<K> {
    /// Packs burn's `[channels, 1, K, K]` weights.
    pub fn new(
        weight: &[f32],
        channels: usize,
        stride: usize,
        bias: Vec<f32>,
        alpha: Option<Vec<f32>>,
    ) -> Result<Self, String> {
        if channels % 4 != 0
            || weight.len() != channels * K * K
            || bias.len() != channels
            || stride == 0
        {
            return Err(format!(
                "depthwise {K}x{K} over {channels} channels: {} weights, {} biases",
                weight.len(),
                bias.len()
            ));
        }
        if alpha.as_ref().is_some_and(|a| a.len() != channels) {
            return Err(format!(
                "depthwise over {channels} channels: PReLU slopes of the wrong length"
            ));
        }
        let mut weights = vec![0.0; channels * K * K];
        for c in 0..channels {
            for t in 0..K * K {
                weights[t * channels + c] = weight[c * K * K + t];
            }
        }
        Ok(Self {
            channels,
            stride,
            weights,
            bias,
            alpha,
        })
    }

    /// Gives the layer PReLU slopes (a PReLU found after it in an imported program).
    #[cfg(feature = "imported")]
    pub fn set_alpha(&mut self, alpha: Vec<f32>) -> Result<(), String> {
        if alpha.len() != self.channels {
            return Err(format!(
                "{} PReLU slopes for {} channels",
                alpha.len(),
                self.channels
            ));
        }
        self.alpha = Some(alpha);
        Ok(())
    }

    pub fn stride(&self) -> usize {
        self.stride
    }

    pub fn run(&self, x: &[f32], g: Geometry, out: &mut [f32]) {
        let c = self.channels;
        assert!(
            x.len() >= g.height * g.width * c && out.len() >= g.out_height * g.out_width * c,
            "depthwise: buffers too short"
        );
        // Every output pixel reads at least one input pixel (no output lies wholly in padding).
        assert!(
            (g.out_height - 1) * self.stride < g.height + g.pad_top
                && (g.out_width - 1) * self.stride < g.width + g.pad_left,
            "depthwise: output larger than the padded input"
        );
        for oy in 0..g.out_height {
            let y0 = (oy * self.stride) as isize - g.pad_top as isize;
            let full_rows = y0 >= 0 && y0 as usize + K <= g.height;
            for tile in (0..g.out_width).step_by(COLUMNS) {
                for c0 in (0..c).step_by(4) {
                    // SAFETY: c0 + 4 <= c (c is a multiple of 4), t < K·K.
                    let w: [F32x4; 9] = std::array::from_fn(|t| unsafe {
                        if t < K * K && K <= 3 {
                            F32x4::load(self.weights.as_ptr().add(t * c + c0))
                        } else {
                            F32x4::splat(0.0)
                        }
                    });
                    let bias = unsafe { F32x4::load(self.bias.as_ptr().add(c0)) };
                    let alpha = self
                        .alpha
                        .as_ref()
                        .map(|a| unsafe { F32x4::load(a.as_ptr().add(c0)) });
                    for ox in tile..(tile + COLUMNS).min(g.out_width) {
                        let x0 = (ox * self.stride) as isize - g.pad_left as isize;
                        let mut acc = bias;
                        // SAFETY: every tap read is checked against the map (or the whole window is,
                        // for the unrolled path); channel offsets are below c.
                        unsafe {
                            if K == 3 && full_rows && x0 >= 0 && x0 as usize + K <= g.width {
                                let base = x
                                    .as_ptr()
                                    .add(((y0 as usize) * g.width + x0 as usize) * c + c0);
                                for ky in 0..3 {
                                    let row = base.add(ky * g.width * c);
                                    acc = acc.mul_add(F32x4::load(row), w[ky * 3]);
                                    acc = acc.mul_add(F32x4::load(row.add(c)), w[ky * 3 + 1]);
                                    acc = acc.mul_add(F32x4::load(row.add(2 * c)), w[ky * 3 + 2]);
                                }
                            } else {
                                for ky in 0..K {
                                    let y = y0 + ky as isize;
                                    if y < 0 || y as usize >= g.height {
                                        continue;
                                    }
                                    for kx in 0..K {
                                        let xx = x0 + kx as isize;
                                        if xx < 0 || xx as usize >= g.width {
                                            continue;
                                        }
                                        let t = ky * K + kx;
                                        let wt = if K <= 3 {
                                            w[t]
                                        } else {
                                            F32x4::load(self.weights.as_ptr().add(t * c + c0))
                                        };
                                        let px = x
                                            .as_ptr()
                                            .add(((y as usize) * g.width + xx as usize) * c + c0);
                                        acc = acc.mul_add(F32x4::load(px), wt);
                                    }
                                }
                            }
                            if let Some(alpha) = alpha {
                                acc = acc.prelu(alpha);
                            }
                            acc.store(out.as_mut_ptr().add((oy * g.out_width + ox) * c + c0));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 104729) % 1000) as f32 - 500.0) / 250.0)
            .collect()
    }

    fn reference<const K: usize>(
        w: &[f32],
        b: &[f32],
        alpha: &[f32],
        x: &[f32],
        c: usize,
        s: usize,
        g: Geometry,
    ) -> Vec<f32> {
        let mut out = vec![0.0; g.out_height * g.out_width * c];
        for oy in 0..g.out_height {
            for ox in 0..g.out_width {
                for ch in 0..c {
                    let mut v = b[ch];
                    for ky in 0..K {
                        for kx in 0..K {
                            let (y, xx) = (
                                (oy * s + ky) as isize - g.pad_top as isize,
                                (ox * s + kx) as isize - g.pad_left as isize,
                            );
                            if y >= 0
                                && xx >= 0
                                && (y as usize) < g.height
                                && (xx as usize) < g.width
                            {
                                v += x[((y as usize) * g.width + xx as usize) * c + ch]
                                    * w[ch * K * K + ky * K + kx];
                            }
                        }
                    }
                    out[(oy * g.out_width + ox) * c + ch] = if v > 0.0 { v } else { alpha[ch] * v };
                }
            }
        }
        out
    }

    fn check<const K: usize>(c: usize, s: usize, g: Geometry) {
        let (w, b, a, x) = (
            values(c * K * K, 1),
            values(c, 2),
            values(c, 3),
            values(g.height * g.width * c, 4),
        );
        let layer = Depthwise::<K>::new(&w, c, s, b.clone(), Some(a.clone())).unwrap();
        let mut out = vec![f32::NAN; g.out_height * g.out_width * c];
        layer.run(&x, g, &mut out);
        let want = reference::<K>(&w, &b, &a, &x, c, s, g);
        for (k, (got, want)) in out.iter().zip(&want).enumerate() {
            assert!(
                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "{K}x{K}/{s} {g:?}: [{k}] {got} vs {want}"
            );
        }
    }

    #[test]
    fn matches_the_direct_sum_at_borders_and_strides() {
        // SAME, stride 1: one pixel of padding all round.
        check::<3>(
            8,
            1,
            Geometry {
                height: 6,
                width: 5,
                out_height: 6,
                out_width: 5,
                pad_top: 1,
                pad_left: 1,
            },
        );
        // SAME, stride 2 on an even map: TensorFlow pads only after.
        check::<3>(
            12,
            2,
            Geometry {
                height: 8,
                width: 8,
                out_height: 4,
                out_width: 4,
                pad_top: 0,
                pad_left: 0,
            },
        );
        // SAME, stride 2 on an odd map: one before and one after.
        check::<3>(
            4,
            2,
            Geometry {
                height: 7,
                width: 7,
                out_height: 4,
                out_width: 4,
                pad_top: 1,
                pad_left: 1,
            },
        );
        // The global depthwise conv: 7x7 valid over a 7x7 map.
        check::<7>(
            16,
            1,
            Geometry {
                height: 7,
                width: 7,
                out_height: 1,
                out_width: 1,
                pad_top: 0,
                pad_left: 0,
            },
        );
    }

    #[test]
    fn refuses_weights_of_the_wrong_shape() {
        assert!(Depthwise::<3>::new(&[0.0; 54], 6, 1, vec![0.0; 6], None).is_err());
        assert!(Depthwise::<3>::new(&[0.0; 35], 4, 1, vec![0.0; 4], None).is_err());
        assert!(Depthwise::<3>::new(&[0.0; 36], 4, 0, vec![0.0; 4], None).is_err());
    }
}
