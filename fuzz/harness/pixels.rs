//! What the `pixels` fuzz target does with one input: the packed batch of images the JS package
//! sends to the engine (`Image::unpack`, behind every wasm call that takes images). The first
//! byte says how many `u32` shape values follow (width, height, channels, stride per image, any
//! value, 0 to 16 of them); the rest are the pixels. Every input must give an error or images
//! whose sizes agree with their shapes. Shared with `cargo test --test fuzz_corpus`.

/// Runs `unpack` (given as the crate's or the fuzz build's copy of `Image::unpack`).
#[macro_export]
macro_rules! unpack_pixels {
    ($data:expr, $unpack:path) => {{
        let data: &[u8] = $data;
        if let Some((&count, rest)) = data.split_first() {
            let count = (count as usize % 17).min(rest.len() / 4);
            let (head, pixels) = rest.split_at(count * 4);
            let shapes: Vec<u32> = head
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if let Ok(images) = $unpack(pixels, &shapes) {
                assert_eq!(images.len(), shapes.len() / 4);
                for (image, shape) in images.iter().zip(shapes.chunks_exact(4)) {
                    assert_eq!(
                        (image.width(), image.height()),
                        (shape[0] as usize, shape[1] as usize)
                    );
                    assert_eq!(image.as_rgb().len(), image.width() * image.height() * 3);
                }
            }
        }
    }};
}
