//! The TCP syslog receiver against slow and hostile peers: none of them
//! stops a well-behaved peer's messages from arriving, and memory stays
//! bounded (each buffer is capped; connections beyond the limit evict the
//! longest-idle one).

use sensor::listen_tcp::{TcpLimits, TcpReceiver};
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn receiver(limits: TcpLimits) -> TcpReceiver {
    TcpReceiver::bind("127.0.0.1:0".parse().unwrap(), limits).unwrap()
}

/// Sends `n` octet-counted messages and waits until all arrive (or fails
/// after `within`).
fn good_peer_gets_through(rx: &TcpReceiver, n: usize, within: Duration) {
    let mut good = TcpStream::connect(rx.local_addr()).unwrap();
    for i in 0..n {
        let msg = format!("<13>Nov 29 05:00:00 good app: message {i}");
        good.write_all(format!("{} {msg}", msg.len()).as_bytes()).unwrap();
    }
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < deadline, "only {} of {n} good messages arrived", got.len());
        if let Some(m) = rx.recv(Duration::from_millis(50)) {
            let text = String::from_utf8_lossy(m.bytes()).into_owned();
            if text.contains(" good app: ") {
                got.push(text);
            }
            rx.recycle(m);
        }
    }
    assert_eq!(got.last().unwrap(), &format!("<13>Nov 29 05:00:00 good app: message {}", n - 1));
}

#[test]
fn a_peer_sending_one_byte_a_second_does_not_hold_others_up() {
    let rx = receiver(TcpLimits::default());
    let mut slow = TcpStream::connect(rx.local_addr()).unwrap();
    let slow_thread = std::thread::spawn(move || {
        for b in b"<13>Nov 29 05:00:00 slow app: drip" {
            if slow.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    good_peer_gets_through(&rx, 100, Duration::from_secs(3));
    drop(slow_thread);
}

#[test]
fn a_frame_that_never_ends_is_cut_off_not_buffered() {
    let limits = TcpLimits { max_message: 4096, ..TcpLimits::default() };
    let rx = receiver(limits);
    let mut endless = TcpStream::connect(rx.local_addr()).unwrap();
    // 1 MiB without a line end: the framer delivers the first max_message
    // octets as a (truncated) message and drops the rest as it streams in,
    // so nothing past max_message is ever held.
    let chunk = vec![b'x'; 64 << 10];
    for _ in 0..16 {
        endless.write_all(&chunk).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "the endless frame was not cut off");
        if let Some(m) = rx.recv(Duration::from_millis(50)) {
            assert!(m.bytes().len() <= 4096, "a message longer than max_message");
            let cut = m.bytes().len() == 4096 && m.bytes().iter().all(|&b| b == b'x');
            rx.recycle(m);
            if cut {
                break;
            }
        }
    }
    good_peer_gets_through(&rx, 10, Duration::from_secs(3));
}

#[test]
fn a_two_gigabyte_octet_count_is_skipped_as_it_streams() {
    let rx = receiver(TcpLimits { max_message: 4096, ..TcpLimits::default() });
    let mut liar = TcpStream::connect(rx.local_addr()).unwrap();
    liar.write_all(b"2000000000 <13>").unwrap();
    let chunk = vec![b'y'; 64 << 10];
    for _ in 0..64 {
        // 4 MiB of the claimed 2 GB: skipped, never held.
        liar.write_all(&chunk).unwrap();
    }
    good_peer_gets_through(&rx, 10, Duration::from_secs(3));
    assert_eq!(rx.stats().oversized_closed.load(Ordering::Relaxed), 0, "skipping is not an overflow");
}

/// The soft limit on open files, raised to the hard limit first (with
/// util-linux's `prlimit` on this process): 10,000 client sockets plus the
/// receiver's need more than the usual 1024.
fn raise_open_files() -> u64 {
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("prlimit").args(["--pid", &pid, "--nofile=unlimited:"]).status();
    let hard = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("Max open files")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(4).and_then(|h| h.parse::<u64>().ok()));
    if let Some(hard) = hard {
        let _ = std::process::Command::new("prlimit").args(["--pid", &pid, &format!("--nofile={hard}:")]).status();
    }
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("Max open files")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(3).and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

#[test]
fn ten_thousand_idle_connections_do_not_lock_out_a_sender() {
    let soft = raise_open_files();
    assert!(soft >= 12_000, "this test needs 12,000 open files (soft limit {soft}); raise `ulimit -n`");
    let rx = receiver(TcpLimits { max_connections: 1024, ..TcpLimits::default() });
    let mut idle = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        match TcpStream::connect(rx.local_addr()) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connection {}: {e}", idle.len()),
        }
    }
    // Let the receiver accept (and evict) them.
    let deadline = Instant::now() + Duration::from_secs(20);
    while rx.stats().accepted.load(Ordering::Relaxed) < 10_000 {
        assert!(Instant::now() < deadline, "accepted {}", rx.stats().accepted.load(Ordering::Relaxed));
        std::thread::sleep(Duration::from_millis(20));
    }
    good_peer_gets_through(&rx, 10, Duration::from_secs(5));
    assert!(rx.stats().evicted.load(Ordering::Relaxed) >= 10_000 - 1024);
}
