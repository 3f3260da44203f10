//! Typed decode errors. Each one names the layer and the reason, and has a
//! stable dotted name (`ipv6.bad_version`) used as a counter key.

use core::fmt;

/// The protocol layer an error was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Ethernet,
    Vlan,
    Mpls,
    Pppoe,
    Sll,
    Sll2,
    Fddi,
    Null,
    Ipv4,
    Ipv6,
    Ipv6Ext,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Gre,
    Vxlan,
    Tunnel,
}

impl Layer {
    pub const fn name(self) -> &'static str {
        match self {
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::Mpls => "mpls",
            Layer::Pppoe => "pppoe",
            Layer::Sll => "sll",
            Layer::Sll2 => "sll2",
            Layer::Fddi => "fddi",
            Layer::Null => "null",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Ext => "ipv6_ext",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Icmp => "icmp",
            Layer::Icmpv6 => "icmpv6",
            Layer::Gre => "gre",
            Layer::Vxlan => "vxlan",
            Layer::Tunnel => "tunnel",
        }
    }
}

/// Why a frame could not be decoded (completely).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodeError {
    /// Fewer bytes than the fixed part of the header.
    Truncated(Layer),
    /// IP version field disagrees with the layer below.
    BadVersion(Layer),
    /// A header-length field below the minimum or past the captured data
    /// (IPv4 IHL < 5, TCP data offset < 5, extension header past the end).
    BadHeaderLength(Layer),
    /// A total/payload length field smaller than the header it covers.
    BadLength(Layer),
    /// More stacked headers (VLAN tags, MPLS labels, IPv6 extension headers)
    /// than the decoder follows.
    TooDeep(Layer),
    /// A link type this decoder does not handle (the DLT number).
    UnsupportedLinkType(u32),
    /// An address family in a BSD NULL/LOOP header that is not IPv4/IPv6.
    UnknownFamily,
}

impl DecodeError {
    /// Stable counter key, e.g. `ipv4.truncated`.
    pub const fn reason(&self) -> &'static str {
        use DecodeError::*;
        use Layer::*;
        match self {
            Truncated(l) => match l {
                Ethernet => "ethernet.truncated",
                Vlan => "vlan.truncated",
                Mpls => "mpls.truncated",
                Pppoe => "pppoe.truncated",
                Sll => "sll.truncated",
                Sll2 => "sll2.truncated",
                Fddi => "fddi.truncated",
                Null => "null.truncated",
                Ipv4 => "ipv4.truncated",
                Ipv6 => "ipv6.truncated",
                Ipv6Ext => "ipv6_ext.truncated",
                Tcp => "tcp.truncated",
                Udp => "udp.truncated",
                Icmp => "icmp.truncated",
                Icmpv6 => "icmpv6.truncated",
                Gre => "gre.truncated",
                Vxlan => "vxlan.truncated",
                Tunnel => "tunnel.truncated",
            },
            BadVersion(Ipv4) => "ipv4.bad_version",
            BadVersion(Ipv6) => "ipv6.bad_version",
            BadVersion(_) => "ip.bad_version",
            BadHeaderLength(Ipv4) => "ipv4.bad_header_length",
            BadHeaderLength(Ipv6Ext) => "ipv6_ext.bad_header_length",
            BadHeaderLength(Tcp) => "tcp.bad_header_length",
            BadHeaderLength(_) => "header.bad_header_length",
            BadLength(Ipv4) => "ipv4.bad_total_length",
            BadLength(Ipv6) => "ipv6.bad_payload_length",
            BadLength(Udp) => "udp.bad_length",
            BadLength(_) => "header.bad_total_length",
            TooDeep(Vlan) => "vlan.too_deep",
            TooDeep(Mpls) => "mpls.too_deep",
            TooDeep(Ipv6Ext) => "ipv6_ext.too_deep",
            TooDeep(Tunnel) => "tunnel.too_deep",
            TooDeep(_) => "header.too_deep",
            UnsupportedLinkType(_) => "link.unsupported",
            UnknownFamily => "null.unknown_family",
        }
    }

    pub const fn layer(&self) -> Option<Layer> {
        match self {
            DecodeError::Truncated(l)
            | DecodeError::BadVersion(l)
            | DecodeError::BadHeaderLength(l)
            | DecodeError::BadLength(l)
            | DecodeError::TooDeep(l) => Some(*l),
            DecodeError::UnsupportedLinkType(_) => None,
            DecodeError::UnknownFamily => Some(Layer::Null),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnsupportedLinkType(dlt) => write!(f, "unsupported link type {dlt}"),
            other => f.write_str(other.reason()),
        }
    }
}

impl std::error::Error for DecodeError {}

pub type Result<T> = core::result::Result<T, DecodeError>;
