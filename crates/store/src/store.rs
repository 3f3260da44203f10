//! The writer: schema creation, batched ingest with aggregate upserts, retention.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;

use crate::addr::parse_addr_key;
use crate::schema::{
    DIMS, ROLLUPS, SCHEMA_V1_INDEXES, SCHEMA_V1_TABLES, SCHEMA_V2_FILL, SCHEMA_V2_INDEXES, SCHEMA_V2_TABLES,
    SCHEMA_V3_FILL, SCHEMA_V3_INDEXES, SCHEMA_V3_TABLES, SCHEMA_VERSION,
};
use crate::time::{NS_PER_MINUTE, minute_of, parse_ts};
use crate::{InsertStats, RetentionStats, StoreConfig, StoreError};

/// A string borrowed from the input line when it has no escapes (owned otherwise).
#[derive(Deserialize)]
#[serde(transparent)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

type S<'a> = Option<Str<'a>>;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    id: S<'a>,
    #[serde(borrow)]
    ts: S<'a>,
    #[serde(borrow)]
    sensor: S<'a>,
    #[serde(borrow)]
    kind: S<'a>,
    #[serde(borrow)]
    input: S<'a>,
    #[serde(borrow, rename = "match")]
    matched: Option<Match<'a>>,
    #[serde(borrow)]
    indicator: Option<Indicator<'a>>,
    #[serde(borrow)]
    rule: Option<Rule<'a>>,
    #[serde(borrow)]
    flow: Option<Flow<'a>>,
    #[serde(borrow)]
    syslog: Option<Syslog<'a>>,
    #[serde(borrow)]
    incident: Option<Incident<'a>>,
    /// Analytics reports: any line with a top-level "report" is one.
    report: Option<serde_json::Value>,
    window_start: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Match<'a> {
    #[serde(borrow, rename = "where")]
    location: S<'a>,
    #[serde(borrow)]
    value: S<'a>,
}

#[derive(Deserialize)]
struct Indicator<'a> {
    #[serde(borrow)]
    id: S<'a>,
    #[serde(borrow, rename = "type")]
    kind: S<'a>,
    #[serde(borrow)]
    value: S<'a>,
    #[serde(borrow)]
    threat_type: S<'a>,
    #[serde(borrow)]
    feed: S<'a>,
}

#[derive(Deserialize)]
struct Rule<'a> {
    #[serde(borrow)]
    chain: S<'a>,
    #[serde(borrow)]
    name: S<'a>,
}

#[derive(Deserialize)]
struct Flow<'a> {
    #[serde(borrow)]
    src_ip: S<'a>,
    #[serde(borrow)]
    dst_ip: S<'a>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    #[serde(borrow)]
    proto: S<'a>,
}

#[derive(Deserialize)]
struct Syslog<'a> {
    #[serde(borrow)]
    host: S<'a>,
}

#[derive(Deserialize)]
struct Incident<'a> {
    #[serde(borrow)]
    rule: S<'a>,
    #[serde(borrow)]
    host: S<'a>,
    #[serde(borrow, default)]
    events: Vec<Str<'a>>,
}

fn s<'b>(v: &'b S<'_>) -> Option<&'b str> {
    v.as_ref().map(|v| v.0.as_ref())
}

/// An event reduced to the columns it is stored under.
struct Row<'b> {
    id: &'b str,
    ts_ns: i64,
    sensor: Option<&'b str>,
    kind: Option<&'b str>,
    input: Option<&'b str>,
    location: Option<&'b str>,
    value: Option<&'b str>,
    indicator_id: Option<&'b str>,
    indicator_type: Option<&'b str>,
    indicator_value: Option<&'b str>,
    threat_type: Option<&'b str>,
    feed: Option<&'b str>,
    rule_chain: Option<&'b str>,
    rule_name: Option<&'b str>,
    src_ip: Option<&'b str>,
    dst_ip: Option<&'b str>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    proto: Option<&'b str>,
    host: Option<&'b str>,
}

impl<'b> Row<'b> {
    fn from_line(l: &'b Line<'_>) -> Option<Row<'b>> {
        let id = s(&l.id).filter(|id| !id.is_empty())?;
        let ts_ns = parse_ts(s(&l.ts)?)?;
        let (location, value) = l.matched.as_ref().map_or((None, None), |m| (s(&m.location), s(&m.value)));
        let ind = l.indicator.as_ref();
        let rule = l.rule.as_ref();
        let flow = l.flow.as_ref();
        let (src_ip, dst_ip) = flow.map_or((None, None), |f| (s(&f.src_ip), s(&f.dst_ip)));
        let kind = s(&l.kind);
        // The internal host: the incident's host; the syslog sender; else the side of the flow that
        // did not match (a listed source address means the destination is ours).
        let host = if kind == Some("incident") { l.incident.as_ref().and_then(|i| s(&i.host)) } else { None }
            .or_else(|| l.syslog.as_ref().and_then(|sl| s(&sl.host)))
            .or(match location {
                Some("ip.src" | "flow.src" | "tunnel.src" | "flow.nat_src") => dst_ip,
                _ => src_ip,
            });
        Some(Row {
            id,
            ts_ns,
            sensor: s(&l.sensor),
            kind,
            input: s(&l.input),
            location,
            value,
            indicator_id: ind.and_then(|i| s(&i.id)),
            indicator_type: ind.and_then(|i| s(&i.kind)),
            indicator_value: ind.and_then(|i| s(&i.value)),
            threat_type: ind.and_then(|i| s(&i.threat_type)),
            feed: ind.and_then(|i| s(&i.feed)),
            rule_chain: rule.and_then(|r| s(&r.chain)),
            rule_name: rule.and_then(|r| s(&r.name)),
            src_ip,
            dst_ip,
            src_port: flow.and_then(|f| f.src_port),
            dst_port: flow.and_then(|f| f.dst_port),
            proto: flow.and_then(|f| s(&f.proto)),
            host,
        })
    }

    /// (dim index in DIMS, value) pairs this event counts under. Every event counts under `all`,
    /// `kind` and `sensor`; only observations (not the derived `summary` and `incident` events,
    /// which repeat the input / indicator / flow / host of events counted on their own) count under
    /// the hit dimensions (input, feed, indicator, addresses, host, port).
    fn dims(&self, mut f: impl FnMut(usize, Cow<'b, str>)) {
        let derived = matches!(self.kind, Some("summary" | "incident"));
        let text = [
            (self.kind, true),
            (self.input, !derived),
            (self.feed, !derived),
            (self.indicator_id, !derived),
            (self.indicator_value, !derived),
            (self.threat_type, !derived),
            (self.sensor, true),
            (self.src_ip, !derived),
            (self.dst_ip, !derived),
            (self.host, !derived),
        ];
        f(0, Cow::Borrowed(""));
        for (i, (v, on)) in text.into_iter().enumerate() {
            if let (Some(v), true) = (v, on) {
                f(i + 1, Cow::Borrowed(v));
            }
        }
        if let (Some(p), false) = (self.dst_port, derived) {
            f(11, Cow::Owned(p.to_string()));
        }
    }
}

fn ts_value(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::String(t) => parse_ts(t),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// 64-bit FNV-1a: a stable id for reports that carry none.
fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3))
}

/// Page cache per connection (MiB).
const CACHE_MIB: i64 = 64;
/// Memory-mapped reads (MiB of the file): fewer read syscalls for index pages outside the cache.
const MMAP_MIB: i64 = 1024;
/// WAL pages between automatic checkpoints (4 KiB pages: 40 MiB); fewer, larger checkpoints.
const WAL_AUTOCHECKPOINT: i64 = 10_000;

pub(crate) fn apply_pragmas(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "cache_size", -(CACHE_MIB << 10))?;
    conn.pragma_update(None, "mmap_size", MMAP_MIB << 20)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// The writer. One per database; not `Sync` (wrap it in a thread that owns it).
pub struct Store {
    conn: Connection,
    cfg: StoreConfig,
    /// Group commit: (max events, max delay) per transaction; `None`: one transaction per batch.
    group: Option<(u64, Duration)>,
    /// An open transaction holding `pending` events' lines since `since`.
    open_tx: Option<Instant>,
    pending: u64,
    /// Aggregate increments of the open transaction, written just before it commits: a group of
    /// batches upserts each (dim, minute, value), hour, day and total once, not once per batch.
    aggs: PendingAggs,
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl Store {
    /// Opens (creating when missing) the database, in WAL mode with `synchronous=NORMAL`, and creates or
    /// checks the schema (`PRAGMA user_version`).
    pub fn open(cfg: &StoreConfig) -> Result<Store, StoreError> {
        if let Some(dir) = cfg.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(&cfg.path)?;
        apply_pragmas(&conn)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew { found: version, supported: SCHEMA_VERSION });
        }
        if version == 0 {
            // Must precede the first table to take effect; lets retention give pages back to the OS.
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        }
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sqlite(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode WAL refused (got {mode})"
            ))));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
        conn.pragma_update(None, "journal_size_limit", 64i64 << 20)?;
        if version == 0 {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(SCHEMA_V1_TABLES)?;
            tx.execute_batch(SCHEMA_V2_TABLES)?;
            tx.execute_batch(SCHEMA_V3_TABLES)?;
            tx.execute_batch(SCHEMA_V1_INDEXES)?;
            tx.execute_batch(SCHEMA_V2_INDEXES)?;
            tx.execute_batch(SCHEMA_V3_INDEXES)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        } else if version < SCHEMA_VERSION {
            // Upgrades, each from the version before, in one transaction: the new aggregates are
            // summed from the ones already stored.
            let tx = conn.unchecked_transaction()?;
            if version < 2 {
                tx.execute_batch(SCHEMA_V2_TABLES)?;
                tx.execute_batch(SCHEMA_V2_INDEXES)?;
                tx.execute_batch(SCHEMA_V2_FILL)?;
            }
            tx.execute_batch(SCHEMA_V3_TABLES)?;
            tx.execute_batch(SCHEMA_V3_FILL)?;
            tx.execute_batch(SCHEMA_V3_INDEXES)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        }
        Ok(Store { conn, cfg: cfg.clone(), group: None, open_tx: None, pending: 0, aggs: PendingAggs::default() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.cfg.path
    }

    /// Stores a batch of JSON lines (one event object each; a trailing newline is fine) in one
    /// transaction. Events whose id is already stored are ignored (counted as duplicates); only new ones
    /// count in the aggregates. `kind: "incident"` events also go to `incidents`; lines with a top-level
    /// `"report"` field go to `reports` only. Lines that are not JSON objects, and events without an `id`
    /// or a valid `ts`, are counted as malformed and skipped.
    ///
    /// With [`Store::set_group_commit`], several batches share one transaction (readers see them when
    /// it commits); an error rolls back every batch of the open transaction.
    pub fn insert_json(&mut self, lines: &[&[u8]]) -> Result<InsertStats, StoreError> {
        if self.open_tx.is_none() {
            self.conn.execute_batch("BEGIN")?;
            self.open_tx = Some(Instant::now());
        }
        match insert_batch(&self.conn, lines, &mut self.aggs) {
            Ok(st) => {
                self.pending += lines.len() as u64;
                let due = match (self.group, self.open_tx) {
                    (Some((max, delay)), Some(since)) => self.pending >= max || since.elapsed() >= delay,
                    _ => true,
                };
                if due {
                    self.flush()?;
                }
                Ok(st)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.open_tx = None;
                self.pending = 0;
                self.aggs.clear();
                Err(e)
            }
        }
    }

    /// Lets up to `max_events` lines or `max_delay` (whichever comes first, checked at each
    /// [`Store::insert_json`]) share one transaction: far fewer page writes when batches are small
    /// (each commit writes every index page the batch touched). Readers see the events at the commit;
    /// call [`Store::flush`] when the input goes idle. `max_events` 0 or 1: one transaction per batch.
    pub fn set_group_commit(&mut self, max_events: u64, max_delay: Duration) {
        self.group = (max_events > 1).then_some((max_events, max_delay));
    }

    /// Commits the open group-commit transaction, if any.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if self.open_tx.take().is_some() {
            self.pending = 0;
            let written = write_aggregates(&self.conn, &mut self.aggs);
            if let Err(e) = written.and_then(|()| Ok(self.conn.execute_batch("COMMIT")?)) {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.aggs.clear();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Events written but not yet committed (group commit).
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// For tests of failing writes: caps the database at its current size
    /// (`PRAGMA max_page_count`; writes that need a new page then fail as
    /// "database or disk is full"), or lifts the cap.
    #[doc(hidden)]
    pub fn cap_size_for_tests(&self, capped: bool) -> Result<(), StoreError> {
        let pages: i64 =
            if capped { self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))? } else { 4_294_967_294 };
        self.conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        Ok(())
    }
}

/// One batch, inside the caller's transaction (also the bulk loader's path: the same rows and
/// aggregates as live ingest).
pub(crate) fn insert_batch(
    conn: &Connection,
    lines: &[&[u8]],
    aggs: &mut PendingAggs,
) -> Result<InsertStats, StoreError> {
    {
        let tx = conn;
        let mut st = InsertStats::default();
        let parsed: Vec<Option<Line<'_>>> = lines.iter().map(|l| serde_json::from_slice::<Line<'_>>(l).ok()).collect();
        let mut agg: HashMap<(usize, i64, Cow<'_, str>), i64> = HashMap::new();
        {
            let mut ins_event = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (id, ts_ns, sensor, kind, input, location, value, indicator_id,
                 indicator_type, indicator_value, threat_type, feed, rule_chain, rule_name, src_ip, dst_ip,
                 src_port, dst_port, proto, host, src_addr, dst_addr, host_addr, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                 ?20, ?21, ?22, ?23, ?24)",
            )?;
            let mut ins_incident = tx.prepare_cached(
                "INSERT OR IGNORE INTO incidents (id, ts_ns, rule, host, events, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut ins_report = tx.prepare_cached(
                "INSERT OR IGNORE INTO reports (id, window_start, kind, json) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (raw, line) in lines.iter().zip(&parsed) {
                let Some(line) = line else {
                    st.malformed += 1;
                    continue;
                };
                let Ok(json) = std::str::from_utf8(raw) else {
                    st.malformed += 1;
                    continue;
                };
                let json = json.trim_end_matches(['\n', '\r']);
                if let Some(report) = &line.report {
                    let kind = report.as_str().unwrap_or("unknown");
                    let Some(ws) =
                        line.window_start.as_ref().and_then(ts_value).or_else(|| s(&line.ts).and_then(parse_ts))
                    else {
                        st.malformed += 1;
                        continue;
                    };
                    let id = match s(&line.id) {
                        Some(id) => id.to_owned(),
                        None => format!("{kind}@{ws}:{:016x}", fnv1a(json.as_bytes())),
                    };
                    st.reports += ins_report.execute(params![id, ws, kind, json])? as u64;
                    continue;
                }
                let Some(row) = Row::from_line(line) else {
                    st.malformed += 1;
                    continue;
                };
                let key = |v: Option<&str>| v.and_then(parse_addr_key);
                let n = ins_event.execute(params![
                    row.id,
                    row.ts_ns,
                    row.sensor,
                    row.kind,
                    row.input,
                    row.location,
                    row.value,
                    row.indicator_id,
                    row.indicator_type,
                    row.indicator_value,
                    row.threat_type,
                    row.feed,
                    row.rule_chain,
                    row.rule_name,
                    row.src_ip,
                    row.dst_ip,
                    row.src_port,
                    row.dst_port,
                    row.proto,
                    row.host,
                    key(row.src_ip),
                    key(row.dst_ip),
                    // Only when the host is neither address of the flow (syslog sender, incident host):
                    // `ip` searches look at all three columns, and the index stays small.
                    if row.host == row.src_ip || row.host == row.dst_ip { None } else { key(row.host) },
                    json,
                ])?;
                if n == 0 {
                    st.duplicates += 1;
                    continue;
                }
                st.inserted += 1;
                let minute = minute_of(row.ts_ns);
                row.dims(|d, v| *agg.entry((d, minute, v)).or_insert(0) += 1);
                if row.kind == Some("incident")
                    && let Some(inc) = &line.incident
                {
                    let ids: Vec<&str> = inc.events.iter().map(|e| e.0.as_ref()).collect();
                    let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
                    st.incidents += ins_incident.execute(params![
                        row.id,
                        row.ts_ns,
                        s(&inc.rule),
                        s(&inc.host).or(row.host),
                        ids,
                        json
                    ])? as u64;
                }
            }
        }
        for ((d, minute, value), n) in agg {
            let values = aggs.entry((d, minute)).or_default();
            match values.get_mut(value.as_ref()) {
                Some(c) => *c += n,
                None => {
                    values.insert(value.into_owned(), n);
                }
            }
        }
        Ok(st)
    }
}

impl Store {
    /// Deletes what is older than `max_age` (relative to `now_ns`), then, while the used size
    /// ((page_count - freelist_count) * page_size) is over `max_bytes`, the oldest minutes of events
    /// (with their aggregates, incidents and reports). Cut-offs are whole minutes, so the aggregates of
    /// every remaining minute still equal its events. Freed pages are returned with an incremental vacuum.
    pub fn enforce_retention(&mut self, now_ns: i64) -> Result<RetentionStats, StoreError> {
        self.flush()?;
        let mut st = RetentionStats { bytes_before: self.used_bytes()?, ..Default::default() };
        if let Some(age) = self.cfg.max_age {
            let age_ns = i64::try_from(age.as_nanos()).unwrap_or(i64::MAX);
            let cutoff = minute_of(now_ns.saturating_sub(age_ns));
            self.delete_before(cutoff, &mut st)?;
        }
        if let Some(max) = self.cfg.max_bytes {
            let mut used = self.used_bytes()?;
            while used > max {
                let events = self.event_count()?;
                if events == 0 {
                    break;
                }
                // Estimate the share of events to drop; at least 1,000 (or all that are left).
                let excess = (used - max) as f64 / used as f64;
                let chunk = ((events as f64 * excess * 1.1) as u64).clamp(1_000.min(events), events);
                let t: i64 = self.conn.query_row(
                    "SELECT ts_ns FROM events ORDER BY ts_ns LIMIT 1 OFFSET ?1",
                    [chunk - 1],
                    |r| r.get(0),
                )?;
                let cutoff = minute_of(t).saturating_add(NS_PER_MINUTE);
                self.delete_before(cutoff, &mut st)?;
                st.size_rounds += 1;
                used = self.used_bytes()?;
            }
        }
        st.bytes_after = self.used_bytes()?;
        Ok(st)
    }

    /// Deletes everything before `cutoff` (a minute start), in chunks of 50,000 events per transaction.
    fn delete_before(&mut self, cutoff: i64, st: &mut RetentionStats) -> Result<(), StoreError> {
        loop {
            let n = self.conn.execute(
                "DELETE FROM events WHERE rowid IN
                 (SELECT rowid FROM events WHERE ts_ns < ?1 ORDER BY ts_ns LIMIT 50000)",
                [cutoff],
            )?;
            st.events_deleted += n as u64;
            if n < 50_000 {
                break;
            }
        }
        let tx = self.conn.transaction()?;
        // Totals lose every minute being deleted (before they are).
        for dim in DIMS {
            tx.execute(
                "UPDATE agg_total SET count = agg_total.count - d.n
                 FROM (SELECT value, SUM(count) AS n FROM agg_minute WHERE dim = ?1 AND minute < ?2 GROUP BY value) AS d
                 WHERE agg_total.dim = ?1 AND agg_total.value = d.value",
                params![dim, cutoff],
            )?;
            st.agg_rows_deleted += tx.execute("DELETE FROM agg_total WHERE dim = ?1 AND count <= 0", [dim])? as u64;
        }
        // Rollups: whole buckets before the cut-off go; the bucket the cut-off falls in loses the
        // minutes being deleted (before they are).
        for (table, col, span) in ROLLUPS {
            let bucket = cutoff.div_euclid(*span) * span;
            for dim in DIMS {
                if bucket < cutoff {
                    tx.execute(
                        &format!(
                            "UPDATE {table} SET count = {table}.count - d.n
                             FROM (SELECT value, SUM(count) AS n FROM agg_minute
                                   WHERE dim = ?1 AND minute >= ?2 AND minute < ?3 GROUP BY value) AS d
                             WHERE {table}.dim = ?1 AND {table}.{col} = ?2 AND {table}.value = d.value"
                        ),
                        params![dim, bucket, cutoff],
                    )?;
                }
                st.agg_rows_deleted += tx.execute(
                    &format!("DELETE FROM {table} WHERE dim = ?1 AND ({col} < ?2 OR ({col} = ?2 AND count <= 0))"),
                    params![dim, bucket],
                )? as u64;
            }
        }
        for dim in DIMS {
            st.agg_rows_deleted +=
                tx.execute("DELETE FROM agg_minute WHERE dim = ?1 AND minute < ?2", params![dim, cutoff])? as u64;
        }
        st.incidents_deleted += tx.execute("DELETE FROM incidents WHERE ts_ns < ?1", [cutoff])? as u64;
        st.reports_deleted += tx.execute("DELETE FROM reports WHERE window_start < ?1", [cutoff])? as u64;
        tx.commit()?;
        // Step to completion: each step of incremental_vacuum may free only part of the list.
        let mut st = self.conn.prepare("PRAGMA incremental_vacuum")?;
        let mut rows = st.query([])?;
        while rows.next()?.is_some() {}
        Ok(())
    }

    /// Used bytes: (page_count - freelist_count) * page_size.
    pub fn used_bytes(&self) -> Result<u64, StoreError> {
        let get = |p: &str| -> Result<i64, StoreError> { Ok(self.conn.pragma_query_value(None, p, |r| r.get(0))?) };
        let pages = get("page_count")? - get("freelist_count")?;
        Ok(pages.max(0) as u64 * get("page_size")? as u64)
    }

    /// Events stored (from the `all` aggregate: no scan).
    fn event_count(&self) -> Result<u64, StoreError> {
        let n: Option<i64> = self
            .conn
            .query_row("SELECT SUM(count) FROM agg_minute WHERE dim = 'all'", [], |r| r.get(0))
            .optional()?
            .flatten();
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    /// Checkpoints the WAL into the database file (e.g. before a backup or at shutdown).
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.flush()?;
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        Ok(())
    }
}

/// Aggregate increments not yet written: (dim index, minute) -> value -> count.
pub(crate) type PendingAggs = HashMap<(usize, i64), HashMap<String, i64>>;

/// Writes (and clears) the pending increments in key order: minutes, then hours and days, then totals.
pub(crate) fn write_aggregates(tx: &Connection, aggs: &mut PendingAggs) -> Result<(), StoreError> {
    let mut rows: Vec<((usize, i64, &str), i64)> =
        aggs.iter().flat_map(|(&(d, m), vs)| vs.iter().map(move |(v, n)| ((d, m, v.as_str()), *n))).collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut up = tx.prepare_cached(
        "INSERT INTO agg_minute (dim, minute, value, count) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (dim, minute, value) DO UPDATE SET count = count + excluded.count",
    )?;
    for ((d, minute, value), n) in &rows {
        up.execute(params![DIMS[*d], minute, value, n])?;
    }
    for (table, col, span) in ROLLUPS {
        let mut bucketed: HashMap<(usize, i64, &str), i64> = HashMap::with_capacity(rows.len());
        for ((d, minute, value), n) in &rows {
            *bucketed.entry((*d, minute.div_euclid(*span) * span, value)).or_insert(0) += n;
        }
        let mut bucketed: Vec<_> = bucketed.into_iter().collect();
        bucketed.sort_unstable();
        let mut up = tx.prepare_cached(&format!(
            "INSERT INTO {table} (dim, {col}, value, count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (dim, {col}, value) DO UPDATE SET count = count + excluded.count"
        ))?;
        for ((d, start, value), n) in bucketed {
            up.execute(params![DIMS[d], start, value, n])?;
        }
    }
    let mut totals: HashMap<(usize, &str), i64> = HashMap::with_capacity(rows.len());
    for ((d, _, value), n) in &rows {
        *totals.entry((*d, value)).or_insert(0) += n;
    }
    let mut totals: Vec<_> = totals.into_iter().collect();
    totals.sort_unstable();
    let mut up = tx.prepare_cached(
        "INSERT INTO agg_total (dim, value, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (dim, value) DO UPDATE SET count = count + excluded.count",
    )?;
    for ((d, value), n) in totals {
        up.execute(params![DIMS[d], value, n])?;
    }
    drop(rows);
    aggs.clear();
    Ok(())
}
