//! A KPI's trend as an SVG line chart rendered on the server (charts-rs), with its
//! benchmark as a dashed line, for the console's dashboard and the weekly review. Steps
//! without data are gaps, not zeros: a rate with nothing to divide by has no value.

use super::report::KpiFigure;
use charts_rs::{LineChart, MarkLine, MarkLineCategory, Series};

/// The figure's trend, or None when it has no step (a KPI the report does not keep).
pub fn trend_svg(figure: &KpiFigure, width: f32, height: f32) -> Option<String> {
    if figure.series.is_empty() {
        return None;
    }
    // Months read as `2026-12`, days and weeks as `12-07`.
    let labels: Vec<String> = figure
        .series
        .iter()
        .map(|p| p.period.get(5..).unwrap_or(&p.period).to_owned())
        .collect();
    let values: Vec<Option<f32>> = figure
        .series
        .iter()
        .map(|p| p.value.map(|v| v as f32))
        .collect();
    let mut series = Series::new_nullable(figure.title.clone(), values);
    if let Some(b) = &figure.benchmark {
        series.mark_lines = vec![MarkLine {
            category: MarkLineCategory::Value(b.target as f32),
            color: Some((176, 32, 32).into()),
            stroke_width: Some(1.5),
            stroke_dash_array: Some("6,3".into()),
        }];
    }
    // The benchmark stays in sight even when every value is far from it.
    let highest = values_max(figure).max(figure.benchmark.as_ref().map_or(0.0, |b| b.target));
    let mut chart = LineChart::new(vec![series], labels);
    if let Some(axis) = chart.y_axis_configs.first_mut() {
        axis.min = Some(0.0);
        axis.max = Some(if highest > 0.0 {
            (highest * 1.1) as f32
        } else {
            1.0
        });
    }
    chart.width = width;
    chart.height = height;
    chart.legend.show = Some(false);
    match chart.svg() {
        Ok(svg) => Some(svg),
        Err(e) => {
            tracing::warn!(kpi = %figure.name, error = %e, "a trend chart could not be drawn");
            None
        }
    }
}

fn values_max(figure: &KpiFigure) -> f64 {
    figure
        .series
        .iter()
        .filter_map(|p| p.value)
        .fold(0.0, f64::max)
}
