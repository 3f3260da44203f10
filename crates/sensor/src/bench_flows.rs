//! `sdn-sensor bench flows`: NetFlow v5 and IPFIX records decoded and
//! every address matched, on one core, against 1M indicators.

use crate::bench::{Rate, timed};
use crate::flows::ExportPort;
use crate::pipeline::Pipeline;
use crate::synth::{self, Rng};
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use flow::netflow::{NetflowDecoder, NetflowLimits};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct FlowBenchConfig {
    pub indicators: usize,
    /// Datagrams per corpus (each with `V5_RECORDS` or `IPFIX_RECORDS`).
    pub datagrams: usize,
    /// Records with a listed source address, per mille.
    pub hit_per_mille: u64,
    pub seconds: f64,
    pub trials: usize,
}

impl Default for FlowBenchConfig {
    fn default() -> Self {
        FlowBenchConfig { indicators: 1_000_000, datagrams: 2048, hit_per_mille: 10, seconds: 7.0, trials: 7 }
    }
}

pub const V5_RECORDS: usize = 30;
pub const IPFIX_RECORDS: usize = 20;

#[derive(Debug, Clone)]
pub struct FlowBenchResult {
    pub indicators: usize,
    pub load_seconds: f64,
    pub v5_decode: Rate,
    pub v5_pipeline: Rate,
    pub ipfix_decode: Rate,
    pub ipfix_pipeline: Rate,
    pub hits_per_pass: u64,
}

fn address(rng: &mut Rng, listed: &[IpAddr], per_mille: u64) -> [u8; 4] {
    if rng.below(1000) < per_mille
        && let Some(IpAddr::V4(a)) = listed.get(rng.below(listed.len() as u64) as usize)
    {
        return a.octets();
    }
    rng.v4().to_be_bytes()
}

/// A NetFlow v5 datagram of `V5_RECORDS` records.
pub fn v5_datagram(rng: &mut Rng, listed: &[IpAddr], per_mille: u64, sequence: u32) -> Vec<u8> {
    let mut d = Vec::with_capacity(24 + 48 * V5_RECORDS);
    d.extend_from_slice(&5u16.to_be_bytes());
    d.extend_from_slice(&(V5_RECORDS as u16).to_be_bytes());
    d.extend_from_slice(&3_600_000u32.to_be_bytes()); // sysUpTime
    d.extend_from_slice(&1_795_928_400u32.to_be_bytes()); // unix secs
    d.extend_from_slice(&0u32.to_be_bytes());
    d.extend_from_slice(&sequence.to_be_bytes());
    d.extend_from_slice(&[0, 0, 0, 0]);
    for _ in 0..V5_RECORDS {
        d.extend_from_slice(&address(rng, listed, per_mille));
        d.extend_from_slice(&rng.v4().to_be_bytes());
        d.extend_from_slice(&[192, 0, 2, 1]); // next hop
        d.extend_from_slice(&[0, 1, 0, 2]); // input, output
        d.extend_from_slice(&(1 + rng.below(100) as u32).to_be_bytes());
        d.extend_from_slice(&(64 + rng.below(100_000) as u32).to_be_bytes());
        d.extend_from_slice(&3_500_000u32.to_be_bytes());
        d.extend_from_slice(&3_590_000u32.to_be_bytes());
        d.extend_from_slice(&(1024 + rng.below(60_000) as u16).to_be_bytes());
        d.extend_from_slice(&443u16.to_be_bytes());
        d.extend_from_slice(&[0, 0x1b, 6, 0]); // pad, TCP flags, protocol, ToS
        d.extend_from_slice(&[0, 0, 0, 0, 24, 24, 0, 0]);
    }
    d
}

/// IPFIX template 256: v4 addresses, ports, protocol, flags, 64-bit
/// packet and octet deltas, start/end milliseconds, interfaces, next hop.
const IPFIX_FIELDS: [(u16, u16); 13] =
    [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 8), (1, 8), (152, 8), (153, 8), (10, 4), (14, 4), (15, 4)];
const IPFIX_RECORD_LEN: usize = 58;

fn ipfix_header(d: &mut Vec<u8>, sequence: u32) {
    d.extend_from_slice(&10u16.to_be_bytes());
    d.extend_from_slice(&0u16.to_be_bytes()); // length, patched
    d.extend_from_slice(&1_795_928_400u32.to_be_bytes());
    d.extend_from_slice(&sequence.to_be_bytes());
    d.extend_from_slice(&1u32.to_be_bytes()); // observation domain
}

fn patch_len(d: &mut [u8], at: usize) {
    let len = (d.len() - at) as u16;
    d[at + 2..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// The template datagram.
pub fn ipfix_template() -> Vec<u8> {
    let mut d = Vec::new();
    ipfix_header(&mut d, 0);
    let set = d.len();
    d.extend_from_slice(&[0, 2, 0, 0, 1, 0]);
    d.extend_from_slice(&(IPFIX_FIELDS.len() as u16).to_be_bytes());
    for (id, len) in IPFIX_FIELDS {
        d.extend_from_slice(&id.to_be_bytes());
        d.extend_from_slice(&len.to_be_bytes());
    }
    patch_len(&mut d, set);
    patch_len(&mut d, 0);
    d
}

/// A data datagram of `IPFIX_RECORDS` records for template 256.
pub fn ipfix_datagram(rng: &mut Rng, listed: &[IpAddr], per_mille: u64, sequence: u32) -> Vec<u8> {
    let mut d = Vec::with_capacity(20 + IPFIX_RECORD_LEN * IPFIX_RECORDS);
    ipfix_header(&mut d, sequence);
    let set = d.len();
    d.extend_from_slice(&[1, 0, 0, 0]);
    let start_ms = 1_795_928_000_000u64;
    for _ in 0..IPFIX_RECORDS {
        d.extend_from_slice(&address(rng, listed, per_mille));
        d.extend_from_slice(&rng.v4().to_be_bytes());
        d.extend_from_slice(&(1024 + rng.below(60_000) as u16).to_be_bytes());
        d.extend_from_slice(&443u16.to_be_bytes());
        d.extend_from_slice(&[6, 0x1b]);
        d.extend_from_slice(&(1 + rng.below(100)).to_be_bytes());
        d.extend_from_slice(&(64 + rng.below(100_000)).to_be_bytes());
        d.extend_from_slice(&start_ms.to_be_bytes());
        d.extend_from_slice(&(start_ms + 90_000).to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 192, 0, 2, 1]);
    }
    patch_len(&mut d, set);
    patch_len(&mut d, 0);
    d
}

pub fn flows(cfg: &FlowBenchConfig) -> FlowBenchResult {
    let t = Instant::now();
    let intel = synth::synthetic_intel(cfg.indicators, 0x5eed);
    let listed = intel.listed.clone();
    let set = Arc::new(intel.builder.build());
    let load_seconds = t.elapsed().as_secs_f64();
    let mut rng = Rng::new(0xf10);
    let v5: Vec<Vec<u8>> =
        (0..cfg.datagrams).map(|i| v5_datagram(&mut rng, &listed, cfg.hit_per_mille, i as u32)).collect();
    let template = ipfix_template();
    let ipfix: Vec<Vec<u8>> =
        (0..cfg.datagrams).map(|i| ipfix_datagram(&mut rng, &listed, cfg.hit_per_mille, i as u32)).collect();

    let exporter = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
    let from = SocketAddr::new(exporter, 40_000);
    let local: SocketAddr = "127.0.0.1:2055".parse().unwrap_or(from);
    let now = 1_795_928_400u64;

    let mut decoder = NetflowDecoder::new(NetflowLimits::default());
    let _ = decoder.decode(exporter, &template, now, &mut |_, _| {});
    let mut decode_only = |corpus: &[Vec<u8>]| {
        let mut n = 0u64;
        for d in corpus {
            let _ = decoder.decode(exporter, d, now, &mut |_, r| n += u64::from(r.src.is_some()));
        }
        n
    };
    let mut pipeline = Pipeline::new(Arc::clone(&set));
    pipeline.process_export(ExportPort::Netflow, from, local, &template, now * 1_000_000_000);
    let mut hits_per_pass = 0;
    let mut full = |corpus: &[Vec<u8>]| {
        let mut hits = 0u64;
        for d in corpus {
            hits += pipeline.process_export(ExportPort::Netflow, from, local, d, now * 1_000_000_000).0.len() as u64;
        }
        hits_per_pass = hits;
        hits
    };
    let mut sink =
        decode_only(&v5).wrapping_add(full(&v5)).wrapping_add(decode_only(&ipfix)).wrapping_add(full(&ipfix));
    let per_trial = cfg.seconds / cfg.trials.max(1) as f64 / 4.0;
    let (v5_n, ipfix_n) = (v5.len() * V5_RECORDS, ipfix.len() * IPFIX_RECORDS);
    let mut rates = [(); 4].map(|_| Vec::new());
    for _ in 0..cfg.trials.max(1) {
        rates[0].push(timed(per_trial, v5_n, &mut || decode_only(&v5), &mut sink));
        rates[1].push(timed(per_trial, v5_n, &mut || full(&v5), &mut sink));
        rates[2].push(timed(per_trial, ipfix_n, &mut || decode_only(&ipfix), &mut sink));
        rates[3].push(timed(per_trial, ipfix_n, &mut || full(&ipfix), &mut sink));
    }
    std::hint::black_box(sink);
    let [a, b, c, d] = rates;
    FlowBenchResult {
        indicators: cfg.indicators,
        load_seconds,
        v5_decode: Rate::of(a),
        v5_pipeline: Rate::of(b),
        ipfix_decode: Rate::of(c),
        ipfix_pipeline: Rate::of(d),
        hits_per_pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_exports_decode_to_their_records() {
        let mut rng = Rng::new(1);
        let listed = [IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7))];
        let exporter = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
        let mut dec = NetflowDecoder::new(NetflowLimits::default());
        let mut srcs = Vec::new();
        let v5 = v5_datagram(&mut rng, &listed, 1000, 1);
        dec.decode(exporter, &v5, 0, &mut |_, r| srcs.push((r.src, r.dst_port, r.protocol))).unwrap();
        assert_eq!(srcs.len(), V5_RECORDS);
        assert!(srcs.iter().all(|s| *s == (Some(listed[0]), Some(443), Some(6))), "{srcs:?}");
        dec.decode(exporter, &ipfix_template(), 0, &mut |_, _| {}).unwrap();
        let mut n = 0;
        dec.decode(exporter, &ipfix_datagram(&mut rng, &listed, 1000, 2), 0, &mut |_, r| {
            assert_eq!(
                (r.src, r.dst_port, r.next_hop),
                (Some(listed[0]), Some(443), Some("192.0.2.1".parse().unwrap()))
            );
            n += 1;
        })
        .unwrap();
        assert_eq!(n, IPFIX_RECORDS);
    }
}
