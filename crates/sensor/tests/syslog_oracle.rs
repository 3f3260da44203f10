//! Every syslog message of every capture with an rsyslog oracle file
//! (oracle/syslog/*.rsyslog.jsonl) parses with rsyslog's fields, message by
//! message, and the message counts equal MANIFEST.tsv's rsyslog counts.
//!
//! UDP: one message per datagram to a syslog port (514, or the port the
//! capture's tshark file was told to decode as syslog). TCP: each
//! client→server direction is reassembled by `sensor::stream::Streams`,
//! framed by one `syslog::frame::Framer` (its unterminated tail delivered at
//! FIN, as rsyslog does at connection close) and each frame parsed.
//!
//! RFC 3164 timestamps have no year: the oracle replaced rsyslog's clock
//! year by the frame's UTC year, and so does this test.

use sensor::capture::read_capture;
use sensor::stream::{FIN, RST, SYN, StreamKey, StreamLimits, Streams};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use syslog::frame::{Framer, FramerLimits};
use syslog::message::{self, TimestampKind, utc_year};
use wire::Transport;

fn testdata() -> &'static Path {
    Path::new(env!("SDN_TESTDATA"))
}

/// Oracle records known to be wrong, by (capture, line), with the reason.
/// None so far: every rsyslog record is reproduced.
const ORACLE_WRONG: &[(&str, u64, &str)] = &[];

/// One message as delivered by the framing (or one datagram).
struct Raw {
    frame: u64,
    ts_nanos: i64,
    transport: &'static str,
    bytes: Vec<u8>,
}

fn text(b: Option<&[u8]>) -> Value {
    b.map_or(Value::Null, |b| json!(String::from_utf8_lossy(b)))
}

/// `YYYY-MM-DDThh:mm:ss+00:00` of a Unix time in ns (whole seconds).
fn rfc3339_utc(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00", sod / 3600, sod / 60 % 60, sod % 60)
}

/// The fields the oracle records, from our parse.
fn fields(r: &Raw) -> Value {
    let m = message::parse(&r.bytes);
    let ts = m.timestamp.map_or(Value::Null, |t| match t.kind {
        TimestampKind::Rfc3339 => json!(String::from_utf8_lossy(t.text)),
        TimestampKind::Rfc3164 => {
            t.unix_nanos_with_year(utc_year(r.ts_nanos)).map_or(Value::Null, |n| json!(rfc3339_utc(n)))
        }
    });
    json!({
        "frame": r.frame,
        "transport": r.transport,
        "pri": m.pri_or_default(),
        "facility": m.facility(),
        "severity": m.severity(),
        "version": m.version,
        "timestamp": ts,
        "hostname": text(m.hostname),
        "app_name": text(m.app_name),
        "procid": text(m.procid),
        "msgid": text(m.msgid),
        "structured_data": text(m.structured_data),
        "msg": text(Some(m.msg)),
        "rawmsg": text(Some(m.raw)),
    })
}

/// Per TCP direction: its framer, the bytes the framer has not used yet
/// (as last offered by the stream) and the last frame that carried data.
#[derive(Default)]
struct Conn {
    framer: Option<Framer>,
    pending: Vec<u8>,
    last_frame: u64,
    last_ts: i64,
}

/// `split`: TCP payloads are pushed as segments of at most this many bytes
/// (resegmentation must not change the messages).
fn messages(capture: &Path, ports: &[u16], split: usize) -> Vec<Raw> {
    let mut out = Vec::new();
    let mut streams = Streams::new(StreamLimits::default());
    let mut conns: HashMap<StreamKey, Conn> = HashMap::new();
    let (_, r) = read_capture(
        capture,
        |p| {
            let d = wire::decode(p.link, p.data);
            let ts_nanos = p.ts_sec * 1_000_000_000 + i64::from(p.ts_nsec);
            let Some(ip) = d.ip else { return };
            match d.transport {
                Transport::Udp { dst_port, .. } if ports.contains(&dst_port) => {
                    out.push(Raw { frame: p.frame, ts_nanos, transport: "udp", bytes: d.payload.to_vec() });
                }
                Transport::Tcp { src_port, dst_port, flags, seq } if ports.contains(&dst_port) => {
                    let key = StreamKey { src: ip.src, src_port, dst: ip.dst, dst_port, context: 0 };
                    let conn = conns.entry(key).or_default();
                    if !d.payload.is_empty() {
                        conn.last_frame = p.frame;
                        conn.last_ts = ts_nanos;
                    }
                    let framer = conn.framer.get_or_insert_with(|| Framer::new(FramerLimits::default()));
                    let pending = &mut conn.pending;
                    let (frame, ts) = (conn.last_frame, conn.last_ts);
                    let mut consume = |buf: &[u8]| {
                        let used = framer.push(buf, &mut |m| {
                            out.push(Raw { frame, ts_nanos: ts, transport: "tcp", bytes: m.to_vec() })
                        });
                        pending.clear();
                        pending.extend_from_slice(&buf[used..]);
                        used
                    };
                    let now = ts_nanos.max(0) as u64;
                    let pieces = d.payload.chunks(split.max(1)).count();
                    if pieces <= 1 {
                        streams.push(key, seq, flags, d.payload, now, &mut consume);
                    } else {
                        // FIN/RST/SYN only on the last piece's flags, data flags on all.
                        let data_flags = flags & !(FIN | RST | SYN);
                        for (i, piece) in d.payload.chunks(split.max(1)).enumerate() {
                            let f = if i + 1 == pieces { flags & !SYN } else { data_flags };
                            let off = (i * split) as u32;
                            streams.push(key, seq.wrapping_add(off), f, piece, now, &mut consume);
                        }
                    }
                    if flags & (FIN | RST) != 0
                        && let Some(c) = conns.remove(&key)
                        && let Some(mut f) = c.framer
                    {
                        f.finish(&c.pending, &mut |m| {
                            out.push(Raw {
                                frame: c.last_frame,
                                ts_nanos: c.last_ts,
                                transport: "tcp",
                                bytes: m.to_vec(),
                            })
                        });
                    }
                }
                _ => {}
            }
        },
        |_| {},
    );
    r.unwrap();
    // Connections without a FIN in the capture: their tails too.
    let mut rest: Vec<_> = conns.into_values().collect();
    rest.sort_by_key(|c| c.last_frame);
    for c in rest {
        if let Some(mut f) = c.framer {
            f.finish(&c.pending, &mut |m| {
                out.push(Raw { frame: c.last_frame, ts_nanos: c.last_ts, transport: "tcp", bytes: m.to_vec() })
            });
        }
    }
    out
}

/// Ports the capture's tshark file decoded as syslog (`-d udp.port==N,syslog`), plus 514.
fn syslog_ports(tshark_file: &Path) -> Vec<u16> {
    let mut ports = vec![514];
    let Ok(t) = std::fs::read_to_string(tshark_file) else { return ports };
    let header: Value = serde_json::from_str(t.lines().next().unwrap_or("{}")).unwrap();
    for a in header["tshark_args"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if let Some(p) = a.split_once("port==").and_then(|(_, r)| r.strip_suffix(",syslog")) {
            ports.extend(p.parse::<u16>());
        }
    }
    ports
}

fn manifest_rsyslog_counts() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(testdata().join("MANIFEST.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let counts = f.get(6)?;
            let n = counts.split(';').find(|c| c.contains("(rsyslog)"))?.trim().strip_prefix("syslog_messages=")?;
            Some((f[0].to_string(), n.split(' ').next()?.parse().ok()?))
        })
        .collect()
}

const FIELDS: &[&str] = &[
    "frame",
    "transport",
    "pri",
    "facility",
    "severity",
    "version",
    "timestamp",
    "hostname",
    "app_name",
    "procid",
    "msgid",
    "structured_data",
    "msg",
    "rawmsg",
];

#[test]
fn syslog_messages_agree_with_rsyslog() {
    let dir = testdata().join("oracle/syslog");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".rsyslog.jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "oracle files missing in {}", dir.display());
    let manifest = manifest_rsyslog_counts();
    let mut failures = Vec::new();
    let (mut total, mut checked_files) = (0, 0);
    for file in &files {
        let oracle = std::fs::read_to_string(file).unwrap();
        let mut lines = oracle.lines();
        let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        let input = header["input"].as_str().unwrap().to_string();
        let records: Vec<Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(records.len() as u64, header["records"].as_u64().unwrap(), "{input}: header count");
        let tshark = file.to_string_lossy().replace(".rsyslog.jsonl", ".tshark.jsonl");
        let ports = syslog_ports(Path::new(&tshark));
        let ours = messages(&testdata().join(&input), &ports, usize::MAX);
        for split in [1, 2, 7] {
            let again: Vec<_> =
                messages(&testdata().join(&input), &ports, split).into_iter().map(|r| r.bytes).collect();
            if again != ours.iter().map(|r| r.bytes.clone()).collect::<Vec<_>>() {
                failures.push(format!("{input}: other messages with TCP payloads cut into {split}-byte segments"));
            }
        }
        match manifest.get(&input) {
            Some(&n) => {
                if ours.len() as u64 != n {
                    failures.push(format!("{input}: {} messages, MANIFEST.tsv says {n}", ours.len()))
                }
            }
            None => failures.push(format!("{input}: no rsyslog count in MANIFEST.tsv")),
        }
        if ours.len() != records.len() {
            failures.push(format!("{input}: {} messages, oracle {}", ours.len(), records.len()));
        }
        for (o, rec) in ours.iter().zip(&records) {
            let line = rec["line"].as_u64().unwrap();
            if ORACLE_WRONG.iter().any(|&(c, l, _)| c == input && l == line) {
                continue;
            }
            let v = fields(o);
            for f in FIELDS {
                if v[f] != rec[f] {
                    failures.push(format!("{input} line {line}: {f}: {} vs oracle {}", v[f], rec[f]));
                }
            }
            total += 1;
        }
        checked_files += 1;
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(checked_files, files.len());
    // 4 + 4 + 5 + 1 + 1 + 2 + 4 at the time of writing.
    assert!(total >= 21, "only {total} messages compared");
}

/// The two Zeek TCP traces: exactly their 4 (mixed framing) and 2 (LF) messages.
#[test]
fn zeek_tcp_framing() {
    for (capture, n, counted) in
        [("zeek/traces/tcp-syslog.pcap", 4, true), ("zeek/traces/tcp-syslog-nontransparent.pcap", 2, false)]
    {
        let ours = messages(&testdata().join(capture), &[514], usize::MAX);
        assert_eq!(ours.len(), n, "{capture}");
        assert!(ours.iter().all(|r| r.transport == "tcp" && r.bytes.starts_with(b"<1")), "{capture}");
        if counted {
            assert!(ours.iter().any(|r| r.bytes.ends_with(b" ")), "{capture}: octet-counted frames keep their SP");
        }
    }
}
