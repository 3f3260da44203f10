//! `sdn-sensor run`: the service. Capture workers, listeners, sinks, the
//! HTTP listener (/metrics), intel reload on SIGHUP and file change, and a
//! graceful shutdown that flushes the sinks.

pub mod analysis;
pub mod capture_worker;
pub mod consume;
pub mod coverage;
pub mod emit;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod receivers;
pub mod rules;
pub mod run;
pub mod sink_plan;
pub mod stats;
pub mod store_writer;
pub mod web_hooks;
