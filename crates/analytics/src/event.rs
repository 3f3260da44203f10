//! The engine's input: one hit event, borrowed. [`parse_event`] reads the
//! sensor's JSON (docs/EVENTS.md) without copying strings unless they carry
//! JSON escapes.

use crate::util::parse_rfc3339_ns;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// The A/AAAA addresses of a DNS answer section (at most [`Addrs::CAP`];
/// more are ignored): the storage a parsed event lends its
/// [`EventIn::answer_addrs`] from.
#[derive(Clone, Copy, Debug)]
pub struct Addrs {
    len: u8,
    a: [IpAddr; Addrs::CAP],
}

impl Addrs {
    pub const CAP: usize = 16;

    pub fn push(&mut self, ip: IpAddr) {
        if (self.len as usize) < Self::CAP {
            self.a[self.len as usize] = ip;
            self.len += 1;
        }
    }

    pub fn as_slice(&self) -> &[IpAddr] {
        &self.a[..self.len as usize]
    }
}

impl Default for Addrs {
    fn default() -> Self {
        Addrs { len: 0, a: [IpAddr::V4(Ipv4Addr::UNSPECIFIED); Addrs::CAP] }
    }
}

impl<const N: usize> From<[IpAddr; N]> for Addrs {
    fn from(v: [IpAddr; N]) -> Self {
        let mut a = Addrs::default();
        v.into_iter().for_each(|ip| a.push(ip));
        a
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndicatorIn<'a> {
    pub id: &'a str,
    pub r#type: &'a str,
    pub value: &'a str,
    /// Empty when the feed has none.
    pub threat_type: &'a str,
    pub feed: &'a str,
}

/// One event as the engine needs it.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventIn<'a> {
    pub id: &'a str,
    pub ts_ns: i64,
    pub sensor: &'a str,
    pub kind: &'a str,
    pub input: &'a str,
    /// `match.where`
    pub location: &'a str,
    /// `match.value`
    pub value: &'a str,
    pub indicator: Option<IndicatorIn<'a>>,
    /// `(chain, name)` of a `kind: rule` event.
    pub rule: Option<(&'a str, &'a str)>,
    pub src_ip: Option<IpAddr>,
    pub dst_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub proto: Option<&'a str>,
    /// `dns.answers[].data` of type A/AAAA. Borrowed (an inline array made
    /// every event ~270 bytes larger, for the few that are DNS answers).
    pub answer_addrs: &'a [IpAddr],
    /// First question name.
    pub dns_query: Option<&'a str>,
    /// `dns.qr`: true for a response.
    pub dns_qr: Option<bool>,
    /// `syslog.host`: the sender.
    pub syslog_host: Option<IpAddr>,
}

impl EventIn<'_> {
    /// The internal host the event is about (the key for throttling and
    /// correlation):
    /// - a DNS response (`dns.qr`, or without `qr` a source port of 53): the
    ///   destination, i.e. the client that asked;
    /// - a match at `ip.src` / `flow.src`: the destination (the listed address
    ///   is the remote side, the internal host receives from it);
    /// - otherwise the flow's source; with no flow, `syslog.host`.
    pub fn host(&self) -> Option<IpAddr> {
        let dns_response = self.input == "dns" && self.dns_qr.unwrap_or(self.src_port == Some(53));
        let to_dst = dns_response || matches!(self.location, "ip.src" | "flow.src");
        let flow = if to_dst { self.dst_ip } else { self.src_ip };
        flow.or(self.syslog_host)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("event JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("event ts is not RFC 3339 UTC: {0:?}")]
    Ts(String),
}

/// The serde path, without the fast path (for tests comparing the two).
#[doc(hidden)]
pub fn parse_event_serde(json: &[u8]) -> Result<ParsedEvent<'_>, ParseError> {
    let raw: Raw<'_> = serde_json::from_slice(json)?;
    let ts_ns = parse_rfc3339_ns(&raw.ts.0).ok_or_else(|| ParseError::Ts(raw.ts.0.to_string()))?;
    Ok(ParsedEvent(Parsed::Serde(Box::new((raw, ts_ns)))))
}

/// A parsed event owning the (rare) unescaped strings; [`ParsedEvent::event`]
/// lends it as an [`EventIn`].
#[derive(Debug)]
pub struct ParsedEvent<'a>(Parsed<'a>);

// The fast variant is large on purpose: the hot path allocates nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Parsed<'a> {
    /// Every string borrowed from the line (the fast path); the answers
    /// apart (the event borrows them when lent).
    Fast(EventIn<'a>, Addrs),
    /// Through serde_json, owning what had escapes. Boxed: the serde
    /// structure is the larger variant, and every parsed event (the fast
    /// path's too) was copied at its size on return.
    Serde(Box<(Raw<'a>, i64)>),
}

/// Parses one event line. Unknown fields are skipped; addresses that do not
/// parse are treated as absent.
// XXX: returns ParsedEvent instead of EventIn: JSON strings with escapes
// (DNS names with `\\`, quotes in syslog tokens) cannot be borrowed as &str.
pub fn parse_event(json: &[u8]) -> Result<ParsedEvent<'_>, ParseError> {
    let mut parsed = ParsedEvent(Parsed::Fast(EventIn::default(), Addrs::default()));
    if let Parsed::Fast(e, addrs) = &mut parsed.0
        && crate::fastparse::parse_into(json, e, addrs).is_some()
    {
        return Ok(parsed);
    }
    parse_event_serde(json)
}

impl<'a> ParsedEvent<'a> {
    pub fn event(&self) -> EventIn<'_> {
        let (r, ts_ns) = match &self.0 {
            Parsed::Fast(e, addrs) => return EventIn { answer_addrs: addrs.as_slice(), ..*e },
            Parsed::Serde(b) => (&b.0, b.1),
        };
        let f = r.flow.as_ref();
        let ip = |s: Option<&S<'_>>| s.and_then(|s| crate::util::parse_ip(&s.0));
        EventIn {
            id: &r.id.0,
            ts_ns,
            sensor: &r.sensor.0,
            kind: &r.kind.0,
            input: &r.input.0,
            location: &r.m.location.0,
            value: &r.m.value.0,
            indicator: r.indicator.as_ref().map(|i| IndicatorIn {
                id: &i.id.0,
                r#type: &i.r#type.0,
                value: &i.value.0,
                threat_type: i.threat_type.as_ref().map_or("", |s| &s.0),
                feed: &i.feed.0,
            }),
            rule: r.rule.as_ref().map(|x| (&*x.chain.0, &*x.name.0)),
            src_ip: ip(f.and_then(|f| f.src_ip.as_ref())),
            dst_ip: ip(f.and_then(|f| f.dst_ip.as_ref())),
            src_port: f.and_then(|f| f.src_port),
            dst_port: f.and_then(|f| f.dst_port),
            proto: f.and_then(|f| f.proto.as_ref()).map(|s| &*s.0),
            answer_addrs: r.dns.as_ref().map_or(&[], |d| d.answers.0.as_slice()),
            dns_query: r.dns.as_ref().and_then(|d| d.questions.0.as_ref()).map(|s| &*s.0),
            dns_qr: r.dns.as_ref().and_then(|d| d.qr),
            syslog_host: ip(r.syslog.as_ref().and_then(|s| s.host.as_ref())),
        }
    }
}

/// A string borrowed from the input when it has no escapes.
#[derive(Debug, Default)]
pub(crate) struct S<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for S<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = S<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<S<'de>, E> {
                Ok(S(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<S<'de>, E> {
                Ok(S(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Raw<'a> {
    #[serde(borrow)]
    pub(crate) id: S<'a>,
    #[serde(borrow)]
    pub(crate) ts: S<'a>,
    #[serde(borrow)]
    pub(crate) sensor: S<'a>,
    #[serde(borrow)]
    pub(crate) kind: S<'a>,
    #[serde(borrow)]
    pub(crate) input: S<'a>,
    #[serde(borrow, rename = "match")]
    pub(crate) m: RawMatch<'a>,
    #[serde(borrow, default)]
    pub(crate) indicator: Option<RawIndicator<'a>>,
    #[serde(borrow, default)]
    pub(crate) rule: Option<RawRule<'a>>,
    #[serde(borrow, default)]
    pub(crate) flow: Option<RawFlow<'a>>,
    #[serde(borrow, default)]
    pub(crate) dns: Option<RawDns<'a>>,
    #[serde(borrow, default)]
    pub(crate) syslog: Option<RawSyslog<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawMatch<'a> {
    #[serde(borrow, rename = "where")]
    pub(crate) location: S<'a>,
    #[serde(borrow)]
    pub(crate) value: S<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawIndicator<'a> {
    #[serde(borrow)]
    pub(crate) id: S<'a>,
    #[serde(borrow, rename = "type")]
    pub(crate) r#type: S<'a>,
    #[serde(borrow)]
    pub(crate) value: S<'a>,
    #[serde(borrow, default)]
    pub(crate) threat_type: Option<S<'a>>,
    #[serde(borrow)]
    pub(crate) feed: S<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawRule<'a> {
    #[serde(borrow)]
    pub(crate) chain: S<'a>,
    #[serde(borrow)]
    pub(crate) name: S<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawFlow<'a> {
    #[serde(borrow, default)]
    pub(crate) src_ip: Option<S<'a>>,
    #[serde(borrow, default)]
    pub(crate) dst_ip: Option<S<'a>>,
    #[serde(default)]
    pub(crate) src_port: Option<u16>,
    #[serde(default)]
    pub(crate) dst_port: Option<u16>,
    #[serde(borrow, default)]
    pub(crate) proto: Option<S<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawDns<'a> {
    #[serde(default)]
    pub(crate) qr: Option<bool>,
    #[serde(borrow, default)]
    pub(crate) questions: FirstName<'a>,
    #[serde(default)]
    pub(crate) answers: AnswerAddrs,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawSyslog<'a> {
    #[serde(borrow, default)]
    pub(crate) host: Option<S<'a>>,
}

/// `questions[0].name`, the rest skipped.
#[derive(Debug, Default)]
pub(crate) struct FirstName<'a>(pub(crate) Option<S<'a>>);

#[derive(Deserialize)]
struct Question<'a> {
    #[serde(borrow)]
    name: S<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for FirstName<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a question list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstName<'de>, A::Error> {
                let first = seq.next_element::<Question<'de>>()?.map(|q| q.name);
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstName(first))
            }
        }
        d.deserialize_seq(V)
    }
}

/// The A/AAAA `data` of `answers[]`.
#[derive(Debug, Default)]
pub(crate) struct AnswerAddrs(pub(crate) Addrs);

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow, rename = "type")]
    r#type: S<'a>,
    #[serde(borrow)]
    data: S<'a>,
}

impl<'de> Deserialize<'de> for AnswerAddrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnswerAddrs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an answer list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnswerAddrs, A::Error> {
                let mut out = Addrs::default();
                while let Some(a) = seq.next_element::<Answer<'de>>()? {
                    if matches!(&*a.r#type.0, "A" | "AAAA")
                        && let Some(ip) = crate::util::parse_ip(&a.data.0)
                    {
                        out.push(ip);
                    }
                }
                Ok(AnswerAddrs(out))
            }
        }
        d.deserialize_seq(V)
    }
}
