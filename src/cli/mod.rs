//! Subcommands.

mod bench;
mod bench_api;
mod collect;
mod inputs;
mod intel;
mod replay;
mod report;
mod service;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "sdn-sensor",
    version,
    about = "Threat-intelligence event sensor: packets, flows and syslog matched against indicators"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse pcap/pcapng files offline: events to stdout (or -o FILE), a summary to stderr.
    Replay(ReplayArgs),
    /// Throughput benchmarks; the last stdout line is `SUITE: N UNIT/s per core`.
    Bench(BenchArgs),
    /// Inspect indicator feeds: check values, per-feed statistics, convert to CSV.
    Intel(IntelArgs),
    /// Receive flow exports (NetFlow v5/v9, IPFIX, sFlow v5) and syslog (UDP, TCP) and match them: events to stdout (or -o FILE).
    Collect(CollectArgs),
    /// The service: live capture, listeners, sinks, /metrics; embedded defaults with no --config (docs/CONFIG.md).
    Run(RunArgs),
    /// Configuration tools: convert the original sdn_sensor's JSON configuration.
    Config(ConfigArgs),
    /// The analytics stage as a NATS JetStream durable consumer: throttled events, summaries and incidents to stdout (or -o FILE); several processes share a stream by subject filter (one partition each).
    Analytics(AnalyticsArgs),
    /// A self-contained HTML report (inline CSS and SVG charts, no script, no external reference) of an analytics store for a time range: top indicators and hosts, timeline, incidents with their events.
    Report(report::ReportArgs),
}

#[derive(Debug, clap::Args)]
pub struct AnalyticsArgs {
    /// NATS server.
    #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// JetStream stream the sensors publish to.
    #[arg(long, value_name = "NAME", default_value = "SDN_EVENTS")]
    pub stream: String,
    /// Subjects this process takes, e.g. sdn.events.0.> for partition 0 of a sink with subject "sdn.events.{partition}.{kind}.{input}".
    #[arg(long, value_name = "FILTER", default_value = "sdn.events.>")]
    pub subject: String,
    /// Durable consumer name: one per partition; a restart continues where it stopped (default: analytics- and the subject).
    #[arg(long, value_name = "NAME")]
    pub durable: Option<String>,
    /// Sightings this process takes, e.g. sdn.sightings.0 for partition 0 of a sink with partition_by = "indicator" and subject "sdn.sightings.{partition}": the multi_sensor rules then run over these (split by indicator) instead of over --subject (split by host). Its durable consumer is the --durable name with "-sightings".
    #[arg(long, value_name = "FILTER")]
    pub sightings: Option<String>,
    /// JetStream stream of the sightings (best a stream of its own, whose subjects no events consumer's filter takes).
    #[arg(long, value_name = "NAME", default_value = "SDN_SIGHTINGS", requires = "sightings")]
    pub sightings_stream: String,
    /// Configuration file: its [analytics] section (window, throttle, correlations, store) and [http] (with a store: the dashboard, API and /metrics on that address).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Passing events, summaries and incidents as JSON lines to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Window reports (top-N, rates, sessions, hit statistics) to FILE.
    #[arg(long, value_name = "FILE")]
    pub reports: Option<PathBuf>,
    /// Stop after SECONDS without a message (default: until SIGINT or SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub idle_exit: Option<f64>,
    /// Name in the ids of the events this process makes (default: analytics@HOST).
    #[arg(long, value_name = "NAME")]
    pub sensor: Option<String>,
    /// Every SECONDS (the first time after at most 60), warn about subjects of the streams that hold messages no consumer takes (a partition without a process) and consumers with messages waiting that nobody reads; 0: never.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    pub partition_check: f64,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Configuration file (TOML, docs/CONFIG.md). Without it: bundled sample intel, listeners on UDP/TCP 5514 (syslog), 2055 (NetFlow), 4739 (IPFIX), 6343 (sFlow), /metrics on 127.0.0.1:8080, events to ./events.jsonl.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the configuration, feeds and filters, print a summary and exit.
    #[arg(long)]
    pub check: bool,
    /// Feeds besides the configuration's (repeatable).
    #[arg(long = "intel", value_name = "FEED", num_args = 1..)]
    pub intel: Vec<PathBuf>,
    /// A feed file older than this (36h, 7d, ...) is stale: a warning event and a log line.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_age: Option<std::time::Duration>,
    /// Treat a bad feed line as fatal instead of skipping it.
    #[arg(long)]
    pub strict_intel: bool,
    /// Stop after SECONDS (default: until SIGINT or SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Read these capture files through the whole service (rules, analytics, store, sinks) as if captured, then stop.
    #[arg(long, value_name = "CAPTURE", num_args = 1..)]
    pub replay: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Convert the original sdn_sensor JSON configuration (comments and trailing commas allowed) to TOML on stdout (or -o FILE); notes on what does not carry over go to stderr and into the file as comments.
    Import {
        #[arg(value_name = "OLD.json")]
        file: PathBuf,
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// NetFlow listen address, e.g. 0.0.0.0:2055 or [::]:9995 (repeatable). With no --netflow/--ipfix/--sflow, the configured ports (default 2055, 9995, 9996, 4739, 6343) on every address.
    #[arg(long, value_name = "ADDR")]
    pub netflow: Vec<std::net::SocketAddr>,
    /// IPFIX listen address (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub ipfix: Vec<std::net::SocketAddr>,
    /// sFlow v5 listen address (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub sflow: Vec<std::net::SocketAddr>,
    /// Syslog over UDP listen address (repeatable). With no listener named, UDP and TCP 5514.
    #[arg(long, value_name = "ADDR")]
    pub syslog_udp: Vec<std::net::SocketAddr>,
    /// Syslog over TCP (RFC 6587 octet counting or LF/NUL framing) listen address (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub syslog_tcp: Vec<std::net::SocketAddr>,
    /// Syslog over TLS (RFC 5425) listen address (repeatable); needs --tls-cert and --tls-key.
    #[arg(long, value_name = "ADDR", requires_all = ["tls_cert", "tls_key"])]
    pub syslog_tls: Vec<std::net::SocketAddr>,
    /// PEM certificate chain for --syslog-tls.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --syslog-tls.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Indicator feeds and allowlists (also `[[intel.feed]]` in --config).
    #[arg(long = "intel", value_name = "FEED", num_args = 1..)]
    pub intel: Vec<PathBuf>,
    /// Configuration file (TOML, docs/CONFIG.md): ports, exporter allowlists (sources), rules.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A feed file older than this (36h, 7d, ...) is stale: a warning event and a line on stderr.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_age: Option<std::time::Duration>,
    /// Write events to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Sensor name in events (default: the host name).
    #[arg(long, value_name = "NAME")]
    pub sensor: Option<String>,
    /// Treat a bad feed line as fatal instead of skipping it.
    #[arg(long)]
    pub strict_intel: bool,
    /// Stop after SECONDS (default: until SIGINT or SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct IntelArgs {
    #[command(subcommand)]
    pub command: IntelCommand,
    /// Feeds and allowlists (format detected from content).
    #[arg(long = "intel", value_name = "FEED", num_args = 1.., global = true)]
    pub intel: Vec<PathBuf>,
    /// Treat a bad feed line as fatal instead of skipping it.
    #[arg(long, global = true)]
    pub strict_intel: bool,
    /// stats: a feed file older than this (36h, 7d, ...) is marked stale.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub max_age: Option<std::time::Duration>,
}

/// One stderr line per bad feed line (up to the listed ones), then a
/// count of the rest: the same for every command that loads feeds.
pub(crate) fn report_feed_problems(reports: &[::intel::FeedReport]) {
    for r in reports {
        for e in &r.errors {
            eprintln!("sdn-sensor: warning: {e} (line skipped)");
        }
        if r.skipped > r.errors.len() {
            eprintln!("sdn-sensor: warning: {}: {} more bad lines not listed", r.feed, r.skipped - r.errors.len());
        }
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    ::intel::age::parse_duration(s)
}

#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// One JSON line per value: verdict (hit, suppressed, none), the matching indicators and the allowlist entries that suppress them.
    Check {
        #[arg(required = true, value_name = "VALUE")]
        values: Vec<String>,
    },
    /// One JSON line per feed (format, indicators by type, allowlist entries, bad and unsupported lines) and a total.
    Stats,
    /// Write the normalized indicator set as CSV (id,type,threat_type,ip,dns,value,feed,confidence,port).
    Convert,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Capture files (pcap or pcapng), read in the order given.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Indicator feeds and allowlists, format detected from content (also `[[intel.feed]]` in --config).
    #[arg(long = "intel", value_name = "FEED", num_args = 1..)]
    pub intel: Vec<PathBuf>,
    /// A feed file older than this (36h, 7d, ...) is stale: a warning event and a line on stderr.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_age: Option<std::time::Duration>,
    /// Write events to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Configuration file (TOML, docs/CONFIG.md): DNS and SMTP ports, dns_chain rules.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Sensor name in events (default: the host name).
    #[arg(long, value_name = "NAME")]
    pub sensor: Option<String>,
    /// Treat a bad feed line as fatal instead of skipping it.
    #[arg(long)]
    pub strict_intel: bool,
    /// No progress bar and no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Pass the events through the analytics stage on the capture's own
    /// clock (`[analytics]` in --config): throttled duplicates become
    /// `summary` events and correlations `incident` events.
    #[arg(long)]
    pub analytics: bool,
    /// With --analytics: write the window reports (top-N, rates, sessions,
    /// hit statistics) to FILE as JSON lines.
    #[arg(long, value_name = "FILE", requires = "analytics")]
    pub reports: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Suite to run: packets (decode + match), dns (DNS decode + match of
    /// every name against 1M domains), flows (NetFlow v5 and IPFIX records
    /// decoded and matched against 1M indicators), syslog (framing, parsing,
    /// tokens and matching against 1M indicators), intel (load time,
    /// memory, lookups), analytics (the engine alone, with JSON decoding,
    /// and the store's ingest) or api (latency of every web API endpoint
    /// over a store of --events synthetic events).
    #[arg(value_parser = ["packets", "dns", "flows", "syslog", "intel", "analytics", "api"])]
    pub suite: String,
    /// intel: indicator counts to load, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000_000usize, 10_000_000])]
    pub sizes: Vec<usize>,
    /// Synthetic indicators loaded (IPv4/IPv6 hosts and CIDRs).
    #[arg(long, default_value_t = 1_500_000)]
    pub indicators: usize,
    /// Frames in the in-memory corpus.
    #[arg(long, default_value_t = 16_384)]
    pub corpus: usize,
    /// Seconds per phase, split over --trials measurements.
    #[arg(long, default_value_t = 7.0)]
    pub seconds: f64,
    /// Measurements per phase, interleaved; the median is reported.
    #[arg(long, default_value_t = 7)]
    pub trials: usize,
    /// Instead of measuring, write DIR/corpus.pcap (--capture-packets frames
    /// of the same traffic mix) and DIR/feed.csv (the same indicators), for
    /// comparing `replay` with other tools on one file.
    #[arg(long, value_name = "DIR")]
    pub write_corpus: Option<std::path::PathBuf>,
    /// Frames in the written corpus.pcap.
    #[arg(long, default_value_t = 1_000_000)]
    pub capture_packets: usize,
    /// analytics: distinct source addresses streamed through the engine to
    /// check that its memory stays bounded (0 skips it).
    #[arg(long, default_value_t = 10_000_000)]
    pub distinct: u64,
    /// api: events in the store (7 days of synthetic traffic; filled once).
    #[arg(long, default_value_t = 10_000_000)]
    pub events: u64,
    /// api: the store to query; filled when missing, reused when it holds
    /// --events events (default: ~/.cache/sdn-sensor/bench-api/events-N.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<std::path::PathBuf>,
    /// api: measured requests per endpoint (after one unmeasured warm-up
    /// round of every case).
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Replay(a) => replay::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Intel(a) => intel::run(a),
        Command::Collect(a) => collect::run(a),
        Command::Run(a) => service::run(a),
        Command::Config(a) => service::config(a),
        Command::Analytics(a) => service::analytics(a),
        Command::Report(a) => report::run(a),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
