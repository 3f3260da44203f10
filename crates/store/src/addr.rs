//! Sortable 16-byte address form: IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so that a CIDR
//! (v4 or v6) is one contiguous range of BLOBs (SQLite compares BLOBs with memcmp).

use std::net::{IpAddr, Ipv6Addr};

use crate::StoreError;

/// 16-byte key of an address; IPv4-mapped IPv6 addresses map to the same key as the IPv4 address.
pub fn addr_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Key of a textual address, `None` when it is not an address.
pub fn parse_addr_key(s: &str) -> Option<[u8; 16]> {
    s.parse::<IpAddr>().ok().map(addr_key)
}

/// Inclusive key range `[lo, hi]` of a CIDR (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128).
/// Host bits set in the address are ignored (`10.1.2.3/8` = `10.0.0.0/8`).
pub fn cidr_range(s: &str) -> Result<([u8; 16], [u8; 16]), StoreError> {
    let bad = |why: &str| StoreError::BadRequest(format!("bad cidr {s:?}: {why}"));
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().map_err(|_| bad("prefix length is not a number"))?)),
        None => (s, None),
    };
    let ip: IpAddr = a.trim().parse().map_err(|_| bad("not an IPv4 or IPv6 address"))?;
    let bits: u32 = match (ip, len) {
        (IpAddr::V4(_), Some(l)) if l > 32 => return Err(bad("IPv4 prefix length over 32")),
        (IpAddr::V6(_), Some(l)) if l > 128 => return Err(bad("IPv6 prefix length over 128")),
        (IpAddr::V4(_), l) => 96 + u32::from(l.unwrap_or(32)),
        (IpAddr::V6(_), l) => u32::from(l.unwrap_or(128)),
    };
    let v = u128::from_be_bytes(addr_key(ip));
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
    let lo = v & mask;
    let hi = lo | !mask;
    Ok((lo.to_be_bytes(), hi.to_be_bytes()))
}

/// Text form of a key (IPv4-mapped keys shown as IPv4).
pub fn key_to_string(k: &[u8; 16]) -> String {
    let v6 = Ipv6Addr::from(*k);
    match v6.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => v6.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let (lo, hi) = cidr_range("10.1.2.3/8").unwrap();
        assert_eq!(key_to_string(&lo), "10.0.0.0");
        assert_eq!(key_to_string(&hi), "10.255.255.255");
        let k = parse_addr_key("10.200.0.1").unwrap();
        assert!(lo <= k && k <= hi);
        assert_eq!(parse_addr_key("::ffff:10.200.0.1"), Some(k));
        let (lo, hi) = cidr_range("2001:db8::/32").unwrap();
        assert_eq!(key_to_string(&lo), "2001:db8::");
        assert_eq!(key_to_string(&hi), "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
        let (lo, hi) = cidr_range("0.0.0.0/0").unwrap();
        assert_eq!((key_to_string(&lo).as_str(), key_to_string(&hi).as_str()), ("0.0.0.0", "255.255.255.255"));
        assert_eq!(cidr_range("::/0").unwrap(), ([0; 16], [0xff; 16]));
        assert_eq!(cidr_range("192.0.2.7").unwrap().0, cidr_range("192.0.2.7").unwrap().1);
        for bad in ["10.0.0.0/33", "::/129", "10.0.0/8", "x/8", "10.0.0.0/", "10.0.0.0/-1"] {
            assert!(matches!(cidr_range(bad), Err(StoreError::BadRequest(_))), "{bad}");
        }
    }
}
