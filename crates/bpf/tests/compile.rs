//! libpcap loading, compile errors, link types and FilterSet.

use bpf::{BpfError, COMMON_LINKTYPES, Compiler, DEFAULT_SNAPLEN, FilterSet};

fn compiler() -> Compiler {
    Compiler::load().expect("libpcap (Debian: libpcap0.8) for the tests")
}

fn compile_error(expr: &str) -> (String, String) {
    match compiler().compile(expr, 1, DEFAULT_SNAPLEN) {
        Err(e @ BpfError::Compile { .. }) => {
            let BpfError::Compile { ref message, .. } = e else { unreachable!() };
            (message.clone(), e.to_string())
        }
        other => panic!("{expr}: expected a compile error, got {other:?}"),
    }
}

#[test]
fn bad_expressions_carry_libpcaps_message() {
    let (message, text) = compile_error("udp port 99999");
    assert!(message.contains("illegal port number 99999 > 65535"), "{message}");
    assert!(text.contains("\"udp port 99999\"") && text.contains("EN10MB (1)"), "{text}");
    let (message, _) = compile_error("tcp[");
    assert!(message.contains("syntax error"), "{message}");
    let (message, _) = compile_error("ip broadcast");
    assert!(message.contains("netmask not known"), "{message}");
    let (message, _) = compile_error("udp\0port 53");
    assert!(message.contains("NUL"), "{message}");
}

#[test]
fn protochain_is_refused_with_a_reason() {
    // libpcap loops backwards for protochain; our validator only runs forward jumps.
    let (message, _) = compile_error("ip6 protochain 17");
    assert!(message.contains("backward jump") && message.contains("protochain"), "{message}");
}

#[test]
fn compiled_program_matches_tcpdump_dd() {
    // `tcpdump -dd 'udp port 31337'` (Debian 12, libpcap 1.10.3).
    #[rustfmt::skip]
    let expected: &[(u16, u8, u8, u32)] = &[
        (0x28, 0, 0, 0x0000000c),
        (0x15, 0, 6, 0x000086dd),
        (0x30, 0, 0, 0x00000014),
        (0x15, 0, 15, 0x00000011),
        (0x28, 0, 0, 0x00000036),
        (0x15, 12, 0, 0x00007a69),
        (0x28, 0, 0, 0x00000038),
        (0x15, 10, 11, 0x00007a69),
        (0x15, 0, 10, 0x00000800),
        (0x30, 0, 0, 0x00000017),
        (0x15, 0, 8, 0x00000011),
        (0x28, 0, 0, 0x00000014),
        (0x45, 6, 0, 0x00001fff),
        (0xb1, 0, 0, 0x0000000e),
        (0x48, 0, 0, 0x0000000e),
        (0x15, 2, 0, 0x00007a69),
        (0x48, 0, 0, 0x00000010),
        (0x15, 0, 1, 0x00007a69),
        (0x6, 0, 0, 0x00040000),
        (0x6, 0, 0, 0x00000000),
    ];
    let c = compiler();
    if !c.version().starts_with("libpcap version 1.10.") {
        eprintln!("skipped: the optimizer's output is pinned for libpcap 1.10, not {}", c.version());
        return;
    }
    let p = c.compile("udp port 31337", 1, DEFAULT_SNAPLEN).unwrap();
    let got: Vec<_> = p.insns().iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect();
    assert_eq!(got, expected);
}

#[test]
fn link_types_follow_capture_file_numbers() {
    let c = compiler();
    // LINKTYPE_RAW (101) is DLT_RAW (12) to libpcap's compiler.
    let raw = c.compile("udp", 101, DEFAULT_SNAPLEN).unwrap();
    assert_eq!(raw, c.compile("udp", 12, DEFAULT_SNAPLEN).unwrap());
    assert_eq!(raw, c.compile("udp", 14, DEFAULT_SNAPLEN).unwrap());
    // FCS flag bits in a pcap header's link type field are ignored.
    assert_eq!(c.compile("udp", 0x1000_0001, DEFAULT_SNAPLEN).unwrap(), c.compile("udp", 1, DEFAULT_SNAPLEN).unwrap());
    for lt in COMMON_LINKTYPES {
        c.compile("udp port 53", lt, DEFAULT_SNAPLEN).unwrap_or_else(|e| panic!("{e}"));
    }
    let e = c.compile("ether broadcast", 101, DEFAULT_SNAPLEN).unwrap_err().to_string();
    assert!(e.contains("RAW (101)") && e.contains("not a broadcast link"), "{e}");
}

#[test]
fn reference_one_shot() {
    let frame = udp_frame(31337);
    let c = compiler();
    assert!(c.reference_matches("udp port 31337", 1, DEFAULT_SNAPLEN, &frame, frame.len() as u32).unwrap());
    assert!(!c.reference_matches("tcp", 1, DEFAULT_SNAPLEN, &frame, frame.len() as u32).unwrap());
}

#[test]
fn missing_library_message_tells_what_to_install() {
    let e = BpfError::LibraryMissing("libpcap.so.1: cannot open shared object file".into()).to_string();
    assert!(e.starts_with("libpcap is needed for pcap_chain filters; install Debian's libpcap0.8"), "{e}");
    assert!(e.contains("apt-get install libpcap0.8") && e.contains("cannot open"), "{e}");
}

/// Ethernet / IPv4 192.0.2.10 → 192.0.2.1 / UDP 5555 → `dport`.
fn udp_frame(dport: u16) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 10, 192, 0, 2, 1]);
    f.extend_from_slice(&5555u16.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 12, 0, 0, 0x12, 0x34, 0, 0]);
    f
}

fn filters(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, e)| (n.to_string(), e.to_string())).collect()
}

#[test]
fn filter_set_reports_matching_indexes() {
    let set = FilterSet::new(
        compiler(),
        filters(&[("c2", "udp port 31337"), ("dns", "port 53"), ("bcast", "ether broadcast"), ("any-udp", "udp")]),
        DEFAULT_SNAPLEN,
    )
    .unwrap();
    assert_eq!(set.names().collect::<Vec<_>>(), ["c2", "dns", "bcast", "any-udp"]);
    assert_eq!(set.len(), 4);
    let mut out = Vec::with_capacity(set.len());
    let frame = udp_frame(31337);
    set.matching(1, &frame, frame.len() as u32, &mut out);
    assert_eq!(out, [0, 3]);
    let frame = udp_frame(53);
    set.matching(1, &frame, frame.len() as u32, &mut out);
    assert_eq!(out, [1, 3]);
    // The same IPv4 packet as raw IP (LINKTYPE_RAW): `ether broadcast` is unavailable there.
    set.matching(101, &frame[14..], frame.len() as u32 - 14, &mut out);
    assert_eq!(out, [1, 3]);
    let missing: Vec<_> = set.unavailable().map(|u| (u.name, u.linktype)).collect();
    assert!(missing.contains(&("bcast", 101)) && missing.contains(&("bcast", 113)), "{missing:?}");
    assert!(!missing.iter().any(|(n, _)| *n != "bcast"), "{missing:?}");
    // A link type nobody compiled for: nothing matches, and it is counted.
    set.matching(147, &frame, frame.len() as u32, &mut out);
    assert!(out.is_empty());
    assert_eq!(set.unknown_linktype_packets(), 1);
}

#[test]
fn filter_set_names_the_bad_filter() {
    let e =
        FilterSet::new(compiler(), filters(&[("ok", "tcp"), ("typo", "udp prot 53")]), DEFAULT_SNAPLEN).unwrap_err();
    assert!(matches!(&e, BpfError::Filter { name, .. } if name == "typo"), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("\"typo\"") && text.contains("udp prot 53") && text.contains("syntax error"), "{text}");
}

#[test]
fn filter_set_adds_link_types_and_is_shared_across_threads() {
    let mut set = FilterSet::new(compiler(), filters(&[("udp", "udp")]), DEFAULT_SNAPLEN).unwrap();
    assert_eq!(set.add_linktype(228), 0); // LINKTYPE_IPV4
    assert!(set.program(0, 228).is_some() && set.program(0, 1).is_some());
    let frame = udp_frame(9);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut out = Vec::new();
                set.matching(228, &frame[14..], 32, &mut out);
                assert_eq!(out, [0]);
            });
        }
    });
    fn shareable<T: Send + Sync>(_: &T) {}
    shareable(&set);
    shareable(&compiler());
}
