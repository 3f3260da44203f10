//! Syslog as rsyslog and syslog-ng receive it: TCP framing (RFC 6587
//! octet counting and non-transparent LF/NUL framing, detected per
//! message), RFC 5424 and RFC 3164 parsing (zero-copy views over the
//! message), and the one-pass extraction of indicator tokens (addresses,
//! domains, URLs, e-mail addresses, hashes) from the text.

pub mod frame;
pub mod message;
pub mod tokens;
