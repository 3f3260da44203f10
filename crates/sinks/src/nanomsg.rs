//! nanomsg-compatible PUSH and PUB (the SP protocol over TCP and IPC).
//!
//! The original sdn_sensor sent every event as one JSON message over a
//! nanomsg socket. This sink speaks the Scalability Protocols wire format
//! itself (no C library):
//!
//! * On connect both sides send an 8-byte header: `0x00 'S' 'P' 0x00`, the
//!   16-bit big-endian protocol id, two zero bytes. The peer's id must be
//!   our counterpart (PUSH 0x50 ↔ PULL 0x51, PUB 0x20 ↔ SUB 0x21), or the
//!   connection is closed and counted (`handshake_errors_total`).
//! * TCP (`tcp://host:port`, `tcp://[v6]:port`): each message is a 64-bit
//!   big-endian length and the payload.
//! * IPC (`ipc:///path`, a Unix stream socket): each message is a 0x01 byte,
//!   the 64-bit big-endian length and the payload.
//!
//! Pipeline and pub/sub messages have no protocol header: the body is the
//! event's JSON object, one per message.
//!
//! Threads: the sink thread routes events; one thread dials (reconnecting
//! with a backoff of 100 ms doubling to 5 s) or accepts; each connection has
//! a writer thread (its own bounded queue, batched writes) and a reader
//! thread that notices when the peer goes away.
//!
//! * PUSH sends each event to one peer, round-robin over the peers whose
//!   queue has room. With no peer it holds the events (up to the sink's
//!   capacity, then the sink's queue fills and `Sink::send` counts the
//!   drops). Events written to a connection that then fails are sent again
//!   on the next connection (at least once).
//! * PUB sends each event to every peer; with no peer the event is dropped
//!   and counted (`no_peer_drops_total`), and a subscriber whose queue is
//!   full (slow) misses the event (`peer_drops_total`) without holding back
//!   the others.
//!
//! Accounting: PUSH: `queued = delivered + failed` (+ the events still held);
//! `delivered` counts an event once its bytes are handed to the kernel, so a
//! retried event may be counted (and received) twice. PUB: `queued =
//! delivered + failed + no_peer_drops_total`, where `delivered` means handed
//! to at least one subscriber and `failed` that every subscriber was too slow.
//!
//! Shutdown: once the queue is closed and drained the sink flushes every
//! connection and returns; when nothing moves for 2 s (PUSH with no peer,
//! peers that stopped reading) it gives up and counts what is left as
//! `failed` (PUSH) or `peer_drops_total` (PUB).
//!
//! Known limit: the contract tells the worker that the queue is closed only
//! once it is drained. A PUSH sink with no peer that holds `capacity`
//! events while its queue is full too cannot see the close, so it keeps
//! waiting for a peer and `Sink::close` times out.

use crate::{Encoded, ExtraCounters, Sink, SinkStats, SinkWorker};
use crossbeam_channel::{Receiver, Select, Sender, TrySendError, bounded, select, unbounded};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufWriter, Read, Write};
use std::net::{IpAddr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// SP protocol ids (nanomsg `NN_PUSH` ... : protocol * 16 + role).
pub const PROTO_PUB: u16 = 0x20;
pub const PROTO_SUB: u16 = 0x21;
pub const PROTO_PUSH: u16 = 0x50;
pub const PROTO_PULL: u16 = 0x51;

const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Nothing moved for this long after the queue closed: give up.
const GIVE_UP: Duration = Duration::from_secs(2);
/// How often the router wakes when nothing happens (give-up checks).
const TICK: Duration = Duration::from_millis(100);
const ACCEPT_POLL: Duration = Duration::from_millis(25);
/// Events queued per PUSH peer: small, so that a failing peer has few to
/// give back and a slow one gets few.
const PUSH_PEER_QUEUE: usize = 64;
/// Events written before a flush at most.
const WRITE_BATCH: usize = 1024;
const WRITE_BUFFER: usize = 64 * 1024;
/// Larger events are dropped and counted as failed: NNG and nanomsg refuse
/// messages over 1 MiB by default (`NNG_OPT_RECVMAXSZ`, `NN_RCVMAXSIZE`)
/// and close the connection, so such an event would be retried forever.
pub const MAX_MESSAGE: usize = 1024 * 1024;

/// Which SP socket this sink is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Pipeline: each event to one PULL peer.
    Push,
    /// Pub/sub: each event to every SUB peer.
    Pub,
}

impl Pattern {
    /// Our protocol id.
    pub fn protocol(self) -> u16 {
        match self {
            Pattern::Push => PROTO_PUSH,
            Pattern::Pub => PROTO_PUB,
        }
    }

    /// The protocol id the peer must have.
    pub fn peer_protocol(self) -> u16 {
        match self {
            Pattern::Push => PROTO_PULL,
            Pattern::Pub => PROTO_SUB,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NanomsgConfig {
    /// `tcp://host:port`, `tcp://[v6]:port`, `tcp://*:port` (bind only),
    /// `ipc:///path` (or `ipc://relative/path`).
    pub url: String,
    pub pattern: Pattern,
    /// false: dial the url (and redial with backoff); true: listen on it and
    /// accept any number of peers.
    pub bind: bool,
}

/// A parsed url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `host` is empty for `*` (every interface; bind only).
    Tcp {
        host: String,
        port: u16,
    },
    Ipc(PathBuf),
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, NanomsgError> {
        let bad = |reason: String| NanomsgError::InvalidUrl { url: url.to_string(), reason };
        if let Some(rest) = url.strip_prefix("tcp://") {
            let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
                let (addr, port) = v6.split_once("]:").ok_or_else(|| bad("expected tcp://[ipv6]:port".into()))?;
                addr.parse::<Ipv6Addr>().map_err(|_| bad(format!("{addr:?} is not an IPv6 address")))?;
                (addr, port)
            } else {
                let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("expected tcp://host:port".into()))?;
                if host.contains(':') {
                    return Err(bad("an IPv6 address needs brackets: tcp://[::1]:port".into()));
                }
                if host.contains(['/', ';', ' ', '@']) {
                    return Err(bad(format!("{host:?} is not a host name or address")));
                }
                (if host == "*" { "" } else { host }, port)
            };
            let port: u16 = port.parse().map_err(|_| bad(format!("{port:?} is not a port number")))?;
            if port == 0 {
                return Err(bad("port 0".into()));
            }
            return Ok(Endpoint::Tcp { host: host.to_string(), port });
        }
        if let Some(path) = url.strip_prefix("ipc://") {
            if path.is_empty() {
                return Err(bad("expected ipc:///path/to/socket".into()));
            }
            // sun_path is 108 bytes with the terminating NUL.
            if path.len() > 107 {
                return Err(bad(format!("the socket path is {} bytes long, at most 107", path.len())));
            }
            return Ok(Endpoint::Ipc(PathBuf::from(path)));
        }
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        if scheme.is_empty() {
            Err(bad("expected tcp://host:port or ipc:///path".into()))
        } else {
            Err(bad(format!("transport {scheme:?} is not supported (tcp, ipc)")))
        }
    }

    fn is_ipc(&self) -> bool {
        matches!(self, Endpoint::Ipc(_))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Endpoint::Tcp { host, port } if host.is_empty() => write!(f, "tcp://*:{port}"),
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Ipc(p) => write!(f, "ipc://{}", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NanomsgError {
    #[error("nanomsg url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("nanomsg: cannot listen on {url}: {source}")]
    Bind {
        url: String,
        #[source]
        source: io::Error,
    },
    #[error("nanomsg: cannot start the sink thread: {0}")]
    Spawn(#[from] io::Error),
}

/// Counters of a nanomsg sink beyond `SinkStats`.
#[derive(Debug, Default)]
pub struct NanomsgStats {
    /// Connections that completed the SP handshake.
    pub connects: AtomicU64,
    /// Those connections that went away.
    pub disconnects: AtomicU64,
    /// Dial attempts that failed (refused, unreachable, timed out).
    pub connect_errors: AtomicU64,
    /// Peers rejected: not SP, wrong protocol, silent, I/O error.
    pub handshake_errors: AtomicU64,
    /// PUB: events dropped because no subscriber was connected.
    pub no_peer_drops: AtomicU64,
    /// PUB: events one subscriber missed (its queue was full or it left).
    pub peer_drops: AtomicU64,
    /// PUSH: events sent again after their connection failed.
    pub retried: AtomicU64,
    /// Connected peers now (gauge).
    pub peers: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl NanomsgStats {
    /// The last connection error seen, for diagnostics.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().map_or(None, |e| e.clone())
    }

    fn set_error(&self, e: String) {
        if let Ok(mut l) = self.last_error.lock() {
            *l = Some(e);
        }
    }
}

impl ExtraCounters for NanomsgStats {
    fn counters(&self) -> Vec<(&'static str, u64)> {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("connects_total", g(&self.connects)),
            ("disconnects_total", g(&self.disconnects)),
            ("connect_errors_total", g(&self.connect_errors)),
            ("handshake_errors_total", g(&self.handshake_errors)),
            ("no_peer_drops_total", g(&self.no_peer_drops)),
            ("peer_drops_total", g(&self.peer_drops)),
            ("retried_total", g(&self.retried)),
            ("peers", g(&self.peers)),
        ]
    }
}

/// Starts a nanomsg sink. The url is checked now, and in bind mode the
/// socket is bound now (so a taken port is an error here); in dial mode the
/// peer need not be up yet.
pub fn spawn(name: &str, capacity: usize, cfg: NanomsgConfig) -> Result<Sink, NanomsgError> {
    let worker = NanomsgWorker::new(cfg, capacity)?;
    let stats = worker.stats();
    Ok(Sink::spawn(name, capacity, Box::new(worker))?.with_extra(stats))
}

/// The sink's worker (`spawn` is the usual way to start one).
pub struct NanomsgWorker {
    endpoint: Endpoint,
    pattern: Pattern,
    listener: Option<Listener>,
    stats: Arc<NanomsgStats>,
    /// PUSH: events held while no peer has room.
    hold: usize,
    /// Queue of one connection.
    peer_queue: usize,
}

impl NanomsgWorker {
    pub fn new(cfg: NanomsgConfig, capacity: usize) -> Result<NanomsgWorker, NanomsgError> {
        let endpoint = Endpoint::parse(&cfg.url)?;
        let listener = if cfg.bind {
            Some(Listener::bind(&endpoint).map_err(|source| NanomsgError::Bind { url: cfg.url.clone(), source })?)
        } else {
            if matches!(&endpoint, Endpoint::Tcp { host, .. } if host.is_empty()) {
                return Err(NanomsgError::InvalidUrl {
                    url: cfg.url.clone(),
                    reason: "cannot dial the wildcard address *".into(),
                });
            }
            None
        };
        let capacity = capacity.max(1);
        let peer_queue = match cfg.pattern {
            Pattern::Push => PUSH_PEER_QUEUE,
            Pattern::Pub => capacity.clamp(256, 65536),
        };
        Ok(NanomsgWorker {
            endpoint,
            pattern: cfg.pattern,
            listener,
            stats: Arc::new(NanomsgStats::default()),
            hold: capacity,
            peer_queue,
        })
    }

    pub fn stats(&self) -> Arc<NanomsgStats> {
        Arc::clone(&self.stats)
    }
}

// ---------------------------------------------------------------------------
// Connections.

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn try_clone(&self) -> io::Result<Conn> {
        Ok(match self {
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
        })
    }

    fn shutdown(&self) {
        let _ = match self {
            Conn::Tcp(s) => s.shutdown(Shutdown::Both),
            Conn::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }

    fn set_timeouts(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
            Conn::Unix(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
        }
    }

    fn connect(ep: &Endpoint) -> io::Result<Conn> {
        match ep {
            Endpoint::Ipc(path) => Ok(Conn::Unix(UnixStream::connect(path)?)),
            Endpoint::Tcp { host, port } => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host}: no address"));
                for addr in (host.as_str(), *port).to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            return Ok(Conn::Tcp(s));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    fn bind(ep: &Endpoint) -> io::Result<Listener> {
        let l = match ep {
            Endpoint::Tcp { host, port } => {
                let l = if host.is_empty() {
                    TcpListener::bind(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), *port))?
                } else {
                    TcpListener::bind((host.as_str(), *port))?
                };
                l.set_nonblocking(true)?;
                Listener::Tcp(l)
            }
            Endpoint::Ipc(path) => {
                let l = match UnixListener::bind(path) {
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse && is_stale_socket(path) => {
                        std::fs::remove_file(path)?;
                        UnixListener::bind(path)?
                    }
                    r => r?,
                };
                l.set_nonblocking(true)?;
                Listener::Unix(l, path.clone())
            }
        };
        Ok(l)
    }

    fn accept(&self) -> io::Result<Conn> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                s.set_nonblocking(false)?;
                let _ = s.set_nodelay(true);
                Ok(Conn::Tcp(s))
            }
            Listener::Unix(l, _) => {
                let (s, _) = l.accept()?;
                s.set_nonblocking(false)?;
                Ok(Conn::Unix(s))
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A socket file nobody listens on any more (left by a crash).
fn is_stale_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    is_socket && matches!(UnixStream::connect(path), Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
}

/// Sends our SP header and checks the peer's.
fn handshake(conn: &mut Conn, pattern: Pattern) -> Result<(), String> {
    conn.set_timeouts(Some(HANDSHAKE_TIMEOUT)).map_err(|e| e.to_string())?;
    let mut ours = [0, b'S', b'P', 0, 0, 0, 0, 0];
    ours[4..6].copy_from_slice(&pattern.protocol().to_be_bytes());
    conn.write_all(&ours).map_err(|e| format!("sending the SP header: {e}"))?;
    let mut theirs = [0u8; 8];
    conn.read_exact(&mut theirs).map_err(|e| format!("reading the SP header: {e}"))?;
    if theirs[..4] != [0, b'S', b'P', 0] || theirs[6..] != [0, 0] {
        return Err(format!("not an SP peer (header {theirs:02x?})"));
    }
    let proto = u16::from_be_bytes([theirs[4], theirs[5]]);
    if proto != pattern.peer_protocol() {
        return Err(format!(
            "peer protocol {} ({proto:#04x}), expected {} ({:#04x})",
            protocol_name(proto),
            protocol_name(pattern.peer_protocol()),
            pattern.peer_protocol()
        ));
    }
    conn.set_timeouts(None).map_err(|e| e.to_string())
}

fn protocol_name(p: u16) -> &'static str {
    match p {
        0x10 => "PAIR",
        PROTO_PUB => "PUB",
        PROTO_SUB => "SUB",
        0x30 => "REQ",
        0x31 => "REP",
        PROTO_PUSH => "PUSH",
        PROTO_PULL => "PULL",
        0x62 => "SURVEYOR",
        0x63 => "RESPONDENT",
        0x70 => "BUS",
        _ => "unknown",
    }
}

/// One message on the wire.
fn write_frame(w: &mut impl Write, ipc: bool, body: &[u8]) -> io::Result<()> {
    let mut head = [0u8; 9];
    let len = (body.len() as u64).to_be_bytes();
    let head = if ipc {
        head[0] = 1;
        head[1..].copy_from_slice(&len);
        &head[..]
    } else {
        head[..8].copy_from_slice(&len);
        &head[..8]
    };
    w.write_all(head)?;
    w.write_all(body)
}

// ---------------------------------------------------------------------------
// Threads.

type Event = Arc<Encoded>;

/// What connection threads tell the router.
enum Ctl {
    Up { id: u64, tx: Sender<Event>, closer: Conn },
    Flushed { id: u64, n: u64 },
    Down { id: u64, unflushed: Vec<Event>, queue: Receiver<Event> },
}

struct Shared {
    pattern: Pattern,
    ipc: bool,
    peer_queue: usize,
    stats: Arc<NanomsgStats>,
    sink: Arc<SinkStats>,
    ctl: Sender<Ctl>,
    next_id: AtomicU64,
}

impl Shared {
    fn error(&self, counter: &AtomicU64, e: String) {
        SinkStats::add(counter, 1);
        SinkStats::add(&self.sink.errors, 1);
        self.stats.set_error(e);
    }
}

/// Handshakes and, if the peer is right, starts its threads. `done` is
/// dropped when the connection ends.
fn start_peer(shared: &Arc<Shared>, mut conn: Conn, what: &str, done: Option<Sender<()>>) -> bool {
    if let Err(e) = handshake(&mut conn, shared.pattern) {
        conn.shutdown();
        shared.error(&shared.stats.handshake_errors, format!("{what}: {e}"));
        return false;
    }
    let (Ok(closer), Ok(reader)) = (conn.try_clone(), conn.try_clone()) else {
        conn.shutdown();
        shared.error(&shared.stats.handshake_errors, format!("{what}: cannot clone the socket"));
        return false;
    };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, queue) = bounded(shared.peer_queue);
    if shared.ctl.send(Ctl::Up { id, tx, closer }).is_err() {
        conn.shutdown();
        return false;
    }
    let (kill_tx, kill_rx) = bounded::<()>(0);
    let r =
        std::thread::Builder::new().name(format!("nanomsg-r{id}")).spawn(move || read_until_closed(reader, kill_tx));
    if r.is_err() {
        conn.shutdown();
    }
    let s = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name(format!("nanomsg-w{id}"))
        .spawn(move || write_loop(&s, id, conn, queue, kill_rx, done));
    if let Err(e) = spawned {
        // The router learns it through Down: the queue comes back with it.
        shared.stats.set_error(format!("{what}: cannot start a thread: {e}"));
        let (_, q) = bounded(0);
        let _ = shared.ctl.send(Ctl::Down { id, unflushed: Vec::new(), queue: q });
    }
    true
}

/// The peer (PULL, SUB) sends nothing: read until it closes, then close
/// our side too so that the writer stops.
fn read_until_closed(mut conn: Conn, kill: Sender<()>) {
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    conn.shutdown();
    drop(kill);
}

fn write_loop(
    shared: &Shared,
    id: u64,
    conn: Conn,
    queue: Receiver<Event>,
    kill: Receiver<()>,
    done: Option<Sender<()>>,
) {
    let mut w = BufWriter::with_capacity(WRITE_BUFFER, conn);
    let mut unflushed: Vec<Event> = Vec::new();
    let result = loop {
        let first = select! {
            recv(queue) -> m => match m {
                Ok(m) => m,
                // The router let go of this peer: all written.
                Err(_) => break Ok(()),
            },
            recv(kill) -> _ => break Err(None),
        };
        let mut r = write_frame(&mut w, shared.ipc, &first.json);
        unflushed.push(first);
        while r.is_ok() && unflushed.len() < WRITE_BATCH {
            let Ok(m) = queue.try_recv() else { break };
            r = write_frame(&mut w, shared.ipc, &m.json);
            unflushed.push(m);
        }
        if let Err(e) = r.and_then(|()| w.flush()) {
            break Err(Some(e));
        }
        let n = unflushed.len() as u64;
        unflushed.clear();
        let _ = shared.ctl.send(Ctl::Flushed { id, n });
    };
    if let Err(Some(e)) = result {
        SinkStats::add(&shared.sink.errors, 1);
        shared.stats.set_error(format!("peer {id}: write: {e}"));
    }
    w.get_ref().shutdown();
    let _ = shared.ctl.send(Ctl::Down { id, unflushed, queue });
    drop(done);
}

fn dial_loop(shared: &Arc<Shared>, ep: &Endpoint, stop: &Receiver<()>) {
    let mut backoff = RECONNECT_MIN;
    loop {
        match Conn::connect(ep) {
            Ok(conn) => {
                let (done_tx, done_rx) = bounded::<()>(0);
                if start_peer(shared, conn, &ep.to_string(), Some(done_tx)) {
                    backoff = RECONNECT_MIN;
                    select! {
                        recv(done_rx) -> _ => {}
                        recv(stop) -> _ => return,
                    }
                }
            }
            Err(e) => shared.error(&shared.stats.connect_errors, format!("{ep}: connect: {e}")),
        }
        if stop.recv_timeout(backoff).is_err_and(|e| e.is_disconnected()) {
            return;
        }
        backoff = (backoff * 2).min(RECONNECT_MAX);
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: Listener, ep: &Endpoint, stop: &Receiver<()>) {
    loop {
        match listener.accept() {
            Ok(conn) => {
                let s = Arc::clone(shared);
                let what = format!("peer on {ep}");
                let r = std::thread::Builder::new().name("nanomsg-hs".into()).spawn(move || {
                    start_peer(&s, conn, &what, None);
                });
                if let Err(e) = r {
                    shared.stats.set_error(format!("{ep}: cannot start a thread: {e}"));
                }
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // Out of descriptors and the like: wait a little.
                shared.error(&shared.stats.connect_errors, format!("{ep}: accept: {e}"));
                if stop.recv_timeout(RECONNECT_MIN).is_err_and(|e| e.is_disconnected()) {
                    return;
                }
            }
        }
        if stop.recv_timeout(ACCEPT_POLL).is_err_and(|e| e.is_disconnected()) {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// The router (the sink's thread).

struct Peer {
    id: u64,
    tx: Sender<Event>,
    closer: Conn,
    /// Events handed to it and not yet flushed.
    inflight: u64,
}

struct Router {
    pattern: Pattern,
    stats: Arc<NanomsgStats>,
    sink: Arc<SinkStats>,
    peers: Vec<Peer>,
    rr: usize,
    pending: VecDeque<Event>,
    last_progress: Instant,
}

impl Router {
    fn gauge(&self) {
        self.stats.peers.store(self.peers.len() as u64, Ordering::Relaxed);
    }

    fn handle(&mut self, ev: Ctl) {
        match ev {
            Ctl::Up { id, tx, closer } => {
                self.peers.push(Peer { id, tx, closer, inflight: 0 });
                SinkStats::add(&self.stats.connects, 1);
                self.gauge();
                self.last_progress = Instant::now();
            }
            Ctl::Flushed { id, n } => {
                if let Some(p) = self.peers.iter_mut().find(|p| p.id == id) {
                    p.inflight = p.inflight.saturating_sub(n);
                }
                if self.pattern == Pattern::Push {
                    SinkStats::add(&self.sink.delivered, n);
                }
                self.last_progress = Instant::now();
            }
            Ctl::Down { id, unflushed, queue } => {
                let Some(i) = self.peers.iter().position(|p| p.id == id) else { return };
                let peer = self.peers.remove(i);
                drop(peer.tx);
                peer.closer.shutdown();
                if self.rr > i {
                    self.rr -= 1;
                }
                SinkStats::add(&self.stats.disconnects, 1);
                self.gauge();
                let back: Vec<Event> = unflushed.into_iter().chain(queue.try_iter()).collect();
                match self.pattern {
                    Pattern::Push => {
                        SinkStats::add(&self.stats.retried, back.len() as u64);
                        for m in back.into_iter().rev() {
                            self.pending.push_front(m);
                        }
                    }
                    Pattern::Pub => SinkStats::add(&self.stats.peer_drops, back.len() as u64),
                }
            }
        }
    }

    /// PUSH: hands `m` to the next peer with room, or gives it back.
    /// PUB: hands `m` to every peer with room (never gives it back).
    fn place(&mut self, m: Event) -> Result<(), Event> {
        if m.json.len() > MAX_MESSAGE {
            SinkStats::add(&self.sink.failed, 1);
            SinkStats::add(&self.sink.errors, 1);
            self.stats.set_error(format!("event {}: {} bytes, over the {MAX_MESSAGE}-byte limit", m.id, m.json.len()));
            return Ok(());
        }
        match self.pattern {
            Pattern::Push => {
                let n = self.peers.len();
                let mut m = m;
                for k in 0..n {
                    let i = (self.rr + k) % n;
                    match self.peers[i].tx.try_send(m) {
                        Ok(()) => {
                            self.peers[i].inflight += 1;
                            self.rr = (i + 1) % n;
                            self.last_progress = Instant::now();
                            return Ok(());
                        }
                        Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) => m = b,
                    }
                }
                Err(m)
            }
            Pattern::Pub => {
                if self.peers.is_empty() {
                    SinkStats::add(&self.stats.no_peer_drops, 1);
                    return Ok(());
                }
                let mut sent = false;
                for p in &mut self.peers {
                    if p.tx.try_send(Arc::clone(&m)).is_ok() {
                        p.inflight += 1;
                        sent = true;
                    } else {
                        SinkStats::add(&self.stats.peer_drops, 1);
                    }
                }
                SinkStats::add(if sent { &self.sink.delivered } else { &self.sink.failed }, 1);
                self.last_progress = Instant::now();
                Ok(())
            }
        }
    }

    fn idle(&self) -> bool {
        self.pending.is_empty() && self.peers.iter().all(|p| p.inflight == 0)
    }

    /// Gives up on what is left (nothing moved for `GIVE_UP`).
    fn give_up(&mut self) {
        let left = self.pending.len() as u64 + self.peers.iter().map(|p| p.inflight).sum::<u64>();
        match self.pattern {
            Pattern::Push => SinkStats::add(&self.sink.failed, left),
            Pattern::Pub => SinkStats::add(&self.stats.peer_drops, left),
        }
        self.pending.clear();
        for p in self.peers.drain(..) {
            p.closer.shutdown();
        }
        self.gauge();
    }
}

enum Woke {
    Ctl(Ctl),
    Event(Event),
    Closed,
    /// The first pending event went to this peer.
    Sent(usize),
    Nothing,
}

impl SinkWorker for NanomsgWorker {
    fn run(self: Box<Self>, rx: Receiver<Event>, sink: Arc<SinkStats>) {
        let NanomsgWorker { endpoint, pattern, listener, stats, hold, peer_queue } = *self;
        let (ctl_tx, ctl_rx) = unbounded();
        let shared = Arc::new(Shared {
            pattern,
            ipc: endpoint.is_ipc(),
            peer_queue,
            stats: Arc::clone(&stats),
            sink: Arc::clone(&sink),
            ctl: ctl_tx,
            next_id: AtomicU64::new(1),
        });
        // Dropping `stop` stops the dialer or the acceptor.
        let (stop, stop_rx) = bounded::<()>(0);
        let s = Arc::clone(&shared);
        let ep = endpoint.clone();
        let endpoint_bound = listener.is_some();
        let started = match listener {
            Some(l) => std::thread::Builder::new()
                .name("nanomsg-listen".into())
                .spawn(move || accept_loop(&s, l, &ep, &stop_rx)),
            None => std::thread::Builder::new().name("nanomsg-dial".into()).spawn(move || dial_loop(&s, &ep, &stop_rx)),
        };
        let acceptor = match started {
            Ok(h) if endpoint_bound => Some(h),
            Ok(_) => None,
            Err(e) => {
                stats.set_error(format!("{endpoint}: cannot start a thread: {e}"));
                None
            }
        };
        drop(shared);

        let mut r = Router {
            pattern,
            stats,
            sink,
            peers: Vec::new(),
            rr: 0,
            pending: VecDeque::new(),
            last_progress: Instant::now(),
        };
        let mut closed = false;
        loop {
            while let Ok(ev) = ctl_rx.try_recv() {
                r.handle(ev);
            }
            while let Some(m) = r.pending.pop_front() {
                if let Err(m) = r.place(m) {
                    r.pending.push_front(m);
                    break;
                }
            }
            if !closed && r.pending.len() >= hold && r.sink.closing.load(Ordering::Acquire) {
                // Closing while holding all we can: the queue behind may
                // still be full, so its close would never be seen.
                closed = true;
                r.last_progress = Instant::now();
            }
            if closed {
                if r.idle() {
                    break;
                }
                if r.last_progress.elapsed() >= GIVE_UP {
                    r.give_up();
                    break;
                }
            }
            let woke = {
                let mut sel = Select::new();
                let i_ctl = sel.recv(&ctl_rx);
                let i_rx = (!closed && r.pending.len() < hold).then(|| sel.recv(&rx));
                let first_peer = i_ctl.max(i_rx.unwrap_or(0)) + 1;
                if !r.pending.is_empty() {
                    for p in &r.peers {
                        sel.send(&p.tx);
                    }
                }
                match sel.select_timeout(TICK) {
                    Err(_) => Woke::Nothing,
                    Ok(op) if op.index() == i_ctl => op.recv(&ctl_rx).map_or(Woke::Nothing, Woke::Ctl),
                    Ok(op) if Some(op.index()) == i_rx => op.recv(&rx).map_or(Woke::Closed, Woke::Event),
                    Ok(op) => {
                        let k = op.index() - first_peer;
                        let m = r.pending.pop_front().expect("send ops only with a pending event");
                        match op.send(&r.peers[k].tx, m) {
                            Ok(()) => Woke::Sent(k),
                            Err(e) => {
                                r.pending.push_front(e.into_inner());
                                Woke::Nothing
                            }
                        }
                    }
                }
            };
            match woke {
                Woke::Ctl(ev) => r.handle(ev),
                Woke::Event(m) => r.pending.push_back(m),
                Woke::Closed => {
                    closed = true;
                    r.last_progress = Instant::now();
                }
                Woke::Sent(k) => {
                    r.peers[k].inflight += 1;
                    r.rr = (k + 1) % r.peers.len();
                    r.last_progress = Instant::now();
                }
                Woke::Nothing => {}
            }
        }
        // Events still queued behind a give-up are counted, not lost.
        let left = rx.try_iter().count() as u64;
        if left > 0 {
            SinkStats::add(&r.sink.failed, left);
        }
        // Let the writers finish (they flush and close) and the dialer or
        // acceptor stop.
        drop(stop);
        r.peers.clear();
        r.gauge();
        // The acceptor stops within `ACCEPT_POLL`; once joined, the port
        // or the socket file is free. (The dialer is not waited for: it may
        // be in a connect or a handshake for seconds; it stops after.)
        if let Some(h) = acceptor {
            let _ = h.join();
        }
    }
}
