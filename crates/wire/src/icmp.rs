//! ICMP (RFC 792) and ICMPv6 (RFC 4443) type/code header.

use crate::be16;
use crate::error::{DecodeError, Layer, Result};

pub const HEADER_LEN: usize = 4;

/// A view over the first 4 bytes of an ICMP or ICMPv6 message.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    buf: &'a [u8],
}

impl<'a> Message<'a> {
    pub fn new_checked(buf: &'a [u8], layer: Layer) -> Result<Self> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::Truncated(layer));
        }
        Ok(Message { buf })
    }
    pub fn msg_type(&self) -> u8 {
        self.buf[0]
    }
    pub fn code(&self) -> u8 {
        self.buf[1]
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buf, 2)
    }
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[HEADER_LEN..]
    }
}
