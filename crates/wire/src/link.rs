//! Link types as numbered in pcap/pcapng headers (LINKTYPE_*), with the
//! historical DLT aliases that appear in real files.

/// The link layers the decoder understands, plus `Other` for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkType {
    /// BSD loopback, family in host byte order (DLT_NULL, 0).
    Null,
    /// Ethernet II / 802.3 (1).
    Ethernet,
    /// Raw IP, version from the first nibble (101; DLT_RAW 12 and 14).
    RawIp,
    /// OpenBSD loopback, family in network byte order (108).
    Loop,
    /// Linux cooked capture v1 (113).
    LinuxSll,
    /// Raw IPv4 (228).
    Ipv4,
    /// Raw IPv6 (229).
    Ipv6,
    /// Linux cooked capture v2 (276).
    LinuxSll2,
    /// FDDI with 802.2 LLC/SNAP (10). Addresses are kept as captured
    /// (some captures have them bit-swapped).
    Fddi,
    /// Any other LINKTYPE number.
    Other(u32),
}

impl LinkType {
    pub const fn from_linktype(n: u32) -> LinkType {
        match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::RawIp,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            10 => LinkType::Fddi,
            n => LinkType::Other(n),
        }
    }

    /// The LINKTYPE number (the inverse of `from_linktype`).
    pub const fn number(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::RawIp => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Fddi => 10,
            LinkType::Other(n) => n,
        }
    }

    /// Short name used in counters and events.
    pub const fn name(self) -> &'static str {
        match self {
            LinkType::Null => "null",
            LinkType::Ethernet => "ethernet",
            LinkType::RawIp => "raw",
            LinkType::Loop => "loop",
            LinkType::LinuxSll => "linux_sll",
            LinkType::Ipv4 => "ipv4",
            LinkType::Ipv6 => "ipv6",
            LinkType::LinuxSll2 => "linux_sll2",
            LinkType::Fddi => "fddi",
            LinkType::Other(_) => "other",
        }
    }
}
