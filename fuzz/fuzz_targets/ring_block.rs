//! The TPACKET_V3 block walker over arbitrary bytes (a corrupt or hostile
//! ring): it must never read out of bounds, panic or loop, and every frame
//! it hands out must lie inside the block (or the VLAN scratch buffer).
//!
//! Input: byte 0 = options (bit 0: re-insert VLAN tags; bits 1..: snaplen
//! class), the rest is the block.
#![no_main]

use capture::block::{WalkOptions, walk_block};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&opt, block)) = data.split_first() else { return };
    let snaplen = [64u32, 1500, 65_535, 262_144][usize::from(opt >> 1) % 4];
    let opts = WalkOptions { snaplen, reinsert_vlan: opt & 1 == 1 };
    let mut scratch = Vec::new();
    let mut frames = 0u64;
    let summary = walk_block(block, opts, &mut scratch, &mut |p| {
        frames += 1;
        assert!(p.data.len() as u64 <= u64::from(snaplen) + 4, "frame longer than snaplen + tag");
    });
    assert_eq!(summary.packets as u64, frames);
});
