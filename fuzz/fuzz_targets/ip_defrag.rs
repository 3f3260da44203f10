//! `sensor::defrag` driven by a sequence of fragments decoded from the
//! input. The first 3 bytes pick the limits; then each 6-byte operation is
//! one fragment of one of a few datagrams (IPv4 and IPv6 keys sharing
//! identifications), cut from a payload whose every byte is a function of
//! its datagram and position. Beyond "never panics", checks that a
//! reassembled datagram holds exactly those bytes (unless a conflicting
//! overlap was sent for it), that an unfragmented packet comes back as is,
//! and that the limits and the internal bookkeeping hold after every step.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::defrag::{DefragLimits, Defragmenter, FragKey, MAX_DATAGRAM};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const OP: usize = 6;

fn keys() -> [FragKey; 6] {
    let v4 = |a: u8, ident| FragKey {
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, a)),
        dst: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
        protocol: 17,
        ident,
        context: 0,
    };
    let v6 = |ident, context| FragKey {
        src: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        dst: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
        protocol: 17,
        ident,
        context,
    };
    [v4(1, 1), v4(1, 2), v4(2, 1), v6(1, 0), v6(0x8000_0001, 0), v6(1, 9)]
}

/// The byte at `pos` of datagram `k`: differs between datagrams and along
/// each, so a misplaced or mixed-up byte shows.
fn byte(k: usize, pos: usize) -> u8 {
    (pos as u8) ^ ((pos >> 8) as u8).rotate_left(3) ^ (k as u8).wrapping_mul(37)
}

fuzz_target!(|data: &[u8]| {
    let Some((cfg, ops)) = data.split_first_chunk::<3>() else { return };
    let limits = DefragLimits {
        max_datagrams: usize::from(cfg[0] % 8),
        max_bytes: (usize::from(cfg[1] % 32) + 1) * 4096,
        timeout_ns: (u64::from(cfg[2] % 16) + 1) * 1000,
    };
    let mut d = Defragmenter::new(limits);
    let keys = keys();
    // Datagrams sent bytes that disagree with `byte`.
    let mut tainted = [false; 6];
    let mut frag = Vec::with_capacity(MAX_DATAGRAM);
    let mut now = 0u64;

    for op in ops.chunks_exact(OP) {
        let &[sel, hi, lo, len, flags, dt] = op else { return };
        let k = usize::from(sel) % keys.len();
        let key = keys[k];
        // Offsets in 8-byte units; flag 0x80 lets unaligned ones through.
        let raw = u32::from(u16::from_be_bytes([hi, lo]));
        let offset = if flags & 0x80 != 0 { raw } else { (raw & 0x1fff) << 3 };
        let more = flags & 1 != 0;
        let mut n = usize::from(len) * 8 * (1 + usize::from(flags >> 4 & 3) * 8);
        if flags & 0x40 != 0 {
            n += usize::from(flags >> 1 & 7);
        }
        let corrupt = flags & 0x08 != 0;
        now = now.saturating_add(u64::from(dt) * 50);
        let before = d.counters().clone();

        frag.clear();
        let start = offset as usize;
        frag.extend((start..start + n).map(|p| byte(k, p) ^ u8::from(corrupt)));
        if corrupt && n > 0 {
            tainted[k] = true;
        }
        let whole = offset == 0 && !more;
        let result = d.push(key, offset, more, &frag, now);

        match result {
            Some(out) if whole => {
                assert!(frag.len() <= MAX_DATAGRAM);
                assert_eq!(out.as_ptr(), frag.as_ptr(), "unfragmented packet copied");
                assert_eq!(out.len(), frag.len());
            }
            Some(out) => {
                assert!(out.len() <= MAX_DATAGRAM, "{} bytes returned", out.len());
                // The fragment that completed the datagram is inside it.
                assert!(out.len() >= start + n, "datagram {} shorter than fragment end {}", out.len(), start + n);
                if !tainted[k] {
                    for (p, &b) in out.iter().enumerate() {
                        assert_eq!(b, byte(k, p), "datagram {k} byte {p}");
                    }
                }
                tainted[k] = false;
                assert_eq!(d.counters().completed, before.completed + 1);
            }
            None => {
                if whole {
                    assert!(frag.len() > MAX_DATAGRAM);
                }
                assert_eq!(d.counters().completed, before.completed);
            }
        }

        let c = d.counters();
        assert_eq!(c.fragments, before.fragments + u64::from(!whole));
        // A datagram ends once, and each began with a fragment.
        assert!(c.completed + c.timed_out + c.evicted <= c.fragments);
        assert!(d.in_flight() <= limits.max_datagrams);
        assert!(d.buffered_bytes() <= limits.max_bytes);
        if let Err(e) = d.check_invariants() {
            panic!("invariant: {e}");
        }
    }

    d.flush();
    assert_eq!((d.in_flight(), d.buffered_bytes()), (0, 0));
    if let Err(e) = d.check_invariants() {
        panic!("invariant after flush: {e}");
    }
});
