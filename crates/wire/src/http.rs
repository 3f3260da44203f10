//! HTTP/1.x request head (RFC 9112), from the first TCP segment of a request.
//!
//! [`parse_request`] reads the request line and the header lines that are in
//! the segment, keeping the first `Host` and `User-Agent` values. The head
//! may continue in later segments: a header line cut off by the segment end
//! is ignored (never returned half) and [`Request::complete`] tells whether
//! the blank line ending the head was seen.
//!
//! Decisions:
//! * The method must be one of [`METHODS`] (case-sensitive) followed by one
//!   SP; anything else is [`HttpError::NotHttp`]. That check reads at most 11
//!   bytes, so most non-HTTP payloads are rejected at once. Empty lines
//!   before the request line (RFC 9112 §2.2) are skipped.
//! * The request line must end (LF) inside the payload; a request line cut
//!   off by the segment end (e.g. a very long URL) is
//!   [`HttpError::BadRequestLine`].
//! * HTTP/0.9 simple requests (`GET /path` and the line end, no version) are
//!   accepted, as Zeek does: `version` is then empty, there are no headers and
//!   `complete` is true. Only `GET` existed in HTTP/0.9; other methods
//!   without a version are `BadRequestLine`.
//! * The version must be `HTTP/1.` and one digit. The target must be
//!   non-empty and free of control bytes (bytes above 0x7f are let through:
//!   clients do send raw UTF-8).
//! * Lines end in CRLF or a bare LF.
//! * A header line without a colon, with an empty name or with a byte outside
//!   `tchar` in its name (including whitespace before the colon, which
//!   RFC 9112 §5.1 says servers must reject) is [`HttpError::BadHeader`] for
//!   the whole request, even when a `Host` came before it. Lenient servers
//!   (nginx skips invalid names) may still serve such a request, so a sensor
//!   should count `http.bad_header` rather than ignore it.
//! * A CR other than the one before LF, or a NUL, in a header line is
//!   `BadHeader` (RFC 9110 §5.5 lets recipients reject or replace them;
//!   returning a value with a CR in it would defeat matching).
//! * Obsolete line folding: continuation lines (starting with SP or HTAB)
//!   are skipped; a folded `Host` keeps its first line only.
//! * `Host` and `User-Agent` are trimmed of OWS; the first of several
//!   wins. An empty `Host:` gives `Some(b"")`.

use core::fmt;

/// Registered methods accepted as the start of a request: RFC 9110, PATCH
/// (RFC 5789) and the common WebDAV/CalDAV ones (RFC 4918, 5323, 3253, 4791).
pub const METHODS: [&[u8]; 19] = [
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MKCALENDAR",
];

/// Length of the longest entry in [`METHODS`].
const MAX_METHOD_LEN: usize = 10;

/// The parts of an HTTP/1.x request head found in one segment. All slices
/// borrow the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Request<'a> {
    pub method: &'a [u8],
    pub target: &'a [u8],
    /// `HTTP/1.0`, `HTTP/1.1`, ...; empty for an HTTP/0.9 simple request.
    pub version: &'a [u8],
    /// First `Host` header value, trimmed of OWS (may carry a port; see
    /// [`host_without_port`]).
    pub host: Option<&'a [u8]>,
    /// First `User-Agent` header value, trimmed of OWS.
    pub user_agent: Option<&'a [u8]>,
    /// true when the blank line ending the head was seen
    pub complete: bool,
}

/// Why a payload is not (or not a valid) HTTP/1.x request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HttpError {
    /// Does not start with a known method and SP.
    NotHttp,
    /// Known method, but the request line is malformed or cut off.
    BadRequestLine,
    /// A complete header line that is not `name: value` with a token name.
    BadHeader,
}

impl HttpError {
    /// Stable counter key, e.g. `http.not_http`.
    pub const fn reason(&self) -> &'static str {
        match self {
            HttpError::NotHttp => "http.not_http",
            HttpError::BadRequestLine => "http.bad_request_line",
            HttpError::BadHeader => "http.bad_header",
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for HttpError {}

/// Parses the request line and the complete header lines of `payload`.
pub fn parse_request(payload: &[u8]) -> Result<Request<'_>, HttpError> {
    // Skip empty lines sent before the request line.
    let mut start = 0;
    while let Some(&b) = payload.get(start) {
        if b != b'\r' && b != b'\n' {
            break;
        }
        start += 1;
    }
    let head = payload.get(start..).unwrap_or(&[]);
    let method = method_of(head).ok_or(HttpError::NotHttp)?;

    let (line, mut pos) = next_line(head, 0).ok_or(HttpError::BadRequestLine)?;
    let rest = line.get(method.len() + 1..).unwrap_or(&[]);
    let (target, version) = match rest.iter().position(|&b| b == b' ') {
        Some(sp) => (&rest[..sp], Some(rest.get(sp + 1..).unwrap_or(&[]))),
        None => (rest, None),
    };
    if target.is_empty() || target.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(HttpError::BadRequestLine);
    }
    let version = match version {
        Some(v) if is_http1_version(v) => v,
        None if method == b"GET" => {
            return Ok(Request { method, target, version: &[], host: None, user_agent: None, complete: true });
        }
        _ => return Err(HttpError::BadRequestLine),
    };

    let mut req = Request { method, target, version, host: None, user_agent: None, complete: false };
    // A line without its LF is cut off by the segment end: ignored.
    while let Some((line, next)) = next_line(head, pos) {
        pos = next;
        // RFC 9110 §5.5: CR, LF or NUL in a field value is invalid (LF
        // cannot occur here; a CR left inside is a bare CR).
        if line.iter().any(|&b| b == b'\r' || b == 0) {
            return Err(HttpError::BadHeader);
        }
        let Some(&first) = line.first() else {
            req.complete = true;
            break;
        };
        if first == b' ' || first == b'\t' {
            continue; // obs-fold continuation
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(HttpError::BadHeader)?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(HttpError::BadHeader);
        }
        let value = trim_ows(line.get(colon + 1..).unwrap_or(&[]));
        if req.host.is_none() && name.eq_ignore_ascii_case(b"host") {
            req.host = Some(value);
        } else if req.user_agent.is_none() && name.eq_ignore_ascii_case(b"user-agent") {
            req.user_agent = Some(value);
        }
    }
    Ok(req)
}

/// The host part of a `Host` value: `example.com:8080` → `example.com`,
/// `[2001:db8::1]:80` and `[2001:db8::1]` → `2001:db8::1` (no brackets). A
/// bare IPv6 literal (two colons or more, no brackets) is returned whole. A
/// `[` without its `]` is returned unchanged.
pub fn host_without_port(host: &[u8]) -> &[u8] {
    if let Some(inner) = host.strip_prefix(b"[") {
        return match inner.iter().position(|&b| b == b']') {
            Some(end) => &inner[..end],
            None => host,
        };
    }
    let mut colons = host.iter().enumerate().filter(|&(_, &b)| b == b':');
    match (colons.next(), colons.next()) {
        (Some((at, _)), None) => &host[..at],
        _ => host,
    }
}

/// The method at the start of `head` if it is a known one followed by SP.
fn method_of(head: &[u8]) -> Option<&[u8]> {
    let window = head.get(..head.len().min(MAX_METHOD_LEN + 1))?;
    let sp = window.iter().position(|&b| b == b' ')?;
    let m = &window[..sp];
    METHODS.contains(&m).then_some(m)
}

/// The line starting at `from`, without its LF and an optional CR before
/// it, and the offset after the LF. `None` when no LF follows (a cut line).
fn next_line(buf: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(from..)?;
    let lf = rest.iter().position(|&b| b == b'\n')?;
    let line = &rest[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, from + lf + 1))
}

/// `HTTP/1.` followed by exactly one digit.
fn is_http1_version(v: &[u8]) -> bool {
    match v.strip_prefix(b"HTTP/1.") {
        Some([d]) => d.is_ascii_digit(),
        _ => false,
    }
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Strips optional whitespace (SP, HTAB) at both ends.
fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    // First request of three HTTP flows in zeek/intel-match/wikipedia.pcap
    // (frames 6, 53 and 71 counted from 1), copied byte for byte from the
    // TCP payloads with a small pcap reader (python, struct) and checked
    // against `tcpdump -A -r wikipedia.pcap`. Zeek's whitelisting.intel.log
    // for this capture lists upload.wikimedia.org as seen in HTTP Host
    // headers (HTTP::IN_HOST_HEADER).
    const WIKI_ROOT: &[u8] = b"GET / HTTP/1.1\r\n\
Host: www.wikipedia.org\r\n\
User-Agent: Mozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.15) Gecko/20110303 Ubuntu/10.04 (lucid) Firefox/3.6.15\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-us,en;q=0.5\r\n\
Accept-Encoding: gzip,deflate\r\n\
Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\n\
Keep-Alive: 115\r\n\
Connection: keep-alive\r\n\
If-Modified-Since: Sun, 6 Mar 2011 22:45:51 GMT\r\n\
Cache-Control: max-age=0\r\n\
\r\n";

    const WIKI_UPLOAD: &[u8] = b"GET /wikipedia/commons/6/63/Wikipedia-logo.png HTTP/1.1\r\n\
Host: upload.wikimedia.org\r\n\
User-Agent: Mozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.15) Gecko/20110303 Ubuntu/10.04 (lucid) Firefox/3.6.15\r\n\
Accept: image/png,image/*;q=0.8,*/*;q=0.5\r\n\
Accept-Language: en-us,en;q=0.5\r\n\
Accept-Encoding: gzip,deflate\r\n\
Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\n\
Keep-Alive: 115\r\n\
Connection: keep-alive\r\n\
Referer: http://www.wikipedia.org/\r\n\
If-Modified-Since: Wed, 26 May 2010 15:56:39 GMT\r\n\
If-None-Match: \"b0e3-4bfd44b7\"\r\n\
Cache-Control: max-age=0\r\n\
\r\n";

    const WIKI_META: &[u8] = b"GET /images/wikimedia-button.png HTTP/1.1\r\n\
Host: meta.wikimedia.org\r\n\
User-Agent: Mozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.15) Gecko/20110303 Ubuntu/10.04 (lucid) Firefox/3.6.15\r\n\
Accept: image/png,image/*;q=0.8,*/*;q=0.5\r\n\
Accept-Language: en-us,en;q=0.5\r\n\
Accept-Encoding: gzip,deflate\r\n\
Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\n\
Keep-Alive: 115\r\n\
Connection: keep-alive\r\n\
Referer: http://www.wikipedia.org/\r\n\
If-Modified-Since: Fri, 05 Nov 2010 16:00:03 GMT\r\n\
If-None-Match: \"97a-494505e0c46c0\"\r\n\
Cache-Control: max-age=0\r\n\
\r\n";

    const FIREFOX_UA: &[u8] =
        b"Mozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.15) Gecko/20110303 Ubuntu/10.04 (lucid) Firefox/3.6.15";

    // suricata-verify/http-ipv6/input.pcap, frame 5 (curl over IPv6; the
    // test's test.yaml expects http.hostname "[::1]").
    const CURL_V6: &[u8] = b"GET / HTTP/1.1\r\nHost: [::1]:8000\r\nUser-Agent: curl/7.54.0\r\nAccept: */*\r\n\r\n";

    // zeek/traces/mixed-vlan-mpls.pcap: frame 15 (Zeek's http.log in
    // baseline/core.vlan-mpls: GET www.icir.org / 1.1 Wget/1.10) and
    // frame 37, an HTTP/0.9 request (http.log: GET, host -, uri /,
    // version 0.9).
    const WGET_10: &[u8] =
        b"GET / HTTP/1.0\r\nUser-Agent: Wget/1.10\r\nAccept: */*\r\nHost: www.icir.org\r\nConnection: Keep-Alive\r\n\r\n";
    const SIMPLE_09: &[u8] = b"GET /\r\n\r\n";

    #[test]
    fn wikipedia_requests() {
        let r = parse_request(WIKI_ROOT).unwrap();
        assert_eq!(
            r,
            Request {
                method: b"GET",
                target: b"/",
                version: b"HTTP/1.1",
                host: Some(b"www.wikipedia.org"),
                user_agent: Some(FIREFOX_UA),
                complete: true,
            }
        );
        let r = parse_request(WIKI_UPLOAD).unwrap();
        assert_eq!(r.target, b"/wikipedia/commons/6/63/Wikipedia-logo.png");
        assert_eq!(r.host, Some(&b"upload.wikimedia.org"[..]));
        assert!(r.complete);
        let r = parse_request(WIKI_META).unwrap();
        assert_eq!(r.target, b"/images/wikimedia-button.png");
        assert_eq!(r.host, Some(&b"meta.wikimedia.org"[..]));
        assert_eq!(r.user_agent, Some(FIREFOX_UA));
    }

    #[test]
    fn curl_ipv6_host() {
        let r = parse_request(CURL_V6).unwrap();
        assert_eq!(r.host, Some(&b"[::1]:8000"[..]));
        assert_eq!(host_without_port(r.host.unwrap()), b"::1");
        assert_eq!(r.user_agent, Some(&b"curl/7.54.0"[..]));
        assert!(r.complete);
    }

    #[test]
    fn wget_http10_and_http09() {
        let r = parse_request(WGET_10).unwrap();
        assert_eq!(
            (r.version, r.host, r.user_agent),
            (&b"HTTP/1.0"[..], Some(&b"www.icir.org"[..]), Some(&b"Wget/1.10"[..]))
        );
        let r = parse_request(SIMPLE_09).unwrap();
        assert_eq!(
            r,
            Request { method: b"GET", target: b"/", version: b"", host: None, user_agent: None, complete: true }
        );
        assert_eq!(parse_request(b"GET /x\n").unwrap().target, b"/x");
        // Only GET existed in HTTP/0.9.
        assert_eq!(parse_request(b"POST /\r\n\r\n"), Err(HttpError::BadRequestLine));
        // SP but no version.
        assert_eq!(parse_request(b"GET / \r\n\r\n"), Err(HttpError::BadRequestLine));
    }

    #[test]
    fn cut_at_every_offset() {
        // The segment may end anywhere: never a half line, and the Host is
        // reported exactly when its line end is inside the segment.
        let host_line_end = WIKI_UPLOAD.windows(2).position(|w| w == b"g\r").unwrap() + 3;
        let request_line_end = WIKI_UPLOAD.iter().position(|&b| b == b'\n').unwrap() + 1;
        for cut in 0..=WIKI_UPLOAD.len() {
            let r = parse_request(&WIKI_UPLOAD[..cut]);
            if cut < 4 {
                assert_eq!(r, Err(HttpError::NotHttp), "cut {cut}");
                continue;
            }
            if cut < request_line_end {
                assert_eq!(r, Err(HttpError::BadRequestLine), "cut {cut}");
                continue;
            }
            let r = r.unwrap();
            assert_eq!(r.target, b"/wikipedia/commons/6/63/Wikipedia-logo.png");
            let want: Option<&[u8]> = (cut >= host_line_end).then_some(b"upload.wikimedia.org");
            assert_eq!(r.host, want, "cut {cut}");
            assert_eq!(r.complete, cut == WIKI_UPLOAD.len(), "cut {cut}");
        }
    }

    #[test]
    fn bare_lf_and_case_insensitive_names() {
        let r = parse_request(b"POST /api HTTP/1.1\nhOsT:example.com\nuser-agent:\tx y \t\n\n").unwrap();
        assert_eq!(r.method, b"POST");
        assert_eq!(r.host, Some(&b"example.com"[..]));
        assert_eq!(r.user_agent, Some(&b"x y"[..]));
        assert!(r.complete);
    }

    #[test]
    fn first_host_wins_and_empty_host() {
        let r = parse_request(b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n").unwrap();
        assert_eq!(r.host, Some(&b"a.example"[..]));
        let r = parse_request(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").unwrap();
        assert_eq!(r.host, Some(&b""[..]));
        let r = parse_request(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n").unwrap();
        assert_eq!(r.host, None);
    }

    #[test]
    fn obs_fold_lines_are_skipped() {
        let r = parse_request(
            b"GET / HTTP/1.1\r\nX-Long: a\r\n  b: c\r\n\tHost: evil\r\nHost: good.example\r\n folded\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.host, Some(&b"good.example"[..]));
        assert!(r.complete);
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let r = parse_request(b"\r\n\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        assert_eq!((r.target, r.host), (&b"/a"[..], Some(&b"h"[..])));
    }

    #[test]
    fn methods() {
        for m in METHODS {
            let mut buf = [0u8; 64];
            let line = b" * HTTP/1.1\r\n\r\n";
            buf[..m.len()].copy_from_slice(m);
            buf[m.len()..m.len() + line.len()].copy_from_slice(line);
            let r = parse_request(&buf[..m.len() + line.len()]).unwrap();
            assert_eq!(r.method, m);
        }
        assert!(METHODS.iter().all(|m| m.len() <= MAX_METHOD_LEN));
        let r = parse_request(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").unwrap();
        assert_eq!(r.target, b"example.com:443");
        assert_eq!(host_without_port(r.host.unwrap()), b"example.com");
    }

    #[test]
    fn not_http() {
        for p in [
            &b""[..],
            b"GET",
            b"get / HTTP/1.1\r\n\r\n",
            b"GETS / HTTP/1.1\r\n",
            b"GET\t/ HTTP/1.1\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            b"SSH-2.0-OpenSSH_9.2\r\n",
            b"EHLO example.com\r\n",
            b"\r\n\r\n",
        ] {
            assert_eq!(parse_request(p), Err(HttpError::NotHttp), "{:?}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn bad_request_line() {
        for p in [
            &b"GET  / HTTP/1.1\r\n\r\n"[..],
            b"GET / HTTP/1.1 \r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / HTTP/1.10\r\n\r\n",
            b"GET / http/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\r\n\r\n",
            b"GET /a\x00b HTTP/1.1\r\n\r\n",
            b"GET /a\x7fb HTTP/1.1\r\n\r\n",
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1",
            b"GET /cut-off-target",
            b"GET \r\n",
        ] {
            assert_eq!(parse_request(p), Err(HttpError::BadRequestLine), "{:?}", String::from_utf8_lossy(p));
        }
        // Raw UTF-8 in the target is let through.
        assert_eq!(parse_request("GET /ä HTTP/1.1\r\n\r\n".as_bytes()).unwrap().target, "/ä".as_bytes());
    }

    #[test]
    fn bad_header() {
        for p in [
            &b"GET / HTTP/1.1\r\nHost example.com\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\n: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : example.com\r\n\r\n",
            b"GET / HTTP/1.1\r\nHo(st: example.com\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: ok.example\r\nBad\r\n\r\n",
            // Found by fuzzing: a bare CR left a CR at the end of the value.
            b"GET / HTTP/1.1\r\nHost: a.example\r\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a.example\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: \x00\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\r\n \r \r\n\r\n",
        ] {
            assert_eq!(parse_request(p), Err(HttpError::BadHeader), "{:?}", String::from_utf8_lossy(p));
        }
        // A bad line cut off by the segment end is not looked at.
        let r = parse_request(b"GET / HTTP/1.1\r\nHost: ok.example\r\nBad").unwrap();
        assert_eq!((r.host, r.complete), (Some(&b"ok.example"[..]), false));
    }

    #[test]
    fn reasons() {
        assert_eq!(HttpError::NotHttp.reason(), "http.not_http");
        assert_eq!(HttpError::BadRequestLine.reason(), "http.bad_request_line");
        assert_eq!(HttpError::BadHeader.to_string(), "http.bad_header");
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(host_without_port(b"example.com"), b"example.com");
        assert_eq!(host_without_port(b"example.com:8080"), b"example.com");
        assert_eq!(host_without_port(b"example.com:"), b"example.com");
        assert_eq!(host_without_port(b"192.0.2.1:80"), b"192.0.2.1");
        assert_eq!(host_without_port(b"[2001:db8::1]:80"), b"2001:db8::1");
        assert_eq!(host_without_port(b"[2001:db8::1]"), b"2001:db8::1");
        assert_eq!(host_without_port(b"2001:db8::1"), b"2001:db8::1");
        assert_eq!(host_without_port(b"::1"), b"::1");
        assert_eq!(host_without_port(b"[2001:db8::1"), b"[2001:db8::1");
        assert_eq!(host_without_port(b""), b"");
        assert_eq!(host_without_port(b"[]:80"), b"");
    }
}
