//! SVG plots (plotters' SVG backend): latency CDFs and a throughput timeline.

use std::path::Path;

use plotters::prelude::*;

const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Cumulative distributions of latency samples (ms, sorted); `log_x` draws the x axis in log10.
pub fn cdf(
    path: &Path,
    title: &str,
    x_label: &str,
    series: &[(String, Vec<f64>)],
    log_x: bool,
) -> anyhow::Result<()> {
    let series: Vec<&(String, Vec<f64>)> = series.iter().filter(|(_, v)| !v.is_empty()).collect();
    if series.is_empty() {
        return Ok(());
    }
    let tx = |v: f64| if log_x { v.max(0.01).log10() } else { v };
    let lo = series
        .iter()
        .map(|(_, v)| tx(v[0]))
        .fold(f64::INFINITY, f64::min);
    let hi = series
        .iter()
        .map(|(_, v)| tx(v[v.len() - 1]))
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if log_x {
        (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
    } else {
        (lo.min(0.0), if hi > lo { hi * 1.05 } else { lo + 1.0 })
    };
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(lo..hi, 0f64..1.0)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc("fraction of requests ≤ x")
        .x_label_formatter(&|v| {
            if log_x {
                fmt_ms(10f64.powf(*v))
            } else {
                fmt_ms(*v)
            }
        })
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .draw()?;
    for (i, (label, v)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let n = v.len();
        let step = (n / 2000).max(1);
        let mut pts: Vec<(f64, f64)> = (0..n)
            .step_by(step)
            .map(|k| (tx(v[k]), (k + 1) as f64 / n as f64))
            .collect();
        pts.push((tx(v[n - 1]), 1.0));
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(format!(
                "{label} (n={n}, p50 {} ms, p99 {} ms)",
                fmt_ms(crate::stats::pct(v, 0.5)),
                fmt_ms(crate::stats::pct(v, 0.99))
            ))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Lines of (x, y) points.
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> anyhow::Result<()> {
    lines_on(path, title, x_label, y_label, series, false)
}

/// Lines of (x, y) points, on a logarithmic x axis (x > 0) when `log_x`.
pub fn lines_on(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    log_x: bool,
) -> anyhow::Result<()> {
    let series: Vec<&(String, Vec<(f64, f64)>)> =
        series.iter().filter(|(_, v)| !v.is_empty()).collect();
    if series.is_empty() {
        return Ok(());
    }
    let x_hi = series
        .iter()
        .flat_map(|(_, v)| v.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let y_hi = series
        .iter()
        .flat_map(|(_, v)| v.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65);
    if log_x {
        let x_lo = series
            .iter()
            .flat_map(|(_, v)| v.iter().map(|p| p.0))
            .fold(f64::INFINITY, f64::min)
            .max(f64::MIN_POSITIVE);
        let mut chart =
            builder.build_cartesian_2d((x_lo / 1.5..x_hi * 1.5).log_scale(), 0f64..y_hi)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .draw()?;
        draw_lines(&mut chart, &series)?;
    } else {
        let mut chart = builder.build_cartesian_2d(0f64..x_hi, 0f64..y_hi)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .draw()?;
        draw_lines(&mut chart, &series)?;
    }
    root.present()?;
    Ok(())
}

fn draw_lines<'a, X>(
    chart: &mut ChartContext<
        'a,
        SVGBackend<'a>,
        Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
    >,
    series: &[&(String, Vec<(f64, f64)>)],
) -> anyhow::Result<()>
where
    X: Ranged<ValueType = f64>,
{
    for (i, (label, v)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(v.iter().copied(), color.stroke_width(2)))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
