//! The whole shared corpus (every capture in MANIFEST.tsv: packets, DNS,
//! HTTP, flow exports, syslog) through the sensor and the analytics stage
//! with a store (issue 8, acceptance 2): stored events, per-minute
//! aggregates that agree with them, and incidents, all read back through
//! the query module.
//!
//! `run --replay` reads the files as if captured, through the whole
//! service: rules, the analytics stage, the store and the sinks.

mod common;

use std::path::PathBuf;

fn testdata() -> PathBuf {
    PathBuf::from(env!("SDN_TESTDATA"))
}

#[test]
fn the_corpus_through_the_stage_gives_stored_events_aggregates_and_incidents() {
    let dir = std::env::temp_dir().join(format!("sdn-analytics-corpus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = std::fs::read_to_string(testdata().join("MANIFEST.tsv")).unwrap();
    let captures: Vec<PathBuf> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|p| [".pcap", ".pcapng", ".cap", ".pcap_"].iter().any(|x| p.ends_with(x)))
        .map(|p| testdata().join(p))
        .collect();
    assert!(captures.len() >= 150, "{} captures", captures.len());
    let feed = dir.join("feed.csv");
    std::fs::write(&feed, common::CORPUS_WATCHLIST).unwrap();
    let db = dir.join("corpus.db");
    let events = dir.join("events.jsonl");
    let config = dir.join("sensor.toml");
    std::fs::write(&config, common::corpus_config(common::free_tcp_port(), &events, &db)).unwrap();
    // Damaged corpus files are logged, and the rest goes on.
    common::run_replay(&config, &feed, &captures);
    let emitted = std::fs::read_to_string(&events).unwrap().lines().count();
    assert!(emitted > 0);

    let q = store::Query::open(&db).unwrap();
    let counts = q.counts().unwrap();
    assert!(counts.events > emitted as u64 / 2, "{counts:?}, {emitted} lines emitted");
    assert!(counts.incidents >= 1, "{counts:?}");
    // The aggregates agree with the stored events: per kind, the sum over
    // every minute equals a search over the raw rows.
    let by_kind = q.top("kind", i64::MIN, i64::MAX, 10).unwrap();
    let intel = by_kind.iter().find(|(k, _)| k == "intel").map_or(0, |(_, n)| *n);
    let mut raw = 0u64;
    let mut page = store::Page::first(1000);
    loop {
        let rows = q.search(&store::EventFilter { kind: Some("intel".into()), ..Default::default() }, page).unwrap();
        raw += rows.len() as u64;
        let Some(last) = rows.last() else { break };
        if rows.len() < 1000 {
            break;
        }
        page = store::Page::after(1000, last.ts_ns, &last.id);
    }
    assert_eq!(intel, raw, "{by_kind:?}");
    eprintln!(
        "{} captures: {emitted} lines out; stored: {counts:?}; intel events by the aggregates {intel}",
        captures.len()
    );
    assert!(!q.top("feed", i64::MIN, i64::MAX, 5).unwrap().is_empty());
    assert!(!q.series("all", None, i64::MIN, i64::MAX).unwrap().is_empty());
    // An incident and the events behind it.
    let incidents = q.incidents(i64::MIN, i64::MAX, store::Page::first(10)).unwrap();
    let (row, events) = q.incident(&incidents[0].id).unwrap().unwrap();
    assert_eq!(row.rule.as_deref(), Some("two_indicators"));
    assert_eq!(events.len(), row.events.len(), "every event of the incident is stored");
    std::fs::remove_dir_all(&dir).ok();
}
