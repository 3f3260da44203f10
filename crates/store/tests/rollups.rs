//! The hour and day rollups (schema 2) and the totals (schema 3): top-N over any range equals the
//! sum of the minutes it overlaps, after live ingest, after retention cuts into an hour and a day,
//! and after the upgrade of version 1 and 2 stores.

use rusqlite::Connection;
use std::time::Duration;
use store::synth::{SynthConfig, SynthEvents};
use store::{NS_PER_MINUTE, Query, Store, StoreConfig};

/// 2026-11-29T05:00:00Z
const END: i64 = 1_795_928_400_000_000_000;
const HOUR: i64 = 60 * NS_PER_MINUTE;

fn lines() -> Vec<String> {
    let cfg = SynthConfig { hosts: 300, indicators: 1_000, incidents: 10, ..SynthConfig::week(20_000, END) };
    let mut ev = SynthEvents::new(cfg);
    let mut out = Vec::new();
    let mut l = String::new();
    while ev.next_line(&mut l) {
        out.push(l.clone());
    }
    out
}

/// Top-N straight from the minutes (the definition), for comparison.
fn top_from_minutes(db: &std::path::Path, dim: &str, from: i64, to: i64) -> Vec<(String, u64)> {
    let c = Connection::open(db).unwrap();
    let mut st = c
        .prepare(
            "SELECT value, SUM(count) AS n FROM agg_minute WHERE dim = ?1 AND minute > ?2 AND minute < ?3
             GROUP BY value HAVING n > 0 ORDER BY n DESC, value LIMIT 20",
        )
        .unwrap();
    st.query_map(rusqlite::params![dim, from.saturating_sub(NS_PER_MINUTE), to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn check_ranges(db: &std::path::Path, what: &str) {
    let q = Query::open(db).unwrap();
    let start = END - 7 * 24 * HOUR;
    let ranges = [
        (i64::MIN, i64::MAX),
        (start + 3 * HOUR + 17 * NS_PER_MINUTE + 5, END - 2 * HOUR - 1),
        (END - 24 * HOUR - 7, END),
        (END - HOUR - 30 * NS_PER_MINUTE, END - 20 * NS_PER_MINUTE),
        (start + 2 * 24 * HOUR, start + 4 * 24 * HOUR),
        (start + 30 * NS_PER_MINUTE, start + 30 * NS_PER_MINUTE),
        (END + HOUR, END + 2 * HOUR),
    ];
    for dim in ["all", "kind", "src_ip", "host", "indicator_value", "feed", "dst_port"] {
        for (from, to) in ranges {
            assert_eq!(
                q.top(dim, from, to, 20).unwrap(),
                top_from_minutes(db, dim, from, to),
                "{what}: {dim} {from}..{to}"
            );
        }
    }
    let feeds = q.feed_hits(i64::MIN, i64::MAX).unwrap();
    assert_eq!(feeds.len(), 4, "{what}: {feeds:?}");
}

#[test]
fn rollups_agree_with_minutes_after_ingest_retention_and_upgrade() {
    let dir = std::env::temp_dir().join(format!("sdn-store-rollups-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = dir.join("r.db");
    let lines = lines();
    {
        let mut w = Store::open(&StoreConfig { path: db.clone(), ..Default::default() }).unwrap();
        for chunk in lines.chunks(777) {
            let b: Vec<&[u8]> = chunk.iter().map(|l| l.as_bytes()).collect();
            w.insert_json(&b).unwrap();
        }
    }
    check_ranges(&db, "after ingest");

    // Retention by age: the cut-off falls inside an hour and inside a day.
    let max_age = Duration::from_secs(5 * 86_400 + 7 * 3_600 + 23 * 60);
    let mut w = Store::open(&StoreConfig { path: db.clone(), max_age: Some(max_age), max_bytes: None }).unwrap();
    let st = w.enforce_retention(END).unwrap();
    assert!(st.events_deleted > 0, "{st:?}");
    drop(w);
    check_ranges(&db, "after retention");
    let c = Connection::open(&db).unwrap();
    let per_dim = |table: &str| -> Vec<(String, i64)> {
        c.prepare(&format!("SELECT dim, SUM(count) FROM {table} GROUP BY dim ORDER BY dim"))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let minutes = per_dim("agg_minute");
    assert_eq!(per_dim("agg_hour"), minutes);
    assert_eq!(per_dim("agg_day"), minutes);
    assert_eq!(per_dim("agg_total"), minutes);
    for table in ["agg_day", "agg_total"] {
        let zero: i64 =
            c.query_row(&format!("SELECT COUNT(*) FROM {table} WHERE count <= 0"), [], |r| r.get(0)).unwrap();
        assert_eq!(zero, 0, "{table}");
    }

    // A version 2 store (no totals), then a version 1 store (no rollups either): the query side asks
    // for the upgrade, the writer does it.
    c.execute_batch("DROP TABLE agg_total; PRAGMA user_version = 2;").unwrap();
    let e = Query::open(&db).err().expect("a version 2 store needs the upgrade").to_string();
    assert!(e.contains("schema version 2") && e.contains("upgrade"), "{e}");
    drop(Store::open(&StoreConfig { path: db.clone(), ..Default::default() }).unwrap());
    check_ranges(&db, "after the upgrade from 2");

    c.execute_batch(
        "DROP TABLE agg_hour; DROP TABLE agg_day; DROP TABLE agg_total; DROP INDEX agg_minute_value;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(c);
    let e = Query::open(&db).err().expect("a version 1 store needs the upgrade").to_string();
    assert!(e.contains("schema version 1") && e.contains("upgrade"), "{e}");
    drop(Store::open(&StoreConfig { path: db.clone(), ..Default::default() }).unwrap());
    check_ranges(&db, "after the upgrade from 1");
    std::fs::remove_dir_all(&dir).ok();
}
