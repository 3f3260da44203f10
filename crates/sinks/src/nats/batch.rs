//! Several events to one message: a NATS message costs the server and each
//! consumer about the same whatever it holds (a consumer here reads
//! ~250k messages a second, BENCHMARKS.md), so a sensor that publishes
//! more than that sends its events in batches.
//!
//! A batch holds events of one subject (so partitions and consumers'
//! filters work as before), as JSON lines: the events joined by `\n`.
//! It is sent when it holds `max_events`, when the next event would take
//! it past [`MAX_BYTES`] (or the server's `max_payload`, if smaller), or
//! [`LINGER`] after its first event, whichever comes first. A batch of one
//! keeps its event's id as message id; a larger one's is
//! `batch:FIRST..LAST:N:HASH` (first and last event ids, events, a hash of
//! the body), the same whenever the batch is sent again (the spool keeps
//! it byte for byte), so JetStream's duplicate window still drops a re-sent
//! copy, and two batches with the same ends but other events in between
//! are not taken for each other.

use super::spool::Record;
use events::hash::fnv1a;
use std::collections::HashMap;
use tokio::time::{Duration, Instant};

/// The most a batch's body holds (the server's default `max_payload` is
/// 1 MiB); an event larger than this is a batch of its own.
pub const MAX_BYTES: usize = 512 * 1024;
/// How long an event may wait for others.
pub const LINGER: Duration = Duration::from_millis(5);

struct Open {
    first_id: String,
    last_id: String,
    body: Vec<u8>,
    events: u64,
    since: Instant,
}

impl Open {
    fn into_record(self, subject: String) -> Record {
        let id = if self.events == 1 {
            self.first_id
        } else {
            format!("batch:{}..{}:{}:{:016x}", self.first_id, self.last_id, self.events, fnv1a(&self.body))
        };
        Record { id, subject, body: self.body }
    }
}

/// The open batches, one per subject.
pub struct Batcher {
    max_events: u64,
    max_bytes: usize,
    open: HashMap<String, Open>,
}

impl Batcher {
    pub fn new(max_events: usize) -> Self {
        Batcher { max_events: max_events.max(1) as u64, max_bytes: MAX_BYTES, open: HashMap::new() }
    }

    /// The server takes messages up to `bytes` (later batches stay within).
    pub fn limit_bytes(&mut self, bytes: usize) {
        self.max_bytes = bytes.clamp(1, MAX_BYTES);
    }

    /// Adds an event's record; returns the batches it completes (the one
    /// it closes by size, before or with it).
    pub fn add(&mut self, rec: Record, now: Instant) -> Vec<Record> {
        let mut done = Vec::new();
        if let Some(o) = self.open.get(&rec.subject)
            && o.body.len() + 1 + rec.body.len() > self.max_bytes
            && let Some(o) = self.open.remove(&rec.subject)
        {
            done.push(o.into_record(rec.subject.clone()));
        }
        let o = self.open.entry(rec.subject.clone()).or_insert_with(|| Open {
            first_id: rec.id.clone(),
            last_id: String::new(),
            body: Vec::with_capacity(rec.body.len() * 8),
            events: 0,
            since: now,
        });
        if o.events > 0 {
            o.body.push(b'\n');
        }
        o.body.extend_from_slice(&rec.body);
        o.last_id = rec.id;
        o.events += 1;
        if o.events >= self.max_events
            && let Some(o) = self.open.remove(&rec.subject)
        {
            done.push(o.into_record(rec.subject));
        }
        done
    }

    /// When the oldest open batch is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.open.values().map(|o| o.since + LINGER).min()
    }

    /// The batches due at `now`, oldest first, at most `max`.
    pub fn due(&mut self, now: Instant, max: usize) -> Vec<Record> {
        let mut due: Vec<(Instant, String)> =
            self.open.iter().filter(|(_, o)| o.since + LINGER <= now).map(|(s, o)| (o.since, s.clone())).collect();
        due.sort();
        due.truncate(max);
        due.into_iter().filter_map(|(_, s)| self.open.remove(&s).map(|o| o.into_record(s))).collect()
    }

    /// Every open batch, oldest first (the worker stops): all are due a
    /// linger from now.
    pub fn take_all(&mut self) -> Vec<Record> {
        self.due(Instant::now() + LINGER, usize::MAX)
    }
}

/// Events in a record: a batch's count, which its id carries
/// (`batch:FIRST..LAST:N:HASH`), or 1 (an event's own id, even of a sensor
/// named `batch`).
pub fn events_in(rec: &Record) -> u64 {
    let n = rec.id.strip_prefix("batch:").and_then(|id| id.rsplit(':').nth(1)?.parse().ok());
    n.unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, subject: &str, body: &str) -> Record {
        Record { id: id.into(), subject: subject.into(), body: body.as_bytes().to_vec() }
    }

    #[test]
    fn batches_close_by_count_by_size_and_by_time() {
        let t0 = Instant::now();
        let mut b = Batcher::new(3);
        assert!(b.add(rec("s:1", "a", "{1}"), t0).is_empty());
        assert!(b.add(rec("s:2", "b", "{2}"), t0).is_empty());
        assert!(b.add(rec("s:3", "a", "{3}"), t0).is_empty());
        let done = b.add(rec("s:4", "a", "{4}"), t0);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].subject, "a");
        assert!(done[0].id.starts_with("batch:s:1..s:4:3:"), "{}", done[0].id);
        assert_eq!(done[0].body, b"{1}\n{3}\n{4}");
        assert_eq!(events_in(&done[0]), 3);
        // Subject b is due after the linger; a lone event keeps its own id.
        assert_eq!(b.next_due(), Some(t0 + LINGER));
        assert!(b.due(t0 + LINGER / 2, 8).is_empty());
        let due = b.due(t0 + LINGER, 8);
        assert_eq!((due.len(), due[0].id.as_str(), events_in(&due[0])), (1, "s:2", 1));
        assert_eq!(events_in(&rec("batch:00000000000000a1", "a", "{}")), 1);
        assert_eq!(b.next_due(), None);
        // By size: the event that would overflow starts the next batch.
        let big = "x".repeat(MAX_BYTES / 2);
        assert!(b.add(rec("s:5", "a", &big), t0).is_empty());
        let done = b.add(rec("s:6", "a", &big), t0);
        assert_eq!((done.len(), done[0].id.as_str()), (1, "s:5"));
        let rest = b.take_all();
        assert_eq!((rest.len(), rest[0].id.as_str()), (1, "s:6"));
        // The same ends, other events between: other ids.
        let mut c = Batcher::new(3);
        let one =
            [c.add(rec("s:1", "a", "{1}"), t0), c.add(rec("s:2", "a", "{2}"), t0), c.add(rec("s:3", "a", "{3}"), t0)];
        let two =
            [c.add(rec("s:1", "a", "{1}"), t0), c.add(rec("s:x", "a", "{x}"), t0), c.add(rec("s:3", "a", "{3}"), t0)];
        assert_ne!(one[2][0].id, two[2][0].id);
        // A smaller max_payload closes batches sooner; due() gives at most
        // what the window has room for.
        c.limit_bytes(8);
        for i in 0..3 {
            c.add(rec(&format!("s:{i}"), &format!("subject{i}"), "{1234}"), t0);
        }
        assert_eq!(c.due(t0 + LINGER, 2).len(), 2);
        assert_eq!(c.due(t0 + LINGER, 2).len(), 1);
        assert!(c.add(rec("s:8", "a", "{1234}"), t0).is_empty());
        assert_eq!(c.add(rec("s:9", "a", "{1234}"), t0).len(), 1, "7 + 1 + 6 bytes > 8");
        // One event a message: every record passes through as it is.
        let mut one = Batcher::new(1);
        let done = one.add(rec("s:7", "a", "{7}"), t0);
        assert_eq!((done[0].id.as_str(), done[0].body.as_slice()), ("s:7", b"{7}".as_slice()));
    }
}
