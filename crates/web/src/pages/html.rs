//! What every page shares: the request's parameters, the layout with the
//! navigation bar, URL building, time parsing, and the events table. All
//! text from the store goes through [`escape`] (event values come from the
//! network and may hold markup).

use super::PageError;
use std::collections::HashMap;
use std::fmt::Write;

pub use crate::svg::escape;

/// The request as a page sees it.
#[derive(Debug, Default, Clone)]
pub struct Ctx {
    params: HashMap<String, String>,
}

impl Ctx {
    pub fn new(params: HashMap<String, String>) -> Ctx {
        Ctx { params }
    }

    /// A parameter, trimmed; an empty one (an empty form field) is absent.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// The first parameter (by name, so the message is stable) that is
    /// neither in `known` nor the credentials' `token`.
    pub fn unknown_param(&self, known: &[&str]) -> Option<&str> {
        let mut keys: Vec<&str> = self.params.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys.into_iter().find(|k| *k != "token" && !known.contains(k))
    }

    /// A whole number parameter in `1..=max`, or `default` when absent.
    pub fn number(&self, key: &str, default: usize, max: usize) -> Result<usize, PageError> {
        match self.param(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| PageError::BadRequest(format!("{key}={v:?}: give a whole number from 1 to {max}"))),
        }
    }

    /// A time parameter: RFC 3339 or nanoseconds since the epoch.
    pub fn time(&self, key: &str) -> Result<Option<i64>, PageError> {
        self.param(key).map(|v| parse_time(key, v)).transpose()
    }
}

/// RFC 3339 (`2026-11-29T05:00:00Z`) or nanoseconds since the epoch,
/// from 1970 to [`crate::report::LATEST_NS`].
pub fn parse_time(key: &str, v: &str) -> Result<i64, PageError> {
    crate::report::parse_time(key, v).map_err(PageError::BadRequest)
}

/// Percent-encodes one URL query value or path segment (everything but
/// the unreserved characters).
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A URL built by [`url`] or [`encode_component`] for an attribute: only
/// the markup characters become references (`/` and `=` stay readable).
pub fn escape_url(url: &str) -> String {
    url.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&#39;")
}

/// `path?k=v&...` with the values encoded; pairs with empty values are
/// left out. Escape the result before putting it in an attribute.
pub fn url(path: &str, query: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    let mut first = true;
    for (k, v) in query.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(if first { '?' } else { '&' });
        first = false;
        let _ = write!(out, "{}={}", encode_component(k), encode_component(v));
    }
    out
}

const NAV: &[(&str, &str, &str)] = &[
    ("overview", "/", "Overview"),
    ("top", "/top", "Top"),
    ("incidents", "/incidents", "Incidents"),
    ("search", "/search", "Search"),
    ("intel", "/intel", "Intel"),
];

/// A whole page: head with the bundled CSS, script and icon, the
/// navigation bar, and `body` inside `<main data-page="page">`.
pub fn layout(title: &str, page: &str, body: &str) -> String {
    let mut nav = String::new();
    for (name, href, label) in NAV {
        let current =
            if *name == page || (page == "incident" && *name == "incidents") { " aria-current=\"page\"" } else { "" };
        let _ = write!(nav, "<a href=\"{href}\"{current}>{label}</a>");
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · sdn-sensor</title>\
         <link rel=\"stylesheet\" href=\"/assets/dashboard.css\">\
         <link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\
         <script src=\"/assets/dashboard.js\" defer></script></head>\n\
         <body><header class=\"bar\"><span class=\"brand\">sdn-sensor</span><nav>{nav}\
         <a href=\"/report\">Report</a></nav></header>\n\
         <main data-page=\"{}\">{body}</main></body></html>\n",
        escape(title),
        escape(page)
    )
}

/// `ip:port` (IPv6 in brackets), or the address alone.
fn endpoint(ip: Option<&str>, port: Option<u16>) -> String {
    match (ip, port) {
        (Some(ip), Some(p)) if ip.contains(':') => format!("[{ip}]:{p}"),
        (Some(ip), Some(p)) => format!("{ip}:{p}"),
        (Some(ip), None) => ip.to_owned(),
        (None, _) => String::new(),
    }
}

/// The events as `table.events`, one `tr data-id="EVENT ID"` each. With
/// `links`, values link to searches (the report has no links).
pub fn events_table(events: &[store::StoredEvent], links: bool) -> String {
    let mut out = String::with_capacity(512 + events.len() * 512);
    out.push_str(
        "<table class=\"events\"><thead><tr><th>time (UTC)</th><th>kind</th><th>input</th><th>where</th>\
         <th>value</th><th>indicator</th><th>threat</th><th>feed</th><th>source</th><th>destination</th>\
         <th>host</th><th>id</th></tr></thead><tbody>",
    );
    let searched = |key: &str, v: Option<&str>| -> String {
        match v {
            Some(v) if links => {
                format!("<a href=\"{}\">{}</a>", escape_url(&url("/search", &[(key, v)])), escape(v))
            }
            Some(v) => escape(v),
            None => String::new(),
        }
    };
    for e in events {
        let indicator = match (&e.indicator_type, &e.indicator_value) {
            (Some(t), Some(v)) => format!("{}: {}", escape(t), searched("indicator_value", Some(v))),
            (None, Some(v)) => searched("indicator_value", Some(v)),
            _ => String::new(),
        };
        let _ = write!(
            out,
            "<tr data-id=\"{}\"><td class=\"time\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"value\">{}</td>\
             <td class=\"value\">{indicator}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"id\">{}</td></tr>",
            escape(&e.id),
            crate::svg::format_time(e.ts_ns),
            escape(e.kind.as_deref().unwrap_or("")),
            escape(e.input.as_deref().unwrap_or("")),
            escape(e.location.as_deref().unwrap_or("")),
            searched("value", e.value.as_deref()),
            escape(e.threat_type.as_deref().unwrap_or("")),
            escape(e.feed.as_deref().unwrap_or("")),
            escape(&endpoint(e.src_ip.as_deref(), e.src_port)),
            escape(&endpoint(e.dst_ip.as_deref(), e.dst_port)),
            searched("ip", e.host.as_deref()),
            escape(&e.id),
        );
    }
    out.push_str("</tbody></table>");
    if events.is_empty() {
        out.push_str("<p class=\"empty\">No events.</p>");
    }
    out
}

/// The label of an analytics dimension, for chart titles.
pub fn dim_label(dim: &str) -> &str {
    match dim {
        "all" => "events",
        "kind" => "event kinds",
        "input" => "inputs",
        "feed" => "feeds",
        "indicator" => "indicator ids",
        "indicator_value" => "indicators",
        "threat_type" => "threat types",
        "sensor" => "sensors",
        "src_ip" => "source addresses",
        "dst_ip" => "destination addresses",
        "host" => "internal hosts",
        "dst_port" => "destination ports",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hostile_event() -> store::StoredEvent {
        store::StoredEvent {
            id: "id\"><script>alert(1)</script>".into(),
            ts_ns: 1_795_928_400_000_000_000,
            sensor: Some("s".into()),
            kind: Some("intel".into()),
            input: Some("dns".into()),
            location: Some("dns.qname".into()),
            value: Some("<img src=x onerror=alert(2)>.evil.example".into()),
            indicator_id: Some("7".into()),
            indicator_type: Some("domain".into()),
            indicator_value: Some("evil.example'".into()),
            threat_type: Some("c2&co".into()),
            feed: Some("<b>feed</b>".into()),
            rule_chain: None,
            rule_name: None,
            src_ip: Some("2001:db8::1".into()),
            dst_ip: Some("10.0.0.5".into()),
            src_port: Some(53),
            dst_port: Some(40000),
            proto: Some("udp".into()),
            host: Some("10.0.0.5".into()),
            json: "{}".into(),
        }
    }

    #[test]
    fn hostile_event_text_is_escaped_in_the_table() {
        let table = events_table(&[hostile_event()], true);
        assert!(!table.contains("<script"), "{table}");
        assert!(!table.contains("<img"), "{table}");
        assert!(!table.contains("<b>"), "{table}");
        assert!(table.contains("data-id=\"id&quot;&gt;&lt;script&gt;alert(1)&lt;&#47;script&gt;\""), "{table}");
        assert!(table.contains("&lt;img src&#61;x onerror&#61;alert(2)&gt;.evil.example"));
        // The search link's value is URL-encoded, then escaped.
        assert!(table.contains("href=\"/search?value=%3Cimg%20src%3Dx"), "{table}");
        assert!(table.contains("[2001:db8::1]:53"));
        assert!(table.contains("c2&amp;co"));
        // Without links (the report) no href at all.
        assert!(!events_table(&[hostile_event()], false).contains("href"));
    }

    #[test]
    fn urls_encode_values_and_skip_empty_ones() {
        assert_eq!(
            url("/search", &[("value", "a b&c=d"), ("ip", ""), ("feed", "é")]),
            "/search?value=a%20b%26c%3Dd&feed=%C3%A9"
        );
        assert_eq!(url("/top", &[]), "/top");
        assert_eq!(encode_component("a/b?c#d"), "a%2Fb%3Fc%23d");
    }

    #[test]
    fn layout_escapes_the_title_and_marks_the_page() {
        let page = layout("<x>", "search", "<p>body</p>");
        assert!(page.contains("<main data-page=\"search\"><p>body</p></main>"));
        assert!(page.contains("<title>&lt;x&gt; · sdn-sensor</title>"));
        assert!(page.contains("<a href=\"/search\" aria-current=\"page\">"));
        assert!(!page.contains("http"), "no external reference");
    }

    #[test]
    fn params_empty_fields_are_absent_and_bad_values_are_400() {
        let ctx = Ctx::new(
            [("ip", " "), ("limit", "0"), ("from", "yesterday"), ("to", "2026-11-29T05:00:00Z"), ("token", "t")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        assert_eq!(ctx.param("ip"), None);
        assert!(matches!(ctx.number("limit", 50, 1000), Err(PageError::BadRequest(m)) if m.contains("1 to 1000")));
        assert!(matches!(ctx.time("from"), Err(PageError::BadRequest(m)) if m.contains("RFC 3339")));
        assert_eq!(ctx.time("to").unwrap(), Some(1_795_928_400_000_000_000));
        assert_eq!(ctx.unknown_param(&["ip", "limit", "from", "to"]), None);
        assert_eq!(ctx.unknown_param(&["ip"]), Some("from"));
        for extreme in ["-9223372036854775808", "9223372036854775807", "-1", "1969-12-31T23:59:59Z"] {
            assert!(
                matches!(parse_time("at", extreme), Err(PageError::BadRequest(m)) if m.contains("1970")),
                "{extreme}"
            );
        }
    }
}
