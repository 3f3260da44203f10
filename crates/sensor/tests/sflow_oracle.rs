//! sFlow v5: every sample of every capture with a tshark oracle file
//! (oracle/sflow/*.tshark.jsonl) decodes as tshark decoded it, sample by
//! sample in order; the sfacctd files agree on flow totals, flow aggregates
//! and counter records; the counts equal MANIFEST.tsv. Where an oracle is
//! wrong (oracle/README.md, "Known oracle quirks") the table [`QUIRKS`] says
//! so and what is checked instead.

use flow::sflow::{self, CounterRecordView, Datagram, FlowRecordView, FlowSample, Sample, SflowError};
use sensor::capture::read_capture;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

fn testdata() -> &'static Path {
    Path::new(env!("SDN_TESTDATA"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuirkKind {
    /// Not sFlow at all: the datagram must be rejected as a bad version,
    /// and tshark has no line for it.
    NotSflow,
    /// tshark does not skip an unknown counter record by its length and
    /// misreads the records after it (flagging the sample malformed). The
    /// record list is compared with tcpdump's `-v` output instead (the
    /// `.out` file beside the capture), the sample must not be malformed,
    /// and everything else is compared with tshark.
    TsharkMisreadsRecords,
}

struct Quirk {
    capture: &'static str,
    frames: &'static [u64],
    kind: QuirkKind,
    why: &'static str,
}

const QUIRKS: &[Quirk] = &[
    Quirk {
        capture: "tcpdump/sflow_multiple_counter_30_pdus.pcap",
        frames: &[13, 19, 20, 21, 22],
        kind: QuirkKind::NotSflow,
        why: "NetFlow v5 headers sent to UDP 6343 (tshark: data; tcpdump: version 327681 not supported)",
    },
    Quirk {
        capture: "tcpdump/sflow_multiple_counter_30_pdus.pcap",
        frames: &[12, 18],
        kind: QuirkKind::TsharkMisreadsRecords,
        why: "tshark 4.0 does not skip unknown counter record format 2001 by its length and reads the \
              following host-sFlow records (2005, 2004, ...) as a bogus '100 Base VG' record (format 4)",
    },
];

fn quirk(capture: &str, frame: u64) -> Option<&'static Quirk> {
    QUIRKS.iter().find(|q| q.capture == capture && q.frames.contains(&frame))
}

fn mac(m: Option<[u8; 6]>) -> Value {
    m.map_or(Value::Null, |m| json!(m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")))
}

/// What one capture decodes to, in the oracle's terms.
#[derive(Default)]
struct Decoded {
    /// One object per sample (or undecodable datagram), as the tshark file.
    samples: Vec<Value>,
    /// Frames rejected as not sFlow, with their error.
    rejected: Vec<(u64, SflowError)>,
    sflow_datagrams: u64,
    malformed_datagrams: u64,
    flow_samples: u64,
    counter_samples: u64,
    /// sfacctd's view: aggregate key -> (packets, bytes).
    aggregates: BTreeMap<String, (u64, u64)>,
    packets: u64,
    bytes: u64,
    /// sfacctd's view: one line per counter record.
    counter_lines: Vec<String>,
    /// Frames with the quirk [`QuirkKind::TsharkMisreadsRecords`] whose
    /// records walked cleanly.
    clean_walks: Vec<u64>,
}

fn interface_fields(s: &FlowSample<'_>, o: &mut Map<String, Value>) {
    let (i, out) = (s.input(), s.output());
    if s.is_expanded() {
        o.insert("input_if_format".into(), json!(i.format));
        o.insert("input_if".into(), json!(i.value));
    } else {
        // tshark shows a compact input interface as the raw word.
        o.insert("input_if_format".into(), Value::Null);
        o.insert("input_if".into(), json!(i.to_compact()));
    }
    o.insert("output_if_format".into(), json!(out.format));
    o.insert("output_if".into(), json!(out.value));
}

fn gateway_json(r: &FlowRecordView<'_>) -> Value {
    let FlowRecordView::ExtendedGateway {
        next_hop,
        as_,
        src_as,
        src_peer_as,
        dst_as_path,
        communities,
        local_pref,
        ..
    } = *r
    else {
        return Value::Null;
    };
    // tshark names the community values `dstAS` too: one list, path first.
    let mut listed: Vec<u32> = dst_as_path.flat_map(|seg| seg.ases.iter()).collect();
    listed.extend(communities.iter());
    json!({
        "next_hop": next_hop.to_string(), "as": as_, "src_as": src_as, "src_peer_as": src_peer_as,
        "segments": dst_as_path.len(), "segment_types": dst_as_path.map(|s| s.kind).collect::<Vec<_>>(),
        "dst_as_and_communities": listed, "communities": communities.len(), "local_pref": local_pref,
    })
}

/// Our decode of one flow sample; `errors` collects walk errors.
fn flow_sample(s: &FlowSample<'_>, o: &mut Map<String, Value>, errors: &mut Vec<SflowError>) {
    o.insert("sample_seq".into(), json!(s.sequence()));
    o.insert("source_id_type".into(), json!(s.source_id_type()));
    o.insert("source_id_index".into(), json!(s.source_id_index()));
    o.insert("sampling_rate".into(), json!(s.sampling_rate()));
    o.insert("sample_pool".into(), json!(s.sample_pool()));
    o.insert("drops".into(), json!(s.drops()));
    interface_fields(s, o);
    let rec = s.flow_record();
    let mut records = Vec::new();
    let mut header = Value::Null;
    let mut switch_vlan = None;
    for r in s.records() {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                break;
            }
        };
        let mut j = match r {
            FlowRecordView::Other { enterprise, format, .. } => json!({"format": format, "enterprise": enterprise}),
            _ => json!({"enterprise": 0}),
        };
        match r {
            FlowRecordView::RawHeader { protocol, frame_length, stripped, header: h } => {
                j["format"] = json!(1);
                if header.is_null() {
                    header = json!({
                        "header_protocol": protocol, "frame_length": frame_length, "stripped": stripped,
                        "header_length": h.len(),
                    });
                }
            }
            FlowRecordView::ExtendedSwitch { src_vlan, src_priority, dst_vlan, dst_priority } => {
                j["format"] = json!(1001);
                j["src_vlan"] = json!(src_vlan);
                j["dst_vlan"] = json!(dst_vlan);
                j["src_priority"] = json!(src_priority);
                j["dst_priority"] = json!(dst_priority);
                switch_vlan = Some(src_vlan);
            }
            FlowRecordView::ExtendedRouter { next_hop, src_mask, dst_mask } => {
                j["format"] = json!(1002);
                j["router"] = json!({"next_hop": next_hop.to_string(), "src_mask": src_mask, "dst_mask": dst_mask});
            }
            FlowRecordView::ExtendedGateway { .. } => {
                j["format"] = json!(1003);
                j["gateway"] = gateway_json(&r);
            }
            FlowRecordView::SampledEthernet { .. } => j["format"] = json!(2),
            FlowRecordView::SampledIpv4 { .. } => j["format"] = json!(3),
            FlowRecordView::SampledIpv6 { .. } => j["format"] = json!(4),
            FlowRecordView::ExtendedUser { .. } => j["format"] = json!(1004),
            FlowRecordView::ExtendedUrl { .. } => j["format"] = json!(1005),
            FlowRecordView::Other { .. } => {}
        }
        records.push(j);
    }
    if let Value::Object(h) = &mut header {
        // The tuple as flow_record() has it (through wire::decode).
        h.insert("src_mac".into(), mac(rec.src_mac));
        h.insert("dst_mac".into(), mac(rec.dst_mac));
        h.insert("ip_version".into(), json!(rec.src.map(|a| if a.is_ipv4() { 4 } else { 6 })));
        h.insert("src".into(), json!(rec.src.map(|a| a.to_string())));
        h.insert("dst".into(), json!(rec.dst.map(|a| a.to_string())));
        h.insert("proto".into(), json!(rec.protocol));
        h.insert("sport".into(), json!(rec.src_port));
        h.insert("dport".into(), json!(rec.dst_port));
        h.insert("tcp_flags".into(), json!(rec.tcp_flags));
        h.insert("bytes".into(), json!(rec.bytes));
        h.insert("vlan".into(), json!(rec.vlan));
        h.insert("switch_vlan".into(), json!(switch_vlan));
    }
    o.insert("header".into(), header);
    o.insert("records".into(), Value::Array(records));
}

const GENERIC: [&str; 20] = [
    "if_index",
    "if_type",
    "if_speed",
    "if_direction",
    "if_admin_status",
    "if_oper_status",
    "in_octets",
    "in_ucast",
    "in_mcast",
    "in_bcast",
    "in_discards",
    "in_errors",
    "in_unknown",
    "out_octets",
    "out_ucast",
    "out_mcast",
    "out_bcast",
    "out_discards",
    "out_errors",
    "promisc",
];

const ETHERNET: [&str; 13] = [
    "AlignmentErrors",
    "FCSErrors",
    "SingleCollisionFrames",
    "MultipleCollisionFrames",
    "SQETestErrors",
    "DeferredTransmissions",
    "LateCollisions",
    "ExcessiveCollisions",
    "InternalMacTransmitErrors",
    "CarrierSenseErrors",
    "FrameTooLongs",
    "InternalMacReceiveErrors",
    "SymbolErrors",
];

fn ethernet_values(e: &sflow::EthernetCounters) -> [u32; 13] {
    [
        e.alignment_errors,
        e.fcs_errors,
        e.single_collision_frames,
        e.multiple_collision_frames,
        e.sqe_test_errors,
        e.deferred_transmissions,
        e.late_collisions,
        e.excessive_collisions,
        e.internal_mac_transmit_errors,
        e.carrier_sense_errors,
        e.frame_too_longs,
        e.internal_mac_receive_errors,
        e.symbol_errors,
    ]
}

fn generic_json(g: &sflow::GenericCounters) -> Value {
    let v: [u64; 20] = [
        g.if_index.into(),
        g.if_type.into(),
        g.if_speed,
        g.if_direction.into(),
        u64::from(g.admin_up()),
        u64::from(g.oper_up()),
        g.in_octets,
        g.in_ucast.into(),
        g.in_mcast.into(),
        g.in_bcast.into(),
        g.in_discards.into(),
        g.in_errors.into(),
        g.in_unknown_protos.into(),
        g.out_octets,
        g.out_ucast.into(),
        g.out_mcast.into(),
        g.out_bcast.into(),
        g.out_discards.into(),
        g.out_errors.into(),
        g.promiscuous_mode.into(),
    ];
    Value::Object(GENERIC.iter().zip(v).map(|(k, v)| (k.to_string(), json!(v))).collect())
}

/// sfacctd's counter line for one record (pmacct's field names).
fn counter_line(agent: IpAddr, seq: u32, cs: &sflow::CounterSample<'_>, r: &CounterRecordView<'_>) -> String {
    let mut o = json!({
        "source_id_index": cs.source_id_index(), "sflow_seq": seq, "sflow_cnt_seq": cs.sequence(),
    });
    // Quirk: sfacctd prints an IPv6 agent (30::1:1:1) as 0.48.0.0 in counter lines.
    if agent.is_ipv4() {
        o["exporter"] = json!(agent.to_string());
    }
    match r {
        CounterRecordView::Generic(g) => {
            let pm = json!({
                "sf_cnt_type": "sflow_cnt_generic", "ifIndex": g.if_index, "ifType": g.if_type,
                "ifSpeed": g.if_speed, "ifDirection": g.if_direction, "ifStatus": g.if_status,
                "ifInOctets": g.in_octets, "ifInUcastPkts": g.in_ucast, "ifInMulticastPkts": g.in_mcast,
                "ifInBroadcastPkts": g.in_bcast, "ifInDiscards": g.in_discards, "ifInErrors": g.in_errors,
                "ifInUnknownProtos": g.in_unknown_protos, "ifOutOctets": g.out_octets,
                "ifOutUcastPkts": g.out_ucast, "ifOutMulticastPkts": g.out_mcast,
                "ifOutBroadcastPkts": g.out_bcast, "ifOutDiscards": g.out_discards,
                "ifOutErrors": g.out_errors, "ifPromiscuousMode": g.promiscuous_mode,
            });
            o.as_object_mut().unwrap().extend(pm.as_object().unwrap().clone());
        }
        CounterRecordView::Ethernet(e) => {
            o["sf_cnt_type"] = json!("sflow_cnt_ethernet");
            for (k, v) in ETHERNET.iter().zip(ethernet_values(e)) {
                o[format!("dot3Stats{k}")] = json!(v);
            }
        }
        CounterRecordView::Other { .. } => {}
    }
    sorted(&o)
}

/// A JSON object with its keys sorted, as a string (for multiset compares).
fn sorted(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let m: BTreeMap<_, _> = m.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

fn counter_sample(
    agent: IpAddr,
    seq: u32,
    s: &sflow::CounterSample<'_>,
    o: &mut Map<String, Value>,
    errors: &mut Vec<SflowError>,
    lines: &mut Vec<String>,
) {
    o.insert("sample_seq".into(), json!(s.sequence()));
    o.insert("source_id_type".into(), json!(s.source_id_type()));
    o.insert("source_id_index".into(), json!(s.source_id_index()));
    let mut records = Vec::new();
    for r in s.records() {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                break;
            }
        };
        lines.push(counter_line(agent, seq, s, &r));
        records.push(match r {
            CounterRecordView::Generic(g) => {
                let mut j = generic_json(&g);
                j["format"] = json!(1);
                j["enterprise"] = json!(0);
                j
            }
            CounterRecordView::Ethernet(e) => {
                let fields: Map<String, Value> = ETHERNET
                    .iter()
                    .zip(ethernet_values(&e))
                    .map(|(k, v)| (format!("sflow_245.dot3Stats{k}"), json!(v.to_string())))
                    .collect();
                json!({"format": 2, "enterprise": 0, "fields": fields})
            }
            CounterRecordView::Other { enterprise, format, .. } => json!({"format": format, "enterprise": enterprise}),
        });
    }
    o.insert("records".into(), Value::Array(records));
}

fn decode_capture(rel: &str) -> Decoded {
    let mut out = Decoded::default();
    let (_, result) = read_capture(
        &testdata().join(rel),
        |p| {
            let d = wire::decode(p.link, p.data);
            let (Some(ip), wire::Transport::Udp { src_port, dst_port: sflow::PORT }) = (d.ip, d.transport) else {
                return;
            };
            assert_eq!(ip.fragment, wire::Fragment::None, "{rel} frame {}: fragmented datagram", p.frame);
            let common = json!({"frame": p.frame, "exporter": ip.src.to_string(), "sport": src_port});
            let dg = match Datagram::new_checked(d.payload) {
                Ok(dg) => dg,
                Err(e) => {
                    if quirk(rel, p.frame).is_some_and(|q| q.kind == QuirkKind::NotSflow) {
                        out.rejected.push((p.frame, e));
                        return;
                    }
                    out.sflow_datagrams += 1;
                    out.malformed_datagrams += 1;
                    let mut o = common;
                    o["record"] = json!("datagram_without_samples");
                    o["malformed"] = json!(true);
                    o["error"] = json!(e.reason());
                    out.samples.push(o);
                    return;
                }
            };
            out.sflow_datagrams += 1;
            let mut errors = Vec::new();
            let first = out.samples.len();
            for (i, s) in dg.samples().enumerate() {
                let s = match s {
                    Ok(s) => s,
                    Err(e) => {
                        errors.push(e);
                        break;
                    }
                };
                let mut o = common.as_object().unwrap().clone();
                for (k, v) in [
                    ("agent", json!(dg.agent().to_string())),
                    ("sub_agent_id", json!(dg.sub_agent_id())),
                    ("seq", json!(dg.sequence())),
                    ("uptime_ms", json!(dg.uptime_ms())),
                    ("num_samples", json!(dg.sample_count())),
                    ("sample_index", json!(i + 1)),
                ] {
                    o.insert(k.into(), v);
                }
                match s {
                    Sample::Flow(f) => {
                        out.flow_samples += 1;
                        o.insert("sample_type".into(), json!(if f.is_expanded() { 3 } else { 1 }));
                        o.insert("enterprise".into(), json!(0));
                        o.insert("record".into(), json!("flow"));
                        flow_sample(&f, &mut o, &mut errors);
                        aggregate(&mut out, &dg, &f);
                    }
                    Sample::Counters(c) => {
                        out.counter_samples += 1;
                        o.insert("sample_type".into(), json!(if c.is_expanded() { 4 } else { 2 }));
                        o.insert("enterprise".into(), json!(0));
                        o.insert("record".into(), json!("counters"));
                        counter_sample(dg.agent(), dg.sequence(), &c, &mut o, &mut errors, &mut out.counter_lines);
                    }
                    Sample::Other { enterprise, format, .. } => {
                        o.insert("sample_type".into(), json!(format));
                        o.insert("enterprise".into(), json!(enterprise));
                        o.insert("record".into(), json!("other"));
                    }
                }
                out.samples.push(Value::Object(o));
            }
            if !errors.is_empty() {
                out.malformed_datagrams += 1;
            }
            for o in &mut out.samples[first..] {
                o["malformed"] = json!(!errors.is_empty());
            }
            if errors.is_empty() && quirk(rel, p.frame).is_some_and(|q| q.kind == QuirkKind::TsharkMisreadsRecords) {
                out.clean_walks.push(p.frame);
            }
        },
        |_| {},
    );
    result.unwrap_or_else(|e| panic!("{rel}: {e}"));
    out
}

/// sfacctd's aggregate of one flow sample (its key fields, from
/// flow_record()), with packets = 1 and bytes = the frame length.
fn aggregate(out: &mut Decoded, dg: &Datagram<'_>, s: &FlowSample<'_>) {
    let r = s.flow_record();
    assert_eq!(r.in_if, s.input().if_index());
    assert_eq!(r.out_if, s.output().if_index());
    let ip = |a: Option<IpAddr>| a.map_or_else(|| "0.0.0.0".to_string(), |a| a.to_string());
    let key = json!({
        "exporter": dg.agent().to_string(), "observation_domain": dg.sub_agent_id(), "seq": dg.sequence(),
        "src_mac": mac(Some(r.src_mac.unwrap_or_default())), "dst_mac": mac(Some(r.dst_mac.unwrap_or_default())),
        "vlan": r.vlan.unwrap_or(0),
        // Quirk: sfacctd prints interfaces of other formats as the raw compact word.
        "in_if": r.in_if.unwrap_or(s.input().to_compact()), "out_if": r.out_if.unwrap_or(s.output().to_compact()),
        "src_addr": ip(r.src), "dst_addr": ip(r.dst), "src_port": r.src_port.unwrap_or(0),
        "dst_port": r.dst_port.unwrap_or(0), "proto": r.protocol.unwrap_or(0), "tos": r.tos.unwrap_or(0),
        "sampling_rate": r.sampling_interval,
    });
    let e = out.aggregates.entry(sorted(&key)).or_default();
    e.0 += r.packets.unwrap_or(0);
    e.1 += r.bytes.unwrap_or(0);
    out.packets += r.packets.unwrap_or(0);
    out.bytes += r.bytes.unwrap_or(0);
}

/// The oracle line in the terms of [`Decoded::samples`].
fn expected(line: &Value, capture: &str) -> Value {
    const COMMON: [&str; 13] = [
        "frame",
        "exporter",
        "sport",
        "agent",
        "sub_agent_id",
        "seq",
        "uptime_ms",
        "num_samples",
        "sample_index",
        "sample_type",
        "enterprise",
        "record",
        "malformed",
    ];
    const FLOW: [&str; 11] = [
        "sample_seq",
        "source_id_type",
        "source_id_index",
        "sampling_rate",
        "sample_pool",
        "drops",
        "input_if_format",
        "input_if",
        "output_if_format",
        "output_if",
        "records",
    ];
    let mut o = Map::new();
    let record = line["record"].as_str().unwrap_or_default();
    if record == "datagram_without_samples" {
        for k in ["frame", "exporter", "sport", "record", "malformed"] {
            o.insert(k.into(), line[k].clone());
        }
        return Value::Object(o);
    }
    for k in COMMON.iter().chain(if record == "flow" { &FLOW[..] } else { &FLOW[..3] }) {
        o.insert(k.to_string(), line[*k].clone());
    }
    let frame = line["frame"].as_u64().unwrap();
    if quirk(capture, frame).is_some_and(|q| q.kind == QuirkKind::TsharkMisreadsRecords) {
        o.insert("malformed".into(), json!(false));
        o.insert("records".into(), tcpdump_records(capture, frame));
        return Value::Object(o);
    }
    let records = line["records"].as_array().unwrap().iter().map(|r| expected_record(r, record == "counters"));
    o.insert("records".into(), Value::Array(records.collect()));
    if record == "flow" {
        o.insert("header".into(), expected_header(line));
    }
    Value::Object(o)
}

/// The records tcpdump -v lists for a (single-sample) frame: its `.out`
/// file beside the capture has lines `enterprise 0, Unknown (2001) length 68`.
fn tcpdump_records(capture: &str, frame: u64) -> Value {
    let out = std::fs::read_to_string(testdata().join(capture.replace(".pcap", ".out"))).unwrap();
    let frame_line =
        |l: &str| l.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).filter(|_| !l.starts_with('\t'));
    let mut records = Vec::new();
    let mut inside = false;
    for line in out.lines() {
        if let Some(n) = frame_line(line) {
            inside = n == frame;
            continue;
        }
        let Some(rest) = line.trim_start().strip_prefix("enterprise ").filter(|_| inside) else { continue };
        let enterprise: u64 = rest.split(',').next().unwrap().parse().unwrap();
        let format: u64 = rest.split(['(', ')']).nth(1).unwrap().parse().unwrap();
        records.push(json!({"format": format, "enterprise": enterprise}));
    }
    assert!(!records.is_empty(), "{capture}: no records for frame {frame} in tcpdump's output");
    Value::Array(records)
}

fn num(v: &Value) -> Value {
    match v {
        Value::String(s) => s.parse::<u64>().map_or(Value::Null, |n| json!(n)),
        Value::Array(a) => Value::Array(a.iter().map(num).collect()),
        other => other.clone(),
    }
}

fn list(v: &Value) -> Value {
    match v {
        Value::Array(_) => num(v),
        Value::Null => json!([]),
        other => json!([num(other)]),
    }
}

fn expected_record(r: &Value, counters: bool) -> Value {
    let mut o = json!({"format": r["format"], "enterprise": r["enterprise"]});
    let f = &r["fields"];
    match (counters, r["format"].as_u64(), r["enterprise"].as_u64()) {
        (true, Some(1), Some(0)) => {
            for k in GENERIC {
                o[k] = r[k].clone();
            }
        }
        (true, Some(2), Some(0)) => o["fields"] = f.clone(),
        (false, Some(1001), Some(0)) => {
            for k in ["src_vlan", "dst_vlan", "src_priority", "dst_priority"] {
                o[k] = r[k].clone();
            }
        }
        (false, Some(1002), Some(0)) => {
            o["router"] = json!({
                "next_hop": f["sflow_245.nexthop"], "src_mask": num(&f["sflow_245.nexthop.src_mask"]),
                "dst_mask": num(&f["sflow_245.nexthop.dst_mask"]),
            });
        }
        (false, Some(1003), Some(0)) => {
            o["gateway"] = json!({
                "next_hop": f["sflow_245.nexthop"], "as": num(&f["sflow_245.as"]), "src_as": num(&f["sflow_245.srcAS"]),
                "src_peer_as": num(&f["sflow_245.peerAS"]), "segments": num(&f["sflow_245.dstASentries"]),
                "segment_types": list(&f["sflow.as_type"]), "dst_as_and_communities": list(&f["sflow_245.dstAS"]),
                "communities": num(&f["sflow_245.communityEntries"]), "local_pref": num(&f["sflow_245.localpref"]),
            });
        }
        _ => {}
    }
    o
}

fn expected_header(line: &Value) -> Value {
    let h = &line["header"];
    if h.is_null() {
        return Value::Null;
    }
    let mut o = Map::new();
    for k in [
        "header_protocol",
        "frame_length",
        "stripped",
        "header_length",
        "src_mac",
        "dst_mac",
        "ip_version",
        "src",
        "dst",
        "proto",
        "sport",
        "dport",
        "tcp_flags",
    ] {
        o.insert(k.into(), h[k].clone());
    }
    o.insert("bytes".into(), h["frame_length"].clone());
    // flow_record().vlan: the header's outermost tag, else the extended
    // switch's source VLAN (1..4094).
    let switch =
        line["records"].as_array().unwrap().iter().find(|r| r["format"] == 1001).map(|r| r["src_vlan"].clone());
    let vlan = match h["vlan"].as_array().and_then(|v| v.first()) {
        Some(v) => v.clone(),
        None => switch.clone().filter(|v| v.as_u64().is_some_and(|v| (1..4095).contains(&v))).unwrap_or(Value::Null),
    };
    o.insert("vlan".into(), vlan);
    o.insert("switch_vlan".into(), switch.unwrap_or(Value::Null));
    Value::Object(o)
}

fn diff(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, tv) in b {
                diff(&format!("{path}.{k}"), a.get(k).unwrap_or(&Value::Null), tv, out);
            }
            for k in a.keys().filter(|k| !b.contains_key(*k) && *k != "error") {
                out.push(format!("{path}.{k}: ours {}, not in the oracle", a[k]));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: ours {a}, oracle {b}")),
    }
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// MANIFEST.tsv's expected counts for a capture: (tshark side, sfacctd side).
fn manifest_counts(capture: &str) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let manifest = std::fs::read_to_string(testdata().join("MANIFEST.tsv")).unwrap();
    let row = manifest.lines().find(|l| l.split('\t').next() == Some(capture)).expect("capture in MANIFEST.tsv");
    let counts = row.rsplit('\t').next().unwrap();
    let (mut tshark, mut sfacctd) = (BTreeMap::new(), BTreeMap::new());
    let mut side = &mut tshark;
    for token in counts.split_whitespace() {
        if token == "sfacctd:" {
            side = &mut sfacctd;
            continue;
        }
        let token = token.trim_end_matches([';', ',']);
        if let Some((k, v)) = token.split_once('=')
            && let Ok(v) = v.parse()
        {
            side.insert(k.to_string(), v);
        }
    }
    (tshark, sfacctd)
}

struct Report {
    files: usize,
    samples: usize,
    failures: Vec<String>,
}

fn check_capture(oracle: &Path, report: &mut Report) {
    let lines = read_jsonl(oracle);
    let capture = lines[0]["input"].as_str().unwrap().to_string();
    let ours = decode_capture(&capture);
    let theirs = &lines[1..];
    let fail = &mut report.failures;
    if ours.samples.len() != theirs.len() {
        fail.push(format!("{capture}: {} samples, tshark {}", ours.samples.len(), theirs.len()));
    }
    for (o, t) in ours.samples.iter().zip(theirs) {
        let mut d = Vec::new();
        diff("", o, &expected(t, &capture), &mut d);
        report.samples += 1;
        if !d.is_empty() {
            fail.push(format!("{capture} frame {} sample {}: {}", t["frame"], t["sample_index"], d.join("; ")));
        }
    }
    for q in QUIRKS.iter().filter(|q| q.capture == capture) {
        match q.kind {
            QuirkKind::NotSflow => {
                let rejected: Vec<u64> = ours.rejected.iter().map(|r| r.0).collect();
                if rejected != q.frames || ours.rejected.iter().any(|r| !matches!(r.1, SflowError::BadVersion(_))) {
                    fail.push(format!(
                        "{capture}: rejected {:?}, expected bad_version for {:?} ({})",
                        ours.rejected, q.frames, q.why
                    ));
                }
            }
            QuirkKind::TsharkMisreadsRecords => {
                if ours.clean_walks != q.frames {
                    fail.push(format!(
                        "{capture}: clean record walks in {:?}, expected {:?}",
                        ours.clean_walks, q.frames
                    ));
                }
            }
        }
    }

    // MANIFEST.tsv.
    let (t, s) = manifest_counts(&capture);
    let mut expect = |what: &str, got: u64, want: Option<&u64>| {
        if want.is_some_and(|&w| w != got) {
            fail.push(format!("{capture}: {what} {got}, MANIFEST {}", want.unwrap()));
        }
    };
    expect("sflow_datagrams", ours.sflow_datagrams, t.get("sflow_datagrams"));
    expect("flow_samples", ours.flow_samples, t.get("flow_samples"));
    expect("counter_samples", ours.counter_samples, t.get("counter_samples"));
    expect("malformed_datagrams", ours.malformed_datagrams, t.get("malformed_datagrams").or(Some(&0)));
    expect("non_sflow_datagrams", ours.rejected.len() as u64, t.get("non_sflow_datagrams").or(Some(&0)));
    expect("sfacctd packets", ours.packets, s.get("packets"));
    expect("sfacctd bytes", ours.bytes, s.get("bytes"));
    expect("sfacctd counter_records", ours.counter_lines.len() as u64, s.get("counter_records"));

    // The sfacctd file: flow aggregates and counter lines, as multisets.
    let sf_path = oracle.to_string_lossy().replace(".tshark.jsonl", ".sfacctd.jsonl");
    let sf = read_jsonl(Path::new(&sf_path));
    let mut aggregates: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut counter_lines = Vec::new();
    for l in &sf[1..] {
        let mut o = l.as_object().unwrap().clone();
        match o.remove("record").as_ref().and_then(Value::as_str) {
            Some("flow_aggregate") => {
                let (p, b) = (o.remove("packets").unwrap(), o.remove("bytes").unwrap());
                o.remove("proto_name");
                let e = aggregates.entry(sorted(&Value::Object(o))).or_default();
                e.0 += p.as_u64().unwrap();
                e.1 += b.as_u64().unwrap();
            }
            Some("counters") => {
                if o.get("exporter").is_some_and(|e| e == "0.48.0.0") {
                    o.remove("exporter"); // the IPv6 agent quirk
                }
                counter_lines.push(sorted(&Value::Object(o)));
            }
            other => fail.push(format!("{sf_path}: unexpected record {other:?}")),
        }
    }
    if aggregates != ours.aggregates {
        let only_ours: Vec<_> = ours.aggregates.iter().filter(|(k, v)| aggregates.get(*k) != Some(v)).take(3).collect();
        let only_theirs: Vec<_> =
            aggregates.iter().filter(|(k, v)| ours.aggregates.get(*k) != Some(v)).take(3).collect();
        fail.push(format!("{capture}: sfacctd aggregates differ: ours {only_ours:?} / sfacctd {only_theirs:?}"));
    }
    counter_lines.sort();
    let mut our_lines = ours.counter_lines.clone();
    our_lines.sort();
    if counter_lines != our_lines {
        let first = our_lines.iter().zip(&counter_lines).find(|(a, b)| a != b);
        fail.push(format!(
            "{capture}: sfacctd counter lines differ ({} ours, {} sfacctd), first: {first:?}",
            our_lines.len(),
            counter_lines.len()
        ));
    }
    report.files += 1;
}

#[test]
fn sflow_captures_decode_as_tshark_and_sfacctd_do() {
    let dir = testdata().join("oracle/sflow");
    let mut oracles: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tshark.jsonl"))
        .collect();
    oracles.sort();
    let mut report = Report { files: 0, samples: 0, failures: Vec::new() };
    for o in &oracles {
        check_capture(o, &mut report);
    }
    assert!(report.failures.is_empty(), "{} failures:\n{}", report.failures.len(), report.failures.join("\n"));
    assert_eq!(report.files, 5, "oracle files");
    // 305 + 61 + 1 + 144 flow/counter samples, plus the undecodable datagram.
    assert_eq!(report.samples, 512, "samples compared");
}

#[test]
fn the_tcpdump_crash_regression_is_rejected_with_a_typed_error() {
    let mut seen = 0;
    let (_, r) = read_capture(
        &testdata().join("tcpdump/sflow_print-segv.pcap"),
        |p| {
            let d = wire::decode(p.link, p.data);
            // The UDP length (16) leaves 8 octets of sFlow.
            assert_eq!(Datagram::new_checked(d.payload).unwrap_err(), SflowError::Truncated);
            // The captured bytes past the UDP length hold a sample claiming
            // 229633 octets: a walk over them ends in a typed error too.
            let ip_payload = d.ip_payload;
            let all = &ip_payload[8..];
            let dg = Datagram::new_checked(all).unwrap();
            let errors: Vec<_> = dg.samples().filter_map(Result::err).collect();
            assert_eq!(errors, [SflowError::BadLength]);
            seen += 1;
        },
        |_| {},
    );
    r.unwrap();
    assert_eq!(seen, 1);
}
