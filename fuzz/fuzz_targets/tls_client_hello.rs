//! `wire::tls::parse_client_hello` over arbitrary first segments. Beyond
//! "never panics", checks that the fields borrow the payload and are well
//! formed, and that cutting the segment shorter only ever turns a result
//! into `Truncated` or a partial hello agreeing with the full one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::tls::{ClientHello, MAX_RECORD_LEN, RECORD_HEADER_LEN, TlsError, is_grease, parse_client_hello};

/// `inner` is a sub-slice of `outer` (or empty).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (lo, hi) = (outer.as_ptr() as usize, outer.as_ptr() as usize + outer.len());
    let (p, q) = (inner.as_ptr() as usize, inner.as_ptr() as usize + inner.len());
    inner.is_empty() || (lo <= p && q <= hi)
}

fn check(data: &[u8], h: &ClientHello<'_>) {
    assert_eq!(data[0], 22);
    assert!(h.record_version >> 8 == 3 && h.record_version & 0xff <= 4, "{:#x}", h.record_version);
    assert_eq!(h.record_version, u16::from_be_bytes([data[1], data[2]]));
    let record_len = u16::from_be_bytes([data[3], data[4]]) as usize;
    assert!((1..=MAX_RECORD_LEN).contains(&record_len));
    assert_eq!(data[5], 1);
    let hs_len = u32::from_be_bytes([0, data[6], data[7], data[8]]) as usize;
    // Version, random, session id length, one cipher suite, one
    // compression method at least.
    const MIN_HELLO: usize = 2 + 32 + 1 + 2 + 2 + 1 + 1;
    assert!(hs_len >= MIN_HELLO, "{hs_len}");
    if h.complete {
        assert!(hs_len + 4 <= record_len && RECORD_HEADER_LEN + 4 + hs_len <= data.len());
    } else {
        assert!(hs_len + 4 > record_len || RECORD_HEADER_LEN + 4 + hs_len > data.len());
    }
    for s in [h.sni, h.alpn_first].into_iter().flatten() {
        assert!(!s.is_empty() && within(data, s));
    }
    if let Some(v) = h.supported_versions_max {
        assert!(!is_grease(v));
    }
}

fuzz_target!(|data: &[u8]| {
    let full = parse_client_hello(data);
    match &full {
        Ok(h) => check(data, h),
        Err(e) => assert!(e.reason().starts_with("tls.") && e.to_string() == e.reason()),
    }

    // The same stream cut shorter, as if the segment had ended earlier.
    let n = data.len();
    for cut in [n / 4, n / 2, n * 3 / 4, n.saturating_sub(1)] {
        let part = parse_client_hello(&data[..cut]);
        match (&part, &full) {
            (Ok(p), Ok(f)) => {
                check(&data[..cut], p);
                assert_eq!((p.record_version, p.client_version, p.sni), (f.record_version, f.client_version, f.sni));
                if p.alpn_first.is_some() {
                    assert_eq!(p.alpn_first, f.alpn_first);
                }
                if p.supported_versions_max.is_some() {
                    assert_eq!(p.supported_versions_max, f.supported_versions_max);
                }
                if p.complete {
                    assert_eq!(p, f);
                }
            }
            // The SNI was there before the cut; only a malformation past
            // the cut fails the longer one.
            (Ok(p), Err(e)) => {
                assert!(!p.complete && matches!(e, TlsError::BadLength | TlsError::BadExtension), "{e:?}")
            }
            (Err(e), Ok(_)) => assert_eq!(*e, TlsError::Truncated),
            // Any verdict other than Truncated rests on bytes the longer
            // segment has too.
            (Err(pe), Err(fe)) => {
                if *pe != TlsError::Truncated {
                    assert_eq!(pe, fe);
                }
            }
        }
    }
});
