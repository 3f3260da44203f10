//! `sdn-sensor run` and `sdn-sensor config`.

use super::{AnalyticsArgs, ConfigArgs, ConfigCommand, RunArgs};
use anyhow::Context;
use std::process::ExitCode;
use std::time::Duration;

pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let duration = match a.duration {
        Some(s) if !(s.is_finite() && s >= 0.0) => anyhow::bail!("--duration {s}: give a number of seconds >= 0"),
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    service::run::run(service::run::RunOptions {
        config: a.config,
        check: a.check,
        intel: a.intel,
        max_age: a.max_age,
        strict_intel: a.strict_intel,
        duration,
        replay: a.replay,
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn config(a: ConfigArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        ConfigCommand::Import { file, output } => {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(&file).with_context(|| format!("{name}: cannot read"))?;
            let imported = sensor::config_import::import(&name, &text)?;
            for n in &imported.notes {
                eprintln!("sdn-sensor: note: {n}");
            }
            match output {
                Some(p) => {
                    std::fs::write(&p, &imported.toml).with_context(|| format!("{}: cannot write", p.display()))?
                }
                None => print!("{}", imported.toml),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn analytics(a: AnalyticsArgs) -> anyhow::Result<ExitCode> {
    let (file, config) = match &a.config {
        Some(p) => (p.display().to_string(), sensor::config::Config::load(p)?),
        None => ("(defaults)".to_string(), Default::default()),
    };
    // Its warnings (a stream not there yet, failed fetches or acks) go to
    // stderr as `run`'s do, by `[log]`.
    service::logging::init(&config.log)?;
    let section = &config.analytics;
    let base = a.config.as_deref().and_then(std::path::Path::parent).unwrap_or(std::path::Path::new("."));
    let web = service::consume::analytics_web(&file, base, &config)?;
    let cfg = service::analysis::engine_config(&file, section).map_err(anyhow::Error::msg)?;
    let store = match service::analysis::store_config(&file, section).map_err(anyhow::Error::msg)? {
        Some(c) => Some(store::Store::open(&c)?),
        None => None,
    };
    let name = a.sensor.clone().unwrap_or_else(|| format!("analytics@{}", service::run::hostname()));
    let mut stage = service::analysis::Stage::new(cfg, &name, store);
    let sightings = match a.sightings {
        Some(_) if !stage.has_multi_sensor() => {
            eprintln!("sdn-sensor: note: --sightings ignored: {file} has no multi_sensor correlation");
            None
        }
        Some(subject) => {
            stage.split_sightings();
            Some(subject)
        }
        None => None,
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, std::sync::Arc::clone(&stop))?;
    }
    let idle_exit = match a.idle_exit {
        Some(s) if !(s.is_finite() && s > 0.0) => anyhow::bail!("--idle-exit {s}: give a number of seconds > 0"),
        s => s.map(Duration::from_secs_f64),
    };
    let partition_check = match a.partition_check {
        s if !(s.is_finite() && s >= 0.0) => {
            anyhow::bail!("--partition-check {s}: give a number of seconds (0: never)")
        }
        s => (s > 0.0).then(|| Duration::from_secs_f64(s)),
    };
    let durable = a.durable.clone().unwrap_or_else(|| {
        let s: String =
            a.subject.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        format!("analytics-{s}")
    });
    let opts = service::consume::ConsumeOptions {
        url: a.nats,
        stream: a.stream,
        subject: a.subject,
        sightings: sightings.map(|subject| service::consume::Sightings {
            stream: a.sightings_stream,
            subject,
            durable: format!("{durable}-sightings"),
        }),
        durable,
        output: a.output,
        reports: a.reports,
        idle_exit,
        web,
        partition_check,
    };
    // The configuration's sinks get the summaries, incidents and reports
    // this process makes (the events it reads are on the bus already).
    let plans = service::sink_plan::plans(&file, &config.sink).map_err(anyhow::Error::msg)?;
    let sinks = plans.iter().map(service::sink_plan::SinkPlan::start).collect::<anyhow::Result<Vec<_>>>()?;
    let stats = service::consume::consume(&opts, stage, sinks, stop)?;
    let rate = stats.rate().map_or(String::new(), |(m, e)| {
        format!(", {m:.0} messages/s ({e:.0} events/s) from the first batch to the last")
    });
    eprintln!(
        "analytics: {} messages ({} events), {} sightings, {} redeliveries dropped; {} batches, {:.2} s of CPU{rate}",
        stats.events.messages,
        stats.events.events,
        stats.sightings.events,
        stats.events.duplicates + stats.sightings.duplicates,
        stats.batches,
        stats.cpu_s
    );
    Ok(ExitCode::SUCCESS)
}
