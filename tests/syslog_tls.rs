//! Syslog over TLS (RFC 5425) end to end: `collect --syslog-tls` with a test
//! certificate made here (rcgen), a rustls client sending octet-counted
//! RFC 5424 messages; every one arrives parsed and its listed token is an
//! event. A bad key file is one clear error.

use serde_json::Value;
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn messages_over_tls_arrive_parsed() {
    let dir = std::env::temp_dir().join(format!("sdn-syslog-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
    let feed = dir.join("feed.csv");
    std::fs::write(&feed, "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n").unwrap();
    let out = dir.join("events.jsonl");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut collect = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["collect", "--syslog-tls", &format!("127.0.0.1:{port}"), "--tls-cert"])
        .arg(&cert_pem)
        .arg("--tls-key")
        .arg(&key_pem)
        .args(["--duration", "60", "-o"])
        .arg(&out)
        .arg("--intel")
        .arg(&feed)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let tcp = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) => {
                assert!(Instant::now() < deadline, "collect did not listen");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn = rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    for i in 0..3 {
        let msg = format!(
            "<38>1 2026-11-29T05:00:0{i}Z bastion sshd 4821 - - Failed password for root from 203.0.113.66 port 5{i}"
        );
        tls.write_all(format!("{} {msg}", msg.len()).as_bytes()).unwrap();
    }
    tls.flush().unwrap();
    tls.conn.send_close_notify();
    let _ = tls.flush();
    std::thread::sleep(Duration::from_millis(1500));
    Command::new("kill").args(["-TERM", &collect.id().to_string()]).status().unwrap();
    assert!(collect.wait().unwrap().success());
    let events: Vec<Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 3, "{events:#?}");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["input"], "syslog");
        assert_eq!(e["match"]["where"], "syslog.token");
        assert_eq!(e["syslog"]["app_name"], "sshd");
        assert_eq!(e["syslog"]["hostname"], "bastion");
        assert_eq!(e["syslog"]["version"], 1);
        assert_eq!(e["syslog"]["message"], format!("Failed password for root from 203.0.113.66 port 5{i}"));
    }

    // A key file that is not a key: one line naming it, exit status 2.
    std::fs::write(&key_pem, "not a key\n").unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["collect", "--syslog-tls", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert_pem)
        .arg("--tls-key")
        .arg(&key_pem)
        .args(["--duration", "1", "--intel"])
        .arg(&feed)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("key.pem: no private key"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
