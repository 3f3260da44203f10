//! One syslog message (a UDP datagram's payload or one TCP frame) parsed
//! the way rsyslog 8 parses it: `<PRI>1 ` selects RFC 5424 (pmrfc5424);
//! anything else, or an RFC 5424 header that does not validate, goes to
//! the legacy parser (pmrfc3164): an optional RFC 3339 or `Mmm dd hh:mm:ss`
//! timestamp, a hostname if the next word looks like one, a tag up to `:`
//! or SP, and the rest as MSG.
//!
//! Parsing never fails: whatever does not fit a field stays in `msg`.
//! Every field is a sub-slice of the input; nothing is allocated.

mod sd;
mod time;

pub use sd::{SdElement, SdElements, SdParams, unescape_param_value};
pub use time::{Timestamp, TimestampKind, utc_year};

/// The PRI rsyslog gives a message without one (user.notice).
pub const DEFAULT_PRI: u8 = 13;
/// Largest valid PRI (facility 23, severity 7).
pub const MAX_PRI: u8 = 191;
/// UTF-8 byte order mark that RFC 5424 allows at the start of MSG.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

const MAX_HOSTNAME: usize = 255;
const MAX_APP_NAME: usize = 48;
const MAX_PROCID: usize = 128;
const MAX_MSGID: usize = 32;
/// rsyslog's CONF_TAG_MAXSIZE - 2.
const MAX_TAG: usize = 510;

/// What was irregular about a message (it is parsed anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageError {
    /// No `<PRI>` at all (rsyslog uses 13, user.notice).
    NoPri,
    /// A `<` that does not start a valid PRI (1-3 digits, at most 191, `>`):
    /// nothing else is parsed, the whole message is `msg`.
    BadPri,
    /// `<PRI>1 ` but the RFC 5424 header or STRUCTURED-DATA does not
    /// validate: parsed as legacy instead (a message without PRI keeps
    /// `NoPri`).
    BadHeader,
}

impl MessageError {
    /// The counter key, e.g. `syslog.bad_pri`.
    pub const fn reason(self) -> &'static str {
        match self {
            MessageError::NoPri => "syslog.no_pri",
            MessageError::BadPri => "syslog.bad_pri",
            MessageError::BadHeader => "syslog.bad_header",
        }
    }
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for MessageError {}

/// A parsed message. Absent fields (and RFC 5424 NILVALUE `-`) are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// `None`: no valid `<PRI>` (rsyslog then uses 13, see [`Message::pri_or_default`]).
    pub pri: Option<u8>,
    /// 0: legacy (RFC 3164) parse; 1: RFC 5424.
    pub version: u8,
    pub timestamp: Option<Timestamp<'a>>,
    pub hostname: Option<&'a [u8]>,
    /// RFC 5424 APP-NAME; RFC 3164: the tag up to `[`, `:` or `/`.
    pub app_name: Option<&'a [u8]>,
    /// RFC 5424 PROCID; RFC 3164: the `pid` of `tag[pid]:`.
    pub procid: Option<&'a [u8]>,
    pub msgid: Option<&'a [u8]>,
    /// RFC 5424 STRUCTURED-DATA as on the wire (validated; iterate with
    /// [`Message::sd_elements`]).
    pub structured_data: Option<&'a [u8]>,
    /// MSG, without a leading BOM. RFC 3164: starts with the SP after `tag:`
    /// as in rsyslog.
    pub msg: &'a [u8],
    /// The whole message, without trailing NUL/LF.
    pub raw: &'a [u8],
    /// RFC 3164: the whole tag (`sshd[42]:`), empty if none.
    pub tag: &'a [u8],
    /// MSG started with a UTF-8 BOM (removed from `msg`).
    pub bom: bool,
    /// What was irregular, if anything.
    pub error: Option<MessageError>,
}

impl<'a> Message<'a> {
    pub fn pri_or_default(&self) -> u8 {
        self.pri.unwrap_or(DEFAULT_PRI)
    }

    pub fn facility(&self) -> u8 {
        self.pri_or_default() >> 3
    }

    pub fn severity(&self) -> u8 {
        self.pri_or_default() & 7
    }

    /// The SD-ELEMENTs of `structured_data` (none if absent).
    pub fn sd_elements(&self) -> SdElements<'a> {
        SdElements::new(self.structured_data.unwrap_or(b""))
    }
}

/// `s` without trailing NUL and LF bytes.
fn strip_trailing(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | 0] = s {
        s = rest;
    }
    s
}

/// `<PRI>`: 1 to 3 digits, at most 191. Returns the PRI and the rest.
fn parse_pri(s: &[u8]) -> Option<(u8, &[u8])> {
    let rest = s.strip_prefix(b"<")?;
    let digits = rest.iter().take(4).take_while(|c| c.is_ascii_digit()).count();
    if !(1..=3).contains(&digits) || rest.get(digits) != Some(&b'>') {
        return None;
    }
    let v = rest[..digits].iter().fold(0u16, |v, &c| v * 10 + u16::from(c - b'0'));
    (v <= u16::from(MAX_PRI)).then(|| (v as u8, &rest[digits + 1..]))
}

/// Parses one message. Never fails.
pub fn parse(raw: &[u8]) -> Message<'_> {
    let raw = strip_trailing(raw);
    let mut m = Message {
        pri: None,
        version: 0,
        timestamp: None,
        hostname: None,
        app_name: None,
        procid: None,
        msgid: None,
        structured_data: None,
        msg: raw,
        raw,
        tag: &raw[..0],
        bom: false,
        error: None,
    };
    let rest = match parse_pri(raw) {
        Some((pri, rest)) => {
            m.pri = Some(pri);
            rest
        }
        // A `<` that does not start a valid PRI: rsyslog flags the message
        // invalid and parses nothing; all of it is kept as text.
        None if raw.first() == Some(&b'<') => {
            m.error = Some(MessageError::BadPri);
            return m;
        }
        None => {
            m.error = Some(MessageError::NoPri);
            raw
        }
    };
    if let Some(r) = rest.strip_prefix(b"1 ") {
        if parse_5424(r, &mut m) {
            return m;
        }
        m.error = m.error.or(Some(MessageError::BadHeader));
    }
    parse_3164(rest, &mut m);
    m
}

/// Splits off one SP-terminated header field of 1..=max printable bytes.
fn field(s: &[u8], max: usize) -> Option<(&[u8], &[u8])> {
    let n = s.iter().take(max + 1).take_while(|&&c| c > 32 && c < 127).count();
    if n == 0 || n > max || s.get(n) != Some(&b' ') {
        return None;
    }
    Some((&s[..n], &s[n + 1..]))
}

fn nil(f: &[u8]) -> Option<&[u8]> {
    (f != b"-").then_some(f)
}

/// RFC 5424 after `<PRI>1 `. Fills `m` and returns true if the header is valid.
fn parse_5424<'a>(s: &'a [u8], m: &mut Message<'a>) -> bool {
    let Some((ts, s)) = field(s, 64) else { return false };
    let timestamp = if ts == b"-" {
        None
    } else {
        match Timestamp::parse_3339_prefix(ts) {
            Some((t, n)) if n == ts.len() => Some(t),
            _ => return false,
        }
    };
    let Some((host, s)) = field(s, MAX_HOSTNAME) else { return false };
    let Some((app, s)) = field(s, MAX_APP_NAME) else { return false };
    let Some((procid, s)) = field(s, MAX_PROCID) else { return false };
    let Some((msgid, s)) = field(s, MAX_MSGID) else { return false };
    let (sd, s) = if let Some(r) = s.strip_prefix(b"-") {
        (None, r)
    } else {
        let Some(n) = sd::validate(s) else { return false };
        (Some(&s[..n]), &s[n..])
    };
    let msg = match s {
        [] => s,
        [b' ', r @ ..] => r,
        _ => return false,
    };
    let (bom, msg) = match msg.strip_prefix(BOM) {
        Some(r) => (true, r),
        None => (false, msg),
    };
    m.version = 1;
    m.timestamp = timestamp;
    m.hostname = nil(host);
    m.app_name = nil(app);
    m.procid = nil(procid);
    m.msgid = nil(msgid);
    m.structured_data = sd;
    m.msg = msg;
    m.bom = bom;
    true
}

/// rsyslog's legacy parser (pmrfc3164 with default settings).
fn parse_3164<'a>(mut s: &'a [u8], m: &mut Message<'a>) {
    let found = match Timestamp::parse_3339_prefix(s).or_else(|| Timestamp::parse_3164_prefix(s)) {
        Some(f) => Some(f),
        // "slightly malformed" (HP ProCurve): one SP before the timestamp.
        None if s.len() > 1 && s[0] == b' ' => Timestamp::parse_3164_prefix(&s[1..]).map(|(t, n)| (t, n + 1)),
        None => None,
    };
    if let Some((t, used)) = found {
        m.timestamp = Some(t);
        s = &s[used..];
    }

    // Hostname: alphanumerics, '.', '_', '-', ending in an alphanumeric and
    // followed by SP (or the end of the message).
    if !s.is_empty() {
        let n = s
            .iter()
            .take(MAX_HOSTNAME)
            .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-')
            .count();
        if n == s.len() {
            m.hostname = Some(s);
            s = &s[n..];
        } else if n > 0 && s[n - 1].is_ascii_alphanumeric() && s[n] == b' ' {
            m.hostname = Some(&s[..n]);
            s = &s[n + 1..];
        }
    }

    // Tag: up to ':' (included) or SP (not included).
    let mut n = s.iter().take(MAX_TAG).take_while(|&&c| c != b':' && c != b' ').count();
    if s.get(n) == Some(&b':') {
        n += 1;
    }
    let tag = &s[..n];
    m.tag = tag;
    m.msg = &s[n..];
    let prog = tag.iter().take_while(|&&c| c != b'[' && c != b':' && c != b'/').count();
    m.app_name = (prog > 0).then(|| &tag[..prog]);
    if let Some(open) = tag.iter().position(|&c| c == b'[')
        && let Some(len) = tag[open + 1..].iter().position(|&c| c == b']')
        && len > 0
    {
        m.procid = Some(&tag[open + 1..open + 1 + len]);
    }
}

#[cfg(test)]
mod tests;
