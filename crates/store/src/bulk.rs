//! Bulk load into a new store: the same rows and aggregates as live ingest ([`crate::Store`] goes
//! through the same `insert_batch`), but without the secondary indexes until the end, without a
//! rollback journal or syncs, and with few, large transactions. For benchmarks and imports: a crash
//! mid-load leaves a file to delete, not a store to trust.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::schema::{
    SCHEMA_V1_INDEXES, SCHEMA_V1_TABLES, SCHEMA_V2_INDEXES, SCHEMA_V2_TABLES, SCHEMA_V3_INDEXES, SCHEMA_V3_TABLES,
    SCHEMA_VERSION,
};
use crate::store::{PendingAggs, apply_pragmas, insert_batch, write_aggregates};
use crate::{InsertStats, StoreError};

/// Events per transaction while loading.
const COMMIT_EVERY: u64 = 500_000;
/// Events whose aggregate increments are grouped in memory before they are written (~50 MB).
const AGGREGATE_EVERY: u64 = 100_000;
/// Page cache while loading and building the indexes (MiB).
const LOAD_CACHE_MIB: i64 = 1024;

/// Loads lines into a new database; [`BulkLoader::finish`] builds the indexes and makes it an
/// ordinary store (WAL mode, schema version set). Dropped without `finish`, the file is not a store
/// (`user_version` 0): [`crate::Query::open`] refuses it.
pub struct BulkLoader {
    conn: Connection,
    path: PathBuf,
    stats: InsertStats,
    uncommitted: u64,
    aggs: PendingAggs,
    unaggregated: u64,
}

impl BulkLoader {
    /// Creates the database at `path` (and its parent directory); refuses an existing file.
    pub fn create(path: &Path) -> Result<BulkLoader, StoreError> {
        if path.exists() {
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{}: already exists (a bulk load starts from nothing; delete it first)", path.display()),
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)?;
        apply_pragmas(&conn)?;
        // As Store::open makes it: before the first table, or it has no effect.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        // Nothing to roll back to: the file is deleted if the load fails.
        conn.pragma_update(None, "journal_mode", "OFF")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "cache_size", -(LOAD_CACHE_MIB << 10))?;
        // Index builds sort on disk past the cache, in two threads.
        conn.pragma_update(None, "temp_store", "FILE")?;
        conn.pragma_update(None, "threads", 2)?;
        conn.execute_batch(SCHEMA_V1_TABLES)?;
        conn.execute_batch(SCHEMA_V2_TABLES)?;
        conn.execute_batch(SCHEMA_V3_TABLES)?;
        conn.execute_batch("BEGIN")?;
        Ok(BulkLoader {
            conn,
            path: path.to_owned(),
            stats: InsertStats::default(),
            uncommitted: 0,
            aggs: PendingAggs::default(),
            unaggregated: 0,
        })
    }

    /// Stores a batch of lines exactly as [`crate::Store::insert_json`] would.
    pub fn insert_json(&mut self, lines: &[&[u8]]) -> Result<InsertStats, StoreError> {
        let st = insert_batch(&self.conn, lines, &mut self.aggs)?;
        self.stats.inserted += st.inserted;
        self.stats.duplicates += st.duplicates;
        self.stats.malformed += st.malformed;
        self.stats.incidents += st.incidents;
        self.stats.reports += st.reports;
        self.uncommitted += lines.len() as u64;
        self.unaggregated += lines.len() as u64;
        if self.unaggregated >= AGGREGATE_EVERY {
            write_aggregates(&self.conn, &mut self.aggs)?;
            self.unaggregated = 0;
        }
        if self.uncommitted >= COMMIT_EVERY {
            self.conn.execute_batch("COMMIT; BEGIN")?;
            self.uncommitted = 0;
        }
        Ok(st)
    }

    /// Totals so far.
    pub fn stats(&self) -> InsertStats {
        self.stats
    }

    /// Commits, builds the secondary indexes, sets the schema version and switches to WAL mode.
    pub fn finish(mut self) -> Result<(PathBuf, InsertStats), StoreError> {
        write_aggregates(&self.conn, &mut self.aggs)?;
        self.conn.execute_batch("COMMIT")?;
        self.conn
            .execute_batch(&format!("BEGIN; {SCHEMA_V1_INDEXES} {SCHEMA_V2_INDEXES} {SCHEMA_V3_INDEXES} COMMIT;"))?;
        self.conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        Ok((self.path, self.stats))
    }
}
