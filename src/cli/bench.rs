//! `sdn-sensor bench SUITE`.

use super::BenchArgs;
use sensor::bench::{PacketBenchConfig, packets};
use std::process::ExitCode;

pub fn run(a: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.seconds > 0.0,
        "--seconds must be positive (got {})",
        a.seconds
    );
    anyhow::ensure!(a.corpus > 0, "--corpus must be at least 1");
    let cfg = PacketBenchConfig {
        indicators: a.indicators,
        corpus: a.corpus,
        seconds: a.seconds,
        ..Default::default()
    };
    let r = packets(&cfg);
    println!(
        "indicators loaded: {} in {:.2} s",
        r.indicators, r.load_seconds
    );
    println!(
        "corpus: {} frames, {} bytes (mean {} B)",
        r.corpus_packets,
        r.corpus_bytes,
        r.corpus_bytes / r.corpus_packets
    );
    println!(
        "baseline (read frame bytes): {:.0} packets/s",
        r.baseline_touch_pps
    );
    println!(
        "decode only:                 {:.0} packets/s ({:.2}x baseline time)",
        r.decode_pps,
        r.baseline_touch_pps / r.decode_pps
    );
    println!(
        "decode + match:              {:.0} packets/s ({:.2}x decode-only time), {} hits per pass",
        r.pipeline_pps,
        r.decode_pps / r.pipeline_pps,
        r.hits_per_pass
    );
    println!("packets: {:.0} packets/s per core", r.pipeline_pps);
    Ok(ExitCode::SUCCESS)
}
