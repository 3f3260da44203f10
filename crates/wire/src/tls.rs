//! TLS ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2), from the first
//! TCP segment(s) of a client-to-server stream.
//!
//! [`parse_client_hello`] reads the first record only (records are not
//! reassembled) and walks the hello as far as the bytes go: session id,
//! cipher suites, compression methods and the extensions, of which it keeps
//! server_name (0, the first `host_name`), ALPN (16, the first protocol) and
//! supported_versions (43, the highest value that is not GREASE).
//!
//! Every length is checked twice. A length that overruns the structure that
//! encloses it (as declared by the enclosing length field) is an error
//! ([`TlsError::BadLength`], or [`TlsError::BadExtension`] inside the three
//! extensions read). A length that only overruns the bytes at hand (the
//! segment ended, or the hello continues in a second record) is truncation:
//! if the server_name extension was complete before the cut the result is
//! `Ok` with `complete == false`, otherwise [`TlsError::Truncated`].
//!
//! Decisions:
//! * Record type 22 with version 0x0300..=0x0304 is required (SSLv2-style
//!   hellos are [`TlsError::NotHandshake`]); a record length of 0 or above
//!   2^14 is `BadLength`. A payload too short to tell (under 5 bytes,
//!   empty included) is `Truncated` unless a byte already disagrees.
//! * `client_version` is reported as sent, not checked.
//! * A second server_name, ALPN or supported_versions extension is
//!   `BadExtension` (RFC 8446 §4.2 forbids duplicates; reading the first
//!   when a server reads the last would be an evasion).
//! * server_name: the list must be non-empty and exactly fill the
//!   extension, every entry must fit, a `host_name` must be non-empty; the
//!   name is returned as sent (not lowercased or validated). A
//!   server_name extension without a `host_name` entry counts as seen for
//!   the truncation rule and gives `sni == None`.
//! * ALPN: the list must be non-empty and exactly fill the extension; every
//!   protocol name must be non-empty.
//! * supported_versions: the list length must be even, non-zero and exactly
//!   fill the extension; the maximum is numeric (a draft value such as
//!   0x7f1c beats 0x0304); `None` when all values are GREASE.
//! * The extensions block, when present, must end exactly where the hello
//!   ends; a hello without extensions (ending after the compression
//!   methods) is valid.

use crate::be16;
use core::fmt;

pub const RECORD_HEADER_LEN: usize = 5;
/// Largest plaintext record fragment (RFC 8446 §5.1).
pub const MAX_RECORD_LEN: usize = 1 << 14;
pub const CONTENT_TYPE_HANDSHAKE: u8 = 22;
pub const HANDSHAKE_CLIENT_HELLO: u8 = 1;
pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_ALPN: u16 = 16;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
/// server_name entry type `host_name`.
pub const NAME_TYPE_HOST_NAME: u8 = 0;

/// What a ClientHello says about where the client wants to go. Slices
/// borrow the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientHello<'a> {
    /// Version in the record header (usually 0x0301).
    pub record_version: u16,
    /// `legacy_version` of the hello (0x0303 for TLS 1.2 and 1.3).
    pub client_version: u16,
    /// First `host_name` of the server_name extension.
    pub sni: Option<&'a [u8]>,
    /// First protocol of the ALPN extension.
    pub alpn_first: Option<&'a [u8]>,
    /// Highest non-GREASE value of supported_versions.
    pub supported_versions_max: Option<u16>,
    /// whole hello present
    pub complete: bool,
}

/// Why a payload does not yield a ClientHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TlsError {
    /// Not a TLS handshake record (type 22, version 3.0..=3.4).
    NotHandshake,
    /// A handshake record whose first message is not a ClientHello.
    NotClientHello,
    /// Cut off before the server_name extension was complete.
    Truncated,
    /// A record, handshake or hello length field that overruns its
    /// enclosing structure or is out of range.
    BadLength,
    /// Malformed server_name, ALPN or supported_versions content, or one of
    /// them twice.
    BadExtension,
}

impl TlsError {
    /// Stable counter key, e.g. `tls.not_handshake`.
    pub const fn reason(&self) -> &'static str {
        match self {
            TlsError::NotHandshake => "tls.not_handshake",
            TlsError::NotClientHello => "tls.not_client_hello",
            TlsError::Truncated => "tls.truncated",
            TlsError::BadLength => "tls.bad_length",
            TlsError::BadExtension => "tls.bad_extension",
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for TlsError {}

/// RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ..., 0xfafa.
pub const fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Parses the ClientHello in the first TLS record of `payload`.
pub fn parse_client_hello(payload: &[u8]) -> Result<ClientHello<'_>, TlsError> {
    match payload {
        [] => return Err(TlsError::Truncated),
        [t, ..] if *t != CONTENT_TYPE_HANDSHAKE => return Err(TlsError::NotHandshake),
        [_, major, ..] if *major != 3 => return Err(TlsError::NotHandshake),
        [_, _, minor, ..] if *minor > 4 => return Err(TlsError::NotHandshake),
        _ if payload.len() < RECORD_HEADER_LEN => return Err(TlsError::Truncated),
        _ => {}
    }
    let record_version = be16(payload, 1);
    let record_len = be16(payload, 3) as usize;
    if record_len == 0 || record_len > MAX_RECORD_LEN {
        return Err(TlsError::BadLength);
    }
    let record = payload.get(RECORD_HEADER_LEN..).unwrap_or(&[]);
    let record = record.get(..record_len.min(record.len())).unwrap_or(&[]);

    let hs_len = match record {
        [] => return Err(TlsError::Truncated),
        [t, ..] if *t != HANDSHAKE_CLIENT_HELLO => return Err(TlsError::NotClientHello),
        [_, a, b, c, ..] => u32::from_be_bytes([0, *a, *b, *c]) as usize,
        _ => return Err(TlsError::Truncated),
    };
    let body = record.get(4..).unwrap_or(&[]);
    let body = body.get(..hs_len.min(body.len())).unwrap_or(&[]);

    let mut hello = ClientHello {
        record_version,
        client_version: 0,
        sni: None,
        alpn_first: None,
        supported_versions_max: None,
        complete: false,
    };
    let mut seen = Seen::default();
    let mut cur = Cursor { buf: body, pos: 0, end: hs_len };
    match walk(&mut cur, &mut hello, &mut seen) {
        Ok(()) => {
            hello.complete = true;
            Ok(hello)
        }
        Err(Stop::Bad(e)) => Err(e),
        Err(Stop::Cut) if seen.sni => Ok(hello),
        Err(Stop::Cut) => Err(TlsError::Truncated),
    }
}

/// Why the walk stopped early.
enum Stop {
    /// A field overruns what is declared: malformed.
    Bad(TlsError),
    /// A field overruns the bytes at hand: truncated.
    Cut,
}

#[derive(Default)]
struct Seen {
    sni: bool,
    alpn: bool,
    versions: bool,
}

/// Reads fields from the available bytes `buf` of a structure declared to
/// be `end` bytes long (`buf.len() <= end`).
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Stop> {
        let stop = self.pos.checked_add(n).ok_or(Stop::Bad(TlsError::BadLength))?;
        if stop > self.end {
            return Err(Stop::Bad(TlsError::BadLength));
        }
        let s = self.buf.get(self.pos..stop).ok_or(Stop::Cut)?;
        self.pos = stop;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, Stop> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }
    fn u16(&mut self) -> Result<u16, Stop> {
        Ok(be16(self.take(2)?, 0))
    }
}

fn walk<'a>(c: &mut Cursor<'a>, hello: &mut ClientHello<'a>, seen: &mut Seen) -> Result<(), Stop> {
    const BAD_LENGTH: Stop = Stop::Bad(TlsError::BadLength);
    hello.client_version = c.u16()?;
    c.take(32)?; // random
    let session_id_len = c.u8()? as usize;
    if session_id_len > 32 {
        return Err(BAD_LENGTH);
    }
    c.take(session_id_len)?;
    let suites_len = c.u16()? as usize;
    if suites_len < 2 || !suites_len.is_multiple_of(2) {
        return Err(BAD_LENGTH);
    }
    c.take(suites_len)?;
    let compression_len = c.u8()? as usize;
    if compression_len == 0 {
        return Err(BAD_LENGTH);
    }
    c.take(compression_len)?;
    if c.pos == c.end {
        return Ok(()); // no extensions
    }
    let extensions_len = c.u16()? as usize;
    if c.pos.checked_add(extensions_len) != Some(c.end) {
        return Err(BAD_LENGTH);
    }
    const BAD_EXTENSION: Stop = Stop::Bad(TlsError::BadExtension);
    while c.pos < c.end {
        let ext_type = c.u16()?;
        let len = c.u16()? as usize;
        let data = c.take(len)?;
        match ext_type {
            EXT_SERVER_NAME => {
                if core::mem::replace(&mut seen.sni, true) {
                    return Err(BAD_EXTENSION);
                }
                hello.sni = server_name(data).map_err(|()| BAD_EXTENSION)?;
            }
            EXT_ALPN => {
                if core::mem::replace(&mut seen.alpn, true) {
                    return Err(BAD_EXTENSION);
                }
                hello.alpn_first = Some(alpn_first(data).map_err(|()| BAD_EXTENSION)?);
            }
            EXT_SUPPORTED_VERSIONS => {
                if core::mem::replace(&mut seen.versions, true) {
                    return Err(BAD_EXTENSION);
                }
                hello.supported_versions_max = versions_max(data).map_err(|()| BAD_EXTENSION)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first `host_name` of a complete server_name extension body.
fn server_name(d: &[u8]) -> Result<Option<&[u8]>, ()> {
    let list = d.get(2..).ok_or(())?;
    if list.is_empty() || be16(d, 0) as usize != list.len() {
        return Err(());
    }
    let mut name = None;
    let mut rest = list;
    while let [typ, l0, l1, tail @ ..] = rest {
        let len = u16::from_be_bytes([*l0, *l1]) as usize;
        let value = tail.get(..len).ok_or(())?;
        rest = tail.get(len..).ok_or(())?;
        if *typ == NAME_TYPE_HOST_NAME {
            if value.is_empty() {
                return Err(());
            }
            name = name.or(Some(value));
        }
    }
    if rest.is_empty() { Ok(name) } else { Err(()) }
}

/// The first protocol of a complete ALPN extension body.
fn alpn_first(d: &[u8]) -> Result<&[u8], ()> {
    let list = d.get(2..).ok_or(())?;
    if list.is_empty() || be16(d, 0) as usize != list.len() {
        return Err(());
    }
    let mut first = None;
    let mut rest = list;
    while let [len, tail @ ..] = rest {
        let len = *len as usize;
        if len == 0 {
            return Err(());
        }
        let value = tail.get(..len).ok_or(())?;
        rest = tail.get(len..).ok_or(())?;
        first = first.or(Some(value));
    }
    first.ok_or(())
}

/// The highest non-GREASE version of a complete ClientHello
/// supported_versions extension body.
fn versions_max(d: &[u8]) -> Result<Option<u16>, ()> {
    let Some((&len, list)) = d.split_first() else { return Err(()) };
    if len == 0 || !len.is_multiple_of(2) || len as usize != list.len() {
        return Err(());
    }
    Ok(list.chunks_exact(2).map(|v| u16::from_be_bytes([v[0], v[1]])).filter(|&v| !is_grease(v)).max())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        s.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
    }

    // ClientHellos made by OpenSSL 3.0.19 through Python's ssl module
    // (SSLContext(PROTOCOL_TLS_CLIENT).wrap_bio(..., server_hostname=...),
    // do_handshake() once, the bytes written to the outgoing MemoryBIO). The
    // expected values are the ones put in: server_hostname, the ALPN list,
    // and maximum_version (TLS 1.3 by default, so supported_versions
    // 0x0304, 0x0303). The testdata captures hold no TLS.
    //
    // A: server_hostname="example.com", ALPN ["h2", "http/1.1"]; 517 bytes,
    // padding extension at the end.
    const OPENSSL_A: &str = "1603010200010001fc0303ada6c1ad4aeaef00febd6b5735349789c17bcd745ab0a3aae676eb25c25f766a2050ab38fea6d6\
        162bb4bc18e3609e6c006a4feef55cd1def9cdbd8f27a0e5bbf40024130213031301c02cc030c02bc02fcca9cca8c024c028c023\
        c027009f009e006b006700ff0100018f00000010000e00000b6578616d706c652e636f6d000b000403000102000a00160014001d\
        0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d002a\
        0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b0005040304030300\
        2d00020101003300260024001d0020f7c20ece3f7a1945d9de03d7113c3ad193326b9950a42c27172098aaf38df358001500d000\
        00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
    // B: server_hostname="www.example.org", maximum_version=TLSv1_2 (no
    // supported_versions extension), no ALPN; 186 bytes.
    const OPENSSL_B: &str = "16030100b5010000b103030b8ac5c9367ea6f92bec4b76689d69838601f6b3107b9b212e52cd1f54991fac00001ec02cc030\
        c02bc02fcca9cca8c024c028c023c027009f009e006b006700ff0100006a00000014001200000f7777772e6578616d706c652e6f\
        7267000b000403000102000a000c000a001d0017001e00190018002300000016000000170000000d002a00280403050306030807\
        08080809080a080b080408050806040105010601030303010302040205020602";
    // "The Illustrated TLS 1.2 Connection" (tls12.xargs.org, by Michael
    // Driscoll), the annotated ClientHello: SNI example.ulfheim.net (the
    // page's annotation), no ALPN, no supported_versions.
    const ULFHEIM_12: &str = "16 03 01 00 a5 01 00 00 a1 03 03 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 \
        12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 00 00 20 cc a8 cc a9 c0 2f c0 30 c0 2b c0 2c c0 13 c0 09 c0 14 c0 \
        0a 00 9c 00 9d 00 2f 00 35 c0 12 00 0a 01 00 00 58 00 00 00 18 00 16 00 00 13 65 78 61 6d 70 6c 65 2e 75 6c \
        66 68 65 69 6d 2e 6e 65 74 00 05 00 05 01 00 00 00 00 00 0a 00 0a 00 08 00 1d 00 17 00 18 00 19 00 0b 00 02 \
        01 00 00 0d 00 12 00 10 04 01 04 03 05 01 05 03 06 01 06 03 02 01 02 03 ff 01 00 01 00 00 12 00 00";

    #[test]
    fn openssl_tls13_hello() {
        let a = unhex(OPENSSL_A);
        assert_eq!(a.len(), 517);
        let h = parse_client_hello(&a).unwrap();
        assert_eq!(
            h,
            ClientHello {
                record_version: 0x0301,
                client_version: 0x0303,
                sni: Some(b"example.com"),
                alpn_first: Some(b"h2"),
                supported_versions_max: Some(0x0304),
                complete: true,
            }
        );
    }

    #[test]
    fn openssl_tls12_hello() {
        let b = unhex(OPENSSL_B);
        assert_eq!(b.len(), 186);
        let h = parse_client_hello(&b).unwrap();
        assert_eq!(h.sni, Some(&b"www.example.org"[..]));
        assert_eq!((h.alpn_first, h.supported_versions_max, h.complete), (None, None, true));
    }

    #[test]
    fn illustrated_tls12_hello() {
        let u = unhex(ULFHEIM_12);
        assert_eq!(u.len(), 5 + 0xa5);
        let h = parse_client_hello(&u).unwrap();
        assert_eq!(h.sni, Some(&b"example.ulfheim.net"[..]));
        assert_eq!((h.record_version, h.client_version, h.complete), (0x0301, 0x0303, true));
    }

    /// Offset just past the server_name extension of OPENSSL_A: record 5 +
    /// handshake 4 + version 2 + random 32 + session id 1+32 + suites
    /// 2+0x24 + compression 1+1 + extensions length 2 + server_name 4+0x10.
    const A_SNI_END: usize = 5 + 4 + 2 + 32 + 33 + 2 + 0x24 + 2 + 2 + 4 + 0x10;

    #[test]
    fn cut_at_every_offset() {
        let a = unhex(OPENSSL_A);
        assert_eq!(&a[A_SNI_END - 11..A_SNI_END], b"example.com");
        for cut in 0..a.len() {
            let r = parse_client_hello(&a[..cut]);
            if cut < A_SNI_END {
                assert_eq!(r, Err(TlsError::Truncated), "cut {cut}");
            } else {
                let h = r.unwrap();
                assert_eq!((h.sni, h.complete), (Some(&b"example.com"[..]), false), "cut {cut}");
                // ALPN (16) follows a few extensions later.
                if h.alpn_first.is_some() {
                    assert_eq!(h.alpn_first, Some(&b"h2"[..]));
                }
            }
        }
    }

    /// Builds a record holding one ClientHello with the given extensions
    /// (`None`: no extensions block at all).
    fn build(exts: Option<&[(u16, Vec<u8>)]>) -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&[0x00, 0x04, 0x13, 0x01, 0x13, 0x02, 0x01, 0x00]);
        if let Some(exts) = exts {
            let mut block = Vec::new();
            for (t, d) in exts {
                block.extend_from_slice(&t.to_be_bytes());
                block.extend_from_slice(&(d.len() as u16).to_be_bytes());
                block.extend_from_slice(d);
            }
            body.extend_from_slice(&(block.len() as u16).to_be_bytes());
            body.extend_from_slice(&block);
        }
        let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    fn sni_ext(names: &[(u8, &[u8])]) -> Vec<u8> {
        let mut list = Vec::new();
        for (t, n) in names {
            list.push(*t);
            list.extend_from_slice(&(n.len() as u16).to_be_bytes());
            list.extend_from_slice(n);
        }
        let mut d = (list.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&list);
        d
    }

    fn alpn_ext(protos: &[&[u8]]) -> Vec<u8> {
        let mut list = Vec::new();
        for p in protos {
            list.push(p.len() as u8);
            list.extend_from_slice(p);
        }
        let mut d = (list.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&list);
        d
    }

    fn versions_ext(vs: &[u16]) -> Vec<u8> {
        let mut d = vec![(vs.len() * 2) as u8];
        for v in vs {
            d.extend_from_slice(&v.to_be_bytes());
        }
        d
    }

    #[test]
    fn grease_is_skipped() {
        let rec = build(Some(&[
            (0x2a2a, vec![]),
            (EXT_SERVER_NAME, sni_ext(&[(0, b"grease.example")])),
            (EXT_SUPPORTED_VERSIONS, versions_ext(&[0xfafa, 0x0304, 0x0303])),
            (EXT_ALPN, alpn_ext(&[b"http/1.1", b"h2"])),
        ]));
        let h = parse_client_hello(&rec).unwrap();
        assert_eq!(h.sni, Some(&b"grease.example"[..]));
        assert_eq!(h.supported_versions_max, Some(0x0304));
        assert_eq!(h.alpn_first, Some(&b"http/1.1"[..]));
        let rec = build(Some(&[(EXT_SUPPORTED_VERSIONS, versions_ext(&[0x1a1a]))]));
        assert_eq!(parse_client_hello(&rec).unwrap().supported_versions_max, None);
        for g in [0x0a0a, 0x1a1a, 0x7a7a, 0xfafa] {
            assert!(is_grease(g));
        }
        for v in [0x0304, 0x0a1a, 0x0a0b, 0x7f1c] {
            assert!(!is_grease(v));
        }
    }

    #[test]
    fn no_extensions_and_no_sni() {
        let rec = build(None);
        let h = parse_client_hello(&rec).unwrap();
        assert_eq!((h.sni, h.alpn_first, h.supported_versions_max, h.complete), (None, None, None, true));
        let rec = build(Some(&[]));
        let h = parse_client_hello(&rec).unwrap();
        assert_eq!((h.sni, h.complete), (None, true));
        // A cut hello without an SNI before the cut: Truncated.
        let rec = build(Some(&[(EXT_ALPN, alpn_ext(&[b"h2"])), (0xff01, vec![0])]));
        assert_eq!(parse_client_hello(&rec[..rec.len() - 1]), Err(TlsError::Truncated));
    }

    #[test]
    fn sni_entries() {
        // Unknown name types are skipped; the first host_name wins.
        let rec = build(Some(&[(EXT_SERVER_NAME, sni_ext(&[(7, b"x"), (0, b"a.example"), (0, b"b.example")]))]));
        assert_eq!(parse_client_hello(&rec).unwrap().sni, Some(&b"a.example"[..]));
        // A server_name without host_name: seen, so a later cut is Ok.
        let rec = build(Some(&[(EXT_SERVER_NAME, sni_ext(&[(7, b"x")])), (0xff01, vec![0])]));
        let h = parse_client_hello(&rec[..rec.len() - 1]).unwrap();
        assert_eq!((h.sni, h.complete), (None, false));
    }

    #[test]
    fn bad_extensions() {
        let cases: [Vec<(u16, Vec<u8>)>; 12] = [
            vec![(EXT_SERVER_NAME, vec![])],
            vec![(EXT_SERVER_NAME, vec![0, 0])],
            vec![(EXT_SERVER_NAME, sni_ext(&[(0, b"")]))],
            vec![(EXT_SERVER_NAME, vec![0, 5, 0, 0, 3, b'a', b'b'])],
            vec![(EXT_SERVER_NAME, vec![0, 4, 0, 0, 3, b'a'])],
            vec![(EXT_SERVER_NAME, sni_ext(&[(0, b"a")])), (EXT_SERVER_NAME, sni_ext(&[(0, b"b")]))],
            vec![(EXT_ALPN, vec![0, 0])],
            vec![(EXT_ALPN, vec![0, 3, 0, 1, b'x'])],
            vec![(EXT_ALPN, vec![0, 3, 3, b'h', b'2'])],
            vec![(EXT_SUPPORTED_VERSIONS, vec![3, 3, 4, 3])],
            vec![(EXT_SUPPORTED_VERSIONS, vec![4, 3, 4])],
            vec![(EXT_SUPPORTED_VERSIONS, vec![0])],
        ];
        for exts in &cases {
            assert_eq!(parse_client_hello(&build(Some(exts))), Err(TlsError::BadExtension), "{exts:?}");
        }
    }

    #[test]
    fn bad_lengths() {
        let good = build(Some(&[(EXT_SERVER_NAME, sni_ext(&[(0, b"a.example")]))]));
        assert!(parse_client_hello(&good).is_ok());
        // Offsets in `good`: record header 0..5, handshake header 5..9,
        // version 9..11, random 11..43, session id length 43, suites length
        // 44..46, suites 46..50, compression length 50, compression 51,
        // extensions length 52..54, first extension type 54..56, its
        // length 56..58.
        let cases: [(&[(usize, u8)], &str); 9] = [
            (&[(3, 0), (4, 0)], "record length 0"),
            (&[(3, 0x41)], "record length above 2^14"),
            (&[(43, 33)], "session id longer than 32"),
            (&[(45, 3)], "odd cipher suites length"),
            (&[(45, 0)], "no cipher suites"),
            (&[(50, 0)], "no compression methods"),
            (&[(52, 0x40)], "extensions beyond the hello"),
            (&[(53, 1)], "extensions end before the hello"),
            (&[(56, 0x40)], "extension beyond the extensions block"),
        ];
        for (patch, what) in cases {
            let mut m = good.clone();
            for &(at, v) in patch {
                m[at] = v;
            }
            assert_eq!(parse_client_hello(&m), Err(TlsError::BadLength), "{what}");
        }
        // Handshake length beyond the record but extensions length not
        // matching it: malformed, not a hello in two records.
        let mut m = good.clone();
        m[7] = 0x10;
        assert_eq!(parse_client_hello(&m), Err(TlsError::BadLength));
    }

    #[test]
    fn spans_two_records() {
        // The OpenSSL hello split after the server_name extension into two
        // records, as a client with a small record size would send it.
        let a = unhex(OPENSSL_A);
        let split = A_SNI_END;
        let mut two = a[..split].to_vec();
        two[3..5].copy_from_slice(&((split - 5) as u16).to_be_bytes());
        let rest = &a[split..];
        two.extend_from_slice(&[22, 3, 1, (rest.len() >> 8) as u8, rest.len() as u8]);
        two.extend_from_slice(rest);
        let h = parse_client_hello(&two).unwrap();
        assert_eq!((h.sni, h.alpn_first, h.complete), (Some(&b"example.com"[..]), None, false));
        // Split before the SNI: Truncated.
        let mut two = a[..100].to_vec();
        two[3..5].copy_from_slice(&95u16.to_be_bytes());
        let rest = &a[100..];
        two.extend_from_slice(&[22, 3, 1, (rest.len() >> 8) as u8, rest.len() as u8]);
        two.extend_from_slice(rest);
        assert_eq!(parse_client_hello(&two), Err(TlsError::Truncated));
    }

    #[test]
    fn record_and_handshake_checks() {
        let a = unhex(OPENSSL_A);
        assert_eq!(parse_client_hello(b""), Err(TlsError::Truncated));
        assert_eq!(parse_client_hello(&[22]), Err(TlsError::Truncated));
        assert_eq!(parse_client_hello(&[22, 3, 1, 2]), Err(TlsError::Truncated));
        assert_eq!(parse_client_hello(b"GET / HTTP/1.1\r\n"), Err(TlsError::NotHandshake));
        assert_eq!(parse_client_hello(&[23, 3, 3, 0, 5]), Err(TlsError::NotHandshake));
        assert_eq!(parse_client_hello(&[22, 2]), Err(TlsError::NotHandshake));
        assert_eq!(parse_client_hello(&[22, 3, 5]), Err(TlsError::NotHandshake));
        // SSLv2-compatible hello.
        assert_eq!(parse_client_hello(&[0x80, 0x2e, 0x01, 0x03, 0x01]), Err(TlsError::NotHandshake));
        // ServerHello (type 2).
        let mut m = a.clone();
        m[5] = 2;
        assert_eq!(parse_client_hello(&m), Err(TlsError::NotClientHello));
        assert_eq!(parse_client_hello(&[22, 3, 3, 0, 4, 2]), Err(TlsError::NotClientHello));
        // Record versions 3.0 and 3.4 are accepted.
        for minor in [0, 4] {
            let mut m = a.clone();
            m[2] = minor;
            assert_eq!(parse_client_hello(&m).unwrap().record_version, 0x0300 | minor as u16);
        }
        // Bytes after the record (a next record) are not read.
        let mut m = a.clone();
        m.extend_from_slice(&[0x14, 3, 3, 0, 1, 1]);
        assert_eq!(parse_client_hello(&m).unwrap(), parse_client_hello(&a).unwrap());
    }

    #[test]
    fn reasons() {
        let all = [
            (TlsError::NotHandshake, "tls.not_handshake"),
            (TlsError::NotClientHello, "tls.not_client_hello"),
            (TlsError::Truncated, "tls.truncated"),
            (TlsError::BadLength, "tls.bad_length"),
            (TlsError::BadExtension, "tls.bad_extension"),
        ];
        for (e, r) in all {
            assert_eq!((e.reason(), e.to_string()), (r, r.to_string()));
        }
    }
}
