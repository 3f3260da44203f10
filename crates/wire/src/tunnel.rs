//! Encapsulations the decoder looks through: GRE (RFC 2784/2890, with
//! ERSPAN type II/III), VXLAN (RFC 7348) and IP-in-IP (protocols 4 and 41).

use crate::be16;
use crate::error::{DecodeError, Layer, Result};

/// UDP port of VXLAN.
pub const VXLAN_PORT: u16 = 4789;

/// Which encapsulation was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    IpInIp,
    Gre,
    Erspan,
    Vxlan,
}

impl Kind {
    pub const fn name(self) -> &'static str {
        match self {
            Kind::IpInIp => "ipip",
            Kind::Gre => "gre",
            Kind::Erspan => "erspan",
            Kind::Vxlan => "vxlan",
        }
    }
}

/// What a GRE packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreInner<'a> {
    /// An ethertype-identified payload (IPv4, IPv6, MPLS, transparent
    /// Ethernet bridging 0x6558).
    Ethertype(u16, &'a [u8]),
    /// An Ethernet frame after an ERSPAN header.
    ErspanEthernet(&'a [u8]),
    /// Something we do not look into (PPTP's enhanced GRE, WCCP, ...).
    Other,
}

/// Parses a GRE header (version 0). Optional checksum, key and sequence
/// fields are skipped according to their flag bits.
pub fn parse_gre(buf: &[u8]) -> Result<GreInner<'_>> {
    if buf.len() < 4 {
        return Err(DecodeError::Truncated(Layer::Gre));
    }
    let flags = be16(buf, 0);
    if flags & 0x0007 != 0 {
        // Version 1 is PPTP's enhanced GRE (PPP inside).
        return Ok(GreInner::Other);
    }
    let proto = be16(buf, 2);
    let mut len = 4;
    for bit in [0x8000u16, 0x2000, 0x1000] {
        if flags & bit != 0 {
            len += 4;
        }
    }
    let Some(rest) = buf.get(len..) else {
        return Err(DecodeError::Truncated(Layer::Gre));
    };
    match proto {
        // ERSPAN type II: 8-byte header. Type III: 12 bytes, plus an 8-byte
        // platform subheader when its O bit is set.
        0x88be => rest.get(8..).map(GreInner::ErspanEthernet).ok_or(DecodeError::Truncated(Layer::Gre)),
        0x22eb => {
            let Some(h) = rest.get(..12) else {
                return Err(DecodeError::Truncated(Layer::Gre));
            };
            let skip = if h[11] & 0x01 != 0 { 20 } else { 12 };
            rest.get(skip..).map(GreInner::ErspanEthernet).ok_or(DecodeError::Truncated(Layer::Gre))
        }
        _ => Ok(GreInner::Ethertype(proto, rest)),
    }
}

/// Parses a VXLAN header; returns the inner Ethernet frame when the VNI
/// flag is set.
pub fn parse_vxlan(buf: &[u8]) -> Result<Option<&[u8]>> {
    if buf.len() < 8 {
        return Err(DecodeError::Truncated(Layer::Vxlan));
    }
    Ok((buf[0] & 0x08 != 0).then(|| &buf[8..]))
}
