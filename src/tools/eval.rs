//! The evaluation command: embeds every image of a pair list once and reports the standard
//! verification metrics (see [`crate::tools::metrics`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::face::pipeline::Pipeline;
use crate::face::prepared::FaceMode;
use crate::face::quality::Quality;
use crate::image::Image;
use crate::score::verify;
use crate::tools::metrics::{self, RocPoint, Scored};
use crate::tools::pairs::Pair;
use crate::tools::reject::{calibrated_rates, quality_reject, QUALITY_REJECT};
pub use crate::tools::roc_plot::{roc_csv, roc_svg};

/// FARs at which TAR is reported.
pub const REPORTED_FARS: [f64; 3] = [1e-1, 1e-2, 1e-3];
/// FARs at which TAR is also reported against every cross-identity impostor pair.
pub const CROSS_FARS: [f64; 2] = [1e-3, 1e-4];

/// Everything `webverify eval` prints.
#[derive(Clone, Debug)]
pub struct Report {
    pub pairs: usize,
    pub images: usize,
    pub folds: usize,
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
    pub auc: f64,
    pub eer: f64,
    pub tar_at_far: Vec<(f64, f64)>,
    /// TAR of the list's genuine pairs at FARs measured on every cross-identity pair of its
    /// images (millions of impostors, so 1e-4 means something): (FAR, threshold, TAR, impostor
    /// pairs). Empty when the two images of a pair come from different embeddings (a curve).
    pub tar_cross: Vec<(f64, f32, f64, usize)>,
    /// With a calibrated model: (target FAR, threshold, FAR and TAR measured on these pairs).
    pub calibrated: Vec<(f64, f32, f64, f64)>,
    /// At the calibrated FAR 1e-3 threshold: (share of pairs rejected for the lowest quality,
    /// FNMR and FMR of the pairs kept, pairs kept, the lowest pair quality kept). The first
    /// entry rejects none.
    pub quality_reject: Vec<(f64, f64, f64, usize, f32)>,
    /// The same at the enrollment gate's fixed quality (`quality::MIN_QUALITY`): (share of
    /// pairs rejected, FNMR, FMR, pairs kept).
    pub quality_gate: Option<(f64, f64, f64, usize)>,
    /// Rejecting the lowest 10 % of pairs by one quality component alone (ties by the overall
    /// score): (component, FNMR, FMR, the lowest value kept), to see what each contributes.
    pub component_reject: Vec<(&'static str, f64, f64, f32)>,
    /// Each pair's quality: the worse of its images' components (`None` without a face).
    pub pair_quality: Vec<Option<Quality>>,
    pub failed_images: usize,
    pub failed_pairs: usize,
    pub seconds: f64,
    pub roc: Vec<RocPoint>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "pairs            {} ({} images, {} folds)",
            self.pairs, self.images, self.folds
        )?;
        writeln!(
            f,
            "accuracy         {:.2} % ± {:.2} (threshold chosen on the other folds)",
            100.0 * self.accuracy_mean,
            100.0 * self.accuracy_std
        )?;
        writeln!(f, "ROC AUC          {:.4}", self.auc)?;
        writeln!(f, "EER              {:.2} %", 100.0 * self.eer)?;
        for (far, tar) in &self.tar_at_far {
            writeln!(f, "TAR @ FAR={far:<7} {:.2} %", 100.0 * tar)?;
        }
        for (far, t, tar, n) in &self.tar_cross {
            writeln!(
                f,
                "TAR @ FAR={far:<7} {:.2} % (threshold {t:.4} from {n} cross-identity impostor pairs)",
                100.0 * tar
            )?;
        }
        for (target, t, far, tar) in &self.calibrated {
            writeln!(
                f,
                "calibrated FAR={target:<7} threshold {t:.4}: measured FAR {:.2} %, TAR {:.2} %",
                100.0 * far,
                100.0 * tar
            )?;
        }
        for (share, fnmr, fmr, kept, lowest) in &self.quality_reject {
            writeln!(
                f,
                "quality reject {:>3.0} %: FNMR {:.2} %, FMR {:.2} % at the FAR 1e-3 threshold ({kept} pairs kept, quality ≥ {lowest:.3})",
                100.0 * share,
                100.0 * fnmr,
                100.0 * fmr
            )?;
        }
        if let Some((share, fnmr, fmr, kept)) = self.quality_gate {
            writeln!(
                f,
                "quality gate {:.3}: rejects {:.1} % of pairs; FNMR {:.2} %, FMR {:.2} % ({kept} pairs kept)",
                crate::face::quality::MIN_QUALITY,
                100.0 * share,
                100.0 * fnmr,
                100.0 * fmr
            )?;
        }
        for (name, fnmr, fmr, lowest) in &self.component_reject {
            writeln!(
                f,
                "  by {name:<11} {:>3.0} %: FNMR {:.2} %, FMR {:.2} % ({name} ≥ {lowest:.3})",
                100.0 * QUALITY_REJECT[QUALITY_REJECT.len() - 1],
                100.0 * fnmr,
                100.0 * fmr
            )?;
        }
        writeln!(
            f,
            "no face found    {} images (each pair using one is scored -1, a sure reject: {} pairs)",
            self.failed_images, self.failed_pairs
        )?;
        write!(f, "time             {:.1} s", self.seconds)
    }
}

/// Every image of a pair list, once, sorted.
pub fn unique_images(pairs: &[Pair]) -> Vec<&PathBuf> {
    let mut unique: Vec<&PathBuf> = pairs.iter().flat_map(|p| [&p.a, &p.b]).collect();
    unique.sort();
    unique.dedup();
    unique
}

/// A progress bar over `len` items named `unit` (hidden when `show` is false).
pub fn progress_bar(len: usize, unit: &str, show: bool) -> indicatif::ProgressBar {
    let bar = if show {
        indicatif::ProgressBar::new(len as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Embeds each image once; `None` where no face was found.
pub fn embed_all<'p>(
    pipeline: &Pipeline,
    unique: &[&'p PathBuf],
    mode: FaceMode,
    progress: bool,
) -> Result<HashMap<&'p Path, Option<Vec<f32>>>> {
    Ok(embed_all_with_quality(pipeline, unique, mode, progress)?.embeddings)
}

/// What [`embed_images`] found per image.
#[derive(Default)]
pub struct Embedded<'p> {
    /// The embedding of the main face (`None` where no face was found).
    pub embeddings: HashMap<&'p Path, Option<Vec<f32>>>,
    /// The main face's quality (`crate::face::quality::quality`; none without a detected face).
    pub qualities: HashMap<&'p Path, Quality>,
    /// The main face (with [`FaceMode::Detect`]).
    pub faces: HashMap<&'p Path, crate::face::detect::Face>,
}

/// Embeds each image once (`None` where no face was found) and grades the face's quality.
pub fn embed_all_with_quality<'p>(
    pipeline: &Pipeline,
    unique: &[&'p PathBuf],
    mode: FaceMode,
    progress: bool,
) -> Result<Embedded<'p>> {
    let paths: Vec<&Path> = unique.iter().map(|p| p.as_path()).collect();
    embed_images(pipeline, &paths, |p| Image::open(p), mode, progress)
}

/// [`embed_all_with_quality`] on the images `load` makes of each path (a degraded photo).
pub fn embed_images<'p>(
    pipeline: &Pipeline,
    paths: &[&'p Path],
    load: impl Fn(&Path) -> Result<Image>,
    mode: FaceMode,
    progress: bool,
) -> Result<Embedded<'p>> {
    let bar = progress_bar(paths.len(), "images", progress);
    let mut out = Embedded::default();
    for chunk in paths.chunks(32) {
        let mut crops = Vec::new();
        let mut found = Vec::new();
        for &path in chunk {
            match pipeline.prepare(&load(path)?, mode) {
                Ok(p) => {
                    if let Some(q) = crate::face::quality::quality(&p) {
                        out.qualities.insert(path, q);
                    }
                    if let Some(face) = p.main {
                        out.faces.insert(path, face);
                    }
                    crops.push(p.crop);
                    found.push(path);
                }
                Err(Error::NoFace { .. }) => {
                    out.embeddings.insert(path, None);
                }
                Err(e) => return Err(e),
            }
        }
        if !crops.is_empty() {
            let batch = pipeline.embedder.embed_batch(&crops)?;
            for (path, e) in found.into_iter().zip(batch) {
                out.embeddings.insert(path, Some(e));
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// The components the graded pairs have (the mesh's two only where the pipeline ran the mesh).
fn component_names(pair_quality: &[Option<Quality>]) -> Vec<&'static str> {
    pair_quality
        .iter()
        .flatten()
        .next()
        .map(|q| q.components().into_iter().map(|c| c.0).collect())
        .unwrap_or_default()
}

/// Every pair's score as CSV, lowest-scoring genuine pairs easy to find with `sort`; then the
/// pair's quality and each component (the worse image's; empty without a face).
pub fn scores_csv(pairs: &[Pair], scored: &[Scored], report: &Report) -> String {
    let names = component_names(&report.pair_quality);
    let mut out = String::from("fold,same,score,a,b,quality");
    for name in &names {
        out += &format!(",{}", name.replace(' ', "_"));
    }
    out += "\n";
    for (i, (p, s)) in pairs.iter().zip(scored).enumerate() {
        out += &format!(
            "{},{},{:.6},{},{}",
            s.fold,
            u8::from(s.same),
            s.score,
            p.a.display(),
            p.b.display()
        );
        match report.pair_quality.get(i).copied().flatten() {
            Some(q) => {
                out += &format!(",{:.4}", q.score);
                for c in q.components() {
                    out += &format!(",{:.4}", c.1);
                }
            }
            None => out += &",".repeat(names.len() + 1),
        }
        out += "\n";
    }
    out
}

/// Impostor scores of every pair of images of different people (the person is the image's
/// folder), for calibration: far more negatives than a pair list holds.
pub fn cross_identity_impostors(embeddings: &HashMap<&Path, Option<Vec<f32>>>) -> Vec<f32> {
    let mut items: Vec<(&Path, &Vec<f32>)> = embeddings
        .iter()
        .filter_map(|(p, e)| e.as_ref().map(|e| (*p, e)))
        .collect();
    items.sort_by(|a, b| a.0.cmp(b.0));
    let person = |p: &Path| p.parent().map(Path::to_path_buf);
    let mut scores = Vec::new();
    for i in 0..items.len() {
        for j in i + 1..items.len() {
            if person(items[i].0) != person(items[j].0) {
                // Unit vectors: the dot product is the cosine.
                scores.push(items[i].1.iter().zip(items[j].1).map(|(a, b)| a * b).sum());
            }
        }
    }
    scores
}

/// Embeds the images of `pairs` (each once) and scores every pair. Images where no face is
/// found get no embedding: every pair using one is scored −1 (a sure reject), never dropped.
pub fn evaluate(
    pipeline: &Pipeline,
    pairs: &[Pair],
    mode: FaceMode,
    progress: bool,
) -> Result<(Vec<Scored>, Report)> {
    let start = Instant::now();
    let unique = unique_images(pairs);
    let embedded = embed_all_with_quality(pipeline, &unique, mode, progress)?;
    score_pairs(pipeline, pairs, &embedded, &embedded, start)
}

/// Scores every pair with its first image from `first` and its second from `second` (the same
/// embeddings, or the second images degraded), and measures the report.
pub fn score_pairs(
    pipeline: &Pipeline,
    pairs: &[Pair],
    first: &Embedded,
    second: &Embedded,
    start: Instant,
) -> Result<(Vec<Scored>, Report)> {
    fn lookup<'e>(e: &'e Embedded, path: &Path) -> Result<Option<&'e Vec<f32>>> {
        e.embeddings
            .get(path)
            .map(Option::as_ref)
            .ok_or_else(|| Error::InvalidInput(format!("{} was not embedded", path.display())))
    }
    let mut failed = std::collections::BTreeSet::new();
    let mut failed_pairs = 0;
    let mut scored = Vec::with_capacity(pairs.len());
    for p in pairs {
        let (a, b) = (lookup(first, &p.a)?, lookup(second, &p.b)?);
        if a.is_none() {
            failed.insert((0, &p.a));
        }
        if b.is_none() {
            failed.insert((1, &p.b));
        }
        let score = match (a, b) {
            (Some(a), Some(b)) => verify::similarity(a, b)?,
            _ => {
                failed_pairs += 1;
                -1.0
            }
        };
        scored.push(Scored {
            score,
            same: p.same,
            fold: p.fold,
        });
    }
    // The same file in both roles counts once when both roles read the same embeddings.
    let failed_images = if std::ptr::eq(first, second) {
        failed
            .iter()
            .map(|f| f.1)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    } else {
        failed.len()
    };
    if scored.iter().all(|s| s.same) || scored.iter().all(|s| !s.same) {
        return Err(Error::InvalidInput(
            "the pair list needs both same and different pairs".into(),
        ));
    }
    // A pair is as good as its worse image, component by component; an image without a face
    // has no quality (0 when ranking).
    let pair_quality: Vec<Option<Quality>> = pairs
        .iter()
        .map(|p| {
            let q = |e: &Embedded, path: &PathBuf| e.qualities.get(path.as_path()).copied();
            Some(q(first, &p.a)?.worse(&q(second, &p.b)?))
        })
        .collect();
    let ranked = |value: &dyn Fn(&Quality) -> Option<f32>| -> Vec<f32> {
        pair_quality
            .iter()
            .map(|q| q.as_ref().and_then(value).unwrap_or(0.0))
            .collect()
    };
    let overall = ranked(&|q| Some(q.score));
    // Each component alone, for the components every face has.
    let component_reject = component_names(&pair_quality)
        .into_iter()
        .filter_map(|name| {
            let values = ranked(&|q| q.component(name));
            let (rows, _) = quality_reject(pipeline, &scored, &values, &overall);
            let (_, fnmr, fmr, _, lowest) = *rows.last()?;
            Some((name, fnmr, fmr, lowest))
        })
        .collect();
    let tar_cross = if std::ptr::eq(first, second) {
        let impostor = cross_identity_impostors(&first.embeddings);
        CROSS_FARS
            .iter()
            .filter_map(|&far| {
                let (t, n) = metrics::threshold_at_far(&impostor, far)?;
                let genuine: Vec<f32> = scored.iter().filter(|s| s.same).map(|s| s.score).collect();
                let tar = genuine.iter().filter(|&&g| g >= t).count() as f64
                    / genuine.len().max(1) as f64;
                Some((far, t, tar, n))
            })
            .collect()
    } else {
        Vec::new()
    };
    let roc = metrics::roc(&scored);
    let (accuracy_mean, accuracy_std, _) = metrics::kfold_accuracy(&scored);
    let (quality_reject, quality_gate) = quality_reject(pipeline, &scored, &overall, &overall);
    let report = Report {
        pairs: pairs.len(),
        images: first.embeddings.len()
            + if std::ptr::eq(first, second) {
                0
            } else {
                second.embeddings.len()
            },
        folds: scored
            .iter()
            .map(|s| s.fold)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        accuracy_mean,
        accuracy_std,
        auc: metrics::auc(&roc),
        eer: metrics::eer(&roc),
        tar_at_far: REPORTED_FARS
            .iter()
            .map(|&f| (f, metrics::tar_at_far(&roc, f)))
            .collect(),
        tar_cross,
        quality_reject,
        quality_gate,
        component_reject,
        pair_quality,
        calibrated: calibrated_rates(pipeline, &scored),
        failed_images,
        failed_pairs,
        seconds: start.elapsed().as_secs_f64(),
        roc,
    };
    Ok((scored, report))
}
