//! sFlow version 5 (<https://sflow.org/sflow_version_5.txt>): a zero-copy
//! view over one datagram and lazy walks over its samples and their records.
//!
//! Everything on the wire is XDR: 32-bit big-endian words, and variable-length
//! opaque data as a length word followed by the data padded to 4 octets.
//! Every length is checked against the structure enclosing it (record inside
//! sample inside datagram) before anything is read; every count is bounded
//! by the data, since each element takes at least 8 octets. Samples and
//! records of unknown enterprise/format are skipped by their length and
//! handed out as `Other`. A walk stops at the first error, which it yields;
//! what came before stays usable. Nothing allocates.
//!
//! Flow samples (formats 1 and 3) carry flow records (sampled packet
//! headers, sampled IPv4/IPv6, extended switch/router/gateway/user/URL);
//! [`FlowSample::flow_record`] folds one sample into a [`crate::FlowRecord`],
//! running sampled Ethernet/IP headers through `wire::decode`. Counter
//! samples (formats 2 and 4) carry counter records; generic interface and
//! Ethernet counters are decoded.

mod counters;
mod flow;
mod sequences;
#[cfg(test)]
mod tests;
mod xdr;

pub use counters::{CounterRecordView, CounterRecords, CounterSample, EthernetCounters, GenericCounters};
pub use flow::{AsPathSegment, AsPathSegments, FlowRecordView, FlowRecords, FlowSample, Interface};
pub use sequences::{REORDER_WINDOW, SflowSequences};
pub use xdr::U32List;

use crate::record::{ExportKind, FlowContext};
use core::fmt;
use core::net::IpAddr;
use xdr::{Elements, Reader};

/// The collector port sFlow agents send to.
pub const PORT: u16 = 6343;
pub const VERSION: u32 = 5;
/// The datagram header with an IPv4 agent address: version, address type,
/// address, sub-agent id, sequence number, uptime, sample count.
pub const MIN_HEADER_LEN: usize = 28;

/// Sample formats (enterprise 0).
pub mod sample_format {
    pub const FLOW: u32 = 1;
    pub const COUNTERS: u32 = 2;
    pub const EXPANDED_FLOW: u32 = 3;
    pub const EXPANDED_COUNTERS: u32 = 4;
}

/// Flow record formats (enterprise 0).
pub mod flow_format {
    pub const RAW_HEADER: u32 = 1;
    pub const ETHERNET: u32 = 2;
    pub const IPV4: u32 = 3;
    pub const IPV6: u32 = 4;
    pub const EXTENDED_SWITCH: u32 = 1001;
    pub const EXTENDED_ROUTER: u32 = 1002;
    pub const EXTENDED_GATEWAY: u32 = 1003;
    pub const EXTENDED_USER: u32 = 1004;
    pub const EXTENDED_URL: u32 = 1005;
}

/// Counter record formats (enterprise 0).
pub mod counter_format {
    pub const GENERIC: u32 = 1;
    pub const ETHERNET: u32 = 2;
}

/// Header protocols of the raw packet header record.
pub mod header_protocol {
    pub const ETHERNET: u32 = 1;
    pub const FDDI: u32 = 4;
    pub const IPV4: u32 = 11;
    pub const IPV6: u32 = 12;
}

/// Why a datagram (or the rest of it) could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SflowError {
    /// Fewer octets than a fixed header: the datagram header, or the 8
    /// octets that start a sample or record.
    Truncated,
    /// A version other than 5.
    BadVersion(u32),
    /// An address type other than 1 (IPv4) or 2 (IPv6): the agent, or a
    /// next hop.
    BadAddressType(u32),
    /// A length field running past the structure enclosing it: a sample
    /// past the datagram, a record past its sample, opaque data (a sampled
    /// header, a string) past its record, an AS path segment past the record.
    BadLength,
    /// A count (samples, records, AS path segments, communities) claiming
    /// more elements than the remaining data can hold.
    BadCount,
    /// A sample shorter than the fixed fields of its format.
    ShortSample,
    /// A record shorter than the fixed fields of its format.
    ShortRecord,
}

impl SflowError {
    /// The counter key, e.g. `sflow.truncated`.
    pub const fn reason(self) -> &'static str {
        match self {
            SflowError::Truncated => "sflow.truncated",
            SflowError::BadVersion(_) => "sflow.bad_version",
            SflowError::BadAddressType(_) => "sflow.bad_address_type",
            SflowError::BadLength => "sflow.bad_length",
            SflowError::BadCount => "sflow.bad_count",
            SflowError::ShortSample => "sflow.short_sample",
            SflowError::ShortRecord => "sflow.short_record",
        }
    }
}

impl fmt::Display for SflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SflowError::BadVersion(v) => write!(f, "sflow.bad_version ({v})"),
            SflowError::BadAddressType(t) => write!(f, "sflow.bad_address_type ({t})"),
            other => f.write_str(other.reason()),
        }
    }
}

impl std::error::Error for SflowError {}

/// Splits a `data_format` word into enterprise (upper 20 bits) and format.
pub const fn split_format(word: u32) -> (u32, u32) {
    (word >> 12, word & 0xfff)
}

/// A view over one sFlow v5 datagram whose header was checked: version 5,
/// agent address type 1 or 2, all header fields present.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    buf: &'a [u8],
    agent: IpAddr,
    /// Offset of the sub-agent id (just past the agent address).
    fields: usize,
}

impl<'a> Datagram<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, SflowError> {
        let mut r = Reader::new(buf, SflowError::Truncated);
        let version = r.u32()?;
        if version != VERSION {
            return Err(SflowError::BadVersion(version));
        }
        let agent = r.address()?;
        let fields = buf.len() - r.remaining();
        // sub-agent id, sequence, uptime, sample count.
        r.take(16)?;
        Ok(Datagram { buf, agent, fields })
    }

    fn word(&self, i: usize) -> u32 {
        wire::be32(self.buf, self.fields + 4 * i)
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
    pub fn agent(&self) -> IpAddr {
        self.agent
    }
    pub fn sub_agent_id(&self) -> u32 {
        self.word(0)
    }
    pub fn sequence(&self) -> u32 {
        self.word(1)
    }
    /// Milliseconds since the agent booted.
    pub fn uptime_ms(&self) -> u32 {
        self.word(2)
    }
    /// The header's sample count (as sent: [`Datagram::samples`] yields at
    /// most this many, and no more than the data holds).
    pub fn sample_count(&self) -> u32 {
        self.word(3)
    }
    /// Length of the header (28 octets with an IPv4 agent, 40 with IPv6).
    pub fn header_len(&self) -> usize {
        self.fields + 16
    }

    /// The samples, in order. Stops after the first error (which it yields).
    pub fn samples(&self) -> Samples<'a> {
        let body = self.buf.get(self.header_len()..).unwrap_or(&[]);
        Samples { walk: Elements::new(body, self.sample_count()) }
    }

    /// The context of this datagram's records: the agent as exporter, the
    /// sub-agent id as domain, the datagram sequence number. sFlow has no
    /// export time (`export_secs` is 0).
    pub fn context(&self) -> FlowContext {
        FlowContext {
            exporter: self.agent,
            version: 5,
            kind: ExportKind::Sflow,
            domain: self.sub_agent_id(),
            sequence: self.sequence(),
            export_secs: 0,
            template_id: None,
            options: false,
        }
    }
}

/// One sample of a datagram.
#[derive(Debug, Clone, Copy)]
pub enum Sample<'a> {
    /// A flow sample (format 1) or expanded flow sample (format 3).
    Flow(FlowSample<'a>),
    /// A counter sample (format 2) or expanded counter sample (format 4).
    Counters(CounterSample<'a>),
    /// Any other enterprise or format, skipped by its length.
    Other { enterprise: u32, format: u32, data: &'a [u8] },
}

impl<'a> Sample<'a> {
    fn parse(word: u32, data: &'a [u8]) -> Result<Self, SflowError> {
        Ok(match split_format(word) {
            (0, sample_format::FLOW) => Sample::Flow(FlowSample::parse(data, false)?),
            (0, sample_format::EXPANDED_FLOW) => Sample::Flow(FlowSample::parse(data, true)?),
            (0, sample_format::COUNTERS) => Sample::Counters(CounterSample::parse(data, false)?),
            (0, sample_format::EXPANDED_COUNTERS) => Sample::Counters(CounterSample::parse(data, true)?),
            (enterprise, format) => Sample::Other { enterprise, format, data },
        })
    }
}

/// The samples of a datagram; see [`Datagram::samples`].
#[derive(Debug, Clone)]
pub struct Samples<'a> {
    walk: Elements<'a>,
}

impl<'a> Samples<'a> {
    /// The octets after the last sample walked so far.
    pub fn rest(&self) -> &'a [u8] {
        self.walk.rest()
    }
}

impl<'a> Iterator for Samples<'a> {
    type Item = Result<Sample<'a>, SflowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.walk.next_with(Sample::parse)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.walk.size_hint()
    }
}

impl core::iter::FusedIterator for Samples<'_> {}
