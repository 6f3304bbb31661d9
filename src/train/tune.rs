//! Fine-tuning a loaded model: the embedder on a training set, the pipeline on photos. Here
//! rather than beside the embedder so that the runtime layers below never depend on training.

use crate::error::{Error, Result};
use crate::face::pipeline::Pipeline;
use crate::face::prepared::FaceMode;
use crate::image::Image;
use crate::io::weights::ModelInfo;
use crate::score::embedder::Embedder;

impl Embedder {
    /// Fine-tunes the shipped network on `set` (see [`super::fine_tune`]) and uses the
    /// result from now on, exactly as its exported file loads. Returns the losses, the time and
    /// the tuned model's info.
    pub async fn fine_tune_async<F, Fut>(
        &self,
        set: &super::TrainingSet,
        config: &super::TrainConfig,
        on_step: F,
    ) -> Result<(Vec<f32>, f64, ModelInfo)>
    where
        F: FnMut(super::Progress) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let trained = super::fine_tune(&self.shipped_network(), set, config, on_step).await?;
        let mut extra = config.metadata();
        extra.push(("images", set.inputs.len().to_string()));
        let bytes =
            crate::io::tuned::export(&trained.network, config.scope, self.shipped_info(), &extra)
                .await?;
        let info = self.load_tuned_async(&bytes).await?;
        Ok((trained.losses, trained.ms, info))
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
        let (losses, ms, info) = self.embedder.fine_tune_async(&set, config, on_step).await?;
        Ok(FineTuned {
            losses,
            ms,
            skipped,
            info,
        })
    }
}
