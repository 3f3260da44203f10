//! Feed readers on hand-written lines and on the real lists in the shared
//! test data.

use intel::feeds::load_text;
use intel::{FeedFormat, IndicatorType, LoadOptions, SetBuilder};
use std::path::Path;

fn load(text: &str) -> (intel::IndicatorSet, intel::FeedReport) {
    let mut b = SetBuilder::new();
    let r = load_text("feed.csv", text, &mut b, LoadOptions::default()).unwrap();
    (b.build(), r)
}

fn ids(set: &intel::IndicatorSet, addr: &str) -> Vec<String> {
    set.match_ip(addr.parse().unwrap()).0.iter().map(|i| set.get(*i).id.to_string()).collect()
}

#[test]
fn original_csv_columns_and_fallbacks() {
    let text = "\
# comment
id,type,threat_type,ip,dns,value

1,ip,c2,192.0.2.1,,
2,ip,c2,,,192.0.2.2
3,cidr,scan,,,198.51.100.0/24
\"4\",\"domain\",\"c2, extra\",,Evil.Example.,
5,domain,c2,,,other.example
6,SHA256,mal,,,E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855
7,url,phish,,,http://x.example/a
8,email,phish,,,a@x.example
9,sha1,mal,,,da39a3ee5e6b4b0d3255bfef95601890afd80709
";
    let (set, r) = load(text);
    assert_eq!(r.format, FeedFormat::OriginalCsv);
    assert_eq!((r.loaded, r.skipped), (9, 0), "{:?}", r.errors);
    assert_eq!(ids(&set, "192.0.2.1"), ["1"]);
    assert_eq!(ids(&set, "192.0.2.2"), ["2"]);
    assert_eq!(ids(&set, "198.51.100.99"), ["3"]);
    let d = set.get(3);
    assert_eq!((d.id, d.kind, d.value, d.threat_type), ("4", IndicatorType::Domain, "evil.example", Some("c2, extra")));
    assert_eq!(set.get(5).value, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(set.count(IndicatorType::Sha1), 1);
}

#[test]
fn bad_rows_are_reported_with_line_numbers_and_skipped() {
    let text = "1,ip,c2,192.0.2.1,,\n2,ip,c2,not-an-ip,,\n3,ip,c2,,,\n\n4,cidr,x,,,1.2.3.0/40\n5,\"ip,c2,1.2.3.4,,\n6,sha256,m,,,abcd\n,ip,c2,1.1.1.1,,\n7,ip,c2,192.0.2.7,,\n";
    let (set, r) = load(text);
    assert_eq!((r.loaded, r.skipped), (2, 6));
    let lines: Vec<usize> = r.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 5, 6, 7, 8]);
    assert_eq!(
        r.errors[0].to_string(),
        "feed.csv:2: \"not-an-ip\" is not an IP address (e.g. 192.0.2.1, 2001:db8::1, 192.0.2.1:443) in column ip"
    );
    assert!(r.errors[3].reason.contains("unterminated quoted field"));
    assert_eq!(ids(&set, "192.0.2.7"), ["7"]);
}

#[test]
fn strict_mode_stops_at_the_first_bad_line() {
    let mut b = SetBuilder::new();
    let e = load_text("f", "1,ip,c2,192.0.2.1,,\n2,ip,c2,bad,,\n", &mut b, LoadOptions { strict: true, format: None })
        .unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.to_string().starts_with("f:2: "), "{e}");
}

#[test]
fn plain_lists_with_comments_and_extra_columns() {
    let text = "# banner\n192.0.2.1\t5\n198.51.100.0/24 # scanner net\n2001:db8::/48\n\n  203.0.113.9  \nnope\n";
    let (set, r) = load(text);
    assert_eq!(r.format, FeedFormat::PlainList);
    assert_eq!((r.loaded, r.skipped), (4, 1));
    assert_eq!(r.errors[0].line, 7);
    assert_eq!(ids(&set, "198.51.100.200"), ["198.51.100.0/24"]);
    assert_eq!(ids(&set, "2001:db8:0:1::1"), ["2001:db8::/48"]);
    assert_eq!(ids(&set, "203.0.113.9"), ["203.0.113.9"]);
}

#[test]
fn real_ip_lists_load_completely() {
    let root = Path::new(env!("SDN_TESTDATA")).join("ioc");
    for file in ["ipsum/level8.txt", "ipsum/ipsum_head3000.txt", "maltrail/mass_scanner_cidr.txt"] {
        let path = root.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        // Every non-comment line is one indicator.
        let expected = text.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).count();
        let mut b = SetBuilder::new();
        let r = intel::load_feed(&path, &mut b, LoadOptions::default()).unwrap();
        assert_eq!((r.loaded, r.skipped), (expected, 0), "{file}: {:?}", r.errors.first());
        let set = b.build();
        // Every listed value matches itself.
        for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).take(500) {
            let token = line.split(['#', '\t', ' ']).next().unwrap().trim();
            let addr = token.split('/').next().unwrap();
            assert!(!set.match_ip(addr.parse().unwrap()).0.is_empty(), "{file}: {token}");
        }
    }
}
