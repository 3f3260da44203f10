//! The per-packet pipeline: decode → observe → match, counting as it goes.
//! Allocation-free in steady state: hits go to a reused buffer.

use crate::app::{AppConfig, AppItem, AppLayer, Carrier};
use crate::counters::Counters;
use crate::flows::{ExportPort, FlowInputs};
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
    /// A `re_chain` rule, by its index in the configuration.
    ReRule(u32),
    /// A `cidr_chain` rule, by its index in the configuration.
    CidrRule(u32),
    PcapRule(u32),
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

/// What one frame, datagram or message matched, and the indicator set the
/// hits' indicator numbers refer to.
pub struct Matched<'s> {
    pub hits: &'s [Hit],
    pub scratch: &'s Scratch,
    pub set: &'s IndicatorSet,
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
    /// Flow export decoders (templates, sequences), with the application
    /// layer.
    flows: Option<FlowInputs>,
    /// The application layer's settings, apart from its state so both can
    /// be borrowed at once.
    app_cfg: Option<AppConfig>,
    /// Reused for refanged syslog tokens.
    syslog_buf: Vec<u8>,
    /// Reused for the pcap_chain filters a frame matched.
    pcap_matches: Vec<usize>,
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
            app: app.clone().map(AppLayer::new),
            scratch: Scratch::default(),
            name_text: wire::dns::NameText::new(),
            flows: app.as_ref().map(|a| FlowInputs::new(a.flows.clone())),
            app_cfg: app.clone(),
            syslog_buf: Vec::new(),
            pcap_matches: Vec::new(),
        }
    }

    /// New application settings (rules, ports, sources) in place: the
    /// counters stay; the flow decoders' state (NetFlow v9/IPFIX templates,
    /// sFlow sequences) stays when the flow settings are unchanged, since
    /// exporters may take many minutes to send templates again; reassembly
    /// state in flight is dropped (a rule change is rare, and mixing old and
    /// new rules in one stream would be worse).
    pub fn replace_app(&mut self, app: AppConfig) {
        let keep_flows = self.flows.as_ref().is_some_and(|f| *f.config() == app.flows);
        if !keep_flows {
            let counters = self.flows.as_ref().map(|f| f.counters.clone()).unwrap_or_default();
            let mut flows = FlowInputs::new(app.flows.clone());
            flows.counters = counters;
            self.flows = Some(flows);
        }
        self.app = Some(AppLayer::new(app.clone()));
        self.app_cfg = Some(app);
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
        Pipeline::with_shared_app(shared, Some(AppConfig::default()))
    }

    /// As `with_shared`, with the application layer configured.
    pub fn with_shared_app(shared: Arc<SharedSet>, app: Option<AppConfig>) -> Self {
        let generation = shared.generation();
        let mut p = Pipeline::with_app(shared.load(), app);
        p.source = Some((shared, generation));
        p
    }

    /// Takes a newly installed set, between packets.
    #[inline]
    fn refresh_set(&mut self) {
        if let Some((shared, held)) = &mut self.source {
            let now = shared.generation();
            if now != *held {
                self.set = shared.load();
                *held = now;
                self.counters.reloads += 1;
            }
        }
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
        let (d, m) = self.frame_matches(link, frame, frame.len() as u32, now_ns);
        (d, m.hits, m.scratch)
    }

    /// As `process_at`, with the frame's length on the wire (BPF's `len`)
    /// and the indicator set the hits refer to (after a reload it is not the
    /// one held before the call).
    #[inline]
    pub fn frame_matches<'p>(
        &mut self,
        link: LinkType,
        frame: &'p [u8],
        wire_len: u32,
        now_ns: u64,
    ) -> (Decoded<'p>, Matched<'_>) {
        self.refresh_set();
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
        if let Some(cfg) = &self.app_cfg
            && !cfg.cidr_rules.is_empty()
        {
            for o in observe::packet_addresses(&d) {
                cfg.cidr_rules.matching(o.value, |id| {
                    let hit = Hit {
                        source: Source::CidrRule(id),
                        location: o.location,
                        value: HitValue::Ip(o.value),
                        app: AppRef::None,
                    };
                    if !self.hits.contains(&hit) {
                        self.hits.push(hit);
                    }
                });
            }
        }
        if let Some(cfg) = &self.app_cfg
            && !cfg.pcap_rules.is_empty()
        {
            if !cfg.pcap_rules.matching(link, frame, wire_len, &mut self.pcap_matches) {
                self.counters.pcap_unknown_linktype += 1;
            }
            for &i in &self.pcap_matches {
                let text = self.scratch.push(cfg.pcap_rules.expression(i as u32).as_bytes());
                self.hits.push(Hit {
                    source: Source::PcapRule(i as u32),
                    location: "packet",
                    value: HitValue::Text(text),
                    app: AppRef::None,
                });
            }
        }
        self.inspect_app(&d, now_ns);
        if !self.hits.is_empty() {
            self.counters.packets_with_hits += 1;
            self.counters.hits += self.hits.len() as u64;
        }
        (d, Matched { hits: &self.hits, scratch: &self.scratch, set: &self.set })
    }

    /// DNS, HTTP, TLS, SMTP and flow exports in a decoded frame.
    fn inspect_app(&mut self, d: &Decoded<'_>, now_ns: u64) {
        let (Some(app), Some(cfg)) = (&mut self.app, &self.app_cfg) else { return };
        let mut m = crate::appmatch::AppMatcher {
            set: &self.set,
            hits: &mut self.hits,
            scratch: &mut self.scratch,
            counters: &mut self.counters,
            cfg,
            flows: self.flows.as_mut(),
            now_secs: now_ns / 1_000_000_000,
            buf: &mut self.syslog_buf,
        };
        let text = &mut self.name_text;
        app.inspect(d, now_ns, &mut |item, carrier| m.observe(item, carrier, text));
        for reason in app.take_errors() {
            self.counters.count_app_error(reason);
        }
    }

    /// One export datagram received by a listener (no capture around it):
    /// decoded, and every address matched. The hits are valid until the
    /// next call.
    pub fn process_export(
        &mut self,
        kind: ExportPort,
        exporter: core::net::SocketAddr,
        local: core::net::SocketAddr,
        payload: &[u8],
        now_ns: u64,
    ) -> (&[Hit], &Scratch) {
        let m = self.export_matches(kind, exporter, local, payload, now_ns);
        (m.hits, m.scratch)
    }

    /// As `process_export`, with the indicator set the hits refer to.
    pub fn export_matches(
        &mut self,
        kind: ExportPort,
        exporter: core::net::SocketAddr,
        local: core::net::SocketAddr,
        payload: &[u8],
        now_ns: u64,
    ) -> Matched<'_> {
        let carrier = Carrier {
            src: exporter.ip().to_canonical(),
            dst: local.ip().to_canonical(),
            src_port: exporter.port(),
            dst_port: local.port(),
            protocol: wire::ip::protocol::UDP,
            reassembled: false,
        };
        self.process_received(now_ns, |m, text| m.observe(AppItem::Export { kind, payload }, &carrier, text))
    }

    /// One syslog message a receiver got from `peer` (no capture around
    /// it). The hits are valid until the next call.
    pub fn process_syslog(&mut self, peer: core::net::SocketAddr, raw: &[u8], now_ns: u64) -> (&[Hit], &Scratch) {
        let m = self.syslog_matches(peer, raw, now_ns);
        (m.hits, m.scratch)
    }

    /// As `process_syslog`, with the indicator set the hits refer to.
    pub fn syslog_matches(&mut self, peer: core::net::SocketAddr, raw: &[u8], now_ns: u64) -> Matched<'_> {
        self.process_received(now_ns, |m, _| m.syslog(peer.ip(), raw))
    }

    /// What a receiver got, matched by `observe` with the application
    /// layer's matcher (no frame, no reassembly state involved).
    fn process_received(
        &mut self,
        now_ns: u64,
        observe: impl FnOnce(&mut crate::appmatch::AppMatcher<'_>, &mut wire::dns::NameText),
    ) -> Matched<'_> {
        self.refresh_set();
        self.hits.clear();
        self.scratch.clear();
        if let Some(cfg) = &self.app_cfg {
            let mut m = crate::appmatch::AppMatcher {
                set: &self.set,
                hits: &mut self.hits,
                scratch: &mut self.scratch,
                counters: &mut self.counters,
                cfg,
                flows: self.flows.as_mut(),
                now_secs: now_ns / 1_000_000_000,
                buf: &mut self.syslog_buf,
            };
            observe(&mut m, &mut self.name_text);
        }
        if !self.hits.is_empty() {
            self.counters.hits += self.hits.len() as u64;
        }
        Matched { hits: &self.hits, scratch: &self.scratch, set: &self.set }
    }

    /// The rule chains, to name the rules behind events.
    pub fn rule_set(&self) -> crate::rules::RuleSet {
        self.app_cfg.as_ref().map_or_else(Default::default, |c| crate::rules::RuleSet {
            dns: Arc::clone(&c.dns_rules),
            re: Arc::clone(&c.syslog.rules),
            cidr: Arc::clone(&c.cidr_rules),
            pcap: Arc::clone(&c.pcap_rules),
        })
    }

    /// The application layer's settings (None: headers only).
    pub fn app_config(&self) -> Option<&AppConfig> {
        self.app_cfg.as_ref()
    }

    pub fn flows(&self) -> Option<&FlowInputs> {
        self.flows.as_ref()
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
