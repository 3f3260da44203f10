//! The compiled, immutable indicator set.

use crate::lpm::Lpm;
use crate::model::{Indicator, IndicatorId, IndicatorType};
use core::net::IpAddr;
use foldhash::fast::FixedState;
use hashbrown::HashMap;

type FastMap<K, V> = HashMap<K, V, FixedState>;

/// Several indicators can share one key (the same address listed by two
/// feeds); a group is their run in `members`.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: u32,
    len: u32,
}

/// Collects indicators, then compiles them into an [`IndicatorSet`].
#[derive(Debug, Default)]
pub struct SetBuilder {
    indicators: Vec<Indicator>,
    exact_v4: Vec<(u32, IndicatorId)>,
    exact_v6: Vec<(u128, IndicatorId)>,
    cidr_v4: Vec<(u32, u8, IndicatorId)>,
    cidr_v6: Vec<(u128, u8, IndicatorId)>,
}

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

impl SetBuilder {
    pub fn new() -> Self {
        SetBuilder::default()
    }

    /// Adds an indicator whose value has already been validated. IP and CIDR
    /// values go to the address tables; an `ip` value that is a prefix (or a
    /// `cidr` that is a single host) is filed by what it is, not by its label.
    pub fn add(&mut self, indicator: Indicator, key: Option<IpKey>) -> IndicatorId {
        let id = self.indicators.len() as IndicatorId;
        match key {
            Some(IpKey::V4(a, 32)) => self.exact_v4.push((a, id)),
            Some(IpKey::V6(a, 128)) => self.exact_v6.push((a, id)),
            Some(IpKey::V4(a, l)) => self.cidr_v4.push((a, l, id)),
            Some(IpKey::V6(a, l)) => self.cidr_v6.push((a, l, id)),
            None => {}
        }
        self.indicators.push(indicator);
        id
    }

    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    pub fn build(self) -> IndicatorSet {
        let mut members = Vec::with_capacity(self.indicators.len());
        let mut groups = Vec::new();
        let mut present_v4 = Presence::new();
        self.exact_v4.iter().for_each(|e| present_v4.insert(e.0));
        let mut present_v6 = Presence::new();
        self.exact_v6.iter().for_each(|e| present_v6.insert(Presence::v6_key(e.0)));
        let exact_v4 = group_exact(self.exact_v4, &mut members, &mut groups);
        let exact_v6 = group_exact(self.exact_v6, &mut members, &mut groups);
        let cidr_v4 = Lpm::build(group_prefixes(self.cidr_v4, &mut members, &mut groups));
        let cidr_v6 = Lpm::build(group_prefixes(self.cidr_v6, &mut members, &mut groups));
        members.shrink_to_fit();
        groups.shrink_to_fit();
        let mut counts = [0usize; 8];
        for i in &self.indicators {
            counts[i.kind as usize] += 1;
        }
        IndicatorSet {
            indicators: self.indicators,
            members,
            groups,
            present_v4,
            exact_v4,
            present_v6,
            exact_v6,
            cidr_v4,
            cidr_v6,
            counts,
        }
    }
}

fn push_group(ids: impl Iterator<Item = IndicatorId>, members: &mut Vec<IndicatorId>, groups: &mut Vec<Group>) -> u32 {
    let start = members.len() as u32;
    members.extend(ids);
    groups.push(Group { start, len: members.len() as u32 - start });
    (groups.len() - 1) as u32
}

fn group_exact<K: Copy + Ord + core::hash::Hash + Eq>(
    mut entries: Vec<(K, IndicatorId)>,
    members: &mut Vec<IndicatorId>,
    groups: &mut Vec<Group>,
) -> FastMap<K, u32> {
    entries.sort_unstable();
    let mut map = FastMap::with_capacity_and_hasher(entries.len(), FixedState::default());
    for run in entries.chunk_by(|a, b| a.0 == b.0) {
        let g = push_group(run.iter().map(|e| e.1), members, groups);
        map.insert(run[0].0, g);
    }
    map
}

fn group_prefixes<K: Copy + Ord>(
    mut entries: Vec<(K, u8, IndicatorId)>,
    members: &mut Vec<IndicatorId>,
    groups: &mut Vec<Group>,
) -> Vec<(K, u8, u32)> {
    entries.sort_unstable();
    entries
        .chunk_by(|a, b| a.0 == b.0 && a.1 == b.1)
        .map(|run| (run[0].0, run[0].1, push_group(run.iter().map(|e| e.2), members, groups)))
        .collect()
}

/// One bit per IPv4 /24 (2 MiB): "is any exact IPv4 indicator in this /24?"
/// Most traffic is not listed, and this answer fits in cache where the hash
/// map (tens of MiB at millions of entries) does not.
#[derive(Debug, Clone)]
struct Presence {
    bits: Vec<u64>,
}

impl Presence {
    const BITS: u32 = 24;

    fn new() -> Self {
        Presence { bits: vec![0; 1 << (Self::BITS - 6)] }
    }

    #[inline]
    fn slot(key: u32) -> (usize, u64) {
        let k = (key >> (32 - Self::BITS)) as usize;
        (k >> 6, 1u64 << (k & 63))
    }

    fn insert(&mut self, key: u32) {
        let (w, b) = Self::slot(key);
        self.bits[w] |= b;
    }

    #[inline]
    fn may_contain(&self, key: u32) -> bool {
        let (w, b) = Self::slot(key);
        self.bits[w] & b != 0
    }

    /// The key for an IPv6 address: a hash of its top 64 bits (the /64),
    /// folded to 32 bits.
    #[inline]
    fn v6_key(a: u128) -> u32 {
        let h = ((a >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 32) as u32
    }
}

/// Where an address matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpMatchKind {
    Exact,
    Prefix,
}

/// The compiled indicator set: immutable, shareable across threads, and
/// queried without allocation.
#[derive(Debug)]
pub struct IndicatorSet {
    indicators: Vec<Indicator>,
    members: Vec<IndicatorId>,
    groups: Vec<Group>,
    present_v4: Presence,
    exact_v4: FastMap<u32, u32>,
    present_v6: Presence,
    exact_v6: FastMap<u128, u32>,
    cidr_v4: Lpm<u32>,
    cidr_v6: Lpm<u128>,
    counts: [usize; 8],
}

impl Default for IndicatorSet {
    fn default() -> Self {
        SetBuilder::new().build()
    }
}

impl IndicatorSet {
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    pub fn count(&self, kind: IndicatorType) -> usize {
        self.counts[kind as usize]
    }

    pub fn get(&self, id: IndicatorId) -> &Indicator {
        &self.indicators[id as usize]
    }

    fn members(&self, group: u32) -> &[IndicatorId] {
        let g = self.groups[group as usize];
        &self.members[g.start as usize..(g.start + g.len) as usize]
    }

    /// The indicators of the most specific entry covering `addr`: an exact
    /// address entry, else the longest matching prefix. Empty when none.
    #[inline]
    pub fn match_ip(&self, addr: IpAddr) -> (&[IndicatorId], IpMatchKind) {
        match addr {
            IpAddr::V4(a) => self.match_v4(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.match_v4(u32::from(v4)),
                None => self.match_v6(u128::from(a)),
            },
        }
    }

    #[inline]
    pub fn match_v4(&self, a: u32) -> (&[IndicatorId], IpMatchKind) {
        if self.present_v4.may_contain(a)
            && let Some(&g) = self.exact_v4.get(&a)
        {
            return (self.members(g), IpMatchKind::Exact);
        }
        match self.cidr_v4.lookup(a) {
            Some(g) => (self.members(g), IpMatchKind::Prefix),
            None => (&[], IpMatchKind::Prefix),
        }
    }

    #[inline]
    pub fn match_v6(&self, a: u128) -> (&[IndicatorId], IpMatchKind) {
        if self.present_v6.may_contain(Presence::v6_key(a))
            && let Some(&g) = self.exact_v6.get(&a)
        {
            return (self.members(g), IpMatchKind::Exact);
        }
        match self.cidr_v6.lookup(a) {
            Some(g) => (self.members(g), IpMatchKind::Prefix),
            None => (&[], IpMatchKind::Prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ind(id: &str, kind: IndicatorType, value: &str) -> Indicator {
        Indicator {
            id: id.into(),
            kind,
            value: value.into(),
            threat_type: None,
            feed: Arc::from("t"),
            confidence: None,
        }
    }

    #[test]
    fn parses_addresses_and_prefixes() {
        assert_eq!(IpKey::parse("192.0.2.1"), Some(IpKey::V4(0xc000_0201, 32)));
        assert_eq!(IpKey::parse(" 192.0.2.77/24 "), Some(IpKey::V4(0xc000_0200, 24)));
        assert_eq!(IpKey::parse("::ffff:192.0.2.1"), Some(IpKey::V4(0xc000_0201, 32)));
        assert_eq!(IpKey::parse("[2001:db8::1]"), Some(IpKey::V6(0x2001_0db8 << 96 | 1, 128)));
        for bad in
            ["", "300.1.2.3", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "2001:db8::/129", "example.com", "1.2.3"]
        {
            assert_eq!(IpKey::parse(bad), None, "{bad}");
        }
        assert_eq!(IpKey::parse("2001:db8::/32").unwrap().to_string(), "2001:db8::/32");
    }

    #[test]
    fn exact_beats_prefix_and_duplicates_all_report() {
        let mut b = SetBuilder::new();
        for (id, v) in
            [("a", "10.0.0.0/8"), ("b", "10.1.0.0/16"), ("c", "10.1.2.3"), ("d", "10.1.2.3"), ("e", "2001:db8::/32")]
        {
            let k = IpKey::parse(v).unwrap();
            b.add(ind(id, if k.is_host() { IndicatorType::Ip } else { IndicatorType::Cidr }, v), Some(k));
        }
        let set = b.build();
        let names = |addr: &str| -> Vec<&str> {
            set.match_ip(addr.parse().unwrap()).0.iter().map(|i| &*set.get(*i).id).collect()
        };
        assert_eq!(names("10.1.2.3"), ["c", "d"]);
        assert_eq!(names("10.1.2.4"), ["b"]);
        assert_eq!(names("10.2.0.1"), ["a"]);
        assert_eq!(names("11.0.0.1"), Vec::<&str>::new());
        assert_eq!(names("2001:db8:1::5"), ["e"]);
        assert_eq!(names("::ffff:10.1.2.3"), ["c", "d"]);
        assert_eq!(set.count(IndicatorType::Cidr), 3);
    }
}
