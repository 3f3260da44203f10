//! `replay --analytics` on the capture's own clock (issue 8, acceptance 3):
//! a host sending 500 packets to a listed address within a minute gives at
//! most N intel events for that key plus summary events whose `suppressed`
//! counts add up to the rest; a host that resolves a listed domain and then
//! connects to an address of the answer gives one incident naming both
//! events.

mod common;

use common::{syn_frame, udp_frame, v4, write_pcap};
use sensor::synth::{dns_frame, dns_response};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const THROTTLE: usize = 3;

#[test]
fn throttling_summaries_and_a_dns_then_connect_incident() {
    let dir = std::env::temp_dir().join(format!("sdn-analytics-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.csv");
    std::fs::write(
        &feed,
        "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n2,domain,c2,,evil.example,\n3,ip,c2,198.51.100.77,,\n",
    )
    .unwrap();
    let config = dir.join("analytics.toml");
    std::fs::write(
        &config,
        format!(
            "[analytics]\nthrottle = {THROTTLE}\nwindow = \"60s\"\n\n[[analytics.correlation]]\nname = \"resolved_then_connected\"\ntype = \"dns_then_connect\"\nwithin = \"5m\"\n"
        ),
    )
    .unwrap();
    // 500 packets from 10.0.0.9 to the listed 203.0.113.66 within one
    // minute (starting on a window boundary), then 10.0.0.5 resolves
    // evil.example (answer 198.51.100.77) and connects to it.
    let t0 = 1_795_928_400_000_000u64; // a multiple of 60 s
    let mut frames: Vec<(u64, Vec<u8>)> = (0..500u64)
        .map(|i| (t0 + i * 100_000, udp_frame("10.0.0.9", "203.0.113.66", 40_000 + i as u16, 9999)))
        .collect();
    let dns = dns_response(7, "www.evil.example", "cdn.evil.example", [198, 51, 100, 77]);
    frames.push((t0 + 51_000_000, dns_frame(&dns, v4("10.0.0.5"), v4("192.0.2.53"))));
    frames.push((t0 + 52_000_000, syn_frame("10.0.0.5", "198.51.100.77")));
    let capture = dir.join("t.pcap");
    write_pcap(&capture, &frames);

    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .arg("replay")
        .arg(&capture)
        .args(["--analytics", "--sensor", "edge-a", "--intel"])
        .arg(&feed)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Every line, derived summaries and incidents included, is an event of
    // the contract.
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/event.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    for e in &events {
        assert!(validator.is_valid(e), "{e} violates the schema");
    }
    let flood = |e: &&Value| e["flow"]["src_ip"] == "10.0.0.9" && e["match"]["value"] == "203.0.113.66";
    let intel = events.iter().filter(|e| e["kind"] == "intel").filter(flood).count();
    let summaries: Vec<&Value> = events.iter().filter(|e| e["kind"] == "summary").filter(flood).collect();
    assert!(intel <= THROTTLE, "{intel} intel events passed");
    let suppressed: u64 = summaries.iter().map(|s| s["summary"]["suppressed"].as_u64().unwrap()).sum();
    assert_eq!(intel as u64 + suppressed, 500, "{summaries:?}");
    // Derived events carry the input of what they describe.
    assert!(summaries.iter().all(|s| s["input"] == "packet" && s["summary"]["input"] == "packet"), "{summaries:?}");

    let incidents: Vec<&Value> = events.iter().filter(|e| e["kind"] == "incident").collect();
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    let inc = &incidents[0]["incident"];
    assert_eq!(inc["rule"], "resolved_then_connected");
    assert_eq!(inc["host"], "10.0.0.5");
    // Completed by the connection.
    assert_eq!(incidents[0]["input"], "packet");
    let ids: Vec<&str> = inc["events"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let by_id = |id: &str| events.iter().find(|e| e["id"] == id);
    let dns_event = ids.iter().filter_map(|id| by_id(id)).find(|e| e["input"] == "dns");
    let connect = ids.iter().filter_map(|id| by_id(id)).find(|e| e["input"] == "packet");
    assert!(dns_event.is_some_and(|e| e["flow"]["dst_ip"] == "10.0.0.5"), "the DNS event: {ids:?}");
    assert!(connect.is_some_and(|e| e["match"]["value"] == "198.51.100.77"), "the connection: {ids:?}");
    std::fs::remove_dir_all(&dir).ok();
}
