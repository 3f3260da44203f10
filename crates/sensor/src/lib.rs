//! Sources, the per-packet pipeline (decode → observe → match) and counters.

pub mod capture;
pub mod counters;
pub mod defrag;
pub mod event;
pub mod observe;
pub mod pipeline;
pub mod stream;

pub use capture::{CaptureError, CapturedPacket, read_capture};
pub use counters::Counters;
pub use pipeline::{Hit, Pipeline};
pub mod bench;
pub mod replay;
pub mod synth;
