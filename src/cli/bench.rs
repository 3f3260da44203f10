//! `sdn-sensor bench SUITE`.

use super::BenchArgs;
use anyhow::Context;
use sensor::bench::{PacketBenchConfig, Rate, packets};
use sensor::synth;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

pub fn run(a: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.seconds > 0.0, "--seconds must be positive (got {})", a.seconds);
    anyhow::ensure!(a.corpus > 0, "--corpus must be at least 1");
    if let Some(dir) = &a.write_corpus {
        return write_corpus(dir, &a);
    }
    if a.suite == "intel" {
        return intel_suite(&a);
    }
    if a.suite == "dns" {
        return dns_suite(&a);
    }
    if a.suite == "flows" {
        return flows_suite(&a);
    }
    if a.suite == "syslog" {
        return syslog_suite(&a);
    }
    if a.suite == "analytics" {
        return analytics_suite(&a);
    }
    if a.suite == "api" {
        return super::bench_api::run(&a);
    }
    anyhow::ensure!(a.trials > 0, "--trials must be at least 1");
    let cfg = PacketBenchConfig {
        indicators: a.indicators,
        corpus: a.corpus,
        seconds: a.seconds,
        trials: a.trials,
        ..Default::default()
    };
    let r = packets(&cfg);
    println!("indicators loaded: {} in {:.2} s", r.indicators, r.load_seconds);
    println!(
        "corpus: {} frames, {} bytes (mean {} B)",
        r.corpus_packets,
        r.corpus_bytes,
        r.corpus_bytes / r.corpus_packets
    );
    let rate = |name: &str, r: Rate| {
        println!("{name:<28} median {:>11.0} packets/s (min {:.0}, max {:.0})", r.median, r.min, r.max);
    };
    rate("baseline (read frame bytes):", r.baseline_touch);
    rate("decode only:", r.decode);
    rate("decode + match:", r.pipeline);
    println!(
        "time per packet: decode {:.2}x baseline, decode + match {:.2}x decode only; {} hits per pass",
        r.baseline_touch.median / r.decode.median,
        r.decode.median / r.pipeline.median,
        r.hits_per_pass
    );
    println!("packets: {:.0} packets/s per core", r.pipeline.median);
    Ok(ExitCode::SUCCESS)
}

fn write_corpus(dir: &Path, a: &BenchArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create directory", dir.display()))?;
    let cfg = PacketBenchConfig::default();
    let listed = synth::synthetic_intel(a.indicators, cfg.intel_seed).listed;
    let frames = synth::synthetic_corpus(a.capture_packets, &listed, cfg.hit_per_mille, cfg.corpus_seed);
    let pcap = dir.join("corpus.pcap");
    let feed = dir.join("feed.csv");
    let mut out = BufWriter::new(File::create(&pcap).with_context(|| format!("{}: cannot create", pcap.display()))?);
    synth::write_pcap(&mut out, &frames)?;
    out.flush()?;
    let mut out = BufWriter::new(File::create(&feed).with_context(|| format!("{}: cannot create", feed.display()))?);
    synth::write_feed(&mut out, a.indicators, cfg.intel_seed)?;
    out.flush()?;
    println!("wrote {} ({} frames) and {} ({} indicators)", pcap.display(), frames.len(), feed.display(), a.indicators);
    Ok(ExitCode::SUCCESS)
}

fn intel_suite(a: &BenchArgs) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("sdn-sensor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut last = None;
    for &n in &a.sizes {
        let r = sensor::bench::intel(n, &dir, a.seconds, a.trials)?;
        println!(
            "{} indicators ({} MB CSV): loaded in {:.2} s ({:.2} M/s), RSS +{} MB ({} B per indicator), peak +{} MB",
            r.indicators,
            r.file_bytes >> 20,
            r.load_seconds,
            r.indicators as f64 / r.load_seconds / 1e6,
            r.rss_bytes >> 20,
            r.rss_bytes / r.indicators.max(1) as u64,
            r.peak_bytes >> 20
        );
        let base = r.random_reads.median;
        let rate = |name: &str, r: Rate| {
            println!(
                "  {name:<26} median {:>11.0} lookups/s (min {:.0}, max {:.0}) = {:.2}x baseline",
                r.median,
                r.min,
                r.max,
                r.median / base
            );
        };
        println!(
            "  baseline: dependent random reads over 256 MiB, median {:.0}/s (min {:.0}, max {:.0})",
            base, r.random_reads.min, r.random_reads.max
        );
        rate("IP (80% v4, 20% v6):", r.ip_lookups);
        rate("domain, 5 labels:", r.domain_lookups);
        rate("  of which none listed:", r.unlisted_domain_lookups);
        rate("  of which all listed:", r.listed_domain_lookups);
        last = Some(r);
    }
    std::fs::remove_dir_all(&dir).ok();
    if let Some(r) = last {
        println!("intel: {:.0} lookups/s per core", r.ip_lookups.median);
    }
    Ok(ExitCode::SUCCESS)
}

fn dns_suite(a: &BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.trials > 0, "--trials must be at least 1");
    let cfg = sensor::bench_dns::DnsBenchConfig {
        corpus: a.corpus,
        seconds: a.seconds,
        trials: a.trials,
        ..Default::default()
    };
    let r = sensor::bench_dns::dns(&cfg);
    println!("domains loaded: {} in {:.2} s", r.domains, r.load_seconds);
    println!(
        "corpus: {} responses (1 question, CNAME + A answers), {} bytes of DNS (mean {} B)",
        r.messages,
        r.message_bytes,
        r.message_bytes / r.messages.max(1)
    );
    let rate = |name: &str, r: Rate| {
        println!("{name:<34} median {:>11.0} messages/s (min {:.0}, max {:.0})", r.median, r.min, r.max);
    };
    rate("baseline (headers + IP match):", r.headers_only);
    rate("DNS decode + RDATA walk only:", r.decode);
    rate("full pipeline (all names matched):", r.pipeline);
    println!(
        "time per message: full pipeline {:.2}x the header-only baseline; {} hits per pass",
        r.headers_only.median / r.pipeline.median,
        r.hits_per_pass
    );
    println!("dns: {:.0} messages/s per core", r.pipeline.median);
    Ok(ExitCode::SUCCESS)
}

fn flows_suite(a: &BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.trials > 0, "--trials must be at least 1");
    // 1M indicators, as the target is stated.
    let cfg = sensor::bench_flows::FlowBenchConfig { seconds: a.seconds, trials: a.trials, ..Default::default() };
    let r = sensor::bench_flows::flows(&cfg);
    println!("indicators loaded: {} in {:.2} s", r.indicators, r.load_seconds);
    let rate = |name: &str, r: Rate| {
        println!("{name:<36} median {:>11.0} records/s (min {:.0}, max {:.0})", r.median, r.min, r.max);
    };
    rate("NetFlow v5 decode only:", r.v5_decode);
    rate("NetFlow v5 decode + match:", r.v5_pipeline);
    rate("IPFIX decode only:", r.ipfix_decode);
    rate("IPFIX decode + match:", r.ipfix_pipeline);
    println!(
        "time per record: v5 decode + match {:.2}x decode only, IPFIX {:.2}x; {} hits per IPFIX pass",
        r.v5_decode.median / r.v5_pipeline.median,
        r.ipfix_decode.median / r.ipfix_pipeline.median,
        r.hits_per_pass
    );
    println!("flows: {:.0} records/s per core", r.ipfix_pipeline.median.min(r.v5_pipeline.median));
    Ok(ExitCode::SUCCESS)
}

fn syslog_suite(a: &BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.trials > 0, "--trials must be at least 1");
    // 1M indicators, as the target is stated.
    let cfg = sensor::bench_syslog::SyslogBenchConfig { seconds: a.seconds, trials: a.trials, ..Default::default() };
    let r = sensor::bench_syslog::syslog(&cfg);
    println!("indicators loaded: {} in {:.2} s", r.indicators, r.load_seconds);
    println!(
        "corpus: {} lines (firewall, ASA, squid, named, postfix, sshd), {} bytes as one octet-counted TCP stream (mean {} B)",
        r.lines,
        r.bytes,
        r.bytes / r.lines.max(1)
    );
    let rate = |name: &str, r: Rate| {
        println!("{name:<44} median {:>10.0} lines/s (min {:.0}, max {:.0})", r.median, r.min, r.max);
    };
    rate("baseline: framing + parsing:", r.parse);
    rate("framing + parsing + tokens + matching:", r.pipeline);
    println!(
        "time per line: full {:.2}x the framing + parsing baseline; {} hits per pass",
        r.parse.median / r.pipeline.median,
        r.hits_per_pass
    );
    println!("syslog: {:.0} lines/s per core", r.pipeline.median);
    Ok(ExitCode::SUCCESS)
}

/// The analytics engine alone and with JSON decoding (the bus path), then
/// the store's ingest rate; the original's claim (300k events/s, never
/// measured) is the reference line.
fn analytics_suite(a: &BenchArgs) -> anyhow::Result<ExitCode> {
    const ORIGINAL_CLAIM: f64 = 300_000.0;
    let r = analytics::bench::bench(a.seconds);
    println!("{r}");
    println!(
        "versus the original's claimed 300000 events/s: engine {:.1}x, json + engine {:.1}x",
        r.engine_eps / ORIGINAL_CLAIM,
        r.json_eps / ORIGINAL_CLAIM
    );
    let dir = std::env::temp_dir().join(format!("sdn-bench-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cfg = store::StoreConfig { path: dir.join("bench.db"), max_age: None, max_bytes: None };
    let mut st = store::Store::open(&cfg)?;
    let lines = analytics::bench::stream(100_000);
    let started = std::time::Instant::now();
    for chunk in lines.chunks(1000) {
        let batch: Vec<&[u8]> = chunk.iter().map(|l| l.as_bytes()).collect();
        st.insert_json(&batch)?;
    }
    let store_eps = lines.len() as f64 / started.elapsed().as_secs_f64();
    drop(st);
    let _ = std::fs::remove_dir_all(&dir);
    println!("store ingest: {store_eps:.0} events/s (100000 events in batches of 1000, with per-minute aggregates)");
    distinct_sources(a.distinct);
    println!("analytics: {:.0} events/s per core", r.engine_eps);
    Ok(ExitCode::SUCCESS)
}

/// Bounded state: `n` events from `n` distinct source addresses (one
/// event each, 1 µs apart) through an engine whose tables hold at most
/// 1M keys; resident memory before and after, and the evictions counted.
fn distinct_sources(n: u64) {
    use std::net::{IpAddr, Ipv4Addr};
    if n == 0 {
        return;
    }
    let max_keys = 1_000_000;
    let cfg = analytics::Config { max_keys, ..analytics::bench::config() };
    let mut engine = analytics::Engine::new(cfg);
    let mut out = Vec::new();
    let (rss_before, _) = service::stats::memory();
    let started = std::time::Instant::now();
    let mut id = String::new();
    let t0 = 1_795_928_400_000_000_000i64;
    for i in 0..n {
        use std::fmt::Write;
        id.clear();
        let _ = write!(id, "bench:{i:016x}");
        let src = IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32.wrapping_add(i as u32)));
        let e = analytics::EventIn {
            id: &id,
            ts_ns: t0 + i as i64 * 1_000,
            sensor: "bench",
            kind: "intel",
            input: "packet",
            location: "ip.dst",
            value: "203.0.113.66",
            indicator: Some(analytics::IndicatorIn {
                id: "1",
                r#type: "ip",
                value: "203.0.113.66",
                threat_type: "c2",
                feed: "feed.csv",
            }),
            src_ip: Some(src),
            dst_ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 66))),
            src_port: Some(40_000),
            dst_port: Some(443),
            proto: Some("tcp"),
            ..Default::default()
        };
        engine.push(&e, &mut out);
        out.clear();
    }
    engine.finish(&mut out);
    let secs = started.elapsed().as_secs_f64();
    let (rss_after, peak) = service::stats::memory();
    let s = engine.stats();
    println!(
        "distinct sources: {n} events from {n} source addresses in {secs:.1} s ({:.0}/s), max_keys {max_keys}: \
         resident {} MiB before, {} MiB after (peak {} MiB); evictions: throttle {}, top-N {}, sessions {}, correlation {}, symbols {}",
        n as f64 / secs,
        rss_before >> 20,
        rss_after >> 20,
        peak >> 20,
        s.throttle.evictions,
        s.topn.evictions,
        s.sessions.evictions,
        s.correlation.evictions,
        s.symbols.evictions
    );
}
