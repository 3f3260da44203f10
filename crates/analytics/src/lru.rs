//! A bounded map with least-recently-used eviction: a hash index of slot
//! numbers ([`Index`]: open addressing, prefetchable) over a slab of nodes in an intrusive doubly linked list. Every keyed
//! table of the engine is one of these, so memory is bounded by `cap` and
//! evictions are counted in one place. No allocation once the slab is full.

use crate::util::hash_of;
use core::hash::Hash;

const NIL: u32 = u32::MAX;

/// One bucket of the index: the low 32 bits of the key's hash (its home
/// bucket is `tag & mask`) and its slot, `NIL` when empty.
#[derive(Clone, Copy)]
struct Bucket {
    tag: u32,
    slot: u32,
}

const EMPTY: Bucket = Bucket { tag: 0, slot: NIL };

/// Open addressing with linear probing and backward-shift deletion, at most
/// half full: a lookup reads one bucket line (usually), then the node. (A
/// general-purpose table keeps control bytes and buckets apart: one more
/// dependent cache miss per lookup.) The bucket of a hash is known before
/// the lookup, so it can be prefetched.
struct Index {
    buckets: Vec<Bucket>,
    mask: usize,
    len: usize,
}

impl Index {
    fn new() -> Self {
        Index { buckets: vec![EMPTY; 16], mask: 15, len: 0 }
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        hash as u32 as usize & self.mask
    }

    #[inline]
    fn prefetch(&self, hash: u64) {
        let b = &self.buckets[self.home(hash)];
        prefetch(b);
    }

    #[inline]
    fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let tag = hash as u32;
        let mut i = self.home(hash);
        loop {
            let b = self.buckets[i];
            if b.slot == NIL {
                return None;
            }
            if b.tag == tag && eq(b.slot) {
                return Some(b.slot);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn insert(&mut self, hash: u64, slot: u32) {
        if (self.len + 1) * 2 > self.buckets.len() {
            self.grow();
        }
        self.place(Bucket { tag: hash as u32, slot });
        self.len += 1;
    }

    fn place(&mut self, b: Bucket) {
        let mut i = b.tag as usize & self.mask;
        while self.buckets[i].slot != NIL {
            i = (i + 1) & self.mask;
        }
        self.buckets[i] = b;
    }

    fn grow(&mut self) {
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; (self.mask + 1) * 2]);
        self.mask = self.buckets.len() - 1;
        for b in old {
            if b.slot != NIL {
                self.place(b);
            }
        }
    }

    /// Removes the bucket of `slot` (stored under `hash`).
    fn remove(&mut self, hash: u64, slot: u32) {
        let mut i = self.home(hash);
        loop {
            let b = self.buckets[i];
            if b.slot == NIL {
                return;
            }
            if b.slot == slot {
                break;
            }
            i = (i + 1) & self.mask;
        }
        self.len -= 1;
        // Backward shift: later buckets of the run move up unless their home
        // lies after the hole.
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let b = self.buckets[j];
            if b.slot == NIL {
                break;
            }
            let k = b.tag as usize & self.mask;
            let stays = if i <= j { i < k && k <= j } else { i < k || k <= j };
            if !stays {
                self.buckets[i] = b;
                i = j;
            }
        }
        self.buckets[i] = EMPTY;
    }

    fn clear(&mut self) {
        self.buckets.iter_mut().for_each(|b| *b = EMPTY);
        self.len = 0;
    }
}

/// A hint that `v` will be read soon: its cache line starts loading while
/// other work goes on. (`safe_arch` wraps the intrinsic, whose `unsafe`
/// stays out of this crate; a no-op off x86_64.)
#[inline(always)]
pub(crate) fn prefetch<T>(v: &T) {
    #[cfg(target_arch = "x86_64")]
    safe_arch::prefetch_t0(v);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// `repr(C)`: the hash and key (read by every lookup) come first, so a
/// lookup and the value's leading fields usually share a cache line.
#[repr(C)]
struct Node<K, V> {
    hash: u64,
    key: K,
    prev: u32,
    next: u32,
    val: V,
}

pub struct Lru<K, V> {
    table: Index,
    nodes: Vec<Node<K, V>>,
    /// Most recently used.
    head: u32,
    /// Least recently used: the next to evict.
    tail: u32,
    free: Vec<u32>,
    cap: usize,
    pub evictions: u64,
}

/// Result of [`Lru::upsert`].
pub struct Upsert<K, V> {
    pub slot: u32,
    /// The entry evicted to make room (the caller reports what it held).
    pub evicted: Option<(K, V)>,
}

/// The conveniences that hash the key with [`hash_of`]. Tables keyed by a
/// type with its own hash (the indicator table) pass it to the `_hashed`
/// calls and [`Lru::insert_new`] instead.
impl<K: Hash + Eq, V> Lru<K, V> {
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn find(&self, key: &K) -> Option<u32> {
        self.find_with(hash_of(key), |k| k == key)
    }

    /// Finds `key` or inserts `make(recycled)`; `recycled` is the evicted
    /// value when the table was full (so buffers can be reused). The slot
    /// becomes the most recently used.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn upsert(&mut self, key: K, make: impl FnOnce() -> V) -> Upsert<K, V> {
        let u = self.upsert_untouched(key, make);
        self.touch(u.slot);
        u
    }

    /// As [`Lru::upsert`], but an existing entry keeps its place: callers
    /// that touch once per window save the list update (three random cache
    /// lines) on every other hit.
    pub fn upsert_untouched(&mut self, key: K, make: impl FnOnce() -> V) -> Upsert<K, V> {
        self.upsert_untouched_hashed(hash_of(&key), key, make)
    }
}

impl<K: Eq, V> Lru<K, V> {
    pub fn new(cap: usize) -> Self {
        Lru {
            table: Index::new(),
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
            free: Vec::new(),
            cap: cap.max(1),
            evictions: 0,
        }
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.table.len
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Lookup by a precomputed hash and predicate (keys compared against
    /// borrowed data without building a `K`).
    pub fn find_with(&self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Option<u32> {
        self.table.find(hash, |i| self.nodes[i as usize].hash == hash && eq(&self.nodes[i as usize].key))
    }

    /// As [`Lru::upsert_untouched`] with `hash == hash_of(&key)` already
    /// computed (e.g. to prefetch).
    pub fn upsert_untouched_hashed(&mut self, hash: u64, key: K, make: impl FnOnce() -> V) -> Upsert<K, V> {
        if let Some(slot) = self.find_with(hash, |k| *k == key) {
            return Upsert { slot, evicted: None };
        }
        let (slot, evicted) = self.insert_new(hash, key, make());
        Upsert { slot, evicted }
    }

    /// Inserts a key known to be absent.
    pub fn insert_new(&mut self, hash: u64, key: K, val: V) -> (u32, Option<(K, V)>) {
        let mut evicted = None;
        let slot = if self.table.len >= self.cap {
            let t = self.tail;
            self.unlink(t);
            let h = self.nodes[t as usize].hash;
            self.table.remove(h, t);
            self.evictions += 1;
            let n = &mut self.nodes[t as usize];
            evicted = Some((std::mem::replace(&mut n.key, key), std::mem::replace(&mut n.val, val)));
            n.hash = hash;
            t
        } else if let Some(s) = self.free.pop() {
            let n = &mut self.nodes[s as usize];
            n.key = key;
            n.val = val;
            n.hash = hash;
            s
        } else {
            self.nodes.push(Node { key, val, hash, prev: NIL, next: NIL });
            (self.nodes.len() - 1) as u32
        };
        self.table.insert(hash, slot);
        self.link_front(slot);
        (slot, evicted)
    }

    /// Starts loading the index bucket of `hash` (see [`Lru::find_with`]).
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        self.table.prefetch(hash);
    }

    pub fn key(&self, slot: u32) -> &K {
        &self.nodes[slot as usize].key
    }

    pub fn get(&self, slot: u32) -> &V {
        &self.nodes[slot as usize].val
    }

    pub fn get_mut(&mut self, slot: u32) -> &mut V {
        &mut self.nodes[slot as usize].val
    }

    /// Marks a slot most recently used.
    pub fn touch(&mut self, slot: u32) {
        if self.head != slot {
            self.unlink(slot);
            self.link_front(slot);
        }
    }

    /// The least recently used entry.
    pub fn oldest(&self) -> Option<(&K, &V)> {
        (self.tail != NIL).then(|| {
            let n = &self.nodes[self.tail as usize];
            (&n.key, &n.val)
        })
    }

    /// Removes the least recently used entry (not counted as an eviction:
    /// the caller expires it).
    pub fn pop_oldest(&mut self) -> Option<(K, V)>
    where
        K: Clone,
        V: Clone,
    {
        let t = self.tail;
        if t == NIL {
            return None;
        }
        self.unlink(t);
        let h = self.nodes[t as usize].hash;
        self.table.remove(h, t);
        self.free.push(t);
        let n = &self.nodes[t as usize];
        Some((n.key.clone(), n.val.clone()))
    }

    /// The low 32 bits of every key's hash, in index order: a sequential
    /// read of the index (walking the list instead is one dependent cache
    /// miss per entry).
    pub fn hash_tags(&self) -> impl Iterator<Item = u32> + '_ {
        self.table.buckets.iter().filter(|b| b.slot != NIL).map(|b| b.tag)
    }

    /// Entries from the least to the most recently used.
    pub fn iter_oldest_first(&self) -> impl Iterator<Item = (&K, &V)> {
        let mut cur = self.tail;
        std::iter::from_fn(move || {
            if cur == NIL {
                return None;
            }
            let n = &self.nodes[cur as usize];
            cur = n.prev;
            Some((&n.key, &n.val))
        })
    }

    pub fn clear(&mut self) {
        self.table.clear();
        self.free.clear();
        self.free.extend((0..self.nodes.len() as u32).rev());
        self.head = NIL;
        self.tail = NIL;
    }

    fn unlink(&mut self, s: u32) {
        let (p, n) = (self.nodes[s as usize].prev, self.nodes[s as usize].next);
        if p != NIL {
            self.nodes[p as usize].next = n
        } else {
            self.head = n
        }
        if n != NIL { self.nodes[n as usize].prev = p } else { self.tail = p }
    }

    fn link_front(&mut self, s: u32) {
        self.nodes[s as usize].prev = NIL;
        self.nodes[s as usize].next = self.head;
        if self.head != NIL {
            self.nodes[self.head as usize].prev = s;
        } else {
            self.tail = s;
        }
        self.head = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let mut m: Lru<u32, u32> = Lru::new(3);
        for k in 0..3 {
            m.upsert(k, || k * 10);
        }
        m.touch(m.find(&0).unwrap());
        let u = m.upsert(7, || 70);
        assert_eq!(u.evicted, Some((1, 10)));
        assert_eq!(m.len(), 3);
        assert_eq!(m.evictions, 1);
        assert!(m.find(&1).is_none());
        let order: Vec<u32> = m.iter_oldest_first().map(|(k, _)| *k).collect();
        assert_eq!(order, [2, 0, 7]);
        assert_eq!(m.pop_oldest(), Some((2, 20)));
        m.upsert(8, || 80);
        assert_eq!(m.len(), 3);
        assert_eq!(m.evictions, 1);
        m.clear();
        assert_eq!(m.len(), 0);
        m.upsert(9, || 90);
        assert_eq!(*m.get(m.find(&9).unwrap()), 90);
    }
}
