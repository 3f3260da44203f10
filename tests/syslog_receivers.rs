//! End-to-end: `logger` (util-linux) sends RFC 3164 and RFC 5424 messages
//! over UDP and TCP (LF-framed and octet-counted) to `sdn-sensor collect`
//! on 127.0.0.1; every message arrives parsed, and its listed token is an
//! event.

use serde_json::Value;
use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_ports() -> (u16, u16) {
    let u = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let t = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    (u, t)
}

#[test]
fn logger_messages_arrive_parsed_over_udp_and_tcp() {
    let dir = std::env::temp_dir().join(format!("sdn-syslog-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.csv");
    std::fs::write(&feed, "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n2,domain,c2,,evil.example.com,\n")
        .unwrap();
    let out = dir.join("events.jsonl");
    let (udp, tcp) = free_ports();
    let mut collect = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["collect", "--syslog-udp", &format!("127.0.0.1:{udp}"), "--syslog-tcp", &format!("127.0.0.1:{tcp}")])
        .args(["--duration", "60", "-o"])
        .arg(&out)
        .arg("--intel")
        .arg(&feed)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", tcp)).is_err() {
        assert!(Instant::now() < deadline, "collect did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let cases: [(&[&str], &str); 5] = [
        (&["--udp", "--rfc3164"], "udp-3164 blocked 203.0.113.66"),
        (&["--udp", "--rfc5424"], "udp-5424 lookup www.evil.example.com"),
        (&["--tcp", "--rfc3164"], "tcp-3164 blocked 203.0.113.66"),
        (&["--tcp", "--rfc5424"], "tcp-5424 lookup www.evil.example.com"),
        (&["--tcp", "--rfc5424", "--octet-count"], "tcp-octet blocked 203.0.113.66"),
    ];
    for (flags, msg) in cases {
        let port = if flags.contains(&"--udp") { udp } else { tcp };
        let status = Command::new("logger")
            .args(["--server", "127.0.0.1", "--port", &port.to_string(), "--tag", "e2etest"])
            .args(flags)
            .arg(msg)
            .status()
            .expect("logger (util-linux) runs");
        assert!(status.success(), "logger {flags:?}");
    }
    std::thread::sleep(Duration::from_millis(1500));
    Command::new("kill").args(["-TERM", &collect.id().to_string()]).status().unwrap();
    let status = collect.wait().unwrap();
    assert!(status.success());
    let events: Vec<Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    std::fs::remove_dir_all(&dir).ok();
    for (flags, msg) in cases {
        let e = events
            .iter()
            .find(|e| e["syslog"]["message"].as_str().is_some_and(|m| m.ends_with(msg)))
            .unwrap_or_else(|| panic!("no event for {flags:?} {msg:?}: {events:#?}"));
        assert_eq!(e["input"], "syslog");
        assert_eq!(e["kind"], "intel");
        assert_eq!(e["match"]["where"], "syslog.token");
        assert_eq!(e["syslog"]["app_name"], "e2etest", "{e}");
        assert_eq!(e["syslog"]["host"], "127.0.0.1");
        let version = if flags.contains(&"--rfc5424") { 1 } else { 0 };
        assert_eq!(e["syslog"]["version"], version, "{e}");
        let token = e["syslog"]["token"].as_str().unwrap();
        assert!(msg.contains(token), "{token} in {msg}");
    }
    assert_eq!(events.len(), 5, "{events:#?}");
}
