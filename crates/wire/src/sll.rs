//! Linux "cooked" capture headers, v1 (LINKTYPE_LINUX_SLL) and v2
//! (LINKTYPE_LINUX_SLL2).

use crate::be16;
use crate::error::{DecodeError, Layer, Result};

/// ARPHRD types whose protocol field is not an ethertype.
const ARPHRD_NETLINK: u16 = 824;

/// A decoded cooked header: the ethertype it carries, the link-layer source
/// address when it is a 6-byte MAC, and the payload.
#[derive(Debug, Clone, Copy)]
pub struct Cooked<'a> {
    pub protocol: u16,
    pub arphrd: u16,
    pub packet_type: u16,
    pub src_mac: Option<[u8; 6]>,
    pub payload: &'a [u8],
}

fn mac(addr_len: u16, addr: &[u8]) -> Option<[u8; 6]> {
    if addr_len == 6 {
        let mut m = [0; 6];
        m.copy_from_slice(&addr[..6]);
        Some(m)
    } else {
        None
    }
}

/// SLL v1: type(2) arphrd(2) addr_len(2) addr(8) protocol(2).
pub fn parse_sll(buf: &[u8]) -> Result<Cooked<'_>> {
    if buf.len() < 16 {
        return Err(DecodeError::Truncated(Layer::Sll));
    }
    let arphrd = be16(buf, 2);
    Ok(Cooked {
        packet_type: be16(buf, 0),
        arphrd,
        src_mac: mac(be16(buf, 4), &buf[6..14]),
        protocol: if arphrd == ARPHRD_NETLINK { 0 } else { be16(buf, 14) },
        payload: &buf[16..],
    })
}

/// SLL v2: protocol(2) reserved(2) ifindex(4) arphrd(2) type(1) addr_len(1) addr(8).
pub fn parse_sll2(buf: &[u8]) -> Result<Cooked<'_>> {
    if buf.len() < 20 {
        return Err(DecodeError::Truncated(Layer::Sll2));
    }
    let arphrd = be16(buf, 8);
    Ok(Cooked {
        protocol: if arphrd == ARPHRD_NETLINK { 0 } else { be16(buf, 0) },
        arphrd,
        packet_type: buf[10] as u16,
        src_mac: mac(buf[11] as u16, &buf[12..20]),
        payload: &buf[20..],
    })
}
