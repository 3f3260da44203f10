//! `sdn-sensor collect`: flow export listeners (NetFlow v5/v9, IPFIX,
//! sFlow v5) matched against the feeds, events as JSON Lines, until
//! SIGINT/SIGTERM or `--duration`.

use super::CollectArgs;
use super::inputs::{self, Loaded};
use events::EventIds;
use sensor::Pipeline;
use sensor::flows::ExportPort;
use sensor::listen::{ListenOptions, Listeners};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub fn run(a: CollectArgs) -> anyhow::Result<ExitCode> {
    let Loaded { app, feeds, set } = inputs::load(&a.intel, a.config.as_deref(), a.max_age, a.strict_intel, a.quiet)?;
    let mut addrs: Vec<(ExportPort, SocketAddr)> = Vec::new();
    addrs.extend(a.netflow.iter().chain(&a.ipfix).map(|&s| (ExportPort::Netflow, s)));
    addrs.extend(a.sflow.iter().map(|&s| (ExportPort::Sflow, s)));
    if addrs.is_empty() {
        // The configured (or default) ports, on every address.
        let any = |p: u16| SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, p));
        let f = &app.flows;
        addrs.extend(f.netflow_ports.iter().chain(&f.ipfix_ports).map(|&p| (ExportPort::Netflow, any(p))));
        addrs.extend(f.sflow_ports.iter().map(|&p| (ExportPort::Sflow, any(p))));
    }
    let listeners = Listeners::bind(&addrs, ListenOptions::default())?;
    if !a.quiet {
        let bound: Vec<String> = listeners
            .local_addrs()
            .map(|(k, s)| format!("{} udp {s}", if k == ExportPort::Sflow { "sflow" } else { "netflow/ipfix" }))
            .collect();
        eprintln!("collect: listening on {}", bound.join(", "));
    }

    let mut writer = inputs::writer(a.output.as_deref())?;
    let sensor_name = a.sensor.clone().unwrap_or_else(inputs::hostname);
    let mut ids = EventIds::new(&sensor_name, inputs::id_base());
    inputs::stale_feed_warnings(&feeds, &mut ids, &mut writer)?;
    writer.flush()?;
    let set = Arc::new(set);
    let rules = Arc::clone(&app.dns_rules);
    let mut pipeline = Pipeline::with_app(Arc::clone(&set), Some(app));

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let started = Instant::now();
    let deadline = a.duration.map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let mut datagrams = 0u64;
    let mut last_flush = Instant::now();
    let mut handle = |r: sensor::listen::Received<ExportPort>, writer: &mut inputs::Writer| -> std::io::Result<()> {
        datagrams += 1;
        let (hits, scratch) = pipeline.process_export(r.kind, r.from, r.local, r.payload(), r.ts_ns);
        for hit in hits {
            writer.write(&sensor::event::export_hit_event(&mut ids, &set, hit, scratch, Some(&rules), r.ts_ns))?;
        }
        listeners.recycle(r);
        Ok(())
    };
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        let Some(r) = listeners.recv(Duration::from_millis(100)) else {
            writer.flush()?;
            continue;
        };
        handle(r, &mut writer)?;
        // Events reach the file within a second even when traffic is slow.
        if last_flush.elapsed() > Duration::from_secs(1) {
            writer.flush()?;
            last_flush = Instant::now();
        }
    }
    // What was received before the signal is still processed (for at most
    // a second, so a flood cannot hold the exit).
    let drain_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < drain_until {
        let Some(r) = listeners.recv(Duration::from_millis(100)) else { break };
        handle(r, &mut writer)?;
    }
    writer.flush()?;
    if !a.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!("collect: {datagrams} datagrams in {secs:.1} s; events written: {}", writer.written());
        for (kind, local, stats, kernel) in listeners.stats() {
            eprintln!(
                "  {} udp {local}: {} datagrams, {} bytes, {} dropped (queue full), {} dropped by the kernel",
                if kind == ExportPort::Sflow { "sflow" } else { "netflow/ipfix" },
                stats.datagrams.load(Ordering::Relaxed),
                stats.bytes.load(Ordering::Relaxed),
                stats.queue_drops.load(Ordering::Relaxed),
                kernel.map_or("?".to_string(), |k| k.to_string())
            );
        }
        if let Some(f) = pipeline.flows() {
            let c = &f.counters;
            eprintln!(
                "  records: {}; sflow flow samples {}, counter samples {}, lost datagrams {}; rejected sources {}",
                c.records,
                c.sflow_flow_samples,
                c.sflow_counter_samples,
                f.sflow_lost(),
                c.rejected_sources
            );
        }
        let app_errors: Vec<String> = pipeline.counters.app_errors().map(|(r, n)| format!("{r} {n}")).collect();
        if !app_errors.is_empty() {
            eprintln!("  malformed exports: {}", app_errors.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
