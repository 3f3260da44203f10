//! Turning a packet hit into an event.

use crate::capture::CapturedPacket;
use crate::pipeline::Hit;
use events::{
    Event, EventIds, Flow, IndicatorRef, Input, Kind, Match, PacketDetail, TunnelDetail,
    mac_string, tcp_flags_string,
};
use intel::IndicatorSet;
use wire::{Decoded, Fragment, Transport};

/// The `flow` object of a decoded frame, when it has an IP layer.
pub fn flow_of(d: &Decoded<'_>) -> Option<Flow> {
    // The innermost tuple; the tunnel's when the inner packet was unreadable.
    let ip = d.ip.or(d.outer)?;
    let ports = d.transport.ports();
    Some(Flow {
        src_ip: ip.src.to_string(),
        src_port: ports.map(|p| p.0),
        dst_ip: ip.dst.to_string(),
        dst_port: ports.map(|p| p.1),
        proto: wire::ip::protocol::name(ip.protocol)
            .map_or_else(|| ip.protocol.to_string(), str::to_string),
        vlan: d.vlans().to_vec(),
    })
}

pub fn packet_detail(
    p: &CapturedPacket<'_>,
    d: &Decoded<'_>,
    capture: Option<&str>,
) -> PacketDetail {
    let (icmp_type, icmp_code) = match d.transport {
        Transport::Icmp { icmp_type, code } | Transport::Icmpv6 { icmp_type, code } => {
            (Some(icmp_type), Some(code))
        }
        _ => (None, None),
    };
    PacketDetail {
        capture: capture.map(str::to_string),
        frame: p.frame,
        length: p.orig_len,
        caplen: p.data.len() as u32,
        link: p.link.name(),
        src_mac: d.src_mac.map(mac_string),
        dst_mac: d.dst_mac.map(mac_string),
        ethertype: d.ethertype,
        mpls_labels: (d.mpls_labels > 0).then_some(d.mpls_labels),
        ip_version: match d.ip.or(d.outer).map(|ip| ip.src) {
            Some(core::net::IpAddr::V4(_)) => 4,
            Some(core::net::IpAddr::V6(_)) => 6,
            None => 0,
        },
        ttl: d.ip.or(d.outer).map_or(0, |ip| ip.ttl),
        tcp_flags: match d.transport {
            Transport::Tcp { flags, .. } => Some(tcp_flags_string(flags)),
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
            src: outer.src.to_string(),
            dst: outer.dst.to_string(),
            depth: d.tunnel_depth,
        }),
    }
}

/// Builds the `kind: "intel"`, `input: "packet"` event for one hit.
pub fn packet_hit_event(
    ids: &mut EventIds,
    set: &IndicatorSet,
    p: &CapturedPacket<'_>,
    d: &Decoded<'_>,
    hit: &Hit,
    capture: Option<&str>,
) -> Event {
    Event {
        id: ids.next_id(),
        ts: events::time::rfc3339(p.ts_sec, p.ts_nsec, p.ts_nanos),
        sensor: ids.sensor().to_string(),
        kind: Kind::Intel,
        input: Input::Packet,
        matched: Match {
            location: hit.location,
            value: hit.value.to_string(),
        },
        indicator: Some(IndicatorRef::from(set.get(hit.indicator))),
        flow: flow_of(d),
        packet: Some(packet_detail(p, d, capture)),
    }
}
