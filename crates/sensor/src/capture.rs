//! Capture files: pcap (µs and ns, either byte order) and pcapng (several
//! interfaces, each with its own link type and `if_tsresol`/`if_tsoffset`),
//! read with `pcap-parser` in bounded memory.

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use wire::LinkType;

/// Initial read buffer; grown up to MAX_BUFFER for oversized records.
const BUFFER: usize = 1 << 20;
const MAX_BUFFER: usize = 64 << 20;
/// Bytes read up front to identify the format.
const PREFIX: usize = 64 << 10;

/// One packet as read from a capture; `data` borrows the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct CapturedPacket<'a> {
    /// 1-based frame number (packets only, as Wireshark and tcpdump count).
    pub frame: u64,
    pub ts_sec: i64,
    pub ts_nsec: u32,
    /// True when the interface's resolution is finer than microseconds.
    pub ts_nanos: bool,
    pub link: LinkType,
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// Why a capture could not be read (completely).
#[derive(Debug)]
pub enum CaptureError {
    Io(std::io::Error),
    /// Neither pcap nor pcapng.
    NotACapture {
        magic: Option<[u8; 4]>,
    },
    /// The file ends inside a record.
    Truncated {
        frame: u64,
        offset: u64,
    },
    /// A record that cannot be parsed.
    Malformed {
        frame: u64,
        offset: u64,
        reason: String,
    },
    /// A pcapng packet names an interface with no description block.
    UnknownInterface {
        frame: u64,
        if_id: u32,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(e) => write!(f, "cannot read: {e}"),
            CaptureError::NotACapture { magic: Some(m) } => write!(
                f,
                "not a pcap or pcapng file (starts with {:02x} {:02x} {:02x} {:02x}); convert it with `editcap -F pcapng`",
                m[0], m[1], m[2], m[3]
            ),
            CaptureError::NotACapture { magic: None } => {
                write!(f, "not a pcap or pcapng file (empty or shorter than a header)")
            }
            CaptureError::Truncated { frame, offset } => {
                write!(f, "truncated capture: packet {frame} is cut short at byte {offset}")
            }
            CaptureError::Malformed { frame, offset, reason } => {
                write!(f, "malformed capture at packet {frame} (byte {offset}): {reason}")
            }
            CaptureError::UnknownInterface { frame, if_id } => {
                write!(f, "malformed capture at packet {frame}: interface {if_id} was never described")
            }
        }
    }
}

impl std::error::Error for CaptureError {}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// Units per second.
    resolution: u64,
    offset: i64,
}

/// What reading a capture produced, even when it ended in an error.
#[derive(Debug, Default, Clone, Copy)]
pub struct CaptureSummary {
    pub packets: u64,
    pub bytes: u64,
    pub file_bytes: u64,
}

/// Reads every packet of `path` in order, calling `on_packet` for each and
/// `on_progress(bytes consumed)` now and then. Returns how far it got; on a
/// damaged file every packet before the damage has been delivered.
pub fn read_capture(
    path: &Path,
    on_packet: impl FnMut(&CapturedPacket<'_>),
    on_progress: impl FnMut(u64),
) -> (CaptureSummary, Result<(), CaptureError>) {
    match File::open(path) {
        Ok(f) => read_capture_from(f, on_packet, on_progress),
        Err(e) => (CaptureSummary::default(), Err(CaptureError::Io(e))),
    }
}

/// As [`read_capture`], over any reader.
pub fn read_capture_from<R: Read + Send>(
    input: R,
    on_packet: impl FnMut(&CapturedPacket<'_>),
    on_progress: impl FnMut(u64),
) -> (CaptureSummary, Result<(), CaptureError>) {
    let mut summary = CaptureSummary::default();
    let result = read_all(input, &mut summary, on_packet, on_progress);
    (summary, result)
}

/// Identifies the format from the first bytes and opens pcap-parser on it.
fn open_reader<'r, R: Read + Send + 'r>(mut input: R) -> Result<Box<dyn PcapReaderIterator + Send + 'r>, CaptureError> {
    // Read a prefix ourselves so "not a capture" can show the magic, and so
    // the reader's first fill sees a whole file header.
    let mut head = Vec::with_capacity(PREFIX);
    (&mut input).take(PREFIX as u64).read_to_end(&mut head).map_err(CaptureError::Io)?;
    const MAGICS: [u32; 5] = [0xa1b2_c3d4, 0xd4c3_b2a1, 0xa1b2_3c4d, 0x4d3c_b2a1, 0x0a0d_0d0a];
    let magic = head.get(..4).map(|m| [m[0], m[1], m[2], m[3]]);
    if !magic.is_some_and(|m| MAGICS.contains(&u32::from_le_bytes(m))) {
        return Err(CaptureError::NotACapture { magic });
    }
    match create_reader(BUFFER, std::io::Cursor::new(head).chain(input)) {
        Ok(r) => Ok(r),
        Err(PcapError::Incomplete(_) | PcapError::Eof | PcapError::UnexpectedEof) => {
            Err(CaptureError::Truncated { frame: 0, offset: 0 })
        }
        Err(e) => Err(CaptureError::Malformed { frame: 0, offset: 0, reason: e.to_string() }),
    }
}

/// What the blocks read so far say about the ones to come.
struct Context {
    /// pcap: the file header's link type and resolution.
    legacy_link: LinkType,
    legacy_nanos: bool,
    /// pcapng: the current section's interfaces and byte order.
    interfaces: Vec<Interface>,
    section_big_endian: Option<bool>,
}

impl Context {
    /// Updates the context from a header block, or returns the packet a
    /// packet block carries.
    fn packet<'b>(
        &mut self,
        block: PcapBlockOwned<'b>,
        frame: u64,
    ) -> Result<Option<CapturedPacket<'b>>, CaptureError> {
        let packet = match block {
            PcapBlockOwned::LegacyHeader(h) => {
                // The upper bits may carry FCS-length flags (libpcap's LT_LINKTYPE).
                self.legacy_link = LinkType::from_linktype(h.network.0 as u32 & 0x03ff_ffff);
                self.legacy_nanos = h.is_nanosecond_precision();
                return Ok(None);
            }
            PcapBlockOwned::Legacy(b) => CapturedPacket {
                frame,
                ts_sec: b.ts_sec as i64,
                ts_nsec: if self.legacy_nanos { b.ts_usec } else { b.ts_usec.saturating_mul(1000) },
                ts_nanos: self.legacy_nanos,
                link: self.legacy_link,
                orig_len: b.origlen,
                data: b.data,
            },
            PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                self.interfaces.clear();
                self.section_big_endian = Some(shb.big_endian());
                return Ok(None);
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                self.interfaces.push(Interface {
                    link: LinkType::from_linktype(idb.linktype.0 as u32),
                    resolution: ts_resolution(idb.if_tsresol).unwrap_or(1_000_000),
                    offset: idb.ts_offset(),
                });
                return Ok(None);
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let Some(ifc) = self.interfaces.get(epb.if_id as usize) else {
                    return Err(CaptureError::UnknownInterface { frame, if_id: epb.if_id });
                };
                let (ts_sec, ts_nsec) = pcapng_ts(epb.ts_high, epb.ts_low, ifc);
                // The block's data includes padding to 4 bytes.
                let caplen = (epb.caplen as usize).min(epb.data.len());
                CapturedPacket {
                    frame,
                    ts_sec,
                    ts_nsec,
                    ts_nanos: ifc.resolution > 1_000_000,
                    link: ifc.link,
                    orig_len: epb.origlen,
                    data: &epb.data[..caplen],
                }
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                let Some(ifc) = self.interfaces.first() else {
                    return Err(CaptureError::UnknownInterface { frame, if_id: 0 });
                };
                let caplen = (spb.origlen as usize).min(spb.data.len());
                CapturedPacket {
                    frame,
                    ts_sec: 0,
                    ts_nsec: 0,
                    ts_nanos: false,
                    link: ifc.link,
                    orig_len: spb.origlen,
                    data: &spb.data[..caplen],
                }
            }
            PcapBlockOwned::NG(_) => return Ok(None),
        };
        Ok(Some(packet))
    }
}

fn read_all<R: Read + Send>(
    input: R,
    summary: &mut CaptureSummary,
    mut on_packet: impl FnMut(&CapturedPacket<'_>),
    mut on_progress: impl FnMut(u64),
) -> Result<(), CaptureError> {
    let mut reader = open_reader(input)?;
    let mut cx = Context {
        legacy_link: LinkType::Ethernet,
        legacy_nanos: false,
        interfaces: Vec::new(),
        section_big_endian: None,
    };
    let mut capacity = BUFFER;
    let mut last_progress = 0u64;
    loop {
        let (frame, offset) = (summary.packets + 1, reader.consumed() as u64);
        summary.file_bytes = offset;
        let malformed = |reason: String| CaptureError::Malformed { frame, offset, reason };
        if let Some(be) = cx.section_big_endian
            && let Some(reason) = bad_block_length(reader.data(), be)
        {
            return Err(malformed(reason));
        }
        match reader.next() {
            Ok((len, block)) => {
                if let Some(p) = cx.packet(block, frame)? {
                    summary.packets += 1;
                    summary.bytes += p.data.len() as u64;
                    on_packet(&p);
                }
                reader.consume(len);
                let consumed = reader.consumed() as u64;
                if consumed - last_progress >= 1 << 20 {
                    last_progress = consumed;
                    on_progress(consumed);
                }
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().map_err(|e| malformed(e.to_string()))?,
            Err(PcapError::BufferTooSmall) => {
                if capacity >= MAX_BUFFER || !reader.grow(capacity * 2) {
                    let limit = MAX_BUFFER >> 20;
                    return Err(malformed(format!("record larger than {limit} MiB (corrupt length field?)")));
                }
                capacity *= 2;
                reader.refill().map_err(|e| malformed(e.to_string()))?;
            }
            Err(PcapError::UnexpectedEof) => return Err(CaptureError::Truncated { frame, offset }),
            Err(e) => return Err(malformed(e.to_string())),
        }
    }
    summary.file_bytes = reader.consumed() as u64;
    on_progress(summary.file_bytes);
    Ok(())
}

/// Rejects a pcapng block whose total length is below the 12 bytes every
/// block has. XXX: pcap-parser 0.17 trusts a Process Information Block's
/// length down to 4 and underflows computing its body (a panic with overflow
/// checks, a misparse without); checking here keeps every build safe.
fn bad_block_length(data: &[u8], big_endian: bool) -> Option<String> {
    let h = data.get(..8)?;
    let len = if big_endian {
        u32::from_be_bytes([h[4], h[5], h[6], h[7]])
    } else {
        u32::from_le_bytes([h[4], h[5], h[6], h[7]])
    };
    // A section header carries its own byte order; pcap-parser checks it.
    let shb = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) == 0x0a0d_0d0a;
    (!shb && len < 12).then(|| format!("pcapng block length {len} is below the 12-byte minimum"))
}

/// Units per second for an `if_tsresol` byte: 10^n, or 2^n with the top
/// bit set. XXX: pcap-parser 0.17's `ts_resolution()` rejects every
/// power-of-two value (it range-checks the byte before masking the flag).
fn ts_resolution(tsresol: u8) -> Option<u64> {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 != 0 { 1u64.checked_shl(exp) } else { 10u64.checked_pow(exp) }
}

/// pcapng timestamp: 64-bit count of `resolution` units plus `if_tsoffset`
/// seconds.
fn pcapng_ts(high: u32, low: u32, ifc: &Interface) -> (i64, u32) {
    let units = ((high as u64) << 32) | low as u64;
    let res = ifc.resolution.max(1);
    // Hostile offsets and resolutions saturate instead of overflowing.
    let sec = i64::try_from(units / res).unwrap_or(i64::MAX).saturating_add(ifc.offset);
    let frac = units % res;
    let nsec = ((frac as u128) * 1_000_000_000 / res as u128) as u32;
    (sec, nsec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(ts_resolution(6), Some(1_000_000));
        assert_eq!(ts_resolution(9), Some(1_000_000_000));
        assert_eq!(ts_resolution(0x80 | 10), Some(1024));
        assert_eq!(ts_resolution(0x80 | 63), Some(1 << 63));
        assert_eq!(ts_resolution(20), None);
        assert_eq!(ts_resolution(0x80 | 64), None);
        let ifc = Interface { link: LinkType::Ethernet, resolution: 1024, offset: 0 };
        // 2.5 s in 1/1024 s units.
        assert_eq!(pcapng_ts(0, 2560, &ifc), (2, 500_000_000));
    }
}
