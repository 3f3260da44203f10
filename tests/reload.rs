//! Acceptance (issue 3.3): reload under load. Traffic is matched in a loop
//! while the feed is rewritten 100 times; two alternating feeds share no
//! entry, and every hit comes from a complete generation.

use intel::reload::{Reloader, SharedSet};
use intel::{LoadOptions, load_feeds};
use sensor::Pipeline;
use sensor::synth::FrameBuilder;
use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wire::LinkType;

const PER_GEN: u32 = 200;

/// Generation n lists 198.18.x.y (n even) or 198.19.x.y (n odd), ids g{n}-{i}.
fn feed(n: u32) -> String {
    let net = if n.is_multiple_of(2) { 18 } else { 19 };
    let mut s = String::from("id,type,threat_type,ip,dns,value\n");
    for i in 0..PER_GEN {
        s.push_str(&format!("g{n}-{i},ip,gen{n},198.{net}.{}.{},,\n", i / 256, i % 256));
    }
    s
}

fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn generation_of(id: &str) -> u32 {
    id.trim_start_matches('g').split('-').next().unwrap().parse().unwrap()
}

/// A feed at generation 0 in a fresh directory, loaded and watched every 2 ms.
fn watched_feed(tag: &str) -> (PathBuf, PathBuf, Arc<SharedSet>, Reloader) {
    let dir = std::env::temp_dir().join(format!("sdn-sensor-reload-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("feed.csv");
    write_atomically(&path, &feed(0));
    let opts = LoadOptions::default();
    let (set, reports) = load_feeds(std::slice::from_ref(&path), opts).unwrap();
    let shared = SharedSet::new(set, reports);
    let reloader = Reloader::spawn(Arc::clone(&shared), vec![path.clone()], opts, Duration::from_millis(2));
    (dir, path, shared, reloader)
}

#[test]
fn reload_under_load_never_mixes_generations() {
    let (dir, path, shared, reloader) = watched_feed("ok");

    // Traffic from every address of both generations.
    let frames: Vec<Vec<u8>> = (0..2 * PER_GEN)
        .map(|i| {
            let net = 18 + i / PER_GEN;
            let k = i % PER_GEN;
            let src = u32::from_be_bytes([198, net as u8, (k / 256) as u8, (k % 256) as u8]);
            FrameBuilder::ethernet(&[], 0x0800).ipv4(src, 0x0a00_0001, 17, 8).udp(1000, 53, 0).finish()
        })
        .collect();

    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (shared, done, frames) = (Arc::clone(&shared), Arc::clone(&done), frames.clone());
            std::thread::spawn(move || {
                let mut p = Pipeline::with_shared(shared);
                let mut generations = HashSet::new();
                let mut hits = 0u64;
                let mut checked_set = None;
                while !done.load(Ordering::Relaxed) {
                    for f in &frames {
                        let (_, h) = p.process(LinkType::Ethernet, f);
                        let h = h.to_vec();
                        let set = p.set();
                        // On each new set: it must be one whole generation.
                        let first = generation_of(set.get(0).id);
                        if checked_set != Some(first) {
                            assert_eq!(set.len(), PER_GEN as usize, "a set of {} indicators", set.len());
                            for i in 0..PER_GEN {
                                assert_eq!(generation_of(set.get(i).id), first, "mixed generations in one set");
                            }
                            checked_set = Some(first);
                        }
                        for hit in h {
                            let sensor::pipeline::Source::Indicator(id) = hit.source else { panic!("rule hit") };
                            let ind = set.get(id);
                            let g = generation_of(ind.id);
                            assert_eq!(g, first);
                            let sensor::scratch::HitValue::Ip(IpAddr::V4(a)) = hit.value else { panic!("v6 hit") };
                            assert_eq!(
                                a.octets()[1],
                                if g.is_multiple_of(2) { 18 } else { 19 },
                                "hit outside its generation"
                            );
                            generations.insert(g);
                            hits += 1;
                        }
                    }
                }
                (hits, generations, p.counters.reloads)
            })
        })
        .collect();

    for n in 1..=100 {
        write_atomically(&path, &feed(n));
        std::thread::sleep(Duration::from_millis(12));
    }
    // Wait for the last generation to be in use.
    let deadline = Instant::now() + Duration::from_secs(10);
    while generation_of(shared.load().get(0).id) != 100 {
        assert!(Instant::now() < deadline, "generation 100 never loaded");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    done.store(true, Ordering::Relaxed);
    for r in readers {
        let (hits, generations, reloads) = r.join().expect("reader panicked");
        assert!(hits > 0 && reloads >= 3, "hits {hits}, reloads {reloads}");
        assert!(generations.len() >= 3, "saw only {} generations", generations.len());
        assert!(generations.contains(&100));
    }
    let status = shared.status();
    assert!(status.generation > 3 && status.last_error.is_none(), "{status:?}");
    drop(reloader);

    // `intel convert` on the file shows exactly the final generation.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sdn-sensor"))
        .args(["intel", "convert", "--intel", path.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let ids: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(ids.len(), PER_GEN as usize);
    assert!(ids.iter().all(|id| id.starts_with("g100-")));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_failed_reload_keeps_the_previous_set_and_says_why() {
    let (dir, path, shared, reloader) = watched_feed("fail");
    std::fs::remove_file(&path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.status().last_error.is_none() {
        assert!(Instant::now() < deadline, "the failure was never reported");
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = shared.status();
    assert!(status.last_error.as_deref().unwrap().contains("cannot read feed"), "{status:?}");
    assert_eq!((status.generation, shared.load().len()), (1, PER_GEN as usize));
    // Putting a good file back is picked up.
    write_atomically(&path, &feed(1));
    while shared.status().generation != 2 {
        assert!(Instant::now() < deadline, "the repaired feed was never loaded");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(shared.status().last_error.is_none());
    assert_eq!(generation_of(shared.load().get(0).id), 1);
    drop(reloader);
    std::fs::remove_dir_all(dir).ok();
}
