//! Scripted-stream helpers shared by the tests.
#![allow(dead_code)]

use analytics::*;
use std::net::IpAddr;

pub const NS: i64 = 1_000_000_000;
/// 2026-11-29T05:00:00Z, a multiple of 60 s.
pub const T0: i64 = 1_795_928_400 * NS;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Milliseconds after T0.
pub fn at(ms: i64) -> i64 {
    T0 + ms * 1_000_000
}

pub fn ind<'a>(id: &'a str, ty: &'a str, value: &'a str) -> IndicatorIn<'a> {
    IndicatorIn { id, r#type: ty, value, threat_type: "c2", feed: "feeds/c2.csv" }
}

/// A packet intel event: `src` → `dst` (tcp 40000 → 443) matched at `ip.dst`.
pub fn pkt<'a>(id: &'a str, ms: i64, src: &str, dst: &'a str, i: IndicatorIn<'a>) -> EventIn<'a> {
    EventIn {
        id,
        ts_ns: at(ms),
        sensor: "edge-1",
        kind: "intel",
        input: "packet",
        location: "ip.dst",
        value: dst,
        indicator: Some(i),
        src_ip: Some(ip(src)),
        dst_ip: Some(ip(dst)),
        src_port: Some(40000),
        dst_port: Some(443),
        proto: Some("tcp"),
        ..EventIn::default()
    }
}

/// A DNS response from 192.0.2.53 to `client` for `name` (listed) with the
/// given A answers.
pub fn dns<'a>(id: &'a str, ms: i64, client: &str, name: &'a str, answers: &[&str]) -> EventIn<'a> {
    // Leaked: the event borrows its answers, and tests make few.
    let a: &'a [IpAddr] = Vec::leak(answers.iter().map(|x| ip(x)).collect());
    EventIn {
        id,
        ts_ns: at(ms),
        sensor: "edge-1",
        kind: "intel",
        input: "dns",
        location: "dns.query",
        value: name,
        indicator: Some(IndicatorIn {
            id: "d1",
            r#type: "domain",
            value: "evil.example",
            threat_type: "c2",
            feed: "feeds/c2.csv",
        }),
        src_ip: Some(ip("192.0.2.53")),
        dst_ip: Some(ip(client)),
        src_port: Some(53),
        dst_port: Some(53124),
        proto: Some("udp"),
        answer_addrs: a,
        dns_query: Some(name),
        dns_qr: Some(true),
        ..EventIn::default()
    }
}

pub fn summaries(out: &[Output]) -> Vec<&Summary> {
    out.iter().filter_map(|o| if let Output::Summary(s) = o { Some(&**s) } else { None }).collect()
}

pub fn incidents(out: &[Output]) -> Vec<&Incident> {
    out.iter().filter_map(|o| if let Output::Incident(s) = o { Some(s) } else { None }).collect()
}

pub fn sessions(out: &[Output]) -> Vec<&SessionReport> {
    out.iter().filter_map(|o| if let Output::Session(s) = o { Some(s) } else { None }).collect()
}

pub fn topn<'a>(out: &'a [Output], key: &str) -> Vec<&'a TopNReport> {
    out.iter().filter_map(|o| if let Output::TopN(t) = o { (t.key == key).then_some(t) } else { None }).collect()
}

pub fn top_pairs(t: &TopNReport) -> Vec<(&str, u64)> {
    t.top.iter().map(|(v, c)| (v.as_str(), *c)).collect()
}
