//! Feed readers, one module per format, and the loader that detects the
//! format and reports bad lines as `file:line: reason`.

pub mod abusech;
pub mod misp;
pub mod original_csv;
pub mod plain;
pub mod spamhaus;
pub mod stix;
mod value;
pub mod warninglist;
pub mod zeek;

use crate::allow::AllowKind;
use crate::model::{Indicator, IndicatorType};
use crate::set::{IndicatorSet, SetBuilder};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use value::Parsed;

/// Formats this version reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// The original sdn_sensor CSV: `id,type,threat_type,ip,dns,value`.
    OriginalCsv,
    /// One value per line (IP, IP:port, CIDR, domain, URL with or without
    /// scheme, e-mail, hash), `#` comments: plain lists, IPsum, Maltrail.
    PlainList,
    /// Zeek Intel framework TSV (`#fields indicator indicator_type ...`).
    ZeekIntel,
    /// MISP CSV export (`uuid,event_id,category,type,value,...`).
    MispCsv,
    /// MISP JSON event(s).
    MispJson,
    /// STIX 2.1 bundle of indicators.
    Stix21,
    /// abuse.ch URLhaus CSV.
    Urlhaus,
    /// abuse.ch ThreatFox CSV (14 or 15 columns).
    Threatfox,
    /// abuse.ch Feodo Tracker CSV.
    Feodo,
    /// abuse.ch SSL Blacklist (SHA1 of certificates) CSV.
    Sslbl,
    /// Spamhaus DROP/EDROP text (`CIDR ; SBLnnn`).
    SpamhausDrop,
    /// Spamhaus DROP JSON lines.
    SpamhausJson,
    /// MISP warninglist JSON: an allowlist.
    Warninglist,
}

impl FeedFormat {
    pub const ALL: [FeedFormat; 13] = [
        FeedFormat::OriginalCsv,
        FeedFormat::PlainList,
        FeedFormat::ZeekIntel,
        FeedFormat::MispCsv,
        FeedFormat::MispJson,
        FeedFormat::Stix21,
        FeedFormat::Urlhaus,
        FeedFormat::Threatfox,
        FeedFormat::Feodo,
        FeedFormat::Sslbl,
        FeedFormat::SpamhausDrop,
        FeedFormat::SpamhausJson,
        FeedFormat::Warninglist,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            FeedFormat::OriginalCsv => "csv",
            FeedFormat::PlainList => "plain",
            FeedFormat::ZeekIntel => "zeek",
            FeedFormat::MispCsv => "misp-csv",
            FeedFormat::MispJson => "misp-json",
            FeedFormat::Stix21 => "stix",
            FeedFormat::Urlhaus => "urlhaus",
            FeedFormat::Threatfox => "threatfox",
            FeedFormat::Feodo => "feodo",
            FeedFormat::Sslbl => "sslbl",
            FeedFormat::SpamhausDrop => "spamhaus-drop",
            FeedFormat::SpamhausJson => "spamhaus-json",
            FeedFormat::Warninglist => "warninglist",
        }
    }

    pub fn parse(s: &str) -> Option<FeedFormat> {
        match s {
            "original" | "sdn_sensor" => Some(FeedFormat::OriginalCsv),
            "list" | "txt" | "maltrail" | "ipsum" => Some(FeedFormat::PlainList),
            _ => FeedFormat::ALL.into_iter().find(|f| f.name() == s),
        }
    }

    /// Guesses the format from the content.
    pub fn detect(text: &str) -> FeedFormat {
        let t = text.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') || t.starts_with('[') {
            let head: String = t.chars().take(4096).collect();
            let first_line = t.lines().next().unwrap_or("");
            return if head.contains("\"spec_version\"")
                || head.contains("\"type\": \"bundle\"")
                || head.contains("\"type\":\"bundle\"")
            {
                FeedFormat::Stix21
            } else if first_line.contains("\"cidr\"") && first_line.contains("\"sblid\"") {
                FeedFormat::SpamhausJson
            } else if head.contains("\"Event\"") || head.contains("\"Attribute\"") {
                FeedFormat::MispJson
            } else if head.contains("\"list\"") {
                FeedFormat::Warninglist
            } else {
                FeedFormat::MispJson
            };
        }
        for line in t.lines().take(64) {
            let l = line.trim();
            let lower = l.to_ascii_lowercase();
            if l.starts_with("#fields") {
                return FeedFormat::ZeekIntel;
            }
            if lower.contains("id,dateadded,url,url_status") {
                return FeedFormat::Urlhaus;
            }
            if lower.contains("\"ioc_id\"") || lower.contains("ioc_id,ioc_value") || lower.contains("\"ioc_value\"") {
                return FeedFormat::Threatfox;
            }
            if lower.contains("first_seen_utc,dst_ip,dst_port") {
                return FeedFormat::Feodo;
            }
            if lower.contains("listingdate,sha1,listingreason") {
                return FeedFormat::Sslbl;
            }
            if lower.starts_with("uuid,event_id,category,type,value") || lower.starts_with("\"uuid\",\"event_id\"") {
                return FeedFormat::MispCsv;
            }
            if l.starts_with('#') {
                // abuse.ch banners name the feed.
                if l.contains("ThreatFox") {
                    return FeedFormat::Threatfox;
                }
                if l.contains("URLhaus") {
                    return FeedFormat::Urlhaus;
                }
                if l.contains("Feodo") {
                    return FeedFormat::Feodo;
                }
                if l.contains("SSLBL") || l.contains("SSL Certificate Blacklist") {
                    return FeedFormat::Sslbl;
                }
            }
            if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            if spamhaus::looks_like(l) {
                return FeedFormat::SpamhausDrop;
            }
            if original_csv::looks_like(l) {
                return FeedFormat::OriginalCsv;
            }
            return FeedFormat::PlainList;
        }
        FeedFormat::PlainList
    }
}

/// A problem with one feed line, or with the feed as a whole (`line` 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        }
    }
}

impl std::error::Error for FeedError {}

/// How loading should treat bad lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// A bad line is fatal instead of skipped.
    pub strict: bool,
    /// Format override; detected from content when None.
    pub format: Option<FeedFormat>,
}

/// What loading one feed did.
#[derive(Debug, Clone)]
pub struct FeedReport {
    pub feed: String,
    pub format: FeedFormat,
    pub loaded: usize,
    /// Indicators loaded per type (indexed by `IndicatorType as usize`).
    pub by_type: [usize; 8],
    /// Allowlist entries loaded (warninglists).
    pub allowlisted: usize,
    /// Bad lines skipped (each listed in `errors`, up to MAX_LISTED_ERRORS).
    pub skipped: usize,
    /// Entries of kinds we do not match (Zeek SOFTWARE, STIX patterns with
    /// other operators, ...): skipped with a reason, never fatal.
    pub unsupported: usize,
    pub errors: Vec<FeedError>,
}

/// Bad lines listed per feed; the rest are only counted.
pub const MAX_LISTED_ERRORS: usize = 1000;

/// Optional fields a format may carry for an indicator.
#[derive(Debug, Default, Clone)]
pub(crate) struct Meta<'t> {
    pub threat_type: Option<&'t str>,
    pub confidence: Option<u8>,
    pub first_seen: Option<&'t str>,
    pub last_seen: Option<&'t str>,
}

/// Where readers put what they read: indicators, allowlist entries, and a
/// `file:line: reason` for every line they cannot use.
pub(crate) struct LineSink<'a> {
    builder: &'a mut SetBuilder,
    report: &'a mut FeedReport,
    strict: bool,
    pub(crate) feed: Arc<str>,
    fatal: Option<FeedError>,
    interned: HashMap<String, Arc<str>>,
}

impl LineSink<'_> {
    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.interned.get(s) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(s);
        self.interned.insert(s.to_string(), Arc::clone(&a));
        a
    }

    /// Adds an indicator from a validated value; `id` defaults to the value.
    pub(crate) fn accept(&mut self, id: Option<&str>, p: Parsed, meta: &Meta<'_>) {
        let threat_type = meta.threat_type.map(str::trim).filter(|t| !t.is_empty()).map(|t| self.intern(t));
        let id: Box<str> = match id.map(str::trim).filter(|i| !i.is_empty()) {
            Some(i) => i.into(),
            None => match p.port {
                Some(port) if p.value.contains(':') => format!("[{}]:{port}", p.value).into(),
                Some(port) => format!("{}:{port}", p.value).into(),
                None => p.value.as_str().into(),
            },
        };
        let mut ind = Indicator::new(id, p.kind, p.value, &self.feed);
        ind.threat_type = threat_type;
        ind.confidence = meta.confidence.map(|c| c.min(100));
        ind.port = p.port;
        ind.first_seen = meta.first_seen.map(str::trim).filter(|s| !s.is_empty()).map(Into::into);
        ind.last_seen = meta.last_seen.map(str::trim).filter(|s| !s.is_empty()).map(Into::into);
        self.report.by_type[ind.kind as usize] += 1;
        self.builder.add(ind);
        self.report.loaded += 1;
    }

    /// Adds a value of a declared type, or reports the line.
    pub(crate) fn typed(&mut self, line: usize, id: Option<&str>, kind: IndicatorType, raw: &str, meta: &Meta<'_>) {
        match value::typed(kind, raw) {
            Ok(p) => self.accept(id, p, meta),
            Err(e) => self.reject(line, e),
        }
    }

    /// Adds an allowlist entry, or reports the line.
    pub(crate) fn allow(&mut self, line: usize, kind: AllowKind, raw: &str) {
        let list = Arc::clone(&self.feed);
        match self.builder.allow_mut().add(kind, raw, &list) {
            Ok(()) => self.report.allowlisted += 1,
            Err(e) => self.reject(line, e),
        }
    }

    pub(crate) fn reject(&mut self, line: usize, reason: String) {
        let e = FeedError { file: self.report.feed.clone(), line, reason };
        if self.strict && self.fatal.is_none() {
            self.fatal = Some(e.clone());
        }
        self.report.skipped += 1;
        if self.report.errors.len() < MAX_LISTED_ERRORS {
            self.report.errors.push(e);
        }
    }

    /// An entry of a kind we do not match: listed, counted, never fatal.
    pub(crate) fn unsupported(&mut self, line: usize, reason: String) {
        self.report.unsupported += 1;
        if self.report.errors.len() < MAX_LISTED_ERRORS {
            self.report.errors.push(FeedError { file: self.report.feed.clone(), line, reason });
        }
    }

    pub(crate) fn failed(&self) -> bool {
        self.fatal.is_some()
    }
}

/// Reads one feed file. Unreadable files are an error; bad lines are
/// skipped and reported, or fatal with `strict`.
pub fn load_feed(path: &Path, builder: &mut SetBuilder, opts: LoadOptions) -> Result<FeedReport, FeedError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| FeedError {
        file: name.clone(),
        line: 0,
        reason: format!("cannot read feed: {e}"),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    load_text(&name, &text, builder, opts)
}

/// Reads feed text (already in memory) named `name`.
pub fn load_text(name: &str, text: &str, builder: &mut SetBuilder, opts: LoadOptions) -> Result<FeedReport, FeedError> {
    let format = opts.format.unwrap_or_else(|| FeedFormat::detect(text));
    let mut report = FeedReport {
        feed: name.to_string(),
        format,
        loaded: 0,
        by_type: [0; 8],
        allowlisted: 0,
        skipped: 0,
        unsupported: 0,
        errors: Vec::new(),
    };
    let mut sink = LineSink {
        builder,
        report: &mut report,
        strict: opts.strict,
        feed: Arc::from(name),
        fatal: None,
        interned: HashMap::new(),
    };
    let text = text.trim_start_matches('\u{feff}');
    match format {
        FeedFormat::OriginalCsv => original_csv::read(text, &mut sink),
        FeedFormat::PlainList => plain::read(text, &mut sink),
        FeedFormat::ZeekIntel => zeek::read(text, &mut sink),
        FeedFormat::MispCsv => misp::read_csv(text, &mut sink),
        FeedFormat::MispJson => misp::read_json(text, &mut sink),
        FeedFormat::Stix21 => stix::read(text, &mut sink),
        FeedFormat::Urlhaus => abusech::read_urlhaus(text, &mut sink),
        FeedFormat::Threatfox => abusech::read_threatfox(text, &mut sink),
        FeedFormat::Feodo => abusech::read_feodo(text, &mut sink),
        FeedFormat::Sslbl => abusech::read_sslbl(text, &mut sink),
        FeedFormat::SpamhausDrop => spamhaus::read_text(text, &mut sink),
        FeedFormat::SpamhausJson => spamhaus::read_json(text, &mut sink),
        FeedFormat::Warninglist => warninglist::read(text, &mut sink),
    }
    if let Some(e) = sink.fatal.take() {
        return Err(FeedError { reason: format!("{} (strict mode: fix or remove the line)", e.reason), ..e });
    }
    Ok(report)
}

/// Loads several feeds (indicators and allowlists alike) into one set.
pub fn load_feeds<P: AsRef<Path>>(
    paths: &[P],
    opts: LoadOptions,
) -> Result<(IndicatorSet, Vec<FeedReport>), FeedError> {
    let mut builder = SetBuilder::new();
    let mut reports = Vec::with_capacity(paths.len());
    for p in paths {
        reports.push(load_feed(p.as_ref(), &mut builder, opts)?);
    }
    Ok((builder.build(), reports))
}
