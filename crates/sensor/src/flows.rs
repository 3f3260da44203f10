//! Flow exports as an input: NetFlow/IPFIX datagrams and sFlow samples,
//! decoded (crate `flow`), their addresses observed and matched. The same
//! code serves datagrams found in a capture and datagrams received by the
//! listeners (`sensor::listen`).

use crate::counters::Counters;
use crate::pipeline::{Hit, Source};
use crate::scratch::{HitValue, Scratch};
use core::net::IpAddr;
use flow::netflow::{NetflowDecoder, NetflowLimits};
use flow::sflow::{Datagram, Sample, SflowSequences};
use flow::{ExportKind, FlowContext, FlowRecord};
use intel::IndicatorSet;

/// `match.where` names of flow inputs (DESIGN.md §3).
pub mod location {
    pub const FLOW_SRC: &str = "flow.src";
    pub const FLOW_DST: &str = "flow.dst";
    pub const FLOW_NEXT_HOP: &str = "flow.next_hop";
    pub const FLOW_EXPORTER: &str = "flow.exporter";
    /// NAT translated addresses (NSEL, IPFIX post-NAT elements).
    pub const FLOW_NAT_SRC: &str = "flow.nat_src";
    pub const FLOW_NAT_DST: &str = "flow.nat_dst";
    pub const SFLOW_AGENT: &str = "sflow.agent";
}

/// Which UDP ports carry exports, and whose exports are accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    pub netflow_ports: Vec<u16>,
    pub ipfix_ports: Vec<u16>,
    pub sflow_ports: Vec<u16>,
    /// The original's `netflow_sources` / `sflow_sources`: when not empty,
    /// datagrams from other addresses are dropped and counted.
    pub netflow_sources: Vec<intel::IpKey>,
    pub sflow_sources: Vec<intel::IpKey>,
}

impl FlowConfig {
    /// What kind of export a datagram to this port is, if any.
    #[inline]
    pub fn port_kind(&self, dst_port: u16) -> Option<ExportPort> {
        if self.netflow_ports.contains(&dst_port) || self.ipfix_ports.contains(&dst_port) {
            Some(ExportPort::Netflow)
        } else if self.sflow_ports.contains(&dst_port) {
            Some(ExportPort::Sflow)
        } else {
            None
        }
    }
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            netflow_ports: vec![2055, 9995, 9996],
            ipfix_ports: vec![4739],
            sflow_ports: vec![6343],
            netflow_sources: Vec::new(),
            sflow_sources: Vec::new(),
        }
    }
}

/// Counts of the flow inputs (decoder errors are counted per reason in the
/// pipeline's application-error counters).
#[derive(Debug, Default, Clone)]
pub struct FlowCounters {
    pub netflow_datagrams: u64,
    pub sflow_datagrams: u64,
    pub records: u64,
    pub sflow_flow_samples: u64,
    /// Counter samples: metrics, not events.
    pub sflow_counter_samples: u64,
    /// Datagrams from an address outside the `*_sources` allowlist.
    pub rejected_sources: u64,
}

/// The decoders' state (templates, sFlow sequence numbers).
pub struct FlowInputs {
    cfg: FlowConfig,
    netflow: NetflowDecoder,
    sequences: SflowSequences,
    pub counters: FlowCounters,
}

/// What kind of export a datagram to `port` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportPort {
    Netflow,
    Sflow,
}

impl FlowInputs {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowInputs {
            cfg,
            netflow: NetflowDecoder::new(NetflowLimits::default()),
            sequences: SflowSequences::new(4096),
            counters: FlowCounters::default(),
        }
    }

    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }

    pub fn netflow(&self) -> &NetflowDecoder {
        &self.netflow
    }

    pub fn sflow_lost(&self) -> u64 {
        self.sequences.lost()
    }

    /// Decodes one export datagram from `exporter` and matches every
    /// address in it. Returns false when the datagram was not accepted.
    pub fn datagram(
        &mut self,
        kind: ExportPort,
        exporter: IpAddr,
        payload: &[u8],
        now_secs: u64,
        m: &mut FlowMatcher<'_>,
    ) -> bool {
        let sources = match kind {
            ExportPort::Netflow => &self.cfg.netflow_sources,
            ExportPort::Sflow => &self.cfg.sflow_sources,
        };
        if !sources.is_empty() && !sources.iter().any(|k| k.contains(exporter)) {
            self.counters.rejected_sources += 1;
            return false;
        }
        match kind {
            ExportPort::Netflow => {
                self.counters.netflow_datagrams += 1;
                let records = &mut self.counters.records;
                let result = self.netflow.decode(exporter, payload, now_secs, &mut |ctx, rec| {
                    *records += 1;
                    m.record(ctx, rec);
                });
                if let Err(e) = result {
                    m.counters.count_app_error(e.reason());
                }
            }
            ExportPort::Sflow => {
                self.counters.sflow_datagrams += 1;
                let d = match Datagram::new_checked(payload) {
                    Ok(d) => d,
                    Err(e) => {
                        m.counters.count_app_error(e.reason());
                        return false;
                    }
                };
                self.sequences.observe(d.agent(), d.sub_agent_id(), d.sequence());
                let ctx = FlowContext {
                    exporter: d.agent(),
                    version: 5,
                    kind: ExportKind::Sflow,
                    domain: d.sub_agent_id(),
                    sequence: d.sequence(),
                    export_secs: 0,
                    template_id: None,
                    options: false,
                };
                for sample in d.samples() {
                    match sample {
                        Ok(Sample::Flow(fs)) => {
                            self.counters.sflow_flow_samples += 1;
                            self.counters.records += 1;
                            m.record(&ctx, &fs.flow_record());
                        }
                        Ok(Sample::Counters(_)) => self.counters.sflow_counter_samples += 1,
                        Ok(_) => {}
                        Err(e) => {
                            m.counters.count_app_error(e.reason());
                            break;
                        }
                    }
                }
            }
        }
        true
    }
}

/// The raw packet headers sampled in an sFlow datagram (protocol 1:
/// Ethernet, 11: IPv4, 12: IPv6), to be inspected like captured frames.
pub fn sampled_headers(payload: &[u8], mut f: impl FnMut(wire::LinkType, &[u8])) {
    let Ok(d) = Datagram::new_checked(payload) else { return };
    for sample in d.samples() {
        let Ok(Sample::Flow(fs)) = sample else { continue };
        for r in fs.records().flatten() {
            if let flow::sflow::FlowRecordView::RawHeader { protocol, header, .. } = r {
                let link = match protocol {
                    1 => wire::LinkType::Ethernet,
                    11 => wire::LinkType::Ipv4,
                    12 => wire::LinkType::Ipv6,
                    _ => continue,
                };
                f(link, header);
            }
        }
    }
}

/// Matches the addresses of flow records into the pipeline's hits.
pub struct FlowMatcher<'p> {
    pub set: &'p IndicatorSet,
    pub hits: &'p mut Vec<Hit>,
    pub scratch: &'p mut Scratch,
    pub counters: &'p mut Counters,
    /// The exporter (agent) is the same for every record of a datagram:
    /// matched with the first record only.
    pub exporter_seen: bool,
}

impl FlowMatcher<'_> {
    /// Every address of one record: its tuple (with ports, for `ip:port`
    /// indicators), next hops, NAT addresses and the exporter or agent.
    pub fn record(&mut self, ctx: &FlowContext, rec: &FlowRecord) {
        let mut app = None;
        let exporter_at = if ctx.kind == ExportKind::Sflow { location::SFLOW_AGENT } else { location::FLOW_EXPORTER };
        let observations = [
            (location::FLOW_SRC, rec.src, rec.src_port),
            (location::FLOW_DST, rec.dst, rec.dst_port),
            (location::FLOW_NEXT_HOP, rec.next_hop, None),
            (location::FLOW_NEXT_HOP, rec.bgp_next_hop, None),
            (location::FLOW_NAT_SRC, rec.nat_src, rec.nat_src_port),
            (location::FLOW_NAT_DST, rec.nat_dst, rec.nat_dst_port),
            (exporter_at, Some(ctx.exporter).filter(|_| !self.exporter_seen), None),
        ];
        self.exporter_seen = true;
        for (at, addr, port) in observations {
            let Some(addr) = addr else { continue };
            let (ids, _) = self.set.match_ip(addr);
            let with_port: &[intel::IndicatorId] = match port {
                Some(p) if self.set.has_ip_ports() => self.set.match_ip_port(addr, p),
                _ => &[],
            };
            if ids.is_empty() && with_port.is_empty() {
                continue;
            }
            if self.set.allowlist().allows_ip(addr).is_some() {
                self.counters.suppressed += (ids.len() + with_port.len()) as u64;
                continue;
            }
            let app = *app.get_or_insert_with(|| self.scratch.push_flow(ctx, rec));
            for &id in ids.iter().chain(with_port) {
                let hit = Hit { source: Source::Indicator(id), location: at, value: HitValue::Ip(addr), app };
                // Once per (indicator, where) per record.
                if !self.hits.iter().any(|h| h.source == hit.source && h.location == at && h.app == app) {
                    self.hits.push(hit);
                }
            }
        }
    }
}

/// The extended URL records (sFlow format 1005) of a datagram: the host and
/// URL a sampled HTTP request named, with the sample's tuple.
pub fn sampled_urls(payload: &[u8], mut f: impl FnMut(&[u8], &[u8], &FlowRecord)) {
    let Ok(d) = Datagram::new_checked(payload) else { return };
    for sample in d.samples() {
        let Ok(Sample::Flow(fs)) = sample else { continue };
        let mut rec = None;
        for r in fs.records().flatten() {
            if let flow::sflow::FlowRecordView::ExtendedUrl { url, host, .. } = r {
                let rec = rec.get_or_insert_with(|| fs.flow_record());
                f(host, url, rec);
            }
        }
    }
}
