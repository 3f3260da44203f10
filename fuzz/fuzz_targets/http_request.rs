//! `wire::http::parse_request` over arbitrary first segments, and
//! `host_without_port` over arbitrary bytes. Beyond "never panics", checks
//! what holds for every input: the fields borrow the payload and are well
//! formed, and cutting the segment shorter never changes a field that is
//! still reported (a header line is never returned half).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::http::{HttpError, METHODS, Request, host_without_port, parse_request};

/// `inner` is a sub-slice of `outer` (or empty).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (lo, hi) = (outer.as_ptr() as usize, outer.as_ptr() as usize + outer.len());
    let (p, q) = (inner.as_ptr() as usize, inner.as_ptr() as usize + inner.len());
    inner.is_empty() || (lo <= p && q <= hi)
}

fn is_ows(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

fn check(data: &[u8], r: &Request<'_>) {
    for s in [r.method, r.target, r.version, r.host.unwrap_or(&[]), r.user_agent.unwrap_or(&[])] {
        assert!(within(data, s));
    }
    assert!(METHODS.contains(&r.method), "{:?}", r.method);
    assert!(!r.target.is_empty());
    assert!(r.target.iter().all(|&b| b > b' ' && b != 0x7f), "{:?}", r.target);
    if r.version.is_empty() {
        // HTTP/0.9 simple request.
        assert_eq!(r.method, b"GET");
        assert!(r.host.is_none() && r.user_agent.is_none() && r.complete);
    } else {
        assert_eq!(r.version.len(), 8);
        assert!(r.version.starts_with(b"HTTP/1.") && r.version[7].is_ascii_digit(), "{:?}", r.version);
    }
    for v in [r.host, r.user_agent].into_iter().flatten() {
        assert!(!v.contains(&b'\n'));
        assert!(!v.first().is_some_and(is_ows) && !v.last().is_some_and(is_ows), "{v:?}");
        // No CR (bare or before LF) and no NUL in a value.
        assert!(!v.contains(&b'\r') && !v.contains(&0), "{v:?}");
    }
    if r.complete {
        assert!(
            data.windows(2).any(|w| w == b"\n\n") || data.windows(3).any(|w| w == b"\n\r\n") || r.version.is_empty()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let full = parse_request(data);
    match &full {
        Ok(r) => check(data, r),
        Err(e) => assert!(e.reason().starts_with("http.") && e.to_string() == e.reason()),
    }

    // The same request cut shorter, as if the segment had ended earlier.
    let n = data.len();
    for cut in [n / 4, n / 2, n * 3 / 4, n.saturating_sub(1)] {
        let part = parse_request(&data[..cut]);
        match (&part, &full) {
            (Ok(p), Ok(f)) => {
                check(&data[..cut], p);
                assert_eq!((p.method, p.target, p.version), (f.method, f.target, f.version));
                // Whatever the shorter segment reports, the longer one
                // reports the same (first header wins, no half lines).
                if p.host.is_some() {
                    assert_eq!(p.host, f.host);
                }
                if p.user_agent.is_some() {
                    assert_eq!(p.user_agent, f.user_agent);
                }
                if p.complete {
                    assert_eq!(p, f);
                }
            }
            // Only a bad header line past the cut can fail the longer one.
            (Ok(p), Err(e)) => assert!(*e == HttpError::BadHeader && !p.complete, "{e:?} {p:?}"),
            // A prefix of a valid head can only be cut inside the method or
            // the request line.
            (Err(e), Ok(_)) => assert!(matches!(e, HttpError::NotHttp | HttpError::BadRequestLine), "{e:?}"),
            (Err(pe), Err(fe)) => {
                if *pe == HttpError::BadHeader {
                    assert_eq!(fe, pe);
                }
                if *pe == HttpError::BadRequestLine {
                    assert_ne!(*fe, HttpError::NotHttp);
                }
            }
        }
    }

    let h = host_without_port(data);
    assert!(within(data, h) && h.len() <= data.len());
    if data.first() == Some(&b'[') && data.contains(&b']') {
        assert!(!h.contains(&b']') && h.len() + 2 <= data.len());
    } else if h.len() < data.len() {
        // A port was cut: exactly one colon, dropped with what follows.
        assert_eq!(data.iter().filter(|&&b| b == b':').count(), 1);
        assert_eq!(data[h.len()], b':');
        assert!(!h.contains(&b':'));
    }
});
