//! Data sets that arrived before their template, held (copied) until the
//! template comes, bounded in count and bytes; the oldest go first when
//! either bound is reached, and all go after the template timeout.

use super::{Header, TemplateKey};
use std::collections::VecDeque;

pub(super) struct Held {
    pub key: TemplateKey,
    pub header: Header,
    received_secs: u64,
    pub data: Box<[u8]>,
}

#[derive(Default)]
pub(super) struct Pending {
    sets: VecDeque<Held>,
    bytes: usize,
}

impl Pending {
    pub(super) fn len(&self) -> usize {
        self.sets.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Holds a copy of `data`. Returns how many held sets were dropped to
    /// make room (or 1 if this one could not be held at all) and whether
    /// this one is held.
    pub(super) fn hold(
        &mut self,
        key: TemplateKey,
        header: Header,
        data: &[u8],
        now: u64,
        max_sets: usize,
        max_bytes: usize,
    ) -> (usize, bool) {
        if max_sets == 0 || data.len() > max_bytes {
            return (1, false);
        }
        let mut dropped = 0;
        while self.sets.len() >= max_sets || self.bytes + data.len() > max_bytes {
            match self.sets.pop_front() {
                Some(h) => {
                    self.bytes -= h.data.len();
                    dropped += 1;
                }
                None => break,
            }
        }
        self.bytes += data.len();
        self.sets.push_back(Held { key, header, received_secs: now, data: data.into() });
        (dropped, true)
    }

    /// The oldest held set for `key`, removed.
    pub(super) fn take(&mut self, key: &TemplateKey) -> Option<Held> {
        let i = self.sets.iter().position(|h| h.key == *key)?;
        let h = self.sets.remove(i)?;
        self.bytes -= h.data.len();
        Some(h)
    }

    /// Drops sets held for more than `timeout` seconds; returns how many.
    pub(super) fn expire(&mut self, now: u64, timeout: u64) -> usize {
        let before = self.sets.len();
        let bytes = &mut self.bytes;
        self.sets.retain(|h| {
            let keep = now.saturating_sub(h.received_secs) <= timeout;
            if !keep {
                *bytes -= h.data.len();
            }
            keep
        });
        before - self.sets.len()
    }
}
