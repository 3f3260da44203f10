//! UDP listeners for flow exports (and, later, syslog): one receiving
//! thread per socket, handing datagrams to the pipeline's thread through a
//! bounded queue of reused buffers. Nothing is dropped silently: a
//! datagram that finds no free buffer is counted, and the kernel's own
//! drop counter for each socket is read from /proc.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

/// One received datagram, in a buffer to give back with [`Listeners::recycle`].
pub struct Received<K> {
    pub kind: K,
    pub from: SocketAddr,
    pub local: SocketAddr,
    /// Wall clock at reception, Unix nanoseconds.
    pub ts_ns: u64,
    buf: Box<[u8]>,
    len: usize,
}

impl<K> Received<K> {
    pub fn payload(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Per-socket counters, shared with its thread.
#[derive(Debug, Default)]
pub struct SocketStats {
    pub datagrams: AtomicU64,
    pub bytes: AtomicU64,
    /// Dropped here: no free buffer (the pipeline is behind).
    pub queue_drops: AtomicU64,
}

struct Socket<K> {
    local: SocketAddr,
    kind: K,
    stats: Arc<SocketStats>,
    /// The socket's inode, to find its kernel drop counter in /proc.
    inode: Option<u64>,
    thread: Option<JoinHandle<()>>,
}

/// A set of bound sockets feeding one queue.
pub struct Listeners<K> {
    sockets: Vec<Socket<K>>,
    queue: Receiver<Received<K>>,
    /// Kept so the queue never reads as disconnected: with no socket (or
    /// every socket thread gone) `recv` still waits its timeout instead of
    /// returning at once, which would make a caller's loop spin.
    _sender: SyncSender<Received<K>>,
    free: SyncSender<Box<[u8]>>,
    stop: Arc<AtomicBool>,
}

/// Options for every socket.
#[derive(Debug, Clone, Copy)]
pub struct ListenOptions {
    /// Kernel receive buffer asked for (the kernel may cap it at
    /// net.core.rmem_max).
    pub receive_buffer: usize,
    /// Datagrams queued for the pipeline at most.
    pub queue: usize,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions { receive_buffer: 8 << 20, queue: 1024 }
    }
}

fn bind(addr: SocketAddr, receive_buffer: usize) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // `[::]:2055` takes IPv4 exporters too (as IPv4-mapped addresses).
        s.set_only_v6(false).ok();
    }
    // Best effort: a small buffer still works, it only drops sooner.
    s.set_recv_buffer_size(receive_buffer).ok();
    s.bind(&addr.into())?;
    let s: UdpSocket = s.into();
    // Wake up now and then to notice `stop`.
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(s)
}

fn socket_inode(s: &UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", s.as_raw_fd())).ok()?;
    let text = link.to_str()?;
    text.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// The kernel's drop counter of the UDP socket with this inode (the last
/// column of /proc/net/udp and udp6).
fn kernel_drops(inode: u64) -> Option<u64> {
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 13 && f[9].parse() == Ok(inode) {
                return f[12].parse().ok();
            }
        }
    }
    None
}

impl<K: Copy + Send + 'static> Listeners<K> {
    /// Binds every address (an error names the address) and starts one
    /// receiving thread per socket.
    pub fn bind(addrs: &[(K, SocketAddr)], opts: ListenOptions) -> io::Result<Self> {
        let queue_len = opts.queue.max(1);
        let (tx, queue) = sync_channel::<Received<K>>(queue_len);
        let (free, free_rx) = sync_channel::<Box<[u8]>>(queue_len);
        for _ in 0..queue_len {
            free.send(vec![0u8; MAX_DATAGRAM].into_boxed_slice()).ok();
        }
        let free_rx = Arc::new(std::sync::Mutex::new(free_rx));
        let stop = Arc::new(AtomicBool::new(false));
        let mut sockets = Vec::with_capacity(addrs.len());
        for &(kind, addr) in addrs {
            let socket = bind(addr, opts.receive_buffer)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on udp {addr}: {e}")))?;
            let local = socket.local_addr()?;
            let stats = Arc::new(SocketStats::default());
            let inode = socket_inode(&socket);
            let (tx, free_rx, stop, thread_stats) =
                (tx.clone(), Arc::clone(&free_rx), Arc::clone(&stop), Arc::clone(&stats));
            let thread = std::thread::Builder::new().name(format!("udp {local}")).spawn(move || {
                let mut spare = vec![0u8; MAX_DATAGRAM];
                // A pool buffer kept across read timeouts until it is filled.
                let mut held: Option<Box<[u8]>> = None;
                while !stop.load(Ordering::Relaxed) {
                    if held.is_none() {
                        held = free_rx.lock().ok().and_then(|r| r.try_recv().ok());
                    }
                    // Without a free buffer, read into the spare one and drop.
                    let slot: &mut [u8] = match &mut held {
                        Some(b) => b,
                        None => &mut spare,
                    };
                    let (len, from) = match socket.recv_from(slot) {
                        Ok(r) => r,
                        Err(_) => continue,
                    };
                    thread_stats.datagrams.fetch_add(1, Ordering::Relaxed);
                    thread_stats.bytes.fetch_add(len as u64, Ordering::Relaxed);
                    let Some(buf) = held.take() else {
                        thread_stats.queue_drops.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let ts_ns = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as u64);
                    if tx.send(Received { kind, from, local, ts_ns, buf, len }).is_err() {
                        return;
                    }
                }
            })?;
            sockets.push(Socket { local, kind, stats, inode, thread: Some(thread) });
        }
        Ok(Listeners { sockets, queue, _sender: tx, free, stop })
    }

    /// The next datagram, waiting at most `timeout`.
    pub fn recv(&self, timeout: Duration) -> Option<Received<K>> {
        self.queue.recv_timeout(timeout).ok()
    }

    /// The next datagram if one is queued.
    pub fn try_recv(&self) -> Result<Received<K>, TryRecvError> {
        self.queue.try_recv()
    }

    /// Gives a datagram's buffer back to the pool.
    pub fn recycle(&self, r: Received<K>) {
        let _ = self.free.try_send(r.buf);
    }

    /// (kind, local address, stats, kernel drops) per socket.
    pub fn stats(&self) -> impl Iterator<Item = (K, SocketAddr, &SocketStats, Option<u64>)> + '_ {
        self.sockets.iter().map(|s| (s.kind, s.local, &*s.stats, s.inode.and_then(kernel_drops)))
    }

    /// The bound addresses (with the ports the kernel chose for port 0).
    pub fn local_addrs(&self) -> impl Iterator<Item = (K, SocketAddr)> + '_ {
        self.sockets.iter().map(|s| (s.kind, s.local))
    }
}

impl<K> Drop for Listeners<K> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblock senders waiting on a full queue.
        while self.queue.try_recv().is_ok() {}
        for s in &mut self.sockets {
            if let Some(t) = s.thread.take() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn recv_waits_its_timeout_even_without_sockets() {
        let l: super::Listeners<u8> = super::Listeners::bind(&[], super::ListenOptions::default()).unwrap();
        let t = std::time::Instant::now();
        assert!(l.recv(std::time::Duration::from_millis(50)).is_none());
        assert!(t.elapsed() >= std::time::Duration::from_millis(45), "returned at once: a caller would spin");
    }

    use super::*;

    #[test]
    fn receives_datagrams_and_counts_them() {
        let l = Listeners::bind(&[(1u8, "127.0.0.1:0".parse().unwrap())], ListenOptions::default()).unwrap();
        let (_, local) = l.local_addrs().next().unwrap();
        let out = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..10u8 {
            out.send_to(&[i; 100], local).unwrap();
        }
        let mut got = Vec::new();
        while got.len() < 10 {
            let r = l.recv(Duration::from_secs(5)).expect("a datagram");
            assert_eq!((r.kind, r.local, r.from), (1, local, out.local_addr().unwrap()));
            got.push(r.payload()[0]);
            assert_eq!(r.payload().len(), 100);
            l.recycle(r);
        }
        assert_eq!(got, (0..10).collect::<Vec<u8>>());
        let (_, _, stats, kernel) = l.stats().next().unwrap();
        assert_eq!(stats.datagrams.load(Ordering::Relaxed), 10);
        assert_eq!(stats.queue_drops.load(Ordering::Relaxed), 0);
        assert_eq!(kernel, Some(0));
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let opts = ListenOptions { queue: 2, ..ListenOptions::default() };
        let l = Listeners::bind(&[((), "127.0.0.1:0".parse().unwrap())], opts).unwrap();
        let (_, local) = l.local_addrs().next().unwrap();
        let out = UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..20 {
            out.send_to(b"x", local).unwrap();
        }
        // Nothing is taken from the queue: 2 buffers, the rest counted.
        let (_, _, stats) = loop {
            let (k, a, s, _) = l.stats().next().unwrap();
            if s.datagrams.load(Ordering::Relaxed) == 20 {
                break (k, a, s);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(stats.queue_drops.load(Ordering::Relaxed), 18);
        assert!(l.try_recv().is_ok() && l.try_recv().is_ok() && l.try_recv().is_err());
    }

    #[test]
    fn a_busy_port_is_a_clear_error() {
        let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = Listeners::bind(&[((), addr)], ListenOptions::default()).err().expect("port in use");
        assert!(err.to_string().contains(&format!("cannot listen on udp {addr}")), "{err}");
    }
}
