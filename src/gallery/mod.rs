//! Enrollment and open-set identification: a gallery of identities, each with one or more
//! unit-length templates made by one model, searched with one matrix-vector product.
//!
//! Why this file is long: its 477 lines of code stay under the ~500-line rule; the other
//! 85 are its unit tests, kept beside the private items they exercise.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::io::template::{decode_gallery, encode_gallery, ModelRef, StoredIdentity};
use crate::vector::{dot, normalised};

pub mod enroll;
pub mod identify;
pub mod migrate;
pub mod search;

/// How the similarities of a probe to one identity's templates become that identity's score.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    /// The best-matching template.
    Best,
    /// The mean similarity over the templates.
    Mean,
    /// Similarity to the normalised mean of the templates: the default, chosen on half A of
    /// `webverify eval-identify` over LFW View 1 (identified at a search FAR of 1e-3: centroid
    /// 95.10 %, best 93.46 %, mean 90.74 %; docs/ACCURACY.md).
    #[default]
    Centroid,
}

impl Aggregation {
    /// Every policy.
    pub const ALL: [Aggregation; 3] = [Aggregation::Best, Aggregation::Mean, Aggregation::Centroid];

    /// `best`, `mean` or `centroid`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "best" => Ok(Self::Best),
            "mean" => Ok(Self::Mean),
            "centroid" => Ok(Self::Centroid),
            other => Err(Error::InvalidInput(format!(
                "aggregation {other:?}: use 'best', 'mean' or 'centroid'"
            ))),
        }
    }

    /// The policy's name as [`Aggregation::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Best => "best",
            Self::Mean => "mean",
            Self::Centroid => "centroid",
        }
    }
}

/// One enrolled identity as listed to the caller.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct IdentitySummary {
    /// The identity's id.
    pub id: String,
    /// How many templates it has.
    pub templates: usize,
    /// The caller's JSON metadata (empty when none was given).
    pub metadata: String,
}

/// One ranked candidate of an identification.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// The identity's id.
    pub id: String,
    /// Its score (cosine similarity under the search's aggregation).
    pub similarity: f32,
    /// How often a search of this gallery's size would put a stranger this high (set by the
    /// calibrated searches of [`identify`]; `None` without a calibration).
    pub far: Option<f64>,
}

/// The answer to "who is this?".
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Identification {
    /// Best first, at most `top_k`.
    pub candidates: Vec<Candidate>,
    /// The best candidate when it reaches the threshold; `None` means "nobody enrolled".
    #[serde(rename = "match")]
    pub matched: Option<String>,
    /// The cosine the best candidate had to reach.
    pub threshold: f32,
    /// The search false-accept rate the threshold was chosen for (calibrated searches only).
    pub far: Option<f64>,
}

/// Identities and their templates, tied to the model that made them.
///
/// ```
/// # fn main() -> webverify::Result<()> {
/// use webverify::{Aggregation, Gallery};
/// use webverify::io::template::ModelRef;
/// let model = ModelRef { name: "example".into(), sha256: "0".repeat(64), dim: 3 };
/// let mut gallery = Gallery::new(model.clone());
/// gallery.enroll("ada", &[vec![1.0, 0.0, 0.0]], None)?;
/// gallery.enroll("bob", &[vec![0.0, 1.0, 0.0]], None)?;
/// let who = gallery.identify(&[0.9, 0.1, 0.0], 1, 0.5, Aggregation::Centroid)?;
/// assert_eq!(who.matched.as_deref(), Some("ada"));
/// let again = Gallery::from_bytes(&gallery.to_bytes(), model)?;
/// assert_eq!(again.size(), 2);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Gallery {
    model: ModelRef,
    identities: Vec<StoredIdentity>,
    /// All templates one after another (`dim` floats each), and the identity each belongs to:
    /// the search is one pass over this matrix.
    matrix: Vec<f32>,
    owners: Vec<usize>,
    /// Identity name → index in `identities`.
    positions: HashMap<String, usize>,
    /// Each identity's normalised centroid, one after another (zero for templates that cancel).
    centroids: Vec<f32>,
    /// Changes whenever the templates do, so that copies of the matrix (on a GPU) know when
    /// they are stale.
    generation: u64,
}

/// The normalised mean of `templates` (zeros when they cancel out).
fn centroid(templates: &[Vec<f32>], dim: usize) -> Vec<f32> {
    let mut c = vec![0f32; dim];
    for t in templates {
        c.iter_mut().zip(t).for_each(|(a, b)| *a += b);
    }
    normalised(&c, dim).unwrap_or_else(|_| vec![0.0; dim])
}

impl Gallery {
    /// An empty gallery for templates of `model`.
    pub fn new(model: ModelRef) -> Self {
        Self {
            model,
            identities: Vec::new(),
            matrix: Vec::new(),
            owners: Vec::new(),
            centroids: Vec::new(),
            positions: HashMap::new(),
            generation: 0,
        }
    }

    /// A number that changes whenever the templates change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The model whose templates this gallery holds.
    pub fn model(&self) -> &ModelRef {
        &self.model
    }

    /// [`Gallery::enroll`] with the templates packed one after another (`count × dim` values).
    pub fn enroll_packed(
        &mut self,
        id: &str,
        values: &[f32],
        metadata: Option<&str>,
    ) -> Result<()> {
        let dim = self.model.dim;
        if dim == 0 || values.is_empty() || values.len() % dim != 0 {
            return Err(Error::InvalidInput(format!(
                "{} values are not a whole number of {dim}-d embeddings",
                values.len()
            )));
        }
        let list: Vec<Vec<f32>> = values.chunks_exact(dim).map(<[f32]>::to_vec).collect();
        self.enroll(id, &list, metadata)
    }

    /// Adds templates to `id` (creating it); `metadata`, when given, replaces its metadata.
    pub fn enroll(
        &mut self,
        id: &str,
        embeddings: &[Vec<f32>],
        metadata: Option<&str>,
    ) -> Result<()> {
        if id.is_empty() || id.len() > 1024 {
            return Err(Error::InvalidInput(
                "an identity needs a name of 1 to 1024 bytes".into(),
            ));
        }
        if embeddings.is_empty() {
            return Err(Error::InvalidInput(format!(
                "no templates to enroll for {id:?}"
            )));
        }
        // Stored galleries hold JSON metadata (the loader refuses anything else).
        if let Some(m) = metadata.filter(|m| !m.is_empty()) {
            serde_json::from_str::<serde_json::Value>(m).map_err(|e| {
                Error::InvalidInput(format!("the metadata of {id:?} is not JSON: {e}"))
            })?;
        }
        let templates = embeddings
            .iter()
            .map(|e| normalised(e, self.model.dim))
            .collect::<Result<Vec<_>>>()?;
        // Appending in place keeps enrolling n identities O(n), not O(n²): the matrix rows
        // need not be grouped by identity, `owners` says whose each row is.
        let owner = match self.positions.get(id) {
            Some(&i) => i,
            None => {
                self.identities.push(StoredIdentity {
                    id: id.into(),
                    metadata: String::new(),
                    templates: Vec::new(),
                });
                self.positions.insert(id.into(), self.identities.len() - 1);
                self.centroids.extend(vec![0.0; self.model.dim]);
                self.identities.len() - 1
            }
        };
        for t in &templates {
            self.matrix.extend_from_slice(t);
            self.owners.push(owner);
        }
        let identity = &mut self.identities[owner];
        identity.templates.extend(templates);
        if let Some(m) = metadata {
            identity.metadata = m.into();
        }
        let dim = self.model.dim;
        self.centroids[owner * dim..(owner + 1) * dim]
            .copy_from_slice(&centroid(&identity.templates, dim));
        self.generation += 1;
        Ok(())
    }

    /// Errors with `MODEL_MISMATCH` unless `model` made this gallery's templates: comparing
    /// embeddings of two models gives meaningless similarities.
    pub fn ensure_model(&self, model: &ModelRef) -> Result<()> {
        if &self.model == model {
            return Ok(());
        }
        Err(Error::ModelMismatch(format!(
            "this gallery was enrolled with model {} ({}…) but the embeddings come from {} ({}…), \
             e.g. after fine-tuning: migrate the gallery (adapter fine-tunes) or enroll again",
            self.model.name,
            self.model.sha256.get(..12).unwrap_or(""),
            model.name,
            model.sha256.get(..12).unwrap_or(""),
        )))
    }

    /// Re-expresses every template for `model` through `map` (a fine-tuning adapter), keeping
    /// identities and metadata.
    pub fn migrate(&mut self, model: ModelRef, map: impl Fn(&[f32]) -> Vec<f32>) -> Result<()> {
        if model.dim != self.model.dim {
            return Err(Error::ModelMismatch(format!(
                "cannot migrate {}-d templates to a {}-d model",
                self.model.dim, model.dim
            )));
        }
        let dim = model.dim;
        for identity in &mut self.identities {
            identity.templates = identity
                .templates
                .iter()
                .map(|t| normalised(&map(t), dim))
                .collect::<Result<Vec<_>>>()?;
        }
        self.model = model;
        self.reindex();
        Ok(())
    }

    /// Removes `id`; `false` when it was not enrolled.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.identities.len();
        self.identities.retain(|i| i.id != id);
        self.reindex();
        self.identities.len() != before
    }

    /// The identities in enrollment order.
    pub fn list(&self) -> Vec<IdentitySummary> {
        self.identities
            .iter()
            .map(|i| IdentitySummary {
                id: i.id.clone(),
                templates: i.templates.len(),
                metadata: i.metadata.clone(),
            })
            .collect()
    }

    /// Number of identities.
    pub fn size(&self) -> usize {
        self.identities.len()
    }

    /// Number of templates over all identities.
    pub fn template_count(&self) -> usize {
        self.owners.len()
    }

    fn reindex(&mut self) {
        self.generation += 1;
        self.matrix.clear();
        self.owners.clear();
        self.centroids.clear();
        self.positions.clear();
        let dim = self.model.dim;
        for (owner, identity) in self.identities.iter().enumerate() {
            for t in &identity.templates {
                self.matrix.extend_from_slice(t);
                self.owners.push(owner);
            }
            self.centroids.extend(centroid(&identity.templates, dim));
            self.positions.insert(identity.id.clone(), owner);
        }
    }

    /// How many independent comparisons one search makes under `aggregation`: each is a chance
    /// for an impostor to pass, so the open-set false-accept rate of a search is about this many
    /// times the per-comparison FAR (see [`per_comparison_far`]).
    pub fn comparisons(&self, aggregation: Aggregation) -> usize {
        match aggregation {
            Aggregation::Best => self.template_count(),
            _ => self.size(),
        }
    }

    /// The matrix a search multiplies with the probe under `aggregation`: every template
    /// (`best`, `mean`) or each identity's normalised centroid (`centroid`; a centroid of
    /// templates that cancel out is a zero row and scores 0).
    pub fn search_matrix(&self, aggregation: Aggregation) -> &[f32] {
        match aggregation {
            Aggregation::Centroid => &self.centroids,
            _ => &self.matrix,
        }
    }

    /// Each identity's score for `probe`, in enrollment order.
    pub fn identity_scores(&self, probe: &[f32], aggregation: Aggregation) -> Result<Vec<f32>> {
        let scores = self.row_scores(probe, aggregation)?;
        self.fold(&scores, aggregation)
    }

    /// Every row of [`Gallery::search_matrix`] scored against `probe` on the CPU.
    pub fn row_scores(&self, probe: &[f32], aggregation: Aggregation) -> Result<Vec<f32>> {
        let probe = normalised(probe, self.model.dim)?;
        Ok(self
            .search_matrix(aggregation)
            .chunks_exact(self.model.dim)
            .map(|row| dot(row, &probe))
            .collect())
    }

    /// Folds the rows' scores of [`Gallery::search_matrix`] (e.g. computed on a GPU) into
    /// per-identity scores.
    pub fn fold(&self, scores: &[f32], aggregation: Aggregation) -> Result<Vec<f32>> {
        let rows = match aggregation {
            Aggregation::Centroid => self.identities.len(),
            _ => self.owners.len(),
        };
        if scores.len() != rows {
            return Err(Error::InvalidInput(format!(
                "{} scores for a search matrix of {rows} rows",
                scores.len()
            )));
        }
        if aggregation == Aggregation::Centroid {
            return Ok(scores.to_vec());
        }
        let n = self.identities.len();
        let (mut best, mut sum, mut count) =
            (vec![f32::NEG_INFINITY; n], vec![0f32; n], vec![0usize; n]);
        for (&s, &o) in scores.iter().zip(&self.owners) {
            best[o] = best[o].max(s);
            sum[o] += s;
            count[o] += 1;
        }
        Ok(match aggregation {
            Aggregation::Mean => sum
                .iter()
                .zip(&count)
                .map(|(s, &c)| s / c.max(1) as f32)
                .collect(),
            _ => best,
        })
    }

    /// The `top_k` best identities for `probe`, and the match when the best reaches
    /// `threshold` (open set: below it the answer is "nobody enrolled").
    pub fn identify(
        &self,
        probe: &[f32],
        top_k: usize,
        threshold: f32,
        aggregation: Aggregation,
    ) -> Result<Identification> {
        let scores = self.identity_scores(probe, aggregation)?;
        Ok(self.rank(&scores, top_k, threshold))
    }

    /// Ranks per-identity scores (e.g. computed on a GPU) into an identification.
    pub fn rank(&self, identity_scores: &[f32], top_k: usize, threshold: f32) -> Identification {
        let mut order: Vec<usize> = (0..identity_scores.len().min(self.identities.len())).collect();
        let best_first = |a: &usize, b: &usize| identity_scores[*b].total_cmp(&identity_scores[*a]);
        // Only the top k are ordered: O(n) selection instead of sorting the whole gallery.
        let k = top_k.max(1);
        if order.len() > k {
            order.select_nth_unstable_by(k - 1, best_first);
            order.truncate(k);
        }
        order.sort_by(best_first);
        let candidates: Vec<Candidate> = order
            .into_iter()
            .take(top_k.max(1))
            .map(|i| Candidate {
                id: self.identities[i].id.clone(),
                similarity: identity_scores[i],
                far: None,
            })
            .collect();
        let matched = candidates
            .first()
            .filter(|c| c.similarity >= threshold)
            .map(|c| c.id.clone());
        Identification {
            candidates,
            matched,
            threshold,
            far: None,
        }
    }

    /// The similarities of `embedding` to the templates already enrolled for `id` (empty when
    /// `id` is new), for the consistency check of enrollment.
    pub fn similarities_to(&self, id: &str, embedding: &[f32]) -> Result<Vec<f32>> {
        let probe = normalised(embedding, self.model.dim)?;
        Ok(self
            .positions
            .get(id)
            .map(|&i| {
                self.identities[i]
                    .templates
                    .iter()
                    .map(|t| dot(t, &probe))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The templates in one flat row-major matrix, `template_count × dim`.
    pub fn matrix(&self) -> &[f32] {
        &self.matrix
    }

    /// The whole gallery as bytes (see [`crate::io::template`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_gallery(&self.model, &self.identities)
    }

    /// The whole gallery as bytes sealed under `key` (at least 16 bytes; see
    /// [`crate::io::sealed`]): nobody without the key can forge or alter them.
    pub fn to_sealed_bytes(&self, key: &[u8]) -> Result<Vec<u8>> {
        crate::io::sealed::seal(&self.to_bytes(), key)
    }

    /// A gallery from bytes, refused unless it was made by `model`.
    pub fn from_bytes(bytes: &[u8], model: ModelRef) -> Result<Self> {
        let identities = decode_gallery(bytes, &model)?;
        let mut g = Self::new(model);
        g.identities = identities;
        g.reindex();
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ModelRef {
        ModelRef {
            name: "test".into(),
            sha256: "00".repeat(32),
            dim: 3,
        }
    }

    fn gallery() -> Gallery {
        let mut g = Gallery::new(model());
        g.enroll(
            "x",
            &[vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]],
            Some("{\"n\":1}"),
        )
        .unwrap();
        g.enroll("z", &[vec![0.0, 0.0, 2.0]], None).unwrap();
        g
    }

    #[test]
    fn policies_score_as_defined() {
        let g = gallery();
        // Probe at 45° between x's two templates.
        let p = [1.0, 1.0, 0.0];
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let best = g.identity_scores(&p, Aggregation::Best).unwrap();
        assert!((best[0] - h).abs() < 1e-6 && best[1].abs() < 1e-6);
        let mean = g.identity_scores(&p, Aggregation::Mean).unwrap();
        assert!((mean[0] - h).abs() < 1e-6);
        let centroid = g.identity_scores(&p, Aggregation::Centroid).unwrap();
        assert!(
            (centroid[0] - 1.0).abs() < 1e-6,
            "the centroid is the probe's direction"
        );
        let q = [1.0, 0.0, 0.0];
        let mean = g.identity_scores(&q, Aggregation::Mean).unwrap();
        assert!((mean[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn open_set_identification() {
        let g = gallery();
        let hit = g
            .identify(&[0.1, 0.0, 0.9], 5, 0.5, Aggregation::Best)
            .unwrap();
        assert_eq!(hit.matched.as_deref(), Some("z"));
        assert_eq!(hit.candidates.len(), 2);
        assert!(hit.candidates[0].similarity > hit.candidates[1].similarity);
        let stranger = g
            .identify(&[-1.0, -1.0, -1.0], 1, 0.5, Aggregation::Best)
            .unwrap();
        assert_eq!(stranger.matched, None);
        assert_eq!(stranger.candidates.len(), 1);
    }

    #[test]
    fn enroll_remove_list_and_round_trip() {
        let mut g = gallery();
        g.enroll("x", &[vec![0.0, 0.0, 1.0]], None).unwrap();
        assert_eq!(g.size(), 2);
        assert_eq!(g.template_count(), 4);
        assert_eq!(g.list()[0].metadata, "{\"n\":1}");
        let back = Gallery::from_bytes(&g.to_bytes(), model()).unwrap();
        assert_eq!(back.list(), g.list());
        for a in Aggregation::ALL {
            let p = [0.3, -0.2, 0.9];
            assert_eq!(
                back.identity_scores(&p, a).unwrap(),
                g.identity_scores(&p, a).unwrap()
            );
        }
        assert!(g.remove("x") && !g.remove("x"));
        assert_eq!((g.size(), g.template_count()), (1, 1));
        assert!(g.enroll("", &[vec![1.0, 0.0, 0.0]], None).is_err());
        assert!(g.enroll("y", &[vec![1.0, 0.0]], None).is_err());
        assert!(g.enroll("y", &[vec![f32::NAN, 0.0, 0.0]], None).is_err());
        assert!(g.identify(&[0.0, 0.0], 1, 0.5, Aggregation::Best).is_err());
    }
}
