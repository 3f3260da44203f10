//! The dashboard pages and the HTML report (issue 9) over a store built by
//! replaying captures through the analytics stage: a synthetic capture
//! (a flood to a listed address, a resolve-then-connect incident, a hit
//! whose feed names a hostile threat type) and a few captures of the
//! shared corpus. Expectations come from the store through the query
//! module, not from guesses.

mod common;

use common::{syn_frame, udp_frame, v4, write_pcap};
use sensor::synth::{dns_frame, dns_response};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "s3cret";
/// A threat type from a feed file: text the pages must show, not run.
const HOSTILE: &str = "<img src=x onerror=alert(1)>";

fn testdata() -> PathBuf {
    PathBuf::from(env!("SDN_TESTDATA"))
}

/// GET with the token: (status, response head, body).
fn get(port: u16, path: &str) -> (u16, String, String) {
    get_with(port, path, &[("Authorization", &format!("Bearer {TOKEN}"))])
}

fn get_with(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// Every `data-points="N"` of a page, in order.
fn chart_points(page: &str) -> Vec<u64> {
    page.split("data-points=\"").skip(1).map(|s| s.split('"').next().unwrap().parse().unwrap()).collect()
}

/// The `data-id`s of the rows of the first `table.CLASS` of a page.
fn row_ids(page: &str, class: &str) -> Vec<String> {
    let table = page.split(&format!("<table class=\"{class}\">")).nth(1).expect(class);
    let table = table.split("</table>").next().unwrap();
    table.split("<tr data-id=\"").skip(1).map(|s| unescape(s.split('"').next().unwrap())).collect()
}

fn unescape(s: &str) -> String {
    s.replace("&#47;", "/")
        .replace("&#61;", "=")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The store the tests read: the synthetic capture and a few corpus files
/// through `replay --analytics` with a store.
fn build_store(dir: &Path) -> (PathBuf, PathBuf) {
    let feed = dir.join("feed.csv");
    std::fs::write(
        &feed,
        format!(
            "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n2,domain,c2,,evil.example,\n\
             3,ip,c2,198.51.100.77,,\n4,ip,{HOSTILE},192.0.2.99,,\n5,cidr,internal,,,192.168.0.0/16\n\
             6,cidr,loopback,,,127.0.0.0/8\n7,domain,watch,,google.com,\n"
        ),
    )
    .unwrap();
    let t0 = 1_795_928_400_000_000u64; // a whole minute
    let mut frames: Vec<(u64, Vec<u8>)> = (0..300u64)
        .map(|i| (t0 + i * 100_000, udp_frame("10.0.0.9", "203.0.113.66", 40_000 + i as u16, 9999)))
        .collect();
    let dns = dns_response(7, "www.evil.example", "cdn.evil.example", [198, 51, 100, 77]);
    frames.push((t0 + 51_000_000, dns_frame(&dns, v4("10.0.0.5"), v4("192.0.2.53"))));
    frames.push((t0 + 52_000_000, syn_frame("10.0.0.5", "198.51.100.77")));
    frames.push((t0 + 53_000_000, syn_frame("10.0.0.7", "192.0.2.99")));
    let synthetic = dir.join("synthetic.pcap");
    write_pcap(&synthetic, &frames);

    let db = dir.join("store.db");
    let config = dir.join("analytics.toml");
    std::fs::write(
        &config,
        format!(
            "[analytics]\nthrottle = 3\nwindow = \"60s\"\nstore = \"{}\"\n\n[[analytics.correlation]]\n\
             name = \"resolved_then_connected\"\ntype = \"dns_then_connect\"\nwithin = \"5m\"\n",
            db.display()
        ),
    )
    .unwrap();
    let corpus = ["pktvisor/dns_ipv4_udp.pcap", "suricata-verify/dns_dns-tcp-www-google-com/dns.pcap"];
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .arg("replay")
        .args(corpus.iter().map(|c| testdata().join(c)))
        .arg(&synthetic)
        .args(["--analytics", "-q", "--sensor", "edge-a", "--intel"])
        .arg(&feed)
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(dir.join("events.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (db, feed)
}

#[test]
fn report_and_pages_over_a_replayed_store() {
    let dir = std::env::temp_dir().join(format!("sdn-web-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (db, feed) = build_store(&dir);

    // What the store holds, through the query module.
    let q = store::Query::open(&db).unwrap();
    let indicators = q.top("indicator_value", i64::MIN, i64::MAX, 20).unwrap();
    let hosts = q.top("host", i64::MIN, i64::MAX, 20).unwrap();
    let incidents = q.incidents(i64::MIN, i64::MAX, store::Page::first(1000)).unwrap();
    assert!(indicators.iter().any(|(v, _)| v == "203.0.113.66"), "{indicators:?}");
    assert!(indicators.iter().any(|(v, _)| v == "google.com"), "the corpus captures count: {indicators:?}");
    assert!(!hosts.is_empty());
    assert!(!incidents.is_empty(), "the resolve-then-connect incident");
    let counts = q.counts().unwrap();
    assert!(counts.oldest_ns.unwrap() < 1_700_000_000_000_000_000, "corpus captures are older: {counts:?}");

    // The report file.
    let report = dir.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["report", "--db"])
        .arg(&db)
        .arg("-o")
        .arg(&report)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&report).unwrap();
    for forbidden in ["http://", "https://", "src=", "<script", "/assets/", "url("] {
        assert!(!html.contains(forbidden), "the report holds {forbidden:?}");
    }
    assert!(html.starts_with("<!doctype html>") && html.contains("<style>"));
    assert!(html.contains("<body class=\"report\" data-ready=\"1\">"), "complete as served");
    let top_rows = |section: &str| -> Vec<String> {
        let part = html.split(&format!("<section id=\"{section}\">")).nth(1).unwrap();
        let part = part.split("</section>").next().unwrap();
        part.split("<tr data-value=\"").skip(1).map(|s| unescape(s.split('"').next().unwrap())).collect()
    };
    let want: Vec<String> = indicators.iter().map(|(v, _)| v.clone()).collect();
    assert_eq!(top_rows("top-indicators"), want, "top indicators in the store's order");
    let want: Vec<String> = hosts.iter().map(|(v, _)| v.clone()).collect();
    assert_eq!(top_rows("top-hosts"), want);
    let listed = row_ids(&html, "incidents");
    assert_eq!(listed, incidents.iter().map(|i| i.id.clone()).collect::<Vec<_>>());
    for inc in &incidents {
        let (_, events) = q.incident(&inc.id).unwrap().unwrap();
        assert!(!events.is_empty());
        let section = html.split(&format!("data-id=\"{}\"><h3>", web::svg::escape(&inc.id))).nth(1).unwrap();
        let section = section.split("</section>").next().unwrap();
        let shown = row_ids(section, "events");
        assert_eq!(shown, events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), "the events behind {}", inc.id);
    }
    // Charts with points: the timeline and every top-N with data.
    let points = chart_points(&html);
    assert!(points.len() >= 6 && points[0] > 0, "{points:?}");
    assert!(html.contains(&web::svg::escape(HOSTILE)) && !html.contains("<img"), "hostile text escaped");

    // A range that ends before the incident leaves it out.
    let first = incidents.iter().map(|i| i.ts_ns).min().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["report", "--db"])
        .arg(&db)
        .args(["--to", &store::format_ts(store::minute_of(first))])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let early = String::from_utf8(out.stdout).unwrap();
    assert!(early.contains("No incidents in this range."), "incidents left out");
    assert!(!early.contains(&incidents[0].id));
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["report", "--db"])
        .arg(&db)
        .args(["--from", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("from=\"yesterday\": give a time as RFC 3339"));

    // The pages, served by `run` over the same store.
    let http = common::free_tcp_port();
    let config = dir.join("sensor.toml");
    std::fs::write(
        &config,
        format!(
            "[listen]\nnetflow = []\nipfix = []\nsflow = []\nsyslog_udp = []\nsyslog_tcp = []\n\n\
             [http]\nlisten = \"127.0.0.1:{http}\"\ntoken = \"{TOKEN}\"\n\n[[sink]]\ntype = \"jsonl\"\npath = \"{}\"\n\n\
             [analytics]\nenabled = true\nstore = \"{}\"\n",
            dir.join("run-events.jsonl").display(),
            db.display()
        ),
    )
    .unwrap();
    let child = common::start_run(&config, &feed, http);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_pages(http, &q, &incidents)));
    let log = common::stop_run(child);
    if let Err(e) = result {
        eprintln!("run's log:\n{log}");
        std::panic::resume_unwind(e);
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn page(http: u16, path: &str, name: &str) -> String {
    let (status, head, body) = get(http, path);
    assert_eq!(status, 200, "{path}: {body}");
    assert!(head.contains("content-security-policy: default-src 'self'"), "{path}: {head}");
    assert!(head.contains("content-type: text/html"), "{path}");
    assert!(body.contains(&format!("<main data-page=\"{name}\">")), "{path}: {body}");
    // Nothing from elsewhere; only the bundled script, no inline script,
    // handlers or styles (the policy would block them).
    for reference in ["http://", "https://", "<script>", " style=", " onerror=", " onclick=", " onload="] {
        assert!(!body.contains(reference), "{path} holds {reference:?}");
    }
    assert!(!body.contains(HOSTILE), "{path} shows the hostile text unescaped");
    body
}

fn check_pages(http: u16, q: &store::Query, incidents: &[store::IncidentRow]) {
    // Pages need the credentials like the API.
    for path in ["/", "/search?ip=10.0.0.5", "/incidents", "/report", "/chart/rate"] {
        assert_eq!(get_with(http, path, &[]).0, 401, "{path} without the token");
    }
    let (status, head, _) = get_with(http, &format!("/top?token={TOKEN}"), &[]);
    assert_eq!(status, 200);
    assert!(head.contains("set-cookie: sdn_token="), "?token= sets the cookie");

    let overview = page(http, "/", "overview");
    let points = chart_points(&overview);
    assert_eq!(points.len(), 3, "rate, inputs, feeds");
    assert!(points.iter().all(|p| *p > 0), "{points:?}");
    assert!(overview.contains("data-live=\"/chart/rate\""));
    let newest = q.search(&store::EventFilter::default(), store::Page::first(25)).unwrap();
    let ids: Vec<String> = newest.iter().map(|e| e.id.clone()).collect();
    assert_eq!(row_ids(&overview, "events"), ids, "the newest events, newest first");

    let top = page(http, "/top", "top");
    let points = chart_points(&top);
    assert_eq!(points.len(), 2 * (store::DIMS.len() - 1), "current and previous of every key");
    // The newest minute has events: every event counts under kind and input.
    for dim in ["kind", "input"] {
        let section = top.split(&format!("data-dim=\"{dim}\"")).nth(1).unwrap();
        assert!(chart_points(section)[0] > 0, "{dim}");
    }
    let wide = page(http, "/top?window=1h&n=3", "top");
    assert!(wide.contains("value=\"60m\""));
    let (status, _, body) = get(http, "/top?window=30s");
    assert_eq!(status, 400);
    assert!(body.contains("window&#61;&quot;30s&quot;: give whole minutes"), "{body}");

    let list = page(http, "/incidents", "incidents");
    assert_eq!(row_ids(&list, "incidents"), incidents.iter().map(|i| i.id.clone()).collect::<Vec<_>>());
    for inc in incidents {
        let path = format!("/incidents/{}", web::pages::encode_component(&inc.id));
        assert!(list.contains(&format!("href=\"{}\"", path.replace('&', "&amp;"))));
        let detail = page(http, &path, "incident");
        let (_, events) = q.incident(&inc.id).unwrap().unwrap();
        assert_eq!(row_ids(&detail, "events"), events.iter().map(|e| e.id.clone()).collect::<Vec<_>>());
    }
    let (status, _, body) = get(http, "/incidents/no-such-incident");
    assert_eq!(status, 404);
    assert!(body.contains("<main data-page=\"not-found\">") && body.contains("no-such-incident"));
    let one = page(http, "/incidents?limit=1", "incidents");
    if incidents.len() > 1 {
        assert!(one.contains("rel=\"next\""));
    }

    // Search for a known indicator lists exactly its events (newest first).
    let f = store::EventFilter { indicator_value: Some("198.51.100.77".into()), ..Default::default() };
    let want: Vec<String> = q.search(&f, store::Page::first(50)).unwrap().into_iter().map(|e| e.id).collect();
    assert!(!want.is_empty());
    let found = page(http, "/search?indicator_value=198.51.100.77", "search");
    assert_eq!(row_ids(&found, "events"), want);
    assert!(found.contains("href=\"/api/events.csv?indicator_value=198.51.100.77\""), "CSV link with the query");
    // Domain search: the name and its subdomains.
    let f = store::EventFilter {
        value: Some("evil.example".into()),
        value_match: store::ValueMatch::Domain,
        ..Default::default()
    };
    let want: Vec<String> = q.search(&f, store::Page::first(50)).unwrap().into_iter().map(|e| e.id).collect();
    assert!(!want.is_empty());
    let found = page(http, "/search?value=evil.example&match=domain&ip=&feed=", "search");
    assert_eq!(row_ids(&found, "events"), want);
    // Keyset pages: two pages of the flood's events, no overlap.
    let first = page(http, "/search?indicator_value=203.0.113.66&limit=2", "search");
    let next = first.split("<a rel=\"next\" href=\"").nth(1).expect("a next link").split('"').next().unwrap();
    let second = page(http, &next.replace("&amp;", "&"), "search");
    let (a, b) = (row_ids(&first, "events"), row_ids(&second, "events"));
    assert_eq!(a.len(), 2);
    assert!(!b.is_empty() && b.iter().all(|id| !a.contains(id)), "{a:?} {b:?}");
    // Bad input: the form again, with what is wrong, status 400.
    for (path, message) in [
        ("/search?ip=not-an-ip", "bad ip &quot;not-an-ip&quot;"),
        ("/search?colour=red", "unknown parameter &quot;colour&quot;"),
        ("/search?from=yesterday", "from&#61;&quot;yesterday&quot;: give a time"),
        ("/search?cidr=10.0.0.0/99", "cidr"),
        ("/search?match=fuzzy&value=x", "match&#61;&quot;fuzzy&quot;"),
    ] {
        let (status, head, body) = get(http, path);
        assert_eq!(status, 400, "{path}");
        assert!(head.contains("content-type: text/html"));
        assert!(body.contains("<main data-page=\"search\">") && body.contains("<form"), "{path}");
        assert!(body.contains("class=\"error\" role=\"alert\"") && body.contains(message), "{path}: {body}");
    }

    let intel = page(http, "/intel", "intel");
    let points = chart_points(&intel);
    assert!(points.len() == 2 && points.iter().all(|p| *p > 0), "{points:?}");
    assert!(intel.contains(&web::svg::escape(HOSTILE)), "the hostile threat type, escaped");

    // The report from the dashboard: the CLI's file, its own policy.
    let (status, head, body) = get(http, "/report");
    assert_eq!(status, 200);
    assert!(head.contains("content-security-policy: default-src 'none'; style-src 'unsafe-inline'"), "{head}");
    assert!(body.contains("<main data-page=\"report\">") && !body.contains("<script"));
    assert_eq!(get(http, "/report?from=later").0, 400);

    // Chart fragments the script reloads, and the bundled assets.
    let (status, _, svg) = get(http, "/chart/rate");
    assert_eq!(status, 200);
    assert!(svg.starts_with("<svg class=\"chart\"") && chart_points(&svg)[0] > 0);
    assert_eq!(get(http, "/chart/top?dim=input").0, 200);
    assert_eq!(get(http, "/chart/top?dim=colour").0, 400);
    assert_eq!(get(http, "/chart/top").0, 400);
    for (path, ty) in [
        ("/assets/dashboard.js", "text/javascript"),
        ("/assets/dashboard.css", "text/css"),
        ("/assets/favicon.svg", "image/svg+xml"),
        ("/favicon.ico", "image/svg+xml"),
    ] {
        let (status, head, body) = get(http, path);
        assert_eq!(status, 200, "{path}");
        assert!(head.contains(&format!("content-type: {ty}")), "{path}: {head}");
        assert!(!body.is_empty());
    }
    assert_eq!(get(http, "/assets/nope.js").0, 404);
}
