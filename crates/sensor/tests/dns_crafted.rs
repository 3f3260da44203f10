//! crafted/dns_cases.pcap decodes exactly as crafted/dns_cases.expected.json
//! says, and its malformed messages are counted per reason.

use sensor::app::{AppConfig, AppItem, AppLayer};
use sensor::capture::read_capture;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use wire::dns::{DnsError, Entry, NameText, RData, Section};

fn testdata() -> &'static Path {
    Path::new(env!("SDN_TESTDATA"))
}

/// What one frame's DNS message(s) held.
#[derive(Debug, Default)]
struct Seen {
    messages: usize,
    qname: Option<String>,
    qtype: Option<u16>,
    response: Option<bool>,
    cnames: Vec<String>,
    a: Vec<String>,
    aaaa: Vec<String>,
    edns_udp_size: Option<u16>,
    ecs: Option<String>,
    error: Option<DnsError>,
    vlan: Vec<u16>,
}

#[test]
fn crafted_cases_decode_as_expected() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(testdata().join("crafted/dns_cases.expected.json")).unwrap())
            .unwrap();
    let mut app = AppLayer::new(AppConfig::default());
    let mut frames: BTreeMap<u64, Seen> = BTreeMap::new();
    let mut errors: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (_, r) = read_capture(
        &testdata().join("crafted/dns_cases.pcap"),
        |p| {
            let d = wire::decode(p.link, p.data);
            let seen = frames.entry(p.frame).or_default();
            seen.vlan = d.vlans().to_vec();
            app.inspect(&d, 0, &mut |item, _| {
                let AppItem::Dns(m) = item else { return };
                seen.messages += 1;
                seen.response = Some(m.qr());
                let mut t = NameText::new();
                for e in m.entries() {
                    match e {
                        Ok(Entry::Question(q)) => {
                            q.name.write_text(&mut t);
                            seen.qname = Some(t.as_str().to_string());
                            seen.qtype = Some(q.qtype);
                        }
                        Ok(Entry::Record(r)) => match r.data() {
                            Ok(RData::Name(n)) if r.section == Section::Answer => {
                                n.write_text(&mut t);
                                seen.cnames.push(t.as_str().to_string());
                            }
                            Ok(RData::A(a)) if r.section == Section::Answer => seen.a.push(a.to_string()),
                            Ok(RData::Aaaa(a)) if r.section == Section::Answer => seen.aaaa.push(a.to_string()),
                            Ok(RData::Opt(o)) => {
                                seen.edns_udp_size = Some(o.udp_size());
                                seen.ecs = o
                                    .client_subnet()
                                    .and_then(|c| c.address.map(|a| format!("{a}/{}", c.source_prefix)));
                            }
                            Ok(_) => {}
                            Err(e) => seen.error = Some(e),
                        },
                        Err(e) => seen.error = Some(e),
                    }
                }
            });
            for e in app.take_errors() {
                *errors.entry(e).or_default() += 1;
            }
        },
        |_| {},
    );
    r.unwrap();

    for case in expected.as_array().unwrap() {
        let name = case["case"].as_str().unwrap();
        let frame = case["frame"].as_u64().unwrap();
        let seen = &frames[&frame];
        let ctx = format!("{name} (frame {frame}): {seen:?}");
        match case["malformed"].as_bool() {
            Some(true) => {
                assert_eq!(seen.messages, 1, "{ctx}");
                assert!(seen.error.is_some(), "{ctx}");
                continue;
            }
            // The forward pointer: we follow it (see docs/DECISIONS.md).
            _ if case["malformed"] == "implementation-defined" => {
                assert_eq!((seen.messages, seen.error), (1, None), "{ctx}");
                continue;
            }
            _ => {}
        }
        match case["qname"].as_str() {
            Some(q) => {
                assert_eq!(seen.messages, 1, "{ctx}");
                assert_eq!(seen.qname.as_deref(), Some(q), "{ctx}");
                assert_eq!(seen.error, None, "{ctx}");
            }
            // Handshake segments and the first fragment carry no message.
            None => assert_eq!(seen.messages, 0, "{ctx}"),
        }
        if let Some(t) = case["qtype"].as_str() {
            assert_eq!(seen.qtype.and_then(wire::dns::type_name), Some(t), "{ctx}");
        }
        if let Some(r) = case["response"].as_bool() {
            assert_eq!(seen.response, Some(r), "{ctx}");
        }
        if let Some(c) = case["cname"].as_str() {
            assert_eq!(seen.cnames, [c], "{ctx}");
        }
        for (key, got) in [("a", &seen.a), ("aaaa", &seen.aaaa)] {
            if let Some(list) = case[key].as_array() {
                let want: Vec<&str> = list.iter().map(|v| v.as_str().unwrap()).collect();
                assert_eq!(got, &want, "{ctx}");
            }
        }
        if let Some(n) = case["a_count"].as_u64() {
            assert_eq!(seen.a.len() as u64, n, "{ctx}");
        }
        if let Some(v) = case["vlan"].as_array() {
            let want: Vec<u16> = v.iter().map(|x| x.as_u64().unwrap() as u16).collect();
            assert_eq!(seen.vlan, want, "{ctx}");
        }
        if let Some(n) = case["edns_udp_size"].as_u64() {
            assert_eq!(seen.edns_udp_size, Some(n as u16), "{ctx}");
        }
        if let Some(e) = case["ecs"].as_str() {
            assert_eq!(seen.ecs.as_deref(), Some(e), "{ctx}");
        }
    }
    // Each malformed frame under its own reason (frame 8: loop, 10: short
    // header, 11: label of 64, 12: name over 255 octets).
    let want: BTreeMap<&str, DnsError> = [
        ("pointer_loop", DnsError::PointerLoop),
        ("truncated_header", DnsError::TruncatedHeader),
        ("label_over_63", DnsError::BadLabel),
        ("name_over_255", DnsError::NameTooLong),
    ]
    .into_iter()
    .collect();
    for case in expected.as_array().unwrap() {
        if let Some(e) = want.get(case["case"].as_str().unwrap()) {
            assert_eq!(frames[&case["frame"].as_u64().unwrap()].error, Some(*e), "{case}");
        }
    }
    // The application layer counts nothing itself for a message that
    // exists (the matcher counts its walk errors); a frame that is no
    // message would be counted here.
    assert!(errors.is_empty(), "{errors:?}");
}
