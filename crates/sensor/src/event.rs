//! Turning a packet hit into an event (borrowing, not copying).

use crate::capture::CapturedPacket;
use crate::pipeline::{Hit, Source};
use crate::rules::RuleSet;
use crate::scratch::{AppRef, HitValue, Scratch};
use events::app::{DnsDetail, HttpDetail, SmtpDetail, TlsDetail};
use events::flows::FlowDetail;
use events::{
    Event, EventIds, Flow, IndicatorRef, Input, Kind, Mac, Match, PacketDetail, Proto, RuleRef, TcpFlags, Timestamp,
    TunnelDetail, Value,
};
use flow::ExportKind;
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

/// Builds the event for one hit: `kind: "intel"` for an indicator,
/// `"rule"` for a `dns_chain` rule (`rules` names it); `input: "packet"`
/// for header addresses, or the application protocol with its object.
#[allow(clippy::too_many_arguments)]
pub fn packet_hit_event<'a>(
    ids: &'a mut EventIds,
    set: &'a IndicatorSet,
    p: &CapturedPacket<'_>,
    d: &'a Decoded<'_>,
    hit: &Hit,
    scratch: &'a Scratch,
    rules: Option<&'a RuleSet>,
    capture: Option<&'a str>,
) -> Event<'a> {
    let id = ids.next_id();
    let value = match hit.value {
        HitValue::Ip(a) => Value::Ip(a),
        HitValue::Text(s) => Value::Text(scratch.text(s)),
    };
    let mut flow = flow_of(d);
    if let (Some(c), Some(f)) = (hit.app.carrier(), flow.as_mut()) {
        // The message's own tuple (a reassembled datagram's ports).
        f.src_ip = c.src;
        f.dst_ip = c.dst;
        f.src_port = Some(c.src_port);
        f.dst_port = Some(c.dst_port);
        f.proto = Proto(c.protocol, wire::ip::protocol::name(c.protocol));
    }
    let ts = Timestamp { secs: p.ts_sec, nanos: p.ts_nsec, nanos_precision: p.ts_nanos };
    let e = base_event(id, ts, set, hit, value, rules, flow, Some(packet_detail(p, d, capture)));
    with_app_detail(e, hit, scratch)
}

/// The event for a hit in a datagram a listener received (no capture
/// around it): stamped with the reception time.
pub fn export_hit_event<'a>(
    ids: &'a mut EventIds,
    set: &'a IndicatorSet,
    hit: &Hit,
    scratch: &'a Scratch,
    rules: Option<&'a RuleSet>,
    ts_ns: u64,
) -> Event<'a> {
    let id = ids.next_id();
    let value = match hit.value {
        HitValue::Ip(a) => Value::Ip(a),
        HitValue::Text(s) => Value::Text(scratch.text(s)),
    };
    let ts = Timestamp {
        secs: (ts_ns / 1_000_000_000) as i64,
        nanos: (ts_ns % 1_000_000_000) as u32,
        nanos_precision: false,
    };
    let e = base_event(id, ts, set, hit, value, rules, None, None);
    with_app_detail(e, hit, scratch)
}

#[allow(clippy::too_many_arguments)]
fn base_event<'a>(
    id: events::EventId<'a>,
    ts: Timestamp,
    set: &'a IndicatorSet,
    hit: &Hit,
    value: Value<'a>,
    rules: Option<&'a RuleSet>,
    flow: Option<Flow<'a>>,
    packet: Option<PacketDetail<'a>>,
) -> Event<'a> {
    Event {
        sensor: id.sensor,
        id,
        ts,
        kind: if matches!(hit.source, Source::Indicator(_)) { Kind::Intel } else { Kind::Rule },
        input: Input::Packet,
        matched: Match { location: hit.location, value },
        indicator: match hit.source {
            Source::Indicator(id) => Some(IndicatorRef::from(set.get(id))),
            Source::DnsRule(_) | Source::ReRule(_) | Source::CidrRule(_) | Source::PcapRule(_) => None,
        },
        rule: match hit.source {
            Source::DnsRule(id) => rules.map(|r| RuleRef { chain: "dns", name: r.dns.rule(id).name() }),
            Source::ReRule(id) => rules.map(|r| RuleRef { chain: "re", name: &r.re.rule(id).name }),
            Source::CidrRule(id) => rules.map(|r| RuleRef { chain: "cidr", name: r.cidr.name(id) }),
            Source::PcapRule(id) => rules.map(|r| RuleRef { chain: "pcap", name: r.pcap.name(id) }),
            Source::Indicator(_) => None,
        },
        flow,
        packet,
        dns: None,
        http: None,
        tls: None,
        smtp: None,
        warning: None,
        netflow: None,
        ipfix: None,
        sflow: None,
        syslog: None,
    }
}

/// Adds the protocol object of the hit's application message and sets
/// `input` to match.
fn with_app_detail<'a>(mut e: Event<'a>, hit: &Hit, scratch: &'a Scratch) -> Event<'a> {
    match hit.app {
        AppRef::None => {}
        AppRef::Dns { message, carrier } => {
            e.input = Input::Dns;
            e.dns = wire::dns::Message::new_checked(scratch.bytes(message)).ok().map(|message| DnsDetail {
                message,
                transport: if carrier.protocol == wire::ip::protocol::TCP { "tcp" } else { "udp" },
            });
        }
        AppRef::Http { method, host, target, user_agent, .. } => {
            e.input = Input::Http;
            e.http = Some(HttpDetail {
                method: scratch.text(method),
                host: scratch.text(host),
                uri: scratch.text(target),
                user_agent: scratch.text(user_agent),
            });
        }
        AppRef::Tls { sni, version, .. } => {
            e.input = Input::Tls;
            e.tls = Some(TlsDetail { sni: scratch.text(sni), version: events::app::HexU16(version) });
        }
        AppRef::Smtp { field, .. } => {
            e.input = Input::Smtp;
            e.smtp = Some(SmtpDetail { field });
        }
        AppRef::Syslog { message, token_offset, token_len, peer } => {
            e.input = Input::Syslog;
            e.syslog = Some(events::syslogs::SyslogDetail {
                raw: scratch.bytes(message),
                token: (token_len > 0).then_some((token_offset as usize, token_len as usize)),
                peer,
            });
        }
        AppRef::Flow { index } => {
            if let Some((ctx, rec)) = scratch.flow(index) {
                // The record's own tuple, not the export datagram's.
                e.flow = Some(Flow {
                    src_ip: rec.src.unwrap_or(ctx.exporter),
                    src_port: rec.src_port,
                    dst_ip: rec.dst.unwrap_or(ctx.exporter),
                    dst_port: rec.dst_port,
                    proto: Proto(rec.protocol.unwrap_or(0), wire::ip::protocol::name(rec.protocol.unwrap_or(0))),
                    vlan: &[],
                })
                .filter(|_| rec.src.is_some() && rec.dst.is_some());
                let detail = Some(FlowDetail { ctx, record: rec });
                match ctx.kind {
                    ExportKind::Netflow => (e.input, e.netflow) = (Input::Netflow, detail),
                    ExportKind::Ipfix => (e.input, e.ipfix) = (Input::Ipfix, detail),
                    ExportKind::Sflow => (e.input, e.sflow) = (Input::Sflow, detail),
                }
            }
        }
    }
    e
}

/// The `kind: "warning"` event for a feed older than its `max_age`, stamped
/// `now`: `match` names the feed (`where` = `intel.feed`).
pub fn stale_feed_event<'a>(
    ids: &'a mut EventIds,
    feed: &'a str,
    age: std::time::Duration,
    max_age: std::time::Duration,
    now: std::time::SystemTime,
) -> Event<'a> {
    let id = ids.next_id();
    let since = now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Event {
        sensor: id.sensor,
        id,
        ts: Timestamp { secs: since.as_secs() as i64, nanos: since.subsec_nanos(), nanos_precision: false },
        kind: Kind::Warning,
        input: Input::Intel,
        matched: Match { location: "intel.feed", value: Value::Text(feed) },
        indicator: None,
        rule: None,
        flow: None,
        packet: None,
        dns: None,
        http: None,
        tls: None,
        smtp: None,
        warning: Some(events::Warning {
            kind: "stale_feed",
            feed,
            age_seconds: age.as_secs(),
            max_age_seconds: max_age.as_secs(),
        }),
        netflow: None,
        ipfix: None,
        sflow: None,
        syslog: None,
    }
}
