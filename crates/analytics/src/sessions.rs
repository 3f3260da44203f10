//! Per IP-pair sessions (the original's de-duplication): the pair is
//! unordered, so a request and its reply are one session; a session ends
//! after `session_idle_s` without events (reported when the clock, i.e. the
//! highest `ts` seen, passes `last + idle`), when evicted from a full table,
//! or at finish.
//!
//! XXX: expiry walks the sessions in the order they were last moved to the
//! front of the list, which happens at most once a second per session (and
//! events may be out of order): a session can be reported up to about a
//! second after its idle deadline, never before.

use crate::lru::Lru;
use crate::output::{Output, SessionEnd, SessionReport};
use crate::util::{IpKey, hash_of};
use std::net::IpAddr;

#[derive(Clone, Copy)]
struct Sess {
    first: i64,
    last: i64,
    /// `last` when the entry last moved to the front of the list.
    touched: i64,
    count: u64,
    src: IpAddr,
    dst: IpAddr,
}

pub(crate) struct Sessions {
    lru: Lru<(IpKey, IpKey), Sess>,
    idle_ns: i64,
}

fn report(s: &Sess, end: SessionEnd) -> Output {
    Output::Session(SessionReport { src: s.src, dst: s.dst, first_ns: s.first, last_ns: s.last, count: s.count, end })
}

impl Sessions {
    pub fn new(cap: usize, idle_ns: i64) -> Self {
        Sessions { lru: Lru::new(cap), idle_ns }
    }

    pub fn len(&self) -> usize {
        self.lru.len()
    }

    pub fn evictions(&self) -> u64 {
        self.lru.evictions
    }

    /// The table key of a pair and its hash (to prefetch, then [`Sessions::hit`]).
    #[inline]
    pub fn key(&self, src: IpAddr, dst: IpAddr) -> ((IpKey, IpKey), u64) {
        let (a, b) = (IpKey::from(src), IpKey::from(dst));
        let key = if a <= b { (a, b) } else { (b, a) };
        let h = hash_of(&key);
        self.lru.prefetch(h);
        (key, h)
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn hit(
        &mut self,
        (key, h): ((IpKey, IpKey), u64),
        src: IpAddr,
        dst: IpAddr,
        ts: i64,
        out: &mut Vec<Output>,
        n: &mut u64,
    ) {
        let u =
            self.lru.upsert_untouched_hashed(h, key, || Sess { first: ts, last: ts, touched: ts, count: 0, src, dst });
        if let Some((_, s)) = u.evicted {
            out.push(report(&s, SessionEnd::Evicted));
            *n += 1;
        }
        let s = self.lru.get_mut(u.slot);
        // Moving to the front costs three random cache lines: done when the
        // session advanced by a second or more (see the XXX above).
        if ts >= s.touched.saturating_add(1_000_000_000) {
            s.touched = ts;
            self.lru.touch(u.slot);
        }
        let s = self.lru.get_mut(u.slot);
        s.count += 1;
        s.first = s.first.min(ts);
        s.last = s.last.max(ts);
    }

    /// Reports sessions idle at `now`.
    pub fn expire(&mut self, now: i64, out: &mut Vec<Output>, n: &mut u64) {
        while let Some((_, s)) = self.lru.oldest() {
            if now.saturating_sub(s.last) < self.idle_ns {
                break;
            }
            if let Some((_, s)) = self.lru.pop_oldest() {
                out.push(report(&s, SessionEnd::Idle));
                *n += 1;
            }
        }
    }

    /// Reports every open session, least recently updated first.
    pub fn finish(&mut self, out: &mut Vec<Output>, n: &mut u64) {
        for (_, s) in self.lru.iter_oldest_first() {
            out.push(report(s, SessionEnd::Finish));
            *n += 1;
        }
        self.lru.clear();
    }
}
