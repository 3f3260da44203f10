//! Pipeline and process counters as metrics samples.

use crate::metrics::{Samples, Type};
use sensor::Pipeline;

/// Decode and match counters of one pipeline (a worker's or the
/// receivers').
pub fn pipeline_samples(p: &Pipeline, s: &mut Samples<'_>) {
    let c = &p.counters;
    s.counter("sdn_packets_total", "Frames decoded.", c.packets);
    s.counter("sdn_bytes_total", "Bytes of the frames decoded.", c.bytes);
    s.counter("sdn_non_ip_frames_total", "Frames with no IP layer (ARP, LLDP, ...).", c.non_ip);
    s.counter("sdn_fragments_total", "IP fragments past the first.", c.fragments);
    s.counter("sdn_hits_total", "Matches reported (intel and rules).", c.hits);
    s.counter("sdn_suppressed_total", "Matches silenced by an allowlist entry.", c.suppressed);
    s.counter("sdn_intel_reloads_seen_total", "New indicator sets picked up by this pipeline.", c.reloads);
    s.counter(
        "sdn_pcap_rules_unknown_linktype_frames_total",
        "Frames of a link type no pcap_chain rule was compiled for (none of them can match).",
        c.pcap_unknown_linktype,
    );
    for (reason, n) in c.errors() {
        s.counter_by("sdn_decode_errors_total", "Malformed frames, by reason.", ("reason", reason), n);
    }
    for (reason, n) in c.app_errors() {
        s.counter_by(
            "sdn_app_errors_total",
            "Malformed application data (DNS, HTTP, TLS, SMTP, flows, syslog), by reason.",
            ("reason", reason),
            n,
        );
    }
    if let Some(f) = p.flows() {
        let fc = &f.counters;
        s.counter("sdn_flow_records_total", "NetFlow/IPFIX records and sFlow samples matched.", fc.records);
        s.counter("sdn_netflow_datagrams_total", "NetFlow/IPFIX datagrams decoded.", fc.netflow_datagrams);
        s.counter("sdn_sflow_datagrams_total", "sFlow datagrams decoded.", fc.sflow_datagrams);
        s.counter("sdn_sflow_flow_samples_total", "sFlow flow samples received.", fc.sflow_flow_samples);
        s.counter("sdn_sflow_counter_samples_total", "sFlow counter samples received.", fc.sflow_counter_samples);
        s.counter("sdn_sflow_lost_datagrams_total", "sFlow datagrams lost on the way (sequence gaps).", f.sflow_lost());
        s.push(
            "sdn_rejected_sources_total",
            "Datagrams from exporters outside the configured sources.",
            Type::Counter,
            &[],
            fc.rejected_sources as f64,
        );
    }
}

/// Resident and peak resident memory of this process, from /proc.
pub fn memory() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return (0, 0) };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
