//! Throttling and summaries: exactly N pass per key and window, one summary
//! per key with the rest; counts add up.

mod common;
use analytics::*;
use common::*;

#[test]
fn five_hundred_events_one_key_in_a_minute() {
    let mut e = Engine::new(Config::default());
    let mut out = Vec::new();
    let i = ind("7", "ip", "10.1.1.10");
    let mut passed = 0;
    for n in 0..500 {
        // 0 .. 49.9 s after T0
        if e.push(&pkt("e", n * 100, "10.0.0.5", "10.1.1.10", i), &mut out) {
            passed += 1;
        }
    }
    assert_eq!(passed, 3);
    assert!(summaries(&out).is_empty(), "nothing before the window closes");
    // The next window: the summary comes out when it opens.
    assert!(e.push(&pkt("e", 60_000, "10.0.0.5", "10.1.1.10", i), &mut out));
    let s = summaries(&out);
    assert_eq!(s.len(), 1);
    let s = s[0];
    assert_eq!(s.suppressed, 497);
    assert_eq!((s.first_ns, s.last_ns), (at(300), at(49_900)));
    assert_eq!(s.key, "10.0.0.5|feeds/c2.csv:7|ip.dst");
    assert_eq!(s.window_start_ns, T0);
    assert_eq!(s.host, Some(ip("10.0.0.5")));
    assert_eq!(s.indicator.as_ref().unwrap().value(), "10.1.1.10");
    let f = s.flow.as_ref().unwrap();
    assert_eq!((f.src_ip, f.dst_ip, f.dst_port, f.proto.as_str()), (ip("10.0.0.5"), ip("10.1.1.10"), Some(443), "tcp"));
    assert_eq!(s.input, "packet");

    // Window 2: 10 more events (11 in all) → 3 pass, summary of 8 at finish.
    out.clear();
    let mut passed = 1;
    for n in 1..=10 {
        if e.push(&pkt("e", 60_000 + n * 1000, "10.0.0.5", "10.1.1.10", i), &mut out) {
            passed += 1;
        }
    }
    assert_eq!(passed, 3);
    e.finish(&mut out);
    let s = summaries(&out);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].suppressed, s[0].first_ns, s[0].last_ns), (8, at(63_000), at(70_000)));
    assert_eq!(s[0].window_start_ns, T0 + 60 * NS);
    let st = e.stats();
    assert_eq!((st.events, st.passed, st.suppressed, st.summaries), (511, 6, 505, 2));
    assert_eq!(st.passed + st.suppressed, st.events);
}

/// A summary describes what it held back: its `flow` and `match` are
/// those of the first event held back, not of one that passed.
#[test]
fn the_summary_shows_the_first_event_held_back() {
    let mut e = Engine::new(Config { throttle_first: 2, ..Config::default() });
    let mut out = Vec::new();
    let i = ind("7", "ip", "10.1.1.10");
    for n in 0..5u16 {
        let mut ev = pkt("e", i64::from(n) * 100, "10.0.0.5", "10.1.1.10", i);
        ev.src_port = Some(40_000 + n);
        ev.value = ["10.1.1.10", "10.1.1.10", "10.1.1.10 (2)", "10.1.1.10 (3)", "x"][n as usize];
        e.push(&ev, &mut out);
    }
    e.finish(&mut out);
    let s = summaries(&out);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].suppressed, s[0].first_ns), (3, at(200)));
    assert_eq!(s[0].flow.as_ref().unwrap().src_port, Some(40_002));
    assert_eq!(s[0].value, "10.1.1.10 (2)");
}

#[test]
fn keys_are_host_indicator_where() {
    let cfg = Config { throttle_first: 1, ..Config::default() };
    let mut e = Engine::new(cfg);
    let mut out = Vec::new();
    let a = ind("1", "ip", "10.1.1.10");
    let b = ind("2", "ip", "10.1.1.10");
    // Different host, indicator or where: each passes once.
    assert!(e.push(&pkt("1", 0, "10.0.0.5", "10.1.1.10", a), &mut out));
    assert!(e.push(&pkt("2", 1, "10.0.0.6", "10.1.1.10", a), &mut out));
    assert!(e.push(&pkt("3", 2, "10.0.0.5", "10.1.1.10", b), &mut out));
    let mut src = pkt("4", 3, "10.1.1.10", "10.0.0.5", a);
    src.location = "ip.src";
    src.value = "10.1.1.10";
    // Listed source: the host is the destination 10.0.0.5, but `where` differs.
    assert_eq!(src.host(), Some(ip("10.0.0.5")));
    assert!(e.push(&src, &mut out));
    assert!(!e.push(&pkt("5", 4, "10.0.0.5", "10.1.1.10", a), &mut out));
    // A rule event keys on the rule.
    let rule = EventIn {
        id: "r",
        ts_ns: at(5),
        sensor: "edge-1",
        kind: "rule",
        input: "syslog",
        location: "syslog.message",
        value: "Failed password",
        rule: Some(("re", "ssh-fail")),
        syslog_host: Some(ip("10.0.0.9")),
        ..EventIn::default()
    };
    assert_eq!(rule.host(), Some(ip("10.0.0.9")));
    assert!(e.push(&rule, &mut out));
    assert!(!e.push(&EventIn { ts_ns: at(6), ..rule }, &mut out));
    e.finish(&mut out);
    let s = summaries(&out);
    let keys: Vec<(&str, u64)> = s.iter().map(|s| (s.key.as_str(), s.suppressed)).collect();
    assert_eq!(keys, [("10.0.0.5|feeds/c2.csv:1|ip.dst", 1), ("10.0.0.9|rule:re:ssh-fail|syslog.message", 1)]);
    assert_eq!(s[1].rule, Some(("re".to_string(), "ssh-fail".to_string())));
    assert!(s[1].indicator.is_none() && s[1].flow.is_none());
}

#[test]
fn late_events_count_into_the_current_window() {
    let cfg = Config { throttle_first: 1, ..Config::default() };
    let mut e = Engine::new(cfg);
    let mut out = Vec::new();
    let i = ind("7", "ip", "10.1.1.10");
    e.push(&pkt("a", 61_000, "10.0.0.5", "10.1.1.10", i), &mut out);
    // 50 s: before the current window [60, 120).
    assert!(!e.push(&pkt("b", 50_000, "10.0.0.5", "10.1.1.10", i), &mut out));
    assert_eq!(e.stats().late, 1);
    e.finish(&mut out);
    let s = summaries(&out);
    assert_eq!((s.len(), s[0].first_ns, s[0].window_start_ns), (1, at(50_000), T0 + 60 * NS));
    let rate: Vec<&RateReport> =
        out.iter().filter_map(|o| if let Output::Rate(r) = o { Some(r) } else { None }).collect();
    assert_eq!((rate.len(), rate[0].events, rate[0].late, rate[0].per_second_max), (1, 2, 1, 1));
}

#[test]
fn advance_closes_idle_windows() {
    let mut e = Engine::new(Config { throttle_first: 1, ..Config::default() });
    let mut out = Vec::new();
    let i = ind("7", "ip", "10.1.1.10");
    e.push(&pkt("a", 1000, "10.0.0.5", "10.1.1.10", i), &mut out);
    e.push(&pkt("b", 2000, "10.0.0.5", "10.1.1.10", i), &mut out);
    e.advance(at(59_999), &mut out);
    assert!(summaries(&out).is_empty());
    e.advance(at(60_000), &mut out);
    assert_eq!(summaries(&out).len(), 1);
    assert_eq!(topn(&out, "host").len(), 1);
    // Nothing more to report for the empty window but the idle session.
    let n = out.len();
    e.advance(at(200_000), &mut out);
    assert_eq!(out.len(), n + 1);
    assert_eq!(sessions(&out[n..]).len(), 1);
}

#[test]
fn extreme_timestamps_do_not_panic() {
    let rules = vec![
        CorrelationRule::DnsThenConnect { name: "d".into(), within_s: u64::MAX },
        CorrelationRule::DistinctIndicators { name: "s".into(), within_s: u64::MAX, k: 2 },
        CorrelationRule::MultiSensor { name: "m".into(), within_s: 0, sensors: 0 },
    ];
    let mut e = Engine::new(Config {
        window_s: u64::MAX,
        session_idle_s: u64::MAX,
        max_keys: 0,
        correlations: rules,
        ..Config::default()
    });
    let mut out = Vec::new();
    let i = ind("7", "ip", "10.1.1.10");
    for ts in [i64::MIN, i64::MAX, 0, i64::MIN, -1, i64::MAX] {
        let mut ev = pkt("x", 0, "10.0.0.5", "10.1.1.10", i);
        ev.ts_ns = ts;
        e.push(&ev, &mut out);
        e.push(&dns("d", 0, "10.0.0.5", "x", &["10.1.1.10"]), &mut out);
        e.advance(ts, &mut out);
    }
    e.finish(&mut out);
    let mut buf = Vec::new();
    out.iter().for_each(|o| encode(o, "a", &mut buf));
    let s = e.stats();
    assert_eq!(s.passed + s.suppressed, s.events);
}
