//! The harness of the NetFlow v9 and IPFIX targets: a sequence of
//! datagrams through one `flow::netflow::NetflowDecoder`, so templates
//! learned from earlier datagrams are used by later ones (and data held for
//! a missing template is released).
//!
//! Input: repeated `[length: u16 BE][control: u8][payload: length octets]`.
//! Control bit 0 forces the version field, bit 1 (IPFIX only) sets the
//! message length to the payload's (so that mutations get past the length
//! check), bits 2–6 advance the clock by 0–31 minutes (templates and held
//! data expire after 15), bit 7 picks one of two exporters. The limits are
//! small so that eviction happens.
//!
//! Checked after every datagram: the summary agrees with the callbacks;
//! every record belongs to this datagram's exporter and version and has a
//! data template id; NetFlow uptime-relative times are always made absolute;
//! the counters add up; the template store and the pending buffer stay
//! within their limits.

use flow::netflow::{NetflowDecoder, NetflowLimits};
use flow::{ExportKind, FlowContext, FlowRecord};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const LIMITS: NetflowLimits =
    NetflowLimits { max_templates: 16, max_pending_datagrams: 8, max_pending_bytes: 8192, template_timeout_secs: 900 };
const EXPORTERS: [IpAddr; 2] = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), IpAddr::V6(Ipv6Addr::LOCALHOST)];

fn check_record(c: &FlowContext, r: &FlowRecord, exporter: IpAddr, version: u16) {
    assert_eq!((c.exporter, c.version), (exporter, version));
    match version {
        9 | 10 => {
            assert!(c.template_id.is_some_and(|t| t >= 256));
            assert_eq!(c.kind, if version == 10 { ExportKind::Ipfix } else { ExportKind::Netflow });
        }
        _ => assert_eq!((c.template_id, c.options), (None, false)),
    }
    if version != 10 {
        assert!(r.first_uptime_ms.is_none() || r.first_ns.is_some());
        assert!(r.last_uptime_ms.is_none() || r.last_ns.is_some());
    }
}

/// Runs the datagrams of `data` through one decoder. `version` is what
/// control bit 0 forces; `fix_length` lets control bit 1 set the IPFIX
/// message length to the payload's.
pub fn run(data: &[u8], version_forced: u16, fix_length: bool) {
    let mut dec = NetflowDecoder::new(LIMITS);
    let mut now = 1_700_000_000u64;
    let (mut calls, mut delivered, mut errors) = (0u64, 0u64, 0u64);
    let mut rest = data;
    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let control = rest[2];
        let take = len.min(rest.len() - 3);
        let mut p = rest[3..3 + take].to_vec();
        rest = &rest[3 + take..];
        if control & 1 != 0 && p.len() >= 2 {
            p[..2].copy_from_slice(&version_forced.to_be_bytes());
        }
        if fix_length && control & 2 != 0 && p.len() >= 4 {
            let l = p.len().min(usize::from(u16::MAX)) as u16;
            p[2..4].copy_from_slice(&l.to_be_bytes());
        }
        now += u64::from((control >> 2) & 0x1f) * 60;
        let exporter = EXPORTERS[usize::from(control >> 7)];
        let version = if p.len() >= 2 { u16::from_be_bytes([p[0], p[1]]) } else { 0 };

        let mut n = 0usize;
        let r = dec.decode(exporter, &p, now, &mut |c, r| {
            check_record(c, r, exporter, version);
            n += 1;
        });
        calls += 1;
        delivered += n as u64;
        match r {
            Ok(s) => {
                assert_eq!((s.version, s.records), (version, n));
                assert!(s.released <= s.records);
                // A held set or a template record takes at least 4 octets.
                assert!(4 * (s.pending + s.templates) <= p.len());
            }
            Err(e) => {
                errors += 1;
                let reason = e.reason();
                assert!(reason.starts_with("netflow.") || reason.starts_with("ipfix."));
                assert!(!e.to_string().is_empty());
            }
        }
        let c = dec.counters();
        assert_eq!((c.datagrams, c.records()), (calls, delivered));
        // Released data sets may fail too: counted, not returned.
        assert!(c.errors().map(|e| e.1).sum::<u64>() >= errors);
        let (held, bytes) = dec.pending();
        assert!(c.pending_released + held as u64 <= c.pending_held);
        assert!(dec.templates() <= LIMITS.max_templates);
        assert!(held <= LIMITS.max_pending_datagrams && bytes <= LIMITS.max_pending_bytes);
    }
}
