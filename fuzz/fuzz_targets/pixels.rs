//! Fuzz target: the JS-facing pixel unpacking (fuzz/harness/pixels.rs). `Image` and its error
//! type are compiled in from the crate's sources: no burn build under the fuzzer.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../src/image.rs"]
mod image;
#[path = "../harness/pixels.rs"]
#[macro_use]
mod pixels;

libfuzzer_sys::fuzz_target!(|data: &[u8]| unpack_pixels!(data, image::Image::unpack));
