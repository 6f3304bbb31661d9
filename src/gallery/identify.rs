//! Open-set identification with a calibrated search threshold: "who is this, if anyone?".
//!
//! The threshold keeps the false-accept rate of the *whole search* at the requested FAR, so it
//! rises with the gallery (a 1:1 threshold would let a stranger through in a quarter of the
//! searches of a 200-person gallery; docs/ACCURACY.md). On WebGPU the template matrix lives in
//! GPU memory and one kernel scores it; on the CPU backends a plain loop over the gallery's own
//! matrix is faster than a tensor op that copies it (docs/BENCHMARKS.md, "1:N search").

use std::cell::RefCell;
use std::rc::Rc;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::gallery::search::TemplateIndex;
use crate::gallery::{Aggregation, Gallery, Identification};
use crate::score::calibration::DEFAULT_FAR;
use crate::score::embedder::Embedder;

/// How a probe is searched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchOptions {
    /// Candidates returned, best first.
    pub top_k: usize,
    /// The false-accept rate of the whole search (default [`DEFAULT_FAR`]).
    pub far: Option<f64>,
    /// How an identity's templates make its score.
    pub aggregation: Aggregation,
    /// A cosine threshold that overrides the one `far` chooses.
    pub threshold: Option<f32>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            top_k: 5,
            far: None,
            aggregation: Aggregation::default(),
            threshold: None,
        }
    }
}

/// A template matrix on the embedder's device, with the gallery generation and policy it was
/// built for.
type CachedIndex = (u64, Aggregation, Rc<TemplateIndex>);

/// Searches one gallery on an embedder's device, keeping the device's copy of the template
/// matrix until the gallery changes. The gallery sits in a `RefCell` because searches are
/// asynchronous: other calls (an enrollment) may change it while a GPU read is awaited, and
/// no borrow is held across that await.
#[derive(Default)]
pub struct Searcher {
    index: RefCell<Option<CachedIndex>>,
}

impl Searcher {
    /// A searcher with nothing on the device yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the device copy (after a migration, or to free device memory).
    pub fn invalidate(&self) {
        *self.index.borrow_mut() = None;
    }

    /// Who is `probe` (an embedding of `embedder`'s model)? `MODEL_MISMATCH` when the gallery
    /// belongs to another model; `CONFLICT` (retry) when it changed during the search.
    pub async fn identify(
        &self,
        gallery: &RefCell<Gallery>,
        embedder: &Embedder,
        probe: &[f32],
        options: &SearchOptions,
    ) -> Result<Identification> {
        let (generation, dim) = {
            let g = gallery.borrow();
            g.ensure_model(&embedder.model_ref())?;
            (g.generation(), g.model().dim)
        };
        let probe = crate::vector::normalised(probe, dim)?;
        let scores = if embedder.backend() == Backend::WebGpu {
            let index = self.index_for(gallery, embedder, options.aggregation)?;
            index.scores_async(&probe).await?
        } else {
            gallery.borrow().row_scores(&probe, options.aggregation)?
        };
        let g = gallery.borrow();
        if g.generation() != generation {
            return Err(Error::Conflict(
                "the gallery changed during the search; search again".into(),
            ));
        }
        g.identification(embedder, &scores, options)
    }

    fn index_for(
        &self,
        gallery: &RefCell<Gallery>,
        embedder: &Embedder,
        aggregation: Aggregation,
    ) -> Result<Rc<TemplateIndex>> {
        let g = gallery.borrow();
        let generation = g.generation();
        if let Some((gen, agg, index)) = self.index.borrow().as_ref() {
            if *gen == generation && *agg == aggregation {
                return Ok(index.clone());
            }
        }
        let index = Rc::new(TemplateIndex::new(
            g.search_matrix(aggregation),
            g.model().dim,
            embedder.device(),
        )?);
        *self.index.borrow_mut() = Some((generation, aggregation, index.clone()));
        Ok(index)
    }
}

impl Gallery {
    /// Who is `probe`? The CPU search with the calibrated search threshold of [`Searcher`]
    /// (which a WebGPU embedder should use instead, to keep the matrix on the device).
    pub fn search(
        &self,
        embedder: &Embedder,
        probe: &[f32],
        options: &SearchOptions,
    ) -> Result<Identification> {
        self.ensure_model(&embedder.model_ref())?;
        let probe = crate::vector::normalised(probe, self.model().dim)?;
        let scores = self.row_scores(&probe, options.aggregation)?;
        self.identification(embedder, &scores, options)
    }

    /// Ranks the row scores of a search: the threshold holds the search FAR over this gallery's
    /// comparisons, and each candidate's `far` estimates how often a search of this size would
    /// put a stranger that high.
    fn identification(
        &self,
        embedder: &Embedder,
        row_scores: &[f32],
        options: &SearchOptions,
    ) -> Result<Identification> {
        let comparisons = self.comparisons(options.aggregation).max(1);
        let threshold = match options.threshold {
            Some(t) if t.is_finite() => t,
            Some(t) => {
                return Err(Error::InvalidInput(format!(
                    "threshold {t} is not a number"
                )))
            }
            None => embedder.search_threshold(options.far, comparisons)?,
        };
        let identity_scores = self.fold(row_scores, options.aggregation)?;
        let mut result = self.rank(&identity_scores, options.top_k, threshold);
        for c in &mut result.candidates {
            c.far = embedder.search_far_at(c.similarity, comparisons);
        }
        result.far = Some(options.far.unwrap_or(DEFAULT_FAR));
        Ok(result)
    }
}
