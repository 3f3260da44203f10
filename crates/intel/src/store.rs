//! Compact storage of indicators: every string in one arena, a 32-byte
//! record per indicator, feed names and threat types interned. At 10M
//! indicators this is what keeps the set inside its memory budget (one heap
//! allocation per indicator costs more than the record itself).

use crate::model::{Indicator, IndicatorId, IndicatorType};
use std::collections::HashMap;

const NONE: u32 = u32::MAX;
/// `id_len` value meaning "the id is the value" (plain lists, Maltrail).
const ID_IS_VALUE: u16 = u16::MAX;

#[derive(Debug, Clone, Copy)]
struct Record {
    value_off: u32,
    value_len: u32,
    id_off: u32,
    id_len: u16,
    feed: u16,
    threat: u32,
    /// Index into `extras`, or NONE.
    extra: u32,
    kind: IndicatorType,
    /// 0–100, or 255 for none.
    confidence: u8,
    port: Option<u16>,
}

/// A borrowed view of one stored indicator, with the fields of [`Indicator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicatorView<'a> {
    pub id: &'a str,
    pub kind: IndicatorType,
    pub value: &'a str,
    pub threat_type: Option<&'a str>,
    pub feed: &'a str,
    pub confidence: Option<u8>,
    pub port: Option<u16>,
    pub first_seen: Option<&'a str>,
    pub last_seen: Option<&'a str>,
}

#[derive(Debug, Default)]
pub(crate) struct IndicatorStore {
    arena: String,
    records: Vec<Record>,
    feeds: Vec<Box<str>>,
    threats: Vec<Box<str>>,
    /// (first_seen, last_seen) as arena (offset, len), NONE offset for absent.
    extras: Vec<[(u32, u32); 2]>,
    feed_index: HashMap<Box<str>, u16>,
    threat_index: HashMap<Box<str>, u32>,
}

impl IndicatorStore {
    fn put(&mut self, s: &str) -> (u32, u32) {
        // XXX: offsets are 32-bit: 4 GiB of indicator text (~100M indicators).
        let off = u32::try_from(self.arena.len()).unwrap_or(NONE);
        self.arena.push_str(s);
        (off, s.len() as u32)
    }

    fn intern_threat(&mut self, t: &str) -> u32 {
        if let Some(&i) = self.threat_index.get(t) {
            return i;
        }
        let i = self.threats.len() as u32;
        self.threats.push(t.into());
        self.threat_index.insert(t.into(), i);
        i
    }

    fn intern_feed(&mut self, f: &str) -> u16 {
        if let Some(&i) = self.feed_index.get(f) {
            return i;
        }
        let i = self.feeds.len().min(u16::MAX as usize) as u16;
        self.feeds.push(f.into());
        self.feed_index.insert(f.into(), i);
        i
    }

    pub(crate) fn push(&mut self, ind: &Indicator) -> IndicatorId {
        let (value_off, value_len) = self.put(&ind.value);
        let (id_off, id_len) = if ind.id == ind.value {
            (value_off, ID_IS_VALUE)
        } else {
            // Ids longer than 64 KiB - 2 are cut (no feed has them).
            let id = &ind.id[..ind.id.floor_char_boundary((ID_IS_VALUE - 1) as usize)];
            let (o, l) = self.put(id);
            (o, l as u16)
        };
        let feed = self.intern_feed(&ind.feed);
        let threat = ind.threat_type.as_deref().map_or(NONE, |t| self.intern_threat(t));
        let extra = if ind.first_seen.is_some() || ind.last_seen.is_some() {
            let mut pair = [(NONE, 0); 2];
            for (slot, v) in pair.iter_mut().zip([&ind.first_seen, &ind.last_seen]) {
                if let Some(v) = v {
                    *slot = self.put(v);
                }
            }
            self.extras.push(pair);
            (self.extras.len() - 1) as u32
        } else {
            NONE
        };
        self.records.push(Record {
            value_off,
            value_len,
            id_off,
            id_len,
            feed,
            threat,
            extra,
            kind: ind.kind,
            confidence: ind.confidence.map_or(255, |c| c.min(100)),
            port: ind.port,
        });
        (self.records.len() - 1) as IndicatorId
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    fn text(&self, off: u32, len: u32) -> &str {
        self.arena.get(off as usize..off as usize + len as usize).unwrap_or("")
    }

    pub(crate) fn value(&self, id: IndicatorId) -> &str {
        let r = &self.records[id as usize];
        self.text(r.value_off, r.value_len)
    }

    pub(crate) fn kind(&self, id: IndicatorId) -> IndicatorType {
        self.records[id as usize].kind
    }

    pub(crate) fn get(&self, id: IndicatorId) -> IndicatorView<'_> {
        let r = &self.records[id as usize];
        let value = self.text(r.value_off, r.value_len);
        let (first_seen, last_seen) = match self.extras.get(r.extra as usize) {
            Some([f, l]) => {
                let opt = |(o, n): (u32, u32)| (o != NONE).then(|| self.text(o, n));
                (opt(*f), opt(*l))
            }
            None => (None, None),
        };
        IndicatorView {
            id: if r.id_len == ID_IS_VALUE { value } else { self.text(r.id_off, r.id_len as u32) },
            kind: r.kind,
            value,
            threat_type: self.threats.get(r.threat as usize).map(|t| &**t),
            feed: self.feeds.get(r.feed as usize).map_or("", |f| &**f),
            confidence: (r.confidence != 255).then_some(r.confidence),
            port: r.port,
            first_seen,
            last_seen,
        }
    }

    /// Drops what only loading needed and trims spare capacity.
    pub(crate) fn finish(&mut self) {
        self.feed_index = HashMap::new();
        self.threat_index = HashMap::new();
        self.arena.shrink_to_fit();
        self.records.shrink_to_fit();
        self.extras.shrink_to_fit();
    }
}
