//! Turning a packet hit into an event (borrowing, not copying).

use crate::capture::CapturedPacket;
use crate::pipeline::Hit;
use events::{
    Event, EventIds, Flow, IndicatorRef, Input, Kind, Mac, Match, PacketDetail, Proto, TcpFlags, Timestamp,
    TunnelDetail, Value,
};
use intel::IndicatorSet;
use wire::{Decoded, Fragment, Transport};

/// The `flow` object of a decoded frame, when it has an IP layer.
pub fn flow_of<'a>(d: &'a Decoded<'_>) -> Option<Flow<'a>> {
    // The innermost tuple; the tunnel's when the inner packet was unreadable.
    let ip = d.ip.or(d.outer)?;
    let ports = d.transport.ports();
    Some(Flow {
        src_ip: ip.src,
        src_port: ports.map(|p| p.0),
        dst_ip: ip.dst,
        dst_port: ports.map(|p| p.1),
        proto: Proto(ip.protocol, wire::ip::protocol::name(ip.protocol)),
        vlan: d.vlans(),
    })
}

pub fn packet_detail<'a>(p: &CapturedPacket<'_>, d: &Decoded<'_>, capture: Option<&'a str>) -> PacketDetail<'a> {
    let (icmp_type, icmp_code) = match d.transport {
        Transport::Icmp { icmp_type, code } | Transport::Icmpv6 { icmp_type, code } => (Some(icmp_type), Some(code)),
        _ => (None, None),
    };
    let ip = d.ip.or(d.outer);
    PacketDetail {
        capture,
        frame: p.frame,
        length: p.orig_len,
        caplen: p.data.len() as u32,
        link: p.link.name(),
        src_mac: d.src_mac.map(Mac),
        dst_mac: d.dst_mac.map(Mac),
        ethertype: d.ethertype,
        mpls_labels: (d.mpls_labels > 0).then_some(d.mpls_labels),
        ip_version: match ip.map(|ip| ip.src) {
            Some(core::net::IpAddr::V4(_)) => 4,
            Some(core::net::IpAddr::V6(_)) => 6,
            None => 0,
        },
        ttl: ip.map_or(0, |ip| ip.ttl),
        tcp_flags: match d.transport {
            Transport::Tcp { flags, .. } => Some(TcpFlags(flags)),
            _ => None,
        },
        icmp_type,
        icmp_code,
        fragment: match d.ip.map(|ip| ip.fragment) {
            Some(Fragment::First) => Some("first"),
            Some(Fragment::NonFirst) => Some("non_first"),
            _ => None,
        },
        decode_error: d.error.as_ref().map(|e| e.reason()),
        tunnel: d.tunnel.zip(d.outer).map(|(kind, outer)| TunnelDetail {
            kind: kind.name(),
            src: outer.src,
            dst: outer.dst,
            depth: d.tunnel_depth,
        }),
    }
}

/// Builds the `kind: "intel"`, `input: "packet"` event for one hit.
pub fn packet_hit_event<'a>(
    ids: &'a mut EventIds,
    set: &'a IndicatorSet,
    p: &CapturedPacket<'_>,
    d: &'a Decoded<'_>,
    hit: &Hit,
    capture: Option<&'a str>,
) -> Event<'a> {
    let id = ids.next_id();
    Event {
        sensor: id.sensor,
        id,
        ts: Timestamp { secs: p.ts_sec, nanos: p.ts_nsec, nanos_precision: p.ts_nanos },
        kind: Kind::Intel,
        input: Input::Packet,
        matched: Match { location: hit.location, value: Value::Ip(hit.value) },
        indicator: Some(IndicatorRef::from(set.get(hit.indicator))),
        flow: flow_of(d),
        packet: Some(packet_detail(p, d, capture)),
    }
}
