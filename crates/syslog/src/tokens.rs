//! Indicator tokens in free text: IPv4 and IPv6 addresses, domain names,
//! URLs, e-mail addresses and MD5/SHA-1/SHA-256 hashes, found in one
//! linear pass over the message with a byte-class table, without
//! allocation and without regular expressions.
//!
//! # How the text is cut
//!
//! The scan skips bytes that can start no token and cuts the rest into
//! *segments*: maximal runs of `A-Z a-z 0-9 . - _ : % @ +` (and, with
//! [`TokenOptions::refang`], the defang sequences `[.]`, `(.)`, `{.}`,
//! `[dot]`, `[:]`, `[at]`, `[@]`). Every other byte (blank, `= , ; / \ < > [ ]
//! ( ) " ' #` …) is a boundary, so `SRC=1.2.3.4`, `from=<a@b.com>`,
//! `unknown[1.2.3.4]` and CSV fields all split where one expects. A segment
//! is first tried as an IPv6 address (whole, or after a leading word as in
//! Cisco's `outside:2001:db8::1`); otherwise it is cut at `:` into pieces
//! (so `1.2.3.4:443` gives the address and drops the port) and each piece,
//! with leading `. - + %` and trailing `. - _ + %` trimmed, is one of:
//!
//! * **Ipv4**: exactly four decimal octets 0–255 without leading zeros (as
//!   `std::net` parses them). `1.2.3.4.5`, `v1.2.3.4` and `1.2.3` are one
//!   piece each and so are never addresses; a bare `1.2.3.4` is, even when
//!   the log means a version.
//! * **Md5 / Sha1 / Sha256**: exactly 32 / 40 / 64 hex digits, the whole
//!   piece, with at least one digit and one letter. Longer hex runs, hex
//!   glued to other word characters (`x<md5>`, `<md5>.exe`) and UUIDs are
//!   not hashes.
//! * **Domain**: two or more labels of letters, digits, `-` (not at either
//!   end of a label) and `_` (SRV-style names such as `_ldap._tcp.example.com`),
//!   labels of 1–63 bytes, at most 253 bytes, the last label letters only
//!   (or `xn--…`) and the last label of a rule of the Public Suffix List
//!   (case-insensitive; the 1490 labels are compiled in, see `tokens/tlds.rs`,
//!   taken from the list of 2023-02-09 as Debian's `publicsuffix` package
//!   ships it, IDN TLDs in their `xn--` form). So `evil.example.com`, `bad.co.uk` and
//!   `xn--80ak6aa92e.com` are domains; `file.txt`, `report.pdf`,
//!   `invoice.pdf.exe`, `config.local` and `java.lang.String` are not. File
//!   names whose extension happens to be a TLD (`setup.py`, `run.sh`,
//!   `archive.zip`) are domains, except in a path (see below). A trailing
//!   dot (`example.com.`) is not part of the token. The one TLD left out is
//!   `java` (an unused brand TLD, and `Main.java` is in every Java stack
//!   frame); a segment right before `(` (a method in a stack frame,
//!   `com.example.app.Main.run(`) gives no domain from its last piece. Other
//!   identifiers that end in a TLD are domains (`System.Net`, `W32/Agent.XYZ`).
//! * **Email**: `local@domain` with a valid domain as above and a local part
//!   of 1–64 bytes of `A-Z a-z 0-9 . _ - + %` not starting or ending with a
//!   dot. It is reported as **Email** and then its domain again as
//!   **Domain**. Message-ids (`<id@host.example.com>`) look the same and
//!   are reported the same. With an invalid left side (`@8.8.8.8`,
//!   `root@10.0.0.1`) the part after the last `@` is classified alone.
//! * **Ipv6**: every form `std::net::Ipv6Addr` parses (compressed `::1`,
//!   `2001:db8::1`, embedded IPv4 `::ffff:1.2.3.4`), a zone id (`%eth0`) is
//!   not part of the token; `::` alone is not reported. MAC addresses
//!   (6 groups), times (`12:34:56`), and EUI-64-like hex dumps (8 groups of
//!   exactly two digits without `::`) are not addresses.
//!
//! **Paths.** A segment right after `/` or `\` is a path component or a
//! product version (`/var/www/setup.zip`, `/tmp/eicar.com`,
//! `Chrome/120.0.0.0`) unless the slash is doubled (`//cdn.example.com`,
//! `\\10.0.0.5\share`) or follows an upper-case word such as squid's
//! hierarchy codes (`HIER_DIRECT/93.184.216.34`) other than Opera's `OPR`;
//! its first piece yields no address, domain or e-mail token (hashes still
//! count).
//!
//! **URLs** start with `http://`, `https://` or `ftp://` (any case; with
//! refang also `hxxp://`, `hxxps://` and `[:]//` for `://`) at a word start,
//! need a non-empty host followed by the end of the authority (a port, `/`,
//! `?`, `#` or the end of the URL: `http://evil[.]com` without refang is no
//! URL), and run to a blank, a control byte, one of
//! ``" ' < > ` \ ^ { } |``, or a `)` / `]` that closes nothing opened inside
//! the URL; trailing `. , ; : ! ?` are trimmed. A URL is reported as **Url**
//! and then its host as **Ipv4**, **Ipv6** (inside `[...]`, zone stripped)
//! or **Domain** when it is one (`http://localhost/` gives only the Url).
//! The text of a URL is not otherwise scanned (no tokens from its path or
//! query).
//!
//! **Cost.** Every byte is looked at a bounded number of times: the scan is
//! one table lookup per byte, a segment is classified only when it holds a
//! `.`, `:` or `@` or has a hash's length, URL attempts stop at the first
//! `/`, and an IPv6 attempt at 46 bytes. Nothing allocates; a defanged
//! segment is refanged into a stack buffer. About 2 M lines/s (~290 MB/s)
//! on one core for the table test's lines.
//!
//! Tokens come in strictly increasing `offset` order. A token is
//! `defanged` when its text contains a defang sequence or `hxxp`; feed it
//! through [`refang`] before matching. Defanged segments longer than
//! [`MAX_DEFANGED`] bytes are skipped.

mod classify;
mod tlds;
mod url;

pub use classify::public_suffix;
use classify::{classify_segment, host, ipv6, trim};
use url::{parse_url, url_scheme};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Ipv4,
    Ipv6,
    Domain,
    Url,
    Email,
    Md5,
    Sha1,
    Sha256,
}

/// One indicator found in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: TokenKind,
    /// The text as it appears in the message.
    pub text: &'a [u8],
    /// Where `text` starts in the scanned buffer.
    pub offset: usize,
    /// True when it was written defanged (`hxxp`, `[.]`, `(.)`, `[:]`) and
    /// must be refanged before matching.
    pub defanged: bool,
}

/// What the scan accepts.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenOptions {
    /// Also recognise defanged indicators (`hxxp://evil[.]com`,
    /// `user[at]example[.]com`, `10.0.0[.]1`).
    pub refang: bool,
}

/// Defanged segments (after refanging) longer than this are skipped: no
/// single indicator is that long, and the refanged copy lives on the stack.
pub const MAX_DEFANGED: usize = 512;

const SEG: u16 = 1; // may be inside a segment
const ALNUM: u16 = 2;
const HEX: u16 = 4;
const DIGIT: u16 = 8;
const LABEL: u16 = 16; // letter, digit, '-', '_'
const URL_STOP: u16 = 32; // ends a URL
const HOST: u16 = 64; // a host character in a URL
const PUNCT: u16 = 128; // '.', ':', '@': a segment without one can only be a hash
const SCHEME: u16 = 256; // h, f: may start a URL
const OPEN: u16 = 512; // [, (, {: may start a defang sequence

const fn build_classes() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b.is_ascii_alphanumeric() {
            c |= SEG | ALNUM | LABEL | HOST;
        }
        if b.is_ascii_hexdigit() {
            c |= HEX;
        }
        if b.is_ascii_digit() {
            c |= DIGIT;
        }
        match b {
            b'-' | b'_' => c |= SEG | LABEL | HOST,
            b'.' => c |= SEG | HOST | PUNCT,
            b'%' => c |= SEG | HOST,
            b':' | b'@' => c |= SEG | PUNCT,
            b'+' => c |= SEG,
            b'[' | b'(' | b'{' => c |= OPEN,
            _ => {}
        }
        if matches!(b, b'h' | b'H' | b'f' | b'F') {
            c |= SCHEME;
        }
        if b <= b' ' || b == 0x7f || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`' | b'\\' | b'^' | b'{' | b'}' | b'|')
        {
            c |= URL_STOP;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CLASS: [u16; 256] = build_classes();

#[inline(always)]
fn class(b: u8) -> u16 {
    CLASS[b as usize]
}

#[inline(always)]
fn is(b: u8, c: u16) -> bool {
    class(b) & c != 0
}

/// A defang sequence at `k`: the byte it stands for and its length.
#[inline]
fn defang(t: &[u8], k: usize) -> Option<(u8, usize)> {
    let r = t.get(k..)?;
    let open = *r.first()?;
    let close = match open {
        b'[' => b']',
        b'(' => b')',
        b'{' => b'}',
        _ => return None,
    };
    if r.len() >= 3 && r[2] == close {
        match r[1] {
            b'.' => return Some((b'.', 3)),
            b':' if open == b'[' => return Some((b':', 3)),
            b'@' if open == b'[' => return Some((b'@', 3)),
            _ => {}
        }
    }
    if open == b'[' && r.len() >= 4 && r[1] | 0x20 == b'a' && r[2] | 0x20 == b't' && r[3] == b']' {
        return Some((b'@', 4));
    }
    if r.len() >= 5 && r[1..4].eq_ignore_ascii_case(b"dot") && r[4] == close {
        return Some((b'.', 5));
    }
    None
}

/// Where tokens of one segment go: maps positions in the (possibly
/// refanged) segment back to the text.
struct Sink<'a, 'm, 'o> {
    text: &'a [u8],
    base: usize,
    /// For a refanged segment, the offset in `text` (from `base`) of each
    /// refanged byte, plus one entry for the end.
    map: Option<&'m [u16]>,
    out: &'o mut dyn FnMut(Token<'a>),
}

impl<'a> Sink<'a, '_, '_> {
    #[inline]
    fn pos(&self, k: usize) -> usize {
        self.base + self.map.map_or(k, |m| m[k] as usize)
    }

    #[inline]
    fn emit(&mut self, kind: TokenKind, a: usize, b: usize) {
        let (s, e) = (self.pos(a), self.pos(b));
        if let Some(text) = self.text.get(s..e) {
            (self.out)(Token { kind, text, offset: s, defanged: e - s != b - a });
        }
    }
}

/// Scans `text` once and hands every token to `out`, in order of
/// appearance. See the module documentation for what counts as a token.
pub fn tokens<'a>(text: &'a [u8], opts: TokenOptions, out: &mut dyn FnMut(Token<'a>)) {
    let n = text.len();
    let refang = opts.refang;
    let mut i = 0;
    while i < n {
        let c = class(text[i]);
        if c & SEG == 0 && !(refang && c & OPEN != 0 && defang(text, i).is_some()) {
            i += 1;
            continue;
        }
        // A segment starts at `i`; the byte before it is no letter or digit.
        let mut j = i;
        let mut defanged = false;
        let mut url = None;
        let mut seen = 0;
        let mut prev_alnum = false;
        while j < n {
            let c = class(text[j]);
            seen |= c;
            if c & SEG != 0 {
                if c & SCHEME != 0 && !prev_alnum {
                    url = parse_url(text, j, refang);
                    if url.is_some() {
                        break;
                    }
                }
                prev_alnum = c & ALNUM != 0;
                j += 1;
            } else if refang
                && c & OPEN != 0
                && let Some((_, l)) = defang(text, j)
            {
                defanged = true;
                prev_alnum = false;
                j += l;
            } else {
                break;
            }
        }
        // Without `.`, `:` or `@` only a hash (32 to 64 bytes, some trimmed) can be there.
        if j > i && (defanged || seen & PUNCT != 0 || (32..=72).contains(&(j - i))) {
            let ctx = path_context(text, i);
            let call = url.is_none() && text.get(j) == Some(&b'(');
            with_segment(text, i, j, defanged, out, |seg, sink| classify_segment(seg, ctx, call, sink));
        }
        match url {
            Some(u) => {
                (out)(Token { kind: TokenKind::Url, text: &text[j..u.end], offset: j, defanged: u.defanged });
                let (hs, he) = u.host;
                if u.bracket {
                    let seg = &text[hs..he];
                    let end = seg.iter().position(|&b| b == b'%').unwrap_or(seg.len());
                    if ipv6(&seg[..end]) {
                        (out)(Token { kind: TokenKind::Ipv6, text: &seg[..end], offset: hs, defanged: false });
                    }
                } else {
                    let def = u.defanged && text[hs..he].iter().any(|&b| matches!(b, b'[' | b'(' | b'{'));
                    with_segment(text, hs, he, def, out, |seg, sink| {
                        let (a, b) = trim(seg, 0, seg.len());
                        host(seg, a, b, false, false, sink);
                    });
                }
                i = u.end;
            }
            None => i = j,
        }
    }
}

/// Runs `f` over `text[s..e]`, refanged into a stack buffer when it holds
/// defang sequences.
fn with_segment<'a>(
    text: &'a [u8],
    s: usize,
    e: usize,
    defanged: bool,
    out: &mut dyn FnMut(Token<'a>),
    f: impl FnOnce(&[u8], &mut Sink<'a, '_, '_>),
) {
    if !defanged {
        let mut sink = Sink { text, base: s, map: None, out };
        f(&text[s..e], &mut sink);
        return;
    }
    let mut buf = [0u8; MAX_DEFANGED];
    let mut map = [0u16; MAX_DEFANGED + 1];
    let mut len = 0;
    let mut k = s;
    while k < e {
        if len == MAX_DEFANGED {
            return;
        }
        let (b, l) = defang(text, k).filter(|&(_, l)| k + l <= e).unwrap_or((text[k], 1));
        buf[len] = b;
        map[len] = (k - s) as u16;
        len += 1;
        k += l;
    }
    map[len] = (e - s) as u16;
    let mut sink = Sink { text, base: s, map: Some(&map[..=len]), out };
    f(&buf[..len], &mut sink);
}

/// Whether a segment starting at `s` is a path component or a product
/// version (see the module documentation).
fn path_context(text: &[u8], s: usize) -> bool {
    if s == 0 {
        return false;
    }
    let slash = text[s - 1];
    if slash != b'/' && slash != b'\\' {
        return false;
    }
    if s >= 2 && text[s - 2] == slash {
        return false;
    }
    let mut k = s - 1;
    let mut word = 0;
    let mut lower = false;
    while k > 0 && word < 64 {
        let c = text[k - 1];
        if !is(c, LABEL) {
            break;
        }
        lower |= c.is_ascii_lowercase();
        k -= 1;
        word += 1;
    }
    // Opera's product token is the one upper-case product name in user agents.
    word == 0 || lower || &text[k..s - 1] == b"OPR"
}

/// Refangs a defanged token into `buf` (`hxxp`→`http`, `[.]`/`(.)`/`{.}`/`[dot]`→`.`,
/// `[:]`→`:`, `[at]`/`[@]`→`@`), returning the clean text. The result is never
/// longer than `text`.
pub fn refang<'b>(text: &[u8], buf: &'b mut Vec<u8>) -> &'b [u8] {
    buf.clear();
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if matches!(b, b'[' | b'(' | b'{')
            && let Some((c, l)) = defang(text, i)
        {
            buf.push(c);
            i += l;
            continue;
        }
        if b | 0x20 == b'h'
            && (i == 0 || !is(text[i - 1], ALNUM))
            && text[i + 1..].first().is_some_and(|&c| c | 0x20 == b'x')
            && url_scheme(text, i, true).is_some()
        {
            buf.extend_from_slice(b"http");
            i += 4;
            continue;
        }
        buf.push(b);
        i += 1;
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str, refang: bool) -> Vec<(TokenKind, String, bool)> {
        let mut v = Vec::new();
        tokens(s.as_bytes(), TokenOptions { refang }, &mut |t| {
            v.push((t.kind, String::from_utf8_lossy(t.text).into_owned(), t.defanged))
        });
        v
    }

    #[test]
    fn tld_table_is_sorted_and_lower_case() {
        assert!(tlds::TLDS.windows(2).all(|w| w[0] < w[1]));
        assert!(classify::SHORT_TLDS.windows(2).all(|w| w[0] < w[1]));
        for t in tlds::TLDS {
            assert_eq!(public_suffix(t), *t != b"java", "{t:?}");
        }
        assert!(tlds::TLDS.iter().all(|t| t.iter().all(|c| !c.is_ascii_uppercase())));
        assert!(public_suffix(b"COM") && public_suffix(b"uk") && public_suffix(b"XN--P1AI"));
        assert!(!public_suffix(b"exe") && !public_suffix(b"local") && !public_suffix(b"txt"));
    }

    #[test]
    fn defanged() {
        use TokenKind::*;
        let v = all("hxxps://evil[.]example[.]com/a[.]php and 10.0.0[.]1 x[at]bad(.)co(.)uk", true);
        assert_eq!(
            v,
            vec![
                (Url, "hxxps://evil[.]example[.]com/a[.]php".into(), true),
                (Domain, "evil[.]example[.]com".into(), true),
                (Ipv4, "10.0.0[.]1".into(), true),
                (Email, "x[at]bad(.)co(.)uk".into(), true),
                (Domain, "bad(.)co(.)uk".into(), true),
            ]
        );
        assert!(all("hxxps://evil[.]example[.]com/", false).is_empty());
        let mut buf = Vec::new();
        assert_eq!(refang(b"hxxps[:]//evil[.]example{.}com/x", &mut buf), b"https://evil.example.com/x");
        assert_eq!(refang(b"x[at]bad(.)co[dot]uk", &mut buf), b"x@bad.co.uk");
    }
}
