//! Streaming analytics over the sensor's hit events (issue 8, DESIGN §5):
//! throttled de-duplication with `summary` events, top-N per tumbling window,
//! event rates, IP-pair sessions, per-feed / per-indicator hit statistics and
//! correlation rules producing `incident` events.
//!
//! No I/O and no wall clock: all time comes from the events' `ts`, so a
//! replay gives the same output as live traffic. One [`Engine`] per thread
//! (or partition); every keyed table is bounded by [`Config::max_keys`] and
//! counts its evictions ([`EngineStats`]).
//!
//! Rules in one place (details in each module):
//! - host of an event: [`EventIn::host`];
//! - windows and late events: [`engine`];
//! - throttling: key `(host, indicator or rule, where)`; the first
//!   `throttle_first` events of a key per window pass, the rest are counted
//!   and reported in one [`Summary`] per key at window close (or when the key
//!   is evicted), so `passed + suppressed = events`;
//! - sessions: [`sessions`]; correlation: [`correlate`];
//! - hit statistics: at each window close, the feeds and indicators hit in
//!   that window, with window counts and cumulative counts / first / last
//!   seen;
//! - encoding: [`encode`] (events for summaries and incidents, `report`
//!   lines for the rest);
//! - decoding: [`parse_event`] (a field-picking fast path, serde_json for
//!   anything unusual);
//! - throughput: [`bench::bench`] (`sdn-sensor bench analytics`).

pub mod bench;
pub mod correlate;
pub mod engine;
pub mod event;
mod fastparse;
mod indicators;
mod intern;
mod lru;
pub mod output;
mod packed_id;
mod saving;
mod scan;
pub mod sessions;
mod topn;
mod util;

pub use correlate::{CorrelationRule, MAX_K};
pub use engine::{Config, Engine, EngineStats, TableStats};
pub use event::{Addrs, EventIn, IndicatorIn, ParseError, ParsedEvent, parse_event, parse_event_serde};
pub use output::*;
pub use util::{Ts, parse_rfc3339_ns};
