//! RFC 6587 framing of one TCP connection, as rsyslog's imtcp reads it:
//! the framing is chosen per message by its first byte. A digit starts an
//! octet-counted frame (`MSG-LEN SP MSG`); anything else a non-transparent
//! frame ended by LF (a CR before it is dropped) or NUL.
//!
//! The framer never buffers: the caller keeps the bytes not yet used and
//! offers them again with more appended. Work per call is proportional to
//! the new bytes (an unfinished non-transparent frame is not rescanned),
//! and a declared length over [`FramerLimits::max_message`] is skipped as
//! it arrives instead of being waited for.

use core::fmt;

/// Default longest message: 64 KiB.
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;
/// Digits of an octet count beyond which it cannot be valid (rsyslog caps
/// the count at 200 000 000; anything over `max_message` is skipped).
const MAX_COUNT_DIGITS: usize = 10;
/// Longest octet-counting header (`MSG-LEN SP`).
pub const MAX_HEADER_LEN: usize = MAX_COUNT_DIGITS + 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerLimits {
    /// Longest message delivered. An octet-counted frame declaring more is
    /// skipped; a non-transparent frame running longer is cut to this
    /// length and the rest of it, up to its delimiter, dropped.
    pub max_message: usize,
}

impl FramerLimits {
    /// The most bytes a caller ever has to keep for the framer: a whole
    /// octet-counted frame (`max_message` plus its header), or a
    /// non-transparent one until it is known to be too long (one byte over
    /// `max_message`). A stream reassembly buffer of this size never
    /// overflows because of the framer.
    pub const fn buffer_needed(&self) -> usize {
        self.max_message.saturating_add(MAX_HEADER_LEN)
    }
}

impl Default for FramerLimits {
    fn default() -> Self {
        FramerLimits { max_message: DEFAULT_MAX_MESSAGE }
    }
}

/// Why (part of) a stream was not delivered as a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameError {
    /// A declared octet count over `max_message`: its bytes are skipped.
    Oversized,
    /// A non-transparent frame longer than `max_message`: cut.
    Truncated,
    /// Digits at a frame start not followed by SP, or a count of 0: the
    /// frame is read as non-transparent instead.
    BadCount,
}

impl FrameError {
    /// The counter key, e.g. `syslog.bad_count`.
    pub const fn reason(self) -> &'static str {
        match self {
            FrameError::Oversized => "syslog.oversized",
            FrameError::Truncated => "syslog.truncated",
            FrameError::BadCount => "syslog.bad_count",
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for FrameError {}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FrameCounters {
    /// Messages delivered (either framing, including by `finish`).
    pub messages: u64,
    /// Of them, octet-counted.
    pub octet_counted: u64,
    /// Of them, non-transparent (LF, CRLF or NUL delimited, or the
    /// unterminated tail given to `finish`).
    pub non_transparent: u64,
    /// Octet-counted frames declaring more than `max_message` (skipped).
    pub oversized: u64,
    /// Non-transparent frames longer than `max_message` (cut, delivered).
    pub truncated: u64,
    /// Bad octet counts (read as non-transparent instead).
    pub bad_count: u64,
    /// Bytes skipped: oversized frames and the cut-off part of long ones.
    pub skipped_bytes: u64,
    /// Empty frames (a lone delimiter), not delivered, as rsyslog does.
    pub empty: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At a frame start (or inside an unfinished frame whose bytes the
    /// caller keeps; `scanned` says how far a non-transparent one was
    /// searched already).
    Frame,
    /// Dropping this many more bytes of an oversized octet-counted frame.
    Skip(u64),
    /// Reading the digits of an octet count already known to be oversized.
    OversizedCount(u64),
    /// Dropping the rest of a cut non-transparent frame up to its delimiter.
    SkipToDelimiter,
}

/// The framing state of one TCP connection (one direction).
#[derive(Debug, Clone)]
pub struct Framer {
    limits: FramerLimits,
    state: State,
    /// Bytes of the unfinished non-transparent frame at the start of the
    /// caller's buffer already searched for a delimiter.
    scanned: usize,
    counters: FrameCounters,
}

/// What the start of a frame says about its framing.
enum Header {
    /// Octet counting: the count and the header length (digits + SP).
    Counted(u64, usize),
    /// Digits so far, no SP yet: more bytes are needed.
    Incomplete,
    /// Digits so far (this many, all of `buf`'s or up to a byte ending
    /// the count) making a count over `max_message` already.
    Oversized(u64, usize),
    /// Non-transparent (no digit first, or a bad count).
    Plain { bad_count: bool },
}

fn header(buf: &[u8], max_message: usize) -> Header {
    if !buf.first().is_some_and(u8::is_ascii_digit) {
        return Header::Plain { bad_count: false };
    }
    let mut n: u64 = 0;
    for (i, &c) in buf.iter().enumerate().take(MAX_COUNT_DIGITS + 1) {
        match c {
            // Decided on the digits alone, so that how the bytes arrive in
            // chunks never changes the outcome.
            b'0'..=b'9' if i >= MAX_COUNT_DIGITS => return Header::Oversized(n.max(max_message as u64 + 1), i),
            b'0'..=b'9' => {
                n = n * 10 + u64::from(c - b'0');
                if n > max_message as u64 {
                    return Header::Oversized(n, i + 1);
                }
            }
            b' ' if n > 0 => return Header::Counted(n, i + 1),
            _ => return Header::Plain { bad_count: true },
        }
    }
    Header::Incomplete
}

/// `msg` without its trailing delimiter bytes.
fn strip_end(mut msg: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r' | 0] = msg {
        msg = rest;
    }
    msg
}

impl Framer {
    pub fn new(limits: FramerLimits) -> Self {
        Framer { limits, state: State::Frame, scanned: 0, counters: FrameCounters::default() }
    }

    pub fn counters(&self) -> &FrameCounters {
        &self.counters
    }

    /// Forgets any unfinished frame (the caller dropped its bytes, e.g.
    /// after a gap in the stream); the next byte starts a frame.
    pub fn reset(&mut self) {
        self.state = State::Frame;
        self.scanned = 0;
    }

    /// Consumes as many complete messages from `buf` as possible, calling
    /// `on_message` for each (without its framing), and returns how many
    /// bytes were used. The caller keeps `buf[used..]` and calls again with
    /// more bytes appended. Bytes of an oversized frame are reported used
    /// as they arrive, so the caller's buffer never holds one.
    pub fn push(&mut self, buf: &[u8], on_message: &mut dyn FnMut(&[u8])) -> usize {
        let max = self.limits.max_message;
        let mut pos = 0;
        // Each iteration consumes at least one byte or returns.
        while pos < buf.len() {
            let rest = &buf[pos..];
            match self.state {
                State::Skip(n) => {
                    let k = rest.len().min(usize::try_from(n).unwrap_or(usize::MAX));
                    self.counters.skipped_bytes += k as u64;
                    pos += k;
                    let left = n - k as u64;
                    self.state = if left == 0 { State::Frame } else { State::Skip(left) };
                }
                State::OversizedCount(n) => {
                    let c = rest[0];
                    pos += 1;
                    self.counters.skipped_bytes += 1;
                    self.state = if c.is_ascii_digit() {
                        State::OversizedCount(n.saturating_mul(10).saturating_add(u64::from(c - b'0')))
                    } else {
                        // rsyslog takes any byte ending the count as its SP.
                        State::Skip(n)
                    };
                }
                State::SkipToDelimiter => match rest.iter().position(|&c| c == b'\n' || c == 0) {
                    Some(i) => {
                        self.counters.skipped_bytes += i as u64 + 1;
                        pos += i + 1;
                        self.state = State::Frame;
                    }
                    None => {
                        self.counters.skipped_bytes += rest.len() as u64;
                        return buf.len();
                    }
                },
                State::Frame => match header(rest, max) {
                    Header::Incomplete => return pos,
                    Header::Oversized(n, digits) => {
                        self.counters.oversized += 1;
                        self.counters.skipped_bytes += digits as u64;
                        pos += digits;
                        self.state = State::OversizedCount(n);
                    }
                    Header::Counted(n, h) if n > max as u64 => {
                        self.counters.oversized += 1;
                        self.state = State::Skip(n + h as u64);
                    }
                    Header::Counted(n, h) => {
                        let end = h + n as usize;
                        if rest.len() < end {
                            return pos;
                        }
                        self.deliver(&rest[h..end], true, on_message);
                        pos += end;
                    }
                    Header::Plain { bad_count } => {
                        let from = self.scanned.min(rest.len());
                        match rest[from..].iter().position(|&c| c == b'\n' || c == 0) {
                            Some(i) => {
                                let end = from + i;
                                if bad_count {
                                    self.counters.bad_count += 1;
                                }
                                self.scanned = 0;
                                if end > max {
                                    self.cut(&rest[..max], on_message);
                                    self.counters.skipped_bytes += (end + 1 - max) as u64;
                                } else {
                                    self.deliver(&rest[..end], false, on_message);
                                }
                                pos += end + 1;
                            }
                            None if rest.len() > max => {
                                if bad_count {
                                    self.counters.bad_count += 1;
                                }
                                self.scanned = 0;
                                self.cut(&rest[..max], on_message);
                                self.counters.skipped_bytes += (rest.len() - max) as u64;
                                self.state = State::SkipToDelimiter;
                                return buf.len();
                            }
                            None => {
                                self.scanned = rest.len();
                                return pos;
                            }
                        }
                    }
                },
            }
        }
        pos
    }

    /// End of the stream: `rest` (what the caller kept) is delivered as a
    /// last message, as rsyslog does with an unterminated tail; an
    /// unfinished octet-counted frame gives its bytes after the header.
    pub fn finish(&mut self, rest: &[u8], on_message: &mut dyn FnMut(&[u8])) {
        let max = self.limits.max_message;
        if self.state == State::Frame && !rest.is_empty() {
            match header(rest, max) {
                Header::Counted(n, h) if n <= max as u64 && h > 0 => {
                    let end = rest.len().min(h + n as usize);
                    self.deliver(&rest[h..end], true, on_message);
                }
                Header::Counted(..) | Header::Oversized(..) => self.counters.oversized += 1,
                Header::Incomplete | Header::Plain { .. } => {
                    let m = &rest[..rest.len().min(max)];
                    if m.len() < rest.len() {
                        self.counters.truncated += 1;
                    }
                    self.deliver(m, false, on_message);
                }
            }
        }
        self.reset();
    }

    fn cut(&mut self, msg: &[u8], on_message: &mut dyn FnMut(&[u8])) {
        self.counters.truncated += 1;
        self.deliver(msg, false, on_message);
    }

    fn deliver(&mut self, msg: &[u8], counted: bool, on_message: &mut dyn FnMut(&[u8])) {
        let msg = strip_end(msg);
        if msg.is_empty() {
            self.counters.empty += 1;
            return;
        }
        self.counters.messages += 1;
        if counted {
            self.counters.octet_counted += 1;
        } else {
            self.counters.non_transparent += 1;
        }
        on_message(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` as a caller would (keeping the unused rest), then
    /// finishes; returns the messages.
    fn run(f: &mut Framer, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            let used = f.push(&buf, &mut |m| out.push(m.to_vec()));
            assert!(used <= buf.len());
            buf.drain(..used);
        }
        f.finish(&buf, &mut |m| out.push(m.to_vec()));
        out
    }

    fn msgs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn octet_counting_split_across_pushes() {
        let mut f = Framer::new(FramerLimits::default());
        let out = run(&mut f, &[b"1", b"1 <13>hel", b"lo w", b"orld5 <1>ab"]);
        // "orld5 <1>ab" follows the first frame: not a digit first, so
        // non-transparent, ended by finish.
        assert_eq!(out, msgs(&["<13>hello w", "orld5 <1>ab"]));
        assert_eq!(f.counters().octet_counted, 1);
        let mut f = Framer::new(FramerLimits::default());
        let out = run(&mut f, &[b"1", b"3 <13>hel", b"lo w", b"or", b"5 <1>ab"]);
        assert_eq!(out, msgs(&["<13>hello wor", "<1>ab"]));
        assert_eq!(f.counters().octet_counted, 2);
        assert_eq!(f.counters().messages, 2);
    }

    #[test]
    fn several_messages_in_one_push() {
        let mut f = Framer::new(FramerLimits::default());
        let mut out = Vec::new();
        let buf = b"3 abc4 defg<1>x\n<2>y\r\n<3>z\0<4>tail";
        let used = f.push(buf, &mut |m| out.push(m.to_vec()));
        assert_eq!(out, msgs(&["abc", "defg", "<1>x", "<2>y", "<3>z"]));
        assert_eq!(&buf[used..], b"<4>tail");
        assert_eq!(f.counters().octet_counted, 2);
        assert_eq!(f.counters().non_transparent, 3);
    }

    #[test]
    fn mixed_framings_and_nul() {
        let mut f = Framer::new(FramerLimits::default());
        let out = run(&mut f, &[b"<1>a\n4 <2>b<3>c\0\0", b"6 <4>d\n\n<5>e"]);
        assert_eq!(out, msgs(&["<1>a", "<2>b", "<3>c", "<4>d", "<5>e"]));
        assert_eq!(f.counters().empty, 1);
        assert_eq!(f.counters().octet_counted, 2);
        assert_eq!(f.counters().non_transparent, 3);
    }

    #[test]
    fn huge_count_is_skipped_not_buffered() {
        let mut f = Framer::new(FramerLimits::default());
        let mut out = Vec::new();
        let used = f.push(b"2000000000 ", &mut |m| out.push(m.to_vec()));
        assert_eq!(used, 11);
        assert_eq!(f.counters().oversized, 1);
        let chunk = vec![b'x'; 1 << 20];
        let mut left: u64 = 2_000_000_000;
        while left > 0 {
            let n = chunk.len().min(left as usize);
            assert_eq!(f.push(&chunk[..n], &mut |m| out.push(m.to_vec())), n);
            left -= n as u64;
        }
        assert!(out.is_empty());
        let used = f.push(b"3 abc", &mut |m| out.push(m.to_vec()));
        assert_eq!(used, 5);
        assert_eq!(out, msgs(&["abc"]));
        assert_eq!(f.counters().skipped_bytes, 2_000_000_011);
        // An endless digit string is oversized as soon as it cannot fit.
        let mut f = Framer::new(FramerLimits::default());
        let used = f.push(b"99999999999999", &mut |_| panic!());
        assert_eq!(used, 14);
        assert_eq!(f.counters().oversized, 1);
        // Digits arriving one by one.
        let mut f = Framer::new(FramerLimits { max_message: 10 });
        let out = run(&mut f, &[b"1", b"2", b" 0123456789", b"ab<1>x\n"]);
        assert_eq!(out, msgs(&["<1>x"]));
        assert_eq!(f.counters().oversized, 1);
    }

    #[test]
    fn endless_frame_is_scanned_once_and_cut() {
        let mut f = Framer::new(FramerLimits { max_message: 100 });
        let mut out = Vec::new();
        let mut buf = b"<1>".to_vec();
        for _ in 0..30 {
            buf.extend_from_slice(b"abc");
            let used = f.push(&buf, &mut |m| out.push(m.len()));
            assert_eq!(used, 0);
            assert_eq!(f.scanned, buf.len());
        }
        buf.extend_from_slice(&[b'y'; 50]);
        let used = f.push(&buf, &mut |m| out.push(m.len()));
        assert_eq!(used, buf.len());
        assert_eq!(out, [100]);
        assert_eq!(f.counters().truncated, 1);
        // The rest of the frame up to its LF is dropped.
        let used = f.push(b"zzz\n<2>ok\n", &mut |m| out.push(m.len()));
        assert_eq!(used, 10);
        assert_eq!(out, [100, 5]);
    }

    #[test]
    fn bad_counts() {
        let mut f = Framer::new(FramerLimits::default());
        let out = run(&mut f, &[b"12abc\n0 x\n"]);
        assert_eq!(out, msgs(&["12abc", "0 x"]));
        assert_eq!(f.counters().bad_count, 2);
    }

    #[test]
    fn finish_delivers_partial_counted_frame() {
        let mut f = Framer::new(FramerLimits::default());
        let out = run(&mut f, &[b"10 <1>abc"]);
        assert_eq!(out, msgs(&["<1>abc"]));
        assert_eq!(f.counters().octet_counted, 1);
    }
}
