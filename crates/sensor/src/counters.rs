//! Per-pipeline counters. Updating them on the hot path never allocates
//! except the first time a new error reason or unknown link type is seen.

use std::collections::BTreeMap;
use wire::{DecodeError, LinkType};

const KNOWN_LINKS: [LinkType; 9] = [
    LinkType::Null,
    LinkType::Ethernet,
    LinkType::RawIp,
    LinkType::Loop,
    LinkType::LinuxSll,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll2,
    LinkType::Fddi,
];

fn link_slot(l: LinkType) -> Option<usize> {
    KNOWN_LINKS.iter().position(|k| *k == l)
}

#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    links: [u64; KNOWN_LINKS.len()],
    other_links: BTreeMap<u32, u64>,
    errors: BTreeMap<&'static str, u64>,
    /// Malformed application data (DNS, HTTP, TLS) by reason.
    app_errors: BTreeMap<&'static str, u64>,
    /// Frames with no IP layer (ARP, STP, LLDP, ...): not errors.
    pub non_ip: u64,
    /// IP fragments with offset > 0 (not L4-decoded).
    pub fragments: u64,
    /// Frames whose addresses came from inside a tunnel.
    pub tunneled: u64,
    /// Packets with at least one hit, and hits in total.
    pub packets_with_hits: u64,
    pub hits: u64,
    /// Matches silenced by an allowlist entry.
    pub suppressed: u64,
    /// Indicator sets picked up after a reload.
    pub reloads: u64,
    /// Frames of a link type no pcap rule was compiled for (no pcap rule
    /// can match them).
    pub pcap_unknown_linktype: u64,
}

impl Counters {
    #[inline]
    pub fn count_packet(&mut self, link: LinkType, bytes: usize) {
        self.packets += 1;
        self.bytes += bytes as u64;
        match link_slot(link) {
            Some(i) => self.links[i] += 1,
            None => {
                let LinkType::Other(n) = link else { return };
                *self.other_links.entry(n).or_default() += 1;
            }
        }
    }

    #[inline]
    pub fn count_error(&mut self, e: &DecodeError) {
        *self.errors.entry(e.reason()).or_default() += 1;
    }

    /// Malformed application data (`dns.pointer_loop`, `http.bad_header`).
    #[inline]
    pub fn count_app_error(&mut self, reason: &'static str) {
        *self.app_errors.entry(reason).or_default() += 1;
    }

    /// Malformed application data by reason, in name order.
    pub fn app_errors(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.app_errors.iter().map(|(k, v)| (*k, *v))
    }

    pub fn app_error_count(&self, reason: &str) -> u64 {
        self.app_errors.get(reason).copied().unwrap_or(0)
    }

    /// Decode errors by reason, in name order.
    pub fn errors(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.errors.iter().map(|(k, v)| (*k, *v))
    }

    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn error_count(&self, reason: &str) -> u64 {
        self.errors.get(reason).copied().unwrap_or(0)
    }

    /// Packets per link type, as (name, count), nonzero only.
    pub fn links(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = KNOWN_LINKS
            .iter()
            .zip(self.links.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(l, n)| (l.name().to_string(), *n))
            .collect();
        v.extend(self.other_links.iter().map(|(dlt, n)| (format!("linktype {dlt}"), *n)));
        v
    }

    pub fn merge(&mut self, o: &Counters) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        for (a, b) in self.links.iter_mut().zip(o.links.iter()) {
            *a += b;
        }
        for (k, v) in &o.other_links {
            *self.other_links.entry(*k).or_default() += v;
        }
        for (k, v) in &o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.non_ip += o.non_ip;
        self.fragments += o.fragments;
        self.tunneled += o.tunneled;
        self.packets_with_hits += o.packets_with_hits;
        self.hits += o.hits;
        self.suppressed += o.suppressed;
        self.reloads += o.reloads;
    }
}

#[cfg(test)]
mod tests {
    use super::KNOWN_LINKS;

    /// pcap_chain rules are compiled up front for every link type the
    /// decoder reads: a capture of one left out matched no rule at all
    /// (LINKTYPE_IPV4 and LINKTYPE_IPV6 were, until tests/rule_chains.rs
    /// replayed them).
    #[test]
    fn every_decoded_link_type_has_pcap_rules() {
        for l in KNOWN_LINKS {
            assert!(bpf::COMMON_LINKTYPES.contains(&(l.number() as i32)), "{l:?}");
        }
    }
}
