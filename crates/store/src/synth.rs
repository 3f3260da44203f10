//! Synthetic events for load tests of the store and the API: what a sensor at a network edge sends
//! over days, deterministic from a seed. Many internal hosts with a skewed activity (a few resolvers,
//! proxies and infected machines make most hits), skewed indicators (a few listed addresses and domains
//! are hit all the time, most rarely), several feeds, inputs, kinds and sensors, a day/night rhythm,
//! throttle summaries, operator-rule hits, and incidents that list earlier events of their host.
//! Lines follow docs/EVENTS.md and come in time order, as a sensor writes them.

use std::fmt::Write as _;

use crate::time::format_ts;

const NS_PER_DAY: i64 = 86_400_000_000_000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Events, including summaries and incidents.
    pub events: u64,
    /// Time of the first event (ns since the epoch).
    pub start_ns: i64,
    /// Days the events span.
    pub days: u32,
    /// Internal hosts (one in ten IPv6).
    pub hosts: u32,
    /// Indicators across the feeds (addresses, domains, CIDRs, URLs).
    pub indicators: u32,
    /// Incidents (spread evenly; each lists up to 4 earlier events of its host).
    pub incidents: u64,
    pub seed: u64,
}

impl SynthConfig {
    /// `events` over 7 days ending at the minute before `end_ns`, with a SOC-sized population:
    /// 20k hosts, 50k indicators, one incident per 3,000 events.
    pub fn week(events: u64, end_ns: i64) -> SynthConfig {
        SynthConfig {
            events,
            start_ns: crate::minute_of(end_ns) - 7 * NS_PER_DAY,
            days: 7,
            hosts: 20_000,
            indicators: 50_000,
            incidents: events / 3_000,
            seed: 0x5d5e_5e50,
        }
    }
}

/// The feeds, with the threat type they list.
pub const FEEDS: &[(&str, &str)] = &[
    ("feeds/abuse-c2.csv", "c2"),
    ("feeds/malware-domains.txt", "malware"),
    ("feeds/phishing.json", "phishing"),
    ("feeds/misp-export.csv", "apt"),
];
/// Sensors and their share of the traffic (per mille).
const SENSORS: &[(&str, u64)] = &[("edge-1", 550), ("edge-2", 300), ("dc-1", 150)];
const WORDS: &[&str] = &[
    "update", "cdn", "login", "secure", "mail", "static", "api", "track", "files", "dl", "auth", "cloud", "img", "pay",
    "docs", "sync",
];
const TLDS: &[&str] = &["example", "test", "invalid", "example.net", "example.org"];

/// Deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Ranks 0..n with probability proportional to 1/(rank+1)^s (Zipf): a cumulative table searched in
/// O(log n).
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: u32, s: f64) -> Zipf {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n.max(1))
            .map(|r| {
                acc += 1.0 / f64::from(r).powf(s);
                acc
            })
            .collect();
        for c in &mut cdf {
            *c /= acc;
        }
        Zipf { cdf }
    }
    fn sample(&self, r: &mut Rng) -> u32 {
        let u = r.unit();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1) as u32
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum IndicatorType {
    Ip,
    Domain,
    Cidr,
    Url,
}

/// Indicator `k`: 40% addresses, 40% domains, 10% CIDRs, 10% URLs; its feed follows its number.
fn indicator_type(k: u32) -> IndicatorType {
    match k % 10 {
        0..=3 => IndicatorType::Ip,
        4..=7 => IndicatorType::Domain,
        8 => IndicatorType::Cidr,
        _ => IndicatorType::Url,
    }
}

fn indicator_feed(k: u32) -> (&'static str, &'static str) {
    // Uneven feeds: the C2 list is the biggest.
    FEEDS[[0, 0, 0, 1, 1, 1, 2, 2, 3, 3][((k / 10) % 10) as usize]]
}

/// A public IPv4 address unique to `k` (45.0.0.0 upwards, 37 apart).
fn indicator_ip(k: u32) -> [u8; 4] {
    (0x2d00_0000u32 + k.wrapping_mul(37)).to_be_bytes()
}

fn write_ip(out: &mut String, a: [u8; 4]) {
    let _ = write!(out, "{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
}

fn indicator_value(out: &mut String, k: u32) {
    match indicator_type(k) {
        IndicatorType::Ip => write_ip(out, indicator_ip(k)),
        IndicatorType::Domain => {
            let _ = write!(out, "{}{}.{}", WORDS[(k % 16) as usize], k, TLDS[(k % 5) as usize]);
        }
        IndicatorType::Cidr => {
            let [a, b, c, _] = (0xb900_0000u32 + k * 256).to_be_bytes();
            let _ = write!(out, "{a}.{b}.{c}.0/24");
        }
        IndicatorType::Url => {
            let _ = write!(
                out,
                "http://{}{}.{}/payload/{}.bin",
                WORDS[(k % 16) as usize],
                k,
                TLDS[(k % 5) as usize],
                k % 97
            );
        }
    }
}

/// Internal host `h`: 10.x.y.z, or one in ten 2001:db8:…
fn host_ip(out: &mut String, h: u32) {
    if h % 10 == 9 {
        let _ = write!(out, "2001:db8:{:x}::{:x}", h / 4096, 1 + h % 4096);
    } else {
        let _ = write!(out, "10.{}.{}.{}", (h / 250) / 256, (h / 250) % 256, 1 + h % 250);
    }
}

/// The events, one JSON line at a time, in time order.
pub struct SynthEvents {
    cfg: SynthConfig,
    rng: Rng,
    hosts: Zipf,
    indicators: Zipf,
    /// Next event number.
    i: u64,
    /// Recent events (host, id) for incidents to point at.
    recent: Vec<(u32, String)>,
    /// Events between incidents.
    incident_every: u64,
    scratch: String,
    value: String,
    host: String,
}

impl SynthEvents {
    pub fn new(cfg: SynthConfig) -> SynthEvents {
        let incident_every = cfg.events.checked_div(cfg.incidents).map_or(u64::MAX, |n| n.max(2));
        SynthEvents {
            rng: Rng(cfg.seed),
            hosts: Zipf::new(cfg.hosts.max(1), 1.1),
            indicators: Zipf::new(cfg.indicators.max(10), 1.2),
            i: 0,
            recent: Vec::with_capacity(4096),
            incident_every,
            scratch: String::new(),
            value: String::new(),
            host: String::new(),
            cfg,
        }
    }

    /// Time of event `i`: spread over the span with a day/night rhythm (twice as many events at 14:00
    /// as at 02:00), increasing with `i`.
    fn ts_of(&self, i: u64) -> i64 {
        let x = i as f64 / self.cfg.events.max(1) as f64;
        let days = f64::from(self.cfg.days.max(1));
        let w = 2.0 * std::f64::consts::PI * days;
        // u(x) = x + A sin(w x)/w is increasing for A < 1; the rate is 1/u'(x) = 1/(1 + A cos(w x)).
        let warped = x - 0.33 * (w * x).sin() / w;
        self.cfg.start_ns + (warped * days * NS_PER_DAY as f64) as i64
    }

    /// The next line (without a newline) into `out`; `false` when all are written.
    pub fn next_line(&mut self, out: &mut String) -> bool {
        out.clear();
        if self.i >= self.cfg.events {
            return false;
        }
        let i = self.i;
        self.i += 1;
        let ts = format_ts(self.ts_of(i));
        let roll = self.rng.below(1000);
        let sensor = {
            let mut pick = self.rng.below(1000);
            let mut name = SENSORS[0].0;
            for (s, share) in SENSORS {
                if pick < *share {
                    name = s;
                    break;
                }
                pick -= share;
            }
            name
        };
        let id = format!("{sensor}:{:016x}", 0x6889_a384_ad40_0000u64 + i);
        let h = self.hosts.sample(&mut self.rng);
        // Popular indicators are spread over every type (rank -> indicator by a bijection mod n).
        let n = self.cfg.indicators.max(10);
        let rank = self.indicators.sample(&mut self.rng);
        let k = ((u64::from(rank) * 7919) % u64::from(n)) as u32;
        self.host.clear();
        host_ip(&mut self.host, h);
        if i % self.incident_every == self.incident_every - 1 && !self.recent.is_empty() {
            self.incident(out, &ts, i);
            return true;
        }
        if roll < 60 {
            self.summary(out, &id, &ts, sensor, k);
        } else if roll < 90 {
            self.rule(out, &id, &ts, sensor);
        } else {
            self.intel(out, &id, &ts, sensor, k);
        }
        if self.recent.len() == 4096 {
            self.recent.swap_remove(self.rng.below(4096) as usize);
        }
        self.recent.push((h, id));
        true
    }

    fn indicator_json(&mut self, out: &mut String, k: u32) {
        let (feed, threat) = indicator_feed(k);
        self.scratch.clear();
        indicator_value(&mut self.scratch, k);
        let t = match indicator_type(k) {
            IndicatorType::Ip => "ip",
            IndicatorType::Domain => "domain",
            IndicatorType::Cidr => "cidr",
            IndicatorType::Url => "url",
        };
        let _ = write!(
            out,
            r#","indicator":{{"id":"{}","type":"{t}","value":"{}","threat_type":"{threat}","feed":"{feed}","confidence":{}}}"#,
            10_000 + k,
            self.scratch,
            50 + k % 50
        );
    }

    /// An observed value for indicator `k`: the address, a name under the domain, an address in the
    /// CIDR, the URL.
    fn observed(&mut self, k: u32) {
        self.value.clear();
        match indicator_type(k) {
            IndicatorType::Ip => write_ip(&mut self.value, indicator_ip(k)),
            IndicatorType::Domain => {
                if self.rng.below(3) == 0 {
                    let _ = write!(self.value, "{}.", WORDS[self.rng.below(16) as usize]);
                }
                indicator_value(&mut self.value, k);
            }
            IndicatorType::Cidr => {
                let mut a = (0xb900_0000u32 + k * 256).to_be_bytes();
                a[3] = 1 + self.rng.below(254) as u8;
                write_ip(&mut self.value, a);
            }
            IndicatorType::Url => indicator_value(&mut self.value, k),
        }
    }

    fn intel(&mut self, out: &mut String, id: &str, ts: &str, sensor: &str, k: u32) {
        self.observed(k);
        let ty = indicator_type(k);
        let pick = self.rng.below(100);
        // (input, where, proto, dst port); the listed side is the destination unless `where` says src.
        let (input, location, proto, port): (&str, &str, &str, u16) = match ty {
            IndicatorType::Ip | IndicatorType::Cidr => match pick {
                0..=44 => ("packet", "ip.dst", "tcp", [443, 80, 8080, 22][self.rng.below(4) as usize]),
                45..=59 => ("packet", "ip.src", "tcp", [443, 80][self.rng.below(2) as usize]),
                60..=79 => ("netflow", "flow.dst", "tcp", 443),
                80..=87 => ("ipfix", "flow.dst", "udp", 53),
                88..=91 => ("sflow", "flow.src", "tcp", 3389),
                _ => ("syslog", "syslog.token", "udp", 514),
            },
            IndicatorType::Domain => match pick {
                0..=54 => ("dns", "dns.query", "udp", 53),
                55..=74 => ("tls", "tls.sni", "tcp", 443),
                75..=89 => ("http", "http.host", "tcp", 80),
                _ => ("syslog", "syslog.token", "udp", 514),
            },
            IndicatorType::Url => ("http", "http.url", "tcp", 80),
        };
        let external = if matches!(ty, IndicatorType::Ip | IndicatorType::Cidr) {
            self.value.clone()
        } else if input == "dns" {
            ["10.0.0.53", "10.0.0.54"][self.rng.below(2) as usize].to_owned()
        } else {
            let mut e = String::new();
            write_ip(&mut e, indicator_ip(k ^ 1));
            e
        };
        let host = std::mem::take(&mut self.host);
        let (src, dst) = if location.ends_with(".src") {
            (external.as_str(), host.as_str())
        } else if input == "syslog" {
            // A syslog line names the value; the flow is the sender's datagram to the collector.
            (host.as_str(), "10.0.0.5")
        } else {
            (host.as_str(), external.as_str())
        };
        let _ = write!(
            out,
            r#"{{"id":"{id}","ts":"{ts}","sensor":"{sensor}","kind":"intel","input":"{input}","match":{{"where":"{location}","value":"{}"}}"#,
            self.value
        );
        self.indicator_json(out, k);
        let sport = 32_768 + self.rng.below(28_000);
        let _ = write!(
            out,
            r#","flow":{{"src_ip":"{src}","src_port":{sport},"dst_ip":"{dst}","dst_port":{port},"proto":"{proto}"}}"#
        );
        // Lean protocol objects (a frame reference, the DNS question): a 10M-event store stays near
        // 10 GB. App-layer events carry no `packet` here.
        if input == "packet" {
            let _ = write!(
                out,
                r#","packet":{{"capture":"eth1","frame":{},"length":{},"ttl":{}}}"#,
                1 + self.rng.below(1 << 30),
                60 + self.rng.below(1400),
                32 + self.rng.below(96)
            );
        }
        match input {
            "dns" => {
                let _ = write!(out, r#","dns":{{"id":{},"qtype":"A"}}"#, self.rng.below(65_536));
            }
            "tls" => {
                let _ = write!(out, r#","tls":{{"version":"1.3"}}"#);
            }
            "http" => {
                let _ = write!(out, r#","http":{{"method":"GET"}}"#);
            }
            "netflow" | "ipfix" | "sflow" => {
                let _ = write!(
                    out,
                    r#","{input}":{{"exporter":"10.0.0.{}","packets":{},"bytes":{}}}"#,
                    1 + self.rng.below(4),
                    1 + self.rng.below(200),
                    64 + self.rng.below(200_000)
                );
            }
            "syslog" => {
                let _ = write!(out, r#","syslog":{{"host":"{}","facility":4,"severity":5,"app":"named"}}"#, host);
            }
            _ => {}
        }
        out.push('}');
        self.host = host;
    }

    fn summary(&mut self, out: &mut String, id: &str, ts: &str, sensor: &str, k: u32) {
        self.observed(k);
        let (input, location) = match indicator_type(k) {
            IndicatorType::Ip | IndicatorType::Cidr => ("packet", "ip.dst"),
            IndicatorType::Domain => ("dns", "dns.query"),
            IndicatorType::Url => ("http", "http.url"),
        };
        let _ = write!(
            out,
            r#"{{"id":"{id}","ts":"{ts}","sensor":"{sensor}","kind":"summary","input":"{input}","match":{{"where":"{location}","value":"{}"}}"#,
            self.value
        );
        self.indicator_json(out, k);
        let _ = write!(
            out,
            r#","flow":{{"src_ip":"{}","dst_ip":"10.0.0.53","proto":"udp"}},"summary":{{"key":"{}|{}|{location}","suppressed":{},"first":"{ts}","last":"{ts}","input":"{input}"}}}}"#,
            self.host,
            self.host,
            10_000 + k,
            1 + self.rng.below(500)
        );
    }

    fn rule(&mut self, out: &mut String, id: &str, ts: &str, sensor: &str) {
        let n = self.rng.below(6);
        let _ = write!(
            out,
            r#"{{"id":"{id}","ts":"{ts}","sensor":"{sensor}","kind":"rule","input":"syslog","match":{{"where":"syslog.token","value":"blocked{n}.example"}},"rule":{{"chain":"re","name":"blocked-domains-{n}"}},"flow":{{"src_ip":"{}","src_port":514,"dst_ip":"10.0.0.5","dst_port":514,"proto":"udp"}},"syslog":{{"host":"{}","facility":1,"severity":3,"message":"lookup blocked{n}.example refused"}}}}"#,
            self.host, self.host
        );
    }

    /// An incident about the host of a recent event, listing up to 4 recent events of that host.
    fn incident(&mut self, out: &mut String, ts: &str, i: u64) {
        let (h, _) = self.recent[self.rng.below(self.recent.len() as u64) as usize].clone();
        let mut events: Vec<&str> =
            self.recent.iter().rev().filter(|(rh, _)| *rh == h).map(|(_, id)| id.as_str()).take(4).collect();
        events.reverse();
        let mut host = String::new();
        host_ip(&mut host, h);
        let window_s = self.ts_of(i).div_euclid(1_000_000_000) / 300 * 300;
        let ids = events.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(",");
        let _ = write!(
            out,
            r#"{{"id":"analytics:distinct_indicators:{window_s}:{host}:{i}","ts":"{ts}","sensor":"analytics@sdn","kind":"incident","input":"packet","match":{{"where":"ip.dst","value":"{host}"}},"flow":{{"src_ip":"{host}","dst_ip":"10.0.0.53","proto":"udp"}},"incident":{{"rule":"distinct_indicators","host":"{host}","events":[{ids}],"indicators":[]}}}}"#
        );
    }
}

/// Fills a new store at `path` with `cfg`'s events through a [`crate::BulkLoader`] (batches of
/// 10,000), calling `progress(events so far)` after each batch.
pub fn fill(
    path: &std::path::Path,
    cfg: SynthConfig,
    mut progress: impl FnMut(u64),
) -> Result<crate::InsertStats, crate::StoreError> {
    const BATCH: usize = 10_000;
    let mut loader = crate::BulkLoader::create(path)?;
    let mut events = SynthEvents::new(cfg);
    let mut lines: Vec<String> = (0..BATCH).map(|_| String::with_capacity(700)).collect();
    let mut done = 0u64;
    loop {
        let mut n = 0;
        while n < BATCH && events.next_line(&mut lines[n]) {
            n += 1;
        }
        if n == 0 {
            break;
        }
        let batch: Vec<&[u8]> = lines[..n].iter().map(|l| l.as_bytes()).collect();
        loader.insert_json(&batch)?;
        done += n as u64;
        progress(done);
    }
    Ok(loader.finish()?.1)
}
