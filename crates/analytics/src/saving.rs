//! Room in a full top-N counter, the Space-Saving way (Metwally, Agrawal
//! and El Abbadi, "Efficient computation of frequent and top-k elements in
//! data streams", ICDT 2005; Zeek's `topk` is built on it): a new key takes
//! the place of a rarely counted one and starts from that count plus one,
//! so a heavy hitter that first shows up once the counter is full still
//! rises to the top.
//!
//! Counting stays a plain map update until a window's counter is full. The
//! key that makes room is not the exact minimum (that needs an ordered
//! structure updated on every event) but one whose count was among the
//! lowest sixteenth at the last scan of the counter, still at most that
//! scan's threshold. A new key starts at `floor + 1`, where `floor` is the
//! largest count evicted so far in the window. So, within a window:
//! - a listed count is never below the key's true count, and at most
//!   `floor` above it;
//! - every key counted more than `floor` times is listed (a key evicted had
//!   at most `floor`, and keys counted more are never evicted);
//! - `floor` stays near `total / cap`, the classic bound (a scan's
//!   threshold has 15/16 of the counts at or above it; the tests check
//!   16/15 of the classic bound).
//!
//! A scan reads the whole counter, once when at least a sixteenth of the
//! keys share the smallest count (a flood of one-off keys), else three
//! times (a selection of the threshold, then the keys under it): O(cap),
//! yielding at least cap/16 keys to evict, so a flood of new keys costs
//! O(1) per key amortized. Its lists take up to the key's size (plus 8
//! bytes when counts spread out) per key of a counter that filled.

/// The replacement state of one counter (empty until the counter fills).
pub(crate) struct Saving<K> {
    /// Keys counted at most `thr` times at the last scan.
    cands: Vec<K>,
    thr: u64,
    /// Counts of the last scan that needed them (kept: no allocation on
    /// the next one).
    scratch: Vec<u64>,
    /// The largest count evicted in this window.
    pub floor: u64,
}

impl<K: Copy> Saving<K> {
    pub fn new() -> Self {
        Saving { cands: Vec::new(), thr: 0, scratch: Vec::new(), floor: 0 }
    }

    /// Evicts a key of `map` to make room for a new one and returns the
    /// count the new key starts from (None: `map` counts nothing).
    /// `take(map, key, thr)` evicts `key` if it is counted at most `thr`
    /// times (checked and done in one lookup) and returns its count;
    /// `all(map, f)` calls `f` with every counted key and its count.
    pub fn evict<M>(
        &mut self,
        map: &mut M,
        take: impl Fn(&mut M, K, u64) -> Option<u64>,
        all: impl Fn(&M, &mut dyn FnMut(K, u64)),
    ) -> Option<u64> {
        for scanned in [false, true] {
            while let Some(k) = self.cands.pop() {
                // None: gone, or counted more since the scan (maybe a
                // heavy hitter rising).
                if let Some(c) = take(map, k, self.thr) {
                    self.floor = self.floor.max(c);
                    return Some(self.floor + 1);
                }
            }
            if scanned {
                break;
            }
            self.scan(map, &all);
        }
        None
    }

    fn scan<M>(&mut self, map: &M, all: impl Fn(&M, &mut dyn FnMut(K, u64))) {
        // One pass for the usual case, a flood of keys seen once or twice:
        // the smallest count and the keys that have it.
        let (mut min, mut n) = (u64::MAX, 0usize);
        let cands = &mut self.cands;
        cands.clear();
        all(map, &mut |k, c| {
            n += 1;
            if c < min {
                min = c;
                cands.clear();
            }
            if c == min {
                cands.push(k);
            }
        });
        let lowest = (n / 16).max(1);
        if n == 0 || self.cands.len() >= lowest {
            self.thr = min;
            return;
        }
        // Counts spread out: the lowest sixteenth's largest count.
        self.scratch.clear();
        all(map, &mut |_, c| self.scratch.push(c));
        let (_, &mut thr, _) = self.scratch.select_nth_unstable(lowest - 1);
        self.thr = thr;
        let cands = &mut self.cands;
        cands.clear();
        all(map, &mut |k, c| {
            if c <= thr {
                cands.push(k);
            }
        });
    }

    /// A new window (allocations kept).
    pub fn reset(&mut self) {
        self.cands.clear();
        self.thr = 0;
        self.floor = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashbrown::HashMap;

    /// A counter of `cap` keys with replacement, as `topn::Capped` does it.
    fn count(stream: &[u32], cap: usize) -> (HashMap<u32, u64>, u64) {
        let mut map: HashMap<u32, u64> = HashMap::new();
        let mut s = Saving::new();
        for &k in stream {
            if let Some(c) = map.get_mut(&k) {
                *c += 1;
            } else if map.len() < cap {
                map.insert(k, 1);
            } else {
                let start = s
                    .evict(
                        &mut map,
                        |m, v, thr| m.get(&v).copied().filter(|&c| c <= thr).and_then(|_| m.remove(&v)),
                        |m, f| m.iter().for_each(|(k, c)| f(*k, *c)),
                    )
                    .unwrap();
                map.insert(k, start);
            }
        }
        (map, s.floor)
    }

    #[test]
    fn a_late_heavy_hitter_is_counted() {
        // 100 keys fill the counter, then one key 50 times among 400 new singletons.
        let mut stream: Vec<u32> = (0..100).collect();
        for i in 0..400 {
            stream.push(1000 + i);
            if i % 8 == 0 {
                stream.push(7777);
            }
        }
        let (map, floor) = count(&stream, 100);
        assert_eq!(map.len(), 100);
        let c = map[&7777];
        assert!((50..=50 + floor).contains(&c), "count {c}, floor {floor}");
        // 500 events into 100 keys: the floor stays near total / cap.
        assert!(floor <= 500 * 16 / (15 * 100) + 1, "floor {floor}");
    }

    #[test]
    fn bounds_hold_against_exact_counts() {
        let mut rnd = crate::util::xorshift(42);
        for cap in [1, 7, 64] {
            // Skewed keys with a long tail of singletons, and a shift half
            // way through (new heavy keys arrive late).
            let stream: Vec<u32> = (0..20_000u32)
                .map(|i| {
                    let r = rnd();
                    let base = if i < 10_000 { 0 } else { 1_000_000 };
                    if r.is_multiple_of(3) { base + (r >> 8) as u32 % 8 } else { 10_000 + (r >> 16) as u32 % 500_000 }
                })
                .collect();
            let mut exact: HashMap<u32, u64> = HashMap::new();
            stream.iter().for_each(|k| *exact.entry(*k).or_default() += 1);
            let (map, floor) = count(&stream, cap);
            assert!(map.len() <= cap);
            for (k, &c) in &map {
                let t = exact[k];
                assert!(t <= c && c <= t + floor, "cap {cap} key {k}: true {t}, counted {c}, floor {floor}");
            }
            for (k, &t) in &exact {
                assert!(t <= floor || map.contains_key(k), "cap {cap} key {k} counted {t} > floor {floor} but missing");
            }
            assert!(floor as f64 <= 20_000.0 * 16.0 / (15.0 * cap as f64) + 1.0, "cap {cap}: floor {floor}");
        }
    }
}
