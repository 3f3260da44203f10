//! Interpreter throughput; not part of CI. Run with
//! `cargo test -p sdn-bpf --release --test speed -- --ignored --nocapture`.

mod common;

use bpf::{Compiler, DEFAULT_SNAPLEN};
use std::hint::black_box;
use std::time::{Duration, Instant};

const HTTP_GET: &str = "(port 80 or port 443) and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420)";

/// Packets per second of `f` over `packets`, looping for about a second.
fn rate(packets: &[&[u8]], mut f: impl FnMut(&[u8]) -> bool) -> (f64, u64) {
    let start = Instant::now();
    let (mut n, mut hits) = (0u64, 0u64);
    while start.elapsed() < Duration::from_secs(1) {
        for p in packets {
            hits += u64::from(f(black_box(p)));
        }
        n += packets.len() as u64;
    }
    (n as f64 / start.elapsed().as_secs_f64(), hits)
}

#[test]
#[ignore = "measurement, run by hand in release mode"]
fn http_get_filter_rate() {
    let compiler = Compiler::load().unwrap();
    let captures = common::all_captures(usize::MAX);
    let packets: Vec<&[u8]> =
        captures.iter().flat_map(|c| &c.packets).filter(|p| p.linktype == 1).map(|p| &p.data[..]).collect();
    for expr in [HTTP_GET, "udp port 31337", "tcp[13] & 2 != 0"] {
        let ours = compiler.compile(expr, 1, DEFAULT_SNAPLEN).unwrap();
        let theirs = compiler.reference(expr, 1, DEFAULT_SNAPLEN).unwrap();
        let (r_ours, h1) = rate(&packets, |p| ours.matches(p, p.len() as u32));
        let (r_libpcap, h2) = rate(&packets, |p| theirs.matches(p, p.len() as u32));
        println!(
            "{expr}: {} Ethernet packets, {} insns; ours {:.1} M packets/s, libpcap's bpf_filter {:.1} M packets/s (hits {h1}/{h2})",
            packets.len(),
            ours.insns().len(),
            r_ours / 1e6,
            r_libpcap / 1e6
        );
    }
}
