//! Symbols for low-cardinality strings (sensor, input, where, proto, feed,
//! rule): interned once, then counted in plain arrays. Bounded: when full, new
//! strings map to [`OTHER`] and are counted as overflow, so a symbol never
//! dangles (nothing is ever removed).

use crate::util::{hash_of, same};
use hashbrown::HashTable;

/// The symbol of every string that did not fit.
pub const OTHER: u32 = 0;

pub struct Syms {
    table: HashTable<u32>,
    strs: Vec<(u64, Box<str>)>,
    cap: usize,
    pub overflow: u64,
    /// Recent lookups, direct-mapped by [`memo_slot`] (the engine interns the
    /// same few strings for every event): a hit is checked against the
    /// symbol's string, so the memo never changes a result. [`OTHER`] marks
    /// an empty slot.
    memo: [u32; MEMO],
}

const MEMO: usize = 256;

/// A cheap slot from the length and four bytes (no full hash).
#[inline]
fn memo_slot(b: &[u8]) -> usize {
    let n = b.len();
    let Some((&first, &last)) = b.first().zip(b.last()) else { return 0 };
    let x = n as u64
        | (first as u64) << 8
        | (last as u64) << 16
        | (b[n / 2] as u64) << 24
        | (b[n.saturating_sub(2)] as u64) << 32;
    (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - MEMO.trailing_zeros())) as usize
}

impl Syms {
    pub fn new(cap: usize) -> Self {
        Syms {
            table: HashTable::new(),
            strs: vec![(0, "<other>".into())],
            cap: cap.max(2),
            overflow: 0,
            memo: [OTHER; MEMO],
        }
    }

    /// In line at the engine's four calls an event: the memo hit is a few
    /// loads and a compare, cheaper than the call around it.
    #[inline(always)]
    pub fn intern(&mut self, s: &str) -> u32 {
        let m = memo_slot(s.as_bytes());
        let i = self.memo[m];
        if i != OTHER && self.strs.get(i as usize).is_some_and(|x| same(x.1.as_bytes(), s.as_bytes())) {
            return i;
        }
        let i = self.intern_slow(s);
        if i != OTHER {
            self.memo[m] = i;
        }
        i
    }

    #[cold]
    #[inline(never)]
    fn intern_slow(&mut self, s: &str) -> u32 {
        let h = hash_of(s);
        let strs = &self.strs;
        if let Some(&i) =
            self.table.find(h, |&i| strs[i as usize].0 == h && same(strs[i as usize].1.as_bytes(), s.as_bytes()))
        {
            return i;
        }
        if self.strs.len() >= self.cap {
            self.overflow += 1;
            return OTHER;
        }
        let i = self.strs.len() as u32;
        self.strs.push((h, s.into()));
        let strs = &self.strs;
        self.table.insert_unique(h, i, |&i| strs[i as usize].0);
        i
    }

    /// Interns the pair `(a, b)` (stored as `a\0b`) without building it
    /// unless it is new.
    pub fn intern_pair(&mut self, a: &str, b: &str) -> u32 {
        let h = hash_of(&(a, b));
        let strs = &self.strs;
        let eq = |i: &u32| {
            let (hh, s) = &strs[*i as usize];
            *hh == h
                && s.len() == a.len() + 1 + b.len()
                && s.starts_with(a)
                && s.ends_with(b)
                && s.as_bytes()[a.len()] == 0
        };
        if let Some(&i) = self.table.find(h, eq) {
            return i;
        }
        if self.strs.len() >= self.cap {
            self.overflow += 1;
            return OTHER;
        }
        let i = self.strs.len() as u32;
        self.strs.push((h, format!("{a}\0{b}").into()));
        let strs = &self.strs;
        self.table.insert_unique(h, i, |&i| strs[i as usize].0);
        i
    }

    /// The two halves of a pair symbol.
    pub fn get_pair(&self, sym: u32) -> (&str, &str) {
        self.get(sym).split_once('\0').unwrap_or(("<other>", "<other>"))
    }

    pub fn get(&self, sym: u32) -> &str {
        self.strs.get(sym as usize).map_or("<other>", |s| &s.1)
    }

    /// Number of symbols, [`OTHER`] included.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.strs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded() {
        let mut s = Syms::new(3);
        let a = s.intern("a");
        assert_eq!(s.intern("a"), a);
        let b = s.intern("b");
        assert_eq!(s.intern("c"), OTHER);
        assert_eq!((s.get(a), s.get(b), s.overflow, s.len()), ("a", "b", 1, 3));
        let mut s = Syms::new(10);
        let p = s.intern_pair("re", "ssh");
        assert_eq!(s.intern_pair("re", "ssh"), p);
        assert_ne!(s.intern_pair("r", "essh"), p);
        assert_eq!(s.get_pair(p), ("re", "ssh"));
    }

    #[test]
    fn memo_never_changes_a_result() {
        let mut s = Syms::new(20);
        let words: Vec<String> = (0..60).map(|i| format!("w{}{}", i % 7, "x".repeat(i % 5))).collect();
        let mut plain = std::collections::HashMap::new();
        for round in 0..3 {
            for w in words.iter().chain(["<other>".to_string(), String::new()].iter()) {
                let got = s.intern(w);
                let want = *plain.entry(w.clone()).or_insert(got);
                assert_eq!(got, want, "{w} round {round}");
                if got != OTHER {
                    assert_eq!(s.get(got), w);
                }
            }
        }
        assert!(s.overflow > 0);
    }
}
