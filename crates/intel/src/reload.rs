//! Hot reload: a new set is built in the background and swapped in
//! atomically. Lookups never block and never see a half-built set: readers
//! hold an `Arc` to a complete set until they ask for the next one.

use crate::feeds::{FeedError, FeedReport, LoadOptions, load_feeds};
use crate::set::IndicatorSet;
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// The current set, shared by every reader thread.
#[derive(Debug)]
pub struct SharedSet {
    current: ArcSwap<IndicatorSet>,
    generation: AtomicU64,
    status: Mutex<ReloadStatus>,
}

/// What the last load attempts did.
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    /// Generation of the set in use (1 for the first).
    pub generation: u64,
    pub loaded_at: Option<SystemTime>,
    pub reports: Vec<FeedReport>,
    /// Why the last attempt failed, if it did (the previous set stays).
    pub last_error: Option<String>,
    pub failed_attempts: u64,
}

impl SharedSet {
    pub fn new(set: IndicatorSet, reports: Vec<FeedReport>) -> Arc<Self> {
        Arc::new(SharedSet {
            current: ArcSwap::from_pointee(set),
            generation: AtomicU64::new(1),
            status: Mutex::new(ReloadStatus {
                generation: 1,
                loaded_at: Some(SystemTime::now()),
                reports,
                ..ReloadStatus::default()
            }),
        })
    }

    /// The set in use now.
    pub fn load(&self) -> Arc<IndicatorSet> {
        self.current.load_full()
    }

    /// Bumped on every swap: a reader compares it with the generation of the
    /// set it holds (one relaxed load per packet) and reloads when it moved.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Installs a new set.
    pub fn swap(&self, set: IndicatorSet, reports: Vec<FeedReport>) -> u64 {
        self.current.store(Arc::new(set));
        let g = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let mut st = self.status.lock().unwrap_or_else(|p| p.into_inner());
        st.generation = g;
        st.loaded_at = Some(SystemTime::now());
        st.reports = reports;
        st.last_error = None;
        g
    }

    fn failed(&self, e: &FeedError) {
        let mut st = self.status.lock().unwrap_or_else(|p| p.into_inner());
        st.last_error = Some(e.to_string());
        st.failed_attempts += 1;
    }

    pub fn status(&self) -> ReloadStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// What identifies a feed file's content without reading it.
fn fingerprint(paths: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    paths.iter().map(|p| std::fs::metadata(p).ok().and_then(|m| Some((m.modified().ok()?, m.len())))).collect()
}

/// Watches feed files and reloads them when they change (or when
/// [`Reloader::request`] is called, e.g. from a SIGHUP handler).
pub struct Reloader {
    stop: Arc<AtomicBool>,
    requested: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reloader {
    /// Polls `paths` every `interval`. A change is loaded once the files
    /// have stayed the same for one more interval, so a feed being written
    /// in place is not read half-way (writing a new file and renaming it
    /// over the old one is better still).
    pub fn spawn(shared: Arc<SharedSet>, paths: Vec<PathBuf>, opts: LoadOptions, interval: Duration) -> Reloader {
        let stop = Arc::new(AtomicBool::new(false));
        let requested = Arc::new(AtomicBool::new(false));
        let (stop2, req2) = (Arc::clone(&stop), Arc::clone(&requested));
        // Taken before returning, so a change made right after spawn() is seen.
        let mut loaded = fingerprint(&paths);
        let thread = std::thread::Builder::new()
            .name("intel-reload".into())
            .spawn(move || {
                let mut seen = loaded.clone();
                while !stop2.load(Ordering::Relaxed) {
                    std::thread::sleep(interval);
                    let now = fingerprint(&paths);
                    let settled = now == seen;
                    seen = now.clone();
                    let forced = req2.swap(false, Ordering::AcqRel);
                    if !(forced || (settled && now != loaded)) {
                        continue;
                    }
                    match load_feeds(&paths, opts) {
                        Ok((set, reports)) => {
                            shared.swap(set, reports);
                        }
                        Err(e) => shared.failed(&e),
                    }
                    loaded = now;
                }
            })
            .expect("spawn the intel reload thread");
        Reloader { stop, requested, thread: Some(thread) }
    }

    /// Asks for a reload at the next poll, changed or not.
    pub fn request(&self) {
        self.requested.store(true, Ordering::Release);
    }

    /// A flag a signal handler can set to request a reload.
    pub fn request_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.requested)
    }

    /// Reloads on SIGHUP (as daemons do), from now on. The handler only sets
    /// a flag; the reload thread does the work at its next poll.
    pub fn reload_on_sighup(&self) -> std::io::Result<()> {
        signal_hook::flag::register(signal_hook::consts::SIGHUP, self.request_flag()).map(|_| ())
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
