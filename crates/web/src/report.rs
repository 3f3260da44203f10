//! The self-contained HTML report for a time range (issue 9): top
//! indicators, top hosts, feeds and threat types, the timeline, and every
//! incident with the events behind it. One file with its CSS inline and
//! its charts as inline SVG: no script, no link, no reference to anything
//! outside it, so it opens offline and can be mailed. `GET /report` and
//! `sdn-sensor report` both call [`render`]; everything comes from
//! `store::Query`.

use crate::pages::html::{escape, events_table};
use crate::svg::{bar_chart, bucket_series, format_count, format_time, format_width, line_chart};
use std::fmt::Write;

/// Incidents listed in one report (newest first); past this the report
/// says how many more there are.
pub const MAX_INCIDENTS: usize = 500;
/// Events shown per incident (the incident lists all their ids).
pub const MAX_EVENTS_PER_INCIDENT: usize = 200;
/// Rows of each top-N table.
const TOP_N: usize = 20;

/// The latest time a page or report takes: a week before the end of
/// `i64` nanoseconds (in 2262), so window arithmetic cannot overflow.
pub const LATEST_NS: i64 = i64::MAX - 7 * 86_400 * 1_000_000_000;

/// A time parameter: RFC 3339 or nanoseconds since the epoch, from 1970 to
/// [`LATEST_NS`]; the error says what was wrong and what to give.
pub fn parse_time(key: &str, v: &str) -> Result<i64, String> {
    let t = v.parse::<i64>().ok().or_else(|| store::parse_ts(v)).ok_or_else(|| {
        format!("{key}={v:?}: give a time as RFC 3339 (2026-11-29T05:00:00Z) or nanoseconds since the epoch")
    })?;
    if !(0..=LATEST_NS).contains(&t) {
        return Err(format!("{key}={v:?}: out of range: give a time from 1970 to 2262"));
    }
    Ok(t)
}

/// `from`/`to` as given (RFC 3339 or nanoseconds since the epoch); absent
/// ends are the store's oldest and newest events.
pub fn parse_range(from: Option<&str>, to: Option<&str>) -> Result<(Option<i64>, Option<i64>), String> {
    let parse = |key: &str, v: Option<&str>| -> Result<Option<i64>, String> {
        v.map(str::trim).filter(|v| !v.is_empty()).map(|v| parse_time(key, v)).transpose()
    };
    let (f, t) = (parse("from", from)?, parse("to", to)?);
    if let (Some(f), Some(t)) = (f, t)
        && f >= t
    {
        return Err(format!(
            "from ({}) is not before to ({}): give a range that holds time",
            format_time(f),
            format_time(t)
        ));
    }
    Ok((f, t))
}

/// The report over `[from, to)` (absent ends: the stored data's).
pub fn render(q: &store::Query, from: Option<i64>, to: Option<i64>) -> Result<String, store::StoreError> {
    let counts = q.counts()?;
    // Stored times may be anything an event said: kept within the range
    // the arithmetic below (and the store's minute_of) handles.
    let clamp = |t: i64| t.clamp(0, LATEST_NS);
    let from = store::minute_of(clamp(from.or(counts.oldest_ns).unwrap_or(0)));
    // The minute after the newest event: the range is half-open.
    let to = to.or(counts.newest_ns.map(|t| store::minute_of(clamp(t)) + store::NS_PER_MINUTE)).unwrap_or(from + 1);
    let to = to.max(from + 1);

    let series = q.series("all", None, from, to)?;
    let total: u64 = series.iter().map(|p| p.1).sum();
    let indicators = q.top("indicator_value", from, to, TOP_N)?;
    let hosts = q.top("host", from, to, TOP_N)?;
    let feeds = q.top("feed", from, to, TOP_N)?;
    let threats = q.top("threat_type", from, to, TOP_N)?;
    let inputs = q.top("input", from, to, TOP_N)?;

    let mut incidents = Vec::new();
    let mut page = store::Page::first(store::MAX_PAGE.min(MAX_INCIDENTS + 1));
    loop {
        let rows = q.incidents(from, to, page.clone())?;
        let full = rows.len() == page.size;
        let last = rows.last().map(|r| r.cursor());
        incidents.extend(rows);
        match last {
            Some(c) if full && incidents.len() <= MAX_INCIDENTS => page.before = Some(c),
            _ => break,
        }
    }
    let more_incidents = incidents.len() > MAX_INCIDENTS;
    incidents.truncate(MAX_INCIDENTS);

    let range = format!("{} – {} UTC", format_time(from), format_time(to));
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>sdn-sensor report {}</title><style>{}{}</style></head>\n<body class=\"report\" data-ready=\"1\">\
         <main data-page=\"report\"><h1>sdn-sensor report</h1><p class=\"note\">{}</p>\
         <section class=\"counts\"><dl><div><dt>events</dt><dd>{}</dd></div>\
         <div><dt>incidents</dt><dd>{}{}</dd></div><div><dt>indicators hit</dt><dd>{}{}</dd></div></dl></section>",
        escape(&range),
        crate::pages::assets::CSS,
        REPORT_CSS,
        escape(&range),
        format_count(total),
        incidents.len(),
        if more_incidents { "+" } else { "" },
        indicators.len(),
        if indicators.len() == TOP_N { "+" } else { "" },
    );

    let (points, width) = bucket_series(&series, from, to, 120);
    let _ = write!(
        out,
        "<section><h2>Timeline</h2><figure class=\"chart-box wide\">{}</figure></section>",
        line_chart(
            &format!("events per {}", format_width(width)),
            &format!("events per {}", format_width(width)),
            &points
        )
    );
    for (id, title, rows, what) in [
        ("top-indicators", "Top indicators", &indicators, "indicator"),
        ("top-hosts", "Top hosts", &hosts, "internal host"),
        ("top-feeds", "Feeds", &feeds, "feed"),
        ("top-threats", "Threat types", &threats, "threat type"),
        ("top-inputs", "Inputs", &inputs, "input"),
    ] {
        let _ = write!(
            out,
            "<section id=\"{id}\"><h2>{title}</h2><div class=\"side\"><figure class=\"chart-box\">{}</figure>{}</div></section>",
            bar_chart(&format!("{title} by events"), rows),
            top_table(what, rows)
        );
    }

    out.push_str("<section id=\"incidents\"><h2>Incidents</h2>");
    if incidents.is_empty() {
        out.push_str("<p class=\"empty\">No incidents in this range.</p>");
    } else {
        out.push_str(
            "<table class=\"incidents\"><thead><tr><th>time (UTC)</th><th>rule</th><th>host</th><th>events</th>\
             <th>id</th></tr></thead><tbody>",
        );
        for (i, r) in incidents.iter().enumerate() {
            let _ = write!(
                out,
                "<tr data-id=\"{}\"><td><a href=\"#incident-{i}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"id\">{}</td></tr>",
                escape(&r.id),
                format_time(r.ts_ns),
                escape(r.rule.as_deref().unwrap_or("")),
                escape(r.host.as_deref().unwrap_or("")),
                r.events.len(),
                escape(&r.id)
            );
        }
        out.push_str("</tbody></table>");
        if more_incidents {
            let _ = write!(
                out,
                "<p class=\"note\">Only the newest {MAX_INCIDENTS} incidents are listed: narrow the range for the rest.</p>"
            );
        }
        for (i, r) in incidents.iter().enumerate() {
            let events = match q.incident(&r.id)? {
                Some((_, mut events)) => {
                    events.truncate(MAX_EVENTS_PER_INCIDENT);
                    events
                }
                None => Vec::new(),
            };
            let _ = write!(
                out,
                "<section class=\"incident\" id=\"incident-{i}\" data-id=\"{}\"><h3>{} · {} · {}</h3>\
                 <p class=\"note\">{} UTC; {} events listed, {} shown</p>{}</section>",
                escape(&r.id),
                escape(r.rule.as_deref().unwrap_or("incident")),
                escape(r.host.as_deref().unwrap_or("")),
                escape(&r.id),
                format_time(r.ts_ns),
                r.events.len(),
                events.len(),
                events_table(&events, false)
            );
        }
    }
    out.push_str("</section></main></body></html>\n");
    Ok(out)
}

/// A top-N list as a table beside its chart (the values in full, to copy).
fn top_table(what: &str, rows: &[(String, u64)]) -> String {
    let mut out =
        format!("<table class=\"top\"><thead><tr><th>{}</th><th>events</th></tr></thead><tbody>", escape(what));
    for (value, count) in rows {
        let _ = write!(
            out,
            "<tr data-value=\"{}\"><td class=\"value\">{}</td><td class=\"count\">{}</td></tr>",
            escape(value),
            escape(value),
            format_count(*count)
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// What the report adds to the dashboard's CSS (print-friendly).
const REPORT_CSS: &str = "body.report main{max-width:1100px;margin:0 auto}\
 body.report .side{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem;align-items:start}\
 body.report .incident{break-inside:avoid}\
 @media print{body.report .chart-box{break-inside:avoid}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_both_forms_and_refuse_empty_ones() {
        assert_eq!(parse_range(None, Some("")).unwrap(), (None, None));
        assert_eq!(
            parse_range(Some("2026-11-29T05:00:00Z"), Some("1795928460000000000")).unwrap(),
            (Some(1_795_928_400_000_000_000), Some(1_795_928_460_000_000_000))
        );
        assert!(parse_range(Some("yesterday"), None).unwrap_err().contains("from=\"yesterday\""));
        assert!(parse_range(Some("10"), Some("10")).unwrap_err().contains("not before"));
        assert!(parse_range(Some("-9223372036854775808"), None).unwrap_err().contains("out of range"));
        assert!(parse_range(None, Some("9223372036854775807")).unwrap_err().contains("out of range"));
    }

    #[test]
    fn top_tables_escape_values() {
        let t = top_table("indicator", &[("<script>x</script>http://a".into(), 3)]);
        assert!(!t.contains("<script"));
        assert!(!t.contains("http://"));
        assert!(t.contains("<td class=\"count\">3</td>"));
    }
}
