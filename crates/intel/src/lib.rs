//! Indicators of compromise: the model, feed readers, and the compiled,
//! immutable [`IndicatorSet`] that the matcher queries.
//!
//! The set knows no protocol: callers ask "is this address listed?" and get
//! back the indicators behind the most specific entry that covers it.

pub mod age;
pub mod allow;
mod bloom;
pub mod check;
pub mod feeds;
mod hugemem;
pub mod ipkey;
pub mod lpm;
pub mod model;
pub mod normalize;
mod presence;
pub mod reload;
pub mod set;
mod store;
mod textmap;

pub use allow::{AllowBuilder, AllowEntry, AllowKind, Allowlist};
pub use check::{ValueKind, Verdict};
pub use feeds::{FeedError, FeedFormat, FeedReport, LoadOptions, load_feed, load_feeds};
pub use model::{Indicator, IndicatorId, IndicatorType};
pub use set::{DomainMatch, IndicatorSet, IpKey, SetBuilder};
pub use store::IndicatorView;
