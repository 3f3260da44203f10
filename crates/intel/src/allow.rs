//! Allowlists (MISP warninglists and the like): values that must never
//! produce a hit. Consulted only after something matched, so even the
//! substring and regex entries cost nothing on the hot path.

use crate::ipkey::IpKey;
use crate::lpm::Lpm;
use core::net::IpAddr;
use foldhash::fast::FixedState;
use hashbrown::HashMap;
use std::sync::Arc;

/// How an allowlist entry matches (the MISP warninglist types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowKind {
    /// Addresses inside a prefix.
    Cidr,
    /// The exact value (case-insensitive).
    String,
    /// A host name and every name below it.
    Hostname,
    /// Any value containing the text.
    Substring,
    /// Any value the regular expression matches.
    Regex,
}

impl AllowKind {
    pub const fn name(self) -> &'static str {
        match self {
            AllowKind::Cidr => "cidr",
            AllowKind::String => "string",
            AllowKind::Hostname => "hostname",
            AllowKind::Substring => "substring",
            AllowKind::Regex => "regex",
        }
    }

    pub fn parse(s: &str) -> Option<AllowKind> {
        [AllowKind::Cidr, AllowKind::String, AllowKind::Hostname, AllowKind::Substring, AllowKind::Regex]
            .into_iter()
            .find(|k| k.name() == s)
    }
}

/// One allowlist entry.
#[derive(Debug, Clone)]
pub struct AllowEntry {
    pub kind: AllowKind,
    pub value: Box<str>,
    /// The list's name (warninglist `name`, else the file).
    pub list: Arc<str>,
}

/// Collects entries; see [`Allowlist`].
#[derive(Debug, Default)]
pub struct AllowBuilder {
    entries: Vec<AllowEntry>,
    regexes: Vec<(regex::Regex, u32)>,
}

impl AllowBuilder {
    /// Adds an entry; Err with the reason when its value does not fit its
    /// kind (a bad CIDR, a regex the engine rejects).
    pub fn add(&mut self, kind: AllowKind, value: &str, list: &Arc<str>) -> Result<(), String> {
        let v = value.trim();
        if v.is_empty() {
            return Err("empty allowlist value".into());
        }
        let value: Box<str> = match kind {
            AllowKind::Cidr => match IpKey::parse(v) {
                Some(k) => k.to_string().into(),
                None => return Err(format!("{v:?} is not an IP address or CIDR")),
            },
            AllowKind::Regex => {
                let re = regex::RegexBuilder::new(v)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("regex {v:?} rejected: {e}"))?;
                self.regexes.push((re, self.entries.len() as u32));
                v.into()
            }
            AllowKind::Hostname => {
                v.trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.').to_lowercase().into()
            }
            _ => v.to_lowercase().into(),
        };
        self.entries.push(AllowEntry { kind, value, list: Arc::clone(list) });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn build(self) -> Allowlist {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut strings = HashMap::with_hasher(FixedState::default());
        let mut hostnames = HashMap::with_hasher(FixedState::default());
        let mut substrings = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let i = i as u32;
            match e.kind {
                AllowKind::Cidr => match IpKey::parse(&e.value) {
                    Some(IpKey::V4(a, l)) => v4.push((a, l, i)),
                    Some(IpKey::V6(a, l)) => v6.push((a, l, i)),
                    None => {}
                },
                AllowKind::String => {
                    strings.entry(e.value.clone()).or_insert(i);
                    // A string entry that is an address also covers it as one.
                    match IpKey::parse(&e.value) {
                        Some(IpKey::V4(a, 32)) => v4.push((a, 32, i)),
                        Some(IpKey::V6(a, 128)) => v6.push((a, 128, i)),
                        _ => {}
                    }
                }
                AllowKind::Hostname => {
                    hostnames.entry(e.value.clone()).or_insert(i);
                }
                AllowKind::Substring => substrings.push((e.value.clone(), i)),
                AllowKind::Regex => {}
            }
        }
        Allowlist {
            v4: Lpm::build(v4),
            v6: Lpm::build(v6),
            strings,
            hostnames,
            substrings,
            regexes: self.regexes,
            entries: self.entries,
        }
    }
}

/// The compiled allowlist.
#[derive(Debug)]
pub struct Allowlist {
    v4: Lpm<u32>,
    v6: Lpm<u128>,
    strings: HashMap<Box<str>, u32, FixedState>,
    hostnames: HashMap<Box<str>, u32, FixedState>,
    substrings: Vec<(Box<str>, u32)>,
    regexes: Vec<(regex::Regex, u32)>,
    entries: Vec<AllowEntry>,
}

impl Default for Allowlist {
    fn default() -> Self {
        AllowBuilder::default().build()
    }
}

impl Allowlist {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An address is allowed when any entry covers it, however broad: a
    /// warninglist of RFC 1918 space must silence a feed listing 10.1.2.3.
    pub fn allows_ip(&self, addr: IpAddr) -> Option<&AllowEntry> {
        let hit = match addr.to_canonical() {
            IpAddr::V4(a) => self.v4.lookup(u32::from(a)),
            IpAddr::V6(a) => self.v6.lookup(u128::from(a)),
        };
        if let Some(i) = hit {
            return Some(&self.entries[i as usize]);
        }
        // String entries that are addresses are in the prefix tables already;
        // only substring and regex entries need the text (and its allocation).
        if self.substrings.is_empty() && self.regexes.is_empty() {
            return None;
        }
        self.allows_text(&addr.to_string())
    }

    /// A domain hit on the indicator entry `matched` (a suffix of `name`) is
    /// suppressed by a hostname entry at least as specific as it, or by a
    /// string, substring or regex entry on the whole name.
    pub fn allows_domain(&self, name: &str, matched: &str) -> Option<&AllowEntry> {
        let mut rest = name;
        loop {
            if rest.len() < matched.len() {
                break;
            }
            if let Some(&i) = self.hostnames.get(rest) {
                return Some(&self.entries[i as usize]);
            }
            match rest.split_once('.') {
                Some((_, r)) => rest = r,
                None => break,
            }
        }
        self.allows_text(name)
    }

    /// Exact, substring and regex entries against any value (URL, e-mail,
    /// hash, address text). Lower-case input expected.
    pub fn allows_text(&self, value: &str) -> Option<&AllowEntry> {
        if let Some(&i) = self.strings.get(value) {
            return Some(&self.entries[i as usize]);
        }
        if let Some((_, i)) = self.substrings.iter().find(|(s, _)| value.contains(&**s)) {
            return Some(&self.entries[*i as usize]);
        }
        self.regexes.iter().find(|(re, _)| re.is_match(value)).map(|(_, i)| &self.entries[*i as usize])
    }

    /// A URL is allowed by an entry on the URL itself or on its host.
    pub fn allows_url(&self, url_key: &str, host: &str) -> Option<&AllowEntry> {
        self.allows_text(url_key).or_else(|| self.allows_domain(host, ""))
    }
}
