//! The dashboard in a real browser (issue 9, acceptance 1): captures replayed through `run` with
//! analytics and a store, then `run` serving that store while headless Chromium (Debian's
//! `chromium`, driven by Playwright from npm: tests/browser) loads every page. No console error, no
//! failed request, charts with data points, a search for a known indicator lists its events, an
//! incident's page lists its events; a screenshot of each page goes to
//! `$CARGO_TARGET_DIR/browser-artifacts` (or target/browser-artifacts).
//!
//! Needs `node` and `/usr/bin/chromium` (scripts/setup.sh installs them) and tests/browser's
//! node_modules (`npm ci` there; done here when missing).

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(env!("SDN_TESTDATA"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn artifact_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo().join("target"), PathBuf::from);
    let target = if target.is_relative() { repo().join(target) } else { target };
    target.join("browser-artifacts")
}

/// tests/browser/node_modules from package-lock.json (no browser download: Debian's chromium).
fn npm_ci(dir: &Path) {
    if dir.join("node_modules/playwright-core/package.json").exists() {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .current_dir(dir)
        .output()
        .expect("npm not found: run scripts/setup.sh (installs nodejs and npm)");
    assert!(out.status.success(), "npm ci in {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
}

fn get_json(port: u16, path: &str) -> Value {
    let body = common::http_get(port, path).unwrap_or_else(|| panic!("GET {path}: no 200 answer"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_dashboard_page_works_in_headless_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).exists(), "{chromium} not found: run scripts/setup.sh (installs chromium)");
    let browser_dir = repo().join("tests/browser");
    npm_ci(&browser_dir);

    let dir = std::env::temp_dir().join(format!("sdn-web-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let feed = dir.join("feed.csv");
    std::fs::write(&feed, common::CORPUS_WATCHLIST).unwrap();
    let http = common::free_tcp_port();
    let config = dir.join("sensor.toml");
    std::fs::write(&config, common::corpus_config(http, &dir.join("events.jsonl"), &dir.join("store.db"))).unwrap();
    // DNS, HTTP and flows over several years; dns_long-connection and dns-edns-ecs give events in
    // consecutive minutes (a top-N window and the one before it both with data).
    let captures = [
        "zeek/intel-match/wikipedia.pcap",
        "pktvisor/dns_ipv4_udp.pcap",
        "generated/softflowd/input_mixed.pcap",
        "pktvisor/ecs.pcap",
        "zeek/traces/dns_long-connection.pcap",
        "zeek/traces/dns-edns-ecs.pcap",
    ];
    // `run --replay` reads the captures through the whole service and stops; `run` then serves
    // the store it filled.
    let captures: Vec<PathBuf> = captures.iter().map(|c| testdata().join(c)).collect();
    common::run_replay(&config, &feed, &captures);
    let child = common::start_run(&config, &feed, http);

    // What the pages must show, read from the API.
    let incidents = get_json(http, "/api/incidents?limit=10");
    let incident = incidents["items"][0]["id"].as_str().expect("the replay gave no incident").to_owned();
    let detail = get_json(http, &format!("/api/incidents/{}", web::pages::encode_component(&incident)));
    let incident_events = ids(&detail["events"]);
    assert!(!incident_events.is_empty(), "{detail}");
    let indicator = "wikipedia.org";
    let found = get_json(http, &format!("/api/events?indicator_value={indicator}&limit=50"));
    let search_ids = ids(&found["items"]);
    assert!(!search_ids.is_empty(), "no events of {indicator}: {found}");
    // The newest two minutes with events that are at most a week apart: /top with that gap as its
    // window, ending at the later one, has data in the current and in the previous window.
    let series = get_json(http, "/api/series?dim=all");
    let minutes: Vec<i64> =
        series.as_array().unwrap().iter().map(|p| store::parse_ts(p["minute"].as_str().unwrap()).unwrap()).collect();
    let (m1, m2) = minutes
        .windows(2)
        .rev()
        .map(|w| (w[0], w[1]))
        .find(|(a, b)| b - a <= 7 * 1440 * store::NS_PER_MINUTE)
        .expect("no two minutes with events within a week");
    let top = format!("/top?window={}m&at={}", (m2 - m1) / store::NS_PER_MINUTE, m2 + store::NS_PER_MINUTE - 1);
    let expect = serde_json::json!({
        "search": {"indicator_value": indicator, "ids": search_ids},
        "incident": {"id": incident, "events": incident_events},
        "top": top,
    });

    let artifacts = artifact_dir();
    let _ = std::fs::remove_dir_all(&artifacts);
    let out = Command::new("node")
        .arg(browser_dir.join("check.mjs"))
        .arg(format!("http://127.0.0.1:{http}"))
        .arg(&artifacts)
        .env("EXPECT", expect.to_string())
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node not found: run scripts/setup.sh (installs nodejs)");
    let log = common::stop_run(child);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    eprintln!("screenshots: {}", artifacts.display());
    assert!(out.status.success(), "browser check failed ({}):\n{stdout}\n{stderr}\nservice log:\n{log}", out.status);
    for page in ["overview", "top", "top-windows", "incidents", "incident", "search", "intel", "report"] {
        let shot = artifacts.join(format!("{page}.png"));
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{}: no screenshot", shot.display());
    }
    std::fs::remove_dir_all(&dir).ok();
}
