//! `sdn-sensor run` publishing to NATS JetStream (a real `nats-server -js`
//! on 127.0.0.1): syslog lines arrive over TCP at a steady rate, each one
//! an event; the server is killed for OUTAGE (30 s) while traffic goes on,
//! then restarted with the same store. A test consumer reads the stream:
//! after dropping redeliveries by event id (at-least-once), every event is
//! there exactly once and in the order the lines were sent.

mod common;

use async_nats::jetstream::consumer::{AckPolicy, pull};
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const OUTAGE: Duration = Duration::from_secs(30);
const RATE: u64 = 1_000;
const STREAM: &str = "SDN_EVENTS";

/// Every message of the stream: (Nats-Msg-Id, body).
fn consume(port: u16) -> Vec<(String, Value)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let client = async_nats::connect(format!("127.0.0.1:{port}")).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(STREAM).await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let consumer = stream
            .get_or_create_consumer(
                "test",
                pull::Config { durable_name: Some("test".into()), ack_policy: AckPolicy::All, ..Default::default() },
            )
            .await
            .unwrap();
        let (mut out, mut seq) = (Vec::new(), 0);
        let deadline = Instant::now() + Duration::from_secs(120);
        while seq < last {
            assert!(Instant::now() < deadline, "read up to {seq} of {last}");
            let mut batch =
                consumer.fetch().max_messages(1000).expires(Duration::from_millis(500)).messages().await.unwrap();
            let mut tail = None;
            while let Some(m) = batch.next().await {
                let m = m.unwrap();
                seq = m.info().unwrap().stream_sequence;
                let id = m.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).unwrap().as_str().to_string();
                out.push((id, serde_json::from_slice(&m.payload).unwrap()));
                tail = Some(m);
            }
            if let Some(m) = tail {
                m.ack().await.unwrap();
            }
        }
        out
    })
}

#[test]
fn events_reach_jetstream_in_order_across_a_server_outage() {
    let dir = std::env::temp_dir().join(format!("sdn-run-nats-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (nats_port, syslog_port, http_port) =
        (common::free_tcp_port(), common::free_tcp_port(), common::free_tcp_port());
    let mut server = common::NatsServer::start(nats_port, &dir.join("store"));
    let feed = dir.join("feed.csv");
    std::fs::write(&feed, "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n").unwrap();
    let config = dir.join("sensor.toml");
    std::fs::write(
        &config,
        format!(
            r#"[run]
sensor = "edge-nats"

{listen}
[http]
listen = "127.0.0.1:{http_port}"

[[sink]]
type = "nats"
url = "nats://127.0.0.1:{nats_port}"
stream = "{STREAM}"
subject = "sdn.{{sensor}}.{{kind}}.{{input}}"
spool = "{}"
"#,
            dir.join("spool").display(),
            listen = common::listen_syslog_tcp(syslog_port)
        ),
    )
    .unwrap();
    let sensor = common::start_run(&config, &feed, http_port);

    // Steady traffic: RATE syslog lines a second over one TCP connection.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let sender = {
        let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
        std::thread::spawn(move || {
            let mut tcp = TcpStream::connect(("127.0.0.1", syslog_port)).unwrap();
            let start = Instant::now();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let due = start.elapsed().as_millis() as u64 * RATE / 1000;
                while n < due {
                    writeln!(tcp, "<13>Nov 29 14:00:00 fw01 sshd: seq={n} refused 203.0.113.66").unwrap();
                    n += 1;
                }
                sent.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    server.kill();
    let at_kill = sent.load(Ordering::Relaxed);
    std::thread::sleep(OUTAGE);
    let during = sent.load(Ordering::Relaxed) - at_kill;
    server.restart();
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    let total = sent.load(Ordering::Relaxed);

    // The spool drains and every event is acknowledged.
    let deadline = Instant::now() + Duration::from_secs(60);
    let page = loop {
        let page = common::http_get(http_port, "/metrics").unwrap_or_default();
        let acked = common::metric(&page, "sdn_sink_detail", "name=\"acked_total\"");
        let spool = common::metric(&page, "sdn_sink_detail", "name=\"spool_bytes\"");
        if (acked >= total as f64 && spool == 0.0) || Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    common::stop_run(sensor);

    let got = consume(nats_port);
    let mut seen = HashSet::new();
    let mut seqs = Vec::new();
    for (id, e) in &got {
        assert_eq!(e["id"].as_str(), Some(id.as_str()), "Nats-Msg-Id is the event id");
        if seen.insert(id.clone()) {
            let msg = e["syslog"]["message"].as_str().unwrap();
            let n: u64 = msg.split("seq=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
            seqs.push(n);
        }
    }
    let duplicates = got.len() - seqs.len();
    eprintln!(
        "sent {total} lines ({during} during the {} s outage); read {} messages, {duplicates} redelivered; spooled {}",
        OUTAGE.as_secs(),
        got.len(),
        common::metric(&page, "sdn_sink_detail", "name=\"spooled_total\"")
    );
    assert!(during > 0 && common::metric(&page, "sdn_sink_detail", "name=\"spooled_total\"") > 0.0, "{page}");
    assert_eq!(seqs, (0..total).collect::<Vec<_>>(), "every event once, in order");
    std::fs::remove_dir_all(&dir).ok();
}
