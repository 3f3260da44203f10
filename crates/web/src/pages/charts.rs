//! The charts the pages show and the script refreshes (`/chart/...`):
//! built from the store's per-minute aggregates, drawn by [`crate::svg`].

use super::PageResult;
use super::html::dim_label;
use crate::svg;

const MINUTE: i64 = store::NS_PER_MINUTE;

/// The hour of data up to the newest stored event: replayed captures have
/// old timestamps, so "now" is the store's latest minute, not the clock.
pub fn latest_hour(q: &store::Query) -> Result<Option<(i64, i64)>, store::StoreError> {
    Ok(q.counts()?.newest_ns.map(|newest| {
        let to = store::minute_of(newest.clamp(0, crate::report::LATEST_NS)) + MINUTE;
        (to.saturating_sub(60 * MINUTE), to)
    }))
}

/// Events per minute over the latest hour of data.
pub fn rate(q: &store::Query) -> PageResult {
    let Some((from, to)) = latest_hour(q)? else {
        return Ok(svg::line_chart("events per minute", "events per 1 min", &[]));
    };
    let series = q.series("all", None, from, to)?;
    let (points, width) = svg::bucket_series(&series, from, to, 60);
    let title = format!("events per minute, the hour to {}", svg::format_time(to));
    Ok(svg::line_chart(&title, &format!("events per {}", svg::format_width(width)), &points))
}

/// The top 10 of `dim` over everything stored.
pub fn all_time_top(q: &store::Query, dim: &str) -> PageResult {
    top(q, dim, i64::MIN, i64::MAX, 10, &format!("{} (everything stored)", dim_label(dim)))
}

/// The top `n` of `dim` over the minutes overlapping `[from, to)`.
pub fn top(q: &store::Query, dim: &str, from: i64, to: i64, n: usize, title: &str) -> PageResult {
    let rows = q.top(dim, from, to, n)?;
    Ok(svg::bar_chart(title, &rows))
}

/// A chart in its frame; with `live`, the script reloads it from that URL.
pub fn figure(chart: &str, live: Option<&str>) -> String {
    match live {
        Some(url) => {
            format!("<figure class=\"chart-box\" data-live=\"{}\">{chart}</figure>", super::html::escape_url(url))
        }
        None => format!("<figure class=\"chart-box\">{chart}</figure>"),
    }
}
