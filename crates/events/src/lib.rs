//! The event contract: JSON Lines, one event per line (DESIGN.md §4,
//! docs/EVENTS.md, schema/event.schema.json).
//!
//! Events are built only for hits, never per packet. They borrow what they
//! describe (the indicator, the decoded frame) and format addresses, MACs,
//! ids and timestamps straight into the output, so writing one allocates
//! nothing.

pub mod app;
pub mod flows;
pub mod hash;
pub mod syslogs;
pub mod time;

use core::fmt;
use core::net::IpAddr;
use intel::IndicatorView;
use serde::{Serialize, Serializer};
use std::io::{self, Write};
pub use time::Timestamp;

/// `kind`: why the event exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Intel,
    Rule,
    Summary,
    Incident,
    /// Something the operator should know that is not a match (a stale
    /// feed).
    Warning,
}

impl Kind {
    /// The name in events.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Intel => "intel",
            Kind::Rule => "rule",
            Kind::Summary => "summary",
            Kind::Incident => "incident",
            Kind::Warning => "warning",
        }
    }
}

/// `input`: what the observation was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Input {
    /// The sensor's own intel (warnings about feeds).
    Intel,
    Packet,
    Dns,
    Http,
    Tls,
    Smtp,
    Netflow,
    Ipfix,
    Sflow,
    Syslog,
}

impl Input {
    /// The name in events.
    pub fn name(self) -> &'static str {
        match self {
            Input::Intel => "intel",
            Input::Packet => "packet",
            Input::Dns => "dns",
            Input::Http => "http",
            Input::Tls => "tls",
            Input::Smtp => "smtp",
            Input::Netflow => "netflow",
            Input::Ipfix => "ipfix",
            Input::Sflow => "sflow",
            Input::Syslog => "syslog",
        }
    }
}

/// `match`: where the value was seen and the value itself.
#[derive(Debug, Clone, Serialize)]
pub struct Match<'a> {
    #[serde(rename = "where")]
    pub location: &'static str,
    pub value: Value<'a>,
}

/// An observed value: an address (formatted without allocating) or text.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum Value<'a> {
    Ip(IpAddr),
    Text(&'a str),
}

/// `rule`: the operator rule that fired (kind = rule).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RuleRef<'a> {
    /// `pcap`, `cidr`, `dns` or `re`.
    pub chain: &'static str,
    pub name: &'a str,
}

/// `indicator`: the indicator that matched, borrowed from the set.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorRef<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat_type: Option<&'a str>,
    pub feed: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
    /// For `address:port` indicators: the only port they match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl<'a> From<IndicatorView<'a>> for IndicatorRef<'a> {
    fn from(i: IndicatorView<'a>) -> Self {
        IndicatorRef {
            id: i.id,
            kind: i.kind.name(),
            value: i.value,
            threat_type: i.threat_type,
            feed: i.feed,
            confidence: i.confidence,
            port: i.port,
        }
    }
}

/// An IP protocol number, written as its name (`tcp`) or in decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proto(pub u8, pub Option<&'static str>);

impl Serialize for Proto {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Some(name) => s.serialize_str(name),
            None => s.collect_str(&self.0),
        }
    }
}

/// `flow`: the connection tuple, when addresses are known.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Flow<'a> {
    pub src_ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    pub dst_ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, ... or the protocol number.
    pub proto: Proto,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    pub vlan: &'a [u16],
}

/// A MAC address, written `xx:xx:xx:xx:xx:xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// TCP flags as tcpdump's letters (`S`, `S.`, `FP.`, ...), with `E`/`W`
/// for ECE/CWR, `none` when no flag is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 8];
        let mut n = 0;
        for (bit, c) in [
            (0x01, b'F'),
            (0x02, b'S'),
            (0x04, b'R'),
            (0x08, b'P'),
            (0x20, b'U'),
            (0x40, b'E'),
            (0x80, b'W'),
            (0x10, b'.'),
        ] {
            if self.0 & bit != 0 {
                buf[n] = c;
                n += 1;
            }
        }
        // Only ASCII letters were written.
        f.write_str(if n == 0 { "none" } else { core::str::from_utf8(&buf[..n]).unwrap_or("none") })
    }
}

impl Serialize for TcpFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `packet`: frame-level detail for `input: "packet"` events.
#[derive(Debug, Clone, Serialize)]
pub struct PacketDetail<'a> {
    /// The capture file (replay) or interface (live).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<&'a str>,
    /// 1-based frame number within the capture.
    pub frame: u64,
    /// Length on the wire.
    pub length: u32,
    /// Bytes captured.
    pub caplen: u32,
    pub link: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_mac: Option<Mac>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_mac: Option<Mac>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethertype: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mpls_labels: Option<u8>,
    pub ip_version: u8,
    pub ttl: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<TcpFlags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    /// `first` or `non_first` for IP fragments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragment: Option<&'static str>,
    /// Set when a layer above IP was damaged (the addresses are still good).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decode_error: Option<&'static str>,
    /// Set when the addresses came from inside a tunnel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<TunnelDetail>,
}

/// `packet.tunnel`: the outermost encapsulation looked through.
#[derive(Debug, Clone, Serialize)]
pub struct TunnelDetail {
    /// `ipip`, `gre`, `erspan` or `vxlan`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The outermost IP header's addresses.
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Encapsulations removed.
    pub depth: u8,
}

/// An event id: `SENSOR:` and a 16-hex-digit counter.
#[derive(Debug, Clone, Copy)]
pub struct EventId<'a> {
    pub sensor: &'a str,
    pub counter: u64,
}

impl fmt::Display for EventId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{:016x}", self.sensor, self.counter)
    }
}

impl Serialize for EventId<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One event, borrowing what it describes; built and written per hit
/// without allocating. Field order is the contract's.
#[derive(Debug, Clone, Serialize)]
pub struct Event<'a> {
    pub id: EventId<'a>,
    pub ts: Timestamp,
    pub sensor: &'a str,
    pub kind: Kind,
    pub input: Input,
    #[serde(rename = "match")]
    pub matched: Match<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<IndicatorRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<PacketDetail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<app::DnsDetail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<app::HttpDetail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<app::TlsDetail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<app::SmtpDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<Warning<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netflow: Option<flows::FlowDetail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipfix: Option<flows::FlowDetail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sflow: Option<flows::FlowDetail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syslog: Option<syslogs::SyslogDetail<'a>>,
}

/// `warning` (kind = warning).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Warning<'a> {
    /// What is wrong: `stale_feed`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub feed: &'a str,
    pub age_seconds: u64,
    pub max_age_seconds: u64,
}

/// Issues unique event ids for one sensor.
#[derive(Debug, Clone)]
pub struct EventIds {
    sensor: String,
    next: u64,
    step: u64,
}

impl EventIds {
    /// Ids continue from `start` + 1.
    pub fn new(sensor: &str, start: u64) -> Self {
        EventIds { sensor: sensor.to_string(), next: start, step: 1 }
    }

    /// Member `index` of `members` threads of one sensor: ids start + 1 +
    /// index, then every `members`-th, so no two members ever share one.
    pub fn striped(sensor: &str, start: u64, index: u64, members: u64) -> Self {
        let step = members.max(1);
        EventIds { sensor: sensor.to_string(), next: start.wrapping_add(1 + index % step).wrapping_sub(step), step }
    }

    pub fn next_id(&mut self) -> EventId<'_> {
        self.next = self.next.wrapping_add(self.step);
        EventId { sensor: &self.sensor, counter: self.next }
    }

    pub fn sensor(&self) -> &str {
        &self.sensor
    }
}

/// Writes events as JSON Lines.
pub struct JsonlWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(out: W) -> Self {
        JsonlWriter { out, written: 0 }
    }

    pub fn write(&mut self, event: &Event<'_>) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// One line already encoded (an event of another stage).
    pub fn write_raw(&mut self, json: &[u8]) -> io::Result<()> {
        self.out.write_all(json)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod id_tests {
    use super::EventIds;

    #[test]
    fn striped_ids_never_collide() {
        let mut seen = std::collections::HashSet::new();
        for index in 0..3 {
            let mut ids = EventIds::striped("s", 1000, index, 3);
            for _ in 0..100 {
                assert!(seen.insert(ids.next_id().counter));
            }
        }
        assert_eq!(seen.iter().min(), Some(&1001));
        assert_eq!(seen.iter().max(), Some(&1300));
        let mut one = EventIds::new("s", 1000);
        assert_eq!(one.next_id().counter, 1001);
    }
}
