//! Longest-prefix match over IPv4/IPv6 prefixes.
//!
//! Prefixes are flattened at build time into sorted, non-overlapping
//! intervals, each labelled with its most specific covering prefix; a lookup
//! is a binary search for the interval holding the address. IPv4 adds a
//! 64 Ki-entry index on the top 16 bits, so most lookups touch one or two
//! cache lines. Lookups never allocate.

/// Address keys: u32 for IPv4, u128 for IPv6.
pub trait Key: Copy + Ord + Eq + core::fmt::Debug {
    const BITS: u32;
    const ZERO: Self;
    fn mask(self, len: u8) -> Self;
    /// Last address of the prefix.
    fn last(self, len: u8) -> Self;
    fn checked_inc(self) -> Option<Self>;
    /// IPv4: the /16 block index used by the lookup index.
    fn block16(self) -> usize;
    /// IPv4: the first address of /16 block `h`.
    fn block16_start(h: usize) -> Self;
}

impl Key for u32 {
    const BITS: u32 = 32;
    const ZERO: Self = 0;
    fn mask(self, len: u8) -> Self {
        self & u32::MAX.checked_shl(32u32.saturating_sub(len as u32)).unwrap_or(0)
    }
    fn last(self, len: u8) -> Self {
        self.mask(len) | u32::MAX.checked_shr(len as u32).unwrap_or(0)
    }
    fn checked_inc(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn block16(self) -> usize {
        (self >> 16) as usize
    }
    fn block16_start(h: usize) -> Self {
        (h as u32) << 16
    }
}

impl Key for u128 {
    const BITS: u32 = 128;
    const ZERO: Self = 0;
    fn mask(self, len: u8) -> Self {
        self & u128::MAX.checked_shl(128u32.saturating_sub(len as u32)).unwrap_or(0)
    }
    fn last(self, len: u8) -> Self {
        self.mask(len) | u128::MAX.checked_shr(len as u32).unwrap_or(0)
    }
    fn checked_inc(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn block16(self) -> usize {
        0
    }
    fn block16_start(_: usize) -> Self {
        0
    }
}

/// No prefix covers the interval.
const NONE: u32 = u32::MAX;

/// An immutable longest-prefix-match table mapping prefixes to a `u32` value.
#[derive(Debug, Clone)]
pub struct Lpm<K: Key> {
    /// (interval start, value), sorted by start. Kept together so the
    /// binary search's last probe has already fetched the value.
    intervals: Vec<(K, u32)>,
    /// IPv4 only: for each /16 block, the index of the interval holding the
    /// block's first address; one extra entry at the end.
    block: Vec<u32>,
    prefixes: usize,
}

impl<K: Key> Default for Lpm<K> {
    fn default() -> Self {
        Lpm::build(Vec::new())
    }
}

impl<K: Key> Lpm<K> {
    /// Builds from `(network, prefix_len, value)`. Host bits are masked off.
    /// When the same prefix appears twice, the later value wins; callers
    /// merge duplicates first if they need both.
    pub fn build(mut prefixes: Vec<(K, u8, u32)>) -> Self {
        for p in prefixes.iter_mut() {
            p.1 = p.1.min(K::BITS as u8);
            p.0 = p.0.mask(p.1);
        }
        // Shorter prefixes first at equal starts, so containers precede
        // what they contain; equal prefixes keep input order (stable sort).
        prefixes.sort_by_key(|p| (p.0, p.1));
        let mut dedup: Vec<(K, u8, u32)> = Vec::with_capacity(prefixes.len());
        for p in prefixes {
            match dedup.last_mut() {
                Some(last) if last.0 == p.0 && last.1 == p.1 => last.2 = p.2,
                _ => dedup.push(p),
            }
        }
        let mut b = Flattener { starts: vec![K::ZERO], values: vec![NONE] };
        // Stack of open prefixes: (last address, value).
        let mut stack: Vec<(K, u32)> = Vec::new();
        // Next address not yet assigned; None once past the top of the space.
        let mut cursor: Option<K> = Some(K::ZERO);
        for &(start, len, value) in &dedup {
            let end = start.last(len);
            while let Some(&(top_end, top_val)) = stack.last() {
                if top_end >= start {
                    break;
                }
                if let Some(c) = cursor.filter(|c| *c <= top_end) {
                    b.emit(c, top_val);
                }
                cursor = top_end.checked_inc();
                stack.pop();
            }
            if let Some(c) = cursor.filter(|c| *c < start) {
                b.emit(c, stack.last().map_or(NONE, |t| t.1));
            }
            cursor = Some(start);
            stack.push((end, value));
        }
        while let Some((top_end, top_val)) = stack.pop() {
            if let Some(c) = cursor.filter(|c| *c <= top_end) {
                b.emit(c, top_val);
            }
            cursor = top_end.checked_inc();
        }
        if let Some(c) = cursor {
            b.emit(c, NONE);
        }
        let mut lpm =
            Lpm { intervals: b.starts.into_iter().zip(b.values).collect(), block: Vec::new(), prefixes: dedup.len() };
        if K::BITS == 32 {
            lpm.block = (0..=65536usize)
                .map(|h| {
                    if h == 65536 {
                        (lpm.intervals.len() - 1) as u32
                    } else {
                        lpm.interval_of(K::block16_start(h)) as u32
                    }
                })
                .collect();
        }
        lpm
    }

    fn interval_of(&self, addr: K) -> usize {
        self.intervals.partition_point(|s| s.0 <= addr) - 1
    }

    /// Number of distinct prefixes.
    pub fn len(&self) -> usize {
        self.prefixes
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes == 0
    }

    /// The value of the longest prefix containing `addr`.
    #[inline]
    pub fn lookup(&self, addr: K) -> Option<u32> {
        if self.prefixes == 0 {
            return None;
        }
        let (lo, hi) = if self.block.is_empty() {
            (0, self.intervals.len())
        } else {
            let h = addr.block16();
            (self.block[h] as usize, self.block[h + 1] as usize + 1)
        };
        let window = &self.intervals[lo..hi];
        let i = window.partition_point(|s| s.0 <= addr) - 1;
        match window[i].1 {
            NONE => None,
            v => Some(v),
        }
    }
}

struct Flattener<K> {
    starts: Vec<K>,
    values: Vec<u32>,
}

impl<K: Key> Flattener<K> {
    fn emit(&mut self, start: K, value: u32) {
        let n = self.starts.len();
        if self.starts[n - 1] == start {
            self.values[n - 1] = value;
            // Merging may make the previous interval equal to this one.
            if n >= 2 && self.values[n - 2] == value {
                self.starts.pop();
                self.values.pop();
            }
            return;
        }
        if self.values[n - 1] == value {
            return;
        }
        self.starts.push(start);
        self.values.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Longest-prefix match by brute force, for comparison.
    fn naive<K: Key>(prefixes: &[(K, u8, u32)], addr: K) -> Option<u32> {
        let mut best: Option<(u8, u32)> = None;
        for &(net, len, v) in prefixes {
            let len = len.min(K::BITS as u8);
            if addr.mask(len) == net.mask(len) && best.is_none_or(|b| len >= b.0) {
                best = Some((len, v));
            }
        }
        best.map(|b| b.1)
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn nested_and_adjacent_prefixes() {
        let p = vec![
            (0x0a00_0000u32, 8, 1),
            (0x0a01_0000, 16, 2),
            (0x0a01_0100, 24, 3),
            (0x0a01_0200, 24, 4),
            (0xffff_ff00, 24, 5),
            (0, 0, 6),
        ];
        let lpm = Lpm::build(p.clone());
        for a in
            [0u32, 0x0a00_0001, 0x0a01_0001, 0x0a01_0101, 0x0a01_0201, 0x0a01_0301, 0x0b00_0000, 0xffff_fffe, u32::MAX]
        {
            assert_eq!(lpm.lookup(a), naive(&p, a), "{a:#x}");
        }
        assert_eq!(Lpm::<u32>::default().lookup(1), None);
    }

    #[test]
    fn random_v4_agrees_with_brute_force() {
        let mut r = Rng(0x1234_5678);
        for round in 0..50 {
            let n = 1 + (r.next() % 200) as usize;
            // Cluster prefixes in a few /8s so they nest and touch.
            let p: Vec<(u32, u8, u32)> = (0..n)
                .map(|i| {
                    let base = ((r.next() % 3) as u32) << 24;
                    let len = (r.next() % 33) as u8;
                    ((base | (r.next() as u32 & 0x00ff_ffff)).mask(len), len, i as u32)
                })
                .collect();
            // Later duplicates win in Lpm::build; keep the brute force in step.
            let mut dedup: Vec<(u32, u8, u32)> = Vec::new();
            for q in &p {
                dedup.retain(|d| !(d.0 == q.0 && d.1 == q.1));
                dedup.push(*q);
            }
            let lpm = Lpm::build(p.clone());
            for _ in 0..2000 {
                let a = if r.next().is_multiple_of(2) {
                    r.next() as u32
                } else {
                    (((r.next() % 3) as u32) << 24) | (r.next() as u32 & 0x00ff_ffff)
                };
                assert_eq!(lpm.lookup(a), naive(&dedup, a), "round {round} addr {a:#x}");
            }
            for d in &dedup {
                assert_eq!(lpm.lookup(d.0), naive(&dedup, d.0));
                assert_eq!(lpm.lookup(d.0.last(d.1)), naive(&dedup, d.0.last(d.1)));
            }
        }
    }

    #[test]
    fn random_v6_agrees_with_brute_force() {
        let mut r = Rng(0x9abc_def0);
        for _ in 0..30 {
            let n = 1 + (r.next() % 100) as usize;
            let p: Vec<(u128, u8, u32)> = (0..n)
                .map(|i| {
                    let a = (0x2001_0db8u128 << 96) | (((r.next() % 4) as u128) << 80) | r.next() as u128;
                    let len = 16 + (r.next() % 113) as u8;
                    (a.mask(len), len, i as u32)
                })
                .collect();
            let mut dedup: Vec<(u128, u8, u32)> = Vec::new();
            for q in &p {
                dedup.retain(|d| !(d.0 == q.0 && d.1 == q.1));
                dedup.push(*q);
            }
            let lpm = Lpm::build(p);
            for d in &dedup {
                for a in [d.0, d.0.last(d.1), d.0.wrapping_sub(1), d.0.last(d.1).wrapping_add(1)] {
                    assert_eq!(lpm.lookup(a), naive(&dedup, a));
                }
            }
        }
    }
}
