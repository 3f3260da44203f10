//! `sdn-sensor analytics`: the analytics stage as a NATS JetStream durable
//! consumer, so several processes on several machines share one stream.
//! Sensors publish to `...{partition}...` subjects (a hash of the event's
//! host); each process consumes some partitions with a subject filter, so
//! all events of a host reach one process and correlation stays correct.
//! The multi-sensor rule is keyed by indicator: with `--sightings` it runs
//! over a second stream, the intel events split by indicator, taken by a
//! second durable consumer.

use crate::analysis::{Line, Stage};
use futures_util::StreamExt;
use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    pub url: String,
    pub stream: String,
    /// Subject filter of this process, e.g. `sdn.events.0.>` (partition 0).
    pub subject: String,
    /// Durable consumer name: a restarted process continues where it
    /// stopped. (Two processes on one durable would split a host's events
    /// between them: one durable per partition.)
    pub durable: String,
    /// Passing events, summaries and incidents, as JSON lines (stdout
    /// without).
    pub output: Option<PathBuf>,
    pub reports: Option<PathBuf>,
    /// Stop after this long without a message (tests, batch runs).
    pub idle_exit: Option<Duration>,
    /// The dashboard and API over the store, with `/metrics`.
    pub web: Option<AnalyticsWeb>,
    /// The sightings this process takes (the multi-sensor rules' input,
    /// split by indicator), when the stage was split for them.
    pub sightings: Option<Sightings>,
    /// How often to look for partitions no consumer takes and consumers
    /// nobody reads ([`crate::coverage`]); the first look after at most a
    /// minute.
    pub partition_check: Option<Duration>,
}

/// A second durable consumer, on the sightings stream.
#[derive(Debug, Clone)]
pub struct Sightings {
    pub stream: String,
    /// e.g. `sdn.sightings.0`.
    pub subject: String,
    pub durable: String,
}

/// Where and how `analytics` serves the web side.
#[derive(Debug, Clone)]
pub struct AnalyticsWeb {
    pub listen: std::net::SocketAddr,
    pub auth: web::auth::AuthConfig,
    pub db: PathBuf,
}

/// The web side of `analytics`: served when the configuration names a
/// store and has an `[http]` table (the same section `run` reads).
pub fn analytics_web(
    file: &str,
    base: &std::path::Path,
    config: &sensor::config::Config,
) -> anyhow::Result<Option<AnalyticsWeb>> {
    let Some(db) = &config.analytics.store else { return Ok(None) };
    if !config.http.present {
        return Ok(None);
    }
    let auth = crate::http::web_auth(file, base, &config.http)?;
    Ok(Some(AnalyticsWeb { listen: config.http.listen, auth, db: db.clone() }))
}

/// The server and what it reads, kept for the life of `consume`.
struct Served {
    _http: crate::http::HttpServer,
    metrics: Arc<crate::metrics::Metrics>,
    live: Arc<web::live::LiveFeed>,
}

fn serve(w: &AnalyticsWeb, stage: &mut Stage) -> anyhow::Result<Served> {
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let live = web::live::LiveFeed::new(web::live::DEFAULT_CAPACITY, web::live::KEEP_ALIVE);
    crate::http::live_metrics(&metrics, &live);
    stage.set_live(Some(Arc::clone(&live)));
    let options = web::WebOptions {
        db: w.db.clone(),
        auth: w.auth.clone(),
        status: Some(crate::web_hooks::status(
            Arc::clone(&metrics),
            None,
            Vec::new(),
            "analytics",
            None,
            Instant::now(),
        )),
        // No feeds here: /api/intel/check says so.
        intel_check: None,
        live: Some(Arc::clone(&live)),
    };
    let http = crate::http::serve(w.listen, Arc::clone(&metrics), Some(web::routes(options)?))?;
    tracing::info!(listen = %http.local_addr, "http: dashboard, /api, /metrics");
    Ok(Served { _http: http, metrics, live })
}

impl Served {
    fn publish(&self, stats: &ConsumeStats, stage: &Stage, sinks: &[sinks::Sink]) {
        let mut v = Vec::new();
        let mut s = crate::metrics::Samples { out: &mut v, labels: Vec::new() };
        s.counter("sdn_analytics_messages_total", "Messages fetched from the stream.", stats.events.messages);
        s.counter("sdn_analytics_duplicates_total", "Redelivered messages dropped by id.", stats.events.duplicates);
        let e = stage.stats();
        s.counter("sdn_analytics_events_total", "Events through the analytics stage.", e.events);
        s.counter("sdn_analytics_passed_total", "Events that passed throttling.", e.passed);
        s.counter("sdn_analytics_summaries_total", "Summary events.", e.summaries);
        let from_sightings = stage.sighting_stats().map_or(0, |s| s.incidents);
        s.counter("sdn_analytics_incidents_total", "Incident events.", e.incidents + from_sightings);
        s.counter(
            "sdn_analytics_sightings_total",
            "Sightings (events) read from the sightings stream.",
            stats.sightings.events,
        );
        s.counter(
            "sdn_analytics_sighting_duplicates_total",
            "Redelivered sightings dropped by id.",
            stats.sightings.duplicates,
        );
        // (A consumer waits for the store: its `dropped` stays 0.)
        stage.store_metrics(&mut s);
        crate::emit::sink_samples(sinks, &mut v);
        self.metrics.publish("analytics", v);
    }
}

/// What one consumer read.
#[derive(Debug, Default, Clone)]
pub struct Inflow {
    /// Messages (redeliveries included).
    pub messages: u64,
    /// Events in those messages (more than one a message from a sensor
    /// that batches), redeliveries dropped not counted.
    pub events: u64,
    /// Redelivered messages dropped by message id.
    pub duplicates: u64,
}

#[derive(Debug, Default, Clone)]
pub struct ConsumeStats {
    /// Of the events stream.
    pub events: Inflow,
    /// Of the sightings stream.
    pub sightings: Inflow,
    /// Batches handed to the stage (each committed and acknowledged).
    pub batches: u64,
    /// When the first batch arrived and the last was done.
    pub first_batch: Option<Instant>,
    pub last_batch: Option<Instant>,
    /// CPU seconds of the process while consuming (all its threads:
    /// the store's too).
    pub cpu_s: f64,
}

impl ConsumeStats {
    /// Messages (both streams) and events (of the events stream) a
    /// second, from the arrival of the first batch to the end of the last.
    pub fn rate(&self) -> Option<(f64, f64)> {
        let span = self.last_batch?.duration_since(self.first_batch?).as_secs_f64();
        let messages = self.events.messages + self.sightings.messages;
        (span > 0.0).then(|| (messages as f64 / span, self.events.events as f64 / span))
    }
}

/// Message ids seen lately (bounded): a redelivered message is dropped.
struct Recent {
    set: HashSet<u64>,
    order: VecDeque<u64>,
    cap: usize,
}

impl Recent {
    fn new() -> Self {
        Recent { set: HashSet::new(), order: VecDeque::new(), cap: 1 << 20 }
    }

    /// False for an id seen lately; a message without one always passes.
    fn first_time(&mut self, id: &[u8]) -> bool {
        if id.is_empty() {
            return true;
        }
        let h = crate::analysis::fnv1a(id);
        if !self.set.insert(h) {
            return false;
        }
        self.order.push_back(h);
        if self.order.len() > self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// The durable pull consumer `name` on `stream`, created if missing (one
/// that exists with another filter is refused: each partition needs its
/// own durable), and whether `subject` takes the whole stream.
async fn durable(
    js: &async_nats::jetstream::Context,
    stream: &str,
    subject: &str,
    name: &str,
    stop: &AtomicBool,
    give_up: Option<Duration>,
) -> anyhow::Result<Option<(PullConsumer, bool)>> {
    use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
    let Some(s) = wait_for_stream(js, stream, stop, give_up).await? else { return Ok(None) };
    // A filter narrower than the stream's subjects: one partition of it.
    let whole = s.cached_info().config.subjects.iter().any(|x| x == subject);
    let config = pull::Config {
        durable_name: Some(name.to_string()),
        filter_subject: subject.to_string(),
        // Each message is acknowledged once its batch is committed. (With
        // `All`, one ack covers every earlier message: after a restart,
        // newer messages come before the redelivery of those in flight at
        // the stop, and their ack would drop them unprocessed.)
        ack_policy: AckPolicy::Explicit,
        // Room for the batch being processed and the next ones (the
        // server's default, 1000, is one batch: no overlap).
        max_ack_pending: 4 * BATCH as i64,
        ..Default::default()
    };
    let failed = |e: &dyn std::fmt::Display| anyhow::anyhow!("consumer {name}: {e}");
    let mut consumer = s.get_or_create_consumer(name, config.clone()).await.map_err(|e| failed(&e))?;
    let info = consumer.info().await.map_err(|e| failed(&e))?.clone();
    anyhow::ensure!(
        info.config.filter_subject == subject,
        "durable consumer {name:?} exists with subject {:?}, not {subject:?}: give each partition its own --durable",
        info.config.filter_subject
    );
    if info.config.ack_policy != AckPolicy::Explicit {
        // Made by an older version (`All`: see above). The policy cannot
        // change in place, so the durable is made again, starting after
        // its last acknowledged message (what was in flight is delivered
        // again: at least once, as ever). Only on a stream that keeps its
        // messages by limits: under interest or work-queue retention,
        // deleting the consumer would let the server drop them.
        use async_nats::jetstream::stream::RetentionPolicy;
        let start_sequence = info.ack_floor.stream_sequence + 1;
        if s.cached_info().config.retention != RetentionPolicy::Limits {
            tracing::warn!(
                consumer = name,
                "durable consumer acknowledges many messages at once (made by an older version), which can drop messages after a restart; the stream's retention is not by limits, so it is left as it is: delete it and start again (it should continue from stream sequence {start_sequence})"
            );
        } else {
            // Said first: if the process dies between the delete and the
            // create, the operator knows where the consumer stood.
            tracing::warn!(
                consumer = name,
                start_sequence,
                "durable consumer made by an older version (one acknowledgement for many): making it again with one per message, from after its last acknowledged message"
            );
            s.delete_consumer(name).await.map_err(|e| failed(&e))?;
            let again = pull::Config { deliver_policy: DeliverPolicy::ByStartSequence { start_sequence }, ..config };
            // Create-only: another process that made it meanwhile wins, and
            // this one takes what it made.
            consumer = match s.create_consumer_strict(again).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(consumer = name, error = %e, "making the durable again failed; taking it as it is now");
                    s.get_consumer(name).await.map_err(|e| failed(&e))?
                }
            };
        }
    }
    Ok(Some((consumer, whole)))
}

/// The stream, once it exists: sensors create their streams when they first
/// publish, so analytics started first waits for them (`None` when stopped
/// meanwhile; an error after `give_up`, with `--idle-exit`).
async fn wait_for_stream(
    js: &async_nats::jetstream::Context,
    stream: &str,
    stop: &AtomicBool,
    give_up: Option<Duration>,
) -> anyhow::Result<Option<async_nats::jetstream::stream::Stream>> {
    use async_nats::jetstream::ErrorCode;
    use async_nats::jetstream::context::GetStreamErrorKind;
    let start = Instant::now();
    let mut told = false;
    loop {
        match js.get_stream(stream).await {
            Ok(s) => return Ok(Some(s)),
            Err(_) if stop.load(Ordering::Relaxed) => return Ok(None),
            Err(e)
                if matches!(e.kind(), GetStreamErrorKind::JetStream(j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND)
                    && give_up.is_none_or(|d| start.elapsed() < d) =>
            {
                if !told {
                    tracing::warn!(stream, "stream not found; waiting for a sensor to create it");
                    told = true;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => anyhow::bail!("stream {stream}: {e}"),
        }
    }
}

type Message = async_nats::jetstream::Message;
/// Messages a batch holds at most (and the pull stream asks for at once).
const BATCH: usize = 1000;
/// Bytes the pull stream asks for at once. Without a bound, 1000 batched
/// messages of a sensor (146 kB each at 256 events) went past what the
/// server buffers for a client (64 MiB): it cut the connection as a slow
/// consumer, the acks sent meanwhile were lost, and the messages came
/// again after the ack wait.
const PULL_BYTES: usize = 16 << 20;
type PullConsumer = async_nats::jetstream::consumer::Consumer<async_nats::jetstream::consumer::pull::Config>;

/// A batch and the consumer it came from, or why a consumer stopped.
type Fetched = Result<(Source, Vec<Message>), String>;

/// Which consumer a batch came from.
#[derive(Clone, Copy, Debug)]
enum Source {
    Events,
    Sightings,
}

/// The consumer's pull stream (which asks for more before the last
/// arrive), handed over in batches until the receiver is gone: what
/// arrives within 5 ms of a batch's first message, up to [`BATCH`]. A busy
/// stream gives full batches (the stage commits, flushes and acknowledges
/// once a batch: handing over whatever happened to be ready made batches
/// of ~120 at full speed), a quiet one at most 5 ms of delay.
async fn fetcher(consumer: PullConsumer, source: Source, tx: tokio::sync::mpsc::Sender<Fetched>) {
    use futures_util::FutureExt;
    let mut messages = loop {
        match consumer.stream().max_messages_per_batch(BATCH).max_bytes_per_batch(PULL_BYTES).messages().await {
            Ok(m) => break m,
            Err(e) => {
                tracing::warn!(error = %e, "pull stream failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                if tx.is_closed() {
                    return;
                }
            }
        }
    };
    loop {
        let first = match tokio::time::timeout(Duration::from_millis(500), messages.next()).await {
            Ok(Some(Ok(m))) => m,
            // Missed heartbeats and the like: the stream recovers itself.
            Ok(Some(Err(e))) => {
                tracing::warn!(error = %e, "pull stream");
                continue;
            }
            // Deleted consumer, a limit the durable sets, ...: the end.
            Ok(None) => {
                let _ = tx.send(Err(format!("the {source:?} consumer's pull stream ended"))).await;
                return;
            }
            Err(_) if tx.is_closed() => return,
            Err(_) => continue,
        };
        let mut batch = vec![first];
        // One timer for the whole batch (a timeout per message cost more
        // than the messages).
        let fill = tokio::time::sleep(Duration::from_millis(5));
        tokio::pin!(fill);
        while batch.len() < BATCH {
            let next = match messages.next().now_or_never() {
                Some(m) => m,
                None => tokio::select! {
                    m = messages.next() => m,
                    () = &mut fill => break,
                },
            };
            match next {
                Some(Ok(m)) => batch.push(m),
                _ => break,
            }
        }
        if tx.send(Ok((source, batch))).await.is_err() {
            return;
        }
    }
}

/// Acknowledges every message of each committed batch, in order.
async fn acker(mut batches: tokio::sync::mpsc::Receiver<Vec<Message>>) {
    while let Some(batch) = batches.recv().await {
        for m in &batch {
            if let Err(e) = m.ack().await {
                tracing::warn!(error = %e, "ack failed; the message will be redelivered");
                break;
            }
        }
    }
}

/// Whether a consumer has messages not yet delivered or not yet
/// acknowledged (a failed look-up counts as some: wait and ask again).
async fn undelivered(consumers: &[PullConsumer]) -> bool {
    for c in consumers {
        match c.get_info().await {
            Ok(i) if i.num_pending == 0 && i.num_ack_pending == 0 => {}
            _ => return true,
        }
    }
    false
}

/// The events of a message: one, or, when its id says it is a sensor's
/// batch (`batch:...`, `batch` in the NATS sink's settings), its JSON
/// lines. (Only then: another publisher's pretty-printed event stays one.)
fn events_of<'a>(id: &[u8], payload: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    // memchr: a batch is tens of kB, scanned byte by byte a tenth of the
    // stage's time.
    let mut from = 0;
    let batch = id.starts_with(b"batch:");
    let ends = memchr::memchr_iter(b'\n', payload).filter(move |_| batch).chain(std::iter::once(payload.len()));
    ends.map(move |end| {
        let line = &payload[from..end];
        from = end + 1;
        line
    })
    .filter(|l| !l.is_empty())
}

/// The message's `Nats-Msg-Id` (empty without one: never a duplicate).
fn msg_id(m: &async_nats::jetstream::Message) -> &[u8] {
    m.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map_or(&[][..], |v| v.as_str().as_bytes())
}

/// Appends: a restarted process continues its files as the durable
/// consumer continues the stream.
fn writer(path: &Option<PathBuf>) -> anyhow::Result<Box<dyn Write + Send>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| anyhow::anyhow!("{}: cannot open for writing: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    })
}

/// Where the stage's lines go.
struct Outputs {
    out: Box<dyn Write + Send>,
    reports: Option<Box<dyn Write + Send>>,
    /// The first write error, reported at the next flush.
    failed: Option<std::io::Error>,
    /// The configuration's `[[sink]]`s: the summaries and incidents the
    /// stage makes, and its reports (`reports_to_sinks`); not the events
    /// that passed, which are on the bus already.
    sinks: Vec<sinks::Sink>,
    reports_to_sinks: bool,
}

impl Outputs {
    fn write(&mut self, line: &[u8], kind: Line) {
        if !self.sinks.is_empty()
            && let Some(e) = crate::analysis::for_sinks(line, kind, self.reports_to_sinks)
        {
            let e = Arc::new(e);
            // Waits a little for room (the bus keeps the rest meanwhile);
            // what still finds a sink's queue full is counted there.
            for s in &self.sinks {
                s.send_wait(&e, Duration::from_secs(1));
            }
        }
        let w: &mut dyn Write = match (kind, self.reports.as_mut()) {
            (Line::Report, Some(r)) => r.as_mut(),
            (Line::Report, None) => return,
            _ => self.out.as_mut(),
        };
        if let Err(e) = w.write_all(line).and_then(|()| w.write_all(b"\n")) {
            self.failed.get_or_insert(e);
        }
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if let Some(e) = self.failed.take() {
            anyhow::bail!("cannot write: {e}");
        }
        self.out.flush()?;
        if let Some(r) = &mut self.reports {
            r.flush()?;
        }
        Ok(())
    }
}

/// Reads the stream(s) into `stage` until stopped (or idle, with
/// `idle_exit`); `sinks` (started) get what the stage makes.
pub fn consume(
    opts: &ConsumeOptions,
    mut stage: Stage,
    sinks: Vec<sinks::Sink>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ConsumeStats> {
    let mut outputs = Outputs {
        out: writer(&opts.output)?,
        reports: match &opts.reports {
            Some(_) => Some(writer(&opts.reports)?),
            None => None,
        },
        failed: None,
        reports_to_sinks: stage.reports_to_sinks,
        sinks,
    };
    let served = match &opts.web {
        Some(w) => Some(serve(w, &mut stage)?),
        None => None,
    };
    let mut stats = ConsumeStats::default();
    let mut recent = Recent::new();
    let cpu = cpu_time::ProcessTime::try_now().ok();
    // The connection and the fetchers on a worker thread, the stage on this
    // one: reading the next batch overlaps processing this one.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let result: anyhow::Result<()> = rt.block_on(async {
        let client =
            async_nats::connect(opts.url.as_str()).await.map_err(|e| anyhow::anyhow!("nats {}: {e}", opts.url))?;
        let js = async_nats::jetstream::new(client.clone());
        // Both durables first: nothing is pulled while one is missing.
        let Some((events, whole)) =
            durable(&js, &opts.stream, &opts.subject, &opts.durable, &stop, opts.idle_exit).await?
        else {
            return Ok(());
        };
        if !whole && opts.sightings.is_none() && stage.has_multi_sensor() {
            tracing::warn!(
                subject = %opts.subject,
                "a multi_sensor rule over one partition of the events sees only its hosts' sightings; give --sightings (docs/CONFIG.md)"
            );
        }
        let mut consumers = vec![(events, Source::Events)];
        if let Some(s) = &opts.sightings {
            let Some((c, _)) = durable(&js, &s.stream, &s.subject, &s.durable, &stop, opts.idle_exit).await? else {
                return Ok(());
            };
            consumers.push((c, Source::Sightings));
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Fetched>(2);
        let (acks, to_ack) = tokio::sync::mpsc::channel::<Vec<Message>>(4);
        let acker = tokio::spawn(acker(to_ack));
        // Each consumer is read by a task of its own, a batch or two
        // ahead: a quiet stream never holds up a busy one.
        for (c, source) in &consumers {
            tokio::spawn(fetcher(c.clone(), *source, tx.clone()));
        }
        drop(tx);
        let consumers: Vec<PullConsumer> = consumers.into_iter().map(|(c, _)| c).collect();
        let watcher = opts.partition_check.map(|every| {
            let streams = std::iter::once(opts.stream.clone()).chain(opts.sightings.iter().map(|s| s.stream.clone()));
            let metrics = served.as_ref().map(|s| Arc::clone(&s.metrics));
            let first = every.min(Duration::from_secs(60));
            tokio::spawn(crate::coverage::watch(js.clone(), streams.collect(), first, every, metrics))
        });
        // Each stream's recent ids on their own: a busy events stream must
        // not push the sightings' out of a shared bound.
        let mut recent_sightings = Recent::new();
        let mut last_message = Instant::now();
        let mut last_retention = Instant::now();
        if let Some(s) = &served {
            s.metrics.set_ready();
        }
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
                Ok(Some(Err(why))) => anyhow::bail!("{why}"),
                Ok(Some(Ok((source, batch)))) => {
                    stats.batches += 1;
                    stats.first_batch.get_or_insert_with(Instant::now);
                    let (inflow, seen) = match source {
                        Source::Events => (&mut stats.events, &mut recent),
                        Source::Sightings => (&mut stats.sightings, &mut recent_sightings),
                    };
                    for m in &batch {
                        inflow.messages += 1;
                        let id = msg_id(m);
                        if !seen.first_time(id) {
                            inflow.duplicates += 1;
                            continue;
                        }
                        for event in events_of(id, &m.payload) {
                            inflow.events += 1;
                            let emit = &mut |line: &[u8], kind| outputs.write(line, kind);
                            match source {
                                Source::Events => {
                                    if let Some(s) = &served {
                                        s.live.publish(event);
                                    }
                                    stage.push(event, emit);
                                }
                                Source::Sightings => stage.push_sighting(event, emit),
                            }
                        }
                    }
                    // Acknowledged only once what the batch produced is
                    // written and committed: a crash before means
                    // redelivery (at least once), as does a failed commit
                    // (the server sends them again after its ack wait).
                    // The acks (and the drop) on the worker thread, while
                    // this one goes on with the next batch.
                    let committed = stage.commit();
                    outputs.flush()?;
                    if committed {
                        let _ = acks.send(batch).await;
                    }
                    last_message = Instant::now();
                    stats.last_batch = Some(last_message);
                    if let Some(s) = &served {
                        s.publish(&stats, &stage, &outputs.sinks);
                    }
                }
                // The fetchers ended (they report why first; a panic).
                Ok(None) => anyhow::bail!("the consumers stopped"),
                // Idle: unless a consumer still has messages on their way.
                Err(_) if opts.idle_exit.is_some_and(|d| last_message.elapsed() >= d) => {
                    if !undelivered(&consumers).await {
                        break;
                    }
                    last_message = Instant::now();
                }
                Err(_) => {}
            }
            if last_retention.elapsed() >= Duration::from_secs(60) {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as i64);
                stage.enforce_retention(now);
                last_retention = Instant::now();
            }
        }
        if let Some(w) = watcher {
            w.abort();
        }
        // The last acknowledgements leave before the runtime goes.
        drop(acks);
        let _ = tokio::time::timeout(Duration::from_secs(2), acker).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
        anyhow::Ok(())
    });
    // Whatever ended the loop, the open windows are closed and written.
    stage.finish(&mut |line, kind| outputs.write(line, kind));
    outputs.flush()?;
    let unfinished = crate::sink_plan::close_all(&mut outputs.sinks, Duration::from_secs(10));
    if !unfinished.is_empty() {
        tracing::warn!(sinks = ?unfinished, "sinks not done after 10 s; what they still held is counted as dropped");
    }
    stats.cpu_s = cpu.and_then(|c| c.try_elapsed().ok()).map_or(0.0, |d| d.as_secs_f64());
    result?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_message_holds_one_event_or_lines_of_them() {
        let lines = |id: &str, p: &[u8]| {
            super::events_of(id.as_bytes(), p).map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>()
        };
        assert_eq!(lines("s:1", b"{\"a\":1}"), ["{\"a\":1}"]);
        assert_eq!(lines("batch:s:1..s:3:3:0", b"{1}\n{2}\n{3}"), ["{1}", "{2}", "{3}"]);
        assert_eq!(lines("batch:x", b"{1}\n\n{2}\n"), ["{1}", "{2}"]);
        // Not a batch: a pretty-printed event stays whole.
        assert_eq!(lines("s:2", b"{\n  \"a\": 1\n}"), ["{\n  \"a\": 1\n}"]);
        assert!(lines("batch:x", b"").is_empty());
    }
}
