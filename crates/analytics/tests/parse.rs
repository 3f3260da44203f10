//! parse_event on event lines as the sensor writes them (docs/EVENTS.md),
//! and encode of summaries and incidents.

mod common;
use analytics::*;
use common::*;

const PACKET: &str = r#"{"id":"edge-1:6889a384ad400002","ts":"2000-03-27T08:56:35.148077123Z","sensor":"edge-1","kind":"intel","input":"packet","match":{"where":"ip.dst","value":"10.1.1.10"},"indicator":{"id":"7","type":"ip","value":"10.1.1.10","threat_type":"c2","feed":"feed.csv"},"flow":{"src_ip":"10.1.1.11","src_port":3025,"dst_ip":"10.1.1.10","dst_port":1723,"proto":"tcp"},"packet":{"capture":"t.pcap","frame":1,"length":54,"caplen":54,"link":"ethernet","src_mac":"00:00:5e:00:53:af","dst_mac":"08:00:20:9f:6b:72","ethertype":2048,"ip_version":4,"ttl":128,"tcp_flags":"S"}}"#;

const DNS: &str = r#"{"id":"edge-1:000000000001f3a9","ts":"2026-11-29T05:00:00.123456Z","sensor":"edge-1","kind":"intel","input":"dns","match":{"where":"dns.answer.name","value":"cdn.evil.example"},"indicator":{"id":"42","type":"domain","value":"evil.example","threat_type":"c2","feed":"feeds/c2.csv","confidence":80},"flow":{"src_ip":"192.0.2.53","src_port":53,"dst_ip":"10.0.0.5","dst_port":53124,"proto":"udp","vlan":[100]},"packet":{"frame":3,"length":120,"caplen":120,"link":"ethernet","ip_version":4,"ttl":64},"dns":{"id":4242,"qr":true,"rcode":"NOERROR","flags":["rd","ra"],"questions":[{"name":"www.evil.example","type":"A"},{"name":"x","type":"AAAA"}],"answers":[{"name":"www.evil.example","type":"CNAME","ttl":60,"data":"cdn.evil.example"},{"name":"cdn.evil.example","type":"A","ttl":60,"data":"203.0.113.7"},{"name":"cdn.evil.example","type":"AAAA","ttl":60,"data":"2001:db8::7"},{"name":"cdn.evil.example","type":"TXT","ttl":60,"data":"\"v=1\""}]}}"#;

const SYSLOG: &str = r#"{"id":"s1:0000000000000001","ts":"2026-11-29T05:00:01Z","sensor":"s1","kind":"rule","input":"syslog","match":{"where":"syslog.message","value":"Failed password for \"root\" from 203.0.113.9"},"rule":{"chain":"re","name":"ssh-fail"},"syslog":{"host":"10.0.0.9","facility":4,"severity":6,"version":0,"message":"Failed password for \"root\" from 203.0.113.9"}}"#;

#[test]
fn packet_line() {
    let p = parse_event(PACKET.as_bytes()).unwrap();
    let e = p.event();
    assert_eq!((e.id, e.sensor, e.kind, e.input), ("edge-1:6889a384ad400002", "edge-1", "intel", "packet"));
    assert_eq!(e.ts_ns, 954_147_395_148_077_123);
    assert_eq!((e.location, e.value), ("ip.dst", "10.1.1.10"));
    assert_eq!(
        e.indicator,
        Some(IndicatorIn { id: "7", r#type: "ip", value: "10.1.1.10", threat_type: "c2", feed: "feed.csv" })
    );
    assert_eq!((e.src_ip, e.dst_ip), (Some(ip("10.1.1.11")), Some(ip("10.1.1.10"))));
    assert_eq!((e.src_port, e.dst_port, e.proto), (Some(3025), Some(1723), Some("tcp")));
    assert!(e.answer_addrs.is_empty() && e.dns_query.is_none() && e.rule.is_none());
    assert_eq!(e.host(), Some(ip("10.1.1.11")));
}

#[test]
fn dns_line() {
    let p = parse_event(DNS.as_bytes()).unwrap();
    let e = p.event();
    assert_eq!(e.answer_addrs, [ip("203.0.113.7"), ip("2001:db8::7")]);
    assert_eq!((e.dns_query, e.dns_qr), (Some("www.evil.example"), Some(true)));
    assert_eq!(e.indicator.unwrap().threat_type, "c2");
    // A response: the host is the client.
    assert_eq!(e.host(), Some(ip("10.0.0.5")));
}

#[test]
fn syslog_rule_line_with_escapes() {
    let p = parse_event(SYSLOG.as_bytes()).unwrap();
    let e = p.event();
    assert_eq!(e.rule, Some(("re", "ssh-fail")));
    assert_eq!(e.value, "Failed password for \"root\" from 203.0.113.9");
    assert_eq!(e.syslog_host, Some(ip("10.0.0.9")));
    assert_eq!(e.host(), Some(ip("10.0.0.9")));
    assert!(e.indicator.is_none() && e.src_ip.is_none());
}

#[test]
fn bad_lines() {
    assert!(parse_event(b"{").is_err());
    assert!(parse_event(PACKET.replace("2000-03-27T08:56:35.148077123Z", "yesterday").as_bytes()).is_err());
    assert!(parse_event(PACKET.replace(r#""sensor":"edge-1","#, "").as_bytes()).is_err());
}

/// Summary and incident events carry the schema's required fields. For the
/// full schema check, run with `SDN_ANALYTICS_DUMP=FILE` and validate the
/// event lines of FILE against schema/event.schema.json.
#[test]
fn encoded_events() {
    let cfg = Config {
        throttle_first: 1,
        correlations: vec![CorrelationRule::DnsThenConnect { name: "dns-connect".into(), within_s: 60 }],
        ..Config::default()
    };
    let mut e = Engine::new(cfg);
    let mut out = Vec::new();
    let lines = [DNS, DNS, SYSLOG, SYSLOG, PACKET];
    for l in lines {
        let p = parse_event(l.as_bytes()).unwrap();
        let mut ev = p.event();
        ev.ts_ns = ev.ts_ns.max(T0);
        e.push(&ev, &mut out);
    }
    e.push(&pkt("conn", 5000, "10.0.0.5", "203.0.113.7", ind("9", "ip", "203.0.113.7")), &mut out);
    e.finish(&mut out);
    let mut buf = Vec::new();
    for o in &out {
        encode(o, "analytics-1", &mut buf);
    }
    if let Ok(path) = std::env::var("SDN_ANALYTICS_DUMP") {
        std::fs::write(path, &buf).unwrap();
    }
    let mut kinds = Vec::new();
    for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        if let Some(kind) = v.get("kind") {
            for f in ["id", "ts", "sensor", "kind", "input", "match"] {
                assert!(v.get(f).is_some(), "{f} in {v}");
            }
            assert!(parse_rfc3339_ns(v["ts"].as_str().unwrap()).is_some());
            let k = kind.as_str().unwrap();
            assert!(v.get(k).is_some(), "{k} object in {v}");
            kinds.push(k.to_string());
            // Our own events parse back.
            let p = parse_event(line).unwrap();
            assert_eq!(p.event().kind, k);
        } else {
            assert!(v["report"].is_string(), "{v}");
        }
    }
    kinds.sort();
    assert_eq!(kinds, ["incident", "summary", "summary"]);
    let s = summaries(&out);
    let line = {
        let mut b = Vec::new();
        encode(&Output::Summary(Box::new(s[0].clone())), "a", &mut b);
        String::from_utf8(b).unwrap()
    };
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["summary"]["suppressed"], 1);
    assert_eq!(v["summary"]["key"], "10.0.0.5|feeds/c2.csv:42|dns.answer.name");
    assert_eq!(v["indicator"]["value"], "evil.example");
    assert_eq!(v["flow"]["src_port"], 53);
    assert_eq!(v["match"]["where"], "dns.answer.name");
    let inc = incidents(&out);
    assert_eq!(inc[0].events, ["edge-1:000000000001f3a9", "conn"]);
}

fn same(line: &str) {
    let a = parse_event(line.as_bytes()).map(|p| format!("{:?}", p.event()));
    let b = parse_event_serde(line.as_bytes()).map(|p| format!("{:?}", p.event()));
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{line}"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("fast {a:?} serde {b:?}: {line}"),
    }
}

/// The fast path reads the same as serde_json, or defers to it.
#[test]
fn fast_path_matches_serde() {
    for l in [PACKET, DNS, SYSLOG] {
        same(l);
        // Whitespace between tokens.
        same(&l.replace(",\"", ", \"").replace(":", ": "));
    }
    for l in analytics::bench::stream(3000) {
        same(&l);
    }
    // Escapes in skipped values, and in read ones (serde decodes those).
    same(&PACKET.replace(r#""capture":"t.pcap""#, r#""capture":"t\"{[.pcap""#));
    same(&PACKET.replace(r#""value":"10.1.1.10"}"#, r#""value":"10.1.1.\u0031\u0030"}"#));
    // Reordered keys, unknown fields, nulls.
    same(
        &PACKET
            .replace(r#"{"id":"edge-1:6889a384ad400002","ts""#, r#"{"x":[1,{"y":null}],"ts""#)
            .replace(r#""sensor""#, r#""id":"i","sensor""#),
    );
    same(&PACKET.replace(r#""threat_type":"c2""#, r#""threat_type":null"#));
    // Broken lines fail on both paths.
    same(&PACKET[..PACKET.len() - 1]);
    same(&format!("{PACKET}x"));
    same(&PACKET.replace(r#""src_port":3025"#, r#""src_port":70000"#));
    same(&DNS.replace(r#""qr":true"#, r#""qr":1"#));
    same("");
    same("{}");
}

/// Every one-byte mutation and truncation: no panic, and whenever both
/// paths accept a line they read the same event.
#[test]
fn mutations_never_panic() {
    for l in [PACKET, DNS, SYSLOG] {
        let b = l.as_bytes();
        for i in 0..b.len() {
            let _ = parse_event(&b[..i]);
            for c in [b'"', b'\\', b'{', b']', b',', b'0', b'x', 0xff] {
                let mut m = b.to_vec();
                m[i] = c;
                let a = parse_event(&m).map(|p| format!("{:?}", p.event()));
                let s = parse_event_serde(&m).map(|p| format!("{:?}", p.event()));
                if let (Ok(a), Ok(s)) = (a, s) {
                    assert_eq!(a, s, "{}", String::from_utf8_lossy(&m));
                }
            }
        }
    }
}

/// The inputs a derived event may name are the schema's: `output::INPUTS`
/// is a copy of its `input` enum (the engine reads JSON and does not link
/// the sensor's event crate), checked here.
#[test]
fn derived_inputs_are_the_schemas() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/event.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let inputs: Vec<&str> =
        schema["properties"]["input"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(inputs, output::INPUTS);
    assert_eq!(output::schema_input("netflow"), "netflow");
    assert_eq!(output::schema_input("carrier-pigeon"), "intel");
}
