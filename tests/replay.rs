//! End-to-end: `sdn-sensor replay` on real captures, events checked field by
//! field and against the JSON Schema.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn testdata() -> PathBuf {
    PathBuf::from(env!("SDN_TESTDATA"))
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sensor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sdn-sensor")).args(args).output().expect("run sdn-sensor")
}

fn events(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schema/event.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options().should_validate_formats(true).build(&schema).expect("valid schema")
}

fn assert_valid(validator: &jsonschema::Validator, e: &Value) {
    let errors: Vec<String> =
        validator.iter_errors(e).map(|err| format!("{} at {}", err, err.instance_path())).collect();
    assert!(errors.is_empty(), "event {e} violates the schema: {errors:?}");
}

#[test]
fn replay_reports_exactly_the_listed_addresses() {
    let capture = testdata().join("generated/pcapng/mixed_linktypes.pcapng");
    let feed = repo().join("tests/data/acceptance_feed.csv");
    let out = sensor(&["replay", capture.to_str().unwrap(), "--intel", feed.to_str().unwrap(), "--sensor", "edge-1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let evs = events(&out);

    // (frame, link, where, value, indicator id, type, indicator value, threat type, src, sport, dst, dport, proto)
    let feed_name = feed.display().to_string();
    let expected = [
        (1, "linux_sll", "ip.src", "131.155.215.69", "5", "ip", "131.155.215.69", "botnet"),
        (1, "linux_sll", "ip.dst", "137.116.81.94", "2", "cidr", "137.116.80.0/22", "scanner"),
        (2, "linux_sll", "ip.src", "137.116.81.94", "2", "cidr", "137.116.80.0/22", "scanner"),
        (2, "linux_sll", "ip.dst", "131.155.215.69", "5", "ip", "131.155.215.69", "botnet"),
        (3, "linux_sll", "ip.src", "131.155.215.69", "5", "ip", "131.155.215.69", "botnet"),
        (3, "linux_sll", "ip.dst", "137.116.81.94", "2", "cidr", "137.116.80.0/22", "scanner"),
        (4, "ethernet", "ip.dst", "209.87.249.18", "1", "ip", "209.87.249.18", "c2"),
        (5, "ethernet", "ip.src", "209.87.249.18", "1", "ip", "209.87.249.18", "c2"),
        (20, "raw", "ip.dst", "2620:fe::9", "3", "ip", "2620:fe::9", "exfil"),
        (21, "ipv6", "ip.dst", "2620:fe::9", "3", "ip", "2620:fe::9", "exfil"),
    ];
    assert_eq!(evs.len(), expected.len(), "events: {evs:#?}");
    // Tuples as tcpdump prints them for the source captures.
    let flows = |frame: u64| match frame {
        1 | 3 => ("131.155.215.69", 46656, "137.116.81.94", 80, "tcp"),
        2 => ("137.116.81.94", 80, "131.155.215.69", 46656, "tcp"),
        4 => ("192.168.1.11", 43966, "209.87.249.18", 53, "udp"),
        5 => ("209.87.249.18", 53, "192.168.1.11", 43966, "udp"),
        _ => ("2001:db8::1", 12345, "2620:fe::9", 53, "udp"),
    };
    let ts = |frame: u64| match frame {
        1 => "2014-12-09T17:16:09.924505488Z",
        2 => "2014-12-09T17:16:10.052027262Z",
        3 => "2014-12-09T17:16:10.052115157Z",
        4 => "2020-06-10T09:19:54.740079Z",
        5 => "2020-06-10T09:19:54.870361Z",
        20 => "2025-07-08T17:59:17.215270Z",
        _ => "2025-07-08T17:59:26.204450Z",
    };
    let validator = schema();
    let mut ids = std::collections::HashSet::new();
    for (e, want) in evs.iter().zip(expected) {
        let (frame, link, location, value, id, kind, ivalue, threat) = want;
        assert_valid(&validator, e);
        assert!(ids.insert(e["id"].as_str().unwrap().to_string()), "duplicate id in {e}");
        assert!(e["id"].as_str().unwrap().starts_with("edge-1:"));
        assert_eq!(e["sensor"], "edge-1");
        assert_eq!(e["kind"], "intel");
        assert_eq!(e["input"], "packet");
        assert_eq!(e["ts"], ts(frame), "{e}");
        assert_eq!(e["packet"]["frame"], frame, "{e}");
        assert_eq!(e["packet"]["link"], link, "{e}");
        assert_eq!(e["match"]["where"], location, "{e}");
        assert_eq!(e["match"]["value"], value, "{e}");
        assert_eq!(e["indicator"]["id"], id, "{e}");
        assert_eq!(e["indicator"]["type"], kind, "{e}");
        assert_eq!(e["indicator"]["value"], ivalue, "{e}");
        assert_eq!(e["indicator"]["threat_type"], threat, "{e}");
        assert_eq!(e["indicator"]["feed"], feed_name.as_str(), "{e}");
        let (s, sp, d, dp, proto) = flows(frame);
        assert_eq!(e["flow"]["src_ip"], s, "{e}");
        assert_eq!(e["flow"]["src_port"], sp, "{e}");
        assert_eq!(e["flow"]["dst_ip"], d, "{e}");
        assert_eq!(e["flow"]["dst_port"], dp, "{e}");
        assert_eq!(e["flow"]["proto"], proto, "{e}");
    }

    // Each malformed row: one warning naming file:line, the good rows loaded.
    for (line, what) in [
        (10, "300.1.2.3"),
        (11, "unknown indicator type \"foo\""),
        (12, "expected 6 columns"),
        (13, "10.0.0.0/33"),
        (14, "evil..example"),
        (15, "md5"),
    ] {
        let prefix = format!("{}:{line}: ", feed.display());
        let hit = stderr.lines().find(|l| l.contains(&prefix));
        assert!(hit.is_some_and(|l| l.contains(what)), "no warning for line {line} ({what}) in:\n{stderr}");
    }
    assert!(stderr.contains("intel: 5 indicators from 1 feed(s), 6 bad line(s) skipped"), "{stderr}");
    assert!(stderr.contains("hits: 10 in 7 packets, 0 suppressed by allowlists; events written: 10"), "{stderr}");
    assert!(stderr.contains("link types: null 14, ethernet 2, raw 1, linux_sll 3, ipv6 1"), "{stderr}");
}

#[test]
fn strict_mode_makes_a_bad_feed_line_fatal() {
    let capture = testdata().join("tcpdump/pptp_bigendian.pcap");
    let feed = repo().join("tests/data/acceptance_feed.csv");
    let out = sensor(&["replay", capture.to_str().unwrap(), "--intel", feed.to_str().unwrap(), "--strict-intel"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}:10: ", feed.display())) && stderr.contains("strict"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn unknown_and_unreadable_files_fail_with_one_line_naming_them() {
    let feed = repo().join("tests/data/acceptance_feed.csv");
    let not_capture = repo().join("Cargo.toml");
    let out = sensor(&[
        "replay",
        not_capture.to_str().unwrap(),
        "/nonexistent/x.pcap",
        "--intel",
        feed.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(errors[0].contains("Cargo.toml") && errors[0].contains("not a pcap or pcapng file"), "{stderr}");
    assert!(errors[1].contains("/nonexistent/x.pcap") && errors[1].contains("cannot read"), "{stderr}");

    let out = sensor(&["replay", "/dev/null", "--intel", "/nonexistent/feed.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/feed.csv: cannot read feed"));
}

#[test]
fn truncated_capture_emits_everything_before_the_damage() {
    // Cut pptp_bigendian.pcap in the middle of its 10th record.
    let src = std::fs::read(testdata().join("tcpdump/pptp_bigendian.pcap")).unwrap();
    let mut offset = 24;
    for _ in 0..9 {
        let caplen = u32::from_be_bytes(src[offset + 8..offset + 12].try_into().unwrap()) as usize;
        offset += 16 + caplen;
    }
    let dir = std::env::temp_dir().join(format!("sdn-sensor-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &src[..offset + 20]).unwrap();
    let feed = dir.join("feed.txt");
    std::fs::write(&feed, "10.1.1.10\n").unwrap();
    let out = sensor(&["replay", cut.to_str().unwrap(), "--intel", feed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let evs = events(&out);
    // Every one of the 9 complete packets involves 10.1.1.10.
    assert_eq!(evs.len(), 9, "{evs:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("error:")).unwrap();
    assert!(line.contains("cut.pcap") && line.contains("packet 10"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bundled_sample_gives_the_documented_hits() {
    let out = sensor(&["replay", "samples/sample.pcap", "--intel", "samples/intel.csv", "--sensor", "demo"]);
    assert!(out.status.success());
    let evs = events(&out);
    let got: Vec<(u64, &str, &str)> = evs
        .iter()
        .map(|e| {
            (
                e["packet"]["frame"].as_u64().unwrap(),
                e["match"]["where"].as_str().unwrap(),
                e["indicator"]["id"].as_str().unwrap(),
            )
        })
        .collect();
    let mut want = vec![
        (1, "dns.query", "1005"),
        (2, "dns.query", "1005"),
        (2, "dns.answer.name", "1005"),
        (2, "dns.answer.addr", "1001"),
        (3, "ip.dst", "1001"),
        (4, "ip.src", "1001"),
        (5, "ip.dst", "1001"),
        (6, "ip.dst", "1001"),
        (6, "tls.sni", "1005"),
    ];
    want.extend((13..=18).map(|f| (f, "ip.dst", "1002")));
    want.extend([(19, "ip.dst", "1001"), (20, "ip.dst", "1003"), (23, "ip.dst", "1001")]);
    want.extend([(24, "http.host", "1005"), (24, "http.url", "1006")]);
    assert_eq!(got, want);
    assert_eq!(evs[2]["dns"]["answers"][0]["data"], "203.0.113.66");
    assert_eq!(evs[8]["tls"]["sni"], "www.evil.example");
    assert_eq!(evs[18]["http"]["uri"], "/verify");
    assert_eq!(evs[17]["packet"]["decode_error"], "tcp.truncated");
    assert_eq!(evs[9]["flow"]["vlan"], serde_json::json!([100]));
    let validator = schema();
    evs.iter().for_each(|e| assert_valid(&validator, e));
}

#[test]
fn tunneled_packets_match_inner_and_outer_addresses() {
    let capture = testdata().join("suricata-verify/bug-4571-03/ipv6_over_ipv6.pcap");
    let dir = std::env::temp_dir().join(format!("sdn-sensor-tunnel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.txt");
    std::fs::write(&feed, "2001:db8:85a3::8a2e:370:8335\n2001:db8:85a3::8a2e:370:7334\n").unwrap();
    let out = sensor(&["replay", capture.to_str().unwrap(), "--intel", feed.to_str().unwrap()]);
    assert!(out.status.success());
    let evs = events(&out);
    let wheres: Vec<&str> = evs.iter().map(|e| e["match"]["where"].as_str().unwrap()).collect();
    assert_eq!(wheres, ["ip.dst", "tunnel.src"]);
    let validator = schema();
    for e in &evs {
        assert_valid(&validator, e);
        assert_eq!(e["flow"]["src_ip"], "2001:db8:85a3::8a2e:370:8334");
        assert_eq!(e["packet"]["tunnel"]["type"], "ipip");
        assert_eq!(e["packet"]["tunnel"]["src"], "2001:db8:85a3::8a2e:370:7334");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("tunneled: 1"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn warninglists_suppress_packet_hits_and_are_counted() {
    let capture = testdata().join("generated/pcapng/mixed_linktypes.pcapng");
    let dir = std::env::temp_dir().join(format!("sdn-sensor-allow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.txt");
    // 192.168.1.11 talks to 209.87.249.18:53 in frames 4 and 5.
    std::fs::write(&feed, "192.168.1.11\n209.87.249.18:53\n").unwrap();
    let rfc1918 = testdata().join("ioc/misp-warninglists/rfc1918.json");
    let out =
        sensor(&["replay", capture.to_str().unwrap(), "--intel", feed.to_str().unwrap(), rfc1918.to_str().unwrap()]);
    assert!(out.status.success());
    let evs = events(&out);
    // Only the ip:port indicator, and only where 53 is the port beside it.
    let got: Vec<(u64, &str)> =
        evs.iter().map(|e| (e["packet"]["frame"].as_u64().unwrap(), e["match"]["where"].as_str().unwrap())).collect();
    assert_eq!(got, [(4, "ip.dst"), (5, "ip.src")]);
    assert_eq!(evs[0]["indicator"]["value"], "209.87.249.18");
    assert_eq!(evs[0]["indicator"]["port"], 53);
    let validator = schema();
    evs.iter().for_each(|e| assert_valid(&validator, e));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hits: 2 in 2 packets, 2 suppressed by allowlists"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}
