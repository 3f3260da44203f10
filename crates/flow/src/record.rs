//! The record every flow decoder produces: the fields of DESIGN.md and the
//! issue, each optional (exporters send different subsets). Plain data,
//! `Copy`, no allocation.

use core::net::IpAddr;

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowContext {
    /// The exporter (NetFlow/IPFIX) or agent (sFlow) address as seen on
    /// the wire: the datagram's source address, or the sFlow agent field.
    pub exporter: IpAddr,
    /// 1, 5, 7, 9 or 10 (IPFIX); 5 for sFlow v5 is told apart by `kind`.
    pub version: u16,
    pub kind: ExportKind,
    /// v9 source id / IPFIX observation domain id / sFlow sub-agent id.
    pub domain: u32,
    /// Header sequence number (v5/v7: flow sequence; v9: packet sequence;
    /// IPFIX: data-record sequence; sFlow: datagram sequence).
    pub sequence: u32,
    /// Export time from the header, Unix seconds.
    pub export_secs: u32,
    /// The template the record was decoded with (v9/IPFIX).
    pub template_id: Option<u16>,
    /// An options record (v9/IPFIX options template) rather than a flow.
    pub options: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Netflow,
    Ipfix,
    Sflow,
}

impl ExportKind {
    pub const fn name(self) -> &'static str {
        match self {
            ExportKind::Netflow => "netflow",
            ExportKind::Ipfix => "ipfix",
            ExportKind::Sflow => "sflow",
        }
    }
}

/// One flow record (or one sFlow sample's flow fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowRecord {
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub protocol: Option<u8>,
    pub tcp_flags: Option<u16>,
    pub tos: Option<u8>,
    /// As exported (IE 2 delta, else IE 86 total; v5 dPkts).
    pub packets: Option<u64>,
    /// As exported (IE 1 delta, else IE 85 total; v5 dOctets).
    pub bytes: Option<u64>,
    /// Sampling interval that applies (v5 header, v9/IPFIX options data
    /// or record fields, sFlow sampling rate); 0 or None: unsampled.
    pub sampling_interval: Option<u32>,
    /// Flow start and end, Unix nanoseconds, when they can be made
    /// absolute (sysUpTime-relative fields use the header's clock).
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// sysUpTime-relative start/end as exported (ms), when that is how
    /// they came.
    pub first_uptime_ms: Option<u64>,
    pub last_uptime_ms: Option<u64>,
    pub in_if: Option<u32>,
    pub out_if: Option<u32>,
    pub next_hop: Option<IpAddr>,
    pub bgp_next_hop: Option<IpAddr>,
    pub src_as: Option<u32>,
    pub dst_as: Option<u32>,
    pub src_mask: Option<u8>,
    pub dst_mask: Option<u8>,
    pub vlan: Option<u16>,
    /// 0 ingress, 1 egress (IE 61).
    pub direction: Option<u8>,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    /// NAT (NSEL / IPFIX post-NAT elements 225–228, 281–282).
    pub nat_src: Option<IpAddr>,
    pub nat_dst: Option<IpAddr>,
    pub nat_src_port: Option<u16>,
    pub nat_dst_port: Option<u16>,
    /// Enterprise-specific (IPFIX PEN) elements of at most 8 octets, as
    /// unsigned numbers, the first few of a record; larger ones are skipped.
    pub enterprise: [Option<EnterpriseValue>; MAX_ENTERPRISE_VALUES],
}

/// Enterprise elements kept per record.
pub const MAX_ENTERPRISE_VALUES: usize = 4;

/// One enterprise-specific element: `pen:id` and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnterpriseValue {
    pub pen: u32,
    pub id: u16,
    pub value: u64,
}

impl FlowRecord {
    /// Packets scaled by the sampling interval (raw value when unsampled).
    pub fn scaled_packets(&self) -> Option<u64> {
        self.packets.map(|p| p.saturating_mul(u64::from(self.sampling_interval.filter(|&s| s > 1).unwrap_or(1))))
    }

    /// Bytes scaled by the sampling interval (raw value when unsampled).
    pub fn scaled_bytes(&self) -> Option<u64> {
        self.bytes.map(|b| b.saturating_mul(u64::from(self.sampling_interval.filter(|&s| s > 1).unwrap_or(1))))
    }
}
