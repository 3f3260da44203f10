//! Structured logs on stderr (tracing): text for people, JSON for log
//! shippers. `RUST_LOG` overrides `[log] level`.

use sensor::config::{LogFormat, LogSection};
use tracing_subscriber::EnvFilter;

pub fn init(cfg: &LogSection) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(s) if !s.is_empty() => EnvFilter::try_new(&s).map_err(|e| anyhow::anyhow!("RUST_LOG={s:?}: {e}"))?,
        _ => EnvFilter::try_new(&cfg.level)
            .map_err(|e| anyhow::anyhow!("log.level = {:?}: {e} (use error, warn, info, debug or trace)", cfg.level))?,
    };
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (tests running the service twice in one process) keeps
    // the first subscriber.
    let _ = match cfg.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    Ok(())
}
