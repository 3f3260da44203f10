//! `sdn-sensor intel check | stats | convert` as an operator runs them.

use serde_json::Value;
use std::process::Command;

fn run(args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sdn-sensor")).args(args).output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (out.status.code().unwrap_or(-1), lines, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn check_explains_hits_and_suppressions() {
    let dir = std::env::temp_dir().join(format!("sdn-sensor-intel-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.txt");
    std::fs::write(&feed, "10.1.2.3\nevil.example\n192.0.2.9:4444\n").unwrap();
    let rfc1918 = concat!(env!("SDN_TESTDATA"), "/ioc/misp-warninglists/rfc1918.json");
    let (code, lines, err) = run(&[
        "intel",
        "check",
        "--intel",
        feed.to_str().unwrap(),
        rfc1918,
        "--",
        "10.1.2.3",
        "x.EVIL.example.",
        "192.0.2.9:4444",
        "192.0.2.9:80",
        "not a value",
    ]);
    assert_eq!(code, 0, "{err}");
    let verdicts: Vec<&str> = lines.iter().map(|l| l["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["suppressed", "hit", "hit", "none", "invalid"]);
    assert_eq!(lines[0]["suppressed_by"][0]["value"], "10.0.0.0/8");
    assert_eq!(lines[0]["suppressed_by"][0]["type"], "cidr");
    assert_eq!(lines[0]["matches"][0]["value"], "10.1.2.3");
    assert_eq!(lines[1]["normalized"], "x.evil.example");
    assert_eq!(lines[1]["matches"][0]["value"], "evil.example");
    assert_eq!(lines[2]["matches"][0]["port"], 4444);

    let (code, lines, _) = run(&["intel", "stats", "--intel", feed.to_str().unwrap(), rfc1918]);
    assert_eq!(code, 0);
    assert_eq!(lines[0]["by_type"], serde_json::json!({"ip": 2, "domain": 1}));
    assert_eq!(lines[1]["format"], "warninglist");
    assert_eq!(lines[1]["allowlist_entries"], 3);
    assert_eq!(lines[2]["total"], 3);

    // Without --intel: one clear error.
    let (code, _, err) = run(&["intel", "stats"]);
    assert_eq!(code, 2);
    assert!(err.contains("--intel"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}
