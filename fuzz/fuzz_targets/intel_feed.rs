//! Feed parsing (`intel::feeds::load_text`) in both formats over arbitrary
//! text, then the compiled set. Besides "never panics", every lookup is
//! compared with a naive reference: an exact host entry wins, else the
//! longest covering prefix; the ids returned are all indicators filed there.
#![no_main]

use intel::set::{IpKey, IpMatchKind};
use intel::{FeedFormat, IndicatorSet, IndicatorType, LoadOptions, SetBuilder};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy)]
enum Addr {
    V4(u32),
    V6(u128),
}

/// (id, key) of every IP/CIDR indicator, recovered from its normalized value.
fn keyed(set: &IndicatorSet) -> Vec<(u32, IpKey)> {
    let mut out = Vec::new();
    for id in 0..set.len() as u32 {
        let ind = set.get(id);
        if matches!(ind.kind, IndicatorType::Ip | IndicatorType::Cidr) {
            let key = IpKey::parse(&ind.value)
                .unwrap_or_else(|| panic!("normalized value {:?} does not parse back", ind.value));
            // The normalized value is the key's canonical text.
            assert_eq!(key.to_string(), &*ind.value);
            out.push((id, key));
        }
    }
    out
}

fn covers4(net: u32, len: u8, a: u32) -> bool {
    len == 0 || (a ^ net) >> (32 - len as u32) == 0
}

fn covers6(net: u128, len: u8, a: u128) -> bool {
    len == 0 || (a ^ net) >> (128 - len as u32) == 0
}

/// What the set should answer for `a`.
fn reference(keys: &[(u32, IpKey)], a: Addr) -> (Vec<u32>, IpMatchKind) {
    let exact: Vec<u32> = keys
        .iter()
        .filter(|(_, k)| match (a, *k) {
            (Addr::V4(a), IpKey::V4(n, 32)) => a == n,
            (Addr::V6(a), IpKey::V6(n, 128)) => a == n,
            _ => false,
        })
        .map(|e| e.0)
        .collect();
    if !exact.is_empty() {
        return (exact, IpMatchKind::Exact);
    }
    // Longest covering prefix (hosts are only matched exactly).
    let best = keys
        .iter()
        .filter_map(|(_, k)| match (a, *k) {
            (Addr::V4(a), IpKey::V4(n, l)) if l < 32 && covers4(n, l, a) => Some(*k),
            (Addr::V6(a), IpKey::V6(n, l)) if l < 128 && covers6(n, l, a) => Some(*k),
            _ => None,
        })
        .max_by_key(|k| match k {
            IpKey::V4(_, l) | IpKey::V6(_, l) => *l,
        });
    match best {
        Some(b) => (keys.iter().filter(|(_, k)| *k == b).map(|e| e.0).collect(), IpMatchKind::Prefix),
        None => (Vec::new(), IpMatchKind::Prefix),
    }
}

fn check(set: &IndicatorSet, keys: &[(u32, IpKey)], a: Addr) {
    let (got, kind) = match a {
        Addr::V4(v) => set.match_v4(v),
        Addr::V6(v) => set.match_v6(v),
    };
    let mut got = got.to_vec();
    got.sort_unstable();
    let (want, want_kind) = reference(keys, a);
    let shown = match a {
        Addr::V4(v) => IpAddr::V4(Ipv4Addr::from(v)),
        Addr::V6(v) => IpAddr::V6(Ipv6Addr::from(v)),
    };
    assert_eq!(got, want, "ids matched for {shown}");
    if !want.is_empty() {
        assert_eq!(kind, want_kind, "match kind for {shown}");
    }
    for id in got {
        let _ = set.get(id);
    }
}

fn exercise(set: &IndicatorSet) {
    let keys = keyed(set);
    let mut probes: Vec<Addr> = vec![
        Addr::V4(0),
        Addr::V4(u32::MAX),
        Addr::V4(u32::from(Ipv4Addr::new(192, 0, 2, 1))),
        Addr::V4(u32::from(Ipv4Addr::new(10, 1, 2, 3))),
        Addr::V6(0),
        Addr::V6(1),
        Addr::V6(u128::MAX),
        Addr::V6(u128::from("2001:db8::1".parse::<Ipv6Addr>().unwrap())),
    ];
    // Around every listed network: its first and last address and just outside.
    for (_, k) in keys.iter().take(24) {
        match *k {
            IpKey::V4(n, l) => {
                let last = n | u32::MAX.checked_shr(l as u32).unwrap_or(0);
                for v in [Some(n), Some(last), n.checked_sub(1), last.checked_add(1), Some(n | (last - n) / 2)] {
                    probes.extend(v.map(Addr::V4));
                }
            }
            IpKey::V6(n, l) => {
                let last = n | u128::MAX.checked_shr(l as u32).unwrap_or(0);
                for v in [Some(n), Some(last), n.checked_sub(1), last.checked_add(1), Some(n | (last - n) / 2)] {
                    probes.extend(v.map(Addr::V6));
                }
            }
        }
    }
    for a in probes {
        check(set, &keys, a);
    }
    // match_ip: IPv4-mapped IPv6 addresses are their IPv4 address.
    for ip in ["192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1", "0.0.0.0", "::"] {
        let ip: IpAddr = ip.parse().unwrap();
        let (ids, _) = set.match_ip(ip);
        let want = match ip {
            IpAddr::V4(v) => set.match_v4(u32::from(v)).0,
            IpAddr::V6(v) => match v.to_ipv4_mapped() {
                Some(m) => set.match_v4(u32::from(m)).0,
                None => set.match_v6(u128::from(v)).0,
            },
        };
        assert_eq!(ids, want);
    }
    for kind in IndicatorType::ALL {
        let _ = set.count(kind);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut all = SetBuilder::new();
    for format in [FeedFormat::OriginalCsv, FeedFormat::PlainList] {
        for strict in [false, true] {
            let opts = LoadOptions { strict, format: Some(format) };
            // Strict loads go to a scratch builder (building a set costs a
            // 64 Ki-entry IPv4 index, so only `all` is compiled).
            let mut scratch = SetBuilder::new();
            let target = if strict { &mut scratch } else { &mut all };
            match intel::feeds::load_text("fuzz.csv", &text, target, opts) {
                Ok(r) => {
                    assert_eq!(r.format, format);
                    assert!(r.errors.len() <= r.skipped);
                    if strict {
                        assert_eq!(r.skipped, 0);
                    }
                }
                Err(e) => {
                    assert!(strict, "non-strict load failed: {e}");
                    let _ = e.to_string();
                }
            }
        }
    }
    // Format detection path too.
    let _ = intel::feeds::load_text("fuzz.csv", &text, &mut SetBuilder::new(), LoadOptions::default());
    exercise(&all.build());
});
