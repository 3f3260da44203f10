//! TCP header (RFC 9293).

use crate::error::{DecodeError, Layer, Result};
use crate::{be16, be32};

pub const MIN_HEADER_LEN: usize = 20;

pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// A view over a TCP segment whose fixed header is captured. Options may be
/// cut by the snaplen; `payload` is then empty.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    buf: &'a [u8],
}

impl<'a> Segment<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < MIN_HEADER_LEN {
            return Err(DecodeError::Truncated(Layer::Tcp));
        }
        let s = Segment { buf };
        if s.header_len() < MIN_HEADER_LEN {
            return Err(DecodeError::BadHeaderLength(Layer::Tcp));
        }
        Ok(s)
    }
    pub fn src_port(&self) -> u16 {
        be16(self.buf, 0)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.buf, 2)
    }
    pub fn seq(&self) -> u32 {
        be32(self.buf, 4)
    }
    pub fn ack(&self) -> u32 {
        be32(self.buf, 8)
    }
    pub fn header_len(&self) -> usize {
        ((self.buf[12] >> 4) as usize) * 4
    }
    pub fn flags(&self) -> u8 {
        self.buf[13]
    }
    pub fn window(&self) -> u16 {
        be16(self.buf, 14)
    }
    pub fn payload(&self) -> &'a [u8] {
        self.buf.get(self.header_len()..).unwrap_or(&[])
    }
}
