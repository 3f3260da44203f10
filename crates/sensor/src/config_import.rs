//! `sdn-sensor config import OLD.json`: converts the original sdn_sensor's
//! configuration (JSON with `//` and `/* */` comments and trailing commas)
//! into this sensor's TOML configuration (docs/CONFIG.md).
//!
//! What has an equivalent is converted; what has none (the original's own
//! DPDK TCP/IP stack, per-chain nanomsg queues, ...) is reported as a note,
//! both in [`Imported::notes`] and as `# note:` comments in the TOML beside
//! what they concern. Wrong JSON, or a value of the wrong type, is an
//! [`ImportError`] naming the file, line and column.
//!
//! The JSON reader is our own (a few hundred lines) so that every value
//! keeps its position for the error messages.

use crate::syslogs::ReRules;
use std::collections::BTreeSet;

/// The converted configuration.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The TOML text; `config::Config::parse` accepts it.
    pub toml: String,
    /// What was not carried over, or changed, one sentence each (also in
    /// `toml` as `# note:` comments).
    pub notes: Vec<String>,
}

/// An import error, ready to print: `file:line:col: what; how to fix`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// Converts the original's configuration `json_text`; `file_name` names it
/// in errors and in the output's header.
pub fn import(file_name: &str, json_text: &str) -> Result<Imported, ImportError> {
    let clean = strip_json_comments(file_name, json_text)?;
    let root = Parser { s: &clean, b: clean.as_bytes(), i: 0 }
        .document()
        .map_err(|(at, what)| error_at(file_name, json_text, at, &what))?;
    let mut conv = Conv::new(file_name, json_text);
    conv.root(&root)?;
    Ok(conv.finish())
}

/// The original's JSON dialect made plain JSON: `//` and `/* */` comments
/// outside strings and commas before `]` or `}` become spaces. Every other
/// octet (newlines included) stays where it was, so positions in the
/// result are positions in `text`.
pub fn strip_json_comments(file_name: &str, text: &str) -> Result<String, ImportError> {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let mut in_string = false;
    // Pass 1: comments.
    while i < b.len() {
        let c = b[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                // A line break ends an unterminated string here; the parser
                // reports it at the opening quote.
                b'\n' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match (c, b.get(i + 1)) {
            (b'"', _) => in_string = true,
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
                continue;
            }
            (b'/', Some(b'*')) => {
                let start = i;
                let Some(len) = text[i + 2..].find("*/") else {
                    return Err(error_at(file_name, text, start, "this /* comment is never closed; end it with */"));
                };
                let end = i + 2 + len + 2;
                for o in &mut out[i..end] {
                    if *o != b'\n' {
                        *o = b' ';
                    }
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // Pass 2: trailing commas (comments are spaces now).
    in_string = false;
    i = 0;
    while i < out.len() {
        let c = out[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                _ => {}
            }
        } else if c == b'"' {
            in_string = true;
        } else if c == b',' {
            let next = out[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
            if matches!(next, Some(b']' | b'}')) {
                out[i] = b' ';
            }
        }
        i += 1;
    }
    // Only ASCII octets were replaced, by ASCII spaces: still UTF-8.
    Ok(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// `file:line:col: what` for a byte offset of `text`.
fn error_at(file: &str, text: &str, at: usize, what: &str) -> ImportError {
    let (line, col) = line_col(text, at);
    ImportError(format!("{file}:{line}:{col}: {what}"))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before, |i| &before[i + 1..]).chars().count() + 1;
    (line, col)
}

// ---------------------------------------------------------------- JSON

#[derive(Debug)]
enum Json {
    Null,
    Bool(bool),
    /// As written.
    Num(String),
    Str(String),
    Arr(Vec<Node>),
    /// In file order; a repeated name: the last one counts (as json-c).
    Obj(Vec<(String, Node)>),
}

/// A value and the byte offset where it starts.
#[derive(Debug)]
struct Node {
    v: Json,
    at: usize,
}

impl Node {
    fn kind(&self) -> &'static str {
        match self.v {
            Json::Null => "null",
            Json::Bool(_) => "true/false",
            Json::Num(_) => "a number",
            Json::Str(_) => "a string",
            Json::Arr(_) => "an array",
            Json::Obj(_) => "an object",
        }
    }

    /// A member of an object (the last of that name).
    fn get(&self, key: &str) -> Option<&Node> {
        match &self.v {
            Json::Obj(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// An object's members, each name once (its last occurrence, in the
    /// place of the first).
    fn members(&self) -> Vec<(&str, &Node)> {
        let Json::Obj(m) = &self.v else { return Vec::new() };
        let mut out: Vec<(&str, &Node)> = Vec::new();
        for (k, v) in m {
            match out.iter_mut().find(|(n, _)| n == k) {
                Some(slot) => slot.1 = v,
                None => out.push((k, v)),
            }
        }
        out
    }
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

type PResult<T> = Result<T, (usize, String)>;

impl Parser<'_> {
    fn document(&mut self) -> PResult<Node> {
        let v = self.value()?;
        self.ws();
        if self.i < self.b.len() {
            return Err((
                self.i,
                format!(
                    "{} after the end of the configuration; the file is one {{ ... }}: remove it or move it inside",
                    self.found()
                ),
            ));
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// What is at the current position, for messages.
    fn found(&self) -> String {
        match self.s.get(self.i..).and_then(|s| s.chars().next()) {
            None => "the end of the file".to_string(),
            Some(c) => format!("`{}`", c.escape_default()),
        }
    }

    fn value(&mut self) -> PResult<Node> {
        self.ws();
        let at = self.i;
        let v = match self.b.get(at) {
            None => {
                return Err((at, "unexpected end of the file; a value is missing or a bracket is not closed".into()));
            }
            Some(b'{') => self.object()?,
            Some(b'[') => self.array()?,
            Some(b'"') => Json::Str(self.string()?),
            Some(b't') => self.word("true", Json::Bool(true))?,
            Some(b'f') => self.word("false", Json::Bool(false))?,
            Some(b'n') => self.word("null", Json::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b'\'') => return Err((at, "JSON strings take double quotes; write \"...\" instead of '...'".into())),
            Some(_) => {
                return Err((
                    at,
                    format!(
                        "expected a value (a string in double quotes, number, true, false, null, [ or {{), found {}",
                        self.found()
                    ),
                ));
            }
        };
        Ok(Node { v, at })
    }

    fn word(&mut self, w: &str, v: Json) -> PResult<Json> {
        if self.b[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err((self.i, format!("expected a value, found {}; strings need double quotes", self.found())))
        }
    }

    fn number(&mut self) -> PResult<Json> {
        let start = self.i;
        while matches!(self.b.get(self.i), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
            self.i += 1;
        }
        let t = &self.s[start..self.i];
        let digits = t.strip_prefix('-').unwrap_or(t);
        let leading_zero = digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit();
        if !digits.starts_with(|c: char| c.is_ascii_digit()) || leading_zero || t.parse::<f64>().is_err() {
            return Err((start, format!("{t:?} is not a JSON number (write e.g. 42, -1, 0.5 or 1e3)")));
        }
        if matches!(self.b.get(self.i), Some(c) if c.is_ascii_alphanumeric()) {
            return Err((start, "not a JSON number (hexadecimal is not JSON: write the decimal value)".into()));
        }
        Ok(Json::Num(t.to_string()))
    }

    fn string(&mut self) -> PResult<String> {
        let open = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let run = self.i;
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(&self.s[run..self.i]);
            match self.b.get(self.i) {
                None => return Err((open, "this string is never closed; add the closing \"".into())),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\n' | b'\r') => {
                    return Err((open, "this string is not closed on its line; add the closing \" (a line break inside a string is written \\n)".into()));
                }
                Some(&c) if c < 0x20 => {
                    return Err((
                        self.i,
                        format!("control character 0x{c:02x} inside a string; write it as \\u{c:04x}"),
                    ));
                }
                Some(_) => {
                    // A backslash.
                    let at = self.i;
                    self.i += 1;
                    let e = self.b.get(self.i).copied();
                    self.i += 1;
                    match e {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let hi = self.hex4(at)?;
                            let c = if (0xd800..0xdc00).contains(&hi) {
                                let lo = if self.b[self.i..].starts_with(b"\\u") {
                                    self.i += 2;
                                    self.hex4(at)?
                                } else {
                                    0
                                };
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err((at, "\\u escape of a lone surrogate; give the pair".into()));
                                }
                                char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))
                            } else {
                                char::from_u32(hi)
                            };
                            out.push(c.ok_or((at, "\\u escape of a lone surrogate; give the pair".to_string()))?);
                        }
                        _ => {
                            return Err((
                                at,
                                "unknown escape in a string; a backslash is written \\\\ (regular expressions need theirs doubled: \\\\d)".into(),
                            ));
                        }
                    }
                }
            }
        }
    }

    fn hex4(&mut self, at: usize) -> PResult<u32> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok().filter(|_| !h.starts_with('+')));
        let h = h.ok_or((at, "\\u needs four hexadecimal digits".to_string()))?;
        self.i += 4;
        Ok(h)
    }

    fn array(&mut self) -> PResult<Json> {
        let open = self.i;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Arr(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                None => return Err((open, "this [ is never closed; add the ]".into())),
                Some(_) => {
                    return Err((
                        self.i,
                        format!(
                            "expected `,` or `]` after an array item, found {}; a comma is probably missing",
                            self.found()
                        ),
                    ));
                }
            }
        }
    }

    fn object(&mut self) -> PResult<Json> {
        let open = self.i;
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Obj(members));
        }
        loop {
            self.ws();
            match self.b.get(self.i) {
                Some(b'"') => {}
                None => return Err((open, "this { is never closed; add the }".into())),
                Some(_) => {
                    return Err((
                        self.i,
                        format!(
                            "expected a member name in double quotes, found {}; names are written \"name\": value",
                            self.found()
                        ),
                    ));
                }
            }
            let key = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err((self.i, format!("expected `:` after the name {key:?}, found {}", self.found())));
            }
            self.i += 1;
            let v = self.value()?;
            members.push((key, v));
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Obj(members));
                }
                None => return Err((open, "this { is never closed; add the }".into())),
                Some(_) => {
                    let name = &members.last().map_or("", |(k, _)| k.as_str()).to_string();
                    return Err((
                        self.i,
                        format!(
                            "expected `,` or `}}` after the value of {name:?}, found {}; a comma is probably missing",
                            self.found()
                        ),
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------- TOML

/// A TOML string: a literal string ('...') when the text allows (no single
/// quote, no control character but tab), else a basic string with escapes.
fn toml_str(s: &str) -> String {
    if !s.contains('\'') && !s.chars().any(|c| c.is_control() && c != '\t') {
        return format!("'{s}'");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| toml_str(s)).collect::<Vec<_>>().join(", "))
}

/// A one-line comment text (values from the file may hold line breaks).
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

// ---------------------------------------------------------------- conversion

/// Where a note or line goes in the output (in this order).
#[derive(Clone, Copy)]
enum Sect {
    Header,
    Capture,
    Syslog,
    Sflow,
    Netflow,
    Ipfix,
    Intel,
    Pcap,
    Re,
    Cidr,
    Dns,
    Sink,
}
const SECTIONS: usize = 12;

#[derive(Default)]
struct Block {
    notes: Vec<String>,
    lines: Vec<String>,
}

struct Conv<'a> {
    file: &'a str,
    text: &'a str,
    blocks: Vec<Block>,
    promiscuous: Option<bool>,
    workers: Option<u64>,
    pci: Vec<String>,
    syslog_sources: Vec<String>,
    sflow_sources: Vec<String>,
    netflow_sources: Vec<String>,
    ipfix_sources: Vec<String>,
    /// Distinct (pattern, url) of the chains' queues, in first-seen order.
    sinks: Vec<(&'static str, String)>,
    formats: BTreeSet<String>,
    queues: usize,
    re_rules: usize,
    re_engine_noted: bool,
    dns_mode_noted: bool,
    cidr_noted: bool,
}

type R<T> = Result<T, ImportError>;

const NM_KEYS: [&str; 6] = ["nm_url", "nm_type", "nm_format", "nm_queue_url", "nm_queue_type", "nm_queue_format"];

impl<'a> Conv<'a> {
    fn new(file: &'a str, text: &'a str) -> Self {
        Conv {
            file,
            text,
            blocks: (0..SECTIONS).map(|_| Block::default()).collect(),
            promiscuous: None,
            workers: None,
            pci: Vec::new(),
            syslog_sources: Vec::new(),
            sflow_sources: Vec::new(),
            netflow_sources: Vec::new(),
            ipfix_sources: Vec::new(),
            sinks: Vec::new(),
            formats: BTreeSet::new(),
            queues: 0,
            re_rules: 0,
            re_engine_noted: false,
            dns_mode_noted: false,
            cidr_noted: false,
        }
    }

    fn note(&mut self, s: Sect, text: impl Into<String>) {
        self.blocks[s as usize].notes.push(text.into());
    }

    fn line(&mut self, s: Sect, text: impl Into<String>) {
        self.blocks[s as usize].lines.push(text.into());
    }

    fn err(&self, node: &Node, what: &str) -> ImportError {
        error_at(self.file, self.text, node.at, what)
    }

    /// `place` must be `want`: the error when it is something else.
    fn type_err(&self, node: &Node, place: &str, want: &str, example: &str) -> ImportError {
        self.err(node, &format!("{place} must be {want}, not {}; write e.g. {example}", node.kind()))
    }

    fn root(&mut self, root: &Node) -> R<()> {
        if !matches!(root.v, Json::Obj(_)) {
            return Err(self.type_err(root, "the configuration", "an object", "{ \"pcap_chain\": [ ... ] }"));
        }
        if let Json::Obj(m) = &root.v {
            let mut seen = BTreeSet::new();
            for (k, _) in m {
                if !seen.insert(k.as_str()) {
                    self.note(
                        Sect::Header,
                        format!("{k:?} is given more than once; the last one is converted (as the original did)"),
                    );
                }
            }
        }
        for (key, node) in root.members() {
            match key {
                "network" => self.network(node)?,
                "dpdk" => self.dpdk(node)?,
                "pcap_chain" => self.pcap_chain(node)?,
                "ioc_files" => self.ioc_files(node)?,
                "re_chain" => self.re_chain(node)?,
                "cidr_chain" | "cidr_table" => self.cidr_chain(key, node)?,
                "dns_chain" => self.dns_chain(node)?,
                "syslog_udp_sources" | "syslog_tcp_sources" | "syslog_sources" | "raw_sources" | "sflow_sources"
                | "ipfix_sources" | "netflow_sources" => self.sources(key, node)?,
                _ => self.note(Sect::Header, format!("{key:?} (line {}) has no equivalent; ignored", self.lno(node))),
            }
        }
        Ok(())
    }

    fn lno(&self, node: &Node) -> usize {
        line_col(self.text, node.at).0
    }

    /// An object's member; wrong types are errors.
    fn obj<'n>(&self, node: &'n Node, place: &str, example: &str) -> R<Vec<(&'n str, &'n Node)>> {
        match node.v {
            Json::Obj(_) => Ok(node.members()),
            _ => Err(self.type_err(node, place, "an object", example)),
        }
    }

    fn arr<'n>(&self, node: &'n Node, place: &str, example: &str) -> R<&'n [Node]> {
        match &node.v {
            Json::Arr(items) => Ok(items),
            _ => Err(self.type_err(node, place, "an array", example)),
        }
    }

    /// A string member of `entry` (the first of `keys` given); null is absent.
    fn string(&self, entry: &Node, place: &str, keys: &[&str]) -> R<Option<String>> {
        for k in keys {
            match entry.get(k) {
                None | Some(Node { v: Json::Null, .. }) => continue,
                Some(Node { v: Json::Str(s), .. }) => return Ok(Some(s.clone())),
                Some(n) => {
                    return Err(self.type_err(n, &format!("{place}.{k}"), "a string", &format!("\"{k}\": \"...\"")));
                }
            }
        }
        Ok(None)
    }

    fn boolean(&self, entry: &Node, place: &str, key: &str) -> R<Option<bool>> {
        match entry.get(key) {
            None | Some(Node { v: Json::Null, .. }) => Ok(None),
            Some(Node { v: Json::Bool(b), .. }) => Ok(Some(*b)),
            Some(n) => Err(self.type_err(n, &format!("{place}.{key}"), "true or false", &format!("\"{key}\": true"))),
        }
    }

    fn integer(&self, node: &Node, place: &str) -> R<i64> {
        match &node.v {
            Json::Num(t) => {
                t.parse::<i64>().map_err(|_| self.err(node, &format!("{place} must be a whole number, not {t}")))
            }
            _ => Err(self.type_err(node, place, "a number", "2")),
        }
    }

    /// Notes each member of `entry` outside `known` (and the nanomsg keys).
    fn unknown_members(&mut self, s: Sect, entry: &Node, place: &str, known: &[&str]) {
        for (k, v) in entry.members() {
            if !known.contains(&k) && !NM_KEYS.contains(&k) {
                let line = self.lno(v);
                self.note(s, format!("{place}.{k} (line {line}) has no equivalent; ignored"));
            }
        }
    }

    /// The entries of a chain: an array of objects.
    fn entries<'n>(&self, node: &'n Node, chain: &str, example: &str) -> R<&'n [Node]> {
        let items = self.arr(node, chain, &format!("\"{chain}\": [ {example} ]"))?;
        for (i, e) in items.iter().enumerate() {
            if !matches!(e.v, Json::Obj(_)) {
                return Err(self.type_err(e, &format!("{chain}[{i}]"), "an object", example));
            }
        }
        Ok(items)
    }

    /// An entry's name; a missing or empty one becomes `chain[i]`.
    fn name(&mut self, s: Sect, entry: &Node, place: &str) -> R<String> {
        match self.string(entry, place, &["name"])? {
            Some(n) if !n.trim().is_empty() => Ok(n),
            _ => {
                self.note(s, format!("{place} (line {}) has no name; named {place:?}", self.lno(entry)));
                Ok(place.to_string())
            }
        }
    }

    /// The entry's nanomsg queue (`nm_url`, `nm_type`, `nm_format` or their
    /// older `nm_queue_*` spellings) becomes a global sink.
    fn queue(&mut self, s: Sect, entry: &Node, place: &str) -> R<()> {
        let url = self.string(entry, place, &["nm_url", "nm_queue_url"])?;
        let kind = self.string(entry, place, &["nm_type", "nm_queue_type"])?;
        let format = self.string(entry, place, &["nm_format", "nm_queue_format"])?;
        let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
            return Ok(());
        };
        self.queues += 1;
        if let Some(f) = format {
            self.formats.insert(f);
        }
        let pattern = match kind.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("PUSH") => "push",
            Some("PUB") => "pub",
            None => {
                self.note(s, format!("{place}: nm_type is missing; its queue {url:?} becomes a push sink"));
                "push"
            }
            Some(_) => {
                let k = kind.unwrap_or_default();
                self.note(
                    s,
                    format!("{place}: nm_type {k:?} has no equivalent (sinks push or pub); its queue {url:?} is not converted"),
                );
                return Ok(());
            }
        };
        let url = self.nanomsg_url(s, place, &url);
        if !self.sinks.iter().any(|(p, u)| *p == pattern && *u == url) {
            self.sinks.push((pattern, url));
        }
        Ok(())
    }

    /// `tcp://[127.0.0.1]:10001` (the original's spelling) is
    /// `tcp://127.0.0.1:10001`: brackets are for IPv6 addresses.
    fn nanomsg_url(&mut self, s: Sect, place: &str, url: &str) -> String {
        let fixed = url.split_once("://[").and_then(|(scheme, rest)| {
            let (host, tail) = rest.split_once(']')?;
            host.parse::<std::net::Ipv4Addr>().ok().map(|_| format!("{scheme}://{host}{tail}"))
        });
        match fixed {
            Some(f) => {
                if !self.sinks.iter().any(|(_, u)| *u == f) {
                    self.note(s, format!("{place}: nm_url {url:?} is written {f:?} (brackets are for IPv6 addresses)"));
                }
                f
            }
            None => url.to_string(),
        }
    }

    fn network(&mut self, node: &Node) -> R<()> {
        for (k, v) in self.obj(node, "network", "\"network\": { \"promiscuous_mode\": true }")? {
            match k {
                "promiscuous_mode" => {
                    let Json::Bool(b) = v.v else {
                        return Err(self.type_err(v, "network.promiscuous_mode", "true or false", "true"));
                    };
                    self.promiscuous = Some(b);
                    self.note(
                        Sect::Capture,
                        format!("network.promiscuous_mode = {b} becomes [[capture]] promiscuous = {b}"),
                    );
                }
                "mtu" | "ipv4_address" | "ipv4_gateway" | "ipv6_address" | "ipv6_gateway" => {
                    let shown = match &v.v {
                        Json::Str(s) => format!("{s:?}"),
                        Json::Num(n) => n.clone(),
                        _ => v.kind().to_string(),
                    };
                    self.note(
                        Sect::Header,
                        format!(
                            "network.{k} = {shown}: not applicable (the original's own TCP/IP stack on DPDK; this sensor receives on kernel sockets)"
                        ),
                    );
                }
                _ => self.note(Sect::Header, format!("network.{k} (line {}) has no equivalent; ignored", self.lno(v))),
            }
        }
        Ok(())
    }

    fn dpdk(&mut self, node: &Node) -> R<()> {
        for (k, v) in self.obj(node, "dpdk", "\"dpdk\": { \"queue_count\": 2 }")? {
            match k {
                "eal_options" => {
                    let Json::Str(eal) = &v.v else {
                        return Err(self.type_err(
                            v,
                            "dpdk.eal_options",
                            "a string",
                            "\"sdn_sensor -c 0x3 -w 01:00.1\"",
                        ));
                    };
                    self.pci = pci_addresses(eal);
                    self.note(
                        Sect::Header,
                        format!("dpdk.eal_options = {eal:?}: not applicable (DPDK's options; this sensor captures with AF_PACKET)"),
                    );
                }
                "queue_count" => {
                    let n = self.integer(v, "dpdk.queue_count")?;
                    if n > 0 {
                        self.workers = Some(n as u64);
                        self.note(Sect::Capture, format!("dpdk.queue_count = {n} becomes [[capture]] workers = {n}"));
                    } else {
                        self.note(
                            Sect::Capture,
                            format!("dpdk.queue_count = {n} ignored (workers must be at least 1)"),
                        );
                    }
                }
                "log_level" | "port_mask" | "timer_msec" | "rxd_count" | "txd_count" | "rss_enabled" => {
                    let shown = match &v.v {
                        Json::Str(s) => format!("{s:?}"),
                        Json::Num(n) => n.clone(),
                        Json::Bool(b) => b.to_string(),
                        _ => v.kind().to_string(),
                    };
                    self.note(Sect::Header, format!("dpdk.{k} = {shown}: not applicable (a DPDK setting)"));
                }
                _ => self.note(Sect::Header, format!("dpdk.{k} (line {}) has no equivalent; ignored", self.lno(v))),
            }
        }
        Ok(())
    }

    fn pcap_chain(&mut self, node: &Node) -> R<()> {
        let s = Sect::Pcap;
        for (i, e) in
            self.entries(node, "pcap_chain", "{ \"name\": \"web\", \"filter\": \"tcp port 80\" }")?.iter().enumerate()
        {
            let place = format!("pcap_chain[{i}]");
            self.unknown_members(s, e, &place, &["name", "filter"]);
            self.queue(s, e, &place)?;
            let name = self.name(s, e, &place)?;
            let filter = self.string(e, &place, &["filter"])?.unwrap_or_default();
            if filter.trim().is_empty() {
                self.note(
                    s,
                    format!("{place} ({name:?}, line {}) has an empty filter (every packet); skipped: write e.g. filter = 'ip' if that was meant", self.lno(e)),
                );
                continue;
            }
            self.line(s, "[[pcap_chain]]");
            self.line(s, format!("name = {}", toml_str(&name)));
            self.line(s, format!("filter = {}", toml_str(&filter)));
            self.line(s, "");
        }
        Ok(())
    }

    fn ioc_files(&mut self, node: &Node) -> R<()> {
        let s = Sect::Intel;
        for (i, e) in self.entries(node, "ioc_files", "{ \"path\": \"/var/lib/ioc/output.csv\" }")?.iter().enumerate() {
            let place = format!("ioc_files[{i}]");
            self.unknown_members(s, e, &place, &["path"]);
            self.queue(s, e, &place)?;
            let Some(path) = self.string(e, &place, &["path"])?.filter(|p| !p.trim().is_empty()) else {
                self.note(s, format!("{place} (line {}) has no path; skipped", self.lno(e)));
                continue;
            };
            if !path.starts_with('/') {
                self.note(
                    s,
                    format!("{place}: path {path:?} is relative: this sensor reads it relative to the configuration file (the original: to its working directory)"),
                );
            }
            self.line(s, "[[intel.feed]]");
            self.line(s, format!("path = {}", toml_str(&path)));
            self.line(s, "");
        }
        Ok(())
    }

    fn re_chain(&mut self, node: &Node) -> R<()> {
        let s = Sect::Re;
        let known = ["name", "re", "backend", "type", "ioc_type", "nocase", "utf8", "inverted", "verbose"];
        let example = "{ \"name\": \"ip\", \"re\": \"\\\\d+\", \"type\": \"substring\", \"ioc_type\": \"ip\" }";
        for (i, e) in self.entries(node, "re_chain", example)?.iter().enumerate() {
            let place = format!("re_chain[{i}]");
            let line = self.lno(e);
            self.unknown_members(s, e, &place, &known);
            self.queue(s, e, &place)?;
            let name = self.name(s, e, &place)?;
            let at = format!("{place} ({name:?}, line {line})");
            let re = self.string(e, &place, &["re"])?.unwrap_or_default();
            if re.is_empty() {
                self.note(s, format!("{at} has an empty re; skipped"));
                continue;
            }
            let backend = self.string(e, &place, &["backend"])?;
            if !self.re_engine_noted {
                self.re_engine_noted = true;
                self.note(
                    s,
                    "re_chain: backend (re2 or pcre) is not kept: every regex runs on Rust's regex crate (RE2 syntax, UTF-8 always); PCRE-only constructs (backreferences, lookaround) are reported below",
                );
            }
            if let Some(b) =
                backend.as_deref().filter(|b| !b.eq_ignore_ascii_case("re2") && !b.eq_ignore_ascii_case("pcre"))
            {
                self.note(
                    s,
                    format!("{at}: backend {b:?} is unknown (the original took re2 or pcre); converted anyway"),
                );
            }
            if self.boolean(e, &place, "utf8")? == Some(false) {
                self.note(s, format!("{at}: utf8 = false (Latin-1) is not kept: messages are matched as UTF-8"));
            }
            // The original's defaults: nocase true, inverted false.
            let nocase = self.boolean(e, &place, "nocase")?.unwrap_or(true);
            let mut inverted = self.boolean(e, &place, "inverted")?.unwrap_or(false);
            let kind = self.string(e, &place, &["type"])?;
            let substring = match kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("substring") => true,
                Some("complete") => false,
                None => {
                    self.note(s, format!("{at}: type is missing; type = \"complete\" assumed"));
                    false
                }
                Some(_) => {
                    self.note(
                        s,
                        format!(
                            "{at}: type {:?} is neither \"complete\" nor \"substring\"; skipped",
                            kind.unwrap_or_default()
                        ),
                    );
                    continue;
                }
            };
            let ioc = self.string(e, &place, &["ioc_type"])?;
            let ioc_type = match ioc.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None => None,
                Some(t @ ("ip" | "domain" | "url" | "email")) => Some(t.to_string()),
                Some(t @ ("md5" | "sha256")) => {
                    if substring {
                        self.note(s, format!("{at}: ioc_type {t:?} becomes \"hash\" (md5, sha1 and sha256 alike)"));
                    }
                    Some("hash".to_string())
                }
                Some("cidr") => {
                    if substring {
                        self.note(
                            s,
                            format!("{at}: ioc_type \"cidr\" becomes \"ip\" (addresses are looked up in prefixes too)"),
                        );
                    }
                    Some("ip".to_string())
                }
                Some(_) => {
                    self.note(
                        s,
                        format!(
                            "{at}: ioc_type {:?} is unknown (ip, domain, url, email, md5, sha256); skipped",
                            ioc.unwrap_or_default()
                        ),
                    );
                    continue;
                }
            };
            let mut out = vec![
                "[[re_chain]]".to_string(),
                format!("name = {}", toml_str(&name)),
                format!("regex = {}", toml_str(&re)),
            ];
            if substring {
                let Some(t) = ioc_type else {
                    self.note(s, format!("{at}: type \"substring\" without ioc_type; skipped (add ioc_type = 'ip', 'domain', 'url', 'email' or 'hash')"));
                    continue;
                };
                out.push("type = \"substring\"".to_string());
                out.push(format!("ioc_type = \"{t}\""));
                if inverted {
                    self.note(
                        s,
                        format!(
                            "{at}: inverted applies to type \"complete\" only (the original ignored it here); dropped"
                        ),
                    );
                    inverted = false;
                }
            } else {
                out.push("type = \"complete\"".to_string());
            }
            out.push(format!("nocase = {nocase}"));
            if inverted {
                out.push("inverted = true".to_string());
            }
            match ReRules::compile(&re, nocase) {
                Ok(regex) => {
                    if substring && regex.captures_len() > 1 {
                        self.note(
                            s,
                            format!("{at}: the regex has a capture group: this sensor looks up the first group's text, the original the whole match"),
                        );
                    }
                }
                Err(m) => {
                    self.note(s, format!("{at}: regex {m}; left commented out below"));
                    for l in out {
                        self.line(s, format!("# {l}"));
                    }
                    self.line(s, "");
                    continue;
                }
            }
            self.re_rules += 1;
            for l in out {
                self.line(s, l);
            }
            self.line(s, "");
        }
        Ok(())
    }

    fn cidr_chain(&mut self, key: &str, node: &Node) -> R<()> {
        let s = Sect::Cidr;
        // (place, name, cidr, entry)
        let mut found: Vec<(String, Option<String>, String, &Node)> = Vec::new();
        match &node.v {
            Json::Obj(_) if key == "cidr_table" => {
                for (cidr, e) in node.members() {
                    let place = format!("cidr_table[{cidr:?}]");
                    if !matches!(e.v, Json::Obj(_)) {
                        return Err(self.type_err(e, &place, "an object", "{ \"name\": \"rfc1918\" }"));
                    }
                    self.unknown_members(s, e, &place, &["name"]);
                    let name = self.string(e, &place, &["name"])?;
                    found.push((place, name, cidr.to_string(), e));
                }
            }
            _ => {
                let example = "{ \"name\": \"guests\", \"cidr\": \"10.0.0.0/8\" }";
                for (i, e) in self.entries(node, key, example)?.iter().enumerate() {
                    let place = format!("{key}[{i}]");
                    self.unknown_members(s, e, &place, &["name", "cidr"]);
                    let name = self.string(e, &place, &["name"])?;
                    let cidr = self.string(e, &place, &["cidr"])?.unwrap_or_default();
                    found.push((place, name, cidr, e));
                }
            }
        }
        if !found.is_empty() && !self.cidr_noted {
            self.cidr_noted = true;
            self.note(
                s,
                format!("{key}: the original read these rules but never matched packets against them; here they are active (each match is an event): remove those you do not want"),
            );
        }
        for (place, name, cidr, e) in found {
            self.queue(s, e, &place)?;
            let name = match name.filter(|n| !n.trim().is_empty()) {
                Some(n) => n,
                None => {
                    self.note(s, format!("{place} (line {}) has no name; named {place:?}", self.lno(e)));
                    place.clone()
                }
            };
            let at = format!("{place} ({name:?}, line {})", self.lno(e));
            if cidr.trim().is_empty() {
                self.note(s, format!("{at} has an empty cidr; skipped"));
                continue;
            }
            let lines = [
                "[[cidr_chain]]".to_string(),
                format!("name = {}", toml_str(&name)),
                format!("cidr = {}", toml_str(&cidr)),
            ];
            let comment = if intel::IpKey::parse(&cidr).is_none() {
                self.note(s, format!("{at}: cidr {cidr:?} is not an address or prefix; left commented out below"));
                "# "
            } else {
                ""
            };
            for l in lines {
                self.line(s, format!("{comment}{l}"));
            }
            self.line(s, "");
        }
        Ok(())
    }

    fn dns_chain(&mut self, node: &Node) -> R<()> {
        let s = Sect::Dns;
        let example = "{ \"name\": \"c2\", \"dns\": \"evil.example.\" }";
        for (i, e) in self.entries(node, "dns_chain", example)?.iter().enumerate() {
            let place = format!("dns_chain[{i}]");
            self.unknown_members(s, e, &place, &["name", "dns", "ip"]);
            self.queue(s, e, &place)?;
            let name = self.name(s, e, &place)?;
            let at = format!("{place} ({name:?}, line {})", self.lno(e));
            let dns = self.string(e, &place, &["dns"])?.map(|d| d.trim().trim_end_matches('.').to_string());
            let dns = dns.filter(|d| !d.is_empty());
            let ip = self.string(e, &place, &["ip"])?.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
            if dns.is_none() && ip.is_none() {
                self.note(s, format!("{at} has neither dns nor ip; skipped"));
                continue;
            }
            if dns.is_some() && ip.is_some() {
                self.note(s, format!("{at} has both dns and ip: converted as two rules of that name"));
            }
            if let Some(d) = dns {
                if !self.dns_mode_noted {
                    self.dns_mode_noted = true;
                    self.note(
                        s,
                        "dns_chain: the original matched names by substring; match = \"substring\" keeps that (\"suffix\", this sensor's default, matches the name and the names below it on label boundaries)",
                    );
                }
                let comment = if d.contains(char::is_whitespace) {
                    self.note(s, format!("{at}: dns {d:?} is not a DNS name; left commented out below"));
                    "# "
                } else {
                    ""
                };
                for l in [
                    "[[dns_chain]]".to_string(),
                    format!("name = {}", toml_str(&name)),
                    format!("dns = {}", toml_str(&d)),
                    "match = \"substring\"".to_string(),
                ] {
                    self.line(s, format!("{comment}{l}"));
                }
                self.line(s, "");
            }
            if let Some(ip) = ip {
                let comment = if intel::IpKey::parse(&ip).is_none() {
                    self.note(s, format!("{at}: ip {ip:?} is not an address or prefix; left commented out below"));
                    "# "
                } else {
                    ""
                };
                for l in [
                    "[[dns_chain]]".to_string(),
                    format!("name = {}", toml_str(&name)),
                    format!("ip = {}", toml_str(&ip)),
                ] {
                    self.line(s, format!("{comment}{l}"));
                }
                self.line(s, "");
            }
        }
        Ok(())
    }

    /// `*_sources`: an object whose names are addresses or prefixes (the
    /// original's form), or an array of them.
    fn sources(&mut self, key: &str, node: &Node) -> R<()> {
        let mut list: Vec<(String, &Node)> = Vec::new();
        match &node.v {
            Json::Obj(_) => list.extend(node.members().into_iter().map(|(k, v)| (k.to_string(), v))),
            Json::Arr(items) => {
                for (i, it) in items.iter().enumerate() {
                    match &it.v {
                        Json::Str(v) => list.push((v.clone(), it)),
                        _ => return Err(self.type_err(it, &format!("{key}[{i}]"), "a string", "\"192.0.2.0/24\"")),
                    }
                }
            }
            _ => {
                return Err(self.type_err(
                    node,
                    key,
                    "an object or an array",
                    &format!("\"{key}\": {{ \"192.0.2.0/24\": {{}} }}"),
                ));
            }
        }
        let s = match key {
            "syslog_udp_sources" | "syslog_tcp_sources" | "syslog_sources" => Sect::Syslog,
            "sflow_sources" => Sect::Sflow,
            "netflow_sources" => Sect::Netflow,
            "ipfix_sources" => Sect::Ipfix,
            _ => {
                if !list.is_empty() {
                    let all: Vec<&str> = list.iter().map(|(v, _)| v.as_str()).collect();
                    self.note(
                        Sect::Header,
                        format!(
                            "raw_sources {all:?}: no equivalent (captured traffic is not filtered by sender); ignored"
                        ),
                    );
                }
                return Ok(());
            }
        };
        for (v, n) in list {
            if intel::IpKey::parse(&v).is_none() {
                self.note(s, format!("{key}: {v:?} (line {}) is not an address or prefix; dropped", self.lno(n)));
                continue;
            }
            let target = match s {
                Sect::Syslog => &mut self.syslog_sources,
                Sect::Sflow => &mut self.sflow_sources,
                Sect::Netflow => &mut self.netflow_sources,
                _ => &mut self.ipfix_sources,
            };
            let v = v.trim().to_string();
            if !target.contains(&v) {
                target.push(v);
            }
        }
        if key == "syslog_tcp_sources" || key == "syslog_udp_sources" {
            let note = "syslog_udp_sources and syslog_tcp_sources are merged into [syslog] sources (one list for both)";
            if !self.blocks[Sect::Syslog as usize].notes.iter().any(|n| n == note) {
                self.note(Sect::Syslog, note);
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Imported {
        // [[capture]]: commented out, the interface is unknown.
        let pci = if self.pci.is_empty() {
            String::new()
        } else {
            format!(" (the original used PCI {})", self.pci.join(", "))
        };
        self.note(
            Sect::Capture,
            format!("set the capture interface{pci}: a PCI address names no interface; uncomment [[capture]] below and replace \"eth0\""),
        );
        self.line(Sect::Capture, "# [[capture]]");
        self.line(Sect::Capture, "# interface = \"eth0\"");
        if let Some(p) = self.promiscuous {
            self.line(Sect::Capture, format!("# promiscuous = {p}"));
        }
        if let Some(w) = self.workers {
            self.line(Sect::Capture, format!("# workers = {w}"));
        }

        // [syslog]
        let mut syslog = Vec::new();
        if self.re_rules > 0 {
            self.note(Sect::Syslog, "first_match = true: the original stopped at the first re_chain rule that fired");
            syslog.push("first_match = true".to_string());
        }
        if !self.syslog_sources.is_empty() {
            syslog.push(format!("sources = {}", toml_list(&self.syslog_sources)));
        }
        self.section(Sect::Syslog, "[syslog]", syslog);
        for (s, title) in [(Sect::Sflow, "[sflow]"), (Sect::Netflow, "[netflow]"), (Sect::Ipfix, "[ipfix]")] {
            let list = match s {
                Sect::Sflow => &self.sflow_sources,
                Sect::Netflow => &self.netflow_sources,
                _ => &self.ipfix_sources,
            };
            let body = if list.is_empty() { Vec::new() } else { vec![format!("sources = {}", toml_list(list))] };
            self.section(s, title, body);
        }

        // Sinks.
        if self.queues > 0 {
            self.note(
                Sect::Sink,
                "the original sent each chain to its own nanomsg queue; here every event goes to every sink (routing per chain is not kept)",
            );
        }
        if !self.formats.is_empty() {
            let f: Vec<&String> = self.formats.iter().collect();
            self.note(
                Sect::Sink,
                format!("nm_format {f:?} is not kept: sinks send this sensor's JSON events (schema/)"),
            );
        }
        self.note(Sect::Sink, "events are also written to events.jsonl (the jsonl sink), so they are kept locally");
        self.line(Sect::Sink, "[[sink]]");
        self.line(Sect::Sink, "type = \"jsonl\"");
        self.line(Sect::Sink, "path = \"events.jsonl\"");
        self.line(Sect::Sink, "");
        for (pattern, url) in std::mem::take(&mut self.sinks) {
            self.line(Sect::Sink, "[[sink]]");
            self.line(Sect::Sink, "type = \"nanomsg\"");
            self.line(Sect::Sink, format!("pattern = \"{pattern}\""));
            self.line(Sect::Sink, format!("url = {}", toml_str(&url)));
            self.line(Sect::Sink, "");
        }

        let mut toml = format!(
            "# Converted from {} by sdn-sensor config import.\n# Read the notes: they say what was not carried over or was changed.\n",
            one_line(self.file)
        );
        let mut notes = Vec::new();
        for (i, b) in self.blocks.into_iter().enumerate() {
            if b.notes.is_empty() && b.lines.is_empty() {
                continue;
            }
            if i == Sect::Header as usize {
                toml.push_str("#\n");
            } else {
                toml.push('\n');
            }
            for n in &b.notes {
                toml.push_str(&format!("# note: {}\n", one_line(n)));
            }
            let mut lines = b.lines;
            while lines.last().is_some_and(|l| l.is_empty()) {
                lines.pop();
            }
            for l in lines {
                toml.push_str(&l);
                toml.push('\n');
            }
            notes.extend(b.notes);
        }
        Imported { toml, notes }
    }

    /// A table with its keys, or nothing when it has none.
    fn section(&mut self, s: Sect, title: &str, body: Vec<String>) {
        if body.is_empty() {
            return;
        }
        self.line(s, title);
        for l in body {
            self.line(s, l);
        }
    }
}

/// The PCI addresses of DPDK's `-w`/`--pci-whitelist`/`-a`/`--allow`
/// options (`-w 01:00.1`, `-w01:00.1`, `--allow=01:00.1`).
fn pci_addresses(eal: &str) -> Vec<String> {
    let words: Vec<&str> = eal.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let value = match w {
            "-w" | "-a" | "--pci-whitelist" | "--allow" => {
                i += 1;
                words.get(i).copied()
            }
            _ => ["--pci-whitelist=", "--allow=", "-w", "-a"].iter().find_map(|p| w.strip_prefix(p)),
        };
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push(v.to_string());
        }
        i += 1;
    }
    out
}
