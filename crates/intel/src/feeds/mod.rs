//! Feed readers, one module per format, and the loader that detects the
//! format and reports bad lines as `file:line: reason`.

pub mod original_csv;
pub mod plain;

use crate::model::Indicator;
use crate::set::{IndicatorSet, IpKey, SetBuilder};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Formats this version reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// The original sdn_sensor CSV: `id,type,threat_type,ip,dns,value`.
    OriginalCsv,
    /// One IP address or CIDR per line, `#` comments.
    PlainList,
}

impl FeedFormat {
    pub const fn name(self) -> &'static str {
        match self {
            FeedFormat::OriginalCsv => "csv",
            FeedFormat::PlainList => "plain",
        }
    }

    pub fn parse(s: &str) -> Option<FeedFormat> {
        match s {
            "csv" | "original" | "sdn_sensor" => Some(FeedFormat::OriginalCsv),
            "plain" | "list" | "txt" => Some(FeedFormat::PlainList),
            _ => None,
        }
    }

    /// Guesses the format from the first meaningful lines.
    pub fn detect(text: &str) -> FeedFormat {
        let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
        match first {
            Some(l) if original_csv::looks_like(l) => FeedFormat::OriginalCsv,
            _ => FeedFormat::PlainList,
        }
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
    /// Bad lines skipped (each listed in `errors`, up to MAX_LISTED_ERRORS).
    pub skipped: usize,
    pub errors: Vec<FeedError>,
}

/// Bad lines listed per feed; the rest are only counted.
pub const MAX_LISTED_ERRORS: usize = 1000;

/// Sink for one parsed line: a reader calls `accept` or `reject` per line.
pub(crate) struct LineSink<'a> {
    builder: &'a mut SetBuilder,
    report: &'a mut FeedReport,
    strict: bool,
    pub(crate) feed: Arc<str>,
    fatal: Option<FeedError>,
}

impl LineSink<'_> {
    pub(crate) fn accept(&mut self, indicator: Indicator, key: Option<IpKey>) {
        self.builder.add(indicator, key);
        self.report.loaded += 1;
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

    pub(crate) fn failed(&self) -> bool {
        self.fatal.is_some()
    }
}

/// Reads one feed file into `builder`. Unreadable files are an error; bad
/// lines are skipped and reported, or fatal with `strict`.
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
    let mut report = FeedReport { feed: name.to_string(), format, loaded: 0, skipped: 0, errors: Vec::new() };
    let mut sink = LineSink { builder, report: &mut report, strict: opts.strict, feed: Arc::from(name), fatal: None };
    match format {
        FeedFormat::OriginalCsv => original_csv::read(text, &mut sink),
        FeedFormat::PlainList => plain::read(text, &mut sink),
    }
    if let Some(e) = sink.fatal.take() {
        return Err(FeedError { reason: format!("{} (strict mode: fix or remove the line)", e.reason), ..e });
    }
    Ok(report)
}

/// Loads several feeds into one compiled set.
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
