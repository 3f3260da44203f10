//! `sdn-sensor collect`: UDP listeners for flow exports (NetFlow v5/v9,
//! IPFIX, sFlow v5) and syslog, and TCP syslog receivers (RFC 6587),
//! matched against the feeds, events as JSON Lines, until SIGINT/SIGTERM or
//! `--duration`.

use super::CollectArgs;
use super::inputs::{self, Loaded, Writer};
use events::EventIds;
use intel::IndicatorSet;
use sensor::Pipeline;
use sensor::flows::ExportPort;
use sensor::listen::{ListenOptions, Listeners, Received};
use sensor::listen_tcp::TcpReceiver;
use sensor::rules::RuleSet;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a UDP socket receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Udp {
    Export(ExportPort),
    Syslog,
}

impl Udp {
    fn name(self) -> &'static str {
        match self {
            Udp::Export(ExportPort::Sflow) => "sflow",
            Udp::Export(ExportPort::Netflow) => "netflow/ipfix",
            Udp::Syslog => "syslog",
        }
    }
}

/// The default syslog port of `collect` (unprivileged, as DESIGN §4's run).
const SYSLOG_PORT: u16 = 5514;

struct Output<'a> {
    pipeline: Pipeline,
    ids: EventIds,
    set: Arc<IndicatorSet>,
    rules: RuleSet,
    writer: &'a mut Writer,
    received: u64,
}

impl Output<'_> {
    fn udp(&mut self, r: &Received<Udp>) -> std::io::Result<()> {
        self.received += 1;
        let (hits, scratch) = match r.kind {
            Udp::Export(kind) => self.pipeline.process_export(kind, r.from, r.local, r.payload(), r.ts_ns),
            Udp::Syslog => self.pipeline.process_syslog(r.from, r.payload(), r.ts_ns),
        };
        for hit in hits {
            let e = sensor::event::export_hit_event(&mut self.ids, &self.set, hit, scratch, Some(&self.rules), r.ts_ns);
            self.writer.write(&e)?;
        }
        Ok(())
    }

    fn tcp(&mut self, peer: SocketAddr, raw: &[u8], ts_ns: u64) -> std::io::Result<()> {
        self.received += 1;
        let (hits, scratch) = self.pipeline.process_syslog(peer, raw, ts_ns);
        for hit in hits {
            let e = sensor::event::export_hit_event(&mut self.ids, &self.set, hit, scratch, Some(&self.rules), ts_ns);
            self.writer.write(&e)?;
        }
        Ok(())
    }
}

pub fn run(a: CollectArgs) -> anyhow::Result<ExitCode> {
    let Loaded { app, feeds, set } = inputs::load(&a.intel, a.config.as_deref(), a.max_age, a.strict_intel, a.quiet)?;
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
    let listeners = Listeners::bind(&udp, ListenOptions::default())?;
    let mut receivers: Vec<TcpReceiver> =
        tcp.iter().map(|&s| TcpReceiver::bind(s, app.syslog.tcp_limits)).collect::<std::io::Result<_>>()?;
    if let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key)
        && !a.syslog_tls.is_empty()
    {
        let config = sensor::listen_tls::server_config(cert, key)?;
        for &s in &a.syslog_tls {
            receivers.push(sensor::listen_tls::bind(s, Arc::clone(&config), app.syslog.tcp_limits)?);
        }
    }
    if !a.quiet {
        let mut bound: Vec<String> = listeners.local_addrs().map(|(k, s)| format!("{} udp {s}", k.name())).collect();
        bound.extend(receivers.iter().map(|r| format!("syslog {} {}", r.kind(), r.local_addr())));
        eprintln!("collect: listening on {}", bound.join(", "));
    }

    let mut writer = inputs::writer(a.output.as_deref())?;
    let sensor_name = a.sensor.clone().unwrap_or_else(inputs::hostname);
    let mut ids = EventIds::new(&sensor_name, inputs::id_base());
    inputs::stale_feed_warnings(&feeds, &mut ids, &mut writer)?;
    writer.flush()?;
    let set = Arc::new(set);
    let pipeline = Pipeline::with_app(Arc::clone(&set), Some(app));
    let rules = pipeline.rule_set();
    let mut out = Output { pipeline, ids, set, rules, writer: &mut writer, received: 0 };

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let started = Instant::now();
    let deadline = a.duration.map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let mut last_flush = Instant::now();
    // One pass: a UDP datagram (waiting briefly), then every queued TCP
    // message. Returns whether anything arrived.
    let pass = |out: &mut Output<'_>, wait: Duration| -> std::io::Result<bool> {
        let mut any = false;
        if let Some(r) = listeners.recv(wait) {
            out.udp(&r)?;
            listeners.recycle(r);
            any = true;
        }
        for rx in &receivers {
            while let Some(m) = rx.recv(Duration::ZERO) {
                out.tcp(m.peer, m.bytes(), m.ts_ns)?;
                rx.recycle(m);
                any = true;
            }
        }
        Ok(any)
    };
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        if !pass(&mut out, Duration::from_millis(20))? || last_flush.elapsed() > Duration::from_secs(1) {
            // Events reach the file within a second even when traffic is slow.
            out.writer.flush()?;
            last_flush = Instant::now();
        }
    }
    // What was received before the signal is still processed (for at most
    // a second, so a flood cannot hold the exit).
    let drain_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < drain_until && pass(&mut out, Duration::from_millis(100))? {}
    out.writer.flush()?;
    let received = out.received;
    let pipeline = out.pipeline;
    if !a.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!("collect: {received} datagrams and messages in {secs:.1} s; events written: {}", writer.written());
        for (kind, local, stats, kernel) in listeners.stats() {
            eprintln!(
                "  {} udp {local}: {} datagrams, {} bytes, {} dropped (queue full), {} dropped by the kernel",
                kind.name(),
                stats.datagrams.load(Ordering::Relaxed),
                stats.bytes.load(Ordering::Relaxed),
                stats.queue_drops.load(Ordering::Relaxed),
                kernel.map_or("?".to_string(), |k| k.to_string())
            );
        }
        for r in &receivers {
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
