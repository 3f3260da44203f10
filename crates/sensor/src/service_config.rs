//! The service's sections of the configuration (`sdn-sensor run`): capture
//! interfaces, pcap_chain filters, listeners, sinks, the HTTP listener and
//! logs. Parsed with the rest by `config::Config` (same file:line:col
//! errors); checked in depth by the parts that use them.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    /// The sensor's name in events (default: the host name).
    pub sensor: Option<String>,
    /// After the sockets are open, switch to this user (and its group):
    /// capture needs CAP_NET_RAW only to open its sockets.
    pub user: Option<String>,
    /// Resident memory the process should stay under (e.g. "1GiB"); shown
    /// on /metrics beside the resident size, with a warning in the log
    /// when crossed.
    pub memory_limit: Option<String>,
}

/// One interface to capture on (AF_PACKET, TPACKET_V3, PACKET_FANOUT).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureEntry {
    pub interface: String,
    /// Worker threads, each with its own ring in one fanout group.
    #[serde(default = "default_workers")]
    pub workers: usize,
    #[serde(default)]
    pub promiscuous: bool,
    #[serde(default = "default_snaplen")]
    pub snaplen: u32,
    /// Ring size per worker (e.g. "64MiB").
    #[serde(default = "default_ring")]
    pub ring_size: String,
    /// How the kernel spreads packets over workers: `hash` (by flow,
    /// default), `cpu`, `lb` (round robin).
    #[serde(default)]
    pub fanout: FanoutName,
}

fn default_workers() -> usize {
    1
}
fn default_snaplen() -> u32 {
    65_535
}
fn default_ring() -> String {
    "64MiB".to_string()
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FanoutName {
    #[default]
    Hash,
    Cpu,
    Lb,
}

/// The original's `pcap_chain`: a libpcap filter expression; every frame it
/// accepts gives a `kind: "rule"` event with `rule.chain = "pcap"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcapChainEntry {
    pub name: String,
    pub filter: String,
}

/// The sockets `run` listens on. Each list replaces its default; an empty
/// list turns that listener off.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenSection {
    pub netflow: Vec<SocketAddr>,
    pub ipfix: Vec<SocketAddr>,
    pub sflow: Vec<SocketAddr>,
    pub syslog_udp: Vec<SocketAddr>,
    pub syslog_tcp: Vec<SocketAddr>,
    /// RFC 5425 syslog over TLS; needs tls_cert and tls_key.
    pub syslog_tls: Vec<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Datagrams held between the sockets and the pipeline (each up to
    /// 64 KiB); past it datagrams are dropped and counted.
    pub udp_queue: usize,
}

impl Default for ListenSection {
    fn default() -> Self {
        let any = |p: u16| SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, p));
        ListenSection {
            netflow: vec![any(2055)],
            ipfix: vec![any(4739)],
            sflow: vec![any(6343)],
            syslog_udp: vec![any(5514)],
            syslog_tcp: vec![any(5514)],
            syslog_tls: Vec::new(),
            tls_cert: None,
            tls_key: None,
            udp_queue: 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkType {
    Jsonl,
    Stdout,
    Nanomsg,
    Nats,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Leave it to the kernel.
    #[default]
    Never,
    /// When a file is closed at rotation (and at shutdown).
    Rotate,
    /// After every batch written.
    Always,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NanomsgPattern {
    #[default]
    Push,
    Pub,
}

/// One sink. Keys apply to the types named beside them; a key given for
/// another type is an error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkEntry {
    #[serde(rename = "type")]
    pub kind: SinkType,
    /// The name in metrics and logs (default: the type, numbered).
    pub name: Option<String>,
    /// Events held for this sink; past it they are dropped and counted.
    pub queue: Option<usize>,
    /// jsonl: the file written (relative to the working directory).
    pub path: Option<PathBuf>,
    /// jsonl: rotate when the file reaches this size ("100MiB").
    pub rotate_size: Option<String>,
    /// jsonl: rotate when the file is this old ("1h").
    pub rotate_interval: Option<String>,
    /// jsonl: rotated files kept (oldest removed first).
    pub keep: Option<usize>,
    /// jsonl: `never` (default), `rotate`, `always`.
    pub fsync: Option<FsyncPolicy>,
    /// nanomsg: `tcp://host:port` (or `ipc:///path`); nats: `nats://host:port`.
    pub url: Option<String>,
    /// nanomsg: `push` (default) or `pub`.
    pub pattern: Option<NanomsgPattern>,
    /// nanomsg: listen on the url instead of dialling it.
    pub bind: Option<bool>,
    /// nats: the JetStream stream (created when missing).
    pub stream: Option<String>,
    /// nats: subject per event; `{kind}`, `{input}` and `{sensor}` are
    /// replaced.
    pub subject: Option<String>,
    /// nats: the directory events are spooled to while the server is
    /// unreachable.
    pub spool: Option<PathBuf>,
    /// nats: the spool's size limit ("1GiB"); past it events are dropped
    /// and counted.
    pub spool_limit: Option<String>,
    /// nats: `{partition}` in `subject` is a hash of the event's host
    /// modulo this, so analytics consumers can split the stream by host.
    pub partitions: Option<u32>,
    /// nats: what `{partition}` hashes: `host` (default) or `indicator`
    /// (then only `intel` events are published: the sightings stream of
    /// the multi-sensor correlation when analytics scale out).
    pub partition_by: Option<PartitionBy>,
    /// nats: events a message holds at most (default 1); more go as JSON
    /// lines, sent when full, at 512 KiB (or the server's `max_payload`)
    /// or 5 ms after their first event.
    pub batch: Option<usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionBy {
    #[default]
    Host,
    Indicator,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// `/metrics`, `/healthz` and, with an analytics store, the dashboard
    /// and `/api/*`.
    pub listen: SocketAddr,
    /// Opens the dashboard and `/api/*` (`Authorization: Bearer TOKEN`,
    /// `?token=`, or the cookie `?token=` sets).
    pub token: Option<String>,
    /// `user:password` for HTTP basic auth (the other way in; either
    /// works when both are set).
    pub basic_auth: Option<String>,
    /// A file holding `user:password` (one line), read at start, so the
    /// password stays out of the configuration.
    pub basic_auth_file: Option<PathBuf>,
    /// Whether the configuration has an `[http]` table (`sdn-sensor
    /// analytics` serves the dashboard only then).
    #[serde(skip_deserializing, default = "table_present")]
    pub present: bool,
}

fn table_present() -> bool {
    true
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            basic_auth: None,
            basic_auth_file: None,
            present: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    pub format: LogFormat,
    /// `error`, `warn`, `info` (default), `debug`, `trace`, or a
    /// tracing filter (`info,sdn_sinks=debug`).
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection { format: LogFormat::Text, level: "info".to_string() }
    }
}

/// The analytics stage (`run`, `replay --analytics`): throttling, windows,
/// sessions, correlations, and the embedded store.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsSection {
    /// `run`: pass events through the stage (off: events go to the sinks
    /// as they are).
    pub enabled: bool,
    /// Tumbling window ("60s", "1m").
    pub window: String,
    /// Entries in each top-N report.
    pub top_n: usize,
    /// Events per (host, indicator, where) and window that pass; the rest
    /// are summarized.
    pub throttle: u32,
    /// An IP-pair session ends after this long without events.
    pub session_idle: String,
    /// Bound of every keyed table (evictions are counted).
    pub max_keys: usize,
    /// The embedded store (SQLite); none: no store.
    pub store: Option<PathBuf>,
    /// Events older than this are removed from the store ("30d").
    pub store_max_age: Option<String>,
    /// The store's size bound ("10GiB"); the oldest events go first.
    pub store_max_size: Option<String>,
    /// Reports (top-N, rates, sessions, hit statistics) also go to the
    /// sinks, one JSON line each with a top-level `report` field.
    pub reports_to_sinks: bool,
    #[serde(rename = "correlation")]
    pub correlations: Vec<CorrelationEntry>,
}

impl Default for AnalyticsSection {
    fn default() -> Self {
        AnalyticsSection {
            enabled: false,
            window: "60s".into(),
            top_n: 10,
            throttle: 3,
            session_idle: "60s".into(),
            max_keys: 1_000_000,
            store: None,
            store_max_age: None,
            store_max_size: None,
            reports_to_sinks: true,
            correlations: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationKind {
    /// A host resolves a listed domain, then connects to an address of the
    /// answer.
    DnsThenConnect,
    /// One host hits `k` distinct indicators.
    DistinctIndicators,
    /// One host hits `k` distinct indicator types.
    DistinctTypes,
    /// One indicator reported by `k` distinct sensors.
    MultiSensor,
}

impl crate::config::Config {
    /// What `run` uses without `--config`: the defaults, plus the embedded
    /// store (`./sdn-sensor.db`) so the dashboard on 127.0.0.1:8080 has
    /// data. The stage only stores and counts here: no throttling and no
    /// reports on the sinks, so the sinks get exactly the sensor's events;
    /// a config file turns the rest on.
    pub fn embedded() -> Self {
        let mut c = Self::default();
        c.analytics.enabled = true;
        c.analytics.store = Some(PathBuf::from("sdn-sensor.db"));
        c.analytics.throttle = u32::MAX;
        c.analytics.reports_to_sinks = false;
        c
    }
}

/// `[[analytics.correlation]]`: a rule whose firing is a `kind: "incident"`
/// event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: CorrelationKind,
    /// How close together the events must be ("5m").
    pub within: String,
    /// The count for distinct_indicators, distinct_types, multi_sensor.
    pub k: Option<usize>,
}

/// "64MiB", "1GiB", "500kB", "4096": a size in bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is not a size (write e.g. \"64MiB\", \"1GiB\", \"500kB\")"))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" | "k" | "K" => 1000,
        "KiB" | "Ki" => 1 << 10,
        "MB" | "M" => 1_000_000,
        "MiB" | "Mi" => 1 << 20,
        "GB" | "G" => 1_000_000_000,
        "GiB" | "Gi" => 1 << 30,
        "TB" | "T" => 1_000_000_000_000,
        "TiB" | "Ti" => 1 << 40,
        u => return Err(format!("{s:?}: unknown unit {u:?} (use B, kB, KiB, MB, MiB, GB, GiB)")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("500kB"), Ok(500_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
    }
}
