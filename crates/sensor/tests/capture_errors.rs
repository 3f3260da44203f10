//! The capture reader on damaged and hostile files, and on the inputs the
//! fuzzers once found (`fuzz/regressions/`).

use sensor::capture::{CaptureError, read_capture_from};
use std::io::Cursor;
use std::path::Path;

fn read(bytes: &[u8]) -> (u64, Result<(), CaptureError>) {
    let mut n = 0;
    let (s, r) = read_capture_from(
        Cursor::new(bytes.to_vec()),
        |p| {
            n += 1;
            assert_eq!(p.frame, n);
            let _ = wire::decode(p.link, p.data);
        },
        |_| {},
    );
    assert_eq!(s.packets, n);
    (n, r)
}

fn pcap_header(linktype: u32) -> Vec<u8> {
    let mut h = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65535, linktype] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h
}

fn record(data: &[u8], caplen: u32) -> Vec<u8> {
    let mut r = Vec::new();
    for v in [1u32, 2, caplen, data.len() as u32] {
        r.extend_from_slice(&v.to_le_bytes());
    }
    r.extend_from_slice(data);
    r
}

#[test]
fn empty_short_and_foreign_files() {
    assert!(matches!(read(b"").1, Err(CaptureError::NotACapture { magic: None })));
    assert!(matches!(read(b"\xd4\xc3").1, Err(CaptureError::NotACapture { magic: None })));
    let (_, r) = read(b"GET / HTTP/1.1\r\n");
    assert_eq!(
        r.unwrap_err().to_string().split(';').next().unwrap(),
        "not a pcap or pcapng file (starts with 47 45 54 20)"
    );
    // A pcap magic and nothing else.
    assert!(matches!(
        read(&0xa1b2_c3d4u32.to_le_bytes()).1,
        Err(CaptureError::Truncated { .. } | CaptureError::Malformed { .. })
    ));
}

#[test]
fn truncated_record_names_the_packet() {
    let mut f = pcap_header(1);
    f.extend(record(&[0u8; 60], 60));
    f.extend(record(&[0u8; 60], 60));
    f.extend_from_slice(&record(&[0u8; 60], 60)[..30]);
    let (n, r) = read(&f);
    assert_eq!(n, 2);
    match r {
        Err(CaptureError::Truncated { frame, offset }) => {
            assert_eq!((frame, offset), (3, 24 + 2 * 76))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn absurd_record_length_is_an_error_not_an_allocation() {
    let mut f = pcap_header(1);
    f.extend(record(&[0u8; 60], 60));
    let mut bad = record(&[0u8; 16], 60);
    bad[8..12].copy_from_slice(&0xfff0_0000u32.to_le_bytes());
    f.extend(bad);
    f.extend(vec![0u8; 4096]);
    let (n, r) = read(&f);
    assert_eq!(n, 1);
    assert!(
        matches!(r, Err(CaptureError::Truncated { frame: 2, .. } | CaptureError::Malformed { frame: 2, .. })),
        "{r:?}"
    );
}

#[test]
fn pcapng_packet_for_an_undescribed_interface() {
    let mut f = Vec::new();
    // Section header block, little-endian, no options.
    for v in [0x0a0d_0d0au32, 28, 0x1a2b_3c4d] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&[1, 0, 0, 0]);
    f.extend_from_slice(&[0xff; 8]);
    f.extend_from_slice(&28u32.to_le_bytes());
    // Enhanced packet block on interface 0, which was never described.
    for v in [6u32, 32 + 4, 0, 0, 0, 4, 4] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&[0x45, 0, 0, 0]);
    f.extend_from_slice(&36u32.to_le_bytes());
    let (n, r) = read(&f);
    assert_eq!(n, 0);
    assert!(matches!(r, Err(CaptureError::UnknownInterface { frame: 1, if_id: 0 })), "{r:?}");
}

#[test]
fn fuzz_found_pcapng_crashes_are_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/capture_reader");
    // A Process Information Block of length 8 (pcap-parser underflowed).
    let (_, r) = read(&std::fs::read(dir.join("pib-block-len-underflow.pcapng")).unwrap());
    assert!(
        matches!(&r, Err(CaptureError::Malformed { reason, .. }) if reason.contains("below the 12-byte minimum")),
        "{r:?}"
    );
    // if_tsoffset = i64::MAX: the timestamp saturates.
    let mut ts = Vec::new();
    let (_, r) = read_capture_from(
        Cursor::new(std::fs::read(dir.join("idb-tsoffset-add-overflow.pcapng")).unwrap()),
        |p| ts.push(p.ts_sec),
        |_| {},
    );
    r.unwrap();
    assert_eq!(ts, [i64::MAX]);
}

#[test]
fn fuzz_regressions_do_not_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let mut seen = 0;
    for target in ["capture_reader", "decode_frame", "intel_feed"] {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in dir.flatten() {
            if entry.path().extension().is_some_and(|e| e == "md") {
                continue;
            }
            let data = std::fs::read(entry.path()).unwrap();
            match target {
                "capture_reader" => {
                    let _ = read(&data);
                }
                "decode_frame" => {
                    if let Some((&sel, frame)) = data.split_first() {
                        let links = [0u32, 1, 12, 14, 101, 108, 113, 228, 229, 276, 10];
                        let _ = wire::decode(wire::LinkType::from_linktype(links[sel as usize % links.len()]), frame);
                    }
                }
                _ => {
                    let text = String::from_utf8_lossy(&data);
                    for format in [intel::FeedFormat::OriginalCsv, intel::FeedFormat::PlainList] {
                        let mut b = intel::SetBuilder::new();
                        let opts = intel::LoadOptions { strict: false, format: Some(format) };
                        let _ = intel::feeds::load_text("fuzz", &text, &mut b, opts);
                        let _ = b.build().match_ip("192.0.2.1".parse().unwrap());
                    }
                }
            }
            seen += 1;
        }
    }
    eprintln!("{seen} regression inputs replayed");
}
