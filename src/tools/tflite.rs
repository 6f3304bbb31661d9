//! A verified reader for the parts of the TFLite flatbuffer schema the converter needs.
//!
//! The accessors follow the layout `flatc --rust` generates from TensorFlow's `schema.fbs`
//! (`tensorflow/compiler/mlir/lite/schema/schema.fbs`): each table wraps a [`Table`], each
//! field is read at its vtable slot `4 + 2 * field_index`, and every table implements
//! [`Verifiable`] so that [`flatbuffers::root`] checks the whole buffer before a field is read.
//! Only the tables and fields the converter reads are written out (no `flatc` is available on
//! the build machines, and the full generated schema is ~20k lines for 8 tables used here).
//! Slot numbers are the schema's; do not renumber.

use flatbuffers::{
    Follow, ForwardsUOffset, InvalidFlatbuffer, Table, Vector, Verifiable, Verifier,
    VerifierOptions,
};

/// `BuiltinOperator` codes used by the converter (schema enum values).
pub mod op {
    pub const ADD: i32 = 0;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const MUL: i32 = 18;
    pub const RELU: i32 = 19;
    pub const RESHAPE: i32 = 22;
    pub const SUB: i32 = 41;
    pub const PRELU: i32 = 54;
    pub const ABS: i32 = 101;
}

/// `BuiltinOptions` union tags used by the converter.
pub mod options {
    pub const CONV_2D: u8 = 1;
    pub const DEPTHWISE_CONV_2D: u8 = 2;
    pub const ADD: u8 = 11;
}

/// `TensorType::FLOAT32`.
pub const TENSOR_FLOAT32: i8 = 0;

macro_rules! table {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty = $slot:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a> {
            tab: Table<'a>,
        }
        impl<'a> Follow<'a> for $name<'a> {
            type Inner = $name<'a>;
            unsafe fn follow(buf: &'a [u8], loc: usize) -> Self::Inner {
                // SAFETY: the caller (flatbuffers) guarantees `loc` points at a verified table.
                Self { tab: unsafe { Table::new(buf, loc) } }
            }
        }
        impl Verifiable for $name<'_> {
            fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
                v.visit_table(pos)?
                    $(.visit_field::<$ty>(stringify!($field), $slot, false)?)*
                    .finish();
                Ok(())
            }
        }
    };
}

macro_rules! field {
    ($self:ident, $ty:ty, $slot:expr) => {
        // SAFETY: every table reachable from the root was checked by `Verifiable` (see `parse`).
        unsafe { $self.tab.get::<$ty>($slot, None) }
    };
    ($self:ident, $ty:ty, $slot:expr, $default:expr) => {
        // SAFETY: as above.
        unsafe {
            $self
                .tab
                .get::<$ty>($slot, Some($default))
                .unwrap_or($default)
        }
    };
}

table!(
    /// The root table.
    Model {
        version: u32 = 4,
        operator_codes: ForwardsUOffset<Vector<'_, ForwardsUOffset<OperatorCode<'_>>>> = 6,
        subgraphs: ForwardsUOffset<Vector<'_, ForwardsUOffset<SubGraph<'_>>>> = 8,
        description: ForwardsUOffset<&str> = 10,
        buffers: ForwardsUOffset<Vector<'_, ForwardsUOffset<Buffer<'_>>>> = 12,
    }
);
table!(
    /// Which builtin operator an operator index refers to.
    OperatorCode { deprecated_builtin_code: i8 = 4, builtin_code: i32 = 10 }
);
table!(
    /// One graph: tensors, operators in execution order, inputs and outputs.
    SubGraph {
        tensors: ForwardsUOffset<Vector<'_, ForwardsUOffset<TensorDef<'_>>>> = 4,
        inputs: ForwardsUOffset<Vector<'_, i32>> = 6,
        outputs: ForwardsUOffset<Vector<'_, i32>> = 8,
        operators: ForwardsUOffset<Vector<'_, ForwardsUOffset<Operator<'_>>>> = 10,
    }
);
table!(
    /// A tensor's declaration (`Tensor` in the schema).
    TensorDef {
        shape: ForwardsUOffset<Vector<'_, i32>> = 4,
        tensor_type: i8 = 6,
        buffer: u32 = 8,
        name: ForwardsUOffset<&str> = 10,
    }
);
table!(
    /// A raw data buffer; empty for activations.
    Buffer { data: ForwardsUOffset<Vector<'_, u8>> = 4 }
);
table!(
    /// `Conv2DOptions`.
    Conv2DOptions {
        padding: i8 = 4,
        stride_w: i32 = 6,
        stride_h: i32 = 8,
        fused_activation_function: i8 = 10,
        dilation_w_factor: i32 = 12,
        dilation_h_factor: i32 = 14,
    }
);
table!(
    /// `DepthwiseConv2DOptions`.
    DepthwiseConv2DOptions {
        padding: i8 = 4,
        stride_w: i32 = 6,
        stride_h: i32 = 8,
        depth_multiplier: i32 = 10,
        fused_activation_function: i8 = 12,
        dilation_w_factor: i32 = 14,
        dilation_h_factor: i32 = 16,
    }
);
table!(
    /// `AddOptions`.
    AddOptions { fused_activation_function: i8 = 4 }
);

/// An operator; its options union is verified variant by variant.
#[derive(Clone, Copy)]
pub struct Operator<'a> {
    tab: Table<'a>,
}
impl<'a> Follow<'a> for Operator<'a> {
    type Inner = Operator<'a>;
    unsafe fn follow(buf: &'a [u8], loc: usize) -> Self::Inner {
        // SAFETY: see the `table!` macro.
        Self {
            tab: unsafe { Table::new(buf, loc) },
        }
    }
}
impl Verifiable for Operator<'_> {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<u32>("opcode_index", 4, false)?
            .visit_field::<ForwardsUOffset<Vector<'_, i32>>>("inputs", 6, false)?
            .visit_field::<ForwardsUOffset<Vector<'_, i32>>>("outputs", 8, false)?
            .visit_union::<u8, _>(
                "builtin_options_type",
                10,
                "builtin_options",
                12,
                false,
                |key, v, pos| match key {
                    options::CONV_2D => v.verify_union_variant::<ForwardsUOffset<Conv2DOptions>>(
                        "Conv2DOptions",
                        pos,
                    ),
                    options::DEPTHWISE_CONV_2D => v
                        .verify_union_variant::<ForwardsUOffset<DepthwiseConv2DOptions>>(
                            "DepthwiseConv2DOptions",
                            pos,
                        ),
                    options::ADD => {
                        v.verify_union_variant::<ForwardsUOffset<AddOptions>>("AddOptions", pos)
                    }
                    // Options of other operators are never read.
                    _ => Ok(()),
                },
            )?
            .finish();
        Ok(())
    }
}

/// Parses and verifies a TFLite flatbuffer.
pub fn parse(bytes: &[u8]) -> Result<Model<'_>, InvalidFlatbuffer> {
    // The default verifier limits (64 tables deep, 1M tables) are far below what a 5 MB model
    // needs for `max_apparent_size`; raise only that one.
    let opts = VerifierOptions {
        max_apparent_size: 1 << 31,
        ..Default::default()
    };
    flatbuffers::root_with_opts::<Model>(&opts, bytes)
}

impl<'a> Model<'a> {
    pub fn version(&self) -> u32 {
        field!(self, u32, 4, 0)
    }
    pub fn operator_codes(&self) -> Option<Vector<'a, ForwardsUOffset<OperatorCode<'a>>>> {
        field!(
            self,
            ForwardsUOffset<Vector<'a, ForwardsUOffset<OperatorCode<'a>>>>,
            6
        )
    }
    pub fn subgraphs(&self) -> Option<Vector<'a, ForwardsUOffset<SubGraph<'a>>>> {
        field!(
            self,
            ForwardsUOffset<Vector<'a, ForwardsUOffset<SubGraph<'a>>>>,
            8
        )
    }
    pub fn buffers(&self) -> Option<Vector<'a, ForwardsUOffset<Buffer<'a>>>> {
        field!(
            self,
            ForwardsUOffset<Vector<'a, ForwardsUOffset<Buffer<'a>>>>,
            12
        )
    }
}

impl OperatorCode<'_> {
    /// The operator code: schema v3 files keep small codes in the deprecated byte field and
    /// newer files in `builtin_code`; the larger of the two is the real one.
    pub fn code(&self) -> i32 {
        let deprecated = field!(self, i8, 4, 0) as i32;
        let current = field!(self, i32, 10, 0);
        deprecated.max(current)
    }
}

impl<'a> SubGraph<'a> {
    pub fn tensors(&self) -> Option<Vector<'a, ForwardsUOffset<TensorDef<'a>>>> {
        field!(
            self,
            ForwardsUOffset<Vector<'a, ForwardsUOffset<TensorDef<'a>>>>,
            4
        )
    }
    pub fn inputs(&self) -> Option<Vector<'a, i32>> {
        field!(self, ForwardsUOffset<Vector<'a, i32>>, 6)
    }
    pub fn outputs(&self) -> Option<Vector<'a, i32>> {
        field!(self, ForwardsUOffset<Vector<'a, i32>>, 8)
    }
    pub fn operators(&self) -> Option<Vector<'a, ForwardsUOffset<Operator<'a>>>> {
        field!(
            self,
            ForwardsUOffset<Vector<'a, ForwardsUOffset<Operator<'a>>>>,
            10
        )
    }
}

impl<'a> TensorDef<'a> {
    pub fn shape(&self) -> Vec<i32> {
        field!(self, ForwardsUOffset<Vector<'a, i32>>, 4)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }
    pub fn tensor_type(&self) -> i8 {
        field!(self, i8, 6, 0)
    }
    pub fn buffer(&self) -> u32 {
        field!(self, u32, 8, 0)
    }
    pub fn name(&self) -> &'a str {
        field!(self, ForwardsUOffset<&'a str>, 10).unwrap_or("")
    }
}

impl<'a> Buffer<'a> {
    pub fn data(&self) -> &'a [u8] {
        field!(self, ForwardsUOffset<Vector<'a, u8>>, 4)
            .map(|v| v.bytes())
            .unwrap_or(&[])
    }
}

impl<'a> Operator<'a> {
    pub fn opcode_index(&self) -> u32 {
        field!(self, u32, 4, 0)
    }
    pub fn inputs(&self) -> Vec<i32> {
        field!(self, ForwardsUOffset<Vector<'a, i32>>, 6)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }
    pub fn outputs(&self) -> Vec<i32> {
        field!(self, ForwardsUOffset<Vector<'a, i32>>, 8)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }
    fn options_of<T: Follow<'a, Inner = T> + 'a>(&self, tag: u8) -> Option<T> {
        if field!(self, u8, 10, 0) != tag {
            return None;
        }
        field!(self, ForwardsUOffset<T>, 12)
    }
    pub fn conv_2d_options(&self) -> Option<Conv2DOptions<'a>> {
        self.options_of(options::CONV_2D)
    }
    pub fn depthwise_conv_2d_options(&self) -> Option<DepthwiseConv2DOptions<'a>> {
        self.options_of(options::DEPTHWISE_CONV_2D)
    }
    pub fn add_options(&self) -> Option<AddOptions<'a>> {
        self.options_of(options::ADD)
    }
}

/// Convolution settings common to CONV_2D and DEPTHWISE_CONV_2D.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSettings {
    /// `Padding::SAME` (0) or `Padding::VALID` (1).
    pub same_padding: bool,
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// `ActivationFunctionType`: 0 none, 1 relu, 3 relu6.
    pub fused_activation: i8,
}

fn positive(v: i32) -> usize {
    v.max(1) as usize
}

impl Conv2DOptions<'_> {
    pub fn settings(&self) -> ConvSettings {
        ConvSettings {
            same_padding: field!(self, i8, 4, 0) == 0,
            stride: [
                positive(field!(self, i32, 8, 1)),
                positive(field!(self, i32, 6, 1)),
            ],
            dilation: [
                positive(field!(self, i32, 14, 1)),
                positive(field!(self, i32, 12, 1)),
            ],
            fused_activation: field!(self, i8, 10, 0),
        }
    }
}

impl DepthwiseConv2DOptions<'_> {
    pub fn settings(&self) -> ConvSettings {
        ConvSettings {
            same_padding: field!(self, i8, 4, 0) == 0,
            stride: [
                positive(field!(self, i32, 8, 1)),
                positive(field!(self, i32, 6, 1)),
            ],
            dilation: [
                positive(field!(self, i32, 16, 1)),
                positive(field!(self, i32, 14, 1)),
            ],
            fused_activation: field!(self, i8, 12, 0),
        }
    }
    pub fn depth_multiplier(&self) -> i32 {
        field!(self, i32, 10, 1)
    }
}

impl AddOptions<'_> {
    pub fn fused_activation(&self) -> i8 {
        field!(self, i8, 4, 0)
    }
}
