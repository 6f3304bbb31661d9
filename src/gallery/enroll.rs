//! Enrollment through the quality gate: the photo checks of [`crate::face::quality`], then a
//! consistency check against the identity's templates at a lenient calibrated threshold.

use crate::error::Result;
use crate::face::quality::{Issue, Offered};
use crate::gallery::Gallery;
use crate::score::embedder::Embedder;

/// The lenient FAR of the consistency check: a new template must look at least this much like
/// one of the identity's other templates (1 impostor pair in 100 would pass).
pub const CONSISTENCY_FAR: f64 = 1e-2;

/// The issue when `embedding` disagrees with the templates already enrolled for `id`: its best
/// similarity to them is below `threshold` (a lenient one, e.g. the calibrated FAR 1e-2 threshold).
pub fn consistency_issue(
    gallery: &Gallery,
    id: &str,
    embedding: &[f32],
    threshold: f32,
) -> Result<Option<Issue>> {
    let sims = gallery.similarities_to(id, embedding)?;
    let best = sims.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    Ok((!sims.is_empty() && best < threshold).then(|| Issue {
        code: crate::face::quality::issue_code::INCONSISTENT,
        message: format!(
            "this face does not look like {id}'s {} enrolled template(s) (best similarity {best:.3}, \
             expected at least {threshold:.3}): another person?",
            sims.len()
        ),
    }))
}

/// What enrollment did with each photo.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EnrollReport {
    /// Templates added.
    pub enrolled: usize,
    /// Per offered photo, in order: the issues found (enrolled anyway when `force`).
    pub issues: Vec<Vec<Issue>>,
}

/// Enrolls the offered photos that pass the gate (all that have a face when `force`).
pub fn enroll_offered(
    gallery: &mut Gallery,
    id: &str,
    offered: Vec<Offered>,
    metadata: Option<&str>,
    force: bool,
    consistency_threshold: f32,
) -> Result<EnrollReport> {
    let mut accepted = Vec::new();
    let mut report = Vec::new();
    for mut o in offered {
        if let Some(e) = &o.embedding {
            if let Some(issue) = consistency_issue(gallery, id, e, consistency_threshold)? {
                o.issues.push(issue);
            }
            if force || o.issues.is_empty() {
                accepted.push(e.clone());
            }
        }
        report.push(o.issues);
    }
    if !accepted.is_empty() {
        gallery.enroll(id, &accepted, metadata)?;
    }
    Ok(EnrollReport {
        enrolled: accepted.len(),
        issues: report,
    })
}

impl Gallery {
    /// Enrolls the photos `embedder` offered (see `Pipeline::offer_async`) that pass the gate
    /// (all that have a face when `force`) under `id`: the consistency threshold is the
    /// embedder's calibrated one at [`CONSISTENCY_FAR`] (its default threshold without a
    /// calibration). `MODEL_MISMATCH` when the gallery belongs to another model.
    pub fn enroll_photos(
        &mut self,
        embedder: &Embedder,
        id: &str,
        offered: Vec<Offered>,
        metadata: Option<&str>,
        force: bool,
    ) -> Result<EnrollReport> {
        self.ensure_model(&embedder.model_ref())?;
        let threshold = embedder
            .threshold(Some(CONSISTENCY_FAR))
            .or_else(|_| embedder.threshold(None))?;
        enroll_offered(self, id, offered, metadata, force, threshold)
    }
}
