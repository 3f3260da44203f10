//! `/intel`: what the feeds bring: hits per feed and by threat type
//! (from the store), the loaded feeds with their ages and
//! generation (from `/api/status`, when this process has the intel), and
//! `intel check` from the browser (`/api/intel/check`).

use super::charts::{figure, top};
use super::html::{Ctx, layout};
use super::{PageError, PageResult};
use crate::state::WebState;

pub fn page(s: &WebState, q: &store::Query, ctx: &Ctx) -> PageResult {
    if let Some(k) = ctx.unknown_param(&[]) {
        return Err(PageError::BadRequest(format!("unknown parameter {k:?}: the intel page takes none")));
    }
    let mut body = String::from("<h1>Intel</h1><section class=\"charts\">");
    let feeds = q.feed_hits(i64::MIN, i64::MAX)?;
    body.push_str(&figure(&crate::svg::bar_chart("hits per feed (everything stored)", &feeds), None));
    body.push_str(&figure(&top(q, "threat_type", i64::MIN, i64::MAX, 20, "hits by threat type")?, None));
    // XXX: no all-time top of indicators here: that groups every
    // (minute, indicator) row of the store (millions at 10M events); /top
    // has them per window.
    body.push_str("</section><section class=\"status\"><h2>Loaded feeds</h2>");
    if s.status.is_some() {
        body.push_str(
            "<div id=\"status\" data-src=\"/api/status\" data-only=\"intel\"><p class=\"empty\">loading…</p></div>",
        );
    } else {
        body.push_str(
            "<p class=\"empty\" id=\"status\">Feeds, indicator counts by type and intel generation: \
             not available (this process has no intel status hook).</p>",
        );
    }
    body.push_str("</section><section class=\"check\"><h2>Check a value</h2>");
    if s.intel_check.is_some() {
        body.push_str(
            "<form id=\"intel-check\" data-api=\"/api/intel/check\" method=\"get\" action=\"/api/intel/check\">\
             <label>value <input name=\"value\" required placeholder=\"203.0.113.66, evil.example, a URL, a hash\"></label>\
             <button>Check</button></form><div id=\"intel-answer\" aria-live=\"polite\"></div>",
        );
    } else {
        body.push_str(
            "<p class=\"empty\">intel check: not available in this process (it has no indicator set); \
             use <code>sdn-sensor intel check --intel FEED VALUE</code>.</p>",
        );
    }
    body.push_str("</section>");
    Ok(layout("Intel", "intel", &body))
}
