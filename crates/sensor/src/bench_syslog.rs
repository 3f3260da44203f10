//! `sdn-sensor bench syslog`: a TCP stream of syslog lines framed (RFC 6587
//! octet counting), parsed, every token extracted and matched against 1M
//! indicators, on one core.

use crate::bench::{Rate, timed};
use crate::pipeline::Pipeline;
use crate::synth::{self, Rng};
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct SyslogBenchConfig {
    pub indicators: usize,
    pub lines: usize,
    /// Lines naming a listed address, per mille.
    pub hit_per_mille: u64,
    pub seconds: f64,
    pub trials: usize,
}

impl Default for SyslogBenchConfig {
    fn default() -> Self {
        SyslogBenchConfig { indicators: 1_000_000, lines: 20_000, hit_per_mille: 10, seconds: 7.0, trials: 7 }
    }
}

#[derive(Debug, Clone)]
pub struct SyslogBenchResult {
    pub indicators: usize,
    pub load_seconds: f64,
    pub lines: usize,
    pub bytes: usize,
    /// Baseline: framing and parsing only.
    pub parse: Rate,
    /// Framing, parsing, token extraction and matching (the pipeline).
    pub pipeline: Rate,
    pub hits_per_pass: u64,
}

fn ip(rng: &mut Rng, listed: &[IpAddr], per_mille: u64) -> String {
    if rng.below(1000) < per_mille
        && let Some(a) = listed.get(rng.below(listed.len() as u64) as usize)
    {
        return a.to_string();
    }
    Ipv4Addr::from(rng.v4()).to_string()
}

/// A mix of firewall, proxy, DNS, mail and sshd lines (RFC 3164 and 5424).
pub fn corpus(lines: usize, listed: &[IpAddr], per_mille: u64, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..lines)
        .map(|i| {
            let (a, b) = (ip(&mut rng, listed, per_mille), ip(&mut rng, listed, 0));
            let d = synth::domain(&mut rng);
            match i % 6 {
                0 => format!(
                    "<134>Nov 29 05:00:{:02} fw01 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00 SRC={a} DST={b} LEN=60 TOS=0x00 PROTO=TCP SPT={} DPT=443 WINDOW=64240 SYN",
                    i % 60,
                    1024 + i % 60000
                ),
                1 => format!(
                    "<166>Nov 29 05:00:{:02} asa01 : %ASA-6-302013: Built outbound TCP connection {} for outside:{a}/443 ({a}/443) to inside:{b}/{} ({b}/{})",
                    i % 60,
                    100_000 + i,
                    40_000 + i % 20_000,
                    40_000 + i % 20_000
                ),
                2 => format!(
                    "<14>1 2026-11-29T05:00:00.{:03}Z proxy01 squid 812 - - 1732856400.123 {} {b} TCP_MISS/200 5120 GET http://{d}/index.html - HIER_DIRECT/{a} text/html",
                    i % 1000,
                    100 + i % 900
                ),
                3 => format!(
                    "<30>Nov 29 05:00:{:02} ns1 named[1234]: client @0x7f12 {b}#53124 ({d}): query: {d} IN A +E(0)K ({a})",
                    i % 60
                ),
                4 => format!(
                    "<22>Nov 29 05:00:{:02} mx1 postfix/smtpd[2211]: NOQUEUE: reject: RCPT from unknown[{a}]: 554 5.7.1 <user{}@{d}>: Relay access denied; from=<billing@{d}> to=<user@example.org> proto=ESMTP helo=<{d}>",
                    i % 60,
                    i % 100
                ),
                _ => format!(
                    "<38>Nov 29 05:00:{:02} bastion sshd[4821]: Failed password for invalid user admin from {a} port {} ssh2",
                    i % 60,
                    1024 + i % 60000
                ),
            }
        })
        .collect()
}

pub fn syslog(cfg: &SyslogBenchConfig) -> SyslogBenchResult {
    let t = Instant::now();
    let intel = synth::synthetic_intel(cfg.indicators, 0x5eed);
    let listed: Vec<IpAddr> = intel.listed.iter().copied().filter(IpAddr::is_ipv4).collect();
    let set = Arc::new(intel.builder.build());
    let load_seconds = t.elapsed().as_secs_f64();
    let lines = corpus(cfg.lines, &listed, cfg.hit_per_mille, 0x5157);
    // One TCP stream, octet-counted.
    let mut stream = Vec::new();
    for l in &lines {
        stream.extend_from_slice(format!("{} {l}", l.len()).as_bytes());
    }
    let bytes = stream.len();
    let peer = SocketAddr::from(([192, 0, 2, 10], 40_000));

    let mut parse_only = || {
        let mut framer = syslog::frame::Framer::new(syslog::frame::FramerLimits { max_message: 64 << 10 });
        let mut n = 0u64;
        framer.push(&stream, &mut |m| {
            let msg = syslog::message::parse(std::hint::black_box(m));
            n += msg.msg.len() as u64;
        });
        n
    };
    let mut pipeline = Pipeline::new(Arc::clone(&set));
    let mut hits_per_pass = 0;
    let mut full = || {
        let mut framer = syslog::frame::Framer::new(syslog::frame::FramerLimits { max_message: 64 << 10 });
        let mut hits = 0u64;
        framer.push(&stream, &mut |m| {
            // The pipeline parses lazily (only for an event); parse here
            // too, so the number covers framing + parse + tokens + match.
            let parsed = syslog::message::parse(m);
            std::hint::black_box(parsed.msg.len());
            hits += pipeline.process_syslog(peer, m, 0).0.len() as u64;
        });
        hits_per_pass = hits;
        hits
    };
    let mut sink = parse_only().wrapping_add(full());
    let per_trial = cfg.seconds / cfg.trials.max(1) as f64 / 2.0;
    let (mut p, mut f) = (Vec::new(), Vec::new());
    for _ in 0..cfg.trials.max(1) {
        p.push(timed(per_trial, lines.len(), &mut parse_only, &mut sink));
        f.push(timed(per_trial, lines.len(), &mut full, &mut sink));
    }
    std::hint::black_box(sink);
    SyslogBenchResult {
        indicators: cfg.indicators,
        load_seconds,
        lines: lines.len(),
        bytes,
        parse: Rate::of(p),
        pipeline: Rate::of(f),
        hits_per_pass,
    }
}
