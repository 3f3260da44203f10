//! The schema (versioned with `PRAGMA user_version`).

/// Current schema version.
pub const SCHEMA_VERSION: i64 = 3;

/// Rollups of `agg_minute` (schema 2): (table, bucket column, bucket width in ns). Long ranges read
/// whole days and hours from them, and minutes only at the edges.
pub(crate) const ROLLUPS: &[(&str, &str, i64)] =
    &[("agg_hour", "hour", 3_600_000_000_000), ("agg_day", "day", 86_400_000_000_000)];

/// Aggregate dimensions maintained at ingest (plus `all`, the total).
pub const DIMS: &[&str] = &[
    "all",
    "kind",
    "input",
    "feed",
    "indicator",
    "indicator_value",
    "threat_type",
    "sensor",
    "src_ip",
    "dst_ip",
    "host",
    "dst_port",
];

/// Tables of version 1 (the bulk loader creates them first, and the indexes after the load).
pub(crate) const SCHEMA_V1_TABLES: &str = r#"
CREATE TABLE events (
    id              TEXT PRIMARY KEY,          -- event id; re-inserts are ignored
    ts_ns           INTEGER NOT NULL,          -- event ts, ns since the epoch
    sensor          TEXT,
    kind            TEXT,
    input           TEXT,
    location        TEXT,                      -- match.where
    value           TEXT,                      -- match.value
    indicator_id    TEXT,
    indicator_type  TEXT,
    indicator_value TEXT,
    threat_type     TEXT,
    feed            TEXT,
    rule_chain      TEXT,
    rule_name       TEXT,
    src_ip          TEXT,
    dst_ip          TEXT,
    src_port        INTEGER,
    dst_port        INTEGER,
    proto           TEXT,
    host            TEXT,                      -- the internal host
    src_addr        BLOB,                      -- 16-byte sortable forms (IPv4 as ::ffff:a.b.c.d)
    dst_addr        BLOB,
    host_addr       BLOB,                      -- only when host is neither src_ip nor dst_ip
    json            TEXT NOT NULL              -- the whole event as received
);

CREATE TABLE agg_minute (
    minute INTEGER NOT NULL,                   -- minute start, ns since the epoch
    dim    TEXT NOT NULL,
    value  TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (dim, minute, value)           -- dim first: every query and delete names one dim
) WITHOUT ROWID;

CREATE TABLE incidents (
    id     TEXT PRIMARY KEY,
    ts_ns  INTEGER NOT NULL,
    rule   TEXT,
    host   TEXT,
    events TEXT NOT NULL,                      -- JSON array of event ids
    json   TEXT NOT NULL
);

CREATE TABLE reports (
    id           TEXT PRIMARY KEY,             -- the report's "id", else kind@window_start:hash
    window_start INTEGER NOT NULL,             -- ns since the epoch
    kind         TEXT NOT NULL,                -- the top-level "report" field
    json         TEXT NOT NULL
);
"#;

/// Secondary indexes of version 1.
pub(crate) const SCHEMA_V1_INDEXES: &str = r#"
-- Searches are newest first: every index ends in ts_ns so an equality walks it backwards, no sort.
CREATE INDEX events_ts ON events(ts_ns, id);
CREATE INDEX events_src ON events(src_addr, ts_ns) WHERE src_addr IS NOT NULL;
CREATE INDEX events_dst ON events(dst_addr, ts_ns) WHERE dst_addr IS NOT NULL;
CREATE INDEX events_host ON events(host_addr, ts_ns) WHERE host_addr IS NOT NULL;
CREATE INDEX events_value ON events(value COLLATE NOCASE, ts_ns) WHERE value IS NOT NULL;
CREATE INDEX events_indicator_id ON events(indicator_id, ts_ns) WHERE indicator_id IS NOT NULL;
CREATE INDEX events_indicator_value ON events(indicator_value COLLATE NOCASE, ts_ns) WHERE indicator_value IS NOT NULL;
CREATE INDEX events_feed ON events(feed, ts_ns) WHERE feed IS NOT NULL;
CREATE INDEX events_kind ON events(kind, ts_ns);
CREATE INDEX incidents_ts ON incidents(ts_ns, id);
CREATE INDEX reports_window ON reports(kind, window_start);
CREATE INDEX reports_ws ON reports(window_start);
"#;

/// Version 2: hour and day rollups of the aggregates (top-N over a day or a week reads tens of
/// thousands of rows, not millions), and per-value series without scanning every value of a dim.
/// Also the upgrade of a version 1 store: the rollups are summed from its minutes.
pub(crate) const SCHEMA_V2_TABLES: &str = r#"
CREATE TABLE agg_hour (
    hour   INTEGER NOT NULL,                   -- hour start, ns since the epoch (UTC)
    dim    TEXT NOT NULL,
    value  TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (dim, hour, value)
) WITHOUT ROWID;
CREATE TABLE agg_day (
    day    INTEGER NOT NULL,                   -- day start, ns since the epoch (UTC)
    dim    TEXT NOT NULL,
    value  TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (dim, day, value)
) WITHOUT ROWID;
"#;

pub(crate) const SCHEMA_V2_INDEXES: &str = r#"
-- A series of one value walks its own minutes; retention subtracts deleted minutes from partial rollups.
CREATE INDEX agg_minute_value ON agg_minute(dim, value, minute, count);
"#;

/// Fills the rollups of a version 1 store from its minutes.
pub(crate) const SCHEMA_V2_FILL: &str = r#"
INSERT INTO agg_hour (hour, dim, value, count)
    SELECT minute - (minute % 3600000000000 + 3600000000000) % 3600000000000, dim, value, SUM(count)
    FROM agg_minute GROUP BY 2, 1, 3;
INSERT INTO agg_day (day, dim, value, count)
    SELECT hour - (hour % 86400000000000 + 86400000000000) % 86400000000000, dim, value, SUM(count)
    FROM agg_hour GROUP BY 2, 1, 3;
"#;

/// Version 3: totals per value over everything stored, ordered by count: the dashboard's
/// "everything stored" charts read ten index entries instead of a week of day rollups.
pub(crate) const SCHEMA_V3_TABLES: &str = r#"
CREATE TABLE agg_total (
    dim    TEXT NOT NULL,
    value  TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (dim, value)
) WITHOUT ROWID;
"#;

pub(crate) const SCHEMA_V3_INDEXES: &str = r#"
CREATE INDEX agg_total_top ON agg_total(dim, count DESC, value);
"#;

/// Fills the totals of a version 2 store from its day rollups.
pub(crate) const SCHEMA_V3_FILL: &str = r#"
INSERT INTO agg_total (dim, value, count) SELECT dim, value, SUM(count) FROM agg_day GROUP BY dim, value;
"#;
