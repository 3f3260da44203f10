//! Observations: what was seen where. Decoders produce them; the matcher
//! consumes them without knowing the protocol they came from.

use core::net::IpAddr;
use wire::Decoded;

/// `match.where` names (DESIGN.md §3).
pub mod location {
    pub const IP_SRC: &str = "ip.src";
    pub const IP_DST: &str = "ip.dst";
}

/// One observed value and where it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub location: &'static str,
    pub value: IpAddr,
}

/// The address observations of a decoded frame (none without an IP layer).
#[inline]
pub fn packet_addresses(d: &Decoded<'_>) -> Option<[Observation; 2]> {
    let ip = d.ip.as_ref()?;
    Some([
        Observation {
            location: location::IP_SRC,
            value: ip.src,
        },
        Observation {
            location: location::IP_DST,
            value: ip.dst,
        },
    ])
}
