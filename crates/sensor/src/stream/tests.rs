use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const SEC: u64 = 1_000_000_000;
const ACK: u8 = 0x10;

fn key(port: u16) -> StreamKey {
    StreamKey {
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        src_port: port,
        dst: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
        dst_port: 53,
        context: 0,
    }
}

/// Stream bytes: each depends on its offset from the stream start.
fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A consumer that takes everything and records it.
#[derive(Default)]
struct Collect {
    got: Vec<u8>,
    calls: usize,
}

impl Collect {
    fn take(&mut self) -> impl FnMut(&[u8]) -> usize + '_ {
        |b: &[u8]| {
            assert!(!b.is_empty(), "empty slice offered");
            self.calls += 1;
            self.got.extend_from_slice(b);
            b.len()
        }
    }
}

fn small() -> StreamLimits {
    StreamLimits {
        max_streams: 4,
        max_buffer: 64,
        max_out_of_order: 2,
        idle_timeout_ns: 10 * SEC,
        ..Default::default()
    }
}

/// Pushes `data[from..to]` as the segment at stream offset `from` of a
/// stream whose first byte has sequence number `first`.
fn seg(st: &mut Streams, k: StreamKey, first: u32, data: &[u8], from: usize, to: usize, out: &mut Collect) {
    st.push(k, first.wrapping_add(from as u32), ACK, &data[from..to], 0, out.take());
    assert_eq!(st.check_invariants(), Ok(()));
}

#[test]
fn in_order_is_passed_without_copy() {
    let mut st = Streams::new(StreamLimits::default());
    let data = bytes(300);
    st.push(key(1), 999, SYN, &[], 0, |_| panic!("nothing to offer"));
    let mut seen = Vec::new();
    for (from, to) in [(0, 100), (100, 250), (250, 300)] {
        let seg = &data[from..to];
        st.push(key(1), 1000 + from as u32, ACK, seg, 0, |b| {
            seen.push((b.as_ptr(), b.len()));
            b.len()
        });
        assert_eq!(seen.last(), Some(&(seg.as_ptr(), seg.len())), "the payload itself");
    }
    assert_eq!(st.buffered_bytes(), 0);
    let c = st.counters();
    assert_eq!((c.streams_opened, c.retransmissions, c.gaps, c.out_of_order_held), (1, 0, 0, 0));
    assert_eq!(st.check_invariants(), Ok(()));
}

#[test]
fn unconsumed_bytes_are_offered_again() {
    let mut st = Streams::new(StreamLimits::default());
    // Two-byte length-prefixed messages, as DNS over TCP, cut anywhere.
    let mut wire = Vec::new();
    for m in [&b"hello"[..], b"", b"a longer message", b"x"] {
        wire.extend_from_slice(&(m.len() as u16).to_be_bytes());
        wire.extend_from_slice(m);
    }
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut frames = |mut b: &[u8]| {
        let mut used = 0;
        while let [hi, lo, rest @ ..] = b {
            let n = usize::from(u16::from_be_bytes([*hi, *lo]));
            let Some(m) = rest.get(..n) else { break };
            messages.push(m.to_vec());
            used += 2 + n;
            b = &rest[n..];
        }
        used
    };
    for (from, to) in [(0, 1), (1, 4), (4, 12), (12, 20), (20, wire.len())] {
        st.push(key(1), 7 + from as u32, ACK, &wire[from..to], 0, &mut frames);
        assert_eq!(st.check_invariants(), Ok(()));
    }
    // Partial data left at FIN is counted.
    st.push(key(1), 7 + wire.len() as u32, FIN | ACK, &[0, 9, 1], 0, &mut frames);
    assert_eq!(messages, [&b"hello"[..], b"", b"a longer message", b"x"]);
    assert_eq!((st.counters().incomplete, st.counters().closed, st.len()), (1, 1, 0));
}

#[test]
fn out_of_order_is_held_until_the_hole_fills() {
    let mut st = Streams::new(StreamLimits::default());
    let data = bytes(400);
    let mut out = Collect::default();
    seg(&mut st, key(1), 5000, &data, 0, 100, &mut out);
    seg(&mut st, key(1), 5000, &data, 300, 400, &mut out);
    seg(&mut st, key(1), 5000, &data, 200, 300, &mut out);
    assert_eq!(out.got, &data[..100]);
    assert_eq!(st.counters().out_of_order_held, 2);
    seg(&mut st, key(1), 5000, &data, 100, 200, &mut out);
    assert_eq!(out.got, data);
    assert_eq!(st.counters().gaps, 0);
    assert_eq!(st.buffered_bytes(), 0);
}

#[test]
fn retransmissions_and_overlaps_deliver_only_new_bytes() {
    let mut st = Streams::new(StreamLimits::default());
    let data = bytes(500);
    let mut out = Collect::default();
    seg(&mut st, key(1), 1, &data, 0, 200, &mut out);
    seg(&mut st, key(1), 1, &data, 0, 200, &mut out);
    seg(&mut st, key(1), 1, &data, 50, 100, &mut out);
    assert_eq!(st.counters().retransmissions, 2);
    assert_eq!(out.got, &data[..200]);
    // Partly old: only 200..300 is new.
    seg(&mut st, key(1), 1, &data, 150, 300, &mut out);
    assert_eq!(out.got, &data[..300]);
    // Held segments overlapping each other and the next in-order one.
    seg(&mut st, key(1), 1, &data, 350, 450, &mut out);
    seg(&mut st, key(1), 1, &data, 400, 500, &mut out);
    seg(&mut st, key(1), 1, &data, 350, 450, &mut out);
    assert_eq!(st.counters().retransmissions, 4, "same held segment again");
    seg(&mut st, key(1), 1, &data, 280, 380, &mut out);
    assert_eq!(out.got, data);
    assert_eq!(st.counters().gaps, 0);
}

#[test]
fn gap_resyncs_at_the_earliest_held_segment() {
    let mut st = Streams::new(small());
    let data = bytes(200);
    let mut got = Vec::new();
    let mut firsts = Vec::new();
    // The consumer keeps the last 4 bytes offered as a partial message.
    let mut push = |st: &mut Streams, from: usize, to: usize| {
        st.push(key(1), from as u32, ACK, &data[from..to], 0, |b| {
            firsts.push(b[0]);
            got.extend_from_slice(&b[..b.len() - b.len().min(4)]);
            b.len().saturating_sub(4)
        });
        assert_eq!(st.check_invariants(), Ok(()));
    };
    push(&mut st, 0, 20);
    // 20..40 is lost; three segments come after it, the limit is two.
    push(&mut st, 60, 80);
    push(&mut st, 40, 60);
    assert_eq!(st.counters().gaps, 0);
    push(&mut st, 100, 120);
    assert_eq!(st.counters().gaps, 1);
    // The partial bytes 16..20 were dropped; delivery resumed at 40 with
    // a fresh start, and 40..80 went through. 100..120 is still held.
    assert_eq!(got, [&data[..16], &data[40..76]].concat());
    assert_eq!(firsts, [0, 40, 40 + 16]);
    // FIN with held data: the hole at 80 is given up on too.
    st.push(key(1), 120, FIN | ACK, &[], 0, |b| {
        got.extend_from_slice(b);
        b.len()
    });
    assert_eq!(st.counters().gaps, 2);
    assert_eq!(got, [&data[..16], &data[40..76], &data[100..120]].concat());
    assert_eq!((st.len(), st.buffered_bytes()), (0, 0));
}

#[test]
fn dns_message_after_a_lost_one_is_read_at_fin() {
    // As suricata-verify dns-tcp-ts-gap: three 34-byte queries, the
    // second never captured, then FIN.
    let mut st = Streams::new(StreamLimits::default());
    let query = |id: u8| [&[0, 32, 0, id][..], &[0; 30]].concat();
    let mut ids = Vec::new();
    let mut frames = |b: &[u8]| {
        let mut used = 0;
        while let Some(&[hi, lo]) = b.get(used..used + 2) {
            let n = usize::from(u16::from_be_bytes([hi, lo]));
            let Some(m) = b.get(used + 2..used + 2 + n) else { break };
            ids.push(m[1]);
            used += 2 + n;
        }
        used
    };
    st.push(key(1), 828, SYN, &[], 0, &mut frames);
    st.push(key(1), 829, ACK, &query(1), 1, &mut frames);
    st.push(key(1), 829 + 68, ACK, &query(3), 2, &mut frames);
    st.push(key(1), 829 + 102, FIN | ACK, &[], 3, &mut frames);
    assert_eq!(ids, [1, 3]);
    let c = st.counters();
    assert_eq!((c.gaps, c.out_of_order_held, c.closed, c.incomplete), (1, 1, 1, 0));
}

#[test]
fn a_bare_ack_past_a_hole_gives_up_on_it_at_once() {
    // The capture of dns-tcp-ts-gap: the client's ACK after the lost
    // query carries the sequence number past it, so the next query is
    // read in its own frame (as tshark does), not held until FIN.
    let mut st = Streams::new(StreamLimits::default());
    let query = |id: u8| [&[0, 32, 0, id][..], &[0; 30]].concat();
    let ids = std::cell::RefCell::new(Vec::new());
    let mut frames = |b: &[u8]| {
        let mut used = 0;
        while let Some(&[hi, lo]) = b.get(used..used + 2) {
            let n = usize::from(u16::from_be_bytes([hi, lo]));
            let Some(m) = b.get(used + 2..used + 2 + n) else { break };
            ids.borrow_mut().push(m[1]);
            used += 2 + n;
        }
        used
    };
    st.push(key(1), 828, SYN, &[], 0, &mut frames);
    st.push(key(1), 829, ACK, &query(1), 1, &mut frames);
    st.push(key(1), 829 + 68, ACK, &[], 2, &mut frames);
    assert_eq!(st.counters().gaps, 1);
    st.push(key(1), 829 + 68, ACK, &query(3), 3, &mut frames);
    assert_eq!(*ids.borrow(), [1, 3]);
    // A held segment before the bare ACK's number is still delivered.
    st.push(key(1), 829 + 136, ACK, &query(5), 4, &mut frames);
    st.push(key(1), 829 + 170, ACK, &[], 5, &mut frames);
    assert_eq!(*ids.borrow(), [1, 3, 5]);
    assert_eq!((st.counters().gaps, st.counters().out_of_order_held), (2, 1));
    assert_eq!(st.check_invariants(), Ok(()));
}

#[test]
fn held_bytes_are_bounded() {
    let mut st = Streams::new(StreamLimits { max_out_of_order: 8, ..small() });
    let data = bytes(400);
    let mut out = Collect::default();
    seg(&mut st, key(1), 0, &data, 0, 10, &mut out);
    seg(&mut st, key(1), 0, &data, 100, 140, &mut out);
    assert_eq!(st.counters().gaps, 0);
    // 40 + 40 held bytes > max_buffer (64): give up on the hole.
    seg(&mut st, key(1), 0, &data, 200, 240, &mut out);
    assert_eq!(st.counters().gaps, 1);
    assert_eq!(out.got, [&data[..10], &data[100..140]].concat());
}

#[test]
fn sequence_numbers_wrap() {
    let mut st = Streams::new(StreamLimits::default());
    let data = bytes(3000);
    let isn = u32::MAX - 1000;
    let first = isn.wrapping_add(1);
    let mut out = Collect::default();
    st.push(key(1), isn, SYN, &[], 0, out.take());
    seg(&mut st, key(1), first, &data, 0, 500, &mut out);
    // Across 2^32, out of order.
    seg(&mut st, key(1), first, &data, 1500, 3000, &mut out);
    seg(&mut st, key(1), first, &data, 900, 1500, &mut out);
    assert_eq!(out.got, &data[..500]);
    seg(&mut st, key(1), first, &data, 500, 900, &mut out);
    assert_eq!(out.got, data);
    // Old data from before the wrap is still old.
    seg(&mut st, key(1), first, &data, 0, 1200, &mut out);
    assert_eq!(out.got, data);
    assert_eq!(st.counters().retransmissions, 1);
    assert_eq!(st.counters().gaps, 0);
    // A retransmitted SYN is not a new connection.
    st.push(key(1), isn, SYN, &[], 0, out.take());
    assert_eq!((st.counters().streams_opened, st.counters().retransmissions), (1, 2));
}

#[test]
fn overflow_drops_the_buffer() {
    let mut st = Streams::new(small());
    let data = bytes(200);
    let mut offered = Vec::new();
    // A consumer that never has enough.
    let push = |st: &mut Streams, offered: &mut Vec<usize>, from: usize, to: usize| {
        st.push(key(1), from as u32, ACK, &data[from..to], 0, |b| {
            offered.push(b.len());
            0
        });
        assert_eq!(st.check_invariants(), Ok(()));
    };
    push(&mut st, &mut offered, 0, 40);
    push(&mut st, &mut offered, 40, 64);
    assert_eq!(st.counters().overflow, 0);
    push(&mut st, &mut offered, 64, 70);
    assert_eq!(st.counters().overflow, 1);
    // 40, 64 (full), then 70 from a fresh start at 64.
    assert_eq!(offered, [40, 64, 6]);
    // 6 + 58 fill the buffer again (dropped), then the 72 bytes left,
    // more than a buffer and not used at all, are dropped too.
    push(&mut st, &mut offered, 70, 200);
    assert_eq!(st.counters().overflow, 3);
    assert_eq!(offered, [40, 64, 6, 64, 72]);
    assert!(st.buffered_bytes() <= 64);
}

#[test]
fn big_segment_is_offered_whole_then_in_parts() {
    let mut st = Streams::new(small());
    let data = bytes(300);
    let mut offered = Vec::new();
    // Takes 100 bytes at a time, when it has them.
    st.push(key(1), 0, ACK, &data, 0, |b| {
        offered.push(b.len());
        if b.len() >= 100 { 100 } else { 0 }
    });
    assert_eq!(offered, [300, 200, 100]);
    assert_eq!((st.counters().overflow, st.buffered_bytes()), (0, 0));
}

#[test]
fn eviction_at_max_streams() {
    let mut st = Streams::new(small());
    let mut out = Collect::default();
    for port in 1..=4 {
        st.push(key(port), 0, ACK, b"abc", u64::from(port), out.take());
    }
    // Port 1 was active since it was queued: passed over once.
    st.push(key(1), 3, ACK, b"def", 5, out.take());
    st.push(key(5), 0, ACK, b"abc", 6, out.take());
    assert_eq!((st.len(), st.counters().evicted), (4, 1));
    assert!(st.streams.contains_key(&key(1)));
    assert!(!st.streams.contains_key(&key(2)));
    assert_eq!(st.check_invariants(), Ok(()));
}

#[test]
fn memory_limit_evicts() {
    let mut st = Streams::new(StreamLimits { max_total_bytes: 2 * MIN_CAPACITY, max_buffer: 1000, ..small() });
    for port in 1..=3 {
        st.push(key(port), 0, ACK, b"partial", 0, |_| 0);
        assert_eq!(st.check_invariants(), Ok(()));
    }
    assert_eq!((st.len(), st.counters().evicted, st.counters().incomplete), (2, 1, 1));
}

#[test]
fn idle_timeout() {
    let mut st = Streams::new(small());
    let mut out = Collect::default();
    st.push(key(1), 0, ACK, b"abc", 0, out.take());
    st.push(key(2), 0, ACK, b"abc", 0, out.take());
    // Held data on key 1; key 2 active 1 s later; then both idle.
    st.push(key(1), 10, ACK, b"zzz", 9 * SEC, out.take());
    st.push(key(2), 3, ACK, b"def", 10 * SEC, out.take());
    st.push(key(3), 0, ACK, b"abc", 15 * SEC, out.take());
    assert_eq!(st.len(), 3, "none idle for more than 10 s");
    st.push(key(3), 3, ACK, b"d", 19 * SEC + 1, out.take());
    assert_eq!((st.len(), st.counters().timed_out, st.counters().gaps), (2, 1, 1), "key 1 idle 10 s + 1 ns");
    st.flush();
    assert_eq!((st.len(), st.counters().timed_out, st.buffered_bytes()), (0, 3, 0));
    assert_eq!(st.check_invariants(), Ok(()));
}

#[test]
fn flush_offers_what_is_held() {
    let mut st = Streams::new(small());
    let mut got = Vec::new();
    st.push(key(1), 0, ACK, b"abc", 0, |b| b.len());
    st.push(key(1), 5, ACK, b"fgh", 0, |b| b.len());
    st.push(key(2), 0, ACK, b"partial", 0, |_| 0);
    st.flush_into(|k, b| {
        got.push((k.src_port, b.to_vec()));
        b.len()
    });
    assert_eq!(got, [(1, b"fgh".to_vec())]);
    let c = st.counters();
    assert_eq!((c.gaps, c.incomplete, c.timed_out, st.len(), st.buffered_bytes()), (1, 1, 2, 0, 0));
    assert_eq!(st.check_invariants(), Ok(()));
}

#[test]
fn fin_and_rst_end_the_stream() {
    let mut st = Streams::new(StreamLimits::default());
    let mut out = Collect::default();
    // FIN with data on a direction never seen: delivered, then freed.
    st.push(key(1), 100, FIN | ACK, b"bye", 0, out.take());
    assert_eq!(out.got, b"bye");
    assert_eq!((st.len(), st.counters().streams_opened, st.counters().closed), (0, 1, 1));
    // A stray FIN or RST opens nothing.
    st.push(key(1), 103, FIN | ACK, &[], 0, out.take());
    st.push(key(1), 103, RST, b"diagnostic", 0, out.take());
    assert!(st.is_empty());
    // RST ignores its data and frees the direction.
    st.push(key(2), 0, ACK, b"abc", 0, out.take());
    st.push(key(2), 3, RST | ACK, b"diagnostic", 0, out.take());
    assert_eq!(out.got, b"byeabc");
    assert!(st.is_empty());
    assert_eq!(st.counters().closed, 2);
    assert_eq!(st.check_invariants(), Ok(()));
}

#[test]
fn syn_with_a_new_isn_restarts() {
    let mut st = Streams::new(StreamLimits::default());
    let k = StreamKey {
        src: IpAddr::V6(Ipv6Addr::LOCALHOST),
        src_port: 5353,
        dst: IpAddr::V6(Ipv6Addr::LOCALHOST),
        dst_port: 53,
        context: 7,
    };
    let mut out = Collect::default();
    st.push(k, 10, SYN, &[], 0, out.take());
    st.push(k, 11, ACK, b"old", 0, out.take());
    st.push(k, 50, ACK, b"held", 0, out.take());
    st.push(k, 900, SYN, b"tfo", 0, out.take());
    st.push(k, 904, ACK, b"new", 0, out.take());
    assert_eq!(out.got, b"oldtfonew");
    let c = st.counters();
    assert_eq!((c.streams_opened, c.closed, c.gaps), (2, 1, 1));
    assert_eq!(st.check_invariants(), Ok(()));
}

#[test]
fn timeout_queue_stays_bounded() {
    let mut st = Streams::new(StreamLimits::default());
    for i in 0..10_000u32 {
        let k = key((i % 60_000) as u16);
        st.push(k, i, ACK, b"x", u64::from(i), |b| b.len());
        st.push(k, i + 1, FIN | ACK, &[], u64::from(i), |b| b.len());
    }
    assert!(st.is_empty());
    assert!(st.fifo.len() <= FIFO_SLACK + 2, "{}", st.fifo.len());
    assert_eq!(st.check_invariants(), Ok(()));
}

#[test]
fn consumed_converts() {
    assert_eq!(usize::from(Consumed::Bytes(3)), 3);
    assert_eq!(Consumed::from(4), Consumed::Bytes(4));
}
