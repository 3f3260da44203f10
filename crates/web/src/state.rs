//! What every handler shares: the store's read connections, the auth
//! settings, and the hooks through which the service answers what only it
//! knows (live counters, the loaded intel, the live event feed).

use crate::auth::AuthConfig;
use crate::live::LiveFeed;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The process's status as JSON (counters, drops, intel generation, feed
/// ages): filled by `run` and `analytics`, which know the sensor.
pub type StatusHook = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// `intel check` of one value against the indicator set in use.
pub type CheckHook = Arc<dyn Fn(&str) -> serde_json::Value + Send + Sync>;

/// How the service builds the web side (see [`crate::routes`]).
#[derive(Clone, Default)]
pub struct WebOptions {
    /// The analytics store (opened read-only; it must exist).
    pub db: PathBuf,
    pub auth: AuthConfig,
    pub status: Option<StatusHook>,
    pub intel_check: Option<CheckHook>,
    /// Events as they are emitted (`/api/stream`); without it the stream
    /// answers 503.
    pub live: Option<Arc<LiveFeed>>,
}

/// Read connections to the store, opened as requests need them, at most
/// [`QueryPool::MAX`] (a request beyond that waits for one to be put
/// back). SQLite in WAL mode serves readers side by side, so a slow report
/// or a large export does not hold up the dashboard's other requests, as
/// one shared connection did.
pub struct QueryPool {
    path: PathBuf,
    /// Idle connections, and how many are open (idle or lent).
    state: Mutex<(Vec<store::Query>, usize)>,
    put_back: Condvar,
    max: usize,
}

impl QueryPool {
    /// The most readers, whatever the core count.
    pub const MAX: usize = 8;

    /// As many readers as cores (2 to [`QueryPool::MAX`]). Opens the first
    /// connection now, so a missing or unreadable store is an error at
    /// startup, not at the first request.
    pub fn open(path: &Path) -> Result<QueryPool, store::StoreError> {
        let max = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, Self::MAX);
        Self::with_max(path, max)
    }

    pub fn with_max(path: &Path, max: usize) -> Result<QueryPool, store::StoreError> {
        let first = store::Query::open(path)?;
        Ok(QueryPool {
            path: path.to_path_buf(),
            state: Mutex::new((vec![first], 1)),
            put_back: Condvar::new(),
            max: max.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, (Vec<store::Query>, usize)> {
        // A panic while holding the lock leaves the list consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection for this request (put back when the guard drops).
    pub fn get(&self) -> Result<PooledQuery<'_>, store::StoreError> {
        let mut st = self.lock();
        loop {
            if let Some(q) = st.0.pop() {
                return Ok(PooledQuery { pool: self, q: Some(q) });
            }
            if st.1 < self.max {
                st.1 += 1;
                drop(st);
                return match store::Query::open(&self.path) {
                    Ok(q) => Ok(PooledQuery { pool: self, q: Some(q) }),
                    Err(e) => {
                        self.lock().1 -= 1;
                        Err(e)
                    }
                };
            }
            st = self.put_back.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Connections open (idle or lent).
    pub fn open_count(&self) -> usize {
        self.lock().1
    }
}

/// A connection lent by [`QueryPool::get`].
pub struct PooledQuery<'a> {
    pool: &'a QueryPool,
    q: Option<store::Query>,
}

impl std::ops::Deref for PooledQuery<'_> {
    type Target = store::Query;

    fn deref(&self) -> &store::Query {
        // Only `drop` takes it out.
        self.q.as_ref().expect("a lent connection")
    }
}

impl Drop for PooledQuery<'_> {
    fn drop(&mut self) {
        if let Some(q) = self.q.take() {
            self.pool.lock().0.push(q);
            self.pool.put_back.notify_one();
        }
    }
}

pub struct WebState {
    /// The store's read connections.
    pub query: QueryPool,
    /// `[http] token` (kept apart for the pages that show whether one is
    /// set; [`WebState::auth`] holds it too).
    pub token: Option<String>,
    pub auth: AuthConfig,
    pub status: Option<StatusHook>,
    pub intel_check: Option<CheckHook>,
    pub live: Option<Arc<LiveFeed>>,
    pub db: PathBuf,
}

impl WebState {
    /// Store and token only (no hooks, no live feed).
    pub fn open(db: &std::path::Path, token: Option<String>) -> anyhow::Result<Arc<WebState>> {
        WebState::with_options(WebOptions {
            db: db.to_path_buf(),
            auth: AuthConfig { token, basic: None },
            ..Default::default()
        })
    }

    pub fn with_options(o: WebOptions) -> anyhow::Result<Arc<WebState>> {
        let query = QueryPool::open(&o.db).map_err(|e| anyhow::anyhow!("{}: {e}", o.db.display()))?;
        Ok(Arc::new(WebState {
            query,
            token: o.auth.token.clone(),
            auth: o.auth,
            status: o.status,
            intel_check: o.intel_check,
            live: o.live,
            db: o.db,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn store(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sdn-web-pool-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("store.db");
        store::Store::open(&store::StoreConfig { path: db.clone(), max_age: None, max_bytes: None }).unwrap();
        db
    }

    #[test]
    fn readers_side_by_side_up_to_the_bound_then_wait() {
        let db = store("bound");
        let pool = QueryPool::with_max(&db, 2).unwrap();
        let a = pool.get().unwrap();
        let b = pool.get().unwrap();
        assert_eq!(pool.open_count(), 2);
        assert!(a.counts().is_ok() && b.counts().is_ok());
        drop(b);
        // Put back, then lent again: no third connection.
        let b = pool.get().unwrap();
        assert_eq!(pool.open_count(), 2);
        let pool = &pool;
        std::thread::scope(|sc| {
            let (tx, rx) = mpsc::channel();
            sc.spawn(move || {
                let q = pool.get().unwrap();
                tx.send(q.counts().is_ok()).unwrap();
            });
            // Both lent: the third request waits...
            assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
            // ...until one is put back.
            drop(a);
            assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(true));
        });
        drop(b);
        assert_eq!(pool.open_count(), 2);
        std::fs::remove_dir_all(db.parent().unwrap()).ok();
    }

    #[test]
    fn a_missing_store_fails_at_open() {
        let missing = std::env::temp_dir().join(format!("sdn-web-pool-{}-missing/none.db", std::process::id()));
        assert!(QueryPool::open(&missing).is_err());
    }
}
