//! The arguments of `convert` and `store` (ONNX import brings most of them).

use std::path::PathBuf;

/// The arguments of `convert`.
#[derive(clap::Args)]
pub(super) struct ConvertArgs {
    pub(super) model: PathBuf,
    pub(super) out: PathBuf,
    /// MiniFASNet only: the face box scale the model was trained with (default: read from
    /// the upstream file name, e.g. 2.7 in `2.7_80x80_MiniFASNetV2.pth`).
    #[arg(long)]
    pub(super) crop_scale: Option<f32>,
    /// ONNX only: the input layout, nchw or nhwc (default: read from the input's shape).
    #[arg(long)]
    pub(super) layout: Option<String>,
    /// ONNX only: the channel order the network was trained on, rgb (default) or bgr.
    #[arg(long)]
    pub(super) colour: Option<String>,
    /// ONNX only: per-channel mean in 0-255 units, e.g. 127.5 or 123.7,116.3,103.5.
    #[arg(long, value_delimiter = ',')]
    pub(super) mean: Option<Vec<f32>>,
    /// ONNX only: per-channel standard deviation in 0-255 units (the network sees
    /// (pixel - mean) / std; default mean 0, std 255).
    #[arg(long, value_delimiter = ',')]
    pub(super) std: Option<Vec<f32>>,
    /// ONNX only: the output to keep (default: the graph's first).
    #[arg(long)]
    pub(super) output: Option<String>,
}

/// The arguments of `store`.
#[derive(clap::Args)]
pub(super) struct StoreArgs {
    pub(super) weights: PathBuf,
    pub(super) out: PathBuf,
    /// f32, f16 or int8.
    #[arg(long)]
    pub(super) storage: String,
}
