//! TEMPORARY: dumps engine outputs for many configs to $GOLDEN_DIR, to diff
//! before/after an optimization.

use analytics::*;
use std::io::Write;
use std::net::IpAddr;

fn rules_bench() -> Vec<CorrelationRule> {
    bench::config().correlations
}

fn rules_many() -> Vec<CorrelationRule> {
    vec![
        CorrelationRule::MultiSensor { name: "multi".into(), within_s: 5, sensors: 2 },
        CorrelationRule::DnsThenConnect { name: "dns".into(), within_s: 3 },
        CorrelationRule::DistinctIndicators { name: "spread".into(), within_s: 4, k: 3 },
        CorrelationRule::DistinctTypes { name: "types".into(), within_s: 60, k: 2 },
        CorrelationRule::DnsThenConnect { name: "dns2".into(), within_s: 60 },
        CorrelationRule::DistinctIndicators { name: "spread2".into(), within_s: 60, k: 1 },
        CorrelationRule::MultiSensor { name: "multi2".into(), within_s: 60, sensors: 4 },
        CorrelationRule::DistinctTypes { name: "types1".into(), within_s: 2, k: 1 },
        CorrelationRule::DistinctIndicators { name: "spread9".into(), within_s: 60, k: 9 },
    ]
}

const V6: [&str; 4] = ["2001:db8::1", "2001:db8::2", "::ffff:10.0.0.1", "fe80::5"];

fn run(name: &str, cfg: Config, events: &[EventIn<'_>], passes: i64, dir: &str) {
    let mut e = Engine::new(cfg);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut f = std::fs::File::create(format!("{dir}/{name}")).unwrap();
    for p in 0..passes {
        for (i, ev) in events.iter().enumerate() {
            let pass = e.push(&EventIn { ts_ns: ev.ts_ns + p * 20_000_000_000, ..*ev }, &mut out);
            buf.clear();
            out.iter().for_each(|o| encode(o, "a", &mut buf));
            writeln!(f, "{i} {pass} {}", out.len()).unwrap();
            f.write_all(&buf).unwrap();
            out.clear();
            if i % 997 == 0 {
                writeln!(f, "{:?}", e.stats()).unwrap();
            }
        }
        e.advance(events[events.len() - 1].ts_ns + p * 20_000_000_000 + 1, &mut out);
    }
    e.finish(&mut out);
    buf.clear();
    out.iter().for_each(|o| encode(o, "a", &mut buf));
    f.write_all(&buf).unwrap();
    writeln!(f, "{:?}", e.stats()).unwrap();
}

#[test]
#[ignore]
fn golden_dump() {
    let Ok(dir) = std::env::var("GOLDEN_DIR") else { return };
    std::fs::create_dir_all(&dir).unwrap();
    let lines = bench::stream(20_000);
    let parsed: Vec<ParsedEvent<'_>> = lines.iter().map(|l| parse_event(l.as_bytes()).unwrap()).collect();
    let events: Vec<EventIn<'_>> = parsed.iter().map(|p| p.event()).collect();
    // Parse dump.
    {
        let mut f = std::fs::File::create(format!("{dir}/parse")).unwrap();
        for l in &lines {
            writeln!(f, "{:?}", parse_event(l.as_bytes()).unwrap().event()).unwrap();
        }
    }
    // Perturbed stream.
    let v6: Vec<IpAddr> = V6.iter().map(|s| s.parse().unwrap()).collect();
    let mut weird: Vec<EventIn<'_>> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let mut e = *ev;
        if i % 7 == 0 {
            e.ts_ns -= 3_000_000_000;
        }
        if i % 11 == 0 {
            e.sensor = "edge-9";
        }
        if i % 13 == 0 {
            e.src_ip = Some(v6[i % 4]);
        }
        if i % 17 == 0 {
            e.dst_ip = Some(v6[(i / 17) % 4]);
        }
        if i % 19 == 0 {
            e.indicator = None;
        }
        if i % 23 == 0 {
            e.id = "dup-id";
        }
        if i % 29 == 0 {
            e.dns_qr = None;
        }
        if i % 31 == 0 {
            e.src_ip = None;
            e.dst_ip = None;
        }
        if i % 37 == 0 && e.input == "dns" {
            e.rule = Some(("re", "dnsrule"));
            e.indicator = None;
        }
        if i % 41 == 0
            && let Some(x) = e.indicator.as_mut()
        {
            x.r#type = "cidr";
            x.threat_type = "";
        }
        if i % 43 == 0 {
            e.location = "ip.src";
        }
        if i % 47 == 0 {
            e.input = "dns";
            let mut a = Addrs::default();
            if let Some(d) = e.dst_ip {
                a.push(d);
            }
            a.push(v6[1]);
            e.answer_addrs = a;
        }
        if i % 53 == 0 {
            e.id = "x".repeat(80).leak();
        }
        weird.push(e);
    }
    for (name, evs) in [("plain", &events), ("weird", &weird)] {
        for (cname, rules) in [("bench", rules_bench()), ("many", rules_many()), ("none", vec![])] {
            for max_keys in [1_000_000usize, 3000, 300, 17, 1] {
                for window_s in [60u64, 7] {
                    let cfg = Config { correlations: rules.clone(), max_keys, window_s, ..Config::default() };
                    run(&format!("{name}-{cname}-{max_keys}-{window_s}"), cfg, evs, 3, &dir);
                }
            }
        }
    }
}
