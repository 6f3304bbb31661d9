//! How a weights file stores its tensors: f32, f16 or int8 (per-output-channel symmetric).
//!
//! The network always runs in f32; a smaller storage is expanded when the file is read, so the
//! only cost is the rounding, measured per format in docs/ACCURACY.md. The point is the download:
//! MobileFaceNet's file is 5.2 MB in f32, 2.6 MB in f16 and 1.4 MB in int8 (measured: models/README.md).
//!
//! | storage | tensors of rank ≥ 2 (conv weights) | rank-1 tensors (bias, PReLU slopes) |
//! |---|---|---|
//! | `f32` | F32 | F32 |
//! | `f16` | F16 | F16 |
//! | `int8` | I8 `q` and F32 `<name>.scale`, one per output channel: `w = q · scale` | F32 |
//!
//! int8 keeps the small rank-1 tensors in f32: they are 1 % of the bytes, and a bias error is not
//! divided by the channel's range as a weight's is.

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};

/// The suffix of an int8 tensor's companion that holds its per-channel scales.
pub const SCALE_SUFFIX: &str = ".scale";

/// How a weights file stores its tensors (its `storage` metadata; absent means `f32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Every tensor in f32 (the converters' output).
    F32,
    /// Every tensor in IEEE half precision.
    F16,
    /// Conv weights in int8 with per-channel scales; rank-1 tensors in f32.
    Int8,
}

impl Storage {
    /// Every storage, smallest last.
    pub const ALL: [Storage; 3] = [Storage::F32, Storage::F16, Storage::Int8];

    /// The name used in the metadata and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Storage::F32 => "f32",
            Storage::F16 => "f16",
            Storage::Int8 => "int8",
        }
    }

    /// The storage called `name`.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown weights storage {name:?}; expected f32, f16 or int8"
                ))
            })
    }

    /// The weights-format version a file in this storage needs: version 1 readers know only f32,
    /// so they refuse the others as too new instead of as damaged.
    pub fn format_version(self) -> u32 {
        match self {
            Storage::F32 => 1,
            Storage::F16 | Storage::Int8 => 2,
        }
    }
}

/// One stored tensor: name, dtype, shape and little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    /// The tensor's name in the file.
    pub name: String,
    /// Its safetensors dtype.
    pub dtype: Dtype,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its little-endian bytes.
    pub bytes: Vec<u8>,
}

/// Encodes the f32 `values` of tensor `name` (of `shape`) in `storage`: one stored tensor, or two
/// for an int8 weight (the codes and their scales).
pub fn encode(name: &str, shape: &[usize], values: &[f32], storage: Storage) -> Vec<Stored> {
    let stored = |name: String, dtype, shape: Vec<usize>, bytes| Stored {
        name,
        dtype,
        shape,
        bytes,
    };
    match storage {
        Storage::F16 => vec![stored(
            name.into(),
            Dtype::F16,
            shape.to_vec(),
            values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect(),
        )],
        Storage::Int8 if shape.len() >= 2 && shape[0] > 0 => {
            let (codes, scales) = quantize_per_channel(values, shape[0]);
            vec![
                stored(
                    name.into(),
                    Dtype::I8,
                    shape.to_vec(),
                    codes.iter().map(|q| *q as u8).collect(),
                ),
                stored(
                    format!("{name}{SCALE_SUFFIX}"),
                    Dtype::F32,
                    vec![shape[0]],
                    f32_bytes(&scales),
                ),
            ]
        }
        Storage::F32 | Storage::Int8 => vec![stored(
            name.into(),
            Dtype::F32,
            shape.to_vec(),
            f32_bytes(values),
        )],
    }
}

/// Symmetric int8 per output channel (the first axis): `scale = max |w| / 127`, `q = round(w /
/// scale)`. Per channel, because MobileFaceNet's channels differ in range by orders of magnitude
/// (BatchNorm is folded into the weights), and one scale for the tensor would round the small
/// channels to zero. A channel of zeros gets scale 1 and codes 0.
pub fn quantize_per_channel(values: &[f32], channels: usize) -> (Vec<i8>, Vec<f32>) {
    let per = values.len() / channels.max(1);
    let mut codes = Vec::with_capacity(values.len());
    let mut scales = Vec::with_capacity(channels);
    for channel in values.chunks(per.max(1)) {
        let max = channel.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        scales.push(scale);
        codes.extend(
            channel
                .iter()
                .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8),
        );
    }
    (codes, scales)
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The f32 values of tensor `name`, which must have `shape` and be stored as F32, F16, or I8 with
/// its scales; every value finite. Errors are `MODEL_LOAD`: the bytes may be damaged or forged.
pub fn decode(tensors: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let view = tensors
        .tensor(name)
        .map_err(|_| Error::ModelLoad(format!("tensor {name} is missing")))?;
    if view.shape() != shape {
        return Err(Error::ModelLoad(format!(
            "tensor {name} is {:?} {:?}, expected {shape:?}",
            view.dtype(),
            view.shape()
        )));
    }
    let values = match view.dtype() {
        Dtype::F32 => f32_values(view.data()),
        Dtype::F16 => view
            .data()
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::I8 if shape.len() >= 2 && shape[0] > 0 => {
            let scales = decode_scales(tensors, name, shape[0])?;
            let per = view.data().len() / shape[0];
            view.data()
                .iter()
                .enumerate()
                .map(|(i, q)| (*q as i8) as f32 * scales[i / per.max(1)])
                .collect()
        }
        other => {
            return Err(Error::ModelLoad(format!(
                "tensor {name} is {other:?} {shape:?}; expected F32, F16, or I8 (rank 2 or more)"
            )))
        }
    };
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::ModelLoad(format!(
            "tensor {name} holds NaN or infinity"
        )));
    }
    Ok(values)
}

/// The scales of int8 tensor `name`: F32, one per channel, finite and positive (a zero or
/// negative scale would flip or erase a channel: a forged file, not a rounding).
fn decode_scales(tensors: &SafeTensors<'_>, name: &str, channels: usize) -> Result<Vec<f32>> {
    let scale_name = format!("{name}{SCALE_SUFFIX}");
    let view = tensors.tensor(&scale_name).map_err(|_| {
        Error::ModelLoad(format!(
            "int8 tensor {name} has no scales ({scale_name} is missing)"
        ))
    })?;
    if view.dtype() != Dtype::F32 || view.shape() != [channels] {
        return Err(Error::ModelLoad(format!(
            "{scale_name} is {:?} {:?}, expected F32 [{channels}]",
            view.dtype(),
            view.shape()
        )));
    }
    let scales = f32_values(view.data());
    if scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(Error::ModelLoad(format!(
            "{scale_name} holds a scale that is not finite and positive"
        )));
    }
    Ok(scales)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(stored: &[Stored]) -> Vec<u8> {
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = stored
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    safetensors::tensor::TensorView::new(s.dtype, s.shape.clone(), &s.bytes)
                        .unwrap(),
                )
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    fn round_trip(values: &[f32], shape: &[usize], storage: Storage) -> Vec<f32> {
        let bytes = file(&encode("w", shape, values, storage));
        decode(&SafeTensors::deserialize(&bytes).unwrap(), "w", shape).unwrap()
    }

    #[test]
    fn every_storage_round_trips_within_its_rounding() {
        // Two channels whose ranges differ by 1000x, as folded BatchNorm makes them.
        let values: Vec<f32> = (0..16)
            .map(|i| {
                let v = (i as f32 - 3.7) / 4.0;
                if i < 8 {
                    v
                } else {
                    v * 1e-3
                }
            })
            .collect();
        let shape = [2, 2, 2, 2];
        assert_eq!(round_trip(&values, &shape, Storage::F32), values);
        for (storage, relative) in [(Storage::F16, 1e-3), (Storage::Int8, 1.0 / 127.0)] {
            let back = round_trip(&values, &shape, storage);
            for (channel, (a, b)) in values.chunks(8).zip(back.chunks(8)).enumerate() {
                let range = a.iter().fold(0f32, |m, v| m.max(v.abs()));
                for (x, y) in a.iter().zip(b) {
                    assert!(
                        (x - y).abs() <= relative * range,
                        "{storage:?} channel {channel}: {x} came back as {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn int8_keeps_rank_one_tensors_in_f32_and_zero_channels_as_zeros() {
        let bias = [0.5f32, -1e-7, 3.0];
        assert_eq!(round_trip(&bias, &[3], Storage::Int8), bias);
        let (codes, scales) = quantize_per_channel(&[0.0, 0.0, 2.0, -1.0], 2);
        assert_eq!(
            (codes, scales),
            (vec![0, 0, 127, -64], vec![1.0, 2.0 / 127.0])
        );
    }

    #[test]
    fn forged_int8_tensors_are_refused() {
        let shape = [2, 3];
        let good = encode("w", &shape, &[1.0, 2.0, 3.0, -1.0, 0.5, 0.0], Storage::Int8);
        let refused = |stored: Vec<Stored>| {
            let bytes = file(&stored);
            decode(&SafeTensors::deserialize(&bytes).unwrap(), "w", &shape)
                .unwrap_err()
                .code()
        };
        assert_eq!(refused(vec![good[0].clone()]), "MODEL_LOAD"); // no scales
        for scale in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
            let mut forged = good.clone();
            forged[1].bytes = f32_bytes(&[scale, 1.0]);
            assert_eq!(refused(forged), "MODEL_LOAD", "scale {scale}");
        }
        let mut wrong_count = good.clone();
        wrong_count[1] = Stored {
            shape: vec![3],
            bytes: f32_bytes(&[1.0, 1.0, 1.0]),
            ..good[1].clone()
        };
        assert_eq!(refused(wrong_count), "MODEL_LOAD");
        // An I8 rank-1 tensor, an I32 tensor, an f16 infinity.
        let bias = |dtype, bytes| Stored {
            name: "w".into(),
            dtype,
            shape: vec![2],
            bytes,
        };
        for stored in [
            bias(Dtype::I8, vec![1, 2]),
            bias(Dtype::I32, vec![0; 8]),
            bias(Dtype::F16, vec![0x00, 0x7c, 0, 0]),
        ] {
            let bytes = file(&[stored]);
            let err = decode(&SafeTensors::deserialize(&bytes).unwrap(), "w", &[2]).unwrap_err();
            assert_eq!(err.code(), "MODEL_LOAD");
        }
    }
}
