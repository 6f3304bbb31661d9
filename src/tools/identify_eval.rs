//! Open-set identification measured on a folder-per-person image set: for each aggregation
//! policy, enroll the first images of the people who have enough, probe with their other images
//! (genuine probes) and with people never enrolled (impostor probes).
//!
//! The people are split in two halves (alternating in name order) so that the default policy
//! can be chosen on one half and reported on the other.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::face::pipeline::Pipeline;
use crate::face::prepared::FaceMode;
use crate::gallery::{Aggregation, Gallery};
use crate::io::template::ModelRef;

/// One person's images, in name order.
pub struct Person {
    pub name: String,
    pub images: Vec<PathBuf>,
}

/// Every sub-folder of `root` with image files, in name order.
pub fn people(root: &Path) -> Result<Vec<Person>> {
    let read = |p: &Path| {
        std::fs::read_dir(p)
            .map_err(|e| Error::InvalidInput(format!("cannot list {}: {e}", p.display())))
    };
    let mut out = Vec::new();
    for entry in read(root)?.flatten() {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let mut images: Vec<PathBuf> = read(&dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                ["jpg", "jpeg", "png", "pgm", "bmp"].contains(&ext.to_ascii_lowercase().as_str())
            })
            .collect();
        images.sort();
        if !images.is_empty() {
            out.push(Person {
                name: entry.file_name().to_string_lossy().into_owned(),
                images,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The figures of one policy on one half.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyResult {
    pub aggregation: Aggregation,
    pub enrolled: usize,
    pub templates: usize,
    pub genuine_probes: usize,
    pub impostor_probes: usize,
    /// Genuine probes whose best candidate is the right person (closed set).
    pub rank1: f64,
    /// Genuine probes identified correctly and above the threshold (open set).
    pub detect_and_identify: f64,
    /// Impostor probes accepted as someone (open-set false accepts).
    pub false_accept: f64,
    /// The threshold that made a search's false-accept rate the target one.
    pub search_threshold: f32,
    /// Genuine probes identified correctly above the search threshold, and impostor probes
    /// accepted at it.
    pub search_identify: f64,
    pub search_false_accept: f64,
    pub probes_without_face: usize,
}

/// Runs the protocol: people with more than `enroll` images are enrolled with their first
/// `enroll`; the others' first image is an impostor probe. Open-set decisions are made at the
/// calibrated threshold for `far` per comparison, and at the one for `far` per search.
pub fn evaluate(
    pipeline: &Pipeline,
    people: &[Person],
    enroll: usize,
    far: f64,
    mode: FaceMode,
) -> Result<[Vec<PolicyResult>; 2]> {
    let paths: Vec<&PathBuf> = people.iter().flat_map(|p| &p.images).collect();
    let embeddings = crate::tools::eval::embed_all(pipeline, &paths, mode, true)?;
    let model = pipeline.embedder.model_ref();
    let halves = [0, 1].map(|half| {
        let subset: Vec<&Person> = people.iter().skip(half).step_by(2).collect();
        Aggregation::ALL
            .iter()
            .map(|&a| run_half(pipeline, &subset, &embeddings, &model, enroll, far, a))
            .collect::<Result<Vec<_>>>()
    });
    let [a, b] = halves;
    Ok([a?, b?])
}

fn run_half(
    pipeline: &Pipeline,
    people: &[&Person],
    embeddings: &HashMap<&Path, Option<Vec<f32>>>,
    model: &ModelRef,
    enroll: usize,
    far: f64,
    aggregation: Aggregation,
) -> Result<PolicyResult> {
    let mut gallery = Gallery::new(model.clone());
    let mut genuine: Vec<(&str, Option<&Vec<f32>>)> = Vec::new();
    let mut impostor: Vec<Option<&Vec<f32>>> = Vec::new();
    let embedding = |p: &PathBuf| embeddings.get(p.as_path()).and_then(|e| e.as_ref());
    for person in people {
        if person.images.len() > enroll {
            let templates: Vec<Vec<f32>> = person.images[..enroll]
                .iter()
                .filter_map(|p| embedding(p).cloned())
                .collect();
            if !templates.is_empty() {
                gallery.enroll(&person.name, &templates, None)?;
            }
            genuine.extend(
                person.images[enroll..]
                    .iter()
                    .map(|p| (person.name.as_str(), embedding(p))),
            );
        } else {
            impostor.push(embedding(&person.images[0]));
        }
    }
    let threshold = pipeline.embedder.threshold(Some(far))?;
    let search_threshold = pipeline
        .embedder
        .search_threshold(Some(far), gallery.comparisons(aggregation))?;
    let (mut rank1, mut dir, mut fa, mut no_face) = (0usize, 0usize, 0usize, 0usize);
    let (mut search_dir, mut search_fa) = (0usize, 0usize);
    for (name, e) in &genuine {
        let Some(e) = e else {
            no_face += 1;
            continue;
        };
        let scores = gallery.identity_scores(e, aggregation)?;
        let r = gallery.rank(&scores, 1, threshold);
        if r.candidates.first().map(|c| c.id.as_str()) == Some(name) {
            rank1 += 1;
        }
        if r.matched.as_deref() == Some(name) {
            dir += 1;
        }
        if gallery
            .rank(&scores, 1, search_threshold)
            .matched
            .as_deref()
            == Some(name)
        {
            search_dir += 1;
        }
    }
    for e in &impostor {
        let Some(e) = e else {
            no_face += 1;
            continue;
        };
        let scores = gallery.identity_scores(e, aggregation)?;
        if gallery.rank(&scores, 1, threshold).matched.is_some() {
            fa += 1;
        }
        if gallery.rank(&scores, 1, search_threshold).matched.is_some() {
            search_fa += 1;
        }
    }
    let share = |k: usize, n: usize| k as f64 / n.max(1) as f64;
    Ok(PolicyResult {
        aggregation,
        enrolled: gallery.size(),
        templates: gallery.template_count(),
        genuine_probes: genuine.len(),
        impostor_probes: impostor.len(),
        rank1: share(rank1, genuine.len()),
        detect_and_identify: share(dir, genuine.len()),
        false_accept: share(fa, impostor.len()),
        search_threshold,
        search_identify: share(search_dir, genuine.len()),
        search_false_accept: share(search_fa, impostor.len()),
        probes_without_face: no_face,
    })
}

/// The results as a Markdown table.
pub fn table(halves: &[Vec<PolicyResult>; 2]) -> String {
    let mut out = String::from(
        "| half | policy | enrolled (templates) | genuine / impostor probes | rank-1 | \
         per-comparison FAR: identified / impostors accepted | per-search FAR: threshold, \
         identified / impostors accepted | probes without a face |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (h, rows) in halves.iter().enumerate() {
        for r in rows {
            out += &format!(
                "| {} | {} | {} ({}) | {} / {} | {:.2} % | {:.2} % / {:.2} % | {:.4}: {:.2} % / {:.2} % | {} |\n",
                ["A", "B"][h],
                r.aggregation.name(),
                r.enrolled,
                r.templates,
                r.genuine_probes,
                r.impostor_probes,
                100.0 * r.rank1,
                100.0 * r.detect_and_identify,
                100.0 * r.false_accept,
                r.search_threshold,
                100.0 * r.search_identify,
                100.0 * r.search_false_accept,
                r.probes_without_face
            );
        }
    }
    out
}
