//! Top-N contents and order at each window close, rates, hit statistics and
//! sessions.

mod common;
use analytics::*;
use common::*;

#[test]
fn topn_at_each_window_close() {
    let cfg = Config { top_n: 2, ..Config::default() };
    let mut e = Engine::new(cfg);
    let mut out = Vec::new();
    let a = ind("1", "ip", "198.51.100.1");
    let b = ind("2", "ip", "198.51.100.2");
    let c = IndicatorIn { id: "3", r#type: "domain", value: "evil.example", threat_type: "", feed: "feeds/other.txt" };
    // Window 1: src 10.0.0.1 ×3, 10.0.0.2 ×2, 10.0.0.3 ×2 (tie → ascending).
    let script = [
        ("10.0.0.1", "198.51.100.1", a),
        ("10.0.0.2", "198.51.100.2", b),
        ("10.0.0.3", "198.51.100.2", b),
        ("10.0.0.1", "198.51.100.1", a),
        ("10.0.0.3", "198.51.100.1", c),
        ("10.0.0.2", "198.51.100.1", a),
        ("10.0.0.1", "198.51.100.2", b),
    ];
    for (n, (s, d, i)) in script.iter().enumerate() {
        e.push(&pkt("x", n as i64 * 1000, s, d, *i), &mut out);
    }
    assert!(topn(&out, "src_ip").is_empty());
    // 60 s: window 2 opens, window 1 closes.
    e.push(&pkt("y", 60_000, "10.0.0.9", "198.51.100.2", b), &mut out);
    let t = topn(&out, "src_ip");
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].window_start_ns, t[0].window_end_ns, t[0].total), (T0, T0 + 60 * NS, 7));
    assert_eq!(top_pairs(t[0]), [("10.0.0.1", 3), ("10.0.0.2", 2)]);
    assert_eq!(top_pairs(topn(&out, "dst_ip")[0]), [("198.51.100.1", 4), ("198.51.100.2", 3)]);
    assert_eq!(top_pairs(topn(&out, "host")[0]), [("10.0.0.1", 3), ("10.0.0.2", 2)]);
    assert_eq!(top_pairs(topn(&out, "indicator_id")[0]), [("1", 3), ("2", 3)]);
    assert_eq!(top_pairs(topn(&out, "indicator_value")[0]), [("198.51.100.1", 3), ("198.51.100.2", 3)]);
    assert_eq!(top_pairs(topn(&out, "indicator_type")[0]), [("ip", 6), ("domain", 1)]);
    // The domain indicator has no threat type: 6 of 7 events have one.
    let tt = topn(&out, "threat_type")[0];
    assert_eq!((tt.total, top_pairs(tt)), (6, vec![("c2", 6)]));
    assert_eq!(top_pairs(topn(&out, "feed")[0]), [("feeds/c2.csv", 6), ("feeds/other.txt", 1)]);
    assert_eq!(top_pairs(topn(&out, "sensor")[0]), [("edge-1", 7)]);
    assert_eq!(top_pairs(topn(&out, "input")[0]), [("packet", 7)]);
    assert_eq!(top_pairs(topn(&out, "proto_dst_port")[0]), [("tcp/443", 7)]);
    assert_eq!(top_pairs(topn(&out, "src_port")[0]), [("40000", 7)]);
    assert!(topn(&out, "rule")[0].top.is_empty());
    // Every key kind once per window.
    let kinds: Vec<&str> =
        out.iter().filter_map(|o| if let Output::TopN(t) = o { Some(t.key) } else { None }).collect();
    assert_eq!(kinds.len(), 13);

    let rate: Vec<&RateReport> =
        out.iter().filter_map(|o| if let Output::Rate(r) = o { Some(r) } else { None }).collect();
    assert_eq!((rate[0].events, rate[0].per_second_max, rate[0].per_minute), (7, 1, 7.0));
    assert!((rate[0].per_second_mean - 7.0 / 60.0).abs() < 1e-9);

    let hits: Vec<&HitStatsReport> =
        out.iter().filter_map(|o| if let Output::Hits(h) = o { Some(h) } else { None }).collect();
    let h = hits[0];
    let feeds: Vec<(&str, u64, u64)> = h.feeds.iter().map(|(f, s)| (f.as_str(), s.window_count, s.count)).collect();
    assert_eq!(feeds, [("feeds/c2.csv", 6, 6), ("feeds/other.txt", 1, 1)]);
    let inds: Vec<(&str, u64, i64, i64)> =
        h.indicators.iter().map(|(i, s)| (i.id(), s.window_count, s.first_ns, s.last_ns)).collect();
    assert_eq!(inds, [("1", 3, at(0), at(5000)), ("2", 3, at(1000), at(6000)), ("3", 1, at(4000), at(4000))]);

    // Window 2 counts only its own events; hit stats are cumulative.
    out.clear();
    e.push(&pkt("z", 61_000, "10.0.0.9", "198.51.100.1", a), &mut out);
    e.finish(&mut out);
    let t = topn(&out, "src_ip");
    assert_eq!((t[0].window_start_ns, t[0].total), (T0 + 60 * NS, 2));
    assert_eq!(top_pairs(t[0]), [("10.0.0.9", 2)]);
    let h: Vec<&HitStatsReport> =
        out.iter().filter_map(|o| if let Output::Hits(h) = o { Some(h) } else { None }).collect();
    let inds: Vec<(&str, u64, u64)> = h[0].indicators.iter().map(|(i, s)| (i.id(), s.window_count, s.count)).collect();
    assert_eq!(inds, [("1", 1, 4), ("2", 1, 4)]);
    assert_eq!(
        h[0].feeds,
        [("feeds/c2.csv".to_string(), HitStat { window_count: 2, count: 8, first_ns: at(0), last_ns: at(61_000) })]
    );
}

/// A full top-N counter makes room for new keys (Space-Saving): a source
/// that first shows up once 40 others filled it still tops the window, with
/// its count at most `max_error` above the truth; an engine with room
/// reports the same window exactly.
#[test]
fn a_late_heavy_hitter_tops_a_full_counter() {
    let i = ind("1", "ip", "198.51.100.1");
    let srcs: Vec<String> = (0..100).map(|n| format!("10.0.{}.{}", n / 250, 1 + n % 250)).collect();
    let mut script: Vec<&str> = srcs[..40].iter().map(|s| s.as_str()).collect();
    for (n, s) in srcs[40..].iter().enumerate() {
        script.push(s);
        if n % 5 == 0 {
            script.push("10.9.9.9");
        }
    }
    let heavy = script.iter().filter(|s| **s == "10.9.9.9").count() as u64;
    assert_eq!(heavy, 12);
    let run = |max_keys: usize| {
        let mut e = Engine::new(Config { max_keys, top_n: 3, ..Config::default() });
        let mut out = Vec::new();
        for (n, s) in script.iter().enumerate() {
            e.push(&pkt("x", n as i64 * 100, s, "198.51.100.1", i), &mut out);
        }
        e.finish(&mut out);
        (out, e.stats().topn.evictions)
    };
    let (exact, evictions) = run(1000);
    let t = topn(&exact, "src_ip")[0];
    assert_eq!((t.total, t.max_error, evictions), (script.len() as u64, 0, 0));
    assert_eq!(top_pairs(t)[0], ("10.9.9.9", heavy));
    let mut line = Vec::new();
    output::encode(&Output::TopN(t.clone()), "s", &mut line);
    assert!(!String::from_utf8_lossy(&line).contains("max_error"));

    let (full, evictions) = run(8);
    let t = topn(&full, "src_ip")[0];
    assert_eq!(t.total, script.len() as u64);
    assert!(t.max_error > 0 && evictions > 0);
    let (top, count) = top_pairs(t)[0];
    assert_eq!(top, "10.9.9.9");
    assert!((heavy..=heavy + t.max_error).contains(&count), "{count} {}", t.max_error);
    // The other counters with the same source keys (host) work the same way.
    assert_eq!(top_pairs(topn(&full, "host")[0])[0].0, "10.9.9.9");
    let mut line = Vec::new();
    output::encode(&Output::TopN(t.clone()), "s", &mut line);
    assert!(String::from_utf8_lossy(&line).contains(&format!(",\"max_error\":{}", t.max_error)));
}

#[test]
fn sessions_idle_timeout_and_finish() {
    let mut e = Engine::new(Config::default());
    let mut out = Vec::new();
    let i = ind("1", "ip", "198.51.100.1");
    e.push(&pkt("1", 0, "10.0.0.1", "198.51.100.1", i), &mut out);
    // The reply direction is the same session.
    let mut r = pkt("2", 10_000, "198.51.100.1", "10.0.0.1", i);
    r.location = "ip.src";
    e.push(&r, &mut out);
    e.push(&pkt("3", 30_000, "10.0.0.2", "198.51.100.1", i), &mut out);
    // 69.999 s: 10.0.0.1's session (last 10 s) is not idle yet.
    e.push(&pkt("4", 69_999, "10.0.0.2", "198.51.100.1", i), &mut out);
    assert!(sessions(&out).is_empty());
    e.push(&pkt("5", 70_000, "10.0.0.2", "198.51.100.1", i), &mut out);
    let s = sessions(&out);
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].src, s[0].dst, s[0].first_ns, s[0].last_ns, s[0].count, s[0].end),
        (ip("10.0.0.1"), ip("198.51.100.1"), at(0), at(10_000), 2, SessionEnd::Idle)
    );
    // A new event after the timeout starts a new session.
    e.push(&pkt("6", 80_000, "10.0.0.1", "198.51.100.1", i), &mut out);
    out.clear();
    e.finish(&mut out);
    let s = sessions(&out);
    let got: Vec<_> = s.iter().map(|s| (s.src, s.first_ns, s.last_ns, s.count, s.end)).collect();
    assert_eq!(
        got,
        [
            (ip("10.0.0.2"), at(30_000), at(70_000), 3, SessionEnd::Finish),
            (ip("10.0.0.1"), at(80_000), at(80_000), 1, SessionEnd::Finish)
        ]
    );
    assert_eq!(e.stats().session_reports, 3);
    assert_eq!(e.stats().sessions.keys, 0);
}
