//! A fine-tuned model: the shipped MobileFaceNet with the tensors of its trainable scope
//! replaced, and for the `adapter` scope a residual linear map on the embedding. The tuned
//! weights file holds only what changed, tagged with the SHA-256 of the base weights file, so it
//! is small and can never be loaded onto another base model.

use std::collections::HashMap;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::model::{Architecture, ConvWeights, MobileFaceNet, EMBEDDING_DIM, INPUT_SIZE};
use crate::weights::{f32_bytes, write_file, ModelInfo, Provenance, WeightFile};

/// The `model` metadata of a tuned weights file.
pub const TUNED_MODEL: &str = "mobilefacenet-tuned";
const ADAPTER_WEIGHT: &str = "adapter.weight";

/// What fine-tuning may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Only a residual linear map on the 192-d embedding, initialised to the identity: templates
    /// enrolled with the base model can be migrated through it without their images.
    Adapter,
    /// The last bottleneck, the 1x1 expansion, the global depthwise conv and the linear layers.
    Head,
    /// Every layer.
    All,
}

impl Scope {
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
    fn first_conv(self, arch: &Architecture) -> usize {
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

    fn from_values(values: Vec<f32>, device: &Device) -> Self {
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
    crate::verify::l2_normalize(&mut out);
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

/// What a tuned model says about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct TunedInfo {
    /// SHA-256 of the base weights file it was tuned from.
    pub base_sha256: String,
    pub scope: Scope,
    /// The adapter's `W` on the host (row-major 192x192), for migrating templates.
    pub adapter: Option<Vec<f32>>,
    /// The file's metadata (loss, steps, …).
    pub metadata: HashMap<String, String>,
}

async fn host(t: Tensor<1>) -> Result<Vec<f32>> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| Error::Inference(format!("reading weights back: {e:?}")))?;
    data.try_to_vec::<f32>()
        .map_err(|e| Error::Inference(format!("weights are not f32: {e:?}")))
}

/// Serialises the tensors `scope` covers (and the adapter) as a tuned weights file of `base`,
/// with `extra` metadata (the recipe). Async: on WebGPU tensors can only be read back so.
pub async fn export(
    network: &Network,
    scope: Scope,
    base: &ModelInfo,
    extra: &[(&str, String)],
) -> Result<Vec<u8>> {
    let arch = Architecture::mobilefacenet();
    let mut tensors = Vec::new();
    let first = scope.first_conv(&arch);
    for (spec, unit) in arch
        .convs()
        .into_iter()
        .zip(network.base.units())
        .skip(first)
    {
        let weight = unit.conv.weight.val();
        let shape = weight.dims().to_vec();
        tensors.push((
            format!("{}.weight", spec.name),
            shape.clone(),
            f32_bytes(&host(weight.flatten(0, 3)).await?),
        ));
        let bias = unit
            .conv
            .bias
            .as_ref()
            .ok_or_else(|| Error::Inference(format!("{} has no bias", spec.name)))?;
        tensors.push((
            format!("{}.bias", spec.name),
            vec![spec.out_channels],
            f32_bytes(&host(bias.val()).await?),
        ));
        if let Some(prelu) = &unit.prelu {
            tensors.push((
                format!("{}.alpha", spec.name),
                vec![spec.out_channels],
                f32_bytes(&host(prelu.alpha.val()).await?),
            ));
        }
    }
    if let Some(adapter) = &network.adapter {
        tensors.push((
            ADAPTER_WEIGHT.to_string(),
            vec![EMBEDDING_DIM, EMBEDDING_DIM],
            f32_bytes(&host(adapter.weight.val().flatten(0, 1)).await?),
        ));
    }
    let mut metadata = vec![
        ("embedding_dim", EMBEDDING_DIM.to_string()),
        ("input_size", INPUT_SIZE.to_string()),
        ("base_model", base.name.clone()),
        ("base_sha256", base.sha256.clone()),
        ("scope", scope.name().to_string()),
    ];
    metadata.extend(extra.iter().cloned());
    let provenance = Provenance {
        source: format!("fine-tuned on the device from {}", base.id()),
        source_sha256: base.sha256.clone(),
    };
    Ok(write_file(TUNED_MODEL, &tensors, &metadata, &provenance))
}

/// Loads a tuned weights file onto the shipped network `base` (described by `base_info`):
/// the scope's tensors come from the file, the rest is shared with `base`.
pub fn import(
    bytes: &[u8],
    base: &MobileFaceNet,
    base_info: &ModelInfo,
    device: &Device,
) -> Result<(Network, ModelInfo, TunedInfo)> {
    let file = WeightFile::parse_model(bytes, TUNED_MODEL)?;
    let meta = |key: &str| file.info.metadata.get(key).cloned().unwrap_or_default();
    if meta("base_sha256") != base_info.sha256 {
        return Err(Error::ModelMismatch(format!(
            "these tuned weights were made from base model {} (sha256 {}), but the loaded model \
             is {} (sha256 {}); load them onto the model they were tuned from",
            meta("base_model"),
            meta("base_sha256"),
            base_info.name,
            base_info.sha256
        )));
    }
    let scope = Scope::parse(&meta("scope"))
        .map_err(|_| Error::ModelLoad(format!("tuned weights name scope {:?}", meta("scope"))))?;
    let arch = Architecture::mobilefacenet();
    let first = scope.first_conv(&arch);
    let units = base.units();
    let position: HashMap<&str, usize> = arch
        .convs()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let tuned = MobileFaceNet::build(&arch, |spec| {
        let i = position.get(spec.name.as_str()).copied().unwrap_or(0);
        if i >= first {
            file.conv_weights(spec, device)
        } else {
            let unit = units
                .get(i)
                .ok_or_else(|| Error::ModelLoad(format!("base has no conv {}", spec.name)))?;
            Ok::<_, Error>(ConvWeights {
                weight: unit.conv.weight.val(),
                bias: unit
                    .conv
                    .bias
                    .as_ref()
                    .map(|b| b.val())
                    .ok_or_else(|| Error::ModelLoad(format!("{} has no bias", spec.name)))?,
                alpha: unit.prelu.as_ref().map(|p| p.alpha.val()),
            })
        }
    })?;
    let adapter_values = match scope {
        Scope::Adapter => Some(file.read(ADAPTER_WEIGHT, &[EMBEDDING_DIM, EMBEDDING_DIM])?),
        _ => None,
    };
    let network = Network {
        base: tuned,
        adapter: adapter_values
            .clone()
            .map(|v| Adapter::from_values(v, device)),
    };
    let info = TunedInfo {
        base_sha256: base_info.sha256.clone(),
        scope,
        adapter: adapter_values,
        metadata: file.info.metadata.clone(),
    };
    Ok((network, file.info, info))
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
        assert_eq!(same.to_vec::<f32>().unwrap(), v);
        let w = crate::random::Rng::new(2).centred(EMBEDDING_DIM * EMBEDDING_DIM);
        let mut on_device = Adapter::from_values(w.clone(), &device)
            .forward(x())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        crate::verify::l2_normalize(&mut on_device);
        let mut unit = v.clone();
        crate::verify::l2_normalize(&mut unit);
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
