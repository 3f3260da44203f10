//! `sdn-sensor`: a thin command line over the sensor libraries.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sdn-sensor: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
