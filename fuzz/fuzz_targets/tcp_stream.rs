//! `sensor::stream` driven by a sequence of segments decoded from the input.
//! The first 5 bytes pick the limits and where each direction's sequence
//! numbers start (one close to 2^32, so they wrap); then each 7-byte
//! operation is one segment of one of three directions: where it starts
//! (right at the end of what was sent, a small step from there, or
//! anywhere), how long, its flags, how much the consumer takes, and how
//! far the clock moves.
//!
//! Every byte sent is a function of its stream offset (offset mod 251), so
//! whatever the reordering, every slice offered must be a run of
//! consecutive offsets; and while no gap, overflow or stream turnover
//! happened, each slice must start exactly where the consumer stopped.
//! The limits and the internal bookkeeping are checked after every step.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sensor::stream::{FIN, RST, SYN, StreamCounters, StreamKey, StreamLimits, Streams};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const OP: usize = 7;
const MOD: u32 = 251;
const ACK: u8 = 0x10;
/// Longest segment an operation makes.
const MAX_N: usize = 255 * 13;

fn keys() -> [StreamKey; 3] {
    let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let b = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
    let c = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    [
        StreamKey { src: a, src_port: 40000, dst: b, dst_port: 53, context: 0 },
        StreamKey { src: b, src_port: 53, dst: a, dst_port: 40000, context: 0 },
        StreamKey { src: c, src_port: 40000, dst: c, dst_port: 53, context: 3 },
    ]
}

/// Events after which a direction's bytes may legitimately jump.
fn turnover(c: &StreamCounters) -> u64 {
    c.gaps + c.overflow + c.streams_opened + c.closed + c.evicted + c.timed_out
}

/// Events that may end a direction other than the one pushed.
fn lost_elsewhere(c: &StreamCounters) -> u64 {
    c.evicted + c.timed_out
}

/// What the next slice offered to a direction must start with, and the
/// `lost_elsewhere` count when that was recorded.
#[derive(Clone, Copy)]
struct Expect {
    first: u8,
    lost: u64,
}

fuzz_target!(|data: &[u8]| {
    let Some((cfg, ops)) = data.split_first_chunk::<5>() else { return };
    let limits = StreamLimits {
        max_streams: usize::from(cfg[0] % 4),
        max_buffer: usize::from(cfg[1] % 64) * 32,
        max_out_of_order: usize::from(cfg[2] % 5),
        idle_timeout_ns: (u64::from(cfg[3] % 16) + 1) * 1000,
        max_total_bytes: usize::from(cfg[0] >> 2) * 256,
    };
    let bases = [u32::MAX - u32::from(cfg[4]) * 64, u32::from(cfg[4]) << 24, 7];
    let keys = keys();
    let mut st = Streams::new(limits);
    // Per direction: the end of what was sent (stream offset), and the
    // expected start of the next slice.
    let mut sent = [0u32; 3];
    let mut expect: [Option<Expect>; 3] = [None; 3];
    let mut payload = Vec::new();
    let mut now = 0u64;

    for op in ops.chunks_exact(OP) {
        let &[sel, m1, m2, len, flags, policy, dt] = op else { return };
        let k = usize::from(sel) % keys.len();
        let step = i16::from_be_bytes([m1, m2]);
        let rel = match (sel >> 2) & 3 {
            0 => sent[k],
            1 => sent[k].saturating_add_signed(i32::from(step)),
            2 => u32::from(u16::from_be_bytes([m1, m2])),
            _ => u32::from(u16::from_be_bytes([m1, m2])) << 8,
        };
        // Offsets stay far below 2^31 apart, and below 2^32 with the data.
        let rel = rel.min(1 << 28);
        let n = usize::from(len) * (1 + usize::from(flags >> 6) * 4);
        debug_assert!(n <= MAX_N);
        let tcp_flags = ACK | (flags & (FIN | SYN | RST));
        // A SYN takes the sequence number before its data.
        let seq = bases[k].wrapping_add(rel).wrapping_sub(u32::from(tcp_flags & SYN != 0));
        payload.clear();
        payload.extend((0..n as u32).map(|i| ((rel + i) % MOD) as u8));
        sent[k] = sent[k].max(rel + n as u32);
        now = now.saturating_add(u64::from(dt) * 100);

        let before = st.counters().clone();
        if expect[k].is_some_and(|e| e.lost != lost_elsewhere(&before)) {
            expect[k] = None;
        }
        let mut want = expect[k].map(|e| e.first);
        let mut jumps = 0;
        let mut calls = 0;
        let most = limits.max_buffer.max(n);
        st.push(keys[k], seq, tcp_flags, &payload, now, |b| {
            calls += 1;
            assert!(!b.is_empty(), "empty slice offered");
            assert!(b.len() <= most, "{} bytes offered, buffer {}, segment {n}", b.len(), limits.max_buffer);
            for w in b.windows(2) {
                assert_eq!(u32::from(w[1]), (u32::from(w[0]) + 1) % MOD, "slice not contiguous");
            }
            if want.is_some_and(|f| f != b[0]) {
                jumps += 1;
            }
            let used = match policy & 3 {
                0 => b.len(),
                1 => 0,
                2 => b.len() / 2,
                _ if policy == 0xff => usize::MAX,
                _ => usize::from(policy >> 2),
            };
            want = Some(((usize::from(b[0]) + used.min(b.len())) % MOD as usize) as u8);
            used
        });

        let c = st.counters();
        let calm = turnover(c) == turnover(&before);
        if calm {
            assert_eq!(jumps, 0, "slice did not start where the consumer stopped");
        }
        // A RST's data is never offered; only segments held before it are
        // (after giving up on the hole before them: a gap).
        if tcp_flags & RST != 0 && c.gaps == before.gaps {
            assert_eq!(calls, 0, "RST data offered");
        }
        // Bytes may have been dropped after the last slice of a push with a
        // gap, an overflow or an eviction; FIN and RST end the direction.
        expect[k] = want
            .filter(|_| calm && tcp_flags & (FIN | RST) == 0)
            .map(|first| Expect { first, lost: lost_elsewhere(c) });

        assert!(st.len() <= limits.max_streams.max(1));
        assert!(st.buffered_bytes() <= limits.max_total_bytes);
        assert!(c.streams_opened >= c.closed + c.evicted + c.timed_out);
        assert_eq!(c.streams_opened - c.closed - c.evicted - c.timed_out, st.len() as u64);
        if let Err(e) = st.check_invariants() {
            panic!("invariant: {e}");
        }
    }

    // At the end, what is held behind holes is offered (or just dropped).
    if cfg[2] & 0x80 != 0 {
        st.flush_into(|k, b| {
            assert!(keys.contains(k));
            assert!(!b.is_empty() && b.len() <= limits.max_buffer.max(MAX_N), "{} bytes offered at flush", b.len());
            for w in b.windows(2) {
                assert_eq!(u32::from(w[1]), (u32::from(w[0]) + 1) % MOD, "slice not contiguous");
            }
            b.len()
        });
    } else {
        st.flush();
    }
    assert!(st.is_empty());
    assert_eq!(st.buffered_bytes(), 0);
    if let Err(e) = st.check_invariants() {
        panic!("invariant after flush: {e}");
    }
});
