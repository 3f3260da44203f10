//! Acceptance: every capture in the shared test data is read without a
//! panic, and its packet count equals MANIFEST.tsv's.

use sensor::capture::read_capture;
use sensor::pipeline::Pipeline;
use std::path::Path;
use std::sync::Arc;

#[test]
fn every_manifest_capture_reads_with_the_listed_packet_count() {
    let root = Path::new(env!("SDN_TESTDATA"));
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).expect("MANIFEST.tsv beside the clone");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut pipeline = Pipeline::new(Arc::new(intel::IndicatorSet::default()));
    for row in manifest.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (path, packets, link) = (cols[0], cols[2], cols[3]);
        // Raw UDP payloads (.dat) are not captures.
        if link.starts_with("none") {
            continue;
        }
        let expected: u64 = packets.parse().expect("packet count");
        let (summary, result) = read_capture(
            &root.join(path),
            |p| {
                pipeline.process(p.link, p.data);
            },
            |_| {},
        );
        if let Err(e) = result {
            failures.push(format!("{path}: {e}"));
        }
        if summary.packets != expected {
            failures.push(format!("{path}: read {} packets, MANIFEST says {expected}", summary.packets));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 150, "only {checked} captures checked");
    assert_eq!(pipeline.counters.packets, pipeline.counters.links().iter().map(|l| l.1).sum::<u64>());
}
