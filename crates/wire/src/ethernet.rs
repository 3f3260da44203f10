//! Ethernet II / 802.3 frames and 802.1Q / 802.1ad tags.

use crate::be16;
use crate::error::{DecodeError, Layer, Result};

pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ tag types still seen on old switches.
    pub const QINQ_OLD1: u16 = 0x9100;
    pub const QINQ_OLD2: u16 = 0x9200;
    pub const IPV6: u16 = 0x86dd;
    pub const MPLS_UC: u16 = 0x8847;
    pub const MPLS_MC: u16 = 0x8848;
    pub const PPPOE_SESSION: u16 = 0x8864;

    pub const fn is_vlan(t: u16) -> bool {
        matches!(t, VLAN | QINQ | QINQ_OLD1 | QINQ_OLD2)
    }
}

pub const HEADER_LEN: usize = 14;

/// A view over an Ethernet frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    buf: &'a [u8],
}

impl<'a> Frame<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::Truncated(Layer::Ethernet));
        }
        Ok(Frame { buf })
    }

    pub fn dst(&self) -> [u8; 6] {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buf[0..6]);
        m
    }

    pub fn src(&self) -> [u8; 6] {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buf[6..12]);
        m
    }

    /// The type/length field: an ethertype when >= 0x0600, else an 802.3 length.
    pub fn type_or_len(&self) -> u16 {
        be16(self.buf, 12)
    }

    pub fn payload(&self) -> &'a [u8] {
        &self.buf[HEADER_LEN..]
    }
}

/// A view over one 802.1Q/802.1ad tag (the 4 bytes after the tag's TPID).
#[derive(Debug, Clone, Copy)]
pub struct VlanTag<'a> {
    buf: &'a [u8],
}

impl<'a> VlanTag<'a> {
    pub const LEN: usize = 4;

    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < Self::LEN {
            return Err(DecodeError::Truncated(Layer::Vlan));
        }
        Ok(VlanTag { buf })
    }

    pub fn tci(&self) -> u16 {
        be16(self.buf, 0)
    }
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0fff
    }
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }
    pub fn inner_type(&self) -> u16 {
        be16(self.buf, 2)
    }
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[Self::LEN..]
    }
}

/// An 802.2 LLC header with a SNAP extension carrying an ethertype
/// (`AA AA 03 OUI(3) TYPE(2)`), as found in 802.3 frames. Returns the
/// ethertype and payload, or None for other LLC frames (STP, IPX, ...).
pub fn llc_snap(buf: &[u8]) -> Option<(u16, &[u8])> {
    match buf {
        [0xaa, 0xaa, 0x03, _, _, _, t0, t1, rest @ ..] => Some((u16::from_be_bytes([*t0, *t1]), rest)),
        _ => None,
    }
}

/// PPPoE session header (6 bytes) plus the 2-byte PPP protocol; returns the
/// equivalent ethertype for IPv4/IPv6 payloads.
pub fn pppoe_session(buf: &[u8]) -> Result<(Option<u16>, &[u8])> {
    if buf.len() < 8 {
        return Err(DecodeError::Truncated(Layer::Pppoe));
    }
    let ty = match be16(buf, 6) {
        0x0021 => Some(ethertype::IPV4),
        0x0057 => Some(ethertype::IPV6),
        _ => None,
    };
    Ok((ty, &buf[8..]))
}
