//! Counter samples (formats 2 and 4) and their counter records.

use super::xdr::{Elements, Reader};
use super::{SflowError, counter_format, split_format};

/// A counter sample (format 2) or expanded counter sample (format 4) whose
/// fixed fields are present; its records are walked lazily by
/// [`CounterSample::records`].
#[derive(Debug, Clone, Copy)]
pub struct CounterSample<'a> {
    expanded: bool,
    sequence: u32,
    source_id_type: u32,
    source_id_index: u32,
    record_count: u32,
    records: &'a [u8],
}

impl<'a> CounterSample<'a> {
    pub(super) fn parse(data: &'a [u8], expanded: bool) -> Result<Self, SflowError> {
        let mut r = Reader::new(data, SflowError::ShortSample);
        let sequence = r.u32()?;
        let (source_id_type, source_id_index) = if expanded {
            (r.u32()?, r.u32()?)
        } else {
            let raw = r.u32()?;
            (raw >> 24, raw & 0x00ff_ffff)
        };
        let record_count = r.u32()?;
        Ok(CounterSample { expanded, sequence, source_id_type, source_id_index, record_count, records: r.rest() })
    }

    /// An expanded counter sample (format 4).
    pub fn is_expanded(&self) -> bool {
        self.expanded
    }
    pub fn sequence(&self) -> u32 {
        self.sequence
    }
    pub fn source_id_type(&self) -> u32 {
        self.source_id_type
    }
    pub fn source_id_index(&self) -> u32 {
        self.source_id_index
    }
    /// The sample's record count, as sent.
    pub fn record_count(&self) -> u32 {
        self.record_count
    }

    /// The counter records, in order. Stops after the first error (which
    /// it yields).
    pub fn records(&self) -> CounterRecords<'a> {
        CounterRecords { walk: Elements::new(self.records, self.record_count) }
    }
}

/// Generic interface counters (format 1; RFC 2233 ifTable/ifXTable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenericCounters {
    pub if_index: u32,
    pub if_type: u32,
    pub if_speed: u64,
    /// 0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out.
    pub if_direction: u32,
    /// Bit 0: admin up; bit 1: operationally up.
    pub if_status: u32,
    pub in_octets: u64,
    pub in_ucast: u32,
    pub in_mcast: u32,
    pub in_bcast: u32,
    pub in_discards: u32,
    pub in_errors: u32,
    pub in_unknown_protos: u32,
    pub out_octets: u64,
    pub out_ucast: u32,
    pub out_mcast: u32,
    pub out_bcast: u32,
    pub out_discards: u32,
    pub out_errors: u32,
    pub promiscuous_mode: u32,
}

impl GenericCounters {
    pub const LEN: usize = 88;

    pub fn admin_up(&self) -> bool {
        self.if_status & 1 != 0
    }
    pub fn oper_up(&self) -> bool {
        self.if_status & 2 != 0
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self, SflowError> {
        Ok(GenericCounters {
            if_index: r.u32()?,
            if_type: r.u32()?,
            if_speed: r.u64()?,
            if_direction: r.u32()?,
            if_status: r.u32()?,
            in_octets: r.u64()?,
            in_ucast: r.u32()?,
            in_mcast: r.u32()?,
            in_bcast: r.u32()?,
            in_discards: r.u32()?,
            in_errors: r.u32()?,
            in_unknown_protos: r.u32()?,
            out_octets: r.u64()?,
            out_ucast: r.u32()?,
            out_mcast: r.u32()?,
            out_bcast: r.u32()?,
            out_discards: r.u32()?,
            out_errors: r.u32()?,
            promiscuous_mode: r.u32()?,
        })
    }
}

/// Ethernet interface counters (format 2; RFC 2358 dot3StatsTable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EthernetCounters {
    pub alignment_errors: u32,
    pub fcs_errors: u32,
    pub single_collision_frames: u32,
    pub multiple_collision_frames: u32,
    pub sqe_test_errors: u32,
    pub deferred_transmissions: u32,
    pub late_collisions: u32,
    pub excessive_collisions: u32,
    pub internal_mac_transmit_errors: u32,
    pub carrier_sense_errors: u32,
    pub frame_too_longs: u32,
    pub internal_mac_receive_errors: u32,
    pub symbol_errors: u32,
}

impl EthernetCounters {
    pub const LEN: usize = 52;

    fn parse(r: &mut Reader<'_>) -> Result<Self, SflowError> {
        Ok(EthernetCounters {
            alignment_errors: r.u32()?,
            fcs_errors: r.u32()?,
            single_collision_frames: r.u32()?,
            multiple_collision_frames: r.u32()?,
            sqe_test_errors: r.u32()?,
            deferred_transmissions: r.u32()?,
            late_collisions: r.u32()?,
            excessive_collisions: r.u32()?,
            internal_mac_transmit_errors: r.u32()?,
            carrier_sense_errors: r.u32()?,
            frame_too_longs: r.u32()?,
            internal_mac_receive_errors: r.u32()?,
            symbol_errors: r.u32()?,
        })
    }
}

/// One counter record of a counter sample.
#[derive(Debug, Clone, Copy)]
pub enum CounterRecordView<'a> {
    Generic(GenericCounters),
    Ethernet(EthernetCounters),
    /// Any other enterprise or format, skipped by its length.
    Other {
        enterprise: u32,
        format: u32,
        data: &'a [u8],
    },
}

impl<'a> CounterRecordView<'a> {
    fn parse(word: u32, data: &'a [u8]) -> Result<Self, SflowError> {
        let mut r = Reader::new(data, SflowError::ShortRecord);
        Ok(match split_format(word) {
            (0, counter_format::GENERIC) => CounterRecordView::Generic(GenericCounters::parse(&mut r)?),
            (0, counter_format::ETHERNET) => CounterRecordView::Ethernet(EthernetCounters::parse(&mut r)?),
            (enterprise, format) => CounterRecordView::Other { enterprise, format, data },
        })
    }
}

/// The counter records of a sample; see [`CounterSample::records`].
#[derive(Debug, Clone)]
pub struct CounterRecords<'a> {
    walk: Elements<'a>,
}

impl<'a> CounterRecords<'a> {
    /// The octets after the last record walked so far.
    pub fn rest(&self) -> &'a [u8] {
        self.walk.rest()
    }
}

impl<'a> Iterator for CounterRecords<'a> {
    type Item = Result<CounterRecordView<'a>, SflowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.walk.next_with(CounterRecordView::parse)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.walk.size_hint()
    }
}

impl core::iter::FusedIterator for CounterRecords<'_> {}
