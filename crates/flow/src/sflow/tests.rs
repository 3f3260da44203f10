use super::*;
use core::net::{Ipv4Addr, Ipv6Addr};

/// XDR writer for hand-built datagrams.
#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// Variable-length opaque: length, data, padding.
    fn opaque(self, b: &[u8]) -> Self {
        let pad = (4 - b.len() % 4) % 4;
        self.u32(b.len() as u32).bytes(b).bytes(&[0; 3][..pad])
    }
    /// A `{ data_format, opaque }` element.
    fn element(self, enterprise: u32, format: u32, body: W) -> Self {
        self.u32(enterprise << 12 | format).opaque(&body.0)
    }
}

fn header_v4(seq: u32, samples: u32) -> W {
    W::default().u32(5).u32(1).bytes(&[192, 0, 2, 1]).u32(7).u32(seq).u32(1000).u32(samples)
}

/// Ethernet + 802.1Q 42 + IPv4 (TOS 0x28) + TCP 1234 -> 80, SYN.
fn frame() -> Vec<u8> {
    let mut f =
        vec![0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x81, 0x00, 0x00, 42, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0x28, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 198, 51, 100, 1, 203, 0, 113, 9]);
    f.extend_from_slice(&[0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    f
}

fn raw_header(frame: &[u8]) -> W {
    W::default().u32(1).u32(frame.len() as u32 + 4).u32(4).opaque(frame)
}

fn compact_flow_sample(records: &[(u32, u32, W)]) -> W {
    let mut w = W::default().u32(11).u32(3 << 24 | 5).u32(512).u32(10_000).u32(2).u32(17).u32(0x8000_0000);
    w = w.u32(records.len() as u32);
    for (e, f, body) in records {
        w = w.element(*e, *f, W(body.0.clone()));
    }
    w
}

#[test]
fn header_checks() {
    assert_eq!(Datagram::new_checked(&[]).unwrap_err(), SflowError::Truncated);
    assert_eq!(Datagram::new_checked(&W::default().u32(4).0).unwrap_err(), SflowError::BadVersion(4));
    let bad_af = W::default().u32(5).u32(3).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0);
    assert_eq!(Datagram::new_checked(&bad_af.0).unwrap_err(), SflowError::BadAddressType(3));
    let short = header_v4(1, 0).0;
    assert_eq!(Datagram::new_checked(&short[..27]).unwrap_err(), SflowError::Truncated);
    let d = Datagram::new_checked(&short).unwrap();
    assert_eq!(d.agent(), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!((d.sub_agent_id(), d.sequence(), d.uptime_ms(), d.sample_count()), (7, 1, 1000, 0));
    assert_eq!(d.samples().count(), 0);
    // The tcpdump crash regression: an 8-octet datagram.
    assert_eq!(Datagram::new_checked(&W::default().u32(5).u32(1).0).unwrap_err().reason(), "sflow.truncated");
}

#[test]
fn ipv6_agent() {
    let mut w = W::default().u32(5).u32(2).bytes(&Ipv6Addr::new(0x30, 0, 0, 0, 0, 1, 1, 1).octets());
    w = w.u32(0).u32(9).u32(1).u32(0);
    let d = Datagram::new_checked(&w.0).unwrap();
    assert_eq!(d.agent().to_string(), "30::1:1:1");
    assert_eq!(d.header_len(), 40);
    assert_eq!(d.context().sequence, 9);
}

#[test]
fn flow_sample_with_records() {
    let gateway = W::default()
        .u32(1)
        .bytes(&[10, 0, 0, 1])
        .u32(65000)
        .u32(64512)
        .u32(64513)
        .u32(2) // segments
        .u32(2)
        .u32(2)
        .u32(100)
        .u32(200)
        .u32(1)
        .u32(1)
        .u32(300)
        .u32(1) // communities
        .u32(0xfde8_0001)
        .u32(100);
    let router = W::default().u32(2).bytes(&Ipv6Addr::LOCALHOST.octets()).u32(24).u32(16);
    let user = W::default().u32(106).opaque(b"alice").u32(106).opaque(b"");
    let url = W::default().u32(2).opaque(b"/x").opaque(b"example.org");
    let sample = compact_flow_sample(&[
        (0, 1001, W::default().u32(42).u32(0).u32(43).u32(0)),
        (9, 1, W::default().u32(1)), // unknown enterprise, skipped
        (0, 1, raw_header(&frame())),
        (0, 1003, gateway),
        (0, 1002, router),
        (0, 1004, user),
        (0, 1005, url),
    ]);
    let dgram = header_v4(3, 1).element(0, 1, sample);
    let d = Datagram::new_checked(&dgram.0).unwrap();
    let samples: Vec<_> = d.samples().collect();
    assert_eq!(samples.len(), 1);
    let Ok(Sample::Flow(s)) = samples[0] else { panic!("{:?}", samples[0]) };
    assert!(!s.is_expanded());
    assert_eq!((s.sequence(), s.source_id_type(), s.source_id_index()), (11, 3, 5));
    assert_eq!((s.sampling_rate(), s.sample_pool(), s.drops()), (512, 10_000, 2));
    assert_eq!(s.input(), Interface { format: 0, value: 17 });
    assert_eq!(s.output(), Interface { format: 2, value: 0 });
    let records: Vec<_> = s.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 7);
    assert!(matches!(records[1], FlowRecordView::Other { enterprise: 9, format: 1, data } if data.len() == 4));
    let FlowRecordView::ExtendedGateway { dst_as_path, dst_as_path_first, dst_as_path_last, communities, .. } =
        records[3]
    else {
        panic!()
    };
    assert_eq!((dst_as_path_first, dst_as_path_last), (Some(100), Some(300)));
    assert_eq!(dst_as_path.map(|s| s.ases.len()).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(communities.iter().collect::<Vec<_>>(), [0xfde8_0001]);
    assert!(matches!(records[5], FlowRecordView::ExtendedUser { src_user: b"alice", dst_user: b"", .. }));
    assert!(matches!(records[6], FlowRecordView::ExtendedUrl { direction: 2, url: b"/x", host: b"example.org" }));

    let r = s.flow_record();
    assert_eq!(r.src, Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))));
    assert_eq!(r.dst, Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9))));
    assert_eq!(
        (r.src_port, r.dst_port, r.protocol, r.tcp_flags, r.tos),
        (Some(1234), Some(80), Some(6), Some(2), Some(0x28))
    );
    assert_eq!((r.vlan, r.in_if, r.out_if), (Some(42), Some(17), None));
    assert_eq!((r.packets, r.bytes, r.sampling_interval), (Some(1), Some(62), Some(512)));
    assert_eq!(r.scaled_bytes(), Some(62 * 512));
    assert_eq!(r.next_hop, Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    assert_eq!((r.src_mask, r.dst_mask), (Some(24), Some(16)));
    assert_eq!(
        (r.src_as, r.dst_as, r.bgp_next_hop),
        (Some(64512), Some(300), Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))))
    );
    assert_eq!(r.src_mac, Some([0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb]));
}

#[test]
fn sampled_ipv4_and_ethernet_records_without_header() {
    let ipv4 =
        W::default().u32(1500).u32(17).bytes(&[10, 1, 1, 1]).bytes(&[10, 2, 2, 2]).u32(53).u32(5353).u32(0).u32(4);
    let eth = W::default().u32(1518).bytes(&[1, 2, 3, 4, 5, 6, 0, 0]).bytes(&[7, 8, 9, 10, 11, 12, 0, 0]).u32(0x0800);
    let sample = compact_flow_sample(&[(0, 2, eth), (0, 3, ipv4), (0, 1001, W::default().u32(7).u32(0).u32(7).u32(0))]);
    let dgram = header_v4(3, 1).element(0, 1, sample);
    let d = Datagram::new_checked(&dgram.0).unwrap();
    let Some(Ok(Sample::Flow(s))) = d.samples().next() else { panic!() };
    let r = s.flow_record();
    assert_eq!(r.src, Some(IpAddr::V4(Ipv4Addr::new(10, 1, 1, 1))));
    assert_eq!(
        (r.src_port, r.dst_port, r.protocol, r.tos, r.tcp_flags),
        (Some(53), Some(5353), Some(17), Some(4), None)
    );
    assert_eq!((r.bytes, r.vlan), (Some(1500), Some(7)));
    assert_eq!((r.src_mac, r.dst_mac), (Some([1, 2, 3, 4, 5, 6]), Some([7, 8, 9, 10, 11, 12])));
}

#[test]
fn expanded_samples_and_counters() {
    let generic = W::default()
        .u32(5)
        .u32(6)
        .u64(10_000_000_000)
        .u32(1)
        .u32(3)
        .u64(1 << 40)
        .u32(1)
        .u32(2)
        .u32(3)
        .u32(4)
        .u32(5)
        .u32(6)
        .u64(7)
        .u32(8)
        .u32(9)
        .u32(10)
        .u32(11)
        .u32(12)
        .u32(2);
    let ethernet = (0..13).fold(W::default(), |w, i| w.u32(i));
    let counters = W::default()
        .u32(99)
        .u32(0)
        .u32(5)
        .u32(3)
        .element(0, 2001, W::default().u32(1).u32(2)) // unknown: skipped by length
        .element(0, 1, generic)
        .element(0, 2, ethernet);
    let flow = W::default()
        .u32(1)
        .u32(0)
        .u32(11001)
        .u32(1000)
        .u32(5000)
        .u32(0)
        .u32(0)
        .u32(29001)
        .u32(1)
        .u32(3)
        .u32(1)
        .element(0, 1, raw_header(&frame()));
    let dgram = header_v4(8, 3).element(0, 4, counters).element(0, 3, flow).element(7, 1, W::default().u32(0));
    let d = Datagram::new_checked(&dgram.0).unwrap();
    let samples: Vec<_> = d.samples().collect::<Result<_, _>>().unwrap();
    let Sample::Counters(c) = samples[0] else { panic!() };
    assert!(c.is_expanded());
    assert_eq!((c.sequence(), c.source_id_type(), c.source_id_index()), (99, 0, 5));
    let recs: Vec<_> = c.records().collect::<Result<_, _>>().unwrap();
    assert!(matches!(recs[0], CounterRecordView::Other { enterprise: 0, format: 2001, .. }));
    let CounterRecordView::Generic(g) = recs[1] else { panic!() };
    assert_eq!((g.if_index, g.if_speed, g.in_octets, g.promiscuous_mode), (5, 10_000_000_000, 1 << 40, 2));
    assert!(g.admin_up() && g.oper_up());
    let CounterRecordView::Ethernet(e) = recs[2] else { panic!() };
    assert_eq!((e.alignment_errors, e.symbol_errors), (0, 12));
    let Sample::Flow(f) = samples[1] else { panic!() };
    assert!(f.is_expanded());
    assert_eq!(
        (f.source_id_index(), f.input(), f.output()),
        (11001, Interface { format: 0, value: 29001 }, Interface { format: 1, value: 3 })
    );
    let r = f.flow_record();
    assert_eq!((r.in_if, r.out_if, r.vlan), (Some(29001), None, Some(42)));
    assert!(matches!(samples[2], Sample::Other { enterprise: 7, format: 1, data: [0, 0, 0, 0] }));
}

#[test]
fn lengths_are_checked_against_the_enclosing_structure() {
    // A sample length past the datagram.
    let mut w = header_v4(1, 1).u32(1).u32(1000).u32(0);
    assert_eq!(walk_err(&w.0), Some(SflowError::BadLength));
    // A bogus sample count over real data: one sample, then BadCount.
    w = header_v4(1, u32::MAX).element(7, 1, W::default());
    let d = Datagram::new_checked(&w.0).unwrap();
    let items: Vec<_> = d.samples().collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].as_ref().unwrap_err(), &SflowError::BadCount);
    // Half an element header.
    w = header_v4(1, 2).element(7, 1, W::default()).u32(1);
    assert_eq!(walk_err(&w.0), Some(SflowError::Truncated));
    // A flow sample shorter than its fixed fields.
    w = header_v4(1, 1).element(0, 1, W::default().u32(1).u32(2));
    assert_eq!(walk_err(&w.0), Some(SflowError::ShortSample));
    // A record past its sample (the sample itself fits the datagram).
    let sample = W::default().u32(1).u32(0).u32(1).u32(1).u32(0).u32(0).u32(0).u32(1).u32(1).u32(64).u32(0);
    w = header_v4(1, 1).element(0, 1, sample);
    assert_eq!(walk_err(&w.0), Some(SflowError::BadLength));
    // A sampled header longer than its record.
    let rec = W::default().u32(1).u32(100).u32(0).u32(60).bytes(&[0; 8]);
    w = header_v4(1, 1).element(0, 1, compact_flow_sample(&[(0, 1, rec)]));
    assert_eq!(walk_err(&w.0), Some(SflowError::BadLength));
    // A record count of 3 with one record.
    let mut s = compact_flow_sample(&[(0, 1001, W::default().u32(1).u32(0).u32(1).u32(0))]);
    s.0[31] = 3;
    w = header_v4(1, 1).element(0, 1, s);
    assert_eq!(walk_err(&w.0), Some(SflowError::BadCount));
    // Known records shorter than their fields.
    w = header_v4(1, 1).element(0, 1, compact_flow_sample(&[(0, 3, W::default().u32(1))]));
    assert_eq!(walk_err(&w.0), Some(SflowError::ShortRecord));
    let short_generic = W::default().u32(1).u32(0).u32(1).element(0, 1, W::default().bytes(&[0; 84]));
    w = header_v4(1, 1).element(0, 2, short_generic);
    assert_eq!(walk_err(&w.0), Some(SflowError::ShortRecord));
    // A next hop of address type 9.
    w = header_v4(1, 1).element(0, 1, compact_flow_sample(&[(0, 1002, W::default().u32(9).u32(0).u32(0))]));
    assert_eq!(walk_err(&w.0), Some(SflowError::BadAddressType(9)));
    // AS path: a segment count larger than the data, a segment length past the record.
    let gw = |segs: u32, len: u32| {
        W::default().u32(1).u32(0).u32(1).u32(2).u32(3).u32(segs).u32(2).u32(len).u32(1).u32(0).u32(0)
    };
    w = header_v4(1, 1).element(0, 1, compact_flow_sample(&[(0, 1003, gw(1_000_000, 1))]));
    assert_eq!(walk_err(&w.0), Some(SflowError::BadCount));
    w = header_v4(1, 1).element(0, 1, compact_flow_sample(&[(0, 1003, gw(1, 0x4000_0001))]));
    assert_eq!(walk_err(&w.0), Some(SflowError::BadLength));
    w = header_v4(1, 1).element(0, 1, compact_flow_sample(&[(0, 1003, gw(1, 1))]));
    assert_eq!(walk_err(&w.0), None);
}

#[test]
fn opaque_padding_is_skipped() {
    // A 5-octet unknown record padded to 8, then a switch record.
    let mut s = W::default().u32(1).u32(0).u32(1).u32(1).u32(0).u32(0).u32(0).u32(2);
    s = s.element(3, 3, W::default().bytes(&[1, 2, 3, 4, 5]));
    s = s.element(0, 1001, W::default().u32(9).u32(1).u32(9).u32(1));
    let w = header_v4(1, 1).element(0, 1, s);
    let d = Datagram::new_checked(&w.0).unwrap();
    let Some(Ok(Sample::Flow(f))) = d.samples().next() else { panic!() };
    let recs: Vec<_> = f.records().collect::<Result<_, _>>().unwrap();
    assert!(matches!(recs[0], FlowRecordView::Other { data: [1, 2, 3, 4, 5], .. }));
    assert!(matches!(recs[1], FlowRecordView::ExtendedSwitch { src_vlan: 9, .. }));
}

/// The first error of a full walk over samples and records.
fn walk_err(buf: &[u8]) -> Option<SflowError> {
    let d = match Datagram::new_checked(buf) {
        Ok(d) => d,
        Err(e) => return Some(e),
    };
    for s in d.samples() {
        match s {
            Err(e) => return Some(e),
            Ok(Sample::Flow(f)) => {
                if let Some(Err(e)) = f.records().find(Result::is_err) {
                    return Some(e);
                }
            }
            Ok(Sample::Counters(c)) => {
                if let Some(Err(e)) = c.records().find(Result::is_err) {
                    return Some(e);
                }
            }
            Ok(Sample::Other { .. }) => {}
        }
    }
    None
}

#[test]
fn sequences() {
    let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let mut s = SflowSequences::new(2);
    assert_eq!(s.observe(a, 0, 100), 0);
    assert_eq!(s.observe(a, 0, 101), 0);
    assert_eq!(s.observe(a, 0, 105), 3);
    assert_eq!(s.observe(a, 0, 105), 0); // duplicate
    assert_eq!(s.observe(a, 0, 103), 0); // late
    assert_eq!(s.observe(a, 0, 106), 0);
    assert_eq!(s.observe(a, 1, 7), 0); // another sub-agent
    assert_eq!(s.observe(a, 0, 2), 0); // restart
    assert_eq!(s.observe(a, 0, 4), 1);
    assert_eq!(s.observe(a, 0, 5), 0);
    assert_eq!(s.lost(), 4);
    // Wrap-around.
    let mut w = SflowSequences::new(4);
    assert_eq!(w.observe(a, 0, u32::MAX - 1), 0);
    assert_eq!(w.observe(a, 0, 1), 2);
    assert_eq!(w.lost(), 2);
    // A third key overflows max_agents = 2: the table starts over.
    let b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    assert_eq!(s.observe(b, 0, 50), 0);
    assert_eq!((s.tracked(), s.resets()), (1, 1));
    assert_eq!(s.observe(a, 0, 9), 0);
    let mut none = SflowSequences::new(0);
    assert_eq!(none.observe(a, 0, 1) + none.observe(a, 0, 9), 0);
}

#[test]
fn errors_have_stable_reasons() {
    let all = [
        SflowError::Truncated,
        SflowError::BadVersion(1),
        SflowError::BadAddressType(0),
        SflowError::BadLength,
        SflowError::BadCount,
        SflowError::ShortSample,
        SflowError::ShortRecord,
    ];
    let reasons: Vec<_> = all.iter().map(|e| e.reason()).collect();
    assert_eq!(
        reasons,
        [
            "sflow.truncated",
            "sflow.bad_version",
            "sflow.bad_address_type",
            "sflow.bad_length",
            "sflow.bad_count",
            "sflow.short_sample",
            "sflow.short_record"
        ]
    );
    assert_eq!(SflowError::BadVersion(327681).to_string(), "sflow.bad_version (327681)");
}
