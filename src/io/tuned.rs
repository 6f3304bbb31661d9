//! A fine-tuned model: the shipped MobileFaceNet with the tensors of its trainable scope
//! replaced, and for the `adapter` scope a residual linear map on the embedding. The tuned
//! weights file holds only what changed, tagged with the SHA-256 of the base weights file, so it
//! is small and can never be loaded onto another base model.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor};

use crate::backend::read_back;
use crate::error::{Error, Result};
use crate::io::weights::{f32_bytes, write_file, ModelInfo, Provenance, WeightFile};
use crate::nn::adapter::{Adapter, Network, Scope};
use crate::nn::conv::ConvWeights;
use crate::nn::mobilefacenet::{Architecture, MobileFaceNet, EMBEDDING_DIM, INPUT_SIZE};

/// The `model` metadata of a tuned weights file.
pub const TUNED_MODEL: &str = "mobilefacenet-tuned";
const ADAPTER_WEIGHT: &str = "adapter.weight";

/// What a tuned model says about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct TunedInfo {
    /// SHA-256 of the base weights file it was tuned from.
    pub base_sha256: String,
    /// What the tuned weights cover.
    pub scope: Scope,
    /// The adapter's `W` on the host (row-major 192x192), for migrating templates.
    pub adapter: Option<Vec<f32>>,
    /// The file's metadata (loss, steps, …).
    pub metadata: HashMap<String, String>,
}

async fn host(t: Tensor<1>) -> Result<Vec<f32>> {
    let data = read_back(t, "reading weights back").await?;
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
    // As strictly as base weights: a file without these (parsed as 0) once loaded and then
    // made `calibrate` and gallery enrollment divide by a zero dimension.
    let (dim, size) = (file.info.embedding_dim, file.info.input_size);
    if (dim, size) != (EMBEDDING_DIM, INPUT_SIZE)
        || (dim, size) != (base_info.embedding_dim, base_info.input_size)
    {
        return Err(Error::ModelLoad(format!(
            "tuned weights declare embedding_dim {dim} and input_size {size} (0: absent); the base \
             model has {} and {}",
            base_info.embedding_dim, base_info.input_size
        )));
    }
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
