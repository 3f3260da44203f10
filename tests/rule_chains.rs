//! pcap_chain and cidr_chain against tcpdump (libpcap's own evaluation) as
//! the oracle: the frames a rule fires on must be exactly the frames
//! tcpdump prints for the same expression, compared by timestamp. Uses the
//! original's two sample filters (`udp port 31337` and its HTTP GET
//! filter) on real captures from ../shared/testdata and on a crafted one.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(env!("SDN_TESTDATA"))
}

const HTTP_GET: &str = "(port 80 or port 443) and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420)";
/// The original's full sample filter: GET requests or `HTTP/1.x 200` answers.
const HTTP_GET_OR_200: &str = "(port 80 or port 443) and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420 or tcp[((tcp[12:1] & 0xf0) >> 2)+8:4] = 0x20323030)";

fn tcpdump() -> String {
    for p in ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"] {
        if Path::new(p).exists() {
            return p.to_string();
        }
    }
    panic!("tcpdump is not installed: run scripts/setup.sh");
}

/// Timestamps (µs since the epoch) of the frames tcpdump's filter accepts.
fn oracle(capture: &Path, expr: &str) -> Vec<i64> {
    let out = Command::new(tcpdump()).args(["-n", "-tt", "-r"]).arg(capture).arg(expr).output().unwrap();
    assert!(out.status.success(), "tcpdump {expr}: {}", String::from_utf8_lossy(&out.stderr));
    let mut ts: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (s, us) = l.split_whitespace().next()?.split_once('.')?;
            Some(s.parse::<i64>().ok()? * 1_000_000 + us.parse::<i64>().ok()?)
        })
        .collect();
    ts.sort();
    ts
}

/// `2011-03-18T19:06:08.652003Z` as µs since the epoch.
fn micros(rfc3339: &str) -> i64 {
    let (date, time) = rfc3339.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap();
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant).
    let (y, m) = if d[1] <= 2 { (d[0] - 1, d[1] + 9) } else { (d[0], d[1] - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let frac_us: i64 = frac[..6].parse().unwrap();
    ((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1_000_000) + frac_us
}

fn replay(capture: &Path, config: &Path) -> Vec<Value> {
    let feed = config.with_extension("csv");
    std::fs::write(&feed, "id,type,threat_type,ip,dns,value\n1,ip,x,192.0.2.255,,\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .arg("replay")
        .arg(capture)
        .arg("--intel")
        .arg(&feed)
        .arg("--config")
        .arg(config)
        .arg("-q")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Timestamps of the frames rule `name` of `chain` fired on (once per frame).
fn fired(events: &[Value], chain: &str, name: &str) -> Vec<i64> {
    let mut frames: Vec<(u64, i64)> = events
        .iter()
        .filter(|e| e["kind"] == "rule" && e["rule"]["chain"] == chain && e["rule"]["name"] == name)
        .map(|e| (e["packet"]["frame"].as_u64().unwrap(), micros(e["ts"].as_str().unwrap())))
        .collect();
    frames.sort();
    frames.dedup();
    let mut ts: Vec<i64> = frames.into_iter().map(|(_, t)| t).collect();
    ts.sort();
    ts
}

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sdn-rules-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config(dir: &Path, rules: &[(&str, &str, &str)]) -> PathBuf {
    let mut text = String::new();
    for (chain, name, value) in rules {
        let key = if *chain == "pcap_chain" { "filter" } else { "cidr" };
        text.push_str(&format!("[[{chain}]]\nname = \"{name}\"\n{key} = '{value}'\n\n"));
    }
    let p = dir.join("rules.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn pcap_chain_fires_on_exactly_the_frames_libpcap_accepts() {
    let d = dir("pcap");
    let cases: [(&str, &[(&str, &str)]); 6] = [
        // LINKTYPE_IPV6 (229) and LINKTYPE_IPV4 (228): no link header.
        ("tcpdump/LINKTYPE_IPV6.pcap", &[("dns", "udp port 53"), ("v6", "ip6")]),
        ("zeek/traces/tcp-syslog.pcap", &[("syslog", "tcp port 514"), ("v4", "ip")]),
        (
            "zeek/intel-match/wikipedia.pcap",
            &[("get", HTTP_GET), ("get_or_200", HTTP_GET_OR_200), ("udp_31337", "udp port 31337")],
        ),
        ("zeek/traces/mixed-vlan-mpls.pcap", &[("vlan_get", &*format!("vlan and {HTTP_GET}")), ("get", HTTP_GET)]),
        ("zeek/traces/http-vlan-0.pcap", &[("vlan_get", &*format!("vlan and {HTTP_GET}"))]),
        ("suricata-verify/http-ipv6/input.pcap", &[("ip6_http", "ip6 and tcp port 80"), ("get", HTTP_GET)]),
    ];
    let mut fired_total = 0;
    for (capture, filters) in cases {
        let capture = testdata().join(capture);
        let rules: Vec<(&str, &str, &str)> = filters.iter().map(|(n, f)| ("pcap_chain", *n, *f)).collect();
        let events = replay(&capture, &config(&d, &rules));
        for (name, expr) in filters {
            let want = oracle(&capture, expr);
            let got = fired(&events, "pcap", name);
            assert_eq!(got, want, "{} {name} ({expr})", capture.display());
            fired_total += got.len();
        }
    }
    assert!(fired_total >= 20, "the captures hold HTTP requests: {fired_total}");
    std::fs::remove_dir_all(&d).ok();
}

/// A capture of UDP and TCP frames to and from port 31337 and its
/// neighbours, over IPv4, IPv6 and a VLAN tag.
fn crafted_31337(path: &Path) {
    let eth = |ethertype: u16| {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f
    };
    let l4 = |proto: u8, sport: u16, dport: u16| {
        let mut h = Vec::new();
        h.extend_from_slice(&sport.to_be_bytes());
        h.extend_from_slice(&dport.to_be_bytes());
        if proto == 17 {
            h.extend_from_slice(&16u16.to_be_bytes());
            h.extend_from_slice(&[0, 0]);
        } else {
            h.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        }
        h.extend_from_slice(b"payload!");
        h
    };
    let v4 = |proto: u8, sport: u16, dport: u16| {
        let body = l4(proto, sport, dport);
        let mut f = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        f[2..4].copy_from_slice(&((20 + body.len()) as u16).to_be_bytes());
        f.extend_from_slice(&body);
        f
    };
    let v6 = |proto: u8, sport: u16, dport: u16| {
        let body = l4(proto, sport, dport);
        let mut f = vec![0x60, 0, 0, 0];
        f.extend_from_slice(&(body.len() as u16).to_be_bytes());
        f.extend_from_slice(&[proto, 64]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        f.extend_from_slice(&[0; 11]);
        f.push(1);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        f.extend_from_slice(&[0; 11]);
        f.push(2);
        f.extend_from_slice(&body);
        f
    };
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for (proto, sport, dport) in
        [(17, 5000, 31337), (17, 31337, 5000), (6, 5000, 31337), (17, 5000, 31338), (17, 31336, 53)]
    {
        frames.push([eth(0x0800), v4(proto, sport, dport)].concat());
        frames.push([eth(0x86dd), v6(proto, sport, dport)].concat());
    }
    // 802.1Q: `udp port 31337` does not look past the tag (libpcap).
    let mut tagged = eth(0x8100);
    tagged.extend_from_slice(&[0, 100, 0x08, 0x00]);
    frames.push([tagged, v4(17, 5000, 31337)].concat());
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0002_0004, 0, 0, 65_535, 1] {
        if v == 0x0002_0004 {
            out.extend_from_slice(&2u16.to_le_bytes());
            out.extend_from_slice(&4u16.to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for (i, f) in frames.iter().enumerate() {
        for v in [1_700_000_000 + i as u32, 0, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn udp_port_31337_fires_on_exactly_the_frames_libpcap_accepts() {
    let d = dir("31337");
    let capture = d.join("31337.pcap");
    crafted_31337(&capture);
    let events = replay(&capture, &config(&d, &[("pcap_chain", "udp_31337", "udp port 31337")]));
    let want = oracle(&capture, "udp port 31337");
    assert_eq!(want.len(), 4, "IPv4 and IPv6, either direction");
    assert_eq!(fired(&events, "pcap", "udp_31337"), want);
    for e in events.iter().filter(|e| e["kind"] == "rule") {
        assert_eq!(e["match"]["where"], "packet");
        assert_eq!(e["match"]["value"], "udp port 31337");
        assert!(e.get("indicator").is_none());
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn cidr_chain_fires_on_exactly_the_frames_with_an_address_in_the_prefix() {
    let d = dir("cidr");
    let capture = testdata().join("zeek/intel-match/wikipedia.pcap");
    let rules = [("cidr_chain", "wikimedia", "208.80.152.0/22"), ("cidr_chain", "link_local6", "fe80::/10")];
    let events = replay(&capture, &config(&d, &rules));
    for (name, expr) in [("wikimedia", "ip net 208.80.152.0/22"), ("link_local6", "ip6 net fe80::/10")] {
        let want = oracle(&capture, expr);
        assert!(!want.is_empty(), "{expr}");
        assert_eq!(fired(&events, "cidr", name), want, "{name}");
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn an_invalid_filter_is_rejected_at_load_with_libpcaps_message() {
    let d = dir("bad");
    let cfg = config(&d, &[("pcap_chain", "broken", "udp port 99999")]);
    let out =
        Command::new(env!("CARGO_BIN_EXE_sdn-sensor")).args(["run", "--check", "--config"]).arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pcap_chain[0] (name = \"broken\")") && err.contains("99999"), "{err}");
    std::fs::remove_dir_all(&d).ok();
}
