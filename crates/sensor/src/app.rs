//! The application layer of captured traffic: which payloads are DNS, HTTP,
//! TLS or SMTP, and the IP-fragment and TCP-stream state it takes to see
//! whole messages. It reports what it parsed; it knows no indicators.

use crate::defrag::{DefragLimits, Defragmenter, FragKey};
use crate::rules::DnsRules;
use crate::stream::{StreamKey, StreamLimits, Streams};
use core::net::IpAddr;
use std::collections::HashMap;
use std::sync::Arc;
use wire::dns::Message;
use wire::packet::IpHeader;
use wire::{Decoded, Transport, ip::protocol, smtp};

/// Which ports carry which protocol, and what is matched.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// DNS over UDP and TCP (either side of the flow).
    pub dns_ports: Vec<u16>,
    /// SMTP client streams (server side of the flow).
    pub smtp_ports: Vec<u16>,
    /// Also match names and addresses of the authority and additional
    /// sections (off by default: glue and referrals name what the resolver
    /// was told, not what the client asked for).
    pub dns_authority: bool,
    pub dns_additional: bool,
    /// The `dns_chain` rules.
    pub dns_rules: Arc<DnsRules>,
    /// Flow export ports (and sources); datagrams to them are exports.
    pub flows: crate::flows::FlowConfig,
    /// Syslog ports, token options and `re_chain` rules.
    pub syslog: crate::syslogs::SyslogConfig,
    /// The `cidr_chain`: prefixes whose packets are reported.
    pub cidr_rules: Arc<crate::rules::CidrRules>,
    /// The `pcap_chain`: filter expressions every frame is run through.
    pub pcap_rules: Arc<crate::rules::PcapRules>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            dns_ports: vec![53, 5353, 5355],
            smtp_ports: vec![25, 587, 2525],
            dns_authority: false,
            dns_additional: false,
            dns_rules: Arc::default(),
            flows: crate::flows::FlowConfig::default(),
            syslog: crate::syslogs::SyslogConfig::default(),
            cidr_rules: Arc::default(),
            pcap_rules: Arc::default(),
        }
    }
}

/// Where an application message was carried: the innermost tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carrier {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// IP protocol (6 or 17).
    pub protocol: u8,
    /// Rebuilt from IP fragments.
    pub reassembled: bool,
}

/// One application message or element, borrowed from the packet or from
/// reassembly buffers (valid only during the callback).
#[derive(Debug, Clone, Copy)]
pub enum AppItem<'a> {
    Dns(Message<'a>),
    Http(wire::http::Request<'a>),
    Tls(wire::tls::ClientHello<'a>),
    /// SMTP envelope addresses and message header address fields.
    SmtpMailFrom(&'a [u8]),
    SmtpRcptTo(&'a [u8]),
    /// `name` is the header's lower-case name (`from`, `to`, `cc`, ...).
    SmtpHeader {
        name: &'static str,
        address: &'a [u8],
    },
    /// A flow export datagram (NetFlow, IPFIX or sFlow), by the port it
    /// was sent to; the exporter is the carrier's source.
    Export {
        kind: crate::flows::ExportPort,
        payload: &'a [u8],
    },
    /// One syslog message (a UDP datagram or a TCP frame); the sender is
    /// the carrier's source.
    Syslog(&'a [u8]),
}

/// Counts of what the application layer saw and skipped.
#[derive(Debug, Default, Clone)]
pub struct AppCounters {
    pub dns_messages: u64,
    pub dns_queries: u64,
    pub dns_responses: u64,
    pub http_requests: u64,
    pub tls_client_hellos: u64,
    pub smtp_commands: u64,
    pub smtp_header_addresses: u64,
    /// SMTP session states dropped at the limit.
    pub smtp_evicted: u64,
    /// Datagrams rebuilt from fragments.
    pub reassembled: u64,
    pub syslog_messages: u64,
}

/// Where an SMTP client stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum SmtpPhase {
    #[default]
    Commands,
    /// After DATA: header lines until the blank line.
    Headers,
    /// The body, until the lone ".".
    Body,
}

#[derive(Debug, Default, Clone, Copy)]
struct SmtpState {
    phase: SmtpPhase,
    /// The address field continued on folded lines, if any.
    address_header: Option<&'static str>,
}

const MAX_SMTP_SESSIONS: usize = 65_536;
/// Longest syslog frame read from a captured TCP stream.
const MAX_SYSLOG_MESSAGE: usize = 64 << 10;
/// A line longer than this is not SMTP we can read (RFC 5321 allows 1000
/// octets; headers may fold): skipped.
const MAX_SMTP_LINE: usize = 4096;

pub struct AppLayer {
    cfg: AppConfig,
    streams: Streams,
    defrag: Defragmenter,
    smtp: HashMap<StreamKey, SmtpState>,
    /// RFC 6587 framing state of each syslog TCP stream.
    syslog: HashMap<StreamKey, syslog::frame::Framer>,
    pub counters: AppCounters,
    /// Malformed input by reason (`dns.pointer_loop`, `http.bad_header`).
    errors: Vec<&'static str>,
}

impl AppLayer {
    pub fn new(cfg: AppConfig) -> Self {
        AppLayer {
            cfg,
            streams: Streams::new(StreamLimits::default()),
            defrag: Defragmenter::new(DefragLimits::default()),
            smtp: HashMap::new(),
            syslog: HashMap::new(),
            counters: AppCounters::default(),
            errors: Vec::new(),
        }
    }

    pub fn config(&self) -> &AppConfig {
        &self.cfg
    }

    /// Errors found during the last `inspect`, by reason (to be counted).
    pub fn take_errors(&mut self) -> impl Iterator<Item = &'static str> + '_ {
        self.errors.drain(..)
    }

    pub fn streams(&self) -> &Streams {
        &self.streams
    }

    pub fn defrag(&self) -> &Defragmenter {
        &self.defrag
    }

    /// Looks at one decoded frame; calls `on` for each application item.
    pub fn inspect(&mut self, d: &Decoded<'_>, now_ns: u64, on: &mut dyn FnMut(AppItem<'_>, &Carrier)) {
        let Some(ip) = d.ip else { return };
        let context = vlan_context(d);
        if let Some(frag) = ip.frag {
            let key = FragKey { src: ip.src, dst: ip.dst, protocol: ip.protocol, ident: frag.ident, context };
            let Some(datagram) = self.defrag.push(key, frag.offset, frag.more, d.ip_payload, now_ns) else {
                return;
            };
            self.counters.reassembled += 1;
            let (transport, payload) = match transport_of(ip.protocol, datagram) {
                Some(t) => t,
                None => return,
            };
            let parts = Parts {
                cfg: &self.cfg,
                streams: &mut self.streams,
                smtp: &mut self.smtp,
                syslog: &mut self.syslog,
                counters: &mut self.counters,
                errors: &mut self.errors,
            };
            return parts.dispatch(ip, transport, payload, context, true, now_ns, on);
        }
        let parts = Parts {
            cfg: &self.cfg,
            streams: &mut self.streams,
            smtp: &mut self.smtp,
            syslog: &mut self.syslog,
            counters: &mut self.counters,
            errors: &mut self.errors,
        };
        parts.dispatch(ip, d.transport, d.payload, context, false, now_ns, on);
    }
}

/// The VLAN ids folded into one number, so flows on different VLANs with
/// the same addresses stay apart.
fn vlan_context(d: &Decoded<'_>) -> u32 {
    d.vlans().iter().fold(0u32, |h, &v| h.wrapping_mul(4099).wrapping_add(u32::from(v) + 1))
}

/// The transport header of a reassembled datagram.
fn transport_of(proto: u8, datagram: &[u8]) -> Option<(Transport, &[u8])> {
    match proto {
        protocol::UDP => {
            let u = wire::udp::Datagram::new_checked(datagram).ok()?;
            Some((Transport::Udp { src_port: u.src_port(), dst_port: u.dst_port() }, u.payload()))
        }
        protocol::TCP => {
            let t = wire::tcp::Segment::new_checked(datagram).ok()?;
            let tr = Transport::Tcp { src_port: t.src_port(), dst_port: t.dst_port(), flags: t.flags(), seq: t.seq() };
            Some((tr, t.payload()))
        }
        _ => None,
    }
}

/// The application layer's state, borrowed apart from the defragmenter
/// (whose buffer a reassembled payload borrows).
struct Parts<'s> {
    cfg: &'s AppConfig,
    streams: &'s mut Streams,
    smtp: &'s mut HashMap<StreamKey, SmtpState>,
    syslog: &'s mut HashMap<StreamKey, syslog::frame::Framer>,
    counters: &'s mut AppCounters,
    errors: &'s mut Vec<&'static str>,
}

impl Parts<'_> {
    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        self,
        ip: IpHeader,
        transport: Transport,
        payload: &[u8],
        context: u32,
        reassembled: bool,
        now_ns: u64,
        on: &mut dyn FnMut(AppItem<'_>, &Carrier),
    ) {
        let is_dns = |p: u16| self.cfg.dns_ports.contains(&p);
        match transport {
            Transport::Udp { src_port, dst_port } => {
                let carrier =
                    Carrier { src: ip.src, dst: ip.dst, src_port, dst_port, protocol: protocol::UDP, reassembled };
                if let Some(kind) = self.cfg.flows.port_kind(dst_port) {
                    on(AppItem::Export { kind, payload }, &carrier);
                } else if self.cfg.syslog.udp_ports.contains(&dst_port) {
                    self.counters.syslog_messages += 1;
                    on(AppItem::Syslog(payload), &carrier);
                } else if is_dns(src_port) || is_dns(dst_port) {
                    dns_message(payload, self.counters, self.errors, &carrier, on);
                }
            }
            Transport::Tcp { src_port, dst_port, flags, seq } => {
                let carrier =
                    Carrier { src: ip.src, dst: ip.dst, src_port, dst_port, protocol: protocol::TCP, reassembled };
                let key = StreamKey { src: ip.src, src_port, dst: ip.dst, dst_port, context };
                if is_dns(src_port) || is_dns(dst_port) {
                    let (counters, errors) = (self.counters, self.errors);
                    self.streams
                        .push(key, seq, flags, payload, now_ns, |buf| dns_frames(buf, counters, errors, &carrier, on));
                    return;
                }
                if self.cfg.syslog.tcp_ports.contains(&dst_port) {
                    if self.syslog.len() >= MAX_SMTP_SESSIONS && !self.syslog.contains_key(&key) {
                        self.syslog.clear();
                    }
                    let framer = self.syslog.entry(key).or_insert_with(|| {
                        syslog::frame::Framer::new(syslog::frame::FramerLimits { max_message: MAX_SYSLOG_MESSAGE })
                    });
                    let counters = &mut *self.counters;
                    self.streams.push(key, seq, flags, payload, now_ns, |buf| {
                        framer.push(buf, &mut |m| {
                            counters.syslog_messages += 1;
                            on(AppItem::Syslog(m), &carrier);
                        })
                    });
                    if flags & 0x05 != 0 {
                        self.syslog.remove(&key);
                    }
                    return;
                }
                if self.cfg.smtp_ports.contains(&dst_port) {
                    if self.smtp.len() >= MAX_SMTP_SESSIONS && !self.smtp.contains_key(&key) {
                        self.counters.smtp_evicted += self.smtp.len() as u64;
                        self.smtp.clear();
                    }
                    let state = self.smtp.entry(key).or_default();
                    let counters = &mut *self.counters;
                    self.streams
                        .push(key, seq, flags, payload, now_ns, |buf| smtp_lines(buf, state, counters, &carrier, on));
                    if flags & 0x05 != 0 {
                        self.smtp.remove(&key);
                    }
                    return;
                }
                if payload.is_empty() {
                    return;
                }
                // HTTP and TLS on any port: both parsers reject foreign
                // payloads by their first octets.
                match payload[0] {
                    0x16 => match wire::tls::parse_client_hello(payload) {
                        Ok(hello) => {
                            self.counters.tls_client_hellos += 1;
                            on(AppItem::Tls(hello), &carrier);
                        }
                        Err(wire::tls::TlsError::NotHandshake | wire::tls::TlsError::NotClientHello) => {}
                        Err(e) => self.errors.push(e.reason()),
                    },
                    b'A'..=b'Z' => match wire::http::parse_request(payload) {
                        Ok(req) => {
                            self.counters.http_requests += 1;
                            on(AppItem::Http(req), &carrier);
                        }
                        Err(wire::http::HttpError::NotHttp) => {}
                        Err(e) => self.errors.push(e.reason()),
                    },
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

fn dns_message(
    payload: &[u8],
    counters: &mut AppCounters,
    errors: &mut Vec<&'static str>,
    carrier: &Carrier,
    on: &mut dyn FnMut(AppItem<'_>, &Carrier),
) {
    match Message::new_checked(payload) {
        Ok(m) => {
            counters.dns_messages += 1;
            if m.qr() {
                counters.dns_responses += 1;
            } else {
                counters.dns_queries += 1;
            }
            on(AppItem::Dns(m), carrier);
        }
        Err(e) => errors.push(e.reason()),
    }
}

/// DNS over TCP: messages behind 2-octet lengths (RFC 1035 §4.2.2), as
/// many as are complete. Returns the octets used.
fn dns_frames(
    buf: &[u8],
    counters: &mut AppCounters,
    errors: &mut Vec<&'static str>,
    carrier: &Carrier,
    on: &mut dyn FnMut(AppItem<'_>, &Carrier),
) -> usize {
    let mut used = 0;
    while let Some(len) = buf.get(used..used + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize) {
        let Some(msg) = buf.get(used + 2..used + 2 + len) else { break };
        dns_message(msg, counters, errors, carrier, on);
        used += 2 + len;
    }
    used
}

/// SMTP client lines: envelope commands, and the address fields of each
/// message's header. Returns the octets used (whole lines).
fn smtp_lines(
    buf: &[u8],
    state: &mut SmtpState,
    counters: &mut AppCounters,
    carrier: &Carrier,
    on: &mut dyn FnMut(AppItem<'_>, &Carrier),
) -> usize {
    let mut used = 0;
    while let Some(n) = buf[used..].iter().position(|&b| b == b'\n') {
        let line = &buf[used..used + n];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        used += n + 1;
        smtp_line(line, state, counters, carrier, on);
    }
    // A line that never ends is dropped rather than buffered forever.
    if buf.len() - used > MAX_SMTP_LINE { buf.len() } else { used }
}

fn smtp_line(
    line: &[u8],
    state: &mut SmtpState,
    counters: &mut AppCounters,
    carrier: &Carrier,
    on: &mut dyn FnMut(AppItem<'_>, &Carrier),
) {
    match state.phase {
        SmtpPhase::Commands => {
            counters.smtp_commands += 1;
            match smtp::parse_command(line) {
                smtp::Command::MailFrom(a) if !a.is_empty() => on(AppItem::SmtpMailFrom(a), carrier),
                smtp::Command::RcptTo(a) => on(AppItem::SmtpRcptTo(a), carrier),
                smtp::Command::Data => state.phase = SmtpPhase::Headers,
                _ => {}
            }
        }
        SmtpPhase::Headers => {
            if line.is_empty() {
                state.phase = SmtpPhase::Body;
                return;
            }
            if line == b"." {
                state.phase = SmtpPhase::Commands;
                return;
            }
            let value = match smtp::header_name(line) {
                Some((name, value)) => {
                    state.address_header = address_header(name);
                    value
                }
                // A folded continuation of the field before.
                None if matches!(line.first(), Some(b' ' | b'\t')) => line,
                None => {
                    state.address_header = None;
                    return;
                }
            };
            if let Some(name) = state.address_header {
                for address in smtp::header_addresses(value) {
                    counters.smtp_header_addresses += 1;
                    on(AppItem::SmtpHeader { name, address }, carrier);
                }
            }
        }
        SmtpPhase::Body => {
            if line == b"." {
                state.phase = SmtpPhase::Commands;
            }
        }
    }
}

/// The canonical name of a header field that holds addresses.
fn address_header(name: &[u8]) -> Option<&'static str> {
    const NAMES: [&str; 7] = ["from", "to", "cc", "bcc", "reply-to", "sender", "resent-to"];
    NAMES.iter().copied().find(|n| n.as_bytes().eq_ignore_ascii_case(name))
}
