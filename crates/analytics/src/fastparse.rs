//! A fast path for [`crate::parse_event`]: one pass over the line that reads
//! only the fields the engine needs and skips the rest by bracket matching
//! (serde_json validates and decodes every skipped value, which costs more
//! than the engine itself). It gives up (`None`) on anything unusual, an
//! escaped string among the fields it reads, a type it does not expect, and
//! the caller then uses serde_json, so the result never differs from the
//! serde path for well-formed events. XXX: skipped values are only bracket-
//! and string-matched, so a line that is malformed inside, say, `packet` is
//! accepted here where serde_json would reject it.

use crate::event::{Addrs, EventIn, IndicatorIn};
use crate::scan::{masks64, prefix_xor, scan, scan_structure};
use crate::util::{parse_ip, parse_rfc3339_ns};

struct P<'a> {
    /// The line, checked as UTF-8 once: slices at ASCII delimiters are then
    /// always at char boundaries.
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> P<'a> {
    #[inline]
    fn ws(&mut self) {
        // One compare in the usual case (the sensor writes no whitespace).
        while self.b.get(self.i).is_some_and(|&c| c <= b' ' && matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// The bytes of a string without escapes (with `ctrl`, nor control
    /// characters), borrowed.
    #[inline]
    fn bytes(&mut self, ctrl: bool) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.i;
        let n = scan(self.b.get(start..)?, ctrl)?;
        if self.b[start + n] != b'"' {
            return None;
        }
        self.i = start + n + 1;
        Some((start, start + n))
    }

    /// A member name: only ever compared with our literals, so it stays
    /// bytes (no UTF-8 boundary checks; a control character in it makes an
    /// unknown name, skipped).
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        let (a, b) = self.bytes(false)?;
        Some(&self.b[a..b])
    }

    /// A string without escapes, borrowed.
    #[inline]
    fn str(&mut self) -> Option<&'a str> {
        let (a, b) = self.bytes(true)?;
        self.s.get(a..b)
    }

    fn u16(&mut self) -> Option<u16> {
        self.ws();
        let (start, mut v) = (self.i, 0u32);
        while let Some(&c) = self.b.get(self.i).filter(|c| c.is_ascii_digit()) {
            v = v * 10 + (c - b'0') as u32;
            self.i += 1;
            if self.i - start > 5 {
                return None;
            }
        }
        if self.i == start {
            return None;
        }
        u16::try_from(v).ok()
    }

    fn bool(&mut self) -> Option<bool> {
        self.ws();
        let r = &self.b[self.i..];
        if r.starts_with(b"true") {
            self.i += 4;
            Some(true)
        } else if r.starts_with(b"false") {
            self.i += 5;
            Some(false)
        } else {
            None
        }
    }

    /// Skips a string whose opening quote is at `self.i - 1`.
    #[inline]
    fn skip_string(&mut self) -> Option<()> {
        loop {
            let rest = self.b.get(self.i..)?;
            let n = scan(rest, false)?;
            self.i += n + 1;
            if rest[n] == b'"' {
                return Some(());
            }
            // The escaped character.
            self.i += 1;
        }
    }

    /// Skips one value of any type. Inside an object or array only strings
    /// and brackets are looked at (see the XXX at the top).
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.skip_string()
            }
            b'{' | b'[' => {
                self.i += 1;
                let mut depth = 1usize;
                if self.skip_blocks(&mut depth)? {
                    return Some(());
                }
                loop {
                    let n = scan_structure(self.b.get(self.i..)?)?;
                    self.i += n + 1;
                    match self.b[self.i - 1] {
                        b'"' => self.skip_string()?,
                        b'{' | b'[' => depth += 1,
                        _ => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                    }
                }
            }
            b',' | b':' | b'}' | b']' => None,
            _ => {
                // Number or literal.
                let start = self.i;
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                {
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }

    /// Skips inside a container, 64 bytes at a time while they hold no
    /// backslash: strings and brackets come from bit masks, so a block
    /// costs about what one string did. `Some(true)` when the container
    /// closed; `Some(false)` leaves the rest (and `depth`) to the caller's
    /// byte loop, outside any string.
    fn skip_blocks(&mut self, depth: &mut usize) -> Option<bool> {
        while let Some(block) = self.b.get(self.i..self.i + 64) {
            let m = masks64(block.try_into().ok()?);
            if m.backslash != 0 {
                return Some(false);
            }
            // Bits from each opening quote up to its closing one.
            let inside = prefix_xor(m.quote);
            let mut bits = (m.open | m.close) & !inside;
            while bits != 0 {
                let t = bits.trailing_zeros();
                if m.open >> t & 1 != 0 {
                    *depth += 1;
                } else {
                    *depth -= 1;
                    if *depth == 0 {
                        self.i += t as usize + 1;
                        return Some(true);
                    }
                }
                bits &= bits - 1;
            }
            if inside >> 63 != 0 {
                // A string runs past the block: from its opening quote (the
                // block's last) on, with escapes.
                self.i += (63 - m.quote.leading_zeros()) as usize + 1;
                self.skip_string()?;
            } else {
                self.i += 64;
            }
        }
        Some(false)
    }

    /// The members of an object whose names the caller knows: `f(self, i)`
    /// for each, `i` the name's index in `names`, or `names.len()` for a
    /// name not there (whose value `f` skips). The members are expected in
    /// the order of `names` (each written `"name":`, as the sensor's encoder
    /// orders them): checking that the next expected name is there costs
    /// less than reading a name and finding it, and the caller then matches
    /// an index, not a string. Members in any other order still parse (the
    /// expectation moves on from each name found).
    fn members(&mut self, names: &[&'static [u8]], mut f: impl FnMut(&mut Self, usize) -> Option<()>) -> Option<()> {
        let mut next = 0;
        self.seq(b'{', b'}', |p| {
            let i = match names.get(next) {
                Some(pat) if p.b.get(p.i..).is_some_and(|r| r.starts_with(pat)) => {
                    p.i += pat.len();
                    next
                }
                _ => {
                    let k = p.key()?;
                    p.eat(b':')?;
                    names.iter().position(|pat| &pat[1..pat.len() - 2] == k).unwrap_or(names.len())
                }
            };
            if i < names.len() {
                next = i + 1;
            }
            f(p, i)
        })
    }

    /// Calls `f(self, key)` for each member; `f` consumes the value.
    fn object(&mut self, mut f: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.seq(b'{', b'}', |p| {
            let k = p.key()?;
            p.eat(b':')?;
            f(p, k)
        })
    }

    fn array(&mut self, f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.seq(b'[', b']', f)
    }

    /// A container between `open` and `close`: `item` for each element,
    /// which it consumes; elements are separated by commas.
    #[inline]
    fn seq(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// The event the engine reads, borrowed from the line: no intermediate
/// structure (moving one of ~760 bytes around cost more than reading the
/// fields).
#[cfg(test)]
pub(crate) fn parse(json: &[u8]) -> Option<EventIn<'_>> {
    let mut e = EventIn::default();
    // Leaked: a test helper, a few bytes per call.
    let addrs = Box::leak(Box::new(Addrs::default()));
    parse_into(json, &mut e, addrs)?;
    Some(EventIn { answer_addrs: addrs.as_slice(), ..e })
}

// The members read, in the order of the sensor's events (crates/events):
// the order is a hint only. Each name's index is its position.
const TOP: &[&[u8]] = &[
    b"\"id\":",
    b"\"ts\":",
    b"\"sensor\":",
    b"\"kind\":",
    b"\"input\":",
    b"\"match\":",
    b"\"indicator\":",
    b"\"rule\":",
    b"\"flow\":",
    b"\"packet\":",
    b"\"dns\":",
    b"\"syslog\":",
];
const ID: usize = 0;
const TS: usize = 1;
const SENSOR: usize = 2;
const KIND: usize = 3;
const INPUT: usize = 4;
const MATCH_: usize = 5;
const INDICATOR_: usize = 6;
const RULE_: usize = 7;
const FLOW_: usize = 8;
const DNS: usize = 10;
const SYSLOG: usize = 11;
const MATCH: &[&[u8]] = &[b"\"where\":", b"\"value\":"];
const INDICATOR: &[&[u8]] = &[b"\"id\":", b"\"type\":", b"\"value\":", b"\"threat_type\":", b"\"feed\":"];
const RULE: &[&[u8]] = &[b"\"chain\":", b"\"name\":"];
const FLOW: &[&[u8]] = &[b"\"src_ip\":", b"\"src_port\":", b"\"dst_ip\":", b"\"dst_port\":", b"\"proto\":"];

/// [`parse`] into `e` (which starts as `EventIn::default()`) and `addrs`
/// (the DNS answers, which `e` does not hold): written where they will
/// stay, not moved.
pub(crate) fn parse_into<'a>(json: &'a [u8], e: &mut EventIn<'a>, addrs: &mut Addrs) -> Option<()> {
    let s = std::str::from_utf8(json).ok()?;
    let mut p = P { s, b: json, i: 0 };
    let (mut id, mut ts, mut sensor, mut kind, mut input, mut matched) = (None, None, None, None, None, false);
    p.members(TOP, |p, k| {
        match k {
            ID => id = Some(p.str()?),
            TS => ts = Some(p.str()?),
            SENSOR => sensor = Some(p.str()?),
            KIND => kind = Some(p.str()?),
            INPUT => input = Some(p.str()?),
            MATCH_ => {
                let (mut w, mut v) = (None, None);
                p.members(MATCH, |p, k| {
                    match k {
                        0 => w = Some(p.str()?),
                        1 => v = Some(p.str()?),
                        _ => p.skip()?,
                    }
                    Some(())
                })?;
                (e.location, e.value, matched) = (w?, v?, true);
            }
            INDICATOR_ => {
                let (mut id, mut ty, mut value, mut tt, mut feed) = (None, None, None, "", None);
                p.members(INDICATOR, |p, k| {
                    match k {
                        0 => id = Some(p.str()?),
                        1 => ty = Some(p.str()?),
                        2 => value = Some(p.str()?),
                        3 => tt = p.str()?,
                        4 => feed = Some(p.str()?),
                        _ => p.skip()?,
                    }
                    Some(())
                })?;
                e.indicator = Some(IndicatorIn { id: id?, r#type: ty?, value: value?, threat_type: tt, feed: feed? });
            }
            RULE_ => {
                let (mut chain, mut name) = (None, None);
                p.members(RULE, |p, k| {
                    match k {
                        0 => chain = Some(p.str()?),
                        1 => name = Some(p.str()?),
                        _ => p.skip()?,
                    }
                    Some(())
                })?;
                e.rule = Some((chain?, name?));
            }
            FLOW_ => {
                p.members(FLOW, |p, k| {
                    match k {
                        0 => e.src_ip = parse_ip(p.str()?),
                        1 => e.src_port = Some(p.u16()?),
                        2 => e.dst_ip = parse_ip(p.str()?),
                        3 => e.dst_port = Some(p.u16()?),
                        4 => e.proto = Some(p.str()?),
                        _ => p.skip()?,
                    }
                    Some(())
                })?;
            }
            DNS => {
                p.object(|p, k| {
                    match k {
                        b"qr" => e.dns_qr = Some(p.bool()?),
                        b"questions" => p.array(|p| {
                            p.object(|p, k| {
                                if k == b"name" && e.dns_query.is_none() {
                                    e.dns_query = Some(p.str()?);
                                    Some(())
                                } else {
                                    p.skip()
                                }
                            })
                        })?,
                        b"answers" => p.array(|p| {
                            let (mut ty, mut data) = (None, None);
                            p.object(|p, k| {
                                match k {
                                    // Names and data of other types may hold escapes.
                                    b"type" => ty = Some(p.str()?),
                                    b"data" => {
                                        let start = p.i;
                                        p.skip()?;
                                        data = Some(start..p.i);
                                    }
                                    _ => p.skip()?,
                                }
                                Some(())
                            })?;
                            if let (Some("A" | "AAAA"), Some(r)) = (ty, data) {
                                let mut q = P { s: p.s, b: p.b, i: r.start };
                                if let Some(ip) = parse_ip(q.str()?) {
                                    addrs.push(ip);
                                }
                            }
                            Some(())
                        })?,
                        _ => p.skip()?,
                    }
                    Some(())
                })?;
            }
            SYSLOG => {
                p.object(|p, k| {
                    match k {
                        b"host" => e.syslog_host = parse_ip(p.str()?),
                        _ => p.skip()?,
                    }
                    Some(())
                })?;
            }
            _ => p.skip()?,
        }
        Some(())
    })?;
    p.ws();
    if p.i != json.len() || !matched {
        return None;
    }
    (e.id, e.sensor, e.kind, e.input) = (id?, sensor?, kind?, input?);
    e.ts_ns = parse_rfc3339_ns(ts?)?;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time meaning of skipping a container: the index after
    /// its closing bracket.
    fn skip_reference(b: &[u8]) -> Option<usize> {
        let (mut depth, mut i, mut in_str) = (0usize, 0, false);
        while i < b.len() {
            match (in_str, b[i]) {
                (true, b'\\') => i += 1,
                (true, b'"') => in_str = false,
                (false, b'"') => in_str = true,
                (false, b'{' | b'[') => depth += 1,
                (false, b'}' | b']') => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    #[test]
    fn block_skip_matches_a_plain_skip() {
        let mut rnd = crate::util::xorshift(0x2545_f491_4f6c_dd1d);
        // Brackets rarer than other bytes, so containers run past a block.
        let alphabet = b"ab:,\"{}[]\\ 01abcdefghijklmnopqrstuvwxyz:,\"\"";
        let mut long = 0;
        for _ in 0..20_000 {
            let len = (rnd() % 300) as usize;
            let mut b = vec![b'{'];
            // Few escapes in most cases, so the block path runs.
            let rare = !rnd().is_multiple_of(4);
            b.extend((0..len).map(|_| {
                let c = alphabet[(rnd() % alphabet.len() as u64) as usize];
                if rare && c == b'\\' { b'a' } else { c }
            }));
            let want = skip_reference(&b);
            let s = String::from_utf8(b.clone()).unwrap();
            let mut p = P { s: &s, b: &b, i: 0 };
            let got = p.skip().map(|()| p.i);
            // The reference reads escapes anywhere; both agree when the
            // container closes.
            if let Some(w) = want {
                long += usize::from(w > 64);
                assert_eq!(got, Some(w), "{s}");
            } else {
                assert_eq!(got, None, "{s}");
            }
        }
        assert!(long > 1000, "{long} containers longer than a block");
    }

    #[test]
    fn skips_nested_values() {
        let line = r#"{"id":"a","ts":"2026-11-29T05:00:00Z","sensor":"s","kind":"intel","input":"packet","packet":{"a":[1,{"b":"}]\"["},[]],"c":{}},"match":{"where":"ip.dst","value":"x"}}"#;
        assert_eq!(parse(line.as_bytes()).unwrap().value, "x");
        for bad in [r#"{"id":"a","packet":{"a":[}}"#, r#"{"id":"a","packet":{"a":"#, r#"{"id":"a","packet":,}"#] {
            assert!(parse(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    /// The expected member order is a hint: any order reads the same.
    #[test]
    fn member_order_does_not_matter() {
        let ordered = r#"{"id":"a","ts":"2026-11-29T05:00:00Z","sensor":"s","kind":"intel","input":"packet","match":{"where":"ip.dst","value":"198.51.100.7"},"indicator":{"id":"7","type":"ip","value":"198.51.100.7","threat_type":"c2","feed":"f"},"flow":{"src_ip":"10.0.0.1","src_port":4000,"dst_ip":"198.51.100.7","dst_port":443,"proto":"tcp"},"packet":{"frame":1}}"#;
        let shuffled = r#"{"packet":{"frame":1},"flow":{"proto":"tcp","dst_port":443,"dst_ip":"198.51.100.7","src_port":4000,"src_ip":"10.0.0.1"},"ts":"2026-11-29T05:00:00Z","id":"a","indicator":{"feed":"f","threat_type":"c2","value":"198.51.100.7","type":"ip","id":"7"},"match":{"value":"198.51.100.7","where":"ip.dst"},"input":"packet","kind":"intel","sensor":"s"}"#;
        let (a, b) = (parse(ordered.as_bytes()).unwrap(), parse(shuffled.as_bytes()).unwrap());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!((a.id, a.src_port, a.indicator.unwrap().feed), ("a", Some(4000), "f"));
        // A name that only starts like an expected one is not taken for it.
        let longer =
            ordered.replace(r#""ts":"#, r#""tsx":1,"ts":"#).replace(r#""sensor":"s""#, r#""sensor":"s","sensorx":"t""#);
        assert_eq!(format!("{:?}", parse(longer.as_bytes()).unwrap()), format!("{a:?}"));
    }

    #[test]
    fn takes_the_sensor_lines() {
        for l in crate::bench::stream(500) {
            assert!(parse(l.as_bytes()).is_some(), "{l}");
        }
        let escaped = r#"{"id":"a","ts":"2026-11-29T05:00:00Z","sensor":"s","kind":"intel","input":"syslog","match":{"where":"syslog.token","value":"a\"b"}}"#;
        assert!(parse(escaped.as_bytes()).is_none());
        let skipped = r#"{"id":"a","ts":"2026-11-29T05:00:00Z","sensor":"s","kind":"rule","input":"syslog","match":{"where":"syslog.message","value":"x"},"rule":{"chain":"re","name":"n"},"syslog":{"host":"10.0.0.1","message":"q\"[{"}}"#;
        let r = parse(skipped.as_bytes()).unwrap();
        assert_eq!(r.syslog_host, Some("10.0.0.1".parse().unwrap()));
    }
}
