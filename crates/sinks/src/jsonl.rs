//! JSON Lines files with rotation by size and age, and stdout.
//!
//! A rotated file is renamed `NAME.YYYYMMDDTHHMMSSZ` (a number is added when
//! two rotations fall in one second); the newest `keep` are kept. Events
//! reach the file within `FLUSH_EVERY` even when traffic is slow.

use crate::{Encoded, ExtraCounters, Sink, SinkStats, SinkWorker};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Events written between looks at the clock and the queue.
const BATCH: usize = 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fsync {
    /// Leave it to the kernel.
    #[default]
    Never,
    /// When a file is rotated or closed.
    Rotate,
    /// After every batch.
    Always,
}

#[derive(Debug, Clone, Default)]
pub struct JsonlConfig {
    /// None: stdout (no rotation).
    pub path: Option<PathBuf>,
    pub rotate_size: Option<u64>,
    pub rotate_interval: Option<Duration>,
    /// Rotated files kept; 0 keeps all.
    pub keep: usize,
    pub fsync: Fsync,
}

#[derive(Debug, Default)]
pub struct JsonlStats {
    pub bytes: AtomicU64,
    pub rotations: AtomicU64,
    pub removed: AtomicU64,
}

impl ExtraCounters for JsonlStats {
    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("bytes_total", SinkStats::get(&self.bytes)),
            ("rotations_total", SinkStats::get(&self.rotations)),
            ("rotated_files_removed_total", SinkStats::get(&self.removed)),
        ]
    }
}

/// Opens the file (append; created when missing) before the thread starts,
/// so a path that cannot be written is an error at start-up.
pub fn spawn(name: &str, capacity: usize, cfg: JsonlConfig) -> io::Result<Sink> {
    let out = match &cfg.path {
        Some(p) => Output::File(open(p)?),
        None => Output::Stdout(BufWriter::with_capacity(1 << 16, io::stdout())),
    };
    let stats = Arc::new(JsonlStats::default());
    let worker = JsonlWorker {
        cfg,
        out: Some(out),
        opened: Instant::now(),
        size: 0,
        stats: Arc::clone(&stats),
        rotate_retry: None,
    };
    Ok(Sink::spawn(name, capacity, Box::new(worker))?.with_extra(stats))
}

struct Opened {
    w: BufWriter<File>,
}

fn open(path: &Path) -> io::Result<Opened> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: cannot open for writing: {e}", path.display())))?;
    // A line torn by a failed write (or a crash) is ended, so the next
    // event starts a line of its own.
    let len = f.metadata()?.len();
    if len > 0 {
        use std::io::{Read, Seek, SeekFrom};
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            f.write_all(b"\n")?;
        }
    }
    Ok(Opened { w: BufWriter::with_capacity(1 << 16, f) })
}

enum Output {
    File(Opened),
    Stdout(BufWriter<io::Stdout>),
}

impl Output {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::File(o) => &mut o.w,
            Output::Stdout(w) => w,
        }
    }
}

struct JsonlWorker {
    cfg: JsonlConfig,
    /// None after a failed reopen (retried on the next batch).
    out: Option<Output>,
    opened: Instant,
    size: u64,
    stats: Arc<JsonlStats>,
    /// After a failed rename, rotation waits until then (not every pass).
    rotate_retry: Option<Instant>,
}

impl SinkWorker for JsonlWorker {
    fn run(mut self: Box<Self>, rx: Receiver<Arc<Encoded>>, stats: Arc<SinkStats>) {
        if let (Some(Output::File(o)), Some(_)) = (&self.out, &self.cfg.path) {
            self.size = o.w.get_ref().metadata().map_or(0, |m| m.len());
        }
        let mut batch: Vec<Arc<Encoded>> = Vec::with_capacity(BATCH);
        let mut last_flush = Instant::now();
        loop {
            let closed = match rx.recv_timeout(FLUSH_EVERY) {
                Ok(e) => {
                    batch.push(e);
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(e) => batch.push(e),
                            Err(_) => break,
                        }
                    }
                    false
                }
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            if !batch.is_empty() {
                self.write_batch(&batch, &stats);
                batch.clear();
            }
            if closed || last_flush.elapsed() >= FLUSH_EVERY {
                self.flush(&stats, closed);
                last_flush = Instant::now();
            }
            if closed {
                return;
            }
            self.maybe_rotate(&stats);
        }
    }
}

impl JsonlWorker {
    fn write_batch(&mut self, batch: &[Arc<Encoded>], stats: &SinkStats) {
        if self.out.is_none() {
            self.reopen(stats);
        }
        let Some(out) = self.out.as_mut() else {
            SinkStats::add(&stats.failed, batch.len() as u64);
            return;
        };
        // A batch counts as delivered once it is flushed to the file (the
        // buffer is empty between batches), so an error loses no event
        // counted as written.
        let w = out.writer();
        let mut bytes = 0u64;
        let mut result = Ok(());
        for e in batch {
            result = w.write_all(&e.json).and_then(|()| w.write_all(b"\n"));
            if result.is_err() {
                break;
            }
            bytes += e.json.len() as u64 + 1;
        }
        let result = result.and_then(|()| w.flush()).and_then(|()| match out {
            Output::File(o) if self.cfg.fsync == Fsync::Always => o.w.get_ref().sync_data(),
            _ => Ok(()),
        });
        match result {
            Ok(()) => {
                self.size += bytes;
                SinkStats::add(&self.stats.bytes, bytes);
                SinkStats::add(&stats.delivered, batch.len() as u64);
            }
            Err(err) => {
                // Part of the batch may be in the file: the file is reopened
                // on the next batch (a full disk may clear, a deleted
                // directory come back) and a torn last line is ended first.
                SinkStats::add(&stats.errors, 1);
                SinkStats::add(&stats.failed, batch.len() as u64);
                eprintln!("sink jsonl: write failed: {err}");
                self.out = None;
            }
        }
    }

    /// Flushes the buffer, and syncs the file when `sync` (and the policy
    /// asks for it at this point).
    fn flush(&mut self, stats: &SinkStats, sync: bool) {
        let Some(out) = self.out.as_mut() else { return };
        let r = match out {
            Output::Stdout(w) => w.flush(),
            Output::File(o) => o
                .w
                .flush()
                .and_then(|()| if sync && self.cfg.fsync != Fsync::Never { o.w.get_ref().sync_data() } else { Ok(()) }),
        };
        if r.is_err() {
            SinkStats::add(&stats.errors, 1);
        }
    }

    fn due(&mut self) -> bool {
        if self.rotate_retry.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        if let Some(d) = self.cfg.rotate_interval
            && self.opened.elapsed() >= d
        {
            if self.size == 0 {
                // Nothing to rotate: the interval starts again.
                self.opened = Instant::now();
            } else {
                return true;
            }
        }
        self.cfg.rotate_size.is_some_and(|s| self.size >= s)
    }

    fn maybe_rotate(&mut self, stats: &SinkStats) {
        let Some(path) = self.cfg.path.clone() else { return };
        if !self.due() {
            return;
        }
        self.flush(stats, true);
        self.out = None; // closes the file
        let target = rotated_name(&path, SystemTime::now());
        if let Err(e) = std::fs::rename(&path, &target) {
            SinkStats::add(&stats.errors, 1);
            eprintln!(
                "sink jsonl: cannot rotate {} to {}: {e} (retrying in a minute)",
                path.display(),
                target.display()
            );
            self.rotate_retry = Some(Instant::now() + Duration::from_secs(60));
        } else {
            self.rotate_retry = None;
            SinkStats::add(&self.stats.rotations, 1);
            self.remove_old(&path);
        }
        self.reopen(stats);
    }

    fn reopen(&mut self, stats: &SinkStats) {
        let Some(path) = &self.cfg.path else { return };
        match open(path) {
            Ok(o) => {
                self.size = o.w.get_ref().metadata().map_or(0, |m| m.len());
                self.out = Some(Output::File(o));
                self.opened = Instant::now();
            }
            Err(e) => {
                SinkStats::add(&stats.errors, 1);
                eprintln!("sink jsonl: {e}");
            }
        }
    }

    /// Keeps the newest `keep` rotated files of `path`.
    fn remove_old(&self, path: &Path) {
        if self.cfg.keep == 0 {
            return;
        }
        let mut rotated = rotated_files(path);
        rotated.sort();
        let excess = rotated.len().saturating_sub(self.cfg.keep);
        for old in &rotated[..excess] {
            if std::fs::remove_file(old).is_ok() {
                SinkStats::add(&self.stats.removed, 1);
            }
        }
    }
}

/// `NAME.YYYYMMDDTHHMMSSZ`, or `...Z.NNN` past the highest number already
/// used in that second (never a number freed by `keep`): names sort in
/// rotation order.
fn rotated_name(path: &Path, now: SystemTime) -> PathBuf {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let ts = events::Timestamp { secs, nanos: 0, nanos_precision: false }.to_string();
    // 2026-11-29T14:30:00.000000Z -> 20261129T143000Z
    let compact: String = ts[..19].chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>() + "Z";
    let base = format!("{}.{compact}", path.display());
    let used: Vec<Option<u32>> = rotated_files(path)
        .iter()
        .filter_map(|p| p.to_str()?.strip_prefix(&base).map(|rest| rest.strip_prefix('.').and_then(|n| n.parse().ok())))
        .collect();
    match used.iter().map(|n| n.unwrap_or(0)).max() {
        None => PathBuf::from(base),
        Some(n) => PathBuf::from(format!("{base}.{:03}", n + 1)),
    }
}

/// The rotated files of `path`, in no order.
pub fn rotated_files(path: &Path) -> Vec<PathBuf> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return Vec::new() };
    let prefix = format!("{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name().to_str().is_some_and(|n| {
                n.strip_prefix(&prefix).is_some_and(|rest| rest.len() >= 16 && rest.as_bytes()[8] == b'T')
            })
        })
        .map(|e| dir.join(e.file_name()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: u64) -> Arc<Encoded> {
        Arc::new(Encoded {
            id: format!("t:{i}"),
            kind: "intel",
            input: "packet",
            json: format!("{{\"id\":\"t:{i}\",\"pad\":\"{}\"}}", "x".repeat(100)).into_bytes(),
            key: 0,
            indicator_key: 0,
        })
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sdn-jsonl-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn lines(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p).unwrap().lines().map(str::to_string).collect()
    }

    #[test]
    fn writes_every_event_in_order() {
        let d = temp_dir("order");
        let path = d.join("events.jsonl");
        let mut s = spawn("t", 100_000, JsonlConfig { path: Some(path.clone()), ..Default::default() }).unwrap();
        for i in 0..5000 {
            assert!(s.send(&event(i)));
        }
        assert!(s.close(Duration::from_secs(10)));
        let got = lines(&path);
        assert_eq!(got.len(), 5000);
        for (i, l) in got.iter().enumerate() {
            assert!(l.starts_with(&format!("{{\"id\":\"t:{i}\"")), "{l}");
        }
        assert_eq!(SinkStats::get(&s.stats().delivered), 5000);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn rotates_by_size_and_keeps_the_newest() {
        let d = temp_dir("rotate");
        let path = d.join("events.jsonl");
        let cfg = JsonlConfig {
            path: Some(path.clone()),
            rotate_size: Some(20_000),
            keep: 3,
            fsync: Fsync::Rotate,
            ..Default::default()
        };
        let mut s = spawn("t", 100_000, cfg).unwrap();
        // ~120 bytes an event: 2000 events are ~240 kB, ~12 rotations
        // (rotation is checked between batches, so sizes are approximate).
        for i in 0..2000 {
            assert!(s.send(&event(i)));
            if i % 100 == 99 {
                // Let the worker take small batches.
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        assert!(s.close(Duration::from_secs(10)));
        let rotated = rotated_files(&path);
        let extra: std::collections::HashMap<_, _> = s.extra_counters().into_iter().collect();
        assert!(extra["rotations_total"] >= 4, "{extra:?}");
        assert_eq!(rotated.len(), 3, "{rotated:?}");
        assert_eq!(extra["rotated_files_removed_total"], extra["rotations_total"] - 3);
        // The kept files and the current one hold the newest events, in
        // order, without gaps.
        let mut files = rotated.clone();
        files.sort();
        files.push(path.clone());
        let ids: Vec<u64> =
            files.iter().flat_map(|f| lines(f)).map(|l| l[9..l.find("\",").unwrap()].parse().unwrap()).collect();
        assert_eq!(*ids.last().unwrap(), 1999);
        assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_torn_last_line_is_ended_before_new_events() {
        let d = temp_dir("torn");
        let path = d.join("events.jsonl");
        std::fs::write(&path, "{\"old\":1}\n{\"torn\":").unwrap();
        let mut s = spawn("t", 10, JsonlConfig { path: Some(path.clone()), ..Default::default() }).unwrap();
        s.send(&event(7));
        s.close(Duration::from_secs(5));
        let got = lines(&path);
        assert_eq!(got.len(), 3);
        assert!(got[2].starts_with("{\"id\":\"t:7\""), "{got:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn appends_to_an_existing_file() {
        let d = temp_dir("append");
        let path = d.join("events.jsonl");
        std::fs::write(&path, "{\"old\":1}\n").unwrap();
        let mut s = spawn("t", 10, JsonlConfig { path: Some(path.clone()), ..Default::default() }).unwrap();
        s.send(&event(0));
        s.close(Duration::from_secs(5));
        assert_eq!(lines(&path).len(), 2);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn an_unwritable_path_is_an_error_at_start() {
        let e = spawn("t", 10, JsonlConfig { path: Some("/nonexistent/dir/x.jsonl".into()), ..Default::default() })
            .err()
            .unwrap();
        assert!(e.to_string().contains("/nonexistent/dir/x.jsonl"), "{e}");
    }

    #[test]
    fn rotated_names_sort_by_time() {
        let p = Path::new("/tmp/e.jsonl");
        let a = rotated_name(p, UNIX_EPOCH + Duration::from_secs(1_790_000_000));
        assert_eq!(a, PathBuf::from("/tmp/e.jsonl.20260921T141320Z"));
    }
}
