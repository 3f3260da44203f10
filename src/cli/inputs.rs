//! What `replay` and `collect` share: the configuration and feeds, the
//! event writer, stale-feed warnings, the sensor name and event ids.

use anyhow::Context;
use events::{EventIds, JsonlWriter};
use intel::{IndicatorSet, LoadOptions, load_feeds};
use sensor::app::AppConfig;
use sensor::config::FeedSpec;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub struct Loaded {
    pub app: AppConfig,
    pub feeds: Vec<FeedSpec>,
    pub set: IndicatorSet,
    /// The configuration's `[analytics]` (defaults without one), and the
    /// name its errors use.
    pub analytics: sensor::config::AnalyticsSection,
    pub config_name: String,
}

/// Reads the configuration (first: a mistake there should not wait for
/// feeds), then every feed, reporting bad lines on stderr.
pub fn load(
    intel: &[PathBuf],
    config: Option<&Path>,
    max_age: Option<Duration>,
    strict: bool,
    quiet: bool,
) -> anyhow::Result<Loaded> {
    let (app, feeds, analytics, config_name) = match config {
        Some(path) => {
            let file = path.display().to_string();
            let config = sensor::config::Config::load(path)?;
            let base = path.parent().unwrap_or(Path::new("."));
            let (app, feeds) = (config.app_config(&file)?, config.feeds(&file, base, intel, max_age)?);
            (app, feeds, config.analytics, file)
        }
        None => (
            AppConfig::default(),
            intel.iter().map(|p| FeedSpec { path: p.clone(), max_age }).collect(),
            Default::default(),
            "(defaults)".to_string(),
        ),
    };
    anyhow::ensure!(!feeds.is_empty(), "no feeds: name at least one with --intel FEED (or [[intel.feed]] in --config)");
    let paths: Vec<&Path> = feeds.iter().map(|f| f.path.as_path()).collect();
    let (set, reports) = load_feeds(&paths, LoadOptions { strict, format: None })?;
    super::report_feed_problems(&reports);
    let skipped: usize = reports.iter().map(|r| r.skipped).sum();
    if !quiet {
        eprintln!(
            "intel: {} indicators from {} feed(s){}",
            set.len(),
            reports.len(),
            if skipped > 0 { format!(", {skipped} bad line(s) skipped") } else { String::new() }
        );
    }
    Ok(Loaded { app, feeds, set, analytics, config_name })
}

pub type Writer = JsonlWriter<BufWriter<Box<dyn Write>>>;

/// Events to FILE, or stdout.
pub fn writer(output: Option<&Path>) -> anyhow::Result<Writer> {
    let out: Box<dyn Write> = match output {
        Some(p) => Box::new(File::create(p).with_context(|| format!("{}: cannot create output file", p.display()))?),
        None => Box::new(io::stdout().lock()),
    };
    Ok(JsonlWriter::new(BufWriter::with_capacity(1 << 16, out)))
}

/// One warning event (and stderr line) per feed older than its max_age.
pub fn stale_feed_warnings(feeds: &[FeedSpec], ids: &mut EventIds, writer: &mut Writer) -> io::Result<()> {
    let now = SystemTime::now();
    for f in feeds {
        if let Some((age, max)) = f.stale(now) {
            let name = f.path.display().to_string();
            eprintln!(
                "sdn-sensor: warning: {name}: feed is stale: modified {} ago, max_age {} (update the feed or raise max_age)",
                human(age),
                human(max)
            );
            writer.write(&sensor::event::stale_feed_event(ids, &name, age, max, now))?;
        }
    }
    Ok(())
}

/// `3d 4h`, `5h 2m`, `40s`: an age for people.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

pub use service::run::{hostname, id_base};
