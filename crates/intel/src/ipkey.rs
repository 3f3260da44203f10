//! Addresses and prefixes as indicators carry them.

use core::net::IpAddr;

/// A parsed address or prefix as indicators carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpKey {
    V4(u32, u8),
    V6(u128, u8),
}

impl IpKey {
    /// Parses `192.0.2.1`, `192.0.2.0/24`, `2001:db8::/32`. Host bits set
    /// in a prefix are masked off (what ipset and Zeek do).
    pub fn parse(s: &str) -> Option<IpKey> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => {
                if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (a, Some(l.parse::<u8>().ok()?))
            }
            None => (s, None),
        };
        // Brackets appear around IPv6 in some feeds.
        let addr = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(addr);
        match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => {
                let len = len.unwrap_or(32);
                (len <= 32).then(|| IpKey::V4(crate::lpm::Key::mask(u32::from(a), len), len))
            }
            IpAddr::V6(a) => {
                let len = len.unwrap_or(128);
                // An IPv4-mapped address is the IPv4 address.
                if let Some(v4) = a.to_ipv4_mapped().filter(|_| len == 128) {
                    return Some(IpKey::V4(u32::from(v4), 32));
                }
                (len <= 128).then(|| IpKey::V6(crate::lpm::Key::mask(u128::from(a), len), len))
            }
        }
    }

    pub fn is_host(&self) -> bool {
        matches!(self, IpKey::V4(_, 32) | IpKey::V6(_, 128))
    }

    /// Whether `addr` is this address or inside this prefix (IPv4-mapped
    /// IPv6 addresses count as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        use crate::lpm::Key;
        match (*self, addr.to_canonical()) {
            (IpKey::V4(net, len), IpAddr::V4(a)) => u32::mask(u32::from(a), len) == net,
            (IpKey::V6(net, len), IpAddr::V6(a)) => u128::mask(u128::from(a), len) == net,
            _ => false,
        }
    }
}

impl core::fmt::Display for IpKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            IpKey::V4(a, 32) => write!(f, "{}", core::net::Ipv4Addr::from(a)),
            IpKey::V4(a, l) => write!(f, "{}/{l}", core::net::Ipv4Addr::from(a)),
            IpKey::V6(a, 128) => write!(f, "{}", core::net::Ipv6Addr::from(a)),
            IpKey::V6(a, l) => write!(f, "{}/{l}", core::net::Ipv6Addr::from(a)),
        }
    }
}

/// An address as one 128-bit key (IPv4 as IPv4-mapped IPv6), for tables
/// that hold both families.
pub fn addr_key(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Splits `1.2.3.4:80` / `[2001:db8::1]:443` into address and port.
pub fn parse_ip_port(s: &str) -> Option<(IpAddr, u16)> {
    let s = s.trim();
    let (host, port) = s.rsplit_once(':')?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if host.contains(':') && !s.starts_with('[') {
        return None; // a bare IPv6 address, not address:port
    }
    Some((host.parse().ok()?, port.parse().ok()?))
}
