//! Walking one retired TPACKET_V3 block: safe code over `&[u8]`.
//!
//! Headers are read field by field from byte offsets (native endian, as the kernel wrote them)
//! instead of casting to `tpacket3_hdr`, so no offset in the block can make us read outside it.

use crate::Packet;

/// `sizeof(struct tpacket_block_desc)`: version, offset_to_priv, then `tpacket_hdr_v1`.
pub const BLOCK_HDR_LEN: usize = 48;
/// `sizeof(struct tpacket3_hdr)`; a frame's data never starts before this.
pub const PKT_HDR_LEN: usize = 48;

// tpacket_block_desc field offsets.
const BLK_STATUS: usize = 8;
const BLK_NUM_PKTS: usize = 12;
const BLK_FIRST_PKT: usize = 16;
const BLK_LEN: usize = 20;

// tpacket3_hdr field offsets.
const PKT_NEXT: usize = 0;
const PKT_SEC: usize = 4;
const PKT_NSEC: usize = 8;
const PKT_SNAPLEN: usize = 12;
const PKT_LEN: usize = 16;
const PKT_STATUS: usize = 20;
const PKT_MAC: usize = 24;
const PKT_VLAN_TCI: usize = 32;
const PKT_VLAN_TPID: usize = 36;

/// Byte offset of `block_status` inside a block (the word the kernel and we hand over with).
pub const BLOCK_STATUS_OFFSET: usize = BLK_STATUS;

const TP_STATUS_VLAN_VALID: u32 = libc::TP_STATUS_VLAN_VALID;
const TP_STATUS_VLAN_TPID_VALID: u32 = libc::TP_STATUS_VLAN_TPID_VALID;
const ETH_P_8021Q: u16 = 0x8100;
/// Destination + source MAC: the VLAN tag goes right after them.
const MACS_LEN: usize = 12;

/// How frames are handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkOptions {
    /// Frames longer than this are cut (the kernel filter should already have done it).
    pub snaplen: u32,
    /// Put a VLAN tag the kernel moved into the header back into the frame (Ethernet links only).
    pub reinsert_vlan: bool,
}

/// What one block walk found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockSummary {
    /// Frames handed to the callback.
    pub packets: usize,
    /// Headers or offsets that pointed outside the block; such frames were skipped.
    pub errors: u64,
}

fn rd16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn rd32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The `block_status` word of a block (0 if the slice is too short to hold one).
pub fn block_status(block: &[u8]) -> u32 {
    if block.len() < BLOCK_HDR_LEN { 0 } else { rd32(block, BLK_STATUS) }
}

/// Calls `f` for every well-formed frame in `block` (one whole TPACKET_V3 block, header
/// included). `scratch` is reused to rebuild VLAN-tagged frames, so it only allocates when it
/// must grow. Frames whose header, data or next offset fall outside the block are counted in
/// [`BlockSummary::errors`]; a bad next offset ends the walk (the rest of the chain is lost).
pub fn walk_block<F: FnMut(Packet<'_>)>(
    block: &[u8],
    opts: WalkOptions,
    scratch: &mut Vec<u8>,
    f: &mut F,
) -> BlockSummary {
    let mut sum = BlockSummary::default();
    if block.len() < BLOCK_HDR_LEN {
        sum.errors += 1;
        return sum;
    }
    let num_pkts = rd32(block, BLK_NUM_PKTS);
    if num_pkts == 0 {
        return sum;
    }
    // blk_len is how much of the block the kernel filled; trust it only if it fits the block.
    let blk_len = rd32(block, BLK_LEN) as usize;
    let limit = if (BLOCK_HDR_LEN..=block.len()).contains(&blk_len) {
        blk_len
    } else {
        sum.errors += 1;
        block.len()
    };
    let mut off = rd32(block, BLK_FIRST_PKT) as usize;
    if off < BLOCK_HDR_LEN {
        sum.errors += 1;
        return sum;
    }
    for i in 0..num_pkts {
        let Some(hdr) = off.checked_add(PKT_HDR_LEN).filter(|&end| end <= limit).map(|end| &block[off..end]) else {
            sum.errors += 1;
            break;
        };
        let mac = usize::from(rd16(hdr, PKT_MAC));
        let caplen = rd32(hdr, PKT_SNAPLEN) as usize;
        let data = off
            .checked_add(mac)
            .filter(|_| mac >= PKT_HDR_LEN)
            .and_then(|start| Some(start..start.checked_add(caplen)?))
            .filter(|r| r.end <= limit);
        match data {
            Some(range) => {
                deliver(hdr, &block[range], opts, scratch, f);
                sum.packets += 1;
            }
            None => sum.errors += 1,
        }
        if i + 1 < num_pkts {
            // Each step moves forward by at least one header, so the walk ends within the block
            // even when num_pkts is garbage.
            let next = rd32(hdr, PKT_NEXT) as usize;
            match off.checked_add(next).filter(|&n| next >= PKT_HDR_LEN && n < limit) {
                Some(n) => off = n,
                None => {
                    sum.errors += 1;
                    break;
                }
            }
        }
    }
    sum
}

fn deliver<F: FnMut(Packet<'_>)>(hdr: &[u8], frame: &[u8], opts: WalkOptions, scratch: &mut Vec<u8>, f: &mut F) {
    let status = rd32(hdr, PKT_STATUS);
    let tci = rd32(hdr, PKT_VLAN_TCI);
    let ts_ns = u64::from(rd32(hdr, PKT_SEC)) * 1_000_000_000 + u64::from(rd32(hdr, PKT_NSEC));
    let mut wire_len = rd32(hdr, PKT_LEN);
    let snaplen = opts.snaplen as usize;
    // As libpcap: a non-zero TCI also means "tag present" for kernels that lack VLAN_VALID.
    let tagged = opts.reinsert_vlan && (tci != 0 || status & TP_STATUS_VLAN_VALID != 0) && frame.len() >= MACS_LEN;
    let data = if tagged {
        let tpid = if status & TP_STATUS_VLAN_TPID_VALID != 0 { rd16(hdr, PKT_VLAN_TPID) } else { ETH_P_8021Q };
        let keep = (frame.len() + 4).min(snaplen.max(MACS_LEN + 4));
        scratch.clear();
        scratch.extend_from_slice(&frame[..MACS_LEN]);
        scratch.extend_from_slice(&tpid.to_be_bytes());
        scratch.extend_from_slice(&(tci as u16).to_be_bytes());
        scratch.extend_from_slice(&frame[MACS_LEN..keep - 4]);
        wire_len = wire_len.saturating_add(4);
        &scratch[..]
    } else {
        &frame[..frame.len().min(snaplen)]
    };
    f(Packet { data: &data[..data.len().min(snaplen)], wire_len, ts_ns });
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_USER: u32 = 1;

    /// Builds a block the way the kernel lays it out: 16-byte aligned frames, data at `mac`.
    struct Builder {
        buf: Vec<u8>,
        last: Option<usize>,
        num: u32,
        mac: u16,
    }

    impl Builder {
        fn new(size: usize) -> Builder {
            let mut buf = vec![0u8; size];
            buf[BLK_STATUS..BLK_STATUS + 4].copy_from_slice(&STATUS_USER.to_ne_bytes());
            buf[BLK_FIRST_PKT..BLK_FIRST_PKT + 4].copy_from_slice(&(BLOCK_HDR_LEN as u32).to_ne_bytes());
            Builder { buf, last: None, num: 0, mac: 82 }
        }

        fn put32(&mut self, at: usize, v: u32) {
            self.buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        }

        fn put16(&mut self, at: usize, v: u16) {
            self.buf[at..at + 2].copy_from_slice(&v.to_ne_bytes());
        }

        /// Appends a frame; returns its header offset.
        fn frame(&mut self, data: &[u8], wire_len: u32, status: u32, tci: u32, tpid: u16) -> usize {
            let off = match self.last {
                None => BLOCK_HDR_LEN,
                Some(prev) => {
                    let end = prev + usize::from(self.mac) + rd32(&self.buf, prev + PKT_SNAPLEN) as usize;
                    let next = end.next_multiple_of(16);
                    self.put32(prev + PKT_NEXT, (next - prev) as u32);
                    next
                }
            };
            self.put32(off + PKT_SEC, 1_700_000_000);
            self.put32(off + PKT_NSEC, self.num * 1000);
            self.put32(off + PKT_SNAPLEN, data.len() as u32);
            self.put32(off + PKT_LEN, wire_len);
            self.put32(off + PKT_STATUS, STATUS_USER | status);
            self.put16(off + PKT_MAC, self.mac);
            self.put32(off + PKT_VLAN_TCI, tci);
            self.put16(off + PKT_VLAN_TPID, tpid);
            let start = off + usize::from(self.mac);
            self.buf[start..start + data.len()].copy_from_slice(data);
            self.last = Some(off);
            self.num += 1;
            self.put32(BLK_NUM_PKTS, self.num);
            self.put32(BLK_LEN, (start + data.len()).next_multiple_of(16) as u32);
            off
        }
    }

    fn opts() -> WalkOptions {
        WalkOptions { snaplen: 65_535, reinsert_vlan: true }
    }

    fn collect(block: &[u8], opts: WalkOptions) -> (Vec<(Vec<u8>, u32, u64)>, BlockSummary) {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let sum = walk_block(block, opts, &mut scratch, &mut |p: Packet<'_>| {
            out.push((p.data.to_vec(), p.wire_len, p.ts_ns))
        });
        (out, sum)
    }

    fn frame(n: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| n.wrapping_add(i as u8)).collect()
    }

    #[test]
    fn walks_all_frames_in_order() {
        let mut b = Builder::new(4096);
        for n in 0..5u8 {
            b.frame(&frame(n, 60 + usize::from(n) * 7), 60 + u32::from(n) * 7, 0, 0, 0);
        }
        let (out, sum) = collect(&b.buf, opts());
        assert_eq!(sum, BlockSummary { packets: 5, errors: 0 });
        for (n, (data, wire, ts)) in out.iter().enumerate() {
            assert_eq!(*data, frame(n as u8, 60 + n * 7));
            assert_eq!(*wire, 60 + n as u32 * 7);
            assert_eq!(*ts, 1_700_000_000 * 1_000_000_000 + n as u64 * 1000);
        }
        assert_eq!(block_status(&b.buf), STATUS_USER);
    }

    #[test]
    fn empty_and_short_blocks() {
        let b = Builder::new(4096);
        assert_eq!(collect(&b.buf, opts()).1, BlockSummary::default());
        assert_eq!(collect(&b.buf[..20], opts()).1, BlockSummary { packets: 0, errors: 1 });
        assert_eq!(collect(&[], opts()).1, BlockSummary { packets: 0, errors: 1 });
        assert_eq!(block_status(&b.buf[..20]), 0);
    }

    #[test]
    fn truncates_to_snaplen() {
        let mut b = Builder::new(4096);
        b.frame(&frame(1, 200), 1500, 0, 0, 0);
        let (out, _) = collect(&b.buf, WalkOptions { snaplen: 64, reinsert_vlan: true });
        assert_eq!(out[0].0, frame(1, 64));
        assert_eq!(out[0].1, 1500);
    }

    #[test]
    fn reinserts_vlan_tag_after_macs() {
        let mut b = Builder::new(4096);
        let untagged = frame(9, 64);
        b.frame(&untagged, 64, TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, 0x2064, 0x88a8);
        b.frame(&untagged, 64, TP_STATUS_VLAN_VALID, 100, 0);
        // Priority-tagged (VLAN 0): only the status flag tells.
        b.frame(&untagged, 64, TP_STATUS_VLAN_VALID, 0, 0);
        b.frame(&untagged, 64, 0, 0, 0);
        let (out, sum) = collect(&b.buf, opts());
        assert_eq!(sum.packets, 4);
        let tagged = |tpid: u16, tci: u16| {
            let mut v = untagged[..12].to_vec();
            v.extend_from_slice(&tpid.to_be_bytes());
            v.extend_from_slice(&tci.to_be_bytes());
            v.extend_from_slice(&untagged[12..]);
            v
        };
        assert_eq!(out[0].0, tagged(0x88a8, 0x2064));
        assert_eq!(out[0].1, 68);
        assert_eq!(out[1].0, tagged(0x8100, 100));
        assert_eq!(out[2].0, tagged(0x8100, 0));
        assert_eq!(out[3].0, untagged);
        assert_eq!(out[3].1, 64);

        // Not on non-Ethernet links, and the rebuilt frame still honours snaplen.
        let (out, _) = collect(&b.buf, WalkOptions { snaplen: 65_535, reinsert_vlan: false });
        assert_eq!(out[0].0, untagged);
        let (out, _) = collect(&b.buf, WalkOptions { snaplen: 20, reinsert_vlan: true });
        assert_eq!(out[1].0, tagged(0x8100, 100)[..20].to_vec());
        assert_eq!(out[1].1, 68);
    }

    #[test]
    fn vlan_scratch_is_reused() {
        let mut b = Builder::new(8192);
        for n in 0..20u8 {
            b.frame(&frame(n, 300), 300, TP_STATUS_VLAN_VALID, 7, 0);
        }
        let mut scratch = Vec::with_capacity(1024);
        let ptr = scratch.as_ptr();
        let mut seen = 0;
        let sum = walk_block(&b.buf, opts(), &mut scratch, &mut |p: Packet<'_>| {
            assert_eq!(p.data.len(), 304);
            seen += 1;
        });
        assert_eq!((sum.packets, seen), (20, 20));
        assert_eq!(scratch.as_ptr(), ptr, "scratch must not reallocate");
    }

    #[test]
    fn data_past_block_end_is_skipped() {
        let mut b = Builder::new(4096);
        let bad = b.frame(&frame(1, 60), 60, 0, 0, 0);
        b.frame(&frame(2, 60), 60, 0, 0, 0);
        b.put32(bad + PKT_SNAPLEN, 5000); // caplen runs past the block
        let (out, sum) = collect(&b.buf, opts());
        assert_eq!(sum, BlockSummary { packets: 1, errors: 1 });
        assert_eq!(out[0].0, frame(2, 60));

        b.put32(bad + PKT_SNAPLEN, u32::MAX); // offset arithmetic must not overflow
        assert_eq!(collect(&b.buf, opts()).1, BlockSummary { packets: 1, errors: 1 });
    }

    #[test]
    fn mac_inside_header_is_skipped() {
        let mut b = Builder::new(4096);
        let bad = b.frame(&frame(1, 60), 60, 0, 0, 0);
        b.frame(&frame(2, 60), 60, 0, 0, 0);
        b.put16(bad + PKT_MAC, 10);
        assert_eq!(collect(&b.buf, opts()).1, BlockSummary { packets: 1, errors: 1 });
        b.put16(bad + PKT_MAC, u16::MAX);
        assert_eq!(collect(&b.buf, opts()).1, BlockSummary { packets: 1, errors: 1 });
    }

    #[test]
    fn bad_next_offset_ends_the_walk() {
        for next in [0u32, 1, 47, 4096, 100_000, u32::MAX] {
            let mut b = Builder::new(4096);
            let first = b.frame(&frame(1, 60), 60, 0, 0, 0);
            b.frame(&frame(2, 60), 60, 0, 0, 0);
            b.frame(&frame(3, 60), 60, 0, 0, 0);
            b.put32(first + PKT_NEXT, next);
            let (out, sum) = collect(&b.buf, opts());
            assert_eq!(sum, BlockSummary { packets: 1, errors: 1 }, "next={next}");
            assert_eq!(out[0].0, frame(1, 60));
        }
    }

    #[test]
    fn bad_block_header_fields() {
        let mut b = Builder::new(4096);
        b.frame(&frame(1, 60), 60, 0, 0, 0);
        b.frame(&frame(2, 60), 60, 0, 0, 0);

        // num_pkts larger than the chain: the walk stops at the last frame's zero next offset.
        let mut c = Builder { buf: b.buf.clone(), last: None, num: 0, mac: 82 };
        c.put32(BLK_NUM_PKTS, u32::MAX);
        assert_eq!(collect(&c.buf, opts()).1, BlockSummary { packets: 2, errors: 1 });

        // First frame offset inside the block header, or past the end.
        for first in [0u32, 47, 4096, u32::MAX] {
            let mut c = Builder { buf: b.buf.clone(), last: None, num: 0, mac: 82 };
            c.put32(BLK_FIRST_PKT, first);
            let sum = collect(&c.buf, opts()).1;
            assert_eq!(sum.packets, 0, "first={first}");
            assert_eq!(sum.errors, 1, "first={first}");
        }

        // blk_len bigger than the block: fall back to the real length, count it.
        let mut c = Builder { buf: b.buf.clone(), last: None, num: 0, mac: 82 };
        c.put32(BLK_LEN, 1 << 30);
        assert_eq!(collect(&c.buf, opts()).1, BlockSummary { packets: 2, errors: 1 });

        // blk_len shorter than the data it claims: frames beyond it are refused.
        let mut c = Builder { buf: b.buf.clone(), last: None, num: 0, mac: 82 };
        c.put32(BLK_LEN, 200);
        assert_eq!(collect(&c.buf, opts()).1, BlockSummary { packets: 1, errors: 1 });
    }

    #[test]
    fn random_corruption_never_panics() {
        // Deterministic xorshift: flip bytes of a valid block and walk it many times.
        let mut b = Builder::new(2048);
        for n in 0..8u8 {
            b.frame(&frame(n, 40 + usize::from(n) * 13), 100, if n % 2 == 0 { TP_STATUS_VLAN_VALID } else { 0 }, 5, 0);
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut scratch = Vec::new();
        for _ in 0..20_000 {
            let mut blk = b.buf.clone();
            for _ in 0..(rnd() % 6 + 1) {
                let at = (rnd() % 700) as usize;
                blk[at] = rnd() as u8;
            }
            let len = if rnd() % 8 == 0 { (rnd() % 2048) as usize } else { blk.len() };
            let mut n = 0;
            let sum = walk_block(&blk[..len], opts(), &mut scratch, &mut |p: Packet<'_>| {
                assert!(p.data.len() <= 65_535);
                n += 1;
            });
            assert_eq!(sum.packets, n);
            assert!(sum.packets <= 2048 / PKT_HDR_LEN);
        }
    }
}
