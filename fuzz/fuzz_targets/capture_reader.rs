//! `sensor::capture::read_capture_from` over arbitrary bytes, each packet
//! decoded with `wire::decode`. Must never panic or hang.
//!
//! Every input is read twice: as-is (real captures in the seed corpus), and
//! with a valid file header prepended so that mutations land in the record
//! parsing at once. The first byte picks the header (see `prefixed`), the
//! second the link type; the rest follows the header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

const LINKTYPES: [u32; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 10];

fn read(bytes: Vec<u8>) {
    let len = bytes.len() as u64;
    let mut packets = 0u64;
    let (summary, result) = sensor::capture::read_capture_from(
        Cursor::new(bytes),
        |p| {
            packets += 1;
            assert_eq!(p.frame, packets);
            let _ = wire::decode(p.link, p.data);
        },
        |_| {},
    );
    assert_eq!(summary.packets, packets);
    assert!(summary.file_bytes <= len, "consumed {} of {len} bytes", summary.file_bytes);
    if let Err(e) = result {
        let _ = e.to_string();
    }
}

fn pcap_header(big_endian: bool, nanos: bool, linktype: u32) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let fields: [u32; 5] = [0, 0, 0, 262_144, linktype];
    let mut h = Vec::with_capacity(24);
    let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    h.extend_from_slice(&u32b(magic));
    h.extend_from_slice(&u16b(2));
    h.extend_from_slice(&u16b(4));
    for f in &fields[..2] {
        h.extend_from_slice(&u32b(*f)); // thiszone, sigfigs
    }
    h.extend_from_slice(&u32b(fields[3])); // snaplen
    h.extend_from_slice(&u32b(fields[4])); // network
    h
}

/// A pcapng section header, then (with `linktype`) one interface
/// description, optionally with `if_tsresol` / `if_tsoffset` options.
fn pcapng_header(big_endian: bool, linktype: Option<u32>, tsresol: Option<u8>, tsoffset: Option<i64>) -> Vec<u8> {
    let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut h = Vec::new();
    // SHB: type, length, byte-order magic, version 1.0, section length -1, length.
    h.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
    h.extend_from_slice(&u32b(28));
    h.extend_from_slice(&u32b(0x1a2b_3c4d));
    h.extend_from_slice(&u16b(1));
    h.extend_from_slice(&u16b(0));
    h.extend_from_slice(&[0xff; 8]);
    h.extend_from_slice(&u32b(28));
    if let Some(lt) = linktype {
        let mut opts = Vec::new();
        if let Some(r) = tsresol {
            opts.extend_from_slice(&u16b(9));
            opts.extend_from_slice(&u16b(1));
            opts.extend_from_slice(&[r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset {
            opts.extend_from_slice(&u16b(14));
            opts.extend_from_slice(&u16b(8));
            opts.extend_from_slice(&if big_endian { o.to_be_bytes() } else { o.to_le_bytes() });
        }
        if !opts.is_empty() {
            opts.extend_from_slice(&[0; 4]); // opt_endofopt
        }
        let total = 20 + opts.len() as u32;
        h.extend_from_slice(&u32b(1));
        h.extend_from_slice(&u32b(total));
        h.extend_from_slice(&u16b(lt as u16));
        h.extend_from_slice(&u16b(0));
        h.extend_from_slice(&u32b(0)); // snaplen: unlimited
        h.extend_from_slice(&opts);
        h.extend_from_slice(&u32b(total));
    }
    h
}

/// Input with a header chosen by `data[0]` prepended, or None when too short.
fn prefixed(data: &[u8]) -> Option<Vec<u8>> {
    let (&mode, rest) = data.split_first()?;
    let (&lt, rest) = rest.split_first()?;
    let linktype = LINKTYPES[lt as usize % LINKTYPES.len()];
    let mut out = match mode % 6 {
        0 => pcap_header(false, false, linktype),
        1 => pcap_header(true, true, linktype),
        2 => pcapng_header(false, Some(linktype), None, None),
        3 => pcapng_header(true, Some(linktype), None, None),
        4 => {
            // if_tsresol and if_tsoffset from the next 9 bytes.
            let (opt, r) = rest.split_at_checked(9)?;
            let off = i64::from_le_bytes(opt[1..9].try_into().unwrap());
            let mut h = pcapng_header(mode & 0x80 != 0, Some(linktype), Some(opt[0]), Some(off));
            h.extend_from_slice(r);
            return Some(h);
        }
        _ => pcapng_header(false, None, None, None), // SHB only: blocks follow
    };
    out.extend_from_slice(rest);
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    read(data.to_vec());
    if let Some(v) = prefixed(data) {
        read(v);
    }
});
