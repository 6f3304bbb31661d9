//! Fine-tuning on the device: the training loop over burn's autodiff, the same natively and in
//! wasm. Every read back (the loss for progress, the embeddings that seed a margin head) is
//! asynchronous, so the loop runs on WebGPU in a browser; the frozen part of the network runs
//! without autodiff, so only the trainable part pays for the backward pass.
//!
//! Each run starts from the shipped weights: a tuned model is always "base + tuned tensors",
//! which keeps the exported file small and the gallery migration exact (see `crate::io::tuned`).

use std::future::Future;

use burn::module::{Module, Param};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Tensor, TensorData};

use crate::backend::read_back;
use crate::error::{Error, Result};
use crate::nn::adapter::{Adapter, Network, Scope};
use crate::nn::mobilefacenet::{MobileFaceNet, EMBEDDING_DIM, INPUT_SIZE};
use crate::random::Rng;
use crate::train::losses::{nt_xent, supcon, triplet_semi_hard};

pub mod augment;
pub mod config;
pub mod hold_back;
pub mod losses;
mod tune;

pub use config::{Loss, TrainConfig};
pub use hold_back::TunedCalibration;
pub use tune::FineTuned;

/// Reported after every step.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Progress {
    /// Steps done (1-based).
    pub step: usize,
    /// Steps in the run.
    pub steps: usize,
    /// This step's loss.
    pub loss: f32,
    /// Milliseconds since training started.
    pub ms: f64,
}

/// The result of a run.
pub struct Trained {
    /// The tuned network.
    pub network: Network,
    /// Loss after each step.
    pub losses: Vec<f32>,
    /// Milliseconds the run took.
    pub ms: f64,
}

/// Training images: model inputs (`3 × 112 × 112` values each, as [`crate::image::Image::to_model_input`]
/// makes them) and optional labels (any integers; one per image).
#[derive(Clone)]
pub struct TrainingSet {
    /// One model input per image.
    pub inputs: Vec<Vec<f32>>,
    /// One label per image, when the loss needs them.
    pub labels: Option<Vec<usize>>,
}

/// Milliseconds on a monotonic clock (`performance.now()` in browsers, where `Instant` panics).
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        use std::time::Instant;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
    }
}

/// One class weight per identity for the margin heads.
#[derive(Module, Debug)]
struct ClassWeights {
    weight: Param<Tensor<2>>,
}

/// What the optimiser updates.
#[derive(Module, Debug)]
struct Trainee {
    /// The trainable end of the base network (frozen for the adapter scope).
    rest: MobileFaceNet,
    adapter: Option<Adapter>,
    classes: Option<ClassWeights>,
}

impl Trainee {
    fn embed(&self, features: Tensor<4>) -> Tensor<2> {
        let e = self.rest.forward(features);
        match &self.adapter {
            Some(a) => a.forward(e),
            None => e,
        }
    }
}

/// Labels renumbered `0..classes` in order of first appearance, and each class's images.
fn classes(labels: &[usize]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut ids: Vec<usize> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let dense = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let c = ids.iter().position(|x| x == l).unwrap_or_else(|| {
                ids.push(*l);
                members.push(Vec::new());
                ids.len() - 1
            });
            members[c].push(i);
            c
        })
        .collect();
    (dense, members)
}

/// `k` distinct indices of `0..n` (partial Fisher–Yates).
fn choose(n: usize, k: usize, rng: &mut Rng) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = i + ((rng.next_f32() * (n - i) as f32) as usize).min(n - i - 1);
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

/// The images of one step. With labels and a pair loss, P classes × K images (FaceNet's
/// sampling, so that every anchor has positives); otherwise images drawn uniformly.
fn sample(
    batch: usize,
    members: &[Vec<usize>],
    total: usize,
    by_class: bool,
    rng: &mut Rng,
) -> Vec<usize> {
    if !by_class {
        return choose(total, batch, rng);
    }
    let eligible: Vec<&Vec<usize>> = members.iter().filter(|m| m.len() >= 2).collect();
    let p = (batch / 2).clamp(1, eligible.len().max(1));
    let k = (batch / p).max(2);
    choose(eligible.len(), p, rng)
        .into_iter()
        .flat_map(|c| {
            let m = eligible[c];
            choose(m.len(), k, rng)
                .into_iter()
                .map(|i| m[i])
                .collect::<Vec<_>>()
        })
        .collect()
}

fn batch_tensor(set: &TrainingSet, picked: &[usize], device: &burn::tensor::Device) -> Tensor<4> {
    let plane = 3 * INPUT_SIZE * INPUT_SIZE;
    let mut values = Vec::with_capacity(picked.len() * plane);
    for &i in picked {
        values.extend_from_slice(&set.inputs[i]);
    }
    Tensor::from_data(
        TensorData::new(values, [picked.len(), 3, INPUT_SIZE, INPUT_SIZE]),
        device,
    )
}

/// Mean unit embedding of each class under `network`: the starting class weights of a margin
/// head (the classes start where the model already puts them, so early steps do not wreck the
/// features the way random class weights would).
async fn class_centroids(
    network: &Network,
    set: &TrainingSet,
    members: &[Vec<usize>],
    device: &burn::tensor::Device,
) -> Result<Vec<f32>> {
    let mut sums = vec![0f32; members.len() * EMBEDDING_DIM];
    for (c, m) in members.iter().enumerate() {
        for chunk in m.chunks(crate::score::embedder::MAX_BATCH) {
            let e = network.forward(batch_tensor(set, chunk, device));
            let data = read_back(e, "reading embeddings back").await?;
            let values = data
                .try_to_vec::<f32>()
                .map_err(|e| Error::Inference(format!("embeddings are not f32: {e:?}")))?;
            for mut row in values.chunks_exact(EMBEDDING_DIM).map(<[f32]>::to_vec) {
                crate::vector::l2_normalize(&mut row);
                for (s, v) in sums[c * EMBEDDING_DIM..].iter_mut().zip(&row) {
                    *s += v;
                }
            }
        }
    }
    for row in sums.chunks_exact_mut(EMBEDDING_DIM) {
        crate::vector::l2_normalize(row);
    }
    Ok(sums)
}

/// Fine-tunes `base` (the shipped network) on `set` with `config`. `on_step` is awaited after
/// every step with its progress and returns whether to go on: `false` cancels the run with
/// [`Error::Aborted`]. In browsers it is also where the event loop gets a turn.
pub async fn fine_tune<F, Fut>(
    base: &Network,
    set: &TrainingSet,
    config: &TrainConfig,
    mut on_step: F,
) -> Result<Trained>
where
    F: FnMut(Progress) -> Fut,
    Fut: Future<Output = bool>,
{
    config.check()?;
    let n = set.inputs.len();
    let plane = 3 * INPUT_SIZE * INPUT_SIZE;
    if n < 2 {
        return Err(Error::InvalidInput(format!(
            "fine-tuning needs at least 2 images, got {n}"
        )));
    }
    if let Some(bad) = set.inputs.iter().position(|x| x.len() != plane) {
        return Err(Error::InvalidInput(format!(
            "training input {bad} has {} values, expected {plane}",
            set.inputs[bad].len()
        )));
    }
    if set.inputs.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::InvalidInput(
            "training inputs hold NaN or infinity".into(),
        ));
    }
    let labels = match (&set.labels, config.loss.needs_labels()) {
        (Some(l), _) if l.len() != n => {
            return Err(Error::InvalidInput(format!(
                "{} labels for {n} images",
                l.len()
            )))
        }
        (Some(l), _) => l.clone(),
        (None, false) => (0..n).collect(),
        (None, true) => {
            return Err(Error::InvalidInput(format!(
                "loss {} needs labels (one per image); ntxent trains without",
                config.loss.name()
            )))
        }
    };
    let (dense, members) = classes(&labels);
    if config.loss.needs_labels() && !config.loss.is_margin_head() {
        if members.iter().all(|m| m.len() < 2) {
            return Err(Error::InvalidInput(format!(
                "loss {} needs at least two images of one label",
                config.loss.name()
            )));
        }
    }
    if config.loss.is_margin_head() && members.len() < 2 {
        return Err(Error::InvalidInput(format!(
            "loss {} needs at least two labels",
            config.loss.name()
        )));
    }

    let device = base.base.device();
    let (frozen, rest) = base
        .base
        .clone()
        .split(config.scope.split(base.base.blocks.len()));
    let classes_init = match config.head() {
        Some(_) => Some(class_centroids(base, set, &members, &device).await?),
        None => None,
    };
    // The adapter scope trains the adapter alone: the head after the blocks, which `split` leaves
    // in `rest`, is frozen (it once trained too and was then dropped by the export, so the
    // model in use was not the model trained; tests/finetune.rs, "calibrates itself", caught it).
    let rest = match config.scope {
        Scope::Adapter => rest.freeze(),
        _ => rest,
    };
    let mut trainee = Trainee {
        rest,
        adapter: (config.scope == Scope::Adapter).then(|| Adapter::identity(&device)),
        classes: classes_init.map(|values| ClassWeights {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(values, [members.len(), EMBEDDING_DIM]),
                &device,
            )),
        }),
    }
    .train();
    let mut optimizer = AdamWConfig::new()
        .with_weight_decay(config.weight_decay)
        .init();
    let mut rng = Rng::new(config.seed);
    let by_class = config.loss.needs_labels() && !config.loss.is_margin_head();
    let start = now_ms();
    let mut losses = Vec::with_capacity(config.steps);
    for step in 0..config.steps {
        let picked = sample(config.batch_size.min(n), &members, n, by_class, &mut rng);
        let x = batch_tensor(set, &picked, &device);
        let views = Tensor::cat(
            vec![
                config.augmentation.apply(x.clone(), &mut rng),
                config.augmentation.apply(x, &mut rng),
            ],
            0,
        );
        let view_labels: Vec<usize> = picked.iter().chain(&picked).map(|&i| dense[i]).collect();
        // The frozen part runs without autodiff; its output enters the graph as a constant.
        let features = frozen.features(views).autodiff();
        let e = trainee.embed(features);
        let loss = match (config.loss, config.head(), &trainee.classes) {
            (Loss::NtXent, _, _) => nt_xent(e, config.temperature)?,
            (Loss::SupCon, _, _) => supcon(e, &view_labels, config.temperature)?,
            (Loss::Triplet, _, _) => triplet_semi_hard(
                e,
                &view_labels,
                config.margin.unwrap_or(config.loss.default_margin()),
            )?,
            (_, Some(head), Some(classes)) => head.loss(e, classes.weight.val(), &view_labels)?,
            _ => return Err(Error::InvalidInput("no margin head for this loss".into())),
        };
        let value: f32 = loss
            .clone()
            .into_scalar_async()
            .await
            .map_err(|e| Error::Inference(format!("reading the loss back: {e:?}")))?;
        if !value.is_finite() {
            return Err(Error::Inference(format!(
                "the loss became {value} at step {}; lower lr",
                step + 1
            )));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &trainee);
        trainee = optimizer.step(config.lr_at(step), trainee, grads);
        losses.push(value);
        let progress = Progress {
            step: step + 1,
            steps: config.steps,
            loss: value,
            ms: now_ms() - start,
        };
        if !on_step(progress).await {
            return Err(Error::Aborted(format!(
                "fine-tuning cancelled after {} of {} steps; the model is unchanged",
                step + 1,
                config.steps
            )));
        }
    }
    let trainee = trainee.valid();
    Ok(Trained {
        network: Network {
            base: MobileFaceNet::join(frozen, trainee.rest),
            adapter: trainee.adapter,
        },
        losses,
        ms: now_ms() - start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_sampling_gives_positives() {
        let labels = [5, 5, 5, 7, 7, 9, 3, 3, 3, 3];
        let (dense, members) = classes(&labels);
        assert_eq!(dense, vec![0, 0, 0, 1, 1, 2, 3, 3, 3, 3]);
        let mut rng = Rng::new(1);
        for _ in 0..50 {
            let b = sample(4, &members, labels.len(), true, &mut rng);
            assert_eq!(b.len(), 4);
            for &i in &b {
                assert!(b.iter().filter(|&&j| dense[j] == dense[i]).count() >= 2);
                assert_ne!(dense[i], 2, "a class of one image cannot give positives");
            }
            let mut u = b.clone();
            u.sort();
            u.dedup();
            assert_eq!(u.len(), b.len(), "no image twice in a step");
        }
    }

    #[test]
    fn cosine_schedule() {
        let c = TrainConfig {
            steps: 10,
            lr: 1e-3,
            ..Default::default()
        };
        assert!((c.lr_at(0) - 1e-3).abs() < 1e-12);
        assert!((c.lr_at(5) - 5e-4).abs() < 1e-12);
        assert!(c.lr_at(9) < 3e-5);
    }
}
