//! The compiled, immutable indicator set.

use crate::allow::{AllowBuilder, Allowlist};
pub use crate::ipkey::IpKey;
use crate::ipkey::addr_key;
use crate::lpm::Lpm;
use crate::model::{Indicator, IndicatorId, IndicatorType};
use crate::normalize;
use crate::presence::Presence;
use crate::store::{IndicatorStore, IndicatorView};
use crate::textmap::{TextHit, TextMap, key_hash};
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
    store: IndicatorStore,
    exact_v4: Vec<(u32, IndicatorId)>,
    exact_v6: Vec<(u128, IndicatorId)>,
    cidr_v4: Vec<(u32, u8, IndicatorId)>,
    cidr_v6: Vec<(u128, u8, IndicatorId)>,
    ip_ports: Vec<((u128, u16), IndicatorId)>,
    /// Domains, URLs, e-mails and hashes by their normalized value.
    /// (hash of the normalized value, indicator), per text table.
    texts: [Vec<(u64, IndicatorId)>; 4],
    /// Hashes of the last two labels of every domain indicator.
    domain_roots: Vec<u64>,
    /// A single-label domain indicator disables the root filter.
    single_label_domains: bool,
    allow: AllowBuilder,
}

/// The last two labels of a name (the whole name when it has fewer).
#[inline]
fn domain_root(name: &str) -> &str {
    match name.rmatch_indices('.').nth(1) {
        Some((i, _)) => &name[i + 1..],
        None => name,
    }
}

/// The text tables, by indicator type.
fn text_table(kind: IndicatorType) -> Option<usize> {
    match kind {
        IndicatorType::Domain => Some(0),
        IndicatorType::Url => Some(1),
        IndicatorType::Email => Some(2),
        IndicatorType::Md5 | IndicatorType::Sha1 | IndicatorType::Sha256 => Some(3),
        IndicatorType::Ip | IndicatorType::Cidr => None,
    }
}

impl SetBuilder {
    pub fn new() -> Self {
        SetBuilder::default()
    }

    /// Adds an indicator whose value is already normalized (the feed
    /// readers do that). IP and CIDR values go to the address tables by what
    /// they are, not by their label (an `ip` row holding a prefix is a
    /// prefix); an address with `port` matches only that port.
    pub fn add(&mut self, indicator: Indicator) -> IndicatorId {
        let id = self.store.push(&indicator);
        match text_table(indicator.kind) {
            Some(t) => {
                self.texts[t].push((key_hash(&indicator.value), id));
                if indicator.kind == IndicatorType::Domain {
                    self.domain_roots.push(key_hash(domain_root(&indicator.value)));
                    self.single_label_domains |= !indicator.value.contains('.');
                }
            }
            None => match (IpKey::parse(&indicator.value), indicator.port) {
                (Some(IpKey::V4(a, 32)), Some(p)) => {
                    self.ip_ports.push(((addr_key(IpAddr::from(core::net::Ipv4Addr::from(a))), p), id))
                }
                (Some(IpKey::V6(a, 128)), Some(p)) => {
                    self.ip_ports.push(((addr_key(IpAddr::from(core::net::Ipv6Addr::from(a))), p), id))
                }
                (Some(IpKey::V4(a, 32)), None) => self.exact_v4.push((a, id)),
                (Some(IpKey::V6(a, 128)), None) => self.exact_v6.push((a, id)),
                (Some(IpKey::V4(a, l)), _) => self.cidr_v4.push((a, l, id)),
                (Some(IpKey::V6(a, l)), _) => self.cidr_v6.push((a, l, id)),
                (None, _) => {}
            },
        }
        id
    }

    /// Values that must never hit (see [`Allowlist`]).
    pub fn allow_mut(&mut self) -> &mut AllowBuilder {
        &mut self.allow
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    pub fn build(mut self) -> IndicatorSet {
        let mut members = Vec::with_capacity(self.store.len());
        let mut groups = Vec::new();
        let mut present_v4 = Presence::new();
        self.exact_v4.iter().for_each(|e| present_v4.insert(e.0));
        let mut present_v6 = Presence::new();
        self.exact_v6.iter().for_each(|e| present_v6.insert(Presence::v6_key(e.0)));
        let exact_v4 = group_exact(self.exact_v4, &mut members, &mut groups);
        let exact_v6 = group_exact(self.exact_v6, &mut members, &mut groups);
        let cidr_v4 = Lpm::build(group_prefixes(self.cidr_v4, &mut members, &mut groups));
        let cidr_v6 = Lpm::build(group_prefixes(self.cidr_v6, &mut members, &mut groups));
        let ip_ports = group_exact(self.ip_ports, &mut members, &mut groups);
        // The domain filter also holds the roots, salted so a root never
        // passes for a listed name.
        let use_roots = !self.single_label_domains;
        let roots: Vec<u64> =
            if use_roots { self.domain_roots.iter().map(|&h| h ^ ROOT_SALT).collect() } else { Vec::new() };
        let store = &self.store;
        let mut t = 0;
        let texts = self.texts.map(|entries| {
            let extra = if t == 0 { roots.as_slice() } else { &[] };
            t += 1;
            TextMap::build(entries, extra, store, |run| push_group(run.iter().copied(), &mut members, &mut groups))
        });
        members.shrink_to_fit();
        groups.shrink_to_fit();
        let mut counts = [0usize; 8];
        for id in 0..self.store.len() as IndicatorId {
            counts[self.store.kind(id) as usize] += 1;
        }
        self.store.finish();
        IndicatorSet {
            store: self.store,
            members,
            groups,
            present_v4,
            exact_v4,
            present_v6,
            exact_v6,
            cidr_v4,
            cidr_v6,
            ip_ports,
            texts,
            use_roots,
            allow: self.allow.build(),
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

fn group_exact<K: Clone + Ord + core::hash::Hash + Eq>(
    mut entries: Vec<(K, IndicatorId)>,
    members: &mut Vec<IndicatorId>,
    groups: &mut Vec<Group>,
) -> FastMap<K, u32> {
    entries.sort_unstable();
    let mut map = FastMap::with_capacity_and_hasher(entries.len(), FixedState::default());
    for run in entries.chunk_by(|a, b| a.0 == b.0) {
        let g = push_group(run.iter().map(|e| e.1), members, groups);
        map.insert(run[0].0.clone(), g);
    }
    map
}

/// Distinguishes a root's key from a listed name's key in the domain filter.
const ROOT_SALT: u64 = 0x5bd1_e995_7f4a_7c15;

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
    store: IndicatorStore,
    members: Vec<IndicatorId>,
    groups: Vec<Group>,
    present_v4: Presence,
    exact_v4: FastMap<u32, u32>,
    present_v6: Presence,
    exact_v6: FastMap<u128, u32>,
    cidr_v4: Lpm<u32>,
    cidr_v6: Lpm<u128>,
    ip_ports: FastMap<(u128, u16), u32>,
    /// Domains, URLs, e-mail addresses and hashes by normalized value.
    texts: [TextMap; 4],
    /// Whether the domain table's filter also holds the registrable-looking
    /// roots (last two labels) of the domain indicators, so a name whose
    /// root is absent misses in one probe. Off when a single-label indicator
    /// makes roots meaningless.
    use_roots: bool,
    allow: Allowlist,
    counts: [usize; 8],
}

/// A domain match: the indicators of the most specific listed suffix.
#[derive(Debug, Clone, Copy)]
pub struct DomainMatch<'s, 'n> {
    pub ids: &'s [IndicatorId],
    /// The listed suffix that matched: the tail of the name looked up.
    pub matched: &'n str,
}

impl Default for IndicatorSet {
    fn default() -> Self {
        SetBuilder::new().build()
    }
}

impl IndicatorSet {
    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    pub fn count(&self, kind: IndicatorType) -> usize {
        self.counts[kind as usize]
    }

    pub fn get(&self, id: IndicatorId) -> IndicatorView<'_> {
        self.store.get(id)
    }

    fn members(&self, group: u32) -> &[IndicatorId] {
        let g = self.groups[group as usize];
        &self.members[g.start as usize..(g.start + g.len) as usize]
    }

    /// The indicators of the most specific entry covering `addr`: an exact
    /// address entry, else the longest matching prefix. Empty when none.
    #[inline]
    pub fn match_ip(&self, addr: IpAddr) -> (&[IndicatorId], IpMatchKind) {
        // IPv4-mapped IPv6 (::ffff:a.b.c.d) is matched as the IPv4 address.
        match addr.to_canonical() {
            IpAddr::V4(a) => self.match_v4(u32::from(a)),
            IpAddr::V6(a) => self.match_v6(u128::from(a)),
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

    /// Whether any `address:port` indicator is loaded (most sets have none).
    #[inline]
    pub fn has_ip_ports(&self) -> bool {
        !self.ip_ports.is_empty()
    }

    /// Indicators listing exactly this address and port.
    #[inline]
    pub fn match_ip_port(&self, addr: IpAddr, port: u16) -> &[IndicatorId] {
        if self.ip_ports.is_empty() {
            return &[];
        }
        self.ip_ports.get(&(addr_key(addr.to_canonical()), port)).map_or(&[], |&g| self.members(g))
    }

    #[inline]
    fn text(&self, table: usize, key: &str) -> &[IndicatorId] {
        match self.texts[table].get(key) {
            Some(TextHit::One(id)) => core::slice::from_ref(id),
            Some(TextHit::Group(g)) => self.members(g),
            None => &[],
        }
    }

    /// The most specific listed domain that `name` is or is below (label
    /// boundaries only: `evil.example` covers `a.evil.example`, never
    /// `notevil.example`). `name` must be normalized (lower case, no
    /// trailing dot).
    pub fn match_domain<'s, 'n>(&'s self, name: &'n str) -> Option<DomainMatch<'s, 'n>> {
        if self.texts[0].is_empty() {
            return None;
        }
        if self.use_roots && !self.texts[0].may_contain(key_hash(domain_root(name)) ^ ROOT_SALT) {
            return None;
        }
        let mut rest = name;
        loop {
            let ids = self.text(0, rest);
            if !ids.is_empty() {
                return Some(DomainMatch { ids, matched: rest });
            }
            rest = rest.split_once('.')?.1;
        }
    }

    /// Indicators for a URL: its normalized form with its scheme, and for
    /// http/https also the scheme-less form Zeek and Maltrail write.
    pub fn match_url(&self, url: &normalize::Url) -> Vec<IndicatorId> {
        let mut out = self.text(1, &url.key()).to_vec();
        if url.scheme.as_deref().is_none_or(|s| s == "http" || s == "https") {
            out.extend_from_slice(self.text(1, &url.rest));
        }
        out
    }

    /// Path-only URL indicators (Maltrail's `/gate.php`) for a request's
    /// normalized path: the whole path with its query, then without it.
    pub fn match_url_path(&self, path: &str) -> &[IndicatorId] {
        let ids = self.text(1, path);
        match path.split_once('?') {
            Some((bare, _)) if ids.is_empty() => self.text(1, bare),
            _ => ids,
        }
    }

    /// Indicators for a normalized e-mail address.
    pub fn match_email(&self, addr: &str) -> &[IndicatorId] {
        self.text(2, addr)
    }

    /// Indicators for a lower-case hex digest.
    pub fn match_hash(&self, digest: &str) -> &[IndicatorId] {
        self.text(3, digest)
    }

    pub fn allowlist(&self) -> &Allowlist {
        &self.allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ind(id: &str, kind: IndicatorType, value: &str) -> Indicator {
        Indicator::new(id, kind, value, &Arc::from("t"))
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
            b.add(ind(id, if k.is_host() { IndicatorType::Ip } else { IndicatorType::Cidr }, &k.to_string()));
        }
        let set = b.build();
        let names = |addr: &str| -> Vec<&str> {
            set.match_ip(addr.parse().unwrap()).0.iter().map(|i| set.get(*i).id).collect()
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
