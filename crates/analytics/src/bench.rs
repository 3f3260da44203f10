//! `sdn-sensor bench analytics`: events/s through the engine alone and with
//! JSON decoding, on a synthetic stream held in memory.
//!
//! The stream: 10k hosts, 1k indicators (IPs and domains, 2 feeds), 4
//! sensors, skewed so that throttling has work; 70 % packet hits at `ip.dst`,
//! 20 % DNS responses with A answers (1 in 16 holding a listed address, so
//! DNS → connect fires now and then), 10 % syslog rule hits; timestamps 1 ms
//! apart. Every correlation kind is configured. A run is 10 passes over
//! 20k distinct events (each pass shifted by the stream's span, so the clock
//! keeps going: ~3 windows per run) with a fresh engine; the medians of the
//! runs are reported. The working set of input lines (~11 MB) is cache-warm,
//! as events fresh off the bus would be.

use crate::{Config, CorrelationRule, Engine, EventIn, ParsedEvent, parse_event};
use std::fmt;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct BenchReport {
    pub events: usize,
    pub bytes: usize,
    /// Engine only (pre-parsed events): median events per CPU second of the
    /// benchmark thread (= per core; the wall-clock rate is lower on a busy
    /// machine).
    pub engine_eps: f64,
    /// parse_event + push: median events per CPU second.
    pub json_eps: f64,
    /// Medians per wall-clock second.
    pub engine_wall_eps: f64,
    pub json_wall_eps: f64,
    /// Per run: events per CPU second.
    pub engine_runs: Vec<f64>,
    pub json_runs: Vec<f64>,
    /// Outputs produced per stream pass (summaries, incidents, reports).
    pub outputs: usize,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "stream: {} events, {} bytes of JSON ({} B/event), {} outputs per pass",
            self.events,
            self.bytes,
            self.bytes / self.events.max(1),
            self.outputs
        )?;
        writeln!(
            f,
            "engine only: {:.0} events/s per core ({:.0}/s wall clock; median of {} runs)",
            self.engine_eps,
            self.engine_wall_eps,
            self.engine_runs.len()
        )?;
        write!(
            f,
            "json + engine: {:.0} events/s per core ({:.0}/s wall clock; median of {} runs)",
            self.json_eps,
            self.json_wall_eps,
            self.json_runs.len()
        )
    }
}

/// The synthetic stream as JSON lines.
pub fn stream(n: usize) -> Vec<String> {
    let t0: i64 = 1_795_928_400;
    let mut out = Vec::with_capacity(n);
    // xorshift: deterministic and cheap.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let r = rnd();
        let ms = i as i64;
        let ts = format!("{}", crate::Ts((t0 * 1000 + ms) * 1_000_000));
        // Skewed hosts and indicators, so throttling and top-N have work.
        let h = (r % 10_000) as u32 >> ((r >> 20) % 12);
        let host = format!("10.{}.{}.{}", h >> 16, (h >> 8) & 255, h & 255);
        let k = ((r >> 32) % 1000) as u32 >> ((r >> 40) % 8);
        let sensor = format!("edge-{}", (r >> 50) % 4);
        let id = format!("{sensor}:{:016x}", (1u64 << 40) + i as u64);
        let kind = (r >> 56) % 10;
        let line = if kind < 7 {
            let dst = format!("198.51.{}.{}", k >> 8, k & 255);
            format!(
                r#"{{"id":"{id}","ts":"{ts}","sensor":"{sensor}","kind":"intel","input":"packet","match":{{"where":"ip.dst","value":"{dst}"}},"indicator":{{"id":"{k}","type":"ip","value":"{dst}","threat_type":"c2","feed":"feeds/ip.csv"}},"flow":{{"src_ip":"{host}","src_port":{},"dst_ip":"{dst}","dst_port":443,"proto":"tcp"}},"packet":{{"frame":{i},"length":60,"caplen":60,"link":"ethernet","src_mac":"00:00:5e:00:53:af","dst_mac":"08:00:20:9f:6b:72","ethertype":2048,"ip_version":4,"ttl":64,"tcp_flags":"S"}}}}"#,
                1024 + (r >> 8) % 60000
            )
        } else if kind < 9 {
            // Mostly unlisted answers; 1 in 16 holds a listed address.
            let a = if (r >> 12) % 16 == 0 {
                format!("198.51.{}.{}", k >> 8, k & 255)
            } else {
                format!("203.0.113.{}", k & 255)
            };
            format!(
                r#"{{"id":"{id}","ts":"{ts}","sensor":"{sensor}","kind":"intel","input":"dns","match":{{"where":"dns.query","value":"www.d{k}.example"}},"indicator":{{"id":"d{k}","type":"domain","value":"d{k}.example","threat_type":"malware","feed":"feeds/dom.txt"}},"flow":{{"src_ip":"192.0.2.53","src_port":53,"dst_ip":"{host}","dst_port":{},"proto":"udp"}},"packet":{{"frame":{i},"length":120,"caplen":120,"link":"ethernet","ethertype":2048,"ip_version":4,"ttl":64}},"dns":{{"id":{},"qr":true,"rcode":"NOERROR","flags":["rd","ra"],"questions":[{{"name":"www.d{k}.example","type":"A"}}],"answers":[{{"name":"www.d{k}.example","type":"A","ttl":60,"data":"{a}"}},{{"name":"www.d{k}.example","type":"A","ttl":60,"data":"203.0.114.{}"}}]}}}}"#,
                1024 + (r >> 8) % 60000,
                r & 0xffff,
                k & 255
            )
        } else {
            format!(
                r#"{{"id":"{id}","ts":"{ts}","sensor":"{sensor}","kind":"rule","input":"syslog","match":{{"where":"syslog.message","value":"Failed password for root from {host} port 22 ssh2"}},"rule":{{"chain":"re","name":"ssh-fail"}},"syslog":{{"host":"{host}","facility":4,"severity":6,"version":0,"message":"Failed password for root from {host} port 22 ssh2"}}}}"#
            )
        };
        out.push(line);
    }
    out
}

pub fn config() -> Config {
    Config {
        correlations: vec![
            CorrelationRule::DnsThenConnect { name: "dns-connect".into(), within_s: 60 },
            CorrelationRule::DistinctIndicators { name: "spread".into(), within_s: 60, k: 5 },
            CorrelationRule::DistinctTypes { name: "types".into(), within_s: 60, k: 3 },
            CorrelationRule::MultiSensor { name: "multi".into(), within_s: 60, sensors: 3 },
        ],
        ..Config::default()
    }
}

/// CPU time of this thread (Linux schedstat, ns): on a busy machine the
/// wall clock undercounts what one core does.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// (events per wall second, events per CPU second)
struct Clock(Instant, Option<u64>);

impl Clock {
    fn start() -> Self {
        Clock(Instant::now(), thread_cpu_ns())
    }

    fn rates(&self, n: usize) -> (f64, f64) {
        let wall = self.0.elapsed().as_secs_f64();
        let cpu = match (self.1, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
            _ => wall,
        };
        (n as f64 / wall, n as f64 / cpu)
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

const DISTINCT: usize = 20_000;
const PASSES: i64 = 10;
/// The stream's span: each pass is shifted by it.
const SPAN_NS: i64 = DISTINCT as i64 * 1_000_000;

/// Runs each measurement for about `seconds / 2` (at least 3 runs).
pub fn bench(seconds: f64) -> BenchReport {
    let lines = stream(DISTINCT);
    let bytes = lines.iter().map(|l| l.len() + 1).sum::<usize>() * PASSES as usize;
    let parsed: Vec<ParsedEvent<'_>> =
        lines.iter().map(|l| parse_event(l.as_bytes()).expect("bench line parses")).collect();
    let events: Vec<EventIn<'_>> = parsed.iter().map(|p| p.event()).collect();
    let total = events.len() * PASSES as usize;
    let budget = seconds.max(0.1) / 2.0;
    let mut outputs = 0;

    let (mut engine_runs, mut engine_wall) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while engine_runs.len() < 3 || start.elapsed().as_secs_f64() < budget {
        let mut e = Engine::new(config());
        let mut out = Vec::with_capacity(1024);
        let mut n_out = 0;
        let t = Clock::start();
        for pass in 0..PASSES {
            for ev in &events {
                let ev = EventIn { ts_ns: ev.ts_ns + pass * SPAN_NS, ..*ev };
                e.push(&ev, &mut out);
                n_out += out.len();
                out.clear();
            }
        }
        e.finish(&mut out);
        let (wall, cpu) = t.rates(total);
        engine_runs.push(cpu);
        engine_wall.push(wall);
        outputs = n_out + out.len();
    }

    let (mut json_runs, mut json_wall) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while json_runs.len() < 3 || start.elapsed().as_secs_f64() < budget {
        let mut e = Engine::new(config());
        let mut out = Vec::with_capacity(1024);
        let t = Clock::start();
        for pass in 0..PASSES {
            for l in &lines {
                if let Ok(p) = parse_event(l.as_bytes()) {
                    let ev = p.event();
                    e.push(&EventIn { ts_ns: ev.ts_ns + pass * SPAN_NS, ..ev }, &mut out);
                }
                out.clear();
            }
        }
        e.finish(&mut out);
        let (wall, cpu) = t.rates(total);
        json_runs.push(cpu);
        json_wall.push(wall);
    }
    BenchReport {
        events: total,
        bytes,
        engine_eps: median(&mut engine_runs.clone()),
        json_eps: median(&mut json_runs.clone()),
        engine_wall_eps: median(&mut engine_wall),
        json_wall_eps: median(&mut json_wall),
        engine_runs,
        json_runs,
        outputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_parses_and_runs() {
        let lines = stream(2000);
        let mut e = Engine::new(config());
        let mut out = Vec::new();
        for l in &lines {
            let p = parse_event(l.as_bytes()).unwrap();
            e.push(&p.event(), &mut out);
        }
        e.finish(&mut out);
        let s = e.stats();
        assert_eq!(s.events, 2000);
        assert!(s.suppressed > 0 && s.incidents > 0, "{s:?}");
    }

    /// `cargo test -p sdn-analytics --release -- --ignored bench --nocapture`
    #[test]
    #[ignore]
    fn bench_release() {
        println!("{}", bench(10.0));
    }
}

#[cfg(test)]
mod probe {
    use super::*;

    fn run(cfg: Config, events: &[EventIn<'_>]) -> (f64, crate::EngineStats) {
        let mut best = 0.0f64;
        let mut st = None;
        for _ in 0..3 {
            let mut e = Engine::new(cfg.clone());
            let mut out = Vec::new();
            let t = Clock::start();
            for pass in 0..PASSES {
                for ev in events {
                    e.push(&EventIn { ts_ns: ev.ts_ns + pass * SPAN_NS, ..*ev }, &mut out);
                    out.clear();
                }
            }
            best = best.max(t.rates(events.len() * PASSES as usize).1);
            st = Some(e.stats().clone());
        }
        (best, st.unwrap())
    }

    #[test]
    #[ignore]
    fn probe_variants() {
        let lines = stream(DISTINCT);
        let parsed: Vec<ParsedEvent<'_>> = lines.iter().map(|l| parse_event(l.as_bytes()).unwrap()).collect();
        let events: Vec<EventIn<'_>> = parsed.iter().map(|p| p.event()).collect();
        // JSON path only, for profiles.
        if std::env::var("PROBE_JSON").is_ok() {
            let mut e = Engine::new(config());
            let mut out = Vec::new();
            let t = Clock::start();
            for pass in 0..PASSES * 3 {
                for l in &lines {
                    if let Ok(p) = parse_event(l.as_bytes()) {
                        let ev = p.event();
                        e.push(&EventIn { ts_ns: ev.ts_ns + pass * SPAN_NS, ..ev }, &mut out);
                    }
                    out.clear();
                }
            }
            println!("json {:.0}", t.rates(lines.len() * PASSES as usize * 3).1);
            let t = Clock::start();
            let mut n = 0;
            for _ in 0..PASSES {
                for l in &lines {
                    if let Ok(p) = parse_event(l.as_bytes()) {
                        n += p.event().ts_ns as usize & 1;
                    }
                }
            }
            println!("parse only {:.0} ({n})", t.rates(lines.len() * PASSES as usize).1);
            return;
        }
        let (full, st) = run(config(), &events);
        println!("full {full:.0} {st:?}");
        let (nocorr, _) = run(Config::default(), &events);
        println!("no correlations {nocorr:.0}");
        for i in 0..4 {
            let mut t = config();
            t.correlations = vec![t.correlations[i].clone()];
            let name = format!("{:?}", t.correlations[0]);
            println!("only {name}: {:.0}", run(t, &events).0);
        }
    }
}
