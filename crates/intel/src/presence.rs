//! A cache-sized bitmap that answers "certainly not listed" for most addresses.

use crate::hugemem::HugeArray;

/// One bit per IPv4 /24 (2 MiB): "is any exact IPv4 indicator in this /24?"
/// Most traffic is not listed, and this answer fits in cache where the hash
/// map (tens of MiB at millions of entries) does not.
#[derive(Debug)]
pub(crate) struct Presence {
    /// In huge pages: probed at random, like the text filters.
    bits: HugeArray<u64>,
}

impl Presence {
    const BITS: u32 = 24;

    pub(crate) fn new() -> Self {
        Presence { bits: HugeArray::zeroed(1 << (Self::BITS - 6)) }
    }

    #[inline]
    fn slot(key: u32) -> (usize, u64) {
        let k = (key >> (32 - Self::BITS)) as usize;
        (k >> 6, 1u64 << (k & 63))
    }

    pub(crate) fn insert(&mut self, key: u32) {
        let (w, b) = Self::slot(key);
        self.bits[w] |= b;
    }

    #[inline]
    pub(crate) fn may_contain(&self, key: u32) -> bool {
        let (w, b) = Self::slot(key);
        self.bits[w] & b != 0
    }

    /// The key for an IPv6 address: a hash of its top 64 bits (the /64),
    /// folded to 32 bits.
    #[inline]
    pub(crate) fn v6_key(a: u128) -> u32 {
        let h = ((a >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 32) as u32
    }
}
