//! Layer-by-layer decoding of hand-built frames, including every link type
//! and the malformed cases, each checked for the exact error.

use std::net::IpAddr;
use wire::{DecodeError, Fragment, Layer, LinkType, Transport, decode};

fn ipv4(proto: u8, l4: &[u8]) -> Vec<u8> {
    let total = (20 + l4.len()) as u16;
    let mut v =
        vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7];
    v.extend_from_slice(l4);
    v
}

fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0, (payload.len() >> 8) as u8, payload.len() as u8, next, 64];
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v.extend_from_slice(payload);
    v
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    let mut v = [sport.to_be_bytes(), dport.to_be_bytes(), len.to_be_bytes(), [0, 0]].concat();
    v.extend_from_slice(payload);
    v
}

fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    [&sport.to_be_bytes()[..], &dport.to_be_bytes(), &[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]]
        .concat()
}

fn ether(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    for (tpid, tci) in tags {
        v.extend_from_slice(&tpid.to_be_bytes());
        v.extend_from_slice(&tci.to_be_bytes());
    }
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn ethernet_ipv4_tcp() {
    let f = ether(&[], 0x0800, &ipv4(6, &tcp(1234, 80, 0x12)));
    let d = decode(LinkType::Ethernet, &f);
    assert_eq!(d.error, None);
    let ip = d.ip.unwrap();
    assert_eq!((ip.src, ip.dst, ip.protocol, ip.ttl), (v4("192.0.2.1"), v4("198.51.100.7"), 6, 64));
    assert_eq!(d.transport, Transport::Tcp { src_port: 1234, dst_port: 80, flags: 0x12, seq: 1 });
    assert_eq!(d.src_mac, Some([6, 7, 8, 9, 10, 11]));
    assert_eq!(d.dst_mac, Some([0, 1, 2, 3, 4, 5]));
}

#[test]
fn vlan_stacks_of_any_depth() {
    let inner = ipv4(17, &udp(53, 5353, b"x"));
    let f = ether(&[(0x88a8, 100), (0x8100, 0x2000 | 200), (0x8100, 300)], 0x0800, &inner);
    let d = decode(LinkType::Ethernet, &f);
    assert_eq!(d.vlans(), &[100, 200, 300]);
    assert_eq!(d.transport, Transport::Udp { src_port: 53, dst_port: 5353 });
    assert_eq!(d.payload, b"x");
    // Ten tags: all walked, the first eight kept.
    let tags: Vec<(u16, u16)> = (1..=10).map(|i| (0x8100, i)).collect();
    let frame = ether(&tags, 0x0800, &inner);
    let d = decode(LinkType::Ethernet, &frame);
    assert_eq!(d.vlan_depth, 10);
    assert_eq!(d.vlans(), &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(d.ip.is_some());
    // A tag cut short.
    let frame = ether(&[], 0x8100, &[0, 5]);
    let d = decode(LinkType::Ethernet, &frame);
    assert_eq!(d.error, Some(DecodeError::Truncated(Layer::Vlan)));
}

#[test]
fn mpls_label_stack_then_ip() {
    let ip = ipv6(17, &udp(1, 2, &[]));
    let mut payload = vec![0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
    payload.extend_from_slice(&ip);
    let frame = ether(&[(0x8100, 7)], 0x8847, &payload);
    let d = decode(LinkType::Ethernet, &frame);
    assert_eq!(d.mpls_labels, 2);
    assert_eq!(d.vlans(), &[7]);
    assert_eq!(d.transport, Transport::Udp { src_port: 1, dst_port: 2 });
    // No bottom-of-stack bit before the data runs out.
    let frame = ether(&[], 0x8847, &[0, 1, 0, 64, 0, 2]);
    let d = decode(LinkType::Ethernet, &frame);
    assert_eq!(d.error, Some(DecodeError::Truncated(Layer::Mpls)));
}

#[test]
fn linux_cooked_v1_and_v2() {
    let ip = ipv4(1, &[8, 0, 0, 0, 0, 1, 0, 1]);
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&ip);
    let d = decode(LinkType::LinuxSll, &sll);
    assert_eq!(d.transport, Transport::Icmp { icmp_type: 8, code: 0 });
    assert_eq!(d.src_mac, Some([1, 2, 3, 4, 5, 6]));
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    sll2.extend_from_slice(&ip);
    let d = decode(LinkType::LinuxSll2, &sll2);
    assert_eq!(d.transport, Transport::Icmp { icmp_type: 8, code: 0 });
    assert_eq!(decode(LinkType::LinuxSll2, &sll2[..10]).error, Some(DecodeError::Truncated(Layer::Sll2)));
}

#[test]
fn raw_ip_null_and_loop() {
    let ip4 = ipv4(17, &udp(1, 2, &[]));
    let ip6 = ipv6(17, &udp(3, 4, &[]));
    for link in [12, 14, 101, 228] {
        assert_eq!(decode(LinkType::from_linktype(link), &ip4).transport, Transport::Udp { src_port: 1, dst_port: 2 });
    }
    for link in [12, 101, 229] {
        assert_eq!(decode(LinkType::from_linktype(link), &ip6).transport, Transport::Udp { src_port: 3, dst_port: 4 });
    }
    // LINKTYPE_IPV4 with an IPv6 packet is a version error, not a guess.
    assert_eq!(decode(LinkType::Ipv4, &ip6).error, Some(DecodeError::BadVersion(Layer::Ipv4)));
    // NULL: host byte order, either endianness; AF_INET6 differs per OS.
    for hdr in [[2, 0, 0, 0], [0, 0, 0, 2]] {
        let f = [&hdr[..], &ip4].concat();
        assert!(decode(LinkType::Null, &f).ip.is_some());
    }
    for fam in [24u32, 28, 30, 10] {
        let f = [&fam.to_le_bytes()[..], &ip6].concat();
        assert!(decode(LinkType::Null, &f).ip.is_some(), "family {fam}");
    }
    let f = [&30u32.to_be_bytes()[..], &ip6].concat();
    assert!(decode(LinkType::Loop, &f).ip.is_some());
    let f = [&[7, 0, 0, 0][..], &ip4].concat();
    assert_eq!(decode(LinkType::Null, &f).error, Some(DecodeError::UnknownFamily));
    assert_eq!(decode(LinkType::from_linktype(147), &ip4).error, Some(DecodeError::UnsupportedLinkType(147)));
}

#[test]
fn ipv4_options_fragments_and_bad_headers() {
    // IHL 6 (one option word): transport starts after it.
    let mut p = ipv4(17, &[0, 0, 0, 0]);
    p[0] = 0x46;
    p.splice(24..24, udp(7, 9, &[]));
    p[3] += 8;
    let d = decode(LinkType::RawIp, &p);
    assert_eq!(d.transport, Transport::Udp { src_port: 7, dst_port: 9 }, "{:?}", d.error);
    // A non-first fragment: addresses, no transport.
    let mut p = ipv4(6, &tcp(1, 2, 2));
    p[6] = 0x00;
    p[7] = 0x10;
    let d = decode(LinkType::RawIp, &p);
    assert_eq!(d.ip.unwrap().fragment, Fragment::NonFirst);
    assert_eq!(d.transport, Transport::None);
    // First fragment (MF set, offset 0) keeps its transport header.
    let mut p = ipv4(6, &tcp(1, 2, 2));
    p[6] = 0x20;
    assert_eq!(decode(LinkType::RawIp, &p).ip.unwrap().fragment, Fragment::First);
    let mut p = ipv4(6, &tcp(1, 2, 2));
    p[0] = 0x44;
    assert_eq!(decode(LinkType::Ipv4, &p).error, Some(DecodeError::BadHeaderLength(Layer::Ipv4)));
    let mut p = ipv4(6, &tcp(1, 2, 2));
    p[2] = 0;
    p[3] = 10;
    assert_eq!(decode(LinkType::Ipv4, &p).error, Some(DecodeError::BadLength(Layer::Ipv4)));
    assert_eq!(decode(LinkType::Ipv4, &p[..19]).error, Some(DecodeError::Truncated(Layer::Ipv4)));
    // Ethernet padding after a short packet is not payload.
    let f = ether(&[], 0x0800, &[ipv4(17, &udp(1, 2, b"ab")), vec![0; 10]].concat());
    assert_eq!(decode(LinkType::Ethernet, &f).payload, b"ab");
}

#[test]
fn snaplen_truncation_keeps_what_was_captured() {
    // Total length larger than captured: not an error at the IP layer.
    let p = ipv4(6, &tcp(443, 5555, 0x10));
    let d = decode(LinkType::RawIp, &p[..30]);
    assert_eq!(d.ip.unwrap().src, v4("192.0.2.1"));
    assert_eq!(d.error, Some(DecodeError::Truncated(Layer::Tcp)));
    assert_eq!(d.transport.ports(), Some((443, 5555)));
    let d = decode(LinkType::RawIp, &p[..22]);
    assert_eq!(d.transport, Transport::None);
}

#[test]
fn ipv6_extension_header_walk() {
    let l4 = udp(500, 4500, &[]);
    // hop-by-hop (8) -> routing (8) -> dest opts (16) -> AH (12) -> UDP
    let mut ext = vec![43, 0, 0, 0, 0, 0, 0, 0];
    ext.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]);
    ext.extend_from_slice(&[51, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    ext.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    ext.extend_from_slice(&l4);
    let frame = ipv6(0, &ext);
    let d = decode(LinkType::Ipv6, &frame);
    assert_eq!(d.error, None);
    assert_eq!(d.ip.unwrap().protocol, 17);
    assert_eq!(d.transport, Transport::Udp { src_port: 500, dst_port: 4500 });
    // Fragment header, first fragment then a later one.
    let first = [&[17u8, 0, 0, 1, 0, 0, 0, 9][..], &l4].concat();
    let frame = ipv6(44, &first);
    let d = decode(LinkType::Ipv6, &frame);
    assert_eq!((d.ip.unwrap().fragment, d.transport.ports()), (Fragment::First, Some((500, 4500))));
    let later = [&[17u8, 0, 0, 0x10, 0, 0, 0, 9][..], &l4].concat();
    let frame = ipv6(44, &later);
    let d = decode(LinkType::Ipv6, &frame);
    assert_eq!((d.ip.unwrap().fragment, d.transport), (Fragment::NonFirst, Transport::None));
    // An extension header claiming more than is there.
    let frame = ipv6(0, &[17, 4, 0, 0, 0, 0, 0, 0]);
    let d = decode(LinkType::Ipv6, &frame);
    assert_eq!(d.error, Some(DecodeError::BadHeaderLength(Layer::Ipv6Ext)));
    assert!(d.ip.is_some(), "addresses survive a bad extension header");
    // A loop of 40 destination-options headers.
    let chain: Vec<u8> = (0..40).flat_map(|_| [60u8, 0, 0, 0, 0, 0, 0, 0]).collect();
    assert_eq!(decode(LinkType::Ipv6, &ipv6(60, &chain)).error, Some(DecodeError::TooDeep(Layer::Ipv6Ext)));
    // ICMPv6 and a bad version.
    assert_eq!(
        decode(LinkType::Ipv6, &ipv6(58, &[135, 0, 0, 0])).transport,
        Transport::Icmpv6 { icmp_type: 135, code: 0 }
    );
    let mut bad = ipv6(58, &[135, 0, 0, 0]);
    bad[0] = 0x00;
    let d = decode(LinkType::Ipv6, &bad);
    assert_eq!((d.error, d.ip), (Some(DecodeError::BadVersion(Layer::Ipv6)), None));
}

#[test]
fn udp_and_tcp_header_errors() {
    let mut u = udp(1, 2, &[]);
    u[5] = 4;
    assert_eq!(decode(LinkType::RawIp, &ipv4(17, &u)).error, Some(DecodeError::BadLength(Layer::Udp)));
    let mut t = tcp(1, 2, 2);
    t[12] = 0x40;
    assert_eq!(decode(LinkType::RawIp, &ipv4(6, &t)).error, Some(DecodeError::BadHeaderLength(Layer::Tcp)));
    assert_eq!(decode(LinkType::RawIp, &ipv4(1, &[8, 0])).error, Some(DecodeError::Truncated(Layer::Icmp)));
}

#[test]
fn llc_snap_and_pppoe() {
    let ip = ipv4(17, &udp(1, 2, &[]));
    let mut snap = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
    snap.extend_from_slice(&ip);
    let len = snap.len() as u16;
    assert!(decode(LinkType::Ethernet, &ether(&[], len, &snap)).ip.is_some());
    let mut pppoe = vec![0x11, 0, 0, 1, 0, 0, 0x00, 0x21];
    pppoe.extend_from_slice(&ip);
    assert!(decode(LinkType::Ethernet, &ether(&[], 0x8864, &pppoe)).ip.is_some());
    // ARP: no IP layer and no error.
    let frame = ether(&[], 0x0806, &[0; 28]);
    let d = decode(LinkType::Ethernet, &frame);
    assert_eq!((d.ip, d.error, d.ethertype), (None, None, Some(0x0806)));
}

#[test]
fn every_prefix_of_a_frame_decodes_without_panic() {
    let f = ether(
        &[(0x88a8, 1), (0x8100, 2)],
        0x86dd,
        &ipv6(0, &[&[6u8, 0, 0, 0, 0, 0, 0, 0][..], &tcp(1, 2, 2)].concat()),
    );
    for n in 0..=f.len() {
        let d = decode(LinkType::Ethernet, &f[..n]);
        assert!(d.error.is_some() || n == f.len(), "prefix {n} decoded without error");
    }
}

#[test]
fn tunnels_are_looked_through() {
    use wire::tunnel::Kind;
    let inner = ipv6(6, &tcp(1111, 443, 0x02));
    // IPv6 in IPv4.
    let frame = ipv4(41, &inner);
    let d = decode(LinkType::RawIp, &frame);
    assert_eq!((d.tunnel, d.tunnel_depth, d.error), (Some(Kind::IpInIp), 1, None));
    assert_eq!(d.outer.unwrap().src, v4("192.0.2.1"));
    assert_eq!(d.ip.unwrap().dst, "2001:db8::2".parse::<IpAddr>().unwrap());
    assert_eq!(d.transport.ports(), Some((1111, 443)));
    // GRE with key and sequence number, carrying IPv4.
    let gre = [&[0x30u8, 0, 0x08, 0x00, 0, 0, 0, 7, 0, 0, 0, 1][..], &ipv4(17, &udp(5, 6, &[]))].concat();
    let frame = ether(&[], 0x0800, &ipv4(47, &gre));
    let d = decode(LinkType::Ethernet, &frame);
    assert_eq!((d.tunnel, d.transport), (Some(Kind::Gre), Transport::Udp { src_port: 5, dst_port: 6 }));
    // ERSPAN type II carrying a VLAN-tagged Ethernet frame.
    let mirrored = ether(&[(0x8100, 42)], 0x86dd, &inner);
    let erspan = [&[0x10u8, 0, 0x88, 0xbe, 0, 0, 0, 1][..], &[0x10, 0, 0, 1, 0, 0, 0, 0], &mirrored].concat();
    let frame = ether(&[], 0x0800, &ipv4(47, &erspan));
    let d = decode(LinkType::Ethernet, &frame);
    assert_eq!((d.tunnel, d.vlans()), (Some(Kind::Erspan), &[42u16][..]));
    assert_eq!(d.transport.ports(), Some((1111, 443)));
    // VXLAN (UDP 4789, I flag) carrying Ethernet.
    let vx = [&[0x08u8, 0, 0, 0, 0, 0, 100, 0][..], &ether(&[], 0x0800, &ipv4(17, &udp(53, 53, b"q")))].concat();
    let frame = ether(&[], 0x0800, &ipv4(17, &udp(40000, 4789, &vx)));
    let d = decode(LinkType::Ethernet, &frame);
    assert_eq!(
        (d.tunnel, d.transport, d.payload),
        (Some(Kind::Vxlan), Transport::Udp { src_port: 53, dst_port: 53 }, &b"q"[..])
    );
    // UDP to 4789 without the I flag is plain UDP.
    let frame = ipv4(17, &udp(40000, 4789, &[0u8; 8]));
    assert_eq!(decode(LinkType::RawIp, &frame).tunnel, None);
    // A damaged inner packet keeps the tunnel endpoints.
    let frame = ipv4(4, &[0x45, 0, 0]);
    let d = decode(LinkType::RawIp, &frame);
    assert_eq!(
        (d.error, d.ip, d.outer.map(|o| o.dst)),
        (Some(DecodeError::Truncated(Layer::Ipv4)), None, Some(v4("198.51.100.7")))
    );
    // Nesting is bounded.
    let mut nested = ipv4(17, &udp(1, 2, &[]));
    for _ in 0..10 {
        nested = ipv4(4, &nested);
    }
    assert_eq!(decode(LinkType::RawIp, &nested).error, Some(DecodeError::TooDeep(Layer::Tunnel)));
    // PPTP's enhanced GRE (version 1) is left alone.
    let frame = ipv4(47, &[0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 0]);
    let d = decode(LinkType::RawIp, &frame);
    assert_eq!((d.tunnel, d.error), (None, None));
}
