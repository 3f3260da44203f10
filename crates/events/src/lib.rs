//! The event contract: JSON Lines, one event per line (DESIGN.md §4,
//! docs/EVENTS.md, schema/event.schema.json).
//!
//! Events are built only for hits, never per packet, so this crate is off
//! the hot path; it favours a fixed field order and exact formatting.

pub mod time;

use intel::Indicator;
use serde::Serialize;
use std::io::{self, Write};

/// `kind`: why the event exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Intel,
    Rule,
    Summary,
    Incident,
}

/// `input`: what the observation was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Input {
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

/// `match`: where the value was seen and the value itself.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    #[serde(rename = "where")]
    pub location: &'static str,
    pub value: String,
}

/// `indicator`: the indicator that matched.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat_type: Option<String>,
    pub feed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
}

impl From<&Indicator> for IndicatorRef {
    fn from(i: &Indicator) -> Self {
        IndicatorRef {
            id: i.id.to_string(),
            kind: i.kind.name(),
            value: i.value.to_string(),
            threat_type: i.threat_type.as_deref().map(str::to_string),
            feed: i.feed.to_string(),
            confidence: i.confidence,
        }
    }
}

/// `flow`: the connection tuple, when addresses are known.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Flow {
    pub src_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    pub dst_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, ... or the protocol number.
    pub proto: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vlan: Vec<u16>,
}

/// `packet`: frame-level detail for `input: "packet"` events.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PacketDetail {
    /// The capture file (replay) or interface (live).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// 1-based frame number within the capture.
    pub frame: u64,
    /// Length on the wire.
    pub length: u32,
    /// Bytes captured.
    pub caplen: u32,
    pub link: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethertype: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mpls_labels: Option<u8>,
    pub ip_version: u8,
    pub ttl: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<String>,
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
    pub src: String,
    pub dst: String,
    /// Encapsulations removed.
    pub depth: u8,
}

/// One event. Field order is the contract's.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    pub ts: String,
    pub sensor: String,
    pub kind: Kind,
    pub input: Input,
    #[serde(rename = "match")]
    pub matched: Match,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<IndicatorRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<PacketDetail>,
}

/// Issues unique event ids: `SENSOR:COUNTER` with a 16-hex-digit counter.
#[derive(Debug, Clone)]
pub struct EventIds {
    sensor: String,
    next: u64,
}

impl EventIds {
    pub fn new(sensor: &str, start: u64) -> Self {
        EventIds {
            sensor: sensor.to_string(),
            next: start,
        }
    }

    pub fn next_id(&mut self) -> String {
        self.next += 1;
        format!("{}:{:016x}", self.sensor, self.next)
    }

    pub fn sensor(&self) -> &str {
        &self.sensor
    }
}

/// Formats TCP flags as tcpdump's letters (`S`, `S.`, `FP.`, ...), with
/// `E`/`W` for ECE/CWR.
pub fn tcp_flags_string(flags: u8) -> String {
    let mut s = String::with_capacity(8);
    for (bit, c) in [
        (0x01, 'F'),
        (0x02, 'S'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'W'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    if flags & 0x10 != 0 {
        s.push('.');
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

pub fn mac_string(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
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

    pub fn write(&mut self, event: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
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
