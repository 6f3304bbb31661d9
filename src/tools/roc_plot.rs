//! The ROC curve written out, for `webverify eval` and `eval-liveness`: as CSV and as an SVG plot.

use std::path::Path;

use crate::error::{Error, Result};
use crate::tools::metrics::RocPoint;

/// The ROC curve as CSV: threshold, far, tar.
pub fn roc_csv(roc: &[RocPoint]) -> String {
    let mut out = String::from("threshold,far,tar\n");
    for p in roc {
        out += &format!("{},{},{}\n", p.threshold, p.far, p.tar);
    }
    out
}

/// Draws the ROC curve (TAR against FAR on a log axis) as SVG.
pub fn roc_svg(roc: &[RocPoint], title: &str, path: &Path) -> Result<()> {
    use plotters::prelude::*;
    let fail = |e: &dyn std::fmt::Display| {
        Error::InvalidInput(format!("plotting {}: {e}", path.display()))
    };
    let root = SVGBackend::new(path, (640, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let min_far = roc
        .iter()
        .map(|p| p.far)
        .filter(|&f| f > 0.0)
        .fold(1.0, f64::min)
        .min(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((min_far..1.0).log_scale(), 0.0..1.0)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("false accept rate")
        .y_desc("true accept rate")
        .draw()
        .map_err(|e| fail(&e))?;
    chart
        .draw_series(LineSeries::new(
            roc.iter().filter(|p| p.far > 0.0).map(|p| (p.far, p.tar)),
            &BLUE,
        ))
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))
}
