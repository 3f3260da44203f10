//! Server-side SVG charts for the dashboard pages and the HTML report: a
//! horizontal bar chart for top-N lists and a line/area chart for time
//! series. Every chart is one `<svg class="chart" data-points="N">` with one
//! element of class `point` per data point (the browser test counts them),
//! a `<title>` tooltip on each point, and no external reference (no
//! `xmlns` URL either: the charts are inline in HTML, where it is implied).
//! Output is deterministic: the same data gives the same bytes.

use std::fmt::Write;

/// Chart width in SVG user units (the CSS scales it to the container).
const WIDTH: f64 = 640.0;
/// Labels longer than this many characters are cut (the tooltip has all).
const LABEL_CHARS: usize = 32;

/// Escapes text for HTML and SVG content and attribute values (quoted with
/// `"` or `'`). Every piece of user or network data goes through this.
/// `/` and `=` are character references too (rendered the same): a URL or
/// `src=` seen on the network then never appears as such in a page's or
/// the report's bytes, whatever reads them.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '/' => out.push_str("&#47;"),
            '=' => out.push_str("&#61;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML text; show them.
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `12345` as `12,345`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `2026-11-29 05:00:00` (UTC) for nanoseconds since the epoch.
pub fn format_time(ts_ns: i64) -> String {
    let full = store::format_ts(ts_ns);
    // format_ts gives `YYYY-MM-DDTHH:MM:SS.fffffffffZ`; years past 9999
    // are longer, so cut at the fraction rather than at a fixed width.
    let seconds = full.split('.').next().unwrap_or(&full);
    seconds.replacen('T', " ", 1)
}

/// The first `max` characters of `text`, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A round axis step (1, 2 or 5 times a power of ten) giving about `ticks`
/// steps up to `max`, and the axis end (a multiple of the step, >= max).
fn axis_scale(max: u64, ticks: u64) -> (u64, u64) {
    let raw = max.div_ceil(ticks.max(1)).max(1);
    let mut magnitude = 1u64;
    while magnitude.saturating_mul(10) <= raw {
        magnitude *= 10;
    }
    let step = [1, 2, 5, 10].iter().map(|m| magnitude.saturating_mul(*m)).find(|s| *s >= raw).unwrap_or(raw);
    (step, max.div_ceil(step).max(1).saturating_mul(step))
}

/// 0, `step`, 2 × `step`, ... up to `max` (and no further when the next
/// one would pass u64::MAX).
fn ticks(step: u64, max: u64) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(0u64), move |t| t.checked_add(step)).take_while(move |t| *t <= max)
}

/// The opening tag and title shared by both chart kinds.
fn open_svg(out: &mut String, title: &str, height: f64, points: usize) {
    let title = escape(title);
    let _ = write!(
        out,
        "<svg class=\"chart\" data-points=\"{points}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{title}\">\
         <text class=\"chart-title\" x=\"8\" y=\"16\">{title}</text>"
    );
}

fn no_data(title: &str) -> String {
    let mut out = String::new();
    open_svg(&mut out, title, 60.0, 0);
    out.push_str("<text class=\"no-data\" x=\"8\" y=\"44\">no data in this range</text></svg>");
    out
}

/// Horizontal bars, one per `(label, count)` row, in the order given (the
/// store gives top-N largest first), with a count axis along the bottom.
pub fn bar_chart(title: &str, rows: &[(String, u64)]) -> String {
    if rows.is_empty() {
        return no_data(title);
    }
    const ROW: f64 = 20.0;
    const TOP: f64 = 28.0;
    const LABELS: f64 = 220.0;
    const RIGHT: f64 = 64.0;
    let height = TOP + ROW * rows.len() as f64 + 28.0;
    let plot_width = WIDTH - LABELS - RIGHT;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let (step, axis_max) = axis_scale(max, 4);
    let x_of = |v: u64| LABELS + plot_width * v as f64 / axis_max as f64;
    let axis_y = TOP + ROW * rows.len() as f64;

    let mut out = String::with_capacity(256 + rows.len() * 256);
    open_svg(&mut out, title, height, rows.len());
    for tick in ticks(step, axis_max) {
        let x = x_of(tick);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP:.1}\" x2=\"{x:.1}\" y2=\"{axis_y:.1}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            axis_y + 14.0,
            format_count(tick)
        );
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LABELS:.1}\" y1=\"{axis_y:.1}\" x2=\"{:.1}\" y2=\"{axis_y:.1}\"/>",
        WIDTH - RIGHT
    );
    for (i, (label, count)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let width = (x_of(*count) - LABELS).max(1.0);
        let tip = escape(&format!("{label}: {}", format_count(*count)));
        let _ = write!(
            out,
            "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"point bar\" x=\"{LABELS:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{:.1}\"><title>{tip}</title></rect>\
             <text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            LABELS - 6.0,
            y + 14.0,
            escape(&shorten(label, LABEL_CHARS)),
            y + 3.0,
            ROW - 6.0,
            LABELS + width + 4.0,
            y + 14.0,
            format_count(*count)
        );
    }
    out.push_str("</svg>");
    out
}

/// Bucket widths a time series may be drawn at (minutes): the smallest
/// that keeps the series under the bucket limit is taken.
const BUCKET_MINUTES: &[i64] =
    &[1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10_080, 20_160, 43_200, 131_040, 525_600];

/// Sums a per-minute series (ascending minute starts, as `store::Query::
/// series` gives) into at most `max_buckets` equal buckets covering
/// `[from_ns, to_ns)`, empty buckets included as zeros, so the line shows
/// quiet periods. Returns the buckets (start, count) and the bucket width.
pub fn bucket_series(series: &[(i64, u64)], from_ns: i64, to_ns: i64, max_buckets: usize) -> (Vec<(i64, u64)>, i64) {
    const MINUTE: i64 = store::NS_PER_MINUTE;
    let max_buckets = max_buckets.max(1) as i64;
    let start = store::minute_of(from_ns);
    let span_minutes = (to_ns.saturating_sub(start).max(1) as i128 + MINUTE as i128 - 1) / MINUTE as i128;
    let span_minutes = span_minutes.min(i64::MAX as i128) as i64;
    let buckets_of = |w: i64| (span_minutes + w - 1) / w;
    let width_minutes = BUCKET_MINUTES
        .iter()
        .copied()
        .find(|w| buckets_of(*w) <= max_buckets)
        // Longer than the table covers: whole years, as many as needed.
        .unwrap_or_else(|| (span_minutes / max_buckets / 525_600 + 1) * 525_600);
    let width = width_minutes.saturating_mul(MINUTE);
    let count = buckets_of(width_minutes).min(max_buckets) as usize;
    let mut buckets: Vec<(i64, u64)> =
        (0..count).map(|i| (start.saturating_add(width.saturating_mul(i as i64)), 0)).collect();
    for (minute, n) in series {
        if *minute < start || *minute >= to_ns {
            continue;
        }
        let Some(offset) = minute.checked_sub(start) else { continue };
        if let Some(b) = buckets.get_mut((offset / width) as usize) {
            b.1 = b.1.saturating_add(*n);
        }
    }
    (buckets, width)
}

/// `width_ns` as a short unit for axis captions: `1 min`, `2 h`, `7 d`.
pub fn format_width(width_ns: i64) -> String {
    let minutes = width_ns / store::NS_PER_MINUTE;
    match minutes {
        m if m > 0 && m % 1440 == 0 => format!("{} d", m / 1440),
        m if m > 0 && m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

/// A line over an area, one point per `(bucket start ns, count)` (ascending,
/// evenly spaced, as [`bucket_series`] gives), with a count axis on the left
/// and time labels along the bottom. `unit` names what one point counts
/// (`events per 1 min`).
pub fn line_chart(title: &str, unit: &str, points: &[(i64, u64)]) -> String {
    if points.is_empty() {
        return no_data(title);
    }
    const HEIGHT: f64 = 240.0;
    const LEFT: f64 = 56.0;
    const RIGHT: f64 = 16.0;
    const TOP: f64 = 28.0;
    const BOTTOM: f64 = 40.0;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let base = TOP + plot_height;
    let max = points.iter().map(|p| p.1).max().unwrap_or(0);
    let (step, axis_max) = axis_scale(max, 4);
    let x_of = |i: usize| {
        if points.len() == 1 {
            LEFT + plot_width / 2.0
        } else {
            LEFT + plot_width * i as f64 / (points.len() - 1) as f64
        }
    };
    let y_of = |v: u64| base - plot_height * v as f64 / axis_max as f64;
    let first = points[0].0;
    let last = points[points.len() - 1].0;
    // Within a day the clock is enough; longer ranges need the date.
    let label = |ts: i64| {
        let t = format_time(ts);
        if last.saturating_sub(first) < 86_400 * 1_000_000_000 {
            t.get(11..16).unwrap_or(&t).to_owned()
        } else {
            t.get(..10).unwrap_or(&t).to_owned()
        }
    };

    let mut out = String::with_capacity(512 + points.len() * 160);
    open_svg(&mut out, title, HEIGHT, points.len());
    for tick in ticks(step, axis_max) {
        let y = y_of(tick);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            format_count(tick)
        );
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT:.1}\" y1=\"{base:.1}\" x2=\"{:.1}\" y2=\"{base:.1}\"/>\
         <line class=\"axis\" x1=\"{LEFT:.1}\" y1=\"{TOP:.1}\" x2=\"{LEFT:.1}\" y2=\"{base:.1}\"/>",
        WIDTH - RIGHT
    );
    // Up to six time labels, evenly spread, the first and last included.
    let labels = points.len().min(6);
    let mut labelled: Vec<usize> =
        (0..labels).map(|k| if labels == 1 { 0 } else { k * (points.len() - 1) / (labels - 1) }).collect();
    labelled.dedup();
    for i in labelled {
        let x = x_of(i);
        // The end labels are held inside the chart.
        let anchor = match i {
            _ if points.len() == 1 => "middle",
            0 => "start",
            i if i == points.len() - 1 => "end",
            _ => "middle",
        };
        let _ = write!(
            out,
            "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{base:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            base + 4.0,
            base + 16.0,
            escape(&label(points[i].0))
        );
    }
    let _ = write!(
        out,
        "<text class=\"caption\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} (UTC)</text>",
        WIDTH - RIGHT,
        HEIGHT - 6.0,
        escape(unit)
    );
    let mut line = String::with_capacity(points.len() * 16);
    for (i, (_, n)) in points.iter().enumerate() {
        let _ = write!(line, "{}{:.1},{:.1}", if i == 0 { "" } else { " " }, x_of(i), y_of(*n));
    }
    let _ = write!(
        out,
        "<path class=\"area\" d=\"M{:.1},{base:.1} L{line} L{:.1},{base:.1} Z\"/><polyline class=\"line\" points=\"{line}\"/>",
        x_of(0),
        x_of(points.len() - 1)
    );
    for (i, (ts, n)) in points.iter().enumerate() {
        let _ = write!(
            out,
            "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\"><title>{}: {}</title></circle>",
            x_of(i),
            y_of(*n),
            escape(&format_time(*ts)),
            format_count(*n)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = store::NS_PER_MINUTE;

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn escape_covers_markup_quotes_and_controls() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;&#47;script&gt;&amp;&#39;"
        );
        assert_eq!(escape("http://a/?src=x"), "http:&#47;&#47;a&#47;?src&#61;x");
        assert_eq!(escape("a\u{0}b"), "a\\u{0}b");
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn bar_chart_has_one_point_per_row_and_escapes_labels() {
        let rows = vec![("<img src=x onerror=alert(1)>".to_string(), 120), ("b\"ad".to_string(), 7)];
        let svg = bar_chart("top <feeds>", &rows);
        assert!(svg.starts_with("<svg class=\"chart\" data-points=\"2\""), "{svg}");
        assert_eq!(count(&svg, "class=\"point"), 2);
        assert_eq!(count(&svg, "<title>"), 2);
        assert!(!svg.contains("<img"), "{svg}");
        assert!(svg.contains("&lt;img src&#61;x onerror&#61;alert(1)&gt;: 120"), "{svg}");
        assert!(svg.contains("top &lt;feeds&gt;"));
        assert!(!svg.contains("http"), "no namespace URL or any other reference");
        // Deterministic.
        assert_eq!(svg, bar_chart("top <feeds>", &rows));
    }

    #[test]
    fn bar_lengths_follow_the_counts() {
        let svg = bar_chart("t", &[("a".into(), 100), ("b".into(), 50)]);
        let widths: Vec<f64> =
            svg.split("width=\"").skip(1).map(|s| s.split('"').next().unwrap().parse().unwrap()).collect();
        assert_eq!(widths.len(), 2);
        assert!((widths[0] / widths[1] - 2.0).abs() < 0.01, "{widths:?}");
    }

    #[test]
    fn long_labels_are_cut_but_the_tooltip_keeps_them() {
        let long = "x".repeat(80);
        let svg = bar_chart("t", &[(long.clone(), 1)]);
        assert!(svg.contains(&format!("{}…", "x".repeat(LABEL_CHARS - 1))));
        assert!(svg.contains(&format!("<title>{long}: 1</title>")));
    }

    #[test]
    fn empty_data_says_so_with_zero_points() {
        for svg in [bar_chart("t", &[]), line_chart("t", "u", &[])] {
            assert!(svg.contains("data-points=\"0\""));
            assert!(svg.contains("no data"));
            assert_eq!(count(&svg, "class=\"point"), 0);
        }
    }

    #[test]
    fn axis_scale_is_round_and_covers_the_maximum() {
        assert_eq!(axis_scale(0, 4), (1, 1));
        assert_eq!(axis_scale(7, 4), (2, 8));
        assert_eq!(axis_scale(100, 4), (50, 100));
        assert_eq!(axis_scale(12_345, 4), (5000, 15_000));
        assert_eq!(axis_scale(u64::MAX, 4).1, u64::MAX);
        // Huge counts draw (saturated), never overflow.
        assert!(bar_chart("t", &[("a".into(), u64::MAX)]).contains("data-points=\"1\""));
        assert!(line_chart("t", "u", &[(0, u64::MAX), (60, 1)]).contains("data-points=\"2\""));
    }

    #[test]
    fn series_buckets_fill_quiet_minutes_with_zeros() {
        let t0 = 1_795_928_400_000_000_000;
        let series = [(t0, 3), (t0 + 5 * MIN, 4)];
        let (b, width) = bucket_series(&series, t0, t0 + 10 * MIN, 60);
        assert_eq!(width, MIN);
        assert_eq!(b.len(), 10);
        assert_eq!(b[0], (t0, 3));
        assert_eq!(b[1], (t0 + MIN, 0));
        assert_eq!(b[5], (t0 + 5 * MIN, 4));
        assert_eq!(b.iter().map(|x| x.1).sum::<u64>(), 7);
    }

    #[test]
    fn long_ranges_get_wider_buckets_and_keep_every_count() {
        let t0 = 20_000_000 * MIN;
        // Ten years of sparse minutes.
        let series: Vec<(i64, u64)> = (0..200).map(|i| (t0 + i * 26_000 * MIN, 1 + i as u64 % 5)).collect();
        let to = t0 + 200 * 26_000 * MIN;
        let (b, width) = bucket_series(&series, t0, to, 120);
        assert!(b.len() <= 120, "{}", b.len());
        assert!(width >= 43_200 * MIN, "{}", format_width(width));
        assert_eq!(b.iter().map(|x| x.1).sum::<u64>(), series.iter().map(|x| x.1).sum::<u64>());
        // Beyond the table: whole years.
        let (b, width) = bucket_series(&[(0, 1)], 0, 200 * 525_600 * MIN, 100);
        assert!(b.len() <= 100);
        assert_eq!(width % (525_600 * MIN), 0);
    }

    #[test]
    fn line_chart_has_one_point_per_bucket_and_time_labels() {
        let t0 = 1_795_928_400_000_000_000;
        let (b, width) = bucket_series(&[(t0, 2), (t0 + 3 * MIN, 9)], t0, t0 + 4 * MIN, 60);
        let svg = line_chart("events <per> minute", &format!("events per {}", format_width(width)), &b);
        assert!(svg.contains("data-points=\"4\""), "{svg}");
        assert_eq!(count(&svg, "<circle class=\"point\""), 4);
        assert!(svg.contains("<title>2026-11-29 05:03:00: 9</title>"), "{svg}");
        assert!(svg.contains(">05:00<"), "clock labels within a day: {svg}");
        assert!(svg.contains("events &lt;per&gt; minute"));
        assert!(svg.contains("events per 1 min (UTC)"));
        assert!(!svg.contains("http"));
        // The highest point is at the top of the plot, zero on the axis.
        assert!(svg.contains("r=\"2.5\"><title>2026-11-29 05:01:00: 0</title>"));
    }

    #[test]
    fn counts_and_times_are_formatted_for_people() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(1_234_567), "1,234,567");
        assert_eq!(format_time(954_147_395_148_077_123), "2000-03-27 08:56:35");
        assert_eq!(format_width(MIN), "1 min");
        assert_eq!(format_width(120 * MIN), "2 h");
        assert_eq!(format_width(10_080 * MIN), "7 d");
    }
}
