//! The AF_PACKET socket, its mmapped TPACKET_V3 ring, and the hand-over of blocks.

use std::ffi::{CString, c_int, c_void};
use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::block::{self, BLOCK_HDR_LEN, BLOCK_STATUS_OFFSET, WalkOptions};
use crate::{ARPHRD_ETHER, ARPHRD_LOOPBACK, CaptureError, FanoutMode, KernelStats, MAX_SNAPLEN, Packet, RingConfig};

/// Blocks bigger than this need high-order contiguous pages the kernel may not find.
const MAX_BLOCK_SIZE: usize = 1 << 20;
/// Aim for at least this many blocks, so one slow block does not stall the whole ring.
const TARGET_BLOCKS: usize = 64;
/// Room in front of a frame's data: tpacket3_hdr + sockaddr_ll, aligned, + 16 bytes for the MAC
/// header (the kernel's netoff computation for Ethernet).
const FRAME_OVERHEAD: usize = libc::TPACKET3_HDRLEN.next_multiple_of(libc::TPACKET_ALIGNMENT) + 16;
const IFNAMSIZ: usize = 16;

/// How a ring's memory is cut up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingLayout {
    /// Bytes per block (a power of two, a multiple of the page size).
    pub block_size: usize,
    pub block_count: usize,
    /// Nominal frame size the kernel wants in `tpacket_req3` (V3 packs frames tightly anyway).
    pub frame_size: usize,
}

impl RingLayout {
    /// Picks the block geometry for `cfg`: about [`TARGET_BLOCKS`] blocks of at most 1 MiB, but a
    /// block always fits one snaplen frame; the total is `ring_bytes` rounded up to whole blocks.
    pub fn for_config(cfg: &RingConfig, page_size: usize) -> Result<RingLayout, CaptureError> {
        let invalid = |reason: String| CaptureError::InvalidConfig { interface: cfg.interface.clone(), reason };
        if cfg.snaplen == 0 || cfg.snaplen > MAX_SNAPLEN {
            return Err(invalid(format!("snaplen {} is outside 1..={MAX_SNAPLEN}", cfg.snaplen)));
        }
        if cfg.ring_bytes == 0 {
            return Err(invalid("ring_bytes must be > 0 (e.g. 64 MiB)".into()));
        }
        let frame_size = (FRAME_OVERHEAD + cfg.snaplen as usize).next_multiple_of(libc::TPACKET_ALIGNMENT);
        let min_block = (BLOCK_HDR_LEN + frame_size).next_multiple_of(page_size).next_power_of_two();
        let target = prev_power_of_two(cfg.ring_bytes / TARGET_BLOCKS).clamp(page_size, MAX_BLOCK_SIZE);
        let block_size = target.max(min_block);
        let block_count = cfg.ring_bytes.div_ceil(block_size).max(2);
        let frames = (block_size / frame_size).checked_mul(block_count);
        if block_count > u32::MAX as usize || frames.is_none_or(|n| n > u32::MAX as usize) {
            return Err(invalid(format!("ring_bytes {} is too large", cfg.ring_bytes)));
        }
        Ok(RingLayout { block_size, block_count, frame_size })
    }

    /// Total bytes mapped.
    pub fn bytes(&self) -> usize {
        self.block_size * self.block_count
    }
}

fn prev_power_of_two(n: usize) -> usize {
    if n == 0 { 0 } else { 1 << (usize::BITS - 1 - n.leading_zeros()) }
}

/// One AF_PACKET socket with its TPACKET_V3 receive ring. Owned by one thread at a time.
pub struct Ring {
    // Field order matters for Drop: the mapping is unmapped in `drop`, then `fd` closes.
    map: NonNull<u8>,
    layout: RingLayout,
    fd: OwnedFd,
    /// Next block to look at; blocks are handed over strictly in ring order.
    cur: usize,
    interface: String,
    ifindex: u32,
    link_type: u16,
    walk: WalkOptions,
    /// Reused to rebuild VLAN-tagged frames (no allocation per packet).
    scratch: Vec<u8>,
    totals: KernelStats,
    ring_errors: u64,
    packets: u64,
}

// SAFETY: `map` points to a mapping owned exclusively by this Ring (nobody else holds the pointer
// and no slice into it outlives a `&mut self` call); the socket and the mapping are not tied to
// the thread that created them, so moving the Ring to another thread is sound. It is not Sync:
// all access goes through `&mut self`.
unsafe impl Send for Ring {}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("interface", &self.interface)
            .field("ifindex", &self.ifindex)
            .field("fd", &self.fd.as_raw_fd())
            .field("layout", &self.layout)
            .field("link_type", &self.link_type)
            .finish_non_exhaustive()
    }
}

impl Ring {
    /// Opens a ring on `cfg.interface` (looked up in the calling thread's network namespace).
    pub fn open(cfg: &RingConfig) -> Result<Ring, CaptureError> {
        let name = cfg.interface.as_str();
        if name.is_empty() || name.len() >= IFNAMSIZ || name.contains(['\0', '/']) {
            return Err(CaptureError::InvalidConfig {
                interface: name.to_owned(),
                reason: format!("interface names are 1 to {} bytes without '/' or NUL", IFNAMSIZ - 1),
            });
        }
        let layout = RingLayout::for_config(cfg, page_size())?;
        let ifindex = if_index(name)?;
        let os = |op: &'static str| move |e: io::Error| CaptureError::from_os(name, op, e);

        // Protocol 0: the socket receives nothing until bind(), i.e. until the ring exists.
        // SAFETY: plain syscall with constant arguments; it returns a new fd or -1.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(os("socket(AF_PACKET, SOCK_RAW)")(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a freshly created fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let version = libc::tpacket_versions::TPACKET_V3 as c_int;
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version)
            .map_err(os("setsockopt(PACKET_VERSION=V3)"))?;
        attach_snaplen_filter(&fd, cfg.snaplen).map_err(os("setsockopt(SO_ATTACH_FILTER)"))?;

        let req = libc::tpacket_req3 {
            tp_block_size: layout.block_size as u32,
            tp_block_nr: layout.block_count as u32,
            tp_frame_size: layout.frame_size as u32,
            tp_frame_nr: ((layout.block_size / layout.frame_size) * layout.block_count) as u32,
            tp_retire_blk_tov: cfg.block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        let alloc_err = |os: io::Error| CaptureError::RingAlloc {
            interface: name.to_owned(),
            block_size: layout.block_size,
            block_count: layout.block_count,
            os,
        };
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOMEM) => alloc_err(e),
            _ => CaptureError::from_os(name, "setsockopt(PACKET_RX_RING)", e),
        })?;

        // SAFETY: maps the ring the kernel just allocated for `fd`, at an address of the kernel's
        // choosing; the result is checked against MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                layout.bytes(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(alloc_err(io::Error::last_os_error()));
        }
        let map = NonNull::new(ptr.cast::<u8>()).expect("mmap returned NULL without MAP_FIXED");
        // From here on, Drop unmaps and closes if a later step fails.
        let mut ring = Ring {
            map,
            layout,
            fd,
            cur: 0,
            interface: name.to_owned(),
            ifindex,
            link_type: 0,
            walk: WalkOptions { snaplen: cfg.snaplen, reinsert_vlan: false },
            scratch: Vec::with_capacity(cfg.snaplen as usize + 4),
            totals: KernelStats::default(),
            ring_errors: 0,
            packets: 0,
        };

        let mut sll = sockaddr_ll(ifindex);
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: `sll` is a valid sockaddr_ll and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&raw const sll).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(os("bind(ETH_P_ALL)")(io::Error::last_os_error()));
        }
        // A down interface leaves the socket bound but not running (ENETDOWN pending); it would
        // start on its own once up, but a fanout group cannot be joined until then.
        if let Some(e) = ring.take_socket_error()
            && (e.raw_os_error() != Some(libc::ENETDOWN) || cfg.fanout.is_some())
        {
            return Err(os("bind(ETH_P_ALL)")(e));
        }
        ring.link_type = bound_hatype(&ring.fd).map_err(os("getsockname"))?;
        ring.walk.reinsert_vlan = matches!(ring.link_type, ARPHRD_ETHER | ARPHRD_LOOPBACK);

        if cfg.promiscuous {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex as c_int,
                mr_type: libc::PACKET_MR_PROMISC as u16,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            // The kernel drops the membership (and promiscuity) when the socket closes.
            setsockopt(&ring.fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)
                .map_err(os("setsockopt(PACKET_ADD_MEMBERSHIP, PROMISC)"))?;
        }
        if let Some(fanout) = cfg.fanout {
            // XXX: between bind() and this join the socket receives every
            // frame on its own, so a frame arriving in that window (a few
            // microseconds at start-up) can also reach a ring already in the
            // group: seen twice. A drop-all filter until the join would trade
            // that for frames silently lost just after it; the kernel offers
            // no atomic bind-into-group.
            let arg: u32 = u32::from(fanout.group_id) | (fanout.mode.type_flags() << 16);
            setsockopt(&ring.fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg).map_err(|e| match e.raw_os_error() {
                Some(libc::EINVAL | libc::EALREADY | libc::EEXIST) => CaptureError::Fanout {
                    interface: name.to_owned(),
                    group_id: fanout.group_id,
                    mode: mode_name(fanout.mode),
                    os: e,
                },
                _ => CaptureError::from_os(name, "setsockopt(PACKET_FANOUT)", e),
            })?;
        }
        Ok(ring)
    }

    /// Waits up to `timeout` (poll) for a retired block, then calls `f` for every packet in every
    /// ready block and returns them to the kernel. Returns packets seen (0 on timeout or EINTR).
    /// At most one lap of the ring is processed per call, so a busy ring still returns. If `f`
    /// panics, the block being walked is not returned and is walked again by the next call.
    pub fn poll_batch(&mut self, timeout: Duration, mut f: impl FnMut(Packet<'_>)) -> Result<usize, CaptureError> {
        if !self.block_ready(self.cur) {
            let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN | libc::POLLERR, revents: 0 };
            let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as c_int;
            // SAFETY: one valid pollfd, count 1.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(0);
                }
                return Err(CaptureError::from_os(&self.interface, "poll", e));
            }
            if pfd.revents & libc::POLLERR != 0
                && !self.block_ready(self.cur)
                && let Some(e) = self.take_socket_error()
            {
                return Err(CaptureError::from_os(&self.interface, "poll", e));
            }
        }
        let mut seen = 0;
        for _ in 0..self.layout.block_count {
            if !self.block_ready(self.cur) {
                break;
            }
            let base = self.block_base(self.cur);
            // SAFETY: `base..base+block_size` lies inside our mapping. The block's status says
            // TP_STATUS_USER (acquire load above), so the kernel will not write to it until we
            // store TP_STATUS_KERNEL below; the slice is dropped before that store.
            let block = unsafe { std::slice::from_raw_parts(base, self.layout.block_size) };
            let sum = block::walk_block(block, self.walk, &mut self.scratch, &mut f);
            seen += sum.packets;
            self.ring_errors += sum.errors;
            self.release_block(self.cur);
            self.cur = (self.cur + 1) % self.layout.block_count;
        }
        self.packets += seen as u64;
        Ok(seen)
    }

    /// PACKET_STATISTICS, accumulated: the kernel resets its counters on each read, so the Ring
    /// adds them up and returns totals since open. `packets` includes `drops`.
    pub fn kernel_stats(&mut self) -> Result<KernelStats, CaptureError> {
        let mut st = MaybeUninit::<libc::tpacket_stats_v3>::zeroed();
        let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st` is writable for `len` bytes and `len` is a valid in/out length.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                st.as_mut_ptr().cast::<c_void>(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(CaptureError::from_os(
                &self.interface,
                "getsockopt(PACKET_STATISTICS)",
                io::Error::last_os_error(),
            ));
        }
        // SAFETY: zero-initialised and (partly) overwritten by the kernel; all-zero is a valid
        // tpacket_stats_v3 (three u32).
        let st = unsafe { st.assume_init() };
        self.totals.packets += u64::from(st.tp_packets);
        self.totals.drops += u64::from(st.tp_drops);
        self.totals.freeze_count += u64::from(st.tp_freeze_q_cnt);
        Ok(self.totals)
    }

    /// ARPHRD_* type of the interface (1 = Ethernet, 772 = loopback, ...).
    pub fn link_type(&self) -> u16 {
        self.link_type
    }

    /// The pcap link type of the frames this ring hands out (see [`crate::arphrd_to_dlt`]).
    pub fn dlt(&self) -> Option<u32> {
        crate::arphrd_to_dlt(self.link_type)
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub fn layout(&self) -> RingLayout {
        self.layout
    }

    /// Frames skipped because their ring headers pointed outside their block.
    pub fn ring_errors(&self) -> u64 {
        self.ring_errors
    }

    /// Frames handed to `poll_batch` callbacks since open.
    pub fn packets_delivered(&self) -> u64 {
        self.packets
    }

    fn block_base(&self, i: usize) -> *mut u8 {
        debug_assert!(i < self.layout.block_count);
        self.map.as_ptr().wrapping_add(i * self.layout.block_size)
    }

    fn status_word(&self, i: usize) -> &AtomicU32 {
        let p = self.block_base(i).wrapping_add(BLOCK_STATUS_OFFSET).cast::<u32>();
        // SAFETY: `p` is inside the mapping (block i < block_count), 4-aligned (blocks are page
        // aligned, offset 8), and valid while `self` lives. The kernel updates the word with
        // barriers and we only access it atomically while no slice over the block exists.
        unsafe { AtomicU32::from_ptr(p) }
    }

    fn block_ready(&self, i: usize) -> bool {
        self.status_word(i).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    fn release_block(&self, i: usize) {
        self.status_word(i).store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }

    /// Reads and clears the socket's pending error (SO_ERROR).
    fn take_socket_error(&self) -> Option<io::Error> {
        let mut err: c_int = 0;
        let mut len = size_of::<c_int>() as libc::socklen_t;
        // SAFETY: `err` is a writable c_int and `len` its size.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&raw mut err).cast::<c_void>(),
                &mut len,
            )
        };
        match (rc, err) {
            (0, 0) => None,
            (0, e) => Some(io::Error::from_raw_os_error(e)),
            _ => Some(io::Error::last_os_error()),
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `map` was returned by mmap with exactly this length and is not used after this;
        // no slices into it can be alive (they never outlive a `&mut self` call). `fd` is closed
        // afterwards by OwnedFd.
        unsafe {
            libc::munmap(self.map.as_ptr().cast::<c_void>(), self.layout.bytes());
        }
    }
}

impl AsRawFd for Ring {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Ring {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn mode_name(mode: FanoutMode) -> &'static str {
    match mode {
        FanoutMode::Hash => "hash",
        FanoutMode::Cpu => "cpu",
        FanoutMode::LoadBalance => "load-balance",
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

fn if_index(name: &str) -> Result<u32, CaptureError> {
    let cname = CString::new(name).map_err(|_| CaptureError::NoSuchInterface { interface: name.to_owned() })?;
    // SAFETY: `cname` is a NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if idx != 0 {
        return Ok(idx);
    }
    let e = io::Error::last_os_error();
    Err(match e.raw_os_error() {
        Some(libc::ENODEV | libc::ENXIO) | None | Some(0) => {
            CaptureError::NoSuchInterface { interface: name.to_owned() }
        }
        _ => CaptureError::from_os(name, "if_nametoindex", e),
    })
}

fn sockaddr_ll(ifindex: u32) -> libc::sockaddr_ll {
    libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: 0,
        sll_ifindex: ifindex as c_int,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    }
}

/// The ARPHRD type of the device the socket is bound to (getsockname fills sll_hatype).
fn bound_hatype(fd: &OwnedFd) -> io::Result<u16> {
    let mut sll = sockaddr_ll(0);
    let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `sll` is writable for `len` bytes; the kernel writes at most that much.
    let rc = unsafe { libc::getsockname(fd.as_raw_fd(), (&raw mut sll).cast::<libc::sockaddr>(), &mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sll.sll_hatype)
}

/// A one-instruction classic BPF program `ret #snaplen`, so the kernel copies at most snaplen
/// bytes of each frame into the ring.
fn attach_snaplen_filter(fd: &OwnedFd, snaplen: u32) -> io::Result<()> {
    let mut insn = [libc::sock_filter { code: (libc::BPF_RET | libc::BPF_K) as u16, jt: 0, jf: 0, k: snaplen }];
    let prog = libc::sock_fprog { len: 1, filter: insn.as_mut_ptr() };
    // The kernel copies the program during the call, so `insn` only needs to outlive it.
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
}

/// setsockopt with a plain-old-data value passed by pointer and exact size.
fn setsockopt<T: Copy>(fd: &OwnedFd, level: c_int, name: c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live, initialised T of `size_of::<T>()` bytes that the kernel
    // only reads; all callers pass #[repr(C)] libc structs or integers the option expects.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<c_void>(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(snaplen: u32, ring_bytes: usize) -> RingConfig {
        RingConfig { snaplen, ring_bytes, ..RingConfig::new("eth0") }
    }

    #[test]
    fn layout_rounds_to_blocks() {
        let l = RingLayout::for_config(&cfg(65_535, 64 << 20), 4096).unwrap();
        assert_eq!((l.block_size, l.block_count), (1 << 20, 64));
        let l = RingLayout::for_config(&cfg(1514, 4 << 20), 4096).unwrap();
        assert_eq!((l.block_size, l.block_count), (64 << 10, 64));
        // Not a multiple: round up to whole blocks.
        let l = RingLayout::for_config(&cfg(1514, (4 << 20) + 1), 4096).unwrap();
        assert_eq!((l.block_size, l.block_count), (64 << 10, 65));
        // Tiny ring: at least two blocks, each big enough for one snaplen frame.
        let l = RingLayout::for_config(&cfg(65_535, 1000), 4096).unwrap();
        assert_eq!((l.block_size, l.block_count), (128 << 10, 2));
        let l = RingLayout::for_config(&cfg(MAX_SNAPLEN, 1 << 30), 4096).unwrap();
        assert!(l.block_size >= MAX_SNAPLEN as usize + FRAME_OVERHEAD + BLOCK_HDR_LEN);
        for l in [l, RingLayout::for_config(&cfg(60, 1 << 16), 16384).unwrap()] {
            assert!(l.block_size.is_power_of_two() && l.frame_size % 16 == 0 && l.block_size / l.frame_size >= 1);
        }
    }

    #[test]
    fn layout_rejects_bad_values() {
        for c in [cfg(0, 1 << 20), cfg(MAX_SNAPLEN + 1, 1 << 20), cfg(1500, 0)] {
            let e = RingLayout::for_config(&c, 4096).unwrap_err();
            assert!(matches!(e, CaptureError::InvalidConfig { .. }), "{e}");
        }
    }

    #[test]
    fn open_checks_names() {
        let e = Ring::open(&RingConfig::new("sdn-no-such-if9")).unwrap_err();
        assert!(matches!(e, CaptureError::NoSuchInterface { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "no such interface sdn-no-such-if9 (list them with `ip link`; names are per network namespace)"
        );
        let e = Ring::open(&RingConfig::new("a-very-long-interface-name")).unwrap_err();
        assert!(matches!(e, CaptureError::InvalidConfig { .. }), "{e}");
        let e = Ring::open(&RingConfig::new("")).unwrap_err();
        assert!(matches!(e, CaptureError::InvalidConfig { .. }), "{e}");
    }

    #[test]
    fn ring_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Ring>();
    }
}
