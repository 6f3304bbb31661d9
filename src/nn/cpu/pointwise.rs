//! 1x1 convolution over NHWC pixels: a register-blocked GEMM `out[p][o] = Σ_i x[p][i]·w[o][i]`
//! with bias, PReLU or a residual add fused into the store, so that no layer makes a second pass
//! over its output. Also serves the first conv (over im2col rows) and the head's linear layers
//! (one pixel).
//!
//! Blocking: [`ROWS`] pixels × [`PANEL`] output channels of accumulators (8 vectors: with the two
//! weight vectors and a broadcast input they fit the 16 SIMD registers of x86-64 and ARM64 that
//! the browser's compiler maps wasm locals to). Weights are repacked once into panels of
//! [`PANEL`] output channels, input-channel-major, so the inner loop reads them contiguously;
//! the input needs no packing (NHWC rows are contiguous per pixel).

use super::lanes::F32x4;

/// Output channels per panel (two vectors).
pub const PANEL: usize = 8;
/// Pixels per register block.
const ROWS: usize = 4;
/// Input bytes per pixel tile that should stay in L1 while every panel passes over it.
const TILE_BYTES: usize = 32 * 1024;

/// What happens to a panel's accumulators before they are stored.
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    /// Bias only (a linear layer).
    Linear,
    /// Bias, then the layer's PReLU.
    Prelu,
    /// Bias, then `+ residual[p][o]` (NHWC, as the output).
    Residual(&'a [f32]),
    /// Bias, then ReLU (BlazeFace's stem).
    Relu,
    /// Bias, `+ residual[p][o]`, then ReLU (BlazeFace's blocks).
    ResidualRelu(&'a [f32]),
}

/// A packed 1x1 convolution.
pub struct Pointwise {
    inputs: usize,
    outputs: usize,
    /// `[outputs / PANEL][inputs][PANEL]`.
    panels: Vec<f32>,
    bias: Vec<f32>,
    alpha: Option<Vec<f32>>,
}

impl Pointwise {
    /// Packs burn's `[outputs, inputs]` weights (a 1x1 kernel's `[o, i, 1, 1]` read flat).
    pub fn new(
        weight: &[f32],
        inputs: usize,
        outputs: usize,
        bias: Vec<f32>,
        alpha: Option<Vec<f32>>,
    ) -> Result<Self, String> {
        if outputs % PANEL != 0 || weight.len() != inputs * outputs || bias.len() != outputs {
            return Err(format!(
                "pointwise {inputs}→{outputs}: {} weights, {} biases",
                weight.len(),
                bias.len()
            ));
        }
        if alpha.as_ref().is_some_and(|a| a.len() != outputs) {
            return Err(format!(
                "pointwise {inputs}→{outputs}: PReLU slopes of the wrong length"
            ));
        }
        let mut panels = vec![0.0; inputs * outputs];
        for o in 0..outputs {
            let (panel, lane) = (o / PANEL, o % PANEL);
            for i in 0..inputs {
                panels[(panel * inputs + i) * PANEL + lane] = weight[o * inputs + i];
            }
        }
        Ok(Self {
            inputs,
            outputs,
            panels,
            bias,
            alpha,
        })
    }

    /// Gives the layer PReLU slopes (a PReLU found after it in an imported program).
    #[cfg(feature = "imported")]
    pub fn set_alpha(&mut self, alpha: Vec<f32>) -> Result<(), String> {
        if alpha.len() != self.outputs {
            return Err(format!(
                "{} PReLU slopes for {} outputs",
                alpha.len(),
                self.outputs
            ));
        }
        self.alpha = Some(alpha);
        Ok(())
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// `out[p] = epilogue(W·x[p] + b)` for `pixels` NHWC rows.
    pub fn run(&self, x: &[f32], pixels: usize, epilogue: Epilogue, out: &mut [f32]) {
        let (ci, co) = (self.inputs, self.outputs);
        assert!(
            x.len() >= pixels * ci && out.len() >= pixels * co,
            "pointwise: buffers too short"
        );
        if let Epilogue::Residual(r) | Epilogue::ResidualRelu(r) = epilogue {
            assert!(r.len() >= pixels * co, "pointwise: residual too short");
        }
        if let Epilogue::Prelu = epilogue {
            assert!(
                self.alpha.is_some(),
                "pointwise: PReLU epilogue on a layer without slopes"
            );
        }
        let tile = (TILE_BYTES / (4 * ci)).max(ROWS) / ROWS * ROWS;
        for start in (0..pixels).step_by(tile) {
            let end = (start + tile).min(pixels);
            for panel in 0..co / PANEL {
                let mut p = start;
                // SAFETY: `p + rows <= pixels`, so rows p.. of x (ci each), out and residual (co
                // each) are inside the slices checked above; the panel has `ci * PANEL` weights
                // and `panel * PANEL + PANEL <= co` biases and slopes.
                unsafe {
                    while p + ROWS <= end {
                        self.block::<ROWS>(x, p, panel, epilogue, out);
                        p += ROWS;
                    }
                    match end - p {
                        1 => self.block::<1>(x, p, panel, epilogue, out),
                        2 => self.block::<2>(x, p, panel, epilogue, out),
                        3 => self.block::<3>(x, p, panel, epilogue, out),
                        4 => self.block::<4>(x, p, panel, epilogue, out),
                        5 => self.block::<5>(x, p, panel, epilogue, out),
                        _ => {}
                    }
                }
            }
        }
    }

    /// One block: pixels `p..p + R`, output channels `panel * PANEL..+PANEL`.
    #[inline(always)]
    unsafe fn block<const R: usize>(
        &self,
        x: &[f32],
        p: usize,
        panel: usize,
        epilogue: Epilogue,
        out: &mut [f32],
    ) {
        let (ci, co) = (self.inputs, self.outputs);
        let o = panel * PANEL;
        let bias = self.bias.as_ptr().add(o);
        let (b0, b1) = (F32x4::load(bias), F32x4::load(bias.add(4)));
        let mut acc = [[b0, b1]; R];
        let w = self.panels.as_ptr().add(panel * ci * PANEL);
        let xp = x.as_ptr().add(p * ci);
        // Each input channel broadcast by a scalar load (v128.load32_splat). Measured against
        // XNNPACK's scheme (a vector load per pixel, lanes broadcast by shuffles): that was
        // slower under V8 (docs/BENCHMARKS.md).
        for i in 0..ci {
            let w0 = F32x4::load(w.add(i * PANEL));
            let w1 = F32x4::load(w.add(i * PANEL + 4));
            for (r, acc) in acc.iter_mut().enumerate() {
                let a = F32x4::splat(*xp.add(r * ci + i));
                acc[0] = acc[0].mul_add(a, w0);
                acc[1] = acc[1].mul_add(a, w1);
            }
        }
        match epilogue {
            Epilogue::Linear => {}
            Epilogue::Prelu => {
                let alpha = self.alpha.as_ref().unwrap_unchecked().as_ptr().add(o);
                let (a0, a1) = (F32x4::load(alpha), F32x4::load(alpha.add(4)));
                for acc in acc.iter_mut() {
                    acc[0] = acc[0].prelu(a0);
                    acc[1] = acc[1].prelu(a1);
                }
            }
            Epilogue::Residual(res) | Epilogue::ResidualRelu(res) => {
                for (r, acc) in acc.iter_mut().enumerate() {
                    let rp = res.as_ptr().add((p + r) * co + o);
                    acc[0] = acc[0].add(F32x4::load(rp));
                    acc[1] = acc[1].add(F32x4::load(rp.add(4)));
                }
            }
            Epilogue::Relu => {}
        }
        if let Epilogue::Relu | Epilogue::ResidualRelu(_) = epilogue {
            for acc in acc.iter_mut() {
                acc[0] = acc[0].relu();
                acc[1] = acc[1].relu();
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let op = out.as_mut_ptr().add((p + r) * co + o);
            acc[0].store(op);
            acc[1].store(op.add(4));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(w: &[f32], b: &[f32], x: &[f32], ci: usize, co: usize, pixels: usize) -> Vec<f32> {
        let mut out = vec![0.0; pixels * co];
        for p in 0..pixels {
            for o in 0..co {
                out[p * co + o] =
                    b[o] + (0..ci).map(|i| x[p * ci + i] * w[o * ci + i]).sum::<f32>();
            }
        }
        out
    }

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 104729) % 1000) as f32 - 500.0) / 250.0)
            .collect()
    }

    #[test]
    fn matches_the_plain_product_with_every_epilogue_and_remainder() {
        // Pixel counts that leave every remainder of the 4-pixel blocks, and enough input
        // channels that the L1 tile splits the pixels.
        for (ci, co, pixels) in [
            (3, 8, 1),
            (27, 64, 7),
            (64, 16, 49),
            (512, 8, 21),
            (128, 24, 66),
        ] {
            let (w, b, x) = (values(ci * co, 1), values(co, 2), values(pixels * ci, 3));
            let alpha = values(co, 4);
            let residual = values(pixels * co, 5);
            let layer = Pointwise::new(&w, ci, co, b.clone(), Some(alpha.clone())).unwrap();
            let plain = reference(&w, &b, &x, ci, co, pixels);
            for (name, epilogue) in [
                ("linear", Epilogue::Linear),
                ("prelu", Epilogue::Prelu),
                ("residual", Epilogue::Residual(&residual)),
                ("relu", Epilogue::Relu),
                ("residual+relu", Epilogue::ResidualRelu(&residual)),
            ] {
                let mut out = vec![f32::NAN; pixels * co];
                layer.run(&x, pixels, epilogue, &mut out);
                for (k, (&got, &lin)) in out.iter().zip(&plain).enumerate() {
                    let want = match name {
                        "linear" => lin,
                        "prelu" => {
                            if lin > 0.0 {
                                lin
                            } else {
                                alpha[k % co] * lin
                            }
                        }
                        "relu" => lin.max(0.0),
                        "residual" => lin + residual[k],
                        _ => (lin + residual[k]).max(0.0),
                    };
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "{ci}→{co}, {pixels} px, {name}: [{k}] {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_weights_that_do_not_fit_the_panels() {
        assert!(Pointwise::new(&[0.0; 12], 3, 4, vec![0.0; 4], None).is_err());
        assert!(Pointwise::new(&[0.0; 23], 3, 8, vec![0.0; 8], None).is_err());
        assert!(Pointwise::new(&[0.0; 24], 3, 8, vec![0.0; 8], Some(vec![0.0; 7])).is_err());
    }
}
