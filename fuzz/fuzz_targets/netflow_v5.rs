//! `flow::netflow::NetflowDecoder::decode` over single NetFlow v1/v5/v7
//! datagrams. Besides never panicking, the outcome must follow from the
//! header alone (fixed layouts: Truncated, BadCount or exactly `count`
//! records), every record must carry the addresses, ports and counters at
//! its offsets, and times must lie within 2^31 ms of the export time.
//!
//! Every input is decoded as-is and again with the version forced by its
//! first byte (1, 5, 7; bit 7 also trims the header count to what fits),
//! so that mutations land in the records at once.
#![no_main]

use flow::ExportKind;
use flow::netflow::{NetflowDecoder, NetflowError, NetflowLimits};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

const EXPORTER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));

/// Header and record sizes (Cisco's v1/v5/v7 formats).
fn layout(version: u16) -> Option<(usize, usize)> {
    match version {
        1 => Some((16, 48)),
        5 => Some((24, 48)),
        7 => Some((24, 52)),
        _ => None,
    }
}

fn be16(p: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([p[at], p[at + 1]])
}

fn be32(p: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]])
}

fn check(p: &[u8]) {
    let mut dec = NetflowDecoder::new(NetflowLimits::default());
    let mut records = Vec::new();
    let r = dec.decode(EXPORTER, p, 0, &mut |c, r| records.push((*c, *r)));
    if p.len() < 2 {
        assert_eq!(r, Err(NetflowError::Truncated));
        return;
    }
    let version = be16(p, 0);
    let Some((header, size)) = layout(version) else {
        // Another version: anything typed, never a v1/v5/v7 record.
        assert!(records.iter().all(|(c, _)| c.version != 1 && c.version != 5 && c.version != 7));
        return;
    };
    if p.len() < header {
        assert_eq!((r, records.len()), (Err(NetflowError::Truncated), 0));
        return;
    }
    let count = usize::from(be16(p, 2));
    if count * size > p.len() - header {
        assert_eq!((r, records.len()), (Err(NetflowError::BadCount), 0));
        return;
    }
    let s = r.expect("a datagram whose count fits decodes");
    assert_eq!((s.version, s.records, s.templates, s.pending), (version, count, 0, 0));
    assert_eq!(records.len(), count);
    assert_eq!(dec.counters().records(), count as u64);
    let export_ns = i64::from(be32(p, 8)) * 1_000_000_000 + i64::from(be32(p, 12).min(999_999_999));
    for (i, (c, rec)) in records.iter().enumerate() {
        let at = header + i * size;
        assert_eq!((c.version, c.kind, c.template_id, c.options), (version, ExportKind::Netflow, None, false));
        assert_eq!(rec.src, Some(IpAddr::V4(Ipv4Addr::from(be32(p, at)))));
        assert_eq!(rec.dst, Some(IpAddr::V4(Ipv4Addr::from(be32(p, at + 4)))));
        assert_eq!((rec.src_port, rec.dst_port), (Some(be16(p, at + 32)), Some(be16(p, at + 34))));
        assert_eq!((rec.packets, rec.bytes), (Some(u64::from(be32(p, at + 16))), Some(u64::from(be32(p, at + 20)))));
        assert_eq!(rec.protocol, Some(p[at + 38]));
        assert_eq!(rec.first_uptime_ms, Some(u64::from(be32(p, at + 24))));
        for t in [rec.first_ns, rec.last_ns] {
            let t = t.expect("v1/v5/v7 times are always absolute");
            assert!((t - export_ns).abs() <= (1i64 << 31) * 1_000_000);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let Some((&sel, rest)) = data.split_first() else { return };
    let version = [1u16, 5, 7][usize::from(sel & 0x7f) % 3];
    let mut p = rest.to_vec();
    if p.len() < 4 {
        p.resize(4, 0);
    }
    p[..2].copy_from_slice(&version.to_be_bytes());
    if sel & 0x80 != 0
        && let Some((header, size)) = layout(version)
        && p.len() >= header
    {
        let fits = ((p.len() - header) / size).min(usize::from(be16(&p, 2)));
        p[2..4].copy_from_slice(&(fits as u16).to_be_bytes());
    }
    check(&p);
});
