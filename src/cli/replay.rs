//! `sdn-sensor replay CAPTURE... --intel FEED... [--config FILE] [-o FILE]`.

use super::ReplayArgs;
use anyhow::Context;
use events::{EventIds, JsonlWriter};
use indicatif::{ProgressBar, ProgressStyle};
use intel::{LoadOptions, load_feeds};
use sensor::Pipeline;
use sensor::config::FeedSpec;
use sensor::replay::replay_capture;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    // The configuration first: a mistake there should not wait for feeds.
    let (app, feeds) = match &a.config {
        Some(path) => {
            let file = path.display().to_string();
            let config = sensor::config::Config::load(path)?;
            let base = path.parent().unwrap_or(std::path::Path::new("."));
            (config.app_config(&file)?, config.feeds(&file, base, &a.intel, a.max_age)?)
        }
        None => (
            sensor::app::AppConfig::default(),
            a.intel.iter().map(|p| FeedSpec { path: p.clone(), max_age: a.max_age }).collect(),
        ),
    };
    anyhow::ensure!(!feeds.is_empty(), "no feeds: name at least one with --intel FEED (or [[intel.feed]] in --config)");
    let paths: Vec<&std::path::Path> = feeds.iter().map(|f| f.path.as_path()).collect();
    let (set, reports) = load_feeds(&paths, LoadOptions { strict: a.strict_intel, format: None })?;
    super::report_feed_problems(&reports);
    let skipped: usize = reports.iter().map(|r| r.skipped).sum();
    if !a.quiet {
        eprintln!(
            "intel: {} indicators from {} feed(s){}",
            set.len(),
            reports.len(),
            if skipped > 0 { format!(", {skipped} bad line(s) skipped") } else { String::new() }
        );
    }

    let out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(File::create(p).with_context(|| format!("{}: cannot create output file", p.display()))?),
        None => Box::new(io::stdout().lock()),
    };
    let mut writer = JsonlWriter::new(BufWriter::with_capacity(1 << 16, out));
    let sensor_name = a.sensor.clone().unwrap_or_else(hostname);
    let mut ids = EventIds::new(&sensor_name, id_base());
    // Stale feeds first: they qualify every event that follows.
    let now = SystemTime::now();
    for f in &feeds {
        let fresh = intel::age::Freshness::of(&f.path, f.max_age, now);
        if let (true, Some(age), Some(max)) = (fresh.is_stale(), fresh.age, fresh.max_age) {
            let name = f.path.display().to_string();
            eprintln!(
                "sdn-sensor: warning: {name}: feed is stale: modified {} ago, max_age {} (update the feed or raise max_age)",
                human(age),
                human(max)
            );
            writer.write(&sensor::event::stale_feed_event(&mut ids, &name, age, max, now))?;
        }
    }
    let mut pipeline = Pipeline::with_app(Arc::new(set), Some(app));

    let total_bytes: u64 = a.captures.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let bar = if !a.quiet && io::stderr().is_terminal() {
        let b = ProgressBar::new(total_bytes);
        b.set_style(
            ProgressStyle::with_template("{spinner} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };

    let started = Instant::now();
    let mut failures = 0usize;
    let mut write_error: Option<io::Error> = None;
    let mut done_before = 0u64;
    for path in &a.captures {
        bar.set_message(path.display().to_string());
        let (summary, result) = replay_capture(
            path,
            &mut pipeline,
            &mut ids,
            |ev| {
                if write_error.is_none()
                    && let Err(e) = writer.write(ev)
                {
                    write_error = Some(e);
                }
            },
            |pos| bar.set_position(done_before + pos),
        );
        done_before += std::fs::metadata(path).map(|m| m.len()).unwrap_or(summary.file_bytes);
        bar.set_position(done_before);
        if let Err(e) = result {
            failures += 1;
            bar.suspend(|| eprintln!("sdn-sensor: error: {}: {e}", path.display()));
        }
        if write_error.is_some() {
            break;
        }
    }
    bar.finish_and_clear();
    let flushed = writer.flush();
    if let Some(e) = write_error.or(flushed.err())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        anyhow::bail!("cannot write events: {e}");
    }

    if !a.quiet {
        print_summary(&pipeline, a.captures.len(), writer.written(), started.elapsed().as_secs_f64());
    }
    Ok(if failures > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_summary(p: &Pipeline, captures: usize, events: u64, secs: f64) {
    let c = &p.counters;
    let rate = if secs > 0.0 { c.packets as f64 / secs } else { 0.0 };
    eprintln!(
        "replay: {captures} capture(s), {} packets, {} bytes in {secs:.3} s ({rate:.0} packets/s)",
        c.packets, c.bytes
    );
    let links: Vec<String> = c.links().into_iter().map(|(l, n)| format!("{l} {n}")).collect();
    eprintln!("  link types: {}", if links.is_empty() { "none".to_string() } else { links.join(", ") });
    let errors: Vec<String> = c.errors().map(|(r, n)| format!("{r} {n}")).collect();
    eprintln!(
        "  decode errors: {}{}",
        c.error_total(),
        if errors.is_empty() { String::new() } else { format!(" ({})", errors.join(", ")) }
    );
    eprintln!("  non-IP frames: {}, non-first fragments: {}, tunneled: {}", c.non_ip, c.fragments, c.tunneled);
    let app_errors: Vec<String> = c.app_errors().map(|(r, n)| format!("{r} {n}")).collect();
    if !app_errors.is_empty() {
        eprintln!("  malformed application data: {}", app_errors.join(", "));
    }
    if let Some(app) = p.app() {
        let a = &app.counters;
        eprintln!(
            "  dns: {} messages ({} queries, {} responses); http: {} requests; tls: {} client hellos; smtp: {} commands, {} header addresses",
            a.dns_messages,
            a.dns_queries,
            a.dns_responses,
            a.http_requests,
            a.tls_client_hellos,
            a.smtp_commands,
            a.smtp_header_addresses
        );
        let (s, f) = (app.streams().counters(), app.defrag().counters());
        eprintln!(
            "  tcp streams: {} opened, {} gaps, {} overflows, {} evicted; ip fragments: {} datagrams rebuilt, {} timed out, {} evicted",
            s.streams_opened, s.gaps, s.overflow, s.evicted, f.completed, f.timed_out, f.evicted
        );
    }
    eprintln!(
        "  hits: {} in {} packets, {} suppressed by allowlists; events written: {events}",
        c.hits, c.packets_with_hits, c.suppressed
    );
}

/// `3d 4h`, `5h 2m`, `40s`: an age for people.
fn human(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "sensor".to_string())
}

/// Event ids continue from the start time in ms, shifted so each run has
/// 2^22 ids per millisecond of head start over the next run: ids from
/// successive runs of one sensor do not collide.
fn id_base() -> u64 {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    ms << 22
}
