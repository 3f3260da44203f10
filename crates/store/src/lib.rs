//! Embedded store for sdn-sensor events (SQLite, WAL mode, `synchronous=NORMAL`) and the one query
//! module ([`Query`]) that the web UI and reports read through.
//!
//! - `events`: one row per event id (redeliveries are ignored), with the fields searches need and the
//!   whole event JSON;
//! - `agg_minute`: per-minute counts per dimension ([`DIMS`]), upserted in the same transaction as the
//!   events, so charts and top-N never scan raw events (derived `summary` / `incident` events count
//!   under `all`, `kind` and `sensor` only, not under the hit dimensions, `input` among them: they
//!   carry the input of the events they describe);
//! - `incidents` (`kind: "incident"` events, also stored in `events`) and `reports` (lines with a
//!   top-level `"report"` field);
//! - one transaction per [`Store::insert_json`] batch, or per group of batches
//!   ([`Store::set_group_commit`]: far fewer page writes with small batches);
//! - retention by age and by size ([`Store::enforce_retention`]), always by whole minutes so that
//!   aggregates keep matching the events that remain.

mod addr;
mod bulk;
mod query;
mod schema;
mod store;
pub mod synth;
mod time;

use std::path::PathBuf;
use std::time::Duration;

pub use addr::{cidr_range, key_to_string, parse_addr_key};
pub use bulk::BulkLoader;
pub use query::{Counts, Cursor, EventFilter, IncidentRow, MAX_PAGE, Page, Query, ReportRow, StoredEvent, ValueMatch};
pub use schema::{DIMS, SCHEMA_VERSION};
pub use store::Store;
pub use time::{NS_PER_MINUTE, format_ts, minute_of, parse_ts};

/// Errors of the store and the query module.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (I/O, corruption, locked past the busy timeout, ...).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Invalid query parameters (unknown dim, bad cidr, page size 0 or over 1000, ...): HTTP 400.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The database was written by a newer version of this crate.
    #[error("store schema version {found} is newer than this build's {supported}")]
    SchemaTooNew { found: i64, supported: i64 },
    /// Filesystem error (creating the parent directory).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Where the store lives and how much it keeps.
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    /// Database file (created with its parent directory when missing).
    pub path: PathBuf,
    /// Delete events, aggregates, incidents and reports older than this.
    pub max_age: Option<Duration>,
    /// Keep the database's used pages under this many bytes (oldest minutes deleted first).
    pub max_bytes: Option<u64>,
}

/// What one [`Store::insert_json`] batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertStats {
    /// New events stored (including incident and summary events).
    pub inserted: u64,
    /// Events whose id was already stored (redeliveries), ignored.
    pub duplicates: u64,
    /// Lines that were not JSON objects, or events without a usable `id` / `ts`: skipped.
    pub malformed: u64,
    /// New incidents stored (a subset of `inserted`).
    pub incidents: u64,
    /// Report lines stored (new ones; a re-delivered report is ignored).
    pub reports: u64,
}

/// What one [`Store::enforce_retention`] call deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionStats {
    pub events_deleted: u64,
    pub incidents_deleted: u64,
    pub reports_deleted: u64,
    pub agg_rows_deleted: u64,
    /// Size-limit rounds (each deletes the oldest whole minutes).
    pub size_rounds: u64,
    /// Used bytes ((page_count - freelist_count) * page_size) before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
}
