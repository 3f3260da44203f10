//! `/`: what is happening now: the event rate over the latest hour of
//! data, hits by input and by feed, the sensor's counters, drops, intel
//! generation and feed ages (from `/api/status`, when this process has a
//! sensor), and the newest events, live over `/api/stream`.

use super::PageResult;
use super::charts::{all_time_top, figure, rate};
use super::html::{Ctx, escape, events_table, layout};
use crate::state::WebState;
use crate::svg::{format_count, format_time};

/// Rows of the newest-events list (the script keeps it at this length).
pub const LIVE_ROWS: usize = 25;

pub fn page(s: &WebState, q: &store::Query, ctx: &Ctx) -> PageResult {
    if let Some(k) = ctx.unknown_param(&[]) {
        return Err(super::PageError::BadRequest(format!("unknown parameter {k:?}: the overview takes none")));
    }
    let c = q.counts()?;
    let time = |t: Option<i64>| t.map(format_time).unwrap_or_else(|| "none yet".into());
    let mut body = format!(
        "<h1>Overview</h1><section class=\"counts\"><dl>\
         <div><dt>events stored</dt><dd>{}</dd></div><div><dt>incidents</dt><dd>{}</dd></div>\
         <div><dt>summaries</dt><dd>{}</dd></div><div><dt>reports</dt><dd>{}</dd></div>\
         <div><dt>oldest event</dt><dd>{}</dd></div><div><dt>newest event</dt><dd>{}</dd></div></dl></section>",
        format_count(c.events),
        format_count(c.incidents),
        format_count(c.summaries),
        format_count(c.reports),
        escape(&time(c.oldest_ns)),
        escape(&time(c.newest_ns)),
    );
    body.push_str("<section class=\"charts\">");
    body.push_str(&figure(&rate(q)?, Some("/chart/rate")));
    body.push_str(&figure(&all_time_top(q, "input")?, Some("/chart/top?dim=input")));
    body.push_str(&figure(&all_time_top(q, "feed")?, Some("/chart/top?dim=feed")));
    body.push_str("</section>");

    // The sensor's own numbers come from the process (a hook), not the
    // store: the script fills them in when the hook is there.
    body.push_str("<section class=\"status\"><h2>Sensor</h2>");
    if s.status.is_some() {
        body.push_str(
            "<div id=\"status\" data-src=\"/api/status\" aria-live=\"polite\"><p class=\"empty\">loading…</p></div>",
        );
    } else {
        body.push_str(
            "<p class=\"empty\" id=\"status\">Sensor counters, drops and feed ages: not available \
             (this process has no sensor status hook).</p>",
        );
    }
    body.push_str("</section>");

    let newest = q.search(&store::EventFilter::default(), store::Page::first(LIVE_ROWS))?;
    body.push_str("<section class=\"live\"><h2>Newest events</h2>");
    if s.live.is_some() {
        body.push_str(&format!(
            "<p class=\"note\" id=\"stream-state\">live: new events appear at the top (/api/stream)</p>\
             <div id=\"live-events\" data-stream=\"/api/stream\" data-rows=\"{LIVE_ROWS}\">"
        ));
    } else {
        body.push_str(
            "<p class=\"note\" id=\"stream-state\">live stream: not available in this process; \
             the newest stored events:</p><div id=\"live-events\">",
        );
    }
    body.push_str(&events_table(&newest, true));
    body.push_str("</div></section>");
    Ok(layout("Overview", "overview", &body))
}
