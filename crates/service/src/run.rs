//! The service's life: load, start, serve until SIGINT/SIGTERM (or a
//! duration), reload on SIGHUP, stop in order (inputs first, then sinks,
//! which flush).

use crate::emit::{Emitter, SinkSet};
use crate::metrics::{Metrics, Samples};
use crate::receivers::{Processor, ReceiverSpec, Receivers, Udp};
use crate::rules::RulesSlot;
use crate::sink_plan::{self, SinkPlan};
use anyhow::Context;
use events::EventIds;
use intel::reload::{Reloader, SharedSet};
use intel::{LoadOptions, SetBuilder};
use sensor::Pipeline;
use sensor::config::{Config, FeedSpec};
use sensor::flows::ExportPort;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The sample feed `run` uses when no feed is configured.
const SAMPLE_INTEL: &str = include_str!("../../../samples/intel.csv");
const SAMPLE_INTEL_NAME: &str = "bundled:samples/intel.csv";

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub config: Option<PathBuf>,
    /// Validate the configuration and feeds, then exit.
    pub check: bool,
    /// Feeds besides the configuration's.
    pub intel: Vec<PathBuf>,
    pub max_age: Option<Duration>,
    pub strict_intel: bool,
    /// Stop after this long (tests, soak runs).
    pub duration: Option<Duration>,
    /// Capture files read as if captured (on their own clock), through the
    /// whole service (rules, analytics, store, sinks); the service stops
    /// when they are read.
    pub replay: Vec<PathBuf>,
}

/// Everything read from the configuration, checked.
pub struct Loaded {
    pub file: String,
    pub config: Config,
    pub app: sensor::app::AppConfig,
    pub feeds: Vec<FeedSpec>,
    pub sinks: Vec<SinkPlan>,
    pub receivers: ReceiverSpec,
    pub sensor: String,
    pub memory_limit: Option<u64>,
    /// `[analytics] enabled`: the engine's configuration and the store's.
    pub analytics: Option<(analytics::Config, Option<store::StoreConfig>)>,
    /// `[http]` token and basic auth for the dashboard and API.
    pub web_auth: web::auth::AuthConfig,
}

pub fn load(opts: &RunOptions) -> anyhow::Result<Loaded> {
    let (file, config) = match &opts.config {
        Some(p) => (p.display().to_string(), Config::load(p)?),
        None => ("(embedded defaults)".to_string(), Config::embedded()),
    };
    let base = opts.config.as_deref().and_then(Path::parent).unwrap_or(Path::new("."));
    let app = config.app_config(&file)?;
    let feeds = config.feeds(&file, base, &opts.intel, opts.max_age)?;
    let sinks = if config.sink.is_empty() {
        sink_plan::default_plans()
    } else {
        sink_plan::plans(&file, &config.sink).map_err(anyhow::Error::msg)?
    };
    let l = &config.listen;
    let mut udp: Vec<(Udp, std::net::SocketAddr)> = Vec::new();
    udp.extend(l.netflow.iter().chain(&l.ipfix).map(|&s| (Udp::Export(ExportPort::Netflow), s)));
    udp.extend(l.sflow.iter().map(|&s| (Udp::Export(ExportPort::Sflow), s)));
    udp.extend(l.syslog_udp.iter().map(|&s| (Udp::Syslog, s)));
    if !l.syslog_tls.is_empty() && (l.tls_cert.is_none() || l.tls_key.is_none()) {
        anyhow::bail!("{file}: listen.syslog_tls needs listen.tls_cert and listen.tls_key (PEM files)");
    }
    let receivers = ReceiverSpec {
        udp,
        tcp: l.syslog_tcp.clone(),
        tls: l.syslog_tls.clone(),
        tls_cert: l.tls_cert.as_ref().map(|p| base.join(p)),
        tls_key: l.tls_key.as_ref().map(|p| base.join(p)),
        limits: app.syslog.tcp_limits,
        udp_queue: l.udp_queue,
    };
    let web_auth = crate::http::web_auth(&file, base, &config.http)?;
    let memory_limit = config
        .run
        .memory_limit
        .as_deref()
        .map(|s| sensor::config::parse_size(s).map_err(|m| anyhow::anyhow!("{file}: run.memory_limit = {m}")))
        .transpose()?;
    for (i, c) in config.capture.iter().enumerate() {
        sensor::config::parse_size(&c.ring_size)
            .map_err(|m| anyhow::anyhow!("{file}: capture[{i}] (interface = {:?}): ring_size = {m}", c.interface))?;
        anyhow::ensure!(
            (1..=64).contains(&c.workers),
            "{file}: capture[{i}] (interface = {:?}): workers = {} (use 1 to 64)",
            c.interface,
            c.workers
        );
    }
    let sensor = config.run.sensor.clone().unwrap_or_else(hostname);
    // Checked even when off, so `--check` finds a mistake before it is
    // switched on.
    let engine = crate::analysis::engine_config(&file, &config.analytics).map_err(anyhow::Error::msg)?;
    let store = crate::analysis::store_config(&file, &config.analytics).map_err(anyhow::Error::msg)?;
    let analytics = config.analytics.enabled.then_some((engine, store));
    Ok(Loaded { file, config, app, feeds, sinks, receivers, sensor, memory_limit, analytics, web_auth })
}

/// Loads the feeds (the bundled sample when none is configured).
fn load_intel(feeds: &[FeedSpec], strict: bool) -> anyhow::Result<(intel::IndicatorSet, Vec<intel::FeedReport>)> {
    let opts = LoadOptions { strict, format: None };
    if feeds.is_empty() {
        let mut b = SetBuilder::new();
        let report = intel::feeds::load_text(SAMPLE_INTEL_NAME, SAMPLE_INTEL, &mut b, opts)?;
        return Ok((b.build(), vec![report]));
    }
    let paths: Vec<&Path> = feeds.iter().map(|f| f.path.as_path()).collect();
    Ok(intel::load_feeds(&paths, opts)?)
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "sensor".to_string())
}

/// Event ids continue from the start time in ms, shifted so each run has
/// 2^22 ids per millisecond of head start over the next run.
pub fn id_base() -> u64 {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    ms << 22
}

pub fn run(opts: RunOptions) -> anyhow::Result<()> {
    // Signals first: a SIGHUP while the feeds load must not kill the
    // process (its default action), and a second SIGINT/SIGTERM exits at
    // once when a graceful stop hangs.
    let stop = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))?;
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&stop))?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let loaded = load(&opts)?;
    crate::logging::init(&loaded.config.log)?;
    let (set, reports) = load_intel(&loaded.feeds, opts.strict_intel)?;
    for r in &reports {
        for e in &r.errors {
            tracing::warn!("{e} (line skipped)");
        }
        if r.skipped > r.errors.len() {
            tracing::warn!(feed = %r.feed, "{} more bad lines not listed", r.skipped - r.errors.len());
        }
    }
    let indicators = set.len();
    if opts.check {
        println!(
            "{}: ok: {} indicators from {} feed(s); {} sink(s): {}; {} capture interface(s); {} listener(s)",
            loaded.file,
            indicators,
            reports.len(),
            loaded.sinks.len(),
            loaded.sinks.iter().map(SinkPlan::describe).collect::<Vec<_>>().join(", "),
            loaded.config.capture.len(),
            loaded.receivers.udp.len() + loaded.receivers.tcp.len() + loaded.receivers.tls.len(),
        );
        return Ok(());
    }
    tracing::info!(indicators, feeds = reports.len(), config = %loaded.file, "intel loaded");
    let shared = SharedSet::new(set, reports);
    let metrics = Arc::new(Metrics::default());
    let started = Instant::now();

    // Inputs open with the privileges they need (raw sockets, low ports)...
    let rings = crate::capture_worker::open(&loaded)?;
    let receivers = if loaded.receivers.is_empty() { None } else { Some(Receivers::bind(&loaded.receivers)?) };
    if let Some(r) = &receivers {
        tracing::info!("listening on {}", r.describe().join(", "));
    }
    // (/healthz says 503 until everything below runs.)
    let (api, live) = match loaded.analytics.as_ref().and_then(|(_, s)| s.as_ref()) {
        // The stage creates the store; open it first so the API's reader
        // finds the schema.
        Some(c) => {
            drop(store::Store::open(c)?);
            let live = web::live::LiveFeed::new(web::live::DEFAULT_CAPACITY, web::live::KEEP_ALIVE);
            crate::http::live_metrics(&metrics, &live);
            let options = web::WebOptions {
                db: c.path.clone(),
                auth: loaded.web_auth.clone(),
                status: Some(crate::web_hooks::status(
                    Arc::clone(&metrics),
                    Some(Arc::clone(&shared)),
                    loaded.feeds.clone(),
                    "run",
                    Some(loaded.sensor.clone()),
                    started,
                )),
                intel_check: Some(crate::web_hooks::check(Arc::clone(&shared))),
                live: Some(Arc::clone(&live)),
            };
            (Some(web::routes(options)?), Some(live))
        }
        None => (None, None),
    };
    let http = crate::http::serve(loaded.config.http.listen, Arc::clone(&metrics), api)?;
    tracing::info!(listen = %http.local_addr, "http: /metrics");
    if let Some(user) = &loaded.config.run.user {
        capture::drop_privileges(user).with_context(|| format!("{}: run.user = {user:?}", loaded.file))?;
        tracing::info!(user = %user, "privileges dropped");
    }
    // ...and files are written as the user the service runs as.
    let mut sink_list = Vec::with_capacity(loaded.sinks.len());
    for p in &loaded.sinks {
        sink_list.push(p.start()?);
        tracing::info!(sink = %p.describe(), "sink started");
    }
    let outputs: SinkSet = Arc::new(sink_list);
    // With analytics on, the sensor's threads queue on the stage, which
    // queues what passes (and its summaries and incidents) on the sinks.
    let sinks: SinkSet = match &loaded.analytics {
        Some((engine, store_cfg)) => {
            let store = match store_cfg {
                Some(c) => Some(store::Store::open(c).with_context(|| format!("{}: analytics.store", loaded.file))?),
                None => None,
            };
            let worker = crate::analysis::StageWorker {
                stage: {
                    let mut stage = crate::analysis::Stage::new(engine.clone(), &loaded.sensor, store);
                    stage.set_live(live.clone());
                    // Live traffic does not wait for SQLite (drops counted);
                    // a replay keeps every line.
                    stage.set_store_lossy(opts.replay.is_empty());
                    stage.reports_to_sinks = loaded.config.analytics.reports_to_sinks;
                    stage
                },
                downstream: Arc::clone(&outputs),
                metrics: Some(Arc::clone(&metrics)),
                // Offline input keeps its own clock: no wall-clock windows.
                live: opts.replay.is_empty(),
            };
            tracing::info!(store = ?store_cfg.as_ref().map(|c| c.path.display().to_string()), "analytics stage started");
            let stage = sinks::Sink::spawn("analytics", sink_plan::DEFAULT_QUEUE * 4, Box::new(worker))?;
            // Events keep their host key through the stage when a sink
            // partitions by it.
            let stage = if outputs.iter().any(|s| s.wants_key()) { stage.with_key() } else { stage };
            Arc::new(vec![stage])
        }
        None => Arc::clone(&outputs),
    };
    {
        let s = Arc::downgrade(&outputs);
        metrics.collect(move |out| {
            if let Some(s) = s.upgrade() {
                crate::emit::sink_samples(&s, out);
            }
        });
    }
    if loaded.analytics.is_some() {
        // Weak: at shutdown the sinks are taken back to be closed.
        let s = Arc::downgrade(&sinks);
        metrics.collect(move |out| {
            if let Some(s) = s.upgrade() {
                crate::emit::sink_samples(&s, out);
            }
        });
    }
    intel_metrics(&metrics, &shared, &loaded.feeds, loaded.memory_limit, started);

    let rules = Arc::new(RulesSlot::new(loaded.app.clone(), opts.config.as_deref()));
    let mut threads: Vec<(String, JoinHandle<()>)> = Vec::new();
    let base = id_base();
    // Stripes of event ids: one per capture worker, then the replay
    // thread's, the last for the stale-feed warnings and the receivers.
    let members = rings.len() as u64 + 2;
    let mut recv_ids = EventIds::striped(&loaded.sensor, base, members - 1, members);
    {
        let mut main_emitter = Emitter::new(Arc::clone(&sinks)).with_live(live.clone());
        stale_feed_warnings(&loaded.feeds, &mut recv_ids, &mut main_emitter);
        let mut v = Vec::new();
        main_emitter.samples(&mut Samples { out: &mut v, labels: vec![("component", "main".to_string())] });
        metrics.publish("main", v);
    }
    crate::capture_worker::spawn(
        rings,
        &loaded.sensor,
        &shared,
        &rules,
        &sinks,
        &live,
        &metrics,
        &stop,
        base,
        members,
        &mut threads,
    )?;
    let replay_done = Arc::new(AtomicBool::new(opts.replay.is_empty()));
    if !opts.replay.is_empty() {
        let (shared, rules, sinks, done, stop) =
            (Arc::clone(&shared), Arc::clone(&rules), Arc::clone(&sinks), Arc::clone(&replay_done), Arc::clone(&stop));
        let files = opts.replay.clone();
        let mut ids = EventIds::striped(&loaded.sensor, base, members - 2, members);
        let metrics = Arc::clone(&metrics);
        let live = live.clone();
        let t = std::thread::Builder::new().name("replay".into()).spawn(move || {
            let mut emitter = Emitter::new(sinks).with_live(live);
            // Files are read faster than sinks write: wait for room
            // instead of dropping.
            emitter.wait = Duration::from_secs(60);
            let (_, app) = rules.current();
            let mut pipeline = Pipeline::with_shared_app(shared, Some(app));
            for f in &files {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (_, r) = sensor::replay::replay_capture(f, &mut pipeline, &mut ids, |e| emitter.emit(e), |_| {});
                if let Err(e) = r {
                    tracing::error!(capture = %f.display(), error = %e, "capture not read to the end");
                }
            }
            let mut v = Vec::new();
            let mut s = Samples { out: &mut v, labels: vec![("component", "replay".to_string())] };
            crate::stats::pipeline_samples(&pipeline, &mut s);
            emitter.samples(&mut s);
            metrics.publish("replay", v);
            tracing::info!(captures = files.len(), "replay done");
            done.store(true, Ordering::Release);
        })?;
        threads.push(("replay".into(), t));
    }
    if let Some(receivers) = receivers {
        let (shared, rules, metrics, stop) =
            (Arc::clone(&shared), Arc::clone(&rules), Arc::clone(&metrics), Arc::clone(&stop));
        let emitter = Emitter::new(Arc::clone(&sinks)).with_live(live.clone());
        let t = std::thread::Builder::new()
            .name("receivers".into())
            .spawn(move || receive(&receivers, &shared, &rules, emitter, &metrics, &stop, recv_ids))?;
        threads.push(("receivers".into(), t));
    }

    // Feeds from files reload on change and on SIGHUP; rules on SIGHUP.
    let reloader = (!loaded.feeds.is_empty()).then(|| {
        let paths: Vec<PathBuf> = loaded.feeds.iter().map(|f| f.path.clone()).collect();
        Reloader::spawn(
            Arc::clone(&shared),
            paths,
            LoadOptions { strict: opts.strict_intel, format: None },
            Duration::from_secs(2),
        )
    });
    metrics.set_ready();
    tracing::info!(sensor = %loaded.sensor, "running");
    let deadline = opts.duration.map(|d| started + d);
    let mut warned_memory = false;
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        if !opts.replay.is_empty() && replay_done.load(Ordering::Acquire) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        if hup.swap(false, Ordering::AcqRel) {
            tracing::info!("SIGHUP: reloading intel and rules");
            if let Some(r) = &reloader {
                r.request();
            }
            match &opts.config {
                Some(path) => match rules.reload(path) {
                    Ok(Some(g)) => tracing::info!(generation = g, "rules reloaded"),
                    Ok(None) => tracing::info!("configuration unchanged: rules kept"),
                    Err(e) => tracing::error!(error = %e, "rules not reloaded; the previous rules stay"),
                },
                None => tracing::info!("no configuration file: rules unchanged"),
            }
        }
        if let Some(limit) = loaded.memory_limit {
            let (rss, _) = crate::stats::memory();
            if rss > limit && !warned_memory {
                tracing::warn!(rss, limit, "resident memory above run.memory_limit");
                warned_memory = true;
            }
        }
    }
    tracing::info!("stopping: draining inputs, then flushing sinks");
    stop.store(true, Ordering::Relaxed);
    for (name, t) in threads {
        if t.join().is_err() {
            tracing::error!(thread = %name, "thread panicked");
        }
    }
    drop(reloader);
    // Every thread holding the sinks has been joined.
    if loaded.analytics.is_some() {
        // The stage first: its last summaries go to the sinks before they
        // close. It has all its input, so it ends; a second signal exits
        // at once should it not.
        let mut stage = take_back(sinks).ok_or_else(|| anyhow::anyhow!("internal: stage still shared at shutdown"))?;
        for name in sink_plan::close_all(&mut stage, Duration::from_secs(600)) {
            tracing::warn!(sink = %name, "the analytics stage did not finish within 10 min");
        }
    } else {
        drop(sinks);
    }
    let mut sinks = take_back(outputs).ok_or_else(|| anyhow::anyhow!("internal: sinks still shared at shutdown"))?;
    let late = sink_plan::close_all(&mut sinks, Duration::from_secs(10));
    for name in late {
        tracing::warn!(sink = %name, "sink did not finish flushing within 10 s");
    }
    for s in &sinks {
        let st = s.stats();
        tracing::info!(
            sink = %s.name(),
            delivered = sinks::SinkStats::get(&st.delivered),
            dropped = sinks::SinkStats::get(&st.queue_full),
            failed = sinks::SinkStats::get(&st.failed),
            "sink closed"
        );
    }
    // Last: /metrics stays up until the sinks are flushed.
    drop(http);
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "stopped");
    Ok(())
}

/// The receivers' thread: one pipeline for every listener. After the stop
/// it goes on for up to a second with what is already queued, so a steady
/// sender cannot hold the exit.
fn receive(
    receivers: &Receivers,
    shared: &Arc<SharedSet>,
    rules: &RulesSlot,
    mut emitter: Emitter,
    metrics: &Metrics,
    stop: &AtomicBool,
    mut ids: EventIds,
) {
    let (mut generation, app) = rules.current();
    let mut pipeline = Pipeline::with_shared_app(Arc::clone(shared), Some(app));
    let mut last = Instant::now();
    let mut received = 0u64;
    let mut stopping_since: Option<Instant> = None;
    loop {
        if stopping_since.is_none() && stop.load(Ordering::Relaxed) {
            stopping_since = Some(Instant::now());
        }
        if let Some((g, app)) = rules.newer(generation) {
            generation = g;
            pipeline.replace_app(app);
        }
        let rule_set = pipeline.rule_set();
        let mut p = Processor { pipeline, ids, rules: rule_set, out: &mut emitter, received: 0 };
        // Up to ~50 ms of work between looks at the flags.
        let until = Instant::now() + Duration::from_millis(50);
        let mut handled = 0;
        while Instant::now() < until {
            let n = receivers.pass(Duration::from_millis(20), &mut p);
            handled += n;
            if n == 0 && stopping_since.is_some() {
                break;
            }
        }
        (pipeline, ids) = (p.pipeline, p.ids);
        received += p.received;
        let done = stopping_since.is_some_and(|t| handled == 0 || t.elapsed() >= Duration::from_secs(1));
        if last.elapsed() >= Duration::from_secs(1) || done {
            let mut v = Vec::new();
            let mut s = Samples { out: &mut v, labels: vec![("component", "receivers".to_string())] };
            crate::stats::pipeline_samples(&pipeline, &mut s);
            emitter.samples(&mut s);
            s.counter("sdn_received_total", "Datagrams and messages the listeners handed to the pipeline.", received);
            receivers.samples(&mut v);
            metrics.publish("receivers", v);
            last = Instant::now();
        }
        if done {
            return;
        }
    }
}

fn stale_feed_warnings(feeds: &[FeedSpec], ids: &mut EventIds, emitter: &mut Emitter) {
    let now = SystemTime::now();
    for f in feeds {
        if let Some((age, max)) = f.stale(now) {
            let name = f.path.display().to_string();
            tracing::warn!(feed = %name, age_s = age.as_secs(), max_age_s = max.as_secs(), "feed is stale");
            emitter.emit(&sensor::event::stale_feed_event(ids, &name, age, max, now));
        }
    }
}

/// Intel generation and feed ages, process memory, uptime: read at scrape
/// time.
fn intel_metrics(
    metrics: &Metrics,
    shared: &Arc<SharedSet>,
    feeds: &[FeedSpec],
    memory_limit: Option<u64>,
    started: Instant,
) {
    let shared = Arc::clone(shared);
    let feeds: Vec<FeedSpec> = feeds.to_vec();
    metrics.collect(move |out| {
        let st = shared.status();
        let mut s = Samples { out, labels: Vec::new() };
        s.gauge(
            "sdn_intel_generation",
            "Generation of the indicator set in use (1 for the first).",
            st.generation as f64,
        );
        s.gauge("sdn_intel_indicators", "Indicators in the set in use.", shared.load().len() as f64);
        s.counter(
            "sdn_intel_reload_failures_total",
            "Reloads that failed (the previous set stayed).",
            st.failed_attempts,
        );
        if let Some(at) = st.loaded_at {
            let age = SystemTime::now().duration_since(at).unwrap_or_default();
            s.gauge("sdn_intel_set_age_seconds", "Seconds since the set in use was loaded.", age.as_secs_f64());
        }
        let now = SystemTime::now();
        for f in &feeds {
            let fresh = intel::age::Freshness::of(&f.path, f.max_age, now);
            let name = f.path.display().to_string();
            if let Some(age) = fresh.age {
                s.push(
                    "sdn_intel_feed_age_seconds",
                    "Seconds since the feed file was modified.",
                    crate::metrics::Type::Gauge,
                    &[("feed", &name)],
                    age.as_secs_f64(),
                );
            }
            s.push(
                "sdn_intel_feed_stale",
                "1 when the feed is older than its max_age.",
                crate::metrics::Type::Gauge,
                &[("feed", &name)],
                if fresh.is_stale() { 1.0 } else { 0.0 },
            );
        }
        for r in &st.reports {
            s.push(
                "sdn_intel_feed_indicators",
                "Indicators loaded from each feed.",
                crate::metrics::Type::Gauge,
                &[("feed", &r.feed)],
                r.loaded as f64,
            );
            s.push(
                "sdn_intel_feed_skipped_lines",
                "Bad lines skipped in each feed.",
                crate::metrics::Type::Gauge,
                &[("feed", &r.feed)],
                r.skipped as f64,
            );
        }
        let (rss, peak) = crate::stats::memory();
        s.gauge("sdn_process_resident_bytes", "Resident memory.", rss as f64);
        s.gauge("sdn_process_resident_peak_bytes", "Peak resident memory.", peak as f64);
        if let Some(l) = memory_limit {
            s.gauge("sdn_process_memory_limit_bytes", "run.memory_limit.", l as f64);
        }
        s.gauge("sdn_uptime_seconds", "Seconds since start.", started.elapsed().as_secs_f64());
    });
}

/// The sinks back from their `Arc` once every thread is joined; a /metrics
/// scrape may hold a reference for a moment, so this retries for a second.
fn take_back(mut sinks: SinkSet) -> Option<Vec<sinks::Sink>> {
    for _ in 0..200 {
        match Arc::try_unwrap(sinks) {
            Ok(s) => return Some(s),
            Err(shared) => sinks = shared,
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}
