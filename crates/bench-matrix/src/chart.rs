//! The chart: ns per call versus size, log-log, one panel per backend, for `sum_f64` through
//! ffikit from each caller beside the host-language loops. Written as SVG and as PNG.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::record::{Record, Run};

/// Fonts tried for the chart's text, in order (Debian's `fonts-dejavu-core`).
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// The chart's size in pixels.
const SIZE: (u32, u32) = (1500, 520);

fn register_font() -> Result<(), String> {
    let bytes = FONTS
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .ok_or_else(|| {
            format!(
                "no font for the chart's text (install fonts-dejavu-core); tried {}",
                FONTS.join(", ")
            )
        })?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| "the chart font could not be loaded".to_owned())
}

/// The series of one panel: (name, points (size, ns)).
fn series(run: &Run, backend: &str) -> Vec<(String, Vec<(f64, f64)>)> {
    let Some(machine) = run.machines.first() else {
        return Vec::new();
    };
    let pick = |f: &dyn Fn(&Record) -> bool| {
        let mut pts: Vec<(f64, f64)> = run
            .records
            .iter()
            .filter(|r| {
                r.machine == machine.label
                    && r.kernel == "sum_f64"
                    && r.threads == 1
                    && r.size > 0
                    && f(r)
            })
            .map(|r| (r.size as f64, r.time.median_ns))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    };
    let mut out = Vec::new();
    for caller in ["rust-typed", "rust-dynamic", "c", "go"] {
        let pts =
            pick(&|r| r.caller == caller && r.implementation == "ffikit" && r.backend == backend);
        if !pts.is_empty() {
            out.push((format!("ffikit {caller}"), pts));
        }
    }
    for (imp, name) in [
        ("rust-loop", "Rust loop"),
        ("c-loop", "C loop"),
        ("pure-go", "Go loop"),
    ] {
        let pts = pick(&|r| r.implementation == imp);
        if !pts.is_empty() {
            out.push((name.to_owned(), pts));
        }
    }
    out
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, run: &Run) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("drawing the chart: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((1, 3));
    for (area, backend) in panels.iter().zip(["native", "asm", "wasm"]) {
        let lines = series(run, backend);
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for (_, pts) in &lines {
            for &(_, y) in pts {
                lo = lo.min(y);
                hi = hi.max(y);
            }
        }
        if lines.is_empty() {
            lo = 1.0;
            hi = 10.0;
        }
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("sum_f64 via {backend}: ns per call"),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((1f64..1.0e6).log_scale(), (lo * 0.5..hi * 2.0).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("elements")
            .y_desc("ns per call")
            .draw()
            .map_err(err)?;
        for (i, (name, pts)) in lines.into_iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)
}

/// The chart as an SVG document.
///
/// # Errors
/// When no font for the text is found, or drawing fails.
pub fn svg(run: &Run) -> Result<String, String> {
    register_font()?;
    let mut out = String::new();
    draw(
        SVGBackend::with_string(&mut out, SIZE).into_drawing_area(),
        run,
    )?;
    Ok(out)
}

/// Writes the chart as a PNG file at `path`.
///
/// # Errors
/// As [`svg`], or when the file cannot be written.
pub fn png(run: &Run, path: &Path) -> Result<(), String> {
    register_font()?;
    draw(BitMapBackend::new(path, SIZE).into_drawing_area(), run)
}
