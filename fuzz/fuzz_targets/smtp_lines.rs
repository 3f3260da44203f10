//! `wire::smtp` over arbitrary client streams: every LF-separated line
//! through `parse_command`, `parse_bdat`, `header_name` and
//! `header_addresses`, and the whole input as one (folded) header value.
//! Beyond "never panics, never loops", checks that everything returned is a
//! trimmed sub-slice of its input and that addresses come in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::smtp::{Command, header_addresses, header_name, is_continuation, parse_bdat, parse_command};

fn range(s: &[u8]) -> (usize, usize) {
    (s.as_ptr() as usize, s.as_ptr() as usize + s.len())
}

/// `inner` is a sub-slice of `outer` (or empty).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let ((lo, hi), (p, q)) = (range(outer), range(inner));
    inner.is_empty() || (lo <= p && q <= hi)
}

fn is_ws(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trimmed(s: &[u8]) -> bool {
    !s.first().is_some_and(is_ws) && !s.last().is_some_and(is_ws)
}

fn check_addresses(value: &[u8]) {
    let mut prev_end = range(value).0;
    let mut count = 0usize;
    for a in header_addresses(value) {
        assert!(within(value, a) && !a.is_empty(), "{a:?}");
        assert!(a.contains(&b'@') && trimmed(a), "{a:?}");
        // In order, not overlapping.
        let (p, q) = range(a);
        assert!(p >= prev_end, "address before the previous one");
        prev_end = q;
        count += 1;
    }
    // Every address holds an '@' of its own.
    assert!(count <= value.iter().filter(|&&b| b == b'@').count());
}

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        let verb_is = |v: &[u8]| line.len() >= 4 && line[..4].eq_ignore_ascii_case(v);
        match parse_command(line) {
            Command::MailFrom(a) | Command::RcptTo(a) => {
                assert!(within(line, a) && trimmed(a), "{a:?}");
                assert!(verb_is(b"MAIL") || verb_is(b"RCPT"));
            }
            Command::Helo(a) => {
                assert!(within(line, a) && trimmed(a));
                assert!(verb_is(b"HELO") || verb_is(b"EHLO"));
            }
            Command::Data => assert!(verb_is(b"DATA")),
            Command::Rset => assert!(verb_is(b"RSET")),
            Command::Quit => assert!(verb_is(b"QUIT")),
            Command::Bdat => assert!(verb_is(b"BDAT") && parse_bdat(line).is_some()),
            Command::Other => {}
        }
        if parse_bdat(line).is_some() {
            assert_eq!(parse_command(line), Command::Bdat);
        }
        if let Some((name, value)) = header_name(line) {
            assert!(!is_continuation(line));
            assert!(within(line, name) && within(line, value) && trimmed(value));
            assert!(!name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b) && b != b':'));
        }
        check_addresses(line);
    }
    check_addresses(data);
});
