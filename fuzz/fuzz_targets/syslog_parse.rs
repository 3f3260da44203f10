//! `syslog::message::parse` over arbitrary bytes: never panics, every field
//! is a sub-slice of the input, PRI/facility/severity are in range, and the
//! structured-data walk terminates with slices inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syslog::message::{self, MessageError, TimestampKind, unescape_param_value};

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

fuzz_target!(|data: &[u8]| {
    let m = message::parse(data);
    assert!(inside(data, m.raw));
    assert!(m.raw.len() <= data.len());
    assert!(!matches!(m.raw.last(), Some(b'\n' | 0)));
    assert!(inside(m.raw, m.msg));
    assert!(inside(m.raw, m.tag));
    for f in [m.hostname, m.app_name, m.procid, m.msgid, m.structured_data].into_iter().flatten() {
        assert!(inside(m.raw, f));
        assert!(!f.is_empty());
    }
    if let Some(p) = m.pri {
        assert!(p <= message::MAX_PRI);
    }
    assert!(m.facility() <= 23);
    assert!(m.severity() <= 7);
    assert!(m.version <= 1);
    assert_eq!(m.pri.is_none(), matches!(m.error, Some(MessageError::NoPri | MessageError::BadPri)));
    if m.version == 1 {
        assert_ne!(m.error, Some(MessageError::BadHeader));
    }
    if m.error == Some(MessageError::BadPri) {
        assert_eq!(m.msg, m.raw);
    }
    if m.version == 0 {
        assert!(m.msgid.is_none() && m.structured_data.is_none());
    }
    if let Some(t) = m.timestamp {
        assert!(inside(m.raw, t.text));
        match t.kind {
            TimestampKind::Rfc3339 => {
                assert!(t.unix_nanos.is_some());
                assert_eq!(t.unix_nanos_with_year(1), t.unix_nanos);
            }
            TimestampKind::Rfc3164 => {
                assert!(t.unix_nanos.is_none());
                let _ = t.unix_nanos_with_year(i32::MAX);
                let _ = t.unix_nanos_with_year(i32::MIN);
            }
        }
    }
    let mut buf = Vec::new();
    let sd = m.structured_data.unwrap_or(b"");
    let mut elements = 0;
    for e in m.sd_elements() {
        elements += 1;
        assert!(inside(sd, e.id) && !e.id.is_empty() && e.id.len() <= 32);
        for (name, value) in e.params {
            assert!(inside(sd, name) && !name.is_empty());
            assert!(inside(sd, value));
            assert!(unescape_param_value(value, &mut buf).len() <= value.len());
        }
    }
    assert_eq!(elements > 0, m.structured_data.is_some());
});
