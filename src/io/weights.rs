//! The weights file: safetensors (readable by Python tools too) with webverify's metadata.
//!
//! Tensors are little-endian, named by module path (`blocks.3.expand.weight`, `.bias`,
//! `.alpha` for the PReLU slopes) in burn's layout (conv weights `[out, in / groups, k, k]`),
//! stored as f32, f16 or int8 ([`storage`](crate::io::storage); converters write f32,
//! `webverify store` makes the smaller ones).
//! The `__metadata__` header says what the file is:
//!
//! | key | value |
//! |---|---|
//! | `format` | `webverify-weights` |
//! | `format_version` | 1 for f32 tensors, 2 for f16/int8 ([`FORMAT_VERSION`] is the newest read) |
//! | `storage` | `f32` (when absent), `f16` or `int8` |
//! | `model` | [`MODEL_NAME`] |
//! | `embedding_dim`, `input_size` | `192`, `112` |
//! | `source`, `source_sha256` | where the weights were converted from |

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::io::storage::{self, Storage, Stored, SCALE_SUFFIX};
use crate::nn::conv::{ConvSpec, ConvWeights};
use crate::nn::mobilefacenet::{Architecture, MobileFaceNet, EMBEDDING_DIM, INPUT_SIZE};

/// The `format` metadata of every webverify weights file.
pub const FORMAT: &str = "webverify-weights";
/// The newest format version this build reads (2: f16 and int8 storage). Files are written with
/// their storage's version ([`Storage::format_version`]), so f32 files keep version 1 and their
/// checksums.
pub const FORMAT_VERSION: u32 = 2;
/// The `model` metadata of the embedder's weights.
pub const MODEL_NAME: &str = "mobilefacenet";

/// Tensors of one conv as host data, ready to be written or uploaded.
#[derive(Clone, Debug, PartialEq)]
pub struct HostConv {
    /// Conv weights `[out, in / groups, k, k]`, row-major.
    pub weight: Vec<f32>,
    /// One bias per output channel.
    pub bias: Vec<f32>,
    /// PReLU slopes, one per output channel, for convs followed by PReLU.
    pub alpha: Option<Vec<f32>>,
}

/// Where a weights file came from, kept in its metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The file the weights were converted from.
    pub source: String,
    /// SHA-256 of that file, hex.
    pub source_sha256: String,
}

/// What a loaded weights file says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    /// The `model` metadata.
    pub name: String,
    /// The file's format version.
    pub format_version: u32,
    /// SHA-256 of the whole weights file, hex: the model's identity for templates.
    pub sha256: String,
    /// Output length (0 where the model has no embedding).
    pub embedding_dim: usize,
    /// Side of the square input in pixels (0 where not declared).
    pub input_size: usize,
    /// Every metadata entry of the file.
    pub metadata: HashMap<String, String>,
}

impl ModelInfo {
    /// A short identifier: model name and the first 12 hex digits of the checksum.
    pub fn id(&self) -> String {
        format!("{}-{}", self.name, &self.sha256[..12])
    }
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serialises converted weights (one entry per conv of `arch`, in `arch.convs()` order).
pub fn write(arch: &Architecture, convs: &[HostConv], provenance: &Provenance) -> Result<Vec<u8>> {
    let specs = arch.convs();
    if specs.len() != convs.len() {
        return Err(Error::ModelLoad(format!(
            "{} convs given for an architecture of {}",
            convs.len(),
            specs.len()
        )));
    }
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (spec, conv) in specs.iter().zip(convs) {
        buffers.push((
            format!("{}.weight", spec.name),
            spec.weight_shape().to_vec(),
            le_bytes(&conv.weight),
        ));
        buffers.push((
            format!("{}.bias", spec.name),
            vec![spec.out_channels],
            le_bytes(&conv.bias),
        ));
        if let Some(alpha) = &conv.alpha {
            buffers.push((
                format!("{}.alpha", spec.name),
                vec![spec.out_channels],
                le_bytes(alpha),
            ));
        }
    }
    let shape = [
        ("embedding_dim", EMBEDDING_DIM.to_string()),
        ("input_size", INPUT_SIZE.to_string()),
    ];
    Ok(write_file(MODEL_NAME, &buffers, &shape, provenance))
}

/// A webverify weights file for `model` holding `tensors` (name, shape, little-endian f32
/// bytes), with `extra` metadata besides the standard keys.
pub fn write_file(
    model: &str,
    tensors: &[(String, Vec<usize>, Vec<u8>)],
    extra: &[(&str, String)],
    provenance: &Provenance,
) -> Vec<u8> {
    let mut metadata = vec![
        ("format", FORMAT.to_string()),
        ("format_version", Storage::F32.format_version().to_string()),
        ("model", model.to_string()),
        ("source", provenance.source.clone()),
        ("source_sha256", provenance.source_sha256.clone()),
    ];
    metadata.extend(extra.iter().cloned());
    let stored: Vec<Stored> = tensors
        .iter()
        .map(|(name, shape, bytes)| Stored {
            name: name.clone(),
            dtype: Dtype::F32,
            shape: shape.clone(),
            bytes: bytes.clone(),
        })
        .collect();
    serialize_safetensors(&stored, &metadata)
}

/// The same weights file with its tensors stored as `target` (metadata kept; `storage` and
/// `format_version` set). The values come from the file as read, so f32 → int8 → f16 rounds twice:
/// convert from the f32 file.
pub fn restore(bytes: &[u8], target: Storage) -> Result<Vec<u8>> {
    let tensors = WeightFile::parse_header(bytes)?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::ModelLoad(format!("safetensors header: {e}")))?;
    let mut metadata: Vec<(String, String)> = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "storage" && k != "format_version")
        .collect();
    if !metadata.iter().any(|(k, v)| k == "format" && v == FORMAT) {
        return Err(Error::ModelLoad("not a webverify weights file".into()));
    }
    metadata.push(("format_version".into(), target.format_version().to_string()));
    if target != Storage::F32 {
        metadata.push(("storage".into(), target.name().into()));
    }
    let mut stored = Vec::new();
    for (name, view) in tensors.iter() {
        // An int8 tensor's scales are read with it and rewritten by `encode`.
        let is_scales = name
            .strip_suffix(SCALE_SUFFIX)
            .is_some_and(|base| tensors.tensor(base).is_ok_and(|t| t.dtype() == Dtype::I8));
        if is_scales {
            continue;
        }
        let values = storage::decode(&tensors, name, view.shape())?;
        stored.extend(storage::encode(name, view.shape(), &values, target));
    }
    let metadata: Vec<(&str, String)> = metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    Ok(serialize_safetensors(&stored, &metadata))
}

/// How the file's tensors are stored (its `storage` metadata).
pub fn storage_of(info: &ModelInfo) -> Result<Storage> {
    info.metadata
        .get("storage")
        .map_or(Ok(Storage::F32), |name| {
            Storage::parse(name).map_err(|_| {
                Error::ModelVersion(format!(
                    "weights stored as {name:?}, which this SDK does not read; upgrade webverify"
                ))
            })
        })
}

/// The same weights file with metadata `key` set to `value` (or removed with `None`); the
/// tensors are untouched, so a calibration can be added without reconverting.
pub fn set_metadata(bytes: &[u8], key: &str, value: Option<&str>) -> Result<Vec<u8>> {
    WeightFile::parse_header(bytes)?;
    let n = u64::from_le_bytes(
        bytes[..8]
            .try_into()
            .map_err(|_| Error::ModelLoad("short".into()))?,
    ) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n])
            .map_err(|e| Error::ModelLoad(format!("safetensors header: {e}")))?;
    let meta = header
        .entry("__metadata__")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if let Some(map) = meta.as_object_mut() {
        match value {
            Some(v) => map.insert(key.to_string(), v.into()),
            None => map.remove(key),
        };
    }
    let mut json = serde_json::Value::Object(header).to_string().into_bytes();
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    out.extend(&bytes[8 + n..]);
    Ok(out)
}

/// Little-endian bytes of `values`, as tensors are stored.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    le_bytes(values)
}

/// Writes a safetensors file with keys in sorted order, so the same weights always give the
/// same bytes and checksum (the `safetensors` crate keeps metadata in a `HashMap`, whose
/// order changes from run to run). Layout: u64 LE header length, JSON header padded with
/// spaces to a multiple of 8, then the tensors' bytes in header order.
fn serialize_safetensors(tensors: &[Stored], metadata: &[(&str, String)]) -> Vec<u8> {
    let mut sorted: Vec<&Stored> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    // serde_json's Map is a BTreeMap: keys come out sorted.
    let mut header = serde_json::Map::new();
    header.insert(
        "__metadata__".into(),
        metadata
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(v.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    );
    let mut offset = 0;
    for t in &sorted {
        header.insert(
            t.name.clone(),
            serde_json::json!({ "dtype": t.dtype.to_string(), "shape": t.shape, "data_offsets": [offset, offset + t.bytes.len()] }),
        );
        offset += t.bytes.len();
    }
    let mut json = serde_json::Value::Object(header).to_string().into_bytes();
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend((json.len() as u64).to_le_bytes());
    out.extend(json);
    for t in sorted {
        out.extend(&t.bytes);
    }
    out
}

/// A parsed, validated weights file; nothing is on a device yet.
pub struct WeightFile<'a> {
    tensors: SafeTensors<'a>,
    /// What the file says about itself.
    pub info: ModelInfo,
}

impl<'a> WeightFile<'a> {
    /// Checks the header and metadata. Every failure is an [`Error`], never a panic: the bytes
    /// may come from a truncated download or from the wrong file.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        Self::parse_digested(bytes, None)
    }

    /// [`Self::parse`] with the file's SHA-256 given (see [`Self::parse_model_digested`]).
    pub fn parse_digested(bytes: &'a [u8], sha256: Option<&str>) -> Result<Self> {
        let file = Self::parse_model_digested(bytes, MODEL_NAME, sha256)?;
        let number = |key: &str| {
            file.info
                .metadata
                .get(key)
                .and_then(|v| v.parse::<usize>().ok())
        };
        let (embedding_dim, input_size) = (number("embedding_dim"), number("input_size"));
        if embedding_dim != Some(EMBEDDING_DIM) || input_size != Some(INPUT_SIZE) {
            return Err(Error::ModelVersion(format!(
                "weights declare embedding_dim {embedding_dim:?} and input_size {input_size:?}; \
                 expected {EMBEDDING_DIM} and {INPUT_SIZE}"
            )));
        }
        Ok(file)
    }

    fn parse_header(bytes: &'a [u8]) -> Result<SafeTensors<'a>> {
        SafeTensors::deserialize(bytes).map_err(|e| {
            Error::ModelLoad(format!(
                "not a webverify weights file (safetensors: {e}); {} bytes read — re-download the \
                 weights or check the model URL",
                bytes.len()
            ))
        })
    }

    /// Checks the header and that the file holds weights of `model`.
    pub fn parse_model(bytes: &'a [u8], model: &str) -> Result<Self> {
        Self::parse_model_digested(bytes, model, None)
    }

    /// [`Self::parse_model`] with the file's SHA-256 (lower-case hex) computed by the caller, or
    /// computed here when `None`. Why: the browser package hashes the files with WebCrypto
    /// (native SHA-256, a few ms), where this crate's software SHA-256 in wasm took about 50 ms
    /// of every start for the 1.8 MB the CPU path loads (docs/BENCHMARKS.md, "Loading"). The
    /// digest names the model (its id, the galleries' and tuned files' references), so the
    /// caller must have hashed exactly these bytes; a malformed digest is INVALID_INPUT.
    pub fn parse_model_digested(
        bytes: &'a [u8],
        model: &str,
        sha256: Option<&str>,
    ) -> Result<Self> {
        if let Some(d) = sha256 {
            if d.len() != 64 || !d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(Error::InvalidInput(format!(
                    "a SHA-256 is 64 lower-case hex digits, not {d:?}"
                )));
            }
        }
        let tensors = Self::parse_header(bytes)?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| Error::ModelLoad(format!("safetensors header: {e}")))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let get = |key: &str| metadata.get(key).map(String::as_str);
        if get("format") != Some(FORMAT) {
            return Err(Error::ModelLoad(format!(
                "the file is safetensors but not a webverify weights file (metadata format = {:?})",
                get("format")
            )));
        }
        let format_version: u32 = get("format_version")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::ModelLoad("metadata format_version is missing".into()))?;
        if format_version > FORMAT_VERSION {
            return Err(Error::ModelVersion(format!(
                "weights format version {format_version} is newer than this SDK supports \
                 ({FORMAT_VERSION}); upgrade webverify"
            )));
        }
        let name = get("model").unwrap_or_default().to_string();
        if name != model {
            return Err(Error::ModelVersion(format!(
                "weights are for model {name:?}, expected {model:?}"
            )));
        }
        let info = ModelInfo {
            name,
            format_version,
            sha256: sha256.map_or_else(|| sha256_hex(bytes), str::to_string),
            embedding_dim: get("embedding_dim")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            input_size: get("input_size").and_then(|v| v.parse().ok()).unwrap_or(0),
            metadata,
        };
        storage_of(&info)?;
        Ok(Self { tensors, info })
    }

    /// The values of tensor `name`, which must have `shape` and be finite, in f32 whatever the
    /// file's storage.
    pub fn read(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        storage::decode(&self.tensors, name, shape)
    }

    /// The shape tensor `name` is stored with (`None` when the file has no such tensor).
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.tensor(name).ok().map(|t| t.shape().to_vec())
    }

    /// Reads one conv's tensors as host data.
    pub fn conv(&self, spec: &ConvSpec) -> Result<HostConv> {
        let channels = [spec.out_channels];
        Ok(HostConv {
            weight: self.read(&format!("{}.weight", spec.name), &spec.weight_shape())?,
            bias: self.read(&format!("{}.bias", spec.name), &channels)?,
            alpha: if spec.prelu {
                Some(self.read(&format!("{}.alpha", spec.name), &channels)?)
            } else {
                None
            },
        })
    }

    /// One conv's tensors uploaded to `device`.
    pub fn conv_weights(&self, spec: &ConvSpec, device: &Device) -> Result<ConvWeights> {
        let host = self.conv(spec)?;
        let vector =
            |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [spec.out_channels]), device);
        Ok(ConvWeights {
            weight: Tensor::from_data(TensorData::new(host.weight, spec.weight_shape()), device),
            bias: vector(host.bias),
            alpha: host.alpha.map(vector),
        })
    }

    /// Uploads the weights to `device` as a ready network.
    pub fn build(&self, arch: &Architecture, device: &Device) -> Result<MobileFaceNet> {
        MobileFaceNet::build(arch, |spec| self.conv_weights(spec, device))
    }
}
