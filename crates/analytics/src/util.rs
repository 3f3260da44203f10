//! Small helpers: inline strings (no allocation for typical event ids and
//! values), RFC 3339 parse/format on nanoseconds, deterministic hashing.

use civil::{civil_from_days, days_from_civil};
use core::hash::{BuildHasher, Hash};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// An address as one `u128` (IPv4 as IPv4-mapped IPv6, as the matcher
/// treats them): hashed in one step instead of an enum and a byte slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct IpKey(pub u128);

impl From<IpAddr> for IpKey {
    #[inline]
    fn from(ip: IpAddr) -> Self {
        match ip {
            // `u128::from(a.to_ipv6_mapped())` (`::ffff:a.b.c.d`), without
            // the round trip through bytes.
            IpAddr::V4(a) => IpKey((0xffff << 32) | u128::from(u32::from(a))),
            IpAddr::V6(a) => IpKey(u128::from(a)),
        }
    }
}

impl IpKey {
    pub fn ip(self) -> IpAddr {
        let v6 = Ipv6Addr::from(self.0);
        v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
    }
}

/// `s.parse::<IpAddr>().ok()`, with a quick path for dotted-quad IPv4 (the
/// std parser handles everything else, and anything the quick path turns
/// down, so the result is the same).
#[inline]
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    match parse_v4(s.as_bytes()) {
        Some(a) => Some(IpAddr::V4(a)),
        None => s.parse().ok(),
    }
}

/// Four decimal octets 0..=255 without leading zeros, nothing else.
#[inline]
fn parse_v4(b: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut o = [0u8; 4];
    let mut i = 0;
    for (k, octet) in o.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v = 0u32;
        while i < b.len() && i - start < 3 && b[i].is_ascii_digit() {
            v = v * 10 + (b[i] - b'0') as u32;
            i += 1;
        }
        let n = i - start;
        if n == 0 || v > 255 || (n > 1 && b[start] == b'0') {
            return None;
        }
        *octet = v as u8;
    }
    (i == b.len()).then(|| std::net::Ipv4Addr::from(o))
}

/// A xorshift generator from `seed` (not 0): deterministic and cheap, for
/// synthetic streams and randomized tests.
pub(crate) fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Appends `v` in decimal (two digits per step: a nanosecond time has 19,
/// and a digit at a time with a push each cost ~750 instructions).
pub(crate) fn push_int(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends `v` as 16 lower-case hex digits.
pub(crate) fn push_hex16(out: &mut String, v: u64) {
    for shift in (0..16).rev() {
        out.push(char::from_digit(((v >> (shift * 4)) & 15) as u32, 16).unwrap_or('0'));
    }
}

/// Appends an address as `Display` writes it; IPv4 without the format
/// machinery.
pub(crate) fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_int(out, i64::from(o));
            }
        }
        IpAddr::V6(_) => {
            use std::fmt::Write;
            let _ = write!(out, "{ip}");
        }
    }
}

/// Fixed seed: hashes (and so iteration-free outputs) are the same in every
/// run, which keeps replays reproducible.
pub(crate) const HASH: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x5d1_a7a1_71c5);

pub(crate) fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    HASH.hash_one(v)
}

/// The folded multiply of foldhash: the high and low halves of the full
/// product, xored.
#[inline]
fn fold(x: u64, y: u64) -> u64 {
    let f = u128::from(x).wrapping_mul(u128::from(y));
    (f as u64) ^ (f >> 64) as u64
}

/// A hash of a key made of a few short strings (an indicator's five
/// parts), in one pass: each part is read as overlapping words (its first
/// and last 4, 8 bytes: all its bytes up to 16) and folded in with its
/// length; longer parts through the general hasher. ~3x cheaper than
/// feeding the parts to the general hasher one by one, which buffers each
/// part's length byte separately. Fixed constants, like [`HASH`].
#[inline]
pub(crate) fn hash_strs(parts: &[&str]) -> u64 {
    const K: [u64; 3] = [0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0];
    let mut h = 0x5d1_a7a1_71c5_u64;
    for p in parts {
        let b = p.as_bytes();
        let n = b.len();
        let w8 = |i: usize| b[i..i + 8].try_into().map(u64::from_le_bytes).unwrap_or(0);
        let w4 = |i: usize| b[i..i + 4].try_into().map(u32::from_le_bytes).unwrap_or(0);
        let (x, y) = match n {
            0 => (0, 0),
            1..=3 => (u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16, 0),
            4..=7 => (u64::from(w4(0)), u64::from(w4(n - 4))),
            8..=16 => (w8(0), w8(n - 8)),
            _ => (hash_of(b), 0),
        };
        h = fold(x ^ h ^ K[0], y ^ K[1] ^ (n as u64) << 40);
    }
    fold(h, K[2])
}

/// Byte equality for the short strings the engine compares per event
/// (symbols, indicator parts: mostly under 32 bytes): overlapping loads of
/// the first and last 4, 8 or 16 bytes, in line. `==` on slices calls
/// `memcmp`, ~30 instructions a call before it reads a byte.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w8 = |s: &[u8], i: usize| s[i..i + 8].try_into().map(u64::from_ne_bytes).unwrap_or(0);
    let w4 = |s: &[u8], i: usize| s[i..i + 4].try_into().map(u32::from_ne_bytes).unwrap_or(0);
    let w16 = |s: &[u8], i: usize| s[i..i + 16].try_into().map(u128::from_ne_bytes).unwrap_or(0);
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        17..=32 => w16(a, 0) == w16(b, 0) && w16(a, n - 16) == w16(b, n - 16),
        _ => a == b,
    }
}

/// `dst = src` for two slices of the same length: up to 32 bytes as two
/// overlapping fixed-size moves in line (`copy_from_slice` of a length
/// unknown at compile time calls `memcpy`, ~30 instructions before a byte
/// moves; the engine copies an event id or two per event).
#[inline]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if dst.len() != n {
        return dst.copy_from_slice(src);
    }
    match n {
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        17..=32 => {
            dst[..16].copy_from_slice(&src[..16]);
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

const INLINE: usize = 62;

/// A string stored inline up to 62 bytes (sensor event ids are
/// `SENSOR:` + 16 hex digits), on the heap beyond that (rare).
#[derive(Clone)]
pub enum InlineStr {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<str>),
}

impl Default for InlineStr {
    fn default() -> Self {
        InlineStr::Inline { len: 0, buf: [0; INLINE] }
    }
}

impl InlineStr {
    #[cfg(test)]
    pub fn new(s: &str) -> Self {
        let mut v = Self::default();
        v.set(s);
        v
    }

    /// Overwrites in place; allocates only for long strings.
    pub fn set(&mut self, s: &str) {
        if s.len() <= INLINE {
            if let InlineStr::Inline { len, buf } = self {
                copy_short(&mut buf[..s.len()], s.as_bytes());
                *len = s.len() as u8;
                return;
            }
            let mut buf = [0; INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            *self = InlineStr::Inline { len: s.len() as u8, buf };
        } else {
            *self = InlineStr::Heap(s.into());
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Only ever filled from a &str, cut at its own length.
            InlineStr::Inline { len, buf } => std::str::from_utf8(&buf[..*len as usize]).unwrap_or(""),
            InlineStr::Heap(s) => s,
        }
    }
}

impl fmt::Debug for InlineStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for InlineStr {
    fn eq(&self, o: &Self) -> bool {
        self.as_str() == o.as_str()
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` into nanoseconds since the epoch.
pub fn parse_rfc3339_ns(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as i64;
        }
        Some(v)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut nanos = 0i64;
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + (b[i] - b'0') as i64;
            }
            i += 1;
        }
        let digits = (i - start).min(9);
        if digits == 0 {
            return None;
        }
        nanos *= 10i64.pow(9 - digits as u32);
    }
    if i + 1 != b.len() || b[i] != b'Z' {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    // i64 nanoseconds reach 2262: later instants do not parse.
    (days * 86_400 + h * 3600 + mi * 60 + sec).checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// RFC 3339 UTC: 6 fraction digits, 9 when the instant has sub-microsecond
/// digits (as the sensor writes nanosecond captures).
pub struct Ts(pub i64);

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000).clamp(-62_135_596_800, 253_402_300_799);
        let nanos = self.0.rem_euclid(1_000_000_000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.", sod / 3600, (sod % 3600) / 60, sod % 60)?;
        if nanos % 1000 == 0 { write!(f, "{:06}Z", nanos / 1000) } else { write!(f, "{nanos:09}Z") }
    }
}

#[cfg(test)]
mod tests {
    use super::{copy_short, hash_strs, same, xorshift};

    #[test]
    fn hash_strs_separates_parts() {
        let mut seen = std::collections::HashSet::new();
        let words = ["", "a", "ab", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghijklmnop", "abcdefghijklmnopq"];
        for a in words {
            for b in words {
                for c in ["", "x", "ip"] {
                    // Every split of the same bytes is a different key.
                    assert!(seen.insert(hash_strs(&[a, b, c])), "{a:?} {b:?} {c:?}");
                }
            }
        }
        let mut low = std::collections::HashSet::new();
        for i in 0..100_000u32 {
            let v = format!("198.51.{}.{}", i >> 8 & 255, i & 255);
            low.insert(hash_strs(&[&i.to_string(), "ip", &v, "c2", "feeds/ip.csv"]) as u32 & 0xfffff);
        }
        // The low bits (an index's buckets) spread like a random function's:
        // 100k keys over 2^20 buckets fill ~95k.
        assert!(low.len() > 93_000, "{}", low.len());
    }

    #[test]
    fn same_agrees_with_eq() {
        let mut next = xorshift(7);
        for n in 0..80usize {
            let a: Vec<u8> = (0..n).map(|_| next() as u8 & 3).collect();
            assert!(same(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 1;
                assert!(!same(&a, &b), "{n} {i}");
            }
            for _ in 0..50 {
                let b: Vec<u8> = (0..n).map(|_| next() as u8 & 3).collect();
                assert_eq!(same(&a, &b), a == b);
            }
            if n > 0 {
                assert!(!same(&a, &a[..n - 1]));
            }
            let mut c = vec![9u8; n];
            copy_short(&mut c, &a);
            assert_eq!(c, a);
        }
    }

    #[test]
    fn pushes_write_what_display_writes() {
        let mut rnd = super::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..2000 {
            let x = rnd();
            for v in [x as i64, (x >> 40) as i64, -((x >> 20) as i64), 0, i64::MIN, i64::MAX] {
                let mut s = String::new();
                push_int(&mut s, v);
                assert_eq!(s, v.to_string());
            }
            let mut s = String::new();
            push_hex16(&mut s, x);
            assert_eq!(s, format!("{x:016x}"));
            for ip in [IpAddr::from((x as u32).to_be_bytes()), IpAddr::from(u128::from(x).to_be_bytes())] {
                let mut s = String::new();
                push_ip(&mut s, ip);
                assert_eq!(s, ip.to_string());
            }
        }
    }

    use super::*;

    #[test]
    fn ipkey_of_v4_is_the_mapped_v6() {
        for a in [[0, 0, 0, 0], [10, 1, 2, 3], [255, 255, 255, 255], [198, 51, 100, 7], [1, 0, 0, 128]] {
            let a = std::net::Ipv4Addr::from(a);
            assert_eq!(IpKey::from(IpAddr::V4(a)).0, u128::from(a.to_ipv6_mapped()));
            assert_eq!(IpKey::from(IpAddr::V4(a)).ip(), IpAddr::V4(a));
        }
    }

    #[test]
    fn rfc3339_round_trip() {
        let ns = parse_rfc3339_ns("2026-11-29T05:00:00.123456Z").unwrap();
        assert_eq!(ns, 1_795_928_400_123_456_000);
        assert_eq!(Ts(ns).to_string(), "2026-11-29T05:00:00.123456Z");
        let ns = parse_rfc3339_ns("2000-02-29T00:00:00.000000001Z").unwrap();
        assert_eq!(Ts(ns).to_string(), "2000-02-29T00:00:00.000000001Z");
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ns("1969-12-31T23:59:59.5Z"), Some(-500_000_000));
        assert_eq!(parse_rfc3339_ns("2026-11-29T05:00:00.Z"), None);
        assert_eq!(parse_rfc3339_ns("2026-11-29 05:00:00Z"), None);
        assert_eq!(parse_rfc3339_ns("2026-11-29T05:00:00+01:00"), None);
        assert_eq!(parse_rfc3339_ns("9999-12-31T23:59:59Z"), None);
        assert!(parse_rfc3339_ns("0001-01-01T00:00:00Z").is_none());
        assert!(parse_rfc3339_ns("2262-01-01T00:00:00Z").is_some());
        // A non-digit at any digit position, the neighbours of '0' and '9' too.
        let good = "2026-11-29T05:00:00.123Z";
        for i in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22] {
            for c in ['/', ':', 'a', ' ', 'Z'] {
                let mut bad = good.to_string();
                bad.replace_range(i..i + 1, &c.to_string());
                assert_eq!(parse_rfc3339_ns(&bad), None, "{bad}");
            }
        }
    }

    #[test]
    fn parse_ip_as_std() {
        for s in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4 ",
            "1..2.3",
            "1.2.3.04",
            "10.0.0.1",
            "1234.1.1.1",
            "1.2.3.4a",
            "::1",
            "2001:db8::7",
            "::ffff:1.2.3.4",
            "",
            "a.b.c.d",
            "1.2.3.255",
            "1.2.3.256",
            "1.2.3.0",
        ] {
            assert_eq!(parse_ip(s), s.parse::<IpAddr>().ok(), "{s:?}");
        }
    }

    #[test]
    fn inline_str() {
        let s = InlineStr::new("edge-1:6889a384ad400002");
        assert_eq!(s.as_str(), "edge-1:6889a384ad400002");
        let long = "x".repeat(100);
        assert_eq!(InlineStr::new(&long).as_str(), long);
    }
}
