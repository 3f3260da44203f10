//! Flow exports: NetFlow v1/v5/v7, v9 and IPFIX (with template state per
//! exporter and observation domain), and sFlow v5 (whose sampled packet
//! headers go through `wire::decode`). Decoders never panic and never
//! allocate per record; every record becomes a [`FlowRecord`] handed to a
//! callback, every malformed input a typed, counted error.

pub mod netflow;
pub mod record;
pub mod sflow;

pub use record::{ExportKind, FlowContext, FlowRecord};
