//! Byte scans for the JSON fast path ([`crate::fastparse`]): the next
//! quote or backslash of a string, the next bracket or quote inside a
//! skipped container, and 64-byte bit masks of them. Sixteen bytes per step
//! with SSE2 where there is x86_64, then eight (SWAR), then one.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bytes of `v` equal to zero have their high bit set in the result; the
/// lowest set bit is exact (higher ones may be false positives).
#[inline]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// Index of the first `"` or `\\` (or, with `ctrl`, byte below 0x20) in
/// `b`: sixteen bytes at a time, then eight, then one.
#[inline]
pub(crate) fn scan(b: &[u8], ctrl: bool) -> Option<usize> {
    let i = simd::scan(b, ctrl);
    if let Some(n) = i.found {
        return Some(n);
    }
    let at = match words(b, i.at, |v| {
        let m = zero_bytes(v ^ (LO * b'"' as u64)) | zero_bytes(v ^ (LO * b'\\' as u64));
        if ctrl { m | (v.wrapping_sub(LO * 0x20) & !v & HI) } else { m }
    }) {
        Ok(n) => return Some(n),
        Err(at) => at,
    };
    b[at..].iter().position(|&c| c == b'"' || c == b'\\' || (ctrl && c < 0x20)).map(|n| at + n)
}

/// The eight-byte steps after the block ones: the index of the first byte
/// that `mask` marks (its high bit set in the word's result), or `Err` with
/// where fewer than eight bytes remain.
#[inline]
fn words(b: &[u8], mut at: usize, mask: impl Fn(u64) -> u64) -> Result<usize, usize> {
    while let Some(w) = b.get(at..at + 8) {
        let m = mask(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        if m != 0 {
            return Ok(at + (m.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    Err(at)
}

/// Index of the first `"`, `{`, `}`, `[` or `]` in `b` (sixteen, eight,
/// then one at a time): inside a skipped container nothing else matters.
#[inline]
pub(crate) fn scan_structure(b: &[u8]) -> Option<usize> {
    let i = simd::scan_structure(b);
    if let Some(n) = i.found {
        return Some(n);
    }
    let at = match words(b, i.at, |v| {
        // `[` and `]` are `{` and `}` without bit 5.
        let folded = v | (LO * 0x20);
        zero_bytes(v ^ (LO * b'"' as u64))
            | zero_bytes(folded ^ (LO * b'{' as u64))
            | zero_bytes(folded ^ (LO * b'}' as u64))
    }) {
        Ok(n) => return Some(n),
        Err(at) => at,
    };
    b[at..].iter().position(|&c| matches!(c, b'"' | b'{' | b'}' | b'[' | b']')).map(|n| at + n)
}

/// Bit `i` set for each byte `i` of a 64-byte block that is a `"`, a `\\`,
/// an opening (`{`, `[`) or a closing (`}`, `]`) bracket.
pub(crate) struct Masks {
    pub quote: u64,
    pub backslash: u64,
    pub open: u64,
    pub close: u64,
}

/// Bit `i` is the XOR of bits `0..=i`: set from a quote up to the next.
#[inline]
pub(crate) fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Where a block scan stopped: the index found, or where the bytes left
/// became too few for a block.
struct Scanned {
    found: Option<usize>,
    at: usize,
}

pub(crate) use simd::masks64;

/// Sixteen bytes per step with SSE2 (part of x86_64; `safe_arch` wraps the
/// intrinsics, whose `unsafe` stays out of this crate).
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::{Masks, Scanned};
    use safe_arch::*;

    #[inline]
    pub(crate) fn masks64(b: &[u8; 64]) -> Masks {
        let (quote, backslash, open, close, bit5) = (splat(b'"'), splat(b'\\'), splat(b'{'), splat(b'}'), splat(0x20));
        let mut m = Masks { quote: 0, backslash: 0, open: 0, close: 0 };
        for k in 0..4 {
            let v = block(b, 16 * k);
            // `[` and `]` are `{` and `}` without bit 5.
            let folded = v | bit5;
            let bits = |x: m128i| (move_mask_i8_m128i(x) as u16 as u64) << (16 * k);
            m.quote |= bits(cmp_eq_mask_i8_m128i(v, quote));
            m.backslash |= bits(cmp_eq_mask_i8_m128i(v, backslash));
            m.open |= bits(cmp_eq_mask_i8_m128i(folded, open));
            m.close |= bits(cmp_eq_mask_i8_m128i(folded, close));
        }
        m
    }

    #[inline]
    fn block(b: &[u8], i: usize) -> m128i {
        let a: &[u8; 16] = b[i..i + 16].try_into().expect("16 bytes");
        load_unaligned_m128i(a)
    }

    #[inline]
    fn splat(c: u8) -> m128i {
        set_splat_i8_m128i(c as i8)
    }

    #[inline]
    pub(super) fn scan(b: &[u8], ctrl: bool) -> Scanned {
        let (quote, backslash, below) = (splat(b'"'), splat(b'\\'), splat(0x1f));
        let mut i = 0;
        while i + 16 <= b.len() {
            let v = block(b, i);
            let mut m = cmp_eq_mask_i8_m128i(v, quote) | cmp_eq_mask_i8_m128i(v, backslash);
            if ctrl {
                // Unsigned v <= 0x1f.
                m |= cmp_eq_mask_i8_m128i(min_u8_m128i(v, below), v);
            }
            let bits = move_mask_i8_m128i(m);
            if bits != 0 {
                return Scanned { found: Some(i + bits.trailing_zeros() as usize), at: i };
            }
            i += 16;
        }
        Scanned { found: None, at: i }
    }

    #[inline]
    pub(super) fn scan_structure(b: &[u8]) -> Scanned {
        let (quote, open, close, bit5) = (splat(b'"'), splat(b'{'), splat(b'}'), splat(0x20));
        let mut i = 0;
        while i + 16 <= b.len() {
            let v = block(b, i);
            // `[` and `]` are `{` and `}` without bit 5.
            let folded = v | bit5;
            let m = cmp_eq_mask_i8_m128i(v, quote)
                | cmp_eq_mask_i8_m128i(folded, open)
                | cmp_eq_mask_i8_m128i(folded, close);
            let bits = move_mask_i8_m128i(m);
            if bits != 0 {
                return Scanned { found: Some(i + bits.trailing_zeros() as usize), at: i };
            }
            i += 16;
        }
        Scanned { found: None, at: i }
    }
}

/// The portable fallback: the callers' eight-byte loops do the work.
#[cfg(not(target_arch = "x86_64"))]
mod simd {
    use super::{Masks, Scanned};

    pub(crate) fn masks64(b: &[u8; 64]) -> Masks {
        let mut m = Masks { quote: 0, backslash: 0, open: 0, close: 0 };
        for (i, &c) in b.iter().enumerate() {
            let bit = 1u64 << i;
            match c {
                b'"' => m.quote |= bit,
                b'\\' => m.backslash |= bit,
                b'{' | b'[' => m.open |= bit,
                b'}' | b']' => m.close |= bit,
                _ => {}
            }
        }
        m
    }

    pub(super) fn scan(_: &[u8], _: bool) -> Scanned {
        Scanned { found: None, at: 0 }
    }

    pub(super) fn scan_structure(_: &[u8]) -> Scanned {
        Scanned { found: None, at: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_the_first() {
        for (s, ctrl, want) in [
            ("abc\"", false, Some(3)),
            ("abcdefghij\\k\"", false, Some(10)),
            ("abcdefgh\"", false, Some(8)),
            ("abcdefghijklmnopqrst\u{1}\"", true, Some(20)),
            ("abcdefghijklmnopqrst\u{1}\"", false, Some(21)),
            ("é\"", true, Some(2)),
            ("abcdefghijklmnop", true, None),
        ] {
            assert_eq!(scan(s.as_bytes(), ctrl), want, "{s:?}");
        }
    }

    #[test]
    fn scan_matches_a_plain_search() {
        let mut rnd = crate::util::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let x = rnd();
            let len = (x % 48) as usize;
            let b: Vec<u8> = (0..len)
                .map(|i| match (x >> (i % 60)) % 23 {
                    0 => b'"',
                    1 => b'\\',
                    2 => 0x1f,
                    3 => 0x80 | (i as u8),
                    _ => b'a' + (i % 26) as u8,
                })
                .collect();
            for ctrl in [false, true] {
                let want = b.iter().position(|&c| c == b'"' || c == b'\\' || (ctrl && c < 0x20));
                assert_eq!(scan(&b, ctrl), want, "{b:?} {ctrl}");
            }
        }
    }

    #[test]
    fn scan_structure_matches_a_plain_search() {
        let mut rnd = crate::util::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let x = rnd();
            let len = (x % 40) as usize;
            let b: Vec<u8> = (0..len)
                .map(|i| b"\"{}[]ab:,;{{\x7b\x5b\x7d\x5d\x3b\x1b\xdb\xfb"[((x >> (i % 59)) % 20) as usize])
                .collect();
            let want = b.iter().position(|c| matches!(c, b'"' | b'{' | b'}' | b'[' | b']'));
            assert_eq!(scan_structure(&b), want, "{b:?}");
        }
    }
}
