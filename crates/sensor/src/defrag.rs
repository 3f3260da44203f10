//! IPv4 and IPv6 fragment reassembly, as tshark's `ip.defragment` and
//! `ipv6.defragment`. Fragments are rare, so this path may allocate, but
//! every resource is bounded: datagrams in flight, bytes buffered, and the
//! age of a datagram (on the capture clock). Every fragment or datagram
//! dropped is counted by reason.
//!
//! Policies:
//! - Overlaps: the first bytes to arrive win. A later fragment only fills
//!   holes; one that overlaps held bytes and disagrees with them is counted
//!   in `overlaps` (an evasion attempt or a broken stack: hosts differ on
//!   which copy they keep, and RFC 5722 has IPv6 hosts drop the datagram).
//! - Offsets must be multiples of 8 and every fragment but the last a
//!   positive multiple of 8 long (anything else cannot come off the wire):
//!   holes are tracked per 8-byte block, so an overlap is always whole
//!   blocks and never needs a byte-range list.
//! - The end of the datagram is set by the last fragment (MF clear). A
//!   fragment past that end, or a second last fragment with another end,
//!   drops the datagram (`inconsistent`), as Linux does.
//! - A datagram times out `timeout_ns` after its first fragment, as in
//!   Linux (later fragments do not extend it).
//! - When a limit is hit the oldest datagram (first fragment seen first) is
//!   evicted, even when that is the one the fragment belongs to.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Largest upper-layer payload returned (the IP total-length field's range).
pub const MAX_DATAGRAM: usize = 65_535;
/// Fragment offsets count 8-byte blocks; holes are tracked per block.
const BLOCK: usize = 8;
/// Spare buffers kept for new datagrams (each up to MAX_DATAGRAM bytes).
const POOL: usize = 8;
/// Stale timeout-queue entries tolerated beyond the live ones.
const FIFO_SLACK: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragLimits {
    /// Datagrams being reassembled at once.
    pub max_datagrams: usize,
    /// Bytes held by those datagrams (each buffer spans its highest fragment
    /// end seen). Allocations may be up to twice this (vector growth), plus
    /// a small pool of spare buffers.
    pub max_bytes: usize,
    /// Age of a datagram, from its first fragment, on the capture clock.
    pub timeout_ns: u64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits { max_datagrams: 1024, max_bytes: 16 << 20, timeout_ns: 30_000_000_000 }
    }
}

/// What identifies one datagram's fragments (RFC 791: source, destination,
/// protocol, identification; IPv6 has no protocol in the key, pass the upper
/// protocol or 0 consistently).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub ident: u32,
    /// VLAN / tunnel context, folded in by the caller.
    pub context: u32,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DefragCounters {
    /// Fragments pushed (unfragmented packets passed through are not).
    pub fragments: u64,
    /// Datagrams reassembled and returned.
    pub completed: u64,
    /// Datagrams dropped incomplete after `timeout_ns`.
    pub timed_out: u64,
    /// Datagrams dropped incomplete to stay within `max_datagrams` or
    /// `max_bytes` (or a fragment dropped when `max_datagrams` is 0).
    pub evicted: u64,
    /// Fragments overlapping held bytes with different content (the held
    /// bytes were kept).
    pub overlaps: u64,
    /// Fragments ending past 65535 bytes: their datagram is dropped.
    pub too_big: u64,
    /// Fragments dropped for an offset not a multiple of 8, or (not last)
    /// a length not a positive multiple of 8.
    pub bad_offset: u64,
    /// Fragments that added nothing (all their bytes already held, equal).
    pub duplicates: u64,
    /// Fragments contradicting the datagram's end: their datagram is dropped.
    pub inconsistent: u64,
}

impl DefragCounters {
    pub fn merge(&mut self, o: &DefragCounters) {
        self.fragments += o.fragments;
        self.completed += o.completed;
        self.timed_out += o.timed_out;
        self.evicted += o.evicted;
        self.overlaps += o.overlaps;
        self.too_big += o.too_big;
        self.bad_offset += o.bad_offset;
        self.duplicates += o.duplicates;
        self.inconsistent += o.inconsistent;
    }
}

struct Datagram {
    /// Tells this datagram from an earlier one with the same key in `fifo`.
    serial: u64,
    /// Bytes 0 to the highest fragment end seen; holes are zero.
    buf: Vec<u8>,
    /// One bit per 8-byte block of `buf` that holds received bytes.
    filled: Vec<u64>,
    /// Blocks set in `filled`.
    blocks: usize,
    /// The datagram's length, once the last fragment is in.
    end: Option<usize>,
}

/// A timeout-queue entry: datagrams in order of their first fragment.
#[derive(Clone, Copy)]
struct Queued {
    deadline: u64,
    key: FragKey,
    serial: u64,
}

pub struct Defragmenter {
    limits: DefragLimits,
    datagrams: HashMap<FragKey, Datagram>,
    /// One live entry per datagram, plus stale ones for datagrams already
    /// gone (skipped when met, compacted when they pile up).
    fifo: VecDeque<Queued>,
    /// Sum of the datagrams' `buf.len()`.
    bytes: usize,
    serial: u64,
    /// The last datagram returned; its buffer is reused.
    out: Vec<u8>,
    pool: Vec<(Vec<u8>, Vec<u64>)>,
    counters: DefragCounters,
}

impl Defragmenter {
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            datagrams: HashMap::new(),
            fifo: VecDeque::new(),
            bytes: 0,
            serial: 0,
            out: Vec::new(),
            pool: Vec::new(),
            counters: DefragCounters::default(),
        }
    }

    /// Adds one fragment. `offset` is in bytes, `more` the MF flag, `data`
    /// the fragment's payload after the IP header (for IPv6 after the
    /// fragment header), `now_ns` the capture time. Returns the reassembled
    /// upper-layer payload (transport header and data) when this fragment
    /// completes its datagram; it borrows a buffer reused by the next call.
    /// A packet that is not a fragment (offset 0, MF clear; for IPv6 an
    /// atomic fragment) is returned as is, without copying.
    pub fn push<'a>(
        &'a mut self,
        key: FragKey,
        offset: u32,
        more: bool,
        data: &'a [u8],
        now_ns: u64,
    ) -> Option<&'a [u8]> {
        self.expire(now_ns);
        if offset == 0 && !more {
            if data.len() > MAX_DATAGRAM {
                self.counters.too_big += 1;
                return None;
            }
            return Some(data);
        }
        self.counters.fragments += 1;
        let start = offset as usize;
        let end = start.saturating_add(data.len());
        if end > MAX_DATAGRAM {
            self.counters.too_big += 1;
            self.discard(&key);
            return None;
        }
        if !start.is_multiple_of(BLOCK) || (more && (data.is_empty() || !data.len().is_multiple_of(BLOCK))) {
            self.counters.bad_offset += 1;
            return None;
        }
        if !self.datagrams.contains_key(&key) && !self.open(key, now_ns) {
            return None;
        }
        let d = self.datagrams.get(&key)?;
        let seen = d.buf.len();
        let contradicts = match d.end {
            Some(e) => end > e || (!more && end != e),
            None => !more && end < seen,
        };
        if contradicts {
            self.counters.inconsistent += 1;
            self.discard(&key);
            return None;
        }
        let grow = end.saturating_sub(seen);
        while grow > 0 && self.bytes + grow > self.limits.max_bytes {
            match self.evict_oldest() {
                Some(k) if k == key => return None,
                Some(_) => {}
                // Unreachable (the key's own entry is queued); drop it anyway.
                None => {
                    self.counters.evicted += 1;
                    self.discard(&key);
                    return None;
                }
            }
        }

        let d = self.datagrams.get_mut(&key)?;
        if grow > 0 {
            d.buf.resize(end, 0);
            let words = end.div_ceil(BLOCK).div_ceil(64);
            if d.filled.len() < words {
                d.filled.resize(words, 0);
            }
            self.bytes += grow;
        }
        let (mut fresh, mut conflict) = (false, false);
        let dst = d.buf.get_mut(start..end)?;
        // `start` is block-aligned, so the chunks are the blocks.
        for (i, (dst, src)) in dst.chunks_mut(BLOCK).zip(data.chunks(BLOCK)).enumerate() {
            let block = start / BLOCK + i;
            let Some(word) = d.filled.get_mut(block / 64) else { break };
            let bit = 1u64 << (block % 64);
            if *word & bit != 0 {
                conflict |= dst != src;
            } else {
                dst.copy_from_slice(src);
                *word |= bit;
                d.blocks += 1;
                fresh = true;
            }
        }
        // An empty last fragment adds only the end.
        let adds_end = !more && d.end.is_none();
        if conflict {
            self.counters.overlaps += 1;
        } else if !fresh && !adds_end {
            self.counters.duplicates += 1;
        }
        if !more {
            d.end = Some(end);
        }
        if d.end.is_none_or(|e| d.blocks != e.div_ceil(BLOCK)) {
            return None;
        }

        let d = self.datagrams.remove(&key)?;
        self.bytes -= d.buf.len();
        // Consistency checks keep every fragment inside the end, so `buf`
        // is exactly the datagram.
        let old = std::mem::replace(&mut self.out, d.buf);
        self.recycle(old, d.filled);
        self.counters.completed += 1;
        Some(&self.out)
    }

    /// Drops the datagrams whose first fragment is older than the timeout
    /// (`push` calls this). Amortized O(1): only the head of a queue in
    /// arrival order is looked at, so with a capture clock that steps back a
    /// datagram may outlive its deadline until the ones queued before it go.
    pub fn expire(&mut self, now_ns: u64) {
        while let Some(&q) = self.fifo.front() {
            if q.deadline >= now_ns {
                break;
            }
            self.fifo.pop_front();
            if self.is_live(&q) {
                self.discard(&q.key);
                self.counters.timed_out += 1;
            }
        }
    }

    /// Drops every datagram in flight (at the end of a capture), counted as
    /// timed out.
    pub fn flush(&mut self) {
        self.counters.timed_out += self.datagrams.len() as u64;
        for (_, d) in std::mem::take(&mut self.datagrams) {
            self.recycle(d.buf, d.filled);
        }
        self.fifo.clear();
        self.bytes = 0;
    }

    pub fn counters(&self) -> &DefragCounters {
        &self.counters
    }

    /// Datagrams being reassembled.
    pub fn in_flight(&self) -> usize {
        self.datagrams.len()
    }

    /// Bytes held by the datagrams in flight (counted against `max_bytes`).
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Checks the internal bookkeeping (for tests and fuzzing).
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        if self.datagrams.len() > self.limits.max_datagrams {
            return Err("more datagrams than max_datagrams");
        }
        if self.bytes > self.limits.max_bytes {
            return Err("more bytes than max_bytes");
        }
        if self.bytes != self.datagrams.values().map(|d| d.buf.len()).sum::<usize>() {
            return Err("byte count out of step");
        }
        for d in self.datagrams.values() {
            if d.buf.len() > MAX_DATAGRAM {
                return Err("datagram over 65535 bytes");
            }
            if d.blocks != d.filled.iter().map(|w| w.count_ones() as usize).sum::<usize>() {
                return Err("block count out of step");
            }
            if d.end.is_some_and(|e| d.buf.len() > e) {
                return Err("bytes past the end");
            }
            if d.end.is_some_and(|e| d.blocks >= e.div_ceil(BLOCK)) {
                return Err("complete datagram left in flight");
            }
        }
        if self.fifo.iter().filter(|q| self.is_live(q)).count() != self.datagrams.len() {
            return Err("timeout queue out of step");
        }
        if self.fifo.len() > 2 * self.limits.max_datagrams + FIFO_SLACK + 1 {
            return Err("timeout queue not compacted");
        }
        if self.out.len() > MAX_DATAGRAM || self.pool.len() > POOL {
            return Err("buffers over their bounds");
        }
        Ok(())
    }

    /// Starts a datagram, evicting the oldest when at `max_datagrams`.
    fn open(&mut self, key: FragKey, now_ns: u64) -> bool {
        while self.datagrams.len() >= self.limits.max_datagrams {
            if self.evict_oldest().is_none() {
                // max_datagrams is 0: nothing is ever reassembled.
                self.counters.evicted += 1;
                return false;
            }
        }
        let (buf, filled) = self.pool.pop().unwrap_or_default();
        self.serial += 1;
        let serial = self.serial;
        self.datagrams.insert(key, Datagram { serial, buf, filled, blocks: 0, end: None });
        self.fifo.push_back(Queued { deadline: now_ns.saturating_add(self.limits.timeout_ns), key, serial });
        // Entries of datagrams that completed or were dropped stay queued
        // until their deadline: compact them once they outnumber the live
        // ones, so the queue stays O(max_datagrams) at any packet rate.
        if self.fifo.len() > 2 * self.datagrams.len() + FIFO_SLACK {
            let datagrams = &self.datagrams;
            self.fifo.retain(|q| datagrams.get(&q.key).is_some_and(|d| d.serial == q.serial));
        }
        true
    }

    fn is_live(&self, q: &Queued) -> bool {
        self.datagrams.get(&q.key).is_some_and(|d| d.serial == q.serial)
    }

    /// Drops the datagram whose first fragment came first; returns its key.
    fn evict_oldest(&mut self) -> Option<FragKey> {
        while let Some(q) = self.fifo.pop_front() {
            if self.is_live(&q) {
                self.discard(&q.key);
                self.counters.evicted += 1;
                return Some(q.key);
            }
        }
        None
    }

    /// Drops a datagram in flight (the caller counts why).
    fn discard(&mut self, key: &FragKey) {
        if let Some(d) = self.datagrams.remove(key) {
            self.bytes -= d.buf.len();
            self.recycle(d.buf, d.filled);
        }
    }

    fn recycle(&mut self, mut buf: Vec<u8>, mut filled: Vec<u64>) {
        if self.pool.len() < POOL {
            buf.clear();
            filled.clear();
            self.pool.push((buf, filled));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const SEC: u64 = 1_000_000_000;

    fn key4(ident: u32) -> FragKey {
        FragKey {
            src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
            protocol: 17,
            ident,
            context: 0,
        }
    }

    fn key6(ident: u32) -> FragKey {
        FragKey {
            src: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            dst: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            protocol: 17,
            ident,
            context: 0,
        }
    }

    /// A payload whose every byte depends on its position and a seed.
    fn payload(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(7) ^ (i >> 8) as u8 ^ seed).collect()
    }

    /// Pushes `payload[start..end]` and returns the result as an owned copy.
    fn frag(d: &mut Defragmenter, key: FragKey, p: &[u8], start: usize, end: usize, now: u64) -> Option<Vec<u8>> {
        let more = end < p.len();
        let r = d.push(key, start as u32, more, &p[start..end], now).map(<[u8]>::to_vec);
        assert_eq!(d.check_invariants(), Ok(()));
        r
    }

    fn small() -> DefragLimits {
        DefragLimits { max_datagrams: 2, max_bytes: 1 << 20, timeout_ns: 10 * SEC }
    }

    #[test]
    fn unfragmented_is_returned_as_is() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let p = payload(100, 1);
        let r = d.push(key4(1), 0, false, &p, 0).map(|s| s.as_ptr());
        assert_eq!(r, Some(p.as_ptr()));
        assert_eq!(d.counters().fragments, 0);
        assert_eq!(d.in_flight(), 0);
        let huge = vec![0; MAX_DATAGRAM + 1];
        assert!(d.push(key4(1), 0, false, &huge, 0).is_none());
        assert_eq!(d.counters().too_big, 1);
    }

    #[test]
    fn in_order() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let p = payload(3000, 2);
        assert_eq!(frag(&mut d, key4(1), &p, 0, 1480, 0), None);
        assert_eq!(frag(&mut d, key4(1), &p, 1480, 2960, 1), None);
        assert_eq!(d.buffered_bytes(), 2960);
        assert_eq!(frag(&mut d, key4(1), &p, 2960, 3000, 2), Some(p.clone()));
        assert_eq!(d.in_flight(), 0);
        assert_eq!(d.buffered_bytes(), 0);
        let c = d.counters();
        assert_eq!((c.fragments, c.completed, c.duplicates, c.overlaps), (3, 1, 0, 0));
    }

    #[test]
    fn reverse_order() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let p = payload(1001, 3);
        let cuts = [0, 200, 400, 600, 800, 1001];
        let mut got = Vec::new();
        for w in cuts.windows(2).rev() {
            got.push(frag(&mut d, key4(7), &p, w[0], w[1], 0));
        }
        assert_eq!(got, [None, None, None, None, Some(p)]);
        assert_eq!(d.counters().completed, 1);
    }

    #[test]
    fn duplicates_are_ignored() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let p = payload(24, 4);
        assert_eq!(frag(&mut d, key4(1), &p, 0, 16, 0), None);
        assert_eq!(frag(&mut d, key4(1), &p, 0, 16, 0), None);
        assert_eq!(frag(&mut d, key4(1), &p, 8, 16, 0), None);
        assert_eq!(d.counters().duplicates, 2);
        assert_eq!(frag(&mut d, key4(1), &p, 16, 24, 0), Some(p.clone()));
        // After completion the same fragments start a new datagram.
        assert_eq!(frag(&mut d, key4(1), &p, 16, 24, 0), None);
        assert_eq!(d.in_flight(), 1);
        assert_eq!(d.counters().overlaps, 0);
    }

    #[test]
    fn overlaps_keep_the_first_bytes() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let p = payload(40, 5);
        let mut evil = p.clone();
        evil[10] ^= 0xff;
        evil[30] ^= 0xff;
        assert_eq!(frag(&mut d, key4(1), &p, 0, 16, 0), None);
        // Overlaps 8..16 with other bytes, and brings 16..24 (evil too).
        assert_eq!(frag(&mut d, key4(1), &evil, 8, 24, 0), None);
        assert_eq!(d.counters().overlaps, 1);
        // An agreeing overlap that adds new bytes counts as nothing.
        assert_eq!(frag(&mut d, key4(1), &p, 16, 32, 0), None);
        assert_eq!((d.counters().overlaps, d.counters().duplicates), (1, 0));
        // The first bytes were kept: the evil byte at 10 is not in.
        assert_eq!(frag(&mut d, key4(1), &p, 32, 40, 0), Some(p));
    }

    #[test]
    fn overlap_of_the_last_partial_block() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let p = payload(21, 6);
        let mut evil = p.clone();
        evil[20] ^= 1;
        assert_eq!(frag(&mut d, key4(1), &p, 16, 21, 0), None);
        assert_eq!(frag(&mut d, key4(1), &evil, 16, 21, 0), None);
        assert_eq!(frag(&mut d, key4(1), &p, 0, 16, 0), Some(p));
        assert_eq!(d.counters().overlaps, 1);
    }

    #[test]
    fn too_big_drops_the_datagram() {
        let mut d = Defragmenter::new(DefragLimits::default());
        assert!(d.push(key4(1), 0, true, &[0; 8], 0).is_none());
        assert_eq!(d.in_flight(), 1);
        assert!(d.push(key4(1), 65528, false, &[0; 16], 0).is_none());
        assert_eq!(d.counters().too_big, 1);
        assert_eq!(d.in_flight(), 0);
        assert_eq!(d.buffered_bytes(), 0);
        // Exactly 65535 is fine.
        let p = payload(MAX_DATAGRAM, 7);
        assert_eq!(frag(&mut d, key4(2), &p, 65528, MAX_DATAGRAM, 0), None);
        assert_eq!(frag(&mut d, key4(2), &p, 0, 65528, 0), Some(p));
        assert!(d.push(key4(3), !7, true, &[0; 8], 0).is_none());
        assert_eq!(d.counters().too_big, 2);
    }

    #[test]
    fn bad_offsets_and_inconsistent_ends() {
        let mut d = Defragmenter::new(DefragLimits::default());
        assert!(d.push(key4(1), 0, true, &[0; 12], 0).is_none());
        assert!(d.push(key4(1), 0, true, &[], 0).is_none());
        assert!(d.push(key4(1), 4, false, &[0; 12], 0).is_none());
        assert_eq!(d.counters().bad_offset, 3);
        assert_eq!(d.in_flight(), 0);
        // A last fragment ending before bytes already seen.
        assert!(d.push(key4(1), 16, true, &[0; 8], 0).is_none());
        assert!(d.push(key4(1), 8, false, &[0; 4], 0).is_none());
        assert_eq!(d.counters().inconsistent, 1);
        assert_eq!(d.in_flight(), 0);
        // A second last fragment with another end, then data past the end.
        assert!(d.push(key4(1), 16, false, &[0; 4], 0).is_none());
        assert!(d.push(key4(1), 16, false, &[0; 5], 0).is_none());
        assert!(d.push(key4(2), 16, false, &[0; 4], 0).is_none());
        assert!(d.push(key4(2), 16, true, &[0; 8], 0).is_none());
        assert_eq!(d.counters().inconsistent, 3);
        assert_eq!(d.in_flight(), 0);
        assert_eq!(d.check_invariants(), Ok(()));
    }

    #[test]
    fn empty_last_fragment_sets_the_end() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let p = payload(16, 8);
        assert!(d.push(key6(9), 16, false, &[], 0).is_none());
        assert_eq!(d.counters().duplicates, 0);
        assert!(d.push(key6(9), 0, true, &p[..8], 0).is_none());
        assert_eq!(d.push(key6(9), 8, true, &p[8..], 0), Some(&p[..]));
    }

    #[test]
    fn timeout() {
        let mut d = Defragmenter::new(small());
        let p = payload(16, 9);
        assert_eq!(frag(&mut d, key4(1), &p, 0, 8, 0), None);
        assert_eq!(frag(&mut d, key4(2), &p, 0, 8, 5 * SEC), None);
        // Not older than the timeout yet.
        assert_eq!(frag(&mut d, key4(3), &p, 8, 16, 10 * SEC), None);
        assert_eq!(d.counters().timed_out, 0);
        assert_eq!(d.counters().evicted, 1, "key 1 evicted for key 3 (max 2)");
        assert_eq!(frag(&mut d, key4(2), &p, 8, 16, 15 * SEC), Some(p.clone()));
        // Key 3 is 11 s old at 21 s: gone before key 3's first half lands.
        assert_eq!(frag(&mut d, key4(3), &p, 0, 8, 21 * SEC), None);
        assert_eq!(d.counters().timed_out, 1);
        assert_eq!(d.in_flight(), 1);
        d.flush();
        assert_eq!((d.counters().timed_out, d.in_flight(), d.buffered_bytes()), (2, 0, 0));
        assert_eq!(d.check_invariants(), Ok(()));
    }

    #[test]
    fn eviction_by_count_drops_the_oldest() {
        let mut d = Defragmenter::new(small());
        let p = payload(16, 10);
        for ident in 1..=3 {
            assert_eq!(frag(&mut d, key4(ident), &p, 0, 8, 0), None);
        }
        assert_eq!((d.counters().evicted, d.in_flight()), (1, 2));
        // Key 1 was evicted: its second half starts over (evicting key 2).
        assert_eq!(frag(&mut d, key4(1), &p, 8, 16, 0), None);
        assert_eq!(frag(&mut d, key4(3), &p, 8, 16, 0), Some(p.clone()));
        assert_eq!(d.counters().evicted, 2);

        let mut none = Defragmenter::new(DefragLimits { max_datagrams: 0, ..small() });
        assert_eq!(frag(&mut none, key4(1), &p, 0, 8, 0), None);
        assert_eq!((none.counters().evicted, none.in_flight()), (1, 0));
    }

    #[test]
    fn eviction_by_bytes() {
        let mut d = Defragmenter::new(DefragLimits { max_datagrams: 10, max_bytes: 3000, timeout_ns: SEC });
        let p = payload(4000, 11);
        assert_eq!(frag(&mut d, key4(1), &p, 0, 1000, 0), None);
        assert_eq!(frag(&mut d, key4(2), &p, 0, 1000, 0), None);
        assert_eq!(frag(&mut d, key4(3), &p, 0, 1000, 0), None);
        assert_eq!(d.buffered_bytes(), 3000);
        // 8 more bytes for key 2 push out key 1.
        assert_eq!(frag(&mut d, key4(2), &p, 1000, 1008, 0), None);
        assert_eq!((d.counters().evicted, d.in_flight(), d.buffered_bytes()), (1, 2, 2008));
        // A hole takes memory too: key 2 reaching 3200 evicts itself (oldest).
        assert_eq!(frag(&mut d, key4(2), &p, 3000, 3200, 0), None);
        assert_eq!((d.counters().evicted, d.in_flight(), d.buffered_bytes()), (2, 1, 1000));
        // One datagram bigger than max_bytes is never reassembled.
        assert_eq!(frag(&mut d, key4(4), &p, 0, 3008, 0), None);
        assert_eq!((d.counters().evicted, d.in_flight()), (4, 0));
    }

    #[test]
    fn ipv6_keys_are_their_own() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let p4 = payload(32, 12);
        let p6 = payload(32, 13);
        let big = 0xdead_beef;
        assert_eq!(frag(&mut d, key4(big), &p4, 0, 16, 0), None);
        assert_eq!(frag(&mut d, key6(big), &p6, 16, 32, 0), None);
        assert_eq!(frag(&mut d, key6(big & 0xffff), &p6, 0, 16, 0), None);
        assert_eq!(d.in_flight(), 3);
        assert_eq!(frag(&mut d, key6(big), &p6, 0, 16, 0), Some(p6));
        assert_eq!(frag(&mut d, key4(big), &p4, 16, 32, 0), Some(p4));
        let other_context = FragKey { context: 1, ..key6(big & 0xffff) };
        assert_eq!(frag(&mut d, other_context, &payload(32, 13), 16, 32, 0), None);
        assert_eq!(d.in_flight(), 2);
    }

    #[test]
    fn interleaved_datagrams() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let ps: Vec<Vec<u8>> = (0..4).map(|i| payload(1000 + 8 * i, i as u8)).collect();
        let mut done = vec![None; 4];
        for cut in [(256, 512), (0, 256), (768, usize::MAX), (512, 768)] {
            for (i, p) in ps.iter().enumerate() {
                let end = cut.1.min(p.len());
                if let Some(r) = frag(&mut d, key4(i as u32), p, cut.0, end, 0) {
                    done[i] = Some(r);
                }
            }
        }
        for (i, p) in ps.iter().enumerate() {
            assert_eq!(done[i].as_ref(), Some(p));
        }
        assert_eq!(d.counters().completed, 4);
        assert_eq!((d.in_flight(), d.buffered_bytes()), (0, 0));
    }

    #[test]
    fn timeout_queue_stays_bounded() {
        let mut d = Defragmenter::new(DefragLimits { timeout_ns: u64::MAX, ..DefragLimits::default() });
        let p = payload(16, 14);
        for i in 0..10_000u32 {
            assert_eq!(frag(&mut d, key4(i), &p, 8, 16, u64::from(i)), None);
            assert_eq!(frag(&mut d, key4(i), &p, 0, 8, u64::from(i)), Some(p.clone()));
        }
        assert!(d.fifo.len() <= FIFO_SLACK + 2, "{}", d.fifo.len());
        assert!(d.pool.len() <= POOL);
    }
}
