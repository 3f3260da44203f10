//! `sdn-sensor run` and `sdn-sensor config`.

use super::{ConfigArgs, ConfigCommand, RunArgs};
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
