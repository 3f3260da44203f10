//! A bounded map that remembers the order in which entries were last
//! touched, for template and exporter state: eviction of the least recently
//! touched entry and expiry of old entries in amortised O(1), without
//! scanning the map.
//!
//! The order is a queue of `(key, stamp)`; touching an entry gives it a new
//! stamp and queues it again, and queue items whose stamp no longer matches
//! the entry are stale and skipped. The queue is compacted when stale items
//! outnumber live ones, so its length stays within about twice the map's.

use core::hash::Hash;
use foldhash::fast::RandomState;
use hashbrown::HashMap;
use std::collections::VecDeque;

struct Slot<V> {
    value: V,
    stamp: u64,
    touched_secs: u64,
}

pub(crate) struct Lru<K, V> {
    map: HashMap<K, Slot<V>, RandomState>,
    order: VecDeque<(K, u64)>,
    next_stamp: u64,
    cap: usize,
}

impl<K: Hash + Eq + Copy, V> Lru<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        Lru { map: HashMap::with_hasher(RandomState::default()), order: VecDeque::new(), next_stamp: 0, cap }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|s| &s.value)
    }

    /// The entry, unless it was last touched more than `timeout` seconds
    /// before `now`; an expired entry is removed and returned as `Err`.
    pub(crate) fn get_fresh(&mut self, k: &K, now: u64, timeout: u64) -> Result<Option<&V>, V> {
        let expired = match self.map.get(k) {
            None => return Ok(None),
            Some(s) => now.saturating_sub(s.touched_secs) > timeout,
        };
        if expired {
            return Err(self.map.remove(k).map(|s| s.value).expect("present"));
        }
        Ok(self.map.get(k).map(|s| &s.value))
    }

    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|s| &mut s.value)
    }

    fn push_order(&mut self, k: K) -> u64 {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.order.push_back((k, stamp));
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order.retain(|(k, s)| map.get(k).is_some_and(|slot| slot.stamp == *s));
        }
        stamp
    }

    /// Marks the entry as used at `now`.
    pub(crate) fn touch(&mut self, k: &K, now: u64) {
        if !self.map.contains_key(k) {
            return;
        }
        let stamp = self.push_order(*k);
        if let Some(s) = self.map.get_mut(k) {
            s.stamp = stamp;
            s.touched_secs = now;
        }
    }

    /// The least recently touched live entry, removed.
    fn pop_oldest(&mut self) -> Option<(K, V)> {
        while let Some((k, stamp)) = self.order.pop_front() {
            if self.map.get(&k).is_some_and(|s| s.stamp == stamp) {
                return self.map.remove(&k).map(|s| (k, s.value));
            }
        }
        None
    }

    /// Inserts or replaces. When the map is full, the least recently touched
    /// entry makes room and is returned (with a capacity of 0 the new entry
    /// itself is).
    pub(crate) fn insert(&mut self, k: K, v: V, now: u64) -> Option<(K, V)> {
        let mut evicted = None;
        if !self.map.contains_key(&k) && self.map.len() >= self.cap {
            if self.cap == 0 {
                return Some((k, v));
            }
            evicted = self.pop_oldest();
        }
        let stamp = self.push_order(k);
        self.map.insert(k, Slot { value: v, stamp, touched_secs: now });
        evicted
    }

    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k).map(|s| s.value)
    }

    /// Removes entries not touched for more than `timeout` seconds, oldest
    /// first, stopping at the first fresh one; returns how many went.
    pub(crate) fn expire(&mut self, now: u64, timeout: u64) -> usize {
        let mut n = 0;
        while let Some(&(k, stamp)) = self.order.front() {
            match self.map.get(&k) {
                Some(s) if s.stamp == stamp => {
                    if now.saturating_sub(s.touched_secs) <= timeout {
                        break;
                    }
                    self.map.remove(&k);
                    n += 1;
                }
                _ => {}
            }
            self.order.pop_front();
        }
        n
    }

    /// Removes every entry for which `f` is false; returns how many went.
    pub(crate) fn retain(&mut self, mut f: impl FnMut(&K, &V) -> bool) -> usize {
        let before = self.map.len();
        self.map.retain(|k, s| f(k, &s.value));
        before - self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_touched() {
        let mut m = Lru::new(2);
        assert!(m.insert(1, "a", 0).is_none());
        assert!(m.insert(2, "b", 0).is_none());
        m.touch(&1, 1);
        assert_eq!(m.insert(3, "c", 2), Some((2, "b")));
        assert_eq!(m.get(&1), Some(&"a"));
        assert_eq!(m.insert(1, "A", 3), None, "replacing is not evicting");
        assert_eq!(m.insert(4, "d", 4), Some((3, "c")));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let mut m = Lru::new(0);
        assert_eq!(m.insert(1, 1, 0), Some((1, 1)));
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn expiry_and_freshness() {
        let mut m = Lru::new(10);
        m.insert(1, 1, 0);
        m.insert(2, 2, 50);
        assert_eq!(m.expire(100, 60), 1);
        assert_eq!(m.get(&1), None);
        assert_eq!(m.get_fresh(&2, 100, 60), Ok(Some(&2)));
        assert_eq!(m.get_fresh(&2, 200, 60), Err(2));
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn order_queue_stays_bounded() {
        let mut m = Lru::new(4);
        for i in 0..4 {
            m.insert(i, i, 0);
        }
        for t in 0..10_000 {
            m.touch(&(t % 4), t);
        }
        assert!(m.order.len() <= 2 * 4 + 65);
        assert_eq!(m.expire(10_000, 5), 0);
    }
}
