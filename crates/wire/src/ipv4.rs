//! IPv4 header (RFC 791).

use crate::error::{DecodeError, Layer, Result};
use crate::{be16, be32};
use core::net::Ipv4Addr;

pub const MIN_HEADER_LEN: usize = 20;

/// A view over an IPv4 packet whose header (IHL honoured) is fully captured.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Checks version, IHL and that the header is captured. A total length
    /// larger than the capture is snaplen truncation and is allowed; one
    /// smaller than the header is not.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < MIN_HEADER_LEN {
            return Err(DecodeError::Truncated(Layer::Ipv4));
        }
        let p = Packet { buf };
        if p.version() != 4 {
            return Err(DecodeError::BadVersion(Layer::Ipv4));
        }
        let hl = p.header_len();
        if hl < MIN_HEADER_LEN {
            return Err(DecodeError::BadHeaderLength(Layer::Ipv4));
        }
        if buf.len() < hl {
            return Err(DecodeError::Truncated(Layer::Ipv4));
        }
        if (p.total_len() as usize) < hl {
            return Err(DecodeError::BadLength(Layer::Ipv4));
        }
        Ok(p)
    }

    pub fn version(&self) -> u8 {
        self.buf[0] >> 4
    }
    pub fn header_len(&self) -> usize {
        ((self.buf[0] & 0x0f) as usize) * 4
    }
    pub fn dscp_ecn(&self) -> u8 {
        self.buf[1]
    }
    pub fn total_len(&self) -> u16 {
        be16(self.buf, 2)
    }
    pub fn ident(&self) -> u16 {
        be16(self.buf, 4)
    }
    pub fn dont_frag(&self) -> bool {
        self.buf[6] & 0x40 != 0
    }
    pub fn more_frags(&self) -> bool {
        self.buf[6] & 0x20 != 0
    }
    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (be16(self.buf, 6) & 0x1fff) << 3
    }
    pub fn ttl(&self) -> u8 {
        self.buf[8]
    }
    pub fn protocol(&self) -> u8 {
        self.buf[9]
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buf, 10)
    }
    pub fn src_u32(&self) -> u32 {
        be32(self.buf, 12)
    }
    pub fn dst_u32(&self) -> u32 {
        be32(self.buf, 16)
    }
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.src_u32())
    }
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.dst_u32())
    }
    /// The payload as captured, cut at the total length when the frame has
    /// trailing padding (Ethernet minimum size).
    pub fn payload(&self) -> &'a [u8] {
        let end = (self.total_len() as usize).min(self.buf.len());
        &self.buf[self.header_len()..end]
    }
}
