//! The per-packet pipeline: decode → observe → match, counting as it goes.
//! Allocation-free in steady state: hits go to a reused buffer.

use crate::app::{AppConfig, AppLayer};
use crate::counters::Counters;
use crate::observe::{self, Observation};
use crate::scratch::{AppRef, HitValue, Scratch};
use intel::reload::SharedSet;
use intel::{IndicatorId, IndicatorSet};
use std::sync::Arc;
use wire::{Decoded, Fragment, LinkType};

/// What an observation matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Indicator(IndicatorId),
    /// A `dns_chain` rule, by its index in the configuration.
    DnsRule(u32),
}

/// One indicator (or operator rule) matched by one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub source: Source,
    pub location: &'static str,
    pub value: HitValue,
    /// The application message behind the observation, if any.
    pub app: AppRef,
}

pub struct Pipeline {
    set: Arc<IndicatorSet>,
    /// Where a reloadable set comes from, and the generation held.
    source: Option<(Arc<SharedSet>, u64)>,
    pub counters: Counters,
    hits: Vec<Hit>,
    /// DNS, HTTP, TLS and SMTP; None to look at headers only.
    app: Option<AppLayer>,
    /// Copies of the text and messages behind this packet's hits.
    scratch: Scratch,
    /// Presentation form of the DNS name being matched.
    name_text: wire::dns::NameText,
}

impl Pipeline {
    pub fn new(set: Arc<IndicatorSet>) -> Self {
        Pipeline::with_app(set, Some(AppConfig::default()))
    }

    /// A pipeline with the application layer configured (None: headers
    /// only, as the original sensor did).
    pub fn with_app(set: Arc<IndicatorSet>, app: Option<AppConfig>) -> Self {
        Pipeline {
            set,
            source: None,
            counters: Counters::default(),
            hits: Vec::with_capacity(16),
            app: app.map(AppLayer::new),
            scratch: Scratch::default(),
            name_text: wire::dns::NameText::new(),
        }
    }

    pub fn app(&self) -> Option<&AppLayer> {
        self.app.as_ref()
    }

    /// The text and message copies the current hits refer to.
    pub fn scratch(&self) -> &Scratch {
        &self.scratch
    }

    /// A pipeline that picks up each new set the reloader installs, between
    /// packets (a packet is always matched against one complete set).
    pub fn with_shared(shared: Arc<SharedSet>) -> Self {
        let generation = shared.generation();
        let mut p = Pipeline::new(shared.load());
        p.source = Some((shared, generation));
        p
    }

    pub fn set(&self) -> &IndicatorSet {
        &self.set
    }

    /// The set, for use while the pipeline is borrowed.
    pub fn shared_set(&self) -> Arc<IndicatorSet> {
        Arc::clone(&self.set)
    }

    /// Decodes and matches one frame, without a clock (reassembly state
    /// then never times out). The hits are valid until the next call.
    #[inline]
    pub fn process<'p>(&mut self, link: LinkType, frame: &'p [u8]) -> (Decoded<'p>, &[Hit]) {
        let (d, hits, _) = self.process_at(link, frame, 0);
        (d, hits)
    }

    /// Decodes and matches one frame captured at `now_ns` (the capture's
    /// clock drives fragment and stream timeouts). The hits, and the
    /// scratch they point into, are valid until the next call.
    #[inline]
    pub fn process_at<'p>(&mut self, link: LinkType, frame: &'p [u8], now_ns: u64) -> (Decoded<'p>, &[Hit], &Scratch) {
        if let Some((shared, held)) = &mut self.source {
            let now = shared.generation();
            if now != *held {
                self.set = shared.load();
                *held = now;
                self.counters.reloads += 1;
            }
        }
        self.counters.count_packet(link, frame.len());
        let d = wire::decode(link, frame);
        if let Some(e) = &d.error {
            self.counters.count_error(e);
        }
        self.hits.clear();
        self.scratch.clear();
        if d.ip.is_some_and(|ip| ip.fragment == Fragment::NonFirst) {
            self.counters.fragments += 1;
        }
        if d.ip.is_none() && d.outer.is_none() && d.error.is_none() {
            self.counters.non_ip += 1;
        }
        if d.tunnel.is_some() {
            self.counters.tunneled += 1;
        }
        for o in observe::packet_addresses(&d) {
            self.match_observation(o);
        }
        if let Some(app) = &mut self.app {
            let mut m = crate::appmatch::AppMatcher {
                set: &self.set,
                hits: &mut self.hits,
                scratch: &mut self.scratch,
                counters: &mut self.counters,
                dns_authority: app.config().dns_authority,
                dns_additional: app.config().dns_additional,
                dns_rules: Arc::clone(&app.config().dns_rules),
            };
            let text = &mut self.name_text;
            app.inspect(&d, now_ns, &mut |item, carrier| m.observe(item, carrier, text));
            for reason in app.take_errors() {
                self.counters.count_app_error(reason);
            }
        }
        if !self.hits.is_empty() {
            self.counters.packets_with_hits += 1;
            self.counters.hits += self.hits.len() as u64;
        }
        (d, &self.hits, &self.scratch)
    }

    /// Records every indicator behind the most specific entry covering the
    /// observed value, once per (indicator, location).
    #[inline]
    fn match_observation(&mut self, o: Observation) {
        let (ids, _) = self.set.match_ip(o.value);
        let with_port: &[IndicatorId] = match o.port {
            Some(p) if self.set.has_ip_ports() => self.set.match_ip_port(o.value, p),
            _ => &[],
        };
        if ids.is_empty() && with_port.is_empty() {
            return;
        }
        // Allowlists are consulted only after a match, off the common path.
        if self.set.allowlist().allows_ip(o.value).is_some() {
            self.counters.suppressed += (ids.len() + with_port.len()) as u64;
            return;
        }
        for &indicator in ids.iter().chain(with_port) {
            let hit = Hit {
                source: Source::Indicator(indicator),
                location: o.location,
                value: HitValue::Ip(o.value),
                app: AppRef::None,
            };
            if !self.hits.contains(&hit) {
                self.hits.push(hit);
            }
        }
    }
}
