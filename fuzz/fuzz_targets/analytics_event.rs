//! The analytics stage's event reader (a hand-written fast path with a
//! serde fallback) over arbitrary bytes, then the engine: never a panic;
//! and when the fast path accepts a line, the serde reader agrees on every
//! field the engine uses (the block skip, the expected member order and the
//! borrowed DNS answers included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static ENGINE: RefCell<analytics::Engine> = RefCell::new(analytics::Engine::new(analytics::Config {
        max_keys: 1024,
        ..analytics::bench::config()
    }));
}

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = analytics::parse_event(data) else { return };
    let e = parsed.event();
    if let Ok(serde) = analytics::parse_event_serde(data) {
        let s = serde.event();
        assert_eq!((e.id, e.ts_ns, e.kind, e.input, e.location, e.value), (s.id, s.ts_ns, s.kind, s.input, s.location, s.value));
        assert_eq!((e.src_ip, e.dst_ip, e.host()), (s.src_ip, s.dst_ip, s.host()));
        // Everything else too (indicator, rule, ports, DNS answers, ...).
        assert_eq!(format!("{e:?}"), format!("{s:?}"));
    }
    ENGINE.with(|eng| {
        let mut out = Vec::new();
        eng.borrow_mut().push(&e, &mut out);
        let mut buf = Vec::new();
        for o in &out {
            buf.clear();
            analytics::encode(o, "fuzz", &mut buf);
        }
    });
});
