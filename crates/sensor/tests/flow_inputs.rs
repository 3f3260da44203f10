//! Flow inputs through the pipeline: what is observed in an sFlow extended
//! URL record, and exporters outside `sources` being dropped and counted.

use intel::{Indicator, IndicatorType, SetBuilder};
use sensor::app::AppConfig;
use sensor::flows::{ExportPort, FlowConfig};
use sensor::pipeline::{Pipeline, Source};
use sensor::scratch::HitValue;
use std::net::SocketAddr;
use std::sync::Arc;

fn set() -> Arc<intel::IndicatorSet> {
    let feed: Arc<str> = Arc::from("test");
    let mut b = SetBuilder::new();
    b.add(Indicator::new("d1", IndicatorType::Domain, "evil.example", &feed));
    b.add(Indicator::new("i1", IndicatorType::Ip, "198.51.100.7", &feed));
    Arc::new(b.build())
}

fn xdr_opaque(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out.resize(out.len() + (4 - data.len() % 4) % 4, 0);
}

fn record(out: &mut Vec<u8>, format: u32, body: &[u8]) {
    out.extend_from_slice(&format.to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
}

/// An sFlow v5 datagram from agent 192.0.2.5 with one flow sample: a
/// sampled IPv4 record (10.0.0.5:40000 → 203.0.113.80:80, TCP) and an
/// extended URL record (host login.evil.example, URL /verify).
fn sflow_with_url() -> Vec<u8> {
    let mut ipv4 = Vec::new();
    for w in [60u32, 6] {
        ipv4.extend_from_slice(&w.to_be_bytes());
    }
    ipv4.extend_from_slice(&[10, 0, 0, 5, 203, 0, 113, 80]);
    for w in [40_000u32, 80, 0x18, 0] {
        ipv4.extend_from_slice(&w.to_be_bytes());
    }
    let mut url = 1u32.to_be_bytes().to_vec(); // direction: src
    xdr_opaque(&mut url, b"/verify");
    xdr_opaque(&mut url, b"login.evil.example");
    let mut sample = Vec::new();
    for w in [1u32, 3, 1, 100, 0, 1, 2, 2] {
        // sequence, source id, rate, pool, drops, input, output, records
        sample.extend_from_slice(&w.to_be_bytes());
    }
    record(&mut sample, 3, &ipv4);
    record(&mut sample, 1005, &url);
    let mut d = Vec::new();
    for w in [5u32, 1] {
        d.extend_from_slice(&w.to_be_bytes());
    }
    d.extend_from_slice(&[192, 0, 2, 5]);
    for w in [0u32, 7, 1000, 1] {
        // sub-agent, sequence, uptime, samples
        d.extend_from_slice(&w.to_be_bytes());
    }
    record(&mut d, 1, &sample);
    d
}

#[test]
fn sflow_extended_url_records_are_matched_as_http() {
    let mut p = Pipeline::new(set());
    let from: SocketAddr = "192.0.2.5:50000".parse().unwrap();
    let local: SocketAddr = "127.0.0.1:6343".parse().unwrap();
    let (hits, scratch) = p.process_export(ExportPort::Sflow, from, local, &sflow_with_url(), 0);
    let got: Vec<(&str, String)> = hits
        .iter()
        .map(|h| {
            let v = match h.value {
                HitValue::Text(s) => scratch.text(s).to_string(),
                HitValue::Ip(a) => a.to_string(),
            };
            (h.location, v)
        })
        .collect();
    assert_eq!(got, [("http.host", "login.evil.example".to_string())]);
    assert!(matches!(hits[0].source, Source::Indicator(_)));
    assert_eq!(p.flows().unwrap().counters.sflow_flow_samples, 1);
}

#[test]
fn exports_from_other_sources_are_dropped_and_counted() {
    let flows =
        FlowConfig { netflow_sources: vec![intel::IpKey::parse("192.0.2.0/24").unwrap()], ..FlowConfig::default() };
    let mut p = Pipeline::with_app(set(), Some(AppConfig { flows, ..AppConfig::default() }));
    let listed = [std::net::IpAddr::from([198, 51, 100, 7])];
    let v5 = sensor::bench_flows::v5_datagram(&mut sensor::synth::Rng::new(3), &listed, 1000, 1);
    let local: SocketAddr = "127.0.0.1:2055".parse().unwrap();
    // From an accepted exporter: every record's listed source hits.
    let n = p.process_export(ExportPort::Netflow, "192.0.2.9:40000".parse().unwrap(), local, &v5, 0).0.len();
    assert_eq!(n, sensor::bench_flows::V5_RECORDS);
    // From anywhere else: nothing decoded, one rejection counted.
    let n = p.process_export(ExportPort::Netflow, "203.0.113.9:40000".parse().unwrap(), local, &v5, 0).0.len();
    assert_eq!(n, 0);
    let c = &p.flows().unwrap().counters;
    assert_eq!((c.netflow_datagrams, c.rejected_sources, c.records), (1, 1, sensor::bench_flows::V5_RECORDS as u64));
}

/// Records of softflowd's NetFlow v9 export (templates first), with the
/// application settings replaced after `replace_at` frames (as a SIGHUP
/// does), and with `changed` flow settings or the same ones.
fn v9_records_with_replacement(replace_at: u64, changed: bool) -> u64 {
    let path = std::path::Path::new(env!("SDN_TESTDATA")).join("generated/softflowd/sf_v9.export.pcap");
    let mut p = Pipeline::with_app(set(), Some(AppConfig::default()));
    let (_, r) = sensor::capture::read_capture(
        &path,
        |pkt| {
            if pkt.frame == replace_at {
                let mut app = AppConfig::default();
                if changed {
                    app.flows.netflow_sources = vec![intel::IpKey::parse("0.0.0.0/0").unwrap()];
                }
                p.replace_app(app);
            }
            p.process(pkt.link, pkt.data);
        },
        |_| {},
    );
    r.unwrap();
    p.flows().unwrap().counters.records
}

#[test]
fn replacing_the_rules_keeps_flow_templates_when_the_flow_settings_stay() {
    let whole = v9_records_with_replacement(0, false);
    assert!(whole > 0);
    // The templates came in the first datagram: the same flow settings keep
    // them, so every record still decodes; new flow settings start over
    // (the records before the next template resend are lost, and the
    // counters stay).
    assert_eq!(v9_records_with_replacement(2, false), whole);
    assert!(v9_records_with_replacement(2, true) < whole);
}
