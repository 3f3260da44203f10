//! `sdn-sensor run` with the embedded default configuration: real senders
//! (logger, softflowd, pmacctd's sfprobe) on 127.0.0.1 reach the default
//! ports, and the events land in ./events.jsonl; /metrics shows the
//! counters. Uses the fixed default ports (5514, 2055, 4739, 6343, 8080),
//! so the tests in this file run one after another.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn testdata() -> PathBuf {
    PathBuf::from(env!("SDN_TESTDATA"))
}

const LISTED: [&str; 3] = ["209.87.249.18", "2001:470:e5bf:dead:4957:2174:e82c:4887", "203.0.113.66"];

fn tool(name: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p.display().to_string();
        }
    }
    panic!("{name} is not installed: run scripts/setup.sh");
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sdn-run-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

struct Service {
    child: common::Guard,
    dir: PathBuf,
}

impl Service {
    fn start(dir: &Path, args: &[&str]) -> Service {
        let child = common::Guard(
            Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
                .arg("run")
                .args(args)
                .current_dir(dir)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let s = Service { child, dir: dir.to_path_buf() };
        let deadline = Instant::now() + Duration::from_secs(20);
        while common::http_get(8080, "/healthz").is_none() {
            assert!(Instant::now() < deadline, "run did not serve /healthz on 127.0.0.1:8080");
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    /// SIGTERM, then the events written and the log.
    fn stop(mut self) -> (Vec<Value>, String) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let mut log = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "run failed: {log}");
        let text = std::fs::read_to_string(self.dir.join("events.jsonl")).unwrap_or_default();
        (text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(), log)
    }
}

fn tally(events: &[Value], input: &str) -> BTreeMap<(String, String), usize> {
    let mut t = BTreeMap::new();
    for e in events.iter().filter(|e| e["input"] == input) {
        let k = (e["match"]["where"].as_str().unwrap().to_string(), e["match"]["value"].as_str().unwrap().to_string());
        *t.entry(k).or_default() += 1;
    }
    t
}

#[test]
fn default_config_receives_syslog_netflow_ipfix_and_sflow() {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_dir("defaults");
    let feed = dir.join("feed.csv");
    let rows: String = LISTED.iter().enumerate().map(|(i, a)| format!("f{i},ip,test,{a},,\n")).collect();
    std::fs::write(&feed, format!("id,type,threat_type,ip,dns,value\n{rows}")).unwrap();
    let svc = Service::start(&dir, &["--intel", feed.to_str().unwrap()]);

    // Syslog: RFC 3164 over UDP, RFC 5424 over TCP with octet counting.
    let logger = tool("logger");
    for args in [
        vec!["-n", "127.0.0.1", "-P", "5514", "-d", "--rfc3164"],
        vec!["-n", "127.0.0.1", "-P", "5514", "-T", "--octet-count", "--rfc5424"],
    ] {
        let st = Command::new(&logger).args(&args).args(["-t", "sshd", "refused connect from 203.0.113.66"]).status();
        assert!(st.unwrap().success());
    }
    // NetFlow v5 to 2055 and IPFIX to 4739 (softflowd).
    let input = testdata().join("generated/softflowd/input_mixed.pcap");
    for (version, port) in [(5, 2055), (10, 4739)] {
        let status = Command::new(tool("softflowd"))
            .args(["-d", "-a", "-r"])
            .arg(&input)
            .args(["-n", &format!("127.0.0.1:{port}"), "-v", &version.to_string(), "-6", "-T", "full"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "softflowd -v {version}");
    }
    // sFlow to 6343 (pmacctd's sfprobe, whose sample config sends there).
    let conf = std::fs::read_to_string(testdata().join("generated/pmacctd-sfprobe/pmacctd_sfprobe.conf"))
        .unwrap()
        .replace("@PCAP@", &input.display().to_string());
    assert!(conf.contains("127.0.0.1:6343"));
    let conf_path = dir.join("pmacctd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let _ = Command::new(tool("pmacctd")).arg("-f").arg(&conf_path).output().unwrap();

    // Everything sent has been received once the counters stop moving.
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        std::thread::sleep(Duration::from_millis(1200));
        let page = common::http_get(8080, "/metrics").unwrap();
        let now = format!(
            "{} {}",
            common::metric(&page, "sdn_listener_datagrams_total", ""),
            common::metric(&page, "sdn_listener_messages_total", "")
        );
        if now == last || Instant::now() > deadline {
            break page;
        }
        last = now;
    };
    let samples = common::metric(&page, "sdn_sflow_flow_samples_total", "");
    // The dashboard is there on the defaults (over the embedded store).
    let overview = common::http_get(8080, "/").expect("the dashboard answers on 127.0.0.1:8080");
    assert!(overview.contains("data-page=\"overview\""), "{overview}");
    let (events, log) = svc.stop();
    // The embedded store holds every event the sinks got (the defaults do
    // not throttle).
    let stored = store::Query::open(&dir.join("sdn-sensor.db")).unwrap().counts().unwrap();
    assert_eq!(stored.events, events.len() as u64, "{stored:?}");

    let syslog = tally(&events, "syslog");
    assert_eq!(syslog.get(&("syslog.token".into(), "203.0.113.66".into())), Some(&2), "{syslog:?}\n{log}");
    assert_eq!(tally(&events, "netflow"), common::nfdump_expected(5, &LISTED));
    assert_eq!(tally(&events, "ipfix"), common::nfdump_expected(10, &LISTED));
    // pmacctd 1.7.7 now and then stops a few samples short of the 305 it
    // should send (see tests/flow_listeners.rs): then what arrived must be
    // part of the answer.
    let got = tally(&events, "sflow");
    let want = common::sflow_expected(&LISTED);
    if samples == 305.0 {
        assert_eq!(got, want);
    } else {
        eprintln!("pmacctd sent {samples} of 305 samples; checking a subset");
        assert!(got.iter().all(|(k, n)| want.get(k).is_some_and(|w| n <= w)), "{got:?} vs {want:?}");
        assert!(!got.is_empty());
    }
    for e in &events {
        assert!(e["id"].as_str().is_some_and(|id| id.contains(':')));
    }
    let ids: std::collections::HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
    // The counters behind the events are on /metrics.
    assert!(common::metric(&page, "sdn_events_total", "input=\"netflow\"") >= 1.0, "{page}");
    assert!(common::metric(&page, "sdn_intel_hits_total", "") >= events.len() as f64);
    assert_eq!(common::metric(&page, "sdn_sink_delivered_total", "sink=\"jsonl\""), events.len() as f64);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_accepts_the_defaults_and_names_the_line_of_a_mistake() {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_dir("check");
    let out =
        Command::new(env!("CARGO_BIN_EXE_sdn-sensor")).args(["run", "--check"]).current_dir(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok:"));

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[run]\nsensor = \"edge-1\"\n\n[[sink]]\ntype = \"jsonl\"\npath = \"e.jsonl\"\nrotate_sise = \"1MiB\"\n",
    )
    .unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_sdn-sensor")).args(["run", "--check", "--config"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:7:1") && err.contains("rotate_sise"), "{err}");

    let wrong_type = dir.join("wrong.toml");
    std::fs::write(&wrong_type, "[[sink]]\ntype = \"nats\"\npath = \"x\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["run", "--check", "--config"])
        .arg(&wrong_type)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sink[0] (type = \"nats\"): path applies to type = \"jsonl\" only"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

fn rules_config(syslog: u16, http: u16, events: &Path, regex: &str) -> String {
    format!(
        r#"{listen}
[http]
listen = "127.0.0.1:{http}"

[log]
format = "json"

[[sink]]
type = "jsonl"
path = "{}"

[[re_chain]]
name = "watch"
regex = "{regex}"
"#,
        events.display(),
        listen = common::listen_syslog_tcp(syslog)
    )
}

#[test]
fn sighup_reloads_feeds_and_rules_without_a_restart() {
    let dir = temp_dir("hup");
    let (syslog, http) = (common::free_tcp_port(), common::free_tcp_port());
    let events = dir.join("events.jsonl");
    let feed = dir.join("feed.csv");
    std::fs::write(&feed, "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n").unwrap();
    let config = dir.join("sensor.toml");
    std::fs::write(&config, rules_config(syslog, http, &events, "alpha")).unwrap();
    let mut child = common::start_run(&config, &feed, http);
    // Idle, the service sleeps: no thread spins (a TCP-only listener set
    // once made the receivers loop spin a core).
    let cpu_ticks = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(child.id()) - before;
    assert!(used < 100, "an idle service used {used} ticks of CPU in 2 s");
    let mut tcp = TcpStream::connect(("127.0.0.1", syslog)).unwrap();
    let mut send = |line: &str| writeln!(tcp, "<13>Nov 29 14:00:00 fw01 app: {line}").unwrap();
    let count = |pred: &dyn Fn(&Value) -> bool| -> usize {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| pred(e))
            .count()
    };
    let wait = |what: &str, ok: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !ok() {
            assert!(Instant::now() < deadline, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let rule = |name: &'static str| {
        move |e: &Value| e["rule"]["name"] == "watch" && e["syslog"]["message"].as_str().unwrap_or("").contains(name)
    };
    let intel = |ip: &'static str| move |e: &Value| e["kind"] == "intel" && e["match"]["value"] == ip;

    send("alpha 198.51.100.9");
    wait("the first rule fires", &|| count(&rule("alpha")) == 1);
    assert_eq!(count(&intel("198.51.100.9")), 0);

    // New rules and a new feed entry; SIGHUP.
    std::fs::write(&config, rules_config(syslog, http, &events, "beta")).unwrap();
    std::fs::write(&feed, "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n2,ip,c2,198.51.100.9,,\n")
        .unwrap();
    Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap();
    wait("the set is reloaded", &|| {
        common::http_get(http, "/metrics").is_some_and(|p| common::metric(&p, "sdn_intel_generation", "") >= 2.0)
    });
    // The rules are taken between batches: send until the new rule fires.
    let deadline = Instant::now() + Duration::from_secs(15);
    while count(&rule("beta")) == 0 {
        assert!(Instant::now() < deadline, "the reloaded rule never fired");
        send("beta 198.51.100.9");
        std::thread::sleep(Duration::from_millis(300));
    }
    send("alpha again");
    send("beta 198.51.100.9");
    wait("the new feed entry matches", &|| count(&intel("198.51.100.9")) >= 1);
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(child.wait().unwrap().success(), "{log}");
    assert_eq!(count(&rule("alpha")), 1, "the old rule no longer fires");
    // Logs are JSON lines, and say what was reloaded.
    assert!(log.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()), "{log}");
    assert!(log.contains("rules reloaded"), "{log}");
    std::fs::remove_dir_all(&dir).ok();
}
