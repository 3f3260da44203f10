//! Acceptance (issue 3.1): every file under the shared `ioc/` folder, and a
//! fixture per format the folder lacks, loads with the expected count per
//! indicator type. The expectations were counted independently of this
//! code, with the shell commands named beside each group.

use intel::{FeedFormat, IndicatorType as T, LoadOptions, SetBuilder};
use std::path::{Path, PathBuf};

struct Want {
    file: &'static str,
    format: FeedFormat,
    by_type: &'static [(T, usize)],
    allowlist: usize,
    bad: usize,
    unsupported: usize,
}

const fn w(file: &'static str, format: FeedFormat, by_type: &'static [(T, usize)]) -> Want {
    Want { file, format, by_type, allowlist: 0, bad: 0, unsupported: 0 }
}

fn wanted() -> Vec<Want> {
    use FeedFormat as F;
    vec![
        // Zeek: awk -F'\t' '!/^#/ && NF {print $2}' FILE | sort | uniq -c
        w("zeek-intel/Amnesty_NSO_Domains.intel", F::ZeekIntel, &[(T::Domain, 1407), (T::Email, 17)]),
        w("zeek-intel/abuse-ch-threatfox-ip.intel", F::ZeekIntel, &[(T::Ip, 3493)]),
        w("zeek-intel/alienvault.intel", F::ZeekIntel, &[(T::Ip, 609)]),
        w("zeek-intel/compromised-ips.intel", F::ZeekIntel, &[(T::Ip, 539)]),
        w("zeek-intel/drb_ra_domain.intel", F::ZeekIntel, &[(T::Domain, 61)]),
        w("zeek-intel/lockbit_ip.intel", F::ZeekIntel, &[(T::Ip, 11)]),
        w("zeek-intel/openphish.intel", F::ZeekIntel, &[(T::Url, 300)]),
        w("zeek-intel/predict_intel.intel", F::ZeekIntel, &[(T::Domain, 122)]),
        w("zeek-intel/tweetfeed.intel", F::ZeekIntel, &[(T::Ip, 250)]),
        // Maltrail, first field of each non-comment line: ip = grep -E
        // '^[0-9.]+(:[0-9]+)?$', url = lines with '/' (path-only trails,
        // grep -c '^/': 282 and 345, are URLs too), domain = the rest with
        // a dot. mass_scanner_cidr: 3 of the
        // 1096 prefixes are /32, i.e. single addresses (grep -c '/32 ').
        w("maltrail/agenttesla.txt", F::PlainList, &[(T::Ip, 298), (T::Url, 212 + 282), (T::Domain, 1193)]),
        w("maltrail/blackmatter.txt", F::PlainList, &[(T::Ip, 6), (T::Domain, 7)]),
        w("maltrail/lokibot.txt", F::PlainList, &[(T::Ip, 24), (T::Url, 1039 + 345), (T::Domain, 3056)]),
        w("maltrail/mass_scanner_cidr.txt", F::PlainList, &[(T::Ip, 13), (T::Cidr, 1093)]),
        w("maltrail/nemesis.txt", F::PlainList, &[(T::Ip, 15), (T::Url, 15), (T::Domain, 6)]),
        w("maltrail/tscookie.txt", F::PlainList, &[(T::Ip, 1), (T::Url, 1), (T::Domain, 35)]),
        // IPsum and plain lists: grep -v '^#' FILE | grep -c .
        w("ipsum/ipsum_head3000.txt", F::PlainList, &[(T::Ip, 2993)]),
        w("ipsum/level5.txt", F::PlainList, &[(T::Ip, 1413)]),
        w("ipsum/level8.txt", F::PlainList, &[(T::Ip, 23)]),
        w("abuse-ch-format-samples/feeds2stix_ipsum_level_8_sample.txt", F::PlainList, &[(T::Ip, 20)]),
        // abuse.ch: grep -v '^#' FILE | grep -c . (one indicator per row)
        w("abuse-ch-format-samples/sslblacklist_sample.csv", F::Sslbl, &[(T::Sha1, 31)]),
        w("abuse-ch-format-samples/threatfox_csv_full.sample.csv", F::Threatfox, &[(T::Ip, 1)]),
        w("abuse-ch-format-samples/urlhaus_csv_recent.sample.csv", F::Urlhaus, &[(T::Url, 10)]),
        // Warninglists: python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["list"]))' FILE
        Want { allowlist: 22, ..w("misp-warninglists/cloudflare.json", F::Warninglist, &[]) },
        Want { allowlist: 669, ..w("misp-warninglists/google.json", F::Warninglist, &[]) },
        Want { allowlist: 1, ..w("misp-warninglists/ipv6-linklocal.json", F::Warninglist, &[]) },
        Want { allowlist: 16, ..w("misp-warninglists/multicast.json", F::Warninglist, &[]) },
        Want { allowlist: 269, ..w("misp-warninglists/public-dns-v6.json", F::Warninglist, &[]) },
        Want { allowlist: 3, ..w("misp-warninglists/rfc1918.json", F::Warninglist, &[]) },
        Want { allowlist: 15, ..w("misp-warninglists/rfc5735.json", F::Warninglist, &[]) },
        Want { allowlist: 1, ..w("misp-warninglists/rfc6598.json", F::Warninglist, &[]) },
        Want { allowlist: 21, ..w("misp-warninglists/rfc6761.json", F::Warninglist, &[]) },
        Want { allowlist: 255, ..w("misp-warninglists/url-shortener.json", F::Warninglist, &[]) },
        Want { allowlist: 234, ..w("misp-warninglists/whats-my-ip.json", F::Warninglist, &[]) },
        // STIX: grep -o '"pattern": *"[^"]*"' FILE, read by hand. apt1: 4
        // /15 prefixes, 3 domains, 3 MD5s, 2 x509 AND patterns (unsupported).
        // poisonivy: 40 ipv4 and 25 domain comparisons (grep -o), one of them
        // the malformed 'domain autuo.xicp.net'; 2 file:name patterns.
        Want { unsupported: 2, ..w("stix21/apt1.json", F::Stix21, &[(T::Cidr, 4), (T::Domain, 3), (T::Md5, 3)]) },
        w("stix21/indicator-for-c2-ip-address.json", F::Stix21, &[(T::Ip, 1)]),
        w("stix21/indicator-to-campaign-relationship.json", F::Stix21, &[(T::Ip, 1)]),
        w("stix21/indicators-for-C2-with-COA.json", F::Stix21, &[(T::Ip, 1), (T::Sha256, 1)]),
        Want { unsupported: 2, ..w("stix21/malicious-email-indicator-with-attachment.json", F::Stix21, &[]) },
        Want { bad: 1, unsupported: 2, ..w("stix21/poisonivy.json", F::Stix21, &[(T::Ip, 40), (T::Domain, 24)]) },
    ]
}

/// Fixtures written from the formats' documentation (tests/data/feeds),
/// counted by reading them: each has one deliberately bad row.
fn fixtures() -> Vec<Want> {
    use FeedFormat as F;
    vec![
        // 4 good rows and "not-an-ip"; CRLF line ends, quoted fields.
        Want { bad: 1, ..w("feodo_ipblocklist.csv", F::Feodo, &[(T::Ip, 4)]) },
        // 4 CIDRs and 10.0.0.0/33; `;` comments.
        Want { bad: 1, ..w("spamhaus_drop.txt", F::SpamhausDrop, &[(T::Cidr, 4)]) },
        // 4 CIDRs and the closing metadata line (not an indicator).
        w("spamhaus_drop.jsonl", F::SpamhausJson, &[(T::Cidr, 4)]),
        // ip-dst, ip-dst|port, domain|ip's ip; domain, domain|ip's domain;
        // url; email-src (name-addr form); md5; filename|sha256's sha256.
        // Bad: 10.0.0.999. Unsupported: a to_ids=0 text, an AS number.
        Want {
            bad: 1,
            unsupported: 2,
            ..w(
                "misp_export.csv",
                F::MispCsv,
                &[(T::Ip, 3), (T::Domain, 2), (T::Url, 1), (T::Email, 1), (T::Md5, 1), (T::Sha256, 1)],
            )
        },
        // ip-dst (v4 and, in an object, v6), hostname, url, sha1 (to_ids "1"),
        // email-src in an object. Unsupported: the to_ids=false comment and port.
        Want {
            unsupported: 2,
            ..w("misp_event.json", F::MispJson, &[(T::Ip, 2), (T::Domain, 1), (T::Url, 1), (T::Sha1, 1), (T::Email, 1)])
        },
    ]
}

fn check(path: PathBuf, want: &Want) {
    let mut b = SetBuilder::new();
    let r = intel::load_feed(&path, &mut b, LoadOptions::default()).unwrap();
    let name = want.file;
    assert_eq!(r.format, want.format, "{name}: format");
    let mut expected = [0usize; 8];
    for (t, n) in want.by_type {
        expected[*t as usize] = *n;
    }
    assert_eq!(r.by_type, expected, "{name}: indicators by type (ip, cidr, domain, url, email, md5, sha1, sha256)");
    assert_eq!(r.allowlisted, want.allowlist, "{name}: allowlist entries");
    assert_eq!((r.skipped, r.unsupported), (want.bad, want.unsupported), "{name}: bad, unsupported: {:?}", r.errors);
    let set = b.build();
    assert_eq!(set.len(), r.loaded);
}

#[test]
fn every_shared_ioc_file_loads_with_independently_counted_types() {
    let root = Path::new(env!("SDN_TESTDATA")).join("ioc");
    let wants = wanted();
    // Every data file in the folder is covered.
    let mut files: Vec<String> = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap().flatten() {
        for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            if name != "LICENSE" {
                files.push(format!("{}/{name}", dir.file_name().to_string_lossy()));
            }
        }
    }
    files.sort();
    let mut covered: Vec<String> = wants.iter().map(|w| w.file.to_string()).collect();
    covered.sort();
    assert_eq!(files, covered);
    for want in &wants {
        check(root.join(want.file), want);
    }
}

#[test]
fn documented_format_fixtures_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/feeds");
    for want in fixtures() {
        check(root.join(want.file), &want);
    }
}
