//! Event lines following docs/EVENTS.md, and a deterministic generator.
#![allow(dead_code)]

use serde_json::{Value, json};
use store::format_ts;

/// 2026-11-29T05:00:00Z
pub const T0: i64 = 1_795_928_400_000_000_000;
pub const MIN: i64 = 60_000_000_000;

pub struct Ev {
    pub id: String,
    pub ts_ns: i64,
    pub sensor: String,
    pub kind: &'static str,
    pub input: &'static str,
    pub location: &'static str,
    pub value: String,
    pub indicator: Option<(String, String, &'static str, String)>, // id, value, threat_type, feed
    pub src_ip: String,
    pub dst_ip: String,
    pub dst_port: Option<u16>,
}

impl Ev {
    pub fn host(&self) -> &str {
        if matches!(self.location, "ip.src" | "flow.src") { &self.dst_ip } else { &self.src_ip }
    }

    pub fn json(&self) -> String {
        let mut v = json!({
            "id": self.id, "ts": format_ts(self.ts_ns), "sensor": self.sensor, "kind": self.kind,
            "input": self.input, "match": {"where": self.location, "value": self.value},
        });
        if let Some((id, value, tt, feed)) = &self.indicator {
            let t = if value.contains('/') {
                "cidr"
            } else if value.parse::<std::net::IpAddr>().is_ok() {
                "ip"
            } else {
                "domain"
            };
            v["indicator"] =
                json!({"id": id, "type": t, "value": value, "threat_type": tt, "feed": feed, "confidence": 80});
        }
        let mut flow = json!({"src_ip": self.src_ip, "src_port": 40000, "dst_ip": self.dst_ip, "proto": "tcp"});
        if let Some(p) = self.dst_port {
            flow["dst_port"] = json!(p);
        }
        v["flow"] = flow;
        if self.input == "packet" {
            v["packet"] = json!({"capture": "t.pcap", "frame": 1, "length": 54, "caplen": 54, "link": "ethernet",
                "src_mac": "00:00:5e:00:53:af", "dst_mac": "08:00:20:9f:6b:72", "ethertype": 2048,
                "ip_version": 4, "ttl": 128, "tcp_flags": "S"});
        }
        if self.input == "dns" {
            v["dns"] = json!({"id": 4242, "qr": true, "rcode": "NOERROR",
                "questions": [{"name": self.value, "type": "A"}],
                "answers": [{"name": self.value, "type": "A", "ttl": 60, "data": "192.0.2.77"}]});
        }
        v.to_string()
    }
}

/// Deterministic pseudo-random generator (64-bit LCG).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub const FEEDS: &[&str] = &["feeds/c2.csv", "feeds/malware.txt", "feeds/phish.json"];

/// `n` intel events over `minutes` minutes from `t0`, several per timestamp, IPv4 and IPv6 hosts.
pub fn generate(n: usize, t0: i64, minutes: i64, seed: u64) -> Vec<Ev> {
    let mut r = Rng(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // Coarse timestamps (10 ms grid) so that some events share a ts: pagination must tie-break on id.
        let ts_ns = t0 + (r.below((minutes * 6000) as u64) as i64) * 10_000_000;
        let v6 = r.below(4) == 0;
        let internal = if v6 {
            format!("2001:db8:{:x}::{:x}", r.below(3), 1 + r.below(20))
        } else {
            format!("10.0.{}.{}", r.below(3), 1 + r.below(20))
        };
        let ind = r.below(12);
        let (value, loc, input, external) = match ind % 3 {
            0 => {
                let ip = if v6 { format!("2001:db8:ffff::{}", ind) } else { format!("192.0.2.{}", ind) };
                (ip.clone(), if r.below(2) == 0 { "ip.dst" } else { "ip.src" }, "packet", ip)
            }
            1 => (
                format!("www{}.evil{}.example", r.below(3), ind),
                "dns.query",
                "dns",
                if v6 { "2001:db8:53::53".into() } else { "192.0.2.53".into() },
            ),
            _ => (
                format!("cdn.bad{}.example", ind),
                "tls.sni",
                "tls",
                if v6 { "2001:db8:443::1".into() } else { "198.51.100.1".into() },
            ),
        };
        let ind_value = match ind % 3 {
            1 => format!("evil{}.example", ind),
            _ => value.clone(),
        };
        let (src_ip, dst_ip) = if loc == "ip.src" { (external, internal) } else { (internal, external) };
        let sensor = format!("edge-{}", 1 + r.below(2));
        out.push(Ev {
            id: format!("{sensor}:{:016x}", 0x6889_a384_ad40_0000u64 + i as u64),
            ts_ns,
            sensor,
            kind: "intel",
            input,
            location: loc,
            value,
            indicator: Some((
                format!("{}", 100 + ind),
                ind_value,
                ["c2", "malware", "phishing"][(ind % 3) as usize],
                FEEDS[(ind % 3) as usize].into(),
            )),
            src_ip,
            dst_ip,
            dst_port: if input == "packet" && r.below(5) == 0 {
                None
            } else {
                Some([53, 443, 80, 8443][r.below(4) as usize])
            },
        });
    }
    out
}

pub fn rule_event(id: &str, ts_ns: i64) -> String {
    json!({"id": id, "ts": format_ts(ts_ns), "sensor": "edge-1", "kind": "rule", "input": "syslog",
        "match": {"where": "syslog.token", "value": "bad.example"},
        "rule": {"chain": "re", "name": "bad-domains"},
        "syslog": {"host": "10.9.9.9", "facility": 1, "severity": 3, "version": 0, "message": "lookup \"bad.example\" failed\\n"}})
    .to_string()
}

pub fn summary_event(id: &str, ts_ns: i64, suppressed: u64) -> String {
    json!({"id": id, "ts": format_ts(ts_ns), "sensor": "edge-1", "kind": "summary", "input": "packet",
        "match": {"where": "ip.dst", "value": "192.0.2.1"},
        "summary": {"key": "10.0.0.5|42|ip.dst", "suppressed": suppressed, "first": format_ts(ts_ns - MIN), "last": format_ts(ts_ns)},
        "indicator": {"id": "42", "type": "ip", "value": "192.0.2.1", "threat_type": "c2", "feed": "feeds/c2.csv"},
        "flow": {"src_ip": "10.0.0.5", "dst_ip": "192.0.2.1", "dst_port": 443, "proto": "tcp"}})
    .to_string()
}

pub fn incident_event(id: &str, ts_ns: i64, host: &str, events: &[&str]) -> String {
    json!({"id": id, "ts": format_ts(ts_ns), "sensor": "analytics", "kind": "incident", "input": "dns",
        "match": {"where": "dns.answer.addr", "value": "192.0.2.77"},
        "incident": {"rule": "dns-then-connect", "host": host, "events": events}})
    .to_string()
}

pub fn report_line(window_start_ns: i64, kind: &str) -> String {
    json!({"report": kind, "window_start": format_ts(window_start_ns), "window_s": 60,
        "key": "src_ip", "top": [{"value": "10.0.0.5", "count": 12}, {"value": "10.0.0.6", "count": 3}]})
    .to_string()
}

pub fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}
