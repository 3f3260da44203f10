//! The configuration file (TOML), documented in docs/CONFIG.md. Unknown
//! keys are errors; every error names the file, line and column (or the
//! rule) and says what would be accepted.

use crate::app::AppConfig;
use crate::rules::{DnsRule, DnsRules, NameMatch};
pub use crate::service_config::*;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub intel: IntelSection,
    #[serde(default)]
    pub dns: DnsSection,
    #[serde(default)]
    pub smtp: SmtpSection,
    #[serde(default)]
    pub netflow: ExportSection,
    #[serde(default)]
    pub ipfix: ExportSection,
    #[serde(default)]
    pub sflow: ExportSection,
    #[serde(default)]
    pub syslog: SyslogSection,
    /// The original's `re_chain`: regular expressions over syslog messages.
    #[serde(default)]
    pub re_chain: Vec<ReChainEntry>,
    /// The original's `cidr_chain`: prefixes whose packets are reported.
    #[serde(default)]
    pub cidr_chain: Vec<CidrChainEntry>,
    /// The original's `dns_chain`: names and answer addresses to report.
    #[serde(default)]
    pub dns_chain: Vec<DnsChainEntry>,
    /// The original's `pcap_chain`: libpcap filter expressions.
    #[serde(default)]
    pub pcap_chain: Vec<PcapChainEntry>,
    #[serde(default)]
    pub run: RunSection,
    #[serde(default)]
    pub capture: Vec<CaptureEntry>,
    #[serde(default)]
    pub listen: ListenSection,
    #[serde(default)]
    pub sink: Vec<SinkEntry>,
    #[serde(default)]
    pub http: HttpSection,
    #[serde(default)]
    pub log: LogSection,
    #[serde(default)]
    pub analytics: AnalyticsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntelSection {
    /// Default `max_age` of every feed (`36h`, `7d`, ...): an older feed
    /// file is reported as stale.
    pub max_age: Option<String>,
    /// Feeds to load (besides `--intel`), each with its own `max_age`.
    pub feed: Vec<FeedEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedEntry {
    /// Relative paths are relative to the configuration file.
    pub path: std::path::PathBuf,
    pub max_age: Option<String>,
}

/// A feed to load and the age past which it is stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSpec {
    pub path: std::path::PathBuf,
    pub max_age: Option<std::time::Duration>,
}

impl FeedSpec {
    /// `(age, max_age)` when the feed file is older than its max_age.
    pub fn stale(&self, now: std::time::SystemTime) -> Option<(std::time::Duration, std::time::Duration)> {
        let fresh = intel::age::Freshness::of(&self.path, self.max_age, now);
        match (fresh.is_stale(), fresh.age, fresh.max_age) {
            (true, Some(age), Some(max)) => Some((age, max)),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsSection {
    /// UDP and TCP ports carrying DNS (either side of a flow).
    pub ports: Vec<u16>,
    /// Also match names and addresses of the authority section.
    pub match_authority: bool,
    /// Also match names and addresses of the additional section.
    pub match_additional: bool,
}

impl Default for DnsSection {
    fn default() -> Self {
        let d = AppConfig::default();
        DnsSection { ports: d.dns_ports, match_authority: d.dns_authority, match_additional: d.dns_additional }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSection {
    /// Server ports of SMTP sessions to read.
    pub ports: Vec<u16>,
}

impl Default for SmtpSection {
    fn default() -> Self {
        SmtpSection { ports: AppConfig::default().smtp_ports }
    }
}

/// A flow export input: the ports its datagrams go to and, as the
/// original's `netflow_sources` / `sflow_sources`, the exporters accepted.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportSection {
    /// Replaces the default ports when given.
    pub ports: Option<Vec<u16>>,
    /// Addresses or prefixes; empty: any exporter.
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogSection {
    /// UDP ports (in captures; also what `collect` listens on by default).
    pub udp_ports: Vec<u16>,
    /// TCP ports (RFC 6587 framing).
    pub tcp_ports: Vec<u16>,
    /// Also read defanged tokens (`hxxp://evil[.]example`).
    pub refang: bool,
    /// Stop at the first `re_chain` rule that fires (the original's way).
    pub first_match: bool,
    /// The original's `syslog_sources`; empty: any sender.
    pub sources: Vec<String>,
    /// TCP/TLS receivers: connections at once (beyond it the longest-idle
    /// TCP peer is closed; new TLS sessions are refused).
    pub max_connections: usize,
    /// Longest message kept, in octets.
    pub max_message: usize,
    /// A connection silent this long is closed (`300s`, `5m`).
    pub idle_timeout: String,
}

impl Default for SyslogSection {
    fn default() -> Self {
        let d = crate::syslogs::SyslogConfig::default();
        SyslogSection {
            udp_ports: d.udp_ports,
            tcp_ports: d.tcp_ports,
            refang: false,
            first_match: false,
            sources: Vec::new(),
            max_connections: d.tcp_limits.max_connections,
            max_message: d.tcp_limits.max_message,
            idle_timeout: format!("{}s", d.tcp_limits.idle_timeout.as_secs()),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReType {
    /// The message itself is the event.
    #[default]
    Complete,
    /// Each match (its first group when it has one) is looked up as `ioc_type`.
    Substring,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IocTypeName {
    Ip,
    Domain,
    Url,
    Email,
    Hash,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CidrChainEntry {
    pub name: String,
    /// An address or prefix (`10.0.0.0/8`, `2001:db8::/32`).
    pub cidr: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReChainEntry {
    pub name: String,
    pub regex: String,
    #[serde(rename = "type", default)]
    pub kind: ReType,
    pub ioc_type: Option<IocTypeName>,
    #[serde(default)]
    pub nocase: bool,
    #[serde(default)]
    pub inverted: bool,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MatchMode {
    #[default]
    Suffix,
    Exact,
    Substring,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsChainEntry {
    pub name: String,
    /// A DNS name, matched against question and answer names.
    pub dns: Option<String>,
    /// An address or prefix, matched against A/AAAA answers.
    pub ip: Option<String>,
    /// For `dns`: `suffix` (default), `exact` or `substring`.
    #[serde(rename = "match")]
    pub mode: Option<MatchMode>,
}

/// A configuration error, ready to print: `file:line:col: what; how to fix`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read the configuration: {e}", path.display())))?;
        Config::parse(&path.display().to_string(), &text)
    }

    /// Parses and checks a configuration; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| line_col(text, s.start)).map_or(String::new(), |(l, c)| format!(":{l}:{c}"));
            ConfigError(format!("{file}{at}: {}", e.message().trim_end()))
        })?;
        config.dns_rules(file)?;
        config.flows(file)?;
        config.syslog(file)?;
        config.cidr_rules(file)?;
        config.pcap_rules(file)?;
        config.feeds(file, Path::new("."), &[], None)?;
        Ok(config)
    }

    /// The feeds to load: those named on the command line (`extra`), then
    /// the configuration's own (relative to `base`, the configuration's
    /// directory), each with its `max_age`: the feed's entry, else
    /// `cli_max_age`, else `[intel] max_age`.
    pub fn feeds(
        &self,
        file: &str,
        base: &Path,
        extra: &[std::path::PathBuf],
        cli_max_age: Option<std::time::Duration>,
    ) -> Result<Vec<FeedSpec>, ConfigError> {
        let default = match &self.intel.max_age {
            Some(s) => {
                Some(intel::age::parse_duration(s).map_err(|e| ConfigError(format!("{file}: intel.max_age = {e}")))?)
            }
            None => None,
        };
        let fallback = cli_max_age.or(default);
        let mut out: Vec<FeedSpec> = extra.iter().map(|p| FeedSpec { path: p.clone(), max_age: fallback }).collect();
        for (i, f) in self.intel.feed.iter().enumerate() {
            let max_age = match &f.max_age {
                Some(s) => Some(intel::age::parse_duration(s).map_err(|e| {
                    ConfigError(format!("{file}: intel.feed[{i}] (path = {:?}): max_age = {e}", f.path.display()))
                })?),
                None => fallback,
            };
            let path = if f.path.is_absolute() { f.path.clone() } else { base.join(&f.path) };
            match out.iter_mut().find(|s| s.path == path) {
                Some(s) => s.max_age = max_age,
                None => out.push(FeedSpec { path, max_age }),
            }
        }
        Ok(out)
    }

    /// The application layer's settings, with the compiled `dns_chain`.
    pub fn app_config(&self, file: &str) -> Result<AppConfig, ConfigError> {
        Ok(AppConfig {
            dns_ports: self.dns.ports.clone(),
            smtp_ports: self.smtp.ports.clone(),
            dns_authority: self.dns.match_authority,
            dns_additional: self.dns.match_additional,
            dns_rules: Arc::new(self.dns_rules(file)?),
            flows: self.flows(file)?,
            syslog: self.syslog(file)?,
            cidr_rules: Arc::new(self.cidr_rules(file)?),
            pcap_rules: Arc::new(self.pcap_rules(file)?),
        })
    }

    /// Compiles the pcap_chain (loading libpcap when there is one).
    pub fn pcap_rules(&self, file: &str) -> Result<crate::rules::PcapRules, ConfigError> {
        for (i, e) in self.pcap_chain.iter().enumerate() {
            if e.filter.trim().is_empty() {
                return Err(ConfigError(format!(
                    "{file}: pcap_chain[{i}] (name = {:?}): filter is empty (it would match every frame; write e.g. \"udp port 31337\")",
                    e.name
                )));
            }
        }
        let rules = self.pcap_chain.iter().map(|e| (e.name.clone(), e.filter.clone())).collect();
        crate::rules::PcapRules::compile(rules).map_err(|e| match e {
            bpf::BpfError::Filter { name, source } => {
                let i = self.pcap_chain.iter().position(|e| e.name == name).unwrap_or(0);
                ConfigError(format!("{file}: pcap_chain[{i}] (name = {name:?}): {source}"))
            }
            other => ConfigError(format!("{file}: pcap_chain: {other}")),
        })
    }

    fn cidr_rules(&self, file: &str) -> Result<crate::rules::CidrRules, ConfigError> {
        let rules = self
            .cidr_chain
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let place = format!("{file}: cidr_chain[{i}] (name = {:?}): cidr", e.name);
                Ok((e.name.clone(), address_or_prefix(place, &e.cidr, "10.0.0.0/8")?))
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(crate::rules::CidrRules::new(rules))
    }

    fn syslog(&self, file: &str) -> Result<crate::syslogs::SyslogConfig, ConfigError> {
        use crate::syslogs::{IocType, ReRule, ReRules, RuleType};
        let mut rules = Vec::with_capacity(self.re_chain.len());
        for (i, e) in self.re_chain.iter().enumerate() {
            let at = || format!("{file}: re_chain[{i}] (name = {:?})", e.name);
            let regex =
                ReRules::compile(&e.regex, e.nocase).map_err(|m| ConfigError(format!("{}: regex {m}", at())))?;
            let kind = match (e.kind, e.ioc_type) {
                (ReType::Complete, None) => RuleType::Complete,
                (ReType::Complete, Some(_)) => {
                    return Err(ConfigError(format!(
                        "{}: ioc_type applies to type = \"substring\" only; remove it",
                        at()
                    )));
                }
                (ReType::Substring, Some(t)) => RuleType::Substring(match t {
                    IocTypeName::Ip => IocType::Ip,
                    IocTypeName::Domain => IocType::Domain,
                    IocTypeName::Url => IocType::Url,
                    IocTypeName::Email => IocType::Email,
                    IocTypeName::Hash => IocType::Hash,
                }),
                (ReType::Substring, None) => {
                    return Err(ConfigError(format!(
                        "{}: type = \"substring\" needs ioc_type (ip, domain, url, email or hash)",
                        at()
                    )));
                }
            };
            if e.inverted && e.kind == ReType::Substring {
                return Err(ConfigError(format!("{}: inverted applies to type = \"complete\" only", at())));
            }
            rules.push(ReRule { name: e.name.clone(), regex, kind, inverted: e.inverted });
        }
        let sources = sources(file, "syslog", &self.syslog.sources)?;
        let idle_timeout = intel::age::parse_duration(&self.syslog.idle_timeout)
            .map_err(|e| ConfigError(format!("{file}: syslog.idle_timeout = {e}")))?;
        if self.syslog.max_connections == 0 || self.syslog.max_message < 64 {
            return Err(ConfigError(format!(
                "{file}: syslog.max_connections must be at least 1 and syslog.max_message at least 64 (got {} and {})",
                self.syslog.max_connections, self.syslog.max_message
            )));
        }
        let tcp_limits = crate::listen_tcp::TcpLimits {
            max_connections: self.syslog.max_connections,
            max_message: self.syslog.max_message,
            idle_timeout,
            ..crate::listen_tcp::TcpLimits::default()
        };
        Ok(crate::syslogs::SyslogConfig {
            tcp_limits,
            udp_ports: self.syslog.udp_ports.clone(),
            tcp_ports: self.syslog.tcp_ports.clone(),
            refang: self.syslog.refang,
            rules: Arc::new(ReRules { rules, first_match: self.syslog.first_match }),
            sources,
        })
    }

    fn flows(&self, file: &str) -> Result<crate::flows::FlowConfig, ConfigError> {
        let d = crate::flows::FlowConfig::default();
        // IPFIX exporters are NetFlow sources too (the original had one list).
        let mut netflow_sources = sources(file, "netflow", &self.netflow.sources)?;
        netflow_sources.extend(sources(file, "ipfix", &self.ipfix.sources)?);
        Ok(crate::flows::FlowConfig {
            netflow_ports: self.netflow.ports.clone().unwrap_or(d.netflow_ports),
            ipfix_ports: self.ipfix.ports.clone().unwrap_or(d.ipfix_ports),
            sflow_ports: self.sflow.ports.clone().unwrap_or(d.sflow_ports),
            netflow_sources,
            sflow_sources: sources(file, "sflow", &self.sflow.sources)?,
        })
    }

    fn dns_rules(&self, file: &str) -> Result<DnsRules, ConfigError> {
        let mut rules = Vec::with_capacity(self.dns_chain.len());
        for (i, e) in self.dns_chain.iter().enumerate() {
            let at = || format!("{file}: dns_chain[{i}] (name = {:?})", e.name);
            let rule = match (&e.dns, &e.ip) {
                (Some(dns), None) => {
                    let pattern = dns.trim().trim_end_matches('.');
                    if pattern.is_empty() || pattern.contains(char::is_whitespace) {
                        return Err(ConfigError(format!("{}: dns = {dns:?} is not a DNS name", at())));
                    }
                    let mode = match e.mode.unwrap_or_default() {
                        MatchMode::Suffix => NameMatch::Suffix,
                        MatchMode::Exact => NameMatch::Exact,
                        MatchMode::Substring => NameMatch::Substring,
                    };
                    DnsRule::Name { name: e.name.clone(), pattern: pattern.to_string(), mode }
                }
                (None, Some(ip)) => {
                    if e.mode.is_some() {
                        return Err(ConfigError(format!("{}: `match` applies to `dns` rules only; remove it", at())));
                    }
                    let key = address_or_prefix(format!("{}: ip", at()), ip, "192.0.2.1 or 198.51.100.0/24")?;
                    DnsRule::Address { name: e.name.clone(), key }
                }
                (Some(_), Some(_)) => {
                    return Err(ConfigError(format!("{}: give either `dns` or `ip`, not both (make two rules)", at())));
                }
                (None, None) => {
                    return Err(ConfigError(format!("{}: needs `dns = \"name\"` or `ip = \"address\"`", at())));
                }
            };
            rules.push(rule);
        }
        Ok(DnsRules::new(rules))
    }
}

/// An address or prefix from the file; `place` names where it was
/// (`c.toml: syslog.sources[2]`), `example` what would be accepted.
fn address_or_prefix(place: String, v: &str, example: &str) -> Result<intel::IpKey, ConfigError> {
    intel::IpKey::parse(v)
        .ok_or_else(|| ConfigError(format!("{place} = {v:?} is not an address or prefix (write e.g. {example})")))
}

/// A `sources` list (the original's `*_sources`) of `section`.
fn sources(file: &str, section: &str, list: &[String]) -> Result<Vec<intel::IpKey>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, v)| address_or_prefix(format!("{file}: {section}.sources[{i}]"), v, "192.0.2.1 or 10.0.0.0/8"))
        .collect()
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_section() {
        let c = Config::parse(
            "t.toml",
            r#"
[dns]
ports = [53, 8053]
match_authority = true

[smtp]
ports = [25]

[[dns_chain]]
name = "c2 zone"
dns = "evil.example"

[[dns_chain]]
name = "any tunnel"
dns = "tunnel"
match = "substring"

[[dns_chain]]
name = "sinkhole"
ip = "198.51.100.0/24"
"#,
        )
        .unwrap();
        assert_eq!(c.dns.ports, [53, 8053]);
        assert!(c.dns.match_authority && !c.dns.match_additional);
        let app = c.app_config("t.toml").unwrap();
        assert_eq!(app.smtp_ports, [25]);
        let mut hit = Vec::new();
        app.dns_rules.match_name("www.evil.example", |i| hit.push(i));
        app.dns_rules.match_name("dnstunnel.example", |i| hit.push(i));
        app.dns_rules.match_addr("198.51.100.7".parse().unwrap(), |i| hit.push(i));
        assert_eq!(hit, [0, 1, 2]);
    }

    #[test]
    fn feeds_take_their_own_max_age_else_the_default() {
        let c = Config::parse(
            "t.toml",
            "[intel]\nmax_age = \"7d\"\n[[intel.feed]]\npath = \"c2.csv\"\nmax_age = \"6h\"\n[[intel.feed]]\npath = \"/abs/drop.txt\"\n",
        )
        .unwrap();
        let d = |s: u64| Some(std::time::Duration::from_secs(s));
        let feeds = c.feeds("t.toml", Path::new("/etc/sdn"), &["cli.csv".into()], None).unwrap();
        assert_eq!(
            feeds,
            [
                FeedSpec { path: "cli.csv".into(), max_age: d(7 * 86_400) },
                FeedSpec { path: "/etc/sdn/c2.csv".into(), max_age: d(6 * 3600) },
                FeedSpec { path: "/abs/drop.txt".into(), max_age: d(7 * 86_400) },
            ]
        );
        // --max-age on the command line beats the file's default only.
        let feeds = c.feeds("t.toml", Path::new("/etc/sdn"), &[], d(60)).unwrap();
        assert_eq!((feeds[0].max_age, feeds[1].max_age), (d(6 * 3600), d(60)));
        let e = Config::parse("t.toml", "[[intel.feed]]\npath = \"x\"\nmax_age = \"soon\"\n").unwrap_err().to_string();
        assert!(e.contains("intel.feed[0] (path = \"x\"): max_age = \"soon\" is not a duration"), "{e}");
    }

    #[test]
    fn syslog_limits_and_re_chain_are_checked() {
        let c = Config::parse(
            "t.toml",
            "[syslog]\nmax_connections = 10\nmax_message = 4096\nidle_timeout = \"30s\"\n[[re_chain]]\nname = \"a\"\nregex = \"x(\\\\d+)\"\ntype = \"substring\"\nioc_type = \"hash\"\n",
        )
        .unwrap();
        let app = c.app_config("t.toml").unwrap();
        let l = app.syslog.tcp_limits;
        assert_eq!((l.max_connections, l.max_message, l.idle_timeout.as_secs()), (10, 4096, 30));
        assert_eq!(app.syslog.rules.rules.len(), 1);
        let err = |text: &str| Config::parse("c.toml", text).unwrap_err().to_string();
        assert!(err("[syslog]\nidle_timeout = \"soon\"\n").contains("syslog.idle_timeout"));
        assert!(err("[syslog]\nmax_connections = 0\n").contains("max_connections must be at least 1"));
        let e = err("[[re_chain]]\nname = \"b\"\nregex = \"(a)\\\\1\"\n");
        assert!(e.contains("re_chain[0] (name = \"b\")") && e.contains("backreference"), "{e}");
        let e = err("[[re_chain]]\nname = \"c\"\nregex = \"a\"\ntype = \"substring\"\n");
        assert!(e.contains("needs ioc_type"), "{e}");
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let c = Config::parse("t.toml", "").unwrap();
        assert_eq!(c.dns.ports, [53, 5353, 5355]);
        assert!(c.dns_chain.is_empty());
    }

    #[test]
    fn errors_say_where_and_what() {
        let err = |text: &str| Config::parse("c.toml", text).unwrap_err().to_string();
        let e = err("[dns]\nport = [53]\n");
        assert!(e.starts_with("c.toml:2:1: unknown field `port`"), "{e}");
        let e = err("[[dns_chain]]\nname = \"x\"\ndns = \"a.example\"\nmatch = \"prefix\"\n");
        assert!(e.starts_with("c.toml:4:9:") && e.contains("unknown variant `prefix`"), "{e}");
        let e = err("[[dns_chain]]\nname = \"x\"\nip = \"300.1.1.1\"\n");
        assert!(e.contains("dns_chain[0] (name = \"x\")") && e.contains("198.51.100.0/24"), "{e}");
        let e = err("[[dns_chain]]\nname = \"x\"\n");
        assert!(e.contains("needs `dns"), "{e}");
        let e = err("[[dns_chain]]\nname = \"x\"\ndns = \"a\"\nip = \"192.0.2.1\"\n");
        assert!(e.contains("not both"), "{e}");
        let e = err("[dns]\nports = [70000]\n");
        assert!(e.starts_with("c.toml:2:10:"), "{e}");
    }
}
