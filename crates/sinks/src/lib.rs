//! Sinks: where encoded events go. Each sink is a component with its own
//! bounded queue, its own thread and its own counters (Vector's shape): the
//! producer never blocks, and what does not fit is counted, never lost
//! silently.
//!
//! One event is encoded once (`Encoded`) and shared by every sink through
//! an `Arc`.

pub mod jsonl;
pub mod nanomsg;
pub mod nats;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// One event, encoded once for every sink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoded {
    /// The event's unique id (`sensor:counter`): NATS uses it as the
    /// message id, so JetStream drops a republished duplicate.
    pub id: String,
    /// `intel`, `rule`, `warning`, `summary`, `incident`.
    pub kind: &'static str,
    /// `packet`, `dns`, `syslog`, ... (DESIGN §4).
    pub input: &'static str,
    /// The JSON object, without a trailing newline.
    pub json: Vec<u8>,
    /// A stable hash of the host the event is about (the analytics' key),
    /// for partitioned NATS subjects (`{partition}`); 0 when unknown.
    pub key: u64,
    /// A stable hash of the indicator of an `intel` event (the key of the
    /// multi-sensor correlation), for sinks partitioned by indicator; 0
    /// for other events.
    pub indicator_key: u64,
}

/// Counters every sink has. Sinks add their own beside these.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Accepted into the queue.
    pub queued: AtomicU64,
    /// Dropped because the queue was full.
    pub queue_full: AtomicU64,
    /// Delivered (written, sent, acknowledged).
    pub delivered: AtomicU64,
    /// Given up after errors (counted per event).
    pub failed: AtomicU64,
    /// Errors seen (a write that failed, a reconnect), whether or not the
    /// event was later delivered.
    pub errors: AtomicU64,
    /// Set by `Sink::close`: a worker blocked on a destination (with the
    /// queue still full, so it cannot see the queue close) gives up.
    pub closing: std::sync::atomic::AtomicBool,
}

impl SinkStats {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

/// Counters of one kind of sink beyond `SinkStats` (reconnects, spooled
/// events, rotated files, ...), as (name, value) pairs for /metrics: names
/// are snake_case and end in `_total` for counters.
pub trait ExtraCounters: Send + Sync {
    fn counters(&self) -> Vec<(&'static str, u64)>;
}

/// A sink's worker: runs on its own thread until the queue is closed and
/// drained, then flushes and returns.
pub trait SinkWorker: Send + 'static {
    /// Takes events from `rx` until it is disconnected and empty. Must not
    /// return earlier (a failing destination counts and drops or spools
    /// events instead). Must flush what it holds before returning.
    fn run(self: Box<Self>, rx: Receiver<Arc<Encoded>>, stats: Arc<SinkStats>);
}

/// A running sink: the producer's end of its queue.
pub struct Sink {
    name: String,
    tx: Option<Sender<Arc<Encoded>>>,
    stats: Arc<SinkStats>,
    extra: Option<Arc<dyn ExtraCounters>>,
    thread: Option<JoinHandle<()>>,
    wants_key: bool,
    indicator_only: bool,
}

impl Sink {
    /// Starts `worker` on a thread named `sink-NAME` behind a queue of
    /// `capacity` events.
    pub fn spawn(name: &str, capacity: usize, worker: Box<dyn SinkWorker>) -> std::io::Result<Sink> {
        Self::spawn_with_stats(name, capacity, worker, Arc::new(SinkStats::default()))
    }

    /// As `spawn`, with counters the caller already holds (a worker that
    /// wants them too takes a clone before).
    pub fn spawn_with_stats(
        name: &str,
        capacity: usize,
        worker: Box<dyn SinkWorker>,
        stats: Arc<SinkStats>,
    ) -> std::io::Result<Sink> {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        let s = Arc::clone(&stats);
        let thread = std::thread::Builder::new().name(format!("sink-{name}")).spawn(move || worker.run(rx, s))?;
        Ok(Sink {
            name: name.to_string(),
            tx: Some(tx),
            stats,
            extra: None,
            thread: Some(thread),
            wants_key: false,
            indicator_only: false,
        })
    }

    /// Attaches the sink-specific counters shown beside the common ones.
    pub fn with_extra(mut self, extra: Arc<dyn ExtraCounters>) -> Sink {
        self.extra = Some(extra);
        self
    }

    pub fn extra_counters(&self) -> Vec<(&'static str, u64)> {
        self.extra.as_ref().map_or_else(Vec::new, |e| e.counters())
    }

    /// Marks the sink as one that partitions by `Encoded::key` (producers
    /// compute the key only when some sink wants it).
    pub fn with_key(mut self) -> Sink {
        self.wants_key = true;
        self
    }

    pub fn wants_key(&self) -> bool {
        self.wants_key
    }

    /// Marks the sink as one that takes only events with an
    /// `indicator_key` (the others are not its business: `send` passes
    /// them by without counting). Implies `with_key`.
    pub fn indicator_events_only(mut self) -> Sink {
        self.wants_key = true;
        self.indicator_only = true;
        self
    }

    /// Whether the sink takes `event` at all (`send` passes by the others
    /// and says true).
    pub fn takes(&self, event: &Encoded) -> bool {
        !self.indicator_only || event.indicator_key != 0
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues one event; never blocks. Returns false (and counts) when the
    /// queue is full.
    pub fn send(&self, event: &Arc<Encoded>) -> bool {
        let Some(tx) = &self.tx else { return false };
        if !self.takes(event) {
            return true;
        }
        match tx.try_send(Arc::clone(event)) {
            Ok(()) => {
                SinkStats::add(&self.stats.queued, 1);
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                SinkStats::add(&self.stats.queue_full, 1);
                false
            }
        }
    }

    /// Queues one event, waiting up to `timeout` for room (a stage that
    /// must not outrun its sinks: offline input, the analytics stage).
    /// Returns false (and counts) when there was none.
    pub fn send_wait(&self, event: &Arc<Encoded>, timeout: Duration) -> bool {
        let Some(tx) = &self.tx else { return false };
        if !self.takes(event) {
            return true;
        }
        match tx.send_timeout(Arc::clone(event), timeout) {
            Ok(()) => {
                SinkStats::add(&self.stats.queued, 1);
                true
            }
            Err(_) => {
                SinkStats::add(&self.stats.queue_full, 1);
                false
            }
        }
    }

    /// Events waiting in the queue.
    pub fn depth(&self) -> usize {
        self.tx.as_ref().map_or(0, |t| t.len())
    }

    pub fn stats(&self) -> &Arc<SinkStats> {
        &self.stats
    }

    /// Closes the queue and waits (at most `timeout`) for the worker to
    /// drain and flush it. Returns whether it finished in time.
    pub fn close(&mut self, timeout: Duration) -> bool {
        self.begin_close();
        self.wait_closed(std::time::Instant::now() + timeout)
    }

    /// Closes the queue: the worker drains what is queued, flushes and
    /// returns. Several sinks closed together drain at the same time.
    pub fn begin_close(&mut self) {
        self.stats.closing.store(true, Ordering::Release);
        self.tx = None;
    }

    /// Waits until `deadline` for the worker to finish; false when it did
    /// not (its thread is left to finish on its own).
    pub fn wait_closed(&mut self, deadline: std::time::Instant) -> bool {
        let Some(t) = self.thread.take() else { return true };
        while !t.is_finished() {
            if std::time::Instant::now() >= deadline {
                self.thread = Some(t);
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        t.join().is_ok()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.close(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes events until the queue closes, and forgets them.
    struct Discard;

    impl SinkWorker for Discard {
        fn run(self: Box<Self>, rx: Receiver<Arc<Encoded>>, _stats: Arc<SinkStats>) {
            while rx.recv().is_ok() {}
        }
    }

    #[test]
    fn an_indicator_sink_passes_other_events_by() {
        let mut sink = Sink::spawn("s", 4, Box::new(Discard)).unwrap().indicator_events_only();
        assert!(sink.wants_key());
        let rule = Arc::new(Encoded { id: "s:1".into(), kind: "rule", ..Encoded::default() });
        let intel = Arc::new(Encoded { id: "s:2".into(), kind: "intel", indicator_key: 9, ..Encoded::default() });
        assert!(!sink.takes(&rule) && sink.takes(&intel));
        // Passed by: not queued, not dropped.
        assert!(sink.send(&rule) && sink.send_wait(&rule, Duration::from_millis(1)));
        assert!(sink.send(&intel));
        assert_eq!((SinkStats::get(&sink.stats().queued), SinkStats::get(&sink.stats().queue_full)), (1, 0));
        assert!(sink.close(Duration::from_secs(5)));
        let plain = Sink::spawn("p", 4, Box::new(Discard)).unwrap();
        assert!(plain.takes(&rule) && !plain.wants_key());
    }
}
