//! IPv6 fixed header (RFC 8200) and the extension-header walk.

use crate::error::{DecodeError, Layer, Result};
use crate::ip::protocol;
use crate::{be16, be32};
use core::net::Ipv6Addr;

pub const HEADER_LEN: usize = 40;
/// Extension headers followed before giving up (RFC 8200 limits none; real
/// traffic rarely has more than 3).
pub const MAX_EXT_HEADERS: usize = 16;

/// A view over an IPv6 packet whose fixed header is captured.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::Truncated(Layer::Ipv6));
        }
        let p = Packet { buf };
        if p.version() != 6 {
            return Err(DecodeError::BadVersion(Layer::Ipv6));
        }
        Ok(p)
    }

    pub fn version(&self) -> u8 {
        self.buf[0] >> 4
    }
    pub fn traffic_class(&self) -> u8 {
        ((be16(self.buf, 0) >> 4) & 0xff) as u8
    }
    pub fn flow_label(&self) -> u32 {
        be32(self.buf, 0) & 0x000f_ffff
    }
    pub fn payload_len(&self) -> u16 {
        be16(self.buf, 4)
    }
    pub fn next_header(&self) -> u8 {
        self.buf[6]
    }
    pub fn hop_limit(&self) -> u8 {
        self.buf[7]
    }
    pub fn src_bytes(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buf[8..24]);
        a
    }
    pub fn dst_bytes(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.buf[24..40]);
        a
    }
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.src_bytes())
    }
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.dst_bytes())
    }
    /// Everything after the fixed header, cut at the payload length when
    /// that is nonzero (zero means a jumbogram or an unknown length).
    pub fn payload(&self) -> &'a [u8] {
        let rest = &self.buf[HEADER_LEN..];
        match self.payload_len() as usize {
            0 => rest,
            n => &rest[..n.min(rest.len())],
        }
    }
}

/// Where the extension-header walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer<'a> {
    /// The upper-layer protocol (or 59 "no next header", 50 ESP).
    pub protocol: u8,
    pub payload: &'a [u8],
    /// Set when a fragment header was walked.
    pub fragment: Option<FragmentHeader>,
    pub ext_headers: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentHeader {
    /// Offset in bytes.
    pub offset: u16,
    pub more: bool,
    pub ident: u32,
}

/// Walks hop-by-hop, routing, fragment, destination-options, AH, mobility,
/// HIP and shim6 headers. Stops at the first non-first fragment (its next
/// header is not the start of an upper-layer header).
pub fn walk_extensions(first: u8, mut buf: &[u8]) -> Result<UpperLayer<'_>> {
    let mut next = first;
    let mut fragment = None;
    let mut count = 0u8;
    loop {
        let len = match next {
            protocol::HOPOPT
            | protocol::ROUTING
            | protocol::DSTOPTS
            | protocol::MOBILITY
            | protocol::HIP
            | protocol::SHIM6 => {
                if buf.len() < 2 {
                    return Err(DecodeError::Truncated(Layer::Ipv6Ext));
                }
                (buf[1] as usize + 1) * 8
            }
            protocol::AH => {
                if buf.len() < 2 {
                    return Err(DecodeError::Truncated(Layer::Ipv6Ext));
                }
                (buf[1] as usize + 2) * 4
            }
            protocol::FRAGMENT => {
                if buf.len() < 8 {
                    return Err(DecodeError::Truncated(Layer::Ipv6Ext));
                }
                let word = be16(buf, 2);
                let frag = FragmentHeader { offset: word & 0xfff8, more: word & 1 != 0, ident: be32(buf, 4) };
                fragment = Some(frag);
                if frag.offset != 0 {
                    return Ok(UpperLayer { protocol: buf[0], payload: &buf[8..], fragment, ext_headers: count + 1 });
                }
                8
            }
            _ => {
                return Ok(UpperLayer { protocol: next, payload: buf, fragment, ext_headers: count });
            }
        };
        if count as usize >= MAX_EXT_HEADERS {
            return Err(DecodeError::TooDeep(Layer::Ipv6Ext));
        }
        if buf.len() < len {
            return Err(DecodeError::BadHeaderLength(Layer::Ipv6Ext));
        }
        next = buf[0];
        buf = &buf[len..];
        count += 1;
    }
}
