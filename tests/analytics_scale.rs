//! Scale-out (issue 8, acceptance 4): a sensor (`run`) publishes its events
//! to JetStream on subjects partitioned by host
//! (`sdn.events.{partition}.{kind}.{input}`, 2 partitions); two `sdn-sensor
//! analytics` processes take one partition each, a third takes all. The
//! two together must give what the single one gives: the same passing
//! events, summaries and incidents, and per window the same counts in every
//! top-N report (each process's counts summed; `top_n` is larger than the
//! number of distinct values here, so the lists are complete).

mod common;

use serde_json::Value;
use std::collections::BTreeMap;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const LISTED: [&str; 5] = ["203.0.113.10", "203.0.113.11", "203.0.113.12", "203.0.113.13", "203.0.113.14"];

/// A NetFlow v5 datagram of (src, dst) records.
fn v5(records: &[(std::net::Ipv4Addr, std::net::Ipv4Addr)], sequence: u32) -> Vec<u8> {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32;
    let mut d = Vec::new();
    d.extend_from_slice(&5u16.to_be_bytes());
    d.extend_from_slice(&(records.len() as u16).to_be_bytes());
    d.extend_from_slice(&3_600_000u32.to_be_bytes());
    d.extend_from_slice(&secs.to_be_bytes());
    d.extend_from_slice(&0u32.to_be_bytes());
    d.extend_from_slice(&sequence.to_be_bytes());
    d.extend_from_slice(&[0, 0, 0, 0]);
    for (src, dst) in records {
        d.extend_from_slice(&src.octets());
        d.extend_from_slice(&dst.octets());
        d.extend_from_slice(&[0; 4]); // next hop
        d.extend_from_slice(&[0, 1, 0, 2]); // ifaces
        d.extend_from_slice(&3u32.to_be_bytes()); // packets
        d.extend_from_slice(&180u32.to_be_bytes()); // bytes
        d.extend_from_slice(&3_500_000u32.to_be_bytes());
        d.extend_from_slice(&3_599_000u32.to_be_bytes());
        d.extend_from_slice(&40_000u16.to_be_bytes());
        d.extend_from_slice(&443u16.to_be_bytes());
        d.extend_from_slice(&[0, 0x18, 6, 0]); // pad, flags, tcp, tos
        d.extend_from_slice(&[0; 8]); // AS, masks, pad
    }
    d
}

struct Outcome {
    lines: Vec<Value>,
    reports: Vec<Value>,
}

fn analytics(dir: &Path, nats: u16, subject: &str, durable: &str, config: &Path) -> Outcome {
    let out = dir.join(format!("{durable}.jsonl"));
    let reports = dir.join(format!("{durable}.reports.jsonl"));
    let run = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["analytics", "--nats", &format!("nats://127.0.0.1:{nats}"), "--subject", subject, "--durable", durable])
        .args(["--idle-exit", "2", "--sensor", "an", "--config"])
        .arg(config)
        .arg("-o")
        .arg(&out)
        .arg("--reports")
        .arg(&reports)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let read = |p: &PathBuf| -> Vec<Value> {
        std::fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    Outcome { lines: read(&out), reports: read(&reports) }
}

/// What must not depend on how the stream was split.
#[derive(Debug, Default, PartialEq)]
struct Comparable {
    passed: Vec<String>,
    summaries: Vec<(String, u64)>,
    incidents: Vec<(String, String, Vec<String>)>,
    /// (window start, key, value) -> count
    top: BTreeMap<(String, String, String), u64>,
}

fn comparable(outcomes: &[&Outcome]) -> Comparable {
    let mut c = Comparable::default();
    for o in outcomes {
        for l in &o.lines {
            match l["kind"].as_str().unwrap() {
                "summary" => c.summaries.push((
                    l["summary"]["key"].as_str().unwrap().to_string(),
                    l["summary"]["suppressed"].as_u64().unwrap(),
                )),
                "incident" => {
                    let mut ev: Vec<String> =
                        l["incident"]["events"].as_array().unwrap().iter().map(|v| v.to_string()).collect();
                    ev.sort();
                    c.incidents.push((
                        l["incident"]["rule"].as_str().unwrap().to_string(),
                        l["incident"]["host"].as_str().unwrap().to_string(),
                        ev,
                    ));
                }
                _ => c.passed.push(l["id"].as_str().unwrap().to_string()),
            }
        }
        for r in o.reports.iter().filter(|r| r["report"] == "topn") {
            for t in r["top"].as_array().unwrap() {
                let k = (
                    r["window_start"].as_str().unwrap().to_string(),
                    r["key"].as_str().unwrap().to_string(),
                    t["value"].to_string(),
                );
                *c.top.entry(k).or_default() += t["count"].as_u64().unwrap();
            }
        }
    }
    c.passed.sort();
    c.summaries.sort();
    c.incidents.sort();
    c
}

#[test]
fn two_partitioned_processes_give_what_one_gives() {
    let dir = std::env::temp_dir().join(format!("sdn-analytics-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (nats_port, http) = (common::free_tcp_port(), common::free_tcp_port());
    let netflow = common::free_udp_port();
    let _nats = common::NatsServer::start(nats_port, &dir.join("js"));
    let feed = dir.join("feed.csv");
    let rows: String = LISTED.iter().enumerate().map(|(i, a)| format!("{i},ip,c2,{a},,\n")).collect();
    std::fs::write(&feed, format!("id,type,threat_type,ip,dns,value\n{rows}")).unwrap();
    let sensor_cfg = dir.join("sensor.toml");
    std::fs::write(
        &sensor_cfg,
        format!(
            r#"[run]
sensor = "edge-s"

[listen]
netflow = ["127.0.0.1:{netflow}"]
ipfix = []
sflow = []
syslog_udp = []
syslog_tcp = []

[http]
listen = "127.0.0.1:{http}"

[[sink]]
type = "nats"
url = "nats://127.0.0.1:{nats_port}"
stream = "SDN_EVENTS"
subject = "sdn.events.{{partition}}.{{kind}}.{{input}}"
partitions = 2
spool = "{}"
"#,
            dir.join("spool").display()
        ),
    )
    .unwrap();
    let sensor = common::start_run(&sensor_cfg, &feed, http);
    // 40 hosts: each reaches 5 listed addresses and one of them twice;
    // hosts 0..9 also send 5 more flows to the first (throttled).
    let listed: Vec<std::net::Ipv4Addr> = LISTED.iter().map(|a| a.parse().unwrap()).collect();
    let mut records = Vec::new();
    for h in 0..40u8 {
        let host = std::net::Ipv4Addr::new(10, 1, 0, h);
        for j in 0..6usize {
            records.push((host, listed[(h as usize + j) % 5]));
        }
        if h < 10 {
            records.extend(std::iter::repeat_n((host, listed[0]), 5));
        }
    }
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (i, chunk) in records.chunks(30).enumerate() {
        udp.send_to(&v5(chunk, (i * 30) as u32), ("127.0.0.1", netflow)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let expected = records.len() as f64;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = common::http_get(http, "/metrics").unwrap_or_default();
        if common::metric(&page, "sdn_sink_detail", "name=\"acked_total\"") >= expected {
            break;
        }
        assert!(Instant::now() < deadline, "the sensor did not publish {expected} events:\n{page}");
        std::thread::sleep(Duration::from_millis(100));
    }
    common::stop_run(sensor);

    let cfg = dir.join("analytics.toml");
    std::fs::write(
        &cfg,
        "[analytics]\nthrottle = 2\ntop_n = 1000\n\n[[analytics.correlation]]\nname = \"three_indicators\"\ntype = \"distinct_indicators\"\nwithin = \"5m\"\nk = 3\n",
    )
    .unwrap();
    let p0 = analytics(&dir, nats_port, "sdn.events.0.>", "p0", &cfg);
    let p1 = analytics(&dir, nats_port, "sdn.events.1.>", "p1", &cfg);
    let all = analytics(&dir, nats_port, "sdn.events.>", "all", &cfg);
    let (split, single) = (comparable(&[&p0, &p1]), comparable(&[&all]));
    // Both partitions had work, and the work is what one process does.
    assert!(!p0.lines.is_empty() && !p1.lines.is_empty());
    assert_eq!(single.incidents.len(), 40, "one incident per host");
    assert_eq!(single.summaries.len(), 10, "one summary per throttled host");
    // Hosts 0 and 5 reach the first address 7 times, the other 8 hosts 6
    // times; 2 pass.
    assert_eq!(single.summaries.iter().map(|(_, n)| n).sum::<u64>(), 2 * 5 + 8 * 4);
    assert_eq!(split, single);
    std::fs::remove_dir_all(&dir).ok();
}
