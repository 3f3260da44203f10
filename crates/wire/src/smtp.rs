//! SMTP client lines (RFC 5321) and the address-list headers of the message
//! (RFC 5322 §3.4).
//!
//! The caller reassembles the client-to-server stream, splits it into lines
//! (without the line ending) and tracks the session state: [`parse_command`]
//! for command lines, and, between `DATA` (once the server answered 354) and
//! the lone `.` line, [`header_name`] and [`header_addresses`] for the header
//! lines of the message. This module keeps no state.
//!
//! Left to the caller:
//! * Unfolding. A header may continue on lines starting with SP or HTAB
//!   ([`is_continuation`]); join them (with or without the CRLF between,
//!   both work: CR and LF count as whitespace here) before calling
//!   [`header_addresses`]. Calling it per physical line loses addresses whose
//!   quotes, comments, angle brackets or group span a line break.
//! * Dot-unstuffing (a leading `..` in DATA stands for `.`), the end of the
//!   header block (the first empty line), BDAT chunk lengths (see
//!   [`parse_bdat`]) and STARTTLS (after which the stream is TLS).
//!
//! Nothing here allocates; every address returned is a slice of the input.

/// An SMTP command line, as far as envelope addresses and the DATA state go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command<'a> {
    /// `MAIL FROM:<path>`; the path without angle brackets and without a
    /// source route, `b""` for the null path `<>`.
    MailFrom(&'a [u8]),
    /// `RCPT TO:<path>`, as for `MailFrom`.
    RcptTo(&'a [u8]),
    /// `DATA` with no argument.
    Data,
    /// `BDAT size [LAST]` with valid arguments.
    Bdat,
    /// `RSET` with no argument.
    Rset,
    /// `QUIT` with no argument.
    Quit,
    /// `HELO` or `EHLO` and the argument, trimmed (may be empty).
    Helo(&'a [u8]),
    /// Anything else, including malformed MAIL/RCPT/DATA/BDAT lines.
    Other,
}

/// Parses one client command line (a trailing CR, SP or HTAB is ignored).
///
/// Verbs and the `FROM:`/`TO:` keywords are case-insensitive. Leniency as in
/// common servers: whitespace around the colon (`MAIL FROM: <a@b>`) and a
/// path without angle brackets (`MAIL FROM:a@b`, up to the next SP or HTAB) are
/// accepted. Parameters after the path (`SIZE=695`) are ignored. A source
/// route (`<@a,@b:user@host>`) is dropped. Spaces inside the brackets are
/// trimmed. An unclosed `<` or a route without its `:` is `Other`.
pub fn parse_command(line: &[u8]) -> Command<'_> {
    let line = trim_end(line);
    let (verb, rest) = match line.iter().position(|&b| b == b' ') {
        Some(sp) => (&line[..sp], line.get(sp + 1..).unwrap_or(&[])),
        None => (line, &[][..]),
    };
    let is = |v: &[u8]| verb.eq_ignore_ascii_case(v);
    let bare = trim(rest).is_empty();
    if is(b"MAIL") {
        keyword_path(rest, b"FROM").map_or(Command::Other, Command::MailFrom)
    } else if is(b"RCPT") {
        keyword_path(rest, b"TO").map_or(Command::Other, Command::RcptTo)
    } else if is(b"DATA") && bare {
        Command::Data
    } else if is(b"BDAT") && parse_bdat(line).is_some() {
        Command::Bdat
    } else if is(b"RSET") && bare {
        Command::Rset
    } else if is(b"QUIT") && bare {
        Command::Quit
    } else if is(b"HELO") || is(b"EHLO") {
        Command::Helo(trim(rest))
    } else {
        Command::Other
    }
}

/// `BDAT chunk-size [LAST]` (RFC 3030): the chunk size and whether it is
/// the last chunk. `None` when the line is not a valid BDAT command. The
/// caller skips that many bytes of the stream after the line.
pub fn parse_bdat(line: &[u8]) -> Option<(u64, bool)> {
    let line = trim_end(line);
    let rest = strip_prefix_ci(line, b"BDAT ")?;
    let (size, last) = match rest.iter().position(|&b| b == b' ') {
        Some(sp) => (&rest[..sp], Some(rest.get(sp + 1..).unwrap_or(&[]))),
        None => (rest, None),
    };
    if size.is_empty() || !size.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = size.iter().try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))?;
    match last {
        None => Some((n, false)),
        Some(l) if l.eq_ignore_ascii_case(b"LAST") => Some((n, true)),
        Some(_) => None,
    }
}

/// `FROM:<path> params` / `TO:<path> params` after the verb.
fn keyword_path<'a>(rest: &'a [u8], keyword: &[u8]) -> Option<&'a [u8]> {
    let rest = strip_prefix_ci(trim_start(rest), keyword)?;
    let rest = trim_start(rest).strip_prefix(b":")?;
    path(trim_start(rest))
}

/// A reverse- or forward-path: `<...>` (the `>` found outside quoted
/// strings) or a bare address up to the next whitespace.
fn path(s: &[u8]) -> Option<&[u8]> {
    let Some(inner) = s.strip_prefix(b"<") else {
        let end = s.iter().position(|&b| is_ws(b)).unwrap_or(s.len());
        return Some(&s[..end]).filter(|a| !a.is_empty());
    };
    let mut i = 0;
    let close = loop {
        match *inner.get(i)? {
            b'"' => i = skip_quoted(inner, i),
            b'>' => break i,
            _ => i += 1,
        }
    };
    strip_route(trim(&inner[..close]))
}

/// Drops an RFC 5321 source route `@a,@b:` (obs-route in RFC 5322) in front
/// of a mailbox; the `:` is looked for outside address literals, which may
/// hold colons (`@[IPv6:2001:db8::1]:u@h`).
fn strip_route(a: &[u8]) -> Option<&[u8]> {
    if a.first() != Some(&b'@') {
        return Some(a);
    }
    let mut in_literal = false;
    for (i, &b) in a.iter().enumerate() {
        match b {
            b'[' => in_literal = true,
            b']' => in_literal = false,
            b':' if !in_literal => return Some(trim(a.get(i + 1..).unwrap_or(&[]))),
            _ => {}
        }
    }
    None
}

/// True for a header continuation line (obs-fold / folding white space):
/// it starts with SP or HTAB and belongs to the header before it.
pub fn is_continuation(line: &[u8]) -> bool {
    matches!(line.first(), Some(b' ' | b'\t'))
}

/// Splits a header line `Name: value` into the name and the value, trimmed
/// of whitespace (SP, HTAB, CR, LF) at both ends. `None` for continuation
/// lines, lines without a colon and names that are empty or hold a byte
/// outside printable ASCII (RFC 5322 ftext; so `From addr date` mbox lines
/// are not headers). Whitespace between the name and the colon (RFC 5322
/// obs-optional) is dropped from the name.
pub fn header_name(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if is_continuation(line) {
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    let name = trim_end(&line[..colon]);
    if name.is_empty() || !name.iter().all(|&b| (33..=126).contains(&b)) {
        return None;
    }
    Some((name, trim(line.get(colon + 1..).unwrap_or(&[]))))
}

/// The addr-specs of an RFC 5322 address-list header value (From, To, Cc,
/// Bcc, Reply-To, Sender, ...), in order. See [`HeaderAddresses`].
pub fn header_addresses(value: &[u8]) -> HeaderAddresses<'_> {
    HeaderAddresses { buf: value, pos: 0 }
}

/// Iterator over the addresses of an address-list header value.
///
/// The value is split into mailboxes at `,` and at the group delimiters
/// `:` and `;`, except inside quoted strings, comments (nested), angle
/// brackets and domain literals. For each mailbox:
/// * with an angle-addr (`Name <a@b>`, `<a@b>`), the text between the first
///   `<` and its `>` is yielded, trimmed, with an obs-route dropped;
/// * otherwise (addr-spec), the whitespace- and comment-delimited word that
///   holds an `@` outside quotes is yielded (`a@b (Name)` gives `a@b`,
///   `"a b"@c` is kept whole).
///
/// Candidates without an `@` (display names, `<>`, group names ending in `:`)
/// are skipped, so an unquoted comma in a display name (`Doe, John <j@d>`)
/// still gives `j@d`. An unclosed quote, comment or bracket runs to the end
/// of the value. Comments inside an addr-spec (`a(x)@b`) are not removed: a
/// slice cannot skip them.
#[derive(Debug, Clone)]
pub struct HeaderAddresses<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for HeaderAddresses<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while self.pos < self.buf.len() {
            let (found, next) = mailbox(self.buf, self.pos);
            // `mailbox` always consumes at least one byte.
            self.pos = next.max(self.pos + 1);
            if found.is_some() {
                return found;
            }
        }
        None
    }
}

impl core::iter::FusedIterator for HeaderAddresses<'_> {}

/// Scans one mailbox (up to and including its delimiter) starting at
/// `start`: the address found, if any, and the offset after it.
fn mailbox(buf: &[u8], start: usize) -> (Option<&[u8]>, usize) {
    let mut i = start;
    let mut angle: Option<&[u8]> = None;
    let mut bare: Option<&[u8]> = None;
    // The word being read: its start and whether it holds an unquoted '@'.
    let mut word: Option<(usize, bool)> = None;
    let mut close_word = |word: &mut Option<(usize, bool)>, end: usize| {
        if let Some((from, true)) = word.take()
            && bare.is_none()
        {
            bare = buf.get(from..end);
        }
    };
    let mut group_name = false;
    loop {
        let Some(&b) = buf.get(i) else {
            close_word(&mut word, buf.len());
            break;
        };
        match b {
            b',' | b';' | b':' => {
                close_word(&mut word, i);
                group_name = b == b':';
                i += 1;
                break;
            }
            b' ' | b'\t' | b'\r' | b'\n' => {
                close_word(&mut word, i);
                i += 1;
            }
            b'(' => {
                close_word(&mut word, i);
                i = skip_comment(buf, i);
            }
            b'<' => {
                close_word(&mut word, i);
                let (inner, next) = angle_addr(buf, i);
                angle = angle.or(Some(inner));
                i = next;
            }
            _ => {
                let w = word.get_or_insert((i, false));
                match b {
                    b'"' => i = skip_quoted(buf, i),
                    b'[' => i = skip_literal(buf, i),
                    _ => {
                        w.1 |= b == b'@';
                        i += 1;
                    }
                }
            }
        }
    }
    let found = match angle {
        Some(inner) => strip_route(trim(inner)),
        None if group_name => None,
        // An unclosed quote or literal may have run over trailing space.
        None => bare.map(trim),
    };
    (found.filter(|a| a.contains(&b'@')), i)
}

/// The text inside the angle brackets opened at `open`, and the offset after
/// the closing `>` (or the end of `buf` when unclosed).
fn angle_addr(buf: &[u8], open: usize) -> (&[u8], usize) {
    let mut i = open + 1;
    while let Some(&b) = buf.get(i) {
        match b {
            b'"' => i = skip_quoted(buf, i),
            b'>' => return (buf.get(open + 1..i).unwrap_or(&[]), i + 1),
            _ => i += 1,
        }
    }
    (buf.get(open + 1..).unwrap_or(&[]), buf.len())
}

/// Offset after the quoted string starting at `open` (a `"`), honouring
/// quoted-pairs; the end of `buf` when unclosed.
fn skip_quoted(buf: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while let Some(&b) = buf.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    buf.len()
}

/// Offset after the (nested) comment starting at `open` (a `(`).
fn skip_comment(buf: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while let Some(&b) = buf.get(i) {
        match b {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    buf.len()
}

/// Offset after the domain literal starting at `open` (a `[`).
fn skip_literal(buf: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while let Some(&b) = buf.get(i) {
        match b {
            b'\\' => i += 2,
            b']' => return i + 1,
            _ => i += 1,
        }
    }
    buf.len()
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b, rest @ ..] = s
        && is_ws(*b)
    {
        s = rest;
    }
    s
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b] = s
        && is_ws(*b)
    {
        s = rest;
    }
    s
}

fn trim(s: &[u8]) -> &[u8] {
    trim_end(trim_start(s))
}

fn strip_prefix_ci<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| s.get(prefix.len()..).unwrap_or(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(v: &[u8]) -> Vec<String> {
        header_addresses(v).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
    }

    // The client side of zeek/intel-match/smtp-multi-addr.pcap (frames 6,
    // 8, 10 and 12 counted from 1), copied byte for byte from the TCP
    // payloads with a small pcap reader (python, struct) and checked against
    // `tcpdump -A`. Zeek's seen_smtp.intel.log for this capture has 7 e-mail
    // matches: jan.grashofer@cern.ch in RCPT TO (SMTP::IN_RCPT_TO),
    // jan.grashoefer@cern.ch in From (SMTP::IN_FROM), and in To
    // (SMTP::IN_TO) jan.grashoefer@gmail.com, jan.grashofer@cern.ch,
    // name-addr@example.com, addr-spec@example.com, angle-addr@example.com.
    // (Zeek's log order within To is not the header order.)
    const ZEEK_CLIENT: &[u8] = b"EHLO gras-os-desk.cern.ch\r\n\
MAIL From:<root@gras-os-desk.cern.ch> SIZE=695\r\n\
RCPT To:<jan.grashofer@cern.ch>\r\n\
DATA\r\n";
    const ZEEK_MESSAGE: &[u8] = b"Received: from gras-os-desk.cern.ch (localhost [127.0.0.1])\r\n\
\tby gras-os-desk.cern.ch (8.14.7/8.14.7) with ESMTP id tB8LU1sU014630;\r\n\
\tTue, 8 Dec 2015 22:30:01 +0100\r\n\
Received: (from root@localhost)\r\n\
\tby gras-os-desk.cern.ch (8.14.7/8.14.7/Submit) id tB8LU0vs014629;\r\n\
\tTue, 8 Dec 2015 22:30:00 +0100\r\n\
Date: Tue, 8 Dec 2015 22:30:00 +0100\r\n\
Message-Id: <201512082130.tB8LU0vs014629@gras-os-desk.cern.ch>\r\n\
To: \"Jan Grashoefer\" <jan.grashoefer@gmail.com>,\r\n        \
\"Test Group\":addr-spec@example.com, <angle-addr@example.com>,\r\n        \
\"Test Member\" <name-addr@example.com>;, jan.grashofer@cern.ch\r\n\
From: jan.grashoefer@cern.ch (Jan Grashoefer)\r\n\
Subject: Testmail\r\n\
\r\n\
This is a test mail.\r\n";

    fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
        b.split(|&c| c == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).filter(|l| !l.is_empty())
    }

    #[test]
    fn zeek_envelope() {
        let cmds: Vec<Command<'_>> = lines(ZEEK_CLIENT).map(parse_command).collect();
        assert_eq!(
            cmds,
            [
                Command::Helo(b"gras-os-desk.cern.ch"),
                Command::MailFrom(b"root@gras-os-desk.cern.ch"),
                Command::RcptTo(b"jan.grashofer@cern.ch"),
                Command::Data,
            ]
        );
    }

    /// Unfolds the headers of ZEEK_MESSAGE the way a caller would: a
    /// continuation line is appended (CRLF kept) to the header before it.
    fn unfolded_headers(msg: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        for line in msg.split(|&c| c == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)) {
            if line.is_empty() {
                break;
            }
            if is_continuation(line) {
                let last = out.last_mut().unwrap();
                last.1.extend_from_slice(b"\r\n");
                last.1.extend_from_slice(line);
            } else {
                let (name, value) = header_name(line).unwrap();
                out.push((String::from_utf8(name.to_vec()).unwrap(), value.to_vec()));
            }
        }
        out
    }

    #[test]
    fn zeek_headers() {
        let headers = unfolded_headers(ZEEK_MESSAGE);
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Received", "Received", "Date", "Message-Id", "To", "From", "Subject"]);
        let to = &headers[4].1;
        assert_eq!(
            addrs(to),
            [
                "jan.grashoefer@gmail.com",
                "addr-spec@example.com",
                "angle-addr@example.com",
                "name-addr@example.com",
                "jan.grashofer@cern.ch"
            ]
        );
        assert_eq!(addrs(&headers[5].1), ["jan.grashoefer@cern.ch"]);
        // The raw folded bytes work as well as the joined value.
        let start = ZEEK_MESSAGE.windows(4).position(|w| w == b"To: ").unwrap() + 4;
        let end = ZEEK_MESSAGE.windows(6).position(|w| w == b"\r\nFrom").unwrap();
        assert_eq!(addrs(&ZEEK_MESSAGE[start..end]), addrs(to));
    }

    #[test]
    fn mail_and_rcpt_forms() {
        let cases: [(&[u8], Command<'_>); 17] = [
            (b"MAIL FROM:<a@b.example>", Command::MailFrom(b"a@b.example")),
            (b"mail from:<a@b.example>", Command::MailFrom(b"a@b.example")),
            (b"MAIL FROM: <a@b.example> SIZE=12 BODY=8BITMIME", Command::MailFrom(b"a@b.example")),
            (b"MAIL FROM:<>", Command::MailFrom(b"")),
            (b"MAIL FROM:a@b.example\tSIZE=1", Command::MailFrom(b"a@b.example")),
            (b"MAIL FROM:<> SIZE=0\r", Command::MailFrom(b"")),
            (b"MAIL FROM:a@b.example SIZE=1", Command::MailFrom(b"a@b.example")),
            (b"MAIL FROM :<a@b.example>", Command::MailFrom(b"a@b.example")),
            (b"RCPT TO:<@relay1.example,@relay2.example:user@host.example>", Command::RcptTo(b"user@host.example")),
            (b"RCPT TO:<@[IPv6:2001:db8::1]:user@host.example>", Command::RcptTo(b"user@host.example")),
            (b"RCPT TO:<\"odd>local\"@host.example> NOTIFY=NEVER", Command::RcptTo(b"\"odd>local\"@host.example")),
            (b"RCPT TO:<Postmaster>", Command::RcptTo(b"Postmaster")),
            (b"rcpt to:< spaced@host.example >", Command::RcptTo(b"spaced@host.example")),
            (b"RCPT TO:<a@b.example", Command::Other),
            (b"RCPT TO:<@relay.example>", Command::Other),
            (b"MAIL TO:<a@b.example>", Command::Other),
            (b"MAIL FROM:", Command::Other),
        ];
        for (line, want) in cases {
            assert_eq!(parse_command(line), want, "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn other_commands() {
        let cases: [(&[u8], Command<'_>); 16] = [
            (b"DATA", Command::Data),
            (b"data \r", Command::Data),
            (b"DATA x", Command::Other),
            (b"BDAT 1000", Command::Bdat),
            (b"BDAT 0 LAST", Command::Bdat),
            (b"BDAT x", Command::Other),
            (b"RSET", Command::Rset),
            (b"QUIT", Command::Quit),
            (b"quit", Command::Quit),
            (b"HELO  mx.example ", Command::Helo(b"mx.example")),
            (b"EHLO", Command::Helo(b"")),
            (b"EHLO [192.0.2.1]", Command::Helo(b"[192.0.2.1]")),
            (b"NOOP", Command::Other),
            (b"STARTTLS", Command::Other),
            (b"", Command::Other),
            (b"DATAX", Command::Other),
        ];
        for (line, want) in cases {
            assert_eq!(parse_command(line), want, "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn bdat() {
        assert_eq!(parse_bdat(b"BDAT 1000"), Some((1000, false)));
        assert_eq!(parse_bdat(b"bdat 0 last\r"), Some((0, true)));
        assert_eq!(parse_bdat(b"BDAT 18446744073709551615"), Some((u64::MAX, false)));
        assert_eq!(parse_bdat(b"BDAT 18446744073709551616"), None);
        assert_eq!(parse_bdat(b"BDAT"), None);
        assert_eq!(parse_bdat(b"BDAT -1"), None);
        assert_eq!(parse_bdat(b"BDAT 1 FIRST"), None);
        assert_eq!(parse_bdat(b"BDAT 1  LAST"), None);
    }

    #[test]
    fn address_list_forms() {
        let cases: [(&[u8], &[&str]); 21] = [
            (b"a@b.example", &["a@b.example"]),
            (b"<a@b.example>", &["a@b.example"]),
            (b"John <a@b.example>", &["a@b.example"]),
            (b"\"Doe, John\" <a@b.example>, c@d.example", &["a@b.example", "c@d.example"]),
            (b"\"x <y@z.example>, @\" <a@b.example>", &["a@b.example"]),
            (b"Doe, John <a@b.example>", &["a@b.example"]),
            (b"a@b.example (A (nested, <x@y>) comment), (c) c@d.example (d)", &["a@b.example", "c@d.example"]),
            (b"undisclosed-recipients:;", &[]),
            (b"undisclosed: a@b.example, c@d.example;", &["a@b.example", "c@d.example"]),
            (b"g1: a@b.example;, g2: <c@d.example>; , e@f.example", &["a@b.example", "c@d.example", "e@f.example"]),
            (b"\"a,b\"@c.example, \"q\\\"x\"@d.example", &["\"a,b\"@c.example", "\"q\\\"x\"@d.example"]),
            (b"<@route.example:a@b.example>", &["a@b.example"]),
            (b"u@[IPv6:2001:db8::1], <v@[192.0.2.1]>", &["u@[IPv6:2001:db8::1]", "v@[192.0.2.1]"]),
            (b"  <  a@b.example  >  ", &["a@b.example"]),
            (b"<>, Name Only, <nobody>", &[]),
            (b"", &[]),
            (b",,;;::", &[]),
            (b"John Smith john@x.example", &["john@x.example"]),
            (b"\"unclosed <a@b.example>", &[]),
            (b"Name <a@b.example", &["a@b.example"]),
            // Found by fuzzing: an unclosed literal runs to the end, the
            // trailing CR is not part of the address.
            (b"a@b[x> SIZE=1\r", &["a@b[x> SIZE=1"]),
        ];
        for (v, want) in cases {
            assert_eq!(addrs(v), want, "{:?}", String::from_utf8_lossy(v));
        }
    }

    #[test]
    fn addresses_are_slices_of_the_input() {
        let v: &[u8] = b"\"Doe, John\" <a@b.example>,\r\n\t(c) c@d.example";
        let range = v.as_ptr_range();
        for a in header_addresses(v) {
            assert!(range.contains(&a.as_ptr()) && a.as_ptr_range().end <= range.end);
        }
        let mut it = header_addresses(b"a@b");
        assert_eq!(it.next(), Some(&b"a@b"[..]));
        assert_eq!((it.next(), it.next()), (None, None));
    }

    #[test]
    fn header_lines() {
        assert_eq!(header_name(b"From: a@b (x)\r"), Some((&b"From"[..], &b"a@b (x)"[..])));
        assert_eq!(header_name(b"To:a@b"), Some((&b"To"[..], &b"a@b"[..])));
        assert_eq!(header_name(b"Subject :  hi  "), Some((&b"Subject"[..], &b"hi"[..])));
        assert_eq!(header_name(b"X-Empty:"), Some((&b"X-Empty"[..], &b""[..])));
        assert_eq!(header_name(b" continued: line"), None);
        assert_eq!(header_name(b"\tcontinued"), None);
        assert_eq!(header_name(b"From a@b Tue Dec  8 22:30:00 2015"), None);
        assert_eq!(header_name(b"no colon here"), None);
        assert_eq!(header_name(b": empty name"), None);
        assert_eq!(header_name(b""), None);
        assert_eq!(header_name("Tö: x".as_bytes()), None);
        assert!(is_continuation(b" x") && is_continuation(b"\tx"));
        assert!(!is_continuation(b"x") && !is_continuation(b""));
    }
}
