//! Fine-tuning a loaded model: the embedder on a training set, the pipeline on photos. Here
//! rather than beside the embedder so that the runtime layers below never depend on training.

use super::hold_back::{HeldBack, TunedCalibration};
use crate::error::{Error, Result};
use crate::face::pipeline::Pipeline;
use crate::face::prepared::FaceMode;
use crate::image::Image;
use crate::nn::adapter::Network;
use crate::score::calibration::{Calibration, Refit};
use crate::score::embedder::Embedder;

impl Embedder {
    /// Fine-tunes the shipped network on `set` (see [`super::fine_tune`]) and uses the
    /// result from now on, exactly as its exported file loads. With labels, a share of the
    /// classes (`config.hold_back`) is held back from training and the tuned model is calibrated
    /// on their pairs (see [`super::hold_back`]); the file then carries that calibration.
    /// Returns the losses, the time, the tuned model's info and how it was calibrated.
    pub async fn fine_tune_async<F, Fut>(
        &self,
        set: super::TrainingSet,
        config: &super::TrainConfig,
        on_step: F,
    ) -> Result<FineTuned>
    where
        F: FnMut(super::Progress) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        config.check()?;
        let (train, held) = super::hold_back::split(set, config.hold_back, config.seed);
        let trained = super::fine_tune(&self.shipped_network(), &train, config, on_step).await?;
        let mut extra = config.metadata();
        extra.push(("images", train.inputs.len().to_string()));
        let calibration = match held {
            Ok(back) => {
                let refit = self.fit_held_back(&trained.network, &back).await?;
                extra.push(("calibration", refit.calibration.to_json()));
                Ok((back, refit))
            }
            Err(reason) => Err(reason),
        };
        let bytes =
            crate::io::tuned::export(&trained.network, config.scope, self.shipped_info(), &extra)
                .await?;
        // Loading the file takes its calibration (when it has one) and marks it not inherited.
        let info = self.load_tuned_async(&bytes).await?;
        let calibration = match calibration {
            Ok((back, mut refit)) => {
                self.fill_unsupported(&mut refit);
                TunedCalibration::fitted(&back, &refit)
            }
            Err(reason) => TunedCalibration::inherited(reason),
        };
        Ok(FineTuned {
            losses: trained.losses,
            ms: trained.ms,
            skipped: 0,
            info,
            calibration,
        })
    }

    /// The calibration of a just-trained `network` on the pairs of the held-back classes.
    async fn fit_held_back(&self, network: &Network, back: &HeldBack) -> Result<Refit> {
        let e = self.embed_inputs_with(network, &back.inputs).await?;
        let scores = back
            .pairs()
            .map(|(i, j, same)| Ok((crate::score::verify::similarity(&e[i], &e[j])?, same)))
            .collect::<Result<Vec<_>>>()?;
        let genuine = scores.iter().filter(|p| p.1).count();
        let source = TunedCalibration::source(back, genuine, scores.len() - genuine);
        Calibration::from_labelled(&source, &scores)
    }
}

/// What a fine-tuning run did.
pub struct FineTuned {
    /// Loss after each step.
    pub losses: Vec<f32>,
    /// Milliseconds the run took.
    pub ms: f64,
    /// Photos left out because no face was found in them.
    pub skipped: usize,
    /// The tuned model now in use.
    pub info: crate::io::weights::ModelInfo,
    /// How the tuned model was calibrated (on held-back classes, or inherited and why).
    pub calibration: TunedCalibration,
}

impl Pipeline {
    /// Training inputs from photos: each photo's main face, aligned as for embedding. Photos
    /// without a face are left out (with their labels); the count left out is returned.
    pub async fn training_set_async(
        &self,
        images: &[Image],
        labels: Option<&[usize]>,
        mode: FaceMode,
    ) -> Result<(super::TrainingSet, usize)> {
        if let Some(l) = labels {
            if l.len() != images.len() {
                return Err(Error::InvalidInput(format!(
                    "{} labels for {} images",
                    l.len(),
                    images.len()
                )));
            }
        }
        let mut inputs = Vec::with_capacity(images.len());
        let mut kept = Vec::with_capacity(images.len());
        let mut skipped = 0;
        for (i, image) in images.iter().enumerate() {
            match self.prepare_async(image, mode).await {
                Ok(p) => {
                    inputs.push(p.crop.to_model_input(crate::nn::mobilefacenet::INPUT_SIZE));
                    kept.push(i);
                }
                Err(Error::NoFace { .. }) => skipped += 1,
                Err(e) => return Err(e),
            }
        }
        let labels = labels.map(|l| kept.iter().map(|&i| l[i]).collect());
        Ok((super::TrainingSet { inputs, labels }, skipped))
    }

    /// Fine-tunes the embedder on photos (see [`super::fine_tune`]) and uses the tuned
    /// model from then on.
    pub async fn fine_tune_async<F, Fut>(
        &self,
        images: &[Image],
        labels: Option<&[usize]>,
        mode: FaceMode,
        config: &super::TrainConfig,
        on_step: F,
    ) -> Result<FineTuned>
    where
        F: FnMut(super::Progress) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let (set, skipped) = self.training_set_async(images, labels, mode).await?;
        let tuned = self.embedder.fine_tune_async(set, config, on_step).await?;
        Ok(FineTuned { skipped, ..tuned })
    }
}
