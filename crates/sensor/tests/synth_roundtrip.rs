//! The benchmark's synthetic corpus and feed: written as pcap + CSV, read
//! back through the real reader and feed loader, they give the same hits as
//! the in-memory benchmark path.

use intel::{LoadOptions, SetBuilder};
use sensor::bench::{PacketBenchConfig, packets};
use sensor::capture::read_capture_from;
use sensor::pipeline::Pipeline;
use sensor::synth;
use std::io::Cursor;
use std::sync::Arc;
use wire::LinkType;

#[test]
fn written_corpus_and_feed_match_like_the_in_memory_ones() {
    let intel = synth::synthetic_intel(20_000, 7);
    let frames = synth::synthetic_corpus(2_000, &intel.listed, 50, 9);
    let mut direct = Pipeline::new(Arc::new(intel.builder.build()));
    let direct_hits: usize = frames.iter().map(|f| direct.process(LinkType::Ethernet, f).1.len()).sum();
    assert!(direct_hits > 0);

    let mut csv = Vec::new();
    synth::write_feed(&mut csv, 20_000, 7).unwrap();
    let mut b = SetBuilder::new();
    let r = intel::feeds::load_text("synthetic.csv", &String::from_utf8(csv).unwrap(), &mut b, LoadOptions::default())
        .unwrap();
    assert_eq!((r.loaded, r.skipped), (20_000, 0));
    let mut pcap = Vec::new();
    synth::write_pcap(&mut pcap, &frames).unwrap();
    let mut replayed = Pipeline::new(Arc::new(b.build()));
    let mut replay_hits = 0;
    let (summary, result) =
        read_capture_from(Cursor::new(pcap), |p| replay_hits += replayed.process(p.link, p.data).1.len(), |_| {});
    result.unwrap();
    assert_eq!(summary.packets, 2_000);
    assert_eq!(replay_hits, direct_hits);
    assert_eq!(replayed.counters.error_total(), 0);
}

#[test]
fn packet_bench_runs_on_a_small_configuration() {
    let cfg =
        PacketBenchConfig { indicators: 10_000, corpus: 256, seconds: 0.01, hit_per_mille: 100, ..Default::default() };
    let r = packets(&cfg);
    assert_eq!(r.corpus_packets, 256);
    assert!(r.hits_per_pass > 0);
    assert!(r.pipeline.median > 0.0 && r.decode.min > 0.0 && r.baseline_touch.max > 0.0);
}
