//! Scale-out (issue 8, acceptance 4): two sensors (`run`, one after the
//! other) publish their events to JetStream on subjects partitioned by host
//! (`sdn.events.{partition}.{kind}.{input}`, 2 partitions), and their intel
//! events again to a sightings stream partitioned by indicator
//! (`sdn.sightings.{partition}`); two `sdn-sensor analytics` processes take
//! one partition of each, a third takes all the events. The two together
//! must give what the single one gives: the same passing events, summaries
//! and incidents (the multi-sensor ones included), and per window the same
//! counts in every top-N report (each process's counts summed; `top_n` is
//! larger than the number of distinct values here, so the lists are
//! complete).

mod common;

use serde_json::Value;
use std::collections::BTreeMap;

use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const LISTED: [&str; 5] = ["203.0.113.10", "203.0.113.11", "203.0.113.12", "203.0.113.13", "203.0.113.14"];
/// Seen by each sensor from one host only, the two hosts in different
/// host partitions: only indicator partitioning brings both together.
const SPLIT: [&str; 2] = ["203.0.113.20", "203.0.113.21"];

/// The host partition the sensor gives an IPv4 host (FNV-1a of its octets,
/// mixed, as `service::analysis::partition_keys`).
fn partition(a: Ipv4Addr) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in a.octets() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    (h ^ h >> 31).max(1) % 2
}

/// A NetFlow v5 datagram of (src, dst) records.
fn v5(records: &[(Ipv4Addr, Ipv4Addr)], sequence: u32) -> Vec<u8> {
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
    /// Sightings read (from the exit line).
    sightings: u64,
    stderr: String,
}

/// An intel event of sensor `sensor` (id `SENSOR:N`), `second`s after
/// 05:00:00, from `src` to the listed 203.0.113.9.
fn intel_line(sensor: &str, n: usize, second: usize, src: &str) -> String {
    format!(
        r#"{{"id":"{sensor}:{n}","ts":"2026-11-29T05:00:{second:02}Z","sensor":"{sensor}","kind":"intel","input":"packet","match":{{"where":"ip.dst","value":"203.0.113.9"}},"indicator":{{"id":"7","type":"ip","value":"203.0.113.9","threat_type":"c2","feed":"f.csv"}},"flow":{{"src_ip":"{src}","dst_ip":"203.0.113.9","proto":"tcp"}}}}"#
    )
}

fn read_jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn analytics(dir: &Path, nats: u16, subject: &str, sightings: Option<&str>, durable: &str, config: &Path) -> Outcome {
    let out = dir.join(format!("{durable}.jsonl"));
    let reports = dir.join(format!("{durable}.reports.jsonl"));
    let run = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["analytics", "--nats", &format!("nats://127.0.0.1:{nats}"), "--subject", subject, "--durable", durable])
        .args(sightings.map(|s| ["--sightings", s]).into_iter().flatten())
        .args(["--idle-exit", "2", "--sensor", "an", "--config"])
        .arg(config)
        .arg("-o")
        .arg(&out)
        .arg("--reports")
        .arg(&reports)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    // "analytics: N messages (E events), M sightings, D redeliveries dropped"
    let stderr = String::from_utf8_lossy(&run.stderr);
    let sightings = stderr
        .lines()
        .find_map(|l| l.strip_prefix("analytics: ")?.split(", ").nth(1)?.strip_suffix(" sightings")?.parse().ok())
        .unwrap_or_else(|| panic!("no exit line: {stderr}"));
    Outcome { lines: read_jsonl(&out), reports: read_jsonl(&reports), sightings, stderr: stderr.to_string() }
}

/// What must not depend on how the stream was split.
#[derive(Debug, Default, PartialEq)]
struct Comparable {
    passed: Vec<String>,
    summaries: Vec<(String, u64)>,
    /// (rule, host, events, id)
    incidents: Vec<(String, String, Vec<String>, String)>,
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
                        l["id"].as_str().unwrap().to_string(),
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

/// A fresh directory for the test `tag` and a JetStream server storing in
/// it: (directory, port, server).
fn with_nats(tag: &str) -> (PathBuf, u16, common::NatsServer) {
    let dir = std::env::temp_dir().join(format!("sdn-analytics-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = common::free_tcp_port();
    let nats = common::NatsServer::start(port, &dir.join("js"));
    (dir, port, nats)
}

/// One sensor (`run` named `sensor`) publishes `records` to both streams,
/// up to `batch` events a message, and stops once both acknowledged every
/// event.
fn sensor(dir: &Path, nats_port: u16, feed: &Path, sensor: &str, records: &[(Ipv4Addr, Ipv4Addr)], batch: usize) {
    let (http, netflow) = (common::free_tcp_port(), common::free_udp_port());
    let cfg = dir.join(format!("{sensor}.toml"));
    std::fs::write(
        &cfg,
        format!(
            r#"[run]
sensor = "{sensor}"

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
name = "events"
url = "nats://127.0.0.1:{nats_port}"
stream = "SDN_EVENTS"
subject = "sdn.events.{{partition}}.{{kind}}.{{input}}"
partitions = 2
batch = {batch}
spool = "{}"

[[sink]]
type = "nats"
name = "sightings"
url = "nats://127.0.0.1:{nats_port}"
stream = "SDN_SIGHTINGS"
subject = "sdn.sightings.{{partition}}"
partitions = 2
partition_by = "indicator"
batch = {batch}
spool = "{}"
"#,
            dir.join(format!("spool-{sensor}-events")).display(),
            dir.join(format!("spool-{sensor}-sightings")).display(),
        ),
    )
    .unwrap();
    let run = common::start_run(&cfg, feed, http);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (i, chunk) in records.chunks(30).enumerate() {
        udp.send_to(&v5(chunk, (i * 30) as u32), ("127.0.0.1", netflow)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    // Every record is an intel event: on both streams.
    let expected = records.len() as f64;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = common::http_get(http, "/metrics").unwrap_or_default();
        // Events acknowledged (a batch's ack counts its events).
        let acked = |sink: &str| common::metric(&page, "sdn_sink_delivered_total", &format!("sink=\"{sink}\""));
        if acked("events") >= expected && acked("sightings") >= expected {
            // Every one of them, once: intel events only, all intel.
            assert_eq!((acked("events"), acked("sightings")), (expected, expected));
            let messages = common::metric(&page, "sdn_sink_detail", "name=\"acked_total\",sink=\"events\"");
            if batch == 1 {
                assert_eq!(messages, expected, "one event a message");
            } else {
                assert!(messages < expected, "{messages} messages for {expected} events");
            }
            break;
        }
        assert!(Instant::now() < deadline, "{sensor} did not publish {expected} events twice:\n{page}");
        std::thread::sleep(Duration::from_millis(100));
    }
    common::stop_run(run);
}

#[test]
fn two_partitioned_processes_give_what_one_gives() {
    let (dir, nats_port, _nats) = with_nats("scale");
    let feed = dir.join("feed.csv");
    let rows: String = LISTED.iter().chain(&SPLIT).enumerate().map(|(i, a)| format!("{i},ip,c2,{a},,\n")).collect();
    std::fs::write(&feed, format!("id,type,threat_type,ip,dns,value\n{rows}")).unwrap();
    // Sensor s: 40 hosts each reach 5 listed addresses and one of them
    // twice; hosts 0..9 also send 5 more flows to the first (throttled).
    let listed: Vec<Ipv4Addr> = LISTED.iter().map(|a| a.parse().unwrap()).collect();
    let mut records = Vec::new();
    for h in 0..40u8 {
        let host = Ipv4Addr::new(10, 1, 0, h);
        for j in 0..6usize {
            records.push((host, listed[(h as usize + j) % 5]));
        }
        if h < 10 {
            records.extend(std::iter::repeat_n((host, listed[0]), 5));
        }
    }
    // The SPLIT addresses: from a host in partition 0 here, in partition 1
    // at sensor t.
    let in_partition =
        |p: u64, net: u8| (0..=255u8).map(|x| Ipv4Addr::new(10, net, 0, x)).find(|a| partition(*a) == p).unwrap();
    let (split_s, split_t) = (in_partition(0, 3), in_partition(1, 4));
    let split: Vec<Ipv4Addr> = SPLIT.iter().map(|a| a.parse().unwrap()).collect();
    records.extend(split.iter().map(|&a| (split_s, a)));
    sensor(&dir, nats_port, &feed, "edge-s", &records, 1);
    // Sensor t: one host per listed address, once; and the SPLIT ones.
    let mut records: Vec<_> = (0..5u8).map(|h| (Ipv4Addr::new(10, 2, 0, h), listed[h as usize])).collect();
    records.extend(split.iter().map(|&a| (split_t, a)));
    // Sensor t sends batches: the stream holds both kinds of message.
    sensor(&dir, nats_port, &feed, "edge-t", &records, 16);

    let cfg = dir.join("analytics.toml");
    std::fs::write(
        &cfg,
        "[analytics]\nthrottle = 2\ntop_n = 1000\n\n\
         [[analytics.correlation]]\nname = \"three_indicators\"\ntype = \"distinct_indicators\"\nwithin = \"5m\"\nk = 3\n\n\
         [[analytics.correlation]]\nname = \"two_sensors\"\ntype = \"multi_sensor\"\nwithin = \"5m\"\nk = 2\n",
    )
    .unwrap();
    let p0 = analytics(&dir, nats_port, "sdn.events.0.>", Some("sdn.sightings.0"), "p0", &cfg);
    let p1 = analytics(&dir, nats_port, "sdn.events.1.>", Some("sdn.sightings.1"), "p1", &cfg);
    let all = analytics(&dir, nats_port, "sdn.events.>", None, "all", &cfg);
    let (split, single) = (comparable(&[&p0, &p1]), comparable(&[&all]));
    // Both partitions had work, of both streams, and the work is what one
    // process does.
    assert!(!p0.lines.is_empty() && !p1.lines.is_empty());
    assert!(p0.sightings > 0 && p1.sightings > 0, "{} {}", p0.sightings, p1.sightings);
    assert_eq!(p0.sightings + p1.sightings, 292 + 7, "every intel event once");
    assert_eq!(all.sightings, 0);
    // "analytics: N messages (E events), ...": t's batches held several.
    let counts = all.stderr.lines().find_map(|l| {
        let (m, rest) = l.strip_prefix("analytics: ")?.split_once(" messages (")?;
        Some((m.parse::<u64>().ok()?, rest.split_once(" events)")?.0.parse::<u64>().ok()?))
    });
    let (messages, events) = counts.unwrap_or_else(|| panic!("no exit line: {}", all.stderr));
    assert_eq!(events, 292 + 7, "every intel event once: {}", all.stderr);
    assert!(messages < events, "{}", all.stderr);
    let by_rule = |c: &Comparable, rule: &str| c.incidents.iter().filter(|i| i.0 == rule).count();
    assert_eq!(by_rule(&single, "three_indicators"), 40, "one incident per host of sensor s");
    // Every listed address was reported by both sensors.
    assert_eq!(by_rule(&single, "two_sensors"), 7);
    assert!(single.incidents.iter().filter(|i| i.0 == "two_sensors").all(|i| i.2.len() == 2));
    assert_eq!(single.summaries.len(), 10, "one summary per throttled host");
    // Hosts 0 and 5 reach the first address 7 times, the other 8 hosts 6
    // times; 2 pass.
    assert_eq!(single.summaries.iter().map(|(_, n)| n).sum::<u64>(), 2 * 5 + 8 * 4);
    assert_eq!(split, single);

    // Without the sightings, each process runs the multi-sensor rule over
    // its hosts' events only: the SPLIT addresses never meet.
    let q0 = analytics(&dir, nats_port, "sdn.events.0.>", None, "q0", &cfg);
    let q1 = analytics(&dir, nats_port, "sdn.events.1.>", None, "q1", &cfg);
    assert_eq!(by_rule(&comparable(&[&q0, &q1]), "two_sensors"), 5);
    // Each says so; the one that takes everything does not.
    assert!(q0.stderr.contains("give --sightings"), "{}", q0.stderr);
    assert!(!all.stderr.contains("give --sightings"), "{}", all.stderr);
    std::fs::remove_dir_all(&dir).ok();
}

/// Creates `stream` (subjects `PREFIX.>`) on the local server and publishes
/// `lines` to `PREFIX.e`, 512 acknowledgements in flight.
fn publish(port: u16, stream: &str, prefix: &str, lines: &[String]) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = async_nats::connect(format!("127.0.0.1:{port}")).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.create_stream(async_nats::jetstream::stream::Config {
            name: stream.into(),
            subjects: vec![format!("{prefix}.>")],
            ..Default::default()
        })
        .await
        .unwrap();
        let mut acks = std::collections::VecDeque::new();
        for (i, l) in lines.iter().enumerate() {
            // Several lines: a batch, as a sensor's NATS sink names them.
            let mut headers = async_nats::HeaderMap::new();
            if l.contains('\n') {
                headers.insert("Nats-Msg-Id", format!("batch:{i}").as_str());
            }
            let send = js.publish_with_headers(format!("{prefix}.e"), headers, l.clone().into_bytes().into());
            acks.push_back(send.await.unwrap());
            if acks.len() >= 512 {
                acks.pop_front().unwrap().await.unwrap();
            }
        }
        for a in acks {
            a.await.unwrap();
        }
    });
}

/// `analytics` started before any sensor created its stream waits for it
/// (sensors create their streams when they first publish), then reads it.
#[test]
fn analytics_waits_for_its_stream() {
    let (dir, nats_port, _nats) = with_nats("wait");
    let out = dir.join("out.jsonl");
    let mut run = common::Guard(
        Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
            .args(["analytics", "--nats", &format!("nats://127.0.0.1:{nats_port}"), "--stream", "LATER"])
            .args(["--subject", "later.>", "--durable", "w", "--idle-exit", "3", "-o"])
            .arg(&out)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(run.try_wait().unwrap().is_none(), "analytics gave up before the stream existed");
    publish(nats_port, "LATER", "later", &[intel_line("late", 1, 0, "10.0.0.1")]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = run.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "analytics did not exit after the stream went idle");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(run.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(err.contains("analytics: 1 messages"), "{err}");
    assert!(err.contains("stream not found; waiting for a sensor to create it"), "{err}");
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"late:1\""));
    std::fs::remove_dir_all(&dir).ok();
}

/// `analytics` hands what it makes (summaries, incidents, reports) to the
/// configuration's `[[sink]]`s, not the events it read (they are on the
/// bus already).
#[test]
fn analytics_results_go_to_its_sinks() {
    let (dir, nats_port, _nats) = with_nats("results");
    let lines: Vec<String> = (0..3).map(|i| intel_line("r", i, i, "10.0.0.1")).collect();
    publish(nats_port, "RES", "res", &lines);
    let (results, out) = (dir.join("results.jsonl"), dir.join("out.jsonl"));
    let cfg = dir.join("analytics.toml");
    std::fs::write(
        &cfg,
        format!("[analytics]\nthrottle = 1\n\n[[sink]]\ntype = \"jsonl\"\npath = \"{}\"\n", results.display()),
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["analytics", "--nats", &format!("nats://127.0.0.1:{nats_port}"), "--stream", "RES"])
        .args(["--subject", "res.>", "--durable", "r", "--idle-exit", "2", "--config"])
        .arg(&cfg)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (sunk, written) = (read_jsonl(&results), read_jsonl(&out));
    let kinds = |v: &[Value]| v.iter().map(|x| x["kind"].as_str().unwrap_or("report").to_string()).collect::<Vec<_>>();
    // One event passes, two are held back: the summary goes to the sink,
    // with the window's reports; the passing event does not.
    assert_eq!(kinds(&written), ["intel", "summary"]);
    let sunk_kinds = kinds(&sunk);
    assert_eq!(sunk_kinds.iter().filter(|k| *k == "summary").count(), 1, "{sunk_kinds:?}");
    assert!(!sunk_kinds.iter().any(|k| k == "intel"), "{sunk_kinds:?}");
    assert!(sunk_kinds.iter().any(|k| k == "report"), "{sunk_kinds:?}");
    assert_eq!(sunk.iter().find(|x| x["kind"] == "summary").unwrap()["summary"]["suppressed"], 2);
    std::fs::remove_dir_all(&dir).ok();
}

/// A partition that no process takes, and a durable that nobody reads,
/// are each reported (the stream fills silently otherwise); the subjects
/// this process takes are not.
#[test]
fn partitions_without_a_reader_are_reported() {
    let (dir, nats_port, _nats) = with_nats("coverage");
    let event = |id: usize| intel_line("cov", id, 0, &format!("10.0.0.{id}"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(format!("127.0.0.1:{nats_port}")).await.unwrap());
        let stream = js
            .create_stream(async_nats::jetstream::stream::Config {
                name: "COV".into(),
                subjects: vec!["cov.>".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        for (i, subject) in ["cov.0.e", "cov.0.e", "cov.1.e", "cov.1.e", "cov.2.e"].into_iter().enumerate() {
            js.publish(subject, event(i).into_bytes().into()).await.unwrap().await.unwrap();
        }
        // Partition 2's durable, left behind by a process that stopped.
        stream
            .create_consumer(async_nats::jetstream::consumer::pull::Config {
                durable_name: Some("gone".into()),
                filter_subject: "cov.2.>".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    });
    let run = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["analytics", "--nats", &format!("nats://127.0.0.1:{nats_port}"), "--stream", "COV"])
        .args(["--subject", "cov.0.>", "--durable", "p0", "--partition-check", "1", "--idle-exit", "4"])
        .args(["-o", "/dev/null"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("analytics: 2 messages"), "{err}");
    let uncovered: Vec<&str> = err.lines().filter(|l| l.contains("no consumer takes these subjects")).collect();
    assert_eq!(uncovered.len(), 1, "told once: {err}");
    assert!(uncovered[0].contains("cov.1.e (2 messages)"), "{err}");
    assert!(!uncovered[0].contains("cov.0.e") && !uncovered[0].contains("cov.2.e"), "{err}");
    let stalled: Vec<&str> = err.lines().filter(|l| l.contains("consumer not read since the last check")).collect();
    assert_eq!(stalled.len(), 1, "told once: {err}");
    assert!(stalled[0].contains("gone") && stalled[0].contains("pending=1"), "{err}");
    assert!(!err.contains("consumer=p0"), "this process reads its own durable: {err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A durable made by an older version (one acknowledgement covering every
/// earlier message, which dropped messages after a restart) is made again
/// with one per message, and continues after its last acknowledged message.
#[test]
fn an_old_durable_is_made_again_where_it_stood() {
    use async_nats::jetstream::consumer::{AckPolicy, pull};
    let (dir, nats_port, _nats) = with_nats("upgrade");
    let lines: Vec<String> = (0..5).map(|i| intel_line("up", i, i, &format!("10.0.0.{i}"))).collect();
    publish(nats_port, "UPG", "upg", &lines);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let policy = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            let js = async_nats::jetstream::new(async_nats::connect(format!("127.0.0.1:{nats_port}")).await.unwrap());
            let s = js.get_stream("UPG").await.unwrap();
            let mut c: async_nats::jetstream::consumer::PullConsumer = s.get_consumer("old").await.unwrap();
            c.info().await.unwrap().config.ack_policy
        })
    };
    // The old kind: two messages read, the second acknowledged (and with
    // it the first).
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(format!("127.0.0.1:{nats_port}")).await.unwrap());
        let s = js.get_stream("UPG").await.unwrap();
        let c = s
            .create_consumer(pull::Config {
                durable_name: Some("old".into()),
                filter_subject: "upg.>".into(),
                ack_policy: AckPolicy::All,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut batch = c.fetch().max_messages(2).messages().await.unwrap();
        let mut last = None;
        while let Some(m) = futures_util::StreamExt::next(&mut batch).await {
            last = Some(m.unwrap());
        }
        last.unwrap().double_ack().await.unwrap();
    });
    assert_eq!(policy(&rt), AckPolicy::All);
    let analytics = || {
        let out = dir.join("out.jsonl");
        let run = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
            .args(["analytics", "--nats", &format!("nats://127.0.0.1:{nats_port}"), "--stream", "UPG"])
            .args(["--subject", "upg.>", "--durable", "old", "--idle-exit", "2", "-o"])
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr).to_string();
        assert!(run.status.success(), "{err}");
        (err, std::fs::read_to_string(&out).unwrap())
    };
    let (err, out) = analytics();
    assert!(err.contains("making it again with one per message"), "{err}");
    assert!(err.contains("analytics: 3 messages"), "{err}");
    let ids: Vec<&str> = ["up:0", "up:1", "up:2", "up:3", "up:4"].into_iter().filter(|i| out.contains(i)).collect();
    assert_eq!(ids, ["up:2", "up:3", "up:4"]);
    assert_eq!(policy(&rt), AckPolicy::Explicit);
    // Once only: the next start finds it as it is now, all read.
    let (err, _) = analytics();
    assert!(!err.contains("making it again"), "{err}");
    assert!(err.contains("analytics: 0 messages"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The bus path's rate (not a check: run it by hand, in release):
/// `BUS_EVENTS=200000 [BUS_BATCH=64] cargo test --release --test analytics_scale -- --ignored --nocapture bus_rate`.
/// `bench analytics`' stream (572 B of JSON an event, the four correlation
/// rules) is published to a JetStream stream, then one `sdn-sensor
/// analytics` reads it all: fetch, JSON decoding, engine, output to
/// /dev/null. Its exit line gives messages/s from the first batch to the
/// last and the CPU seconds of the whole process.
#[test]
#[ignore]
fn bus_rate() {
    let n: usize = std::env::var("BUS_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    // BUS_BATCH=64: the events go 64 to a message, as a sensor's NATS sink
    // with `batch = 64` sends them.
    let batch: usize = std::env::var("BUS_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let (dir, nats_port, _nats) = with_nats("bus");
    let lines: Vec<String> = analytics::bench::stream(n).chunks(batch).map(|c| c.join("\n")).collect();
    let published = Instant::now();
    publish(nats_port, "BUS", "bus", &lines);
    let published = published.elapsed().as_secs_f64();
    let cfg = dir.join("analytics.toml");
    std::fs::write(
        &cfg,
        "[analytics]\n\
         [[analytics.correlation]]\nname = \"dns-connect\"\ntype = \"dns_then_connect\"\nwithin = \"60s\"\n\
         [[analytics.correlation]]\nname = \"spread\"\ntype = \"distinct_indicators\"\nwithin = \"60s\"\nk = 5\n\
         [[analytics.correlation]]\nname = \"types\"\ntype = \"distinct_types\"\nwithin = \"60s\"\nk = 3\n\
         [[analytics.correlation]]\nname = \"multi\"\ntype = \"multi_sensor\"\nwithin = \"60s\"\nk = 3\n",
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["analytics", "--nats", &format!("nats://127.0.0.1:{nats_port}"), "--stream", "BUS"])
        .args(["--subject", "bus.>", "--durable", "rate", "--idle-exit", "1", "-o", "/dev/null", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    println!("published {n} events in {published:.2} s ({:.0}/s)", n as f64 / published);
    println!("{}", err.lines().find(|l| l.starts_with("analytics: ")).unwrap_or("no exit line"));
    assert!(err.contains(&format!("analytics: {} messages ({n} events)", lines.len())), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
