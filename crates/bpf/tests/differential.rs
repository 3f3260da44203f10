//! Our interpreter against libpcap's (`pcap_offline_filter`) on every packet
//! of the shared captures: the RET values must be identical.

mod common;

use bpf::{BpfError, Compiler, Program, Reference};
use std::collections::HashMap;

const EXPRESSIONS: &[&str] = &[
    "udp port 31337",
    "(port 80 or port 443) and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420)",
    "tcp[13] & 2 != 0",
    "not tcp",
    "ip6",
    "icmp",
    "vlan and udp",
    "net 10.0.0.0/8",
    "host 192.0.2.1",
    "portrange 1-1024",
    "ip[6:2] & 0x1fff != 0",
    "len > 500",
    "ether broadcast",
    "udp and udp[8:2] = 0x1234",
    "udp port 53 or tcp port 53",
    "ip6 and udp dst port 53",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
    "vlan 100 or (vlan and vlan)",
    "mpls",
    // ALU with packet-derived operands: DIV/MOD by X (which may be 0), XOR, shifts by X.
    "ip[2:2] / (ip[1] & 3) > 100 or ip[2:2] % (ip[8] & 7) = 3",
    "(ip[8] ^ 0x40) < 16 or (ip[2:2] << (ip[9] & 0x1f)) > 4096 or (ip[2:2] >> (ip[1] & 7)) = 1",
    "len - 14 < 100 and (udp[4:2] * 3) + 7 > 60",
    "ip6 and (ip6[6] = 17 or ip6[6] = 58) and ip6[40] > 0",
    "src net 192.168.0.0/16 and not dst port 53",
];

const SNAPLEN: u32 = 262_144;

#[test]
fn vm_agrees_with_libpcap_on_every_capture_packet() {
    let compiler = Compiler::load().expect("libpcap for the differential test");
    let mut captures = common::all_captures(200_000);
    assert!(captures.len() > 50, "expected the shared captures under $SDN_TESTDATA");
    let files = captures.len();
    captures.push(common::Capture { path: "synthetic".into(), packets: synthetic() });
    // (expression, linktype) → both interpreters' programs, or why libpcap refused.
    let mut cache: HashMap<(usize, i32), Option<(Program, Reference)>> = HashMap::new();
    let mut compared = 0u64;
    let mut accepted = vec![0u64; EXPRESSIONS.len()];
    let mut skipped_linktypes: HashMap<i32, u64> = HashMap::new();
    let mut packets = 0u64;
    let mut disagreements = Vec::new();
    for capture in &captures {
        for (frame, pkt) in capture.packets.iter().enumerate() {
            packets += 1;
            // Also cut short (caplen < wire length) to exercise out-of-bounds loads.
            let cut = (frame * 7919 + 13) % pkt.data.len().max(1);
            for variant in 0..2 {
                for (e, expr) in EXPRESSIONS.iter().enumerate() {
                    let data = match variant {
                        0 => &pkt.data[..],
                        _ => &pkt.data[..cut],
                    };
                    let entry = cache.entry((e, pkt.linktype)).or_insert_with(|| {
                        let ours = compiler.compile(expr, pkt.linktype, SNAPLEN);
                        let theirs = compiler.reference(expr, pkt.linktype, SNAPLEN);
                        match (ours, theirs) {
                            (Ok(p), Ok(r)) => {
                                assert_eq!(p.insns(), r.insns(), "{expr}: copied program differs");
                                Some((p, r))
                            }
                            (Err(BpfError::Compile { .. }), Err(_)) => None,
                            (a, b) => panic!("{expr} on link type {}: {:?} vs {:?}", pkt.linktype, a.err(), b.err()),
                        }
                    });
                    let Some((program, reference)) = entry else {
                        *skipped_linktypes.entry(pkt.linktype).or_default() += 1;
                        continue;
                    };
                    let ours = program.run(data, pkt.wire_len);
                    let theirs = reference.run(data, pkt.wire_len);
                    compared += 1;
                    if variant == 0 {
                        accepted[e] += u64::from(ours != 0);
                    }
                    if ours != theirs && disagreements.len() < 20 {
                        disagreements.push(format!(
                            "{} frame {} ({} bytes): {expr:?} ours {ours} libpcap {theirs}",
                            capture.path.display(),
                            frame + 1,
                            data.len()
                        ));
                    }
                }
            }
        }
    }
    println!(
        "{files} capture files + synthetic frames, {packets} packets (each whole and cut short), {} expressions, {compared} verdicts compared",
        EXPRESSIONS.len()
    );
    for (expr, n) in EXPRESSIONS.iter().zip(&accepted) {
        println!("{n:>6} whole packets accepted  {expr}");
    }
    println!("not compilable (packet × expression) by link type: {skipped_linktypes:?}");
    assert!(disagreements.is_empty(), "disagreements:\n{}", disagreements.join("\n"));
    assert!(packets > 3000 && compared > 100_000, "too little data: {packets} packets");
    // Every expression must have matched something and rejected something.
    for (expr, &n) in EXPRESSIONS.iter().zip(&accepted) {
        assert!(n > 0, "{expr} never matched: the data does not exercise it");
    }
}

/// The two expressions of the original configuration: the number of capture
/// packets we accept equals what tcpdump (libpcap reading the files itself)
/// writes out. Skipped without tcpdump.
#[test]
fn original_expressions_count_like_tcpdump() {
    if std::process::Command::new("tcpdump").arg("--version").output().is_err() {
        eprintln!("skipped: no tcpdump");
        return;
    }
    let compiler = Compiler::load().unwrap();
    let out = std::env::temp_dir().join(format!("sdn-bpf-tcpdump-{}.pcap", std::process::id()));
    for expr in &EXPRESSIONS[..2] {
        let (mut ours, mut theirs) = (0usize, 0usize);
        let mut programs = HashMap::new();
        for path in common::capture_files(&common::testdata()) {
            let capture = common::read_capture(&path);
            ours += capture
                .packets
                .iter()
                .filter(|p| {
                    let program =
                        programs.entry(p.linktype).or_insert_with(|| compiler.compile(expr, p.linktype, SNAPLEN).ok());
                    program.as_ref().is_some_and(|f| f.matches(&p.data, p.wire_len))
                })
                .count();
            let _ = std::fs::remove_file(&out);
            let status = std::process::Command::new("tcpdump")
                .args(["-n", "-r"])
                .arg(&path)
                .arg("-w")
                .arg(&out)
                .arg(expr)
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            if out.exists() {
                theirs += common::read_capture(&out).packets.len();
            } else {
                assert!(!status.success(), "{}", path.display());
            }
        }
        println!("{expr}: {ours} packets (tcpdump: {theirs})");
        assert_eq!(ours, theirs, "{expr}");
    }
    let _ = std::fs::remove_file(&out);
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, tos: u8, frag: u16, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, tos];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0x12, 0x34]);
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

/// A TCP segment with `opts` 32-bit words of options (NOPs).
fn tcp(sport: u16, dport: u16, flags: u8, opts: usize, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
    p.push(((5 + opts as u8) << 4) & 0xf0);
    p.extend_from_slice(&[flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend(std::iter::repeat_n(1u8, opts * 4));
    p.extend_from_slice(payload);
    p
}

fn ether(dst: [u8; 6], tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = dst.to_vec();
    p.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
    for (tpid, tci) in tags {
        p.extend_from_slice(&tpid.to_be_bytes());
        p.extend_from_slice(&tci.to_be_bytes());
    }
    p.extend_from_slice(&ethertype.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Hand-built Ethernet frames for the cases the captures lack.
fn synthetic() -> Vec<common::Packet> {
    const HOST: [u8; 6] = [2, 0, 0, 0, 0, 2];
    let get = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    let frames = [
        ether(HOST, &[], 0x0800, &ipv4([10, 1, 2, 3], [192, 0, 2, 1], 17, 0, 0, &udp(5555, 31337, &[0x12, 0x34, 9]))),
        ether(HOST, &[], 0x0800, &ipv4([192, 168, 1, 10], [198, 51, 100, 7], 6, 0, 0, &tcp(40000, 80, 0x18, 0, get))),
        ether(HOST, &[], 0x0800, &ipv4([192, 168, 1, 10], [198, 51, 100, 7], 6, 0, 0, &tcp(40001, 443, 0x18, 3, get))),
        ether(HOST, &[], 0x0800, &ipv4([192, 168, 1, 10], [198, 51, 100, 7], 6, 0, 0, &tcp(40001, 8080, 0x18, 0, get))),
        ether(HOST, &[(0x8100, 100)], 0x0800, &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, 0, 0, &udp(1, 2, b"x"))),
        ether(
            HOST,
            &[(0x88a8, 7), (0x8100, 8)],
            0x0800,
            &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, 0, 0, &udp(1, 2, b"")),
        ),
        ether(HOST, &[], 0x8847, &[0, 0x01, 0x01, 0x40, 0x45, 0, 0, 20]),
        ether(HOST, &[], 0x0800, &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, 0, 0x2001, &[0; 40])),
        ether(HOST, &[], 0x0800, &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 1, 0, 0, &[8, 0, 0, 0, 0, 1, 0, 1])),
        // DIV by X = ip[1] & 3: zero here (the whole filter rejects), two there.
        ether(HOST, &[], 0x0800, &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, 0, 0, &udp(9, 9, &[0; 400]))),
        ether(HOST, &[], 0x0800, &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, 2, 0, &udp(9, 9, &[0; 400]))),
        ether([0xff; 6], &[], 0x0806, &[0, 1, 8, 0, 6, 4, 0, 1]),
    ];
    frames.into_iter().map(|f| common::Packet { linktype: 1, wire_len: f.len() as u32, data: f }).collect()
}
