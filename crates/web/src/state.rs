//! What every handler shares: the store's read connection, the auth
//! settings, and the hooks through which the service answers what only it
//! knows (live counters, the loaded intel).

use std::sync::{Arc, Mutex};

pub struct WebState {
    /// One read connection (`Query` is Send, not Sync).
    pub query: Mutex<store::Query>,
    pub token: Option<String>,
}

impl WebState {
    pub fn open(db: &std::path::Path, token: Option<String>) -> anyhow::Result<Arc<WebState>> {
        let query = store::Query::open(db).map_err(|e| anyhow::anyhow!("{}: {e}", db.display()))?;
        Ok(Arc::new(WebState { query: Mutex::new(query), token }))
    }
}
