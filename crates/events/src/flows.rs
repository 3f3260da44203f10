//! The `netflow`, `ipfix` and `sflow` objects: the flow record behind a
//! match, with its exporter (or sFlow agent). Absent fields are left out.

use crate::{Mac, Timestamp};
use flow::{ExportKind, FlowContext, FlowRecord};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

#[derive(Debug, Clone, Copy)]
pub struct FlowDetail<'a> {
    pub ctx: &'a FlowContext,
    pub record: &'a FlowRecord,
}

fn time(ns: i64) -> Timestamp {
    Timestamp { secs: ns.div_euclid(1_000_000_000), nanos: ns.rem_euclid(1_000_000_000) as u32, nanos_precision: true }
}

impl Serialize for FlowDetail<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (c, r) = (self.ctx, self.record);
        let mut m = s.serialize_map(None)?;
        match c.kind {
            ExportKind::Sflow => {
                m.serialize_entry("agent", &c.exporter)?;
                m.serialize_entry("sub_agent_id", &c.domain)?;
            }
            ExportKind::Ipfix => {
                m.serialize_entry("exporter", &c.exporter)?;
                m.serialize_entry("observation_domain", &c.domain)?;
            }
            ExportKind::Netflow => {
                m.serialize_entry("exporter", &c.exporter)?;
                if c.version == 9 {
                    m.serialize_entry("source_id", &c.domain)?;
                }
            }
        }
        m.serialize_entry("version", &c.version)?;
        m.serialize_entry("sequence", &c.sequence)?;
        if let Some(t) = c.template_id {
            m.serialize_entry("template_id", &t)?;
        }
        if c.options {
            m.serialize_entry("options", &true)?;
        }
        macro_rules! opt {
            ($name:literal, $v:expr) => {
                if let Some(v) = $v {
                    m.serialize_entry($name, &v)?;
                }
            };
        }
        opt!("src_addr", r.src);
        opt!("dst_addr", r.dst);
        opt!("src_port", r.src_port);
        opt!("dst_port", r.dst_port);
        opt!("protocol", r.protocol);
        opt!("tcp_flags", r.tcp_flags);
        opt!("tos", r.tos);
        opt!("packets", r.packets);
        opt!("bytes", r.bytes);
        if let Some(s) = r.sampling_interval.filter(|&s| s > 1) {
            m.serialize_entry("sampling_interval", &s)?;
            opt!("packets_scaled", r.scaled_packets());
            opt!("bytes_scaled", r.scaled_bytes());
        }
        opt!("first", r.first_ns.map(time));
        opt!("last", r.last_ns.map(time));
        opt!("first_uptime_ms", r.first_uptime_ms);
        opt!("last_uptime_ms", r.last_uptime_ms);
        opt!("in_if", r.in_if);
        opt!("out_if", r.out_if);
        opt!("next_hop", r.next_hop);
        opt!("bgp_next_hop", r.bgp_next_hop);
        opt!("src_as", r.src_as);
        opt!("dst_as", r.dst_as);
        opt!("src_mask", r.src_mask);
        opt!("dst_mask", r.dst_mask);
        opt!("vlan", r.vlan);
        opt!("direction", r.direction.map(|d| if d == 0 { "ingress" } else { "egress" }));
        opt!("src_mac", r.src_mac.map(Mac));
        opt!("dst_mac", r.dst_mac.map(Mac));
        opt!("nat_src_addr", r.nat_src);
        opt!("nat_dst_addr", r.nat_dst);
        opt!("nat_src_port", r.nat_src_port);
        opt!("nat_dst_port", r.nat_dst_port);
        if r.enterprise[0].is_some() {
            m.serialize_entry("enterprise", &Enterprise(&r.enterprise))?;
        }
        m.end()
    }
}

/// `{"pen:id": value, ...}` of the enterprise elements kept.
struct Enterprise<'a>(&'a [Option<flow::record::EnterpriseValue>]);

impl Serialize for Enterprise<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for e in self.0.iter().flatten() {
            m.serialize_entry(&format_args!("{}:{}", e.pen, e.id), &e.value)?;
        }
        m.end()
    }
}
