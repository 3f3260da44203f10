//! The sockets flow exports and syslog arrive on (UDP, TCP, TLS), read by
//! one pipeline thread; shared by `run` and `collect`.

use crate::metrics::{Sample, Samples};
use events::{Event, EventIds};
use sensor::Pipeline;
use sensor::flows::ExportPort;
use sensor::listen::{ListenOptions, Listeners};
use sensor::listen_tcp::{TcpLimits, TcpReceiver};
use sensor::rules::RuleSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// TCP messages taken from one receiver per pass at most.
const TCP_PER_PASS: usize = 1024;

/// What a UDP socket receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Udp {
    Export(ExportPort),
    Syslog,
}

impl Udp {
    pub fn name(self) -> &'static str {
        match self {
            Udp::Export(ExportPort::Sflow) => "sflow",
            Udp::Export(ExportPort::Netflow) => "netflow/ipfix",
            Udp::Syslog => "syslog",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ReceiverSpec {
    pub udp: Vec<(Udp, SocketAddr)>,
    pub tcp: Vec<SocketAddr>,
    pub tls: Vec<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub limits: TcpLimits,
    pub udp_queue: usize,
}

impl ReceiverSpec {
    pub fn is_empty(&self) -> bool {
        self.udp.is_empty() && self.tcp.is_empty() && self.tls.is_empty()
    }
}

pub struct Receivers {
    pub listeners: Listeners<Udp>,
    pub tcp: Vec<TcpReceiver>,
}

impl Receivers {
    /// Binds everything (an error names the address).
    pub fn bind(spec: &ReceiverSpec) -> anyhow::Result<Receivers> {
        let opts = ListenOptions { queue: spec.udp_queue.max(1), ..ListenOptions::default() };
        let listeners = Listeners::bind(&spec.udp, opts)?;
        let mut tcp: Vec<TcpReceiver> =
            spec.tcp.iter().map(|&s| TcpReceiver::bind(s, spec.limits)).collect::<std::io::Result<_>>()?;
        if !spec.tls.is_empty() {
            let (Some(cert), Some(key)) = (&spec.tls_cert, &spec.tls_key) else {
                anyhow::bail!("syslog over TLS needs a certificate and a key (tls_cert and tls_key)");
            };
            let config = sensor::listen_tls::server_config(cert, key)?;
            for &s in &spec.tls {
                tcp.push(sensor::listen_tls::bind(s, Arc::clone(&config), spec.limits)?);
            }
        }
        Ok(Receivers { listeners, tcp })
    }

    /// `sflow udp [::]:6343`, ...: what is bound.
    pub fn describe(&self) -> Vec<String> {
        let mut bound: Vec<String> =
            self.listeners.local_addrs().map(|(k, s)| format!("{} udp {s}", k.name())).collect();
        bound.extend(self.tcp.iter().map(|r| format!("syslog {} {}", r.kind(), r.local_addr())));
        bound
    }

    /// Processes one UDP datagram (waiting at most `wait`) and every queued
    /// TCP message. Returns the number handled.
    pub fn pass(&self, wait: Duration, p: &mut Processor<'_>) -> usize {
        let mut n = 0;
        if let Some(r) = self.listeners.recv(wait) {
            match r.kind {
                Udp::Export(kind) => p.export(kind, r.from, r.local, r.payload(), r.ts_ns),
                Udp::Syslog => p.syslog(r.from, r.payload(), r.ts_ns),
            }
            self.listeners.recycle(r);
            n += 1;
        }
        for rx in &self.tcp {
            // Bounded, so a fast TCP sender cannot starve the UDP sockets,
            // the metrics or the stop check.
            for _ in 0..TCP_PER_PASS {
                let Some(m) = rx.recv(Duration::ZERO) else { break };
                p.syslog(m.peer, m.bytes(), m.ts_ns);
                rx.recycle(m);
                n += 1;
            }
        }
        n
    }

    /// Socket counters, with the kernel's drops.
    pub fn samples(&self, out: &mut Vec<Sample>) {
        for (kind, local, st, kernel) in self.listeners.stats() {
            let mut s = Samples { out, labels: vec![("listener", format!("{} udp {local}", kind.name()))] };
            s.counter("sdn_listener_datagrams_total", "Datagrams received.", st.datagrams.load(Ordering::Relaxed));
            s.counter("sdn_listener_bytes_total", "Bytes received.", st.bytes.load(Ordering::Relaxed));
            s.push(
                "sdn_listener_drops_total",
                "Datagrams or messages dropped, by cause (queue: the pipeline was behind; kernel: the socket buffer was full).",
                crate::metrics::Type::Counter,
                &[("cause", "queue")],
                st.queue_drops.load(Ordering::Relaxed) as f64,
            );
            if let Some(k) = kernel {
                s.push("sdn_listener_drops_total", "", crate::metrics::Type::Counter, &[("cause", "kernel")], k as f64);
            }
        }
        for r in &self.tcp {
            let st = r.stats();
            let mut s = Samples { out, labels: vec![("listener", format!("syslog {} {}", r.kind(), r.local_addr()))] };
            s.counter("sdn_listener_connections_total", "Connections accepted.", st.accepted.load(Ordering::Relaxed));
            s.counter("sdn_listener_messages_total", "Messages received.", st.messages.load(Ordering::Relaxed));
            s.counter("sdn_listener_bytes_total", "Bytes received.", st.bytes.load(Ordering::Relaxed));
            for (cause, c) in [
                ("queue", &st.queue_drops),
                ("evicted", &st.evicted),
                ("idle", &st.idle_closed),
                ("oversized", &st.oversized_closed),
            ] {
                let help = "Datagrams or messages dropped, by cause (queue: the pipeline was behind; kernel: the socket buffer was full).";
                s.push(
                    "sdn_listener_drops_total",
                    help,
                    crate::metrics::Type::Counter,
                    &[("cause", cause)],
                    c.load(Ordering::Relaxed) as f64,
                );
            }
        }
    }
}

/// Where a processor's events go.
pub trait EventOut {
    fn emit(&mut self, e: &Event<'_>);
    /// Pushes buffered events out; reports an earlier failure.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl EventOut for crate::emit::Emitter {
    fn emit(&mut self, e: &Event<'_>) {
        crate::emit::Emitter::emit(self, e);
    }
}

/// A pipeline and where its events go.
pub struct Processor<'a> {
    pub pipeline: Pipeline,
    pub ids: EventIds,
    pub rules: RuleSet,
    pub out: &'a mut dyn EventOut,
    pub received: u64,
}

impl Processor<'_> {
    fn export(&mut self, kind: ExportPort, from: SocketAddr, local: SocketAddr, payload: &[u8], ts_ns: u64) {
        self.received += 1;
        let m = self.pipeline.export_matches(kind, from, local, payload, ts_ns);
        for hit in m.hits {
            self.out.emit(&sensor::event::export_hit_event(
                &mut self.ids,
                m.set,
                hit,
                m.scratch,
                Some(&self.rules),
                ts_ns,
            ));
        }
    }

    fn syslog(&mut self, peer: SocketAddr, raw: &[u8], ts_ns: u64) {
        self.received += 1;
        let m = self.pipeline.syslog_matches(peer, raw, ts_ns);
        for hit in m.hits {
            self.out.emit(&sensor::event::export_hit_event(
                &mut self.ids,
                m.set,
                hit,
                m.scratch,
                Some(&self.rules),
                ts_ns,
            ));
        }
    }
}
