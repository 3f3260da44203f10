//! `GET /api/stream`: the events as the process emits them, as
//! Server-Sent Events, filtered like `/api/events`. Emitters publish each
//! encoded line into a bounded broadcast; publishing is one atomic load
//! while no client listens, and never waits: a client that falls behind
//! loses the oldest lines, is told so (`event: lagged`), and the loss is
//! counted (`sdn_web_stream_dropped_total`).

use crate::api::error;
use crate::state::WebState;
use axum::extract::{Query as Params, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::broadcast;

/// Lines a client may fall behind before it loses some.
pub const DEFAULT_CAPACITY: usize = 4096;
/// Streams open at once; more are refused (503), so browsers left open
/// cannot make every emitted event be copied a thousand times.
pub const MAX_CLIENTS: usize = 64;
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub struct LiveFeed {
    tx: broadcast::Sender<Arc<str>>,
    clients: AtomicUsize,
    dropped: AtomicU64,
    keep_alive: Duration,
}

impl LiveFeed {
    pub fn new(capacity: usize, keep_alive: Duration) -> Arc<LiveFeed> {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Arc::new(LiveFeed { tx, clients: AtomicUsize::new(0), dropped: AtomicU64::new(0), keep_alive })
    }

    /// One encoded event (a JSON line). Cheap when no client listens;
    /// never blocks.
    pub fn publish(&self, line: &[u8]) {
        if self.clients.load(Ordering::Relaxed) == 0 {
            return;
        }
        let Ok(text) = std::str::from_utf8(line) else { return };
        // Err: every client left since the check; nothing to do.
        let _ = self.tx.send(Arc::from(text.trim_end()));
    }

    /// Lines clients lost by falling behind (since start).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Streams open now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }
}

/// Counts a client while its stream lives.
struct Client(Arc<LiveFeed>);

impl Drop for Client {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The parameters of `/api/stream` (those of `/api/events` that make sense
/// for events still to come: no time range, no pages).
pub const PARAMS: &[&str] =
    &["kind", "input", "ip", "cidr", "value", "indicator", "indicator_value", "feed", "sensor", "token"];

/// Which events a stream passes; every condition given must hold, with the
/// store's meanings (`ip`: source, destination or host; `value` and
/// `indicator_value`: case-insensitive).
#[derive(Debug, Default, Clone)]
pub struct StreamFilter {
    kind: Option<String>,
    input: Option<String>,
    value: Option<String>,
    indicator: Option<String>,
    indicator_value: Option<String>,
    feed: Option<String>,
    sensor: Option<String>,
    ip: Option<[u8; 16]>,
    cidr: Option<([u8; 16], [u8; 16])>,
}

impl StreamFilter {
    pub fn from_params(p: &HashMap<String, String>) -> Result<StreamFilter, String> {
        if let Some(k) = p.keys().find(|k| !PARAMS.contains(&k.as_str())) {
            return Err(format!("unknown parameter {k:?} for /api/stream (known: {})", PARAMS.join(", ")));
        }
        if let Some((k, _)) = p.iter().find(|(k, v)| k.as_str() != "token" && v.is_empty()) {
            return Err(format!("{k} is empty: give a value or leave the parameter out"));
        }
        let ip = match p.get("ip") {
            Some(ip) => Some(
                store::parse_addr_key(ip.trim())
                    .ok_or_else(|| format!("ip={ip:?}: not an IPv4 or IPv6 address (e.g. 192.0.2.7)"))?,
            ),
            None => None,
        };
        let cidr = match p.get("cidr") {
            Some(c) => Some(store::cidr_range(c.trim()).map_err(|e| format!("cidr={c:?}: {e}"))?),
            None => None,
        };
        let get = |k: &str| p.get(k).cloned();
        Ok(StreamFilter {
            kind: get("kind"),
            input: get("input"),
            value: get("value"),
            indicator: get("indicator"),
            indicator_value: get("indicator_value"),
            feed: get("feed"),
            sensor: get("sensor"),
            ip,
            cidr,
        })
    }

    fn is_empty(&self) -> bool {
        let s = self;
        [&s.kind, &s.input, &s.value, &s.indicator, &s.indicator_value, &s.feed, &s.sensor].iter().all(|v| v.is_none())
            && s.ip.is_none()
            && s.cidr.is_none()
    }

    /// Whether the event line passes (a line that is not a JSON object
    /// passes only an empty filter).
    pub fn matches(&self, line: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        // Only the fields filtered on, borrowed where unescaped: the rest
        // of the event is skipped, not built.
        let Ok(e) = serde_json::from_str::<Head<'_>>(line) else { return false };
        let equal = |want: &Option<String>, got: Option<&str>| want.as_ref().is_none_or(|w| got == Some(w.as_str()));
        let equal_nocase = |want: &Option<String>, got: Option<&str>| {
            want.as_ref().is_none_or(|w| got.is_some_and(|t| t.eq_ignore_ascii_case(w)))
        };
        let ind = e.indicator.as_ref();
        if !(equal(&self.kind, text(&e.kind))
            && equal(&self.input, text(&e.input))
            && equal(&self.sensor, text(&e.sensor))
            && equal(&self.indicator, ind.and_then(|i| text(&i.id)))
            && equal(&self.feed, ind.and_then(|i| text(&i.feed)))
            && equal_nocase(&self.value, e.matched.as_ref().and_then(|m| text(&m.value)))
            && equal_nocase(&self.indicator_value, ind.and_then(|i| text(&i.value))))
        {
            return false;
        }
        if self.ip.is_none() && self.cidr.is_none() {
            return true;
        }
        // The addresses the store indexes: the flow's two ends and the
        // host (a syslog sender, an incident's host).
        let incident_host =
            if text(&e.kind) == Some("incident") { e.incident.as_ref().and_then(|i| text(&i.host)) } else { None };
        let flow = e.flow.as_ref();
        let keys: Vec<[u8; 16]> = [
            flow.and_then(|f| text(&f.src_ip)),
            flow.and_then(|f| text(&f.dst_ip)),
            e.syslog.as_ref().and_then(|s| text(&s.host)),
            incident_host,
        ]
        .into_iter()
        .flatten()
        .filter_map(store::parse_addr_key)
        .collect();
        self.ip.is_none_or(|ip| keys.contains(&ip))
            && self.cidr.is_none_or(|(lo, hi)| keys.iter().any(|k| (lo..=hi).contains(k)))
    }
}

fn text<'b>(v: &'b Option<Text<'_>>) -> Option<&'b str> {
    v.as_ref().map(|t| t.0.as_ref())
}

/// A string of the event, borrowed when it has no escapes.
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

/// The fields of an event the stream filters on.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    input: Option<Text<'a>>,
    #[serde(borrow)]
    sensor: Option<Text<'a>>,
    #[serde(borrow, rename = "match")]
    matched: Option<ValueHead<'a>>,
    #[serde(borrow)]
    indicator: Option<IndicatorHead<'a>>,
    #[serde(borrow)]
    flow: Option<FlowHead<'a>>,
    #[serde(borrow)]
    syslog: Option<HostHead<'a>>,
    #[serde(borrow)]
    incident: Option<HostHead<'a>>,
}

#[derive(serde::Deserialize)]
struct ValueHead<'a> {
    #[serde(borrow)]
    value: Option<Text<'a>>,
}

#[derive(serde::Deserialize)]
struct IndicatorHead<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    value: Option<Text<'a>>,
    #[serde(borrow)]
    feed: Option<Text<'a>>,
}

#[derive(serde::Deserialize)]
struct FlowHead<'a> {
    #[serde(borrow)]
    src_ip: Option<Text<'a>>,
    #[serde(borrow)]
    dst_ip: Option<Text<'a>>,
}

#[derive(serde::Deserialize)]
struct HostHead<'a> {
    #[serde(borrow)]
    host: Option<Text<'a>>,
}

/// `GET /api/stream`.
pub async fn stream(State(s): State<Arc<WebState>>, Params(p): Params<HashMap<String, String>>) -> Response {
    let filter = match StreamFilter::from_params(&p) {
        Ok(f) => f,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let Some(feed) = s.live.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "this process publishes no live events");
    };
    if feed.clients.fetch_add(1, Ordering::Relaxed) >= MAX_CLIENTS {
        feed.clients.fetch_sub(1, Ordering::Relaxed);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_CLIENTS} streams are open already: close one (or wait) and retry"),
        );
    }
    let client = Client(Arc::clone(&feed));
    let rx = feed.tx.subscribe();
    // A first comment: the client knows it is subscribed (nothing emitted
    // from now on is missed).
    let hello = futures_util::stream::once(async { Ok::<_, Infallible>(Event::default().comment("subscribed")) });
    let events = futures_util::stream::unfold((rx, filter, client), |(mut rx, filter, client)| async move {
        loop {
            match rx.recv().await {
                Ok(line) if filter.matches(&line) => {
                    return Some((Ok(Event::default().data(&*line)), (rx, filter, client)));
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    client.0.dropped.fetch_add(n, Ordering::Relaxed);
                    let note = Event::default().event("lagged").data(format!("{{\"dropped\":{n}}}"));
                    return Some((Ok(note), (rx, filter, client)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    use futures_util::StreamExt as _;
    let mut r = Sse::new(hello.chain(events))
        .keep_alive(KeepAlive::new().interval(feed.keep_alive).text("keep-alive"))
        .into_response();
    // Proxies must pass each event on at once.
    r.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(pairs: &[(&str, &str)]) -> Result<StreamFilter, String> {
        StreamFilter::from_params(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    const INTEL: &str = r#"{"id":"a","kind":"intel","input":"syslog","sensor":"s1","match":{"where":"syslog.ip","value":"203.0.113.66"},"indicator":{"id":"1","value":"203.0.113.66","feed":"f.csv"},"syslog":{"host":"127.0.0.1"}}"#;
    const FLOW: &str = r#"{"id":"b","kind":"intel","input":"netflow","sensor":"s2","match":{"value":"Evil.Example"},"flow":{"src_ip":"10.1.2.3","dst_ip":"2001:db8::1"}}"#;
    const INCIDENT: &str = r#"{"id":"c","kind":"incident","input":"intel","incident":{"host":"10.9.9.9"}}"#;

    #[test]
    fn conditions_as_the_store_reads_them() {
        let pass = |f: &[(&str, &str)]| {
            let f = filter(f).unwrap();
            [INTEL, FLOW, INCIDENT].iter().filter(|l| f.matches(l)).map(|l| &l[7..8]).collect::<String>()
        };
        assert_eq!(pass(&[]), "abc");
        assert_eq!(pass(&[("kind", "intel")]), "ab");
        assert_eq!(pass(&[("input", "netflow")]), "b");
        assert_eq!(pass(&[("ip", "127.0.0.1")]), "a");
        assert_eq!(pass(&[("ip", "2001:db8:0::1")]), "b");
        assert_eq!(pass(&[("cidr", "10.0.0.0/8")]), "bc");
        assert_eq!(pass(&[("cidr", "10.0.0.0/8"), ("kind", "incident")]), "c");
        assert_eq!(pass(&[("value", "evil.example")]), "b");
        assert_eq!(pass(&[("indicator_value", "203.0.113.66"), ("feed", "f.csv"), ("indicator", "1")]), "a");
        assert_eq!(pass(&[("feed", "other.csv")]), "");
        assert_eq!(pass(&[("sensor", "s2")]), "b");
        assert!(!filter(&[("kind", "intel")]).unwrap().matches("not json"));
    }

    #[test]
    fn bad_parameters_say_what_is_wrong() {
        assert!(filter(&[("from", "x")]).unwrap_err().contains("unknown parameter \"from\""));
        assert!(filter(&[("ip", "300.1.1.1")]).unwrap_err().contains("not an IPv4 or IPv6"));
        assert!(filter(&[("cidr", "10.0.0.0/99")]).unwrap_err().starts_with("cidr="));
        assert!(filter(&[("kind", "")]).unwrap_err().contains("kind is empty"));
        assert!(filter(&[("token", "")]).is_ok());
    }

    #[test]
    fn publishing_without_clients_sends_nothing_and_lag_is_counted() {
        let feed = LiveFeed::new(2, KEEP_ALIVE);
        let mut early = feed.tx.subscribe();
        feed.publish(b"{\"n\":0}\n");
        assert!(early.try_recv().is_err(), "no counted client: nothing published");
        feed.clients.fetch_add(1, Ordering::Relaxed);
        for n in 1..=4 {
            feed.publish(format!("{{\"n\":{n}}}\n").as_bytes());
        }
        assert!(matches!(early.try_recv(), Err(broadcast::error::TryRecvError::Lagged(2))));
        assert_eq!(&*early.try_recv().unwrap(), "{\"n\":3}");
    }

    /// Reads from the connection until `want` appears (or 5 s pass).
    async fn read_until(s: &mut tokio::net::TcpStream, text: &mut String, want: &str) {
        use tokio::io::AsyncReadExt as _;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 4096];
        while !text.contains(want) {
            let n = tokio::time::timeout_at(deadline, s.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("no {want:?} in {text:?}"))
                .unwrap();
            assert!(n > 0, "closed before {want:?}: {text:?}");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }

    #[tokio::test]
    async fn a_slow_client_is_told_what_it_lost_and_kept_alive() {
        use tokio::io::AsyncWriteExt as _;
        let dir = std::env::temp_dir().join(format!("sdn-web-live-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("store.db");
        drop(store::Store::open(&store::StoreConfig { path: db.clone(), max_age: None, max_bytes: None }).unwrap());
        let feed = LiveFeed::new(2, Duration::from_millis(300));
        let app = crate::routes(crate::WebOptions { db, live: Some(Arc::clone(&feed)), ..Default::default() }).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /api/stream?kind=intel HTTP/1.0\r\n\r\n").await.unwrap();
        let mut text = String::new();
        read_until(&mut s, &mut text, ": subscribed").await;
        assert_eq!(feed.clients(), 1);
        // One thread: the server's task cannot run between these, so the
        // client falls 8 lines behind.
        for n in 0..10 {
            feed.publish(format!("{{\"kind\":\"intel\",\"n\":{n}}}").as_bytes());
        }
        read_until(&mut s, &mut text, "\"n\":9").await;
        assert!(text.contains("event: lagged\ndata: {\"dropped\":8}\n\n"), "{text}");
        assert!(text.contains("data: {\"kind\":\"intel\",\"n\":8}\n\n"), "{text}");
        assert!(!text.contains("\"n\":7"), "{text}");
        assert_eq!(feed.dropped(), 8);
        read_until(&mut s, &mut text, ": keep-alive\n").await;
        drop(s);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        // The server notices the closed connection at its next write.
        while feed.clients() > 0 {
            feed.publish(b"{\"kind\":\"intel\"}");
            assert!(tokio::time::Instant::now() < deadline, "the client is still counted");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
