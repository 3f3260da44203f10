//! NATS JetStream: publish with acknowledgements, spool to disk while the server is away.
//!
//! Each event is published to `subject` (a template) with the header
//! `Nats-Msg-Id` = the event id, so the stream's duplicate window drops a
//! copy that is sent again; with `batch` > 1, the events of a subject go
//! several to a message (the `batch` module). Publishes are pipelined: up to
//! `max_pending_acks` wait for their PubAck at once.
//!
//! Order and delivery: events reach the stream in the order they were
//! queued (batched: in that order within each subject), at least once. When the server is away or a publish or its ack
//! fails (or takes longer than `PUBLISH_TIMEOUT`), the events whose acks
//! were outstanding and every later event go to the on-disk spool
//! ([`spool`]); while the spool holds anything, new events are appended to
//! it. Every `RETRY_INTERVAL` the worker tries to replay the spool (in
//! order, pipelined as well) and goes back to publishing directly once all
//! of it is acknowledged. The spool outlives the process: what a run left
//! is replayed by the next one. Past `spool_limit` bytes, events are dropped
//! and counted.
//!
//! A client is used for one connection only: when it loses it, it is not
//! let to reconnect (its reconnect delay becomes a year) and a new client,
//! in a new runtime, takes over. Publishes still queued inside the old
//! client would otherwise reach the stream after a reconnect, ahead of the
//! ones lost with the connection, and the stream's order would break (the
//! re-sent copies being dropped as duplicates).
//!
//! The worker runs a current-thread tokio runtime on the sink's thread; a
//! small helper thread moves events from the sink's queue into it.
//!
//! Counters (`NatsStats`): `spool_replayed_total` counts spooled records
//! acknowledged after a replay; `duplicates_total` the PubAcks that said
//! the stream had the message already.

mod batch;
pub mod spool;

use crate::{Encoded, ExtraCounters, Sink, SinkStats, SinkWorker};
use async_nats::jetstream::{self, context::PublishErrorKind};
use crossbeam_channel::Receiver;
use spool::{Pos, Record, Spool};
use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// A publish whose send or ack takes longer than this has failed.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// How often replaying the spool is tried while the server is away.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// How long the worker waits for outstanding acks (and goes on replaying)
/// once its queue is closed and drained.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Records replayed in one go before looking at the queue again.
const REPLAY_BATCH: usize = 64;
/// Events between the helper thread and the runtime.
const FORWARD_CAPACITY: usize = 64;

/// The sink's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// `nats://127.0.0.1:4222`; a comma-separated list of servers is allowed.
    pub url: String,
    /// The JetStream stream, created (file storage) if missing with the
    /// subject filter of `subject` (each token holding a `{..}` becomes `*`).
    pub stream: String,
    /// Subject template, e.g. `sdn.events.{kind}.{input}`: `{kind}`,
    /// `{input}` and `{sensor}` (the part of the event id before ':') are
    /// replaced; characters a subject token cannot hold become '_'.
    pub subject: String,
    /// Where the spool's segment files live (created if missing).
    pub spool_dir: PathBuf,
    /// Bytes the spool may hold; past it events are dropped and counted.
    pub spool_limit: u64,
    /// Publishes waiting for their PubAck at most (the window).
    pub max_pending_acks: usize,
    /// `{partition}` in `subject` is the event's host key modulo this
    /// (analytics consumers each take some partitions).
    pub partitions: u32,
    /// What `{partition}` hashes: the host (every event), or the indicator
    /// (then the sink publishes only `intel` events: the sightings the
    /// multi-sensor correlation needs, split by indicator).
    pub partition_by: PartitionBy,
    /// Events a message holds at most (1: one event a message, its id the
    /// message id); more are sent as JSON lines (the `batch` module).
    pub batch: usize,
}

/// The key of `{partition}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PartitionBy {
    #[default]
    Host,
    Indicator,
}

#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("nats sink: {0}")]
    Config(String),
    #[error("nats sink: spool {}: {source}", path.display())]
    Spool { path: PathBuf, source: std::io::Error },
    #[error("nats sink: cannot start its thread: {0}")]
    Thread(std::io::Error),
}

/// The NATS sink's own counters (see `counters` for the names).
#[derive(Debug, Default)]
pub struct NatsStats {
    /// Messages handed to the server (direct and replayed, retries too).
    pub published: AtomicU64,
    /// PubAcks received (duplicates included).
    pub acked: AtomicU64,
    /// PubAcks that said the server had the message already (a re-send).
    pub duplicates: AtomicU64,
    /// Records written to the spool.
    pub spooled: AtomicU64,
    /// Spooled records acknowledged after a replay.
    pub spool_replayed: AtomicU64,
    /// Events dropped because the spool was at its limit.
    pub spool_full_drops: AtomicU64,
    /// Spool writes that failed (the event is lost and counted).
    pub spool_errors: AtomicU64,
    /// Damaged spool tails found (at start or while reading back).
    pub spool_corrupt: AtomicU64,
    /// Bytes of damaged spool tails cut off at start.
    pub spool_corrupt_bytes: AtomicU64,
    /// Records found in the spool at start.
    pub spool_recovered: AtomicU64,
    /// Gauge: bytes in the spool.
    pub spool_bytes: AtomicU64,
    /// Gauge: 1 while connected.
    pub connected: AtomicU64,
    /// Connections made again after a loss.
    pub reconnects: AtomicU64,
    /// Publishes, acks or stream look-ups that failed or timed out.
    pub publish_errors: AtomicU64,
}

impl ExtraCounters for NatsStats {
    fn counters(&self) -> Vec<(&'static str, u64)> {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("published_total", g(&self.published)),
            ("acked_total", g(&self.acked)),
            ("duplicates_total", g(&self.duplicates)),
            ("spooled_total", g(&self.spooled)),
            ("spool_replayed_total", g(&self.spool_replayed)),
            ("spool_full_drops_total", g(&self.spool_full_drops)),
            ("spool_errors_total", g(&self.spool_errors)),
            ("spool_corrupt_total", g(&self.spool_corrupt)),
            ("spool_corrupt_bytes_total", g(&self.spool_corrupt_bytes)),
            ("spool_recovered_total", g(&self.spool_recovered)),
            ("spool_bytes", g(&self.spool_bytes)),
            ("connected", g(&self.connected)),
            ("reconnects_total", g(&self.reconnects)),
            ("publish_errors_total", g(&self.publish_errors)),
        ]
    }
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Kind,
    Input,
    Sensor,
    Partition,
}

/// A parsed subject template.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SubjectTemplate {
    parts: Vec<Part>,
    /// The stream's subject filter: each token with a placeholder is `*`.
    filter: String,
}

impl SubjectTemplate {
    fn parse(t: &str) -> Result<SubjectTemplate, String> {
        if t.is_empty() {
            return Err("subject is empty".into());
        }
        if let Some(c) = t.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("subject {t:?} holds {c:?}"));
        }
        let mut filter = Vec::new();
        for token in t.split('.') {
            if token.is_empty() {
                return Err(format!("subject {t:?} has an empty token"));
            }
            filter.push(if token.contains('{') { "*" } else { token });
        }
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = t;
        while let Some(c) = rest.chars().next() {
            match c {
                '{' => {
                    let Some(end) = rest.find('}') else { return Err(format!("subject {t:?}: '{{' without '}}'")) };
                    let part = match &rest[1..end] {
                        "kind" => Part::Kind,
                        "input" => Part::Input,
                        "sensor" => Part::Sensor,
                        "partition" => Part::Partition,
                        other => {
                            return Err(format!(
                                "subject {t:?}: unknown placeholder {{{other}}} (known: {{kind}}, {{input}}, {{sensor}}, {{partition}})"
                            ));
                        }
                    };
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(part);
                    rest = &rest[end + 1..];
                }
                '}' => return Err(format!("subject {t:?}: '}}' without '{{'")),
                '*' | '>' => return Err(format!("subject {t:?}: wildcards cannot be published to")),
                c => {
                    lit.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        // The stream takes the literal prefix and everything below it
        // (`sdn.events.>`), so consumers can filter on any part of the rest
        // (`sdn.events.0.>` for one partition); without a literal prefix,
        // a `*` per placeholder token.
        let literal = filter.iter().take_while(|t| **t != "*").count();
        let filter = if literal > 0 && literal < filter.len() {
            format!("{}.>", filter[..literal].join("."))
        } else {
            filter.join(".")
        };
        Ok(SubjectTemplate { parts, filter })
    }

    fn partitioned(&self) -> bool {
        self.parts.contains(&Part::Partition)
    }

    fn render(&self, ev: &Encoded, partitions: u32, by: PartitionBy) -> String {
        fn push_token(out: &mut String, v: &str) {
            if v.is_empty() {
                out.push('_');
            }
            for c in v.chars() {
                let bad = c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>');
                out.push(if bad { '_' } else { c });
            }
        }
        let mut out = String::with_capacity(64);
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Kind => push_token(&mut out, ev.kind),
                Part::Input => push_token(&mut out, ev.input),
                Part::Sensor => push_token(&mut out, ev.id.split_once(':').map_or("", |(s, _)| s)),
                Part::Partition => {
                    let key = match by {
                        PartitionBy::Host => ev.key,
                        PartitionBy::Indicator => ev.indicator_key,
                    };
                    out.push_str(&(key % u64::from(partitions.max(1))).to_string())
                }
            }
        }
        out
    }
}

fn validate(cfg: &NatsConfig) -> Result<(Vec<async_nats::ServerAddr>, SubjectTemplate), NatsError> {
    let err = |m: String| Err(NatsError::Config(m));
    let mut addrs = Vec::new();
    for u in cfg.url.split(',').map(str::trim) {
        if u.is_empty() {
            return err(format!("url {:?} holds an empty server", cfg.url));
        }
        match u.parse::<async_nats::ServerAddr>() {
            Ok(a) => addrs.push(a),
            Err(e) => return err(format!("url {u:?}: {e}")),
        }
    }
    let s = &cfg.stream;
    if s.is_empty()
        || s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
    {
        return err(format!("stream name {s:?} is empty or holds whitespace, '.', '*', '>', '/' or '\\'"));
    }
    let tpl = SubjectTemplate::parse(&cfg.subject).map_err(NatsError::Config)?;
    if cfg.partition_by == PartitionBy::Indicator && !tpl.partitioned() {
        return err(format!(
            "partition_by = \"indicator\" needs {{partition}} in subject {:?} (e.g. \"sdn.sightings.{{partition}}\")",
            cfg.subject
        ));
    }
    if cfg.max_pending_acks == 0 {
        return err("max_pending_acks must be at least 1".into());
    }
    if cfg.batch == 0 {
        return err("batch must be at least 1 (one event a message)".into());
    }
    if cfg.spool_dir.as_os_str().is_empty() {
        return err("spool_dir is empty".into());
    }
    Ok((addrs, tpl))
}

/// Starts the NATS sink `name` behind a queue of `capacity` events. Checks
/// the settings and opens the spool (replaying what an earlier run left);
/// the server need not be up: until it is, events are spooled.
pub fn spawn(name: &str, capacity: usize, cfg: NatsConfig) -> Result<Sink, NatsError> {
    let (addrs, template) = validate(&cfg)?;
    let spool_err = |source| NatsError::Spool { path: cfg.spool_dir.clone(), source };
    let (spool, recovery) = Spool::open(&cfg.spool_dir, cfg.spool_limit).map_err(spool_err)?;
    let nats = Arc::new(NatsStats::default());
    add(&nats.spool_recovered, recovery.records);
    add(&nats.spool_corrupt, recovery.corrupt);
    add(&nats.spool_corrupt_bytes, recovery.corrupt_bytes);
    nats.spool_bytes.store(spool.bytes(), Ordering::Relaxed);
    let keyed = template.partitioned();
    let by_indicator = cfg.partition_by == PartitionBy::Indicator;
    let worker = NatsWorker { name: name.to_string(), cfg, addrs, template, spool, nats: Arc::clone(&nats) };
    let sink = Sink::spawn(name, capacity, Box::new(worker)).map_err(NatsError::Thread)?.with_extra(nats);
    Ok(match (by_indicator, keyed) {
        (true, _) => sink.indicator_events_only(),
        (false, true) => sink.with_key(),
        (false, false) => sink,
    })
}

struct NatsWorker {
    name: String,
    cfg: NatsConfig,
    addrs: Vec<async_nats::ServerAddr>,
    template: SubjectTemplate,
    spool: Spool,
    nats: Arc<NatsStats>,
}

type AckFuture = Pin<Box<dyn Future<Output = Result<Option<jetstream::publish::PublishAck>, ()>> + Send>>;

enum Origin {
    /// Published straight from the queue: spooled if its ack fails.
    Direct(Record),
    /// Replayed from the spool: acknowledges it up to here.
    Spool(Pos),
}

struct Inflight {
    ack: AckFuture,
    origin: Origin,
    /// Events the message holds.
    events: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The spool is empty: events are published as they come.
    Direct,
    /// The spool holds events: new ones are appended, the spool replayed.
    Spool,
}

impl SinkWorker for NatsWorker {
    fn run(self: Box<Self>, rx: Receiver<Arc<Encoded>>, stats: Arc<SinkStats>) {
        let (tx, arx) = tokio::sync::mpsc::channel(FORWARD_CAPACITY);
        let rx2 = rx.clone();
        let forward = std::thread::Builder::new().name(format!("sink-{}-rx", self.name)).spawn(move || {
            for ev in rx2.iter() {
                if tx.blocking_send(ev).is_err() {
                    break;
                }
            }
        });
        let Ok(forward) = forward else {
            for _ in rx.iter() {
                SinkStats::add(&stats.failed, 1);
            }
            return;
        };
        drop(rx);
        let mut state = State::new(*self, stats, arx);
        // One runtime (and one client) per connection: a client that lost
        // its connection is never let to reconnect, because the publishes
        // still queued in it would then reach the stream ahead of the ones
        // lost with the connection. Dropping the runtime drops them.
        loop {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                state.spool_rest();
                break;
            };
            let done = rt.block_on(state.session());
            state.client = None;
            state.js = None;
            rt.shutdown_timeout(Duration::from_millis(100));
            if done {
                break;
            }
        }
        let _ = forward.join();
    }
}

struct State {
    w: NatsWorker,
    stats: Arc<SinkStats>,
    arx: tokio::sync::mpsc::Receiver<Arc<Encoded>>,
    /// The queue is still open.
    open: bool,
    /// Once it is closed: when to stop waiting for acks.
    deadline: Instant,
    mode: Mode,
    inflight: VecDeque<Inflight>,
    window: usize,
    retry_at: Instant,
    stream_ready: bool,
    client: Option<async_nats::Client>,
    js: Option<jetstream::Context>,
    /// The current client has been connected (so a disconnection ends it).
    client_was_up: Arc<AtomicBool>,
    /// Told when the current client loses its connection.
    client_down: Arc<tokio::sync::Notify>,
    /// Some client has been connected (the next connection is a reconnect).
    ever_up: Arc<AtomicBool>,
    /// Events waiting for others to share a message with (`batch` > 1).
    batcher: Option<batch::Batcher>,
}

impl State {
    fn new(w: NatsWorker, stats: Arc<SinkStats>, arx: tokio::sync::mpsc::Receiver<Arc<Encoded>>) -> State {
        let mode = if w.spool.is_drained() { Mode::Direct } else { Mode::Spool };
        let window = w.cfg.max_pending_acks;
        let batcher = (w.cfg.batch > 1).then(|| batch::Batcher::new(w.cfg.batch));
        State {
            batcher,
            w,
            stats,
            arx,
            open: true,
            deadline: Instant::now(),
            mode,
            inflight: VecDeque::with_capacity(window),
            window,
            retry_at: Instant::now(),
            stream_ready: false,
            client: None,
            js: None,
            client_was_up: Arc::new(AtomicBool::new(false)),
            client_down: Arc::new(tokio::sync::Notify::new()),
            ever_up: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts a new client; it connects in the background (retrying).
    async fn connect(&mut self) {
        let nats = Arc::clone(&self.w.nats);
        let was_up = Arc::new(AtomicBool::new(false));
        let down = Arc::new(tokio::sync::Notify::new());
        self.client_was_up = Arc::clone(&was_up);
        self.client_down = Arc::clone(&down);
        let ever_up = Arc::clone(&self.ever_up);
        let up = Arc::clone(&was_up);
        let opts = async_nats::ConnectOptions::new()
            .name(format!("sdn-sensor sink {}", self.w.name))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(PUBLISH_TIMEOUT)
            .ping_interval(Duration::from_secs(10))
            // First connection: retried every 100..500 ms. Once it has been
            // up, the client never reconnects (see `run`): a new one does.
            .reconnect_delay_callback(move |n| {
                if up.load(Ordering::SeqCst) {
                    Duration::from_secs(365 * 86_400)
                } else {
                    Duration::from_millis(100 * n.saturating_sub(1).min(5) as u64)
                }
            })
            // Bounded: what the client holds while its connection is lost
            // is small, and publishes wait instead of piling up.
            .client_capacity(self.window.clamp(16, 128))
            .event_callback(move |ev| {
                let (nats, was_up, down, ever_up) =
                    (Arc::clone(&nats), Arc::clone(&was_up), Arc::clone(&down), Arc::clone(&ever_up));
                async move {
                    match ev {
                        async_nats::Event::Connected => {
                            was_up.store(true, Ordering::SeqCst);
                            nats.connected.store(1, Ordering::Relaxed);
                            if ever_up.swap(true, Ordering::Relaxed) {
                                add(&nats.reconnects, 1);
                            }
                        }
                        async_nats::Event::Disconnected | async_nats::Event::Closed => {
                            nats.connected.store(0, Ordering::Relaxed);
                            down.notify_one();
                        }
                        _ => {}
                    }
                }
            });
        // With retry_on_initial_connect this returns at once; it fails only
        // on settings, which `validate` checked.
        if let Ok(client) = opts.connect(self.w.addrs.clone()).await {
            let js = jetstream::ContextBuilder::new()
                .timeout(PUBLISH_TIMEOUT)
                .ack_timeout(PUBLISH_TIMEOUT)
                .max_ack_inflight(self.window * 2 + REPLAY_BATCH)
                .build(client.clone());
            self.client = Some(client);
            self.js = Some(js);
        }
    }

    /// Whether the client is connected now. Publishing only after this said
    /// yes, the client is known to have been up before anything can be
    /// queued in it.
    fn connected(&self) -> bool {
        let up = self.client.as_ref().is_some_and(|c| c.connection_state() == async_nats::connection::State::Connected);
        if up {
            self.client_was_up.store(true, Ordering::SeqCst);
        }
        up
    }

    /// The client was up and lost its connection: it is done.
    fn client_lost(&self) -> bool {
        self.client_was_up.load(Ordering::SeqCst) && !self.connected()
    }

    fn error(&self) {
        add(&self.w.nats.publish_errors, 1);
        SinkStats::add(&self.stats.errors, 1);
    }

    fn update_spool_gauge(&self) {
        self.w.nats.spool_bytes.store(self.w.spool.bytes(), Ordering::Relaxed);
    }

    /// Runs with one client. Returns true when the work is done (queue
    /// closed and drained), false when the client lost its connection.
    async fn session(&mut self) -> bool {
        self.connect().await;
        loop {
            if !self.open {
                let batched = self.batcher.as_ref().is_some_and(|b| b.next_due().is_some());
                let idle = self.inflight.is_empty() && !batched && (self.mode == Mode::Direct || !self.connected());
                if idle || Instant::now() >= self.deadline {
                    self.finish().await;
                    return true;
                }
            }
            if self.client_lost() {
                if !self.inflight.is_empty() {
                    match self.mode {
                        Mode::Direct => self.fail_direct(None),
                        Mode::Spool => self.fail_replay(),
                    }
                }
                return false;
            }
            let can_recv = self.open && (self.mode == Mode::Spool || self.inflight.len() < self.window);
            let can_replay = self.mode == Mode::Spool && self.inflight.len() < self.window && self.w.spool.has_unread();
            let has_inflight = !self.inflight.is_empty();
            // Once the queue closed, every open batch is due; all wait
            // while the window is full.
            let batch_due = match &self.batcher {
                Some(b) if self.inflight.len() < self.window || self.mode == Mode::Spool => {
                    if self.open {
                        b.next_due()
                    } else {
                        b.next_due().map(|_| Instant::now())
                    }
                }
                _ => None,
            };
            let (retry_at, deadline, open) = (self.retry_at, self.deadline, self.open);
            let down = Arc::clone(&self.client_down);
            // Unbiased: a busy queue must not starve the replay.
            tokio::select! {
                res = poll_front(&mut self.inflight), if has_inflight => self.on_ack(res),
                ev = self.arx.recv(), if can_recv => match ev {
                    Some(ev) => self.on_event(ev).await,
                    None => {
                        self.open = false;
                        self.deadline = Instant::now() + SHUTDOWN_GRACE;
                    }
                },
                _ = tokio::time::sleep_until(batch_due.unwrap_or(deadline)), if batch_due.is_some() => {
                    let room = self.window.saturating_sub(self.inflight.len()).max(1);
                    let now = if self.open { Instant::now() } else { Instant::now() + batch::LINGER };
                    let due = self.batcher.as_mut().map(|b| b.due(now, room)).unwrap_or_default();
                    for rec in due {
                        self.dispatch(rec).await;
                    }
                }
                _ = tokio::time::sleep_until(retry_at), if can_replay => self.replay().await,
                _ = tokio::time::sleep_until(deadline), if !open => {}
                _ = down.notified() => {}
            }
        }
    }

    /// The queue is closed and drained: what still waits for an ack goes
    /// to the spool (a replayed record is still in it).
    async fn finish(&mut self) {
        self.spool_unsent();
        let _ = self.w.spool.sync();
        self.update_spool_gauge();
        if let Some(c) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_millis(200), c.drain()).await;
        }
    }

    /// No runtime to be had: everything left goes to the spool.
    fn spool_rest(&mut self) {
        self.spool_unsent();
        while let Some(ev) = self.arx.blocking_recv() {
            let rec = self.record(&ev);
            self.spool_record(&rec);
        }
        let _ = self.w.spool.sync();
        self.update_spool_gauge();
    }

    /// What waits for an ack (a replayed record is still in the spool),
    /// then the open batches, to the spool.
    fn spool_unsent(&mut self) {
        self.spool_inflight();
        for rec in self.batcher.as_mut().map(batch::Batcher::take_all).unwrap_or_default() {
            self.spool_record(&rec);
        }
    }

    /// The direct publishes still waiting for their acks, to the spool.
    fn spool_inflight(&mut self) {
        let left: Vec<Inflight> = self.inflight.drain(..).collect();
        for inf in left {
            if let Origin::Direct(rec) = inf.origin {
                self.spool_record(&rec);
            }
        }
    }

    fn record(&self, ev: &Encoded) -> Record {
        let cfg = &self.w.cfg;
        // A sighting repeats its event: under the event's own id JetStream
        // would drop it as a duplicate wherever both share a stream.
        let id = match cfg.partition_by {
            PartitionBy::Host => ev.id.clone(),
            PartitionBy::Indicator => format!("sighting:{}", ev.id),
        };
        Record { id, subject: self.w.template.render(ev, cfg.partitions, cfg.partition_by), body: ev.json.clone() }
    }

    fn spool_record(&mut self, rec: &Record) {
        let events = batch::events_in(rec);
        match self.w.spool.append(rec) {
            Ok(true) => add(&self.w.nats.spooled, 1),
            Ok(false) => {
                add(&self.w.nats.spool_full_drops, events);
                SinkStats::add(&self.stats.failed, events);
            }
            Err(_) => {
                add(&self.w.nats.spool_errors, 1);
                SinkStats::add(&self.stats.failed, events);
                SinkStats::add(&self.stats.errors, 1);
            }
        }
    }

    async fn on_event(&mut self, ev: Arc<Encoded>) {
        let rec = self.record(&ev);
        match &mut self.batcher {
            None => self.dispatch(rec).await,
            Some(b) => {
                for rec in b.add(rec, Instant::now()) {
                    self.dispatch(rec).await;
                }
            }
        }
    }

    /// A message (one event, or a batch) to the stream, or to the spool.
    async fn dispatch(&mut self, rec: Record) {
        if self.mode == Mode::Spool {
            self.spool_record(&rec);
            self.update_spool_gauge();
            return;
        }
        if !self.connected() {
            return self.fail_direct(Some(rec));
        }
        if !self.stream_ready && !self.ensure_stream().await {
            return self.fail_direct(Some(rec));
        }
        let events = batch::events_in(&rec);
        match self.publish(&rec).await {
            Ok(ack) => self.inflight.push_back(Inflight { ack, origin: Origin::Direct(rec), events }),
            Err(PublishErrorKind::MaxPayloadExceeded) => {
                self.error();
                SinkStats::add(&self.stats.failed, events);
            }
            Err(_) => self.fail_direct(Some(rec)),
        }
    }

    /// A direct publish failed: what waits for an ack, then `rec`, go to
    /// the spool, and so does every event after them until it is replayed.
    fn fail_direct(&mut self, rec: Option<Record>) {
        self.error();
        self.stream_ready = false;
        self.spool_inflight();
        if let Some(r) = rec {
            self.spool_record(&r);
        }
        self.mode = Mode::Spool;
        self.retry_at = Instant::now() + RETRY_INTERVAL;
        self.update_spool_gauge();
    }

    /// A replay failed: start again later from the first record not
    /// acknowledged.
    fn fail_replay(&mut self) {
        self.error();
        self.stream_ready = false;
        self.inflight.clear();
        self.w.spool.rewind();
        self.retry_at = Instant::now() + RETRY_INTERVAL;
    }

    fn on_ack(&mut self, res: Result<Option<jetstream::publish::PublishAck>, ()>) {
        let Some(inf) = self.inflight.pop_front() else { return };
        match res {
            Ok(ack) => {
                if let Some(ack) = &ack {
                    add(&self.w.nats.acked, 1);
                    SinkStats::add(&self.stats.delivered, inf.events);
                    if ack.duplicate {
                        add(&self.w.nats.duplicates, 1);
                    }
                }
                if let Origin::Spool(pos) = inf.origin {
                    if ack.is_none() {
                        // Never publishable (counted here, once: a rewind
                        // before this point reads it again).
                        SinkStats::add(&self.stats.failed, inf.events);
                    }
                    if ack.is_some() {
                        add(&self.w.nats.spool_replayed, 1);
                    }
                    if self.w.spool.ack(pos).is_err() {
                        add(&self.w.nats.spool_errors, 1);
                    }
                    if self.inflight.is_empty() && self.w.spool.is_drained() && !self.w.spool.has_unread() {
                        if self.w.spool.clear().is_err() {
                            add(&self.w.nats.spool_errors, 1);
                        }
                        self.mode = Mode::Direct;
                    }
                    self.update_spool_gauge();
                }
            }
            Err(()) => {
                self.inflight.push_front(inf);
                match self.mode {
                    Mode::Direct => self.fail_direct(None),
                    Mode::Spool => self.fail_replay(),
                }
            }
        }
    }

    async fn replay(&mut self) {
        if !self.connected() {
            self.retry_at = Instant::now() + RETRY_INTERVAL;
            return;
        }
        if !self.stream_ready && !self.ensure_stream().await {
            self.error();
            self.retry_at = Instant::now() + RETRY_INTERVAL;
            return;
        }
        for _ in 0..REPLAY_BATCH {
            if self.inflight.len() >= self.window {
                break;
            }
            let (rec, pos) = match self.w.spool.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => {
                    // Nothing readable although has_unread said so: wait.
                    self.retry_at = Instant::now() + RETRY_INTERVAL;
                    break;
                }
                Err(_) => {
                    add(&self.w.nats.spool_errors, 1);
                    self.retry_at = Instant::now() + RETRY_INTERVAL;
                    break;
                }
            };
            let events = batch::events_in(&rec);
            match self.publish(&rec).await {
                Ok(ack) => self.inflight.push_back(Inflight { ack, origin: Origin::Spool(pos), events }),
                Err(PublishErrorKind::MaxPayloadExceeded) => {
                    // Never publishable: acknowledged in its turn as dropped.
                    self.error();
                    let ack = Box::pin(async { Ok(None) });
                    self.inflight.push_back(Inflight { ack, origin: Origin::Spool(pos), events });
                }
                Err(_) => return self.fail_replay(),
            }
        }
        add(&self.w.nats.spool_corrupt, std::mem::take(&mut self.w.spool.read_errors));
    }

    async fn ensure_stream(&mut self) -> bool {
        let Some(js) = &self.js else { return false };
        let config = jetstream::stream::Config {
            name: self.w.cfg.stream.clone(),
            subjects: vec![self.w.template.filter.clone()],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        };
        let filter = self.w.template.filter.clone();
        let ensure = async {
            let mut stream = js.get_or_create_stream(config).await.ok()?;
            // An existing stream made for another subject template (e.g.
            // before `{partition}`): add ours, or nothing would be stored.
            let info = stream.info().await.ok()?.config.clone();
            if !info.subjects.contains(&filter) {
                let mut updated = info;
                updated.subjects.push(filter);
                js.update_stream(&updated).await.ok()?;
            }
            Some(())
        };
        let ok = matches!(tokio::time::timeout(PUBLISH_TIMEOUT, ensure).await, Ok(Some(())));
        self.stream_ready = ok;
        // Batches stay within what this server takes (room for headers).
        if let (Some(b), Some(c)) = (&mut self.batcher, &self.client) {
            b.limit_bytes(c.server_info().max_payload.saturating_sub(4096));
        }
        ok
    }

    /// Sends one message; the future resolves with its PubAck.
    async fn publish(&mut self, rec: &Record) -> Result<AckFuture, PublishErrorKind> {
        let Some(js) = &self.js else { return Err(PublishErrorKind::Other) };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, rec.id.as_str());
        let send = js.publish_with_headers(rec.subject.clone(), headers, rec.body.clone().into());
        match tokio::time::timeout(PUBLISH_TIMEOUT, send).await {
            Ok(Ok(fut)) => {
                add(&self.w.nats.published, 1);
                let ack = fut.into_future();
                Ok(Box::pin(async move { ack.await.map(Some).map_err(|_| ()) }))
            }
            Ok(Err(e)) => Err(e.kind()),
            Err(_) => Err(PublishErrorKind::TimedOut),
        }
    }
}

/// Waits for the oldest outstanding ack (acks come back in order).
async fn poll_front(inflight: &mut VecDeque<Inflight>) -> Result<Option<jetstream::publish::PublishAck>, ()> {
    match inflight.front_mut() {
        Some(inf) => inf.ack.as_mut().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str) -> Encoded {
        Encoded { id: id.into(), kind: "intel", input: "dns", json: b"{}".to_vec(), key: 7, indicator_key: 12 }
    }

    #[test]
    fn subject_templates() {
        let t = SubjectTemplate::parse("sdn.events.{kind}.{input}").unwrap();
        assert_eq!(t.filter, "sdn.events.>");
        assert_eq!(t.render(&ev("edge-1:0f"), 1, PartitionBy::Host), "sdn.events.intel.dns");
        let t = SubjectTemplate::parse("sdn.{sensor}.x-{kind}").unwrap();
        assert_eq!(t.filter, "sdn.>");
        assert_eq!(t.render(&ev("edge.1:0f"), 1, PartitionBy::Host), "sdn.edge_1.x-intel");
        assert_eq!(t.render(&ev("nocolon"), 1, PartitionBy::Host), "sdn._.x-intel");
        // `{partition}`: the host's key or the indicator's, modulo the count.
        let t = SubjectTemplate::parse("sdn.s.{partition}").unwrap();
        assert_eq!(t.render(&ev("e:1"), 5, PartitionBy::Host), "sdn.s.2");
        assert_eq!(t.render(&ev("e:1"), 5, PartitionBy::Indicator), "sdn.s.2");
        assert_eq!(t.render(&ev("e:1"), 4, PartitionBy::Host), "sdn.s.3");
        assert_eq!(t.render(&ev("e:1"), 4, PartitionBy::Indicator), "sdn.s.0");
        for bad in ["", "a..b", ".a", "a.", "a b", "a.{kind", "a.{nope}", "a.}", "a.*", "a.>"] {
            assert!(SubjectTemplate::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn partition_by_indicator_needs_a_partition_token() {
        let cfg = |subject: &str| NatsConfig {
            url: "nats://127.0.0.1:4222".into(),
            stream: "S".into(),
            subject: subject.into(),
            spool_dir: "spool".into(),
            spool_limit: 1 << 20,
            max_pending_acks: 1,
            batch: 1,
            partitions: 2,
            partition_by: PartitionBy::Indicator,
        };
        assert!(validate(&cfg("sdn.sightings.{partition}")).is_ok());
        let e = validate(&cfg("sdn.sightings")).unwrap_err().to_string();
        assert!(e.contains("partition_by = \"indicator\" needs {partition} in subject"), "{e}");
    }
}
