//! Helpers the service tests share: free ports, a plain HTTP GET, reading
//! a /metrics page.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// GET a path from 127.0.0.1:port: the body of a 200 answer, or None.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    // Only a 200 counts (/healthz answers 503 while the service starts).
    if !body.starts_with("HTTP/1.1 200") {
        return None;
    }
    body.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// The sum of the samples of family `name` whose labels contain `labels`
/// (all of them for ""), or None when there is none.
pub fn metric_opt(page: &str, name: &str, labels: &str) -> Option<f64> {
    let mut found = None;
    for l in page.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, v)) = l.rsplit_once(' ') else { continue };
        let (n, rest) = key.split_once('{').unwrap_or((key, ""));
        if n == name && rest.contains(labels) {
            *found.get_or_insert(0.0) += v.parse::<f64>().unwrap();
        }
    }
    found
}

/// As `metric_opt`, 0 when absent.
pub fn metric(page: &str, name: &str, labels: &str) -> f64 {
    metric_opt(page, name, labels).unwrap_or(0.0)
}

/// A child process killed when dropped, so a failing test leaves no
/// service running behind it.
pub struct Guard(pub std::process::Child);

impl Guard {
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl std::ops::Deref for Guard {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// GET with optional headers: (status code, body).
pub fn http_request(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.get(9..12)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// `sdn-sensor run --config CONFIG --intel FEED` with stderr captured,
/// returned once /healthz on `http_port` answers 200.
pub fn start_run(config: &std::path::Path, feed: &std::path::Path, http_port: u16) -> Guard {
    let mut child = Guard(
        std::process::Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
            .args(["run", "--config"])
            .arg(config)
            .arg("--intel")
            .arg(feed)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while http_get(http_port, "/healthz").is_none() {
        if std::time::Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            panic!("run did not start: {}", stop_run(child));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// SIGTERM, then its log (stderr); panics when it did not exit cleanly.
pub fn stop_run(mut child: Guard) -> String {
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let mut log = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut log);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "run failed ({status}): {log}");
    log
}

/// A `nats-server -js` on 127.0.0.1 with its own store, killed on drop.
pub struct NatsServer {
    child: Option<std::process::Child>,
    port: u16,
    store: std::path::PathBuf,
}

impl NatsServer {
    pub fn start(port: u16, store: &std::path::Path) -> NatsServer {
        let mut s = NatsServer { child: None, port, store: store.to_path_buf() };
        s.restart();
        s
    }

    /// Starts it again (same port, same store) after `kill`.
    pub fn restart(&mut self) {
        let child = std::process::Command::new("/usr/sbin/nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(&self.store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server (scripts/setup.sh installs it)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the server goes away without a goodbye.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn testdata() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("SDN_TESTDATA"))
}

type Tally = std::collections::BTreeMap<(String, String), usize>;

/// From nfdump's CSV of softflowd's NetFlow v`version` export of
/// generated/softflowd/input_mixed.pcap: flows per (flow.src|flow.dst,
/// address) for the `listed` addresses.
pub fn nfdump_expected(version: u32, listed: &[&str]) -> Tally {
    let csv =
        std::fs::read_to_string(testdata().join(format!("generated/softflowd/sf_v{version}.nfdump.csv"))).unwrap();
    let mut t = Tally::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 5 || f[0].is_empty() || !f[0].starts_with("20") {
            continue;
        }
        for (at, addr) in [("flow.src", f[3]), ("flow.dst", f[4])] {
            if listed.contains(&addr) {
                *t.entry((at.to_string(), addr.to_string())).or_default() += 1;
            }
        }
    }
    t
}

/// From tshark's decode of pmacctd sfprobe's sFlow export of the same
/// capture: sampled headers per (flow.src|flow.dst, address) for `listed`.
pub fn sflow_expected(listed: &[&str]) -> Tally {
    let oracle = std::fs::read_to_string(
        testdata().join("oracle/sflow/generated__pmacctd-sfprobe__sfprobe_export.tshark.jsonl"),
    )
    .unwrap();
    let mut want = Tally::new();
    for line in oracle.lines().skip(1) {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        for (at, key) in [("flow.src", "src"), ("flow.dst", "dst")] {
            if let Some(a) = r["header"][key].as_str().filter(|a| listed.contains(a)) {
                *want.entry((at.to_string(), a.to_string())).or_default() += 1;
            }
        }
    }
    want
}

/// An IPv4 address as the frame builder takes it.
pub fn v4(s: &str) -> u32 {
    u32::from(s.parse::<std::net::Ipv4Addr>().unwrap())
}

/// A UDP datagram with a 4-byte payload, in Ethernet.
pub fn udp_frame(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    sensor::synth::FrameBuilder::ethernet(&[], 0x0800).ipv4(v4(src), v4(dst), 17, 8 + 4).udp(sport, dport, 4).finish()
}

/// A TCP SYN to port 443, in Ethernet.
pub fn syn_frame(src: &str, dst: &str) -> Vec<u8> {
    sensor::synth::FrameBuilder::ethernet(&[], 0x0800).ipv4(v4(src), v4(dst), 6, 20).tcp(50_000, 443, 0x02, 0).finish()
}

/// A pcap (µs, Ethernet) of `frames` at their times (µs since the epoch).
pub fn write_pcap(path: &std::path::Path, frames: &[(u64, Vec<u8>)]) {
    let mut out = Vec::new();
    sensor::synth::write_pcap_timed(&mut out, frames).unwrap();
    std::fs::write(path, out).unwrap();
}

/// The `[listen]` section of a test service that only takes syslog over
/// TCP on 127.0.0.1:`port`.
pub fn listen_syslog_tcp(port: u16) -> String {
    format!("[listen]\nnetflow = []\nipfix = []\nsflow = []\nsyslog_udp = []\nsyslog_tcp = [\"127.0.0.1:{port}\"]\n")
}

/// Two listed addresses: 203.0.113.66 (c2) and 198.51.100.7 (scanner).
pub const TWO_IP_FEED: &str = "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n2,ip,scanner,198.51.100.7,,\n";

/// A watchlist a SOC might start with, which the corpus hits: the private
/// ranges (so every internal host is seen), and public addresses and
/// domains of the captures (several inputs; hosts hitting two indicators).
pub const CORPUS_WATCHLIST: &str = "id,type,threat_type,ip,dns,value\n\
     1,cidr,internal,,,10.0.0.0/8\n\
     2,cidr,internal,,,192.168.0.0/16\n\
     3,cidr,internal,,,172.16.0.0/12\n\
     4,ip,c2,208.80.152.2,,\n\
     5,ip,c2,209.87.249.18,,\n\
     6,domain,c2,,wikipedia.org,\n\
     7,domain,c2,,example.com,\n";

/// A service with the analytics stage: `[run] sensor` when given, the
/// `listen` section, HTTP on 127.0.0.1:`http` with the `auth` lines, events
/// to the JSONL file `events`, the store at `db`, 3 events per throttle key
/// and the two-indicator correlation (`two_indicators`: k = 2 within 5m).
pub fn analytics_config(
    sensor: Option<&str>,
    listen: &str,
    http: u16,
    auth: &str,
    events: &std::path::Path,
    db: &std::path::Path,
) -> String {
    let run = sensor.map_or(String::new(), |s| format!("[run]\nsensor = \"{s}\"\n\n"));
    format!(
        "{run}{listen}\n[http]\nlisten = \"127.0.0.1:{http}\"\n{auth}\n\n[[sink]]\ntype = \"jsonl\"\npath = \"{}\"\n\n\
         [analytics]\nenabled = true\nthrottle = 3\nstore = \"{}\"\n\n[[analytics.correlation]]\n\
         name = \"two_indicators\"\ntype = \"distinct_indicators\"\nwithin = \"5m\"\nk = 2\n",
        events.display(),
        db.display()
    )
}

/// [`analytics_config`] for replayed captures (no listeners).
pub fn corpus_config(http: u16, events: &std::path::Path, db: &std::path::Path) -> String {
    let listen = "[listen]\nnetflow = []\nipfix = []\nsflow = []\nsyslog_udp = []\nsyslog_tcp = []\n";
    analytics_config(None, listen, http, "", events, db)
}

/// `sdn-sensor run --config CONFIG --intel FEED --replay CAPTURES...`: the
/// captures through the whole service, which then stops; it must succeed
/// (damaged captures are logged and the rest goes on).
pub fn run_replay(config: &std::path::Path, feed: &std::path::Path, captures: &[std::path::PathBuf]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["run", "--config"])
        .arg(config)
        .arg("--intel")
        .arg(feed)
        .arg("--replay")
        .args(captures)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
