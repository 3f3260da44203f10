//! Bounded state: many distinct hosts never grow a table past `max_keys`,
//! and every eviction is counted.

mod common;
use analytics::*;
use common::*;
use std::net::{IpAddr, Ipv4Addr};

#[test]
fn two_million_hosts_stay_bounded() {
    let max = 100_000;
    let rules = vec![
        CorrelationRule::DnsThenConnect { name: "dns".into(), within_s: 60 },
        CorrelationRule::DistinctIndicators { name: "spread".into(), within_s: 60, k: 3 },
        CorrelationRule::MultiSensor { name: "multi".into(), within_s: 60, sensors: 2 },
    ];
    let mut e = Engine::new(Config { max_keys: max, correlations: rules, ..Config::default() });
    let mut out = Vec::new();
    let n: u32 = 2_000_000;
    let ids: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let values: Vec<String> = (0..1000).map(|i| format!("198.51.{}.{}", i / 256, i % 256)).collect();
    let dst: Vec<IpAddr> = values.iter().map(|v| v.parse().unwrap()).collect();
    let mut peak_out = 0;
    for h in 0..n {
        let src = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + h));
        let k = (h % 1000) as usize;
        let ev = EventIn {
            id: "e",
            // 2M events over 200 s: several windows.
            ts_ns: T0 + h as i64 * 100_000,
            sensor: if h % 2 == 0 { "edge-1" } else { "edge-2" },
            kind: "intel",
            input: "packet",
            location: "ip.dst",
            value: &values[k],
            indicator: Some(IndicatorIn { id: &ids[k], r#type: "ip", value: &values[k], threat_type: "c2", feed: "f" }),
            src_ip: Some(src),
            dst_ip: Some(dst[k]),
            src_port: Some((h % 65536) as u16),
            dst_port: Some(443),
            proto: Some("tcp"),
            ..EventIn::default()
        };
        e.push(&ev, &mut out);
        let s = e.stats();
        assert!(s.throttle.keys <= max && s.sessions.keys <= max && s.indicators.keys <= max);
        // Correlation: one table per rule.
        assert!(s.correlation.keys <= 3 * max && s.topn.keys <= 4 * max);
        peak_out = peak_out.max(out.len());
        out.clear();
    }
    e.finish(&mut out);
    let s = e.stats();
    assert_eq!(s.events, n as u64);
    assert_eq!(s.passed + s.suppressed, s.events);
    assert!(s.throttle.evictions >= (n as usize - max) as u64, "{s:?}");
    assert!(s.sessions.evictions > 0 && s.topn.evictions > 0 && s.correlation.evictions > 0, "{s:?}");
    assert_eq!(s.indicators.evictions, 0);
    assert!(s.symbols.keys < 10);
    // Evicted sessions are reported, not lost.
    assert!(s.session_reports >= s.sessions.evictions);
    assert!(peak_out < 100_000, "outputs per push stay small: {peak_out}");
}
