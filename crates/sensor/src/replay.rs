//! Offline analysis of capture files: read → decode → match → events.

use crate::capture::{CaptureError, CaptureSummary, read_capture};
use crate::event::packet_hit_event;
use crate::pipeline::Pipeline;
use events::{Event, EventIds};
use std::path::Path;

/// Replays one capture through `pipeline`, handing each event to `emit`.
/// Every packet before a damaged record is processed and its events emitted
/// before the error is returned.
pub fn replay_capture(
    path: &Path,
    pipeline: &mut Pipeline,
    ids: &mut EventIds,
    mut emit: impl FnMut(&Event<'_>),
    on_progress: impl FnMut(u64),
) -> (CaptureSummary, Result<(), CaptureError>) {
    let name = path.display().to_string();
    let rules = pipeline.rule_set();
    read_capture(
        path,
        |pkt| {
            let now = (pkt.ts_sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(u64::from(pkt.ts_nsec));
            let (decoded, m) = pipeline.frame_matches(pkt.link, pkt.data, pkt.orig_len, now);
            for hit in m.hits {
                emit(&packet_hit_event(ids, m.set, pkt, &decoded, hit, m.scratch, Some(&rules), Some(&name)));
            }
        },
        on_progress,
    )
}
