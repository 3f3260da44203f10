//! Live capture end to end: the test makes two network namespaces joined
//! by a veth pair, runs `sdn-sensor run` in one of them capturing its veth
//! end with 2 workers (AF_PACKET, TPACKET_V3, fanout by flow hash), and
//! injects a capture from ../shared/testdata on the other end with
//! tcpreplay. The events must be exactly those `replay` finds in the same
//! file, and /metrics must show the packets and the (zero) drops, kernel
//! and user space. Needs root and iproute2 (skipped with a message
//! otherwise); tcpreplay comes from scripts/setup.sh.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn testdata() -> PathBuf {
    PathBuf::from(env!("SDN_TESTDATA"))
}

const LISTED: [&str; 2] = ["209.87.249.18", "2001:470:e5bf:dead:4957:2174:e82c:4887"];

fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn must(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Two namespaces and a veth pair, removed on drop (also on failure).
struct Net {
    sensor_ns: String,
    peer_ns: String,
}

impl Net {
    fn new(tag: &str) -> Option<Net> {
        let id = std::process::id();
        let net = Net { sensor_ns: format!("sdn-{tag}-s-{id}"), peer_ns: format!("sdn-{tag}-p-{id}") };
        if !ip(&["netns", "add", &net.sensor_ns]) {
            return None;
        }
        must(&["netns", "add", &net.peer_ns]);
        must(&[
            "-n",
            &net.sensor_ns,
            "link",
            "add",
            "cap0",
            "type",
            "veth",
            "peer",
            "name",
            "inj0",
            "netns",
            &net.peer_ns,
        ]);
        for (ns, dev) in [(&net.sensor_ns, "cap0"), (&net.peer_ns, "inj0")] {
            // No IPv6 autoconfiguration: only the injected frames cross.
            for key in ["all", "default", dev] {
                let _ = Command::new("ip")
                    .args(["netns", "exec", ns, "sysctl", "-qw", &format!("net.ipv6.conf.{key}.disable_ipv6=1")])
                    .status();
            }
            must(&["-n", ns, "link", "set", dev, "mtu", "9000", "up"]);
            must(&["-n", ns, "link", "set", "lo", "up"]);
        }
        Some(net)
    }

    fn exec(&self, ns: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]);
        c
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        ip(&["netns", "del", &self.sensor_ns]);
        ip(&["netns", "del", &self.peer_ns]);
    }
}

type Key = (String, String, String, String, String);

fn keys(events: &[Value]) -> BTreeMap<Key, usize> {
    let mut t = BTreeMap::new();
    for e in events {
        let s = |v: &Value| v.as_str().unwrap_or("").to_string();
        let k = (
            s(&e["input"]),
            s(&e["match"]["where"]),
            s(&e["match"]["value"]),
            s(&e["flow"]["src_ip"]),
            s(&e["flow"]["dst_ip"]),
        );
        *t.entry(k).or_default() += 1;
    }
    t
}

#[test]
fn capture_on_a_veth_with_two_workers_gives_exactly_the_replay_events() {
    if !Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n")) {
        eprintln!("skipped: needs root (network namespaces and AF_PACKET)");
        return;
    }
    let Some(net) = Net::new("cap") else {
        eprintln!("skipped: `ip netns add` failed (no iproute2 or no permission)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("sdn-netns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.csv");
    let rows: String = LISTED.iter().enumerate().map(|(i, a)| format!("f{i},ip,test,{a},,\n")).collect();
    std::fs::write(&feed, format!("id,type,threat_type,ip,dns,value\n{rows}")).unwrap();
    let events_path = dir.join("events.jsonl");
    let config = dir.join("sensor.toml");
    std::fs::write(
        &config,
        format!(
            r#"[run]
sensor = "netns-test"

[[capture]]
interface = "cap0"
workers = 2
promiscuous = true
ring_size = "8MiB"

# Capture only: no listeners.
[listen]
netflow = []
ipfix = []
sflow = []
syslog_udp = []
syslog_tcp = []

[http]
listen = "127.0.0.1:18080"

[[sink]]
type = "jsonl"
path = "{}"
"#,
            events_path.display()
        ),
    )
    .unwrap();
    let mut sensor = common::Guard(
        net.exec(&net.sensor_ns)
            .arg(env!("CARGO_BIN_EXE_sdn-sensor"))
            .args(["run", "--config"])
            .arg(&config)
            .arg("--intel")
            .arg(&feed)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let scrape = || -> Option<String> {
        let out = net
            .exec(&net.sensor_ns)
            .args(["curl", "-sf", "http://127.0.0.1:18080/metrics"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while scrape().is_none() {
        if Instant::now() > deadline || sensor.try_wait().unwrap().is_some() {
            let _ = sensor.kill();
            let mut log = String::new();
            sensor.stderr.take().unwrap().read_to_string(&mut log).unwrap();
            panic!("run did not start: {log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let capture = testdata().join("generated/softflowd/input_mixed.pcap");
    let out = net
        .exec(&net.peer_ns)
        .args(["tcpreplay", "-q", "-K", "--topspeed", "-i", "inj0"])
        .arg(&capture)
        .output()
        .expect("tcpreplay (scripts/setup.sh installs it)");
    assert!(out.status.success(), "tcpreplay: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let sent: f64 = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[0] == "Actual:")
        .map(|w| w[1].parse().unwrap())
        .expect("tcpreplay's summary");

    // Every frame sent has been captured once the counter reaches it.
    let deadline = Instant::now() + Duration::from_secs(15);
    let page = loop {
        let page = scrape().unwrap_or_default();
        if common::metric_opt(&page, "sdn_packets_total", "worker=").unwrap_or(0.0) >= sent || Instant::now() > deadline
        {
            break page;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    Command::new("kill").args(["-TERM", &sensor.id().to_string()]).status().unwrap();
    let mut log = String::new();
    sensor.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(sensor.wait().unwrap().success(), "{log}");

    // Both workers ran, on one interface, and together saw each frame once.
    for w in ["cap0#0", "cap0#1"] {
        assert!(
            common::metric_opt(&page, "sdn_packets_total", &format!("worker=\"{w}\"")).is_some(),
            "{w} missing:\n{page}"
        );
    }
    assert_eq!(common::metric_opt(&page, "sdn_packets_total", "interface=\"cap0\""), Some(sent), "{page}");
    assert_eq!(
        common::metric_opt(&page, "sdn_capture_kernel_packets_total", "interface=\"cap0\""),
        Some(sent),
        "{page}"
    );
    // Drop counters are exposed, kernel and user space, and are zero here.
    assert_eq!(common::metric_opt(&page, "sdn_capture_drops_total", "cause=\"kernel\""), Some(0.0), "{page}");
    assert_eq!(common::metric_opt(&page, "sdn_capture_drops_total", "cause=\"ring\""), Some(0.0), "{page}");
    assert_eq!(common::metric_opt(&page, "sdn_sink_dropped_total", "sink=\"jsonl\""), Some(0.0), "{page}");
    assert_eq!(common::metric_opt(&page, "sdn_events_unsent_total", ""), Some(0.0), "{page}");

    let live: Vec<Value> =
        std::fs::read_to_string(&events_path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let replay = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .arg("replay")
        .arg(&capture)
        .arg("--intel")
        .arg(&feed)
        .arg("-q")
        .output()
        .unwrap();
    assert!(replay.status.success());
    let offline: Vec<Value> =
        String::from_utf8_lossy(&replay.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!offline.is_empty(), "the capture holds listed addresses");
    assert_eq!(keys(&live), keys(&offline), "live capture and replay disagree\n{log}");
    assert_eq!(
        common::metric_opt(&page, "sdn_events_total", "input=\"packet\""),
        Some(live.iter().filter(|e| e["input"] == "packet").count() as f64)
    );
    eprintln!(
        "sent {sent} frames; worker 0 saw {:?}, worker 1 {:?}; {} events, as replay",
        common::metric_opt(&page, "sdn_packets_total", "worker=\"cap0#0\""),
        common::metric_opt(&page, "sdn_packets_total", "worker=\"cap0#1\""),
        live.len()
    );
    for e in &live {
        assert_eq!(e["sensor"], "netns-test");
        assert!(e["packet"].is_object(), "{e}");
    }
    drop(net);
    std::fs::remove_dir_all(&dir).ok();
}
