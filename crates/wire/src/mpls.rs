//! MPLS label stack entries (RFC 3032).

use crate::be32;
use crate::error::{DecodeError, Layer, Result};

/// A view over one 4-byte label stack entry.
#[derive(Debug, Clone, Copy)]
pub struct LabelEntry<'a> {
    buf: &'a [u8],
}

impl<'a> LabelEntry<'a> {
    pub const LEN: usize = 4;

    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < Self::LEN {
            return Err(DecodeError::Truncated(Layer::Mpls));
        }
        Ok(LabelEntry { buf })
    }
    fn word(&self) -> u32 {
        be32(self.buf, 0)
    }
    pub fn label(&self) -> u32 {
        self.word() >> 12
    }
    pub fn bottom_of_stack(&self) -> bool {
        self.word() & 0x100 != 0
    }
    pub fn ttl(&self) -> u8 {
        self.word() as u8
    }
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[Self::LEN..]
    }
}
