//! The web API of a real `run` (analytics + store, syslog over TCP): every
//! endpoint, bad parameters (400 with a message), credentials (401, the
//! token cookie, basic auth), the live stream with filters (each stream
//! gets exactly the matching events), the CSV export across pages; and
//! `analytics` serving the same API from a NATS stream.

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An HTTP answer with its headers.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A 4xx with `{"error": "..."}`: the message.
    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_else(|| panic!("no error message: {}", self.body)).to_string()
    }
}

/// Sends the request head (HTTP/1.0: the body ends when the server closes,
/// no chunked encoding to undo) and reads the status line and headers.
fn send(port: u16, path: &str, headers: &[(&str, &str)]) -> (BufReader<TcpStream>, u16, Vec<(String, String)>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n{extra}\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{path}: bad status {line:?}"));
    let mut head = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        head.push((k.trim().to_string(), v.trim().to_string()));
    }
    (r, status, head)
}

fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> Answer {
    let (mut r, status, headers) = send(port, path, headers);
    let mut body = String::new();
    r.read_to_string(&mut body).unwrap();
    Answer { status, headers, body }
}

/// A Server-Sent Events client.
struct EventStream {
    reader: BufReader<TcpStream>,
    partial: String,
}

#[derive(Debug)]
struct SseEvent {
    name: String,
    data: String,
}

impl EventStream {
    /// Opens the stream and waits for its `: subscribed` comment (from then
    /// on nothing emitted is missed).
    fn open(port: u16, path: &str, headers: &[(&str, &str)]) -> EventStream {
        let (reader, status, head) = send(port, path, headers);
        assert_eq!(status, 200, "{path}");
        let ctype = head.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.as_str());
        assert_eq!(ctype, Some("text/event-stream"), "{path}");
        reader.get_ref().set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let mut s = EventStream { reader, partial: String::new() };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match s.line() {
                Some(l) if l == ": subscribed" => return s,
                Some(l) => panic!("{path}: {l:?} before the subscription comment"),
                None => assert!(Instant::now() < deadline, "{path}: no subscription comment"),
            }
        }
    }

    /// One whole line, or None when none came within the read timeout.
    fn line(&mut self) -> Option<String> {
        match self.reader.read_line(&mut self.partial) {
            Ok(0) => panic!("the stream closed"),
            Ok(_) | Err(_) if self.partial.ends_with('\n') => {
                let l = self.partial.trim_end_matches(['\r', '\n']).to_string();
                self.partial.clear();
                Some(l)
            }
            _ => None,
        }
    }

    /// Events (and comments, as name "comment") until `until` passes.
    fn collect(&mut self, until: Instant) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let (mut name, mut data) = (String::new(), Vec::<String>::new());
        while Instant::now() < until {
            let Some(l) = self.line() else { continue };
            if l.is_empty() {
                if !data.is_empty() {
                    let n = if name.is_empty() { "message".to_string() } else { std::mem::take(&mut name) };
                    out.push(SseEvent { name: n, data: data.join("\n") });
                    data.clear();
                }
            } else if let Some(c) = l.strip_prefix(':') {
                out.push(SseEvent { name: "comment".into(), data: c.trim().to_string() });
            } else if let Some(d) = l.strip_prefix("data: ") {
                data.push(d.to_string());
            } else if let Some(n) = l.strip_prefix("event: ") {
                name = n.to_string();
            }
        }
        out
    }

    /// The events of the stream (JSON) until `n` have come, then for `quiet`
    /// longer, so an extra one would be seen.
    fn events(&mut self, n: usize, quiet: Duration) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut got = Vec::new();
        while got.len() < n && Instant::now() < deadline {
            got.extend(self.collect(Instant::now() + Duration::from_millis(200)));
            got.retain(|e| e.name != "comment");
        }
        got.extend(self.collect(Instant::now() + quiet).into_iter().filter(|e| e.name != "comment"));
        got.iter()
            .map(|e| {
                assert_eq!(e.name, "message", "{e:?}");
                serde_json::from_str(&e.data).unwrap()
            })
            .collect()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sdn-web-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_feed(dir: &Path) -> PathBuf {
    let feed = dir.join("feed.csv");
    std::fs::write(&feed, common::TWO_IP_FEED).unwrap();
    feed
}

fn config(dir: &Path, http: u16, auth: &str, syslog: u16) -> PathBuf {
    let config = dir.join("sensor.toml");
    let listen = common::listen_syslog_tcp(syslog);
    let (events, db) = (dir.join("events.jsonl"), dir.join("store.db"));
    std::fs::write(&config, common::analytics_config(Some("edge-web"), &listen, http, auth, &events, &db)).unwrap();
    config
}

fn syslog(port: u16, lines: impl Iterator<Item = String>) {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for l in lines {
        writeln!(tcp, "{l}").unwrap();
    }
}

fn ids(events: &[Value]) -> BTreeSet<String> {
    events.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

const AUTH: [(&str, &str); 1] = [("Authorization", "Bearer s3cret")];

/// Waits until `/api/events` with `query` has `n` events.
fn wait_stored(http: u16, query: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let a = get(http, &format!("/api/events?{query}&limit=1000"), &AUTH);
        assert_eq!(a.status, 200, "{}", a.body);
        let items = a.json()["items"].as_array().unwrap().clone();
        if items.len() >= n {
            return items;
        }
        assert!(Instant::now() < deadline, "{query}: {} of {n} events stored", items.len());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn run_serves_the_api_the_stream_and_the_export() {
    let dir = scratch("run");
    let (syslog_port, http) = (common::free_tcp_port(), common::free_tcp_port());
    let feed = write_feed(&dir);
    let config = config(&dir, http, "token = \"s3cret\"", syslog_port);
    let child = common::start_run(&config, &feed, http);

    // Streams first, each with its own filter (and way in).
    let mut by_value = EventStream::open(http, "/api/stream?value=203.0.113.66&kind=intel", &AUTH);
    let mut by_indicator = EventStream::open(http, "/api/stream?indicator_value=198.51.100.7&token=s3cret", &[]);
    let mut by_ip = EventStream::open(http, "/api/stream?ip=127.0.0.1&kind=intel&sensor=edge-web", &AUTH);
    let mut incidents = EventStream::open(http, "/api/stream?kind=incident", &AUTH);
    let mut elsewhere = EventStream::open(http, "/api/stream?cidr=10.0.0.0/8", &AUTH);
    syslog(
        syslog_port,
        (0..12)
            .map(|i| format!("<13>Nov 29 14:00:00 fw01 sshd: attempt {i} from 203.0.113.66"))
            .chain(["<13>Nov 29 14:00:01 fw01 sshd: probe from 198.51.100.7".to_string()])
            .chain(["<13>Nov 29 14:00:02 fw01 sshd: nothing listed from 192.0.2.1".to_string()]),
    );
    let quiet = Duration::from_millis(1500);
    let got_value = by_value.events(12, quiet);
    let got_indicator = by_indicator.events(1, quiet);
    let got_ip = by_ip.events(13, quiet);
    let got_incidents = incidents.events(1, quiet);
    let got_elsewhere = elsewhere.events(0, Duration::from_millis(300));
    // Every event, throttled or not, is in the stream (as in the store).
    assert_eq!(got_value.len(), 12, "{got_value:#?}");
    assert!(got_value.iter().all(|e| e["match"]["value"] == "203.0.113.66" && e["kind"] == "intel"));
    assert_eq!(got_indicator.len(), 1, "{got_indicator:#?}");
    assert_eq!(got_indicator[0]["indicator"]["value"], "198.51.100.7");
    assert_eq!(got_ip.len(), 13, "{got_ip:#?}");
    assert_eq!(got_incidents.len(), 1, "{got_incidents:#?}");
    assert_eq!(got_incidents[0]["incident"]["rule"], "two_indicators");
    assert!(got_elsewhere.is_empty(), "{got_elsewhere:#?}");
    // The same events as the search finds.
    assert_eq!(ids(&got_value), ids(&wait_stored(http, "value=203.0.113.66&kind=intel", 12)));
    assert_eq!(ids(&got_ip), ids(&wait_stored(http, "ip=127.0.0.1&kind=intel", 13)));
    assert_eq!(ids(&got_incidents), ids(&wait_stored(http, "kind=incident", 1)));
    drop((by_value, by_indicator, by_ip, incidents, elsewhere));

    let metrics = common::http_get(http, "/metrics").expect("/metrics is open");
    assert_eq!(common::metric_opt(&metrics, "sdn_web_stream_dropped_total", ""), Some(0.0), "{metrics}");
    assert!(metrics.contains("sdn_web_stream_clients"), "{metrics}");

    // Credentials: every route needs them; /metrics and /healthz do not.
    let routes = get(http, "/api/openapi.json", &AUTH).json();
    let paths: Vec<String> = routes["paths"].as_object().unwrap().keys().cloned().collect();
    assert!(paths.len() >= 12 && paths.contains(&"/api/stream".to_string()), "{paths:?}");
    for p in &paths {
        let p = p.replace("{id}", "x");
        for headers in [&[][..], &[("Authorization", "Bearer wrong")][..], &[("Cookie", "sdn_token=wrong")][..]] {
            let a = get(http, &p, headers);
            assert_eq!(a.status, 401, "{p} {headers:?}: {}", a.body);
            assert!(a.error().contains("Bearer"), "{p}: {}", a.body);
            assert_eq!(a.header("www-authenticate"), Some("Bearer realm=\"sdn-sensor\""), "{p}");
        }
    }
    assert_eq!(get(http, "/healthz", &[]).status, 200);
    // ?token= answers with the cookie, and the cookie lets the browser in.
    let a = get(http, "/api/counts?token=s3cret", &[]);
    assert_eq!(a.status, 200);
    let cookie = a.header("set-cookie").expect("a cookie").to_string();
    assert_eq!(cookie, "sdn_token=s3cret; Path=/; HttpOnly; SameSite=Strict");
    assert_eq!(get(http, "/api/counts", &[("Cookie", "theme=dark; sdn_token=s3cret")]).status, 200);
    assert!(get(http, "/api/counts", &AUTH).header("set-cookie").is_none(), "only ?token= sets it");

    // Every endpoint answers, and says what is wrong with bad parameters.
    let ok = |path: &str| -> Value {
        let a = get(http, path, &AUTH);
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        a.json()
    };
    assert!(ok("/api/counts")["events"].as_u64() >= Some(14));
    assert_eq!(ok("/api/top?dim=indicator_value&n=1")[0]["value"], "203.0.113.66");
    let series = ok("/api/series?dim=kind&value=intel&from=2000-01-01T00:00:00Z");
    assert_eq!(series.as_array().unwrap().iter().map(|p| p["count"].as_u64().unwrap()).sum::<u64>(), 13);
    let page = ok("/api/events?kind=intel&limit=10");
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    let next = page["next"].as_str().unwrap();
    assert_eq!(ok(&format!("/api/events?kind=intel&limit=10&cursor={next}"))["items"].as_array().unwrap().len(), 3);
    let listed = ok("/api/incidents");
    let incident = listed["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(ok(&format!("/api/incidents/{incident}"))["events"].as_array().unwrap().len(), 2);
    let feeds = ok("/api/feeds");
    assert_eq!(feeds.as_array().unwrap().iter().map(|f| f["count"].as_u64().unwrap()).sum::<u64>(), 13);
    let status = ok("/api/status");
    assert_eq!(status["process"], "run");
    assert_eq!(status["sensor"], "edge-web");
    assert_eq!(status["ready"], true);
    assert!(status["counters"]["events"].as_u64() >= Some(13), "{status:#}");
    assert_eq!(status["drops"]["web_stream"], 0);
    assert_eq!(status["intel"]["generation"], 1);
    assert_eq!(status["intel"]["indicators"], 2);
    assert_eq!(status["intel"]["by_type"]["ip"], 2);
    assert_eq!(status["intel"]["feeds"][0]["feed"], feed.display().to_string());
    assert_eq!(status["intel"]["feeds"][0]["stale"], false);
    assert!(status["intel"]["feeds"][0]["age_seconds"].is_u64(), "{status:#}");
    assert_eq!(status["stream"]["clients"], 0);
    let hit = ok("/api/intel/check?value=203.0.113.66");
    assert_eq!(hit["verdict"], "hit");
    assert_eq!(hit["matches"][0]["threat_type"], "c2");
    assert_eq!(ok("/api/intel/check?value=%20192.0.2.1%20")["verdict"], "none");
    assert_eq!(ok("/api/intel/check?value=%3Cnot%20a%20value%3E")["verdict"], "invalid");
    let long = format!("/api/intel/check?value={}", "a".repeat(5000));
    for (path, status, says) in [
        ("/api/top", 400, "dim is required"),
        ("/api/top?dim=colour", 400, "unknown dimension"),
        ("/api/top?dim=feed&n=0", 400, "out of range"),
        ("/api/top?dim=feed&n=many", 400, "whole number"),
        ("/api/series?from=yesterday", 400, "RFC 3339"),
        ("/api/events?from=yesterday", 400, "RFC 3339"),
        ("/api/events?cidr=10.0.0.0/99", 400, "10.0.0.0/99"),
        ("/api/events?ip=10.0.0.300", 400, "not an IPv4 or IPv6"),
        ("/api/events?colour=red", 400, "unknown parameter \"colour\""),
        ("/api/events?cursor=nonsense", 400, "cursor"),
        ("/api/events?limit=5000", 400, "out of range"),
        ("/api/events.csv?limit=0", 400, "1 to 1000000"),
        ("/api/events.csv?limit=2000000", 400, "1 to 1000000"),
        ("/api/events.csv?cursor=1:x", 400, "unknown parameter \"cursor\""),
        ("/api/events.csv?ip=nope", 400, "not an IPv4 or IPv6"),
        ("/api/stream?from=2026-01-01T00:00:00Z", 400, "unknown parameter \"from\""),
        ("/api/stream?ip=nope", 400, "not an IPv4 or IPv6"),
        ("/api/stream?cidr=10.0.0.0/99", 400, "cidr="),
        ("/api/stream?kind=", 400, "kind is empty"),
        ("/api/incidents?limit=0", 400, "out of range"),
        ("/api/incidents/nope", 404, "no such incident"),
        ("/api/feeds?to=soon", 400, "RFC 3339"),
        ("/api/status?verbose=1", 400, "takes none"),
        ("/api/intel/check", 400, "value is required"),
        ("/api/intel/check?value=%20", 400, "value is required"),
        ("/api/intel/check?value=x&kind=ip", 400, "unknown parameter"),
        (long.as_str(), 400, "at most 4096"),
    ] {
        let a = get(http, path, &AUTH);
        assert_eq!(a.status, status, "{path}: {}", a.body);
        assert!(a.error().contains(says), "{path}: {:?} does not say {says:?}", a.error());
    }

    // CSV: every page of the search, quoted, newest first.
    syslog(syslog_port, (0..1500).map(|i| format!("<13>Nov 29 14:01:00 fw02 sshd: bulk {i} from 203.0.113.66")));
    wait_stored(http, "value=203.0.113.66&sensor=edge-web", 1000);
    let deadline = Instant::now() + Duration::from_secs(15);
    while ok("/api/counts")["events"].as_u64() < Some(14 + 1500) {
        assert!(Instant::now() < deadline, "the store did not get the bulk events");
        std::thread::sleep(Duration::from_millis(200));
    }
    let csv = get(http, "/api/events.csv?kind=intel&value=203.0.113.66", &AUTH);
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8; header=present"));
    assert_eq!(csv.header("content-disposition"), Some("attachment; filename=\"sdn-events.csv\""));
    let lines: Vec<&str> = csv.body.split_terminator("\r\n").collect();
    assert!(lines[0].starts_with("ts,id,sensor,kind,input,where,value,"), "{}", lines[0]);
    assert_eq!(lines.len(), 1 + 1512, "header and every matching event across pages");
    let ids_in_csv: BTreeSet<&str> = lines[1..].iter().map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(ids_in_csv.len(), 1512, "no row twice");
    assert!(lines[1..].iter().all(|l| l.split(',').nth(6) == Some("203.0.113.66")));
    let ts: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let capped = get(http, "/api/events.csv?kind=intel&value=203.0.113.66&limit=1001", &AUTH);
    assert_eq!(capped.body.split_terminator("\r\n").count(), 1 + 1001);
    let none = get(http, "/api/events.csv?kind=no-such-kind", &AUTH);
    assert_eq!(none.body.split_terminator("\r\n").count(), 1, "just the header");

    common::stop_run(child);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn basic_auth_and_the_public_listen_check() {
    let dir = scratch("basic");
    let (syslog_port, http) = (common::free_tcp_port(), common::free_tcp_port());
    let feed = write_feed(&dir);
    std::fs::write(dir.join("web.pw"), "analyst:pa:ss word\n").unwrap();
    let check = |auth: &str, listen: &str| {
        let cfg = config(&dir, http, auth, syslog_port);
        let text = std::fs::read_to_string(&cfg).unwrap().replace(&format!("127.0.0.1:{http}"), listen);
        std::fs::write(&cfg, text).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
            .args(["run", "--check", "--config"])
            .arg(&cfg)
            .output()
            .unwrap()
    };
    let open = check("", "0.0.0.0:18080");
    assert!(!open.status.success());
    let said = String::from_utf8_lossy(&open.stderr);
    assert!(said.contains("not a loopback address") && said.contains("basic_auth"), "{said}");
    assert!(check("basic_auth_file = \"web.pw\"", "0.0.0.0:18080").status.success());
    let both = check("basic_auth = \"a:b\"\nbasic_auth_file = \"web.pw\"", "127.0.0.1:18080");
    assert!(String::from_utf8_lossy(&both.stderr).contains("set one of them"));

    let config = config(&dir, http, "basic_auth_file = \"web.pw\"", syslog_port);
    let child = common::start_run(&config, &feed, http);
    let basic = |user_pass: &str| format!("Basic {}", base64(user_pass));
    let a = get(http, "/api/counts", &[]);
    assert_eq!(a.status, 401);
    assert_eq!(a.header("www-authenticate"), Some("Basic realm=\"sdn-sensor\", charset=\"UTF-8\""));
    assert!(a.error().contains("Authorization: Basic"), "{}", a.body);
    assert_eq!(get(http, "/api/counts", &[("Authorization", &basic("analyst:pa:ss word"))]).status, 200);
    for wrong in ["analyst:pa:ss", "analys:pa:ss word", "analyst:pa:ss word "] {
        assert_eq!(get(http, "/api/counts", &[("Authorization", &basic(wrong))]).status, 401, "{wrong}");
    }
    // No token configured: neither ?token= nor a bearer opens it.
    assert_eq!(get(http, "/api/counts?token=", &[]).status, 401);
    assert_eq!(get(http, "/api/counts", &[("Authorization", "Bearer ")]).status, 401);
    let mut stream =
        EventStream::open(http, "/api/stream?kind=intel", &[("Authorization", &basic("analyst:pa:ss word"))]);
    syslog(syslog_port, std::iter::once("<13>Nov 29 14:00:00 fw01 sshd: from 198.51.100.7".to_string()));
    assert_eq!(stream.events(1, Duration::from_millis(500)).len(), 1);
    // A stream left open (a dashboard in a browser) does not hold the stop.
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || done_tx.send(common::stop_run(child)).unwrap());
    let log = done.recv_timeout(Duration::from_secs(30)).expect("run did not stop while a stream was open");
    assert!(log.contains("connections still open at stop were closed"), "{log}");
    drop(stream);
    std::fs::remove_dir_all(&dir).ok();
}

/// Standard base64 with padding (the test's own, to check the server's).
fn base64(s: &str) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn analytics_serves_the_api_from_the_stream() {
    let dir = scratch("analytics");
    let (nats_port, sensor_http, analytics_http, syslog_port) =
        (common::free_tcp_port(), common::free_tcp_port(), common::free_tcp_port(), common::free_tcp_port());
    let _nats = common::NatsServer::start(nats_port, &dir.join("js"));
    let feed = write_feed(&dir);
    let analytics_cfg = dir.join("analytics.toml");
    std::fs::write(
        &analytics_cfg,
        format!(
            "[analytics]\nthrottle = 2\nstore = \"{}\"\n\n[http]\nlisten = \"127.0.0.1:{analytics_http}\"\ntoken = \"s3cret\"\n",
            dir.join("analytics.db").display()
        ),
    )
    .unwrap();
    let sensor_cfg = dir.join("sensor.toml");
    std::fs::write(
        &sensor_cfg,
        format!(
            r#"[run]
sensor = "edge-nats"

{listen}
[http]
listen = "127.0.0.1:{sensor_http}"

[[sink]]
type = "nats"
url = "nats://127.0.0.1:{nats_port}"
stream = "SDN_WEB"
subject = "sdn.web.{{partition}}.{{kind}}.{{input}}"
partitions = 1
spool = "{}"
"#,
            dir.join("spool").display(),
            listen = common::listen_syslog_tcp(syslog_port)
        ),
    )
    .unwrap();
    // The sensor first: its first event creates the JetStream stream.
    let sensor = common::start_run(&sensor_cfg, &feed, sensor_http);
    syslog(syslog_port, std::iter::once("<13>Nov 29 13:59:59 fw01 sshd: early from 198.51.100.7".to_string()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::metric(
        &common::http_get(sensor_http, "/metrics").unwrap_or_default(),
        "sdn_sink_detail",
        "acked_total",
    ) < 1.0
    {
        assert!(Instant::now() < deadline, "the sensor did not publish its first event");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut analytics = common::Guard(
        std::process::Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
            .args(["analytics", "--nats", &format!("nats://127.0.0.1:{nats_port}"), "--stream", "SDN_WEB"])
            .args(["--subject", "sdn.web.>", "--durable", "web", "--sensor", "an", "--config"])
            .arg(&analytics_cfg)
            .arg("-o")
            .arg(dir.join("analytics.jsonl"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::http_get(analytics_http, "/healthz").is_none() {
        if Instant::now() > deadline || analytics.0.try_wait().unwrap().is_some() {
            panic!("analytics did not serve /healthz: {}", common::stop_run(analytics));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut stream = EventStream::open(analytics_http, "/api/stream?indicator_value=203.0.113.66", &AUTH);
    syslog(
        syslog_port,
        (0..4)
            .map(|i| format!("<13>Nov 29 14:00:00 fw01 sshd: attempt {i} from 203.0.113.66"))
            .chain(std::iter::once("<13>Nov 29 14:00:01 fw01 sshd: probe from 198.51.100.7".to_string())),
    );
    let got = stream.events(4, Duration::from_millis(1000));
    assert_eq!(got.len(), 4, "{got:#?}");
    assert!(got.iter().all(|e| e["sensor"] == "edge-nats"));
    assert_eq!(ids(&got), ids(&wait_stored(analytics_http, "indicator_value=203.0.113.66", 4)));
    let status = get(analytics_http, "/api/status", &AUTH).json();
    assert_eq!(status["process"], "analytics");
    assert!(status["counters"]["analytics_events"].as_u64() >= Some(5), "{status:#}");
    assert!(status.get("intel").is_none());
    let check = get(analytics_http, "/api/intel/check?value=203.0.113.66", &AUTH);
    assert_eq!(check.status, 503);
    assert!(check.error().contains("no intel loaded"), "{}", check.body);
    assert_eq!(get(analytics_http, "/api/counts", &[]).status, 401);
    let metrics = common::http_get(analytics_http, "/metrics").unwrap();
    assert!(common::metric(&metrics, "sdn_analytics_messages_total", "") >= 5.0, "{metrics}");
    drop(stream);
    common::stop_run(analytics);
    common::stop_run(sensor);
    std::fs::remove_dir_all(&dir).ok();
}
