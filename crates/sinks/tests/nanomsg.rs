//! The nanomsg sink against the real NNG (the `nng` crate), plus the exact
//! bytes on the wire. Timeouts are failure bounds only.

use nng::options::protocol::pubsub::Subscribe;
use nng::options::{Options, RecvBufferSize, RecvTimeout};
use nng::{Protocol, Socket};
use sinks::nanomsg::{self, Endpoint, NanomsgConfig, NanomsgError, Pattern};
use sinks::{Encoded, Sink, SinkStats};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(10);

fn event(i: usize) -> Arc<Encoded> {
    let json =
        format!(r#"{{"seq":{i},"kind":"intel","value":"198.51.100.{}","pad":"{}"}}"#, i % 256, "x".repeat(i % 97));
    Arc::new(Encoded {
        id: format!("test:{i}"),
        kind: "intel",
        input: "packet",
        json: json.into_bytes(),
        key: 0,
        indicator_key: 0,
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn tcp_url() -> String {
    format!("tcp://127.0.0.1:{}", free_port())
}

fn ipc_path(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let p = std::env::temp_dir().join(format!(
        "sdn-nanomsg-{}-{tag}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&p);
    p
}

fn start(url: &str, pattern: Pattern, bind: bool, capacity: usize) -> Sink {
    nanomsg::spawn("nanomsg-test", capacity, NanomsgConfig { url: url.to_string(), pattern, bind }).unwrap()
}

fn counter(sink: &Sink, name: &str) -> u64 {
    sink.extra_counters().into_iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no counter {name}")).1
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Queues every event (retrying while the queue is full).
fn send_all(sink: &Sink, events: impl IntoIterator<Item = Arc<Encoded>>) {
    for e in events {
        let deadline = Instant::now() + BOUND;
        while !sink.send(&e) {
            assert!(Instant::now() < deadline, "queue stayed full");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn nng_socket(p: Protocol) -> Socket {
    let s = Socket::new(p).unwrap();
    s.set_opt::<RecvTimeout>(Some(BOUND)).unwrap();
    s
}

fn nng_sub() -> Socket {
    let s = nng_socket(Protocol::Sub0);
    s.set_opt::<Subscribe>(Vec::new()).unwrap();
    s.set_opt::<RecvBufferSize>(8192).unwrap();
    s
}

/// Receives the events `range` in order, byte for byte.
fn expect_in_order(sock: &Socket, range: std::ops::Range<usize>) {
    for i in range {
        let m = sock.recv().unwrap_or_else(|e| panic!("event {i}: {e}"));
        assert_eq!(m.as_slice(), event(i).json.as_slice(), "event {i}");
    }
}

fn close(mut sink: Sink) -> Arc<SinkStats> {
    let stats = Arc::clone(sink.stats());
    assert!(sink.close(BOUND), "the sink did not finish");
    stats
}

#[test]
fn push_dials_nng_pull_10000_in_order() {
    let url = tcp_url();
    let pull = nng_socket(Protocol::Pull0);
    pull.listen(&url).unwrap();
    let sink = start(&url, Pattern::Push, false, 16384);
    send_all(&sink, (0..10_000).map(event));
    expect_in_order(&pull, 0..10_000);
    wait_for("delivered 10000", || SinkStats::get(&sink.stats().delivered) == 10_000);
    assert_eq!(counter(&sink, "connects_total"), 1);
    assert_eq!(counter(&sink, "peers"), 1);
    let stats = close(sink);
    assert_eq!(SinkStats::get(&stats.queued), 10_000);
    assert_eq!(SinkStats::get(&stats.delivered), 10_000);
    assert_eq!(SinkStats::get(&stats.failed), 0);
}

#[test]
fn push_started_before_the_listener_reconnects() {
    let url = tcp_url();
    let sink = start(&url, Pattern::Push, false, 1000);
    send_all(&sink, (0..500).map(event));
    wait_for("a refused dial", || counter(&sink, "connect_errors_total") >= 1);
    assert_eq!(SinkStats::get(&sink.stats().delivered), 0);
    let pull = nng_socket(Protocol::Pull0);
    pull.listen(&url).unwrap();
    expect_in_order(&pull, 0..500);
    send_all(&sink, (500..600).map(event));
    expect_in_order(&pull, 500..600);
    let stats = close(sink);
    assert_eq!(SinkStats::get(&stats.delivered), 600);
    assert_eq!(SinkStats::get(&stats.failed), 0);
}

#[test]
fn push_redials_after_the_peer_goes_away() {
    let url = tcp_url();
    let pull = nng_socket(Protocol::Pull0);
    pull.listen(&url).unwrap();
    let sink = start(&url, Pattern::Push, false, 1000);
    send_all(&sink, (0..100).map(event));
    expect_in_order(&pull, 0..100);
    wait_for("delivered 100", || SinkStats::get(&sink.stats().delivered) == 100);
    pull.close();
    drop(pull);
    wait_for("the disconnect", || counter(&sink, "disconnects_total") == 1 && counter(&sink, "peers") == 0);
    send_all(&sink, (100..200).map(event));
    let pull = nng_socket(Protocol::Pull0);
    pull.listen(&url).unwrap();
    expect_in_order(&pull, 100..200);
    assert_eq!(counter(&sink, "connects_total"), 2);
    close(sink);
}

#[test]
fn pub_binds_and_nng_sub_dials() {
    let url = tcp_url();
    let sink = start(&url, Pattern::Pub, true, 4096);
    // Nobody listens yet: PUB drops, and counts.
    send_all(&sink, (0..5).map(event));
    wait_for("5 no-peer drops", || counter(&sink, "no_peer_drops_total") == 5);

    let sub = nng_sub();
    sub.dial(&url).unwrap();
    wait_for("the subscriber", || counter(&sink, "peers") == 1);
    send_all(&sink, (0..2000).map(event));
    expect_in_order(&sub, 0..2000);

    // A second subscriber gets the same events.
    let sub2 = nng_sub();
    sub2.dial(&url).unwrap();
    wait_for("two subscribers", || counter(&sink, "peers") == 2);
    send_all(&sink, (2000..2100).map(event));
    expect_in_order(&sub, 2000..2100);
    expect_in_order(&sub2, 2000..2100);

    let stats = close(sink);
    assert_eq!(SinkStats::get(&stats.delivered), 2100);
    assert_eq!(SinkStats::get(&stats.failed), 0);
}

#[test]
fn push_binds_and_nng_pull_dials() {
    let url = tcp_url();
    let sink = start(&url, Pattern::Push, true, 1000);
    // Held until a peer comes.
    send_all(&sink, (0..500).map(event));
    let pull = nng_socket(Protocol::Pull0);
    pull.dial(&url).unwrap();
    expect_in_order(&pull, 0..500);
    send_all(&sink, (500..1000).map(event));
    expect_in_order(&pull, 500..1000);
    let stats = close(sink);
    assert_eq!(SinkStats::get(&stats.delivered), 1000);
}

#[test]
fn push_round_robins_over_two_pulls() {
    let url = tcp_url();
    let sink = start(&url, Pattern::Push, true, 4096);
    let pulls = [nng_socket(Protocol::Pull0), nng_socket(Protocol::Pull0)];
    for p in &pulls {
        p.dial(&url).unwrap();
    }
    wait_for("two peers", || counter(&sink, "peers") == 2);
    const N: usize = 2000;
    send_all(&sink, (0..N).map(event));
    let total = Arc::new(AtomicUsize::new(0));
    let got: Vec<Vec<u64>> = std::thread::scope(|s| {
        let hs: Vec<_> = pulls
            .iter()
            .map(|p| {
                let total = Arc::clone(&total);
                s.spawn(move || {
                    p.set_opt::<RecvTimeout>(Some(Duration::from_millis(50))).unwrap();
                    let deadline = Instant::now() + BOUND;
                    let mut seqs = Vec::new();
                    while total.load(Ordering::SeqCst) < N && Instant::now() < deadline {
                        if let Ok(m) = p.recv() {
                            let s = std::str::from_utf8(m.as_slice()).unwrap();
                            let seq = s["{\"seq\":".len()..].split(',').next().unwrap().parse::<u64>().unwrap();
                            seqs.push(seq);
                            total.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    seqs
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(got.iter().all(|g| !g.is_empty()), "both peers get events: {} and {}", got[0].len(), got[1].len());
    for g in &got {
        assert!(g.windows(2).all(|w| w[0] < w[1]), "each peer sees its share in order");
    }
    let mut all: Vec<u64> = got.concat();
    all.sort_unstable();
    assert_eq!(all, (0..N as u64).collect::<Vec<_>>());
    close(sink);
}

#[test]
fn wrong_protocol_peers_are_rejected_and_counted() {
    let url = tcp_url();
    let addr = url.strip_prefix("tcp://").unwrap().to_string();
    let sink = start(&url, Pattern::Push, true, 1000);

    // A PUB peer.
    let mut raw = TcpStream::connect(&addr).unwrap();
    raw.set_read_timeout(Some(BOUND)).unwrap();
    raw.write_all(&[0, b'S', b'P', 0, 0, 0x20, 0, 0]).unwrap();
    let mut head = [0u8; 8];
    raw.read_exact(&mut head).unwrap();
    assert_eq!(head, [0, b'S', b'P', 0, 0, 0x50, 0, 0], "our PUSH header");
    let mut rest = Vec::new();
    let _ = raw.read_to_end(&mut rest); // EOF (or a reset): we closed it
    assert!(rest.is_empty());
    wait_for("a handshake error", || counter(&sink, "handshake_errors_total") == 1);

    // Not SP at all.
    let mut http = TcpStream::connect(&addr).unwrap();
    http.set_read_timeout(Some(BOUND)).unwrap();
    http.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let _ = http.read_to_end(&mut Vec::new());
    wait_for("a second handshake error", || counter(&sink, "handshake_errors_total") == 2);
    assert_eq!(counter(&sink, "connects_total"), 0);
    assert!(SinkStats::get(&sink.stats().errors) >= 2);

    // nng SUB dialing our PUSH: rejected on both sides.
    let sub = nng_sub();
    sub.dial_async(&url).unwrap();
    wait_for("a third handshake error", || counter(&sink, "handshake_errors_total") >= 3);
    drop(sub);

    // Still works.
    send_all(&sink, (0..100).map(event));
    let pull = nng_socket(Protocol::Pull0);
    pull.dial(&url).unwrap();
    expect_in_order(&pull, 0..100);
    assert_eq!(counter(&sink, "connects_total"), 1);
    close(sink);
}

#[test]
fn push_dialing_a_pub_is_rejected_and_retried() {
    let url = tcp_url();
    let publisher = nng_socket(Protocol::Pub0);
    publisher.listen(&url).unwrap();
    let sink = start(&url, Pattern::Push, false, 100);
    wait_for("handshake errors", || counter(&sink, "handshake_errors_total") >= 2);
    assert_eq!(counter(&sink, "connects_total"), 0);
    close(sink);
}

#[test]
fn ipc_push_dial_and_pub_bind() {
    let path = ipc_path("push");
    let url = format!("ipc://{}", path.display());
    let pull = nng_socket(Protocol::Pull0);
    pull.listen(&url).unwrap();
    let sink = start(&url, Pattern::Push, false, 2000);
    send_all(&sink, (0..1000).map(event));
    expect_in_order(&pull, 0..1000);
    close(sink);

    let path = ipc_path("pub");
    let url = format!("ipc://{}", path.display());
    let sink = start(&url, Pattern::Pub, true, 2000);
    let sub = nng_sub();
    sub.dial(&url).unwrap();
    wait_for("the subscriber", || counter(&sink, "peers") == 1);
    send_all(&sink, (0..1000).map(event));
    expect_in_order(&sub, 0..1000);
    close(sink);
    assert!(!path.exists(), "the socket file is removed");
}

#[test]
fn ipc_bind_replaces_a_stale_socket_file() {
    let path = ipc_path("stale");
    drop(UnixListener::bind(&path).unwrap()); // leaves the file behind
    assert!(path.exists());
    let url = format!("ipc://{}", path.display());
    let sink = start(&url, Pattern::Push, true, 100);
    let pull = nng_socket(Protocol::Pull0);
    pull.dial(&url).unwrap();
    send_all(&sink, (0..10).map(event));
    expect_in_order(&pull, 0..10);
    close(sink);
}

/// The bytes themselves, without NNG: header, then length-prefixed frames
/// (TCP), or 0x01 + length (IPC).
#[test]
fn wire_format_tcp_and_ipc() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("tcp://{}", l.local_addr().unwrap());
    let sink = start(&url, Pattern::Push, false, 10);
    let (mut c, _) = l.accept().unwrap();
    c.set_read_timeout(Some(BOUND)).unwrap();
    let mut head = [0u8; 8];
    c.read_exact(&mut head).unwrap();
    assert_eq!(head, [0x00, b'S', b'P', 0x00, 0x00, 0x50, 0x00, 0x00]);
    c.write_all(&[0x00, b'S', b'P', 0x00, 0x00, 0x51, 0x00, 0x00]).unwrap();
    send_all(&sink, [event(7)]);
    let body = event(7).json.clone();
    let mut frame = vec![0u8; 8 + body.len()];
    c.read_exact(&mut frame).unwrap();
    assert_eq!(frame[..8], (body.len() as u64).to_be_bytes());
    assert_eq!(frame[8..], body[..]);
    close(sink);
    // Flushed, then closed.
    assert_eq!(c.read(&mut [0u8; 1]).unwrap(), 0);

    let path = ipc_path("wire");
    let l = UnixListener::bind(&path).unwrap();
    let sink = start(&format!("ipc://{}", path.display()), Pattern::Pub, false, 10);
    let (mut c, _) = l.accept().unwrap();
    c.set_read_timeout(Some(BOUND)).unwrap();
    c.read_exact(&mut head).unwrap();
    assert_eq!(head, [0x00, b'S', b'P', 0x00, 0x00, 0x20, 0x00, 0x00]);
    c.write_all(&[0x00, b'S', b'P', 0x00, 0x00, 0x21, 0x00, 0x00]).unwrap();
    wait_for("the subscriber", || counter(&sink, "peers") == 1);
    send_all(&sink, [event(8)]);
    let body = event(8).json.clone();
    let mut frame = vec![0u8; 9 + body.len()];
    c.read_exact(&mut frame).unwrap();
    assert_eq!(frame[0], 0x01);
    assert_eq!(frame[1..9], (body.len() as u64).to_be_bytes());
    assert_eq!(frame[9..], body[..]);
    close(sink);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn push_without_peer_gives_up_on_close_and_counts() {
    let url = tcp_url(); // nobody listens
    let sink = start(&url, Pattern::Push, false, 100);
    send_all(&sink, (0..10).map(event));
    let stats = close(sink);
    assert_eq!(SinkStats::get(&stats.failed), 10);
    assert_eq!(SinkStats::get(&stats.delivered), 0);
}

#[test]
fn pub_without_subscriber_drops_and_closes() {
    let url = tcp_url();
    let sink = start(&url, Pattern::Pub, true, 100);
    send_all(&sink, (0..10).map(event));
    wait_for("10 drops", || counter(&sink, "no_peer_drops_total") == 10);
    let stats = close(sink);
    assert_eq!(SinkStats::get(&stats.failed), 0);
    // The port is free again.
    TcpListener::bind(url.strip_prefix("tcp://").unwrap()).unwrap();
}

#[test]
fn bind_on_a_taken_port_fails_now() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("tcp://{}", l.local_addr().unwrap());
    let cfg = NanomsgConfig { url, pattern: Pattern::Push, bind: true };
    let err = nanomsg::spawn("x", 10, cfg).err().expect("the port is taken");
    assert!(matches!(err, NanomsgError::Bind { .. }), "{err}");
}

#[test]
fn urls() {
    let tcp = |h: &str, port| Endpoint::Tcp { host: h.to_string(), port };
    assert_eq!(Endpoint::parse("tcp://127.0.0.1:10001").unwrap(), tcp("127.0.0.1", 10001));
    assert_eq!(Endpoint::parse("tcp://localhost:10001").unwrap(), tcp("localhost", 10001));
    assert_eq!(Endpoint::parse("tcp://[::1]:10001").unwrap(), tcp("::1", 10001));
    assert_eq!(Endpoint::parse("tcp://*:10001").unwrap(), tcp("", 10001));
    assert_eq!(Endpoint::parse("ipc:///tmp/x.ipc").unwrap(), Endpoint::Ipc("/tmp/x.ipc".into()));
    assert_eq!(Endpoint::parse("tcp://[::1]:10001").unwrap().to_string(), "tcp://[::1]:10001");
    for bad in [
        "tcp://127.0.0.1",
        "tcp://::1:10001",
        "tcp://[::1]10001",
        "tcp://[zz]:1",
        "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:99999",
        "tcp://127.0.0.1:x",
        "ipc://",
        "inproc://a",
        "ws://127.0.0.1:80",
        "127.0.0.1:10001",
        "",
    ] {
        let e = Endpoint::parse(bad).expect_err(bad);
        assert!(e.to_string().contains("nanomsg url"), "{bad}: {e}");
    }
    let long = format!("ipc:///{}", "a".repeat(200));
    assert!(Endpoint::parse(&long).is_err());
    let dial_wildcard = NanomsgConfig { url: "tcp://*:10001".into(), pattern: Pattern::Push, bind: false };
    assert!(matches!(nanomsg::spawn("x", 1, dial_wildcard), Err(NanomsgError::InvalidUrl { .. })));
}

fn big_event(i: usize, size: usize) -> Arc<Encoded> {
    let head = format!(r#"{{"seq":{i},"pad":""#);
    let mut json = head.into_bytes();
    json.resize(size - 2, b'x');
    json.extend_from_slice(b"\"}");
    Arc::new(Encoded { id: format!("test:{i}"), kind: "intel", input: "packet", json, key: 0, indicator_key: 0 })
}

/// A subscriber that never reads does not hold back the others: it misses
/// events (counted), the reading one gets them all.
#[test]
fn pub_slow_subscriber_drops_without_blocking_the_others() {
    let url = tcp_url();
    let addr = url.strip_prefix("tcp://").unwrap().to_string();
    let sink = start(&url, Pattern::Pub, true, 256);
    let mut stuck = TcpStream::connect(&addr).unwrap();
    stuck.write_all(&[0, b'S', b'P', 0, 0, 0x21, 0, 0]).unwrap();
    let sub = nng_sub();
    sub.dial(&url).unwrap();
    wait_for("two subscribers", || counter(&sink, "peers") == 2);

    // 3000 x 16 KiB = 48 MiB: more than the stuck peer's socket buffers
    // and its queue can hold.
    const N: usize = 3000;
    const SIZE: usize = 16 * 1024;
    // The sender keeps at most 64 events ahead of the reading subscriber
    // (its peer queue holds 256): that one never falls behind, however fast
    // the build, while the stuck one does.
    let got = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            for i in 0..N {
                let m = sub.recv().unwrap_or_else(|e| panic!("event {i}: {e}"));
                assert_eq!(m.as_slice(), big_event(i, SIZE).json.as_slice(), "event {i}");
                got.store(i + 1, std::sync::atomic::Ordering::Release);
            }
        });
        for i in 0..N {
            let deadline = Instant::now() + BOUND;
            while i >= got.load(std::sync::atomic::Ordering::Acquire) + 64 {
                assert!(Instant::now() < deadline && !reader.is_finished(), "the reader stopped at {i}");
                std::thread::sleep(Duration::from_micros(100));
            }
            send_all(&sink, [big_event(i, SIZE)]);
        }
        reader.join().unwrap();
    });
    assert!(counter(&sink, "peer_drops_total") > 0);
    assert_eq!(SinkStats::get(&sink.stats().delivered), N as u64);
    let stats = close(sink);
    assert_eq!(SinkStats::get(&stats.failed), 0);
    drop(stuck);
}

#[test]
fn oversized_events_are_dropped_and_counted() {
    let url = tcp_url();
    let pull = nng_socket(Protocol::Pull0);
    pull.listen(&url).unwrap();
    let sink = start(&url, Pattern::Push, false, 100);
    send_all(&sink, [event(0), big_event(1, nanomsg::MAX_MESSAGE + 1), event(2)]);
    expect_in_order(&pull, 0..1);
    let m = pull.recv().unwrap();
    assert_eq!(m.as_slice(), event(2).json.as_slice());
    let stats = close(sink);
    assert_eq!(SinkStats::get(&stats.failed), 1);
    assert_eq!(SinkStats::get(&stats.delivered), 2);
}

#[test]
fn push_with_no_peer_and_a_full_queue_still_closes_and_counts_everything() {
    let sink = start(&tcp_url(), Pattern::Push, false, 8);
    // The worker holds 8, the queue 8 more; the rest are queue drops.
    let mut accepted = 0;
    for i in 0..100 {
        if sink.send(&event(i)) {
            accepted += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!((8..100).contains(&accepted), "{accepted}");
    let started = Instant::now();
    let stats = close(sink);
    assert!(started.elapsed() < Duration::from_secs(8), "close took {:?}", started.elapsed());
    let (queued, delivered, failed, dropped) = (
        SinkStats::get(&stats.queued),
        SinkStats::get(&stats.delivered),
        SinkStats::get(&stats.failed),
        SinkStats::get(&stats.queue_full),
    );
    assert_eq!(delivered, 0);
    assert_eq!(queued, accepted as u64);
    assert_eq!(failed, queued, "every queued event is accounted for");
    assert_eq!(queued + dropped, 100);
}
