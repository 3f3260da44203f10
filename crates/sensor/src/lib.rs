//! Sources, the per-packet pipeline (decode → observe → match) and counters.

pub mod capture;
pub mod config;
pub mod config_import;
pub mod counters;
pub mod defrag;
pub mod event;
pub mod flows;
pub mod listen;
pub mod listen_tcp;
pub mod listen_tls;
pub mod observe;
pub mod pipeline;
pub mod stream;

pub use capture::{CaptureError, CapturedPacket, read_capture};
pub use counters::Counters;
pub use pipeline::{Hit, Pipeline};
pub mod app;
mod appmatch;
pub mod bench;
pub mod bench_dns;
pub mod bench_flows;
pub mod bench_syslog;
pub mod replay;
pub mod rules;
pub mod scratch;
pub mod service_config;
pub mod synth;
pub mod syslogs;
