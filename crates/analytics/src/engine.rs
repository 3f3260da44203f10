//! The engine: windows, throttling, sessions, and the glue to the counters,
//! the indicator table and the correlator.
//!
//! Time is the events' own `ts`: windows are tumbling, `window_s` long and
//! aligned to multiples of `window_s` since the epoch. A window closes when an
//! event (or [`Engine::advance`]) at or after its end arrives; the next
//! window is the one holding that instant (empty windows in between produce
//! no output). An event older than the current window is counted as `late`
//! and processed into the current window (its own `ts` is kept for
//! first/last times). Windows without events produce no reports.
//!
//! At a window close the outputs come in this order: one `Summary` per
//! throttle key that held events back (in the order the keys first held one
//! back), the 13 `TopN` reports (indicator_id, indicator_type,
//! indicator_value, threat_type, feed, sensor, input, rule, src_ip, dst_ip,
//! host, proto_dst_port, src_port), `Rate`, `Hits`. A throttle key evicted
//! from a full table during the window gets its `Summary` at once (so
//! nothing held back is lost; the key may then pass again). `Session`
//! reports come when sessions end, `Incident`s when rules fire.

use crate::correlate::{CorrelationRule, Correlator, Ctx, Pre};
use crate::event::EventIn;
use crate::indicators::{IndRef, IndTags, Indicators, ind_hash};
use crate::intern::Syms;
use crate::lru::Lru;
use crate::output::*;
use crate::sessions::Sessions;
use crate::topn::{DST, HOST, SRC, WindowCounts};
use crate::util::{InlineStr, IpKey, hash_of, push_hex16, push_int, push_ip};
use std::net::IpAddr;

const NS: i64 = 1_000_000_000;

#[derive(Clone, Debug)]
pub struct Config {
    /// Window length, 1 s to 1 day (clamped).
    pub window_s: u64,
    pub top_n: usize,
    /// Events per throttle key and window that pass.
    pub throttle_first: u32,
    pub session_idle_s: u64,
    /// Bound of every keyed table.
    pub max_keys: usize,
    pub correlations: Vec<CorrelationRule>,
    /// Only the correlation rules run (no throttling, counters, sessions or
    /// window reports; every event passes): a second engine fed with the
    /// sightings of rules keyed otherwise than the main engine's partition.
    pub correlation_only: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_s: 60,
            top_n: 10,
            throttle_first: 3,
            session_idle_s: 60,
            max_keys: 1_000_000,
            correlations: Vec::new(),
            correlation_only: false,
        }
    }
}

/// Keys held and evictions of one table. For the top-N counters an
/// "eviction" is a new key not counted because the window's table was full;
/// for symbols, a string mapped to `<other>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    pub keys: usize,
    pub evictions: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub events: u64,
    pub passed: u64,
    pub suppressed: u64,
    /// Events older than the current window.
    pub late: u64,
    pub summaries: u64,
    pub incidents: u64,
    pub session_reports: u64,
    pub windows: u64,
    pub throttle: TableStats,
    pub topn: TableStats,
    pub sessions: TableStats,
    pub indicators: TableStats,
    pub correlation: TableStats,
    pub incident_dedup: TableStats,
    pub symbols: TableStats,
}

/// Throttle key: (host, indicator or rule, where).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct ThrKey {
    host: Option<IpKey>,
    what: u64,
    location: u32,
}

/// (src, dst, src port, dst port, proto symbol)
type FlowSample = (IpAddr, IpAddr, Option<u16>, Option<u16>, u32);

/// What a summary needs to describe its key: taken from the first event
/// the key held back in the window.
#[derive(Clone, Default)]
struct Sample {
    input: u32,
    value: InlineStr,
    ind: Option<IndRef>,
    rule: Option<u32>,
    flow: Option<FlowSample>,
}

/// The counters of a throttle key (its sample is in `Engine::samples`, at
/// the same slot: the table's nodes stay small, and the sample is only
/// written when the key first holds an event back in a window, by ~1 event
/// in 40 of the benchmark's stream where the first event of each key and
/// window was 1 in 4).
#[derive(Clone, Default)]
struct ThrEntry {
    seq: u64,
    count: u32,
    listed: bool,
    suppressed: u64,
    first: i64,
    last: i64,
}

#[derive(Clone, Copy, Default)]
struct FeedStat {
    seq: u64,
    stat: (u64, u64, i64, i64),
}

pub struct Engine {
    cfg: Config,
    stats: EngineStats,
    started: bool,
    seq: u64,
    start_ns: i64,
    end_ns: i64,
    /// Highest `ts` seen: the clock for session expiry.
    now_ns: i64,
    syms: Syms,
    inds: Indicators,
    thr: Lru<ThrKey, ThrEntry>,
    /// Per throttle slot.
    samples: Vec<Sample>,
    /// Throttle slots that suppressed something this window, in order.
    thr_listed: Vec<(u32, ThrKey)>,
    wc: WindowCounts,
    feeds: Vec<FeedStat>,
    feeds_touched: Vec<u32>,
    sessions: Sessions,
    corr: Correlator,
    incidents: Vec<Incident>,
}

impl Engine {
    pub fn new(cfg: Config) -> Engine {
        let cap = cfg.max_keys.max(1);
        // One counter per second of the window: keep that allocation sane.
        let window_s = cfg.window_s.clamp(1, 86_400);
        Engine {
            stats: EngineStats::default(),
            started: false,
            seq: 1,
            start_ns: 0,
            end_ns: 0,
            now_ns: i64::MIN,
            syms: Syms::new(cap.min(1 << 20)),
            inds: Indicators::new(cap),
            thr: Lru::new(cap),
            samples: Vec::new(),
            thr_listed: Vec::new(),
            wc: WindowCounts::new(cap, window_s),
            feeds: Vec::new(),
            feeds_touched: Vec::new(),
            sessions: Sessions::new(cap, (cfg.session_idle_s as i64).saturating_mul(NS)),
            corr: Correlator::new(&cfg.correlations, cap),
            incidents: Vec::new(),
            cfg: Config { window_s, ..cfg },
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Counters are exact; the per-table `keys` / `evictions` are refreshed
    /// every 64 events, at window close, `advance` and `finish`.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    fn window_ns(&self) -> i64 {
        (self.cfg.window_s as i64).saturating_mul(NS)
    }

    fn open_window(&mut self, ts: i64) {
        let w = self.window_ns();
        self.start_ns = ts.saturating_sub(ts.rem_euclid(w));
        self.end_ns = self.start_ns.saturating_add(w);
        self.started = true;
    }

    /// Processes one event; returns whether it passes throttling.
    pub fn push(&mut self, e: &EventIn<'_>, out: &mut Vec<Output>) -> bool {
        let ts = e.ts_ns;
        self.stats.events += 1;
        if !self.started {
            self.open_window(ts);
        } else if ts >= self.end_ns {
            self.close_window(out);
            self.open_window(ts);
        } else if ts < self.start_ns {
            self.stats.late += 1;
            self.wc.late += 1;
        }
        if self.cfg.correlation_only {
            self.correlate_only(e, out);
            return true;
        }
        if ts > self.now_ns {
            self.now_ns = ts;
            self.sessions.expire(ts, out, &mut self.stats.session_reports);
        }
        let host = e.host();
        let seq = self.seq;
        // The hashes of the keys of the large tables first, and their index
        // buckets prefetched: the lookups below then overlap their misses.
        let ind_h = e.indicator.as_ref().map(|x| {
            let h = ind_hash(x);
            self.inds.lru.prefetch(h);
            h
        });
        let sess = match (e.src_ip, e.dst_ip) {
            (Some(a), Some(b)) => Some(self.sessions.key(a, b)),
            _ => None,
        };
        let mut pre = self.corr.prefetch(e, host);
        if let Some(p) = e.src_port {
            self.wc.prefetch_src_port(p);
        }

        let sensor = self.syms.intern(e.sensor);
        let input = self.syms.intern(e.input);
        let location = self.syms.intern(e.location);
        let proto = e.proto.map(|p| self.syms.intern(p));
        let rule = e.rule.map(|(c, n)| self.syms.intern_pair(c, n));
        let what = match (ind_h, rule) {
            (Some(h), _) => h,
            (None, Some(r)) => hash_of(&("rule", r)),
            (None, None) => 0,
        };
        let key = ThrKey { host: host.map(IpKey::from), what, location };
        let thr_h = hash_of(&key);
        self.thr.prefetch(thr_h);
        let ind = e.indicator.as_ref().zip(ind_h).map(|(x, h)| {
            let (r, tags) = self.inds.hit(x, h, ts, seq, &mut self.syms);
            self.corr.prefetch_ind(r);
            let f = tags.feed as usize;
            if f >= self.feeds.len() {
                self.feeds.resize(f + 1, FeedStat::default());
            }
            let fs = &mut self.feeds[f];
            if fs.stat.1 == 0 {
                fs.stat = (0, 0, ts, ts);
            }
            if fs.seq != seq {
                fs.seq = seq;
                fs.stat.0 = 0;
                self.feeds_touched.push(f as u32);
            }
            fs.stat = (fs.stat.0 + 1, fs.stat.1 + 1, fs.stat.2.min(ts), fs.stat.3.max(ts));
            (r, tags)
        });

        // Throttling (`what` is the indicator's hash, the rule's, or 0).
        let u = self.thr.upsert_untouched_hashed(thr_h, key, ThrEntry::default);
        if let Some((k, v)) = u.evicted
            && v.seq == seq
            && v.suppressed > 0
        {
            // The evicted key's sample: the new key overwrites it below.
            let sample = self.samples.get_mut(u.slot as usize).map(std::mem::take).unwrap_or_default();
            self.summary(&k, &v, &sample, out);
        }
        if self.thr.get(u.slot).seq != seq {
            // Recency is refreshed once per key and window.
            self.thr.touch(u.slot);
        }
        let t = self.thr.get_mut(u.slot);
        if t.seq != seq {
            t.seq = seq;
            t.count = 0;
            t.suppressed = 0;
            t.listed = false;
        }
        t.count = t.count.saturating_add(1);
        let pass = t.count <= self.cfg.throttle_first;
        if pass {
            self.stats.passed += 1;
        } else {
            self.stats.suppressed += 1;
            if t.suppressed == 0 {
                (t.first, t.last) = (ts, ts);
            }
            (t.first, t.last) = (t.first.min(ts), t.last.max(ts));
            t.suppressed += 1;
            if !t.listed {
                t.listed = true;
                let i = u.slot as usize;
                if i >= self.samples.len() {
                    self.samples.resize(i + 1, Sample::default());
                }
                let s = &mut self.samples[i];
                s.input = input;
                s.value.set(e.value);
                s.ind = ind.map(|x| x.0);
                s.rule = rule;
                s.flow = match (e.src_ip, e.dst_ip, proto) {
                    (Some(a), Some(b), Some(p)) => Some((a, b, e.src_port, e.dst_port, p)),
                    _ => None,
                };
                self.thr_listed.push((u.slot, key));
                if self.thr_listed.len() > 2 * self.cfg.max_keys.max(1) {
                    self.compact_listed();
                }
            }
        }

        // The host's correlation record loads during the counting below.
        self.corr.locate(&mut pre);

        // Top-N counters and rates.
        let wc = &mut self.wc;
        wc.events += 1;
        let sec = (ts.saturating_sub(self.start_ns) / NS).clamp(0, wc.per_second.len() as i64 - 1);
        wc.per_second[sec as usize] += 1;
        wc.sensor.add(sensor);
        wc.input.add(input);
        if let Some(r) = rule {
            wc.rule.add(r);
        }
        // The host is usually the source or the destination: counted with it.
        let (src, dst, h) = (e.src_ip.map(IpKey::from), e.dst_ip.map(IpKey::from), host.map(IpKey::from));
        let host_with = if h.is_some() && h == src {
            SRC
        } else if h.is_some() && h == dst {
            DST
        } else {
            usize::MAX
        };
        if let Some(k) = src {
            wc.ips.add(k, if host_with == SRC { &[SRC, HOST] } else { &[SRC] });
        }
        if let Some(k) = dst {
            wc.ips.add(k, if host_with == DST { &[DST, HOST] } else { &[DST] });
        }
        if let Some(k) = h
            && host_with == usize::MAX
        {
            wc.ips.add(k, &[HOST]);
        }
        if let (Some(p), Some(port)) = (proto, e.dst_port) {
            wc.proto_port.add((p, port));
        }
        if let Some(p) = e.src_port {
            wc.add_src_port(p);
        }

        if let (Some(k), Some(a), Some(b)) = (sess, e.src_ip, e.dst_ip) {
            self.sessions.hit(k, a, b, ts, out, &mut self.stats.session_reports);
        }

        self.correlate(e, host, ind, sensor, pre, out);
        pass
    }

    /// The correlation rules, once the event's indicator record (`hit`) and
    /// sensor symbol are known; then the sampled table sizes.
    #[inline(always)]
    fn correlate(
        &mut self,
        e: &EventIn<'_>,
        host: Option<IpAddr>,
        hit: Option<(IndRef, IndTags)>,
        sensor: u32,
        pre: Pre,
        out: &mut Vec<Output>,
    ) {
        let (ind, tags) = (hit.map(|x| x.0), hit.map(|x| x.1).unwrap_or_default());
        let ctx = Ctx { e, host, ind, tags, sensor, window_start_ns: self.start_ns, seq: self.seq, syms: &self.syms };
        self.corr.push(&ctx, pre, &self.inds, &mut self.incidents);
        // Most events fire nothing: the drain's setup is skipped.
        if !self.incidents.is_empty() {
            self.flush_incidents(out);
        }
        // Table sizes are sampled, not kept per event (they cost a few
        // loads each); advance and finish refresh them too.
        if self.stats.events & 63 == 0 {
            self.refresh_stats();
        }
    }

    /// [`Config::correlation_only`]: the indicator's record (the rules'
    /// state sits beside it) and the rules.
    #[inline(never)]
    fn correlate_only(&mut self, e: &EventIn<'_>, out: &mut Vec<Output>) {
        self.stats.passed += 1;
        let (host, seq) = (e.host(), self.seq);
        let mut pre = self.corr.prefetch(e, host);
        let sensor = self.syms.intern(e.sensor);
        let hit = e.indicator.as_ref().map(|x| self.inds.hit(x, ind_hash(x), e.ts_ns, seq, &mut self.syms));
        self.corr.locate(&mut pre);
        self.correlate(e, host, hit, sensor, pre, out);
    }

    fn flush_incidents(&mut self, out: &mut Vec<Output>) {
        self.stats.incidents += self.incidents.len() as u64;
        out.extend(self.incidents.drain(..).map(Output::Incident));
    }

    /// Advances the clock without an event: closes the window if `now_ns`
    /// is past its end and expires idle sessions.
    pub fn advance(&mut self, now_ns: i64, out: &mut Vec<Output>) {
        if now_ns > self.now_ns {
            self.now_ns = now_ns;
            self.sessions.expire(now_ns, out, &mut self.stats.session_reports);
        }
        if self.started && now_ns >= self.end_ns {
            self.close_window(out);
            // Later events older than `now_ns` count as late.
            self.open_window(now_ns);
        }
        self.refresh_stats();
    }

    /// End of input: closes the window and reports every open session.
    pub fn finish(&mut self, out: &mut Vec<Output>) {
        if self.started {
            self.close_window(out);
            self.started = false;
        }
        self.sessions.finish(out, &mut self.stats.session_reports);
        self.refresh_stats();
    }

    fn refresh_stats(&mut self) {
        let s = &mut self.stats;
        s.throttle = TableStats { keys: self.thr.len(), evictions: self.thr.evictions };
        s.topn = TableStats { keys: self.wc.keys(), evictions: self.wc.overflow() };
        s.sessions = TableStats { keys: self.sessions.len(), evictions: self.sessions.evictions() };
        s.indicators = TableStats { keys: self.inds.lru.len(), evictions: self.inds.lru.evictions };
        let (keys, evictions) = self.corr.table_stats(&self.inds);
        s.correlation = TableStats { keys, evictions };
        s.incident_dedup = TableStats { keys: self.corr.fired_len(), evictions: self.corr.fired_overflow };
        s.symbols = TableStats { keys: self.syms.len(), evictions: self.syms.overflow };
    }

    fn summary(&mut self, k: &ThrKey, v: &ThrEntry, s: &Sample, out: &mut Vec<Output>) {
        let location = self.syms.get(k.location);
        let indicator = s.ind.and_then(|r| self.inds.resolve(r));
        let rule = s.rule.map(|r| self.syms.get_pair(r));
        // `host|what|location`, written piece by piece (no format machinery:
        // a busy window makes thousands of these).
        let mut key = String::with_capacity(96);
        match k.host {
            Some(h) => push_ip(&mut key, h.ip()),
            None => key.push('-'),
        }
        key.push('|');
        match (indicator, rule, s.ind) {
            (Some(i), _, _) => {
                key.push_str(i.feed());
                key.push(':');
                key.push_str(i.id());
            }
            (None, Some((c, n)), _) => {
                key.push_str("rule:");
                key.push_str(c);
                key.push(':');
                key.push_str(n);
            }
            // Evicted from the indicator table: the key's hash stands in.
            (None, None, Some(r)) => {
                key.push_str("indicator:");
                push_hex16(&mut key, r.hash);
            }
            (None, None, None) => key.push('-'),
        }
        key.push('|');
        key.push_str(location);
        let mut id = String::with_capacity(key.len() + 48);
        id.push_str("analytics:summary:");
        push_int(&mut id, self.start_ns.div_euclid(NS));
        id.push(':');
        id.push_str(&key);
        id.push(':');
        push_int(&mut id, v.first);
        let location = location.to_string();
        out.push(Output::Summary(Box::new(Summary {
            id,
            key,
            window_start_ns: self.start_ns,
            suppressed: v.suppressed,
            first_ns: v.first,
            last_ns: v.last,
            host: k.host.map(IpKey::ip),
            input: self.syms.get(s.input).to_string(),
            location,
            value: s.value.as_str().to_string(),
            indicator: indicator.map(|i| i.out()),
            rule: rule.map(|(c, n)| (c.to_string(), n.to_string())),
            flow: s.flow.map(|(a, b, sp, dp, p)| FlowOut {
                src_ip: a,
                dst_ip: b,
                src_port: sp,
                dst_port: dp,
                proto: self.syms.get(p).to_string(),
            }),
        })));
        self.stats.summaries += 1;
    }

    /// Keeps the list of suppressing keys bounded when keys are evicted and
    /// come back many times in one window: drops the entries that no longer
    /// point at a listed key.
    fn compact_listed(&mut self) {
        let (thr, seq) = (&self.thr, self.seq);
        let mut seen = hashbrown::HashSet::with_capacity_and_hasher(self.thr_listed.len(), crate::util::HASH);
        self.thr_listed.retain(|&(slot, key)| {
            *thr.key(slot) == key && thr.get(slot).seq == seq && thr.get(slot).suppressed > 0 && seen.insert(slot)
        });
    }

    fn close_window(&mut self, out: &mut Vec<Output>) {
        let seq = self.seq;
        let listed = std::mem::take(&mut self.thr_listed);
        for &(slot, key) in &listed {
            if *self.thr.key(slot) != key {
                continue;
            }
            let v = self.thr.get(slot);
            if v.seq == seq && v.suppressed > 0 {
                let v = v.clone();
                let sample = self.samples.get(slot as usize).cloned().unwrap_or_default();
                self.summary(&key, &v, &sample, out);
                self.thr.get_mut(slot).suppressed = 0;
            }
        }
        self.thr_listed = listed;
        self.thr_listed.clear();

        let (w, n) = ((self.start_ns, self.end_ns), self.cfg.top_n);
        let closed = self.inds.close_window(seq, n);
        if self.wc.events > 0 {
            self.stats.windows += 1;
            for (key, (total, top, max_error)) in closed.keys {
                let r = TopNReport { window_start_ns: w.0, window_end_ns: w.1, key, total, top, max_error };
                out.push(Output::TopN(r));
            }
            let (events, late) = (self.wc.events, self.wc.late);
            let secs = self.cfg.window_s as f64;
            let rate = RateReport {
                window_start_ns: w.0,
                window_end_ns: w.1,
                events,
                late,
                per_second_max: self.wc.per_second.iter().copied().max().unwrap_or(0),
                per_second_mean: events as f64 / secs,
                per_minute: events as f64 * 60.0 / secs,
            };
            let mut reports = Vec::with_capacity(8);
            self.wc.close(&self.syms, w, n, &mut reports);
            out.extend(reports.into_iter().map(Output::TopN));
            out.push(Output::Rate(rate));
            let mut feeds: Vec<(String, HitStat)> = self
                .feeds_touched
                .iter()
                .map(|&f| {
                    let (wcount, count, first_ns, last_ns) = self.feeds[f as usize].stat;
                    (self.syms.get(f).to_string(), HitStat { window_count: wcount, count, first_ns, last_ns })
                })
                .collect();
            feeds.sort_by(|a, b| a.0.cmp(&b.0));
            out.push(Output::Hits(HitStatsReport {
                window_start_ns: w.0,
                window_end_ns: w.1,
                feeds,
                indicators: closed.hits,
            }));
        }
        self.feeds_touched.clear();
        self.refresh_stats();
        self.corr.close_window();
        self.seq += 1;
    }
}
