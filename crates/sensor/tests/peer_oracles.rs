//! Decoding agrees with what Zeek and Suricata report for the same captures
//! (their expected outputs are kept beside the captures in the shared data).

use sensor::capture::read_capture;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use wire::tunnel::Kind;

fn testdata() -> &'static Path {
    Path::new(env!("SDN_TESTDATA"))
}

type Tuple = (IpAddr, u16, IpAddr, u16);

/// Every TCP/UDP 4-tuple in a capture, direction-normalized.
fn tuples(capture: &Path) -> BTreeSet<Tuple> {
    let mut out = BTreeSet::new();
    let (_, r) = read_capture(
        capture,
        |p| {
            let d = wire::decode(p.link, p.data);
            assert_eq!(d.error, None, "frame {}", p.frame);
            if let (Some(ip), Some((sp, dp))) = (d.ip, d.transport.ports()) {
                out.insert(std::cmp::min((ip.src, sp, ip.dst, dp), (ip.dst, dp, ip.src, sp)));
            }
        },
        |_| {},
    );
    r.unwrap();
    out
}

/// Connection tuples from a Zeek conn.log baseline.
fn zeek_conns(log: &Path) -> BTreeSet<Tuple> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let t = (f[2].parse().unwrap(), f[3].parse().unwrap(), f[4].parse().unwrap(), f[5].parse().unwrap());
            std::cmp::min(t, (t.2, t.3, t.0, t.1))
        })
        .collect()
}

#[test]
fn vlan_and_mpls_mix_matches_zeek_conn_log() {
    let got = tuples(&testdata().join("zeek/traces/mixed-vlan-mpls.pcap"));
    let want = zeek_conns(&testdata().join("zeek/baseline/core.vlan-mpls/conn.log"));
    assert_eq!(want.len(), 3);
    assert_eq!(got, want);
}

#[test]
fn ipv6_in_ipv6_matches_suricata_tunnel_fields() {
    // suricata-verify bug-4571-03/test.yaml: src/dest of the inner packet,
    // tunnel.src_ip/dest_ip of the outer one, tunnel.proto IPv6.
    let path = testdata().join("suricata-verify/bug-4571-03/ipv6_over_ipv6.pcap");
    let mut seen = 0;
    let (_, r) = read_capture(
        &path,
        |p| {
            let d = wire::decode(p.link, p.data);
            let (ip, outer) = (d.ip.unwrap(), d.outer.unwrap());
            assert_eq!(ip.src, "2001:db8:85a3::8a2e:370:8334".parse::<IpAddr>().unwrap());
            assert_eq!(ip.dst, "2001:db8:85a3::8a2e:370:8335".parse::<IpAddr>().unwrap());
            assert_eq!(outer.src, "2001:db8:85a3::8a2e:370:7334".parse::<IpAddr>().unwrap());
            assert_eq!(outer.dst, "2001:db8:85a3::8a2e:370:7335".parse::<IpAddr>().unwrap());
            assert_eq!((d.tunnel, d.tunnel_depth, ip.protocol), (Some(Kind::IpInIp), 1, 6));
            seen += 1;
        },
        |_| {},
    );
    r.unwrap();
    assert_eq!(seen, 1);
}
