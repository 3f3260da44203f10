//! The bulk synthetic fill: the same rows and aggregates as live ingest of the same lines, aggregates
//! that agree with the events, incidents whose events are stored, and a store the query module opens.

use rusqlite::Connection;
use store::synth::{SynthConfig, SynthEvents};
use store::{Page, Query, Store, StoreConfig};

/// 2026-11-29T05:00:00Z
const END: i64 = 1_795_928_400_000_000_000;

fn small() -> SynthConfig {
    SynthConfig { hosts: 500, indicators: 2_000, incidents: 40, ..SynthConfig::week(30_000, END) }
}

fn rows(db: &std::path::Path, sql: &str) -> Vec<(String, i64, String, i64)> {
    let c = Connection::open(db).unwrap();
    let mut st = c.prepare(sql).unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn bulk_fill_matches_live_ingest_and_its_aggregates_match_its_events() {
    let dir = std::env::temp_dir().join(format!("sdn-store-bulk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bulk = dir.join("bulk.db");
    let live = dir.join("live.db");

    let mut batches = 0;
    let st = store::synth::fill(&bulk, small(), |_| batches += 1).unwrap();
    assert_eq!(st.inserted, 30_000, "{st:?}");
    assert_eq!((st.duplicates, st.malformed), (0, 0), "{st:?}");
    assert!(st.incidents >= 35, "{st:?}");
    assert_eq!(batches, 3);
    // A second fill of the same path is refused, not appended.
    assert!(store::synth::fill(&bulk, small(), |_| ()).is_err());

    // The same lines through the live writer.
    let mut w = Store::open(&StoreConfig { path: live.clone(), ..Default::default() }).unwrap();
    let mut events = SynthEvents::new(small());
    let mut lines = Vec::new();
    let mut line = String::new();
    while events.next_line(&mut line) {
        lines.push(line.clone());
    }
    for chunk in lines.chunks(1000) {
        let b: Vec<&[u8]> = chunk.iter().map(|l| l.as_bytes()).collect();
        w.insert_json(&b).unwrap();
    }
    drop(w);
    let agg = "SELECT dim, minute, value, count FROM agg_minute ORDER BY dim, minute, value";
    let bulk_agg = rows(&bulk, agg);
    assert_eq!(bulk_agg, rows(&live, agg), "bulk and live aggregates differ");
    let ev = "SELECT id, ts_ns, json, IFNULL(src_port, -1) FROM events ORDER BY id";
    assert_eq!(rows(&bulk, ev), rows(&live, ev), "bulk and live events differ");

    // Aggregates agree with the events, per kind and per feed (observations only).
    let by_kind = rows(
        &bulk,
        "SELECT 'kind', 0, kind, COUNT(*) FROM events GROUP BY kind UNION ALL
         SELECT 'feed', 0, feed, COUNT(*) FROM events WHERE feed IS NOT NULL AND kind NOT IN ('summary', 'incident')
         GROUP BY feed ORDER BY 1, 3",
    );
    let q = Query::open(&bulk).unwrap();
    for (dim, _, value, n) in &by_kind {
        let top = q.top(dim, i64::MIN, i64::MAX, 1000).unwrap();
        let agg_n = top.iter().find(|(v, _)| v == value).map_or(0, |(_, c)| *c);
        assert_eq!(agg_n, *n as u64, "{dim}={value}");
    }
    let kinds: Vec<&str> = by_kind.iter().filter(|r| r.0 == "kind").map(|r| r.2.as_str()).collect();
    assert_eq!(kinds, ["incident", "intel", "rule", "summary"]);
    assert!(by_kind.iter().filter(|r| r.0 == "feed").count() == 4, "{by_kind:?}");
    let counts = q.counts().unwrap();
    assert_eq!(counts.events, 30_000);
    assert_eq!(counts.incidents, st.incidents);
    // 7 days, time-ordered ids.
    let span = counts.newest_ns.unwrap() - counts.oldest_ns.unwrap();
    assert!(span > 6 * 86_400_000_000_000 && span <= 7 * 86_400_000_000_000, "{span}");

    // Skewed: the top host has far more than an even share, and thousands of values exist.
    let hosts = q.top("host", i64::MIN, i64::MAX, 1000).unwrap();
    assert!(hosts[0].1 > 20 * 30_000 / 500, "{:?}", &hosts[..3]);
    assert!(hosts.len() > 300);

    // Incidents list events that are stored, of their host.
    let incs = q.incidents(i64::MIN, i64::MAX, Page::first(100)).unwrap();
    for inc in &incs {
        let (row, evs) = q.incident(&inc.id).unwrap().unwrap();
        assert!(!evs.is_empty() && evs.len() == row.events.len(), "{row:?}");
        for e in &evs {
            assert_eq!(e.host.as_deref(), row.host.as_deref(), "{} in {}", e.id, row.id);
        }
    }
    // The indexes exist: an ip search walks them.
    let plan = q
        .explain_search(&store::EventFilter { ip: Some(hosts[0].0.clone()), ..Default::default() }, Page::first(10))
        .unwrap();
    assert!(plan.contains("events_src") && plan.contains("events_dst"), "{plan}");

    // Prefix searches: a dense prefix (every internal IPv4 host) walks the time index, a narrow one
    // the address indexes; both give the newest matches, page after page.
    let c = Connection::open(&bulk).unwrap();
    for (cidr, like, via) in [("10.0.0.0/8", "10.%", "events_ts"), ("10.0.1.0/24", "10.0.1.%", "events_src")] {
        let f = store::EventFilter { cidr: Some(cidr.into()), ..Default::default() };
        let plan = q.explain_search(&f, Page::first(50)).unwrap();
        assert!(plan.contains(via), "{cidr}: {plan}");
        let want: Vec<String> = c
            .prepare(
                "SELECT id FROM events WHERE src_ip LIKE ?1 OR dst_ip LIKE ?1 OR host LIKE ?1
                 ORDER BY ts_ns DESC, id DESC LIMIT 150",
            )
            .unwrap()
            .query_map([like], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(want.len(), 150);
        let mut got = Vec::new();
        let mut page = Page::first(50);
        for _ in 0..3 {
            let rows = q.search(&f, page).unwrap();
            let last = rows.last().unwrap().cursor();
            got.extend(rows.into_iter().map(|e| e.id));
            page = Page::after(50, last.ts_ns, &last.id);
        }
        assert_eq!(got, want, "{cidr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
