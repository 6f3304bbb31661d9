//! Running a network: its raw outputs on images or on model inputs (`3 × 112 × 112` values each),
//! on the packed CPU kernels or burn's ops, checked for NaN and infinity.

use burn::tensor::{Tensor, TensorData};

use super::{Embedder, Model, MAX_BATCH};
use crate::backend::read_back;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::nn::mobilefacenet::{EMBEDDING_DIM, INPUT_SIZE};

impl Embedder {
    /// The model's raw (not normalised) outputs, one `Vec` of 192 per image.
    pub async fn embed_raw(&self, images: &[Image]) -> Result<Vec<Vec<f32>>> {
        self.raw_with(&self.current_model(), images).await
    }

    /// Raw outputs of a network, on the packed kernels or burn's ops.
    pub(super) async fn raw_with(&self, model: &Model, images: &[Image]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(MAX_BATCH) {
            let plane = 3 * INPUT_SIZE * INPUT_SIZE;
            let mut input = Vec::with_capacity(chunk.len() * plane);
            for image in chunk {
                input.extend(image.to_model_input(INPUT_SIZE));
            }
            out.extend(self.raw_chunk(model, input, chunk.len()).await?);
        }
        Ok(out)
    }

    /// Raw outputs of a network on `n` model inputs packed one after another (at most
    /// [`MAX_BATCH`]); NaN or infinity is an error.
    async fn raw_chunk(&self, model: &Model, input: Vec<f32>, n: usize) -> Result<Vec<Vec<f32>>> {
        let out: Vec<Vec<f32>> = match model {
            Model::Packed(packed) => packed
                .forward(&input, n)
                .chunks_exact(EMBEDDING_DIM)
                .map(<[f32]>::to_vec)
                .collect(),
            Model::Burn(network) => {
                let shape = [n, 3, INPUT_SIZE, INPUT_SIZE];
                let x = Tensor::<4>::from_data(TensorData::new(input, shape), &self.device);
                let data = read_back(network.forward(x), "reading the embeddings back").await?;
                let values = data
                    .as_slice::<f32>()
                    .map_err(|e| Error::Inference(format!("embeddings are not f32: {e:?}")))?;
                values
                    .chunks_exact(EMBEDDING_DIM)
                    .map(<[f32]>::to_vec)
                    .collect()
            }
        };
        if out.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::Inference(
                "the model produced NaN or infinity; the backend may have lost its device".into(),
            ));
        }
        Ok(out)
    }

    /// Unit-length embeddings by `network` (not the one in use: a network just trained) of model
    /// inputs (`3 × 112 × 112` values each), on the packed kernels where the embedder uses them
    /// and with the test-time augmentation in use (flip: each input's mirror image added), as the
    /// embedder would embed the same crops once `network` is loaded.
    #[cfg(feature = "train")]
    pub(crate) async fn embed_inputs_with(
        &self,
        network: &crate::nn::adapter::Network,
        inputs: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>> {
        let model = match self.kernels.pick(Self::pack(&self.device, network).await?) {
            Some(p) => Model::Packed(p),
            None => Model::Burn(network.clone()),
        };
        let flip = self.tta() == super::Tta::Flip;
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(MAX_BATCH) {
            let mut raw = self.raw_chunk(&model, chunk.concat(), chunk.len()).await?;
            if flip {
                let mirrored: Vec<f32> = chunk.iter().flat_map(|x| mirror_input(x)).collect();
                let other = self.raw_chunk(&model, mirrored, chunk.len()).await?;
                raw.iter_mut()
                    .zip(other)
                    .for_each(|(a, b)| a.iter_mut().zip(b).for_each(|(x, y)| *x += y));
            }
            raw.iter_mut().for_each(|e| crate::vector::l2_normalize(e));
            out.extend(raw);
        }
        Ok(out)
    }
}

/// A model input (`3 × 112 × 112`, planar) mirrored left to right, as [`Image::mirror`] mirrors
/// the crop it was made from.
#[cfg(feature = "train")]
fn mirror_input(input: &[f32]) -> Vec<f32> {
    input
        .chunks_exact(INPUT_SIZE)
        .flat_map(|row| row.iter().rev().copied())
        .collect()
}
