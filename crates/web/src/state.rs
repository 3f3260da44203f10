//! What every handler shares: the store's read connection, the auth
//! settings, and the hooks through which the service answers what only it
//! knows (live counters, the loaded intel, the live event feed).

use crate::auth::AuthConfig;
use crate::live::LiveFeed;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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

pub struct WebState {
    /// One read connection (`Query` is Send, not Sync).
    pub query: Mutex<store::Query>,
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
        let query = store::Query::open(&o.db).map_err(|e| anyhow::anyhow!("{}: {e}", o.db.display()))?;
        Ok(Arc::new(WebState {
            query: Mutex::new(query),
            token: o.auth.token.clone(),
            auth: o.auth,
            status: o.status,
            intel_check: o.intel_check,
            live: o.live,
            db: o.db,
        }))
    }
}
