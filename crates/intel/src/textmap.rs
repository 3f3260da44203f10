//! The table of one text indicator type (domains, URLs, e-mails, hashes).
//!
//! At millions of values every probe of a table is a cache and TLB miss,
//! and a domain walk probes once per label. So a probe is arranged to cost
//! at most two misses: a blocked Bloom filter (in cache) rejects almost
//! every absent key, and a present key is found in one 16-byte slot of an
//! open-addressed array, both in huge pages (see `hugemem`).
//!
//! A slot holds the key's 64-bit hash and a second, independent 32-bit
//! hash, and is taken as the key's on a match of both: a lookup never reads
//! the value itself. XXX: a false match needs a 96-bit collision between
//! the name looked up and a listed value, about n/2^96 per lookup (1e-22 at
//! 10M values); that is far below the rate of memory errors, and we take it
//! for one miss less per label.

use crate::bloom::Bloom;
use crate::hugemem::HugeArray;
use crate::model::IndicatorId;
use crate::store::IndicatorStore;
use core::hash::BuildHasher;
use foldhash::fast::FixedState;

/// The hash a table is keyed by (and its filter holds).
#[inline]
pub(crate) fn key_hash(s: &str) -> u64 {
    // 0 marks an empty slot.
    FixedState::with_seed(0x243f_6a88_85a3_08d3).hash_one(s).max(1)
}

/// The second hash that confirms a slot.
#[inline]
fn check_hash(s: &str) -> u32 {
    FixedState::with_seed(0x1319_8a2e_0370_7344).hash_one(s) as u32
}

/// What a key maps to: one indicator, or a run of several in the set's
/// member list (the same value in several feeds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextHit<'a> {
    One(&'a IndicatorId),
    Group(u32),
}

/// Marks a slot's payload as a group index rather than an indicator id.
const GROUP: u32 = 1 << 31;
/// Slots per key, at most (a load factor of at most 0.7).
const SLOTS_PER_KEY: f64 = 1.0 / 0.7;

#[derive(Debug, Default)]
pub(crate) struct TextMap {
    filter: Bloom,
    /// [hash low, hash high, payload, check]; hash 0 is an empty slot.
    slots: HugeArray<[u32; 4]>,
    len: usize,
}

impl TextMap {
    /// Builds the table from (key hash, indicator) pairs. `extra` are
    /// further filter-only keys (the domain table's roots). `group` turns a
    /// run of indicators sharing a value into a group index.
    pub(crate) fn build(
        mut entries: Vec<(u64, IndicatorId)>,
        extra: &[u64],
        store: &IndicatorStore,
        mut group: impl FnMut(&[IndicatorId]) -> u32,
    ) -> Self {
        let mut filter = Bloom::with_capacity(entries.len() + extra.len());
        extra.iter().for_each(|&h| filter.insert(h));
        // One slot per distinct value: (hash, check, its indicators).
        entries.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| store.value(a.1).cmp(store.value(b.1))).then(a.1.cmp(&b.1))
        });
        let keys: Vec<&[(u64, IndicatorId)]> =
            entries.chunk_by(|a, b| a.0 == b.0 && store.value(a.1) == store.value(b.1)).collect();
        let capacity = ((keys.len() as f64 * SLOTS_PER_KEY) as usize).max(keys.len() + 1);
        let mut map = TextMap { filter, slots: HugeArray::zeroed(if keys.is_empty() { 0 } else { capacity }), len: 0 };
        for run in keys {
            let (hash, first) = run[0];
            let ids: Vec<IndicatorId> = run.iter().map(|e| e.1).collect();
            let payload = match ids.as_slice() {
                [one] => {
                    debug_assert!(*one < GROUP, "indicator ids stay below 2^31");
                    *one
                }
                many => group(many) | GROUP,
            };
            map.filter.insert(hash);
            // XXX: two distinct values sharing both hashes (odds ~n²/2^97,
            // 6e-16 at 10M) would take two slots and the second would never
            // be found; the check hash makes that too rare to handle.
            map.insert(hash, check_hash(store.value(first)), payload);
        }
        map
    }

    #[inline]
    fn start(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize
    }

    fn insert(&mut self, hash: u64, check: u32, payload: u32) {
        let mut i = self.start(hash);
        while self.slots[i][0] | self.slots[i][1] != 0 {
            i = if i + 1 == self.slots.len() { 0 } else { i + 1 };
        }
        self.slots[i] = [hash as u32, (hash >> 32) as u32, payload, check];
        self.len += 1;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a key (or an extra filter key) may be present; false is
    /// certain.
    #[inline]
    pub(crate) fn may_contain(&self, hash: u64) -> bool {
        self.filter.may_contain(hash)
    }

    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<TextHit<'_>> {
        self.get_hashed(key, key_hash(key))
    }

    #[inline]
    pub(crate) fn get_hashed(&self, key: &str, hash: u64) -> Option<TextHit<'_>> {
        if !self.filter.may_contain(hash) || self.slots.is_empty() {
            return None;
        }
        let (lo, hi) = (hash as u32, (hash >> 32) as u32);
        let mut check = None;
        let mut i = self.start(hash);
        loop {
            let slot = &self.slots[i];
            if slot[0] | slot[1] == 0 {
                return None;
            }
            if slot[0] == lo && slot[1] == hi && slot[3] == *check.get_or_insert_with(|| check_hash(key)) {
                return Some(if slot[2] & GROUP != 0 {
                    TextHit::Group(slot[2] & !GROUP)
                } else {
                    TextHit::One(&slot[2])
                });
            }
            i = if i + 1 == self.slots.len() { 0 } else { i + 1 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Indicator, IndicatorType};
    use std::sync::Arc;

    fn store(values: &[&str]) -> (IndicatorStore, Vec<IndicatorId>) {
        let mut s = IndicatorStore::default();
        let feed: Arc<str> = Arc::from("t");
        let ids = values
            .iter()
            .enumerate()
            .map(|(i, v)| s.push(&Indicator::new(i.to_string().as_str(), IndicatorType::Domain, *v, &feed)))
            .collect();
        (s, ids)
    }

    #[test]
    fn finds_every_value_and_groups_repeats() {
        let (s, ids) = store(&["a.example", "b.example", "b.example", "c.example"]);
        let entries = ids.iter().map(|&id| (key_hash(s.value(id)), id)).collect();
        let mut groups = Vec::new();
        let map = TextMap::build(entries, &[], &s, |run| {
            groups.push(run.to_vec());
            groups.len() as u32 - 1
        });
        assert_eq!(map.get("a.example"), Some(TextHit::One(&ids[0])));
        assert_eq!(map.get("b.example"), Some(TextHit::Group(0)));
        assert_eq!(groups[0], ids[1..3]);
        assert_eq!(map.get("c.example"), Some(TextHit::One(&ids[3])));
        assert_eq!(map.get("d.example"), None);
    }

    #[test]
    fn values_sharing_the_table_hash_are_told_apart() {
        let (s, ids) = store(&["a.example", "b.example", "c.example"]);
        // As if all three collided in the 64-bit hash (and the filter).
        let entries = ids.iter().map(|&id| (7, id)).collect();
        let map = TextMap::build(entries, &[], &s, |_| unreachable!());
        for (v, id) in ["a.example", "b.example", "c.example"].iter().zip(&ids) {
            assert_eq!(map.get_hashed(v, 7), Some(TextHit::One(id)));
        }
        assert_eq!(map.get_hashed("d.example", 7), None);
    }

    #[test]
    fn empty_table_finds_nothing() {
        let (s, _) = store(&[]);
        let map = TextMap::build(Vec::new(), &[], &s, |_| unreachable!());
        assert!(map.is_empty());
        assert_eq!(map.get("a.example"), None);
    }
}
