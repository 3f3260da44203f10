//! Observations: what was seen where. Decoders produce them; the matcher
//! consumes them without knowing the protocol they came from.

use core::net::IpAddr;
use wire::Decoded;

/// `match.where` names (DESIGN.md §3; `tunnel.*` are ours, see
/// docs/EVENTS.md).
pub mod location {
    /// The innermost IP header's addresses.
    pub const IP_SRC: &str = "ip.src";
    pub const IP_DST: &str = "ip.dst";
    /// The outermost IP header's, when tunnels were looked through.
    pub const TUNNEL_SRC: &str = "tunnel.src";
    pub const TUNNEL_DST: &str = "tunnel.dst";
}

/// One observed value and where it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub location: &'static str,
    pub value: IpAddr,
    /// The transport port beside the address (for `ip:port` indicators).
    pub port: Option<u16>,
}

/// The address observations of a decoded frame: the innermost addresses,
/// then the tunnel endpoints. Nothing without an IP layer.
#[inline]
pub fn packet_addresses(d: &Decoded<'_>) -> impl Iterator<Item = Observation> {
    let pair = |ip: wire::packet::IpHeader, src, dst, ports: Option<(u16, u16)>| {
        [
            Observation { location: src, value: ip.src, port: ports.map(|p| p.0) },
            Observation { location: dst, value: ip.dst, port: ports.map(|p| p.1) },
        ]
    };
    let inner = d.ip.map(|ip| pair(ip, location::IP_SRC, location::IP_DST, d.transport.ports()));
    let outer = d.outer.map(|ip| pair(ip, location::TUNNEL_SRC, location::TUNNEL_DST, None));
    inner.into_iter().flatten().chain(outer.into_iter().flatten())
}
