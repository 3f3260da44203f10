//! NetFlow v1, v5 and v7: a fixed header and `count` fixed-size records.
//! A header count that the datagram cannot hold rejects the whole datagram
//! (as nfacctd does); octets after the counted records are ignored.

use super::{DatagramSummary, Header, NetflowCounters, NetflowError, be16, be32};
use crate::record::{FlowContext, FlowRecord};
use core::net::{IpAddr, Ipv4Addr};

/// Header and record sizes of one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub header: usize,
    pub record: usize,
}

/// The layout of version 1, 5 or 7.
pub const fn layout(version: u16) -> Option<Layout> {
    match version {
        1 => Some(Layout { header: 16, record: 48 }),
        5 => Some(Layout { header: 24, record: 48 }),
        7 => Some(Layout { header: 24, record: 52 }),
        _ => None,
    }
}

fn addr(b: &[u8], at: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(be32(b, at)))
}

pub(super) fn decode(
    version: u16,
    exporter: IpAddr,
    p: &[u8],
    counters: &mut NetflowCounters,
    on_record: &mut dyn FnMut(&FlowContext, &FlowRecord),
) -> Result<DatagramSummary, NetflowError> {
    let Some(l) = layout(version) else { return Err(NetflowError::BadVersion(version)) };
    if p.len() < l.header {
        return Err(NetflowError::Truncated);
    }
    let count = usize::from(be16(p, 2));
    if count * l.record > p.len() - l.header {
        return Err(NetflowError::BadCount);
    }
    let sys_uptime = be32(p, 4);
    let (sequence, domain, sampling) = match version {
        5 => (be32(p, 16), u32::from(p[20]) << 8 | u32::from(p[21]), Some(u32::from(be16(p, 22) & 0x3fff))),
        7 => (be32(p, 16), 0, None),
        _ => (0, 0, None),
    };
    let h = Header {
        version,
        count: count as u16,
        domain,
        sequence,
        export_secs: be32(p, 8),
        export_nanos: be32(p, 12),
        sys_uptime_ms: Some(sys_uptime),
    };
    let ctx = h.context(exporter, None, false);
    let export_ns = h.export_ns();
    let abs = |up: u32| export_ns - i64::from(sys_uptime.wrapping_sub(up) as i32) * 1_000_000;
    for i in 0..count {
        let r = &p[l.header + i * l.record..][..l.record];
        let (first, last) = (be32(r, 24), be32(r, 28));
        let mut rec = FlowRecord {
            src: Some(addr(r, 0)),
            dst: Some(addr(r, 4)),
            next_hop: Some(addr(r, 8)),
            in_if: Some(u32::from(be16(r, 12))),
            out_if: Some(u32::from(be16(r, 14))),
            packets: Some(u64::from(be32(r, 16))),
            bytes: Some(u64::from(be32(r, 20))),
            first_uptime_ms: Some(u64::from(first)),
            last_uptime_ms: Some(u64::from(last)),
            first_ns: Some(abs(first)),
            last_ns: Some(abs(last)),
            src_port: Some(be16(r, 32)),
            dst_port: Some(be16(r, 34)),
            sampling_interval: sampling,
            ..FlowRecord::default()
        };
        if version == 1 {
            // pad (2), prot, tos, flags.
            rec.protocol = Some(r[38]);
            rec.tos = Some(r[39]);
            rec.tcp_flags = Some(u16::from(r[40]));
        } else {
            // v5 pad1 / v7 flags1, then tcp_flags, prot, tos, AS, masks.
            rec.tcp_flags = Some(u16::from(r[37]));
            rec.protocol = Some(r[38]);
            rec.tos = Some(r[39]);
            rec.src_as = Some(u32::from(be16(r, 40)));
            rec.dst_as = Some(u32::from(be16(r, 42)));
            rec.src_mask = Some(r[44]);
            rec.dst_mask = Some(r[45]);
        }
        counters.count_record(version, false);
        on_record(&ctx, &rec);
    }
    Ok(DatagramSummary { version, records: count, ..DatagramSummary::default() })
}
