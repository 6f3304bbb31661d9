//! Converts a MiniFASNet PyTorch checkpoint (Silent-Face-Anti-Spoofing's `.pth`, a legacy
//! pickle read by the `pytorch-reader` crate) into webverify's liveness weights: batch norm
//! folded into each conv, the classifier (linear → batch norm → linear) folded into one 1x1
//! conv, names mapped to [`crate::nn::minifasnet`]'s.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::io::weights::{f32_bytes, sha256_hex, write_file, Provenance};
use crate::liveness::CROP_SCALE_KEY;
use crate::nn::minifasnet::{Architecture, BLOCK_STRIDES, CLASSES, INPUT_SIZE, MODEL_NAME};

/// Batch norm's epsilon in the upstream modules (PyTorch's default).
const BN_EPS: f32 = 1e-5;

/// The checkpoint's tensors by name, `module.` prefixes (from `DataParallel`) removed.
struct Checkpoint(HashMap<String, (Vec<usize>, Vec<f32>)>);

impl Checkpoint {
    fn read(path: &std::path::Path) -> Result<Self> {
        let reader = pytorch_reader::PytorchReader::new(path)
            .map_err(|e| Error::ModelLoad(format!("{}: {e}", path.display())))?;
        let mut tensors = HashMap::new();
        for (name, t) in reader.tensors() {
            if t.dtype() != pytorch_reader::DType::F32 {
                continue; // num_batches_tracked counters
            }
            let bytes = t
                .read()
                .map_err(|e| Error::ModelLoad(format!("{name}: {e}")))?;
            let values = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let name = name.strip_prefix("module.").unwrap_or(name).to_string();
            tensors.insert(name, (t.shape().to_vec(), values));
        }
        Ok(Self(tensors))
    }

    fn get(&self, name: &str) -> Result<&(Vec<usize>, Vec<f32>)> {
        self.0
            .get(name)
            .ok_or_else(|| Error::ModelLoad(format!("the checkpoint has no {name}")))
    }

    fn values(&self, name: &str) -> Result<&[f32]> {
        Ok(&self.get(name)?.1)
    }

    /// `gamma / sqrt(var + eps)` and `beta − mean · that` of batch norm `bn`.
    fn batch_norm(&self, bn: &str) -> Result<(Vec<f32>, Vec<f32>)> {
        let gamma = self.values(&format!("{bn}.weight"))?;
        let beta = self.values(&format!("{bn}.bias"))?;
        let mean = self.values(&format!("{bn}.running_mean"))?;
        let var = self.values(&format!("{bn}.running_var"))?;
        let scale: Vec<f32> = gamma
            .iter()
            .zip(var)
            .map(|(g, v)| g / (v + BN_EPS).sqrt())
            .collect();
        let shift = beta
            .iter()
            .zip(mean.iter().zip(&scale))
            .map(|(b, (m, s))| b - m * s)
            .collect();
        Ok((scale, shift))
    }

    /// A bias-free conv followed by batch norm `bn`, folded: (weight, bias).
    fn folded(&self, conv: &str, bn: &str) -> Result<(Vec<usize>, Vec<f32>, Vec<f32>)> {
        let (shape, weight) = self.get(&format!("{conv}.weight"))?;
        let (scale, shift) = self.batch_norm(bn)?;
        let per_out = weight.len() / scale.len().max(1);
        if shape.first() != Some(&scale.len()) || per_out * scale.len() != weight.len() {
            return Err(Error::ModelLoad(format!(
                "{conv}: weight {shape:?} and batch norm of {} channels",
                scale.len()
            )));
        }
        let weight = weight
            .chunks_exact(per_out)
            .zip(&scale)
            .flat_map(|(row, s)| row.iter().map(move |w| w * s))
            .collect();
        Ok((shape.clone(), weight, shift))
    }
}

/// Upstream's module path of our conv `name` (block indices as in [`BLOCK_STRIDES`]).
fn upstream_path(name: &str) -> Option<String> {
    let (stage_of, rest) = match name.split_once('.') {
        Some(("stem", "conv")) => return Some("conv1".into()),
        Some(("stem", "depthwise")) => return Some("conv2_dw".into()),
        Some(("head", "expand")) => return Some("conv_6_sep".into()),
        Some(("head", "gdc")) => return Some("conv_6_dw".into()),
        Some(("blocks", rest)) => rest.split_once('.').map(|(i, r)| (i.parse::<usize>(), r))?,
        _ => return None,
    };
    let i = stage_of.ok()?;
    // Stages: conv_23 | conv_3 ×4 | conv_34 | conv_4 ×6 | conv_45 | conv_5 ×2.
    let block = match i {
        0 => "conv_23".to_string(),
        1..=4 => format!("conv_3.model.{}", i - 1),
        5 => "conv_34".to_string(),
        6..=11 => format!("conv_4.model.{}", i - 6),
        12 => "conv_45".to_string(),
        13..=14 => format!("conv_5.model.{}", i - 13),
        _ => return None,
    };
    let part = match rest {
        "expand" => "conv",
        "depthwise" => "conv_dw",
        "project" => "project",
        "gate.reduce" => "se_module.fc1",
        "gate.expand" => "se_module.fc2",
        _ => return None,
    };
    Some(format!("{block}.{part}"))
}

/// Batch norm of an upstream conv path: `x.conv` → `x.bn`, `se_module.fc1` → `se_module.bn1`.
fn upstream_bn(path: &str) -> String {
    if let Some(p) = path.strip_suffix("se_module.fc1") {
        format!("{p}se_module.bn1")
    } else if let Some(p) = path.strip_suffix("se_module.fc2") {
        format!("{p}se_module.bn2")
    } else {
        format!("{path}.bn")
    }
}

/// The crop scale in an upstream file name (`2.7_80x80_MiniFASNetV2.pth`,
/// `4_0_0_80x80_MiniFASNetV1SE.pth`: the part before `_80x80`, underscores as decimal points).
pub fn crop_scale_from_name(name: &str) -> Option<f32> {
    let prefix = name.split("_80x80").next().filter(|p| *p != name)?;
    let mut parts = prefix.split(['_', '.']);
    let whole = parts.next()?;
    let fraction: String = parts.collect();
    format!(
        "{whole}.{}",
        if fraction.is_empty() { "0" } else { &fraction }
    )
    .parse()
    .ok()
}

/// Converts the checkpoint at `path` into a webverify weights file.
pub fn minifasnet_from_pytorch(path: &std::path::Path, crop_scale: f32) -> Result<Vec<u8>> {
    let ckpt = Checkpoint::read(path)?;
    let shape_of = |name: &str| -> Option<Vec<usize>> {
        let conv = name.strip_suffix(".weight")?;
        if conv == "head.logits" {
            return Some(vec![CLASSES, 512, 1, 1]);
        }
        let path = upstream_path(conv)?;
        let tensor = if path.contains("se_module") {
            format!("{path}.weight")
        } else {
            format!("{path}.conv.weight")
        };
        ckpt.0.get(&tensor).map(|(s, _)| s.clone())
    };
    let arch = Architecture::from_shapes(shape_of)?;
    let mut tensors = Vec::new();
    let mut push = |name: String, shape: Vec<usize>, values: &[f32]| {
        tensors.push((name, shape, f32_bytes(values)));
    };
    for spec in arch.convs() {
        if spec.name == "head.logits" {
            continue;
        }
        let path = upstream_path(&spec.name)
            .ok_or_else(|| Error::ModelLoad(format!("no upstream layer for {}", spec.name)))?;
        let (weight, bias) = if path.contains("se_module") {
            let (_, w, b) = ckpt.folded(&path, &upstream_bn(&path))?;
            (w, b)
        } else {
            let (_, w, b) = ckpt.folded(&format!("{path}.conv"), &upstream_bn(&path))?;
            (w, b)
        };
        if weight.len() != spec.weight_shape().iter().product::<usize>() {
            return Err(Error::ModelLoad(format!(
                "{} ({path}): {} weights for shape {:?}",
                spec.name,
                weight.len(),
                spec.weight_shape()
            )));
        }
        push(
            format!("{}.weight", spec.name),
            spec.weight_shape().to_vec(),
            &weight,
        );
        push(
            format!("{}.bias", spec.name),
            vec![spec.out_channels],
            &bias,
        );
        if spec.prelu {
            let alpha = ckpt.values(&format!("{path}.prelu.weight"))?;
            push(
                format!("{}.alpha", spec.name),
                vec![spec.out_channels],
                alpha,
            );
        }
    }
    // logits = prob · (s ⊙ (linear · x) + t): one 512 → 3 map with a bias.
    let linear = ckpt.values("linear.weight")?; // [128, 512]
    let prob = ckpt.values("prob.weight")?; // [3, 128]
    let (scale, shift) = ckpt.batch_norm("bn")?;
    let hidden = scale.len();
    if linear.len() != hidden * 512 || prob.len() != CLASSES * hidden {
        return Err(Error::ModelLoad(format!(
            "classifier shapes: linear {} values, prob {} values, batch norm {hidden}",
            linear.len(),
            prob.len()
        )));
    }
    let mut weight = vec![0.0f32; CLASSES * 512];
    let mut bias = vec![0.0f32; CLASSES];
    for c in 0..CLASSES {
        for k in 0..hidden {
            let p = prob[c * hidden + k];
            bias[c] += p * shift[k];
            for j in 0..512 {
                weight[c * 512 + j] += p * scale[k] * linear[k * 512 + j];
            }
        }
    }
    push(
        "head.logits.weight".into(),
        vec![CLASSES, 512, 1, 1],
        &weight,
    );
    push("head.logits.bias".into(), vec![CLASSES], &bias);
    debug_assert_eq!(arch.blocks.len(), BLOCK_STRIDES.len());
    let bytes =
        std::fs::read(path).map_err(|e| Error::ModelLoad(format!("{}: {e}", path.display())))?;
    Ok(write_file(
        MODEL_NAME,
        &tensors,
        &[
            ("input_size", INPUT_SIZE.to_string()),
            (CROP_SCALE_KEY, crop_scale.to_string()),
        ],
        &Provenance {
            source: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source_sha256: sha256_hex(&bytes),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_upstream_modules() {
        assert_eq!(upstream_path("stem.conv").unwrap(), "conv1");
        assert_eq!(
            upstream_path("blocks.0.depthwise").unwrap(),
            "conv_23.conv_dw"
        );
        assert_eq!(
            upstream_path("blocks.4.gate.reduce").unwrap(),
            "conv_3.model.3.se_module.fc1"
        );
        assert_eq!(
            upstream_path("blocks.11.project").unwrap(),
            "conv_4.model.5.project"
        );
        assert_eq!(
            upstream_path("blocks.14.expand").unwrap(),
            "conv_5.model.1.conv"
        );
        assert_eq!(upstream_path("blocks.15.expand"), None);
        assert_eq!(
            upstream_bn("conv_3.model.3.se_module.fc2"),
            "conv_3.model.3.se_module.bn2"
        );
        assert_eq!(upstream_bn("conv1"), "conv1.bn");
    }

    #[test]
    fn crop_scales_are_read_from_upstream_file_names() {
        assert_eq!(
            crop_scale_from_name("2.7_80x80_MiniFASNetV2.pth"),
            Some(2.7)
        );
        assert_eq!(
            crop_scale_from_name("4_0_0_80x80_MiniFASNetV1SE.pth"),
            Some(4.0)
        );
        assert_eq!(crop_scale_from_name("model.pth"), None);
    }
}
