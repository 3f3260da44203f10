//! `sdn-sensor replay CAPTURE... --intel FEED... [--config FILE] [-o FILE]`.

use super::ReplayArgs;
use super::inputs::{self, Loaded};
use events::EventIds;
use indicatif::{ProgressBar, ProgressStyle};
use sensor::Pipeline;
use sensor::replay::replay_capture;
use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

pub fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let Loaded { app, feeds, set, analytics, config_name } =
        inputs::load(&a.intel, a.config.as_deref(), a.max_age, a.strict_intel, a.quiet)?;
    let mut writer = inputs::writer(a.output.as_deref())?;
    let sensor_name = a.sensor.clone().unwrap_or_else(inputs::hostname);
    let mut ids = EventIds::new(&sensor_name, inputs::id_base());
    // Stale feeds first: they qualify every event that follows.
    inputs::stale_feed_warnings(&feeds, &mut ids, &mut writer)?;
    let mut pipeline = Pipeline::with_app(Arc::new(set), Some(app));
    let mut stage = if a.analytics {
        let cfg = service::analysis::engine_config(&config_name, &analytics).map_err(anyhow::Error::msg)?;
        let store = match service::analysis::store_config(&config_name, &analytics).map_err(anyhow::Error::msg)? {
            Some(c) => Some(store::Store::open(&c)?),
            None => None,
        };
        Some(service::analysis::Stage::new(cfg, &sensor_name, store))
    } else {
        None
    };
    let mut reports = match &a.reports {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", p.display()))?,
        )),
        None => None,
    };
    let mut encoded: Vec<u8> = Vec::with_capacity(1024);

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
                if write_error.is_some() {
                    return;
                }
                let r = match &mut stage {
                    None => writer.write(ev),
                    Some(stage) => {
                        encoded.clear();
                        serde_json::to_writer(&mut encoded, ev).map_err(std::io::Error::other).map(|()| {
                            stage.push(&encoded, &mut |line, kind| {
                                write_line(&mut writer, reports.as_mut(), line, kind, &mut write_error)
                            })
                        })
                    }
                };
                if let Err(e) = r {
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
    if let Some(stage) = &mut stage {
        stage.finish(&mut |line, kind| write_line(&mut writer, reports.as_mut(), line, kind, &mut write_error));
    }
    if let Some(r) = &mut reports
        && let Err(e) = std::io::Write::flush(r)
    {
        anyhow::bail!("cannot write reports: {e}");
    }
    let flushed = writer.flush();
    if let Some(e) = write_error.or(flushed.err())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        anyhow::bail!("cannot write events: {e}");
    }

    if !a.quiet {
        print_summary(&pipeline, a.captures.len(), writer.written(), started.elapsed().as_secs_f64());
        if let Some(stage) = &stage {
            let s = stage.stats();
            eprintln!(
                "  analytics: {} events, {} passed, {} held back in {} summaries; {} incidents; {} windows, {} late events",
                s.events, s.passed, s.suppressed, s.summaries, s.incidents, s.windows, s.late
            );
        }
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

/// A line of the analytics stage: events to the event writer, reports to
/// the report file (dropped without one).
fn write_line(
    writer: &mut inputs::Writer,
    reports: Option<&mut std::io::BufWriter<std::fs::File>>,
    line: &[u8],
    kind: service::analysis::Line,
    error: &mut Option<io::Error>,
) {
    if error.is_some() {
        return;
    }
    let r = match (kind, reports) {
        (service::analysis::Line::Report, Some(w)) => {
            std::io::Write::write_all(w, line).and_then(|()| std::io::Write::write_all(w, b"\n"))
        }
        (service::analysis::Line::Report, None) => Ok(()),
        _ => writer.write_raw(line),
    };
    if let Err(e) = r {
        *error = Some(e);
    }
}
