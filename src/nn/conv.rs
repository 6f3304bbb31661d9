//! The convolution building blocks every network here is made of: the description of one conv
//! ([`ConvSpec`], with TensorFlow's or PyTorch's [`Padding`]), its tensors ([`ConvWeights`]) and
//! the burn module that runs it with an optional PReLU ([`ConvUnit`]). MobileFaceNet, BlazeFace,
//! MiniFASNet and the op programs of `graph` all build on them; the packed CPU kernels
//! (`nn::cpu`) repack the same descriptions.

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{PRelu, PaddingConfig2d};
use burn::tensor::Tensor;

/// Padding as TensorFlow defines it. SAME pads `total = max((ceil(n/s) − 1)·s + k − n, 0)` with
/// the smaller half first, so stride-2 convs on even maps pad only bottom/right: burn's
/// `PaddingConfig2d::Same` computes exactly that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Same,
    Valid,
    /// PyTorch's: the same number of pixels on every side (the liveness models').
    Symmetric(usize),
}

/// One convolution (batch norm folded in), optionally followed by a per-channel PReLU. Also
/// describes the detector's convs (`crate::nn::blazeface`), which have no PReLU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// Module path; the weight file stores `{name}.weight`, `{name}.bias`, `{name}.alpha`.
    pub name: String,
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    /// Depthwise (groups = channels, depth multiplier 1) or dense.
    pub depthwise: bool,
    pub padding: Padding,
    pub prelu: bool,
}

impl ConvSpec {
    pub(crate) fn new(name: String, io: [usize; 2], kernel: usize, stride: usize) -> Self {
        Self {
            name,
            in_channels: io[0],
            out_channels: io[1],
            kernel,
            stride,
            depthwise: false,
            padding: Padding::Same,
            prelu: false,
        }
    }
    pub(crate) fn depthwise(mut self) -> Self {
        self.depthwise = true;
        self
    }
    pub(crate) fn prelu(mut self) -> Self {
        self.prelu = true;
        self
    }
    pub(crate) fn valid(mut self) -> Self {
        self.padding = Padding::Valid;
        self
    }
    pub fn groups(&self) -> usize {
        if self.depthwise {
            self.in_channels
        } else {
            1
        }
    }
    /// burn's weight layout: `[out, in / groups, k, k]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.in_channels / self.groups(),
            self.kernel,
            self.kernel,
        ]
    }
}

/// The tensors of one conv, already in burn's layout.
pub struct ConvWeights {
    pub weight: Tensor<4>,
    pub bias: Tensor<1>,
    pub alpha: Option<Tensor<1>>,
}

/// A conv with an optional PReLU after it.
#[derive(Module, Debug)]
pub struct ConvUnit {
    pub conv: Conv2d,
    pub prelu: Option<PRelu>,
}

impl ConvUnit {
    pub(crate) fn new(spec: &ConvSpec, w: ConvWeights) -> Self {
        let conv = Conv2d {
            weight: Param::from_tensor(w.weight),
            bias: Some(Param::from_tensor(w.bias)),
            stride: [spec.stride, spec.stride],
            kernel_size: [spec.kernel, spec.kernel],
            dilation: [1, 1],
            groups: spec.groups(),
            padding: match spec.padding {
                Padding::Same => PaddingConfig2d::Same,
                Padding::Valid => PaddingConfig2d::Valid,
                Padding::Symmetric(p) => PaddingConfig2d::Explicit(p, p, p, p),
            },
        };
        let prelu = w.alpha.map(|alpha| PRelu {
            alpha: Param::from_tensor(alpha),
            alpha_value: 0.0,
        });
        Self { conv, prelu }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.conv.forward(x);
        match &self.prelu {
            Some(prelu) => prelu.forward(y),
            None => y,
        }
    }
}
