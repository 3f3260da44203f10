//! A UDP flood of syslog and NetFlow v5 on 127.0.0.1 from one sending
//! thread, as fast as it can send, for FLOOD_SECS (60; SDN_FLOOD_SECS
//! overrides it): `run` must stay up, stay under its configured memory
//! bound, and account for every datagram: each one sent was either read
//! from a socket or dropped by the kernel (its socket drop counter); each
//! one read was either handed to the pipeline or dropped at the queue; and
//! each event was queued on the sink or counted as dropped there. All of it
//! is read from /metrics.

mod common;

use std::io::Read;
use std::net::{IpAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

const FLOOD_SECS: u64 = 60;
const MEMORY_LIMIT: u64 = 512 << 20;

fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[test]
fn a_udp_flood_is_survived_within_the_memory_bound_and_every_drop_is_counted() {
    let secs: u64 = std::env::var("SDN_FLOOD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(FLOOD_SECS);
    let dir = std::env::temp_dir().join(format!("sdn-flood-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.csv");
    std::fs::write(&feed, "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n2,ip,c2,198.51.100.7,,\n")
        .unwrap();
    let (syslog_port, netflow_port, http_port) =
        (common::free_udp_port(), common::free_udp_port(), common::free_tcp_port());
    let config = dir.join("flood.toml");
    std::fs::write(
        &config,
        format!(
            r#"[run]
memory_limit = "{MEMORY_LIMIT}"

[listen]
netflow = ["127.0.0.1:{netflow_port}"]
ipfix = []
sflow = []
syslog_udp = ["127.0.0.1:{syslog_port}"]
syslog_tcp = []
udp_queue = 1024

[http]
listen = "127.0.0.1:{http_port}"

[[sink]]
type = "jsonl"
path = "/dev/null"
queue = 4096
"#
        ),
    )
    .unwrap();
    let mut child = common::start_run(&config, &feed, http_port);
    let pid = child.id();

    // One core sends: syslog lines (1 in 10 names a listed address) and
    // NetFlow v5 datagrams of 30 records (1 in 100 addresses listed).
    let sender = std::thread::spawn(move || {
        let syslog = UdpSocket::bind("127.0.0.1:0").unwrap();
        syslog.connect(("127.0.0.1", syslog_port)).unwrap();
        let netflow = UdpSocket::bind("127.0.0.1:0").unwrap();
        netflow.connect(("127.0.0.1", netflow_port)).unwrap();
        let listed: Vec<IpAddr> = vec!["198.51.100.7".parse().unwrap()];
        let mut rng = sensor::synth::Rng::new(7);
        let flows: Vec<Vec<u8>> =
            (0..64).map(|i| sensor::bench_flows::v5_datagram(&mut rng, &listed, 10, i * 30)).collect();
        let lines: Vec<Vec<u8>> = (0..64)
            .map(|i| {
                let addr = if i % 10 == 0 { "203.0.113.66".to_string() } else { format!("192.0.2.{i}") };
                format!("<34>Oct 11 22:14:15 fw01 sshd[{i}]: Failed password for root from {addr} port 22 ssh2")
                    .into_bytes()
            })
            .collect();
        let (mut sent, mut errors) = (0u64, 0u64);
        let until = Instant::now() + Duration::from_secs(secs);
        let mut i = 0usize;
        while Instant::now() < until {
            for _ in 0..256 {
                let r = if i.is_multiple_of(2) {
                    syslog.send(&lines[i / 2 % 64])
                } else {
                    netflow.send(&flows[i / 2 % 64])
                };
                match r {
                    Ok(_) => sent += 1,
                    Err(_) => errors += 1,
                }
                i += 1;
            }
        }
        (sent, errors)
    });
    let mut peak = 0;
    let mut alive = true;
    while !sender.is_finished() {
        std::thread::sleep(Duration::from_millis(500));
        peak = peak.max(rss_of(pid));
        alive &= child.try_wait().unwrap().is_none();
    }
    let (sent, send_errors) = sender.join().unwrap();
    assert!(alive && child.try_wait().unwrap().is_none(), "the service died during the flood");

    // The backlog drains; then the counters stand still.
    let mut last = String::new();
    let page = loop {
        std::thread::sleep(Duration::from_millis(1500));
        let page = common::http_get(http_port, "/metrics").expect("/metrics during the flood");
        let now = format!(
            "{} {} {}",
            common::metric(&page, "sdn_listener_datagrams_total", ""),
            common::metric(&page, "sdn_received_total", ""),
            common::metric(&page, "sdn_sink_queued_total", "")
        );
        if now == last {
            break page;
        }
        last = now;
    };
    Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(child.wait().unwrap().success(), "{log}");

    let read = common::metric(&page, "sdn_listener_datagrams_total", "");
    let kernel = common::metric(&page, "sdn_listener_drops_total", "cause=\"kernel\"");
    let queue = common::metric(&page, "sdn_listener_drops_total", "cause=\"queue\"");
    let handled = common::metric(&page, "sdn_received_total", "");
    let events = common::metric(&page, "sdn_events_total", "");
    let queued = common::metric(&page, "sdn_sink_queued_total", "");
    let sink_drops = common::metric(&page, "sdn_sink_dropped_total", "");
    let peak_reported = common::metric(&page, "sdn_process_resident_peak_bytes", "");
    eprintln!(
        "{secs} s: sent {sent} datagrams ({:.0}/s, {send_errors} send errors); read {read}, kernel drops {kernel}, \
         queue drops {queue}, handled {handled}; events {events} (sink queued {queued}, dropped {sink_drops}); \
         peak RSS {} MiB sampled, {} MiB reported, bound {} MiB",
        sent as f64 / secs as f64,
        peak >> 20,
        peak_reported as u64 >> 20,
        MEMORY_LIMIT >> 20
    );
    assert!(sent > 0 && handled > 0.0);
    // Every datagram sent is read or dropped by the kernel, and counted.
    assert_eq!(read + kernel, sent as f64, "sent {sent}: read {read} + kernel drops {kernel}");
    // Every datagram read reaches the pipeline or is a counted queue drop.
    assert_eq!(handled + queue, read);
    // Every event is on the sink's queue or a counted sink drop.
    assert_eq!(queued + sink_drops, events);
    assert!(peak < MEMORY_LIMIT && (peak_reported as u64) < MEMORY_LIMIT, "peak RSS {peak} over {MEMORY_LIMIT}");
    std::fs::remove_dir_all(&dir).ok();
}
