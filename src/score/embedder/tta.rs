//! Test-time augmentation: a crop's embedding made from more than one view of it. With `Flip`
//! the crop and its mirror image both go through the network and their raw outputs are summed
//! before normalising (InsightFace's evaluation protocol): the aligned template is symmetric, so
//! the mirror is another plausible photo of the same face, and the sum averages out what one
//! view gets wrong. It costs a second network pass per face (the two views go as one batch).

use std::sync::atomic::{AtomicBool, Ordering};

use super::Embedder;
use crate::error::{Error, Result};
use crate::image::Image;

/// How many views of a crop make its embedding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tta {
    /// The crop alone.
    None,
    /// The crop and its mirror image, summed.
    Flip,
}

impl Default for Tta {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Tta {
    /// What every embedder starts with, the CLI's and the package's default: flip, chosen on LFW
    /// View 1 DevTrain (accuracy 99.27 → 99.45 %, EER 0.73 → 0.55 % with the int8 weights and
    /// four-point alignment) for one more network pass per face and no bytes
    /// (docs/ACCURACY.md, "Test-time augmentation").
    pub const DEFAULT: Tta = Tta::Flip;

    /// `none` or `flip`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Tta::None),
            "flip" => Ok(Tta::Flip),
            other => Err(Error::InvalidInput(format!(
                "test-time augmentation {other:?}: use 'none' or 'flip'"
            ))),
        }
    }

    /// `none` or `flip`, as [`Tta::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Tta::None => "none",
            Tta::Flip => "flip",
        }
    }
}

/// The switch an embedder holds (an atomic: a shared engine's embedder is behind `Rc`/`Arc`).
#[derive(Debug)]
pub(super) struct TtaSwitch(AtomicBool);

impl Default for TtaSwitch {
    fn default() -> Self {
        Self(AtomicBool::new(Tta::DEFAULT == Tta::Flip))
    }
}

impl TtaSwitch {
    fn get(&self) -> Tta {
        if self.0.load(Ordering::Relaxed) {
            Tta::Flip
        } else {
            Tta::None
        }
    }

    fn set(&self, tta: Tta) {
        self.0.store(tta == Tta::Flip, Ordering::Relaxed);
    }
}

impl Embedder {
    /// The test-time augmentation every embedding of this embedder uses.
    pub fn tta(&self) -> Tta {
        self.tta.get()
    }

    /// Embeds with `tta` from now on, and scores with the calibration the weights carry for it
    /// (see [`Embedder::shipped_calibration_for`]): a refitted calibration belongs to the
    /// embeddings it was fitted on and is dropped.
    pub fn set_tta(&self, tta: Tta) {
        if self.tta.get() != tta {
            self.tta.set(tta);
            self.reset_calibration();
        }
    }

    /// Raw outputs combined over the views `tta` asks for (one per image, not normalised).
    pub(super) async fn raw_views(&self, images: &[Image]) -> Result<Vec<Vec<f32>>> {
        match self.tta() {
            Tta::None => self.embed_raw(images).await,
            Tta::Flip => {
                let mut views = images.to_vec();
                views.extend(images.iter().map(Image::mirror));
                let raw = self.embed_raw(&views).await?;
                let (plain, mirrored) = raw.split_at(images.len());
                Ok(plain
                    .iter()
                    .zip(mirrored)
                    .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x + y).collect())
                    .collect())
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::score::calibration::{Calibration, FLIP_METADATA_KEY};

    const WEIGHTS: &str = "models/mobilefacenet-int8.safetensors";

    /// A face-sized pattern that is not symmetric left to right.
    fn lopsided() -> Image {
        let n = 112;
        let pixels: Vec<u8> = (0..n * n * 3)
            .map(|i| {
                let (y, x, c) = (i / (3 * n), (i / 3) % n, i % 3);
                ((x * x / 40 + y * 2 + c * 50 + (x / 9) % 2 * 70) % 256) as u8
            })
            .collect();
        Image::from_pixels(&pixels, n, n, crate::image::PixelFormat::Rgb, None).unwrap()
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        crate::vector::similarity(a, b).unwrap()
    }

    #[test]
    fn flip_sums_both_views_and_cannot_tell_an_image_from_its_mirror() {
        let e = Embedder::from_path(WEIGHTS, Backend::Flex).unwrap();
        assert_eq!(e.tta(), Tta::DEFAULT);
        let (x, m) = (lopsided(), lopsided().mirror());
        e.set_tta(Tta::None);
        let plain = e.embed_batch(&[x.clone(), m.clone()]).unwrap();
        assert!(
            cosine(&plain[0], &plain[1]) < 0.999,
            "the pattern is lopsided"
        );
        e.set_tta(Tta::Flip);
        let flipped = e.embed_batch(&[x.clone(), m]).unwrap();
        assert!(cosine(&flipped[0], &flipped[1]) > 0.99999);
        // The sum of the two raw outputs, normalised.
        let raw = pollster::block_on(e.embed_raw(&[x.clone(), x.mirror()])).unwrap();
        let mut sum: Vec<f32> = raw[0].iter().zip(&raw[1]).map(|(a, b)| a + b).collect();
        crate::vector::l2_normalize(&mut sum);
        assert!(cosine(&flipped[0], &sum) > 0.99999);
        assert!(
            cosine(&flipped[0], &plain[0]) < 0.99999,
            "flip changed the embedding"
        );
    }

    #[test]
    fn each_mode_scores_with_its_own_calibration_and_a_refit_is_dropped_on_switching() {
        let bytes = std::fs::read(WEIGHTS).unwrap();
        let flip = Calibration {
            source: "crafted for the test".into(),
            negatives: 1000,
            curve: vec![(1e-2, 0.31), (1e-3, 0.41)],
        };
        let with_flip =
            crate::io::weights::set_metadata(&bytes, FLIP_METADATA_KEY, Some(&flip.to_json()))
                .unwrap();
        let e = Embedder::new(&with_flip, Backend::Flex).unwrap();
        assert!(e.flip_calibrated());
        e.set_tta(Tta::Flip);
        assert_eq!(e.threshold(Some(1e-3)).unwrap(), 0.41);
        e.set_tta(Tta::None);
        let plain = e.threshold(Some(1e-3)).unwrap();
        assert!(
            (plain - 0.41).abs() > 1e-3,
            "the plain calibration: {plain}"
        );
        // A refit belongs to the mode it was fitted in.
        let a = vec![1.0f32; 192];
        let pairs: Vec<(&[f32], &[f32], bool)> =
            (0..200).map(|i| (&a[..], &a[..], i % 2 == 0)).collect();
        let _ = e.calibrate(&pairs);
        e.set_tta(Tta::Flip);
        assert_eq!(e.threshold(Some(1e-3)).unwrap(), 0.41);
        // Without a flip calibration, flip scores with the plain one.
        let shipped = Embedder::new(&bytes, Backend::Flex).unwrap();
        shipped.set_tta(Tta::Flip);
        assert_eq!(
            shipped.flip_calibrated(),
            Calibration::from_metadata_key(
                &crate::io::weights::WeightFile::parse(&bytes)
                    .unwrap()
                    .info
                    .metadata,
                FLIP_METADATA_KEY
            )
            .unwrap()
            .is_some()
        );
    }

    #[test]
    fn a_broken_flip_calibration_is_a_load_error() {
        let bytes = std::fs::read(WEIGHTS).unwrap();
        let broken =
            crate::io::weights::set_metadata(&bytes, FLIP_METADATA_KEY, Some("{\"curve\":1}"))
                .unwrap();
        assert!(matches!(
            Embedder::new(&broken, Backend::Flex),
            Err(Error::ModelLoad(_))
        ));
        assert!(matches!(Tta::parse("mirror"), Err(Error::InvalidInput(_))));
    }
}
