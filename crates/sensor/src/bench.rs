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
    pub intel_seed: u64,
    pub corpus_seed: u64,
}

impl Default for PacketBenchConfig {
    fn default() -> Self {
        PacketBenchConfig {
            indicators: 1_500_000,
            corpus: 16_384,
            seconds: 3.0,
            hit_per_mille: 10,
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
    pub baseline_touch_pps: f64,
    /// wire::decode alone.
    pub decode_pps: f64,
    /// decode + observe + match (the full pipeline).
    pub pipeline_pps: f64,
    pub hits_per_pass: u64,
}

fn run_for<F: FnMut() -> u64>(seconds: f64, packets_per_pass: usize, mut pass: F) -> (f64, u64) {
    // Warm up once, then run whole passes until the time is up.
    let mut sink = pass();
    let start = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    let mut passes = 0u64;
    while start.elapsed() < budget {
        sink = sink.wrapping_add(pass());
        passes += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    ((passes as f64 * packets_per_pass as f64) / secs, sink)
}

pub fn packets(cfg: &PacketBenchConfig) -> PacketBenchResult {
    let t = Instant::now();
    let intel = synth::synthetic_intel(cfg.indicators, cfg.intel_seed);
    let listed = intel.listed.clone();
    let set = Arc::new(intel.builder.build());
    let load_seconds = t.elapsed().as_secs_f64();
    let corpus = synth::synthetic_corpus(cfg.corpus, &listed, cfg.hit_per_mille, cfg.corpus_seed);
    let corpus_bytes = corpus.iter().map(Vec::len).sum();

    let (baseline_touch_pps, s0) = run_for(cfg.seconds, corpus.len(), || {
        let mut acc = 0u64;
        for f in &corpus {
            let f = std::hint::black_box(f.as_slice());
            acc = acc.wrapping_add(f.len() as u64 + f[0] as u64 + f[f.len() - 1] as u64);
        }
        acc
    });
    let (decode_pps, s1) = run_for(cfg.seconds, corpus.len(), || {
        let mut acc = 0u64;
        for f in &corpus {
            let d = wire::decode(LinkType::Ethernet, std::hint::black_box(f));
            acc = acc.wrapping_add(d.transport.ports().map_or(0, |p| p.0 as u64) + d.payload.len() as u64);
        }
        acc
    });
    let mut pipeline = Pipeline::new(set);
    let mut hits_per_pass = 0;
    let (pipeline_pps, s2) = run_for(cfg.seconds, corpus.len(), || {
        let mut hits = 0u64;
        for f in &corpus {
            let (_, h) = pipeline.process(LinkType::Ethernet, std::hint::black_box(f));
            hits += h.len() as u64;
        }
        hits_per_pass = hits;
        hits
    });
    std::hint::black_box((s0, s1, s2));
    PacketBenchResult {
        indicators: cfg.indicators,
        load_seconds,
        corpus_packets: corpus.len(),
        corpus_bytes,
        baseline_touch_pps,
        decode_pps,
        pipeline_pps,
        hits_per_pass,
    }
}
