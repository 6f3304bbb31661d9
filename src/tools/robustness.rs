//! Robustness curves: verification measured with the second photo of every pair degraded
//! (`crate::tools::degrade`) at each level of one kind, the first photos clean. Each level
//! reports what a deployment sees: accuracy and TAR at FAR 1e-3 on every pair, how many pairs
//! the enrollment quality gate would hold back, and the error on the pairs it keeps.

use std::path::Path;
use std::time::Instant;

use crate::error::Result;
use crate::face::pipeline::Pipeline;
use crate::face::prepared::FaceMode;
use crate::image::Image;
use crate::tools::degrade::{self, Kind};
use crate::tools::eval::{self, Report};
use crate::tools::pairs::Pair;

/// One level of a curve.
#[derive(Clone, Debug)]
pub struct Level {
    pub level: f32,
    pub report: Report,
}

/// The curves of each kind over its levels on `pairs`: the clean photos are embedded once, and
/// a kind's clean level (0, or JPEG 100) reuses them.
pub fn curves(
    pipeline: &Pipeline,
    pairs: &[Pair],
    mode: FaceMode,
    kinds: &[(Kind, Vec<f32>)],
    progress: bool,
) -> Result<Vec<Vec<Level>>> {
    let unique = eval::unique_images(pairs);
    let start = Instant::now();
    let clean = eval::embed_all_with_quality(pipeline, &unique, mode, progress)?;
    let (_, clean_report) = eval::score_pairs(pipeline, pairs, &clean, &clean, start)?;
    let mut second: Vec<&Path> = pairs.iter().map(|p| p.b.as_path()).collect();
    second.sort();
    second.dedup();
    kinds
        .iter()
        .map(|(kind, levels)| {
            curve(
                pipeline,
                pairs,
                mode,
                *kind,
                levels,
                &clean,
                &clean_report,
                &second,
                progress,
            )
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn curve(
    pipeline: &Pipeline,
    pairs: &[Pair],
    mode: FaceMode,
    kind: Kind,
    levels: &[f32],
    clean: &eval::Embedded,
    clean_report: &Report,
    second: &[&Path],
    progress: bool,
) -> Result<Vec<Level>> {
    levels
        .iter()
        .map(|&level| {
            if kind.is_clean(level) {
                return Ok(Level {
                    level,
                    report: clean_report.clone(),
                });
            }
            let start = Instant::now();
            // The same noise for a photo at every level, different between photos.
            let load = |path: &Path| -> Result<Image> {
                let photo = Image::open(path)?;
                let face = clean.faces.get(path).map(|f| (f.bbox.width, &f.landmarks));
                if face.is_none() && needs_face(kind) {
                    // No face on the clean photo: nothing to place an occluder on; the pair is
                    // scored −1 already.
                    return Ok(photo);
                }
                degrade::apply(&photo, kind, level, face, seed(path))
            };
            let degraded = eval::embed_images(pipeline, second, load, mode, progress)?;
            let (_, report) = eval::score_pairs(pipeline, pairs, clean, &degraded, start)?;
            Ok(Level { level, report })
        })
        .collect()
}

fn needs_face(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Width | Kind::Sunglasses | Kind::Mask | Kind::Hand
    )
}

/// A seed from the file name, so that a photo's noise does not depend on the list's order.
fn seed(path: &Path) -> u64 {
    path.to_string_lossy()
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        })
}

/// The curve as a Markdown table (what docs/ACCURACY.md holds).
pub fn table(kind: Kind, levels: &[Level]) -> String {
    let mut out = format!(
        "| {} | accuracy | TAR @ FAR 1e-3 | FNMR / FMR at the calibrated 1e-3 threshold | no face | quality gate rejects | FNMR / FMR of the pairs kept |\n|---|---|---|---|---|---|---|\n",
        kind.describe()
    );
    for l in levels {
        let r = &l.report;
        let tar = r
            .tar_at_far
            .iter()
            .find(|(far, _)| *far == 1e-3)
            .map_or(f64::NAN, |t| t.1);
        let at_threshold = r
            .calibrated
            .iter()
            .find(|c| c.0 == 1e-3)
            .map_or("–".to_string(), |c| {
                format!("{:.2} % / {:.2} %", 100.0 * (1.0 - c.3), 100.0 * c.2)
            });
        let (gate, kept) = r.quality_gate.map_or(("–".into(), "–".into()), |g| {
            (
                format!("{:.1} %", 100.0 * g.0),
                format!("{:.2} % / {:.2} % ({})", 100.0 * g.1, 100.0 * g.2, g.3),
            )
        });
        out += &format!(
            "| {} | {:.2} % ± {:.2} | {:.2} % | {at_threshold} | {} | {gate} | {kept} |\n",
            l.level,
            100.0 * r.accuracy_mean,
            100.0 * r.accuracy_std,
            100.0 * tar,
            r.failed_pairs,
        );
    }
    out
}

/// One plotted figure of a level's report, in %.
type Metric = Box<dyn Fn(&Report) -> f64>;

/// The curve drawn as SVG: accuracy, TAR at FAR 1e-3 and the share the quality gate rejects,
/// against the level.
pub fn svg(kind: Kind, levels: &[Level], title: &str, path: &Path) -> Result<()> {
    use plotters::prelude::*;
    let fail = |e: &dyn std::fmt::Display| {
        crate::Error::InvalidInput(format!("plotting {}: {e}", path.display()))
    };
    let xs: Vec<f64> = levels.iter().map(|l| l.level as f64).collect();
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let root = SVGBackend::new(path, (640, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(lo - 0.02 * span..hi + 0.02 * span, 0.0..100.0)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc(kind.describe())
        .y_desc("%")
        .draw()
        .map_err(|e| fail(&e))?;
    let series: [(&str, RGBColor, Metric); 3] = [
        (
            "accuracy",
            BLUE,
            Box::new(|r: &Report| 100.0 * r.accuracy_mean),
        ),
        (
            "TAR @ FAR 1e-3",
            RGBColor(0, 140, 70),
            Box::new(|r: &Report| {
                100.0
                    * r.tar_at_far
                        .iter()
                        .find(|t| t.0 == 1e-3)
                        .map_or(0.0, |t| t.1)
            }),
        ),
        (
            "pairs the quality gate rejects",
            RGBColor(200, 60, 30),
            Box::new(|r: &Report| 100.0 * r.quality_gate.map_or(0.0, |g| g.0)),
        ),
    ];
    for (name, colour, value) in series {
        let points: Vec<(f64, f64)> = levels
            .iter()
            .map(|l| (l.level as f64, value(&l.report)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )
            .map_err(|e| fail(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerLeft)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))
}
