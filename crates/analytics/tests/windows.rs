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
