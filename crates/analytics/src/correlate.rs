//! Correlation rules (issue 8): DNS → connection, K distinct indicators or
//! types per host, one indicator seen by several sensors.
//!
//! Exact semantics (pinned by tests):
//! - `DnsThenConnect`: a `dns` event (intel or rule) whose answers hold A/AAAA
//!   addresses records `(host, addr)` for each address (host = the client,
//!   see [`EventIn::host`]); the latest DNS event per pair wins. A later
//!   non-DNS event whose host is that host and whose `dst_ip` is one of those
//!   addresses, with `0 <= ts - dns.ts <= within_s`, fires with events
//!   `[dns id, connection id]`. A connection seen before the DNS answer never
//!   fires (the pair is not known yet; an out-of-order connection with an
//!   earlier `ts` is also rejected).
//! - `DistinctIndicators` / `DistinctTypes`: per host, the distinct indicator
//!   values (or types) of `intel` events in the sliding span
//!   `[ts - within_s, ts]`, the latest event per value kept; fires when there
//!   are `k`, with the ids of those `k` events (oldest first).
//! - `MultiSensor`: per indicator (id, type, value, threat type, feed), the
//!   distinct sensors in `[ts - within_s, ts]`; fires when there are
//!   `sensors`, with one event id per sensor; the incident's host is that of
//!   the completing event.
//! - Dedup: each rule fires at most once per window (the engine's tumbling
//!   window) per `(rule, host)` for `DistinctIndicators` / `DistinctTypes`,
//!   per `(rule, host, DNS event's indicator)` for `DnsThenConnect`, and per
//!   `(rule, indicator)` for `MultiSensor` (kept in the rule's entry for
//!   that host or indicator: if the entry is evicted, the rule may fire again
//!   in the same window). The incident id is
//!   `analytics:RULE:WINDOW_START_S:HOST[:INDICATOR_HASH]`, so the same input
//!   gives the same ids however the stream is partitioned by host.

use crate::event::EventIn;
use crate::indicators::{IndRef, Indicators};
use crate::lru::Lru;
use crate::output::Incident;
use crate::util::{HASH, InlineStr, IpKey, hash_of};
use hashbrown::HashSet;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorrelationRule {
    DnsThenConnect { name: String, within_s: u64 },
    DistinctIndicators { name: String, within_s: u64, k: usize },
    DistinctTypes { name: String, within_s: u64, k: usize },
    MultiSensor { name: String, within_s: u64, sensors: usize },
}

#[derive(Clone, Default)]
struct DnsRec {
    ts: i64,
    id: InlineStr,
    ind: Option<IndRef>,
}

/// A 64k-bit filter over the answer addresses in the DNS table: most
/// connections go to addresses no listed DNS answer held, and a bit test in
/// an 8 KB array is much cheaper than a miss in a large table. Bits are only
/// set between rebuilds (at window close), so it has false positives (a
/// wasted lookup), never false negatives.
struct AddrFilter(Vec<u64>);

impl AddrFilter {
    fn new() -> Self {
        AddrFilter(vec![0; 1024])
    }

    #[inline]
    fn bit(a: IpKey) -> usize {
        (((a.0 ^ (a.0 >> 64)) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as usize
    }

    fn set(&mut self, a: IpKey) {
        let b = Self::bit(a);
        self.0[b / 64] |= 1 << (b % 64);
    }

    #[inline]
    fn test(&self, a: IpKey) -> bool {
        let b = Self::bit(a);
        self.0[b / 64] & (1 << (b % 64)) != 0
    }
}

enum State {
    Dns(Lru<(IpKey, IpKey), DnsRec>, AddrFilter),
    /// Keyed by host (distinct values/types) or indicator hash (sensors).
    Recent(Lru<u128, Recent>),
}

/// The distinct tags (value, type or sensor hashes) seen recently for one
/// key, with the latest event per tag. Split hot (`ts`, tag: read on every
/// event) and cold (event id, indicator: read when updated or firing) so an
/// event touches fewer cache lines.
#[derive(Default)]
struct Recent {
    /// Window in which the entry was last moved to the front of the list.
    seq: u64,
    /// Window in which the rule fired for this key (the dedup key of these
    /// rules is the table key; an evicted entry forgets it).
    fired_seq: u64,
    hot: Vec<(i64, u64)>,
    cold: Vec<(InlineStr, Option<IndRef>)>,
}

impl Recent {
    fn clear(&mut self) {
        self.hot.clear();
        self.cold.clear();
    }

    fn remove(&mut self, j: usize) {
        self.hot.swap_remove(j);
        self.cold.swap_remove(j);
    }
}

struct Rule {
    name: String,
    within_ns: i64,
    k: usize,
    kind: u8,
    state: State,
}

const DNS: u8 = 0;
const VALUES: u8 = 1;
const TYPES: u8 = 2;
const SENSORS: u8 = 3;

pub(crate) struct Correlator {
    rules: Vec<Rule>,
    fired: HashSet<(u16, Option<IpAddr>, u64), foldhash::fast::FixedState>,
    cap: usize,
    pub fired_overflow: u64,
}

/// What the engine already knows about the event.
pub(crate) struct Ctx<'e, 'a> {
    pub e: &'e EventIn<'a>,
    pub host: Option<IpAddr>,
    pub ind: Option<IndRef>,
    pub window_start_ns: i64,
    /// Window sequence number (recency refreshed once per window).
    pub seq: u64,
}

fn ip_key(ip: IpAddr) -> u128 {
    IpKey::from(ip).0
}

impl Correlator {
    pub fn new(rules: &[CorrelationRule], cap: usize) -> Self {
        let rules = rules
            .iter()
            .map(|r| {
                let (name, within_s, k, kind) = match r {
                    CorrelationRule::DnsThenConnect { name, within_s } => (name, within_s, 0, DNS),
                    CorrelationRule::DistinctIndicators { name, within_s, k } => (name, within_s, *k, VALUES),
                    CorrelationRule::DistinctTypes { name, within_s, k } => (name, within_s, *k, TYPES),
                    CorrelationRule::MultiSensor { name, within_s, sensors } => (name, within_s, *sensors, SENSORS),
                };
                let state = if kind == DNS {
                    State::Dns(Lru::new(cap), AddrFilter::new())
                } else {
                    State::Recent(Lru::new(cap))
                };
                Rule {
                    name: name.clone(),
                    within_ns: (*within_s as i64).saturating_mul(1_000_000_000),
                    k: k.max(1),
                    kind,
                    state,
                }
            })
            .collect();
        Correlator { rules, fired: HashSet::with_hasher(HASH), cap, fired_overflow: 0 }
    }

    /// (keys, evictions) over all rule tables.
    pub fn table_stats(&self) -> (usize, u64) {
        self.rules.iter().fold((0, 0), |(k, ev), r| match &r.state {
            State::Dns(t, _) => (k + t.len(), ev + t.evictions),
            State::Recent(t) => (k + t.len(), ev + t.evictions),
        })
    }

    pub fn fired_len(&self) -> usize {
        self.fired.len()
    }

    pub fn close_window(&mut self) {
        self.fired.clear();
        // Drop the bits of evicted answers.
        for r in &mut self.rules {
            if let State::Dns(t, f) = &mut r.state {
                f.0.iter_mut().for_each(|w| *w = 0);
                for ((_, addr), _) in t.iter_oldest_first() {
                    f.set(*addr);
                }
            }
        }
    }

    /// False when the rule already fired for this key in the window.
    fn first_firing(&mut self, rule: usize, host: Option<IpAddr>, ind: u64) -> bool {
        let key = (rule as u16, host, ind);
        if self.fired.contains(&key) {
            return false;
        }
        if self.fired.len() < self.cap {
            self.fired.insert(key);
        } else {
            // XXX: table full: fire anyway (an incident may repeat) and count it.
            self.fired_overflow += 1;
        }
        true
    }

    pub fn push(&mut self, c: &Ctx<'_, '_>, inds: &Indicators, out: &mut Vec<Incident>) {
        for ri in 0..self.rules.len() {
            match self.rules[ri].kind {
                DNS => self.dns(ri, c, inds, out),
                _ => self.recent(ri, c, inds, out),
            }
        }
    }

    fn dns(&mut self, ri: usize, c: &Ctx<'_, '_>, inds: &Indicators, out: &mut Vec<Incident>) {
        let e = c.e;
        let Some(host) = c.host else { return };
        let within = self.rules[ri].within_ns;
        let State::Dns(t, filter) = &mut self.rules[ri].state else { return };
        if e.input == "dns" {
            if e.indicator.is_some() || e.rule.is_some() {
                for &addr in e.answer_addrs.as_slice() {
                    filter.set(addr.into());
                    let u = t.upsert((host.into(), addr.into()), DnsRec::default);
                    let r = t.get_mut(u.slot);
                    r.ts = e.ts_ns;
                    r.id.set(e.id);
                    r.ind = c.ind;
                }
            }
            return;
        }
        let Some(dst) = e.dst_ip else { return };
        if !filter.test(dst.into()) {
            return;
        }
        let Some(slot) = t.find(&(host.into(), dst.into())) else { return };
        let r = t.get(slot).clone();
        let dt = e.ts_ns.saturating_sub(r.ts);
        if dt < 0 || dt > within || r.id.as_str() == e.id {
            return;
        }
        let ind_h = r.ind.map_or(0, |i| i.hash);
        if self.first_firing(ri, Some(host), ind_h) {
            let mut ind_refs = vec![r.ind];
            if c.ind.map(|i| i.hash) != r.ind.map(|i| i.hash) {
                ind_refs.push(c.ind);
            }
            let suffix = r.ind.map(|i| format!(":{:016x}", i.hash));
            let ids = vec![r.id.as_str().to_string(), e.id.to_string()];
            out.push(self.incident(ri, c, inds, ids, &ind_refs, Some(host), suffix));
        }
    }

    fn recent(&mut self, ri: usize, c: &Ctx<'_, '_>, inds: &Indicators, out: &mut Vec<Incident>) {
        let e = c.e;
        let (Some(x), Some(ind)) = (e.indicator.as_ref(), c.ind) else { return };
        let rule = &mut self.rules[ri];
        let kind = rule.kind;
        let (key, tag) = match kind {
            VALUES => (
                ip_key(match c.host {
                    Some(h) => h,
                    None => return,
                }),
                hash_of(x.value),
            ),
            TYPES => (
                ip_key(match c.host {
                    Some(h) => h,
                    None => return,
                }),
                hash_of(x.r#type),
            ),
            _ => (ind.hash as u128, hash_of(e.sensor)),
        };
        let (within, k) = (rule.within_ns, rule.k);
        let State::Recent(t) = &mut rule.state else { return };
        let slot = match t.find(&key) {
            Some(s) => {
                if t.get(s).seq != c.seq {
                    t.touch(s);
                }
                s
            }
            None => {
                let (s, ev) = t.insert_new(hash_of(&key), key, Recent::default());
                // Reuse the evicted entry's buffers.
                if let Some((_, mut v)) = ev {
                    v.clear();
                    *t.get_mut(s) = v;
                }
                s
            }
        };
        let r = t.get_mut(slot);
        r.seq = c.seq;
        let now = e.ts_ns;
        let cutoff = now.saturating_sub(within);
        let mut j = 0;
        while j < r.hot.len() {
            if r.hot[j].0 < cutoff { r.remove(j) } else { j += 1 }
        }
        match r.hot.iter().position(|h| h.1 == tag) {
            Some(j) => {
                if now >= r.hot[j].0 {
                    r.hot[j].0 = now;
                    r.cold[j].0.set(e.id);
                    r.cold[j].1 = Some(ind);
                }
            }
            None => {
                if r.hot.len() >= k
                    && let Some(oldest) = (0..r.hot.len()).min_by_key(|&j| (r.hot[j].0, j))
                {
                    r.remove(oldest);
                }
                let mut id = InlineStr::default();
                id.set(e.id);
                r.hot.push((now, tag));
                r.cold.push((id, Some(ind)));
            }
        }
        // Checked before building anything: most events of a busy key land here.
        if r.hot.len() < k || r.fired_seq == c.seq {
            return;
        }
        r.fired_seq = c.seq;
        let fire_host = if kind == SENSORS { None } else { c.host };
        let mut chosen: Vec<(i64, String, Option<IndRef>)> =
            r.hot.iter().zip(&r.cold).map(|(h, c)| (h.0, c.0.as_str().to_string(), c.1)).collect();
        chosen.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        {
            let mut refs: Vec<Option<IndRef>> = Vec::new();
            for (_, _, r) in &chosen {
                if !refs.iter().any(|x| x.map(|x| x.hash) == r.map(|r| r.hash)) {
                    refs.push(*r);
                }
            }
            let ids = chosen.into_iter().map(|x| x.1).collect();
            let suffix = (kind == SENSORS).then(|| format!(":{:016x}", ind.hash));
            out.push(self.incident(ri, c, inds, ids, &refs, fire_host, suffix));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn incident(
        &self,
        ri: usize,
        c: &Ctx<'_, '_>,
        inds: &Indicators,
        events: Vec<String>,
        refs: &[Option<IndRef>],
        id_host: Option<IpAddr>,
        suffix: Option<String>,
    ) -> Incident {
        let name = &self.rules[ri].name;
        let host = id_host.map_or_else(|| "-".to_string(), |h| h.to_string());
        let ws = c.window_start_ns.div_euclid(1_000_000_000);
        Incident {
            id: format!("analytics:{name}:{ws}:{host}{}", suffix.unwrap_or_default()),
            rule: name.clone(),
            host: c.host,
            events,
            ts_ns: c.e.ts_ns,
            location: c.e.location.to_string(),
            value: c.e.value.to_string(),
            // An indicator evicted from the table meanwhile is left out.
            indicators: refs.iter().flatten().filter_map(|r| inds.resolve(*r)).map(|k| k.out()).collect(),
        }
    }
}
