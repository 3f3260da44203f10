//! Each correlation rule fires exactly when it should, and not otherwise.

mod common;
use analytics::*;
use common::*;

fn engine(rule: CorrelationRule) -> Engine {
    Engine::new(Config { correlations: vec![rule], ..Config::default() })
}

fn dns_rule() -> Engine {
    engine(CorrelationRule::DnsThenConnect { name: "dns-connect".into(), within_s: 30 })
}

#[test]
fn dns_then_connect_fires() {
    let mut e = dns_rule();
    let mut out = Vec::new();
    let d = dns("dns-1", 1000, "10.0.0.5", "www.evil.example", &["203.0.113.7", "203.0.113.8"]);
    assert_eq!(d.host(), Some(ip("10.0.0.5")));
    e.push(&d, &mut out);
    assert!(incidents(&out).is_empty());
    e.push(&pkt("conn-1", 5000, "10.0.0.5", "203.0.113.8", ind("9", "ip", "203.0.113.0/24")), &mut out);
    let inc = incidents(&out);
    assert_eq!(inc.len(), 1);
    let i = inc[0];
    assert_eq!(i.rule, "dns-connect");
    assert_eq!(i.host, Some(ip("10.0.0.5")));
    assert_eq!(i.events, ["dns-1", "conn-1"]);
    assert_eq!(i.ts_ns, at(5000));
    let vals: Vec<&str> = i.indicators.iter().map(|x| x.value()).collect();
    assert_eq!(vals, ["evil.example", "203.0.113.0/24"]);
    assert!(i.id.starts_with("analytics:dns-connect:1795928400:10.0.0.5:"), "{}", i.id);
    // Once per (rule, host, domain) per window.
    e.push(&pkt("conn-2", 6000, "10.0.0.5", "203.0.113.7", ind("9", "ip", "203.0.113.0/24")), &mut out);
    assert_eq!(incidents(&out).len(), 1);
    // Next window: fires again (within 30 s of a fresh answer).
    e.push(&dns("dns-2", 61_000, "10.0.0.5", "www.evil.example", &["203.0.113.7"]), &mut out);
    e.push(&pkt("conn-3", 62_000, "10.0.0.5", "203.0.113.7", ind("9", "ip", "203.0.113.0/24")), &mut out);
    let inc = incidents(&out);
    assert_eq!(inc.len(), 2);
    assert_eq!(inc[1].events, ["dns-2", "conn-3"]);
    assert_eq!(e.stats().incidents, 2);
}

#[test]
fn dns_then_connect_does_not_fire_otherwise() {
    let i = ind("9", "ip", "203.0.113.0/24");
    let mut out = Vec::new();
    // A different address.
    let mut e = dns_rule();
    e.push(&dns("d", 1000, "10.0.0.5", "www.evil.example", &["203.0.113.7"]), &mut out);
    e.push(&pkt("c", 2000, "10.0.0.5", "203.0.113.9", i), &mut out);
    // Another host to the same address.
    e.push(&pkt("c", 2000, "10.0.0.6", "203.0.113.7", i), &mut out);
    assert!(incidents(&out).is_empty());
    // Connect before the DNS answer.
    let mut e = dns_rule();
    e.push(&pkt("c", 1000, "10.0.0.5", "203.0.113.7", i), &mut out);
    e.push(&dns("d", 2000, "10.0.0.5", "www.evil.example", &["203.0.113.7"]), &mut out);
    assert!(incidents(&out).is_empty());
    // Out of order: arrives after, but its ts is before the answer.
    e.push(&pkt("c2", 1500, "10.0.0.5", "203.0.113.7", i), &mut out);
    assert!(incidents(&out).is_empty());
    // Outside within_s (30 s): 31 s later.
    let mut e = dns_rule();
    e.push(&dns("d", 1000, "10.0.0.5", "www.evil.example", &["203.0.113.7"]), &mut out);
    e.push(&pkt("c", 32_000, "10.0.0.5", "203.0.113.7", i), &mut out);
    assert!(incidents(&out).is_empty());
    // Exactly at within_s: fires.
    e.push(&pkt("c", 31_000, "10.0.0.5", "203.0.113.7", i), &mut out);
    assert_eq!(incidents(&out).len(), 1);
}

#[test]
fn distinct_indicators() {
    let rule = CorrelationRule::DistinctIndicators { name: "spread".into(), within_s: 60, k: 3 };
    let mut e = engine(rule.clone());
    let mut out = Vec::new();
    let (a, b, c) = (ind("1", "ip", "198.51.100.1"), ind("2", "ip", "198.51.100.2"), ind("3", "ip", "198.51.100.3"));
    e.push(&pkt("a1", 0, "10.0.0.5", "198.51.100.1", a), &mut out);
    e.push(&pkt("a2", 1000, "10.0.0.5", "198.51.100.1", a), &mut out);
    // Another host's hit does not count for 10.0.0.5.
    e.push(&pkt("x", 1500, "10.0.0.6", "198.51.100.3", c), &mut out);
    e.push(&pkt("b1", 2000, "10.0.0.5", "198.51.100.2", b), &mut out);
    assert!(incidents(&out).is_empty(), "two distinct values, repeats do not count");
    e.push(&pkt("c1", 3000, "10.0.0.5", "198.51.100.3", c), &mut out);
    let inc = incidents(&out);
    assert_eq!(inc.len(), 1);
    // The latest event per value, oldest first.
    assert_eq!(inc[0].events, ["a2", "b1", "c1"]);
    assert_eq!(inc[0].host, Some(ip("10.0.0.5")));
    assert_eq!(inc[0].indicators.len(), 3);
    assert_eq!(inc[0].id, "analytics:spread:1795928400:10.0.0.5");
    // Once per host per window.
    e.push(&pkt("d1", 4000, "10.0.0.5", "198.51.100.4", ind("4", "ip", "198.51.100.4")), &mut out);
    assert_eq!(incidents(&out).len(), 1);

    // Spread over more than within_s: no incident.
    let mut e = engine(CorrelationRule::DistinctIndicators { name: "spread".into(), within_s: 10, k: 3 });
    let mut out = Vec::new();
    e.push(&pkt("a", 0, "10.0.0.5", "198.51.100.1", a), &mut out);
    e.push(&pkt("b", 6000, "10.0.0.5", "198.51.100.2", b), &mut out);
    e.push(&pkt("c", 10_001, "10.0.0.5", "198.51.100.3", c), &mut out);
    assert!(incidents(&out).is_empty());
    // Within 10 s of b and c.
    e.push(&pkt("a", 12_000, "10.0.0.5", "198.51.100.1", a), &mut out);
    assert_eq!(incidents(&out)[0].events, ["b", "c", "a"]);
}

#[test]
fn distinct_types() {
    let mut e = engine(CorrelationRule::DistinctTypes { name: "types".into(), within_s: 60, k: 2 });
    let mut out = Vec::new();
    e.push(&pkt("a", 0, "10.0.0.5", "198.51.100.1", ind("1", "ip", "198.51.100.1")), &mut out);
    e.push(&pkt("b", 1, "10.0.0.5", "198.51.100.2", ind("2", "ip", "198.51.100.2")), &mut out);
    assert!(incidents(&out).is_empty(), "two values, one type");
    e.push(&pkt("c", 2, "10.0.0.5", "198.51.100.2", ind("3", "cidr", "198.51.100.0/24")), &mut out);
    let inc = incidents(&out);
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].events, ["b", "c"]);
}

#[test]
fn multi_sensor() {
    let mut e = engine(CorrelationRule::MultiSensor { name: "multi".into(), within_s: 60, sensors: 2 });
    let mut out = Vec::new();
    let i = ind("1", "ip", "198.51.100.1");
    e.push(&pkt("s1-a", 0, "10.0.0.5", "198.51.100.1", i), &mut out);
    e.push(&pkt("s1-b", 1000, "10.0.0.6", "198.51.100.1", i), &mut out);
    assert!(incidents(&out).is_empty(), "one sensor");
    // Another indicator from another sensor.
    let mut other = pkt("s2-x", 1500, "10.0.0.7", "198.51.100.2", ind("2", "ip", "198.51.100.2"));
    other.sensor = "edge-2";
    e.push(&other, &mut out);
    assert!(incidents(&out).is_empty());
    let mut s2 = pkt("s2-a", 2000, "10.0.0.7", "198.51.100.1", i);
    s2.sensor = "edge-2";
    e.push(&s2, &mut out);
    let inc = incidents(&out);
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].events, ["s1-b", "s2-a"]);
    assert_eq!(inc[0].host, Some(ip("10.0.0.7")));
    assert_eq!(inc[0].indicators[0].id(), "1");
    // Once per indicator per window, whatever the host.
    let mut s2 = pkt("s2-b", 3000, "10.0.0.8", "198.51.100.1", i);
    s2.sensor = "edge-2";
    e.push(&s2, &mut out);
    assert_eq!(incidents(&out).len(), 1);
}

/// Ids as sensors make them (`SENSOR:` + 16 hex digits, which the rules
/// keep packed) come back in incidents exactly as they went in, beside ids
/// of any other shape; ties in time are ordered by the ids' text.
#[test]
fn sensor_made_ids_come_back_unchanged() {
    let rules = vec![
        CorrelationRule::DnsThenConnect { name: "dns-connect".into(), within_s: 30 },
        CorrelationRule::DistinctIndicators { name: "spread".into(), within_s: 60, k: 3 },
        CorrelationRule::MultiSensor { name: "multi".into(), within_s: 60, sensors: 2 },
    ];
    let mut e = Engine::new(Config { correlations: rules, ..Config::default() });
    let mut out = Vec::new();
    let (a, b) = (ind("1", "ip", "198.51.100.1"), ind("2", "ip", "198.51.100.2"));
    let d = "edge-1:00000000000000f0";
    e.push(&dns(d, 0, "10.0.0.5", "www.evil.example", &["198.51.100.1"]), &mut out);
    // The same id again (a duplicate delivery) never fires, packed or not.
    e.push(&pkt(d, 500, "10.0.0.5", "198.51.100.1", a), &mut out);
    e.push(&dns("dns-x", 600, "10.0.0.9", "www.evil.example", &["198.51.100.1"]), &mut out);
    e.push(&pkt("dns-x", 700, "10.0.0.9", "198.51.100.1", a), &mut out);
    assert!(incidents(&out).is_empty());
    // Two events at one instant: ordered by id, a packed one ("edge-1:…")
    // after an unpacked one ("e…") whatever the order they came in.
    e.push(&pkt("edge-1:00000000000000ff", 1000, "10.0.0.5", "198.51.100.1", a), &mut out);
    e.push(&pkt("e-2", 1000, "10.0.0.5", "198.51.100.2", b), &mut out);
    // Upper-case hex would not come back the same: kept as a string.
    let mut other = pkt("edge-2:00000000000000AB", 2000, "10.0.0.6", "198.51.100.2", b);
    other.sensor = "edge-2";
    e.push(&other, &mut out);
    let inc = incidents(&out);
    let by_rule = |r: &str| inc.iter().find(|i| i.rule == r).map(|i| i.events.clone());
    assert_eq!(by_rule("dns-connect").unwrap(), [d, "edge-1:00000000000000ff"]);
    assert_eq!(by_rule("multi").unwrap(), ["e-2", "edge-2:00000000000000AB"]);
    // The DNS event's domain, then the two addresses at one instant.
    assert_eq!(by_rule("spread").unwrap(), [d, "e-2", "edge-1:00000000000000ff"]);
}

/// A key whose record took the place of an evicted one (a full table)
/// fires as a new key would, in the window where the evicted key fired:
/// the evicted key's "fired" mark goes with it.
#[test]
fn a_recycled_record_fires_for_its_new_key() {
    let rules = vec![
        CorrelationRule::DistinctIndicators { name: "spread".into(), within_s: 60, k: 2 },
        CorrelationRule::MultiSensor { name: "multi".into(), within_s: 60, sensors: 2 },
    ];
    // One key per table: each new host or indicator evicts the last.
    let mut e = Engine::new(Config { correlations: rules, max_keys: 1, ..Config::default() });
    let mut out = Vec::new();
    let (a, b) = (ind("1", "ip", "198.51.100.1"), ind("2", "ip", "198.51.100.2"));
    let on = |mut ev: EventIn<'static>, sensor: &'static str| {
        ev.sensor = sensor;
        ev
    };
    // Host .5 fires (two values), on indicator b from two sensors too.
    e.push(&on(pkt("h5-a", 0, "10.0.0.5", "198.51.100.1", a), "edge-1"), &mut out);
    e.push(&on(pkt("h5-b", 1000, "10.0.0.5", "198.51.100.2", b), "edge-1"), &mut out);
    e.push(&on(pkt("h5-b2", 1500, "10.0.0.5", "198.51.100.2", b), "edge-2"), &mut out);
    // Host .6 takes the host record, indicator a the indicator record.
    e.push(&on(pkt("h6-b", 2000, "10.0.0.6", "198.51.100.2", b), "edge-1"), &mut out);
    e.push(&on(pkt("h6-a", 3000, "10.0.0.6", "198.51.100.1", a), "edge-1"), &mut out);
    e.push(&on(pkt("h6-a2", 3500, "10.0.0.6", "198.51.100.1", a), "edge-2"), &mut out);
    let fired: Vec<(String, Vec<String>)> = incidents(&out).iter().map(|i| (i.id.clone(), i.events.clone())).collect();
    let ids: Vec<&str> = fired.iter().map(|(id, _)| id.as_str()).collect();
    assert!(ids.contains(&"analytics:spread:1795928400:10.0.0.5"), "{fired:?}");
    assert!(ids.contains(&"analytics:spread:1795928400:10.0.0.6"), "{fired:?}");
    let multi: Vec<&Vec<String>> =
        fired.iter().filter(|(id, _)| id.starts_with("analytics:multi:")).map(|x| &x.1).collect();
    assert_eq!(multi.len(), 2, "{fired:?}");
    assert_eq!(multi[1], &["h6-a", "h6-a2"]);
    e.finish(&mut Vec::new());
    assert!(e.stats().correlation.evictions > 0);
}

/// `correlation_only` (the sightings engine): the same incidents as an
/// engine doing everything, and nothing else, across window closes.
#[test]
fn correlation_only_gives_the_incidents_alone() {
    let rules = vec![
        CorrelationRule::MultiSensor { name: "multi".into(), within_s: 60, sensors: 2 },
        CorrelationRule::DistinctIndicators { name: "spread".into(), within_s: 60, k: 2 },
    ];
    let mut full = Engine::new(Config { correlations: rules.clone(), ..Config::default() });
    let mut only = Engine::new(Config { correlations: rules, correlation_only: true, ..Config::default() });
    let values = ["198.51.100.1", "198.51.100.2", "198.51.100.3"];
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for n in 0..40i64 {
        let v = values[n as usize % 3];
        let id = format!("e{n}");
        let mut ev = pkt(&id, n * 7_000, ["10.0.0.5", "10.0.0.6"][n as usize % 2], v, ind(v, "ip", v));
        ev.sensor = ["edge-1", "edge-2", "edge-3"][n as usize % 3 / 2];
        full.push(&ev, &mut a);
        assert!(only.push(&ev, &mut b), "every event passes");
    }
    full.finish(&mut a);
    only.finish(&mut b);
    let fired: Vec<_> = a.iter().filter_map(|o| if let Output::Incident(i) = o { Some(i) } else { None }).collect();
    let alone: Vec<_> = b.iter().filter_map(|o| if let Output::Incident(i) = o { Some(i) } else { None }).collect();
    assert!(fired.len() >= 4, "{}", fired.len());
    assert_eq!(alone.len(), b.len(), "nothing but incidents");
    let key = |i: &&Incident| (i.id.clone(), i.events.clone(), i.host);
    assert_eq!(fired.iter().map(key).collect::<Vec<_>>(), alone.iter().map(key).collect::<Vec<_>>());
}

#[test]
fn no_rules_no_incidents() {
    let mut e = Engine::new(Config::default());
    let mut out = Vec::new();
    e.push(&dns("d", 1000, "10.0.0.5", "www.evil.example", &["203.0.113.7"]), &mut out);
    e.push(&pkt("c", 2000, "10.0.0.5", "203.0.113.7", ind("9", "ip", "203.0.113.7")), &mut out);
    e.finish(&mut out);
    assert!(incidents(&out).is_empty());
}
