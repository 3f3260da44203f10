//! `sdn-sensor config import`: the original's sample configuration (its
//! `conf/sdn_sensor.json` structure, kept as a fixture) converts into a
//! configuration `run --check` accepts, libpcap filters, regexes, rules,
//! sources and nanomsg sinks included.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
}

#[test]
fn the_originals_sample_config_converts_into_one_run_check_accepts() {
    let dir = std::env::temp_dir().join(format!("sdn-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The fixture names the original's IOC file by an absolute path: point
    // it at a real file in the original's CSV format.
    let feed = dir.join("output.csv");
    std::fs::copy(root.join("samples/intel.csv"), &feed).unwrap();
    let fixture = std::fs::read_to_string(root.join("crates/sensor/tests/data/original/sdn_sensor.json")).unwrap();
    assert!(fixture.contains("/var/lib/sdn_sensor/output.csv"));
    let json = dir.join("sdn_sensor.json");
    std::fs::write(&json, fixture.replace("/var/lib/sdn_sensor/output.csv", feed.to_str().unwrap())).unwrap();

    let toml: PathBuf = dir.join("sdn_sensor.toml");
    let out = bin().args(["config", "import"]).arg(&json).arg("-o").arg(&toml).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let notes = String::from_utf8_lossy(&out.stderr);
    assert!(notes.contains("dpdk.eal_options") && notes.contains("not applicable"), "{notes}");

    let out = bin().args(["run", "--check", "--config"]).arg(&toml).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("ok: 8 indicators from 1 feed(s)"), "{stdout}");
    // One nanomsg PUSH sink per distinct queue of the original, and the
    // local JSONL file.
    assert!(stdout.contains("nanomsg Push tcp://127.0.0.1:10001"), "{stdout}");
    assert!(stdout.contains("jsonl events.jsonl"), "{stdout}");

    // A mistake in the JSON is reported at its line.
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        "{\n  // a comment\n  \"pcap_chain\": [\n    { \"name\": \"x\" \"filter\": \"udp\" },\n  ],\n}\n",
    )
    .unwrap();
    let out = bin().args(["config", "import"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json:4:"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
