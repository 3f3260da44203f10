//! What the engine produces, and its JSON encoding.
//!
//! `Summary` and `Incident` are events (schema/event.schema.json, kinds
//! `summary` / `incident`). The reports are not events: each is one JSON line
//! with a top-level `report` field naming it (`topn`, `rate`, `session`,
//! `hits`) and no `kind`, so an event consumer can tell them apart.

use crate::util::Ts;
use std::io::Write;
use std::net::IpAddr;

/// An indicator as outputs name it: shares the indicator table's one
/// allocation for its five strings (outputs of a busy engine name the same
/// indicators again and again; a copy each time was a fifth of the
/// engine's work on the benchmark).
#[derive(Clone, PartialEq, Eq)]
pub struct IndicatorOut {
    pub(crate) s: std::sync::Arc<str>,
    pub(crate) ends: [u32; 5],
}

impl IndicatorOut {
    /// `parts`: id, type, value, threat type (empty when the feed has none), feed.
    pub fn new(parts: [&str; 5]) -> Self {
        let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0u32; 5];
        for (i, p) in parts.iter().enumerate() {
            s.push_str(p);
            ends[i] = s.len() as u32;
        }
        IndicatorOut { s: s.into(), ends }
    }

    pub(crate) fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.s[start..self.ends[i] as usize]
    }

    pub fn id(&self) -> &str {
        self.part(0)
    }

    pub fn r#type(&self) -> &str {
        self.part(1)
    }

    pub fn value(&self) -> &str {
        self.part(2)
    }

    /// Empty when the feed has none.
    pub fn threat_type(&self) -> &str {
        self.part(3)
    }

    pub fn feed(&self) -> &str {
        self.part(4)
    }
}

impl std::fmt::Debug for IndicatorOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndicatorOut")
            .field("id", &self.id())
            .field("type", &self.r#type())
            .field("value", &self.value())
            .field("threat_type", &self.threat_type())
            .field("feed", &self.feed())
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlowOut {
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub proto: String,
}

/// Throttled duplicates of one key in one window.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub id: String,
    /// `host|feed:indicator-id|where`, or `host|rule:chain:name|where`; `-`
    /// for no host.
    pub key: String,
    pub window_start_ns: i64,
    pub suppressed: u64,
    pub first_ns: i64,
    pub last_ns: i64,
    pub host: Option<IpAddr>,
    /// Of the key's first event in the window.
    pub input: String,
    pub location: String,
    pub value: String,
    /// None for rule keys, and when the indicator was evicted from the
    /// indicator table during the window (counted there).
    pub indicator: Option<IndicatorOut>,
    pub rule: Option<(String, String)>,
    pub flow: Option<FlowOut>,
}

/// The schema's `input` values. A derived event (summary, incident) writes
/// the input of the events it describes when it is one of these, else
/// `intel` (the stage's own).
pub const INPUTS: [&str; 10] = ["intel", "packet", "dns", "http", "tls", "smtp", "netflow", "ipfix", "sflow", "syslog"];

/// `input` as the schema knows it (see [`INPUTS`]).
pub fn schema_input(input: &str) -> &'static str {
    INPUTS.iter().find(|i| **i == input).copied().unwrap_or("intel")
}

#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub id: String,
    pub rule: String,
    pub host: Option<IpAddr>,
    /// Input of the event that completed it (one of [`INPUTS`]).
    pub input: &'static str,
    /// Ids of the events behind it, oldest first.
    pub events: Vec<String>,
    /// Time of the event that completed it.
    pub ts_ns: i64,
    /// `match` of the event that completed it.
    pub location: String,
    pub value: String,
    pub indicators: Vec<IndicatorOut>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TopNReport {
    pub window_start_ns: i64,
    pub window_end_ns: i64,
    /// `indicator_id`, `indicator_type`, `threat_type`, `indicator_value`,
    /// `feed`, `rule`, `sensor`, `input`, `src_ip`, `dst_ip`, `host`,
    /// `proto_dst_port` (`tcp/443`), `src_port`.
    pub key: &'static str,
    /// Events that had this key in the window.
    pub total: u64,
    /// Count descending, then value ascending (addresses and ports numerically).
    pub top: Vec<(String, u64)>,
    /// 0: the counts are exact. Otherwise the counter was full in this
    /// window and made room Space-Saving style: each count is at most this
    /// much above the true count, and every value counted more than this
    /// is listed. In JSON only when not 0.
    pub max_error: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// `session_idle_s` without events.
    Idle,
    /// End of input.
    Finish,
    /// The session table was full (counted in the stats).
    Evicted,
}

/// One IP-pair session (the pair is unordered; `src`/`dst` are the direction
/// of its first event).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionReport {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub first_ns: i64,
    pub last_ns: i64,
    pub count: u64,
    pub end: SessionEnd,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RateReport {
    pub window_start_ns: i64,
    pub window_end_ns: i64,
    pub events: u64,
    /// Events older than the window, counted into it.
    pub late: u64,
    pub per_second_max: u64,
    pub per_second_mean: f64,
    pub per_minute: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HitStat {
    pub window_count: u64,
    /// Cumulative since the entry was created (engine start, or re-creation
    /// after an eviction).
    pub count: u64,
    pub first_ns: i64,
    pub last_ns: i64,
}

/// The feeds and indicators hit in the window, with cumulative counts.
#[derive(Clone, Debug, PartialEq)]
pub struct HitStatsReport {
    pub window_start_ns: i64,
    pub window_end_ns: i64,
    /// Sorted by feed name.
    pub feeds: Vec<(String, HitStat)>,
    /// Sorted by window count descending, then feed and id.
    pub indicators: Vec<(IndicatorOut, HitStat)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Boxed: by far the largest variant.
    Summary(Box<Summary>),
    Incident(Incident),
    TopN(TopNReport),
    Session(SessionReport),
    Rate(RateReport),
    Hits(HitStatsReport),
}

fn js(buf: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, s);
}

fn field(buf: &mut Vec<u8>, name: &str, v: &str) {
    buf.push(b',');
    js(buf, name);
    buf.push(b':');
    js(buf, v);
}

fn indicator(buf: &mut Vec<u8>, i: &IndicatorOut) {
    buf.extend_from_slice(b"{\"id\":");
    js(buf, i.id());
    field(buf, "type", i.r#type());
    field(buf, "value", i.value());
    if !i.threat_type().is_empty() {
        field(buf, "threat_type", i.threat_type());
    }
    field(buf, "feed", i.feed());
    buf.push(b'}');
}

fn flow(buf: &mut Vec<u8>, f: &FlowOut) {
    let _ = write!(buf, "{{\"src_ip\":\"{}\"", f.src_ip);
    if let Some(p) = f.src_port {
        let _ = write!(buf, ",\"src_port\":{p}");
    }
    let _ = write!(buf, ",\"dst_ip\":\"{}\"", f.dst_ip);
    if let Some(p) = f.dst_port {
        let _ = write!(buf, ",\"dst_port\":{p}");
    }
    field(buf, "proto", &f.proto);
    buf.push(b'}');
}

/// Head shared by summary and incident events: `input` is that of the
/// events described, one of [`INPUTS`] (the schema exempts these kinds
/// from carrying the protocol object it names).
#[allow(clippy::too_many_arguments)]
fn head(
    buf: &mut Vec<u8>,
    id: &str,
    ts: i64,
    sensor: &str,
    kind: &str,
    input: &'static str,
    location: &str,
    value: &str,
) {
    buf.extend_from_slice(b"{\"id\":");
    js(buf, id);
    let _ = write!(buf, ",\"ts\":\"{}\"", Ts(ts));
    field(buf, "sensor", sensor);
    let _ = write!(buf, ",\"kind\":\"{kind}\",\"input\":\"{input}\",\"match\":{{\"where\":");
    // The schema wants a dotted lower-case name.
    js(buf, if location.contains('.') { location } else { "analytics.key" });
    field(buf, "value", value);
    buf.push(b'}');
}

fn window(buf: &mut Vec<u8>, report: &str, sensor: &str, start: i64, end: i64) {
    let _ = write!(buf, "{{\"report\":\"{report}\"");
    field(buf, "sensor", sensor);
    let _ = write!(buf, ",\"window_start\":\"{}\",\"window_end\":\"{}\"", Ts(start), Ts(end));
}

fn stat(buf: &mut Vec<u8>, s: &HitStat) {
    let _ = write!(
        buf,
        ",\"window_count\":{},\"count\":{},\"first\":\"{}\",\"last\":\"{}\"}}",
        s.window_count,
        s.count,
        Ts(s.first_ns),
        Ts(s.last_ns)
    );
}

/// Appends `output` as one JSON line (with the trailing `\n`). `sensor` names
/// the analytics instance (the `sensor` field of events and reports).
pub fn encode(output: &Output, sensor: &str, buf: &mut Vec<u8>) {
    match output {
        Output::Summary(s) => {
            head(buf, &s.id, s.last_ns, sensor, "summary", schema_input(&s.input), &s.location, &s.value);
            if let Some(i) = &s.indicator {
                buf.extend_from_slice(b",\"indicator\":");
                indicator(buf, i);
            }
            if let Some((chain, name)) = &s.rule {
                buf.extend_from_slice(b",\"rule\":{\"chain\":");
                js(buf, chain);
                field(buf, "name", name);
                buf.push(b'}');
            }
            buf.extend_from_slice(b",\"summary\":{\"key\":");
            js(buf, &s.key);
            let _ = write!(
                buf,
                ",\"suppressed\":{},\"first\":\"{}\",\"last\":\"{}\"",
                s.suppressed,
                Ts(s.first_ns),
                Ts(s.last_ns)
            );
            field(buf, "input", &s.input);
            let _ = write!(buf, ",\"window_start\":\"{}\"}}", Ts(s.window_start_ns));
            if let Some(f) = &s.flow {
                buf.extend_from_slice(b",\"flow\":");
                flow(buf, f);
            }
        }
        Output::Incident(i) => {
            head(buf, &i.id, i.ts_ns, sensor, "incident", i.input, &i.location, &i.value);
            if let Some(first) = i.indicators.first() {
                buf.extend_from_slice(b",\"indicator\":");
                indicator(buf, first);
            }
            buf.extend_from_slice(b",\"incident\":{\"rule\":");
            js(buf, &i.rule);
            let host = i.host.map(|h| h.to_string()).unwrap_or_default();
            field(buf, "host", &host);
            buf.extend_from_slice(b",\"events\":[");
            for (n, e) in i.events.iter().enumerate() {
                if n > 0 {
                    buf.push(b',');
                }
                js(buf, e);
            }
            buf.extend_from_slice(b"],\"indicators\":[");
            for (n, x) in i.indicators.iter().enumerate() {
                if n > 0 {
                    buf.push(b',');
                }
                indicator(buf, x);
            }
            buf.extend_from_slice(b"]}");
        }
        Output::TopN(t) => {
            window(buf, "topn", sensor, t.window_start_ns, t.window_end_ns);
            let _ = write!(buf, ",\"key\":\"{}\",\"total\":{},\"top\":[", t.key, t.total);
            for (n, (v, c)) in t.top.iter().enumerate() {
                if n > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"value\":");
                js(buf, v);
                let _ = write!(buf, ",\"count\":{c}}}");
            }
            buf.push(b']');
            if t.max_error > 0 {
                let _ = write!(buf, ",\"max_error\":{}", t.max_error);
            }
        }
        Output::Session(s) => {
            let end = match s.end {
                SessionEnd::Idle => "idle",
                SessionEnd::Finish => "finish",
                SessionEnd::Evicted => "evicted",
            };
            let _ = write!(
                buf,
                "{{\"report\":\"session\",\"sensor\":{},\"src_ip\":\"{}\",\"dst_ip\":\"{}\",\"first\":\"{}\",\"last\":\"{}\",\"count\":{},\"end\":\"{end}\"",
                serde_json::to_string(sensor).unwrap_or_default(),
                s.src,
                s.dst,
                Ts(s.first_ns),
                Ts(s.last_ns),
                s.count
            );
        }
        Output::Rate(r) => {
            window(buf, "rate", sensor, r.window_start_ns, r.window_end_ns);
            let _ = write!(
                buf,
                ",\"events\":{},\"late\":{},\"per_second_max\":{},\"per_second_mean\":{},\"per_minute\":{}",
                r.events, r.late, r.per_second_max, r.per_second_mean, r.per_minute
            );
        }
        Output::Hits(h) => {
            window(buf, "hits", sensor, h.window_start_ns, h.window_end_ns);
            buf.extend_from_slice(b",\"feeds\":[");
            for (n, (f, s)) in h.feeds.iter().enumerate() {
                if n > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"feed\":");
                js(buf, f);
                stat(buf, s);
            }
            buf.extend_from_slice(b"],\"indicators\":[");
            for (n, (i, s)) in h.indicators.iter().enumerate() {
                if n > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"indicator\":");
                indicator(buf, i);
                stat(buf, s);
            }
            buf.push(b']');
        }
    }
    buf.extend_from_slice(b"}\n");
}
