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

//!
//! Layout (one lookup per event and group of rules, not per rule):
//! - all `DnsThenConnect` rules share one `(host, address)` table: they
//!   record the same pairs in the same order, only `within_s` and the dedup
//!   differ;
//! - all `DistinctIndicators` / `DistinctTypes` rules share one table keyed
//!   by host (they see the same events: intel with a host), each rule with
//!   its own fixed region of `k` entries in the host's record;
//! - `MultiSensor` state lives beside the indicator table's records (indexed
//!   by its slot): that table sees the same indicators in the same order
//!   with the same recency policy, so it evicts exactly when a per-rule
//!   table keyed by the indicator would. (The per-rule table was keyed by the
//!   64-bit indicator hash: two indicators with the same hash shared an
//!   entry; here they do not.)
//!
//! Table statistics count each rule's view (a shared table counts once per
//! rule using it), as if every rule had its own table.
//!
//! A record evicted to make room takes its "fired in window" marks with it:
//! the key that takes its place fires as any new key would. (It used to
//! inherit them, and so missed its own incident in the window where the
//! evicted key had fired.) The evicted key, if it comes back in the same
//! window, may fire again, with the same incident id: the store keeps one
//! (by id), as does JetStream within its duplicate window; an output file
//! gets both lines.

use crate::event::EventIn;
use crate::indicators::{IndRef, IndTags, Indicators};
use crate::intern::{OTHER, Syms};
use crate::lru::Lru;
use crate::output::Incident;
use crate::packed_id::{EventId, PackedId, Unpacked};
use crate::util::{HASH, IpKey, hash_of, push_hex16, push_int, push_ip};
use hashbrown::HashSet;
use std::net::IpAddr;

/// The largest `k` (or `sensors`) of a rule: every key keeps `k` entries,
/// so it multiplies the memory bound. Larger values are clamped.
pub const MAX_K: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorrelationRule {
    DnsThenConnect { name: String, within_s: u64 },
    DistinctIndicators { name: String, within_s: u64, k: usize },
    DistinctTypes { name: String, within_s: u64, k: usize },
    MultiSensor { name: String, within_s: u64, sensors: usize },
}

/// The DNS event behind a `(host, address)` pair. Its id is kept apart, in
/// [`Dns::ids`]: it is read only when a connection matches.
#[derive(Clone, Default)]
struct DnsRec {
    ts: i64,
    ind: Option<IndRef>,
    /// Window of the last recency refresh (once per window, as elsewhere).
    seq: u64,
}

/// A bit filter over the `(host, address)` pairs of the DNS table, at least
/// 16 bits per pair: most connections go to pairs no DNS answer held, and a
/// bit test is much cheaper than a miss in a large table. Bits are only set
/// between rebuilds (at window close, or when the table outgrows the
/// filter), so it has false positives (a wasted lookup), never false
/// negatives.
struct PairFilter {
    bits: Vec<u64>,
    shift: u32,
}

impl PairFilter {
    const MIN_LOG2: u32 = 16;

    fn new() -> Self {
        PairFilter { bits: vec![0; 1 << (Self::MIN_LOG2 - 6)], shift: 64 - Self::MIN_LOG2 }
    }

    /// From the hash's low 32 bits: the table's index keeps those, so a
    /// rebuild reads the index in order instead of every entry.
    #[inline]
    fn bit(&self, h: u64) -> usize {
        ((h as u32 as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    #[inline]
    fn set(&mut self, h: u64) {
        let b = self.bit(h);
        self.bits[b / 64] |= 1 << (b % 64);
    }

    #[inline]
    fn test(&self, h: u64) -> bool {
        let b = self.bit(h);
        self.bits[b / 64] & (1 << (b % 64)) != 0
    }

    fn log2_for(len: usize) -> u32 {
        (len.max(1) * 16).next_power_of_two().trailing_zeros().max(Self::MIN_LOG2)
    }

    /// Clears and refills from the table, sized for its length.
    fn rebuild(&mut self, t: &Lru<(IpKey, IpKey), DnsRec>) {
        let log2 = Self::log2_for(t.len());
        let words = 1usize << (log2 - 6);
        if self.bits.len() != words {
            self.bits = vec![0; words];
            self.shift = 64 - log2;
        } else {
            self.bits.iter_mut().for_each(|w| *w = 0);
        }
        for tag in t.hash_tags() {
            self.set(tag as u64);
        }
    }
}

struct Dns {
    t: Lru<(IpKey, IpKey), DnsRec>,
    /// The DNS event's id, by the pair's slot.
    ids: Vec<PackedId>,
    unpacked: Unpacked,
    filter: PairFilter,
}

/// One entry of a group region: a tag with its latest time, or a header.
#[derive(Clone, Copy, Default)]
struct Ent {
    ts: i64,
    tag: u64,
}

/// Four entries (64 bytes). XXX: no longer forced onto a cache line
/// (`align(64)` on a wrapper needed `unsafe` to view the entries as one
/// slice; `unsafe` stays in the capture layer), so a record may straddle
/// two lines.
type Line = [Ent; 4];

/// The event id and indicator of an entry (24 bytes): written on updates
/// and read when firing only. Ids that do not pack are in
/// [`Group::unpacked`] under the entry's index.
#[derive(Clone, Copy, Default)]
struct Cold {
    ind_hash: u64,
    ind_slot: u32,
    id: PackedId,
}

impl Cold {
    fn ind(&self) -> IndRef {
        IndRef { slot: self.ind_slot, hash: self.ind_hash }
    }
}

/// What an event writes into the cold entries of the rules recording it.
#[derive(Clone, Copy)]
struct ColdIn<'e> {
    ind: IndRef,
    id: EventId<'e>,
}

/// The per-key state of a group of rules (host-keyed or indicator-keyed),
/// indexed by the key's slot in its table: per slot, a header entry
/// (`ts`: window of the last recency refresh, `tag`: the owner's hash), then
/// per rule a header (`ts`: window in which it fired, `tag`: entry count)
/// and `k` entries; the cold parts (`k` per rule) in a parallel array.
struct Group {
    /// Entries per slot (a multiple of 4).
    stride: usize,
    /// Cold entries per slot (the sum of the rules' `k`).
    cstride: usize,
    lines: Vec<Line>,
    cold: Vec<Cold>,
    unpacked: Unpacked,
    /// Rules of the group (their indices in `Correlator::rules`).
    rules: Vec<usize>,
}

impl Group {
    fn new() -> Self {
        Group {
            stride: 1,
            cstride: 0,
            lines: Vec::new(),
            cold: Vec::new(),
            unpacked: Unpacked::with_hasher(HASH),
            rules: Vec::new(),
        }
    }

    /// Adds a rule of `k` entries: (header offset, cold offset).
    fn add(&mut self, ri: usize, k: usize) -> (usize, usize) {
        let at = (self.stride, self.cstride);
        self.stride += 1 + k;
        self.cstride += k;
        self.rules.push(ri);
        at
    }

    fn seal(&mut self) {
        self.stride = self.stride.div_ceil(4) * 4;
    }

    #[inline]
    fn ent(&self, i: usize) -> Ent {
        self.lines[i >> 2][i & 3]
    }

    #[inline]
    fn ent_mut(&mut self, i: usize) -> &mut Ent {
        &mut self.lines[i >> 2][i & 3]
    }

    /// One event of a recent-tags rule: the rule's header at `hdr` and `k`
    /// entries after it, cold entries from `cbase`. Drops the entries older
    /// than `cutoff`, then records `tag` at `now` (the latest event per tag
    /// kept; when full, the oldest entry makes room). Swap-removes, as the
    /// order of the entries breaks ties between equal times. Returns the
    /// entry count.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn record(
        &mut self,
        hdr: usize,
        cbase: usize,
        k: usize,
        tag: u64,
        now: i64,
        cutoff: i64,
        new: ColdIn<'_>,
    ) -> usize {
        let Group { lines, cold, unpacked, .. } = self;
        let (h, es) = flat(lines)[hdr..hdr + 1 + k].split_first_mut().expect("k >= 1");
        let cold = &mut cold[cbase..cbase + k];
        let mut len = (h.tag as usize).min(k);
        // One pass: entries older than `cutoff` swap-removed (the entry
        // moved in is looked at next), the tag's entry found, and the
        // first of the oldest of those kept.
        let (mut found, mut oldest) = (None, 0);
        let mut j = 0;
        while j < len {
            let e = es[j];
            if e.ts < cutoff {
                len -= 1;
                if j != len {
                    es[j] = es[len];
                    move_cold(cold, unpacked, cbase, len, j);
                }
                continue;
            }
            if e.tag == tag {
                found = Some(j);
            }
            if e.ts < es[oldest].ts {
                oldest = j;
            }
            j += 1;
        }
        match found {
            Some(j) => {
                if now >= es[j].ts {
                    es[j].ts = now;
                    set_cold(cold, unpacked, cbase, j, new);
                }
            }
            None => {
                if len >= k {
                    len -= 1;
                    if oldest != len {
                        es[oldest] = es[len];
                        move_cold(cold, unpacked, cbase, len, oldest);
                    }
                }
                es[len] = Ent { ts: now, tag };
                set_cold(cold, unpacked, cbase, len, new);
                len += 1;
            }
        }
        h.tag = len as u64;
        len
    }

    /// Starts loading the region of `slot`, its entries and the cold parts
    /// a rule will write (in parallel rather than one after the other as the
    /// rules get to them; a write to a line not in cache waits for it too).
    #[inline]
    fn prefetch(&self, slot: u32) {
        let base = slot as usize * self.stride / 4;
        if let Some(lines) = self.lines.get(base..base + self.stride / 4) {
            lines.iter().for_each(crate::lru::prefetch);
        }
        let c = slot as usize * self.cstride;
        if let Some(cold) = self.cold.get(c..c + self.cstride) {
            cold.iter().for_each(crate::lru::prefetch);
        }
    }

    /// Makes room for `slot`: new slots start empty.
    fn ensure(&mut self, slot: u32) {
        let n = slot as usize + 1;
        if self.lines.len() < n * self.stride / 4 {
            self.lines.resize(n * self.stride / 4, Line::default());
            self.cold.resize(n * self.cstride, Cold::default());
        }
    }

    /// Empties every rule's entries and "fired" marks of `slot` (a new key).
    fn reset(&mut self, slot: u32, rules: &[Rule]) {
        for i in 0..self.rules.len() {
            let h = slot as usize * self.stride + rules[self.rules[i]].off;
            *self.ent_mut(h) = Ent::default();
        }
    }

    fn id(&self, i: usize, syms: &Syms) -> String {
        self.cold[i].id.get(&self.unpacked, i, syms)
    }
}

/// All entries of a group, as one slice.
#[inline]
fn flat(lines: &mut [Line]) -> &mut [Ent] {
    lines.as_flattened_mut()
}

/// Entry `j` of `cold` (which starts at index `base` of the group: ids that
/// do not pack are kept under their group index), written in place.
#[inline]
fn set_cold(cold: &mut [Cold], unpacked: &mut Unpacked, base: usize, j: usize, c: ColdIn<'_>) {
    let e = &mut cold[j];
    (e.ind_hash, e.ind_slot) = (c.ind.hash, c.ind.slot);
    c.id.store(&mut e.id, unpacked, base + j);
}

#[inline]
fn move_cold(cold: &mut [Cold], unpacked: &mut Unpacked, base: usize, from: usize, to: usize) {
    let c = cold[from];
    let replaced = cold[to].id;
    cold[to] = c;
    c.id.moved(unpacked, base + from, base + to, replaced);
}

struct Rule {
    name: String,
    within_ns: i64,
    k: usize,
    kind: u8,
    /// In the rule's group: offset of its header in a slot's entries, and of
    /// its first cold entry.
    off: usize,
    coff: usize,
}

const DNS: u8 = 0;
const VALUES: u8 = 1;
const TYPES: u8 = 2;
const SENSORS: u8 = 3;

pub(crate) struct Correlator {
    rules: Vec<Rule>,
    dns: Option<Dns>,
    n_dns: usize,
    /// Keyed by host (value is unused: the recency mark is in the group).
    hosts: Lru<u128, ()>,
    host_group: Group,
    /// Indexed by the indicator table's slots.
    ind_group: Group,
    fired: HashSet<(u16, Option<IpAddr>, u64), foldhash::fast::FixedState>,
    cap: usize,
    pub fired_overflow: u64,
}

/// What the engine already knows about the event.
pub(crate) struct Ctx<'e, 'a> {
    pub e: &'e EventIn<'a>,
    pub host: Option<IpAddr>,
    pub ind: Option<IndRef>,
    /// The indicator's tags (default without one).
    pub tags: IndTags,
    /// The sensor's symbol.
    pub sensor: u32,
    pub window_start_ns: i64,
    /// Window sequence number (recency refreshed once per window).
    pub seq: u64,
    /// The engine's symbols (the sensor's name of a packed event id).
    pub syms: &'e Syms,
}

impl<'e> Ctx<'e, '_> {
    #[inline(always)]
    fn id(&self) -> EventId<'e> {
        EventId::new(self.e.id, self.e.sensor, self.sensor)
    }
}

/// The keys and hashes computed by [`Correlator::prefetch`]: the host's
/// record, and the `(host, dst_ip)` pair of a non-DNS event when the filter
/// lets it through; then the host's slot if [`Correlator::locate`] found it.
#[derive(Clone, Copy, Default)]
pub(crate) struct Pre {
    host: Option<(u128, u64)>,
    host_slot: Option<u32>,
    dns: Option<((IpKey, IpKey), u64)>,
}

/// Where the event's state is in a group.
#[derive(Clone, Copy)]
struct At {
    slot: u32,
}

impl Correlator {
    pub fn new(rules: &[CorrelationRule], cap: usize) -> Self {
        let mut host_group = Group::new();
        let mut ind_group = Group::new();
        let mut n_dns = 0;
        let rules: Vec<Rule> = rules
            .iter()
            .enumerate()
            .map(|(ri, r)| {
                let (name, within_s, k, kind) = match r {
                    CorrelationRule::DnsThenConnect { name, within_s } => (name, within_s, 0, DNS),
                    CorrelationRule::DistinctIndicators { name, within_s, k } => (name, within_s, *k, VALUES),
                    CorrelationRule::DistinctTypes { name, within_s, k } => (name, within_s, *k, TYPES),
                    CorrelationRule::MultiSensor { name, within_s, sensors } => (name, within_s, *sensors, SENSORS),
                };
                let k = k.clamp(1, MAX_K);
                let (off, coff) = match kind {
                    DNS => {
                        n_dns += 1;
                        (0, 0)
                    }
                    SENSORS => ind_group.add(ri, k),
                    _ => host_group.add(ri, k),
                };
                Rule {
                    name: name.clone(),
                    within_ns: (*within_s as i64).saturating_mul(1_000_000_000),
                    k,
                    kind,
                    off,
                    coff,
                }
            })
            .collect();
        host_group.seal();
        ind_group.seal();
        Correlator {
            rules,
            dns: (n_dns > 0).then(|| Dns {
                t: Lru::new(cap),
                ids: Vec::new(),
                unpacked: Unpacked::with_hasher(HASH),
                filter: PairFilter::new(),
            }),
            n_dns,
            hosts: Lru::new(if host_group.rules.is_empty() { 1 } else { cap }),
            host_group,
            ind_group,
            fired: HashSet::with_hasher(HASH),
            cap,
            fired_overflow: 0,
        }
    }

    /// (keys, evictions) over all rules, each counted as its own table.
    pub fn table_stats(&self, inds: &Indicators) -> (usize, u64) {
        let mut keys = 0;
        let mut ev = 0;
        if let Some(d) = &self.dns {
            keys += d.t.len() * self.n_dns;
            ev += d.t.evictions * self.n_dns as u64;
        }
        let nh = self.host_group.rules.len();
        keys += self.hosts.len() * nh;
        ev += self.hosts.evictions * nh as u64;
        let ni = self.ind_group.rules.len();
        keys += inds.lru.len() * ni;
        ev += inds.lru.evictions * ni as u64;
        (keys, ev)
    }

    pub fn fired_len(&self) -> usize {
        self.fired.len()
    }

    pub fn close_window(&mut self) {
        self.fired.clear();
        // Drop the bits of evicted answers.
        if let Some(d) = &mut self.dns {
            d.filter.rebuild(&d.t);
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

    /// Computes the keys of the event's lookups and prefetches their index
    /// buckets (called early, [`Correlator::push`] later takes the result).
    pub fn prefetch(&self, e: &EventIn<'_>, host: Option<IpAddr>) -> Pre {
        let mut pre = Pre::default();
        let Some(host) = host else { return pre };
        if !self.host_group.rules.is_empty() && e.indicator.is_some() {
            let key = IpKey::from(host).0;
            let h = hash_of(&key);
            self.hosts.prefetch(h);
            pre.host = Some((key, h));
        }
        if let (Some(d), Some(dst)) = (&self.dns, e.dst_ip)
            && e.input != "dns"
        {
            let key = (IpKey::from(host), IpKey::from(dst));
            let h = hash_of(&key);
            if d.filter.test(h) {
                d.t.prefetch(h);
                pre.dns = Some((key, h));
            }
        }
        pre
    }

    /// Finds the host's record (its index bucket was prefetched by
    /// [`Correlator::prefetch`]) and starts loading it, while the engine does
    /// other work before [`Correlator::push`]. Nothing may change the host
    /// table in between.
    #[inline]
    pub fn locate(&self, pre: &mut Pre) {
        if let Some((key, h)) = pre.host {
            pre.host_slot = self.hosts.find_with(h, |k| *k == key);
            if let Some(s) = pre.host_slot {
                self.host_group.prefetch(s);
            }
        }
    }

    /// Starts loading the indicator's record (its slot is known early).
    #[inline]
    pub fn prefetch_ind(&self, r: IndRef) {
        if !self.ind_group.rules.is_empty() {
            self.ind_group.prefetch(r.slot);
        }
    }

    pub fn push(&mut self, c: &Ctx<'_, '_>, pre: Pre, inds: &Indicators, out: &mut Vec<Incident>) {
        if self.rules.is_empty() {
            return;
        }
        // The DNS table: record answers, or find the pair of a connection.
        let dns_hit = match (&self.dns, c.host) {
            (Some(_), Some(host)) => self.dns_update(c, host, pre.dns),
            _ => None,
        };
        // Group records: one lookup each.
        let ind = c.e.indicator.as_ref().zip(c.ind);
        let host_at = match (ind, pre.host) {
            (Some(_), Some(k)) => Some(self.host_slot(k, pre.host_slot, c.seq)),
            _ => None,
        };
        let ind_at = match ind {
            Some((_, r)) if !self.ind_group.rules.is_empty() => Some(self.ind_slot(r)),
            _ => None,
        };
        // What every rule recording the event writes (the id copied once).
        let cold = ind.map(|(_, r)| ColdIn { ind: r, id: c.id() });
        for ri in 0..self.rules.len() {
            match self.rules[ri].kind {
                DNS => {
                    if let Some(r) = &dns_hit {
                        self.dns_fire(ri, c, inds, r, out);
                    }
                }
                VALUES | TYPES => {
                    let (Some(at), Some(new)) = (host_at, cold) else { continue };
                    let tag = if self.rules[ri].kind == VALUES { c.tags.value } else { c.tags.r#type };
                    self.recent(ri, false, at, tag, new, c, inds, out);
                }
                _ => {
                    let (Some(at), Some(new)) = (ind_at, cold) else { continue };
                    // The symbol, unless the symbol table overflowed.
                    let tag = if c.sensor != OTHER { u64::from(c.sensor) } else { hash_of(c.e.sensor) | 1 << 63 };
                    self.recent(ri, true, at, tag, new, c, inds, out);
                }
            }
        }
    }

    /// The host's record (found by [`Correlator::locate`], or inserted;
    /// refreshed once per window).
    fn host_slot(&mut self, (key, h): (u128, u64), found: Option<u32>, seq: u64) -> At {
        let g = &mut self.host_group;
        let slot = match found {
            Some(s) => {
                if g.ent(s as usize * g.stride).ts as u64 != seq {
                    self.hosts.touch(s);
                }
                s
            }
            None => {
                let (s, _) = self.hosts.insert_new(h, key, ());
                g.ensure(s);
                // A recycled record starts from nothing, as a new one.
                g.reset(s, &self.rules);
                s
            }
        };
        g.ent_mut(slot as usize * g.stride).ts = seq as i64;
        At { slot }
    }

    /// The indicator's record, beside its slot in the indicator table: a
    /// slot taken over by another indicator starts empty.
    fn ind_slot(&mut self, r: IndRef) -> At {
        let g = &mut self.ind_group;
        g.ensure(r.slot);
        let base = r.slot as usize * g.stride;
        if g.ent(base).tag != r.hash {
            g.ent_mut(base).tag = r.hash;
            g.reset(r.slot, &self.rules);
        }
        At { slot: r.slot }
    }

    /// Records a DNS event's answers; for another event, the record of its
    /// `(host, dst_ip)` pair if any (a copy of what firing needs).
    fn dns_update(
        &mut self,
        c: &Ctx<'_, '_>,
        host: IpAddr,
        pair: Option<((IpKey, IpKey), u64)>,
    ) -> Option<(i64, Option<IndRef>, u32)> {
        let e = c.e;
        let d = self.dns.as_mut()?;
        if e.input == "dns" {
            if e.indicator.is_some() || e.rule.is_some() {
                let hk = IpKey::from(host);
                let id = c.id();
                for &addr in e.answer_addrs {
                    let key = (hk, IpKey::from(addr));
                    let h = hash_of(&key);
                    let slot = match d.t.find_with(h, |k| *k == key) {
                        Some(s) => {
                            if d.t.get(s).seq != c.seq {
                                d.t.touch(s);
                            }
                            s
                        }
                        None => d.t.insert_new(h, key, DnsRec::default()).0,
                    };
                    *d.t.get_mut(slot) = DnsRec { ts: e.ts_ns, ind: c.ind, seq: c.seq };
                    if slot as usize >= d.ids.len() {
                        d.ids.resize(slot as usize + 1, PackedId::ELSEWHERE);
                    }
                    id.store(&mut d.ids[slot as usize], &mut d.unpacked, slot as usize);
                    if d.t.len() * 16 > d.filter.bits.len() * 64 {
                        d.filter.rebuild(&d.t);
                    } else {
                        d.filter.set(h);
                    }
                }
            }
            return None;
        }
        // Computed (and the filter tested) by `prefetch`.
        let (key, h) = pair?;
        let slot = d.t.find_with(h, |k| *k == key)?;
        let r = d.t.get(slot);
        // The same event twice never fires. (Compared packed: an id packed
        // under one sensor name and the same string from an event naming
        // another sensor are not the same event here.)
        if c.id().is_in(d.ids[slot as usize], &d.unpacked, slot as usize) {
            return None;
        }
        Some((r.ts, r.ind, slot))
    }

    #[cold]
    #[inline(never)]
    fn dns_fire(
        &mut self,
        ri: usize,
        c: &Ctx<'_, '_>,
        inds: &Indicators,
        &(ts, rind, slot): &(i64, Option<IndRef>, u32),
        out: &mut Vec<Incident>,
    ) {
        let e = c.e;
        let Some(host) = c.host else { return };
        let dt = e.ts_ns.saturating_sub(ts);
        if dt < 0 || dt > self.rules[ri].within_ns {
            return;
        }
        let ind_h = rind.map_or(0, |i| i.hash);
        if self.first_firing(ri, Some(host), ind_h) {
            let mut ind_refs = vec![rind];
            if c.ind.map(|i| i.hash) != rind.map(|i| i.hash) {
                ind_refs.push(c.ind);
            }
            let suffix = rind.map(|i| i.hash);
            let Some(d) = &self.dns else { return };
            let dns_id = d.ids[slot as usize].get(&d.unpacked, slot as usize, c.syms);
            let ids = vec![dns_id, e.id.to_string()];
            out.push(self.incident(ri, c, inds, ids, &ind_refs, Some(host), suffix));
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn recent(
        &mut self,
        ri: usize,
        by_ind: bool,
        at: At,
        tag: u64,
        new: ColdIn<'_>,
        c: &Ctx<'_, '_>,
        inds: &Indicators,
        out: &mut Vec<Incident>,
    ) {
        let ind = new.ind;
        let rule = &self.rules[ri];
        let (within, k, kind) = (rule.within_ns, rule.k, rule.kind);
        let g = if by_ind { &mut self.ind_group } else { &mut self.host_group };
        let hdr = at.slot as usize * g.stride + rule.off;
        let cbase = at.slot as usize * g.cstride + rule.coff;
        let now = c.e.ts_ns;
        let len = g.record(hdr, cbase, k, tag, now, now.saturating_sub(within), new);
        // Checked before building anything: most events of a busy key land here.
        if len < k || g.ent(hdr).ts as u64 == c.seq {
            return;
        }
        g.ent_mut(hdr).ts = c.seq as i64;
        let fire_host = if kind == SENSORS { None } else { c.host };
        let suffix = (kind == SENSORS).then_some(ind.hash);
        self.fire(ri, by_ind, (hdr, cbase, len), c, inds, fire_host, suffix, out);
    }

    /// A recent-tags rule fires: its entries, oldest first (ties by id),
    /// become an incident. Out of line: the per-event path above stays
    /// small in the instruction cache.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    #[inline(never)]
    fn fire(
        &self,
        ri: usize,
        by_ind: bool,
        (hdr, cbase, len): (usize, usize, usize),
        c: &Ctx<'_, '_>,
        inds: &Indicators,
        fire_host: Option<IpAddr>,
        suffix: Option<u64>,
        out: &mut Vec<Incident>,
    ) {
        let g = if by_ind { &self.ind_group } else { &self.host_group };
        let e0 = hdr + 1;
        // (time, id, indicator), oldest first, ties by id.
        let mut es: Vec<(i64, String, IndRef)> =
            (0..len).map(|j| (g.ent(e0 + j).ts, g.id(cbase + j, c.syms), g.cold[cbase + j].ind())).collect();
        es.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut refs: Vec<Option<IndRef>> = Vec::with_capacity(len);
        let mut ids = Vec::with_capacity(len);
        for (_, id, r) in es {
            if !refs.iter().any(|x| x.map(|x| x.hash) == Some(r.hash)) {
                refs.push(Some(r));
            }
            ids.push(id);
        }
        out.push(self.incident(ri, c, inds, ids, &refs, fire_host, suffix));
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
        suffix: Option<u64>,
    ) -> Incident {
        let name = &self.rules[ri].name;
        // `analytics:RULE:WINDOW_START_S:HOST[:INDICATOR_HASH]`
        let mut id = String::with_capacity(name.len() + 64);
        id.push_str("analytics:");
        id.push_str(name);
        id.push(':');
        push_int(&mut id, c.window_start_ns.div_euclid(1_000_000_000));
        id.push(':');
        match id_host {
            Some(h) => push_ip(&mut id, h),
            None => id.push('-'),
        }
        if let Some(h) = suffix {
            id.push(':');
            push_hex16(&mut id, h);
        }
        Incident {
            id,
            rule: name.clone(),
            host: c.host,
            input: crate::output::schema_input(c.e.input),
            events,
            ts_ns: c.e.ts_ns,
            location: c.e.location.to_string(),
            value: c.e.value.to_string(),
            // An indicator evicted from the table meanwhile is left out.
            indicators: refs.iter().flatten().filter_map(|r| inds.resolve(*r)).map(|k| k.out()).collect(),
        }
    }
}

#[cfg(test)]
#[path = "correlate_tests.rs"]
mod tests;
