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
