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
        if len == 0 { 0 } else { self & (u32::MAX << (32 - len as u32)) }
    }
    fn last(self, len: u8) -> Self {
        if len == 0 { u32::MAX } else { self.mask(len) | (u32::MAX >> len as u32) }
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
        if len == 0 { 0 } else { self & (u128::MAX << (128 - len as u32)) }
    }
    fn last(self, len: u8) -> Self {
        if len == 0 { u128::MAX } else { self.mask(len) | (u128::MAX >> len as u32) }
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
    starts: Vec<K>,
    values: Vec<u32>,
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
        prefixes.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
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
        let mut lpm = Lpm { starts: b.starts, values: b.values, block: Vec::new(), prefixes: dedup.len() };
        if K::BITS == 32 {
            lpm.block = (0..=65536usize)
                .map(|h| {
                    if h == 65536 {
                        (lpm.starts.len() - 1) as u32
                    } else {
                        lpm.interval_of(K::block16_start(h)) as u32
                    }
                })
                .collect();
        }
        lpm.starts.shrink_to_fit();
        lpm.values.shrink_to_fit();
        lpm
    }

    fn interval_of(&self, addr: K) -> usize {
        self.starts.partition_point(|s| *s <= addr) - 1
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
            (0, self.starts.len())
        } else {
            let h = addr.block16();
            (self.block[h] as usize, self.block[h + 1] as usize + 1)
        };
        let window = &self.starts[lo..hi];
        let i = lo + window.partition_point(|s| *s <= addr) - 1;
        match self.values[i] {
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
