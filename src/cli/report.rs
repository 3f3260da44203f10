//! `sdn-sensor report`: the self-contained HTML report of a store for a
//! time range (the same file as the dashboard's `/report`; see
//! docs/DASHBOARD.md).

use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The analytics store (`[analytics] store`), opened read-only.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Start of the range: RFC 3339 (2026-11-29T05:00:00Z) or nanoseconds since the epoch (default: the oldest stored event).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the range, exclusive (default: after the newest stored event).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Write the report to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let (from, to) = web::report::parse_range(a.from.as_deref(), a.to.as_deref()).map_err(anyhow::Error::msg)?;
    if !a.db.is_file() {
        anyhow::bail!("{}: no such store (give the [analytics] store file)", a.db.display());
    }
    let q = store::Query::open(&a.db).with_context(|| format!("{}", a.db.display()))?;
    let html = web::report::render(&q, from, to).with_context(|| format!("{}: report", a.db.display()))?;
    match &a.output {
        Some(path) => std::fs::write(path, &html).with_context(|| format!("{}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(html.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
