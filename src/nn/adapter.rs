//! The tuned network: the shipped MobileFaceNet with the tensors of a trainable [`Scope`]
//! replaced, and for the `adapter` scope a residual linear map on the embedding. How it is
//! stored is [`crate::io::tuned`]; how it is trained is [`crate::train`].

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::nn::mobilefacenet::{Architecture, MobileFaceNet, EMBEDDING_DIM};

/// What fine-tuning may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum Scope {
    /// Only a residual linear map on the 192-d embedding, initialised to the identity: templates
    /// enrolled with the base model can be migrated through it without their images.
    Adapter,
    /// The last bottleneck, the 1x1 expansion, the global depthwise conv and the linear layers.
    Head,
    /// Every layer.
    All,
}

impl TryFrom<String> for Scope {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Scope::parse(&s)
    }
}

impl Scope {
    /// `adapter`, `head` or `all`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "adapter" => Ok(Scope::Adapter),
            "head" => Ok(Scope::Head),
            "all" => Ok(Scope::All),
            other => Err(Error::InvalidInput(format!(
                "trainable {other:?}: use 'adapter', 'head' or 'all'"
            ))),
        }
    }

    /// The scope's name as [`Scope::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Adapter => "adapter",
            Scope::Head => "head",
            Scope::All => "all",
        }
    }

    /// Where [`MobileFaceNet::split`] cuts the base for this scope: the frozen part runs first.
    pub fn split(self, blocks: usize) -> Option<usize> {
        match self {
            Scope::Adapter => Some(blocks),
            Scope::Head => Some(blocks.saturating_sub(1)),
            Scope::All => None,
        }
    }

    /// Index in [`Architecture::convs`] of the first conv this scope trains (`len` for none).
    pub(crate) fn first_conv(self, arch: &Architecture) -> usize {
        match self {
            Scope::Adapter => arch.convs().len(),
            Scope::Head => arch.stem.len() + 3 * (arch.blocks.len() - 1),
            Scope::All => 0,
        }
    }
}

/// `e ↦ e + W·e`, bias-free so that it commutes with scaling: adapting a unit-length template
/// and renormalising gives the same direction as adapting the raw embedding.
#[derive(Module, Debug)]
pub struct Adapter {
    pub weight: Param<Tensor<2>>,
}

impl Adapter {
    /// The identity map (`W = 0`).
    pub fn identity(device: &Device) -> Self {
        Self::from_values(vec![0.0; EMBEDDING_DIM * EMBEDDING_DIM], device)
    }

    pub(crate) fn from_values(values: Vec<f32>, device: &Device) -> Self {
        Self {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(values, [EMBEDDING_DIM, EMBEDDING_DIM]),
                device,
            )),
        }
    }

    /// A broadcast product and a sum rather than `matmul` (whose CPU kernels would add megabytes
    /// to the wasm module; docs/BENCHMARKS.md).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [n, d] = x.dims();
        let mapped = (x.clone().unsqueeze_dim::<3>(1) * self.weight.val().unsqueeze_dim::<3>(0))
            .sum_dim(2)
            .reshape([n, d]);
        x + mapped
    }
}

/// `(I + W)·v`, renormalised, on the host: migrates a stored template through an adapter.
pub fn adapt_template(weight: &[f32], v: &[f32]) -> Vec<f32> {
    let d = v.len();
    let mut out: Vec<f32> = (0..d)
        .map(|i| v[i] + (0..d).map(|k| weight[i * d + k] * v[k]).sum::<f32>())
        .collect();
    crate::vector::l2_normalize(&mut out);
    out
}

/// The network the embedder runs: the base (possibly with tuned layers) and an optional adapter.
#[derive(Module, Debug)]
pub struct Network {
    pub base: MobileFaceNet,
    pub adapter: Option<Adapter>,
}

impl Network {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let e = self.base.forward(x);
        match &self.adapter {
            Some(adapter) => adapter.forward(e),
            None => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_adapter_and_host_migration_agree() {
        let device = crate::Backend::Flex.cpu_device().unwrap();
        let v = crate::random::Rng::new(1).centred(EMBEDDING_DIM);
        let x = || Tensor::<2>::from_data(TensorData::new(v.clone(), [1, EMBEDDING_DIM]), &device);
        let same = Adapter::identity(&device).forward(x()).into_data();
        assert_eq!(same.try_to_vec::<f32>().unwrap(), v);
        let w = crate::random::Rng::new(2).centred(EMBEDDING_DIM * EMBEDDING_DIM);
        let mut on_device = Adapter::from_values(w.clone(), &device)
            .forward(x())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        crate::vector::l2_normalize(&mut on_device);
        let mut unit = v.clone();
        crate::vector::l2_normalize(&mut unit);
        let migrated = adapt_template(&w, &unit);
        for (a, b) in on_device.iter().zip(&migrated) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn scopes_cut_where_documented() {
        let arch = Architecture::mobilefacenet();
        let convs = arch.convs();
        assert_eq!(Scope::All.first_conv(&arch), 0);
        assert_eq!(
            convs[Scope::Head.first_conv(&arch)].name,
            "blocks.14.expand"
        );
        assert_eq!(Scope::Adapter.first_conv(&arch), convs.len());
    }
}
