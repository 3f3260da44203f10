//! Syslog over TLS (RFC 5425): octet-counted (or LF-framed) messages in a
//! TLS session, with a certificate and key from PEM files. One thread per
//! connection, up to a limit (further connections are refused and
//! counted); each connection has a handshake and idle timeout and a buffer
//! capped at the message limit, so a slow or silent peer holds only its
//! own thread.

use crate::listen_tcp::{TcpLimits, TcpMessage, TcpStats, deliver};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use syslog::frame::{Framer, FramerLimits};

/// A server configuration from a PEM certificate chain and private key;
/// errors name the file and say what was wrong.
pub fn server_config(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let bad =
        |path: &Path, what: String| io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {what}", path.display()));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, format!("cannot read certificates: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, format!("not a PEM certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(bad(cert, "no CERTIFICATE block (expected a PEM certificate chain)".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad(key, format!("no private key (expected a PEM PRIVATE KEY block): {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::other(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("certificate and key do not fit: {e}")))?;
    Ok(Arc::new(config))
}

pub struct TlsReceiver {
    local: SocketAddr,
    queue: Receiver<TcpMessage>,
    free: SyncSender<Vec<u8>>,
    stats: Arc<TcpStats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TlsReceiver {
    pub fn bind(addr: SocketAddr, config: Arc<ServerConfig>, limits: TcpLimits) -> io::Result<Self> {
        let listener =
            listen(addr).map_err(|e| io::Error::new(e.kind(), format!("cannot listen on tls {addr}: {e}")))?;
        let local = listener.local_addr()?;
        let queue_len = limits.queue.max(1);
        let (tx, queue) = sync_channel::<TcpMessage>(queue_len);
        let (free, free_rx) = sync_channel::<Vec<u8>>(queue_len);
        let free_rx = Arc::new(Mutex::new(free_rx));
        let stats = Arc::new(TcpStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_stats, thread_stop) = (Arc::clone(&stats), Arc::clone(&stop));
        let thread = std::thread::Builder::new().name(format!("tls {local}")).spawn(move || {
            let open = Arc::new(AtomicUsize::new(0));
            while !thread_stop.load(Ordering::Relaxed) {
                let (stream, peer) = match listener.accept() {
                    Ok(s) => s,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    Err(_) => continue,
                };
                if open.load(Ordering::Relaxed) >= limits.max_connections {
                    // Refused: a TLS peer costs a thread while it lasts.
                    thread_stats.evicted.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                thread_stats.accepted.fetch_add(1, Ordering::Relaxed);
                open.fetch_add(1, Ordering::Relaxed);
                let (config, tx, free_rx, stats, open_here, stop) = (
                    Arc::clone(&config),
                    tx.clone(),
                    Arc::clone(&free_rx),
                    Arc::clone(&thread_stats),
                    Arc::clone(&open),
                    Arc::clone(&thread_stop),
                );
                let spawned = std::thread::Builder::new().name(format!("tls {peer}")).spawn(move || {
                    let _ = serve(stream, peer, local, config, limits, &tx, &free_rx, &stats, &stop);
                    open_here.fetch_sub(1, Ordering::Relaxed);
                });
                if spawned.is_err() {
                    open.fetch_sub(1, Ordering::Relaxed);
                }
            }
        })?;
        Ok(TlsReceiver { local, queue, free, stats, stop, thread: Some(thread) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn recv(&self, timeout: Duration) -> Option<TcpMessage> {
        self.queue.recv_timeout(timeout).ok()
    }

    pub fn recycle(&self, m: TcpMessage) {
        let _ = self.free.try_send(m.buf);
    }

    pub fn stats(&self) -> &TcpStats {
        &self.stats
    }
}

impl Drop for TlsReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        while self.queue.try_recv().is_ok() {}
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(false).ok();
    }
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

#[allow(clippy::too_many_arguments)]
fn serve(
    stream: std::net::TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    config: Arc<ServerConfig>,
    limits: TcpLimits,
    tx: &SyncSender<TcpMessage>,
    free_rx: &Mutex<Receiver<Vec<u8>>>,
    stats: &TcpStats,
    stop: &AtomicBool,
) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    // Short reads so `stop` and the idle limit are noticed.
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let mut framer = Framer::new(FramerLimits { max_message: limits.max_message });
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 << 10];
    let mut idle = Duration::ZERO;
    let free = |stats: &TcpStats, m: &[u8]| {
        if let Ok(rx) = free_rx.lock() {
            deliver(tx, &rx, stats, peer, local, m);
        }
    };
    while !stop.load(Ordering::Relaxed) {
        match tls.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                idle = Duration::ZERO;
                buf.extend_from_slice(&chunk[..n]);
                let used = framer.push(&buf, &mut |m| free(stats, m));
                buf.drain(..used.min(buf.len()));
                if buf.len() > limits.max_message {
                    stats.oversized_closed.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                idle += Duration::from_millis(500);
                if idle >= limits.idle_timeout {
                    stats.idle_closed.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if buf.len() <= limits.max_message {
        framer.finish(&buf, &mut |m| free(stats, m));
    }
    Ok(())
}
