//! Partitions nobody consumes: checked now and then by `sdn-sensor
//! analytics`. Each process takes some partitions of a stream by subject
//! filter; a partition left out (a process never started, or started with
//! a wrong `--subject`) is never analysed and nothing else would say so.
//!
//! Two findings, each logged once when it appears (again after it
//! cleared) and kept as a gauge on `/metrics`:
//! - a subject holding messages that no consumer's filter takes;
//! - a consumer with messages waiting that nobody has read or acknowledged
//!   since the last check, and nobody is pulling from (durables outlive
//!   their processes: a stopped process still "covers" its partition).
//!
//! What it cannot tell: any consumer counts, so one that takes the whole
//! stream (an archiver, say) covers every partition; and after the
//! partitions change, subjects of the old layout that still hold messages
//! are reported until those age out of the stream.

use async_nats::jetstream::Context;
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Whether the NATS subject filter `filter` takes `subject`: tokens split
/// on `.`, `*` matches one token, a final `>` one or more; the empty filter
/// (a consumer of the whole stream) takes everything.
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    let mut s = subject.split('.');
    for f in filter.split('.') {
        match (f, s.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (f, Some(t)) if f == t => {}
            _ => return false,
        }
    }
    s.next().is_none()
}

/// What one check found, on one stream.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Found {
    /// Subjects with messages that no consumer takes, with their counts.
    pub uncovered: Vec<(String, u64)>,
    /// Consumers with messages waiting, unread since the last check.
    pub stalled: Vec<(String, u64)>,
}

/// At most this many subjects are looked at per stream and check (a
/// sensor's subjects are partitions x kinds x inputs: about a hundred).
const MAX_SUBJECTS: usize = 10_000;

/// The state kept between checks of one stream.
#[derive(Default)]
pub struct Checker {
    /// Per consumer: its delivered and acknowledged stream sequences at the
    /// last check.
    seen: HashMap<String, (u64, u64)>,
    told_uncovered: HashSet<String>,
    told_stalled: HashSet<String>,
}

impl Checker {
    /// One check of `stream`: warns about what is new since the last.
    pub async fn check(&mut self, js: &Context, stream: &str) -> anyhow::Result<Found> {
        let s = js.get_stream(stream).await.map_err(|e| anyhow::anyhow!("stream {stream}: {e}"))?;
        let mut subjects = Vec::new();
        let mut listed = s.info_with_subjects(">").await.map_err(|e| anyhow::anyhow!("stream {stream}: {e}"))?;
        while let Some(x) = listed.next().await {
            let (subject, n) = x.map_err(|e| anyhow::anyhow!("stream {stream}: {e}"))?;
            subjects.push((subject, n as u64));
            if subjects.len() >= MAX_SUBJECTS {
                tracing::info!(stream, "partition check: only the first {MAX_SUBJECTS} subjects looked at");
                break;
            }
        }
        let mut filters = Vec::new();
        let mut consumers = s.consumers();
        let mut seen = HashMap::new();
        let mut found = Found::default();
        while let Some(c) = consumers.next().await {
            let c = c.map_err(|e| anyhow::anyhow!("stream {stream}: consumers: {e}"))?;
            if c.config.filter_subjects.is_empty() {
                filters.push(c.config.filter_subject.clone());
            } else {
                filters.extend(c.config.filter_subjects.iter().cloned());
            }
            let at = (c.delivered.stream_sequence, c.ack_floor.stream_sequence);
            // Messages waiting (new or unacknowledged), nobody pulling, and
            // none delivered or acknowledged since last time. (A live
            // process holds a pull request open, and acknowledges as it
            // commits.)
            let waiting = c.num_pending + c.num_ack_pending as u64;
            if waiting > 0 && c.num_waiting == 0 && self.seen.get(&c.name) == Some(&at) {
                found.stalled.push((c.name.clone(), waiting));
            }
            seen.insert(c.name, at);
        }
        self.seen = seen;
        found.uncovered =
            subjects.into_iter().filter(|(subject, _)| !filters.iter().any(|f| subject_matches(f, subject))).collect();
        found.uncovered.sort();
        found.stalled.sort();
        self.tell(stream, &found);
        Ok(found)
    }

    fn tell(&mut self, stream: &str, found: &Found) {
        let now: HashSet<String> = found.uncovered.iter().map(|(s, _)| s.clone()).collect();
        let new: Vec<String> = found
            .uncovered
            .iter()
            .filter(|(s, _)| !self.told_uncovered.contains(s))
            .map(|(s, n)| format!("{s} ({n} messages)"))
            .collect();
        if !new.is_empty() {
            tracing::warn!(
                stream,
                subjects = %new.join(", "),
                "no consumer takes these subjects: their events are never analysed; start an analytics process whose --subject takes them (docs/CONFIG.md, partitions)"
            );
        }
        self.told_uncovered = now;
        let now: HashSet<String> = found.stalled.iter().map(|(c, _)| c.clone()).collect();
        for (c, n) in &found.stalled {
            if !self.told_stalled.contains(c) {
                tracing::warn!(
                    stream,
                    consumer = %c,
                    pending = n,
                    "consumer not read since the last check, with messages waiting: is its analytics process running (or stuck)?"
                );
            }
        }
        self.told_stalled = now;
    }
}

/// Checks `streams` after `first`, then every `every`, until the task is
/// dropped; the findings as gauges on `metrics` (when served).
pub async fn watch(
    js: Context,
    streams: Vec<String>,
    first: Duration,
    every: Duration,
    metrics: Option<Arc<crate::metrics::Metrics>>,
) {
    let mut checkers: Vec<Checker> = streams.iter().map(|_| Checker::default()).collect();
    tokio::time::sleep(first).await;
    loop {
        let (mut uncovered, mut stalled, mut failed) = (0, 0, false);
        for (stream, checker) in streams.iter().zip(&mut checkers) {
            match checker.check(&js, stream).await {
                Ok(f) => {
                    uncovered += f.uncovered.len();
                    stalled += f.stalled.len();
                }
                Err(e) => {
                    // E.g. no permission to list consumers: said at every
                    // check, and the gauges keep their last values.
                    tracing::warn!(error = %e, "partition check failed");
                    failed = true;
                }
            }
        }
        if let Some(m) = metrics.as_ref().filter(|_| !failed) {
            let mut v = Vec::new();
            let mut s = crate::metrics::Samples { out: &mut v, labels: Vec::new() };
            s.gauge(
                "sdn_analytics_uncovered_subjects",
                "Subjects with messages that no consumer takes (at the last partition check).",
                uncovered as f64,
            );
            s.gauge(
                "sdn_analytics_stalled_consumers",
                "Consumers with messages waiting, unread between the last two partition checks.",
                stalled as f64,
            );
            m.publish("analytics_coverage", v);
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn filters_match_as_nats_does() {
        let yes = [
            ("sdn.events.0.>", "sdn.events.0.intel.packet"),
            ("sdn.events.>", "sdn.events.1.intel.dns"),
            ("sdn.events.*.intel.*", "sdn.events.2.intel.dns"),
            ("sdn.sightings.1", "sdn.sightings.1"),
            ("", "anything.at.all"),
            (">", "a"),
        ];
        let no = [
            ("sdn.events.0.>", "sdn.events.1.intel.packet"),
            ("sdn.events.0.>", "sdn.events.0"),
            ("sdn.events.*", "sdn.events.0.intel"),
            ("sdn.sightings.1", "sdn.sightings.10"),
            ("sdn.sightings.1.x", "sdn.sightings.1"),
            ("a.b", "a"),
        ];
        for (f, s) in yes {
            assert!(subject_matches(f, s), "{f} should take {s}");
        }
        for (f, s) in no {
            assert!(!subject_matches(f, s), "{f} should not take {s}");
        }
    }
}
