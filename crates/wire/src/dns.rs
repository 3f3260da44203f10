//! DNS messages (RFC 1035, 3596, 2782, 6891, 7871, 9460): a zero-copy view
//! with a lazy walk over questions and resource records.
//!
//! Names are validated as they are walked: compression pointers may point
//! forward or backward (as tshark and Suricata accept), but never to
//! themselves or in a loop, and a chain longer than [`MAX_POINTERS`] is
//! rejected; labels of the reserved types (a length octet of 64 or more
//! that is not a pointer) and names over 255 octets are errors. A damaged
//! record stops the walk; everything before it stays usable.

use crate::{be16, be32};
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const HEADER_LEN: usize = 12;
/// The id and flags: less than this is not a message at all.
pub const MIN_LEN: usize = 4;
/// Longest name on the wire, in octets (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Compression pointers followed for one name. Real messages use one or
/// two; Zeek's weird fires past 6 hops, tshark follows more.
pub const MAX_POINTERS: usize = 32;
/// The longest presentation form: every octet escaped as `\DDD`, plus dots.
pub const MAX_TEXT_LEN: usize = MAX_NAME_LEN * 4;

/// Why a message (or the rest of it) could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DnsError {
    /// No bytes at all.
    Empty,
    /// Fewer than the 12 header octets.
    TruncatedHeader,
    /// A question, record or name runs past the end of the message.
    Truncated,
    /// A label length octet of an unassigned type (0x40 or 0x80 bits).
    BadLabel,
    /// A compression pointer that leads back to where it was.
    PointerLoop,
    /// More than [`MAX_POINTERS`] pointers in one name.
    PointerDepth,
    /// A compression pointer past the end of the message.
    BadPointer,
    /// A name longer than 255 octets.
    NameTooLong,
    /// RDATA that does not fit its type (an A record of 5 octets).
    BadRdata,
}

impl DnsError {
    /// The counter key, e.g. `dns.pointer_loop`.
    pub const fn reason(self) -> &'static str {
        match self {
            DnsError::Empty => "dns.empty",
            DnsError::TruncatedHeader => "dns.truncated_header",
            DnsError::Truncated => "dns.truncated",
            DnsError::BadLabel => "dns.bad_label",
            DnsError::PointerLoop => "dns.pointer_loop",
            DnsError::PointerDepth => "dns.pointer_depth",
            DnsError::BadPointer => "dns.bad_pointer",
            DnsError::NameTooLong => "dns.name_too_long",
            DnsError::BadRdata => "dns.bad_rdata",
        }
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for DnsError {}

pub type Result<T> = core::result::Result<T, DnsError>;

/// Record types with a mnemonic.
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const PTR: u16 = 12;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const DNAME: u16 = 39;
    pub const OPT: u16 = 41;
    pub const SVCB: u16 = 64;
    pub const HTTPS: u16 = 65;
}

/// The mnemonic of a record type, as tshark and dig print it.
pub fn type_name(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        24 => "SIG",
        25 => "KEY",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        100 => "UINFO",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        _ => return None,
    })
}

/// The mnemonic of a class.
pub fn class_name(c: u16) -> Option<&'static str> {
    Some(match c {
        1 => "IN",
        3 => "CH",
        4 => "HS",
        254 => "NONE",
        255 => "ANY",
        _ => return None,
    })
}

/// The mnemonic of an RCODE (4-bit, or extended with OPT's upper 8 bits).
pub fn rcode_name(r: u16) -> Option<&'static str> {
    Some(match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        _ => return None,
    })
}

/// A view over a DNS message whose header is present.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    buf: &'a [u8],
}

impl<'a> Message<'a> {
    /// A payload with at least the id and flags is a message (as tshark
    /// counts them); one shorter than the 12-octet header reads the fields
    /// it has (the rest as 0) and its walk yields
    /// [`DnsError::TruncatedHeader`] at once.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        match buf.len() {
            0 => Err(DnsError::Empty),
            1..MIN_LEN => Err(DnsError::TruncatedHeader),
            _ => Ok(Message { buf }),
        }
    }

    /// Whether the whole 12-octet header is present.
    pub fn has_header(&self) -> bool {
        self.buf.len() >= HEADER_LEN
    }
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
    pub fn id(&self) -> u16 {
        be16(self.buf, 0)
    }
    pub fn flags(&self) -> u16 {
        be16(self.buf, 2)
    }
    /// A response (QR bit).
    pub fn qr(&self) -> bool {
        self.flags() & 0x8000 != 0
    }
    pub fn opcode(&self) -> u8 {
        ((self.flags() >> 11) & 0xf) as u8
    }
    pub fn aa(&self) -> bool {
        self.flags() & 0x0400 != 0
    }
    pub fn tc(&self) -> bool {
        self.flags() & 0x0200 != 0
    }
    pub fn rd(&self) -> bool {
        self.flags() & 0x0100 != 0
    }
    pub fn ra(&self) -> bool {
        self.flags() & 0x0080 != 0
    }
    pub fn z(&self) -> bool {
        self.flags() & 0x0040 != 0
    }
    pub fn ad(&self) -> bool {
        self.flags() & 0x0020 != 0
    }
    pub fn cd(&self) -> bool {
        self.flags() & 0x0010 != 0
    }
    /// The 4-bit header RCODE (see [`Opt::ext_rcode`] for the rest).
    pub fn rcode(&self) -> u8 {
        (self.flags() & 0xf) as u8
    }
    pub fn question_count(&self) -> u16 {
        be16(self.buf, 4)
    }
    pub fn answer_count(&self) -> u16 {
        be16(self.buf, 6)
    }
    pub fn authority_count(&self) -> u16 {
        be16(self.buf, 8)
    }
    pub fn additional_count(&self) -> u16 {
        be16(self.buf, 10)
    }

    /// Questions, then answer, authority and additional records, in wire
    /// order. Stops after the first error (which it yields).
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            msg: *self,
            pos: HEADER_LEN,
            left: [self.question_count(), self.answer_count(), self.authority_count(), self.additional_count()],
            section: 0,
            done: false,
            short: !self.has_header(),
        }
    }
}

/// The four sections of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Question,
    Answer,
    Authority,
    Additional,
}

impl Section {
    const ALL: [Section; 4] = [Section::Question, Section::Answer, Section::Authority, Section::Additional];
}

/// A domain name inside a message, validated when it was found.
#[derive(Clone, Copy)]
pub struct Name<'a> {
    msg: &'a [u8],
    start: usize,
}

impl<'a> Name<'a> {
    /// Validates the name at `start`; returns it and the offset just past
    /// its in-place part (after the terminal zero or the first pointer).
    pub fn parse(msg: &'a [u8], start: usize) -> Result<(Self, usize)> {
        let mut pos = start;
        let mut end = None;
        let mut wire_len = 0usize;
        let mut pointers = 0usize;
        loop {
            let &len = msg.get(pos).ok_or(DnsError::Truncated)?;
            match len & 0xc0 {
                0x00 if len == 0 => {
                    wire_len += 1;
                    if wire_len > MAX_NAME_LEN {
                        return Err(DnsError::NameTooLong);
                    }
                    return Ok((Name { msg, start }, end.unwrap_or(pos + 1)));
                }
                0x00 => {
                    let label_end = pos + 1 + len as usize;
                    if label_end > msg.len() {
                        return Err(DnsError::Truncated);
                    }
                    wire_len += 1 + len as usize;
                    if wire_len > MAX_NAME_LEN {
                        return Err(DnsError::NameTooLong);
                    }
                    pos = label_end;
                }
                0xc0 => {
                    let &low = msg.get(pos + 1).ok_or(DnsError::Truncated)?;
                    let target = ((len as usize & 0x3f) << 8) | low as usize;
                    end.get_or_insert(pos + 2);
                    pointers += 1;
                    // A pointer to itself, or back into the chain walked so
                    // far without progress, is a loop; the depth limit
                    // catches longer cycles too.
                    if target == pos {
                        return Err(DnsError::PointerLoop);
                    }
                    if pointers > MAX_POINTERS {
                        return Err(if loops(msg, start) { DnsError::PointerLoop } else { DnsError::PointerDepth });
                    }
                    if target >= msg.len() {
                        return Err(DnsError::BadPointer);
                    }
                    pos = target;
                }
                _ => return Err(DnsError::BadLabel),
            }
        }
    }

    /// The labels, outermost last (`www`, `example`, `com`).
    pub fn labels(&self) -> Labels<'a> {
        Labels { msg: self.msg, pos: self.start, hops: 0 }
    }

    /// Whether this is the root name (no labels).
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }

    /// Writes the presentation form (labels joined by dots, no trailing
    /// dot, the root as ""), escaping `.` and `\` inside labels as `\.`
    /// and `\\`, and other octets outside 0x21..=0x7e as `\DDD`.
    pub fn write_text(&self, out: &mut NameText) {
        out.len = 0;
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                out.push(b'.');
            }
            for &b in label {
                match b {
                    b'.' | b'\\' => {
                        out.push(b'\\');
                        out.push(b);
                    }
                    0x21..=0x7e => out.push(b),
                    _ => {
                        out.push(b'\\');
                        out.push(b'0' + b / 100);
                        out.push(b'0' + b / 10 % 10);
                        out.push(b'0' + b % 10);
                    }
                }
            }
        }
    }
}

/// Whether following the name's pointers revisits a pointer (a cycle),
/// rather than merely being a long chain. Only called past the depth limit.
fn loops(msg: &[u8], start: usize) -> bool {
    let mut seen = [usize::MAX; MAX_POINTERS + 1];
    let mut pos = start;
    for slot in 0..seen.len() {
        // Skip labels to the next pointer.
        loop {
            match msg.get(pos) {
                Some(&l) if l & 0xc0 == 0xc0 => break,
                Some(&l) if l & 0xc0 == 0 && l != 0 => pos += 1 + l as usize,
                _ => return false,
            }
        }
        if seen[..slot].contains(&pos) {
            return true;
        }
        seen[slot] = pos;
        pos = ((msg[pos] as usize & 0x3f) << 8) | *msg.get(pos + 1).unwrap_or(&0) as usize;
    }
    false
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = NameText::new();
        self.write_text(&mut t);
        write!(f, "Name({:?})", t.as_str())
    }
}

/// The labels of a validated name.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    hops: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let &len = self.msg.get(self.pos)?;
            match len & 0xc0 {
                0x00 if len == 0 => return None,
                0x00 => {
                    let label = self.msg.get(self.pos + 1..self.pos + 1 + len as usize)?;
                    self.pos += 1 + len as usize;
                    return Some(label);
                }
                0xc0 => {
                    // Bounded again here, so a name that was not validated
                    // cannot make this loop forever.
                    self.hops += 1;
                    if self.hops > MAX_POINTERS {
                        return None;
                    }
                    let low = *self.msg.get(self.pos + 1)? as usize;
                    self.pos = ((len as usize & 0x3f) << 8) | low;
                }
                _ => return None,
            }
        }
    }
}

/// A buffer for a name's presentation form, on the stack.
#[derive(Clone)]
pub struct NameText {
    buf: [u8; MAX_TEXT_LEN],
    len: usize,
}

impl Default for NameText {
    fn default() -> Self {
        NameText::new()
    }
}

impl NameText {
    pub const fn new() -> Self {
        NameText { buf: [0; MAX_TEXT_LEN], len: 0 }
    }
    #[inline]
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }
    /// Always ASCII.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn make_ascii_lowercase(&mut self) {
        self.buf[..self.len].make_ascii_lowercase();
    }
}

impl fmt::Debug for NameText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    pub name: Name<'a>,
    pub qtype: u16,
    pub qclass: u16,
}

#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub section: Section,
    pub name: Name<'a>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: &'a [u8],
    msg: &'a [u8],
    rdata_start: usize,
}

#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    Question(Question<'a>),
    Record(Record<'a>),
}

/// The walk over a message's sections.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    msg: Message<'a>,
    pos: usize,
    left: [u16; 4],
    section: usize,
    done: bool,
    /// The header itself is cut short.
    short: bool,
}

impl<'a> Entries<'a> {
    fn entry(&mut self) -> Result<Entry<'a>> {
        let buf = self.msg.buf;
        let (name, pos) = Name::parse(buf, self.pos)?;
        if self.section == 0 {
            let fixed = buf.get(pos..pos + 4).ok_or(DnsError::Truncated)?;
            self.pos = pos + 4;
            return Ok(Entry::Question(Question { name, qtype: be16(fixed, 0), qclass: be16(fixed, 2) }));
        }
        let fixed = buf.get(pos..pos + 10).ok_or(DnsError::Truncated)?;
        let rdlength = be16(fixed, 8) as usize;
        let rdata_start = pos + 10;
        let rdata = buf.get(rdata_start..rdata_start + rdlength).ok_or(DnsError::Truncated)?;
        self.pos = rdata_start + rdlength;
        Ok(Entry::Record(Record {
            section: Section::ALL[self.section],
            name,
            rtype: be16(fixed, 0),
            class: be16(fixed, 2),
            ttl: be32(fixed, 4),
            rdata,
            msg: buf,
            rdata_start,
        }))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.short {
            self.done = true;
            return Some(Err(DnsError::TruncatedHeader));
        }
        while self.section < 4 && self.left[self.section] == 0 {
            self.section += 1;
        }
        if self.section == 4 {
            self.done = true;
            return None;
        }
        self.left[self.section] -= 1;
        let e = self.entry();
        self.done = e.is_err();
        Some(e)
    }
}

impl core::iter::FusedIterator for Entries<'_> {}

/// Decoded RDATA of the types we look into.
#[derive(Debug, Clone, Copy)]
pub enum RData<'a> {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// CNAME, NS, PTR, DNAME: the target name.
    Name(Name<'a>),
    Mx {
        preference: u16,
        exchange: Name<'a>,
    },
    Soa {
        mname: Name<'a>,
        rname: Name<'a>,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: Name<'a>,
    },
    Txt(Txt<'a>),
    /// SVCB and HTTPS: the priority, target and the raw SvcParams.
    Svcb {
        priority: u16,
        target: Name<'a>,
        params: &'a [u8],
    },
    Opt(Opt<'a>),
    /// Any other type: see `Record::rtype` and `Record::rdata`.
    Other,
}

impl<'a> Record<'a> {
    /// Decodes the RDATA. Names in it may be compressed (pointing anywhere
    /// in the message) but their in-place part stays inside the RDATA.
    pub fn data(&self) -> Result<RData<'a>> {
        let r = self.rdata;
        let end = self.rdata_start + r.len();
        let name_at = |at: usize| -> Result<(Name<'a>, usize)> {
            let (name, next) = Name::parse(self.msg, self.rdata_start + at)?;
            if next > end {
                return Err(DnsError::BadRdata);
            }
            Ok((name, next - self.rdata_start))
        };
        Ok(match self.rtype {
            rtype::A => RData::A(Ipv4Addr::from(<[u8; 4]>::try_from(r).map_err(|_| DnsError::BadRdata)?)),
            rtype::AAAA => RData::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(r).map_err(|_| DnsError::BadRdata)?)),
            rtype::CNAME | rtype::NS | rtype::PTR | rtype::DNAME => RData::Name(name_at(0)?.0),
            rtype::MX => {
                if r.len() < 3 {
                    return Err(DnsError::BadRdata);
                }
                RData::Mx { preference: be16(r, 0), exchange: name_at(2)?.0 }
            }
            rtype::SOA => {
                let (mname, at) = name_at(0)?;
                let (rname, at) = name_at(at)?;
                let n = r.get(at..at + 20).ok_or(DnsError::BadRdata)?;
                RData::Soa {
                    mname,
                    rname,
                    serial: be32(n, 0),
                    refresh: be32(n, 4),
                    retry: be32(n, 8),
                    expire: be32(n, 12),
                    minimum: be32(n, 16),
                }
            }
            rtype::SRV => {
                if r.len() < 7 {
                    return Err(DnsError::BadRdata);
                }
                RData::Srv { priority: be16(r, 0), weight: be16(r, 2), port: be16(r, 4), target: name_at(6)?.0 }
            }
            rtype::TXT => {
                let txt = Txt { data: r };
                if txt.strings().map(<[u8]>::len).sum::<usize>() + txt.strings().count() != r.len() {
                    return Err(DnsError::BadRdata);
                }
                RData::Txt(txt)
            }
            rtype::SVCB | rtype::HTTPS => {
                if r.len() < 3 {
                    return Err(DnsError::BadRdata);
                }
                let (target, at) = name_at(2)?;
                RData::Svcb { priority: be16(r, 0), target, params: &r[at..] }
            }
            rtype::OPT => {
                let opt = Opt { class: self.class, ttl: self.ttl, data: r };
                if opt.options().map(|o| 4 + o.1.len()).sum::<usize>() != r.len() {
                    return Err(DnsError::BadRdata);
                }
                RData::Opt(opt)
            }
            _ => RData::Other,
        })
    }
}

/// TXT RDATA: a sequence of character-strings.
#[derive(Debug, Clone, Copy)]
pub struct Txt<'a> {
    data: &'a [u8],
}

impl<'a> Txt<'a> {
    /// The character-strings (stopping at one that overruns the RDATA).
    pub fn strings(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut rest = self.data;
        core::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let s = tail.get(..len as usize)?;
            rest = &tail[len as usize..];
            Some(s)
        })
    }
}

/// The OPT pseudo-record (EDNS, RFC 6891).
#[derive(Debug, Clone, Copy)]
pub struct Opt<'a> {
    class: u16,
    ttl: u32,
    data: &'a [u8],
}

/// EDNS Client Subnet (RFC 7871).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSubnet {
    pub family: u16,
    pub source_prefix: u8,
    pub scope_prefix: u8,
    /// The address, zero-filled past the octets sent; None for a family
    /// other than 1 (IPv4) and 2 (IPv6) or an address too long for it.
    pub address: Option<IpAddr>,
}

impl<'a> Opt<'a> {
    pub fn udp_size(&self) -> u16 {
        self.class
    }
    /// The upper 8 bits of the extended RCODE.
    pub fn ext_rcode(&self) -> u8 {
        (self.ttl >> 24) as u8
    }
    pub fn version(&self) -> u8 {
        (self.ttl >> 16) as u8
    }
    /// DNSSEC OK.
    pub fn dnssec_ok(&self) -> bool {
        self.ttl & 0x8000 != 0
    }
    /// (code, data) of each option, stopping at one that overruns.
    pub fn options(&self) -> impl Iterator<Item = (u16, &'a [u8])> + 'a {
        let mut rest = self.data;
        core::iter::from_fn(move || {
            let code = be16(rest.get(..4)?, 0);
            let len = be16(rest, 2) as usize;
            let data = rest.get(4..4 + len)?;
            rest = &rest[4 + len..];
            Some((code, data))
        })
    }
    /// The client-subnet option, when present and well formed.
    pub fn client_subnet(&self) -> Option<ClientSubnet> {
        let (_, d) = self.options().find(|o| o.0 == 8)?;
        let head = d.get(..4)?;
        let addr = &d[4..];
        let address = match be16(head, 0) {
            1 if addr.len() <= 4 => {
                let mut a = [0u8; 4];
                a[..addr.len()].copy_from_slice(addr);
                Some(IpAddr::from(a))
            }
            2 if addr.len() <= 16 => {
                let mut a = [0u8; 16];
                a[..addr.len()].copy_from_slice(addr);
                Some(IpAddr::from(a))
            }
            _ => None,
        };
        Some(ClientSubnet { family: be16(head, 0), source_prefix: head[2], scope_prefix: head[3], address })
    }
}

/// The full RCODE of a message: the header's 4 bits, extended by the OPT
/// record's upper 8 bits when there is one.
pub fn full_rcode(msg: &Message<'_>, opt: Option<&Opt<'_>>) -> u16 {
    u16::from(opt.map_or(0, |o| o.ext_rcode())) << 4 | u16::from(msg.rcode())
}

#[cfg(test)]
mod tests;
