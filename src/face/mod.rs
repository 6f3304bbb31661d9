//! From a photo to the crop the model sees: face detection (BlazeFace anchors, decoding,
//! weighted NMS), alignment to the 112x112 template, the photo checks of the quality gate, and
//! the pipeline that joins the detector to the embedder.

pub mod align;
pub mod detect;
pub mod mesh;
pub mod pipeline;
pub mod prepared;
pub mod quality;
