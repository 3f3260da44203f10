//! Unit tests: hand-built datagrams.

use super::*;
use core::net::{Ipv4Addr, Ipv6Addr};

const EXPORTER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const EXPORT_SECS: u32 = 1_700_000_000;

fn v9(domain: u32, seq: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&9u16.to_be_bytes());
    p.extend_from_slice(&(sets.len() as u16).to_be_bytes());
    p.extend_from_slice(&100_000u32.to_be_bytes()); // sysUpTime
    p.extend_from_slice(&EXPORT_SECS.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&domain.to_be_bytes());
    sets.iter().for_each(|s| p.extend_from_slice(s));
    p
}

fn ipfix(domain: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = sets.concat();
    let mut p = Vec::new();
    p.extend_from_slice(&10u16.to_be_bytes());
    p.extend_from_slice(&((16 + body.len()) as u16).to_be_bytes());
    p.extend_from_slice(&EXPORT_SECS.to_be_bytes());
    p.extend_from_slice(&7u32.to_be_bytes());
    p.extend_from_slice(&domain.to_be_bytes());
    p.extend_from_slice(&body);
    p
}

fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let mut s = id.to_be_bytes().to_vec();
    s.extend_from_slice(&((4 + body.len()) as u16).to_be_bytes());
    s.extend_from_slice(body);
    s
}

/// A template record (v9 or IPFIX data template; no enterprise fields).
fn tpl(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut r = id.to_be_bytes().to_vec();
    r.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for (t, l) in fields {
        r.extend_from_slice(&t.to_be_bytes());
        r.extend_from_slice(&l.to_be_bytes());
    }
    r
}

/// src 8/4, dst 12/4, sport 7/2, dport 11/2, proto 4/1, packets 2/4, bytes 1/4, first 22/4, last 21/4.
const FLOW_FIELDS: [(u16, u16); 9] = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4), (22, 4), (21, 4)];

fn flow(src: [u8; 4], dport: u16, packets: u32) -> Vec<u8> {
    let mut r = src.to_vec();
    r.extend_from_slice(&[10, 0, 0, 2]);
    r.extend_from_slice(&1234u16.to_be_bytes());
    r.extend_from_slice(&dport.to_be_bytes());
    r.push(6);
    r.extend_from_slice(&packets.to_be_bytes());
    r.extend_from_slice(&(packets * 100).to_be_bytes());
    r.extend_from_slice(&90_000u32.to_be_bytes());
    r.extend_from_slice(&99_000u32.to_be_bytes());
    r
}

type Out = Vec<(FlowContext, FlowRecord)>;

fn run(d: &mut NetflowDecoder, exporter: IpAddr, p: &[u8], now: u64) -> (Result<DatagramSummary, NetflowError>, Out) {
    let mut out = Vec::new();
    let r = d.decode(exporter, p, now, &mut |c, r| out.push((*c, *r)));
    (r, out)
}

fn dec() -> NetflowDecoder {
    NetflowDecoder::new(NetflowLimits::default())
}

fn v5(count: u16, records: usize) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&5u16.to_be_bytes());
    p.extend_from_slice(&count.to_be_bytes());
    p.extend_from_slice(&10_000u32.to_be_bytes()); // sysUpTime
    p.extend_from_slice(&EXPORT_SECS.to_be_bytes());
    p.extend_from_slice(&500u32.to_be_bytes()); // nsecs
    p.extend_from_slice(&42u32.to_be_bytes()); // flow sequence
    p.extend_from_slice(&[1, 2]); // engine type, id
    p.extend_from_slice(&(0x4000u16 | 100).to_be_bytes()); // mode 1, interval 100
    for i in 0..records {
        let mut r = [0u8; 48];
        r[0..4].copy_from_slice(&[10, 0, 0, i as u8]);
        r[4..8].copy_from_slice(&[10, 0, 1, 1]);
        r[12..14].copy_from_slice(&3u16.to_be_bytes());
        r[16..20].copy_from_slice(&5u32.to_be_bytes());
        r[20..24].copy_from_slice(&300u32.to_be_bytes());
        r[24..28].copy_from_slice(&4_000u32.to_be_bytes());
        r[28..32].copy_from_slice(&9_000u32.to_be_bytes());
        r[32..34].copy_from_slice(&53u16.to_be_bytes());
        r[34..36].copy_from_slice(&4444u16.to_be_bytes());
        (r[37], r[38], r[39]) = (0x12, 17, 0xb8);
        r[40..42].copy_from_slice(&64_500u16.to_be_bytes());
        (r[44], r[45]) = (24, 16);
        p.extend_from_slice(&r);
    }
    p
}

#[test]
fn v5_records() {
    let mut d = dec();
    let (r, out) = run(&mut d, EXPORTER, &v5(2, 2), 0);
    assert_eq!(r, Ok(DatagramSummary { version: 5, records: 2, ..Default::default() }));
    let (c, rec) = out[1];
    assert_eq!((c.version, c.kind, c.domain, c.sequence, c.template_id), (5, ExportKind::Netflow, 0x102, 42, None));
    assert_eq!(rec.src, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
    assert_eq!(
        (rec.src_port, rec.dst_port, rec.protocol, rec.tos, rec.tcp_flags),
        (Some(53), Some(4444), Some(17), Some(0xb8), Some(0x12))
    );
    assert_eq!(
        (rec.packets, rec.bytes, rec.in_if, rec.src_as, rec.src_mask),
        (Some(5), Some(300), Some(3), Some(64_500), Some(24))
    );
    assert_eq!(rec.sampling_interval, Some(100));
    let export_ns = i64::from(EXPORT_SECS) * 1_000_000_000 + 500;
    assert_eq!(rec.first_ns, Some(export_ns - 6_000_000_000));
    assert_eq!(rec.last_ns, Some(export_ns - 1_000_000_000));
    assert_eq!((rec.first_uptime_ms, rec.last_uptime_ms), (Some(4_000), Some(9_000)));
    assert_eq!(d.counters().records_v5, 2);
}

#[test]
fn v5_count_that_does_not_fit_rejects_the_datagram() {
    let mut d = dec();
    let (r, out) = run(&mut d, EXPORTER, &v5(3, 2), 0);
    assert_eq!((r, out.len()), (Err(NetflowError::BadCount), 0));
    assert_eq!(run(&mut d, EXPORTER, &v5(2, 2)[..23], 0).0, Err(NetflowError::Truncated));
    assert_eq!(d.counters().error_count(NetflowError::BadCount), 1);
    assert_eq!(d.counters().error_count(NetflowError::Truncated), 1);
    // Trailing octets after the counted records are ignored.
    let mut p = v5(1, 2);
    p.push(0);
    assert_eq!(run(&mut d, EXPORTER, &p, 0).1.len(), 1);
}

#[test]
fn v1_and_v7_layouts() {
    let mut p = vec![0, 1, 0, 1, 0, 0, 0, 100, 0, 0, 0, 1, 0, 0, 0, 0];
    let mut r = [0u8; 48];
    r[0..4].copy_from_slice(&[10, 0, 0, 9]);
    (r[38], r[39], r[40]) = (6, 4, 2);
    p.extend_from_slice(&r);
    let (res, out) = run(&mut dec(), EXPORTER, &p, 0);
    assert_eq!(res.map(|s| s.records), Ok(1));
    assert_eq!(
        (out[0].1.protocol, out[0].1.tos, out[0].1.tcp_flags, out[0].1.src_as),
        (Some(6), Some(4), Some(2), None)
    );
    let mut p = vec![0, 7, 0, 1];
    p.extend_from_slice(&[0; 20]);
    let mut r = [0u8; 52];
    (r[37], r[38]) = (0x10, 17);
    p.extend_from_slice(&r);
    let (res, out) = run(&mut dec(), EXPORTER, &p, 0);
    assert_eq!(res.map(|s| s.records), Ok(1));
    assert_eq!((out[0].1.protocol, out[0].1.tcp_flags), (Some(17), Some(0x10)));
    assert_eq!(run(&mut dec(), EXPORTER, &p[..p.len() - 1], 0).0, Err(NetflowError::BadCount));
}

#[test]
fn versions_and_empty() {
    let mut d = dec();
    assert_eq!(run(&mut d, EXPORTER, &[], 0).0, Err(NetflowError::Truncated));
    assert_eq!(run(&mut d, EXPORTER, &[0, 6, 0, 0], 0).0, Err(NetflowError::BadVersion(6)));
    assert_eq!(NetflowError::BadVersion(6).to_string(), "netflow.bad_version (6)");
    assert_eq!(d.counters().errors().find(|e| e.0 == "netflow.bad_version"), Some(("netflow.bad_version", 1)));
    assert_eq!(d.counters().datagrams, 2);
}

#[test]
fn v9_templates_are_scoped_by_exporter_and_source_id() {
    let mut d = dec();
    let t = v9(1, 1, &[set(0, &tpl(256, &FLOW_FIELDS))]);
    let (r, out) = run(&mut d, EXPORTER, &t, 0);
    assert_eq!((r.map(|s| s.templates), out.len()), (Ok(1), 0));
    let data = set(256, &[flow([10, 0, 0, 1], 80, 3), flow([10, 0, 0, 3], 443, 4)].concat());
    let (r, out) = run(&mut d, EXPORTER, &v9(1, 2, std::slice::from_ref(&data)), 1);
    assert_eq!(r, Ok(DatagramSummary { version: 9, records: 2, ..Default::default() }));
    let (c, rec) = out[1];
    assert_eq!((c.version, c.domain, c.sequence, c.template_id, c.options), (9, 1, 2, Some(256), false));
    assert_eq!((rec.dst_port, rec.packets, rec.bytes, rec.protocol), (Some(443), Some(4), Some(400), Some(6)));
    // sysUpTime 100 s at export: first 10 s, last 1 s before it.
    assert_eq!(rec.first_ns, Some((i64::from(EXPORT_SECS) - 10) * 1_000_000_000));
    assert_eq!(rec.last_ns, Some((i64::from(EXPORT_SECS) - 1) * 1_000_000_000));
    // Another source id or exporter has no template 256: held.
    for (exp, dom) in [(EXPORTER, 2), (OTHER, 1)] {
        let (r, out) = run(&mut d, exp, &v9(dom, 3, std::slice::from_ref(&data)), 2);
        assert_eq!((r.map(|s| s.pending), out.len()), (Ok(1), 0));
    }
    assert_eq!(d.counters().pending_held, 2);
}

#[test]
fn data_before_template_is_held_then_released() {
    let mut d = dec();
    let data = set(300, &flow([10, 0, 0, 1], 80, 3));
    let (r, _) = run(&mut d, EXPORTER, &v9(0, 10, &[data]), 0);
    assert_eq!(r.map(|s| s.pending), Ok(1));
    assert_eq!(d.pending().0, 1);
    let (r, out) = run(&mut d, EXPORTER, &v9(0, 11, &[set(0, &tpl(300, &FLOW_FIELDS))]), 5);
    let s = r.unwrap();
    assert_eq!((s.records, s.released, s.templates, s.pending), (1, 1, 1, 0));
    assert_eq!(out[0].0.sequence, 10, "the held datagram's header");
    assert_eq!(out[0].1.dst_port, Some(80));
    assert_eq!((d.counters().pending_released, d.pending()), (1, (0, 0)));
}

#[test]
fn pending_is_bounded_and_expires() {
    let limits = NetflowLimits { max_pending_datagrams: 2, max_pending_bytes: 100, ..Default::default() };
    let mut d = NetflowDecoder::new(limits);
    for id in 300..303 {
        run(&mut d, EXPORTER, &v9(0, 0, &[set(id, &flow([10, 0, 0, 1], 80, 1))]), 0).0.unwrap();
    }
    assert_eq!((d.pending().0, d.counters().pending_dropped), (2, 1));
    // Too large to hold at all.
    run(&mut d, EXPORTER, &v9(0, 0, &[set(303, &[1; 120])]), 0).0.unwrap();
    assert_eq!((d.pending().0, d.counters().pending_dropped), (2, 2));
    // The oldest (300) went: its template releases nothing.
    let (r, _) = run(&mut d, EXPORTER, &v9(0, 0, &[set(0, &tpl(300, &FLOW_FIELDS))]), 1);
    assert_eq!(r.map(|s| s.records), Ok(0));
    // Expiry after the template timeout.
    run(&mut d, EXPORTER, &v9(0, 0, &[]), 1801 + 60).0.unwrap();
    assert_eq!((d.pending(), d.counters().pending_dropped), ((0, 0), 4));
}

#[test]
fn templates_expire_and_are_evicted() {
    let mut d =
        NetflowDecoder::new(NetflowLimits { max_templates: 2, template_timeout_secs: 100, ..Default::default() });
    for id in [256, 257] {
        run(&mut d, EXPORTER, &v9(0, 0, &[set(0, &tpl(id, &FLOW_FIELDS))]), 0).0.unwrap();
    }
    // A refresh of 256 makes 257 the least recently refreshed.
    run(&mut d, EXPORTER, &v9(0, 0, &[set(0, &tpl(256, &FLOW_FIELDS))]), 10).0.unwrap();
    run(&mut d, EXPORTER, &v9(0, 0, &[set(0, &tpl(258, &FLOW_FIELDS))]), 20).0.unwrap();
    let c = d.counters();
    assert_eq!((c.templates_learned, c.templates_refreshed, c.templates_evicted), (3, 1, 1));
    let data = |id| v9(0, 0, &[set(id, &flow([10, 0, 0, 1], 80, 1))]);
    assert_eq!(run(&mut d, EXPORTER, &data(257), 30).0.map(|s| s.pending), Ok(1));
    assert_eq!(run(&mut d, EXPORTER, &data(256), 30).0.map(|s| s.records), Ok(1));
    // 256 last refreshed at 10: expired at 111 (found on use, or by the sweep).
    assert_eq!(run(&mut d, EXPORTER, &data(256), 111).0.map(|s| s.pending), Ok(1));
    assert_eq!(d.counters().templates_expired, 1);
    run(&mut d, EXPORTER, &v9(0, 0, &[]), 200).0.unwrap();
    assert_eq!((d.templates(), d.counters().templates_expired), (0, 2));
}

#[test]
fn v9_options_sampling_applies_to_later_records() {
    let mut d = dec();
    // Options template 257: scope system (1, 4); SAMPLING_INTERVAL 34/4, SAMPLING_ALGORITHM 35/1.
    let opt_tpl = [&[1, 1, 0, 4, 0, 8][..], &[0, 1, 0, 4, 0, 34, 0, 4, 0, 35, 0, 1], &[0, 0]].concat();
    let flows = set(256, &flow([10, 0, 0, 1], 80, 1));
    let p = v9(
        0,
        0,
        &[
            set(0, &tpl(256, &FLOW_FIELDS)),
            set(1, &opt_tpl),
            flows.clone(),
            set(257, &[0, 0, 0, 1, 0, 0, 0, 100, 2, 0, 0, 0]),
            flows,
        ],
    );
    let (r, out) = run(&mut d, EXPORTER, &p, 0);
    assert_eq!(r.map(|s| (s.records, s.templates)), Ok((3, 2)));
    assert_eq!(out[0].1.sampling_interval, None);
    let (c, o) = out[1];
    assert!(c.options);
    assert_eq!((o.sampling_interval, o.bytes), (Some(100), None), "the v9 scope (system) is not IE 1");
    assert_eq!((out[2].1.sampling_interval, out[2].1.packets), (Some(100), Some(1)));
    assert_eq!(out[2].1.scaled_packets(), Some(100));
    assert_eq!(d.counters().options_records, 1);
    // Another source id is not sampled.
    let p = v9(5, 0, &[set(0, &tpl(256, &FLOW_FIELDS)), set(256, &flow([10, 0, 0, 1], 80, 1))]);
    assert_eq!(run(&mut d, EXPORTER, &p, 0).1[0].1.sampling_interval, None);
}

#[test]
fn v9_flowsets_beyond_the_header_count() {
    let mut p = v9(0, 0, &[set(0, &tpl(256, &FLOW_FIELDS)), set(256, &flow([10, 0, 0, 1], 80, 1))]);
    p[3] = 1; // count 1, two flowsets
    let mut d = dec();
    let (r, out) = run(&mut d, EXPORTER, &p, 0);
    assert_eq!((r, out.len(), d.templates()), (Err(NetflowError::BadCount), 0, 1));
    p[3] = 0; // 0: not used as a limit
    assert_eq!(run(&mut d, EXPORTER, &p, 0).1.len(), 1);
}

#[test]
fn padding_and_reserved_sets() {
    let mut d = dec();
    let mut data = flow([10, 0, 0, 1], 80, 1);
    data.extend_from_slice(&[0, 0, 0]); // set padding
    let mut p = v9(0, 0, &[set(0, &[tpl(256, &FLOW_FIELDS), vec![0, 0]].concat()), set(7, &[1, 2]), set(256, &data)]);
    p.extend_from_slice(&[0; 40]); // zero-filled datagram tail
    let (r, out) = run(&mut d, EXPORTER, &p, 0);
    assert_eq!((r.map(|s| s.records), out.len()), (Ok(1), 1));
    assert_eq!(d.counters().reserved_sets, 1);
    // A set length past the end, or under 4.
    let mut bad = v9(0, 0, &[set(256, &data)]);
    bad[23] += 1;
    assert_eq!(run(&mut d, EXPORTER, &bad, 0).0, Err(NetflowError::BadSetLength));
    bad[23] = 2;
    assert_eq!(run(&mut d, EXPORTER, &bad, 0).0, Err(NetflowError::BadSetLength));
}

#[test]
fn template_errors() {
    let mut d = dec();
    let bad = |d: &mut NetflowDecoder, body: &[u8], options: bool| {
        let p = v9(0, 0, &[set(u16::from(options), body)]);
        run(d, EXPORTER, &p, 0).0
    };
    assert_eq!(bad(&mut d, &tpl(256, &[]), false), Err(NetflowError::TemplateFieldCount));
    assert_eq!(bad(&mut d, &tpl(12, &[(8, 4)]), false), Err(NetflowError::BadTemplateId));
    assert_eq!(bad(&mut d, &tpl(256, &[(8, 0), (12, 0)]), false), Err(NetflowError::EmptyTemplate));
    assert_eq!(bad(&mut d, &[1, 1, 0, 4, 0, 2, 0, 1, 0, 4, 0, 0], true), Err(NetflowError::BadScope));
    let many: Vec<(u16, u16)> = (0..=MAX_TEMPLATE_FIELDS as u16).map(|i| (i, 1)).collect();
    let p = ipfix(0, &[set(2, &tpl(256, &many))]);
    assert_eq!(run(&mut d, EXPORTER, &p, 0).0, Err(NetflowError::TemplateFieldCount));
    assert_eq!(d.templates(), 0);
    assert_eq!(d.counters().errors().map(|e| e.1).sum::<u64>(), 5);
}

#[test]
fn ipfix_header_length() {
    let mut d = dec();
    let mut p = ipfix(0, &[set(2, &tpl(256, &FLOW_FIELDS))]);
    p.push(0xff); // octets past the message length are not part of it
    assert_eq!(run(&mut d, EXPORTER, &p, 0).0.map(|s| s.templates), Ok(1));
    p[3] = 15;
    assert_eq!(run(&mut d, EXPORTER, &p, 0).0, Err(NetflowError::IpfixBadLength));
    p[2] = 1;
    assert_eq!(run(&mut d, EXPORTER, &p, 0).0, Err(NetflowError::IpfixBadLength));
    assert_eq!(run(&mut d, EXPORTER, &p[..15], 0).0, Err(NetflowError::Truncated));
}

#[test]
fn ipfix_variable_length_and_enterprise_fields() {
    let mut d = dec();
    // 8/4, enterprise 1/4 (PEN 5951), 82 variable, 7/2, 11/2, 4/1.
    let t = [
        &[1, 0, 0, 6][..],
        &[0, 8, 0, 4],
        &[0x80, 1, 0, 4, 0, 0, 0x17, 0x3f],
        &[0, 82, 0xff, 0xff],
        &[0, 7, 0, 2, 0, 11, 0, 2, 0, 4, 0, 1],
    ]
    .concat();
    let r1 = [&[10, 0, 0, 1][..], &[0, 0, 0, 9], &[3, b'e', b't', b'h'], &[0, 1, 0, 2, 17]].concat();
    let r2 = [&[10, 0, 0, 2][..], &[0, 0, 0, 9], &[255, 0, 2, b'l', b'o'], &[0, 3, 0, 4, 6]].concat();
    let data = [r1.clone(), r2, vec![0, 0]].concat();
    let (r, out) = run(&mut d, EXPORTER, &ipfix(9, &[set(2, &t), set(256, &data)]), 0);
    assert_eq!(r.map(|s| s.records), Ok(2));
    assert_eq!(out[0].0.kind, ExportKind::Ipfix);
    assert_eq!((out[0].1.bytes, out[0].1.src_port, out[0].1.protocol), (None, Some(1), Some(17)), "PEN field skipped");
    assert_eq!((out[1].1.dst_port, out[1].1.protocol), (Some(4), Some(6)));
    // A variable-length field running past the set.
    let mut cut = r1;
    cut[8] = 200;
    assert_eq!(run(&mut d, EXPORTER, &ipfix(9, &[set(256, &cut)]), 0).0, Err(NetflowError::BadRecord));
}

#[test]
fn ipfix_withdrawal() {
    let mut d = dec();
    let opt = [&[1, 2, 0, 2, 0, 1][..], &[0, 143, 0, 4, 0, 160, 0, 8]].concat();
    let p = ipfix(1, &[set(2, &[tpl(256, &FLOW_FIELDS), tpl(257, &FLOW_FIELDS)].concat()), set(3, &opt)]);
    run(&mut d, EXPORTER, &p, 0).0.unwrap();
    assert_eq!(d.templates(), 3);
    run(&mut d, EXPORTER, &ipfix(1, &[set(2, &[1, 0, 0, 0])]), 0).0.unwrap();
    assert_eq!((d.templates(), d.counters().templates_withdrawn), (2, 1));
    // All data templates of the domain (set id 2, template id 2); options stay.
    let (r, _) = run(&mut d, EXPORTER, &ipfix(1, &[set(2, &[0, 2, 0, 0])]), 0);
    assert_eq!(r.map(|s| s.templates), Ok(1));
    assert_eq!((d.templates(), d.counters().templates_withdrawn), (1, 2));
    run(&mut d, EXPORTER, &ipfix(1, &[set(3, &[0, 3, 0, 0])]), 0).0.unwrap();
    assert_eq!(d.templates(), 0);
    assert_eq!(run(&mut d, EXPORTER, &ipfix(1, &[set(2, &[0, 9, 0, 0])]), 0).0, Err(NetflowError::BadTemplateId));
}

#[test]
fn ipfix_system_init_time_and_selectors() {
    let mut d = dec();
    // Options 258: scope selectorId 302/8; systemInitTimeMilliseconds 160/8,
    // samplingPacketInterval 305/4, samplingPacketSpace 306/4.
    let opt = [&[1, 2, 0, 4, 0, 1][..], &[1, 46, 0, 8, 0, 160, 0, 8, 1, 49, 0, 4, 1, 50, 0, 4]].concat();
    let fields = [&FLOW_FIELDS[..], &[(302, 1)]].concat();
    let templates = ipfix(3, &[set(2, &tpl(256, &fields)), set(3, &opt)]);
    run(&mut d, EXPORTER, &templates, 0).0.unwrap();
    let rec = |sel: u8| [flow([10, 0, 0, 1], 80, 1), vec![sel]].concat();
    let (_, out) = run(&mut d, EXPORTER, &ipfix(3, &[set(256, &rec(1))]), 0);
    let r = out[0].1;
    assert_eq!((r.first_uptime_ms, r.first_ns, r.sampling_interval), (Some(90_000), None, None));
    let init_ms = 1_600_000_000_000u64;
    let opts = |sel: u64, interval: u32, space: u32| {
        [&sel.to_be_bytes()[..], &init_ms.to_be_bytes(), &interval.to_be_bytes(), &space.to_be_bytes()].concat()
    };
    let p =
        ipfix(3, &[set(258, &[opts(1, 1, 9), opts(2, 1, 99)].concat()), set(256, &[rec(1), rec(2), rec(3)].concat())]);
    let (r, out) = run(&mut d, EXPORTER, &p, 0);
    assert_eq!(r.map(|s| s.records), Ok(5));
    assert!(out[0].0.options && out[1].0.options);
    let rates: Vec<_> = out[2..].iter().map(|o| o.1.sampling_interval).collect();
    assert_eq!(rates, [Some(10), Some(100), Some(100)], "by selector, else the last rate");
    assert_eq!(out[2].1.first_ns, Some((init_ms as i64 + 90_000) * 1_000_000));
    assert_eq!(out[2].1.last_ns, Some((init_ms as i64 + 99_000) * 1_000_000));
}

#[test]
fn nat_mac_vlan_and_v6() {
    let mut d = dec();
    let fields = [(27, 16), (28, 16), (56, 6), (57, 6), (243, 2), (225, 4), (227, 2), (281, 16), (61, 1), (63, 16)];
    let mut r = Vec::new();
    r.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    r.extend_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
    r.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 99]);
    r.extend_from_slice(&[203, 0, 113, 5, 0x1f, 0x90]);
    r.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    r.push(1);
    r.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    let p = ipfix(0, &[set(2, &tpl(256, &fields)), set(256, &r)]);
    let (_, out) = run(&mut d, EXPORTER, &p, 0);
    let r = out[0].1;
    assert_eq!((r.src, r.dst), (Some(IpAddr::V6(Ipv6Addr::LOCALHOST)), Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))));
    assert_eq!((r.src_mac, r.dst_mac, r.vlan), (Some([1, 2, 3, 4, 5, 6]), Some([7, 8, 9, 10, 11, 12]), Some(99)));
    assert_eq!((r.nat_src, r.nat_src_port), (Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5))), Some(8080)));
    assert_eq!((r.direction, r.bgp_next_hop), (Some(1), Some(IpAddr::V6(Ipv6Addr::LOCALHOST))));
}

#[test]
fn repeated_withdraw_all_and_no_template_storage() {
    let mut d = dec();
    run(&mut d, EXPORTER, &ipfix(1, &[set(2, &tpl(256, &FLOW_FIELDS))]), 0).0.unwrap();
    let many: Vec<u8> = [0u8, 2, 0, 0].repeat(100);
    let (r, _) = run(&mut d, EXPORTER, &ipfix(1, &[set(2, &many), set(2, &tpl(257, &FLOW_FIELDS))]), 0);
    assert_eq!(r.map(|s| s.templates), Ok(101));
    assert_eq!((d.templates(), d.counters().templates_withdrawn), (1, 1), "257 defined after the withdrawals");
    // With no room for templates, data stays held until dropped.
    let mut d = NetflowDecoder::new(NetflowLimits { max_templates: 0, ..Default::default() });
    let data = set(256, &flow([10, 0, 0, 1], 80, 1));
    run(&mut d, EXPORTER, &ipfix(1, &[data]), 0).0.unwrap();
    let (r, out) = run(&mut d, EXPORTER, &ipfix(1, &[set(2, &tpl(256, &FLOW_FIELDS))]), 0);
    assert_eq!((r.map(|s| s.records), out.len(), d.pending().0), (Ok(0), 0, 1));
    assert_eq!(d.counters().templates_evicted, 1);
}
