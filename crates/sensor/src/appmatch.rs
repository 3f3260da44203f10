//! Observations of the application layer, matched: DNS names and
//! addresses, HTTP hosts and URLs, TLS server names, SMTP addresses.

use crate::app::{AppConfig, AppItem, Carrier};
use crate::counters::Counters;
use crate::flows::{ExportPort, FlowInputs, FlowMatcher};
use crate::pipeline::{Hit, Source};
use crate::rules::DnsRules;
use crate::scratch::{AppRef, HitValue, Scratch};
use core::net::IpAddr;
use intel::{IndicatorId, IndicatorSet, normalize};
use wire::dns::{Entry, Message, NameText, RData, Section};

/// `match.where` names of the application layer (DESIGN.md §3).
pub mod location {
    pub const DNS_QUERY: &str = "dns.query";
    pub const DNS_ANSWER_NAME: &str = "dns.answer.name";
    pub const DNS_ANSWER_ADDR: &str = "dns.answer.addr";
    pub const DNS_AUTHORITY_NAME: &str = "dns.authority.name";
    pub const DNS_AUTHORITY_ADDR: &str = "dns.authority.addr";
    pub const DNS_ADDITIONAL_NAME: &str = "dns.additional.name";
    pub const DNS_ADDITIONAL_ADDR: &str = "dns.additional.addr";
    pub const HTTP_HOST: &str = "http.host";
    pub const HTTP_URL: &str = "http.url";
    pub const TLS_SNI: &str = "tls.sni";
    pub const SMTP_MAIL_FROM: &str = "smtp.mail_from";
    pub const SMTP_RCPT_TO: &str = "smtp.rcpt_to";

    /// `smtp.<header>` for an address header field.
    pub fn smtp_header(name: &str) -> &'static str {
        match name {
            "from" => "smtp.from",
            "to" => "smtp.to",
            "cc" => "smtp.cc",
            "bcc" => "smtp.bcc",
            "reply-to" => "smtp.reply_to",
            "sender" => "smtp.sender",
            _ => "smtp.resent_to",
        }
    }
}

pub(crate) struct AppMatcher<'p> {
    pub set: &'p IndicatorSet,
    pub hits: &'p mut Vec<Hit>,
    pub scratch: &'p mut Scratch,
    pub counters: &'p mut Counters,
    pub cfg: &'p AppConfig,
    /// Flow export decoders; None: exports are not read.
    pub flows: Option<&'p mut FlowInputs>,
    pub now_secs: u64,
    /// Reused for refanged syslog tokens.
    pub buf: &'p mut Vec<u8>,
}

impl AppMatcher<'_> {
    /// `text` is reused for every name (1 KiB: not worth zeroing per
    /// message).
    pub fn observe(&mut self, item: AppItem<'_>, carrier: &Carrier, text: &mut NameText) {
        match item {
            AppItem::Dns(m) => self.dns(m, carrier, text),
            AppItem::Http(req) => self.http(&req, carrier),
            AppItem::Tls(hello) => {
                let Some(sni) = hello.sni.and_then(|s| core::str::from_utf8(s).ok()) else { return };
                let mut app = None;
                let version = hello.supported_versions_max.unwrap_or(hello.client_version);
                self.domain(sni, location::TLS_SNI, &mut app, |s| AppRef::Tls {
                    sni: s.push(sni.as_bytes()),
                    version,
                    carrier: *carrier,
                });
            }
            AppItem::SmtpMailFrom(a) => self.email(a, location::SMTP_MAIL_FROM, carrier),
            AppItem::SmtpRcptTo(a) => self.email(a, location::SMTP_RCPT_TO, carrier),
            AppItem::SmtpHeader { name, address } => self.email(address, location::smtp_header(name), carrier),
            AppItem::Export { kind, payload } => self.export(kind, carrier.src, payload, text),
            AppItem::Syslog(raw) => self.syslog(carrier.src, raw),
        }
    }

    /// A syslog message: its sender, tokens and rules.
    pub fn syslog(&mut self, peer: IpAddr, raw: &[u8]) {
        let cfg = &self.cfg.syslog;
        if !cfg.sources.is_empty() && !cfg.sources.iter().any(|k| k.contains(peer)) {
            self.counters.count_app_error("syslog.rejected_source");
            return;
        }
        let mut m = crate::syslogs::SyslogMatcher {
            set: self.set,
            hits: &mut *self.hits,
            scratch: &mut *self.scratch,
            counters: &mut *self.counters,
            cfg,
            buf: &mut *self.buf,
        };
        m.message(peer, raw);
    }

    /// A flow export: every record's addresses; for sFlow also the DNS,
    /// HTTP and TLS inside the sampled packet headers.
    fn export(&mut self, kind: ExportPort, exporter: IpAddr, payload: &[u8], text: &mut NameText) {
        {
            let Some(flows) = self.flows.as_deref_mut() else { return };
            let mut fm = FlowMatcher {
                set: self.set,
                hits: &mut *self.hits,
                scratch: &mut *self.scratch,
                counters: &mut *self.counters,
                exporter_seen: false,
            };
            if !flows.datagram(kind, exporter, payload, self.now_secs, &mut fm) || kind != ExportPort::Sflow {
                return;
            }
        }
        crate::flows::sampled_headers(payload, |link, header| self.sampled_header(link, header, text));
        crate::flows::sampled_urls(payload, |host, url, rec| self.sampled_url(host, url, rec));
    }

    /// An sFlow extended URL record: the host and URL as an HTTP request
    /// would show them (`http.host`, `http.url`).
    fn sampled_url(&mut self, host: &[u8], url: &[u8], rec: &flow::FlowRecord) {
        let (Some(src), Some(dst)) = (rec.src, rec.dst) else { return };
        let carrier = Carrier {
            src,
            dst,
            src_port: rec.src_port.unwrap_or(0),
            dst_port: rec.dst_port.unwrap_or(0),
            protocol: rec.protocol.unwrap_or(6),
            reassembled: false,
        };
        let req = wire::http::Request {
            method: b"",
            target: url,
            version: b"",
            host: (!host.is_empty()).then_some(host),
            user_agent: None,
            complete: true,
        };
        self.http(&req, &carrier);
    }

    /// One sampled packet header: no reassembly (it is one packet of
    /// many), only what a single packet shows.
    fn sampled_header(&mut self, link: wire::LinkType, header: &[u8], text: &mut NameText) {
        let d = wire::decode(link, header);
        let Some(ip) = d.ip else { return };
        let (src_port, dst_port, protocol) = match d.transport {
            wire::Transport::Udp { src_port, dst_port } => (src_port, dst_port, 17),
            wire::Transport::Tcp { src_port, dst_port, .. } => (src_port, dst_port, 6),
            _ => return,
        };
        let carrier = Carrier { src: ip.src, dst: ip.dst, src_port, dst_port, protocol, reassembled: false };
        let p = d.payload;
        if protocol == 17 && (self.cfg.dns_ports.contains(&src_port) || self.cfg.dns_ports.contains(&dst_port)) {
            if let Ok(m) = Message::new_checked(p) {
                self.dns(m, &carrier, text);
            }
        } else if protocol == 6 {
            match p.first() {
                Some(0x16) => {
                    if let Ok(hello) = wire::tls::parse_client_hello(p) {
                        self.observe(AppItem::Tls(hello), &carrier, text);
                    }
                }
                Some(b'A'..=b'Z') => {
                    if let Ok(req) = wire::http::parse_request(p) {
                        self.http(&req, &carrier);
                    }
                }
                _ => {}
            }
        }
    }

    fn dns(&mut self, m: Message<'_>, carrier: &Carrier, text: &mut NameText) {
        // The message is copied once, at its first hit.
        let mut app = None;
        let make = |s: &mut Scratch| AppRef::Dns { message: s.push(m.as_bytes()), carrier: *carrier };
        for entry in m.entries() {
            let record = match entry {
                Ok(Entry::Question(q)) => {
                    q.name.write_text(text);
                    self.dns_name(text, location::DNS_QUERY, &mut app, make);
                    continue;
                }
                Ok(Entry::Record(r)) => r,
                Err(e) => {
                    self.counters.count_app_error(e.reason());
                    break;
                }
            };
            let (name_at, addr_at) = match record.section {
                Section::Answer => (location::DNS_ANSWER_NAME, location::DNS_ANSWER_ADDR),
                Section::Authority if self.cfg.dns_authority => {
                    (location::DNS_AUTHORITY_NAME, location::DNS_AUTHORITY_ADDR)
                }
                Section::Additional if self.cfg.dns_additional => {
                    (location::DNS_ADDITIONAL_NAME, location::DNS_ADDITIONAL_ADDR)
                }
                _ => continue,
            };
            if record.rtype == wire::dns::rtype::OPT {
                continue;
            }
            record.name.write_text(text);
            self.dns_name(text, name_at, &mut app, make);
            let target = match record.data() {
                Ok(RData::A(a)) => {
                    self.dns_addr(IpAddr::V4(a), addr_at, &mut app, make);
                    continue;
                }
                Ok(RData::Aaaa(a)) => {
                    self.dns_addr(IpAddr::V6(a), addr_at, &mut app, make);
                    continue;
                }
                Ok(RData::Name(n)) => n,
                Ok(RData::Mx { exchange, .. }) => exchange,
                Ok(RData::Srv { target, .. }) | Ok(RData::Svcb { target, .. }) => target,
                Ok(RData::Soa { mname, .. }) => mname,
                Ok(_) => continue,
                Err(e) => {
                    self.counters.count_app_error(e.reason());
                    continue;
                }
            };
            target.write_text(text);
            self.dns_name(text, name_at, &mut app, make);
        }
    }

    fn dns_name(
        &mut self,
        text: &NameText,
        at: &'static str,
        app: &mut Option<AppRef>,
        make: impl Fn(&mut Scratch) -> AppRef + Copy,
    ) {
        if text.is_empty() {
            return;
        }
        // Case is kept for the event and folded for matching; most names
        // are lower case already, so the fold copies rarely.
        let folded;
        let lower = if text.as_bytes().iter().any(u8::is_ascii_uppercase) {
            let mut t = text.clone();
            t.make_ascii_lowercase();
            folded = t;
            folded.as_str()
        } else {
            text.as_str()
        };
        self.match_domain(lower, text.as_bytes(), at, app, make);
        if !self.cfg.dns_rules.is_empty() {
            let rules: &DnsRules = &self.cfg.dns_rules;
            let mut fired = false;
            rules.match_name(lower, |_| fired = true);
            if fired {
                let app = *app.get_or_insert_with(|| make(self.scratch));
                let shown = self.scratch.push(text.as_bytes());
                rules.match_name(lower, |id| push_rule_hit(self.hits, id, at, HitValue::Text(shown), app));
            }
        }
    }

    /// `dns_chain` address rules for an A/AAAA answer.
    fn dns_addr(
        &mut self,
        addr: IpAddr,
        at: &'static str,
        app: &mut Option<AppRef>,
        make: impl Fn(&mut Scratch) -> AppRef + Copy,
    ) {
        self.ip(addr, at, app, make);
        if self.cfg.dns_rules.is_empty() {
            return;
        }
        let rules: &DnsRules = &self.cfg.dns_rules;
        let mut fired = false;
        rules.match_addr(addr, |_| fired = true);
        if fired {
            let app = *app.get_or_insert_with(|| make(self.scratch));
            rules.match_addr(addr, |id| push_rule_hit(self.hits, id, at, HitValue::Ip(addr), app));
        }
    }

    /// Matches a name that may not be lower case (SNI, Host).
    fn domain(
        &mut self,
        name: &str,
        at: &'static str,
        app: &mut Option<AppRef>,
        make: impl Fn(&mut Scratch) -> AppRef + Copy,
    ) {
        let folded;
        let lower = if name.bytes().any(|b| b.is_ascii_uppercase()) || name.ends_with('.') {
            folded = name.trim_end_matches('.').to_ascii_lowercase();
            folded.as_str()
        } else {
            name
        };
        if let Ok(addr) = lower.parse::<IpAddr>() {
            return self.ip(addr, at, app, make);
        }
        self.match_domain(lower, name.as_bytes(), at, app, make);
    }

    fn match_domain(
        &mut self,
        lower: &str,
        shown: &[u8],
        at: &'static str,
        app: &mut Option<AppRef>,
        make: impl Fn(&mut Scratch) -> AppRef + Copy,
    ) {
        let Some(m) = self.set.match_domain(lower) else { return };
        if self.set.allowlist().allows_domain(lower, m.matched).is_some() {
            self.counters.suppressed += m.ids.len() as u64;
            return;
        }
        let app = *app.get_or_insert_with(|| make(self.scratch));
        let shown = self.scratch.push(shown);
        push_hits(self.hits, m.ids, at, HitValue::Text(shown), app);
    }

    fn ip(
        &mut self,
        addr: IpAddr,
        at: &'static str,
        app: &mut Option<AppRef>,
        make: impl Fn(&mut Scratch) -> AppRef + Copy,
    ) {
        let (ids, _) = self.set.match_ip(addr);
        if ids.is_empty() {
            return;
        }
        if self.set.allowlist().allows_ip(addr).is_some() {
            self.counters.suppressed += ids.len() as u64;
            return;
        }
        let app = *app.get_or_insert_with(|| make(self.scratch));
        push_hits(self.hits, ids, at, HitValue::Ip(addr), app);
    }

    fn http(&mut self, req: &wire::http::Request<'_>, carrier: &Carrier) {
        let Some(host) = req.host.and_then(|h| core::str::from_utf8(wire::http::host_without_port(h)).ok()) else {
            return;
        };
        let mut app = None;
        let make = |s: &mut Scratch| AppRef::Http {
            method: s.push(req.method),
            host: s.push(req.host.unwrap_or_default()),
            target: s.push(req.target),
            user_agent: s.push(req.user_agent.unwrap_or_default()),
            carrier: *carrier,
        };
        self.domain(host, location::HTTP_HOST, &mut app, make);
        // XXX: URL normalization allocates (once per request, not per
        // packet); a borrowed normal form would avoid it.
        let Ok(target) = core::str::from_utf8(req.target) else { return };
        let raw = if target.contains("://") { target.to_string() } else { format!("http://{host}{target}") };
        let Some(url) = normalize::url(&raw) else { return };
        self.http_path(&raw, &url, &mut app, make);
        let ids = self.set.match_url(&url);
        if ids.is_empty() {
            return;
        }
        if self.set.allowlist().allows_url(&url.key(), url.host()).is_some() {
            self.counters.suppressed += ids.len() as u64;
            return;
        }
        let shown = self.scratch.push(raw.as_bytes());
        let app = *app.get_or_insert_with(|| make(self.scratch));
        push_hits(self.hits, &ids, location::HTTP_URL, HitValue::Text(shown), app);
    }

    /// Path-only URL indicators (Maltrail) against the request's path.
    fn http_path(
        &mut self,
        raw: &str,
        url: &normalize::Url,
        app: &mut Option<AppRef>,
        make: impl Fn(&mut Scratch) -> AppRef + Copy,
    ) {
        let Some(path) = url.rest.find('/').map(|i| &url.rest[i..]) else { return };
        let ids = self.set.match_url_path(path);
        if ids.is_empty() {
            return;
        }
        if self.set.allowlist().allows_url(&url.key(), url.host()).is_some() {
            self.counters.suppressed += ids.len() as u64;
            return;
        }
        let shown = self.scratch.push(raw.as_bytes());
        let app = *app.get_or_insert_with(|| make(self.scratch));
        push_hits(self.hits, ids, location::HTTP_URL, HitValue::Text(shown), app);
    }

    fn email(&mut self, raw: &[u8], at: &'static str, carrier: &Carrier) {
        let Some(addr) = core::str::from_utf8(raw).ok().and_then(normalize::email) else { return };
        let ids = self.set.match_email(&addr);
        if ids.is_empty() {
            return;
        }
        if self.set.allowlist().allows_text(&addr).is_some() {
            self.counters.suppressed += ids.len() as u64;
            return;
        }
        let shown = self.scratch.push(raw);
        push_hits(self.hits, ids, at, HitValue::Text(shown), AppRef::Smtp { field: at, carrier: *carrier });
    }
}

fn push_hits(hits: &mut Vec<Hit>, ids: &[IndicatorId], at: &'static str, value: HitValue, app: AppRef) {
    for &indicator in ids {
        push_hit(hits, Hit { source: Source::Indicator(indicator), location: at, value, app });
    }
}

fn push_rule_hit(hits: &mut Vec<Hit>, rule: u32, at: &'static str, value: HitValue, app: AppRef) {
    push_hit(hits, Hit { source: Source::DnsRule(rule), location: at, value, app });
}

/// Once per (indicator or rule, where) per packet; the first value wins.
fn push_hit(hits: &mut Vec<Hit>, hit: Hit) {
    if !hits.iter().any(|h| h.source == hit.source && h.location == hit.location) {
        hits.push(hit);
    }
}
