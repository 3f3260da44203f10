//! The protocol objects of application-layer events: `dns`, `http`,
//! `tls`, `smtp`. The `dns` object is written by walking the message, so
//! an event borrows the message instead of copying it into a tree.

use core::net::IpAddr;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use wire::dns::{self, Entry, Message, Name, NameText, RData, Record, Section};

/// `dns`: the message that carried the match.
#[derive(Debug, Clone, Copy)]
pub struct DnsDetail<'a> {
    pub message: Message<'a>,
    /// `udp` or `tcp`.
    pub transport: &'static str,
}

struct NameStr<'a>(Name<'a>);

impl Serialize for NameStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = NameText::new();
        self.0.write_text(&mut t);
        s.serialize_str(t.as_str())
    }
}

/// A mnemonic, or `TYPE123` / `CLASS123` as dig prints unknown ones.
struct Mnemonic(Option<&'static str>, &'static str, u16);

impl Serialize for Mnemonic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(m) => s.serialize_str(m),
            None => s.collect_str(&format_args!("{}{}", self.1, self.2)),
        }
    }
}

struct Section_<'a> {
    message: Message<'a>,
    section: Section,
}

impl Serialize for Section_<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for entry in self.message.entries() {
            match entry {
                Ok(Entry::Question(q)) if self.section == Section::Question => {
                    seq.serialize_element(&Question(q))?;
                }
                Ok(Entry::Record(r)) if r.section == self.section && r.rtype != dns::rtype::OPT => {
                    seq.serialize_element(&Rr(r))?;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        seq.end()
    }
}

struct Question<'a>(dns::Question<'a>);

impl Serialize for Question<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("name", &NameStr(self.0.name))?;
        m.serialize_entry("type", &Mnemonic(dns::type_name(self.0.qtype), "TYPE", self.0.qtype))?;
        if self.0.qclass != 1 {
            m.serialize_entry("class", &Mnemonic(dns::class_name(self.0.qclass & 0x7fff), "CLASS", self.0.qclass))?;
        }
        m.end()
    }
}

struct Rr<'a>(Record<'a>);

/// TXT as dig shows it: each character-string quoted, `"` and `\`
/// escaped, other octets outside printable ASCII as `\DDD`.
fn txt_text(t: &dns::Txt<'_>) -> String {
    let mut out = String::new();
    for (i, s) in t.strings().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push('"');
        for &b in s {
            match b {
                b'"' | b'\\' => {
                    out.push('\\');
                    out.push(b as char);
                }
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\{b:03}")),
            }
        }
        out.push('"');
    }
    out
}

/// RDATA of a type shown generically (RFC 3597): `\# LEN HEX`.
fn generic_text(rdata: &[u8]) -> String {
    let mut out = format!("\\# {}", rdata.len());
    if !rdata.is_empty() {
        out.push(' ');
        for b in rdata {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out
}

impl Serialize for Rr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &NameStr(r.name))?;
        m.serialize_entry("type", &Mnemonic(dns::type_name(r.rtype), "TYPE", r.rtype))?;
        if r.class & 0x7fff != 1 {
            m.serialize_entry("class", &Mnemonic(dns::class_name(r.class & 0x7fff), "CLASS", r.class))?;
        }
        m.serialize_entry("ttl", &r.ttl)?;
        match r.data() {
            Ok(RData::A(a)) => m.serialize_entry("data", &IpAddr::V4(a))?,
            Ok(RData::Aaaa(a)) => m.serialize_entry("data", &IpAddr::V6(a))?,
            Ok(RData::Name(n)) => m.serialize_entry("data", &NameStr(n))?,
            Ok(RData::Mx { preference, exchange }) => {
                let mut t = NameText::new();
                exchange.write_text(&mut t);
                m.serialize_entry("data", &format_args!("{preference} {}", t.as_str()).to_string())?;
            }
            Ok(RData::Srv { priority, weight, port, target }) => {
                let mut t = NameText::new();
                target.write_text(&mut t);
                m.serialize_entry("data", &format!("{priority} {weight} {port} {}", t.as_str()))?;
            }
            Ok(RData::Soa { mname, rname, serial, refresh, retry, expire, minimum }) => {
                let (mut a, mut b) = (NameText::new(), NameText::new());
                mname.write_text(&mut a);
                rname.write_text(&mut b);
                let text = format!("{} {} {serial} {refresh} {retry} {expire} {minimum}", a.as_str(), b.as_str());
                m.serialize_entry("data", &text)?;
            }
            Ok(RData::Txt(t)) => m.serialize_entry("data", &txt_text(&t))?,
            Ok(RData::Svcb { priority, target, .. }) => {
                let mut t = NameText::new();
                target.write_text(&mut t);
                m.serialize_entry("data", &format!("{priority} {}", t.as_str()))?;
            }
            Ok(RData::Opt(_) | RData::Other) => m.serialize_entry("data", &generic_text(r.rdata))?,
            Err(e) => {
                m.serialize_entry("data", &generic_text(r.rdata))?;
                m.serialize_entry("error", e.reason())?;
            }
        }
        m.end()
    }
}

impl Serialize for DnsDetail<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let msg = &self.message;
        let opt = msg.entries().find_map(|e| match e {
            Ok(Entry::Record(r)) if r.rtype == dns::rtype::OPT => match r.data() {
                Ok(RData::Opt(o)) => Some(o),
                _ => None,
            },
            _ => None,
        });
        let error = msg.entries().find_map(Result::err);
        let rcode = dns::full_rcode(msg, opt.as_ref());
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &msg.id())?;
        m.serialize_entry("qr", &msg.qr())?;
        m.serialize_entry("opcode", &msg.opcode())?;
        m.serialize_entry("rcode", &Mnemonic(dns::rcode_name(rcode), "RCODE", rcode))?;
        m.serialize_entry("transport", self.transport)?;
        let mut flags = Vec::with_capacity(6);
        for (on, name) in
            [(msg.aa(), "aa"), (msg.tc(), "tc"), (msg.rd(), "rd"), (msg.ra(), "ra"), (msg.ad(), "ad"), (msg.cd(), "cd")]
        {
            if on {
                flags.push(name);
            }
        }
        m.serialize_entry("flags", &flags)?;
        m.serialize_entry("questions", &Section_ { message: *msg, section: Section::Question })?;
        m.serialize_entry("answers", &Section_ { message: *msg, section: Section::Answer })?;
        if msg.authority_count() > 0 {
            m.serialize_entry("authorities", &Section_ { message: *msg, section: Section::Authority })?;
        }
        if let Some(o) = opt {
            m.serialize_entry("edns", &Edns(o))?;
        }
        if let Some(e) = error {
            m.serialize_entry("malformed", e.reason())?;
        }
        m.end()
    }
}

struct Edns<'a>(dns::Opt<'a>);

impl Serialize for Edns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("udp_size", &o.udp_size())?;
        m.serialize_entry("version", &o.version())?;
        m.serialize_entry("do", &o.dnssec_ok())?;
        if let Some(ecs) = o.client_subnet()
            && let Some(a) = ecs.address
        {
            m.serialize_entry("client_subnet", &format!("{a}/{}", ecs.source_prefix))?;
        }
        m.end()
    }
}

/// `http`: the request head that carried the match.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HttpDetail<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub uri: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user_agent: &'a str,
}

/// `tls`: the ClientHello that carried the match.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TlsDetail<'a> {
    pub sni: &'a str,
    /// The highest version offered (`0x0304` for TLS 1.3), as 4 hex digits.
    pub version: HexU16,
}

/// A 16-bit value written as 4 lower-case hex digits (`0303`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HexU16(pub u16);

impl Serialize for HexU16 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:04x}", self.0))
    }
}

/// `smtp`: which part of the session held the address.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SmtpDetail {
    pub field: &'static str,
}
