//! Syslog as an input: each message parsed (`syslog::message`), every
//! indicator-like token in it found in one pass (`syslog::tokens`) and
//! matched (`syslog.token`), the sender's address matched (`syslog.host`),
//! and the operator's `re_chain` rules run over the message.

use crate::counters::Counters;
use crate::pipeline::{Hit, Source};
use crate::scratch::{AppRef, HitValue, Scratch};
use core::net::IpAddr;
use intel::{IndicatorId, IndicatorSet, normalize};
use regex::bytes::Regex;
use std::borrow::Cow;
use syslog::tokens::{Token, TokenKind, TokenOptions};

#[cfg(test)]
mod tests {
    use super::dotted_quad;

    #[test]
    fn dotted_quads_parse_like_std() {
        for ok in ["0.0.0.0", "192.0.2.1", "255.255.255.255", "10.1.20.255"] {
            assert_eq!(dotted_quad(ok.as_bytes()), ok.parse().ok(), "{ok}");
        }
        for bad in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "a.b.c.d", "1.2.3.4 ", "1234.1.1.1", ""] {
            assert_eq!(dotted_quad(bad.as_bytes()), None, "{bad}");
        }
    }
}

pub mod location {
    pub const SYSLOG_TOKEN: &str = "syslog.token";
    pub const SYSLOG_HOST: &str = "syslog.host";
    /// A `re_chain` rule of type `complete`: the message itself.
    pub const SYSLOG_MESSAGE: &str = "syslog.message";
}

/// Which ports carry syslog in captures, and how tokens are read.
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    pub udp_ports: Vec<u16>,
    pub tcp_ports: Vec<u16>,
    /// Also read defanged forms (`hxxp`, `[.]`).
    pub refang: bool,
    pub rules: std::sync::Arc<ReRules>,
    /// The original's `syslog_sources`: when not empty, messages from
    /// other addresses are dropped and counted.
    pub sources: Vec<intel::IpKey>,
    /// Connection, message size and idle limits of the TCP and TLS
    /// receivers.
    pub tcp_limits: crate::listen_tcp::TcpLimits,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            udp_ports: vec![514],
            tcp_ports: vec![514, 601],
            refang: false,
            rules: std::sync::Arc::default(),
            sources: Vec::new(),
            tcp_limits: crate::listen_tcp::TcpLimits::default(),
        }
    }
}

/// What a `substring` rule's matches are looked up as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IocType {
    Ip,
    Domain,
    Url,
    Email,
    Hash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleType {
    /// The message itself is the event.
    Complete,
    /// Each match (its first capture group when it has one) is looked up
    /// as `ioc_type`.
    Substring(IocType),
}

#[derive(Debug, Clone)]
pub struct ReRule {
    pub name: String,
    pub regex: Regex,
    pub kind: RuleType,
    /// Fires when the regex does NOT match (complete rules only).
    pub inverted: bool,
}

/// The `re_chain`: every rule fires by default; `first_match` stops at the
/// first rule that fires, as the original did.
#[derive(Debug, Clone, Default)]
pub struct ReRules {
    pub rules: Vec<ReRule>,
    pub first_match: bool,
}

impl ReRules {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rule(&self, id: u32) -> &ReRule {
        &self.rules[id as usize]
    }

    /// Compiles a pattern with the regex crate's RE2-like syntax; what it
    /// cannot run (backreferences, lookaround) is an error that says so.
    pub fn compile(pattern: &str, nocase: bool) -> Result<Regex, String> {
        regex::bytes::RegexBuilder::new(pattern).case_insensitive(nocase).size_limit(8 << 20).build().map_err(|e| {
            let lookaround = ["(?=", "(?!", "(?<=", "(?<!"].iter().any(|l| pattern.contains(l));
            let backref = pattern.as_bytes().windows(2).any(|w| w[0] == b'\\' && w[1].is_ascii_digit() && w[1] != b'0');
            if lookaround || backref {
                format!(
                    "{pattern:?} uses {}, which RE2 syntax (the regex crate) cannot run; rewrite it without (e.g. match the wider text and use a capture group)",
                    if lookaround { "lookaround" } else { "a backreference" }
                )
            } else {
                format!("{pattern:?} is not a valid regular expression: {e}")
            }
        })
    }
}

/// Matches one syslog message into the pipeline's hits.
pub struct SyslogMatcher<'p> {
    pub set: &'p IndicatorSet,
    pub hits: &'p mut Vec<Hit>,
    pub scratch: &'p mut Scratch,
    pub counters: &'p mut Counters,
    pub cfg: &'p SyslogConfig,
    /// Reused for refanged and lower-cased tokens.
    pub buf: &'p mut Vec<u8>,
}

impl<'p> SyslogMatcher<'p> {
    /// One message from `peer` (the sending host).
    pub fn message(&mut self, peer: IpAddr, raw: &[u8]) {
        let peer = peer.to_canonical();
        let make = |s: &mut Scratch, offset: usize, len: usize| AppRef::Syslog {
            message: s.push(raw),
            token_offset: offset as u32,
            token_len: len as u32,
            peer,
        };
        // The sender.
        let set = self.set;
        let (ids, _) = set.match_ip(peer);
        if !ids.is_empty() {
            if set.allowlist().allows_ip(peer).is_some() {
                self.counters.suppressed += ids.len() as u64;
            } else {
                let app = make(self.scratch, 0, 0);
                push(self.hits, ids, location::SYSLOG_HOST, HitValue::Ip(peer), app);
            }
        }
        // Every token of the message.
        let opts = TokenOptions { refang: self.cfg.refang };
        let mut buf = std::mem::take(self.buf);
        syslog::tokens::tokens(raw, opts, &mut |t: Token<'_>| {
            let text = if t.defanged { syslog::tokens::refang(t.text, &mut buf) } else { t.text };
            let kind = match t.kind {
                TokenKind::Ipv4 | TokenKind::Ipv6 => IocType::Ip,
                TokenKind::Domain => IocType::Domain,
                TokenKind::Url => IocType::Url,
                TokenKind::Email => IocType::Email,
                TokenKind::Md5 | TokenKind::Sha1 | TokenKind::Sha256 => IocType::Hash,
            };
            if let Ok(text) = core::str::from_utf8(text)
                && let Some((ids, value)) = self.lookup(kind, text)
            {
                let app = make(self.scratch, t.offset, t.text.len());
                let value = HitValue::Text(self.scratch.push(value.as_bytes()));
                push(self.hits, &ids, location::SYSLOG_TOKEN, value, app);
            }
        });
        *self.buf = buf;
        // Operator rules.
        if !self.cfg.rules.is_empty() {
            self.rules(raw, &make);
        }
    }

    /// The indicators a value of this kind matches (after the allowlist),
    /// and the value as shown in the event.
    fn lookup<'t>(&mut self, kind: IocType, text: &'t str) -> Option<(Cow<'p, [IndicatorId]>, &'t str)> {
        let set = self.set;
        let (ids, suppressed): (Cow<'p, [IndicatorId]>, bool) = match kind {
            IocType::Ip => {
                let addr = match dotted_quad(text.as_bytes()) {
                    Some(a) => IpAddr::V4(a),
                    None => text.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok()?,
                };
                let (ids, _) = set.match_ip(addr);
                (Cow::Borrowed(ids), !ids.is_empty() && set.allowlist().allows_ip(addr).is_some())
            }
            IocType::Domain => {
                // Folded on the stack: names are at most 253 octets.
                let mut lower = [0u8; 256];
                let t = text.trim_end_matches('.').as_bytes();
                let l = lower.get_mut(..t.len())?;
                l.copy_from_slice(t);
                l.make_ascii_lowercase();
                let lower = core::str::from_utf8(l).ok()?;
                let m = set.match_domain(lower)?;
                (Cow::Borrowed(m.ids), set.allowlist().allows_domain(lower, m.matched).is_some())
            }
            IocType::Url => {
                // XXX: URL normalization allocates (once per URL token).
                let url = normalize::url(text)?;
                let ids = set.match_url(&url);
                let s = !ids.is_empty() && set.allowlist().allows_url(&url.key(), url.host()).is_some();
                (Cow::Owned(ids), s)
            }
            IocType::Email => {
                // A token is a bare addr-spec already: folding its case on
                // the stack is all the normalizing it needs.
                let mut lower = [0u8; 320];
                let l = lower.get_mut(..text.len())?;
                l.copy_from_slice(text.as_bytes());
                l.make_ascii_lowercase();
                let addr = core::str::from_utf8(l).ok()?;
                let ids = set.match_email(addr);
                (Cow::Borrowed(ids), !ids.is_empty() && set.allowlist().allows_text(addr).is_some())
            }
            IocType::Hash => {
                let mut lower = [0u8; 64];
                let l = lower.get_mut(..text.len())?;
                l.copy_from_slice(text.as_bytes());
                l.make_ascii_lowercase();
                (Cow::Borrowed(set.match_hash(core::str::from_utf8(l).ok()?)), false)
            }
        };
        if ids.is_empty() {
            return None;
        }
        if suppressed {
            self.counters.suppressed += ids.len() as u64;
            return None;
        }
        Some((ids, text))
    }

    fn rules(&mut self, raw: &[u8], make: &dyn Fn(&mut Scratch, usize, usize) -> AppRef) {
        let rules = std::sync::Arc::clone(&self.cfg.rules);
        for (i, rule) in rules.rules.iter().enumerate() {
            let id = i as u32;
            let fired = match rule.kind {
                RuleType::Complete => {
                    let fires = rule.regex.is_match(raw) != rule.inverted;
                    if fires {
                        let app = make(self.scratch, 0, 0);
                        let value = HitValue::Text(self.scratch.push(raw));
                        let hit = Hit { source: Source::ReRule(id), location: location::SYSLOG_MESSAGE, value, app };
                        push_hit(self.hits, hit);
                    }
                    fires
                }
                RuleType::Substring(kind) => {
                    let mut fired = false;
                    for caps in rule.regex.captures_iter(raw) {
                        let Some(m) = caps.get(1).or_else(|| caps.get(0)) else { continue };
                        let Ok(text) = core::str::from_utf8(m.as_bytes()) else { continue };
                        // The rule fires when its match is a listed value.
                        if let Some((_, value)) = self.lookup(kind, text) {
                            let app = make(self.scratch, m.start(), m.len());
                            let value = HitValue::Text(self.scratch.push(value.as_bytes()));
                            let hit = Hit { source: Source::ReRule(id), location: location::SYSLOG_TOKEN, value, app };
                            push_hit(self.hits, hit);
                            fired = true;
                        }
                    }
                    fired
                }
            };
            if fired && rules.first_match {
                break;
            }
        }
    }
}

/// `a.b.c.d` with octets 0–255: the common token, without the general
/// address parser (the extractor has validated it once already).
#[inline]
fn dotted_quad(t: &[u8]) -> Option<core::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = t.split(|&b| b == b'.');
    for o in &mut octets {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = p.iter().fold(0u16, |a, &d| a * 10 + u16::from(d - b'0'));
        *o = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(core::net::Ipv4Addr::from(octets))
}

fn push(hits: &mut Vec<Hit>, ids: &[IndicatorId], at: &'static str, value: HitValue, app: AppRef) {
    for &id in ids {
        push_hit(hits, Hit { source: Source::Indicator(id), location: at, value, app });
    }
}

/// Once per (indicator or rule, where, value) per message.
fn push_hit(hits: &mut Vec<Hit>, hit: Hit) {
    if !hits.iter().any(|h| h.source == hit.source && h.location == hit.location && h.value == hit.value) {
        hits.push(hit);
    }
}
