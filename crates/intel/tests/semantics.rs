//! Acceptance (issue 3.2): the matching rules of DESIGN.md §3, table-driven.
//! Each row: a value as an operator or decoder would present it, and the
//! verdict plus the ids of the indicators it must report.

use intel::{FeedFormat, LoadOptions, SetBuilder};

const FEED: &str = "\
id,type,threat_type,ip,dns,value
d1,domain,c2,,evil.example,
d2,domain,c2,,deep.cdn.evil.example,
d3,domain,phish,,login.bank.example,
u1,url,phish,,,evil.example/a/~foo
u2,url,phish,,,https://secure.example/login?next=%2Fhome
u3,url,phish,,,http://only-http.example/x
e1,email,phish,,,billing@evil.example
h1,md5,mal,,,44D88612FEA8A8F36DE82E1278ABB02F
h2,sha256,mal,,,275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f
c8,cidr,broad,,,10.0.0.0/8
c16,cidr,narrow,,,10.1.0.0/16
c24,cidr,narrowest,,,10.1.2.0/24
i1,ip,c2,10.1.2.3,,
p1,ip,c2,,,192.0.2.7:8443
p6,ip,c2,,,[2001:db8::7]:443
v6,cidr,v6,,,2001:db8:bad::/48
r1,ip,lateral,172.16.5.5,,
";

const ALLOW: &str = r#"{"name": "test allowlist", "type": "hostname", "list": ["good.evil.example", "bank.example"]}"#;
const RFC1918: &str = r#"{"name": "List of RFC 1918 CIDR blocks", "type": "cidr", "list": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}"#;

fn set(with_rfc1918: bool) -> intel::IndicatorSet {
    let mut b = SetBuilder::new();
    let opts = LoadOptions::default();
    intel::feeds::load_text("feed.csv", FEED, &mut b, opts).unwrap();
    intel::feeds::load_text("allow.json", ALLOW, &mut b, opts).unwrap();
    if with_rfc1918 {
        let r = intel::feeds::load_text("rfc1918.json", RFC1918, &mut b, opts).unwrap();
        assert_eq!(r.format, FeedFormat::Warninglist);
    }
    b.build()
}

fn verdict(set: &intel::IndicatorSet, value: &str) -> (String, Vec<String>) {
    let v = set.check(value).unwrap_or_else(|e| panic!("{value}: {e}"));
    let ids = v.matches.iter().map(|i| set.get(*i).id.to_string()).collect();
    (v.name().to_string(), ids)
}

#[test]
fn matching_rules() {
    let s = set(false);
    let rows: &[(&str, &str, &[&str])] = &[
        // Domains: case-insensitive, trailing dot ignored, label boundaries.
        ("evil.example", "hit", &["d1"]),
        ("a.b.EVIL.example.", "hit", &["d1"]),
        ("notevil.example", "none", &[]),
        ("example", "none", &[]),
        // The most specific listed suffix wins.
        ("x.deep.cdn.evil.example", "hit", &["d2"]),
        ("cdn.evil.example", "hit", &["d1"]),
        // An allowlisted subtree is suppressed, the rest of the domain is not.
        ("good.evil.example", "suppressed", &["d1"]),
        ("www.good.evil.example", "suppressed", &["d1"]),
        ("bad.evil.example", "hit", &["d1"]),
        ("notgood.evil.example", "hit", &["d1"]),
        // An allowlist entry less specific than the indicator does not win.
        ("login.bank.example", "hit", &["d3"]),
        ("www.bank.example", "none", &[]),
        // URLs: normalized; scheme-less indicators match http and https.
        ("http://Evil.example:80/a/%7Efoo#x", "hit", &["u1"]),
        ("https://evil.example/a/~foo", "hit", &["u1"]),
        ("ftp://evil.example/a/~foo", "none", &[]),
        ("http://evil.example/a/~FOO", "none", &[]),
        ("HTTPS://SECURE.example:443/login?next=%2fhome", "hit", &["u2"]),
        ("https://only-http.example/x", "none", &[]),
        ("http://only-http.example/x", "hit", &["u3"]),
        // E-mail: addr-spec from name-addr forms, case-insensitive.
        ("Billing Dept <Billing@Evil.Example>", "hit", &["e1"]),
        ("billing@evil.example.org", "none", &[]),
        // Hashes: case-insensitive hex.
        ("44d88612fea8a8f36de82e1278abb02f", "hit", &["h1"]),
        ("275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F", "hit", &["h2"]),
        // CIDR nesting: the longest prefix wins; an exact address beats all.
        ("10.200.0.1", "hit", &["c8"]),
        ("10.1.200.1", "hit", &["c16"]),
        ("10.1.2.200", "hit", &["c24"]),
        ("10.1.2.3", "hit", &["i1"]),
        ("::ffff:10.1.2.3", "hit", &["i1"]),
        ("2001:db8:bad:1::1", "hit", &["v6"]),
        ("2001:db8:bae::1", "none", &[]),
        // ip:port indicators match only that port.
        ("192.0.2.7:8443", "hit", &["p1"]),
        ("192.0.2.7:443", "none", &[]),
        ("192.0.2.7", "none", &[]),
        ("[2001:db8::7]:443", "hit", &["p6"]),
        ("[2001:db8::7]:80", "none", &[]),
        // Without an RFC 1918 allowlist, private addresses hit like others.
        ("172.16.5.5", "hit", &["r1"]),
    ];
    for (value, want, ids) in rows {
        let (got, got_ids) = verdict(&s, value);
        assert_eq!(
            (got.as_str(), got_ids.iter().map(String::as_str).collect::<Vec<_>>()),
            (*want, ids.to_vec()),
            "{value}"
        );
    }
}

#[test]
fn a_warninglist_of_rfc1918_space_suppresses_feed_hits_on_it() {
    let s = set(true);
    for (value, want) in [("172.16.5.5", "suppressed"), ("10.1.2.3", "suppressed"), ("192.0.2.7:8443", "hit")] {
        assert_eq!(verdict(&s, value).0, want, "{value}");
    }
    let v = s.check("10.1.2.3").unwrap();
    assert_eq!(&*v.suppressed_by.unwrap().value, "10.0.0.0/8");
    assert_eq!(&*v.suppressed_by.unwrap().list, "rfc1918.json");
}

#[test]
fn values_that_are_nothing_are_reported() {
    let s = set(false);
    for bad in ["", "a b", "-", "http://", "x@"] {
        assert!(s.check(bad).is_err(), "{bad:?}");
    }
}
