//! `config import`: the original sdn_sensor's JSON configuration converted
//! to TOML that `Config::parse` accepts, with the values intact.

use sensor::config::{Config, IocTypeName, MatchMode, NanomsgPattern, ReType, SinkType};
use sensor::config_import::{Imported, import, strip_json_comments};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/original/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn convert(name: &str) -> (Imported, Config) {
    let imported = import(name, &fixture(name)).unwrap_or_else(|e| panic!("{e}"));
    let config = Config::parse("imported.toml", &imported.toml)
        .unwrap_or_else(|e| panic!("{e}\n--- the TOML:\n{}", imported.toml));
    (imported, config)
}

fn has_note(imported: &Imported, parts: &[&str]) -> bool {
    imported.notes.iter().any(|n| parts.iter().all(|p| n.contains(p)))
}

#[track_caller]
fn assert_note(imported: &Imported, parts: &[&str]) {
    assert!(has_note(imported, parts), "no note with {parts:?} among:\n{}", imported.notes.join("\n"));
    // Every note is also in the TOML, as a comment.
    for n in &imported.notes {
        assert!(imported.toml.contains(&format!("# note: {n}")), "note missing from the TOML: {n}");
    }
}

fn sinks(c: &Config) -> Vec<(SinkType, Option<NanomsgPattern>, Option<String>)> {
    c.sink.iter().map(|s| (s.kind, s.pattern, s.url.clone())).collect()
}

#[test]
fn the_original_configuration_converts() {
    let (imp, c) = convert("sdn_sensor.json");
    assert!(imp.toml.starts_with("# Converted from sdn_sensor.json by sdn-sensor config import."), "{}", imp.toml);

    let pcap: Vec<(&str, &str)> = c.pcap_chain.iter().map(|p| (p.name.as_str(), p.filter.as_str())).collect();
    assert_eq!(
        pcap,
        [
            (
                "http_get_request",
                "(port 80 or port 443) and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420 or tcp[((tcp[12:1] & 0xf0) >> 2)+8:4] = 0x20323030)"
            ),
            ("udp_packet", "udp port 31337"),
        ]
    );

    assert_eq!(c.intel.feed.len(), 1);
    assert_eq!(c.intel.feed[0].path, std::path::Path::new("/var/lib/sdn_sensor/output.csv"));

    let re = &c.re_chain;
    assert_eq!(re.len(), 3);
    assert_eq!(
        (re[0].name.as_str(), re[0].regex.as_str()),
        ("extract_ip_addresses", r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
    );
    assert_eq!(
        (re[0].kind, re[0].ioc_type, re[0].nocase, re[0].inverted),
        (ReType::Substring, Some(IocTypeName::Ip), true, false)
    );
    assert_eq!(re[1].regex, r"(?:(?:[\dA-Za-z.-]+)\.){1,}(?:[A-Za-z.]{2,6})\.?");
    assert_eq!(re[1].ioc_type, Some(IocTypeName::Domain));
    assert_eq!((re[2].name.as_str(), re[2].regex.as_str()), ("root_login", "session opened for user root"));
    assert_eq!((re[2].kind, re[2].ioc_type, re[2].nocase), (ReType::Complete, None, false));
    assert!(c.syslog.first_match, "the original stopped at the first rule");

    let cidr: Vec<(&str, &str)> = c.cidr_chain.iter().map(|e| (e.name.as_str(), e.cidr.as_str())).collect();
    assert_eq!(cidr, [("guest_network", "10.20.0.0/16")]);

    let dns: Vec<_> =
        c.dns_chain.iter().map(|e| (e.name.as_str(), e.dns.as_deref(), e.ip.as_deref(), e.mode)).collect();
    assert_eq!(
        dns,
        [
            ("dns_rule", Some("daisy.ubuntu.com"), None, Some(MatchMode::Substring)),
            ("sinkhole", None, Some("198.51.100.0/24"), None),
        ]
    );

    assert_eq!(c.syslog.sources, ["192.168.2.0/24", "10.1.1.5"]);
    assert_eq!(c.sflow.sources, ["192.168.2.254"]);
    assert_eq!(c.ipfix.sources, ["192.168.2.253", "2001:db8:322e:5ae8::fe"]);
    assert!(c.netflow.sources.is_empty());

    let push = Some(NanomsgPattern::Push);
    let url = |p: u16| Some(format!("tcp://127.0.0.1:{p}"));
    assert_eq!(
        sinks(&c),
        [
            (SinkType::Jsonl, None, None),
            (SinkType::Nanomsg, push, url(10001)),
            (SinkType::Nanomsg, push, url(10002)),
            (SinkType::Nanomsg, push, url(10003)),
            (SinkType::Nanomsg, push, url(10004)),
            (SinkType::Nanomsg, push, url(10005)),
        ]
    );
    assert_eq!(c.sink[0].path.as_deref(), Some(std::path::Path::new("events.jsonl")));
    assert!(c.capture.is_empty(), "the interface is unknown: [[capture]] stays commented out");

    for parts in [
        &["network.mtu", "not applicable"][..],
        &["network.ipv4_address", "192.168.2.7/24", "not applicable"],
        &["network.ipv4_gateway", "not applicable"],
        &["network.ipv6_address", "not applicable"],
        &["network.ipv6_gateway", "not applicable"],
        &["dpdk.eal_options", "not applicable"],
        &["dpdk.port_mask", "not applicable"],
        &["dpdk.timer_msec", "not applicable"],
        &["dpdk.log_level", "not applicable"],
        &["PCI 01:00.1", "interface"],
        &["routing per chain is not kept"],
        &["match = \"substring\""],
        &["backend", "UTF-8"],
        &["first_match"],
        &["queue_count = 2", "workers = 2"],
        &["promiscuous = true"],
    ] {
        assert_note(&imp, parts);
    }
    assert!(!has_note(&imp, &["raw_sources"]), "an empty raw_sources needs no note");
}

#[test]
fn the_commented_capture_is_valid_once_uncommented() {
    let (imp, _) = convert("sdn_sensor.json");
    let mut text = String::new();
    let mut in_capture = false;
    for line in imp.toml.lines() {
        if line == "# [[capture]]" {
            in_capture = true;
        } else if !line.starts_with("# ") || line.starts_with("# note:") {
            in_capture = false;
        }
        text.push_str(if in_capture { &line[2..] } else { line });
        text.push('\n');
    }
    let c = Config::parse("uncommented.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c.capture.len(), 1);
    let cap = &c.capture[0];
    assert_eq!((cap.interface.as_str(), cap.promiscuous, cap.workers), ("eth0", true, 2));
}

#[test]
fn edge_cases_convert() {
    let (imp, c) = convert("edge_cases.json");

    // Comment markers inside strings are text.
    let pcap: Vec<(&str, &str)> = c.pcap_chain.iter().map(|p| (p.name.as_str(), p.filter.as_str())).collect();
    assert_eq!(pcap, [("dns // not a comment /* nor this */", "udp port 53"), ("pcap_chain[2]", "icmp")]);
    assert_note(&imp, &["pcap_chain[1]", "empty filter", "skipped"]);
    assert_note(&imp, &["pcap_chain[2]", "no name"]);

    assert_eq!(c.intel.feed[0].path, std::path::Path::new("feeds/local.csv"));
    assert_note(&imp, &["feeds/local.csv", "relative"]);

    let re: Vec<_> = c
        .re_chain
        .iter()
        .map(|r| (r.name.as_str(), r.regex.as_str(), r.kind, r.ioc_type, r.nocase, r.inverted))
        .collect();
    assert_eq!(
        re,
        [
            ("quoted \"word\"", "user '([^']+)' failed", ReType::Complete, None, true, false),
            ("hashes", r"\b[0-9a-f]{32}\b", ReType::Substring, Some(IocTypeName::Hash), true, false),
            ("sha", "sha256=([0-9a-f]{64})", ReType::Substring, Some(IocTypeName::Hash), true, false),
            ("not_root", "user=root\\t\u{e9}", ReType::Complete, None, true, true),
        ]
    );
    assert_note(&imp, &["re_chain[0]", "empty re", "skipped"]);
    assert_note(&imp, &["quoted", "utf8 = false"]);
    assert_note(&imp, &["hashes", "\"md5\"", "\"hash\""]);
    assert_note(&imp, &["hashes", "inverted", "dropped"]);
    assert_note(&imp, &["sha", "capture group"]);
    assert_note(&imp, &["lookahead", "lookaround", "commented out"]);
    assert!(imp.toml.contains("# regex = 'foo(?=bar)'"), "{}", imp.toml);

    let cidr: Vec<(&str, &str)> = c.cidr_chain.iter().map(|e| (e.name.as_str(), e.cidr.as_str())).collect();
    assert_eq!(cidr, [("rfc_1918_10.0.0.0/8", "10.0.0.0/8")]);
    assert_note(&imp, &["not-a-cidr", "not an address or prefix"]);
    assert_note(&imp, &["cidr_table", "never matched", "active"]);
    assert_note(&imp, &["\"empty\"", "empty cidr", "skipped"]);
    assert_note(&imp, &["cidr_rule", "empty cidr", "skipped"]);

    let dns: Vec<_> =
        c.dns_chain.iter().map(|e| (e.name.as_str(), e.dns.as_deref(), e.ip.as_deref(), e.mode)).collect();
    assert_eq!(
        dns,
        [("both", Some("evil.example"), None, Some(MatchMode::Substring)), ("both", None, Some("203.0.113.9"), None)]
    );
    assert_note(&imp, &["both", "two rules"]);
    assert_note(&imp, &["neither", "skipped"]);

    assert_eq!(c.syslog.sources, ["192.0.2.0/24"]);
    assert_note(&imp, &["\"bogus\"", "dropped"]);
    assert_eq!(c.netflow.sources, ["203.0.113.0/24"]);
    assert_note(&imp, &["raw_sources", "198.51.100.0/24", "no equivalent"]);

    assert_eq!(
        sinks(&c),
        [
            (SinkType::Jsonl, None, None),
            (SinkType::Nanomsg, Some(NanomsgPattern::Pub), Some("ipc:///tmp/pcap.ipc".into())),
            (SinkType::Nanomsg, Some(NanomsgPattern::Push), Some("tcp://127.0.0.1:10001".into())),
            (SinkType::Nanomsg, Some(NanomsgPattern::Push), Some("tcp://127.0.0.1:10003".into())),
        ]
    );
    assert_note(&imp, &["\"PAIR\"", "not converted"]);
    assert_note(&imp, &["tcp://[127.0.0.1]:10001", "brackets"]);
    assert_note(&imp, &["\"stats_interval\"", "ignored"]);
    assert_note(&imp, &["dpdk.rxd_count", "not applicable"]);
    assert_note(&imp, &["queue_count = 0", "ignored"]);
    assert_note(&imp, &["PCI 0000:03:00.0"]);
    assert_note(&imp, &["json_object", "metadata", "nm_format"]);
}

#[test]
fn strings_are_escaped_for_toml() {
    let json = r#"{ "re_chain": [ { "name": "it's \"quoted\"", "re": "a'b\\d\"c", "type": "complete" } ] }"#;
    let imp = import("q.json", json).unwrap();
    let c = Config::parse("q.toml", &imp.toml).unwrap_or_else(|e| panic!("{e}\n{}", imp.toml));
    assert_eq!(c.re_chain[0].name, "it's \"quoted\"");
    assert_eq!(c.re_chain[0].regex, "a'b\\d\"c");
}

#[test]
fn comments_keep_positions() {
    let text = "{ // a \"quote\" in a comment\n  \"a\": \"x // y\", /* two\nlines */ \"b\": [1, 2,],\n}\n";
    let clean = strip_json_comments("t.json", text).unwrap();
    assert_eq!(clean.len(), text.len());
    assert_eq!(clean.matches('\n').count(), text.matches('\n').count());
    assert_eq!(clean, "{                          \n  \"a\": \"x // y\",       \n         \"b\": [1, 2 ] \n}\n");
    let e = strip_json_comments("t.json", "{\n  /* open\n").unwrap_err().to_string();
    assert!(e.starts_with("t.json:2:3: this /* comment is never closed"), "{e}");
}

#[test]
fn malformed_json_says_where() {
    let err = |text: &str| import("old.json", text).unwrap_err().to_string();
    // A missing comma: reported where the next member starts.
    let e = err("{\n  // comment with \"quote\"\n  \"pcap_chain\": []\n  \"dns_chain\": []\n}\n");
    assert!(e.starts_with("old.json:4:3: expected `,` or `}`"), "{e}");
    assert!(e.contains("comma"), "{e}");
    // An unterminated string.
    let e = err("{\n\n  \"a\": \"oops,\n}\n");
    assert!(e.starts_with("old.json:3:8:") && e.contains("not closed"), "{e}");
    // An unclosed object.
    let e = err("{\n  \"a\": [1, 2]\n");
    assert!(e.starts_with("old.json:1:1:") && e.contains("never closed"), "{e}");
    // Single quotes.
    let e = err("{\n  \"a\": 'x'\n}");
    assert!(e.starts_with("old.json:2:8:") && e.contains("double quotes"), "{e}");
    // A single backslash in a regex.
    let e = err("{\n  \"re_chain\": [ { \"re\": \"\\d+\" } ]\n}");
    assert!(e.starts_with("old.json:2:26:") && e.contains("\\\\"), "{e}");
    // Columns count characters.
    let e = err("{ \"é\": x }");
    assert!(e.starts_with("old.json:1:8:"), "{e}");
}

#[test]
fn wrong_types_name_the_key_and_line() {
    let err = |text: &str| import("old.json", text).unwrap_err().to_string();
    let e = err("{\n  \"pcap_chain\": { \"name\": \"x\" }\n}");
    assert!(e.starts_with("old.json:2:17: pcap_chain must be an array, not an object"), "{e}");
    let e = err("{\n  \"re_chain\": [\n    { \"name\": \"a\", \"re\": \"x\", \"nocase\": \"yes\" }\n  ]\n}");
    assert!(e.starts_with("old.json:3:41: re_chain[0].nocase must be true or false, not a string"), "{e}");
    let e = err("{ \"dns_chain\": [ \"evil.example\" ] }");
    assert!(e.starts_with("old.json:1:18: dns_chain[0] must be an object"), "{e}");
    let e = err("{ \"sflow_sources\": \"192.0.2.1\" }");
    assert!(e.contains("sflow_sources must be an object or an array"), "{e}");
    let e = err("{ \"dpdk\": { \"queue_count\": \"2\" } }");
    assert!(e.contains("dpdk.queue_count must be a number"), "{e}");
    let e = err("[]");
    assert!(e.starts_with("old.json:1:1: the configuration must be an object"), "{e}");
}

#[test]
fn an_empty_configuration_still_converts() {
    let imp = import("empty.json", "{}").unwrap();
    let c = Config::parse("empty.toml", &imp.toml).unwrap_or_else(|e| panic!("{e}\n{}", imp.toml));
    assert_eq!(sinks(&c), [(SinkType::Jsonl, None, None)]);
    assert!(c.re_chain.is_empty() && !c.syslog.first_match);
}

#[test]
fn print_the_conversions() {
    // `cargo test --test config_import print -- --nocapture` shows them.
    for f in ["sdn_sensor.json", "edge_cases.json"] {
        println!("==== {f}\n{}", convert(f).0.toml);
    }
}

#[test]
fn truncated_files_give_errors_not_panics() {
    for name in ["sdn_sensor.json", "edge_cases.json"] {
        let text = fixture(name);
        for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            match import(name, &text[..end]) {
                Ok(imp) => {
                    Config::parse("t.toml", &imp.toml).unwrap_or_else(|e| panic!("{e}\n{}", imp.toml));
                }
                Err(e) => assert!(e.to_string().starts_with(&format!("{name}:")), "{e}"),
            }
        }
    }
}

#[test]
fn values_with_line_breaks_stay_on_their_lines() {
    let json = "{ \"pcap_chain\": [ { \"name\": \"a\\nb\", \"filter\": \"tcp\\r\\n\" } ], \"x\\ny\": 1 }";
    let imp = import("n.json", json).unwrap();
    let c = Config::parse("n.toml", &imp.toml).unwrap_or_else(|e| panic!("{e}\n{}", imp.toml));
    assert_eq!((c.pcap_chain[0].name.as_str(), c.pcap_chain[0].filter.as_str()), ("a\nb", "tcp\r\n"));
    assert_note(&imp, &["\"x\\ny\"", "ignored"]);
}
