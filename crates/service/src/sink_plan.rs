//! `[[sink]]` entries checked and turned into running sinks. Checking is
//! separate from starting so `run --check` reports every mistake without
//! opening files or connecting.

use sensor::config::{FsyncPolicy, NanomsgPattern, PartitionBy, SinkEntry, SinkType, parse_size};
use sinks::Sink;
use std::path::PathBuf;
use std::time::Duration;

/// Events a sink holds when `queue` is not given.
pub const DEFAULT_QUEUE: usize = 16_384;
/// Where events go when no sink is configured.
pub const DEFAULT_JSONL: &str = "events.jsonl";

#[derive(Debug, Clone)]
pub enum Plan {
    Jsonl(sinks::jsonl::JsonlConfig),
    Nanomsg(sinks::nanomsg::NanomsgConfig),
    Nats(sinks::nats::NatsConfig),
}

#[derive(Debug, Clone)]
pub struct SinkPlan {
    pub name: String,
    pub queue: usize,
    pub plan: Plan,
}

impl SinkPlan {
    pub fn start(&self) -> anyhow::Result<Sink> {
        let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("sink {}: {e}", self.name);
        match &self.plan {
            Plan::Jsonl(c) => sinks::jsonl::spawn(&self.name, self.queue, c.clone()).map_err(|e| err(&e)),
            Plan::Nanomsg(c) => sinks::nanomsg::spawn(&self.name, self.queue, c.clone()).map_err(|e| err(&e)),
            Plan::Nats(c) => sinks::nats::spawn(&self.name, self.queue, c.clone()).map_err(|e| err(&e)),
        }
    }

    pub fn describe(&self) -> String {
        match &self.plan {
            Plan::Jsonl(c) => match &c.path {
                Some(p) => format!("{} (jsonl {})", self.name, p.display()),
                None => format!("{} (stdout)", self.name),
            },
            Plan::Nanomsg(c) => format!("{} (nanomsg {:?} {})", self.name, c.pattern, c.url),
            Plan::Nats(c) => format!("{} (nats {} stream {})", self.name, c.url, c.stream),
        }
    }
}

/// The default when no `[[sink]]` is configured: a JSONL file in the
/// working directory.
pub fn default_plans() -> Vec<SinkPlan> {
    vec![SinkPlan {
        name: "jsonl".into(),
        queue: DEFAULT_QUEUE,
        plan: Plan::Jsonl(sinks::jsonl::JsonlConfig { path: Some(DEFAULT_JSONL.into()), ..Default::default() }),
    }]
}

pub fn plans(file: &str, entries: &[SinkEntry]) -> Result<Vec<SinkPlan>, String> {
    let mut out: Vec<SinkPlan> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let type_name = match e.kind {
            SinkType::Jsonl => "jsonl",
            SinkType::Stdout => "stdout",
            SinkType::Nanomsg => "nanomsg",
            SinkType::Nats => "nats",
        };
        let at = format!("{file}: sink[{i}] (type = \"{type_name}\")");
        let only = |key: &str, given: bool, types: &[SinkType], list: &str| -> Result<(), String> {
            if given && !types.contains(&e.kind) {
                return Err(format!("{at}: {key} applies to type = {list} only; remove it"));
            }
            Ok(())
        };
        use SinkType::*;
        only("path", e.path.is_some(), &[Jsonl], "\"jsonl\"")?;
        only("rotate_size", e.rotate_size.is_some(), &[Jsonl], "\"jsonl\"")?;
        only("rotate_interval", e.rotate_interval.is_some(), &[Jsonl], "\"jsonl\"")?;
        only("keep", e.keep.is_some(), &[Jsonl], "\"jsonl\"")?;
        only("fsync", e.fsync.is_some(), &[Jsonl], "\"jsonl\"")?;
        only("url", e.url.is_some(), &[Nanomsg, Nats], "\"nanomsg\" or \"nats\"")?;
        only("pattern", e.pattern.is_some(), &[Nanomsg], "\"nanomsg\"")?;
        only("bind", e.bind.is_some(), &[Nanomsg], "\"nanomsg\"")?;
        only("stream", e.stream.is_some(), &[Nats], "\"nats\"")?;
        only("subject", e.subject.is_some(), &[Nats], "\"nats\"")?;
        only("spool", e.spool.is_some(), &[Nats], "\"nats\"")?;
        only("spool_limit", e.spool_limit.is_some(), &[Nats], "\"nats\"")?;
        only("partitions", e.partitions.is_some(), &[Nats], "\"nats\"")?;
        only("partition_by", e.partition_by.is_some(), &[Nats], "\"nats\"")?;
        only("batch", e.batch.is_some(), &[Nats], "\"nats\"")?;
        let size = |key: &str, v: &Option<String>| -> Result<Option<u64>, String> {
            v.as_deref().map(|s| parse_size(s).map_err(|m| format!("{at}: {key} = {m}"))).transpose()
        };
        let url =
            || e.url.clone().ok_or_else(|| format!("{at}: url is required (e.g. url = \"tcp://127.0.0.1:10001\")"));
        let partitioned = e.subject.as_deref().is_some_and(|s| s.contains("{partition}"));
        let plan = match e.kind {
            Jsonl => {
                let path =
                    e.path.clone().ok_or_else(|| format!("{at}: path is required (e.g. path = \"events.jsonl\")"))?;
                let rotate_interval = e
                    .rotate_interval
                    .as_deref()
                    .map(|s| intel::age::parse_duration(s).map_err(|m| format!("{at}: rotate_interval = {m}")))
                    .transpose()?;
                let rotate_size = size("rotate_size", &e.rotate_size)?;
                if rotate_size == Some(0) {
                    return Err(format!(
                        "{at}: rotate_size = 0 would rotate an empty file forever; give a size such as \"100MiB\""
                    ));
                }
                Plan::Jsonl(sinks::jsonl::JsonlConfig {
                    path: Some(path),
                    rotate_size,
                    rotate_interval,
                    keep: e.keep.unwrap_or(0),
                    fsync: match e.fsync.unwrap_or_default() {
                        FsyncPolicy::Never => sinks::jsonl::Fsync::Never,
                        FsyncPolicy::Rotate => sinks::jsonl::Fsync::Rotate,
                        FsyncPolicy::Always => sinks::jsonl::Fsync::Always,
                    },
                })
            }
            Stdout => Plan::Jsonl(sinks::jsonl::JsonlConfig::default()),
            Nanomsg => Plan::Nanomsg(sinks::nanomsg::NanomsgConfig {
                url: {
                    let u = url()?;
                    sinks::nanomsg::Endpoint::parse(&u).map_err(|e| format!("{at}: {e}"))?;
                    u
                },
                pattern: match e.pattern.unwrap_or_default() {
                    NanomsgPattern::Push => sinks::nanomsg::Pattern::Push,
                    NanomsgPattern::Pub => sinks::nanomsg::Pattern::Pub,
                },
                bind: e.bind.unwrap_or(false),
            }),
            Nats if e.partition_by == Some(PartitionBy::Indicator) && !partitioned => {
                return Err(format!(
                    "{at}: partition_by = \"indicator\" needs {{partition}} in subject (e.g. subject = \"sdn.sightings.{{partition}}\")"
                ));
            }
            Nats if e.batch == Some(0) => {
                return Err(format!("{at}: batch = 0: give the events a message holds at most (1: one a message)"));
            }
            Nats if e.partitions.is_some_and(|n| n > 1) && !partitioned => {
                return Err(format!(
                    "{at}: partitions = {} has no effect without {{partition}} in subject (e.g. subject = \"sdn.events.{{partition}}.{{kind}}.{{input}}\")",
                    e.partitions.unwrap_or(1)
                ));
            }
            Nats => Plan::Nats(sinks::nats::NatsConfig {
                url: e.url.clone().unwrap_or_else(|| "nats://127.0.0.1:4222".into()),
                stream: e.stream.clone().unwrap_or_else(|| "SDN_EVENTS".into()),
                subject: e.subject.clone().unwrap_or_else(|| "sdn.events.{kind}.{input}".into()),
                spool_dir: e.spool.clone().unwrap_or_else(|| PathBuf::from("spool/nats")),
                spool_limit: size("spool_limit", &e.spool_limit)?.unwrap_or(1 << 30),
                max_pending_acks: 256,
                batch: e.batch.unwrap_or(1),
                partitions: e.partitions.unwrap_or(1).max(1),
                partition_by: match e.partition_by.unwrap_or_default() {
                    PartitionBy::Host => sinks::nats::PartitionBy::Host,
                    PartitionBy::Indicator => sinks::nats::PartitionBy::Indicator,
                },
            }),
        };
        let name = e.name.clone().unwrap_or_else(|| {
            let same = entries[..i].iter().filter(|o| o.kind == e.kind).count();
            if same == 0 { type_name.to_string() } else { format!("{type_name}-{}", same + 1) }
        });
        if let Plan::Nats(n) = &plan
            && let Some(other) = out.iter().find(|p| matches!(&p.plan, Plan::Nats(o) if o.spool_dir == n.spool_dir))
        {
            return Err(format!(
                "{at}: spool = {:?} is sink {:?}'s spool too; give each NATS sink a directory of its own (spool = \"spool/NAME\")",
                n.spool_dir.display().to_string(),
                other.name
            ));
        }
        if out.iter().any(|p| p.name == name) {
            return Err(format!("{at}: name = {name:?} is used by another sink; give each a different name"));
        }
        out.push(SinkPlan { name, queue: e.queue.unwrap_or(DEFAULT_QUEUE).max(1), plan });
    }
    Ok(out)
}

/// Closes every sink at once (a slow one does not eat the others' time),
/// waiting at most `timeout` for their queues to drain; returns the names
/// of those that did not finish.
pub fn close_all(sinks: &mut [Sink], timeout: Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + timeout;
    for s in sinks.iter_mut() {
        s.begin_close();
    }
    sinks.iter_mut().filter_map(|s| (!s.wait_closed(deadline)).then(|| s.name().to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sink: &str) -> Result<Vec<SinkPlan>, String> {
        let c = sensor::config::Config::parse("s.toml", &format!("[[sink]]\ntype = \"nats\"\n{sink}")).unwrap();
        plans("s.toml", &c.sink)
    }

    #[test]
    fn sightings_sink() {
        let p = plan("subject = \"sdn.sightings.{partition}\"\npartitions = 4\npartition_by = \"indicator\"").unwrap();
        let Plan::Nats(n) = &p[0].plan else { panic!("not nats") };
        assert_eq!((n.partitions, n.partition_by), (4, sinks::nats::PartitionBy::Indicator));
        let e = plan("subject = \"sdn.sightings\"\npartition_by = \"indicator\"").unwrap_err();
        assert!(
            e.starts_with("s.toml: sink[0] (type = \"nats\"): partition_by = \"indicator\" needs {partition}"),
            "{e}"
        );
        assert!(plan("partition_by = \"indicator\"").is_err(), "the default subject has no {{partition}}");
        let c = sensor::config::Config::parse(
            "s.toml",
            "[[sink]]\ntype = \"jsonl\"\npath = \"x\"\npartition_by = \"host\"",
        )
        .unwrap();
        assert!(plans("s.toml", &c.sink).unwrap_err().contains("partition_by applies to type = \"nats\" only"));
        let e = plan("partitions = 2").unwrap_err();
        assert!(e.contains("partitions = 2 has no effect without {partition} in subject"), "{e}");
        // Two NATS sinks need two spools.
        let two = "[[sink]]\ntype = \"nats\"\n[[sink]]\ntype = \"nats\"\nstream = \"B\"\n";
        let c = sensor::config::Config::parse("s.toml", two).unwrap();
        let e = plans("s.toml", &c.sink).unwrap_err();
        assert!(
            e.starts_with("s.toml: sink[1] (type = \"nats\"): spool = \"spool/nats\" is sink \"nats\"'s spool too"),
            "{e}"
        );
        let c = sensor::config::Config::parse("s.toml", &format!("{two}spool = \"spool/b\"\n")).unwrap();
        assert_eq!(plans("s.toml", &c.sink).unwrap().len(), 2);
    }

    #[test]
    fn batches() {
        let p = plan("batch = 100").unwrap();
        let Plan::Nats(n) = &p[0].plan else { panic!("not nats") };
        assert_eq!(n.batch, 100);
        let p = plan("").unwrap();
        let Plan::Nats(n) = &p[0].plan else { panic!("not nats") };
        assert_eq!(n.batch, 1, "one event a message unless asked");
        let e = plan("batch = 0").unwrap_err();
        assert!(e.starts_with("s.toml: sink[0] (type = \"nats\"): batch = 0: give the events a message holds"), "{e}");
        let c = sensor::config::Config::parse("s.toml", "[[sink]]\ntype = \"jsonl\"\npath = \"x\"\nbatch = 5").unwrap();
        assert!(plans("s.toml", &c.sink).unwrap_err().contains("batch applies to type = \"nats\" only"));
    }
}
