mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use store::{
    DIMS, EventFilter, InsertStats, Page, Query, Store, StoreConfig, StoreError, StoredEvent, ValueMatch, minute_of,
};

struct TempDir(PathBuf);
impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("sdn-store-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn db(&self) -> PathBuf {
        self.0.join("store.db")
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &TempDir) -> Store {
    Store::open(&StoreConfig { path: dir.db(), max_age: None, max_bytes: None }).unwrap()
}

fn insert(store: &mut Store, lines: &[String]) -> InsertStats {
    let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    store.insert_json(&refs).unwrap()
}

fn insert_events(store: &mut Store, evs: &[Ev], batch: usize) {
    for chunk in evs.chunks(batch) {
        let lines: Vec<String> = chunk.iter().map(Ev::json).collect();
        insert(store, &lines);
    }
}

/// Every page of a search, checking page boundaries.
fn all_pages(q: &Query, f: &EventFilter, size: usize) -> Vec<StoredEvent> {
    let mut out: Vec<StoredEvent> = Vec::new();
    let mut page = Page::first(size);
    loop {
        let rows = q.search(f, page.clone()).unwrap();
        assert!(rows.len() <= size);
        let Some(last) = rows.last() else { break };
        page = Page { size, before: Some(last.cursor()) };
        let full = rows.len() == size;
        out.extend(rows);
        if !full {
            break;
        }
    }
    out
}

fn expect_ids<'a>(evs: impl Iterator<Item = &'a Ev>) -> Vec<String> {
    let mut v: Vec<(i64, &str)> = evs.map(|e| (e.ts_ns, e.id.as_str())).collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    v.into_iter().map(|(_, id)| id.to_owned()).collect()
}

fn ids(rows: &[StoredEvent]) -> Vec<String> {
    rows.iter().map(|r| r.id.clone()).collect()
}

#[test]
fn insert_dedup_routes_and_counts() {
    let dir = TempDir::new("insert");
    let mut s = open(&dir);
    let evs = generate(50, T0, 5, 1);
    let mut lines: Vec<String> = evs.iter().map(Ev::json).collect();
    lines.push(rule_event("edge-1:r1", T0 + 1));
    lines.push(summary_event("analytics:s1", T0 + 2 * MIN, 497));
    lines.push(incident_event("analytics:i1", T0 + 3 * MIN, "10.0.0.5", &[&evs[0].id, &evs[1].id, "gone:1"]));
    lines.push(report_line(T0, "top_n"));
    let st = insert(&mut s, &lines);
    assert_eq!(st, InsertStats { inserted: 53, duplicates: 0, malformed: 0, incidents: 1, reports: 1 });
    // Redelivery: nothing new; the same report is not stored twice.
    let st = insert(&mut s, &lines);
    assert_eq!(st, InsertStats { inserted: 0, duplicates: 53, malformed: 0, incidents: 0, reports: 0 });

    let q = Query::open(&dir.db()).unwrap();
    let c = q.counts().unwrap();
    assert_eq!((c.events, c.incidents, c.summaries, c.reports), (53, 1, 1, 1));
    assert_eq!(c.oldest_ns, Some(evs.iter().map(|e| e.ts_ns).min().unwrap().min(T0 + 1)));
    assert_eq!(c.newest_ns, Some(evs.iter().map(|e| e.ts_ns).max().unwrap().max(T0 + 3 * MIN)));

    // The rule event: syslog sender is the host, rule columns filled, JSON kept verbatim.
    let f = EventFilter { kind: Some("rule".into()), ..Default::default() };
    let rows = q.search(&f, Page::first(10)).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.rule_chain.as_deref(), r.rule_name.as_deref(), r.host.as_deref()),
        (Some("re"), Some("bad-domains"), Some("10.9.9.9"))
    );
    assert_eq!(r.json, lines[50]);
    assert_eq!(parse(&r.json)["syslog"]["message"], "lookup \"bad.example\" failed\\n");

    // The summary event is an event too, with its indicator and flow.
    let f = EventFilter { kind: Some("summary".into()), ..Default::default() };
    let rows = q.search(&f, Page::first(10)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].feed.as_deref(), rows[0].host.as_deref(), rows[0].dst_port),
        (Some("feeds/c2.csv"), Some("10.0.0.5"), Some(443))
    );

    // An event whose source and destination are the same address is found once.
    let mut same = parse(&evs[2].json());
    same["id"] = "edge-1:same".into();
    same["flow"]["src_ip"] = "10.7.7.7".into();
    same["flow"]["dst_ip"] = "10.7.7.7".into();
    assert_eq!(insert(&mut s, &[same.to_string()]).inserted, 1);
    let rows = q.search(&EventFilter { ip: Some("10.7.7.7".into()), ..Default::default() }, Page::first(10)).unwrap();
    assert_eq!(ids(&rows), vec!["edge-1:same".to_string()]);
    let rows =
        q.search(&EventFilter { cidr: Some("10.7.7.0/24".into()), ..Default::default() }, Page::first(10)).unwrap();
    assert_eq!(ids(&rows), vec!["edge-1:same".to_string()]);

    // Summary and incident events count under all/kind/sensor, not under the hit dims: the
    // summary's indicator and input and the incident's host and input are not hits of their own.
    let range = (T0 - MIN, T0 + 10 * MIN);
    let top_feed = q.top("feed", range.0, range.1, 10).unwrap();
    assert_eq!(top_feed.iter().map(|x| x.1).sum::<u64>(), 51, "{top_feed:?}"); // 50 intel + the same-address one
    assert!(q.top("indicator", range.0, range.1, 1000).unwrap().iter().all(|(v, _)| v != "42"));
    // Hosts: the 51 intel events and the rule event's syslog sender.
    assert_eq!(q.top("host", range.0, range.1, 1000).unwrap().iter().map(|x| x.1).sum::<u64>(), 52);
    let kinds = q.top("kind", range.0, range.1, 10).unwrap();
    let kinds: Vec<(&str, u64)> = kinds.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(kinds, vec![("intel", 51), ("incident", 1), ("rule", 1), ("summary", 1)]);
    assert_eq!(q.top("sensor", range.0, range.1, 10).unwrap().iter().map(|x| x.1).sum::<u64>(), 54);
    assert_eq!(q.top("input", range.0, range.1, 10).unwrap().iter().map(|x| x.1).sum::<u64>(), 52);

    // The report.
    let reps = q.reports(Some("top_n"), T0, T0 + MIN, 10).unwrap();
    assert_eq!(reps.len(), 1);
    assert_eq!((reps[0].window_start_ns, reps[0].kind.as_str()), (T0, "top_n"));
    assert_eq!(parse(&reps[0].json)["top"][0]["count"], 12);
    assert!(q.reports(None, T0 + 1, T0 + MIN, 10).unwrap().is_empty());
}

#[test]
fn malformed_lines_are_counted_and_skipped() {
    let dir = TempDir::new("malformed");
    let mut s = open(&dir);
    let good = generate(3, T0, 1, 2);
    let mut no_ts = parse(&good[0].json());
    no_ts.as_object_mut().unwrap().remove("ts");
    let mut bad_ts = parse(&good[0].json());
    bad_ts["ts"] = "yesterday".into();
    let mut no_id = parse(&good[0].json());
    no_id.as_object_mut().unwrap().remove("id");
    let mut num_ind = parse(&good[0].json());
    num_ind["indicator"]["id"] = 42.into(); // the contract says string
    let lines = vec![
        good[0].json(),
        "".to_string(),
        "not json".to_string(),
        "[1,2,3]".to_string(),
        "{\"id\": \"x\", \"ts\": ".to_string(),
        no_ts.to_string(),
        bad_ts.to_string(),
        no_id.to_string(),
        num_ind.to_string(),
        r#"{"report": "top_n"}"#.to_string(), // a report without window_start or ts
        good[1].json() + "\n",
        good[2].json(),
    ];
    let mut refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let invalid_utf8: &[u8] = b"{\"id\":\"\xff\"}";
    refs.push(invalid_utf8);
    let st = s.insert_json(&refs).unwrap();
    assert_eq!(st, InsertStats { inserted: 3, duplicates: 0, malformed: 10, incidents: 0, reports: 0 });
    let q = Query::open(&dir.db()).unwrap();
    assert_eq!(q.counts().unwrap().events, 3);
    // The trailing newline is not stored.
    let row =
        q.search(&EventFilter { ip: Some(good[1].src_ip.clone()), ..Default::default() }, Page::first(10)).unwrap();
    assert!(row.iter().all(|r| !r.json.ends_with('\n')));
}

/// Expected aggregate rows (dim, minute, value) -> count, computed from the generated events in Rust.
fn expected_aggs(evs: &[Ev]) -> BTreeMap<(String, i64, String), u64> {
    let mut m = BTreeMap::new();
    for e in evs {
        let minute = minute_of(e.ts_ns);
        let (ind_id, ind_value, tt, feed) = e.indicator.clone().unwrap();
        let mut vals = vec![
            ("all", String::new()),
            ("kind", e.kind.to_string()),
            ("input", e.input.to_string()),
            ("feed", feed),
            ("indicator", ind_id),
            ("indicator_value", ind_value),
            ("threat_type", tt.to_string()),
            ("sensor", e.sensor.clone()),
            ("src_ip", e.src_ip.clone()),
            ("dst_ip", e.dst_ip.clone()),
            ("host", e.host().to_string()),
        ];
        if let Some(p) = e.dst_port {
            vals.push(("dst_port", p.to_string()));
        }
        for (d, v) in vals {
            *m.entry((d.to_string(), minute, v)).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn aggregates_equal_raw_counts_for_every_dim() {
    let dir = TempDir::new("aggs");
    let mut s = open(&dir);
    let evs = generate(3000, T0, 30, 3);
    // Uneven batches, with a redelivered overlap that must not count twice.
    insert_events(&mut s, &evs[..1700], 333);
    insert_events(&mut s, &evs[1200..], 517);
    let expected = expected_aggs(&evs);

    // The stored table, row by row.
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let mut st = conn.prepare("SELECT dim, minute, value, count FROM agg_minute").unwrap();
    let got: BTreeMap<(String, i64, String), u64> = st
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get::<_, i64>(3)? as u64)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, expected);
    let dims: HashSet<&str> = got.keys().map(|k| k.0.as_str()).collect();
    assert_eq!(dims.len(), DIMS.len(), "every dim present");

    // And the same against the raw rows in SQL (the store's own columns).
    for dim in DIMS {
        let expr = match *dim {
            "all" => "''",
            "indicator" => "indicator_id",
            "dst_port" => "CAST(dst_port AS TEXT)",
            d => d,
        };
        let sql = format!(
            "SELECT (ts_ns / 60000000000) * 60000000000 AS m, {expr} AS v, COUNT(*) FROM events WHERE v IS NOT NULL GROUP BY m, v"
        );
        let mut st = conn.prepare(&sql).unwrap();
        let raw: BTreeMap<(String, i64, String), u64> = st
            .query_map([], |r| Ok(((dim.to_string(), r.get(0)?, r.get(1)?), r.get::<_, i64>(2)? as u64)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let agg: BTreeMap<_, _> = got.iter().filter(|(k, _)| k.0 == *dim).map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(raw, agg, "dim {dim}");
    }

    // Query::top over the whole range equals the totals; series sums to the total.
    let q = Query::open(&dir.db()).unwrap();
    for dim in DIMS {
        let mut totals: HashMap<String, u64> = HashMap::new();
        for ((d, _, v), c) in &expected {
            if d == dim {
                *totals.entry(v.clone()).or_insert(0) += c;
            }
        }
        let mut want: Vec<(String, u64)> = totals.into_iter().collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        assert_eq!(q.top(dim, T0, T0 + 30 * MIN, 1000).unwrap(), want, "top {dim}");
        let series_total: u64 = q.series(dim, None, T0, T0 + 30 * MIN).unwrap().iter().map(|x| x.1).sum();
        assert_eq!(series_total, want.iter().map(|x| x.1).sum::<u64>());
    }
    assert_eq!(q.counts().unwrap().events, 3000);
    let fh = q.feed_hits(T0, T0 + 30 * MIN).unwrap();
    assert_eq!(fh.iter().map(|x| x.1).sum::<u64>(), 3000);
    assert_eq!(fh, q.top("feed", T0, T0 + 30 * MIN, 10).unwrap());
}

#[test]
fn top_order_and_series() {
    let dir = TempDir::new("top");
    let mut s = open(&dir);
    let mk = |id: usize, minute: i64, src: &str| Ev {
        id: format!("t:{id:04}"),
        ts_ns: T0 + minute * MIN + id as i64,
        sensor: "edge-1".into(),
        kind: "intel",
        input: "packet",
        location: "ip.dst",
        value: "192.0.2.1".into(),
        indicator: Some(("1".into(), "192.0.2.1".into(), "c2", "f".into())),
        src_ip: src.into(),
        dst_ip: "192.0.2.1".into(),
        dst_port: Some(443),
    };
    // Minute 0: b x3, a x3, c x1 ; minute 2: c x3, d x1 ; minute 5: a x1.
    let mut evs = Vec::new();
    for (n, (minute, src)) in [
        (0, "10.0.0.2"),
        (0, "10.0.0.2"),
        (0, "10.0.0.2"),
        (0, "10.0.0.1"),
        (0, "10.0.0.1"),
        (0, "10.0.0.1"),
        (0, "10.0.0.3"),
        (2, "10.0.0.3"),
        (2, "10.0.0.3"),
        (2, "10.0.0.3"),
        (2, "10.0.0.4"),
        (5, "10.0.0.1"),
    ]
    .into_iter()
    .enumerate()
    {
        evs.push(mk(n, minute, src));
    }
    insert_events(&mut s, &evs, 5);
    let q = Query::open(&dir.db()).unwrap();
    let top = |from, to, n| q.top("src_ip", from, to, n).unwrap();
    let pairs = |v: &[(&str, u64)]| v.iter().map(|(a, b)| (a.to_string(), *b)).collect::<Vec<_>>();
    assert_eq!(
        top(T0, T0 + 10 * MIN, 10),
        pairs(&[("10.0.0.1", 4), ("10.0.0.3", 4), ("10.0.0.2", 3), ("10.0.0.4", 1)])
    );
    assert_eq!(top(T0, T0 + 10 * MIN, 2), pairs(&[("10.0.0.1", 4), ("10.0.0.3", 4)]));
    assert_eq!(top(T0, T0 + MIN, 10), pairs(&[("10.0.0.1", 3), ("10.0.0.2", 3), ("10.0.0.3", 1)]));
    // A range inside minute 2 counts minute 2 whole; [1 min, 2 min) touches neither 0 nor 2.
    assert_eq!(top(T0 + 2 * MIN + 5, T0 + 2 * MIN + 6, 10), pairs(&[("10.0.0.3", 3), ("10.0.0.4", 1)]));
    assert_eq!(top(T0 + MIN, T0 + 2 * MIN, 10), vec![]);
    // Deterministic across calls.
    for _ in 0..3 {
        assert_eq!(top(T0, T0 + 10 * MIN, 10), top(T0, T0 + 10 * MIN, 10));
    }

    assert_eq!(q.series("all", None, T0, T0 + 10 * MIN).unwrap(), vec![(T0, 7), (T0 + 2 * MIN, 4), (T0 + 5 * MIN, 1)]);
    assert_eq!(q.series("src_ip", Some("10.0.0.1"), T0, T0 + 10 * MIN).unwrap(), vec![(T0, 3), (T0 + 5 * MIN, 1)]);
    assert_eq!(q.series("src_ip", Some("10.0.0.3"), T0 + MIN, T0 + 3 * MIN).unwrap(), vec![(T0 + 2 * MIN, 3)]);
    assert_eq!(q.series("dst_port", Some("443"), T0, T0 + 3 * MIN).unwrap(), vec![(T0, 7), (T0 + 2 * MIN, 4)]);
    assert_eq!(q.series("src_ip", Some("10.9.9.9"), T0, T0 + 10 * MIN).unwrap(), vec![]);
}

#[test]
fn bad_requests() {
    let dir = TempDir::new("bad");
    let _s = open(&dir);
    let q = Query::open(&dir.db()).unwrap();
    let bad = |r: Result<(), StoreError>, what: &str| match r {
        Err(StoreError::BadRequest(m)) => assert!(m.contains(what), "{m:?} lacks {what:?}"),
        other => panic!("want BadRequest({what}), got {other:?}"),
    };
    bad(q.top("colour", 0, 1, 10).map(drop), "unknown dimension");
    bad(q.top("src_ip", 0, 1, 0).map(drop), "out of range");
    bad(q.top("src_ip", 0, 1, 1001).map(drop), "out of range");
    bad(q.top("src_ip", 5, 1, 10).map(drop), "after");
    bad(q.series("nope", None, 0, 1).map(drop), "unknown dimension");
    let f = EventFilter::default();
    bad(q.search(&f, Page::first(0)).map(drop), "page size");
    bad(q.search(&f, Page::first(1001)).map(drop), "page size");
    for c in ["10.0.0.0/33", "::/129", "10.0.0/8", "banana"] {
        bad(
            q.search(&EventFilter { cidr: Some(c.into()), ..Default::default() }, Page::first(10)).map(drop),
            "bad cidr",
        );
    }
    bad(
        q.search(&EventFilter { ip: Some("10.0.0.256".into()), ..Default::default() }, Page::first(10)).map(drop),
        "bad ip",
    );
    bad(q.incidents(0, 1, Page::first(0)).map(drop), "page size");
    bad(store::Cursor::from_token("abc").map(drop), "cursor");
    assert_eq!(
        store::Cursor::from_token("5:edge-1:00ff").unwrap(),
        store::Cursor { ts_ns: 5, id: "edge-1:00ff".into() }
    );
    assert!(q.search(&f, Page::first(1000)).unwrap().is_empty());
}

#[test]
fn search_filters_with_keyset_pagination() {
    let dir = TempDir::new("search");
    let mut s = open(&dir);
    let evs = generate(2000, T0, 20, 4);
    insert_events(&mut s, &evs, 250);
    let q = Query::open(&dir.db()).unwrap();
    let check = |f: EventFilter, pred: &dyn Fn(&Ev) -> bool, size: usize| {
        let want = expect_ids(evs.iter().filter(|e| pred(e)));
        assert!(!want.is_empty(), "{f:?} selects nothing");
        let got = ids(&all_pages(&q, &f, size));
        assert_eq!(got.len(), want.len(), "{f:?}");
        assert_eq!(got, want, "{f:?}");
        want.len()
    };
    // Everything, across many pages (ts ties resolved by id).
    check(EventFilter::default(), &|_| true, 37);
    check(EventFilter::default(), &|_| true, 1000);
    // By ip: source, destination or host.
    check(
        EventFilter { ip: Some("10.0.1.7".into()), ..Default::default() },
        &|e| e.src_ip == "10.0.1.7" || e.dst_ip == "10.0.1.7",
        3,
    );
    check(
        EventFilter { ip: Some("192.0.2.3".into()), ..Default::default() },
        &|e| e.src_ip == "192.0.2.3" || e.dst_ip == "192.0.2.3",
        10,
    );
    // An IPv4-mapped spelling finds the IPv4 rows.
    check(
        EventFilter { ip: Some("::ffff:10.0.1.7".into()), ..Default::default() },
        &|e| e.src_ip == "10.0.1.7" || e.dst_ip == "10.0.1.7",
        50,
    );
    check(
        EventFilter { ip: Some("2001:db8:2::5".into()), ..Default::default() },
        &|e| e.src_ip == "2001:db8:2::5" || e.dst_ip == "2001:db8:2::5",
        4,
    );
    // By CIDR, v4 and v6.
    let in4 = |e: &Ev, p: &str| e.src_ip.starts_with(p) || e.dst_ip.starts_with(p);
    check(EventFilter { cidr: Some("10.0.2.0/24".into()), ..Default::default() }, &|e| in4(e, "10.0.2."), 25);
    check(EventFilter { cidr: Some("10.0.0.0/8".into()), ..Default::default() }, &|e| in4(e, "10."), 100);
    check(EventFilter { cidr: Some("192.0.2.0/24".into()), ..Default::default() }, &|e| in4(e, "192.0.2."), 100);
    check(EventFilter { cidr: Some("2001:db8:1::/48".into()), ..Default::default() }, &|e| in4(e, "2001:db8:1::"), 9);
    check(EventFilter { cidr: Some("2001:db8::/32".into()), ..Default::default() }, &|e| in4(e, "2001:db8:"), 100);
    // IPv4 is stored IPv4-mapped, so ::/0 covers every address and ::ffff:0:0/96 all of IPv4.
    check(EventFilter { cidr: Some("::/0".into()), ..Default::default() }, &|_| true, 200);
    check(EventFilter { cidr: Some("::ffff:0:0/96".into()), ..Default::default() }, &|e| !e.src_ip.contains(':'), 200);
    check(EventFilter { cidr: Some("0.0.0.0/0".into()), ..Default::default() }, &|e| !e.src_ip.contains(':'), 200);
    // By value: exact (case-insensitive), substring, domain suffix.
    check(
        EventFilter { value: Some("WWW1.evil4.example".into()), ..Default::default() },
        &|e| e.value == "www1.evil4.example",
        5,
    );
    check(
        EventFilter { value: Some("evil7".into()), value_match: ValueMatch::Substring, ..Default::default() },
        &|e| e.value.contains("evil7"),
        5,
    );
    check(
        EventFilter { value: Some("evil1".into()), value_match: ValueMatch::Substring, ..Default::default() },
        &|e| e.value.contains("evil1"),
        20,
    );
    check(
        EventFilter { value: Some("evil10.example".into()), value_match: ValueMatch::Domain, ..Default::default() },
        &|e| e.value.ends_with(".evil10.example"),
        20,
    );
    // Nothing matches a LIKE wildcard literally.
    assert!(
        q.search(
            &EventFilter { value: Some("%".into()), value_match: ValueMatch::Substring, ..Default::default() },
            Page::first(5)
        )
        .unwrap()
        .is_empty()
    );
    // By indicator, feed, input, kind, sensor.
    let ind = |e: &Ev| e.indicator.clone().unwrap();
    check(EventFilter { indicator_id: Some("105".into()), ..Default::default() }, &|e| ind(e).0 == "105", 11);
    check(
        EventFilter { indicator_value: Some("EVIL4.example".into()), ..Default::default() },
        &|e| ind(e).1 == "evil4.example",
        11,
    );
    check(EventFilter { feed: Some(FEEDS[1].into()), ..Default::default() }, &|e| ind(e).3 == FEEDS[1], 77);
    check(
        EventFilter { input: Some("tls".into()), sensor: Some("edge-2".into()), ..Default::default() },
        &|e| e.input == "tls" && e.sensor == "edge-2",
        33,
    );
    check(EventFilter { kind: Some("intel".into()), ..Default::default() }, &|_| true, 500);
    // Time range, alone and combined.
    let (a, b) = (T0 + 3 * MIN + 123_456_789, T0 + 7 * MIN + 5);
    check(EventFilter { from_ns: Some(a), to_ns: Some(b), ..Default::default() }, &|e| e.ts_ns >= a && e.ts_ns < b, 13);
    check(
        EventFilter {
            from_ns: Some(a),
            to_ns: Some(b),
            feed: Some(FEEDS[0].into()),
            cidr: Some("10.0.0.0/16".into()),
            ..Default::default()
        },
        &|e| e.ts_ns >= a && e.ts_ns < b && ind(e).3 == FEEDS[0] && in4(e, "10.0."),
        6,
    );
    // Row contents.
    let e = &evs[17];
    let row = q
        .search(
            &EventFilter {
                ip: Some(e.src_ip.clone()),
                from_ns: Some(e.ts_ns),
                to_ns: Some(e.ts_ns + 1),
                ..Default::default()
            },
            Page::first(100),
        )
        .unwrap();
    let row = row.iter().find(|r| r.id == e.id).unwrap();
    assert_eq!(row.ts_ns, e.ts_ns);
    assert_eq!(row.host.as_deref(), Some(e.host()));
    assert_eq!(row.location.as_deref(), Some(e.location));
    assert_eq!(row.dst_port, e.dst_port);
    assert_eq!(row.json, e.json());
    // Index use for the selective searches (no full scan of events).
    for f in [
        EventFilter { ip: Some("10.0.1.7".into()), ..Default::default() },
        EventFilter { cidr: Some("10.0.2.0/24".into()), ..Default::default() },
        EventFilter { value: Some("x.example".into()), ..Default::default() },
        EventFilter { indicator_id: Some("1".into()), ..Default::default() },
    ] {
        let plan = q.explain_search(&f, Page::first(10)).unwrap();
        assert!(!plan.contains("SCAN events"), "{f:?}: {plan}");
    }
}

#[test]
fn incidents_with_their_events() {
    let dir = TempDir::new("incidents");
    let mut s = open(&dir);
    let evs = generate(20, T0, 2, 5);
    insert_events(&mut s, &evs, 20);
    let mut lines = Vec::new();
    for i in 0..12 {
        let listed = [evs[i].id.as_str(), evs[i + 1].id.as_str(), "missing:0"];
        lines.push(incident_event(&format!("analytics:{i:02}"), T0 + (i as i64 / 2) * MIN, "10.0.0.5", &listed));
    }
    let st = insert(&mut s, &lines);
    assert_eq!((st.inserted, st.incidents), (12, 12));
    let q = Query::open(&dir.db()).unwrap();
    // Pages of 5 over 12 incidents (pairs share a ts): newest first, no duplicates, no gaps.
    let mut got = Vec::new();
    let mut page = Page::first(5);
    loop {
        let rows = q.incidents(T0, T0 + 10 * MIN, page.clone()).unwrap();
        let Some(last) = rows.last() else { break };
        page = Page { size: 5, before: Some(last.cursor()) };
        got.extend(rows.iter().map(|r| r.id.clone()));
    }
    let want: Vec<String> = (0..12).rev().map(|i| format!("analytics:{i:02}")).collect();
    assert_eq!(got, want);
    assert_eq!(q.incidents(T0 + MIN, T0 + 2 * MIN, Page::first(10)).unwrap().len(), 2);

    let (inc, events) = q.incident("analytics:03").unwrap().unwrap();
    assert_eq!((inc.rule.as_deref(), inc.host.as_deref()), (Some("dns-then-connect"), Some("10.0.0.5")));
    assert_eq!(inc.events, vec![evs[3].id.clone(), evs[4].id.clone(), "missing:0".into()]);
    let mut want = vec![(evs[3].ts_ns, evs[3].id.clone()), (evs[4].ts_ns, evs[4].id.clone())];
    want.sort();
    assert_eq!(events.iter().map(|e| (e.ts_ns, e.id.clone())).collect::<Vec<_>>(), want);
    assert_eq!(parse(&inc.json)["incident"]["events"][2], "missing:0");
    assert!(q.incident("analytics:99").unwrap().is_none());
    // Incident events are events too, and the incident's host is their host.
    let f = EventFilter { kind: Some("incident".into()), ip: Some("10.0.0.5".into()), ..Default::default() };
    assert_eq!(q.search(&f, Page::first(100)).unwrap().len(), 12);
}

#[test]
fn retention_by_age() {
    let dir = TempDir::new("age");
    let cfg = StoreConfig { path: dir.db(), max_age: Some(Duration::from_secs(3600)), max_bytes: None };
    let mut s = Store::open(&cfg).unwrap();
    let evs = generate(3000, T0, 180, 6); // three hours
    insert_events(&mut s, &evs, 500);
    insert(
        &mut s,
        &[
            incident_event("a:old", T0 + MIN, "10.0.0.1", &[&evs[0].id]),
            incident_event("a:new", T0 + 170 * MIN, "10.0.0.1", &[]),
        ],
    );
    insert(&mut s, &[report_line(T0, "top_n"), report_line(T0 + 175 * MIN, "top_n")]);
    let now = T0 + 180 * MIN + 30_000_000_000; // keep the last hour: cut-off = minute of now - 1 h
    let cutoff = minute_of(now - 3600 * 1_000_000_000);
    let st = s.enforce_retention(now).unwrap();
    let kept: Vec<&Ev> = evs.iter().filter(|e| e.ts_ns >= cutoff).collect();
    assert_eq!(st.events_deleted as usize, 3000 - kept.len() + 1); // + the old incident event
    assert_eq!((st.incidents_deleted, st.reports_deleted), (1, 1));
    assert!(st.agg_rows_deleted > 0);
    let q = Query::open(&dir.db()).unwrap();
    let c = q.counts().unwrap();
    let raw: i64 = rusqlite::Connection::open(dir.db())
        .unwrap()
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(raw as usize, kept.len() + 1);
    assert_eq!(c.events as usize, kept.len() + 1);
    assert!(c.oldest_ns.unwrap() >= cutoff);
    assert_eq!((c.incidents, c.reports), (1, 1));
    // Aggregates still equal the raw rows that remain.
    let kept_owned: Vec<Ev> = generate(3000, T0, 180, 6).into_iter().filter(|e| e.ts_ns >= cutoff).collect();
    let want = expected_aggs(&kept_owned);
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let got: BTreeMap<(String, i64, String), u64> = conn
        .prepare("SELECT dim, minute, value, count FROM agg_minute WHERE NOT (dim IN ('kind','input','sensor','host','src_ip','dst_ip','all') AND minute = ?1)")
        .unwrap()
        .query_map([minute_of(T0 + 170 * MIN)], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get::<_, i64>(3)? as u64)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let want: BTreeMap<_, _> = want
        .into_iter()
        .filter(|(k, _)| {
            !(["kind", "input", "sensor", "host", "src_ip", "dst_ip", "all"].contains(&k.0.as_str())
                && k.1 == minute_of(T0 + 170 * MIN))
        })
        .collect();
    assert_eq!(got, want);
    // Idempotent.
    let st = s.enforce_retention(now).unwrap();
    assert_eq!(st.events_deleted + st.agg_rows_deleted + st.incidents_deleted + st.reports_deleted, 0);
}

#[test]
fn retention_by_size() {
    let dir = TempDir::new("size");
    let mut s = open(&dir);
    let evs = generate(20_000, T0, 200, 7);
    insert_events(&mut s, &evs, 1000);
    let full = s.used_bytes().unwrap();
    assert!(full > 4 << 20, "{full}");
    drop(s);
    let max = full / 3;
    let cfg = StoreConfig { path: dir.db(), max_age: None, max_bytes: Some(max) };
    let mut s = Store::open(&cfg).unwrap();
    let st = s.enforce_retention(T0 + 200 * MIN).unwrap();
    assert!(st.bytes_after <= max, "{st:?}");
    assert!(st.bytes_before == full && st.size_rounds >= 1, "{st:?}");
    // The file itself shrank (incremental vacuum), after a checkpoint.
    s.checkpoint().unwrap();
    assert!(std::fs::metadata(dir.db()).unwrap().len() <= max + (64 << 10), "{st:?}");
    let q = Query::open(&dir.db()).unwrap();
    let c = q.counts().unwrap();
    // The oldest whole minutes went; what remains is the newest, and aggregates agree with it.
    let oldest = c.oldest_ns.unwrap();
    let kept: Vec<Ev> = evs.into_iter().filter(|e| e.ts_ns >= minute_of(oldest)).collect();
    assert_eq!(c.events as usize, kept.len());
    assert_eq!(st.events_deleted as usize, 20_000 - kept.len());
    assert!(kept.len() > 20_000 / 5 && kept.len() < 20_000 / 2, "kept {}", kept.len());
    let tops = q.top("host", T0, T0 + 200 * MIN, 1000).unwrap();
    let want = expected_aggs(&kept);
    let total_host: u64 = want.iter().filter(|(k, _)| k.0 == "host").map(|(_, v)| v).sum();
    assert_eq!(tops.iter().map(|x| x.1).sum::<u64>(), total_host);
    // Under the limit: nothing more to do.
    let st = s.enforce_retention(T0 + 200 * MIN).unwrap();
    assert_eq!((st.events_deleted, st.size_rounds), (0, 0));
}

#[test]
fn query_from_another_thread_while_writing() {
    let dir = TempDir::new("wal");
    let mut s = open(&dir);
    let evs = generate(20_000, T0, 60, 8);
    let path = dir.db();
    let reader = std::thread::spawn(move || {
        let q = Query::open(&path).unwrap();
        let mut seen = 0u64;
        let mut reads = 0;
        while seen < 20_000 {
            let c = q.counts().unwrap();
            // A reader sees whole batches only: event counts step by the batch size.
            assert_eq!(c.events % 500, 0, "{c:?}");
            assert!(c.events >= seen);
            seen = c.events;
            let top = q.top("src_ip", T0, T0 + 60 * MIN, 5).unwrap();
            assert!(top.len() <= 5);
            let rows = q
                .search(&EventFilter { cidr: Some("10.0.0.0/8".into()), ..Default::default() }, Page::first(50))
                .unwrap();
            assert!(rows.len() <= 50);
            reads += 1;
        }
        reads
    });
    for chunk in evs.chunks(500) {
        let lines: Vec<String> = chunk.iter().map(Ev::json).collect();
        insert(&mut s, &lines);
    }
    let reads = reader.join().unwrap();
    assert!(reads >= 1);
}

#[test]
fn query_after_the_writer_closed_and_reopen() {
    fn send<T: Send>() {}
    send::<Query>();
    send::<Store>();
    let dir = TempDir::new("reopen");
    let evs = generate(100, T0, 3, 9);
    {
        let mut s = open(&dir);
        insert_events(&mut s, &evs[..60], 25);
    } // closing the last connection checkpoints and removes -wal / -shm
    let q = Query::open(&dir.db()).unwrap();
    assert_eq!(q.counts().unwrap().events, 60);
    // Reopening keeps the schema and the data; aggregates continue.
    let mut s = open(&dir);
    insert_events(&mut s, &evs[40..], 25);
    assert_eq!(q.counts().unwrap().events, 100);
    assert_eq!(q.top("all", T0, T0 + 3 * MIN, 1).unwrap(), vec![(String::new(), 100)]);
    // Not a store: a clear error, not a panic.
    let other = dir.0.join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE t(x)").unwrap();
    assert!(matches!(Query::open(&other), Err(StoreError::BadRequest(_))));
    // A newer schema is refused.
    rusqlite::Connection::open(&other).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let cfg = StoreConfig { path: other, max_age: None, max_bytes: None };
    assert!(matches!(Store::open(&cfg), Err(StoreError::SchemaTooNew { found: 99, supported: store::SCHEMA_VERSION })));
}

#[test]
#[ignore = "diagnostics: prints search plans"]
fn print_plans() {
    let dir = TempDir::new("plans");
    let mut s = open(&dir);
    insert_events(&mut s, &generate(500, T0, 3, 9), 500);
    let q = Query::open(&dir.db()).unwrap();
    let after = Page::after(50, T0 + MIN, "x");
    for f in [
        EventFilter::default(),
        EventFilter { from_ns: Some(T0), to_ns: Some(T0 + MIN), ..Default::default() },
        EventFilter { ip: Some("10.0.1.7".into()), ..Default::default() },
        EventFilter { cidr: Some("10.0.0.0/8".into()), from_ns: Some(T0), ..Default::default() },
        EventFilter { feed: Some("f".into()), ..Default::default() },
        EventFilter { kind: Some("intel".into()), ..Default::default() },
        EventFilter { value: Some("evil".into()), value_match: ValueMatch::Substring, ..Default::default() },
        EventFilter { indicator_value: Some("evil".into()), ..Default::default() },
    ] {
        println!(
            "{f:?}\n  {}\n  after: {}",
            q.explain_search(&f, Page::first(50)).unwrap().replace('\n', "\n  "),
            q.explain_search(&f, after.clone()).unwrap().replace('\n', "\n  ")
        );
    }
}

#[test]
fn group_commit() {
    let dir = TempDir::new("group");
    let mut s = open(&dir);
    let evs = generate(2600, T0, 10, 10);
    s.set_group_commit(2000, Duration::from_secs(3600));
    let q = Query::open(&dir.db()).unwrap();
    let chunks: Vec<&[Ev]> = evs.chunks(500).collect();
    for c in &chunks[..3] {
        insert_events(&mut s, c, 500);
    }
    assert_eq!((s.pending(), q.counts().unwrap().events), (1500, 0));
    insert_events(&mut s, chunks[3], 500); // reaches 2,000: commits
    assert_eq!((s.pending(), q.counts().unwrap().events), (0, 2000));
    insert_events(&mut s, chunks[4], 500);
    assert_eq!(q.counts().unwrap().events, 2000);
    s.flush().unwrap();
    assert_eq!(q.counts().unwrap().events, 2500);
    // The delay also commits (checked at the next batch).
    s.set_group_commit(1_000_000, Duration::ZERO);
    insert_events(&mut s, &chunks[5][..50], 50);
    assert_eq!(q.counts().unwrap().events, 2550);
    // Dropping the store commits what is pending.
    s.set_group_commit(1_000_000, Duration::from_secs(3600));
    insert_events(&mut s, &chunks[5][50..], 50);
    assert_eq!(q.counts().unwrap().events, 2550);
    drop(s);
    assert_eq!(q.counts().unwrap().events, 2600);
    // Duplicates within an open group are still recognised.
    let mut s = open(&dir);
    s.set_group_commit(10_000, Duration::from_secs(3600));
    let lines: Vec<String> = evs[..10].iter().map(Ev::json).collect();
    assert_eq!(insert(&mut s, &lines).duplicates, 10);
    let fresh = generate(5, T0 + 20 * MIN, 1, 11)
        .into_iter()
        .map(|mut e| {
            e.id = format!("x:{}", e.id);
            e.json()
        })
        .collect::<Vec<_>>();
    assert_eq!(insert(&mut s, &fresh).inserted, 5);
    assert_eq!(insert(&mut s, &fresh).duplicates, 5);
    // Retention flushes first.
    s.enforce_retention(T0).unwrap();
    assert_eq!(q.counts().unwrap().events, 2605);
}
