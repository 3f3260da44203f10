//! Flow samples (formats 1 and 3) and their flow records.

use super::xdr::{Elements, Reader, U32List};
use super::{SflowError, flow_format, header_protocol, split_format};
use crate::record::FlowRecord;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use wire::{LinkType, Transport};

/// An interface as a flow sample gives it. Compact samples pack it into one
/// word (format in the top 2 bits, value in the other 30); expanded samples
/// send format and value as two words.
///
/// Format 0: `value` is the ifIndex (0x3fffffff: internal to the agent, 0:
/// unknown). Format 1: the packet was discarded, `value` is the reason.
/// Format 2: several interfaces, `value` is their number (0: unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interface {
    pub format: u32,
    pub value: u32,
}

impl Interface {
    pub const fn from_compact(raw: u32) -> Self {
        Interface { format: raw >> 30, value: raw & 0x3fff_ffff }
    }
    /// The ifIndex, for format 0.
    pub const fn if_index(&self) -> Option<u32> {
        if self.format == 0 { Some(self.value) } else { None }
    }
    /// The compact encoding (format and value masked to their bits).
    pub const fn to_compact(&self) -> u32 {
        (self.format << 30) | (self.value & 0x3fff_ffff)
    }
}

/// A flow sample (format 1) or expanded flow sample (format 3) whose fixed
/// fields are present; its records are walked lazily by
/// [`FlowSample::records`].
#[derive(Debug, Clone, Copy)]
pub struct FlowSample<'a> {
    expanded: bool,
    sequence: u32,
    source_id_type: u32,
    source_id_index: u32,
    sampling_rate: u32,
    sample_pool: u32,
    drops: u32,
    input: Interface,
    output: Interface,
    record_count: u32,
    records: &'a [u8],
}

impl<'a> FlowSample<'a> {
    pub(super) fn parse(data: &'a [u8], expanded: bool) -> Result<Self, SflowError> {
        let mut r = Reader::new(data, SflowError::ShortSample);
        let sequence = r.u32()?;
        let (source_id_type, source_id_index) = if expanded {
            (r.u32()?, r.u32()?)
        } else {
            let raw = r.u32()?;
            (raw >> 24, raw & 0x00ff_ffff)
        };
        let (sampling_rate, sample_pool, drops) = (r.u32()?, r.u32()?, r.u32()?);
        let (input, output) = if expanded {
            (Interface { format: r.u32()?, value: r.u32()? }, Interface { format: r.u32()?, value: r.u32()? })
        } else {
            (Interface::from_compact(r.u32()?), Interface::from_compact(r.u32()?))
        };
        let record_count = r.u32()?;
        Ok(FlowSample {
            expanded,
            sequence,
            source_id_type,
            source_id_index,
            sampling_rate,
            sample_pool,
            drops,
            input,
            output,
            record_count,
            records: r.rest(),
        })
    }

    /// An expanded flow sample (format 3).
    pub fn is_expanded(&self) -> bool {
        self.expanded
    }
    pub fn sequence(&self) -> u32 {
        self.sequence
    }
    /// 0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry.
    pub fn source_id_type(&self) -> u32 {
        self.source_id_type
    }
    pub fn source_id_index(&self) -> u32 {
        self.source_id_index
    }
    /// One packet in `sampling_rate` was sampled.
    pub fn sampling_rate(&self) -> u32 {
        self.sampling_rate
    }
    /// Packets that could have been sampled.
    pub fn sample_pool(&self) -> u32 {
        self.sample_pool
    }
    /// Samples dropped for lack of resources.
    pub fn drops(&self) -> u32 {
        self.drops
    }
    pub fn input(&self) -> Interface {
        self.input
    }
    pub fn output(&self) -> Interface {
        self.output
    }
    /// The sample's record count, as sent.
    pub fn record_count(&self) -> u32 {
        self.record_count
    }

    /// The flow records, in order. Stops after the first error (which it
    /// yields).
    pub fn records(&self) -> FlowRecords<'a> {
        FlowRecords { walk: Elements::new(self.records, self.record_count) }
    }

    /// The sample as a flow record: the sampled packet header's addresses,
    /// protocol, ports, TCP flags, TOS, MACs and outermost VLAN (through
    /// `wire::decode`; the outermost IP header, ports only when no tunnel
    /// was looked through), else those of a sampled IPv4/IPv6 (or Ethernet)
    /// record; in/out ifIndex (format-0 interfaces only); the sampling rate
    /// as sampling interval; the extended switch's source VLAN when the
    /// header has no tag; the extended router's next hop and masks; the
    /// extended gateway's BGP next hop, source AS and destination AS (the
    /// last AS of the destination path, the router's own AS when the path is
    /// empty). One packet of the frame length (else the sampled IP or
    /// Ethernet length). Records after a damaged one are not used.
    pub fn flow_record(&self) -> FlowRecord {
        let mut rec = FlowRecord {
            packets: Some(1),
            sampling_interval: Some(self.sampling_rate),
            in_if: self.input.if_index(),
            out_if: self.output.if_index(),
            ..FlowRecord::default()
        };
        let mut header_seen = false;
        let mut ip = None;
        let mut eth = None;
        let mut switch_vlan = None;
        for record in self.records() {
            let Ok(record) = record else { break };
            match record {
                FlowRecordView::RawHeader { protocol, frame_length, header, .. } if !header_seen => {
                    header_seen = true;
                    rec.bytes = Some(u64::from(frame_length));
                    apply_header(&mut rec, protocol, header);
                }
                FlowRecordView::SampledIpv4 { .. } | FlowRecordView::SampledIpv6 { .. } => {
                    ip.get_or_insert(record);
                }
                FlowRecordView::SampledEthernet { .. } => {
                    eth.get_or_insert(record);
                }
                FlowRecordView::ExtendedSwitch { src_vlan, .. } => {
                    switch_vlan = u16::try_from(src_vlan).ok().filter(|v| (1..4095).contains(v));
                }
                FlowRecordView::ExtendedRouter { next_hop, src_mask, dst_mask } => {
                    rec.next_hop = Some(next_hop);
                    rec.src_mask = u8::try_from(src_mask).ok().filter(|&m| m <= 128);
                    rec.dst_mask = u8::try_from(dst_mask).ok().filter(|&m| m <= 128);
                }
                FlowRecordView::ExtendedGateway { next_hop, as_, src_as, dst_as_path_last, .. } => {
                    rec.bgp_next_hop = Some(next_hop);
                    rec.src_as = Some(src_as);
                    rec.dst_as = Some(dst_as_path_last.unwrap_or(as_));
                }
                _ => {}
            }
        }
        match ip {
            Some(FlowRecordView::SampledIpv4 { length, protocol, src, dst, src_port, dst_port, tcp_flags, tos }) => {
                if rec.src.is_none() {
                    rec.src = Some(IpAddr::V4(src));
                    rec.dst = Some(IpAddr::V4(dst));
                    fill_sampled_ip(&mut rec, protocol, src_port, dst_port, tcp_flags, tos);
                }
                rec.bytes = rec.bytes.or(Some(u64::from(length)));
            }
            Some(FlowRecordView::SampledIpv6 {
                length,
                protocol,
                src,
                dst,
                src_port,
                dst_port,
                tcp_flags,
                priority,
            }) => {
                if rec.src.is_none() {
                    rec.src = Some(IpAddr::V6(src));
                    rec.dst = Some(IpAddr::V6(dst));
                    fill_sampled_ip(&mut rec, protocol, src_port, dst_port, tcp_flags, priority);
                }
                rec.bytes = rec.bytes.or(Some(u64::from(length)));
            }
            _ => {}
        }
        if let Some(FlowRecordView::SampledEthernet { length, src_mac, dst_mac, .. }) = eth {
            if rec.src_mac.is_none() && rec.dst_mac.is_none() {
                rec.src_mac = Some(src_mac);
                rec.dst_mac = Some(dst_mac);
            }
            rec.bytes = rec.bytes.or(Some(u64::from(length)));
        }
        rec.vlan = rec.vlan.or(switch_vlan);
        rec
    }
}

fn fill_sampled_ip(rec: &mut FlowRecord, protocol: u32, src_port: u32, dst_port: u32, tcp_flags: u32, tos: u32) {
    rec.protocol = u8::try_from(protocol).ok();
    if matches!(rec.protocol, Some(6 | 17 | 132)) {
        rec.src_port = u16::try_from(src_port).ok();
        rec.dst_port = u16::try_from(dst_port).ok();
    }
    if rec.protocol == Some(6) {
        rec.tcp_flags = u16::try_from(tcp_flags).ok();
    }
    rec.tos = u8::try_from(tos).ok();
}

/// The link type `wire::decode` reads a sampled header of this protocol as.
pub(crate) fn header_link(protocol: u32) -> Option<LinkType> {
    match protocol {
        header_protocol::ETHERNET => Some(LinkType::Ethernet),
        header_protocol::FDDI => Some(LinkType::Fddi),
        header_protocol::IPV4 => Some(LinkType::Ipv4),
        header_protocol::IPV6 => Some(LinkType::Ipv6),
        _ => None,
    }
}

fn apply_header(rec: &mut FlowRecord, protocol: u32, header: &[u8]) {
    let Some(link) = header_link(protocol) else { return };
    let d = wire::decode(link, header);
    rec.src_mac = d.src_mac;
    rec.dst_mac = d.dst_mac;
    rec.vlan = d.vlans().first().copied();
    let Some(ip) = d.outer.or(d.ip) else { return };
    rec.src = Some(ip.src);
    rec.dst = Some(ip.dst);
    rec.protocol = Some(ip.protocol);
    if d.tunnel_depth != 0 {
        return;
    }
    match d.transport {
        Transport::Tcp { src_port, dst_port, flags, .. } => {
            (rec.src_port, rec.dst_port, rec.tcp_flags) = (Some(src_port), Some(dst_port), Some(u16::from(flags)));
        }
        Transport::Udp { src_port, dst_port } | Transport::PortsOnly { src_port, dst_port, .. } => {
            (rec.src_port, rec.dst_port) = (Some(src_port), Some(dst_port));
        }
        _ => {}
    }
    rec.tos = ip_tos(header, &d);
}

/// The IPv4 TOS / IPv6 traffic class of the (only) IP header of a decoded
/// sampled header. `wire::Decoded` keeps where the IP payload starts; the
/// header is found just before it and confirmed by version and source.
fn ip_tos(header: &[u8], d: &wire::Decoded<'_>) -> Option<u8> {
    let ip = d.ip?;
    let off = (d.ip_payload.as_ptr() as usize).checked_sub(header.as_ptr() as usize)?;
    if off > header.len() {
        return None;
    }
    match ip.src {
        IpAddr::V4(src) => (5..=15usize).find_map(|ihl| {
            let h = &header[off.checked_sub(ihl * 4)?..off];
            (h[0] == 0x40 | ihl as u8 && h[12..16] == src.octets()).then_some(h[1])
        }),
        IpAddr::V6(src) => {
            let h = &header[off.checked_sub(40)?..off];
            (h[0] >> 4 == 6 && h[8..24] == src.octets()).then_some((h[0] << 4) | (h[1] >> 4))
        }
    }
}

/// One flow record of a flow sample.
#[derive(Debug, Clone, Copy)]
pub enum FlowRecordView<'a> {
    /// Format 1: the first octets of the sampled packet. `protocol` is the
    /// header protocol (1 Ethernet, 11 IPv4, 12 IPv6, ...); `frame_length`
    /// the original length, `stripped` the octets removed (e.g. the FCS).
    RawHeader { protocol: u32, frame_length: u32, stripped: u32, header: &'a [u8] },
    /// Format 2.
    SampledEthernet { length: u32, src_mac: [u8; 6], dst_mac: [u8; 6], eth_type: u32 },
    /// Format 3.
    SampledIpv4 {
        length: u32,
        protocol: u32,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        src_port: u32,
        dst_port: u32,
        tcp_flags: u32,
        tos: u32,
    },
    /// Format 4.
    SampledIpv6 {
        length: u32,
        protocol: u32,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        src_port: u32,
        dst_port: u32,
        tcp_flags: u32,
        priority: u32,
    },
    /// Format 1001.
    ExtendedSwitch { src_vlan: u32, src_priority: u32, dst_vlan: u32, dst_priority: u32 },
    /// Format 1002.
    ExtendedRouter { next_hop: IpAddr, src_mask: u32, dst_mask: u32 },
    /// Format 1003. `as_` is the router's own AS; `dst_as_path_first` and
    /// `_last` are the first and last AS of the destination path (the peer
    /// and the origin AS).
    ExtendedGateway {
        next_hop: IpAddr,
        as_: u32,
        src_as: u32,
        src_peer_as: u32,
        dst_as_path: AsPathSegments<'a>,
        dst_as_path_first: Option<u32>,
        dst_as_path_last: Option<u32>,
        communities: U32List<'a>,
        local_pref: u32,
    },
    /// Format 1004 (charsets are IANA MIBenum values).
    ExtendedUser { src_charset: u32, src_user: &'a [u8], dst_charset: u32, dst_user: &'a [u8] },
    /// Format 1005 (direction 1: source address is the server, 2: destination).
    ExtendedUrl { direction: u32, url: &'a [u8], host: &'a [u8] },
    /// Any other enterprise or format, skipped by its length.
    Other { enterprise: u32, format: u32, data: &'a [u8] },
}

impl<'a> FlowRecordView<'a> {
    fn parse(word: u32, data: &'a [u8]) -> Result<Self, SflowError> {
        let mut r = Reader::new(data, SflowError::ShortRecord);
        let (enterprise, format) = split_format(word);
        if enterprise != 0 {
            return Ok(FlowRecordView::Other { enterprise, format, data });
        }
        Ok(match format {
            flow_format::RAW_HEADER => FlowRecordView::RawHeader {
                protocol: r.u32()?,
                frame_length: r.u32()?,
                stripped: r.u32()?,
                header: r.opaque()?,
            },
            flow_format::ETHERNET => {
                let length = r.u32()?;
                let src_mac = mac(r.fixed_opaque(6)?);
                let dst_mac = mac(r.fixed_opaque(6)?);
                FlowRecordView::SampledEthernet { length, src_mac, dst_mac, eth_type: r.u32()? }
            }
            flow_format::IPV4 => FlowRecordView::SampledIpv4 {
                length: r.u32()?,
                protocol: r.u32()?,
                src: Ipv4Addr::from(r.array::<4>()?),
                dst: Ipv4Addr::from(r.array::<4>()?),
                src_port: r.u32()?,
                dst_port: r.u32()?,
                tcp_flags: r.u32()?,
                tos: r.u32()?,
            },
            flow_format::IPV6 => FlowRecordView::SampledIpv6 {
                length: r.u32()?,
                protocol: r.u32()?,
                src: Ipv6Addr::from(r.array::<16>()?),
                dst: Ipv6Addr::from(r.array::<16>()?),
                src_port: r.u32()?,
                dst_port: r.u32()?,
                tcp_flags: r.u32()?,
                priority: r.u32()?,
            },
            flow_format::EXTENDED_SWITCH => FlowRecordView::ExtendedSwitch {
                src_vlan: r.u32()?,
                src_priority: r.u32()?,
                dst_vlan: r.u32()?,
                dst_priority: r.u32()?,
            },
            flow_format::EXTENDED_ROUTER => {
                FlowRecordView::ExtendedRouter { next_hop: r.address()?, src_mask: r.u32()?, dst_mask: r.u32()? }
            }
            flow_format::EXTENDED_GATEWAY => parse_gateway(&mut r)?,
            flow_format::EXTENDED_USER => FlowRecordView::ExtendedUser {
                src_charset: r.u32()?,
                src_user: r.opaque()?,
                dst_charset: r.u32()?,
                dst_user: r.opaque()?,
            },
            flow_format::EXTENDED_URL => {
                FlowRecordView::ExtendedUrl { direction: r.u32()?, url: r.opaque()?, host: r.opaque()? }
            }
            _ => FlowRecordView::Other { enterprise, format, data },
        })
    }
}

fn mac(s: &[u8]) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&s[..6]);
    m
}

fn parse_gateway<'a>(r: &mut Reader<'a>) -> Result<FlowRecordView<'a>, SflowError> {
    let next_hop = r.address()?;
    let (as_, src_as, src_peer_as) = (r.u32()?, r.u32()?, r.u32()?);
    let segments = r.u32()?;
    let path_start = r.rest();
    let (mut first, mut last) = (None, None);
    // Each segment takes 8 octets at least, so a bogus count ends early.
    for _ in 0..segments {
        if r.remaining() < 8 {
            return Err(SflowError::BadCount);
        }
        let _kind = r.u32()?;
        let n = r.u32()?;
        let bytes = usize::try_from(n).ok().and_then(|n| n.checked_mul(4)).ok_or(SflowError::BadLength)?;
        if bytes > r.remaining() {
            return Err(SflowError::BadLength);
        }
        let ases = U32List::new(r.take(bytes)?);
        first = first.or(ases.first());
        last = ases.last().or(last);
    }
    let path = &path_start[..path_start.len() - r.remaining()];
    let communities = r.u32()?;
    let bytes = usize::try_from(communities).ok().and_then(|n| n.checked_mul(4)).ok_or(SflowError::BadCount)?;
    if bytes > r.remaining() {
        return Err(SflowError::BadCount);
    }
    let communities = U32List::new(r.take(bytes)?);
    Ok(FlowRecordView::ExtendedGateway {
        next_hop,
        as_,
        src_as,
        src_peer_as,
        dst_as_path: AsPathSegments { bytes: path, count: segments },
        dst_as_path_first: first,
        dst_as_path_last: last,
        communities,
        local_pref: r.u32()?,
    })
}

/// The segments of an extended gateway's destination AS path (validated
/// when the record was parsed).
#[derive(Debug, Clone, Copy)]
pub struct AsPathSegments<'a> {
    bytes: &'a [u8],
    count: u32,
}

impl AsPathSegments<'_> {
    /// The number of segments.
    pub fn len(&self) -> u32 {
        self.count
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// One AS path segment: `kind` 1 is AS_SET, 2 AS_SEQUENCE.
#[derive(Debug, Clone, Copy)]
pub struct AsPathSegment<'a> {
    pub kind: u32,
    pub ases: U32List<'a>,
}

impl<'a> Iterator for AsPathSegments<'a> {
    type Item = AsPathSegment<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.count == 0 {
            return None;
        }
        let mut r = Reader::new(self.bytes, SflowError::BadLength);
        let kind = r.u32().ok()?;
        let n = r.u32().ok()?;
        let ases = U32List::new(r.take((n as usize).checked_mul(4)?).ok()?);
        self.bytes = r.rest();
        self.count -= 1;
        Some(AsPathSegment { kind, ases })
    }
}

/// The flow records of a sample; see [`FlowSample::records`].
#[derive(Debug, Clone)]
pub struct FlowRecords<'a> {
    walk: Elements<'a>,
}

impl<'a> FlowRecords<'a> {
    /// The octets after the last record walked so far.
    pub fn rest(&self) -> &'a [u8] {
        self.walk.rest()
    }
}

impl<'a> Iterator for FlowRecords<'a> {
    type Item = Result<FlowRecordView<'a>, SflowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.walk.next_with(FlowRecordView::parse)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.walk.size_hint()
    }
}

impl core::iter::FusedIterator for FlowRecords<'_> {}
