//! Networks imported from ONNX (`webverify convert model.onnx`): a [`Program`] of general ops
//! and the metadata that says how to feed it, loaded from a webverify weights file whose
//! `model` is [`IMPORTED_MODEL`].

use burn::tensor::{Device, Tensor, TensorData};

use crate::backend::read_back;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::io::weights::{ModelInfo, WeightFile};
use crate::nn::cpu::{KernelSwitch, PackedProgram};
use crate::nn::graph::{GraphNet, Program};

/// The `model` metadata of an imported network's weights file.
pub const IMPORTED_MODEL: &str = "imported";

/// How an image becomes the network's input, from the `preprocessing` metadata (JSON).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preprocessing {
    /// The square input's side, in pixels.
    pub size: usize,
    /// 3 (colour) or 1 (grey).
    pub channels: usize,
    /// Channel order: `"rgb"` or `"bgr"`.
    pub colour: String,
    /// Per channel, in 0–255 pixel units: the network sees `(pixel − mean) / std`.
    pub mean: Vec<f32>,
    /// Per channel, in 0–255 pixel units.
    pub std: Vec<f32>,
    /// The source model's input layout (`"nchw"` or `"nhwc"`); the program always takes NCHW.
    pub layout: String,
}

impl Preprocessing {
    /// Refuses values no network could take (a corrupt or hand-edited file).
    pub fn check(&self) -> Result<()> {
        let ok = (1..=4096).contains(&self.size)
            && matches!(self.channels, 1 | 3)
            && matches!(self.colour.as_str(), "rgb" | "bgr")
            && self.mean.len() == self.channels
            && self.std.len() == self.channels
            && self.mean.iter().all(|m| m.is_finite())
            && self.std.iter().all(|s| s.is_finite() && *s != 0.0);
        if ok {
            Ok(())
        } else {
            Err(Error::ModelLoad(format!(
                "impossible preprocessing {self:?}"
            )))
        }
    }

    /// The network's input for `image`: resized (bilinear) to the input's side, planar, in
    /// the model's channel order (grey: the mean of R, G and B), normalised.
    pub fn input(&self, image: &Image) -> Vec<f32> {
        let img = image.resize_bilinear(self.size, self.size);
        let plane = self.size * self.size;
        let mut out = vec![0.0; self.channels * plane];
        let bgr = self.colour == "bgr";
        for (i, px) in img.as_rgb().chunks_exact(3).enumerate() {
            if self.channels == 1 {
                let grey = (px[0] as f32 + px[1] as f32 + px[2] as f32) / 3.0;
                out[i] = (grey - self.mean[0]) / self.std[0];
                continue;
            }
            for c in 0..3 {
                let v = px[if bgr { 2 - c } else { c }] as f32;
                out[c * plane + i] = (v - self.mean[c]) / self.std[c];
            }
        }
        out
    }
}

/// An imported network on a device.
pub struct ImportedNet {
    net: GraphNet,
    /// The program's leading convolutions on the CPU kernels (Flex only), and the switch that
    /// picks them or burn's ops (as the shipped embedder's).
    packed: Option<PackedProgram>,
    kernels: KernelSwitch,
    /// How to feed it.
    pub preprocessing: Preprocessing,
    /// The output's name.
    pub output: String,
    /// The output's length (the embedding's dimension).
    pub output_dim: usize,
    /// The weights file's name and checksum.
    pub info: ModelInfo,
}

impl ImportedNet {
    /// Parses, checks and uploads an imported network's weights file.
    pub fn from_weights(bytes: &[u8], device: &Device) -> Result<Self> {
        let file = WeightFile::parse_model(bytes, IMPORTED_MODEL)?;
        let meta = |key: &str| {
            file.info
                .metadata
                .get(key)
                .ok_or_else(|| Error::ModelLoad(format!("the imported model has no {key}")))
        };
        let program = Program::parse(meta("program")?)?;
        let preprocessing: Preprocessing = serde_json::from_str(meta("preprocessing")?)
            .map_err(|e| Error::ModelLoad(format!("the model's preprocessing: {e}")))?;
        preprocessing.check()?;
        let output_dim: usize = meta("output_dim")?
            .parse()
            .map_err(|_| Error::ModelLoad("output_dim is not a number".into()))?;
        let output = meta("output")?.clone();
        let read = |name: &str, shape: &[usize]| file.read(name, shape);
        let packed = if KernelSwitch::serves(device) {
            PackedProgram::new(&program, &read)?
        } else {
            None
        };
        let net = GraphNet::build(program, &read, device)?;
        Ok(Self {
            net,
            packed,
            kernels: KernelSwitch::default(),
            preprocessing,
            output,
            output_dim,
            info: file.info.clone(),
        })
    }

    /// On Flex, whether the program's leading convolutions run on the packed CPU kernels (the
    /// default in wasm) or on burn's ops ([`crate::Embedder::set_packed_kernels`]'s rule).
    pub fn set_packed_kernels(&self, on: bool) {
        self.kernels.set(on);
    }

    /// How many convolutions run on the packed kernels now (0: all on burn's ops).
    pub fn packed_convolutions(&self) -> usize {
        self.kernels
            .pick(self.packed.as_ref())
            .map_or(0, PackedProgram::steps)
    }

    /// The network's outputs for `images` (not normalised to unit length), one per image.
    pub async fn embed_raw(&self, images: &[Image], device: &Device) -> Result<Vec<Vec<f32>>> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let p = &self.preprocessing;
        let values: Vec<f32> = images.iter().flat_map(|i| p.input(i)).collect();
        let out = match self.kernels.pick(self.packed.as_ref()) {
            Some(packed) => {
                let n = images.len();
                let [c, h, w] = packed.boundary_shape;
                let boundary = packed.forward(&values, n);
                let x = Tensor::from_data(TensorData::new(boundary, [n, c, h, w]), device);
                self.output_of(self.net.forward_from(packed.boundary, x)?)?
            }
            None => {
                let shape = [images.len(), p.channels, p.size, p.size];
                self.forward(Tensor::from_data(TensorData::new(values, shape), device))?
            }
        };
        let out = read_back(out, "the imported network's output").await?;
        let flat = out
            .try_into_vec::<f32>()
            .map_err(|e| Error::Inference(format!("the imported network's output: {e:?}")))?;
        Ok(flat.chunks(self.output_dim).map(<[f32]>::to_vec).collect())
    }

    /// The network's output for a batch `[N, channels, size, size]` already normalised.
    pub fn forward(&self, x: Tensor<4>) -> Result<Tensor<2>> {
        self.output_of(self.net.forward(x)?)
    }

    fn output_of(&self, outputs: Vec<(String, Tensor<2>)>) -> Result<Tensor<2>> {
        let (_, out) = outputs
            .into_iter()
            .find(|(name, _)| *name == self.output)
            .ok_or_else(|| Error::Inference(format!("no output {}", self.output)))?;
        Ok(out)
    }
}
