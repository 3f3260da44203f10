//! Bounded per-direction TCP byte-stream reassembly, for the few
//! application protocols parsed over TCP (DNS, SMTP, later syslog). It only
//! puts bytes in order: the consumer parses them and says how many it used;
//! the rest stays buffered and is offered again with the next bytes.
//!
//! Bounds: streams (`max_streams`), per direction the unconsumed in-order
//! bytes (`max_buffer`) and the out-of-order segments held
//! (`max_out_of_order` of them, `max_buffer` bytes), memory in total
//! (`max_total_bytes`), and idle time (capture clock). Sequence numbers
//! compare as 32-bit serial numbers (RFC 1982), so streams may cross 2^32.
//!
//! Losses, each counted:
//! - `gaps`: a hole that cannot be filled (the out-of-order limits are hit,
//!   or FIN/RST arrives with segments still held). The unconsumed bytes are
//!   dropped and delivery resumes at the earliest held segment. A stream
//!   that ends (FIN/RST, idle timeout, eviction) with segments held counts
//!   one too.
//! - `overflow`: the unconsumed bytes would exceed `max_buffer`; they are
//!   dropped and delivery goes on with the bytes that follow.
//! - `incomplete`: a stream ended with unconsumed bytes (a partial message).
//!
//! After a gap or an overflow the next slice offered starts at an arbitrary
//! point of the stream: the consumer must take it as a fresh start. For DNS
//! over TCP that means reading the next two bytes as a new message's length
//! prefix; as that may be mid-message, a consumer should check each message
//! and, when one does not parse, consume everything offered (skipping to the
//! next segment) rather than wait for a bogus length.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// TCP flags `push` looks at.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;

/// Segments longer than this are ignored (counted as `overflow`): even
/// GRO/TSO captures stay far below, and serial arithmetic needs < 2^31.
const MAX_SEGMENT: usize = 1 << 24;
/// An empty buffer bigger than this is freed; below, it is kept for reuse.
const KEEP_CAPACITY: usize = 4096;
/// Smallest allocation for a remainder, to avoid a string of small regrowths.
const MIN_CAPACITY: usize = 512;
/// Streams found active since queued that eviction skips before it takes
/// the oldest regardless (an approximation of least recently used).
const SECOND_CHANCES: usize = 8;
/// Stale timeout-queue entries tolerated beyond the live ones.
const FIFO_SLACK: usize = 64;

/// One direction of a TCP connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct StreamKey {
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    /// VLAN / tunnel context, folded in by the caller.
    pub context: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Directions tracked at once; the least recently active (roughly) is
    /// evicted for a new one.
    pub max_streams: usize,
    /// Unconsumed in-order bytes per direction, and bytes of out-of-order
    /// segments held per direction. 65536 + 2 fits a DNS message with its
    /// length prefix.
    pub max_buffer: usize,
    /// Out-of-order segments held per direction.
    pub max_out_of_order: usize,
    /// A direction with no segment for this long is dropped.
    pub idle_timeout_ns: u64,
    /// Memory held by all buffers together (their capacity); streams are
    /// evicted to stay within it.
    pub max_total_bytes: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_streams: 65_536,
            max_buffer: 65_536 + 2,
            max_out_of_order: 8,
            idle_timeout_ns: 120_000_000_000,
            max_total_bytes: 64 << 20,
        }
    }
}

/// How much of the bytes offered a consumer used: the typed form of the
/// `usize` a `push` consumer returns (`Consumed::Bytes(n).into()`). The
/// rest stays buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    Bytes(usize),
}

impl From<Consumed> for usize {
    fn from(c: Consumed) -> usize {
        match c {
            Consumed::Bytes(n) => n,
        }
    }
}

impl From<usize> for Consumed {
    fn from(n: usize) -> Consumed {
        Consumed::Bytes(n)
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamCounters {
    /// Directions started (by a SYN, or mid-stream by a data segment).
    pub streams_opened: u64,
    /// Directions ended by FIN or RST, or replaced by a SYN with a new ISN.
    pub closed: u64,
    /// Directions dropped to stay within `max_streams` or `max_total_bytes`.
    pub evicted: u64,
    /// Directions dropped after `idle_timeout_ns` without a segment.
    pub timed_out: u64,
    /// Holes given up on (data lost, delivery resynchronized).
    pub gaps: u64,
    /// Unconsumed bytes dropped at `max_buffer` (and oversized segments).
    pub overflow: u64,
    /// Segments held because they came ahead of a hole.
    pub out_of_order_held: u64,
    /// Segments with old bytes (wholly or partly before the expected one).
    pub retransmissions: u64,
    /// Directions that ended with unconsumed bytes still buffered.
    pub incomplete: u64,
}

impl StreamCounters {
    pub fn merge(&mut self, o: &StreamCounters) {
        self.streams_opened += o.streams_opened;
        self.closed += o.closed;
        self.evicted += o.evicted;
        self.timed_out += o.timed_out;
        self.gaps += o.gaps;
        self.overflow += o.overflow;
        self.out_of_order_held += o.out_of_order_held;
        self.retransmissions += o.retransmissions;
        self.incomplete += o.incomplete;
    }
}

/// A segment that came ahead of the next expected byte.
struct Held {
    seq: u32,
    data: Box<[u8]>,
}

struct Stream {
    /// Tells this stream from an earlier one with the same key in `fifo`.
    serial: u64,
    /// Sequence number of the next in-order byte.
    next: u32,
    /// The SYN's sequence number, when the stream began with one.
    isn: Option<u32>,
    last_seen: u64,
    /// In-order bytes offered but not consumed; they end just before `next`.
    buf: Vec<u8>,
    held: Vec<Held>,
    held_bytes: usize,
}

/// Where the bytes go, and the limits and counters that apply on the way.
struct Sink<'a, F> {
    limits: &'a StreamLimits,
    counters: &'a mut StreamCounters,
    consume: &'a mut F,
}

impl<F: FnMut(&[u8]) -> usize> Sink<'_, F> {
    /// Offers bytes; returns how many were used (clamped to the length).
    fn offer(&mut self, bytes: &[u8]) -> usize {
        (self.consume)(bytes).min(bytes.len())
    }
}

impl Stream {
    /// Memory held, as counted against `max_total_bytes`.
    fn mem(&self) -> usize {
        self.buf.capacity() + self.held_bytes
    }

    /// One segment's data, starting at sequence number `seq`.
    fn segment<F: FnMut(&[u8]) -> usize>(&mut self, seq: u32, data: &[u8], sink: &mut Sink<'_, F>) {
        if data.is_empty() {
            // A bare segment's sequence number is the next byte its sender
            // will send: past `next`, the bytes between were sent and not
            // captured. Give up on them now, so one lost segment costs one
            // message instead of everything until the stream ends.
            if (seq.wrapping_sub(self.next) as i32) > 0 {
                self.skip_to(seq, sink);
            }
            return;
        }
        let ahead = seq.wrapping_sub(self.next) as i32;
        if ahead > 0 {
            return self.hold(seq, data, sink);
        }
        let mut data = data;
        if ahead < 0 {
            sink.counters.retransmissions += 1;
            let old = self.next.wrapping_sub(seq) as usize;
            match data.get(old..) {
                Some(new) if !new.is_empty() => data = new,
                _ => return,
            }
        }
        self.deliver(data, sink);
        self.drain(sink);
    }

    /// In-order bytes starting at `next`.
    fn deliver<F: FnMut(&[u8]) -> usize>(&mut self, mut data: &[u8], sink: &mut Sink<'_, F>) {
        // Lengths are below MAX_SEGMENT, so the cast is exact.
        self.next = self.next.wrapping_add(data.len() as u32);
        let max = sink.limits.max_buffer;
        while !data.is_empty() {
            if self.buf.is_empty() {
                // The common case: straight from the packet, no copy.
                let used = sink.offer(data);
                data = data.get(used..).unwrap_or_default();
                if data.len() <= max {
                    self.store(data, max);
                    return;
                }
                if used == 0 {
                    sink.counters.overflow += 1;
                    return;
                }
                // More than fits is left: offer it again, it may hold more.
                continue;
            }
            let room = max.saturating_sub(self.buf.len());
            if room == 0 {
                // The consumer could not use a full buffer: give up on it.
                sink.counters.overflow += 1;
                self.buf.clear();
                continue;
            }
            let (now, later) = data.split_at(room.min(data.len()));
            self.store(now, max);
            data = later;
            let used = sink.offer(&self.buf);
            self.buf.drain(..used);
        }
    }

    /// Appends to `buf`, growing it geometrically but never past `max`.
    fn store(&mut self, data: &[u8], max: usize) {
        let need = self.buf.len() + data.len();
        if need > self.buf.capacity() {
            let want = need.max(self.buf.capacity() * 2).max(MIN_CAPACITY).min(max.max(need));
            self.buf.reserve_exact(want - self.buf.len());
        }
        self.buf.extend_from_slice(data);
    }

    /// Keeps a segment that came ahead of a hole; when the limits are hit,
    /// gives up on the hole.
    fn hold<F: FnMut(&[u8]) -> usize>(&mut self, seq: u32, data: &[u8], sink: &mut Sink<'_, F>) {
        if self.held.iter().any(|h| h.seq == seq && h.data.len() >= data.len()) {
            sink.counters.retransmissions += 1;
            return;
        }
        sink.counters.out_of_order_held += 1;
        self.held_bytes += data.len();
        self.held.push(Held { seq, data: data.into() });
        // Each round delivers at least the earliest held segment.
        while self.held.len() > sink.limits.max_out_of_order || self.held_bytes > sink.limits.max_buffer {
            if !self.resync(sink.counters) {
                break;
            }
            self.drain(sink);
        }
    }

    /// Delivers the held segments the stream has caught up with.
    fn drain<F: FnMut(&[u8]) -> usize>(&mut self, sink: &mut Sink<'_, F>) {
        while let Some(i) = self.earliest() {
            let Some(h) = self.held.get(i) else { break };
            if (h.seq.wrapping_sub(self.next) as i32) > 0 {
                break;
            }
            let h = self.held.swap_remove(i);
            self.held_bytes -= h.data.len();
            let old = self.next.wrapping_sub(h.seq) as usize;
            match h.data.get(old..) {
                Some(new) if !new.is_empty() => self.deliver(new, sink),
                _ => sink.counters.retransmissions += 1,
            }
        }
    }

    /// Gives up on the hole before the earliest held segment: drops the
    /// unconsumed bytes and moves `next` to that segment. False when
    /// nothing is held.
    fn resync(&mut self, counters: &mut StreamCounters) -> bool {
        let Some(h) = self.earliest().and_then(|i| self.held.get(i)) else { return false };
        self.next = h.seq;
        self.buf.clear();
        counters.gaps += 1;
        true
    }

    /// Moves delivery to `seq` (known sent, not seen): held segments before
    /// it are delivered after the holes in front of them, each hole a gap.
    fn skip_to<F: FnMut(&[u8]) -> usize>(&mut self, seq: u32, sink: &mut Sink<'_, F>) {
        while (seq.wrapping_sub(self.next) as i32) > 0 {
            let held_before =
                self.earliest().and_then(|i| self.held.get(i)).is_some_and(|h| (seq.wrapping_sub(h.seq) as i32) > 0);
            if !(held_before && self.resync(sink.counters)) {
                self.next = seq;
                self.buf.clear();
                sink.counters.gaps += 1;
            }
            self.drain(sink);
        }
    }

    /// Index of the held segment nearest `next`.
    fn earliest(&self) -> Option<usize> {
        let next = self.next;
        self.held.iter().enumerate().min_by_key(|(_, h)| h.seq.wrapping_sub(next) as i32).map(|(i, _)| i)
    }

    /// Frees a big buffer left empty, and shrinks one mostly unused.
    fn trim(&mut self) {
        let cap = self.buf.capacity();
        if cap > KEEP_CAPACITY && self.buf.len() <= cap / 4 {
            self.buf.shrink_to(self.buf.len() * 2);
        }
    }
}

/// A timeout-queue entry: streams roughly in order of last activity.
#[derive(Clone, Copy)]
struct Queued {
    /// `last_seen` + idle timeout, as of when queued.
    deadline: u64,
    key: StreamKey,
    serial: u64,
}

enum End {
    Closed,
    Evicted,
    TimedOut,
}

pub struct Streams {
    limits: StreamLimits,
    streams: HashMap<StreamKey, Stream>,
    /// One live entry per stream, plus stale ones for streams already gone
    /// (skipped when met, compacted when they pile up). An entry found
    /// early (the stream was active since) is queued again, so expiry costs
    /// amortized O(1) per segment.
    fifo: VecDeque<Queued>,
    /// Sum of the streams' `mem()`.
    mem: usize,
    serial: u64,
    counters: StreamCounters,
}

impl Streams {
    pub fn new(limits: StreamLimits) -> Self {
        Streams {
            limits,
            streams: HashMap::new(),
            fifo: VecDeque::new(),
            mem: 0,
            serial: 0,
            counters: StreamCounters::default(),
        }
    }

    /// One TCP segment of one direction: `seq` its sequence number, `flags`
    /// the TCP flags byte, `payload` its data, `now_ns` the capture time.
    /// Whenever new in-order bytes arrive, calls `consume` with all the
    /// contiguous unconsumed bytes; it returns how many leading bytes it
    /// used (0: it needs more), and the rest is offered again with the next
    /// bytes. `consume` may be called more than once per segment (held
    /// segments delivered, a resynchronization, a buffer too full).
    ///
    /// A SYN starts a direction (its ISN + 1 is the next byte); without one
    /// the first data segment does (a capture started mid-stream). FIN or
    /// RST ends it after delivering what it can; data on a RST is ignored.
    pub fn push(
        &mut self,
        key: StreamKey,
        seq: u32,
        flags: u8,
        payload: &[u8],
        now_ns: u64,
        mut consume: impl FnMut(&[u8]) -> usize,
    ) {
        self.expire(now_ns);
        if payload.len() > MAX_SEGMENT {
            self.counters.overflow += 1;
            return;
        }
        let (syn, end) = (flags & SYN != 0, flags & (FIN | RST) != 0);
        // Fast path: data or a bare ACK on a known direction.
        if !syn
            && !end
            && let Some(s) = self.streams.get_mut(&key)
        {
            let before = s.mem();
            s.last_seen = s.last_seen.max(now_ns);
            let mut sink = Sink { limits: &self.limits, counters: &mut self.counters, consume: &mut consume };
            s.segment(seq, payload, &mut sink);
            s.trim();
            self.mem = self.mem.saturating_sub(before) + s.mem();
            self.enforce_memory();
            return;
        }

        // Data on a RST is a diagnostic, not stream data (RFC 9293 3.5.3).
        let payload = if flags & RST != 0 { &[][..] } else { payload };
        // A SYN's data starts after the SYN's own sequence number.
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        if syn && let Some(s) = self.streams.get(&key) {
            if s.isn == Some(seq) {
                if payload.is_empty() {
                    self.counters.retransmissions += 1;
                }
            } else {
                // Another connection on the same ports.
                self.remove(&key, End::Closed);
            }
        }
        if !self.streams.contains_key(&key) {
            if flags & RST != 0 || (!syn && payload.is_empty()) {
                return;
            }
            self.open(key, data_seq, syn.then_some(seq), now_ns);
        }
        let Some(s) = self.streams.get_mut(&key) else { return };
        let before = s.mem();
        s.last_seen = s.last_seen.max(now_ns);
        let mut sink = Sink { limits: &self.limits, counters: &mut self.counters, consume: &mut consume };
        s.segment(data_seq, payload, &mut sink);
        if end {
            // Nothing will fill the holes now: deliver what is held.
            while s.resync(sink.counters) {
                s.drain(&mut sink);
            }
        }
        s.trim();
        self.mem = self.mem.saturating_sub(before) + s.mem();
        if end {
            self.remove(&key, End::Closed);
        }
        self.enforce_memory();
    }

    /// Drops the directions idle for longer than the timeout (`push` calls
    /// this). Amortized O(1); a direction is dropped at most one more
    /// timeout after it went idle.
    pub fn expire(&mut self, now_ns: u64) {
        while let Some(&q) = self.fifo.front() {
            if q.deadline >= now_ns {
                break;
            }
            self.fifo.pop_front();
            let Some(s) = self.streams.get(&q.key).filter(|s| s.serial == q.serial) else { continue };
            let deadline = s.last_seen.saturating_add(self.limits.idle_timeout_ns);
            if deadline < now_ns {
                self.remove(&q.key, End::TimedOut);
            } else {
                self.fifo.push_back(Queued { deadline, ..q });
            }
        }
    }

    /// Drops every direction (at the end of a capture), counted as timed
    /// out, with what they held (`gaps`, `incomplete`).
    pub fn flush(&mut self) {
        self.flush_with(|_, _| 0, false);
    }

    /// As `flush`, but first gives up on the holes (`gaps`, as at FIN) and
    /// offers the segments held behind them to `consume`, with their
    /// direction: the end of a capture is the last chance to see them.
    pub fn flush_into(&mut self, consume: impl FnMut(&StreamKey, &[u8]) -> usize) {
        self.flush_with(consume, true);
    }

    fn flush_with(&mut self, mut consume: impl FnMut(&StreamKey, &[u8]) -> usize, deliver: bool) {
        while let Some(q) = self.fifo.pop_front() {
            let Some(s) = self.streams.get_mut(&q.key).filter(|s| s.serial == q.serial) else { continue };
            if deliver {
                let before = s.mem();
                let mut offer = |b: &[u8]| consume(&q.key, b);
                let mut sink = Sink { limits: &self.limits, counters: &mut self.counters, consume: &mut offer };
                while s.resync(sink.counters) {
                    s.drain(&mut sink);
                }
                self.mem = self.mem.saturating_sub(before) + s.mem();
            }
            self.remove(&q.key, End::TimedOut);
        }
    }

    pub fn counters(&self) -> &StreamCounters {
        &self.counters
    }

    /// Directions tracked.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Memory held by the buffers (counted against `max_total_bytes`).
    pub fn buffered_bytes(&self) -> usize {
        self.mem
    }

    /// Checks the internal bookkeeping (for tests and fuzzing).
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        let lim = &self.limits;
        if self.streams.len() > lim.max_streams.max(1) {
            return Err("more streams than max_streams");
        }
        if self.mem != self.streams.values().map(Stream::mem).sum::<usize>() {
            return Err("memory count out of step");
        }
        if self.mem > lim.max_total_bytes {
            return Err("more memory than max_total_bytes");
        }
        for s in self.streams.values() {
            if s.buf.len() > lim.max_buffer || s.buf.capacity() > lim.max_buffer.max(MIN_CAPACITY) {
                return Err("buffer over max_buffer");
            }
            if s.held.len() > lim.max_out_of_order || s.held_bytes > lim.max_buffer {
                return Err("too much held");
            }
            if s.held_bytes != s.held.iter().map(|h| h.data.len()).sum::<usize>() {
                return Err("held byte count out of step");
            }
            if s.held.iter().any(|h| h.seq.wrapping_sub(s.next) as i32 <= 0) {
                return Err("held segment not ahead");
            }
        }
        let live = self.fifo.iter().filter(|q| self.streams.get(&q.key).is_some_and(|s| s.serial == q.serial));
        if live.count() != self.streams.len() {
            return Err("timeout queue out of step");
        }
        if self.fifo.len() > 2 * lim.max_streams.max(1) + FIFO_SLACK + 1 {
            return Err("timeout queue not compacted");
        }
        Ok(())
    }

    fn open(&mut self, key: StreamKey, next: u32, isn: Option<u32>, now_ns: u64) {
        while self.streams.len() >= self.limits.max_streams.max(1) {
            if !self.evict_one() {
                break;
            }
        }
        self.serial += 1;
        let serial = self.serial;
        let s = Stream { serial, next, isn, last_seen: now_ns, buf: Vec::new(), held: Vec::new(), held_bytes: 0 };
        self.streams.insert(key, s);
        self.fifo.push_back(Queued { deadline: now_ns.saturating_add(self.limits.idle_timeout_ns), key, serial });
        self.counters.streams_opened += 1;
        // Entries of streams already gone stay queued until met: compact
        // them once they outnumber the live ones, so the queue stays
        // O(max_streams) however fast connections come and go.
        if self.fifo.len() > 2 * self.streams.len() + FIFO_SLACK {
            let streams = &self.streams;
            self.fifo.retain(|q| streams.get(&q.key).is_some_and(|s| s.serial == q.serial));
        }
    }

    /// Drops the oldest direction, passing over (up to SECOND_CHANCES)
    /// ones active since queued. False when there is none.
    fn evict_one(&mut self) -> bool {
        let mut chances = SECOND_CHANCES;
        while let Some(q) = self.fifo.pop_front() {
            let Some(s) = self.streams.get(&q.key).filter(|s| s.serial == q.serial) else { continue };
            let deadline = s.last_seen.saturating_add(self.limits.idle_timeout_ns);
            if chances > 0 && deadline > q.deadline {
                chances -= 1;
                self.fifo.push_back(Queued { deadline, ..q });
                continue;
            }
            self.remove(&q.key, End::Evicted);
            return true;
        }
        false
    }

    fn enforce_memory(&mut self) {
        while self.mem > self.limits.max_total_bytes && self.evict_one() {}
    }

    /// Ends a direction, counting why and what was lost with it.
    fn remove(&mut self, key: &StreamKey, why: End) {
        let Some(s) = self.streams.remove(key) else { return };
        self.mem = self.mem.saturating_sub(s.mem());
        let c = &mut self.counters;
        c.gaps += u64::from(!s.held.is_empty());
        c.incomplete += u64::from(!s.buf.is_empty());
        match why {
            End::Closed => c.closed += 1,
            End::Evicted => c.evicted += 1,
            End::TimedOut => c.timed_out += 1,
        }
    }
}

#[cfg(test)]
mod tests;
