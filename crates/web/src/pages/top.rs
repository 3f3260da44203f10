//! `/top`: every top-N key of the analytics, the current window beside the
//! previous one. The current window ends with the minute of `?at=` (by
//! default the newest stored minute: replayed data is old); `?window=` is
//! its length (whole minutes, default 1m), `?n=` the bars per chart.

use super::charts::{figure, top};
use super::html::{Ctx, dim_label, escape, escape_url, layout, url};
use super::{PageError, PageResult};
use crate::svg::format_time;

const MINUTE: i64 = store::NS_PER_MINUTE;
/// The longest window: a week.
const MAX_WINDOW_MINUTES: i64 = 7 * 24 * 60;

/// `60s`, `5m`, `1h`, `1d` or plain seconds, a whole number of minutes.
pub fn parse_window(v: &str) -> Result<i64, PageError> {
    let bad = || {
        PageError::BadRequest(format!(
            "window={v:?}: give whole minutes as 60s, 5m, 1h or 1d (1 minute to 7 days; the aggregates are per minute)"
        ))
    };
    let (digits, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => v.split_at(i),
        None => (v, "s"),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        "d" => n.checked_mul(86_400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if seconds % 60 != 0 || !(1..=MAX_WINDOW_MINUTES).contains(&(seconds / 60)) {
        return Err(bad());
    }
    Ok(seconds / 60 * MINUTE)
}

/// `5m`-style text for a window (for links).
fn window_text(window: i64) -> String {
    format!("{}m", window / MINUTE)
}

pub fn page(q: &store::Query, ctx: &Ctx) -> PageResult {
    if let Some(k) = ctx.unknown_param(&["window", "at", "n"]) {
        return Err(PageError::BadRequest(format!("unknown parameter {k:?} (known: window, at, n)")));
    }
    let window = ctx.param("window").map(parse_window).transpose()?.unwrap_or(MINUTE);
    let n = ctx.number("n", 10, store::MAX_PAGE)?;
    let at = match ctx.time("at")? {
        Some(t) => Some(t),
        // A stored time may be anything an event said.
        None => q.counts()?.newest_ns.map(|t| t.clamp(0, crate::report::LATEST_NS)),
    };
    let mut body = String::from("<h1>Top</h1>");
    let Some(at) = at else {
        body.push_str("<p class=\"empty\">No events stored yet.</p>");
        return Ok(layout("Top", "top", &body));
    };
    let end = store::minute_of(at).saturating_add(MINUTE);
    let start = end.saturating_sub(window);
    let previous = start.saturating_sub(window);
    let w = window_text(window);
    let earlier = url("/top", &[("window", &w), ("at", &start.saturating_sub(1).to_string()), ("n", &n.to_string())]);
    let later =
        url("/top", &[("window", &w), ("at", &(end.saturating_add(window) - 1).to_string()), ("n", &n.to_string())]);
    body.push_str(&format!(
        "<form class=\"filters\" method=\"get\" action=\"/top\">\
         <label>window <input name=\"window\" value=\"{}\" placeholder=\"1m, 5m, 1h\"></label>\
         <label>ending at <input name=\"at\" value=\"{}\" placeholder=\"2026-11-29T05:00:00Z\"></label>\
         <label>bars <input name=\"n\" value=\"{n}\" inputmode=\"numeric\"></label><button>Show</button></form>\
         <p class=\"note\">Current window {} – {} (UTC), previous {} – {}. \
         <a href=\"{}\">← earlier</a> · <a href=\"{}\">later →</a></p>",
        escape(&w),
        escape(&store::format_ts(at)),
        format_time(start),
        format_time(end),
        format_time(previous),
        format_time(start),
        escape_url(&earlier),
        escape_url(&later),
    ));
    for dim in store::DIMS.iter().filter(|d| **d != "all") {
        let label = dim_label(dim);
        body.push_str(&format!("<section class=\"pair\" data-dim=\"{}\"><h2>{}</h2>", escape(dim), escape(label)));
        body.push_str(&figure(&top(q, dim, start, end, n, &format!("{label}: current window"))?, None));
        body.push_str(&figure(&top(q, dim, previous, start, n, &format!("{label}: previous window"))?, None));
        body.push_str("</section>");
    }
    Ok(layout("Top", "top", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_minutes_within_a_week() {
        assert_eq!(parse_window("60s").unwrap(), MINUTE);
        assert_eq!(parse_window("60").unwrap(), MINUTE);
        assert_eq!(parse_window("5m").unwrap(), 5 * MINUTE);
        assert_eq!(parse_window("2h").unwrap(), 120 * MINUTE);
        assert_eq!(parse_window("7d").unwrap(), 7 * 1440 * MINUTE);
        for bad in ["", "0m", "30s", "8d", "1w", "m", "-1m", "99999999999999999999d", "1.5h"] {
            assert!(matches!(parse_window(bad), Err(PageError::BadRequest(m)) if m.contains("window=")), "{bad}");
        }
    }
}
