//! The store's own thread. The analytics stage hands it batches of lines
//! through a bounded queue, so SQLite's pace (tens of thousands of lines a
//! second with its indexes, see BENCHMARKS.md) does not set the stage's,
//! and with it every sink's.
//!
//! A live stage (`run`) never waits for the store: when the queue is full
//! the batch is dropped and counted (`dropped`), as a sink drops at its own
//! queue. A stage that must not lose lines (`replay`, and the JetStream
//! consumer, which acknowledges only what is committed) waits instead.
//!
//! A failed write or commit rolls back what the open group held; the thread
//! keeps those lines and writes them again with the next batch, up to
//! [`UNSAVED_MAX`]; older ones are given up and counted (`lost`), as are
//! lines still unwritten at the end.

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Duration;

/// Lines kept for a retry while the store fails: five group commits.
pub const UNSAVED_MAX: usize = 100_000;
/// Lines per group commit (or one second, whichever comes first).
const GROUP_COMMIT: u64 = 20_000;
/// Batches the queue holds (of up to 1000 lines each).
const QUEUE_BATCHES: usize = 16;
/// An idle queue commits what waits after this long (readers see it).
const IDLE_COMMIT: Duration = Duration::from_millis(500);

/// What the thread has done, for `/metrics`.
#[derive(Default)]
pub struct StoreStats {
    /// Failed writes and commits (each retried with the next batch).
    pub errors: AtomicU64,
    /// Lines given up after failed writes.
    pub lost: AtomicU64,
    /// Lines dropped at the full queue (a live stage only).
    pub dropped: AtomicU64,
}

enum Msg {
    Lines(Vec<Vec<u8>>),
    /// Commit, and answer whether everything written so far is committed.
    Commit(Sender<bool>),
    Retention(i64),
    /// Tests: caps the database at its size (writes fail) or lifts the cap.
    #[cfg(test)]
    Cap(bool, Sender<()>),
    /// Tests: the thread waits until the sender is dropped.
    #[cfg(test)]
    Hold(Receiver<()>),
}

/// The handle the stage holds; dropping it commits and joins the thread.
pub struct StoreWriter {
    tx: Option<Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<StoreStats>,
    /// Drop a batch at a full queue instead of waiting.
    lossy: bool,
}

impl StoreWriter {
    pub fn spawn(mut store: store::Store) -> StoreWriter {
        // Several batches share one transaction: SQLite rewrites every
        // index page a commit touched, so fewer commits go much faster.
        store.set_group_commit(GROUP_COMMIT, Duration::from_secs(1));
        let (tx, rx) = bounded(QUEUE_BATCHES);
        let stats = Arc::new(StoreStats::default());
        let mut w = Writer { store, unsaved: Vec::new(), rewrite: false, stats: Arc::clone(&stats) };
        let thread =
            std::thread::Builder::new().name("store".into()).spawn(move || w.run(rx)).expect("spawn the store thread");
        StoreWriter { tx: Some(tx), thread: Some(thread), stats, lossy: false }
    }

    /// A live stage's: batches are dropped (counted) when the queue is full.
    pub fn set_lossy(&mut self, lossy: bool) {
        self.lossy = lossy;
    }

    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// Queues `msg`: a lossy writer gives up at a full queue (`Full`),
    /// another waits for room.
    fn offer(&self, msg: Msg) -> Result<(), TrySendError<Msg>> {
        let Some(tx) = &self.tx else { return Err(TrySendError::Disconnected(msg)) };
        if self.lossy { tx.try_send(msg) } else { tx.send(msg).map_err(|e| TrySendError::Disconnected(e.0)) }
    }

    pub fn write(&self, lines: Vec<Vec<u8>>) {
        let n = lines.len() as u64;
        match self.offer(Msg::Lines(lines)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.stats.dropped.fetch_add(n, Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.stats.lost.fetch_add(n, Relaxed);
            }
        }
    }

    /// Waits until everything handed over is written and committed. False
    /// when a write or the commit failed (the lines wait for the next try).
    pub fn commit(&self) -> bool {
        let Some(tx) = &self.tx else { return false };
        let (reply, answer) = bounded(1);
        tx.send(Msg::Commit(reply)).is_ok() && answer.recv().unwrap_or(false)
    }

    /// Applies the store's age and size bounds (in turn with the writes; a
    /// live stage skips it when the queue is full: it comes again).
    pub fn retention(&self, now_ns: i64) {
        let _ = self.offer(Msg::Retention(now_ns));
    }

    #[cfg(test)]
    fn cap(&self, capped: bool) {
        let (done, wait) = bounded(1);
        if let Some(tx) = &self.tx {
            tx.send(Msg::Cap(capped, done)).unwrap();
        }
        wait.recv().unwrap();
    }
}

impl Drop for StoreWriter {
    /// Commits (a failed write is retried once more) and joins the thread.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The thread's side: the store and what is not committed yet.
struct Writer {
    store: store::Store,
    /// Lines written since the store's last commit: a failed write or
    /// commit rolls all of them back.
    unsaved: Vec<Vec<u8>>,
    /// `unsaved` was rolled back: the next write starts with it.
    rewrite: bool,
    stats: Arc<StoreStats>,
}

impl Writer {
    fn run(&mut self, rx: Receiver<Msg>) {
        loop {
            match rx.recv_timeout(IDLE_COMMIT) {
                Ok(Msg::Lines(lines)) => self.write(lines),
                Ok(Msg::Commit(reply)) => {
                    let _ = reply.send(self.commit());
                }
                Ok(Msg::Retention(now_ns)) => self.retention(now_ns),
                #[cfg(test)]
                Ok(Msg::Cap(capped, done)) => {
                    self.store.cap_size_for_tests(capped).unwrap();
                    let _ = done.send(());
                }
                #[cfg(test)]
                Ok(Msg::Hold(until)) => {
                    let _ = until.recv();
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.commit();
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // A failed write is retried once more here, then given up.
                    if !self.commit() && !self.commit() {
                        self.stats.lost.fetch_add(self.unsaved.len() as u64, Relaxed);
                    }
                    return;
                }
            }
        }
    }

    /// Writes `lines`: after a failure, everything since the last commit
    /// first.
    fn write(&mut self, mut lines: Vec<Vec<u8>>) {
        if lines.is_empty() && !self.rewrite {
            return;
        }
        let from = if self.rewrite { 0 } else { self.unsaved.len() };
        self.unsaved.append(&mut lines);
        let batch: Vec<&[u8]> = self.unsaved[from..].iter().map(Vec::as_slice).collect();
        match self.store.insert_json(&batch) {
            Ok(_) => {
                self.rewrite = false;
                // Committed (the group was due): nothing left to retry.
                if self.store.pending() == 0 {
                    self.unsaved.clear();
                }
            }
            Err(e) => {
                self.stats.errors.fetch_add(1, Relaxed);
                self.rewrite = true;
                let over = self.unsaved.len().saturating_sub(UNSAVED_MAX);
                self.unsaved.drain(..over);
                self.stats.lost.fetch_add(over as u64, Relaxed);
                tracing::error!(error = %e, lines = self.unsaved.len(), given_up = over, "store: batch not written; writing again with the next batch");
            }
        }
    }

    /// True when everything written is committed.
    fn commit(&mut self) -> bool {
        if self.rewrite {
            self.write(Vec::new());
            if self.rewrite {
                return false;
            }
        }
        match self.store.flush() {
            Ok(()) => {
                self.unsaved.clear();
                true
            }
            Err(e) => {
                self.stats.errors.fetch_add(1, Relaxed);
                self.rewrite = true;
                tracing::error!(error = %e, lines = self.unsaved.len(), "store: commit failed; writing again with the next batch");
                false
            }
        }
    }

    fn retention(&mut self, now_ns: i64) {
        if !self.commit() {
            return;
        }
        match self.store.enforce_retention(now_ns) {
            Ok(r) => tracing::debug!(?r, "store retention"),
            Err(e) => {
                self.stats.errors.fetch_add(1, Relaxed);
                tracing::error!(error = %e, "store: retention failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store in its own directory (removed on drop).
    struct Dir(std::path::PathBuf);

    impl Dir {
        fn new(name: &str) -> (Dir, store::Store) {
            let dir = std::env::temp_dir().join(format!("sdn-store-writer-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let cfg = store::StoreConfig { path: dir.join("s.db"), max_age: None, max_bytes: None };
            let st = store::Store::open(&cfg).unwrap();
            (Dir(dir), st)
        }

        fn stored(&self) -> u64 {
            store::Query::open(&self.0.join("s.db")).unwrap().counts().unwrap().events
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn lines(n: usize) -> Vec<Vec<u8>> {
        analytics::bench::stream(n).into_iter().map(String::into_bytes).collect()
    }

    #[test]
    fn failed_writes_are_written_again() {
        let (dir, st) = Dir::new("retry");
        let w = StoreWriter::spawn(st);
        let all = lines(2500);
        w.write(all[..500].to_vec());
        assert!(w.commit());
        // The disk "fills": the next batches and the commit fail, and are
        // kept (each batch rolled back with the ones before it).
        w.cap(true);
        for b in all[500..].chunks(1000) {
            w.write(b.to_vec());
        }
        assert!(!w.commit());
        assert!(w.stats().errors.load(Relaxed) >= 2);
        assert_eq!(dir.stored(), 500);
        // Room again: everything since the last commit is written, once.
        w.cap(false);
        assert!(w.commit());
        assert_eq!(dir.stored(), 2500, "every line, and every one once");
        drop(w);
        assert_eq!(dir.stored(), 2500);
    }

    #[test]
    fn writes_given_up_at_the_end_are_counted() {
        let (dir, st) = Dir::new("lost");
        let w = StoreWriter::spawn(st);
        w.cap(true);
        w.write(lines(1500));
        let stats = Arc::clone(&w.stats);
        drop(w);
        assert_eq!(stats.lost.load(Relaxed), 1500);
        assert_eq!(dir.stored(), 0);
    }

    #[test]
    fn a_live_stage_drops_at_a_full_queue_and_counts() {
        let (dir, st) = Dir::new("lossy");
        let mut w = StoreWriter::spawn(st);
        w.set_lossy(true);
        // The thread is busy: the queue fills, then batches are dropped
        // without waiting.
        let (release, hold) = bounded::<()>(0);
        let tx = w.tx.clone().unwrap();
        tx.send(Msg::Hold(hold)).unwrap();
        while !tx.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(tx);
        let batch = lines(10);
        for _ in 0..QUEUE_BATCHES + 5 {
            w.write(batch.clone());
        }
        assert_eq!(w.stats().dropped.load(Relaxed), 50);
        drop(release);
        assert!(w.commit());
        // The same 10 ids each time: the store keeps one of each.
        assert_eq!(dir.stored(), 10);
        assert_eq!(w.stats().lost.load(Relaxed), 0);
    }
}
