//! v9 and IPFIX messages: the header, the walk over sets, template sets
//! into the template store, data sets through their template (or into the
//! pending buffer).

use super::fields::read_record;
use super::lru::Lru;
use super::template::{Parsed, Template, TemplateRecords};
use super::{
    DatagramSummary, ExporterState, Header, NetflowCounters, NetflowDecoder, NetflowError, StateKey, TemplateKey, be16,
    be32,
};
use crate::record::{FlowContext, FlowRecord};
use core::net::IpAddr;

pub const V9_HEADER_LEN: usize = 20;
pub const IPFIX_HEADER_LEN: usize = 16;

type OnRecord<'a> = &'a mut dyn FnMut(&FlowContext, &FlowRecord);

impl NetflowDecoder {
    pub(super) fn decode_v9(
        &mut self,
        exporter: IpAddr,
        p: &[u8],
        now: u64,
        on_record: OnRecord<'_>,
    ) -> Result<DatagramSummary, NetflowError> {
        if p.len() < V9_HEADER_LEN {
            return Err(NetflowError::Truncated);
        }
        let h = Header {
            version: 9,
            count: be16(p, 2),
            sys_uptime_ms: Some(be32(p, 4)),
            export_secs: be32(p, 8),
            export_nanos: 0,
            sequence: be32(p, 12),
            domain: be32(p, 16),
        };
        self.walk_sets(exporter, &h, &p[V9_HEADER_LEN..], now, on_record)
    }

    pub(super) fn decode_ipfix(
        &mut self,
        exporter: IpAddr,
        p: &[u8],
        now: u64,
        on_record: OnRecord<'_>,
    ) -> Result<DatagramSummary, NetflowError> {
        if p.len() < IPFIX_HEADER_LEN {
            return Err(NetflowError::Truncated);
        }
        let len = usize::from(be16(p, 2));
        if len < IPFIX_HEADER_LEN || len > p.len() {
            return Err(NetflowError::IpfixBadLength);
        }
        let h = Header {
            version: 10,
            count: 0,
            export_secs: be32(p, 4),
            export_nanos: 0,
            sequence: be32(p, 8),
            domain: be32(p, 12),
            sys_uptime_ms: None,
        };
        // One message per datagram (RFC 7011 §10.3.3); octets past the
        // message length are not part of it.
        self.walk_sets(exporter, &h, &p[IPFIX_HEADER_LEN..len], now, on_record)
    }

    fn walk_sets(
        &mut self,
        exporter: IpAddr,
        h: &Header,
        body: &[u8],
        now: u64,
        on_record: OnRecord<'_>,
    ) -> Result<DatagramSummary, NetflowError> {
        let ipfix = h.version == 10;
        let mut sum = DatagramSummary { version: h.version, ..DatagramSummary::default() };
        // v9 count: records (RFC 3954) or, from many exporters, flowsets;
        // either way never fewer than the flowsets. More flowsets than that
        // (ls_nf9_invalid01: count 2, 6 flowsets) is a damaged datagram:
        // the first `count` are decoded, as tshark does, then BadCount. A
        // count of 0 is taken as unknown.
        let max_sets = match h.version {
            9 => match h.count {
                0 => usize::MAX,
                n => usize::from(n),
            },
            _ => usize::MAX,
        };
        self.withdrew_all = [false; 2];
        let mut sets = 0;
        let mut pos = 0;
        while pos < body.len() {
            let rest = &body[pos..];
            // Octets too few for a set header, or zeros to the end (exporters
            // that pad the datagram): padding, not a set.
            if rest.len() < 4 || rest.iter().all(|&b| b == 0) {
                break;
            }
            if sets == max_sets {
                return Err(NetflowError::BadCount);
            }
            sets += 1;
            let (id, len) = (be16(rest, 0), usize::from(be16(rest, 2)));
            if len < 4 || len > rest.len() {
                return Err(NetflowError::BadSetLength);
            }
            let set = &rest[4..len];
            match (ipfix, id) {
                (false, 0) | (true, 2) => self.template_set(exporter, h, set, id, false, now, on_record, &mut sum)?,
                (false, 1) | (true, 3) => self.template_set(exporter, h, set, id, true, now, on_record, &mut sum)?,
                (_, 256..) => self.data_set(exporter, h, id, set, now, on_record, &mut sum)?,
                _ => self.counters.reserved_sets += 1,
            }
            pos += len;
        }
        Ok(sum)
    }

    #[allow(clippy::too_many_arguments)]
    fn template_set(
        &mut self,
        exporter: IpAddr,
        h: &Header,
        set: &[u8],
        set_id: u16,
        options: bool,
        now: u64,
        on_record: OnRecord<'_>,
        sum: &mut DatagramSummary,
    ) -> Result<(), NetflowError> {
        let mut records = TemplateRecords::new(set, h.version == 10, options, set_id);
        let mut scratch = core::mem::take(&mut self.scratch);
        let result = loop {
            let parsed = match records.next_record(&mut scratch) {
                Ok(Some(p)) => p,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            sum.templates += 1;
            let key = |id| TemplateKey { exporter, version: h.version, domain: h.domain, id };
            match parsed {
                Parsed::Define { id } => {
                    if let Err(e) = self.learn(key(id), &scratch, options, now) {
                        break Err(e);
                    }
                    self.release(key(id), now, on_record, sum);
                }
                Parsed::Withdraw { id } => {
                    self.counters.templates_withdrawn += u64::from(self.templates.remove(&key(id)).is_some());
                }
                // Once per datagram and kind: the store is scanned, and a
                // datagram could repeat the record thousands of times.
                Parsed::WithdrawAll if !self.withdrew_all[usize::from(options)] => {
                    self.withdrew_all[usize::from(options)] = true;
                    let (version, domain) = (h.version, h.domain);
                    let n = self.templates.retain(|k, t| {
                        !(k.exporter == exporter && k.version == version && k.domain == domain && t.options == options)
                    });
                    self.counters.templates_withdrawn += n as u64;
                }
                Parsed::WithdrawAll => {}
            }
        };
        self.scratch = scratch;
        result
    }

    /// Stores a template definition, or refreshes an unchanged one.
    fn learn(
        &mut self,
        key: TemplateKey,
        fields: &[super::template::Field],
        options: bool,
        now: u64,
    ) -> Result<(), NetflowError> {
        if self.templates.get(&key).is_some_and(|t| t.same(fields, options)) {
            self.templates.touch(&key, now);
            self.counters.templates_refreshed += 1;
            return Ok(());
        }
        let t = Template::new(fields, options)?;
        self.counters.templates_learned += 1;
        if self.templates.insert(key, t, now).is_some() {
            self.counters.templates_evicted += 1;
        }
        Ok(())
    }

    /// Decodes the data sets held for a template that just arrived.
    fn release(&mut self, key: TemplateKey, now: u64, on_record: OnRecord<'_>, sum: &mut DatagramSummary) {
        // Not stored (a limit of 0 templates): the held sets stay held.
        let Some(tpl) = self.templates.get(&key) else { return };
        while let Some(held) = self.pending.take(&key) {
            self.counters.pending_released += 1;
            let r = decode_records(
                tpl,
                &held.data,
                key,
                &held.header,
                &mut self.states,
                &mut self.counters,
                now,
                on_record,
            );
            match r {
                Ok(n) => {
                    sum.records += n;
                    sum.released += n;
                }
                Err((n, e)) => {
                    sum.records += n;
                    sum.released += n;
                    self.counters.errors[e.index()] += 1;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn data_set(
        &mut self,
        exporter: IpAddr,
        h: &Header,
        id: u16,
        set: &[u8],
        now: u64,
        on_record: OnRecord<'_>,
        sum: &mut DatagramSummary,
    ) -> Result<(), NetflowError> {
        let key = TemplateKey { exporter, version: h.version, domain: h.domain, id };
        let timeout = self.limits.template_timeout_secs;
        let tpl = match self.templates.get_fresh(&key, now, timeout) {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.hold(key, h, set, now, sum);
                return Ok(());
            }
            Err(_expired) => {
                self.counters.templates_expired += 1;
                self.hold(key, h, set, now, sum);
                return Ok(());
            }
        };
        match decode_records(tpl, set, key, h, &mut self.states, &mut self.counters, now, on_record) {
            Ok(n) => {
                sum.records += n;
                Ok(())
            }
            Err((n, e)) => {
                sum.records += n;
                Err(e)
            }
        }
    }

    fn hold(&mut self, key: TemplateKey, h: &Header, set: &[u8], now: u64, sum: &mut DatagramSummary) {
        let l = &self.limits;
        let (dropped, held) = self.pending.hold(key, *h, set, now, l.max_pending_datagrams, l.max_pending_bytes);
        self.counters.pending_dropped += dropped as u64;
        if held {
            self.counters.pending_held += 1;
            sum.pending += 1;
        }
    }
}

/// Decodes every record of one data set. Options records update the
/// exporter state as they come. Returns the number of records delivered,
/// with the error that stopped the set.
#[allow(clippy::too_many_arguments)]
fn decode_records(
    tpl: &Template,
    set: &[u8],
    key: TemplateKey,
    h: &Header,
    states: &mut Lru<StateKey, ExporterState>,
    counters: &mut NetflowCounters,
    now: u64,
    on_record: OnRecord<'_>,
) -> Result<usize, (usize, NetflowError)> {
    let skey = StateKey { exporter: key.exporter, version: key.version, domain: key.domain };
    let ctx = h.context(key.exporter, Some(key.id), tpl.options);
    let v9 = h.version == 9;
    let mut state = states.get(&skey).copied();
    let mut pos = 0;
    let mut n = 0;
    while set.len() - pos >= tpl.min_len {
        let rest = &set[pos..];
        let Some((acc, used)) = read_record(tpl, rest, v9) else {
            // Zeros after the last record are padding.
            if rest.iter().all(|&b| b == 0) {
                break;
            }
            return Err((n, NetflowError::BadRecord));
        };
        pos += used;
        let rate = state.as_ref().and_then(|s| s.rate_for(acc.sampling.selector));
        let rec = acc.finish(h, state.as_ref().and_then(|s| s.init_ms), rate);
        if tpl.options && (acc.sampling.rate().is_some() || acc.init_ms.is_some()) {
            let s = state.get_or_insert_default();
            s.learn(&acc.sampling);
            if acc.init_ms.is_some() {
                s.init_ms = acc.init_ms;
            }
            if let Some(slot) = states.get_mut(&skey) {
                *slot = *s;
                states.touch(&skey, now);
            } else {
                states.insert(skey, *s, now);
            }
        }
        counters.count_record(h.version, tpl.options);
        on_record(&ctx, &rec);
        n += 1;
    }
    Ok(n)
}
