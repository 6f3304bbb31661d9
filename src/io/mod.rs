//! File formats: the weights file (safetensors with webverify's metadata), tuned weights, and
//! templates and galleries, and sealed (authenticated) template bytes. Every reader checks what it reads and answers bad bytes with a
//! typed error.

pub mod sealed;
pub mod storage;
pub mod template;
pub mod tuned;
pub mod weights;
