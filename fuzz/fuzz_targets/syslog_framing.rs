//! `syslog::frame::Framer` over one connection: the input after its first
//! two bytes (the limit) is fed in chunks whose sizes come from the input
//! itself, the way a caller does (keeping what was not used, appending the
//! next chunk). Checks: `used <= len`, every message is a non-empty
//! sub-slice of the buffer offered and at most `max_message` long, the
//! caller's buffer never exceeds `max_message` + a header + one chunk, and
//! the counters add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syslog::frame::{Framer, FramerLimits};

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

fuzz_target!(|data: &[u8]| {
    let Some((cfg, mut rest)) = data.split_first_chunk::<2>() else { return };
    let max = usize::from(u16::from_le_bytes(*cfg) % 512) + 1;
    let mut f = Framer::new(FramerLimits { max_message: max });
    let mut buf: Vec<u8> = Vec::new();
    let mut delivered = 0u64;
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut size = 1usize;
    while !rest.is_empty() {
        // The chunk size: from the bytes themselves, 1..=64.
        size = (size * 31 + usize::from(rest[0])) % 64 + 1;
        let (chunk, r) = rest.split_at(size.min(rest.len()));
        rest = r;
        buf.extend_from_slice(chunk);
        let mut count = 0u64;
        let used = f.push(&buf, &mut |m| {
            assert!(inside(&buf, m));
            assert!(!m.is_empty() && m.len() <= max);
            seen.push(m.to_vec());
            count += 1;
        });
        assert!(used <= buf.len());
        delivered += count;
        buf.drain(..used);
        // Bounded: at most one frame (up to max + its header) waits.
        assert!(buf.len() <= FramerLimits { max_message: max }.buffer_needed(), "buffer {} with max {max}", buf.len());
        let c = f.counters();
        assert_eq!(c.messages, delivered);
        assert_eq!(c.messages, c.octet_counted + c.non_transparent);
    }
    let mut count = 0u64;
    f.finish(&buf, &mut |m| {
        assert!(inside(&buf, m));
        assert!(!m.is_empty() && m.len() <= max);
        seen.push(m.to_vec());
        count += 1;
    });
    assert!(count <= 1);
    let c = f.counters();
    assert_eq!(c.messages, delivered + count);
    assert_eq!(c.messages, c.octet_counted + c.non_transparent);
    assert!(c.truncated <= c.non_transparent + c.empty);
    // The same bytes in one piece give the same messages and counters:
    // chunking does not matter.
    let whole = &data[2..];
    let mut g = Framer::new(FramerLimits { max_message: max });
    let mut one: Vec<Vec<u8>> = Vec::new();
    let used = g.push(whole, &mut |m| one.push(m.to_vec()));
    g.finish(&whole[used..], &mut |m| one.push(m.to_vec()));
    assert_eq!(one, seen);
    assert_eq!(g.counters(), f.counters());
});
