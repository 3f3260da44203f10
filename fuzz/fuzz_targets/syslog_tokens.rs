//! `syslog::tokens::tokens` over arbitrary bytes, with and without refang.
//! Checks: every token's text is `input[offset..offset + len]`, offsets
//! strictly increase, nothing is defanged without refang, each kind agrees
//! with its (refanged) text (addresses parse, hashes are hex of the right
//! length, domains are dotted labels, URLs start with a scheme, e-mails
//! hold an `@`), and `refang` never grows its input.
#![no_main]

use core::net::{Ipv4Addr, Ipv6Addr};
use libfuzzer_sys::fuzz_target;
use syslog::tokens::{Token, TokenKind, TokenOptions, refang, tokens};

fn check(data: &[u8], t: &Token<'_>, refang_on: bool, buf: &mut Vec<u8>) {
    assert!(!t.text.is_empty());
    assert_eq!(data.get(t.offset..t.offset + t.text.len()), Some(t.text));
    assert!(refang_on || !t.defanged, "{t:?}");
    let clean = refang(t.text, buf);
    assert!(clean.len() <= t.text.len());
    // With refang on, every defang sequence inside a token is recognised (a
    // URL's path can hold a literal `[.]` when refang is off).
    if refang_on && !t.defanged {
        assert_eq!(clean, t.text, "{t:?}");
    }
    let s = core::str::from_utf8(clean);
    match t.kind {
        TokenKind::Ipv4 => assert!(s.unwrap().parse::<Ipv4Addr>().is_ok(), "{t:?}"),
        TokenKind::Ipv6 => assert!(s.unwrap().parse::<Ipv6Addr>().is_ok(), "{t:?}"),
        TokenKind::Md5 | TokenKind::Sha1 | TokenKind::Sha256 => {
            let len = match t.kind {
                TokenKind::Md5 => 32,
                TokenKind::Sha1 => 40,
                _ => 64,
            };
            assert!(!t.defanged);
            assert_eq!(t.text.len(), len);
            assert!(t.text.iter().all(u8::is_ascii_hexdigit), "{t:?}");
        }
        TokenKind::Domain => {
            assert!(clean.len() <= 253 && clean.contains(&b'.'), "{t:?}");
            for label in clean.split(|&b| b == b'.') {
                assert!(!label.is_empty() && label.len() <= 63, "{t:?}");
                assert!(label.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{t:?}");
            }
        }
        TokenKind::Url => {
            let lower = clean.to_ascii_lowercase();
            assert!(
                lower.starts_with(b"http://") || lower.starts_with(b"https://") || lower.starts_with(b"ftp://"),
                "{t:?}"
            );
        }
        TokenKind::Email => {
            let at = clean.iter().position(|&b| b == b'@').expect("an e-mail holds an @");
            assert!(at > 0 && at + 1 < clean.len(), "{t:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut buf = Vec::new();
    for refang_on in [false, true] {
        let mut last: Option<usize> = None;
        let mut count = 0usize;
        tokens(data, TokenOptions { refang: refang_on }, &mut |t| {
            assert!(last.is_none_or(|l| t.offset > l), "offsets must increase: {t:?} after {last:?}");
            last = Some(t.offset);
            count += 1;
            check(data, &t, refang_on, &mut buf);
        });
        assert!(count <= data.len());
    }
    let mut whole = Vec::new();
    assert!(refang(data, &mut whole).len() <= data.len());
});
