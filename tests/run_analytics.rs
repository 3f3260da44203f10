//! `run` with the analytics stage on: syslog lines naming listed addresses
//! arrive over TCP; the sinks get the throttled stream with its summary and
//! an incident, and the store holds every event, the aggregates and the
//! incident, read back through the query module.

mod common;

use serde_json::Value;
use std::io::Write;
use std::net::TcpStream;

use std::time::{Duration, Instant};

#[test]
fn the_stage_throttles_correlates_and_stores() {
    let dir = std::env::temp_dir().join(format!("sdn-run-analytics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (syslog, http) = (common::free_tcp_port(), common::free_tcp_port());
    let feed = dir.join("feed.csv");
    std::fs::write(&feed, common::TWO_IP_FEED).unwrap();
    let events = dir.join("events.jsonl");
    let db = dir.join("store.db");
    let config = dir.join("sensor.toml");
    let listen = common::listen_syslog_tcp(syslog);
    let auth = "token = \"s3cret\"";
    std::fs::write(&config, common::analytics_config(Some("edge-an"), &listen, http, auth, &events, &db)).unwrap();
    let child = common::start_run(&config, &feed, http);
    let mut tcp = TcpStream::connect(("127.0.0.1", syslog)).unwrap();
    for i in 0..12 {
        writeln!(tcp, "<13>Nov 29 14:00:00 fw01 sshd: attempt {i} from 203.0.113.66").unwrap();
    }
    writeln!(tcp, "<13>Nov 29 14:00:01 fw01 sshd: probe from 198.51.100.7").unwrap();
    drop(tcp);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = common::http_get(http, "/metrics").unwrap_or_default();
        if common::metric(&page, "sdn_analytics_events_total", "") >= 13.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the stage did not see 13 events:\n{page}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The API over the store (committed within a second).
    let auth = [("Authorization", "Bearer s3cret")];
    let api = |path: &str| common::http_request(http, path, &auth).unwrap();
    let json = |path: &str| -> Value {
        let (status, body) = api(path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    // 13 intel events and the incident (the summary comes at the window's close).
    while json("/api/counts")["events"].as_u64() < Some(14) {
        assert!(Instant::now() < deadline, "the store did not get the events");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(common::http_request(http, "/api/counts", &[]).unwrap().0, 401, "no token");
    assert_eq!(common::http_request(http, "/api/counts?token=wrong", &[]).unwrap().0, 401);
    assert_eq!(common::http_request(http, "/api/counts?token=s3cret", &[]).unwrap().0, 200);
    let top = json("/api/top?dim=indicator_value&n=5");
    assert_eq!(top[0]["value"], "203.0.113.66");
    assert_eq!(top[0]["count"], 12);
    let page1 = json("/api/events?kind=intel&ip=127.0.0.1&limit=10");
    assert_eq!(page1["items"].as_array().unwrap().len(), 10);
    let next = page1["next"].as_str().unwrap();
    let page2 = json(&format!("/api/events?kind=intel&ip=127.0.0.1&limit=10&cursor={next}"));
    assert_eq!(page2["items"].as_array().unwrap().len(), 3, "13 intel events in two pages");
    assert!(page2.get("next").is_none());
    let incidents = json("/api/incidents");
    let id = incidents["items"][0]["id"].as_str().unwrap().to_string();
    let detail = json(&format!("/api/incidents/{id}"));
    assert_eq!(detail["events"].as_array().unwrap().len(), 2);
    assert_eq!(json("/api/series?dim=all").as_array().map(Vec::len), Some(1));
    for (path, status) in [
        ("/api/top", 400),
        ("/api/top?dim=colour", 400),
        ("/api/top?dim=feed&n=0", 400),
        ("/api/events?from=yesterday", 400),
        ("/api/events?cidr=10.0.0.0/99", 400),
        ("/api/events?colour=red", 400),
        ("/api/events?cursor=nonsense", 400),
        ("/api/incidents/nope", 404),
    ] {
        let (got, body) = api(path);
        assert_eq!(got, status, "{path}: {body}");
        assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string(), "{path}: {body}");
    }
    common::stop_run(child);

    // The sinks: 3 of the 12 pass, one summary holds the other 9; the
    // second address passes; one incident names an event of each.
    let out: Vec<Value> =
        std::fs::read_to_string(&events).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let of = |kind: &str| out.iter().filter(|e| e["kind"] == kind).collect::<Vec<_>>();
    let intel = of("intel");
    assert_eq!(intel.iter().filter(|e| e["match"]["value"] == "203.0.113.66").count(), 3, "{out:#?}");
    assert_eq!(intel.iter().filter(|e| e["match"]["value"] == "198.51.100.7").count(), 1);
    let summaries = of("summary");
    assert_eq!(summaries.len(), 1, "{out:#?}");
    assert_eq!(summaries[0]["summary"]["suppressed"], 9);
    let incidents = of("incident");
    assert_eq!(incidents.len(), 1, "{out:#?}");
    assert_eq!(incidents[0]["incident"]["rule"], "two_indicators");
    let incident_id = incidents[0]["id"].as_str().unwrap().to_string();
    // The reports reach the sinks too (`reports_to_sinks` is on by default):
    // the window closed at the stop gives top-N, rate and hit statistics.
    let reports: Vec<&str> = out.iter().filter_map(|e| e["report"].as_str()).collect();
    for want in ["topn", "rate", "hits"] {
        assert!(reports.contains(&want), "no {want} report in the sink: {reports:?}");
    }
    assert!(out.iter().all(|e| e["kind"].is_string() != e["report"].is_string()), "a line is an event or a report");

    // The store: all 13 events (throttled or not), the aggregates, the
    // incident with its events.
    let q = store::Query::open(&db).unwrap();
    let all = q
        .search(&store::EventFilter { kind: Some("intel".into()), ..Default::default() }, store::Page::first(100))
        .unwrap();
    assert_eq!(all.len(), 13);
    let top = q.top("indicator_value", 0, i64::MAX, 10).unwrap();
    assert_eq!(top[0], ("203.0.113.66".to_string(), 12), "{top:?}");
    let (row, behind) = q.incident(&incident_id).unwrap().expect("the incident is stored");
    assert_eq!(row.rule.as_deref(), Some("two_indicators"));
    assert_eq!(behind.len(), 2);
    std::fs::remove_dir_all(&dir).ok();
}
