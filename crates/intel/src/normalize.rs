//! Canonical forms, so that indicators and observations compare equal when
//! they mean the same thing (DESIGN.md §3).

use core::fmt::Write as _;

/// Longest domain name in presentation form, without the trailing dot.
pub const MAX_DOMAIN: usize = 253;

/// Lower-cases a domain name and drops a trailing dot. None when it is not
/// a plausible host name (empty labels, labels over 63 octets, spaces,
/// names over 253 octets). Underscores are allowed (SRV, DMARC names occur
/// in feeds); non-ASCII labels are kept (lower-cased) as feeds write them.
pub fn domain(s: &str) -> Option<String> {
    let d = s.trim().trim_end_matches('.');
    if d.is_empty() || d.len() > MAX_DOMAIN {
        return None;
    }
    let ok = d.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '*')
            && (l == "*" || l.chars().any(char::is_alphanumeric))
    });
    ok.then(|| d.to_lowercase())
}

/// A URL split into its scheme (when it has one) and the normalized rest:
/// `host[:port]/path[?query]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Option<String>,
    pub rest: String,
}

impl Url {
    /// The lookup key: `scheme://rest`, or `rest` without a scheme.
    pub fn key(&self) -> String {
        match &self.scheme {
            Some(s) => format!("{s}://{}", self.rest),
            None => self.rest.clone(),
        }
    }

    /// The host part of `rest`, without port.
    pub fn host(&self) -> &str {
        let authority = self.rest.split(['/', '?']).next().unwrap_or("");
        match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
        }
    }
}

fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme {
        "http" | "ws" => Some("80"),
        "https" | "wss" => Some("443"),
        "ftp" => Some("21"),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decodes percent-escapes of unreserved characters and upper-cases the
/// hex of the others (RFC 3986 §6.2.2).
fn normalize_escapes(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let v = (h * 16 + l) as u8;
                if is_unreserved(v) {
                    out.push(v as char);
                } else {
                    let _ = write!(out, "%{v:02X}");
                }
                i += 3;
                continue;
            }
        }
        // Copy one whole UTF-8 character.
        let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
}

/// Normalizes a URL: scheme and host lower-cased, default port dropped,
/// fragment dropped, unreserved percent-escapes decoded, empty path = `/`.
/// Accepts scheme-less forms (`evil.example/a`), as Zeek and Maltrail
/// write them, and path-only ones (`/gate.php`, Maltrail's trails for a
/// path on any host: `rest` is the path). None for empty input or input
/// with whitespace.
pub fn url(s: &str) -> Option<Url> {
    let s = s.trim();
    if s.is_empty() || s.contains(char::is_whitespace) {
        return None;
    }
    let s = s.split('#').next().unwrap_or(s);
    // `//host/x` is a network-path reference (RFC 3986); three or more
    // slashes can only start a path (Maltrail has `///...atom.xml`).
    if s.starts_with("///") || (s.starts_with('/') && !s.starts_with("//")) {
        let mut out = String::with_capacity(s.len());
        normalize_escapes(s, &mut out);
        return Some(Url { scheme: None, rest: out });
    }
    let (scheme, rest) = match s.find("://") {
        Some(i)
            if i > 0 && s[..i].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.') =>
        {
            (Some(s[..i].to_ascii_lowercase()), &s[i + 3..])
        }
        _ => (None, s.trim_start_matches("//")),
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    // Drop userinfo; it is not part of what a URL indicator names.
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if authority.is_empty() {
        return None;
    }
    let mut host_port = authority.to_lowercase();
    if let Some(port) = scheme.as_deref().and_then(default_port)
        && let Some(h) = host_port.strip_suffix(port).and_then(|h| h.strip_suffix(':'))
    {
        host_port = h.to_string();
    }
    let host_port = host_port.trim_end_matches('.').to_string();
    let mut out = String::with_capacity(rest.len() + 1);
    out.push_str(&host_port);
    if path.is_empty() || path.starts_with('?') {
        out.push('/');
    }
    normalize_escapes(path, &mut out);
    Some(Url { scheme, rest: out })
}

/// Extracts and lower-cases the addr-spec of an e-mail address, also from
/// `Name <addr>` and `<addr>` forms. None when there is no `local@domain`.
pub fn email(s: &str) -> Option<String> {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    let addr = addr.trim().trim_start_matches("mailto:");
    let (local, dom) = addr.rsplit_once('@')?;
    if local.is_empty() || local.contains(char::is_whitespace) {
        return None;
    }
    let dom = domain(dom)?;
    Some(format!("{}@{dom}", local.to_lowercase()))
}

/// Hash kinds by hex length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Md5,
    Sha1,
    Sha256,
}

/// Lower-cases a hex digest and names its kind from the length.
pub fn hash(s: &str) -> Option<(HashKind, String)> {
    let s = s.trim();
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let kind = match s.len() {
        32 => HashKind::Md5,
        40 => HashKind::Sha1,
        64 => HashKind::Sha256,
        _ => return None,
    };
    Some((kind, s.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = url("http://Evil.example:80/a/%7Efoo#x").unwrap();
        assert_eq!((u.scheme.as_deref(), u.rest.as_str()), (Some("http"), "evil.example/a/~foo"));
        assert_eq!(url("evil.example/a/~foo").unwrap().key(), "evil.example/a/~foo");
        assert_eq!(url("HTTPS://x.example").unwrap().key(), "https://x.example/");
        assert_eq!(url("https://x.example:443?q=1").unwrap().key(), "https://x.example/?q=1");
        assert_eq!(url("https://x.example:8443/%2f%41").unwrap().key(), "https://x.example:8443/%2FA");
        assert_eq!(url("http://user:pw@x.example./p").unwrap().key(), "http://x.example/p");
        assert_eq!(url("http://[2001:db8::1]:8080/").unwrap().host(), "2001:db8::1");
        assert_eq!(url("x.example:81/p").unwrap().host(), "x.example");
        assert_eq!(url("http://x.example/%").unwrap().key(), "http://x.example/%");
        assert_eq!(url("http://x.example/%e"), Some(Url { scheme: Some("http".into()), rest: "x.example/%e".into() }));
        assert!(url("").is_none() && url("http://a b").is_none() && url("http:///p").is_none());
    }

    #[test]
    fn domains_emails_hashes() {
        assert_eq!(domain(" A.B.EVIL.example. ").as_deref(), Some("a.b.evil.example"));
        assert!(domain("a..b").is_none() && domain("").is_none() && domain(&"a".repeat(64)).is_none());
        assert_eq!(email("Eve <Eve@Evil.Example>").as_deref(), Some("eve@evil.example"));
        assert_eq!(email("mailto:x@y.example").as_deref(), Some("x@y.example"));
        assert!(email("no-at-sign").is_none() && email("@x.example").is_none());
        assert_eq!(hash("D41D8CD98F00B204E9800998ECF8427E").unwrap().0, HashKind::Md5);
        assert!(hash("xyz").is_none() && hash("abcd").is_none());
    }
}
