//! Packets of the shared captures ($SDN_TESTDATA), read with pcap-parser.
#![allow(dead_code)]

use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
use std::path::{Path, PathBuf};

pub struct Packet {
    pub linktype: i32,
    pub data: Vec<u8>,
    pub wire_len: u32,
}

pub struct Capture {
    pub path: PathBuf,
    pub packets: Vec<Packet>,
}

pub fn testdata() -> PathBuf {
    let dir = std::env::var_os("SDN_TESTDATA").expect("SDN_TESTDATA is set by .cargo/config.toml");
    PathBuf::from(dir)
}

/// Every .pcap/.pcapng (and one `.pcap_`) under `dir`, sorted.
pub fn capture_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().and_then(|x| x.to_str()).is_some_and(|x| x.starts_with("pcap")) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// The packets of one capture; a damaged tail just ends the list.
pub fn read_capture(path: &Path) -> Capture {
    let bytes = std::fs::read(path).unwrap();
    let mut packets = Vec::new();
    let capacity = (bytes.len() + 65536).max(1 << 20);
    let Ok(mut reader) = create_reader(capacity, std::io::Cursor::new(bytes)) else {
        return Capture { path: path.to_owned(), packets };
    };
    let mut legacy_link = 1;
    let mut interfaces: Vec<(i32, u32)> = Vec::new();
    let mut stalls = 0;
    loop {
        match reader.next() {
            Ok((len, block)) => {
                stalls = 0;
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_link = h.network.0,
                    PcapBlockOwned::Legacy(b) => {
                        let n = (b.caplen as usize).min(b.data.len());
                        packets.push(Packet { linktype: legacy_link, data: b.data[..n].to_vec(), wire_len: b.origlen });
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(i)) => interfaces.push((i.linktype.0, i.snaplen)),
                    PcapBlockOwned::NG(Block::EnhancedPacket(e)) => {
                        if let Some(&(lt, _)) = interfaces.get(e.if_id as usize) {
                            let n = (e.caplen as usize).min(e.data.len());
                            packets.push(Packet { linktype: lt, data: e.data[..n].to_vec(), wire_len: e.origlen });
                        }
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(s)) => {
                        if let Some(&(lt, snap)) = interfaces.first() {
                            let mut n = (s.origlen as usize).min(s.data.len());
                            if snap != 0 {
                                n = n.min(snap as usize);
                            }
                            packets.push(Packet { linktype: lt, data: s.data[..n].to_vec(), wire_len: s.origlen });
                        }
                    }
                    _ => {}
                }
                reader.consume(len);
            }
            Err(PcapError::Incomplete(_)) => {
                // The whole file is buffered: a second stall is a cut-off record.
                stalls += 1;
                if stalls > 2 || reader.refill().is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Capture { path: path.to_owned(), packets }
}

/// The shared captures, at most `max_packets` packets in all.
pub fn all_captures(max_packets: usize) -> Vec<Capture> {
    let mut total = 0;
    let mut out = Vec::new();
    for path in capture_files(&testdata()) {
        if total >= max_packets {
            break;
        }
        let c = read_capture(&path);
        total += c.packets.len();
        out.push(c);
    }
    out
}
