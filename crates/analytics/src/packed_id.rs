//! Event ids as the correlation tables keep them.
//!
//! A rule remembers the id of every event it may list in an incident: for
//! the default rules up to eight per host and three per indicator. Kept as
//! strings (inline, 47 bytes), those ids were most of the rules' memory, and
//! the rules' cost grew with it on a machine whose cache other tenants
//! share. Sensors name events `SENSOR:` and 16 hex digits
//! (`sdn_events::EventId`), so such an id is kept as the sensor's symbol and
//! the number: 12 bytes. Any other id goes to a side map under the index of
//! its entry (allocates; no sensor of ours makes those).

use crate::intern::{OTHER, Syms};
use crate::util::{push_hex16, same};
use hashbrown::HashMap;

/// A packed id, or [`PackedId::ELSEWHERE`]: the id is in the table's
/// [`Unpacked`] map. Four-byte aligned, so that it fits beside an
/// [`IndRef`](crate::indicators::IndRef) in 24 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, packed(4))]
pub(crate) struct PackedId {
    n: u64,
    /// The sensor's symbol; `u32::MAX`: elsewhere.
    sym: u32,
}

impl Default for PackedId {
    fn default() -> Self {
        PackedId::ELSEWHERE
    }
}

/// Ids that did not pack, by the index of their entry.
pub(crate) type Unpacked = HashMap<usize, Box<str>, foldhash::fast::FixedState>;

impl PackedId {
    pub const ELSEWHERE: PackedId = PackedId { n: 0, sym: u32::MAX };

    fn is_elsewhere(self) -> bool {
        self.sym == u32::MAX
    }

    /// The id as a string.
    pub fn get(self, unpacked: &Unpacked, at: usize, syms: &Syms) -> String {
        if self.is_elsewhere() {
            return unpacked.get(&at).map_or_else(String::new, |s| s.to_string());
        }
        let sensor = syms.get(self.sym);
        let mut s = String::with_capacity(sensor.len() + 17);
        s.push_str(sensor);
        s.push(':');
        push_hex16(&mut s, self.n);
        s
    }

    /// This entry moved from `from` to `to`, over `replaced`: the map
    /// entries follow.
    #[inline]
    pub fn moved(self, unpacked: &mut Unpacked, from: usize, to: usize, replaced: PackedId) {
        if self.is_elsewhere() {
            if let Some(s) = unpacked.remove(&from) {
                unpacked.insert(to, s);
            }
        } else if replaced.is_elsewhere() {
            unpacked.remove(&to);
        }
    }
}

/// An event's id, packed once for every table that keeps it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EventId<'e> {
    pub id: &'e str,
    packed: Option<PackedId>,
}

impl<'e> EventId<'e> {
    /// `id` of an event from `sensor`, whose symbol is `sym`. (In line:
    /// returned through memory, the packed struct's pieces were read back
    /// as one 16-byte load, a store-forwarding stall.)
    #[inline(always)]
    pub fn new(id: &'e str, sensor: &str, sym: u32) -> Self {
        EventId { id, packed: pack(id.as_bytes(), sensor.as_bytes(), sym) }
    }

    /// Writes the id into `slot`, entry `at` of its table.
    #[inline(always)]
    pub fn store(self, slot: &mut PackedId, unpacked: &mut Unpacked, at: usize) {
        match self.packed {
            Some(p) => {
                if slot.is_elsewhere() {
                    unpacked.remove(&at);
                }
                *slot = p;
            }
            None => {
                *slot = PackedId::ELSEWHERE;
                unpacked.insert(at, self.id.into());
            }
        }
    }

    /// Whether `slot` (entry `at`) holds this id.
    pub fn is_in(self, slot: PackedId, unpacked: &Unpacked, at: usize) -> bool {
        match self.packed {
            Some(p) => slot == p,
            None => slot.is_elsewhere() && unpacked.get(&at).is_some_and(|s| **s == *self.id),
        }
    }
}

/// `SENSOR:` and 16 lowercase hex digits (exactly what `{:016x}` writes,
/// so that unpacking gives the same string back).
#[inline(always)]
fn pack(id: &[u8], sensor: &[u8], sym: u32) -> Option<PackedId> {
    let n = sensor.len();
    if sym == OTHER || sym == u32::MAX || id.len() != n + 17 || id[n] != b':' || !same(&id[..n], sensor) {
        return None;
    }
    let digits: &[u8; 16] = id[n + 1..].try_into().ok()?;
    Some(PackedId { n: parse_hex16(digits)?, sym })
}

/// Eight digits at a time: each byte's value from its ASCII code, checked
/// to be `0-9` or `a-f` on all eight lanes at once.
#[inline]
fn parse_hex16(b: &[u8; 16]) -> Option<u64> {
    let hi = hex8(u64::from_be_bytes(b[..8].try_into().ok()?))?;
    let lo = hex8(u64::from_be_bytes(b[8..].try_into().ok()?))?;
    Some(hi << 32 | lo)
}

/// The value of eight hex digits (big-endian lanes, first digit highest).
#[inline]
fn hex8(x: u64) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Per lane (no lane carries into another: every sum stays below 0x100,
    // and a lane is checked before its value is used).
    // digit: 0x30..=0x39; letter: 0x61..=0x66.
    let ge = |v: u64, c: u8| ((v | HIGH) - ONES * u64::from(c)) & HIGH; // lane >= c
    let le = |v: u64, c: u8| (((ONES * u64::from(c)) | HIGH) - v) & HIGH; // lane <= c (lanes < 0x80)
    if x & HIGH != 0 {
        return None;
    }
    let digit = ge(x, b'0') & le(x, b'9');
    let letter = ge(x, b'a') & le(x, b'f');
    if digit | letter != HIGH {
        return None;
    }
    // A digit's value is its low nibble; a letter's is its low nibble + 9.
    let nib = (x & (ONES * 0x0f)) + (letter >> 7) * 9;
    // Pack eight 4-bit lanes (one per byte) into 32 bits, first lane high.
    let x = (nib >> 4 | nib) & 0x00ff_00ff_00ff_00ff; // pairs
    let x = (x >> 8 | x) & 0x0000_ffff_0000_ffff; // quads
    Some((x >> 16 | x) & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::xorshift;

    #[test]
    fn hex_digits_parse_as_the_format_writes_them() {
        let mut next = xorshift(0x1d5);
        for i in 0..20_000 {
            let n = if i < 3 { [0, u64::MAX, 0x0123_4567_89ab_cdef][i] } else { next() >> (next() % 64) };
            let s = format!("{n:016x}");
            assert_eq!(parse_hex16(s.as_bytes().try_into().unwrap()), Some(n), "{s}");
        }
        // Every byte value in every position: only 0-9 and a-f parse.
        for pos in 0..16 {
            for c in 0..=255u8 {
                let mut s = *b"0123456789abcdef";
                s[pos] = c;
                let ok = c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
                assert_eq!(parse_hex16(&s).is_some(), ok, "byte {c:#x} at {pos}");
            }
        }
    }

    #[test]
    fn sensor_ids_pack_and_come_back_others_stay_strings() {
        let mut syms = Syms::new(16);
        let edge = syms.intern("edge-1");
        let mut unpacked = Unpacked::default();
        let mut slots = [PackedId::ELSEWHERE; 4];
        let ids = [
            ("edge-1:00000a0000000001", true),
            ("edge-1:00000A0000000001", false), // would not come back the same
            ("edge-2:00000a0000000001", false), // another sensor's prefix
            ("edge-1:0a0000000001", false),
        ];
        for (i, (id, packs)) in ids.into_iter().enumerate() {
            let e = EventId::new(id, "edge-1", edge);
            assert_eq!(e.packed.is_some(), packs, "{id}");
            e.store(&mut slots[i], &mut unpacked, i);
            assert_eq!(slots[i].get(&unpacked, i, &syms), id);
            assert!(e.is_in(slots[i], &unpacked, i));
        }
        assert_eq!(unpacked.len(), 3);
        // Overwritten by a packed id: the map entry goes.
        EventId::new("edge-1:0000000000000002", "edge-1", edge).store(&mut slots[1], &mut unpacked, 1);
        assert_eq!(unpacked.len(), 2);
        assert!(!EventId::new("edge-1:00000A0000000001", "edge-1", edge).is_in(slots[1], &unpacked, 1));
        // Moved with its entry (over slot 1's, packed since).
        slots[3].moved(&mut unpacked, 3, 1, slots[1]);
        assert_eq!(slots[3].get(&unpacked, 1, &syms), "edge-1:0a0000000001");
        assert_eq!(unpacked.len(), 2);
        // A packed one moved over an unpacked one: the map entry goes.
        slots[0].moved(&mut unpacked, 0, 2, slots[2]);
        assert_eq!(unpacked.len(), 1);
        // The overflow symbol never packs (it names no sensor).
        assert!(EventId::new("x:0000000000000002", "x", OTHER).packed.is_none());
    }
}
