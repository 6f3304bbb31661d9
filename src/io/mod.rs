//! File formats: the weights file (safetensors with webverify's metadata), tuned weights, and
//! templates and galleries. Every reader checks what it reads and answers bad bytes with a
//! typed error.

pub mod template;
pub mod tuned;
pub mod weights;
