//! What a segment holds: addresses, hashes, domains and e-mails.

use super::*;
use core::net::Ipv6Addr;

/// `path`: the segment follows a path slash; `call`: it is followed by `(`,
/// as a method in a stack trace (`com.example.Main.run(Main.java:42)`), so
/// its last piece is no domain (addresses and e-mails still count).
pub(super) fn classify_segment(seg: &[u8], path: bool, call: bool, sink: &mut Sink<'_, '_, '_>) {
    let n = seg.len();
    let mut ps = 0;
    let mut try6 = true;
    let mut first = true;
    loop {
        if try6 && let Some(end) = ipv6_at(seg, ps) {
            if !(first && path) {
                sink.emit(TokenKind::Ipv6, ps, end);
            }
            return;
        }
        let pe = seg[ps..].iter().position(|&b| b == b':').map_or(n, |x| ps + x);
        piece(seg, ps, pe, first && path, call && pe == n, sink);
        try6 = seg[ps..pe].iter().any(|&b| !is(b, HEX) && b != b'.');
        first = false;
        if pe >= n {
            return;
        }
        ps = pe + 1;
    }
}

/// An IPv6 address from `p` running to the end of the segment (a zone id
/// and trailing dots allowed): the end of the address.
fn ipv6_at(seg: &[u8], p: usize) -> Option<usize> {
    let n = seg.len();
    let mut r = p;
    while r < n && (is(seg[r], HEX) || seg[r] == b':' || seg[r] == b'.') {
        r += 1;
        if r - p > 46 {
            return None;
        }
    }
    let mut end = r;
    while end > p && seg[end - 1] == b'.' {
        end -= 1;
    }
    if end - p >= 2 && seg[end - 1] == b':' && seg[end - 2] != b':' {
        end -= 1;
    }
    if r < n {
        if seg[r] != b'%' || end != r {
            return None;
        }
        let zone = &seg[r + 1..];
        if zone.is_empty() || !zone.iter().all(|&b| is(b, LABEL) || b == b'.') {
            return None;
        }
    }
    ipv6(&seg[p..end]).then_some(end)
}

/// Whether `s` is an IPv6 address worth reporting.
pub(super) fn ipv6(s: &[u8]) -> bool {
    if s.len() < 3 || !s.contains(&b':') {
        return false;
    }
    // Cheap shape test first (times such as 10:11:12 are common): eight
    // groups, seven with an embedded IPv4 address, or a `::`.
    let colons = s.iter().filter(|&&b| b == b':').count();
    let compressed = s.windows(2).any(|w| w == b"::");
    if !compressed && colons != 7 && !(colons == 6 && s.contains(&b'.')) {
        return false;
    }
    let Ok(text) = core::str::from_utf8(s) else { return false };
    if text.parse::<Ipv6Addr>().is_err() {
        return false;
    }
    // Eight groups of two hex digits: an EUI-64 or a hex dump.
    compressed || s.len() != 23 || !s.split(|&b| b == b':').all(|g| g.len() == 2)
}

pub(super) fn trim(seg: &[u8], mut a: usize, mut b: usize) -> (usize, usize) {
    while a < b && matches!(seg[a], b'.' | b'-' | b'+' | b'%') {
        a += 1;
    }
    while b > a && matches!(seg[b - 1], b'.' | b'-' | b'_' | b'+' | b'%') {
        b -= 1;
    }
    (a, b)
}

fn piece(seg: &[u8], a: usize, b: usize, path: bool, call: bool, sink: &mut Sink<'_, '_, '_>) {
    let (a, b) = trim(seg, a, b);
    if a >= b {
        return;
    }
    let p = &seg[a..b];
    let (mut at, mut last_at) = (None, 0);
    let (mut dots, mut digits, mut hex_letters, mut other) = (0usize, 0usize, 0usize, false);
    for (k, &c) in p.iter().enumerate() {
        if is(c, DIGIT) {
            digits += 1;
        } else if is(c, HEX) {
            hex_letters += 1;
        } else if c == b'.' {
            dots += 1;
        } else {
            if c == b'@' {
                at.get_or_insert(k);
                last_at = k;
            }
            other = true;
        }
    }
    if let Some(at) = at {
        let (local, dom) = (&p[..at], &p[at + 1..]);
        if at == last_at && local_part(local) && domain(dom) {
            if !path {
                sink.emit(TokenKind::Email, a, b);
                sink.emit(TokenKind::Domain, a + at + 1, b);
            }
            return;
        }
        let (ha, hb) = trim(seg, a + last_at + 1, b);
        host(seg, ha, hb, path, call, sink);
        return;
    }
    if other || dots > 0 {
        host(seg, a, b, path, call, sink);
    } else if digits > 0 && hex_letters > 0 {
        let kind = match p.len() {
            32 => TokenKind::Md5,
            40 => TokenKind::Sha1,
            64 => TokenKind::Sha256,
            _ => return,
        };
        sink.emit(kind, a, b);
    }
}

/// An address or a domain name.
pub(super) fn host(seg: &[u8], a: usize, b: usize, path: bool, call: bool, sink: &mut Sink<'_, '_, '_>) {
    if path || a >= b {
        return;
    }
    let p = &seg[a..b];
    if ipv4(p) {
        sink.emit(TokenKind::Ipv4, a, b);
    } else if !call && domain(p) {
        sink.emit(TokenKind::Domain, a, b);
    }
}

/// Four decimal octets 0–255 without leading zeros.
pub(super) fn ipv4(s: &[u8]) -> bool {
    if s.len() < 7 || s.len() > 15 {
        return false;
    }
    let mut parts = 0;
    for part in s.split(|&b| b == b'.') {
        parts += 1;
        if parts > 4 || part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return false;
        }
        let mut v = 0u32;
        for &c in part {
            if !c.is_ascii_digit() {
                return false;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        if v > 255 {
            return false;
        }
    }
    parts == 4
}

fn local_part(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s[0] != b'.'
        && s[s.len() - 1] != b'.'
        && !s.windows(2).any(|w| w == b"..")
        && s.iter().all(|&c| is(c, LABEL) || matches!(c, b'.' | b'+' | b'%'))
}

/// Dot-separated labels whose last label is a public suffix.
fn domain(s: &[u8]) -> bool {
    if s.len() > 253 {
        return false;
    }
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in s.split(|&b| b == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
            || !label.iter().all(|&c| is(c, LABEL))
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && public_suffix(last)
}

/// A label of at most 8 bytes as a big-endian number, zero-padded: the
/// numbers sort as the labels do.
const fn pack(label: &[u8]) -> u64 {
    let mut v = 0u64;
    let mut k = 0;
    while k < 8 {
        v = (v << 8) | if k < label.len() { label[k] as u64 } else { 0 };
        k += 1;
    }
    v
}

const N_SHORT_TLDS: usize = {
    let mut n = 0;
    let mut k = 0;
    while k < tlds::TLDS.len() {
        if tlds::TLDS[k].len() <= 8 {
            n += 1;
        }
        k += 1;
    }
    n
};

/// The labels of [`tlds::TLDS`] of at most 8 bytes, packed, in order.
pub(super) static SHORT_TLDS: [u64; N_SHORT_TLDS] = {
    let mut out = [0u64; N_SHORT_TLDS];
    let (mut n, mut k) = (0, 0);
    while k < tlds::TLDS.len() {
        if tlds::TLDS[k].len() <= 8 {
            out[n] = pack(tlds::TLDS[k]);
            n += 1;
        }
        k += 1;
    }
    out
};

/// Whether `label` (any case) is the last label of a Public Suffix List rule.
pub fn public_suffix(label: &[u8]) -> bool {
    if label.len() < 2 || label.len() > 63 {
        return false;
    }
    let idn = label.len() > 4 && label[..4].eq_ignore_ascii_case(b"xn--");
    if !idn && !label.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let mut buf = [0u8; 63];
    let lower = &mut buf[..label.len()];
    lower.copy_from_slice(label);
    lower.make_ascii_lowercase();
    // Oracle's unused brand TLD, and the extension of every Java stack frame.
    if lower == b"java" {
        return false;
    }
    if lower.len() <= 8 {
        SHORT_TLDS.binary_search(&pack(lower)).is_ok()
    } else {
        tlds::TLDS.binary_search(&&*lower).is_ok()
    }
}
