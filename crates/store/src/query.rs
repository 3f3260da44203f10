//! The one query module: everything the web UI and reports read goes through [`Query`].

use std::collections::HashMap;
use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params, params_from_iter};
use serde::Serialize;

use crate::addr::{cidr_range, parse_addr_key};
use crate::schema::{DIMS, ROLLUPS, SCHEMA_VERSION};
use crate::time::{NS_PER_MINUTE, minute_of};
use crate::{StoreError, store::apply_pragmas};

/// Matches from which a prefix search walks the time index instead of sorting the matches of the
/// address indexes (a sort of this many rows takes a few ms; the walk finds a page of a dense prefix
/// in a few hundred rows).
// XXX: a prefix with many matches, all of them old, makes the walk read every newer event; the
// count does not say where in time the matches are.
const DENSE_PREFIX: i64 = 20_000;

/// Largest page (and top-N) a query may ask for.
pub const MAX_PAGE: usize = 1000;

/// How [`EventFilter::value`] is compared with `match.value` (case-insensitive in every mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ValueMatch {
    /// Equal (uses the index).
    #[default]
    Exact,
    /// Contains the text (scans the rows the other conditions leave).
    Substring,
    /// Equal, or a subdomain of it (`evil.example` finds `cdn.evil.example`; scans like `Substring`).
    Domain,
}

/// Event search conditions; every condition set must hold. Time range: `from_ns <= ts < to_ns`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// An address (v4 or v6) that is the flow's source, destination, or the internal host.
    pub ip: Option<String>,
    /// A prefix (`10.0.0.0/8`, `2001:db8::/32`) containing the source, destination or host.
    pub cidr: Option<String>,
    /// `match.value` (a domain, URL, address, ... as observed), compared as `value_match` says.
    pub value: Option<String>,
    pub value_match: ValueMatch,
    pub indicator_id: Option<String>,
    /// `indicator.value`, case-insensitive equality.
    pub indicator_value: Option<String>,
    pub feed: Option<String>,
    pub input: Option<String>,
    pub kind: Option<String>,
    pub sensor: Option<String>,
    pub from_ns: Option<i64>,
    pub to_ns: Option<i64>,
}

/// Keyset position: results continue strictly after (older than) this `(ts_ns, id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cursor {
    pub ts_ns: i64,
    pub id: String,
}

impl Cursor {
    /// Opaque text form for URLs: `TS_NS:ID`.
    pub fn to_token(&self) -> String {
        format!("{}:{}", self.ts_ns, self.id)
    }

    /// Parses [`Cursor::to_token`]'s form.
    pub fn from_token(s: &str) -> Result<Cursor, StoreError> {
        s.split_once(':')
            .and_then(|(t, id)| Some(Cursor { ts_ns: t.parse().ok()?, id: id.to_owned() }))
            .ok_or_else(|| StoreError::BadRequest(format!("bad page cursor {s:?} (want TS_NS:ID)")))
    }
}

/// A page of results, newest first: `size` rows (1..=1000) older than `before` (the last row of the
/// previous page), or the newest when `before` is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub size: usize,
    pub before: Option<Cursor>,
}

impl Page {
    /// The newest `size` rows.
    pub fn first(size: usize) -> Page {
        Page { size, before: None }
    }

    /// The page after the one that ended with the row at `(ts_ns, id)`.
    pub fn after(size: usize, ts_ns: i64, id: &str) -> Page {
        Page { size, before: Some(Cursor { ts_ns, id: id.to_owned() }) }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.size == 0 || self.size > MAX_PAGE {
            return Err(StoreError::BadRequest(format!("page size {} out of range 1..={MAX_PAGE}", self.size)));
        }
        Ok(())
    }
}

/// An event as stored: the indexed columns and the whole event (`json`, as received).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    pub id: String,
    pub ts_ns: i64,
    pub sensor: Option<String>,
    pub kind: Option<String>,
    pub input: Option<String>,
    /// `match.where`
    pub location: Option<String>,
    /// `match.value`
    pub value: Option<String>,
    pub indicator_id: Option<String>,
    pub indicator_type: Option<String>,
    pub indicator_value: Option<String>,
    pub threat_type: Option<String>,
    pub feed: Option<String>,
    pub rule_chain: Option<String>,
    pub rule_name: Option<String>,
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub proto: Option<String>,
    /// The internal host (see the crate docs).
    pub host: Option<String>,
    pub json: String,
}

impl StoredEvent {
    /// Cursor for the page after this row.
    pub fn cursor(&self) -> Cursor {
        Cursor { ts_ns: self.ts_ns, id: self.id.clone() }
    }
}

const EVENT_COLS: &str = "id, ts_ns, sensor, kind, input, location, value, indicator_id, indicator_type, \
     indicator_value, threat_type, feed, rule_chain, rule_name, src_ip, dst_ip, src_port, dst_port, proto, host, json";

fn event_row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        id: r.get(0)?,
        ts_ns: r.get(1)?,
        sensor: r.get(2)?,
        kind: r.get(3)?,
        input: r.get(4)?,
        location: r.get(5)?,
        value: r.get(6)?,
        indicator_id: r.get(7)?,
        indicator_type: r.get(8)?,
        indicator_value: r.get(9)?,
        threat_type: r.get(10)?,
        feed: r.get(11)?,
        rule_chain: r.get(12)?,
        rule_name: r.get(13)?,
        src_ip: r.get(14)?,
        dst_ip: r.get(15)?,
        src_port: r.get(16)?,
        dst_port: r.get(17)?,
        proto: r.get(18)?,
        host: r.get(19)?,
        json: r.get(20)?,
    })
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentRow {
    pub id: String,
    pub ts_ns: i64,
    pub rule: Option<String>,
    pub host: Option<String>,
    /// Ids of the events behind it (`incident.events`).
    pub events: Vec<String>,
    pub json: String,
}

impl IncidentRow {
    /// Cursor for the page after this row.
    pub fn cursor(&self) -> Cursor {
        Cursor { ts_ns: self.ts_ns, id: self.id.clone() }
    }
}

fn incident_row(r: &Row<'_>) -> rusqlite::Result<IncidentRow> {
    let events: String = r.get(4)?;
    Ok(IncidentRow {
        id: r.get(0)?,
        ts_ns: r.get(1)?,
        rule: r.get(2)?,
        host: r.get(3)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        json: r.get(5)?,
    })
}

/// A stored analytics report line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    pub id: String,
    pub window_start_ns: i64,
    /// The line's top-level `"report"` field.
    pub kind: String,
    pub json: String,
}

/// Store totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Events stored (every kind).
    pub events: u64,
    pub incidents: u64,
    /// `kind: "summary"` events.
    pub summaries: u64,
    pub reports: u64,
    pub oldest_ns: Option<i64>,
    pub newest_ns: Option<i64>,
}

fn check_dim(dim: &str) -> Result<(), StoreError> {
    if DIMS.contains(&dim) {
        Ok(())
    } else {
        Err(StoreError::BadRequest(format!("unknown dimension {dim:?} (known: {})", DIMS.join(", "))))
    }
}

fn check_range(from_ns: i64, to_ns: i64) -> Result<(), StoreError> {
    if from_ns > to_ns {
        return Err(StoreError::BadRequest(format!("time range from {from_ns} is after to {to_ns}")));
    }
    Ok(())
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// Read-only access to a store, usable from any thread (`Send`; open one per thread, or share one
/// behind a `Mutex`). In WAL mode readers see committed batches and never block the writer.
pub struct Query {
    conn: Connection,
}

impl Query {
    /// Opens an existing store read-only.
    pub fn open(path: &Path) -> Result<Query, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        apply_pragmas(&conn)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew { found: version, supported: SCHEMA_VERSION });
        }
        if version == 0 {
            return Err(StoreError::BadRequest(format!("{} is not an sdn-store database", path.display())));
        }
        if version < SCHEMA_VERSION {
            return Err(StoreError::BadRequest(format!(
                "{} has schema version {version}; open it once with the writer (sdn-sensor run or analytics) to \
                 upgrade it to {SCHEMA_VERSION}",
                path.display()
            )));
        }
        Ok(Query { conn })
    }

    /// The `n` (1..=1000) most frequent values of `dim` over the minutes overlapping `[from_ns, to_ns)`,
    /// by count descending, then value ascending. Aggregates have minute resolution: a minute counts
    /// whole when any part of it is in the range.
    pub fn top(&self, dim: &str, from_ns: i64, to_ns: i64, n: usize) -> Result<Vec<(String, u64)>, StoreError> {
        check_dim(dim)?;
        check_range(from_ns, to_ns)?;
        if n == 0 || n > MAX_PAGE {
            return Err(StoreError::BadRequest(format!("top n {n} out of range 1..={MAX_PAGE}")));
        }
        self.top_inner(dim, from_ns, to_ns, n as i64)
    }

    fn top_inner(&self, dim: &str, from_ns: i64, to_ns: i64, limit: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let Some((lo, end)) = self.stored_minutes(dim)? else { return Ok(Vec::new()) };
        let end = end.saturating_add(NS_PER_MINUTE);
        // Minutes m with m + 1 min > from and m < to, within the stored [lo, end) (clamped first:
        // minute_of(i64::MIN) overflows).
        let a = minute_of(from_ns.max(lo));
        let b = minute_of(to_ns.min(end).saturating_sub(1)).saturating_add(NS_PER_MINUTE);
        if a >= b {
            return Ok(Vec::new());
        }
        if a == lo && b == end {
            // Everything stored: the totals, in top-N order in their index.
            let mut st = self.conn.prepare_cached(
                "SELECT value, count FROM agg_total WHERE dim = ?1 AND count > 0 ORDER BY count DESC, value LIMIT ?2",
            )?;
            let rows =
                st.query_map(params![dim, limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
            return Ok(rows.collect::<Result<_, _>>()?);
        }
        // Summed in memory from as few rows as the rollups allow: whole days, then whole hours, then
        // the minutes at the edges; a range over most of what is stored as the totals less the rest
        // (values recur from day to day: a week holds fewer distinct values than 6 days of rows).
        // One SQL GROUP BY over the same rows sorts them into a temporary b-tree: 1.5-2.5x slower.
        let mut parts: Vec<(i64, &str, &str, i64, i64)> = Vec::new();
        if 2 * (b - a) > end - lo {
            parts.push((1, "agg_total", "", 0, 0));
            let mut rest = Vec::new();
            split(lo, a, ROLLUPS.len(), &mut rest);
            split(b, end, ROLLUPS.len(), &mut rest);
            parts.extend(rest.into_iter().map(|(t, c, s, e)| (-1, t, c, s, e)));
        } else {
            let mut inside = Vec::new();
            split(a, b, ROLLUPS.len(), &mut inside);
            parts.extend(inside.into_iter().map(|(t, c, s, e)| (1, t, c, s, e)));
        }
        // Keyed by the value's bytes: no UTF-8 check per row (values were stored as text).
        let mut sums: HashMap<Box<[u8]>, i64, foldhash::fast::RandomState> = HashMap::default();
        for (sign, table, col, start, end) in parts {
            let mut st = self.conn.prepare_cached(&if table == "agg_total" {
                "SELECT value, count FROM agg_total WHERE dim = ?1".to_owned()
            } else {
                format!("SELECT value, count FROM {table} WHERE dim = ?1 AND {col} >= ?2 AND {col} < ?3")
            })?;
            let mut rows =
                if table == "agg_total" { st.query(params![dim])? } else { st.query(params![dim, start, end])? };
            while let Some(r) = rows.next()? {
                let n: i64 = sign * r.get::<_, i64>(1)?;
                let v = r.get_ref(0)?.as_bytes().map_err(rusqlite::Error::from)?;
                match sums.get_mut(v) {
                    Some(c) => *c += n,
                    None => {
                        sums.insert(v.into(), n);
                    }
                }
            }
        }
        let mut all: Vec<(String, u64)> = sums
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| (String::from_utf8_lossy(&v).into_owned(), n as u64))
            .collect();
        let order = |a: &(String, u64), b: &(String, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
        if let Ok(k) = usize::try_from(limit)
            && k < all.len()
        {
            if k == 0 {
                return Ok(Vec::new());
            }
            all.select_nth_unstable_by(k - 1, order);
            all.truncate(k);
        }
        all.sort_unstable_by(order);
        Ok(all)
    }

    /// The first and last stored minute of `dim`. Two statements: SQLite answers MIN or MAX alone
    /// from the end of the index, both together by scanning every row of the dim.
    fn stored_minutes(&self, dim: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let end = |sql: &str| -> Result<Option<i64>, StoreError> {
            Ok(self.conn.prepare_cached(sql)?.query_row([dim], |r| r.get(0)).optional()?)
        };
        let lo = end("SELECT minute FROM agg_minute WHERE dim = ?1 ORDER BY minute LIMIT 1")?;
        let hi = end("SELECT minute FROM agg_minute WHERE dim = ?1 ORDER BY minute DESC LIMIT 1")?;
        Ok(lo.zip(hi))
    }

    /// Per-minute counts of `dim` (of one `value`, or of all its values), for the minutes overlapping
    /// `[from_ns, to_ns)`, ascending; minutes without events are left out.
    pub fn series(
        &self,
        dim: &str,
        value: Option<&str>,
        from_ns: i64,
        to_ns: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        check_dim(dim)?;
        check_range(from_ns, to_ns)?;
        let lo = from_ns.saturating_sub(NS_PER_MINUTE);
        let map = |r: &Row<'_>| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?.max(0) as u64));
        let rows = match value {
            Some(v) => self
                .conn
                .prepare_cached(
                    "SELECT minute, count FROM agg_minute WHERE dim = ?1 AND value = ?4 AND minute > ?2 AND minute < ?3
                     ORDER BY minute",
                )?
                .query_map(params![dim, lo, to_ns, v], map)?
                .collect::<Result<_, _>>()?,
            None => self
                .conn
                .prepare_cached(
                    "SELECT minute, SUM(count) FROM agg_minute WHERE dim = ?1 AND minute > ?2 AND minute < ?3
                     GROUP BY minute ORDER BY minute",
                )?
                .query_map(params![dim, lo, to_ns], map)?
                .collect::<Result<_, _>>()?,
        };
        Ok(rows)
    }

    /// Events matching `f`, newest first (by `ts`, then `id`), one page at a time.
    pub fn search(&self, f: &EventFilter, page: Page) -> Result<Vec<StoredEvent>, StoreError> {
        let (sql, args) = self.plan_search(f, &page)?;
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(params_from_iter(args), event_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// SQLite's plan for [`Query::search`] (`EXPLAIN QUERY PLAN` details, one per line): diagnostics.
    pub fn explain_search(&self, f: &EventFilter, page: Page) -> Result<String, StoreError> {
        let (sql, args) = self.plan_search(f, &page)?;
        let mut st = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let rows = st.query_map(params_from_iter(args), |r| r.get::<_, String>(3))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?.join("\n"))
    }

    /// The search's SQL. A prefix that covers many events (a /8 of the internal network) is searched
    /// by walking the time index newest first and testing each row: pulling every match out of the
    /// address indexes and sorting them would read millions. A narrow one reads the address indexes.
    fn plan_search(&self, f: &EventFilter, page: &Page) -> Result<(String, Vec<Value>), StoreError> {
        let dense = match (&f.cidr, &f.ip) {
            (Some(c), None) => {
                let (lo, hi) = cidr_range(c.trim())?;
                let n: i64 = self
                    .conn
                    .prepare_cached(
                        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE src_addr BETWEEN ?1 AND ?2 LIMIT ?3))
                              + (SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE dst_addr BETWEEN ?1 AND ?2 LIMIT ?3))
                              + (SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE host_addr BETWEEN ?1 AND ?2 LIMIT ?3))",
                    )?
                    .query_row(params![lo.to_vec(), hi.to_vec(), DENSE_PREFIX], |r| r.get(0))?;
                n >= DENSE_PREFIX
            }
            _ => false,
        };
        search_sql(f, page, dense)
    }

    /// Incidents with `from_ns <= ts < to_ns`, newest first, one page at a time.
    pub fn incidents(&self, from_ns: i64, to_ns: i64, page: Page) -> Result<Vec<IncidentRow>, StoreError> {
        page.check()?;
        check_range(from_ns, to_ns)?;
        let (bt, bid) = match &page.before {
            Some(c) => (c.ts_ns, c.id.as_str()),
            None => (i64::MAX, ""),
        };
        let mut st = self.conn.prepare_cached(
            "SELECT id, ts_ns, rule, host, events, json FROM incidents
             WHERE ts_ns >= ?1 AND ts_ns < ?2 AND (ts_ns < ?3 OR (ts_ns = ?3 AND (?4 IS NULL OR id < ?4)))
             ORDER BY ts_ns DESC, id DESC LIMIT ?5",
        )?;
        let bid = page.before.as_ref().map(|_| bid);
        let rows = st.query_map(params![from_ns, to_ns, bt, bid, page.size as i64], incident_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One incident and the stored events it lists (oldest first; ids not (or no longer) stored are
    /// left out).
    pub fn incident(&self, id: &str) -> Result<Option<(IncidentRow, Vec<StoredEvent>)>, StoreError> {
        let Some(inc) = self
            .conn
            .prepare_cached("SELECT id, ts_ns, rule, host, events, json FROM incidents WHERE id = ?1")?
            .query_row([id], incident_row)
            .optional()?
        else {
            return Ok(None);
        };
        let sql =
            format!("SELECT {EVENT_COLS} FROM events WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY ts_ns, id");
        let ids = serde_json::to_string(&inc.events).unwrap_or_else(|_| "[]".into());
        let events = self.conn.prepare_cached(&sql)?.query_map([ids], event_row)?.collect::<Result<_, _>>()?;
        Ok(Some((inc, events)))
    }

    /// Events per feed over the minutes overlapping `[from_ns, to_ns)`, most first (then by name).
    pub fn feed_hits(&self, from_ns: i64, to_ns: i64) -> Result<Vec<(String, u64)>, StoreError> {
        check_range(from_ns, to_ns)?;
        self.top_inner("feed", from_ns, to_ns, -1)
    }

    /// Report lines of one kind (or all) with `from_ns <= window_start < to_ns`, oldest first, at most
    /// `limit` (1..=1000).
    pub fn reports(
        &self,
        kind: Option<&str>,
        from_ns: i64,
        to_ns: i64,
        limit: usize,
    ) -> Result<Vec<ReportRow>, StoreError> {
        check_range(from_ns, to_ns)?;
        if limit == 0 || limit > MAX_PAGE {
            return Err(StoreError::BadRequest(format!("limit {limit} out of range 1..={MAX_PAGE}")));
        }
        let mut st = self.conn.prepare_cached(
            "SELECT id, window_start, kind, json FROM reports
             WHERE (?1 IS NULL OR kind = ?1) AND window_start >= ?2 AND window_start < ?3
             ORDER BY window_start, id LIMIT ?4",
        )?;
        let rows = st.query_map(params![kind, from_ns, to_ns, limit as i64], |r| {
            Ok(ReportRow { id: r.get(0)?, window_start_ns: r.get(1)?, kind: r.get(2)?, json: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Totals (from the aggregates and the small tables; no scan of the events).
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let sum = |dim: &str, value: &str| -> Result<u64, StoreError> {
            let n: Option<i64> = self
                .conn
                .prepare_cached("SELECT SUM(count) FROM agg_minute WHERE dim = ?1 AND value = ?2")?
                .query_row([dim, value], |r| r.get(0))?;
            Ok(n.unwrap_or(0).max(0) as u64)
        };
        let count = |sql: &str| -> Result<u64, StoreError> {
            Ok(self.conn.prepare_cached(sql)?.query_row([], |r| r.get::<_, i64>(0))?.max(0) as u64)
        };
        let ts = |sql: &str| -> Result<Option<i64>, StoreError> {
            Ok(self.conn.prepare_cached(sql)?.query_row([], |r| r.get(0))?)
        };
        Ok(Counts {
            events: sum("all", "")?,
            incidents: count("SELECT COUNT(*) FROM incidents")?,
            summaries: sum("kind", "summary")?,
            reports: count("SELECT COUNT(*) FROM reports")?,
            oldest_ns: ts("SELECT MIN(ts_ns) FROM events")?,
            newest_ns: ts("SELECT MAX(ts_ns) FROM events")?,
        })
    }
}

/// Splits minutes `[a, b)` into the coarsest buckets: `ROLLUPS[..levels]` (finest first) for the
/// whole buckets inside, `agg_minute` for the rest.
fn split(a: i64, b: i64, levels: usize, out: &mut Vec<(&'static str, &'static str, i64, i64)>) {
    if a >= b {
        return;
    }
    if levels == 0 {
        out.push(("agg_minute", "minute", a, b));
        return;
    }
    let (table, col, span) = ROLLUPS[levels - 1];
    let first = a.div_euclid(span) * span + if a.rem_euclid(span) == 0 { 0 } else { span };
    let last = b.div_euclid(span) * span;
    if first < last {
        out.push((table, col, first, last));
        split(a, first, levels - 1, out);
        split(last, b, levels - 1, out);
    } else {
        split(a, b, levels - 1, out);
    }
}

/// The SQL and arguments of a search.
fn search_sql(f: &EventFilter, page: &Page, dense_prefix: bool) -> Result<(String, Vec<Value>), StoreError> {
    page.check()?;
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    let ip = match &f.ip {
        Some(ip) => Some(arg(Value::Blob(
            parse_addr_key(ip.trim())
                .ok_or_else(|| StoreError::BadRequest(format!("bad ip {ip:?}: not an IPv4 or IPv6 address")))?
                .to_vec(),
        ))),
        None => None,
    };
    // A narrow prefix: one branch per address index, merged like an `ip` search.
    let mut prefix = None;
    if let Some(c) = &f.cidr {
        let (lo, hi) = cidr_range(c.trim())?;
        let (lo, hi) = (arg(Value::Blob(lo.to_vec())), arg(Value::Blob(hi.to_vec())));
        if dense_prefix || ip.is_some() {
            // `+col`: not through the address indexes (see Query::plan_search).
            conds.push(format!(
                "(+src_addr BETWEEN {lo} AND {hi} OR +dst_addr BETWEEN {lo} AND {hi} OR +host_addr BETWEEN {lo} AND {hi})"
            ));
        } else {
            prefix = Some((lo, hi));
        }
    }
    if let Some(v) = &f.value {
        if v.is_empty() {
            return Err(StoreError::BadRequest("empty value".into()));
        }
        match f.value_match {
            ValueMatch::Exact => {
                let p = arg(Value::Text(v.clone()));
                conds.push(format!("value = {p} COLLATE NOCASE"));
            }
            ValueMatch::Substring => {
                let p = arg(Value::Text(format!("%{}%", like_escape(v))));
                conds.push(format!("value LIKE {p} ESCAPE '\\'"));
            }
            ValueMatch::Domain => {
                let d = v.trim_end_matches('.');
                let e = arg(Value::Text(d.to_owned()));
                let p = arg(Value::Text(format!("%.{}", like_escape(d))));
                conds.push(format!("(value = {e} COLLATE NOCASE OR value LIKE {p} ESCAPE '\\')"));
            }
        }
    }
    for (col, v, nocase) in [
        ("indicator_id", &f.indicator_id, false),
        ("indicator_value", &f.indicator_value, true),
        ("feed", &f.feed, false),
        ("input", &f.input, false),
        ("kind", &f.kind, false),
        ("sensor", &f.sensor, false),
    ] {
        if let Some(v) = v {
            let p = arg(Value::Text(v.clone()));
            conds.push(format!("{col} = {p}{}", if nocase { " COLLATE NOCASE" } else { "" }));
        }
    }
    if let Some(t) = f.from_ns {
        conds.push(format!("ts_ns >= {}", arg(Value::Integer(t))));
    }
    if let Some(t) = f.to_ns {
        conds.push(format!("ts_ns < {}", arg(Value::Integer(t))));
    }
    if let Some(c) = &page.before {
        let (t, id) = (arg(Value::Integer(c.ts_ns)), arg(Value::Text(c.id.clone())));
        conds.push(format!("(ts_ns, id) < ({t}, {id})"));
    }
    let limit = arg(Value::Integer(page.size as i64));
    let order = format!("ORDER BY ts_ns DESC, id DESC LIMIT {limit}");
    let branches = |test: &dyn Fn(&str) -> String| {
        let branch = |col: &str| {
            let mut c = vec![test(col)];
            c.extend(conds.iter().cloned());
            format!("SELECT * FROM (SELECT {EVENT_COLS} FROM events WHERE {} {order})", c.join(" AND "))
        };
        format!("{} UNION {} UNION {} {order}", branch("src_addr"), branch("dst_addr"), branch("host_addr"))
    };
    let sql = match (ip, prefix) {
        (Some(k), _) => branches(&|col| format!("{col} = {k}")),
        (None, Some((lo, hi))) => branches(&|col| format!("{col} BETWEEN {lo} AND {hi}")),
        (None, None) => {
            let wher = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
            format!("SELECT {EVENT_COLS} FROM events {wher} {order}")
        }
    };
    Ok((sql, args))
}
