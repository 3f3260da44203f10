use super::*;

fn s(b: Option<&[u8]>) -> Option<&str> {
    b.map(|b| core::str::from_utf8(b).unwrap())
}

#[test]
fn rfc5424_with_structured_data_and_escapes() {
    let raw = br#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"ica\]tion\\" eventID="1011"][examplePriority@32473 class="high"] An application event"#;
    let m = parse(raw);
    assert_eq!((m.pri, m.version, m.facility(), m.severity()), (Some(165), 1, 20, 5));
    assert_eq!(m.timestamp.unwrap().unix_nanos, Some(1_065_910_455_003_000_000));
    assert_eq!(s(m.hostname), Some("mymachine.example.com"));
    assert_eq!(s(m.app_name), Some("evntslog"));
    assert_eq!(m.procid, None);
    assert_eq!(s(m.msgid), Some("ID47"));
    assert_eq!(m.msg, b"An application event");
    let els: Vec<_> = m.sd_elements().collect();
    assert_eq!(els.len(), 2);
    assert_eq!(els[0].id, b"exampleSDID@32473");
    let params: Vec<_> = els[0].params.clone().collect();
    assert_eq!(params.len(), 3);
    assert_eq!(params[1].0, b"eventSource");
    assert_eq!(params[1].1, br#"Appl\"ica\]tion\\"#);
    let mut buf = Vec::new();
    assert_eq!(unescape_param_value(params[1].1, &mut buf), br#"Appl"ica]tion\"#);
    assert_eq!(unescape_param_value(br"a\b", &mut buf), br"a\b");
    assert_eq!(els[1].params.clone().collect::<Vec<_>>(), [(&b"class"[..], &b"high"[..])]);
}

#[test]
fn rfc5424_nilvalues_and_bom() {
    let m = parse(b"<34>1 - - - - - -\n");
    assert_eq!(m.version, 1);
    assert_eq!(
        (m.timestamp, m.hostname, m.app_name, m.procid, m.msgid, m.structured_data),
        (None, None, None, None, None, None)
    );
    assert_eq!(m.msg, b"");
    let m = parse(b"<34>1 2003-10-11T22:14:15.003-07:00 host su 77 - - \xEF\xBB\xBF'su root' failed\0");
    assert_eq!(m.version, 1);
    assert!(m.bom);
    assert_eq!(s(m.procid), Some("77"));
    assert_eq!(m.msg, b"'su root' failed");
    assert_eq!(m.raw.last(), Some(&b'd'));
    assert_eq!(m.sd_elements().count(), 0);
}

#[test]
fn rfc5424_invalid_falls_back_to_legacy() {
    // Bad SD: read as RFC 3164, all text after PRI kept.
    let m = parse(b"<34>1 - host app - - [bad sd");
    assert_eq!(m.version, 0);
    assert_eq!(m.error, Some(MessageError::BadHeader));
    assert_eq!(m.error.unwrap().reason(), "syslog.bad_header");
    assert_eq!(m.structured_data, None);
    // Without PRI, rsyslog still tries RFC 5424 on "1 ".
    let m = parse(b"1 - h a - - - x");
    assert_eq!((m.version, m.pri, m.error, m.msg), (1, None, Some(MessageError::NoPri), &b"x"[..]));
    assert_eq!(parse(b"1 ").error, Some(MessageError::NoPri));
    // Bad timestamp.
    let m = parse(b"<34>1 2003-13-11T22:14:15Z host app - - - x");
    assert_eq!(m.version, 0);
}

#[test]
fn rfc3164_variants() {
    let m = parse(b"<36>Nov 29 04:42:39 vm sshd[4242]: Failed password");
    assert_eq!((m.pri, m.version), (Some(36), 0));
    assert_eq!(m.timestamp.unwrap().text, b"Nov 29 04:42:39");
    assert_eq!(m.timestamp.unwrap().unix_nanos_with_year(2026), Some(1_795_927_359_000_000_000));
    assert_eq!((s(m.hostname), s(m.app_name), s(m.procid)), (Some("vm"), Some("sshd"), Some("4242")));
    assert_eq!(m.tag, b"sshd[4242]:");
    assert_eq!(m.msg, b" Failed password");

    // No hostname: "robin:" is the tag.
    let m = parse(b"<133>Apr  5 12:56:51 robin: Hello, syslog!");
    assert_eq!((s(m.hostname), s(m.app_name)), (None, Some("robin")));
    assert_eq!(m.msg, b" Hello, syslog!");

    // RFC 3339 timestamp in a legacy message; tag ends at SP.
    let m = parse(b"<13>2013-09-12T19:16:34.457849+04:00 localhost through rsyslog: test");
    assert_eq!(m.timestamp.unwrap().text, b"2013-09-12T19:16:34.457849+04:00");
    assert_eq!((s(m.hostname), s(m.app_name)), (Some("localhost"), Some("through")));
    assert_eq!(m.msg, b" rsyslog: test");

    // No PRI: pri 13, first two words are hostname and tag.
    let m = parse(b"This is not really a syslog message\n");
    assert_eq!((m.pri, m.facility(), m.severity(), m.error), (None, 1, 5, Some(MessageError::NoPri)));
    assert_eq!((s(m.hostname), s(m.app_name)), (Some("This"), Some("is")));
    assert_eq!(m.msg, b" not really a syslog message");

    // One word: a hostname, empty msg.
    let m = parse(b"X");
    assert_eq!((s(m.hostname), m.app_name, m.msg), (Some("X"), None, &b""[..]));

    // postfix/smtpd: program name ends at '/'.
    let m = parse(b"<22>Nov 29 04:42:39 mx postfix/smtpd[17]: connect");
    assert_eq!((s(m.app_name), s(m.procid)), (Some("postfix"), Some("17")));

    // A SP before the timestamp (HP ProCurve), and Cisco's ':' after it.
    let m = parse(b"<13> Oct 11 22:14:15 h t: x");
    assert_eq!((m.timestamp.unwrap().text, s(m.hostname)), (&b"Oct 11 22:14:15"[..], Some("h")));
    let m = parse(b"<13>Oct 11 22:14:15: h t: x");
    assert_eq!((m.timestamp.unwrap().text, s(m.hostname)), (&b"Oct 11 22:14:15"[..], Some("h")));

    // "[pid" without "]": no procid.
    let m = parse(b"<13>h prog[12: x");
    assert_eq!((s(m.app_name), m.procid), (Some("prog"), None));
}

#[test]
fn bad_pri_is_text() {
    for raw in [&b"<192>Oct 11 22:14:15 h t: x"[..], b"<>x", b"<1234>x", b"<12x", b"<"] {
        let m = parse(raw);
        assert_eq!((m.pri, m.version, m.msg, m.hostname), (None, 0, raw, None));
        assert_eq!(m.error, Some(MessageError::BadPri));
    }
    assert_eq!(parse(b"<0>").pri, Some(0));
    assert_eq!(parse(b"<191>x").severity(), 7);
    assert_eq!(parse(b"").msg, b"");
}
