//! SIGHUP requests a reload even when the files did not change. In a test
//! binary of its own: the handler is process-wide.

use intel::reload::{Reloader, SharedSet};
use intel::{LoadOptions, load_feeds};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn sighup_reloads_unchanged_feeds() {
    let dir = std::env::temp_dir().join(format!("sdn-sensor-sighup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("feed.txt");
    std::fs::write(&path, "192.0.2.1\n").unwrap();
    let opts = LoadOptions::default();
    let (set, reports) = load_feeds(std::slice::from_ref(&path), opts).unwrap();
    let shared = SharedSet::new(set, reports);
    let reloader = Reloader::spawn(Arc::clone(&shared), vec![path.clone()], opts, Duration::from_millis(5));
    reloader.reload_on_sighup().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(shared.status().generation, 1, "no change, no reload");
    signal_hook::low_level::raise(signal_hook::consts::SIGHUP).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.status().generation < 2 {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(reloader);
    std::fs::remove_dir_all(dir).ok();
}
