//! Live capture (AF_PACKET TPACKET_V3 + PACKET_FANOUT).
//!
//! A [`Ring`] is one AF_PACKET socket with a TPACKET_V3 receive ring mmapped into the process.
//! [`Ring::poll_batch`] hands out every frame of every retired block as a [`Packet`] borrowing the
//! ring memory (zero copy; only VLAN-accelerated frames are rebuilt, into one reused buffer), then
//! gives the blocks back to the kernel. Several rings on one interface share the traffic through a
//! fanout group ([`Fanout`]); each ring is meant to be owned by one worker thread.
//!
//! The block walk itself ([`block::walk_block`]) is safe code over `&[u8]` and bounds-checks every
//! offset the kernel wrote, so a corrupt ring is counted ([`Ring::ring_errors`]), never read past.
//!
//! This crate is the only one in the project allowed `unsafe`; each block says why it is sound.

pub mod block;
mod error;
mod privs;
mod ring;

pub use error::CaptureError;
pub use privs::drop_privileges;
pub use ring::{Ring, RingLayout};

/// What to capture and how big the ring is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingConfig {
    /// Interface name, e.g. `eth0` (bound by index; the name must exist in the caller's netns).
    pub interface: String,
    /// Put the interface in promiscuous mode for as long as the ring is open (PACKET_MR_PROMISC).
    pub promiscuous: bool,
    /// Bytes kept per frame (1..=[`MAX_SNAPLEN`]); the kernel cuts frames with a `ret #snaplen` filter.
    pub snaplen: u32,
    /// Total ring size for this socket; rounded up to a whole number of blocks.
    pub ring_bytes: usize,
    /// TPACKET_V3 `retire_blk_tov`: a partly filled block is handed over after this many ms
    /// (0 lets the kernel derive it from the link speed).
    pub block_timeout_ms: u32,
    /// Join a fanout group so several rings split the interface's traffic.
    pub fanout: Option<Fanout>,
}

impl RingConfig {
    /// A config with common defaults: promiscuous, snaplen 65535, 64 MiB ring, 50 ms blocks, no fanout.
    pub fn new(interface: impl Into<String>) -> RingConfig {
        RingConfig {
            interface: interface.into(),
            promiscuous: true,
            snaplen: 65_535,
            ring_bytes: 64 << 20,
            block_timeout_ms: 50,
            fanout: None,
        }
    }
}

/// Largest accepted snaplen (libpcap's MAXIMUM_SNAPLEN).
pub const MAX_SNAPLEN: u32 = 262_144;

/// A PACKET_FANOUT group: all rings with the same `group_id` on one interface split its traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fanout {
    pub group_id: u16,
    pub mode: FanoutMode,
}

/// How the kernel picks the ring of a fanout group for each packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanoutMode {
    /// PACKET_FANOUT_HASH with PACKET_FANOUT_FLAG_DEFRAG: symmetric flow hash, so both directions
    /// of a flow land on the same ring. With DEFRAG the kernel reassembles IPv4 fragments before
    /// hashing, and the ring receives the reassembled datagram instead of the fragments.
    Hash,
    /// PACKET_FANOUT_CPU: the ring is chosen by the CPU that received the packet (pairs with RSS).
    Cpu,
    /// PACKET_FANOUT_LB: round robin; flows are split across rings.
    LoadBalance,
}

impl FanoutMode {
    /// The upper 16 bits of the PACKET_FANOUT argument: mode plus flags.
    pub(crate) fn type_flags(self) -> u32 {
        match self {
            FanoutMode::Hash => libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG,
            FanoutMode::Cpu => libc::PACKET_FANOUT_CPU,
            FanoutMode::LoadBalance => libc::PACKET_FANOUT_LB,
        }
    }
}

/// One captured frame. `data` borrows the ring (or the ring's VLAN scratch buffer) and is only
/// valid inside the `poll_batch` callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The frame from its link-layer header, at most snaplen bytes.
    pub data: &'a [u8],
    /// Length on the wire (including a re-inserted VLAN tag).
    pub wire_len: u32,
    /// Kernel receive time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
}

/// Kernel counters of one ring, accumulated since it was opened (PACKET_STATISTICS resets on read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets that reached the socket, including the dropped ones (the kernel counts them in).
    pub packets: u64,
    /// Packets dropped because the ring was full (or by socket memory limits).
    pub drops: u64,
    /// Times the queue was frozen because no block was free (`tp_freeze_q_cnt`).
    pub freeze_count: u64,
}

/// ARPHRD_ETHER.
pub const ARPHRD_ETHER: u16 = 1;
/// ARPHRD_LOOPBACK (its frames carry an Ethernet header).
pub const ARPHRD_LOOPBACK: u16 = 772;

/// Maps an interface's ARPHRD_* type to the pcap link type (LINKTYPE_*/DLT) of the frames a ring
/// hands out, or `None` when the frames have no header a pcap reader would understand.
pub fn arphrd_to_dlt(arphrd: u16) -> Option<u32> {
    match arphrd {
        ARPHRD_ETHER | ARPHRD_LOOPBACK => Some(1), // EN10MB
        519 | 0xFFFE => Some(101),                 // ARPHRD_RAWIP, ARPHRD_NONE (tun): LINKTYPE_RAW
        801 => Some(105),                          // ARPHRD_IEEE80211
        803 => Some(127),                          // ARPHRD_IEEE80211_RADIOTAP
        _ => None,
    }
}
