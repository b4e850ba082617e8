//! Call charts as SVG, drawn with plotters' SVG backend: calls per bucket (hour or day) of
//! a report, optionally answered against total. The report page (`/api/v1/reports/chart.svg`)
//! and the dashboard (`/api/v1/charts/today.svg`) serve them.
//!
//! Every chart is an accessible, scalable image: the root `<svg>` carries `role="img"`, an
//! `aria-label` that states the figures (what a screen reader announces), a `<title>` and a
//! `<desc>`; it has a `viewBox` and no fixed width or height, so it scales to its container.
//! The drawing is sized for phones too: a small canvas with large type, a handful of axis
//! labels, a white background (readable on a dark page).
//!
//! Text is laid out with plotters' built-in estimate (no font feature, no font files): the
//! SVG carries `<text>` elements that the browser renders with its own fonts.
//!
//! Depends on: `crate::cdr::query::report` (the buckets), plotters, chrono (labels).

use plotters::coord::ranged1d::SegmentValue;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::*;

use crate::cdr::query::{Bucket, BucketCount};

/// Canvas size in SVG user units (the `viewBox`); the image scales to its container.
const WIDTH: u32 = 640;
const HEIGHT: u32 = 320;

/// Type sizes (plotters divides by 1.24 for the SVG `font-size`): 21 and 19 units, still
/// about 12 and 11 px when the chart fills a 360 px wide phone screen.
const LABEL_SIZE: f64 = 26.0;
const LEGEND_SIZE: f64 = 24.0;

/// At most this many labels on the time axis (a phone has room for no more).
const X_LABELS: usize = 6;

/// Total calls: a mid blue; answered: a dark blue (contrast ≥ 3:1 against each other and
/// against the white background, WCAG 1.4.11).
const TOTAL_COLOUR: RGBColor = RGBColor(0x7f, 0xa7, 0xd9);
const ANSWERED_COLOUR: RGBColor = RGBColor(0x1a, 0x3f, 0x7a);
/// Axis and label text.
const TEXT_COLOUR: RGBColor = RGBColor(0x1f, 0x29, 0x33);

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// plotters refused the layout or the SVG backend failed.
    #[error("drawing the chart failed: {0}")]
    Draw(#[from] DrawingAreaErrorKind<std::io::Error>),
}

/// What to draw: a bar per bucket.
#[derive(Debug, Clone, Copy)]
pub struct CallsChart<'a> {
    /// The image's title (`<title>`), e.g. `Calls per hour, 2026-11-23`.
    pub title: &'a str,
    /// The buckets, in order (every bucket of the period, zeros included).
    pub buckets: &'a [BucketCount],
    /// Their size (axis labels: `HH:00` or `MM-DD`).
    pub bucket: Bucket,
    /// The local offset the buckets follow, minutes east of UTC.
    pub tz_offset_minutes: i32,
    /// Draw answered calls over the total (with a legend) instead of the total alone.
    pub answered: bool,
}

/// The chart as a complete SVG document.
pub fn calls_svg(chart: &CallsChart<'_>) -> Result<String, ChartError> {
    let mut svg = String::new();
    draw(chart, &mut svg)?;
    let summary = summary(chart);
    Ok(accessible(&svg, chart.title, &summary))
}

fn draw(chart: &CallsChart<'_>, out: &mut String) -> Result<(), ChartError> {
    let n = u32::try_from(chart.buckets.len())
        .unwrap_or(u32::MAX)
        .max(1);
    let top = chart.buckets.iter().map(|b| b.total).max().unwrap_or(0);
    // Headroom above the highest bar; at least 1 so an empty period still has an axis.
    let y_max = (top + top.div_ceil(10)).max(1);
    let labels: Vec<String> = chart
        .buckets
        .iter()
        .map(|b| bucket_label(b.start, chart.bucket, chart.tz_offset_minutes))
        .collect();
    let x_label = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut plot = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((0u32..n).into_segmented(), 0u64..y_max)?;
    let text = ("sans-serif", LABEL_SIZE).into_font().color(&TEXT_COLOUR);
    plot.configure_mesh()
        .disable_x_mesh()
        .bold_line_style(TEXT_COLOUR.mix(0.15))
        .light_line_style(TRANSPARENT)
        .axis_style(TEXT_COLOUR)
        .x_labels(X_LABELS)
        .y_labels(5)
        .x_label_formatter(&x_label)
        .y_label_formatter(&|v| v.to_string())
        .label_style(text.clone())
        .axis_desc_style(text)
        .y_desc("Calls")
        .draw()?;
    let bars = |colour: RGBColor, value: fn(&BucketCount) -> u64| {
        Histogram::vertical(&plot)
            .style(colour.filled())
            .margin(2)
            .data(
                chart
                    .buckets
                    .iter()
                    .enumerate()
                    .map(move |(i, b)| (u32::try_from(i).unwrap_or(u32::MAX), value(b))),
            )
    };
    let total = bars(TOTAL_COLOUR, |b| b.total);
    let answered = bars(ANSWERED_COLOUR, |b| b.answered);
    plot.draw_series(total)?
        .label("Total")
        .legend(|(x, y)| Rectangle::new([(x, y - 7), (x + 14, y + 7)], TOTAL_COLOUR.filled()));
    if chart.answered {
        plot.draw_series(answered)?
            .label("Answered")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 7), (x + 14, y + 7)], ANSWERED_COLOUR.filled())
            });
        plot.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(TEXT_COLOUR.mix(0.4))
            .label_font(("sans-serif", LEGEND_SIZE).into_font().color(&TEXT_COLOUR))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// `HH:00` for an hour bucket, `MM-DD` for a day, in local time at the offset.
fn bucket_label(start: i64, bucket: Bucket, tz_offset_minutes: i32) -> String {
    let local = start.saturating_add(i64::from(tz_offset_minutes) * 60_000);
    let Some(t) = chrono::DateTime::from_timestamp_millis(local) else {
        return String::new();
    };
    match bucket {
        Bucket::Hour => t.format("%H:00").to_string(),
        Bucket::Day => t.format("%m-%d").to_string(),
    }
}

/// The figures in one sentence (the `aria-label` and `<desc>`): totals, and the busiest
/// bucket.
fn summary(chart: &CallsChart<'_>) -> String {
    let total: u64 = chart.buckets.iter().map(|b| b.total).sum();
    let answered: u64 = chart.buckets.iter().map(|b| b.answered).sum();
    let unit = match chart.bucket {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
    };
    let mut text = format!(
        "{}: {total} calls, {answered} answered, over {} {unit}s",
        chart.title,
        chart.buckets.len()
    );
    // The first of the busiest buckets, when there are calls at all.
    let busiest = chart.buckets.iter().filter(|b| b.total > 0).fold(
        None::<&BucketCount>,
        |best, b| match best {
            Some(m) if m.total >= b.total => Some(m),
            _ => Some(b),
        },
    );
    if let Some(b) = busiest {
        let at = bucket_label(b.start, chart.bucket, chart.tz_offset_minutes);
        text.push_str(&format!("; busiest {unit} {at} with {} calls", b.total));
    }
    text.push('.');
    text
}

/// Replaces plotters' fixed-size `<svg …>` opening tag with a scalable, labelled one and
/// adds `<title>` and `<desc>` as its first children.
fn accessible(svg: &str, title: &str, summary: &str) -> String {
    // plotters writes `<svg width=… height=… viewBox=… xmlns=…>` first; everything after
    // the first `>` is the drawing.
    let body = svg.find('>').map_or(svg, |end| &svg[end + 1..]);
    let label = escape(summary);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         preserveAspectRatio=\"xMidYMid meet\" style=\"width:100%;height:auto\" role=\"img\" \
         aria-label=\"{label}\">\n<title>{}</title>\n<desc>{label}</desc>{body}",
        escape(title)
    )
}

/// XML escaping for text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "charts/tests.rs"]
mod tests;
