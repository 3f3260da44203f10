//! Every DNS message of every capture with a tshark oracle file decodes as
//! tshark decoded it (oracle/dns/*.tshark.jsonl; quirks per
//! oracle/README.md), and the message counts equal MANIFEST.tsv.

use sensor::app::{AppConfig, AppItem, AppLayer};
use sensor::capture::read_capture;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wire::dns::{self, Entry, Message, NameText, RData, Section};

fn testdata() -> &'static Path {
    Path::new(env!("SDN_TESTDATA"))
}

/// One decoded message in the oracle's terms.
#[derive(Debug)]
struct Decoded {
    frame: u64,
    value: Value,
    /// Not counted when the walk ended at the end of a frame cut by the
    /// capture's snaplen: tshark shows what was there and does not call
    /// that malformed.
    malformed: bool,
}

fn name_text(n: &dns::Name<'_>) -> String {
    let mut t = NameText::new();
    n.write_text(&mut t);
    t.as_str().to_string()
}

fn mnemonic(v: Option<&str>, prefix: &str, n: u16) -> String {
    v.map_or_else(|| format!("{prefix}{n}"), str::to_string)
}

fn data(r: &dns::Record<'_>) -> Result<Value, dns::DnsError> {
    Ok(match r.data()? {
        RData::A(a) => json!(a.to_string()),
        RData::Aaaa(a) => json!(a.to_string()),
        RData::Name(n) => json!(name_text(&n)),
        RData::Mx { preference, exchange } => json!(format!("{preference} {}", name_text(&exchange))),
        RData::Soa { mname, rname, serial, refresh, retry, expire, minimum } => {
            json!(format!("{} {} {serial} {refresh} {retry} {expire} {minimum}", name_text(&mname), name_text(&rname)))
        }
        RData::Srv { priority, weight, port, target } => {
            json!(format!("{priority} {weight} {port} {}", name_text(&target)))
        }
        RData::Txt(t) => json!(t.strings().map(|s| String::from_utf8_lossy(s).into_owned()).collect::<Vec<_>>()),
        _ => Value::Null,
    })
}

fn decode(m: &Message<'_>, frame: u64, snaplen_cut: bool) -> Decoded {
    let mut sections: [Vec<Value>; 4] = Default::default();
    let mut malformed = false;
    for e in m.entries() {
        match e {
            Ok(Entry::Question(q)) => sections[0].push(json!({
                "name": name_text(&q.name),
                "type": mnemonic(dns::type_name(q.qtype), "TYPE", q.qtype),
            })),
            Ok(Entry::Record(r)) => {
                let i = match r.section {
                    Section::Answer => 1,
                    Section::Authority => 2,
                    _ => 3,
                };
                let d = match data(&r) {
                    Ok(d) => d,
                    Err(_) => {
                        malformed = true;
                        Value::Null
                    }
                };
                sections[i].push(json!({
                    "name": name_text(&r.name),
                    "type": mnemonic(dns::type_name(r.rtype), "TYPE", r.rtype),
                    "ttl": if r.rtype == dns::rtype::OPT { Value::Null } else { json!(r.ttl) },
                    "data": d,
                }));
            }
            Err(e) => {
                malformed = !(snaplen_cut && e == dns::DnsError::Truncated);
                break;
            }
        }
    }
    let [q, a, ns, ar] = sections;
    Decoded {
        frame,
        malformed,
        value: json!({
            "id": m.id(), "qr": u8::from(m.qr()), "opcode": m.opcode(), "rcode": m.rcode(),
            "questions": q, "answers": a, "authorities": ns, "additionals": ar,
        }),
    }
}

/// Ports that tshark was told to decode as DNS (`-d udp.port==N,dns`).
fn decode_as_ports(header: &Value) -> Vec<u16> {
    let mut ports = AppConfig::default().dns_ports;
    for a in header["tshark_args"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if let Some(p) = a.split_once("port==").and_then(|(_, r)| r.strip_suffix(",dns")) {
            ports.extend(p.parse::<u16>());
        }
    }
    ports
}

fn messages(capture: &Path, ports: Vec<u16>) -> (Vec<Decoded>, BTreeMap<&'static str, u64>) {
    let mut app = AppLayer::new(AppConfig { dns_ports: ports, ..AppConfig::default() });
    let mut out = Vec::new();
    let mut errors = BTreeMap::new();
    let (_, r) = read_capture(
        capture,
        |p| {
            let d = wire::decode(p.link, p.data);
            let now = (p.ts_sec.max(0) as u64) * 1_000_000_000 + u64::from(p.ts_nsec);
            app.inspect(&d, now, &mut |item, _| {
                if let AppItem::Dns(m) = item {
                    out.push(decode(&m, p.frame, p.data.len() < p.orig_len as usize));
                }
            });
            for e in app.take_errors() {
                *errors.entry(e).or_default() += 1;
            }
        },
        |_| {},
    );
    r.unwrap();
    (out, errors)
}

/// Compares one list (questions or records) entry by entry.
fn same_list(ours: &Value, theirs: &Value, fields: &[&str]) -> Result<(), String> {
    let (o, t) = (ours.as_array().unwrap(), theirs.as_array().unwrap());
    if o.len() != t.len() {
        return Err(format!("{} entries, oracle {}", o.len(), t.len()));
    }
    for (a, b) in o.iter().zip(t) {
        for f in fields {
            // tshark has no data for types it shows as raw fields.
            if *f == "data" && b[f].is_null() {
                continue;
            }
            if a[f] != b[f] {
                return Err(format!("{f}: {} vs oracle {}", a[f], b[f]));
            }
        }
    }
    Ok(())
}

fn compare(ours: &Decoded, theirs: &Value, expect_malformed: bool) -> Result<(), String> {
    for f in ["id", "qr", "opcode", "rcode"] {
        if ours.value[f] != theirs[f] {
            return Err(format!("{f}: {} vs oracle {}", ours.value[f], theirs[f]));
        }
    }
    if expect_malformed {
        return if ours.malformed { Ok(()) } else { Err("decoded cleanly, oracle says malformed".into()) };
    }
    if ours.malformed {
        return Err(format!("malformed here, not in the oracle: {}", ours.value));
    }
    same_list(&ours.value["questions"], &theirs["questions"], &["name", "type"])
        .map_err(|e| format!("questions: {e}"))?;
    for s in ["answers", "authorities", "additionals"] {
        same_list(&ours.value[s], &theirs[s], &["name", "type", "ttl", "data"]).map_err(|e| format!("{s}: {e}"))?;
    }
    Ok(())
}

/// What the oracle itself marks undecodable: tshark's placeholders and
/// malformed flag, plus frames that crafted/dns_cases.expected.json
/// declares malformed where tshark did not.
fn oracle_malformed(rec: &Value, crafted_malformed: &[u64]) -> bool {
    let placeholder = |v: &Value| v.as_str().is_some_and(|s| s.starts_with('<') && s.ends_with('>'));
    rec["malformed"] == json!(true)
        || crafted_malformed.contains(&rec["frame"].as_u64().unwrap_or(0))
        || ["questions", "answers", "authorities", "additionals"].iter().any(|s| {
            rec[s].as_array().into_iter().flatten().any(|e| placeholder(&e["name"]) || placeholder(&e["data"]))
        })
}

fn manifest_dns_counts() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(testdata().join("MANIFEST.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n = f.get(6)?.split("dns_messages=").nth(1)?.split(' ').next()?.parse().ok()?;
            Some((f[0].to_string(), n))
        })
        .collect()
}

#[test]
fn dns_messages_agree_with_tshark() {
    let dir = testdata().join("oracle/dns");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let counts = manifest_dns_counts();
    let crafted: Value =
        serde_json::from_str(&std::fs::read_to_string(testdata().join("crafted/dns_cases.expected.json")).unwrap())
            .unwrap();
    let crafted_malformed: Vec<u64> = crafted
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["malformed"] == json!(true))
        .map(|c| c["frame"].as_u64().unwrap())
        .collect();
    let mut failures = Vec::new();
    let mut total = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut lines = text.lines();
        let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        let input = header["input"].as_str().unwrap();
        let oracle: Vec<Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
        let (ours, _) = messages(&testdata().join(input), decode_as_ports(&header));
        total += ours.len();
        let expected = counts.get(input).copied().unwrap_or(oracle.len() as u64);
        if ours.len() as u64 != expected || ours.len() != oracle.len() {
            failures.push(format!(
                "{input}: {} messages, MANIFEST {expected}, oracle {} (frames {:?})",
                ours.len(),
                oracle.len(),
                ours.iter().map(|m| m.frame).collect::<Vec<_>>()
            ));
            continue;
        }
        let is_crafted = input.starts_with("crafted/");
        for (o, t) in ours.iter().zip(&oracle) {
            if o.frame != t["frame"].as_u64().unwrap() {
                failures.push(format!("{input}: message in frame {}, oracle frame {}", o.frame, t["frame"]));
                break;
            }
            // Crafted frame 9 (forward pointer) is implementation-defined.
            if is_crafted && o.frame == 9 {
                continue;
            }
            let malformed = oracle_malformed(t, if is_crafted { &crafted_malformed } else { &[] });
            if let Err(e) = compare(o, t, malformed) {
                failures.push(format!("{input} frame {}: {e}", o.frame));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} files disagree:\n{}", failures.len(), files.len(), failures.join("\n"));
    assert!(total > 1000, "only {total} messages");
}
