//! `sdn-sensor collect`: UDP listeners for flow exports (NetFlow v5/v9,
//! IPFIX, sFlow v5) and syslog, and TCP syslog receivers (RFC 6587),
//! matched against the feeds, events as JSON Lines, until SIGINT/SIGTERM or
//! `--duration`.

use super::CollectArgs;
use super::inputs::{self, Loaded, Writer};
use events::EventIds;
use sensor::Pipeline;
use sensor::flows::ExportPort;
use sensor::listen::ListenOptions;
use service::receivers::{EventOut, Processor, ReceiverSpec, Receivers, Udp};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The default syslog port of `collect` (unprivileged, as DESIGN §4's run).
const SYSLOG_PORT: u16 = 5514;

pub fn run(a: CollectArgs) -> anyhow::Result<ExitCode> {
    let Loaded { app, feeds, set, .. } =
        inputs::load(&a.intel, a.config.as_deref(), a.max_age, a.strict_intel, a.quiet)?;
    let mut udp: Vec<(Udp, SocketAddr)> = Vec::new();
    udp.extend(a.netflow.iter().chain(&a.ipfix).map(|&s| (Udp::Export(ExportPort::Netflow), s)));
    udp.extend(a.sflow.iter().map(|&s| (Udp::Export(ExportPort::Sflow), s)));
    udp.extend(a.syslog_udp.iter().map(|&s| (Udp::Syslog, s)));
    let mut tcp: Vec<SocketAddr> = a.syslog_tcp.clone();
    if udp.is_empty() && tcp.is_empty() && a.syslog_tls.is_empty() {
        // The configured (or default) ports, on every address.
        let any = |p: u16| SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, p));
        let f = &app.flows;
        udp.extend(f.netflow_ports.iter().chain(&f.ipfix_ports).map(|&p| (Udp::Export(ExportPort::Netflow), any(p))));
        udp.extend(f.sflow_ports.iter().map(|&p| (Udp::Export(ExportPort::Sflow), any(p))));
        udp.push((Udp::Syslog, any(SYSLOG_PORT)));
        tcp.push(any(SYSLOG_PORT));
    }
    let spec = ReceiverSpec {
        udp,
        tcp,
        tls: a.syslog_tls.clone(),
        tls_cert: a.tls_cert.clone(),
        tls_key: a.tls_key.clone(),
        limits: app.syslog.tcp_limits,
        udp_queue: ListenOptions::default().queue,
    };
    let receivers = Receivers::bind(&spec)?;
    if !a.quiet {
        eprintln!("collect: listening on {}", receivers.describe().join(", "));
    }

    let mut writer = inputs::writer(a.output.as_deref())?;
    let sensor_name = a.sensor.clone().unwrap_or_else(inputs::hostname);
    let mut ids = EventIds::new(&sensor_name, inputs::id_base());
    inputs::stale_feed_warnings(&feeds, &mut ids, &mut writer)?;
    writer.flush()?;
    let pipeline = Pipeline::with_app(Arc::new(set), Some(app));
    let rules = pipeline.rule_set();
    let mut out = WriterOut { writer: &mut writer, failed: None };
    let mut p = Processor { pipeline, ids, rules, out: &mut out, received: 0 };

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let started = Instant::now();
    let deadline = a.duration.map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let mut last_flush = Instant::now();
    let mut flush_due = false;
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        let n = receivers.pass(Duration::from_millis(20), &mut p);
        flush_due |= n > 0;
        if flush_due && (n == 0 || last_flush.elapsed() > Duration::from_secs(1)) {
            // Events reach the file within a second even when traffic is slow.
            p.out.flush()?;
            flush_due = false;
            last_flush = Instant::now();
        }
    }
    // What was received before the signal is still processed (for at most
    // a second, so a flood cannot hold the exit).
    let drain_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < drain_until && receivers.pass(Duration::from_millis(100), &mut p) > 0 {}
    p.out.flush()?;
    let (received, pipeline) = (p.received, p.pipeline);
    if !a.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!("collect: {received} datagrams and messages in {secs:.1} s; events written: {}", writer.written());
        for (kind, local, stats, kernel) in receivers.listeners.stats() {
            eprintln!(
                "  {} udp {local}: {} datagrams, {} bytes, {} dropped (queue full), {} dropped by the kernel",
                kind.name(),
                stats.datagrams.load(Ordering::Relaxed),
                stats.bytes.load(Ordering::Relaxed),
                stats.queue_drops.load(Ordering::Relaxed),
                kernel.map_or("?".to_string(), |k| k.to_string())
            );
        }
        for r in &receivers.tcp {
            let s = r.stats();
            eprintln!(
                "  syslog {} {}: {} connections, {} messages, {} bytes; closed: {} evicted at the limit, {} idle, {} oversized; {} dropped (queue full)",
                r.kind(),
                r.local_addr(),
                s.accepted.load(Ordering::Relaxed),
                s.messages.load(Ordering::Relaxed),
                s.bytes.load(Ordering::Relaxed),
                s.evicted.load(Ordering::Relaxed),
                s.idle_closed.load(Ordering::Relaxed),
                s.oversized_closed.load(Ordering::Relaxed),
                s.queue_drops.load(Ordering::Relaxed)
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
            eprintln!("  malformed input: {}", app_errors.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Events to the writer; the first write error (a closed pipe, a full
/// disk) is kept and ends the run at the next flush.
struct WriterOut<'w> {
    writer: &'w mut Writer,
    failed: Option<std::io::Error>,
}

impl EventOut for WriterOut<'_> {
    fn emit(&mut self, e: &events::Event<'_>) {
        if self.failed.is_none()
            && let Err(err) = self.writer.write(e)
        {
            self.failed = Some(err);
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.failed.take() {
            Some(e) => Err(e),
            None => self.writer.flush(),
        }
    }
}
