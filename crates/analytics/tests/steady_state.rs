//! No allocation per event in steady state: once the keys of a stream are
//! known, pushing more of the same events allocates nothing (outputs at
//! window close do). Alone in its test binary: the allocation counter is
//! global.

mod common;
use analytics::*;
use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn rules() -> Vec<CorrelationRule> {
    vec![
        CorrelationRule::DnsThenConnect { name: "dns".into(), within_s: 60 },
        CorrelationRule::DistinctIndicators { name: "spread".into(), within_s: 60, k: 3 },
        CorrelationRule::DistinctTypes { name: "types".into(), within_s: 60, k: 2 },
        CorrelationRule::MultiSensor { name: "multi".into(), within_s: 60, sensors: 2 },
    ]
}

#[test]
fn no_allocation_per_event_in_steady_state() {
    let lines = bench::stream(5000);
    let parsed: Vec<ParsedEvent<'_>> = lines.iter().map(|l| parse_event(l.as_bytes()).unwrap()).collect();
    let events: Vec<EventIn<'_>> = parsed.iter().map(|p| p.event()).collect();
    let mut e = Engine::new(Config { correlations: rules(), ..Config::default() });
    let mut out = Vec::with_capacity(100_000);
    let push_rounds = |e: &mut Engine, out: &mut Vec<Output>, window: i64, rounds: std::ops::Range<i64>| {
        for round in rounds {
            for ev in &events {
                e.push(&EventIn { ts_ns: ev.ts_ns + window * 60 * NS + round * 10 * NS, ..*ev }, out);
            }
        }
    };
    // Warm-up: a whole window, then three rounds of the next one (every key
    // seen, incidents fired, every buffer at its size). The stream spans
    // 5 s: rounds 10 s apart stay in their window.
    push_rounds(&mut e, &mut out, 0, 0..6);
    push_rounds(&mut e, &mut out, 1, 0..3);
    out.clear();
    let before = ALLOCS.load(Ordering::Relaxed);
    push_rounds(&mut e, &mut out, 1, 3..6);
    let during = ALLOCS.load(Ordering::Relaxed) - before;
    assert!(out.is_empty(), "no output inside the window: {:?}", out.first());
    assert_eq!(during, 0, "allocations while pushing 15000 known events");
    // The JSON path too (a line without escapes borrows every string); its
    // timestamps are older than the window: late, processed all the same.
    let before = ALLOCS.load(Ordering::Relaxed);
    for l in &lines {
        let p = parse_event(l.as_bytes()).unwrap();
        e.push(&p.event(), &mut out);
    }
    assert_eq!(ALLOCS.load(Ordering::Relaxed) - before, 0);
    assert!(out.is_empty());
    assert_eq!(e.stats().events, 65_000);
}
