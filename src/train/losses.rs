//! Embedding-learning losses for fine-tuning on the device, written with tensor operations only:
//! masks and reductions, no sorting and no reads back to the CPU, so that they run on WebGPU in
//! wasm (where every read is asynchronous) as on the CPU. Labels are known on the CPU and become
//! constant masks. Each returns a one-element loss tensor that autodiff can differentiate.
//!
//! Why this file is long: its 299 lines of code stay under the ~500-line rule; the other
//! 242 are its unit tests, kept beside the private items they exercise.

use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::error::{Error, Result};

/// Added to masked-out logits or distances: far outside any cosine/τ or distance in use, yet
/// finite so that `0 × BIG` stays 0 in the blends below.
const BIG: f32 = 1e4;

/// A constant `rows × cols` mask from a predicate.
fn mask(
    rows: usize,
    cols: usize,
    f: impl Fn(usize, usize) -> bool,
    device: &Device,
) -> Tensor<2, Bool> {
    let data: Vec<bool> = (0..rows * cols).map(|k| f(k / cols, k % cols)).collect();
    Tensor::from_data(TensorData::new(data, [rows, cols]), device)
}

/// The same as a float tensor of 0 and 1.
fn float_mask(
    rows: usize,
    cols: usize,
    f: impl Fn(usize, usize) -> bool,
    device: &Device,
) -> Tensor<2> {
    mask(rows, cols, f, device).float()
}

/// Rows scaled to unit length.
pub fn normalize_rows(x: Tensor<2>) -> Tensor<2> {
    let norm = (x.clone() * x.clone()).sum_dim(1).add_scalar(1e-12).sqrt();
    x / norm
}

/// Cosine similarity of every pair of rows of `a` `[n, d]` and `b` `[m, d]`: `[n, m]`. A
/// broadcast product and a sum rather than `matmul`, whose CPU kernels would add megabytes to the
/// wasm module (docs/BENCHMARKS.md); batches here are small.
pub fn cosine_matrix(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let [n, _] = a.dims();
    let [m, _] = b.dims();
    let a = normalize_rows(a).unsqueeze_dim::<3>(1);
    let b = normalize_rows(b).unsqueeze_dim::<3>(0);
    (a * b).sum_dim(2).reshape([n, m]).clamp(-1.0, 1.0)
}

fn check_labels(rows: usize, labels: &[usize]) -> Result<()> {
    if labels.len() != rows {
        return Err(Error::InvalidInput(format!(
            "{} labels for {rows} embeddings",
            labels.len()
        )));
    }
    Ok(())
}

/// Cross-entropy of softmax(`logits`) against the positives in `positives` (rows summing to 1
/// or 0; rows of 0 are left out of the mean).
fn soft_cross_entropy(
    logits: Tensor<2>,
    positives: Tensor<2>,
    row_has: Vec<bool>,
) -> Result<Tensor<1>> {
    let device = logits.device();
    let anchors = row_has.iter().filter(|&&h| h).count();
    if anchors == 0 {
        return Err(Error::InvalidInput(
            "no anchor has a positive: the batch needs two images of at least one class".into(),
        ));
    }
    let n = row_has.len();
    let has = Tensor::<2>::from_data(
        TensorData::new(
            row_has
                .iter()
                .map(|&h| if h { 1.0f32 } else { 0.0 })
                .collect::<Vec<_>>(),
            [n, 1],
        ),
        &device,
    );
    let per_anchor = -(log_softmax(logits, 1) * positives).sum_dim(1) * has;
    Ok(per_anchor.sum().div_scalar(anchors as f32))
}

/// NT-Xent (SimCLR): `views` holds 2N embeddings where rows `i` and `i + N` are two views of one
/// image; each view's positive is the other, the remaining 2N − 2 are negatives, at temperature
/// `temperature`.
pub fn nt_xent(views: Tensor<2>, temperature: f32) -> Result<Tensor<1>> {
    let [rows, _] = views.dims();
    if rows < 2 || rows % 2 != 0 || !(temperature > 0.0) {
        return Err(Error::InvalidInput(format!(
            "NT-Xent needs an even number (≥ 2) of views and a positive temperature, got {rows} and {temperature}"
        )));
    }
    let device = views.device();
    let half = rows / 2;
    let logits = (cosine_matrix(views.clone(), views) / temperature)
        .mask_fill(mask(rows, rows, |i, j| i == j, &device), -BIG);
    let positives = float_mask(rows, rows, |i, j| j == (i + half) % rows, &device);
    soft_cross_entropy(logits, positives, vec![true; rows])
}

/// Supervised contrastive loss (Khosla et al. 2020): every other view with the same label is a
/// positive, averaged per anchor; anchors without a positive are left out.
pub fn supcon(views: Tensor<2>, labels: &[usize], temperature: f32) -> Result<Tensor<1>> {
    let [rows, _] = views.dims();
    check_labels(rows, labels)?;
    if !(temperature > 0.0) {
        return Err(Error::InvalidInput(format!(
            "temperature {temperature} must be positive"
        )));
    }
    let device = views.device();
    let logits = (cosine_matrix(views.clone(), views) / temperature)
        .mask_fill(mask(rows, rows, |i, j| i == j, &device), -BIG);
    let counts: Vec<usize> = (0..rows)
        .map(|i| {
            (0..rows)
                .filter(|&j| j != i && labels[j] == labels[i])
                .count()
        })
        .collect();
    let positives = float_mask(rows, rows, |i, j| i != j && labels[i] == labels[j], &device)
        / Tensor::<2>::from_data(
            TensorData::new(
                counts.iter().map(|&c| c.max(1) as f32).collect::<Vec<_>>(),
                [rows, 1],
            ),
            &device,
        );
    soft_cross_entropy(logits, positives, counts.iter().map(|&c| c > 0).collect())
}

/// Triplet loss with semi-hard negatives mined in the batch (FaceNet): for each anchor and
/// positive, the closest negative farther than the positive but within the margin
/// (`d(a,p) < d(a,n) < d(a,p) + margin`), else the hardest negative; distances are squared
/// Euclidean between unit vectors, `2 − 2·cos`. Mean of `max(d(a,p) − d(a,n) + margin, 0)` over
/// the anchor-positive pairs that have a negative.
pub fn triplet_semi_hard(
    embeddings: Tensor<2>,
    labels: &[usize],
    margin: f32,
) -> Result<Tensor<1>> {
    let [n, _] = embeddings.dims();
    check_labels(n, labels)?;
    let device = embeddings.device();
    let pairs: Vec<bool> = (0..n * n)
        .map(|k| {
            let (a, p) = (k / n, k % n);
            a != p && labels[a] == labels[p] && labels.iter().any(|&l| l != labels[a])
        })
        .collect();
    let count = pairs.iter().filter(|&&v| v).count();
    if count == 0 {
        return Err(Error::InvalidInput(
            "no triplet: the batch needs two images of one class and one of another".into(),
        ));
    }
    let d = (-cosine_matrix(embeddings.clone(), embeddings) * 2.0).add_scalar(2.0);
    // [a, p, n] views of the distances.
    let d_ap = d.clone().unsqueeze_dim::<3>(2).expand([n, n, n]);
    let d_an = d.unsqueeze_dim::<3>(1).expand([n, n, n]);
    let negative: Tensor<3, Bool> = mask(n, n, |a, m| labels[a] != labels[m], &device)
        .unsqueeze_dim::<3>(1)
        .expand([n, n, n]);
    let semi = d_an
        .clone()
        .greater(d_ap.clone())
        .bool_and(d_an.clone().lower(d_ap.clone().add_scalar(margin)))
        .bool_and(negative.clone());
    let has_semi = semi.clone().any_dim(2).float();
    let semi_min = d_an.clone().mask_fill(semi.bool_not(), BIG).min_dim(2);
    let hard_min = d_an.mask_fill(negative.bool_not(), BIG).min_dim(2);
    let chosen = hard_min.clone() + has_semi * (semi_min - hard_min);
    let d_ap = d_ap.slice([0..n, 0..n, 0..1]);
    let per_pair = relu(d_ap - chosen + margin).reshape([n, n]);
    let valid = Tensor::<2>::from_data(
        TensorData::new(
            pairs
                .iter()
                .map(|&v| if v { 1.0f32 } else { 0.0 })
                .collect::<Vec<_>>(),
            [n, n],
        ),
        &device,
    );
    Ok((per_pair * valid).sum().div_scalar(count as f32))
}

/// Softmax heads over enrolled identities, on cosines between normalised embeddings and
/// normalised class weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MarginHead {
    /// `s · cos θ_j` for every class: normalised softmax.
    Softmax {
        /// Scale `s` of the logits.
        scale: f32,
    },
    /// CosFace: `s · (cos θ_y − m)` for the true class.
    CosFace {
        /// Scale `s` of the logits.
        scale: f32,
        /// Margin `m`.
        margin: f32,
    },
    /// ArcFace: `s · cos(θ_y + m)` for the true class, with InsightFace's fallback
    /// `cos θ − m·sin m` where `θ + m` would pass π (keeps the logit monotonic in θ).
    ArcFace {
        /// Scale `s` of the logits.
        scale: f32,
        /// Angular margin `m`, radians.
        margin: f32,
    },
    /// SphereFace: `s · ψ(θ_y)`, `ψ(θ) = (−1)^k cos(mθ) − 2k` for `θ ∈ [kπ/m, (k+1)π/m]`,
    /// integer `m`.
    SphereFace {
        /// Scale `s` of the logits.
        scale: f32,
        /// Angle multiplier `m`.
        margin: u32,
    },
}

impl MarginHead {
    /// The logits `[n, classes]` for `embeddings` `[n, d]`, class weights `[classes, d]`, labels.
    pub fn logits(
        &self,
        embeddings: Tensor<2>,
        weights: Tensor<2>,
        labels: &[usize],
    ) -> Result<Tensor<2>> {
        let [n, _] = embeddings.dims();
        let [classes, _] = weights.dims();
        check_labels(n, labels)?;
        if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
            return Err(Error::InvalidInput(format!(
                "label {bad} for {classes} classes"
            )));
        }
        let device = embeddings.device();
        let cos = cosine_matrix(embeddings, weights);
        let target = float_mask(n, classes, |i, j| labels[i] == j, &device);
        let (scale, target_logit) = match *self {
            MarginHead::Softmax { scale } => return Ok(cos * scale),
            MarginHead::CosFace { scale, margin } => (scale, cos.clone().sub_scalar(margin)),
            MarginHead::ArcFace { scale, margin } => {
                // Clamped away from ±1: the derivative of sqrt(1 − c²) is infinite there.
                let c = cos.clone().clamp(-1.0 + 1e-6, 1.0 - 1e-6);
                let sin = (c.clone() * c.clone()).neg().add_scalar(1.0).sqrt();
                let phi = c.clone() * margin.cos() - sin * margin.sin();
                let threshold = (std::f32::consts::PI - margin).cos();
                let fallback = c
                    .clone()
                    .sub_scalar((std::f32::consts::PI - margin).sin() * margin);
                (
                    scale,
                    phi.mask_where(c.lower_equal_elem(threshold), fallback),
                )
            }
            MarginHead::SphereFace { scale, margin } => {
                let m = margin.max(1) as f32;
                let theta = cos.clone().clamp(-1.0 + 1e-6, 1.0 - 1e-6).acos();
                let k = (theta.clone() * (m / std::f32::consts::PI))
                    .floor()
                    .detach();
                let sign = k
                    .clone()
                    .remainder_scalar(2.0)
                    .mul_scalar(-2.0)
                    .add_scalar(1.0);
                (scale, sign * (theta * m).cos() - k * 2.0)
            }
        };
        Ok((cos.clone() + target.clone() * (target_logit - cos)) * scale)
    }

    /// Cross-entropy of the head's logits against the labels.
    pub fn loss(
        &self,
        embeddings: Tensor<2>,
        weights: Tensor<2>,
        labels: &[usize],
    ) -> Result<Tensor<1>> {
        let [n, _] = embeddings.dims();
        let [classes, _] = weights.dims();
        let device = embeddings.device();
        let logits = self.logits(embeddings, weights, labels)?;
        let target = float_mask(n, classes, |i, j| labels[i] == j, &device);
        soft_cross_entropy(logits, target, vec![true; n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        crate::Backend::Flex.cpu_device().unwrap()
    }

    fn tensor(rows: &[&[f32]]) -> Tensor<2> {
        let d = rows[0].len();
        let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), d]), &device())
    }

    fn value(t: Tensor<1>) -> f32 {
        t.into_data().as_slice::<f32>().unwrap()[0]
    }

    fn close(got: f32, want: f32) {
        assert!((got - want).abs() < 1e-4, "got {got}, want {want}");
    }

    #[test]
    fn nt_xent_and_supcon_by_hand() {
        // Views 0 and 2 are one image, 1 and 3 another, orthogonal: each anchor sees its positive
        // at cosine 1 and two negatives at 0, so the loss is log((2 + e) / e).
        let v = tensor(&[&[1.0, 0.0], &[0.0, 1.0], &[2.0, 0.0], &[0.0, 3.0]]);
        let want = (1.0f32 + 2.0 / std::f32::consts::E).ln();
        close(value(nt_xent(v.clone(), 1.0).unwrap()), want);
        close(value(supcon(v.clone(), &[0, 1, 0, 1], 1.0).unwrap()), want);
        // A lower temperature sharpens: positives at 1/τ = 2.
        let e2 = 2.0f32.exp();
        close(
            value(nt_xent(v.clone(), 0.5).unwrap()),
            ((2.0 + e2) / e2).ln(),
        );
        let one: &[f32] = &[1.0, 0.0];
        assert!(
            nt_xent(tensor(&[one, one, one]), 1.0).is_err(),
            "odd number of views"
        );
        assert!(
            supcon(v, &[0, 1, 2, 3], 1.0).is_err(),
            "no positives at all"
        );
    }

    #[test]
    fn triplet_by_hand() {
        // a at 0°, p at 60° (d = 1), n at 90° (d from a = 2, from p = 2 − √3), margin 0.5.
        // (a, p): no semi-hard negative, hardest is n: max(1 − 2 + 0.5, 0) = 0.
        // (p, a): d(p, n) = 0.268 < 1, not semi-hard; hardest n: 1 − 0.268 + 0.5 = 1.232.
        let r = |deg: f32| [deg.to_radians().cos(), deg.to_radians().sin()];
        let (a, p, n) = (r(0.0), r(60.0), r(90.0));
        let loss = triplet_semi_hard(tensor(&[&a, &p, &n]), &[0, 0, 1], 0.5).unwrap();
        close(value(loss), (0.0 + (1.0 - (2.0 - 3f32.sqrt()) + 0.5)) / 2.0);
        // Add n2 at 70° (d from a = 1.316: semi-hard for (a, p)) and n3 at 100°.
        // (a, p) → n2: 1 − 1.316 + 0.5 = 0.184. (p, a): d(p, n2) = 0.030, d(p, n3) = 0.468, none
        // in (1, 1.5) → the hardest, n2: 1.470.
        let (n2, n3) = (r(70.0), r(100.0));
        let loss = triplet_semi_hard(tensor(&[&a, &p, &n2, &n3]), &[0, 0, 1, 1], 0.5).unwrap();
        let d = |x: f32, y: f32| 2.0 - 2.0 * (x - y).to_radians().cos();
        let ap = (d(0.0, 60.0) - d(0.0, 70.0) + 0.5).max(0.0);
        let pa = (d(60.0, 0.0) - d(60.0, 70.0) + 0.5).max(0.0);
        // n2 and n3 are each other's positive at d = 0.268. From n2 the negatives are a (1.316)
        // and p (0.030): none in (0.268, 0.768), the hardest is p. From n3: a (2.347) and p
        // (0.468): p is semi-hard.
        let n23 = (d(70.0, 100.0) - d(70.0, 60.0) + 0.5).max(0.0);
        let n32 = (d(100.0, 70.0) - d(100.0, 60.0) + 0.5).max(0.0);
        close(value(loss), (ap + pa + n23 + n32) / 4.0);
        assert!(
            triplet_semi_hard(tensor(&[&a, &p]), &[0, 0], 0.5).is_err(),
            "no negative"
        );
    }

    #[test]
    fn margin_heads_by_hand() {
        let w = tensor(&[&[1.0, 0.0], &[0.0, 1.0]]);
        let x = tensor(&[&[2.0, 0.0]]);
        let ce = |target: f32, other: f32| (1.0 + (other - target).exp()).ln();
        close(
            value(
                MarginHead::Softmax { scale: 1.0 }
                    .loss(x.clone(), w.clone(), &[0])
                    .unwrap(),
            ),
            ce(1.0, 0.0),
        );
        close(
            value(
                MarginHead::CosFace {
                    scale: 1.0,
                    margin: 0.5,
                }
                .loss(x.clone(), w.clone(), &[0])
                .unwrap(),
            ),
            ce(0.5, 0.0),
        );
        // ArcFace at θ = 20°: cos(θ + m) for the true class, cos 70° for the other.
        let x20 = tensor(&[&[20f32.to_radians().cos(), 20f32.to_radians().sin()]]);
        let arc = (20f32.to_radians() + 0.5).cos();
        let arcface = MarginHead::ArcFace {
            scale: 1.0,
            margin: 0.5,
        };
        close(
            value(arcface.loss(x20, w.clone(), &[0]).unwrap()),
            ce(arc, 70f32.to_radians().cos()),
        );
        // Scale multiplies the logits.
        close(
            value(
                MarginHead::CosFace {
                    scale: 4.0,
                    margin: 0.5,
                }
                .loss(x, w.clone(), &[0])
                .unwrap(),
            ),
            ce(2.0, 0.0),
        );
        // SphereFace m = 4 at θ = 30°: k = 0, ψ = cos 120° = −0.5; the other class at cos 60°.
        let x30 = tensor(&[&[30f32.to_radians().cos(), 30f32.to_radians().sin()]]);
        close(
            value(
                MarginHead::SphereFace {
                    scale: 1.0,
                    margin: 4,
                }
                .loss(x30.clone(), w.clone(), &[0])
                .unwrap(),
            ),
            ce(-0.5, 0.5),
        );
        // ArcFace past the fallback point: θ = 170°, m = 0.5 → cos θ − m·sin(π − m).
        let x170 = tensor(&[&[170f32.to_radians().cos(), 170f32.to_radians().sin()]]);
        let c = 170f32.to_radians().cos();
        let fallback = c - (std::f32::consts::PI - 0.5).sin() * 0.5;
        close(
            value(
                MarginHead::ArcFace {
                    scale: 1.0,
                    margin: 0.5,
                }
                .loss(x170, w.clone(), &[0])
                .unwrap(),
            ),
            ce(fallback, 170f32.to_radians().sin()),
        );
        assert!(MarginHead::Softmax { scale: 1.0 }
            .loss(x30, w, &[2])
            .is_err());
    }

    /// Central differences against autodiff on a random batch: every loss's gradient with
    /// respect to the embeddings.
    #[cfg(feature = "train")]
    #[test]
    fn gradients_match_finite_differences() {
        let (n, d) = (6, 4);
        let values = crate::random::Rng::new(7).centred(n * d);
        let labels = [0, 0, 1, 1, 2, 2];
        let weights = tensor(&[
            &[0.3, -0.2, 0.5, 0.1],
            &[-0.4, 0.6, 0.0, 0.2],
            &[0.1, 0.1, -0.7, 0.3],
        ]);
        type Loss<'a> = Box<dyn Fn(Tensor<2>) -> Tensor<1> + 'a>;
        let losses: Vec<(&str, Loss)> = vec![
            ("nt_xent", Box::new(|x| nt_xent(x, 0.5).unwrap())),
            ("supcon", Box::new(|x| supcon(x, &labels, 0.5).unwrap())),
            (
                "triplet",
                Box::new(|x| triplet_semi_hard(x, &labels, 0.5).unwrap()),
            ),
            (
                "softmax",
                Box::new(|x| {
                    MarginHead::Softmax { scale: 4.0 }
                        .loss(x, weights.clone(), &labels)
                        .unwrap()
                }),
            ),
            (
                "cosface",
                Box::new(|x| {
                    MarginHead::CosFace {
                        scale: 4.0,
                        margin: 0.3,
                    }
                    .loss(x, weights.clone(), &labels)
                    .unwrap()
                }),
            ),
            (
                "arcface",
                Box::new(|x| {
                    MarginHead::ArcFace {
                        scale: 4.0,
                        margin: 0.3,
                    }
                    .loss(x, weights.clone(), &labels)
                    .unwrap()
                }),
            ),
            (
                "sphereface",
                Box::new(|x| {
                    MarginHead::SphereFace {
                        scale: 4.0,
                        margin: 2,
                    }
                    .loss(x, weights.clone(), &labels)
                    .unwrap()
                }),
            ),
        ];
        let at = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [n, d]), &device());
        for (name, loss) in &losses {
            let x = at(&values).autodiff().require_grad();
            let grads = loss(x.clone()).backward();
            let g = x.grad(&grads).expect("a gradient").into_data();
            let g = g.as_slice::<f32>().unwrap();
            // Small enough that no semi-hard choice or minimum flips inside ±h on this batch.
            let h = 1e-3f32;
            for k in 0..n * d {
                let (mut up, mut down) = (values.clone(), values.clone());
                up[k] += h;
                down[k] -= h;
                let numeric = (value(loss(at(&up))) - value(loss(at(&down)))) / (2.0 * h);
                assert!(
                    (numeric - g[k]).abs() < 2e-3 + 2e-2 * numeric.abs(),
                    "{name}: d/dx[{k}] autodiff {} vs finite differences {numeric}",
                    g[k]
                );
            }
        }
    }
}
