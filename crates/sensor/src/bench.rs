//! `sdn-sensor bench packets`: decode + match throughput on one core, with
//! baselines measured in the same run.

use crate::pipeline::Pipeline;
use crate::synth;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::LinkType;

#[derive(Debug, Clone)]
pub struct PacketBenchConfig {
    pub indicators: usize,
    pub corpus: usize,
    pub seconds: f64,
    pub hit_per_mille: u64,
    /// Measurements per phase (the median is reported).
    pub trials: usize,
    pub intel_seed: u64,
    pub corpus_seed: u64,
}

impl Default for PacketBenchConfig {
    fn default() -> Self {
        PacketBenchConfig {
            indicators: 1_500_000,
            corpus: 16_384,
            seconds: 7.0,
            hit_per_mille: 10,
            trials: 7,
            intel_seed: 0x5eed,
            corpus_seed: 0x00c0_ffee,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PacketBenchResult {
    pub indicators: usize,
    pub load_seconds: f64,
    pub corpus_packets: usize,
    pub corpus_bytes: usize,
    /// Reading every frame's bytes (sum of first/last byte and length).
    pub baseline_touch: Rate,
    /// wire::decode alone.
    pub decode: Rate,
    /// decode + observe + match (the full pipeline).
    pub pipeline: Rate,
    pub hits_per_pass: u64,
}

/// Throughput over several trials: on a shared machine one trial can land
/// beside a noisy neighbour, so the median is the number to quote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rate {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Rate {
    pub(crate) fn of(mut samples: Vec<f64>) -> Rate {
        samples.sort_by(f64::total_cmp);
        match samples.as_slice() {
            [] => Rate::default(),
            s => Rate { median: s[s.len() / 2], min: s[0], max: s[s.len() - 1] },
        }
    }
}

/// Runs whole passes for `seconds`; returns packets per second.
pub(crate) fn timed<F: FnMut() -> u64>(seconds: f64, packets_per_pass: usize, pass: &mut F, sink: &mut u64) -> f64 {
    let start = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    let mut passes = 0u64;
    while passes == 0 || start.elapsed() < budget {
        *sink = sink.wrapping_add(pass());
        passes += 1;
    }
    (passes as f64 * packets_per_pass as f64) / start.elapsed().as_secs_f64()
}

pub fn packets(cfg: &PacketBenchConfig) -> PacketBenchResult {
    let t = Instant::now();
    let intel = synth::synthetic_intel(cfg.indicators, cfg.intel_seed);
    let listed = intel.listed.clone();
    let set = Arc::new(intel.builder.build());
    let load_seconds = t.elapsed().as_secs_f64();
    let corpus = synth::synthetic_corpus(cfg.corpus, &listed, cfg.hit_per_mille, cfg.corpus_seed);
    let corpus_bytes = corpus.iter().map(Vec::len).sum();

    let mut baseline = || {
        let mut acc = 0u64;
        for f in &corpus {
            let f = std::hint::black_box(f.as_slice());
            acc = acc.wrapping_add(f.len() as u64 + f[0] as u64 + f[f.len() - 1] as u64);
        }
        acc
    };
    let mut decode_only = || {
        let mut acc = 0u64;
        for f in &corpus {
            let d = wire::decode(LinkType::Ethernet, std::hint::black_box(f));
            acc = acc.wrapping_add(d.transport.ports().map_or(0, |p| p.0 as u64) + d.payload.len() as u64);
        }
        acc
    };
    let mut pipeline = Pipeline::new(set);
    let mut hits_per_pass = 0;
    let mut full = || {
        let mut hits = 0u64;
        for f in &corpus {
            let (_, h) = pipeline.process(LinkType::Ethernet, std::hint::black_box(f));
            hits += h.len() as u64;
        }
        hits_per_pass = hits;
        hits
    };
    // Warm every path once, then interleave the three measurements so drift
    // on the machine affects them alike.
    let mut sink = baseline().wrapping_add(decode_only()).wrapping_add(full());
    let per_trial = cfg.seconds / cfg.trials.max(1) as f64;
    let (mut b, mut d, mut p) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cfg.trials.max(1) {
        b.push(timed(per_trial, corpus.len(), &mut baseline, &mut sink));
        d.push(timed(per_trial, corpus.len(), &mut decode_only, &mut sink));
        p.push(timed(per_trial, corpus.len(), &mut full, &mut sink));
    }
    std::hint::black_box(sink);
    PacketBenchResult {
        indicators: cfg.indicators,
        load_seconds,
        corpus_packets: corpus.len(),
        corpus_bytes,
        baseline_touch: Rate::of(b),
        decode: Rate::of(d),
        pipeline: Rate::of(p),
        hits_per_pass,
    }
}

/// Resident and peak memory of this process, in bytes (Linux).
pub fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[derive(Debug, Clone)]
pub struct IntelBenchResult {
    pub indicators: usize,
    pub file_bytes: u64,
    pub load_seconds: f64,
    /// RSS growth from before loading to after (the set, all feeds' strings).
    pub rss_bytes: u64,
    /// Peak RSS growth while loading (the builder's transient tables).
    pub peak_bytes: u64,
    pub ip_lookups: Rate,
    /// 5-label names, 10% below a listed domain.
    pub domain_lookups: Rate,
    /// 5-label names, none listed.
    pub unlisted_domain_lookups: Rate,
    /// 5-label names, all below a listed 2- or 3-label domain.
    pub listed_domain_lookups: Rate,
    /// Baseline: dependent random reads over 256 MiB (one miss each).
    pub random_reads: Rate,
}

/// Loads `total` mixed indicators from a CSV file written to `dir`, then
/// measures IP lookups (random IPv4/IPv6, about 1% listed) and lookups of
/// 5-label names (10% under a listed domain, and also none and all).
pub fn intel(total: usize, dir: &std::path::Path, seconds: f64, trials: usize) -> std::io::Result<IntelBenchResult> {
    let path = dir.join(format!("mixed-{total}.csv"));
    let listed_domains = {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let l = synth::write_mixed_feed(&mut out, total, 0x1d_e7e1)?;
        std::io::Write::flush(&mut out)?;
        l
    };
    let file_bytes = std::fs::metadata(&path)?.len();
    let (rss_before, _) = memory();
    let t = Instant::now();
    let (set, _) = intel::load_feeds(std::slice::from_ref(&path), intel::LoadOptions::default())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let load_seconds = t.elapsed().as_secs_f64();
    let (rss_after, peak_after) = memory();
    std::fs::remove_file(&path).ok();

    let mut rng = synth::Rng::new(99);
    let ips: Vec<core::net::IpAddr> = (0..65_536)
        .map(|i| {
            if i % 5 == 0 {
                core::net::IpAddr::from(core::net::Ipv6Addr::from(rng.v6()))
            } else {
                core::net::IpAddr::from(core::net::Ipv4Addr::from(rng.v4()))
            }
        })
        .collect();
    // Names of exactly 5 labels: below a listed domain every `listed_every`
    // names (0: never), else below a random (almost surely unlisted) one.
    let mut names = |listed_every: usize| -> Vec<String> {
        (0..65_536)
            .map(|i| {
                let mut name = if listed_every > 0 && i % listed_every == 0 && !listed_domains.is_empty() {
                    listed_domains[rng.below(listed_domains.len() as u64) as usize].clone()
                } else {
                    synth::domain(&mut rng)
                };
                while name.split('.').count() < 5 {
                    name = format!("w{}.{name}", rng.below(100));
                }
                name
            })
            .collect()
    };
    let [mixed, unlisted, listed] = [names(10), names(0), names(1)];
    let mut sink = 0u64;
    let mut ip_pass = || ips.iter().map(|a| set.match_ip(*a).0.len() as u64).sum::<u64>();
    let domain_pass =
        |names: &[String]| names.iter().map(|n| set.match_domain(n).map_or(0, |m| m.ids.len() as u64)).sum::<u64>();
    // Baseline: a chain of dependent random reads over 256 MiB (a random
    // cyclic permutation, Sattolo's shuffle): the latency of one cache and
    // TLB miss on this machine at this moment.
    let mut chain: Vec<u32> = (0..1u32 << 26).collect();
    for i in (1..chain.len()).rev() {
        chain.swap(i, rng.below(i as u64) as usize);
    }
    let mut at = 0u32;
    let mut read_pass = || {
        for _ in 0..65_536 {
            at = chain[at as usize];
        }
        u64::from(at)
    };
    let per_trial = seconds / trials.max(1) as f64;
    let mut rates = [(); 5].map(|_| Vec::new());
    for _ in 0..trials.max(1) {
        rates[4].push(timed(per_trial / 3.0, 65_536, &mut read_pass, &mut sink));
        rates[0].push(timed(per_trial, ips.len(), &mut ip_pass, &mut sink));
        for (r, names) in rates[1..].iter_mut().zip([&mixed, &unlisted, &listed]) {
            r.push(timed(per_trial / 3.0, names.len(), &mut || domain_pass(names), &mut sink));
        }
    }
    let [a, b, c, d, e] = rates;
    std::hint::black_box(sink);
    Ok(IntelBenchResult {
        indicators: set.len(),
        file_bytes,
        load_seconds,
        rss_bytes: rss_after.saturating_sub(rss_before),
        peak_bytes: peak_after.saturating_sub(rss_before),
        ip_lookups: Rate::of(a),
        domain_lookups: Rate::of(b),
        unlisted_domain_lookups: Rate::of(c),
        listed_domain_lookups: Rate::of(d),
        random_reads: Rate::of(e),
    })
}
