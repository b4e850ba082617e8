//! Charts: accessible root element, escaping, labels at the offset, the summary figures,
//! and well-formed output (tags balanced).

use super::*;

const HOUR: i64 = 3_600_000;
/// 2026-11-23T00:00:00Z.
const DAY0: i64 = 1_795_392_000_000;

fn hours(counts: &[(u64, u64)]) -> Vec<BucketCount> {
    counts
        .iter()
        .enumerate()
        .map(|(i, &(total, answered))| BucketCount {
            start: DAY0 + i as i64 * HOUR,
            total,
            answered,
        })
        .collect()
}

/// Checks that every element is closed in order; returns the element names opened.
pub(crate) fn balanced(svg: &str) -> Result<Vec<String>, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        let close = rest[open..]
            .find('>')
            .ok_or_else(|| "unterminated tag".to_owned())?;
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(top) if top == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        seen.push(name.clone());
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    if stack.is_empty() {
        Ok(seen)
    } else {
        Err(format!("unclosed: {stack:?}"))
    }
}

#[test]
fn chart_is_accessible_scalable_and_well_formed() {
    let buckets = hours(&[(0, 0), (3, 2), (7, 5), (1, 0)]);
    let chart = CallsChart {
        title: "Calls per hour <today> & \"more\"",
        buckets: &buckets,
        bucket: Bucket::Hour,
        tz_offset_minutes: 0,
        answered: true,
    };
    let svg = calls_svg(&chart).unwrap_or_else(|e| panic!("{e}"));
    let first = svg.lines().next().unwrap_or_default();
    assert!(first.starts_with("<svg "), "{first}");
    assert!(first.contains("role=\"img\""));
    assert!(first.contains("viewBox=\"0 0 640 320\""));
    assert!(!first.contains("width=\"640\""), "no fixed size: {first}");
    assert!(first.contains(
        "aria-label=\"Calls per hour &lt;today&gt; &amp; &quot;more&quot;: 11 calls, 7 \
         answered, over 4 hours; busiest hour 02:00 with 7 calls.\""
    ));
    assert!(svg.contains("<title>Calls per hour &lt;today&gt; &amp; &quot;more&quot;</title>"));
    let tags = balanced(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    assert_eq!(tags.first().map(String::as_str), Some("svg"));
    assert_eq!(tags.iter().filter(|t| *t == "svg").count(), 1);
    // Legend and axis text are there.
    assert!(
        svg.contains(">\nAnswered\n<") || svg.contains(">Answered<"),
        "{svg}"
    );
    assert!(svg.contains("Calls"));
    assert!(svg.contains("01:00"), "hour labels: {svg}");
}

#[test]
fn total_only_has_no_legend_and_labels_follow_the_offset() {
    let buckets: Vec<BucketCount> = (0..7)
        .map(|d| BucketCount {
            start: DAY0 + d * 24 * HOUR - 60 * 60_000,
            total: d as u64,
            answered: 0,
        })
        .collect();
    let chart = CallsChart {
        title: "Calls per day",
        buckets: &buckets,
        bucket: Bucket::Day,
        tz_offset_minutes: 60,
        answered: false,
    };
    let svg = calls_svg(&chart).unwrap_or_else(|e| panic!("{e}"));
    assert!(!svg.contains("Answered"));
    // Local midnight at UTC+1 is 23:00 UTC the day before: labels are local dates.
    assert!(svg.contains("11-23"), "{svg}");
    assert!(svg.contains("busiest day 11-29 with 6 calls"), "{svg}");
    balanced(&svg).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn an_empty_period_still_draws_axes() {
    let buckets = hours(&[(0, 0); 24]);
    let chart = CallsChart {
        title: "Calls per hour today",
        buckets: &buckets,
        bucket: Bucket::Hour,
        tz_offset_minutes: -300,
        answered: false,
    };
    let svg = calls_svg(&chart).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        svg.contains("aria-label=\"Calls per hour today: 0 calls, 0 answered, over 24 hours.\"")
    );
    assert!(svg.contains("19:00"), "UTC-5 labels: {svg}");
    balanced(&svg).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn escaping_covers_markup_characters() {
    assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    assert_eq!(bucket_label(DAY0 + 5 * HOUR, Bucket::Hour, 90), "06:00");
}
