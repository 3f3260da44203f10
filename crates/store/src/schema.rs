//! The schema (versioned with `PRAGMA user_version`).

/// Current schema version.
pub const SCHEMA_VERSION: i64 = 1;

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

pub(crate) const SCHEMA_V1: &str = r#"
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
CREATE INDEX incidents_ts ON incidents(ts_ns, id);

CREATE TABLE reports (
    id           TEXT PRIMARY KEY,             -- the report's "id", else kind@window_start:hash
    window_start INTEGER NOT NULL,             -- ns since the epoch
    kind         TEXT NOT NULL,                -- the top-level "report" field
    json         TEXT NOT NULL
);
CREATE INDEX reports_window ON reports(kind, window_start);
CREATE INDEX reports_ws ON reports(window_start);
"#;
