//! Ingest rate of `Store::insert_json` (batches of 1,000 realistic events):
//! `cargo test -p sdn-store --release --test ingest_rate -- --ignored --nocapture`
//! (env: STORE_BENCH_EVENTS, default 500000; STORE_BENCH_BATCH, default 1000; STORE_BENCH_GROUP: group commit
//! every N events, default off)

mod common;

use std::time::Instant;

use common::*;
use store::{Store, StoreConfig};

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn ingest_rate() {
    let n: usize = std::env::var("STORE_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(500_000);
    let dir = std::env::temp_dir().join(format!("sdn-store-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = Store::open(&StoreConfig { path: dir.join("bench.db"), max_age: None, max_bytes: None }).unwrap();

    // A live-like stream: 20k events/s (ts increasing), 60k internal hosts, 5k indicators, 3 feeds.
    let mut r = Rng(42);
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let ind = r.below(5000);
            let host = format!("10.{}.{}.{}", r.below(4), r.below(256), 1 + r.below(60));
            let ext = format!("203.0.{}.{}", ind / 250, ind % 250);
            let (src, dst, loc) =
                if r.below(4) == 0 { (ext.clone(), host, "ip.src") } else { (host, ext.clone(), "ip.dst") };
            Ev {
                id: format!("edge-{}:{:016x}", 1 + i % 2, 0x6889_a384_ad40_0000u64 + i as u64),
                ts_ns: T0 + i as i64 * 50_000,
                sensor: format!("edge-{}", 1 + i % 2),
                kind: "intel",
                input: "packet",
                location: loc,
                value: ext.clone(),
                indicator: Some((
                    format!("{}", 10_000 + ind),
                    ext,
                    ["c2", "malware", "scanner"][(ind % 3) as usize],
                    FEEDS[(ind % 3) as usize].into(),
                )),
                src_ip: src,
                dst_ip: dst,
                dst_port: Some([443, 80, 53, 22, 8080][r.below(5) as usize]),
            }
            .json()
        })
        .collect();
    let bytes: usize = lines.iter().map(String::len).sum();

    let group: u64 = std::env::var("STORE_BENCH_GROUP").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    store.set_group_commit(group, std::time::Duration::from_secs(1));
    let cpu0 = cpu_secs();
    let start = Instant::now();
    let mut inserted = 0;
    let batch: usize = std::env::var("STORE_BENCH_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    for chunk in lines.chunks(batch) {
        let refs: Vec<&[u8]> = chunk.iter().map(|l| l.as_bytes()).collect();
        inserted += store.insert_json(&refs).unwrap().inserted;
    }
    store.flush().unwrap();
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    assert_eq!(inserted as usize, n);
    let size = store.used_bytes().unwrap();
    println!(
        "store ingest: {n} events in batches of {batch} (group commit {group}) ({} bytes avg) in {secs:.2} s = {:.0} events/s ({cpu:.2} CPU s = {:.0} events per CPU second); db {:.0} MB ({} bytes/event)",
        bytes / n,
        n as f64 / secs,
        n as f64 / cpu,
        size as f64 / 1e6,
        size / n as u64
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// User + system CPU seconds of this process (Linux /proc/self/stat).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the ")"; clock ticks of 100 Hz.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}
