//! Zero-copy views over link, network and transport headers.
//!
//! Each protocol module follows smoltcp's `wire` style: a view type wrapping
//! `&[u8]` with a checked constructor (`new_checked`) and field accessors that
//! cannot read out of bounds once the constructor succeeded. [`decode`] walks
//! a whole frame, layer by layer, into a flat [`Decoded`] summary without
//! allocating. Nothing here does I/O.

pub mod dns;
pub mod error;
pub mod ethernet;
pub mod http;
pub mod icmp;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod mpls;
pub mod null;
pub mod packet;
pub mod sll;
pub mod smtp;
pub mod tcp;
pub mod tls;
pub mod tunnel;
pub mod udp;

pub use error::{DecodeError, Layer};
pub use link::LinkType;
pub use packet::{Decoded, Fragment, FragmentInfo, Transport, decode};

/// Big-endian reads at a known-valid offset. Callers check lengths first;
/// `get` keeps these panic-free even if a caller got an offset wrong (a
/// short slice reads as 0). Shared with the flow decoders.
#[inline(always)]
pub fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

#[inline(always)]
pub fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}
