//! End-to-end: indicators seen in DNS, HTTP and SMTP, checked against
//! Zeek's own intel tests (zeek/intel-match: the feeds, captures and the
//! intel.log Zeek wrote) and against crafted DNS responses.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(env!("SDN_TESTDATA"))
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn replay(capture: &Path, feeds: &[PathBuf]) -> Vec<Value> {
    replay_with(capture, feeds, &[])
}

fn replay_with(capture: &Path, feeds: &[PathBuf], extra: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"));
    cmd.arg("replay").arg(capture).arg("--intel").args(feeds).args(extra).arg("-q");
    let out = cmd.output().expect("run sdn-sensor");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("schema/event.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            let errors: Vec<String> =
                validator.iter_errors(&e).map(|x| format!("{x} at {}", x.instance_path())).collect();
            assert!(errors.is_empty(), "{e} violates the schema: {errors:?}");
            e
        })
        .collect()
}

/// (orig_h, orig_p, resp_h, resp_p, seen.indicator, seen.where) of a
/// Zeek intel.log.
fn zeek_intel_log(path: &Path) -> BTreeSet<(String, u16, String, u16, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[2].into(), f[3].parse().unwrap(), f[4].into(), f[5].parse().unwrap(), f[6].into(), f[8].into())
        })
        .collect()
}

/// Our name for each Zeek `seen.where`.
fn where_of(zeek: &str) -> &'static str {
    match zeek {
        "DNS::IN_REQUEST" => "dns.query",
        "HTTP::IN_HOST_HEADER" => "http.host",
        "SMTP::IN_RCPT_TO" => "smtp.rcpt_to",
        "SMTP::IN_FROM" => "smtp.from",
        "SMTP::IN_TO" => "smtp.to",
        other => panic!("no mapping for {other}"),
    }
}

/// The connection tuple of an event, client first (as Zeek's orig).
fn tuple(e: &Value) -> (String, u16, String, u16) {
    let f = &e["flow"];
    let (s, sp, d, dp) = (
        f["src_ip"].as_str().unwrap().to_string(),
        f["src_port"].as_u64().unwrap() as u16,
        f["dst_ip"].as_str().unwrap().to_string(),
        f["dst_port"].as_u64().unwrap() as u16,
    );
    // Responses travel server → client.
    if e["dns"]["qr"] == Value::Bool(true) || [53, 80, 25].contains(&sp) { (d, dp, s, sp) } else { (s, sp, d, dp) }
}

#[test]
fn wikipedia_domains_match_zeek_whitelisting_test() {
    let dir = testdata().join("zeek/intel-match");
    let events = replay(
        &dir.join("wikipedia.pcap"),
        &[dir.join("whitelisting.intel.dat"), dir.join("whitelisting.whitelist.dat")],
    );
    // Nothing for the allowlisted meta.wikimedia.org, anywhere.
    assert!(events.iter().all(|e| e["indicator"]["value"] == "upload.wikimedia.org"), "{events:?}");
    let got: BTreeSet<_> = events
        .iter()
        .map(|e| {
            let (a, ap, b, bp) = tuple(e);
            (a, ap, b, bp, e["match"]["value"].as_str().unwrap().to_lowercase(), e["match"]["where"].as_str().unwrap())
        })
        .collect();
    let want = zeek_intel_log(&dir.join("whitelisting.intel.log"));
    let dns = want.iter().filter(|w| w.5 == "DNS::IN_REQUEST").count();
    let http = want.iter().filter(|w| w.5 == "HTTP::IN_HOST_HEADER").count();
    assert_eq!((dns, http), (8, 6), "the log's distinct tuples");
    for (oh, op, rh, rp, indicator, at) in &want {
        let key = (oh.clone(), *op, rh.clone(), *rp, indicator.clone(), where_of(at));
        assert!(got.contains(&key), "missing {key:?}; got {got:#?}");
    }
    // Beyond Zeek (which checks requests only): responses repeat the
    // question (dns.query) and name it as an answer owner
    // (dns.answer.name), on the same tuples; nothing else.
    assert!(got.iter().all(|g| ["dns.query", "dns.answer.name", "http.host"].contains(&g.5)), "{got:#?}");
    let dns_tuples: BTreeSet<_> = got.iter().filter(|g| g.5 != "http.host").map(|g| (g.0.clone(), g.1)).collect();
    let zeek_dns_tuples: BTreeSet<_> =
        want.iter().filter(|w| w.5 == "DNS::IN_REQUEST").map(|w| (w.0.clone(), w.1)).collect();
    assert_eq!(dns_tuples, zeek_dns_tuples);
    let http_events: Vec<_> = events.iter().filter(|e| e["input"] == "http").collect();
    assert!(http_events.iter().all(|e| e["http"]["host"] == "upload.wikimedia.org" && e["http"]["method"] == "GET"));
}

#[test]
fn smtp_addresses_match_zeek_seen_smtp_test() {
    let dir = testdata().join("zeek/intel-match");
    let events = replay(&dir.join("smtp-multi-addr.pcap"), &[dir.join("seen_smtp.intel.dat")]);
    let got: BTreeSet<(String, String)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["input"], "smtp");
            (e["indicator"]["value"].as_str().unwrap().to_string(), e["match"]["where"].as_str().unwrap().to_string())
        })
        .collect();
    let want: BTreeSet<(String, String)> = zeek_intel_log(&dir.join("seen_smtp.intel.log"))
        .into_iter()
        .map(|(_, _, _, _, indicator, at)| (indicator, where_of(&at).to_string()))
        .collect();
    assert_eq!(want.len(), 7);
    assert_eq!(got, want);
}

#[test]
fn dns_answers_alone_produce_events() {
    // crafted/dns_cases.pcap frame 2 (dns_cases.expected.json): a response
    // for login.evil-c2.example with CNAME cdn.evil-c2.example and A
    // 203.0.113.66. The feed lists only the CNAME target and the address.
    let dir = std::env::temp_dir().join(format!("sdn-app-intel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("answers.csv");
    std::fs::write(
        &feed,
        "id,type,threat_type,ip,dns,value\n1,domain,c2,,cdn.evil-c2.example,\n2,ip,c2,203.0.113.66,,\n",
    )
    .unwrap();
    let events = replay(&testdata().join("crafted/dns_cases.pcap"), &[feed]);
    std::fs::remove_dir_all(&dir).ok();
    let seen: BTreeSet<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["indicator"]["id"].as_str().unwrap().to_string(),
                e["match"]["where"].as_str().unwrap().to_string(),
                e["match"]["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> =
        [("1", "dns.answer.name", "cdn.evil-c2.example"), ("2", "dns.answer.addr", "203.0.113.66")]
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
    assert_eq!(seen, want, "{events:#?}");
    for e in &events {
        assert_eq!(e["input"], "dns");
        assert_eq!(e["packet"]["frame"], 2);
        let dns = &e["dns"];
        assert_eq!(dns["qr"], true);
        assert_eq!(dns["questions"][0]["name"], "login.evil-c2.example");
        let answers = dns["answers"].as_array().unwrap();
        assert!(answers.iter().any(|a| a["type"] == "CNAME" && a["data"] == "cdn.evil-c2.example"));
        assert!(answers.iter().any(|a| a["type"] == "A" && a["data"] == "203.0.113.66"));
    }
}

#[test]
fn dns_chain_rules_fire_on_names_and_answer_addresses() {
    let dir = std::env::temp_dir().join(format!("sdn-dns-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("empty.csv");
    std::fs::write(&feed, "id,type,threat_type,ip,dns,value\n").unwrap();
    let config = dir.join("rules.toml");
    std::fs::write(
        &config,
        r#"
[[dns_chain]]
name = "c2 zone"
dns = "evil-c2.example"

[[dns_chain]]
name = "exact login"
dns = "login.evil-c2.example"
match = "exact"

[[dns_chain]]
name = "doc net answers"
ip = "203.0.113.0/24"
"#,
    )
    .unwrap();
    let events =
        replay_with(&testdata().join("crafted/dns_cases.pcap"), &[feed], &["--config", config.to_str().unwrap()]);
    assert!(events.iter().all(|e| e["kind"] == "rule" && e["rule"]["chain"] == "dns" && e["indicator"].is_null()));
    let fired = |frame: u64| -> BTreeSet<(String, String)> {
        events
            .iter()
            .filter(|e| e["packet"]["frame"] == frame)
            .map(|e| (e["rule"]["name"].as_str().unwrap().into(), e["match"]["where"].as_str().unwrap().into()))
            .collect()
    };
    let set = |v: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    };
    // Frame 1: the query for login.evil-c2.example.
    assert_eq!(fired(1), set(&[("c2 zone", "dns.query"), ("exact login", "dns.query")]));
    // Frame 2: its response, CNAME cdn.evil-c2.example, A 203.0.113.66.
    assert_eq!(
        fired(2),
        set(&[
            ("c2 zone", "dns.query"),
            ("exact login", "dns.query"),
            ("c2 zone", "dns.answer.name"),
            ("exact login", "dns.answer.name"),
            ("doc net answers", "dns.answer.addr"),
        ])
    );
    // Every query in the file is below the zone (the malformed ones aside).
    let frames: BTreeSet<u64> = events.iter().map(|e| e["packet"]["frame"].as_u64().unwrap()).collect();
    assert!(frames.is_superset(&[1, 2, 3, 4, 5, 6, 7, 17, 19].into_iter().collect()), "{frames:?}");

    // A mistake in the file: one line naming the place, exit status 2.
    std::fs::write(&config, "[[dns_chain]]\nname = \"x\"\ndns = \"a.example\"\nmatch = \"prefix\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["replay", "samples/sample.pcap", "--intel", "samples/intel.csv", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rules.toml:4:9: unknown variant `prefix`, expected one of"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_stale_feed_gives_one_warning_event_first() {
    let dir = std::env::temp_dir().join(format!("sdn-stale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (old, fresh) = (dir.join("old.csv"), dir.join("fresh.csv"));
    std::fs::copy(repo().join("samples/intel.csv"), &old).unwrap();
    std::fs::write(&fresh, "id,type,threat_type,ip,dns,value\n").unwrap();
    let three_days = std::time::Duration::from_secs(3 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - three_days)
        .unwrap();
    let config = dir.join("c.toml");
    std::fs::write(&config, "[intel]\nmax_age = \"2d\"\n[[intel.feed]]\npath = \"fresh.csv\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["replay", "samples/sample.pcap", "--intel"])
        .arg(&old)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success());
    let events: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let warnings: Vec<&Value> = events.iter().filter(|e| e["kind"] == "warning").collect();
    assert_eq!(warnings.len(), 1, "only the old feed is stale");
    let w = warnings[0];
    assert_eq!(events[0], *w, "the warning comes first");
    assert_eq!(w["input"], "intel");
    assert_eq!(w["match"]["where"], "intel.feed");
    assert_eq!(w["warning"]["type"], "stale_feed");
    assert_eq!(w["warning"]["feed"], old.display().to_string());
    assert_eq!(w["warning"]["max_age_seconds"], 2 * 86_400);
    assert!(w["warning"]["age_seconds"].as_u64().unwrap() >= 3 * 86_400);
    // The feed still loads and matches: stale is a warning, not a failure.
    assert!(events.iter().any(|e| e["kind"] == "intel"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("old.csv: feed is stale: modified 3d 0h ago, max_age 2d 0h"), "{stderr}");
    // And against the schema.
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("schema/event.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    assert!(validator.is_valid(w), "{w}");
    // `intel stats` shows the same verdict.
    let stats = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["intel", "stats", "--max-age", "2d", "--intel"])
        .arg(&old)
        .arg(&fresh)
        .output()
        .unwrap();
    let lines: Vec<Value> =
        String::from_utf8_lossy(&stats.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!((lines[0]["stale"].as_bool(), lines[1]["stale"].as_bool()), (Some(true), Some(false)));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn maltrail_path_trails_match_request_paths_on_any_host() {
    let dir = std::env::temp_dir().join(format!("sdn-trails-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A Maltrail-style trail file: the bundled sample's request is
    // GET /verify to login.evil.example; /other never appears.
    let trails = dir.join("phish.txt");
    std::fs::write(&trails, "# Maltrail-style trails\n/verify\n/other.php\n").unwrap();
    let events = replay(&repo().join("samples/sample.pcap"), &[trails]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!((e["input"].as_str(), e["match"]["where"].as_str()), (Some("http"), Some("http.url")));
    assert_eq!(e["indicator"]["value"], "/verify");
    assert_eq!(e["indicator"]["type"], "url");
    assert_eq!(e["indicator"]["threat_type"], "phish");
    assert_eq!(e["match"]["value"], "http://login.evil.example/verify");
}

#[test]
fn syslog_in_a_capture_is_matched_and_re_chain_rules_fire() {
    // generated/syslog/logger_rfc3164_rfc5424_udp_tcp.pcap (rsyslog oracle):
    // frame 1 sshd "Failed password for root from 185.220.101.1 ...",
    // frame 2 webapp "user=bob@example.org url=http://malware.test/x.exe",
    // frame 6 (TCP, octet-counted) "... dst=2001:db8::dead",
    // frame 14 (TCP, LF) postfix "... from 203.0.113.7". Syslog runs on
    // UDP/TCP 5514 there.
    let dir = std::env::temp_dir().join(format!("sdn-syslog-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.csv");
    std::fs::write(
        &feed,
        "id,type,threat_type,ip,dns,value\nt1,ip,tor,185.220.101.1,,\nv6,ip,c2,2001:db8::dead,,\ne1,email,phish,,,bob@example.org\n",
    )
    .unwrap();
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        r#"
[syslog]
udp_ports = [5514]
tcp_ports = [5514]

[[re_chain]]
name = "ssh failure"
regex = "failed password"
nocase = true

[[re_chain]]
name = "listed ssh source"
regex = "from (\\S+) port"
type = "substring"
ioc_type = "ip"

[[re_chain]]
name = "not sshd"
regex = "sshd"
inverted = true
"#,
    )
    .unwrap();
    let capture = testdata().join("generated/syslog/logger_rfc3164_rfc5424_udp_tcp.pcap");
    let events = replay_with(&capture, &[feed], &["--config", config.to_str().unwrap()]);
    let got: BTreeSet<(u64, String, String, String)> = events
        .iter()
        .map(|e| {
            let who = if e["kind"] == "rule" { e["rule"]["name"].clone() } else { e["indicator"]["id"].clone() };
            (
                e["packet"]["frame"].as_u64().unwrap(),
                e["kind"].as_str().unwrap().to_string(),
                who.as_str().unwrap().to_string(),
                e["match"]["where"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(u64, String, String, String)> = [
        (1, "intel", "t1", "syslog.token"),
        (1, "rule", "ssh failure", "syslog.message"),
        (1, "rule", "listed ssh source", "syslog.token"),
        (2, "intel", "e1", "syslog.token"),
        (2, "rule", "not sshd", "syslog.message"),
        (6, "intel", "v6", "syslog.token"),
        (6, "rule", "not sshd", "syslog.message"),
        (14, "rule", "not sshd", "syslog.message"),
    ]
    .iter()
    .map(|(f, k, w, at)| (*f, k.to_string(), w.to_string(), at.to_string()))
    .collect();
    assert_eq!(got, want, "{events:#?}");
    let sshd = events.iter().find(|e| e["indicator"]["id"] == "t1").unwrap();
    assert_eq!(sshd["syslog"]["app_name"], "sshd");
    assert_eq!(sshd["syslog"]["token"], "185.220.101.1");
    let raw_offset = sshd["syslog"]["offset"].as_u64().unwrap();
    assert!(raw_offset > 0);

    // A lookaround is refused when the file is read, with the reason.
    std::fs::write(&config, "[[re_chain]]\nname = \"x\"\nregex = \"foo(?=bar)\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["replay", "samples/sample.pcap", "--intel", "samples/intel.csv", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("re_chain[0] (name = \"x\"): regex \"foo(?=bar)\" uses lookaround"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cidr_chain_rules_fire_on_covered_packet_addresses() {
    let dir = std::env::temp_dir().join(format!("sdn-cidr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("empty.csv");
    std::fs::write(&feed, "id,type,threat_type,ip,dns,value\n").unwrap();
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[[cidr_chain]]\nname = \"scan targets\"\ncidr = \"198.51.100.0/24\"\n\n[[cidr_chain]]\nname = \"lab v6\"\ncidr = \"2001:db8:bad::/48\"\n",
    )
    .unwrap();
    // samples/sample.pcap: frames 13-18 go to 198.51.100.20-25, frame 20
    // to 2001:db8:bad::1 (scripts/make_sample_capture.py).
    let events = replay_with(&repo().join("samples/sample.pcap"), &[feed], &["--config", config.to_str().unwrap()]);
    let got: Vec<(u64, String, String)> = events
        .iter()
        .map(|e| {
            assert_eq!((e["kind"].as_str(), e["rule"]["chain"].as_str()), (Some("rule"), Some("cidr")));
            (
                e["packet"]["frame"].as_u64().unwrap(),
                e["rule"]["name"].as_str().unwrap().to_string(),
                e["match"]["where"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut want: Vec<(u64, String, String)> =
        (13..=18).map(|f| (f, "scan targets".to_string(), "ip.dst".to_string())).collect();
    want.push((20, "lab v6".to_string(), "ip.dst".to_string()));
    assert_eq!(got, want);
    std::fs::write(&config, "[[cidr_chain]]\nname = \"bad\"\ncidr = \"10.0.0.0/33\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["replay", "samples/sample.pcap", "--intel", "samples/intel.csv", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cidr_chain[0] (name = \"bad\"): cidr = \"10.0.0.0/33\""));
    std::fs::remove_dir_all(&dir).ok();
}
