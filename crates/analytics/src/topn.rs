//! Per-window counters for the top-N keys that are not derived from the
//! indicator table (DESIGN §1): sensor, input, rule, src/dst ip, host,
//! (proto, dst port), src port; plus the per-second event counts.
//!
//! Bounded: a keyed counter holds at most `cap` keys per window. A new key
//! at a full counter takes the place of a rarely counted one, Space-Saving
//! style (see [`crate::saving`]), and the replacement is counted as an
//! eviction of the `topn` table. The window's report then carries
//! `max_error`: each listed count is at most that much above the true one,
//! and every key counted more than that is listed.

use crate::intern::Syms;
use crate::output::TopNReport;
use crate::saving::Saving;
use crate::util::{HASH, IpKey};
use core::hash::Hash;
use hashbrown::HashMap;
use hashbrown::hash_map::Entry;

/// (total, top values with counts, max_error)
pub(crate) type Ranked = (u64, Vec<(String, u64)>, u64);

/// The `n` largest by count, ties broken by key ascending.
pub(crate) fn top<T: Ord>(mut v: Vec<(T, u64)>, n: usize) -> Vec<(T, u64)> {
    let cmp = |a: &(T, u64), b: &(T, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
    if n == 0 {
        return Vec::new();
    }
    if v.len() > n {
        v.select_nth_unstable_by(n - 1, cmp);
        v.truncate(n);
    }
    v.sort_unstable_by(cmp);
    v
}

/// Counts per small symbol (dense array).
#[derive(Default)]
pub(crate) struct SymCounts {
    counts: Vec<u64>,
    touched: Vec<u32>,
}

impl SymCounts {
    #[inline]
    pub fn add(&mut self, sym: u32) {
        let i = sym as usize;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        if self.counts[i] == 0 {
            self.touched.push(sym);
        }
        self.counts[i] += 1;
    }

    fn take(&mut self, syms: &Syms, n: usize) -> Ranked {
        let v: Vec<(&str, u64)> = self.touched.iter().map(|&s| (syms.get(s), self.counts[s as usize])).collect();
        let total = v.iter().map(|x| x.1).sum();
        for &s in &self.touched {
            self.counts[s as usize] = 0;
        }
        self.touched.clear();
        // Dense: never full, so exact.
        (total, top(v, n).into_iter().map(|(s, c)| (s.to_string(), c)).collect(), 0)
    }
}

/// A keyed counter holding at most `cap` keys.
pub(crate) struct Capped<K> {
    map: HashMap<K, u64, foldhash::fast::FixedState>,
    cap: usize,
    total: u64,
    saving: Saving<K>,
    /// Keys evicted to make room (over the counter's life).
    pub overflow: u64,
}

impl<K: Hash + Eq + Copy + Ord> Capped<K> {
    fn new(cap: usize) -> Self {
        Capped { map: HashMap::with_hasher(HASH), cap, total: 0, saving: Saving::new(), overflow: 0 }
    }

    #[inline]
    pub fn add(&mut self, k: K) {
        self.total += 1;
        if let Some(c) = self.map.get_mut(&k) {
            *c += 1;
        } else if self.map.len() < self.cap {
            self.map.insert(k, 1);
        } else {
            self.replace(k);
        }
    }

    #[cold]
    fn replace(&mut self, k: K) {
        let start = self.saving.evict(
            &mut self.map,
            |m, v, thr| match m.entry(v) {
                Entry::Occupied(o) if *o.get() <= thr => Some(o.remove()),
                _ => None,
            },
            |m, f| m.iter().for_each(|(x, c)| f(*x, *c)),
        );
        if let Some(start) = start {
            self.map.insert(k, start);
            self.overflow += 1;
        }
    }

    /// (total, every key with its count, max_error), and a new window.
    fn take_all(&mut self) -> (u64, Vec<(K, u64)>, u64) {
        let v = self.map.iter().map(|(k, c)| (*k, *c)).collect();
        let r = (std::mem::take(&mut self.total), v, self.saving.floor);
        self.map.clear();
        self.saving.reset();
        r
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
}

/// The src_ip, dst_ip and host counters ([`SRC`], [`DST`], [`HOST`]) in one
/// map: an event's host is usually its source or its destination, so two
/// lookups count the three. Each counter is capped on its own, exactly as a
/// [`Capped`] of its own would be (a key at a full counter takes the place
/// of one of that counter's keys; the map keeps a key while any counter
/// counts it, so it holds at most 3 `cap` keys).
pub(crate) struct IpCounts {
    map: HashMap<IpKey, [u64; 3], foldhash::fast::FixedState>,
    cap: usize,
    len: [usize; 3],
    total: [u64; 3],
    saving: [Saving<IpKey>; 3],
    overflow: [u64; 3],
}

pub(crate) const SRC: usize = 0;
pub(crate) const DST: usize = 1;
pub(crate) const HOST: usize = 2;

impl IpCounts {
    fn new(cap: usize) -> Self {
        IpCounts {
            map: HashMap::with_hasher(HASH),
            cap,
            len: [0; 3],
            total: [0; 3],
            saving: [Saving::new(), Saving::new(), Saving::new()],
            overflow: [0; 3],
        }
    }

    /// Counts `k` once in each counter of `which`.
    #[inline]
    pub fn add(&mut self, k: IpKey, which: &[usize]) {
        if let Some(c) = self.map.get_mut(&k) {
            let mut full = [false; 3];
            for &w in which {
                self.total[w] += 1;
                if c[w] > 0 {
                    c[w] += 1;
                } else if self.len[w] < self.cap {
                    c[w] = 1;
                    self.len[w] += 1;
                } else {
                    full[w] = true;
                }
            }
            if full != [false; 3] {
                self.add_to_full(k, full);
            }
            return;
        }
        // A new key: its counts settled first (room made where a counter
        // is full), then one insert.
        let mut c = [0; 3];
        for &w in which {
            self.total[w] += 1;
            if self.len[w] < self.cap {
                c[w] = 1;
                self.len[w] += 1;
            } else {
                c[w] = self.make_room(w);
            }
        }
        if c != [0; 3] {
            self.map.insert(k, c);
        }
    }

    /// `k`, counted elsewhere, is new to the counters of `full`, which are full.
    #[cold]
    fn add_to_full(&mut self, k: IpKey, full: [bool; 3]) {
        for w in (0..3).filter(|&w| full[w]) {
            // `k` is not counted by `w`: never the key evicted.
            let start = self.make_room(w);
            if let Some(c) = self.map.get_mut(&k) {
                c[w] = start;
            }
        }
    }

    /// Evicts a key from the full counter `w`: the count a new key starts
    /// from (0: nothing to evict).
    #[cold]
    fn make_room(&mut self, w: usize) -> u64 {
        let start = self.saving[w].evict(
            &mut self.map,
            |m, v, thr| match m.entry(v) {
                Entry::Occupied(mut o) if (1..=thr).contains(&o.get()[w]) => {
                    let c = std::mem::take(&mut o.get_mut()[w]);
                    if *o.get() == [0; 3] {
                        o.remove();
                    }
                    Some(c)
                }
                _ => None,
            },
            |m, f| m.iter().filter(|(_, c)| c[w] > 0).for_each(|(x, c)| f(*x, c[w])),
        );
        self.overflow[w] += u64::from(start.is_some());
        start.unwrap_or(0)
    }

    fn take(&mut self, w: usize, n: usize) -> (u64, Vec<(IpKey, u64)>, u64) {
        let v = top(self.map.iter().filter(|(_, c)| c[w] > 0).map(|(k, c)| (*k, c[w])).collect(), n);
        (std::mem::take(&mut self.total[w]), v, self.saving[w].floor)
    }

    /// `clear` keeps the allocation: no allocation next window.
    fn clear(&mut self) {
        self.map.clear();
        self.len = [0; 3];
        self.saving.iter_mut().for_each(Saving::reset);
    }
}

pub(crate) struct WindowCounts {
    pub sensor: SymCounts,
    pub input: SymCounts,
    pub rule: SymCounts,
    pub ips: IpCounts,
    /// (proto symbol, dst port)
    pub proto_port: Capped<(u32, u16)>,
    src_port: Vec<u32>,
    src_port_touched: Vec<u16>,
    pub per_second: Vec<u64>,
    pub events: u64,
    pub late: u64,
}

impl WindowCounts {
    pub fn new(cap: usize, window_s: u64) -> Self {
        WindowCounts {
            sensor: SymCounts::default(),
            input: SymCounts::default(),
            rule: SymCounts::default(),
            ips: IpCounts::new(cap),
            proto_port: Capped::new(cap),
            src_port: vec![0; 65536],
            src_port_touched: Vec::new(),
            per_second: vec![0; window_s.max(1) as usize],
            events: 0,
            late: 0,
        }
    }

    /// The port counters are 256 KiB, so a random port's counter is
    /// usually not in the nearest caches: loaded early.
    #[inline]
    pub fn prefetch_src_port(&self, p: u16) {
        if let Some(c) = self.src_port.get(p as usize) {
            crate::lru::prefetch(c);
        }
    }

    #[inline]
    pub fn add_src_port(&mut self, p: u16) {
        let c = &mut self.src_port[p as usize];
        if *c == 0 {
            self.src_port_touched.push(p);
        }
        *c += 1;
    }

    pub fn keys(&self) -> usize {
        self.ips.len.iter().sum::<usize>() + self.proto_port.len()
    }

    pub fn overflow(&self) -> u64 {
        self.ips.overflow.iter().sum::<u64>() + self.proto_port.overflow
    }

    /// Emits the non-indicator top-N reports and resets the counters.
    pub fn close(&mut self, syms: &Syms, w: (i64, i64), n: usize, out: &mut Vec<TopNReport>) {
        let mut push = |key: &'static str, (total, top, max_error): Ranked| {
            out.push(TopNReport { window_start_ns: w.0, window_end_ns: w.1, key, total, top, max_error });
        };
        let ips = |(t, v, e): (u64, Vec<(IpKey, u64)>, u64)| {
            (t, v.into_iter().map(|(ip, c)| (ip.ip().to_string(), c)).collect(), e)
        };
        push("sensor", self.sensor.take(syms, n));
        push("input", self.input.take(syms, n));
        let rules = self.rule.take(syms, n);
        let rules = (rules.0, rules.1.into_iter().map(|(s, c)| (s.replacen('\0', ":", 1), c)).collect(), rules.2);
        push("rule", rules);
        push("src_ip", ips(self.ips.take(SRC, n)));
        push("dst_ip", ips(self.ips.take(DST, n)));
        push("host", ips(self.ips.take(HOST, n)));
        self.ips.clear();
        // Ranked by (proto name, port), not by symbol number.
        let (pp_total, pp, pp_error) = self.proto_port.take_all();
        let pp: Vec<((&str, u16), u64)> = pp.into_iter().map(|((p, port), c)| ((syms.get(p), port), c)).collect();
        let pp = top(pp, n).into_iter().map(|((p, port), c)| (format!("{p}/{port}"), c)).collect();
        push("proto_dst_port", (pp_total, pp, pp_error));
        let sp: Vec<(u16, u64)> =
            self.src_port_touched.iter().map(|&p| (p, self.src_port[p as usize] as u64)).collect();
        let sp_total = sp.iter().map(|x| x.1).sum();
        for &p in &self.src_port_touched {
            self.src_port[p as usize] = 0;
        }
        self.src_port_touched.clear();
        // Dense (65,536 counters): exact.
        push("src_port", (sp_total, top(sp, n).into_iter().map(|(p, c)| (p.to_string(), c)).collect(), 0));
        self.per_second.iter_mut().for_each(|c| *c = 0);
        self.events = 0;
        self.late = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_orders_by_count_then_value() {
        let v = vec![("b", 2), ("a", 2), ("c", 5), ("d", 1)];
        assert_eq!(top(v.clone(), 3), [("c", 5), ("a", 2), ("b", 2)]);
        assert_eq!(top(v.clone(), 10).len(), 4);
        assert!(top(v, 0).is_empty());
    }

    /// The (protocol, port) counter: a pair first seen once the counter is
    /// full still tops it, within `max_error`; a new window is exact again.
    #[test]
    fn a_full_counter_makes_room() {
        let mut c: Capped<(u32, u16)> = Capped::new(4);
        for p in 0..20 {
            c.add((1, p));
        }
        for _ in 0..10 {
            c.add((1, 443));
        }
        let (total, v, err) = c.take_all();
        assert_eq!((total, v.len(), c.overflow), (30, 4, 17));
        let (k, n) = top(v, 1)[0];
        assert_eq!(k, (1, 443));
        assert!(err > 0 && (10..=10 + err).contains(&n), "{n} {err}");
        c.add((6, 53));
        assert_eq!(c.take_all(), (1, vec![((6, 53), 1)], 0));
    }

    /// Each of the three address counters keeps the Space-Saving bounds on
    /// its own (checked against exact counts), whatever the others hold,
    /// and the shared map stays within 3 `cap` keys.
    #[test]
    fn address_counters_keep_their_bounds() {
        use std::collections::HashMap as Exact;
        let mut rnd = crate::util::xorshift(7);
        let sets: [&[usize]; 4] = [&[SRC, HOST], &[DST], &[SRC], &[DST, HOST]];
        for cap in [1, 5, 40] {
            let mut c = IpCounts::new(cap);
            let mut exact: [Exact<IpKey, u64>; 3] = Default::default();
            for i in 0..30_000u64 {
                let r = rnd();
                // A few heavy addresses (new ones half way through) and a long tail.
                let a =
                    if r.is_multiple_of(4) { (i / 15_000) * 100 + (r >> 8) % 6 } else { 1000 + (r >> 16) % 100_000 };
                let k = IpKey::from(std::net::IpAddr::from(std::net::Ipv4Addr::from(a as u32)));
                let which = sets[(r >> 40) as usize % 4];
                c.add(k, which);
                which.iter().for_each(|&w| *exact[w].entry(k).or_default() += 1);
                assert!(c.map.len() <= 3 * cap);
            }
            for w in [SRC, DST, HOST] {
                let total: u64 = exact[w].values().sum();
                let (t, _, floor) = c.take(w, 0);
                assert_eq!(t, total);
                let counted: Vec<(IpKey, u64)> =
                    c.map.iter().filter(|(_, n)| n[w] > 0).map(|(k, n)| (*k, n[w])).collect();
                assert!(counted.len() <= cap);
                for (k, n) in &counted {
                    let e = exact[w][k];
                    assert!(e <= *n && *n <= e + floor, "cap {cap} counter {w}: true {e}, counted {n}, floor {floor}");
                }
                for (k, &e) in &exact[w] {
                    assert!(e <= floor || counted.iter().any(|x| x.0 == *k), "cap {cap} counter {w}: {e} > {floor}");
                }
                assert!(floor > 0 && floor as f64 <= total as f64 * 16.0 / (15.0 * cap as f64) + 1.0);
            }
        }
    }
}
