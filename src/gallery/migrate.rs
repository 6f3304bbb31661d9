//! Galleries follow the model: templates of the shipped model pass exactly through the adapter
//! of an adapter fine-tune; a gallery of the shipped model loads into an adapter-tuned engine.

use crate::error::{Error, Result};
use crate::gallery::Gallery;
use crate::io::tuned::TunedInfo;
use crate::score::embedder::Embedder;

impl Embedder {
    /// Brings a gallery to the model in use: nothing to do when this model made it; templates
    /// of the shipped model pass through the adapter of an adapter fine-tune (exactly, without
    /// the photos); anything else is `MODEL_MISMATCH` (the identities must be enrolled again).
    /// Returns whether templates were migrated.
    pub fn migrate_gallery(&self, gallery: &mut Gallery) -> Result<bool> {
        let target = self.model_ref();
        if gallery.model() == &target {
            return Ok(false);
        }
        let shipped = self.shipped_model_ref();
        match self.tuned() {
            Some(TunedInfo {
                adapter: Some(w), ..
            }) if gallery.model() == &shipped => {
                gallery.migrate(target, |t| crate::nn::adapter::adapt_template(&w, t))?;
                Ok(true)
            }
            _ => gallery.ensure_model(&target).map(|_| false).map_err(|e| match e {
                Error::ModelMismatch(m) => Error::ModelMismatch(format!(
                    "{m}; only galleries of the shipped model can be migrated, through an adapter fine-tune"
                )),
                other => other,
            }),
        }
    }

    /// [`Embedder::load_gallery`] for bytes from [`Gallery::to_sealed_bytes`]: `WRONG_KEY`
    /// unless they check under `key`.
    pub fn load_sealed_gallery(&self, sealed: &[u8], key: &[u8]) -> Result<Gallery> {
        self.load_gallery(crate::io::sealed::open(sealed, key)?)
    }

    /// A gallery from bytes written by [`Gallery::to_bytes`] for this embedder's model: one of
    /// the shipped model is migrated into an adapter-tuned model (see
    /// [`Embedder::migrate_gallery`]); `MODEL_MISMATCH` for any other model's, `FORMAT_VERSION`
    /// for a newer format, `CORRUPT_DATA` for damaged bytes.
    pub fn load_gallery(&self, bytes: &[u8]) -> Result<Gallery> {
        match Gallery::from_bytes(bytes, self.model_ref()) {
            Err(Error::ModelMismatch(m)) => {
                let mut shipped = Gallery::from_bytes(bytes, self.shipped_model_ref())
                    .map_err(|_| Error::ModelMismatch(m))?;
                self.migrate_gallery(&mut shipped)?;
                Ok(shipped)
            }
            other => other,
        }
    }
}
