//! Operator rules (the original's rule chains) that need no feed: here the
//! `dns_chain`, names and answer addresses an operator wants reported.

use core::net::IpAddr;
use intel::IpKey;
use std::collections::HashMap;

/// How a `dns` rule's name is compared with question and answer names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameMatch {
    /// The name or any name below it, on label boundaries (the default).
    #[default]
    Suffix,
    /// The name only.
    Exact,
    /// Any name containing the text (the original's behaviour).
    Substring,
}

/// One `dns_chain` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsRule {
    /// Matches question names and answer names (owners and targets).
    Name { name: String, pattern: String, mode: NameMatch },
    /// Matches A/AAAA answer addresses: one address or a prefix.
    Address { name: String, key: IpKey },
}

impl DnsRule {
    pub fn name(&self) -> &str {
        match self {
            DnsRule::Name { name, .. } | DnsRule::Address { name, .. } => name,
        }
    }
}

/// Every operator rule chain, for naming the rule behind an event.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub dns: std::sync::Arc<DnsRules>,
    pub re: std::sync::Arc<crate::syslogs::ReRules>,
    pub cidr: std::sync::Arc<CidrRules>,
    pub pcap: std::sync::Arc<PcapRules>,
}

/// The `pcap_chain`: libpcap filter expressions, compiled once at load
/// (libpcap is loaded at run time for it) and run by our own cBPF
/// interpreter on every frame.
#[derive(Debug, Default)]
pub struct PcapRules {
    filters: Option<bpf::FilterSet>,
}

impl PcapRules {
    /// Compiles `(name, expression)` pairs; none: no libpcap needed.
    pub fn compile(rules: Vec<(String, String)>) -> Result<PcapRules, bpf::BpfError> {
        if rules.is_empty() {
            return Ok(PcapRules::default());
        }
        let compiler = bpf::Compiler::load()?;
        Ok(PcapRules { filters: Some(bpf::FilterSet::new(compiler, rules, bpf::DEFAULT_SNAPLEN)?) })
    }

    pub fn is_empty(&self) -> bool {
        self.filters.as_ref().is_none_or(|f| f.is_empty())
    }

    pub fn name(&self, id: u32) -> &str {
        self.filters.as_ref().and_then(|f| f.name(id as usize)).unwrap_or("")
    }

    pub fn expression(&self, id: u32) -> &str {
        self.filters.as_ref().and_then(|f| f.expression(id as usize)).unwrap_or("")
    }

    /// The filters accepting a frame (`out` is cleared first). False when
    /// no filter was compiled for the frame's link type.
    #[inline]
    pub fn matching(&self, link: wire::LinkType, frame: &[u8], wire_len: u32, out: &mut Vec<usize>) -> bool {
        out.clear();
        self.filters.as_ref().is_none_or(|f| f.matching(link.number() as i32, frame, wire_len, out))
    }
}

/// The `cidr_chain` (the original declared it and never ran it): every
/// rule whose prefix covers a packet's source or destination fires.
#[derive(Debug, Clone, Default)]
pub struct CidrRules {
    rules: Vec<(String, IpKey)>,
}

impl CidrRules {
    pub fn new(rules: Vec<(String, IpKey)>) -> Self {
        CidrRules { rules }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.rules[id as usize].0
    }

    /// Every rule covering `addr`. A linear scan: operators write tens of
    /// these, not millions (those are feeds).
    #[inline]
    pub fn matching(&self, addr: IpAddr, mut hit: impl FnMut(u32)) {
        for (i, (_, key)) in self.rules.iter().enumerate() {
            if key.contains(addr) {
                hit(i as u32);
            }
        }
    }
}

/// The compiled `dns_chain`.
#[derive(Debug, Default)]
pub struct DnsRules {
    rules: Vec<DnsRule>,
    exact: HashMap<String, Vec<u32>>,
    suffix: HashMap<String, Vec<u32>>,
    substring: Vec<(String, u32)>,
    addresses: Vec<(IpKey, u32)>,
}

impl DnsRules {
    /// Patterns are folded to lower case, without a trailing dot.
    pub fn new(rules: Vec<DnsRule>) -> Self {
        let mut r = DnsRules::default();
        for (i, rule) in rules.iter().enumerate() {
            let i = i as u32;
            match rule {
                DnsRule::Name { pattern, mode, .. } => {
                    let p = pattern.trim_end_matches('.').to_ascii_lowercase();
                    match mode {
                        NameMatch::Exact => r.exact.entry(p).or_default().push(i),
                        NameMatch::Suffix => r.suffix.entry(p).or_default().push(i),
                        NameMatch::Substring => r.substring.push((p, i)),
                    }
                }
                DnsRule::Address { key, .. } => r.addresses.push((*key, i)),
            }
        }
        r.rules = rules;
        r
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rule(&self, id: u32) -> &DnsRule {
        &self.rules[id as usize]
    }

    /// Every rule matching a lower-case name.
    pub fn match_name(&self, lower: &str, mut hit: impl FnMut(u32)) {
        if self.rules.is_empty() {
            return;
        }
        if let Some(ids) = self.exact.get(lower) {
            ids.iter().copied().for_each(&mut hit);
        }
        if !self.suffix.is_empty() {
            let mut rest = lower;
            loop {
                if let Some(ids) = self.suffix.get(rest) {
                    ids.iter().copied().for_each(&mut hit);
                }
                match rest.split_once('.') {
                    Some((_, r)) => rest = r,
                    None => break,
                }
            }
        }
        for (p, id) in &self.substring {
            if lower.contains(p.as_str()) {
                hit(*id);
            }
        }
    }

    /// Every address rule covering `addr`.
    pub fn match_addr(&self, addr: IpAddr, mut hit: impl FnMut(u32)) {
        for (key, id) in &self.addresses {
            if key.contains(addr) {
                hit(*id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str, p: &str, mode: NameMatch) -> DnsRule {
        DnsRule::Name { name: n.into(), pattern: p.into(), mode }
    }

    fn hits<'a>(r: &'a DnsRules, lower: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        r.match_name(lower, |i| out.push(r.rule(i).name()));
        out.sort();
        out
    }

    #[test]
    fn names_match_by_suffix_exact_or_substring() {
        let r = DnsRules::new(vec![
            name("suffix", "Evil.Example.", NameMatch::Suffix),
            name("exact", "www.evil.example", NameMatch::Exact),
            name("substring", "vil.ex", NameMatch::Substring),
        ]);
        assert_eq!(hits(&r, "evil.example"), ["substring", "suffix"]);
        assert_eq!(hits(&r, "a.b.evil.example"), ["substring", "suffix"]);
        assert_eq!(hits(&r, "www.evil.example"), ["exact", "substring", "suffix"]);
        assert_eq!(hits(&r, "notevil.example"), ["substring"]);
        assert!(hits(&r, "example").is_empty());
    }

    #[test]
    fn addresses_match_exactly_or_by_prefix() {
        let r = DnsRules::new(vec![
            DnsRule::Address { name: "one".into(), key: IpKey::parse("192.0.2.1").unwrap() },
            DnsRule::Address { name: "net".into(), key: IpKey::parse("2001:db8::/32").unwrap() },
        ]);
        let get = |a: &str| {
            let mut out = Vec::new();
            r.match_addr(a.parse().unwrap(), |i| out.push(r.rule(i).name().to_string()));
            out
        };
        assert_eq!(get("192.0.2.1"), ["one"]);
        assert!(get("192.0.2.2").is_empty());
        assert_eq!(get("2001:db8::53"), ["net"]);
        assert_eq!(get("::ffff:192.0.2.1"), ["one"]);
    }
}
