//! Shared body of the per-format `feed_*` targets: load arbitrary text as
//! one feed format (non-strict into the set that gets built, strict into a
//! scratch builder), then look up a few values taken from the input itself.
//! Nothing here may panic; `check` returns Err for unclassifiable values.

use intel::{FeedFormat, LoadOptions, SetBuilder};

/// Up to this many input tokens are looked up in the built set.
const MAX_PROBES: usize = 8;

pub fn run(format: FeedFormat, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let name = format!("fuzz.{}", format.name());

    // Strict: a bad line is fatal. Not compiled (building a set allocates a
    // 64 Ki-entry IPv4 index), only parsed.
    let mut scratch = SetBuilder::new();
    match intel::feeds::load_text(&name, &text, &mut scratch, LoadOptions { strict: true, format: Some(format) }) {
        Ok(r) => assert_eq!(r.format, format),
        Err(e) => {
            let _ = e.to_string();
        }
    }

    // Non-strict: bad lines are skipped; the result is compiled and queried.
    let mut builder = SetBuilder::new();
    match intel::feeds::load_text(&name, &text, &mut builder, LoadOptions { strict: false, format: Some(format) }) {
        Ok(r) => {
            assert_eq!(r.format, format);
            for e in &r.errors {
                let _ = e.to_string();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let set = builder.build();
    let _ = set.len();

    let probes = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\'' | '[' | ']' | '{' | '}'))
        .filter(|t| !t.is_empty())
        .take(MAX_PROBES);
    for p in probes.chain(["192.0.2.1", "[2001:db8::1]:443", "example.com"]) {
        if let Ok(v) = set.check(p) {
            let _ = v.name();
            for &id in &v.matches {
                let _ = set.get(id);
            }
        }
    }
}
