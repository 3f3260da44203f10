//! BSD loopback encapsulation: a 4-byte address family, in the capturing
//! host's byte order (NULL) or network order (LOOP).

use crate::error::{DecodeError, Layer, Result};

/// The IP version carried, from the family value. IPv6 has a different
/// AF_INET6 on each BSD (24, 28, 30) and Linux (10).
pub fn family_to_version(family: u32) -> Option<u8> {
    match family {
        2 => Some(4),
        10 | 24 | 28 | 30 => Some(6),
        _ => None,
    }
}

/// Parses a NULL header; the byte order is guessed as libpcap does: a family
/// with nonzero upper 16 bits was written in the other byte order.
pub fn parse_null(buf: &[u8]) -> Result<(u8, &[u8])> {
    let Some(h) = buf.get(..4) else {
        return Err(DecodeError::Truncated(Layer::Null));
    };
    let mut family = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    if family & 0xffff_0000 != 0 {
        family = family.swap_bytes();
    }
    let v = family_to_version(family).ok_or(DecodeError::UnknownFamily)?;
    Ok((v, &buf[4..]))
}

/// Parses a LOOP header (network byte order).
pub fn parse_loop(buf: &[u8]) -> Result<(u8, &[u8])> {
    let Some(h) = buf.get(..4) else {
        return Err(DecodeError::Truncated(Layer::Null));
    };
    let family = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let v = family_to_version(family).ok_or(DecodeError::UnknownFamily)?;
    Ok((v, &buf[4..]))
}
