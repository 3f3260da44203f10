//! `/search`: the filters of `/api/events` as a form, the matches as
//! `table.events` (newest first), keyset pages ("older" link), and a CSV
//! export link with the same conditions. A bad condition shows the form
//! again with what is wrong (status 400).

use super::PageError;
use super::html::{Ctx, escape, escape_url, events_table, layout, url};
use axum::http::StatusCode;

/// The conditions: (parameter, label, placeholder).
const FIELDS: &[(&str, &str, &str)] = &[
    ("ip", "IP (source, destination or host)", "192.0.2.7"),
    ("cidr", "CIDR", "10.0.0.0/8"),
    ("value", "value / domain", "evil.example"),
    ("indicator", "indicator id", "42"),
    ("indicator_value", "indicator value", "203.0.113.66"),
    ("feed", "feed", "feed.csv"),
    ("input", "input", "packet, dns, syslog, netflow…"),
    ("kind", "kind", "intel, summary, incident"),
    ("sensor", "sensor", "edge-a"),
    ("from", "from (UTC)", "2026-11-29T05:00:00Z"),
    ("to", "to (UTC)", "2026-11-29T06:00:00Z"),
];

/// How `value` is compared: (parameter value, label).
const MATCHES: &[(&str, &str)] =
    &[("exact", "equals"), ("domain", "is the domain or a subdomain"), ("substring", "contains")];

const PAGE_SIZE: usize = 50;

fn filter(ctx: &Ctx) -> Result<(store::EventFilter, store::Page), PageError> {
    let mut known: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
    known.extend(["match", "limit", "cursor"]);
    if let Some(k) = ctx.unknown_param(&known) {
        return Err(PageError::BadRequest(format!("unknown parameter {k:?} (known: {})", known.join(", "))));
    }
    let value_match = match ctx.param("match").unwrap_or("exact") {
        "exact" => store::ValueMatch::Exact,
        "domain" => store::ValueMatch::Domain,
        "substring" => store::ValueMatch::Substring,
        other => {
            return Err(PageError::BadRequest(format!("match={other:?}: give exact, domain or substring")));
        }
    };
    let (from_ns, to_ns) = (ctx.time("from")?, ctx.time("to")?);
    if let (Some(f), Some(t)) = (from_ns, to_ns)
        && f > t
    {
        return Err(PageError::BadRequest("from is after to: swap them".into()));
    }
    let get = |k: &str| ctx.param(k).map(str::to_owned);
    let f = store::EventFilter {
        ip: get("ip"),
        cidr: get("cidr"),
        value: get("value"),
        value_match,
        indicator_id: get("indicator"),
        indicator_value: get("indicator_value"),
        feed: get("feed"),
        input: get("input"),
        kind: get("kind"),
        sensor: get("sensor"),
        from_ns,
        to_ns,
    };
    let size = ctx.number("limit", PAGE_SIZE, store::MAX_PAGE)?;
    let page = match ctx.param("cursor") {
        None => store::Page::first(size),
        Some(c) => store::Page { size, before: Some(store::Cursor::from_token(c)?) },
    };
    Ok((f, page))
}

fn form(ctx: &Ctx) -> String {
    let mut out = String::from("<form class=\"filters search\" method=\"get\" action=\"/search\">");
    for (name, label, placeholder) in FIELDS {
        out.push_str(&format!(
            "<label>{label} <input name=\"{name}\" value=\"{}\" placeholder=\"{}\"></label>",
            escape(ctx.param(name).unwrap_or("")),
            escape(placeholder)
        ));
        if *name == "value" {
            out.push_str("<label>value match <select name=\"match\">");
            let chosen = ctx.param("match").unwrap_or("exact");
            for (v, l) in MATCHES {
                let sel = if *v == chosen { " selected" } else { "" };
                out.push_str(&format!("<option value=\"{v}\"{sel}>{l}</option>"));
            }
            out.push_str("</select></label>");
        }
    }
    out.push_str("<button>Search</button> <a href=\"/search\">clear</a></form>");
    out
}

/// The page and its status (400 when a condition is wrong).
pub fn page(q: &store::Query, ctx: &Ctx) -> (StatusCode, String) {
    let mut body = String::from("<h1>Search events</h1>");
    body.push_str(&form(ctx));
    let result = filter(ctx).and_then(|(f, page)| {
        let size = page.size;
        q.search(&f, page).map(|events| (events, size)).map_err(PageError::from)
    });
    let status = match result {
        Err(e) => {
            let (PageError::BadRequest(m) | PageError::NotFound(m) | PageError::Internal(m)) = &e;
            body.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)));
            super::PageError::status(&e)
        }
        Ok((events, size)) => {
            let conditions: Vec<(&str, &str)> = FIELDS.iter().map(|f| (f.0, ctx.param(f.0).unwrap_or(""))).collect();
            let csv = url("/api/events.csv", &conditions);
            body.push_str(&format!(
                "<p class=\"note\"><span class=\"result-count\">{} events on this page</span> · \
                 <a class=\"csv\" href=\"{}\" download=\"events.csv\">export as CSV</a>{}</p>",
                events.len(),
                escape_url(&csv),
                if ctx.param("match").is_some_and(|m| m != "exact") {
                    " (the export compares the value exactly)"
                } else {
                    ""
                }
            ));
            body.push_str(&events_table(&events, true));
            if events.len() == size
                && let Some(last) = events.last()
            {
                let mut next: Vec<(&str, &str)> = conditions.clone();
                let (m, limit, cursor) = (ctx.param("match").unwrap_or(""), size.to_string(), last.cursor().to_token());
                next.extend([("match", m), ("limit", limit.as_str()), ("cursor", cursor.as_str())]);
                body.push_str(&format!(
                    "<p class=\"pager\"><a rel=\"next\" href=\"{}\">older events →</a></p>",
                    escape_url(&url("/search", &next))
                ));
            }
            StatusCode::OK
        }
    };
    (status, layout("Search", "search", &body))
}
