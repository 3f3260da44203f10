//! Syslog over TLS (RFC 5425): octet-counted (or LF-framed) messages in a
//! TLS session, with a certificate and key from PEM files. One thread per
//! connection, up to a limit (further connections are refused and
//! counted); each connection has a handshake and idle timeout and a buffer
//! capped at the message limit, so a slow or silent peer holds only its
//! own thread.

use crate::listen_tcp::{TcpLimits, TcpMessage, TcpReceiver, TcpStats, deliver};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
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

/// A TLS syslog receiver on `addr`: the same handle as a plain TCP one.
pub fn bind(addr: SocketAddr, config: Arc<ServerConfig>, limits: TcpLimits) -> io::Result<TcpReceiver> {
    let listener = crate::listen_tcp::listen_socket(addr, 1024)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on tls {addr}: {e}")))?;
    let local = listener.local_addr()?;
    TcpReceiver::spawn("tls", local, limits, move |(tx, free_rx, thread_stats, thread_stop)| {
        let free_rx = Arc::new(Mutex::new(free_rx));
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
    })
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
