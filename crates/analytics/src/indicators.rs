//! The indicator table: one record per distinct indicator (id, type, value,
//! threat type, feed) with its hit statistics and its count in the current
//! window. The per-window top-N of indicator id/type/threat type/value/feed
//! are aggregated from the records touched in the window, so an event costs
//! one lookup here instead of five counter updates.

use crate::event::IndicatorIn;
use crate::intern::Syms;
use crate::lru::Lru;
use crate::output::{HitStat, IndicatorOut};
use crate::topn::{Ranked, top};
use crate::util::{hash_of, hash_strs, same};
use hashbrown::HashMap;

/// The five strings in one allocation, shared with the outputs that name
/// the indicator.
pub(crate) struct IndKey(IndicatorOut);

impl IndKey {
    fn new(x: &IndicatorIn<'_>) -> Self {
        IndKey(IndicatorOut::new([x.id, x.r#type, x.value, x.threat_type, x.feed]))
    }

    fn part(&self, i: usize) -> &str {
        self.0.part(i)
    }

    fn parts(&self) -> (&str, &str, &str, &str, &str) {
        (self.part(0), self.part(1), self.part(2), self.part(3), self.part(4))
    }

    /// Same as comparing [`IndKey::parts`]: the part lengths first (no
    /// string compare for most mismatches), then the bytes.
    fn is(&self, x: &IndicatorIn<'_>) -> bool {
        let parts = [x.id, x.r#type, x.value, x.threat_type, x.feed];
        let mut end = 0usize;
        for (p, &e) in parts.iter().zip(&self.0.ends) {
            end += p.len();
            if end != e as usize {
                return false;
            }
        }
        let b = self.0.s.as_bytes();
        let mut start = 0;
        parts.iter().zip(&self.0.ends).all(|(p, &e)| {
            let eq = b.get(start..e as usize).is_some_and(|q| same(q, p.as_bytes()));
            start = e as usize;
            eq
        })
    }

    pub fn id(&self) -> &str {
        self.part(0)
    }

    pub fn feed(&self) -> &str {
        self.part(4)
    }

    pub fn out(&self) -> IndicatorOut {
        self.0.clone()
    }
}

impl PartialEq for IndKey {
    fn eq(&self, o: &Self) -> bool {
        self.parts() == o.parts()
    }
}
impl Eq for IndKey {}

impl IndKey {
    /// Same as [`ind_hash`] of the borrowed indicator.
    fn hash(&self) -> u64 {
        hash_strs(&[self.part(0), self.part(1), self.part(2), self.part(3), self.part(4)])
    }
}

/// Identity of an indicator across tables (throttle keys, correlation).
pub(crate) fn ind_hash(x: &IndicatorIn<'_>) -> u64 {
    hash_strs(&[x.id, x.r#type, x.value, x.threat_type, x.feed])
}

#[derive(Clone, Copy, Default)]
pub(crate) struct IndRec {
    /// What the engine and the correlation rules derive from the strings,
    /// computed once per record instead of once per event.
    pub tags: IndTags,
    pub count: u64,
    pub first_ns: i64,
    pub last_ns: i64,
    pub win_count: u64,
    win_seq: u64,
    listed_seq: u64,
}

pub(crate) struct Indicators {
    pub lru: Lru<IndKey, IndRec>,
    /// Slots touched in the current window (may repeat after an eviction).
    touched: Vec<u32>,
}

/// Per indicator: its feed's symbol, and the tags the correlation rules
/// count distinct (the hashes of its value and of its type).
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct IndTags {
    pub feed: u32,
    pub value: u64,
    pub r#type: u64,
}

/// Identifies a record that may have been evicted since (`slot` reused).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct IndRef {
    pub slot: u32,
    pub hash: u64,
}

impl Indicators {
    pub fn new(cap: usize) -> Self {
        Indicators { lru: Lru::new(cap), touched: Vec::new() }
    }

    /// Counts one hit of `x` at `ts` in window `seq`.
    /// `hash` is [`ind_hash`] of `x`; `syms` names the feed of a new record.
    #[inline(always)]
    pub fn hit(&mut self, x: &IndicatorIn<'_>, hash: u64, ts: i64, seq: u64, syms: &mut Syms) -> (IndRef, IndTags) {
        let slot = match self.lru.find_with(hash, |k| k.is(x)) {
            Some(s) => {
                // Recency refreshed once per window (see Lru::upsert_untouched).
                if self.lru.get(s).win_seq != seq {
                    self.lru.touch(s);
                }
                s
            }
            None => {
                let tags = IndTags { feed: syms.intern(x.feed), value: hash_of(x.value), r#type: hash_of(x.r#type) };
                let rec = IndRec { tags, first_ns: ts, last_ns: ts, ..IndRec::default() };
                self.lru.insert_new(hash, IndKey::new(x), rec).0
            }
        };
        let r = self.lru.get_mut(slot);
        let tags = r.tags;
        r.count += 1;
        r.first_ns = r.first_ns.min(ts);
        r.last_ns = r.last_ns.max(ts);
        if r.win_seq != seq {
            r.win_seq = seq;
            r.win_count = 0;
        }
        r.win_count += 1;
        if r.listed_seq != seq {
            r.listed_seq = seq;
            self.touched.push(slot);
            // Slots listed again after evictions: keep the list bounded.
            if self.touched.len() > 2 * self.lru.cap() {
                self.touched.sort_unstable();
                self.touched.dedup();
            }
        }
        (IndRef { slot, hash }, tags)
    }

    /// The record behind `r`, unless it was evicted since.
    pub fn resolve(&self, r: IndRef) -> Option<&IndKey> {
        let k = self.lru.key(r.slot);
        (k.hash() == r.hash).then_some(k)
    }

    /// Top-N of the indicator keys and the hit statistics for window `seq`,
    /// then forgets the window.
    pub fn close_window(&mut self, seq: u64, n: usize) -> Closed {
        // A slot listed twice (evicted and reused) is taken once. (Sorting
        // slot numbers, not the indicators' strings: the outputs below are
        // ordered by their own keys.)
        self.touched.sort_unstable();
        self.touched.dedup();
        let mut seen: Vec<(&IndKey, IndRec)> = Vec::with_capacity(self.touched.len());
        for &s in &self.touched {
            let r = *self.lru.get(s);
            if r.win_seq == seq && r.win_count > 0 {
                seen.push((self.lru.key(s), r));
            }
        }
        let by = |part: usize| {
            let mut m: HashMap<&str, u64> = HashMap::new();
            for (k, r) in &seen {
                // No threat type: not counted under that key.
                if !k.part(part).is_empty() || part != 3 {
                    *m.entry(k.part(part)).or_default() += r.win_count;
                }
            }
            let t: u64 = m.values().sum();
            // Exact over the indicators still in the table (one evicted
            // in the window takes its count with it; that eviction is
            // counted under the indicators table).
            (t, top(m.into_iter().collect(), n).into_iter().map(|(v, c)| (v.to_string(), c)).collect(), 0)
        };
        let keys = [
            ("indicator_id", by(0)),
            ("indicator_type", by(1)),
            ("indicator_value", by(2)),
            ("threat_type", by(3)),
            ("feed", by(4)),
        ];
        let mut hits: Vec<(IndicatorOut, HitStat)> = seen
            .iter()
            .map(|(k, r)| {
                let st =
                    HitStat { window_count: r.win_count, count: r.count, first_ns: r.first_ns, last_ns: r.last_ns };
                (k.out(), st)
            })
            .collect();
        // Ties broken by the whole indicator, so the order never depends on
        // the table's slots.
        hits.sort_unstable_by(|a, b| {
            b.1.window_count
                .cmp(&a.1.window_count)
                .then_with(|| (a.0.feed(), a.0.id()).cmp(&(b.0.feed(), b.0.id())))
                .then_with(|| (0..5).map(|i| a.0.part(i)).cmp((0..5).map(|i| b.0.part(i))))
        });
        self.touched.clear();
        Closed { keys, hits }
    }
}

pub(crate) struct Closed {
    pub keys: [(&'static str, Ranked); 5],
    pub hits: Vec<(IndicatorOut, HitStat)>,
}
