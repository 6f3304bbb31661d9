//! The rows a KxK conv over RGB reads, laid out for the 1x1 GEMM kernel: the networks' stems
//! (MobileFaceNet's 3x3, BlazeFace's 5x5) run as one pointwise pass over these rows.

/// For each output pixel of a KxK conv over three `n × n` planes (burn's NCHW input), a row of
/// `3·K·K` values in the order of burn's `[o, c, ky, kx]` weights (channel, kernel row, column);
/// zeros in the padding. `rows` holds `out_side² · 3·K·K` values.
pub fn im2col<const K: usize>(
    planes: &[f32],
    n: usize,
    stride: usize,
    pad: usize,
    out_side: usize,
    rows: &mut [f32],
) {
    let plane = n * n;
    let width = 3 * K * K;
    for oy in 0..out_side {
        for ox in 0..out_side {
            let row = &mut rows[(oy * out_side + ox) * width..][..width];
            for c in 0..3 {
                for ky in 0..K {
                    let y = (oy * stride + ky) as isize - pad as isize;
                    for kx in 0..K {
                        let x = (ox * stride + kx) as isize - pad as isize;
                        row[c * K * K + ky * K + kx] =
                            if y >= 0 && x >= 0 && (y as usize) < n && (x as usize) < n {
                                planes[c * plane + y as usize * n + x as usize]
                            } else {
                                0.0
                            };
                    }
                }
            }
        }
    }
}
