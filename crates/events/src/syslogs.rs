//! The `syslog` object: the message behind a match, parsed as rsyslog
//! would report it, with the token that matched and its offset.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

#[derive(Debug, Clone, Copy)]
pub struct SyslogDetail<'a> {
    /// The message as received (one datagram or one frame).
    pub raw: &'a [u8],
    /// The matched token's place in `raw` (none for the sender's address
    /// or a whole-message rule).
    pub token: Option<(usize, usize)>,
    pub peer: core::net::IpAddr,
}

/// Bytes as text: UTF-8 where valid, the rest replaced.
struct Text<'a>(&'a [u8]);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match core::str::from_utf8(self.0) {
            Ok(t) => s.serialize_str(t),
            Err(_) => s.serialize_str(&String::from_utf8_lossy(self.0)),
        }
    }
}

impl Serialize for SyslogDetail<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let msg = syslog::message::parse(self.raw);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("host", &self.peer)?;
        if let Some(pri) = msg.pri {
            m.serialize_entry("pri", &pri)?;
        }
        m.serialize_entry("facility", &msg.facility())?;
        m.serialize_entry("severity", &msg.severity())?;
        m.serialize_entry("version", &msg.version)?;
        if let Some(t) = &msg.timestamp {
            m.serialize_entry("timestamp", &Text(t.text))?;
        }
        for (name, v) in [
            ("hostname", msg.hostname),
            ("app_name", msg.app_name),
            ("procid", msg.procid),
            ("msgid", msg.msgid),
            ("structured_data", msg.structured_data),
        ] {
            if let Some(v) = v {
                m.serialize_entry(name, &Text(v))?;
            }
        }
        m.serialize_entry("message", &Text(msg.msg))?;
        if let Some((offset, len)) = self.token
            && let Some(t) = self.raw.get(offset..offset + len)
        {
            m.serialize_entry("token", &Text(t))?;
            m.serialize_entry("offset", &offset)?;
        }
        m.end()
    }
}
