//! Acceptance: decoded addresses, ports, VLANs and timestamps agree with
//! what tcpdump printed (`tcpdump/*.out` in the shared test data), and the
//! malformed packets are reported as errors of the right kind.

use sensor::capture::read_capture;
use std::net::IpAddr;
use std::path::Path;
use wire::{DecodeError, Transport};

/// What tcpdump printed for one packet.
#[derive(Debug, Default)]
struct Expected {
    time: String,
    addrs: Option<(IpAddr, Option<u16>, IpAddr, Option<u16>)>,
    vlans: Vec<u16>,
    error: Option<&'static str>,
    text: String,
}

/// Splits `host.port` (the port is the last dot-separated field when the
/// address has one more dot than an address would).
fn host_port(s: &str, v6: bool) -> (IpAddr, Option<u16>) {
    if let Ok(a) = s.parse::<IpAddr>() {
        return (a, None);
    }
    let (h, p) = s.rsplit_once('.').unwrap_or_else(|| panic!("no port in {s:?}"));
    let a: IpAddr = h.parse().unwrap_or_else(|_| panic!("bad address {h:?}"));
    assert_eq!(a.is_ipv6(), v6);
    (a, Some(p.parse().unwrap()))
}

fn parse_out(text: &str) -> Vec<Expected> {
    // One packet per `-#` numbered line, continuation lines joined.
    let mut packets: Vec<String> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let numbered = t.split_whitespace().next().is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
            && line.starts_with(' ')
            && line.len() - t.len() <= 5;
        if numbered {
            packets.push(t.to_string());
        } else if let Some(last) = packets.last_mut() {
            last.push(' ');
            last.push_str(t);
        }
    }
    packets
        .into_iter()
        .map(|p| {
            let mut words = p.split_whitespace();
            words.next(); // frame number
            let first = words.next().unwrap();
            let time =
                if first.contains('-') { format!("{first} {}", words.next().unwrap()) } else { first.to_string() };
            let mut e = Expected { time, text: p.clone(), ..Default::default() };
            e.vlans = p.split("vlan ").skip(1).map(|s| s.split(',').next().unwrap().trim().parse().unwrap()).collect();
            if p.contains("[version 0 != 6]") {
                e.error = Some("ipv6.bad_version");
            } else if p.contains("< 40] (invalid)") {
                e.error = Some("ipv6.truncated");
            } else if p.contains("[|udp]") {
                e.error = Some("udp.truncated");
            } else if p.contains("[|tcp]") {
                e.error = Some("tcp.truncated");
            }
            // The address part: `IP[6] [(...)] SRC > DST:`
            let (v6, rest) = if let Some(i) = p.find(" IP6 ") {
                (true, &p[i + 5..])
            } else if let Some(i) = p.find(" IP ") {
                (false, &p[i + 4..])
            } else {
                return e;
            };
            let rest = if rest.starts_with('(') {
                // -v prints the header in parentheses first; skip to its end.
                let mut depth = 0;
                let end = rest
                    .char_indices()
                    .find(|(_, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .unwrap()
                    .0;
                rest[end + 1..].trim_start()
            } else {
                rest
            };
            if let Some((src, tail)) = rest.split_once(" > ")
                && let Some((dst, _)) = tail.split_once(": ")
            {
                let (s, sp) = host_port(src.trim(), v6);
                let (d, dp) = host_port(dst.trim(), v6);
                e.addrs = Some((s, sp, d, dp));
            }
            e
        })
        .collect()
}

fn check(capture: &str) -> usize {
    let root = Path::new(env!("SDN_TESTDATA")).join("tcpdump");
    let expected = parse_out(&std::fs::read_to_string(root.join(format!("{capture}.out"))).unwrap());
    let mut got = Vec::new();
    let (_, r) = read_capture(
        &root.join(format!("{capture}.pcap")),
        |p| {
            let d = wire::decode(p.link, p.data);
            let addrs = d.ip.map(|ip| {
                let ports = d.transport.ports();
                (ip.src, ports.map(|p| p.0), ip.dst, ports.map(|p| p.1))
            });
            let ts = events::time::rfc3339(p.ts_sec, p.ts_nsec, p.ts_nanos);
            got.push((ts, addrs, d.vlans().to_vec(), d.error, d.transport));
        },
        |_| {},
    );
    r.unwrap();
    assert_eq!(got.len(), expected.len(), "{capture}: packet count");
    for (i, (e, (ts, addrs, vlans, error, transport))) in expected.iter().zip(got).enumerate() {
        let ctx = format!("{capture} packet {}: {}", i + 1, e.text);
        // tcpdump -tttt prints `YYYY-MM-DD HH:MM:SS.frac`; -q --nano prints the time of day.
        let ts = ts.trim_end_matches('Z').replace('T', " ");
        assert!(ts.ends_with(&e.time), "{ctx}: time {ts} vs {}", e.time);
        assert_eq!(vlans, e.vlans, "{ctx}: vlans");
        assert_eq!(error.as_ref().map(DecodeError::reason), e.error, "{ctx}: error");
        match (&e.addrs, addrs) {
            (Some(want), Some(have)) => {
                // ICMP and port-less protocols: tcpdump prints no ports.
                let have =
                    if matches!(transport, Transport::Tcp { .. } | Transport::Udp { .. } | Transport::PortsOnly { .. })
                    {
                        have
                    } else {
                        (have.0, None, have.2, None)
                    };
                assert_eq!(have, *want, "{ctx}: addresses");
            }
            (None, None) => {}
            (want, have) => panic!("{ctx}: addresses {have:?}, tcpdump {want:?}"),
        }
    }
    expected.len()
}

#[test]
fn qinq_802_1ad() {
    assert_eq!(check("802.1ad_QinQ"), 2);
}

#[test]
fn linktype_raw_ipv6() {
    check("LINKTYPE_RAW_ipv6");
}

#[test]
fn linktype_ipv6() {
    check("LINKTYPE_IPV6");
}

#[test]
fn pptp_big_endian_pcap() {
    check("pptp_bigendian");
}

#[test]
fn tcp_handshake_nanosecond_sll() {
    assert_eq!(check("tcp-handshake-nano"), 3);
}

#[test]
fn ipv6_bad_version_is_an_error_not_addresses() {
    assert_eq!(check("ipv6-bad-version"), 4);
}

#[test]
fn ipv6_invalid_length_is_truncation() {
    assert_eq!(check("ipv6_invalid_length"), 1);
}

#[test]
fn udp_length_heapoverflow_keeps_addresses_and_flags_udp() {
    assert_eq!(check("udp-length-heapoverflow"), 1);
}
