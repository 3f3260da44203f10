//! Live capture in throwaway network namespaces: a veth pair whose one end (`cap`, in namespace
//! `ns_cap`) is captured and whose other end (`tx`, in `ns_tx`) gets hand-built frames written
//! with a raw AF_PACKET socket. Needs root and `ip netns`; otherwise each test prints why and
//! passes.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use capture::{CaptureError, Fanout, FanoutMode, KernelStats, Packet, Ring, RingConfig};

const MAGIC: &[u8; 8] = b"SDNCAPT!";

/// Two namespaces joined by a veth pair; deleted (with the veth) on drop, also on panic.
struct Lab {
    ns_cap: String,
    ns_tx: String,
    cap: String,
    tx: String,
}

impl Lab {
    /// `None` (after printing why) when the test cannot run here.
    fn new(test: &str) -> Option<Lab> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipping {test}: needs root (CAP_NET_ADMIN/CAP_NET_RAW) for namespaces and AF_PACKET");
            return None;
        }
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let tag = format!("{}{}", std::process::id() % 100_000, SEQ.fetch_add(1, Ordering::Relaxed));
        let lab = Lab {
            ns_cap: format!("sdncap{tag}"),
            ns_tx: format!("sdntx{tag}"),
            cap: format!("sdc{tag}c"),
            tx: format!("sdc{tag}t"),
        };
        if let Err(e) = ip(&["netns", "add", &lab.ns_cap]) {
            eprintln!("skipping {test}: `ip netns add` is not available: {e}");
            return None;
        }
        // From here on `lab` drops (and deletes what exists) if a step fails.
        let setup = || -> Result<(), String> {
            ip(&["netns", "add", &lab.ns_tx])?;
            // No IPv6 autoconfiguration chatter: the counters below must only see our frames.
            for ns in [&lab.ns_cap, &lab.ns_tx] {
                in_netns(ns, || {
                    let _ = std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
                    let _ = std::fs::write("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
                });
            }
            ip(&[
                "link",
                "add",
                &lab.cap,
                "netns",
                &lab.ns_cap,
                "type",
                "veth",
                "peer",
                "name",
                &lab.tx,
                "netns",
                &lab.ns_tx,
            ])?;
            ip(&["-n", &lab.ns_cap, "link", "set", &lab.cap, "up"])?;
            ip(&["-n", &lab.ns_tx, "link", "set", &lab.tx, "up"])
        };
        match setup() {
            Ok(()) => Some(lab),
            Err(e) => {
                eprintln!("skipping {test}: cannot build the veth lab: {e}");
                None
            }
        }
    }

    fn open(&self, cfg: &RingConfig) -> Result<Ring, CaptureError> {
        in_netns(&self.ns_cap, || Ring::open(cfg))
    }

    /// Writes `frames` out of the `tx` end (they arrive on `cap`).
    fn send(&self, frames: &[Vec<u8>]) {
        in_netns(&self.ns_tx, || send_raw(&self.tx, frames));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace destroys the veth end in it, and with it the peer.
        let _ = ip(&["netns", "del", &self.ns_cap]);
        let _ = ip(&["netns", "del", &self.ns_tx]);
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Runs `f` on a fresh thread that has joined network namespace `ns` (setns only affects the
/// calling thread, so the test thread stays where it is). Sockets keep their namespace after.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    thread::scope(|s| {
        s.spawn(|| {
            let file = File::open(format!("/var/run/netns/{ns}")).expect("open netns file");
            // SAFETY: `file` is an open namespace fd; setns only changes this thread's netns.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("netns thread panicked")
    })
}

fn send_raw(ifname: &str, frames: &[Vec<u8>]) {
    let cname = CString::new(ifname).unwrap();
    // SAFETY: NUL-terminated name that outlives the call.
    let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    assert_ne!(ifindex, 0, "no interface {ifname}");
    // SAFETY: plain syscall; protocol 0 so this socket receives nothing.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: all-zero is a valid sockaddr_ll; the fields we need are set below.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the given size.
    let rc =
        unsafe { libc::bind(fd, (&raw const sll).cast(), std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t) };
    assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
    for f in frames {
        // SAFETY: `f` is a live buffer of `f.len()` bytes.
        let n = unsafe { libc::send(fd, f.as_ptr().cast(), f.len(), 0) };
        assert_eq!(n, f.len() as isize, "send: {}", std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is ours and not used afterwards.
    unsafe { libc::close(fd) };
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet/IPv4/UDP frame of flow `flow` carrying MAGIC, `seq` and `flow` in its payload.
/// `tags` are (TPID, TCI) pairs put after the MAC addresses, outermost first.
fn udp_frame(flow: u32, seq: u32, tags: &[(u16, u16)]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
    for (tpid, tci) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tci.to_be_bytes());
    }
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let mut payload = MAGIC.to_vec();
    payload.extend_from_slice(&seq.to_be_bytes());
    payload.extend_from_slice(&flow.to_be_bytes());
    payload.resize(32, 0xAB);
    let total = 20 + 8 + payload.len();
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 1, (flow % 250) as u8 + 1];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&(seq as u16).to_be_bytes());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&(10_000 + flow as u16).to_be_bytes());
    f.extend_from_slice(&(20_000 + (flow as u16) * 7).to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]); // no UDP checksum
    f.extend_from_slice(&payload);
    f
}

/// (seq, flow) of one of our frames, wherever the payload starts (tags shift it).
fn parse_ours(data: &[u8]) -> Option<(u32, u32)> {
    let at = data.windows(MAGIC.len()).position(|w| w == MAGIC)?;
    let rest = data.get(at + 8..at + 16)?;
    Some((u32::from_be_bytes(rest[..4].try_into().unwrap()), u32::from_be_bytes(rest[4..].try_into().unwrap())))
}

fn cfg(lab: &Lab, fanout: Option<Fanout>) -> RingConfig {
    RingConfig { ring_bytes: 4 << 20, fanout, ..RingConfig::new(lab.cap.clone()) }
}

/// Polls every ring until `want` of our frames arrived (or 10 s passed), then a little longer
/// to catch duplicates. Returns, per ring, the frames seen and how many frames in total.
fn drain(rings: &mut [Ring], want: usize, mut keep: impl FnMut(usize, Packet<'_>)) -> Vec<usize> {
    let mut totals = vec![0; rings.len()];
    let mut ours = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut quiet_until: Option<Instant> = None;
    loop {
        for (i, ring) in rings.iter_mut().enumerate() {
            totals[i] += ring
                .poll_batch(Duration::from_millis(10), |p| {
                    if parse_ours(p.data).is_some() {
                        ours += 1;
                    }
                    keep(i, p);
                })
                .expect("poll_batch");
        }
        let now = Instant::now();
        if ours >= want && quiet_until.is_none() {
            quiet_until = Some(now + Duration::from_millis(300));
        }
        if quiet_until.is_some_and(|q| now >= q) || now >= deadline {
            return totals;
        }
    }
}

#[test]
fn fanout_hash_splits_flows_and_delivers_each_packet_once() {
    let Some(lab) = Lab::new("fanout_hash") else { return };
    const FLOWS: u32 = 20;
    const N: u32 = 200;
    let fanout = Some(Fanout { group_id: 4242, mode: FanoutMode::Hash });
    let mut rings = vec![lab.open(&cfg(&lab, fanout)).unwrap(), lab.open(&cfg(&lab, fanout)).unwrap()];
    assert_eq!(rings[0].link_type(), 1);
    assert_eq!(rings[0].dlt(), Some(1));
    assert_eq!(rings[0].interface(), lab.cap);

    // A third socket cannot join the same group with another mode; the message says so.
    let e = lab.open(&cfg(&lab, Some(Fanout { group_id: 4242, mode: FanoutMode::LoadBalance }))).unwrap_err();
    assert!(matches!(e, CaptureError::Fanout { group_id: 4242, .. }), "{e}");
    assert!(e.to_string().contains("fanout group 4242") && e.to_string().contains(&lab.cap), "{e}");

    let frames: Vec<Vec<u8>> = (0..N).map(|seq| udp_frame(seq % FLOWS, seq, &[])).collect();
    lab.send(&frames);

    let mut seen: HashMap<u32, Vec<usize>> = HashMap::new(); // seq -> rings that saw it
    let mut flow_ring: HashMap<u32, Vec<usize>> = HashMap::new();
    let totals = drain(&mut rings, N as usize, |ring, p| {
        if let Some((seq, flow)) = parse_ours(p.data) {
            assert_eq!(p.data, &frames[seq as usize][..], "frame {seq} altered");
            assert_eq!(p.wire_len as usize, p.data.len());
            assert!(p.ts_ns > 1_600_000_000_000_000_000, "timestamp {}", p.ts_ns);
            seen.entry(seq).or_default().push(ring);
            flow_ring.entry(flow).or_default().push(ring);
        }
    });
    let per_ring: Vec<usize> = (0..2).map(|r| seen.values().filter(|rs| rs.contains(&r)).count()).collect();
    eprintln!("fanout_hash: {N} sent over {FLOWS} flows; ring totals {totals:?}, ours per ring {per_ring:?}");

    assert_eq!(seen.len(), N as usize, "missing: {:?}", (0..N).filter(|s| !seen.contains_key(s)).collect::<Vec<_>>());
    assert!(seen.values().all(|rs| rs.len() == 1), "duplicates across rings");
    for (flow, rs) in &flow_ring {
        assert!(rs.iter().all(|&r| r == rs[0]), "flow {flow} split over rings: {rs:?}");
    }
    assert!(per_ring.iter().all(|&n| n > 0), "one ring got nothing: {per_ring:?}");

    let stats: Vec<KernelStats> = rings.iter_mut().map(|r| r.kernel_stats().unwrap()).collect();
    eprintln!("fanout_hash: kernel stats {stats:?}");
    let (pkts, drops): (u64, u64) = stats.iter().fold((0, 0), |a, s| (a.0 + s.packets, a.1 + s.drops));
    assert!(pkts >= u64::from(N), "kernel packets {pkts} < {N}");
    assert_eq!(drops, 0);
    // Every frame the kernel counted was handed out (nothing else is on this link).
    assert_eq!(pkts, totals.iter().sum::<usize>() as u64 + drops);
    assert_eq!(rings.iter().map(|r| r.ring_errors()).sum::<u64>(), 0);
    // Read again: the kernel counters were reset by the first read, the totals are kept.
    assert_eq!(rings[0].kernel_stats().unwrap(), stats[0]);
}

#[test]
fn full_ring_counts_drops_and_totals_survive_reads() {
    let Some(lab) = Lab::new("drops") else { return };
    // Two 4 KiB blocks hold a few dozen small frames; send many more without polling.
    let cfg = RingConfig { snaplen: 64, ring_bytes: 8192, block_timeout_ms: 5, ..cfg(&lab, None) };
    let mut ring = lab.open(&cfg).unwrap();
    assert_eq!(ring.layout().block_count, 2);
    const N: u32 = 600;
    let frames: Vec<Vec<u8>> = (0..N).map(|seq| udp_frame(seq % 7, seq, &[])).collect();
    lab.send(&frames);
    thread::sleep(Duration::from_millis(100));
    let first = ring.kernel_stats().unwrap();
    let mut delivered = 0;
    let mut totals = drain(std::slice::from_mut(&mut ring), 0, |_, p| {
        assert!(p.data.len() <= 64);
        assert_eq!(p.wire_len, 74);
        delivered += 1;
    });
    let later = ring.kernel_stats().unwrap();
    eprintln!("drops: sent {N}, delivered {delivered}, stats after send {first:?}, after drain {later:?}");
    assert!(first.drops > 0 && first.freeze_count > 0, "{first:?}");
    assert_eq!(later.packets, u64::from(N), "{later:?}");
    assert_eq!(later.packets, totals.pop().unwrap() as u64 + later.drops);
    assert!(later.drops >= first.drops && later.packets >= first.packets);
    assert_eq!(ring.ring_errors(), 0);
}

#[test]
fn vlan_tags_are_put_back_into_the_frame() {
    let Some(lab) = Lab::new("vlan") else { return };
    let mut ring = lab.open(&cfg(&lab, None)).unwrap();
    let frames = vec![
        udp_frame(1, 0, &[(0x8100, 0x6064)]),                   // VLAN 100, priority 3
        udp_frame(2, 1, &[(0x8100, 0x0000)]),                   // priority tag, VLAN 0
        udp_frame(3, 2, &[(0x88a8, 0x0123), (0x8100, 0x0456)]), // QinQ: outer 802.1ad
        udp_frame(4, 3, &[]),
    ];
    lab.send(&frames);
    let mut got = vec![None; frames.len()];
    drain(std::slice::from_mut(&mut ring), frames.len(), |_, p| {
        if let Some((seq, _)) = parse_ours(p.data) {
            got[seq as usize] = Some((p.data.to_vec(), p.wire_len));
        }
    });
    for (seq, f) in frames.iter().enumerate() {
        let (data, wire) = got[seq].clone().unwrap_or_else(|| panic!("frame {seq} not captured"));
        assert_eq!(data, *f, "frame {seq}: tag not restored");
        assert_eq!(wire as usize, f.len());
    }
    eprintln!("vlan: {} frames came back byte-identical (tags 8100/0x6064, 8100/0, 88a8+8100, none)", frames.len());
}

#[test]
fn loopback_link_type_and_interface_down() {
    let Some(lab) = Lab::new("loopback") else { return };
    let ring = in_netns(&lab.ns_cap, || {
        Ring::open(&RingConfig { promiscuous: false, ring_bytes: 1 << 20, ..RingConfig::new("lo") })
    })
    .unwrap();
    assert_eq!((ring.link_type(), ring.dlt()), (772, Some(1)));
    drop(ring);

    let mut ring = lab.open(&cfg(&lab, None)).unwrap();
    ip(&["-n", &lab.ns_cap, "link", "set", &lab.cap, "down"]).unwrap();
    let e = ring.poll_batch(Duration::from_secs(2), |_| {}).unwrap_err();
    assert!(matches!(e, CaptureError::InterfaceDown { .. }), "{e}");
    eprintln!("interface down: {e}");

    // A fanout group cannot be joined while the interface is down.
    let e = lab.open(&cfg(&lab, Some(Fanout { group_id: 7, mode: FanoutMode::Cpu }))).unwrap_err();
    assert!(matches!(e, CaptureError::InterfaceDown { .. }), "{e}");

    // Once up again, the same ring captures again.
    ip(&["-n", &lab.ns_cap, "link", "set", &lab.cap, "up"]).unwrap();
    let frames = vec![udp_frame(1, 0, &[])];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = 0;
    while got == 0 && Instant::now() < deadline {
        lab.send(&frames);
        got += match ring.poll_batch(Duration::from_millis(100), |_| {}) {
            Ok(n) => n,
            Err(CaptureError::InterfaceDown { .. }) => 0, // the stale error may still be pending
            Err(e) => panic!("{e}"),
        };
    }
    assert!(got > 0, "no capture after the interface came back up");
}
