//! UDP header (RFC 768).

use crate::be16;
use crate::error::{DecodeError, Layer, Result};

pub const HEADER_LEN: usize = 8;

/// A view over a UDP datagram whose header is captured.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    buf: &'a [u8],
}

impl<'a> Datagram<'a> {
    /// A length field below 8 is an error; one beyond the capture is snaplen
    /// truncation (payload cut at what was captured). Zero is allowed: it is
    /// what IPv6 jumbograms carry.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::Truncated(Layer::Udp));
        }
        let d = Datagram { buf };
        let len = d.len();
        if len != 0 && (len as usize) < HEADER_LEN {
            return Err(DecodeError::BadLength(Layer::Udp));
        }
        Ok(d)
    }
    pub fn src_port(&self) -> u16 {
        be16(self.buf, 0)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.buf, 2)
    }
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        be16(self.buf, 4)
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buf, 6)
    }
    /// True when the length field claims more than the IP payload holds.
    pub fn is_length_beyond_capture(&self) -> bool {
        self.len() as usize > self.buf.len()
    }
    pub fn payload(&self) -> &'a [u8] {
        let end = match self.len() as usize {
            0 => self.buf.len(),
            n => n.min(self.buf.len()),
        };
        &self.buf[HEADER_LEN..end]
    }
}
