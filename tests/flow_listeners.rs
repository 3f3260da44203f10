//! End-to-end: `sdn-sensor collect` listens on 127.0.0.1 while real
//! exporters send to it: softflowd (NetFlow v5, v9, IPFIX) and pmacctd's
//! sfprobe (sFlow v5, one raw-header sample per packet) replaying
//! generated/softflowd/input_mixed.pcap. Expected events come from the
//! softflowd exports' nfdump oracle and from the input capture itself.
//! The tools are installed by scripts/setup.sh.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn testdata() -> PathBuf {
    PathBuf::from(env!("SDN_TESTDATA"))
}

/// Addresses in input_mixed.pcap: a DNS server (IPv4 flows in every
/// export version) and an IPv6 mail client (v9/IPFIX only).
const LISTED: [&str; 2] = ["209.87.249.18", "2001:470:e5bf:dead:4957:2174:e82c:4887"];

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn tool(name: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p.display().to_string();
        }
    }
    panic!("{name} is not installed: run scripts/setup.sh (installs softflowd and pmacct)");
}

struct Collector {
    child: Child,
    out: PathBuf,
}

fn collect(dir: &Path, flag: &str, port: u16) -> Collector {
    let feed = dir.join("feed.csv");
    let rows: String = LISTED.iter().enumerate().map(|(i, a)| format!("f{i},ip,test,{a},,\n")).collect();
    std::fs::write(&feed, format!("id,type,threat_type,ip,dns,value\n{rows}")).unwrap();
    let out = dir.join(format!("{}-{port}.jsonl", flag.trim_start_matches('-')));
    let child = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["collect", flag, &format!("127.0.0.1:{port}"), "--duration", "60", "-o"])
        .arg(&out)
        .arg("--intel")
        .arg(&feed)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the socket is bound (collect prints it).
    let deadline = Instant::now() + Duration::from_secs(10);
    while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "collect did not bind 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Collector { child, out }
}

/// Stops the collector (SIGTERM: it flushes and exits) and returns its events.
fn finish(c: Collector) -> Vec<Value> {
    finish_with_summary(c).0
}

/// The events and the collector's summary (stderr).
fn finish_with_summary(c: Collector) -> (Vec<Value>, String) {
    std::thread::sleep(Duration::from_millis(1500));
    Command::new("kill").args(["-TERM", &c.child.id().to_string()]).status().unwrap();
    let out = c.child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events: Vec<Value> =
        std::fs::read_to_string(&c.out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let schema = schema();
    for e in &events {
        assert!(schema.is_valid(e), "{e} violates the schema");
    }
    (events, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/event.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options().should_validate_formats(true).build(&schema).unwrap()
}

/// (where, value) → count.
fn tally(events: &[Value]) -> BTreeMap<(String, String), usize> {
    let mut t = BTreeMap::new();
    for e in events {
        let k = (e["match"]["where"].as_str().unwrap().to_string(), e["match"]["value"].as_str().unwrap().to_string());
        *t.entry(k).or_default() += 1;
    }
    t
}

#[test]
fn softflowd_exports_give_one_event_per_listed_flow_address() {
    let softflowd = tool("softflowd");
    let dir = std::env::temp_dir().join(format!("sdn-flow-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = testdata().join("generated/softflowd/input_mixed.pcap");
    for (version, kind) in [(5, "netflow"), (9, "netflow"), (10, "ipfix")] {
        let port = free_port();
        let c = collect(&dir, if version == 10 { "--ipfix" } else { "--netflow" }, port);
        let status = Command::new(&softflowd)
            .args(["-d", "-a", "-r"])
            .arg(&input)
            .args(["-n", &format!("127.0.0.1:{port}"), "-v", &version.to_string(), "-6", "-T", "full"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "softflowd -v {version}");
        let events = finish(c);
        let want = common::nfdump_expected(version, &LISTED);
        assert!(!want.is_empty(), "v{version}: the oracle lists flows of the listed addresses");
        assert_eq!(tally(&events), want, "NetFlow v{version}");
        for e in &events {
            assert_eq!(e["input"], kind);
            assert_eq!(e[kind]["exporter"], "127.0.0.1");
            assert_eq!(e[kind]["version"], version);
            assert!(e["packet"].is_null(), "received, not captured");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sfprobe_samples_give_one_event_per_listed_packet_address() {
    let pmacctd = tool("pmacctd");
    let dir = std::env::temp_dir().join(format!("sdn-sflow-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = testdata().join("generated/softflowd/input_mixed.pcap");
    // Expected: every sampled packet whose source or destination is
    // listed. sfprobe samples 305 of the 308 packets (MANIFEST.tsv), so the
    // sampled headers of the same tool's export, as tshark decoded them
    // (oracle/sflow/generated__pmacctd-sfprobe__sfprobe_export), are the
    // answer key; a run differs only in timestamps, ports and sequences.
    let want = common::sflow_expected(&LISTED);
    assert!(!want.is_empty());

    // pmacctd now and then exports a counter sample and a few flow samples
    // short of the 305 (about 1 run in 5 on this machine); the collector's
    // summary says how many it received, and only a complete export is
    // held to the exact answer (up to 3 attempts).
    let mut attempts = Vec::new();
    let events = loop {
        let port = free_port();
        let c = collect(&dir, "--sflow", port);
        let conf = std::fs::read_to_string(testdata().join("generated/pmacctd-sfprobe/pmacctd_sfprobe.conf"))
            .unwrap()
            .replace("@PCAP@", &input.display().to_string())
            .replace("127.0.0.1:6343", &format!("127.0.0.1:{port}"));
        let conf_path = dir.join("pmacctd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        // pmacctd 1.7.7 races with its own plugin at exit now and then
        // ("connection lost to 'sf-sfprobe'", status 1), sometimes before
        // the last samples left: judged by what arrived, below.
        let run = Command::new(&pmacctd).arg("-f").arg(&conf_path).output().unwrap();
        let (events, summary) = finish_with_summary(c);
        if summary.contains("sflow flow samples 305,") {
            break events;
        }
        attempts.push(format!("pmacctd {:?}; collect: {summary}", run.status));
        assert!(attempts.len() < 3, "pmacctd never exported all 305 samples: {attempts:#?}");
    };
    assert_eq!(tally(&events), want);
    for e in &events {
        assert_eq!(e["input"], "sflow");
        assert_eq!(e["sflow"]["agent"], "127.0.0.1");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn exports_in_a_capture_give_the_same_events_as_received_ones() {
    let dir = std::env::temp_dir().join(format!("sdn-flow-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.csv");
    let rows: String = LISTED.iter().enumerate().map(|(i, a)| format!("f{i},ip,test,{a},,\n")).collect();
    std::fs::write(&feed, format!("id,type,threat_type,ip,dns,value\n{rows}")).unwrap();
    let schema = schema();
    for version in [5, 9, 10] {
        let capture = testdata().join(format!("generated/softflowd/sf_v{version}.export.pcap"));
        let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
            .arg("replay")
            .arg(&capture)
            .arg("--intel")
            .arg(&feed)
            .arg("-q")
            .output()
            .unwrap();
        assert!(out.status.success());
        let events: Vec<Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(tally(&events), common::nfdump_expected(version, &LISTED), "v{version}");
        for e in &events {
            assert!(schema.is_valid(e), "{e} violates the schema");
            let kind = if version == 10 { "ipfix" } else { "netflow" };
            assert_eq!(e["packet"]["capture"], capture.display().to_string());
            assert_eq!(e[kind]["version"], version);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
