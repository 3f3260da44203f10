//! NetFlow v1/v5/v7 (fixed records), v9 (RFC 3954) and IPFIX (RFC 7011):
//! one [`NetflowDecoder`] keeps the template state of every exporter and
//! hands each data record to a callback as a [`FlowRecord`].
//!
//! * Templates are scoped per exporter address, version, source id /
//!   observation domain and template id; re-sent templates refresh their
//!   timestamp, changed ones replace the old definition. IPFIX withdrawals
//!   (field count 0, one template or all of a kind) remove them; templates
//!   not refreshed for `template_timeout_secs` expire, and beyond
//!   `max_templates` the least recently refreshed goes.
//! * Options data (records of an options template) are delivered with
//!   `options = true`; a sampling rate (IE 34/35, 48–50, 302–310) or
//!   systemInitTimeMilliseconds (IE 160) in them is remembered per
//!   exporter and domain and applied to later flow records.
//! * Data sets whose template is unknown are copied and held (bounded by
//!   `max_pending_datagrams` sets and `max_pending_bytes`); they are decoded
//!   when the template arrives, or dropped and counted on expiry/eviction.
//! * v1/v5/v7: a header count the datagram cannot hold rejects the whole
//!   datagram. v9: flowsets beyond the header count (which exporters use
//!   for records or for flowsets, never fewer than the flowsets) are not
//!   decoded and make the datagram an error.
//! * Every length is checked before use; every loop advances by at least
//!   one octet of the datagram. Errors are typed ([`NetflowError::reason`])
//!   and counted; records before an error have been delivered.
//! * Nothing allocates per record: templates are stored once (re-sent ones
//!   are compared in a reusable buffer), records are built on the stack.

mod fields;
mod lru;
mod message;
mod pending;
mod template;
mod v5;

pub use template::{MAX_TEMPLATE_FIELDS, VARIABLE_LENGTH};

use crate::record::{ExportKind, FlowContext, FlowRecord};
use core::fmt;
use core::net::IpAddr;
use fields::Sampling;
use lru::Lru;
use pending::Pending;
use template::Template;

/// Bounds on the decoder's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetflowLimits {
    /// Templates kept over all exporters (data and options templates).
    pub max_templates: usize,
    /// Data sets held while waiting for their template.
    pub max_pending_datagrams: usize,
    /// Octets of held data sets.
    pub max_pending_bytes: usize,
    /// A template (and held data, and remembered options data) not
    /// refreshed for this long is forgotten.
    pub template_timeout_secs: u64,
}

impl Default for NetflowLimits {
    fn default() -> Self {
        NetflowLimits {
            max_templates: 4096,
            max_pending_datagrams: 256,
            max_pending_bytes: 4 << 20,
            template_timeout_secs: 1800,
        }
    }
}

/// What one datagram held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatagramSummary {
    pub version: u16,
    /// Records delivered during this call (flow and options records,
    /// including those of held data sets released by a template here).
    pub records: usize,
    /// Template and options template records (definitions, refreshes and
    /// withdrawals).
    pub templates: usize,
    /// Data sets held for a missing template.
    pub pending: usize,
    /// Of `records`, those from data sets held earlier.
    pub released: usize,
}

/// Why a datagram (or the rest of it) could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetflowError {
    /// Empty, or shorter than its version's header.
    Truncated,
    /// A version other than 1, 5, 7, 9, 10.
    BadVersion(u16),
    /// v1/v5/v7: more records in the header count than the datagram holds
    /// (nothing is decoded). v9: more flowsets than the header count,
    /// which counts records or flowsets (the first `count` are decoded).
    BadCount,
    /// v9/IPFIX: a set (flowset) shorter than its header or running past
    /// the end of the message.
    BadSetLength,
    /// IPFIX: a message length under 16 or past the end of the datagram.
    IpfixBadLength,
    /// A template record whose fields do not fit its set, a v9 template
    /// with no fields, or more than [`MAX_TEMPLATE_FIELDS`] fields.
    TemplateFieldCount,
    /// A template id under 256 (other than an IPFIX withdraw-all).
    BadTemplateId,
    /// An options template's scope: v9 scope/option lengths that are not
    /// multiples of 4; IPFIX scope field count 0 or above the field count.
    BadScope,
    /// A template whose records would take no octets.
    EmptyTemplate,
    /// A data record (variable-length fields) running past its set.
    BadRecord,
}

impl NetflowError {
    /// Every kind, for counters (the version in `BadVersion` is not kept).
    pub const ALL: [NetflowError; 10] = [
        NetflowError::Truncated,
        NetflowError::BadVersion(0),
        NetflowError::BadCount,
        NetflowError::BadSetLength,
        NetflowError::IpfixBadLength,
        NetflowError::TemplateFieldCount,
        NetflowError::BadTemplateId,
        NetflowError::BadScope,
        NetflowError::EmptyTemplate,
        NetflowError::BadRecord,
    ];

    const fn index(&self) -> usize {
        match self {
            NetflowError::Truncated => 0,
            NetflowError::BadVersion(_) => 1,
            NetflowError::BadCount => 2,
            NetflowError::BadSetLength => 3,
            NetflowError::IpfixBadLength => 4,
            NetflowError::TemplateFieldCount => 5,
            NetflowError::BadTemplateId => 6,
            NetflowError::BadScope => 7,
            NetflowError::EmptyTemplate => 8,
            NetflowError::BadRecord => 9,
        }
    }

    /// The counter key, e.g. `netflow.bad_count`.
    pub const fn reason(&self) -> &'static str {
        match self {
            NetflowError::Truncated => "netflow.truncated",
            NetflowError::BadVersion(_) => "netflow.bad_version",
            NetflowError::BadCount => "netflow.bad_count",
            NetflowError::BadSetLength => "netflow.bad_set_length",
            NetflowError::IpfixBadLength => "ipfix.bad_length",
            NetflowError::TemplateFieldCount => "netflow.template_field_count",
            NetflowError::BadTemplateId => "netflow.bad_template_id",
            NetflowError::BadScope => "netflow.bad_scope",
            NetflowError::EmptyTemplate => "netflow.empty_template",
            NetflowError::BadRecord => "netflow.bad_record",
        }
    }
}

impl fmt::Display for NetflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetflowError::BadVersion(v) => write!(f, "{} ({v})", self.reason()),
            _ => f.write_str(self.reason()),
        }
    }
}

impl std::error::Error for NetflowError {}

/// Running totals of a decoder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetflowCounters {
    pub datagrams: u64,
    pub records_v1: u64,
    pub records_v5: u64,
    pub records_v7: u64,
    pub records_v9: u64,
    pub records_ipfix: u64,
    /// Of the v9/IPFIX records, options records.
    pub options_records: u64,
    /// New or changed template definitions.
    pub templates_learned: u64,
    /// Templates re-sent unchanged.
    pub templates_refreshed: u64,
    pub templates_withdrawn: u64,
    pub templates_expired: u64,
    /// Pushed out by `max_templates`.
    pub templates_evicted: u64,
    /// Data sets held for a missing template.
    pub pending_held: u64,
    /// Held data sets decoded after their template came.
    pub pending_released: u64,
    /// Held data sets given up: expired, pushed out by the limits, or too
    /// large to hold.
    pub pending_dropped: u64,
    /// v9 flowset ids 2–255 and IPFIX set ids 0, 1, 4–255, skipped.
    pub reserved_sets: u64,
    errors: [u64; NetflowError::ALL.len()],
}

impl NetflowCounters {
    /// Errors by reason, in [`NetflowError::ALL`] order, zeros included.
    pub fn errors(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        NetflowError::ALL.iter().map(|e| (e.reason(), self.errors[e.index()]))
    }

    /// Errors of one kind.
    pub fn error_count(&self, e: NetflowError) -> u64 {
        self.errors[e.index()]
    }

    pub fn records(&self) -> u64 {
        self.records_v1 + self.records_v5 + self.records_v7 + self.records_v9 + self.records_ipfix
    }

    fn count_record(&mut self, version: u16, options: bool) {
        match version {
            1 => self.records_v1 += 1,
            5 => self.records_v5 += 1,
            7 => self.records_v7 += 1,
            9 => self.records_v9 += 1,
            _ => self.records_ipfix += 1,
        }
        self.options_records += u64::from(options);
    }
}

/// The message header fields records need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub version: u16,
    /// v1–v9 header count (records, or flowsets from some v9 exporters).
    pub count: u16,
    pub domain: u32,
    pub sequence: u32,
    pub export_secs: u32,
    /// v1/v5/v7 headers carry residual nanoseconds.
    pub export_nanos: u32,
    /// v1–v9: the exporter's sysUpTime (ms) at export.
    pub sys_uptime_ms: Option<u32>,
}

impl Header {
    fn export_ns(&self) -> i64 {
        i64::from(self.export_secs) * 1_000_000_000 + i64::from(self.export_nanos.min(999_999_999))
    }

    fn context(&self, exporter: IpAddr, template_id: Option<u16>, options: bool) -> FlowContext {
        FlowContext {
            exporter,
            version: self.version,
            kind: if self.version == 10 { ExportKind::Ipfix } else { ExportKind::Netflow },
            domain: self.domain,
            sequence: self.sequence,
            export_secs: self.export_secs,
            template_id,
            options,
        }
    }
}

/// Template scope: exporter, version (9 or 10), domain, template id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TemplateKey {
    exporter: IpAddr,
    version: u16,
    domain: u32,
    id: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct StateKey {
    exporter: IpAddr,
    version: u16,
    domain: u32,
}

/// Samplers remembered per exporter and domain.
const MAX_SAMPLERS: usize = 8;

/// What options data told about an exporter and domain.
#[derive(Debug, Clone, Copy, Default)]
struct ExporterState {
    /// The rate of the last options record that gave one.
    rate: Option<u32>,
    /// Rates by sampler / selector id, most recent last.
    samplers: [(u64, u32); MAX_SAMPLERS],
    n_samplers: usize,
    init_ms: Option<u64>,
}

impl ExporterState {
    fn learn(&mut self, s: &Sampling) {
        let Some(rate) = s.rate() else { return };
        self.rate = Some(rate);
        let Some(id) = s.selector else { return };
        let n = self.n_samplers;
        if let Some(e) = self.samplers[..n].iter_mut().find(|e| e.0 == id) {
            e.1 = rate;
        } else if n < MAX_SAMPLERS {
            self.samplers[n] = (id, rate);
            self.n_samplers += 1;
        } else {
            self.samplers.copy_within(1.., 0);
            self.samplers[MAX_SAMPLERS - 1] = (id, rate);
        }
    }

    fn rate_for(&self, selector: Option<u64>) -> Option<u32> {
        selector.and_then(|id| self.samplers[..self.n_samplers].iter().find(|e| e.0 == id).map(|e| e.1)).or(self.rate)
    }
}

/// Template state for all exporters; see the module documentation.
pub struct NetflowDecoder {
    limits: NetflowLimits,
    templates: Lru<TemplateKey, Template>,
    states: Lru<StateKey, ExporterState>,
    pending: Pending,
    counters: NetflowCounters,
    /// Reused for parsing template records.
    scratch: Vec<template::Field>,
    /// IPFIX withdraw-all (data, options) done in the current datagram.
    withdrew_all: [bool; 2],
    next_sweep: u64,
}

impl NetflowDecoder {
    pub fn new(limits: NetflowLimits) -> Self {
        NetflowDecoder {
            limits,
            templates: Lru::new(limits.max_templates),
            states: Lru::new(limits.max_templates),
            pending: Pending::default(),
            counters: NetflowCounters::default(),
            scratch: Vec::new(),
            withdrew_all: [false; 2],
            next_sweep: 0,
        }
    }

    pub fn limits(&self) -> &NetflowLimits {
        &self.limits
    }

    /// One UDP payload from `exporter` (the datagram's source address),
    /// received at `now_secs` (capture or wall clock, Unix seconds).
    /// Dispatches on the version field (1, 5, 7, 9, 10) and calls
    /// `on_record` once per data record (flow and options records; options
    /// records have `ctx.options` set). Returns a summary, or the error that
    /// stopped the datagram (records before it were already delivered).
    pub fn decode(
        &mut self,
        exporter: IpAddr,
        payload: &[u8],
        now_secs: u64,
        on_record: &mut dyn FnMut(&FlowContext, &FlowRecord),
    ) -> Result<DatagramSummary, NetflowError> {
        self.counters.datagrams += 1;
        self.sweep(now_secs);
        let result = match payload {
            [] | [_] => Err(NetflowError::Truncated),
            [a, b, ..] => match u16::from_be_bytes([*a, *b]) {
                v @ (1 | 5 | 7) => v5::decode(v, exporter, payload, &mut self.counters, on_record),
                9 => self.decode_v9(exporter, payload, now_secs, on_record),
                10 => self.decode_ipfix(exporter, payload, now_secs, on_record),
                v => Err(NetflowError::BadVersion(v)),
            },
        };
        if let Err(e) = result {
            self.counters.errors[e.index()] += 1;
        }
        result
    }

    pub fn counters(&self) -> &NetflowCounters {
        &self.counters
    }

    /// Templates currently known.
    pub fn templates(&self) -> usize {
        self.templates.len()
    }

    /// Data sets currently held, and their octets.
    pub fn pending(&self) -> (usize, usize) {
        (self.pending.len(), self.pending.bytes())
    }

    /// Expires templates, exporter state and held data about once a minute
    /// (of `now_secs`).
    fn sweep(&mut self, now: u64) {
        if now < self.next_sweep && self.next_sweep - now <= 60 {
            return;
        }
        self.next_sweep = now.saturating_add(60);
        let timeout = self.limits.template_timeout_secs;
        self.counters.templates_expired += self.templates.expire(now, timeout) as u64;
        self.states.expire(now, timeout);
        self.counters.pending_dropped += self.pending.expire(now, timeout) as u64;
    }
}

impl Default for NetflowDecoder {
    fn default() -> Self {
        NetflowDecoder::new(NetflowLimits::default())
    }
}

pub(crate) use wire::{be16, be32};

#[cfg(test)]
mod tests;
