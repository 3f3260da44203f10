//! `flow::sflow` over arbitrary datagrams: every sample, every flow and
//! counter record, every AS path, and `flow_record()` (which runs
//! `wire::decode` on sampled headers). Beyond "never panics, never loops",
//! checks invariants that hold for any input: borrowed slices lie inside
//! the input, walks yield no more items than counted or than the data can
//! hold, and a walk ends at its first error.
#![no_main]

use flow::sflow::{CounterRecordView, Datagram, FlowRecordView, Sample, SflowError, SflowSequences};
use libfuzzer_sys::fuzz_target;

struct Input {
    lo: usize,
    hi: usize,
}

impl Input {
    fn holds(&self, s: &[u8]) {
        let p = s.as_ptr() as usize;
        assert!(s.is_empty() || (self.lo <= p && p + s.len() <= self.hi), "slice outside the input");
    }
}

/// A walk's items: at most `count`, at most one per 8 octets of `bytes`
/// plus the error that ends it, and nothing after an error.
fn check_walk<T>(
    items: impl Iterator<Item = Result<T, SflowError>>,
    count: u32,
    bytes: usize,
    mut each: impl FnMut(T),
) {
    let mut seen = 0usize;
    let mut failed = false;
    for item in items {
        assert!(!failed, "item after an error");
        seen += 1;
        match item {
            Ok(t) => each(t),
            Err(e) => {
                assert!(e.reason().starts_with("sflow."));
                failed = true;
            }
        }
    }
    assert!(seen <= count as usize, "{seen} items, count {count}");
    assert!(seen <= bytes / 8 + 1, "{seen} items in {bytes} octets");
}

fuzz_target!(|data: &[u8]| {
    let input = Input { lo: data.as_ptr() as usize, hi: data.as_ptr() as usize + data.len() };
    let d = match Datagram::new_checked(data) {
        Ok(d) => d,
        Err(e) => {
            assert!(e.reason().starts_with("sflow."));
            let _ = e.to_string();
            return;
        }
    };
    assert!(data.len() >= d.header_len() && d.header_len() >= flow::sflow::MIN_HEADER_LEN);
    let mut seq = SflowSequences::new(4);
    seq.observe(d.agent(), d.sub_agent_id(), d.sequence());
    assert_eq!(seq.observe(d.agent(), d.sub_agent_id(), d.sequence().wrapping_add(3)), 2);
    let ctx = d.context();
    assert_eq!((ctx.exporter, ctx.sequence), (d.agent(), d.sequence()));

    let samples = d.samples();
    input.holds(samples.rest());
    check_walk(samples, d.sample_count(), data.len() - d.header_len(), |s| match s {
        Sample::Flow(f) => {
            let records = f.records();
            let bytes = records.rest().len();
            input.holds(records.rest());
            check_walk(records, f.record_count(), bytes, |r| match r {
                FlowRecordView::RawHeader { header, .. } => input.holds(header),
                FlowRecordView::ExtendedGateway {
                    dst_as_path,
                    dst_as_path_first,
                    dst_as_path_last,
                    communities,
                    ..
                } => {
                    input.holds(communities.as_bytes());
                    let mut n = 0u32;
                    let (mut first, mut last) = (None, None);
                    for seg in dst_as_path {
                        input.holds(seg.ases.as_bytes());
                        first = first.or(seg.ases.first());
                        last = seg.ases.last().or(last);
                        n += 1;
                    }
                    assert_eq!(n, dst_as_path.len());
                    assert_eq!((first, last), (dst_as_path_first, dst_as_path_last));
                    assert_eq!(communities.iter().count(), communities.len());
                }
                FlowRecordView::ExtendedUser { src_user, dst_user, .. } => {
                    input.holds(src_user);
                    input.holds(dst_user);
                }
                FlowRecordView::ExtendedUrl { url, host, .. } => {
                    input.holds(url);
                    input.holds(host);
                }
                FlowRecordView::Other { data, .. } => input.holds(data),
                _ => {}
            });
            let r = f.flow_record();
            assert_eq!(r.packets, Some(1));
            assert_eq!(r.sampling_interval, Some(f.sampling_rate()));
            assert_eq!((r.in_if, r.out_if), (f.input().if_index(), f.output().if_index()));
            assert!(r.vlan.is_none_or(|v| v < 4096));
            assert_eq!(r.src.is_some(), r.dst.is_some());
            if let (Some(s), Some(d)) = (r.src, r.dst) {
                assert_eq!(s.is_ipv4(), d.is_ipv4());
            }
        }
        Sample::Counters(c) => {
            let records = c.records();
            let bytes = records.rest().len();
            input.holds(records.rest());
            check_walk(records, c.record_count(), bytes, |r| {
                if let CounterRecordView::Other { data, .. } = r {
                    input.holds(data);
                }
            });
        }
        Sample::Other { data, .. } => input.holds(data),
    });
});
