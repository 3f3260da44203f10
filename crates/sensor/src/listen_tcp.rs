//! A TCP syslog receiver (RFC 6587 framing) that no peer can stall: one
//! non-blocking event loop (mio) for every connection, a bounded buffer and
//! an idle timeout per connection, and a connection limit enforced by
//! evicting the longest-idle peer, so a flood of silent connections cannot
//! lock out a peer that sends. Messages go to the pipeline's thread through
//! a bounded queue of reused buffers; what does not fit is counted.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use syslog::frame::{Framer, FramerLimits};

#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    pub max_connections: usize,
    /// Longest message kept (octet counts beyond it are skipped by the
    /// framer; an unterminated line beyond it disconnects the peer).
    pub max_message: usize,
    pub idle_timeout: Duration,
    /// Messages queued for the pipeline at most.
    pub queue: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits { max_connections: 1024, max_message: 64 << 10, idle_timeout: Duration::from_secs(300), queue: 4096 }
    }
}

/// Counters shared with the receiving thread.
#[derive(Debug, Default)]
pub struct TcpStats {
    pub accepted: AtomicU64,
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    /// Connections closed to admit a newer one at the limit.
    pub evicted: AtomicU64,
    pub idle_closed: AtomicU64,
    /// Peers disconnected for a line longer than `max_message`.
    pub oversized_closed: AtomicU64,
    /// Messages dropped because the pipeline was behind.
    pub queue_drops: AtomicU64,
}

/// One message and who sent it.
pub struct TcpMessage {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub ts_ns: u64,
    pub(crate) buf: Vec<u8>,
}

impl TcpMessage {
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
    framer: Framer,
    last: Instant,
}

/// A running receiver (plain TCP here, TLS in `listen_tls`): its thread
/// hands messages to the pipeline's thread through a bounded queue of
/// reused buffers.
pub struct TcpReceiver {
    kind: &'static str,
    local: SocketAddr,
    queue: Receiver<TcpMessage>,
    free: SyncSender<Vec<u8>>,
    stats: Arc<TcpStats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const LISTENER: Token = Token(usize::MAX);

/// A non-blocking listening socket with a deep accept queue: the usual 128
/// overflows under a burst of connections, and every dropped SYN costs its
/// client a one-second retransmission.
pub(crate) fn listen_socket(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(false).ok();
    }
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(backlog)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// What a receiver's thread gets: where to send messages, the pool of
/// buffers to send them in, the counters and the stop flag.
pub(crate) type ThreadParts = (SyncSender<TcpMessage>, Receiver<Vec<u8>>, Arc<TcpStats>, Arc<AtomicBool>);

impl TcpReceiver {
    pub fn bind(addr: SocketAddr, limits: TcpLimits) -> io::Result<Self> {
        let mut listener = listen_socket(addr, 4096)
            .map(TcpListener::from_std)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on tcp {addr}: {e}")))?;
        let local = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        TcpReceiver::spawn("tcp", local, limits, move |(tx, free_rx, stats, stop)| {
            let mut lp = Loop { poll, listener, conns: HashMap::new(), next: 0, limits, local, tx, free_rx, stats };
            lp.run(&stop);
        })
    }

    /// Starts the receiving thread `run` for a socket bound at `local`.
    pub(crate) fn spawn(
        kind: &'static str,
        local: SocketAddr,
        limits: TcpLimits,
        run: impl FnOnce(ThreadParts) + Send + 'static,
    ) -> io::Result<Self> {
        let queue_len = limits.queue.max(1);
        let (tx, queue) = sync_channel::<TcpMessage>(queue_len);
        let (free, free_rx) = sync_channel::<Vec<u8>>(queue_len);
        let stats = Arc::new(TcpStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let parts = (tx, free_rx, Arc::clone(&stats), Arc::clone(&stop));
        let thread = std::thread::Builder::new().name(format!("{kind} {local}")).spawn(move || run(parts))?;
        Ok(TcpReceiver { kind, local, queue, free, stats, stop, thread: Some(thread) })
    }

    /// `tcp` or `tls`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn recv(&self, timeout: Duration) -> Option<TcpMessage> {
        self.queue.recv_timeout(timeout).ok()
    }

    /// Gives a message's buffer back to the pool.
    pub fn recycle(&self, m: TcpMessage) {
        let _ = self.free.try_send(m.buf);
    }

    pub fn stats(&self) -> &TcpStats {
        &self.stats
    }
}

impl Drop for TcpReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        while self.queue.try_recv().is_ok() {}
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Loop {
    poll: Poll,
    listener: TcpListener,
    conns: HashMap<Token, Conn>,
    next: usize,
    limits: TcpLimits,
    local: SocketAddr,
    tx: SyncSender<TcpMessage>,
    free_rx: Receiver<Vec<u8>>,
    stats: Arc<TcpStats>,
}

impl Loop {
    fn run(&mut self, stop: &AtomicBool) {
        let mut events = Events::with_capacity(1024);
        let mut last_sweep = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if self.poll.poll(&mut events, Some(Duration::from_millis(200))).is_err() {
                continue;
            }
            for ev in events.iter() {
                if ev.token() == LISTENER {
                    self.accept();
                } else {
                    self.read(ev.token());
                }
            }
            if last_sweep.elapsed() > Duration::from_secs(1) {
                self.sweep_idle();
                last_sweep = Instant::now();
            }
        }
    }

    fn accept(&mut self) {
        loop {
            let (mut stream, peer) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => return,
            };
            if self.conns.len() >= self.limits.max_connections {
                // Make room: the peer that has been quiet longest goes.
                if let Some(oldest) = self.conns.iter().min_by_key(|(_, c)| c.last).map(|(t, _)| *t) {
                    self.close(oldest);
                    self.stats.evicted.fetch_add(1, Ordering::Relaxed);
                }
            }
            let token = Token(self.next);
            self.next = self.next.wrapping_add(1) % (usize::MAX - 1);
            if self.poll.registry().register(&mut stream, token, Interest::READABLE).is_err() {
                continue;
            }
            self.stats.accepted.fetch_add(1, Ordering::Relaxed);
            let framer = Framer::new(FramerLimits { max_message: self.limits.max_message });
            self.conns.insert(token, Conn { stream, peer, buf: Vec::new(), framer, last: Instant::now() });
        }
    }

    fn read(&mut self, token: Token) {
        let mut chunk = [0u8; 16 << 10];
        let mut closed = false;
        let Some(conn) = self.conns.get_mut(&token) else { return };
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    conn.last = Instant::now();
                    conn.buf.extend_from_slice(&chunk[..n]);
                    let (peer, local) = (conn.peer, self.local);
                    let (tx, free_rx, stats) = (&self.tx, &self.free_rx, &self.stats);
                    let used = conn.framer.push(&conn.buf, &mut |m| deliver(tx, free_rx, stats, peer, local, m));
                    conn.buf.drain(..used.min(conn.buf.len()));
                    // A line that never ends is not buffered without bound.
                    if conn.buf.len() > self.limits.max_message {
                        self.stats.oversized_closed.fetch_add(1, Ordering::Relaxed);
                        closed = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        if closed {
            if let Some(conn) = self.conns.get_mut(&token) {
                let (peer, local) = (conn.peer, self.local);
                let (tx, free_rx, stats) = (&self.tx, &self.free_rx, &self.stats);
                let rest = std::mem::take(&mut conn.buf);
                if rest.len() <= self.limits.max_message {
                    conn.framer.finish(&rest, &mut |m| deliver(tx, free_rx, stats, peer, local, m));
                }
            }
            self.close(token);
        }
    }

    fn sweep_idle(&mut self) {
        let now = Instant::now();
        let idle: Vec<Token> =
            self.conns.iter().filter(|(_, c)| now - c.last > self.limits.idle_timeout).map(|(t, _)| *t).collect();
        for t in idle {
            self.stats.idle_closed.fetch_add(1, Ordering::Relaxed);
            self.close(t);
        }
    }

    fn close(&mut self, token: Token) {
        if let Some(mut c) = self.conns.remove(&token) {
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }
}

pub(crate) fn deliver(
    tx: &SyncSender<TcpMessage>,
    free_rx: &Receiver<Vec<u8>>,
    stats: &TcpStats,
    peer: SocketAddr,
    local: SocketAddr,
    msg: &[u8],
) {
    stats.messages.fetch_add(1, Ordering::Relaxed);
    stats.bytes.fetch_add(msg.len() as u64, Ordering::Relaxed);
    let mut buf = free_rx.try_recv().unwrap_or_default();
    buf.clear();
    buf.extend_from_slice(msg);
    let ts_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    if tx.try_send(TcpMessage { peer, local, ts_ns, buf }).is_err() {
        stats.queue_drops.fetch_add(1, Ordering::Relaxed);
    }
}
