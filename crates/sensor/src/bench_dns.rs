//! `sdn-sensor bench dns`: DNS responses decoded and every name and
//! address in them matched, on one core, against a set of 1M domains.

use crate::bench::{Rate, timed};
use crate::pipeline::Pipeline;
use crate::synth::{self, Rng};
use intel::{Indicator, IndicatorType, SetBuilder};
use std::sync::Arc;
use std::time::Instant;
use wire::LinkType;

#[derive(Debug, Clone)]
pub struct DnsBenchConfig {
    pub domains: usize,
    pub corpus: usize,
    /// Responses whose question is below a listed domain, per mille.
    pub hit_per_mille: u64,
    pub seconds: f64,
    pub trials: usize,
}

impl Default for DnsBenchConfig {
    fn default() -> Self {
        DnsBenchConfig { domains: 1_000_000, corpus: 16_384, hit_per_mille: 10, seconds: 7.0, trials: 7 }
    }
}

#[derive(Debug, Clone)]
pub struct DnsBenchResult {
    pub domains: usize,
    pub load_seconds: f64,
    pub messages: usize,
    pub message_bytes: usize,
    /// Baseline: the same frames through the header-only pipeline.
    pub headers_only: Rate,
    /// wire::dns decode and a walk of every entry and RDATA, no matching.
    pub decode: Rate,
    /// The full pipeline: headers, DNS decode, every name and address
    /// matched.
    pub pipeline: Rate,
    pub hits_per_pass: u64,
}

pub fn dns(cfg: &DnsBenchConfig) -> DnsBenchResult {
    let mut rng = Rng::new(0xd25);
    let t = Instant::now();
    let feed: Arc<str> = Arc::from("bench");
    let mut b = SetBuilder::new();
    let mut listed = Vec::new();
    for i in 0..cfg.domains {
        let d = synth::domain(&mut rng);
        if listed.len() < 10_000 && i % 97 == 0 {
            listed.push(d.clone());
        }
        b.add(Indicator::new(i.to_string().as_str(), IndicatorType::Domain, d.as_str(), &feed));
    }
    let set = Arc::new(b.build());
    let load_seconds = t.elapsed().as_secs_f64();

    let frames: Vec<Vec<u8>> = (0..cfg.corpus)
        .map(|i| {
            let base = if rng.below(1000) < cfg.hit_per_mille {
                listed[rng.below(listed.len() as u64) as usize].clone()
            } else {
                // Under a TLD no indicator uses: certainly unlisted.
                format!("{}.internal", synth::domain(&mut rng))
            };
            let qname = format!("www.{base}");
            let cname = format!("edge{}.cdn{}.example-cdn.net", rng.below(100), rng.below(1000));
            let msg = synth::dns_response(i as u16, &qname, &cname, rng.v4().to_be_bytes());
            synth::dns_frame(&msg, 0x0a00_0005, 0xc000_0235)
        })
        .collect();
    let message_bytes = frames.iter().map(|f| f.len() - 42).sum();

    let mut headers = Pipeline::with_app(Arc::clone(&set), None);
    let mut headers_only = || frames.iter().map(|f| headers.process(LinkType::Ethernet, f).1.len() as u64).sum::<u64>();
    let mut decode = || {
        let mut acc = 0u64;
        for f in &frames {
            let Ok(m) = wire::dns::Message::new_checked(&f[42..]) else { continue };
            for e in m.entries().flatten() {
                if let wire::dns::Entry::Record(r) = e {
                    acc += u64::from(r.data().is_ok());
                }
            }
        }
        acc
    };
    let mut full_pipeline = Pipeline::new(set);
    let mut hits_per_pass = 0;
    let mut full = || {
        let hits = frames.iter().map(|f| full_pipeline.process(LinkType::Ethernet, f).1.len() as u64).sum::<u64>();
        hits_per_pass = hits;
        hits
    };
    let mut sink = headers_only().wrapping_add(decode()).wrapping_add(full());
    let per_trial = cfg.seconds / cfg.trials.max(1) as f64;
    let (mut h, mut d, mut p) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cfg.trials.max(1) {
        h.push(timed(per_trial / 3.0, frames.len(), &mut headers_only, &mut sink));
        d.push(timed(per_trial / 3.0, frames.len(), &mut decode, &mut sink));
        p.push(timed(per_trial / 3.0, frames.len(), &mut full, &mut sink));
    }
    std::hint::black_box(sink);
    DnsBenchResult {
        domains: cfg.domains,
        load_seconds,
        messages: frames.len(),
        message_bytes,
        headers_only: Rate::of(h),
        decode: Rate::of(d),
        pipeline: Rate::of(p),
        hits_per_pass,
    }
}
