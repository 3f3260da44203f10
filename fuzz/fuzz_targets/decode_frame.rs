//! `wire::decode` over arbitrary frames. The first input byte picks the link
//! type (index into `LINKTYPES`, modulo its length); the rest is the frame.
//! Beyond "never panics", checks invariants that hold for every frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::{DecodeError, LinkType, Transport};

/// LINKTYPE numbers tried; 147 (USER0) is one the decoder does not support.
const LINKTYPES: [u32; 12] = [0, 1, 10, 12, 14, 101, 108, 113, 228, 229, 276, 147];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else { return };
    let n = LINKTYPES[sel as usize % LINKTYPES.len()];
    let link = LinkType::from_linktype(n);
    let d = wire::decode(link, frame);

    assert_eq!(d.link, link);
    if let LinkType::Other(m) = link {
        assert_eq!(m, n);
        assert!(matches!(d.error, Some(DecodeError::UnsupportedLinkType(x)) if x == n), "{:?}", d.error);
        assert!(d.ip.is_none());
    }

    // The payload borrows the frame: a (possibly empty) sub-slice of it.
    if !d.payload.is_empty() {
        let (lo, hi) = (frame.as_ptr() as usize, frame.as_ptr() as usize + frame.len());
        let (p, q) = (d.payload.as_ptr() as usize, d.payload.as_ptr() as usize + d.payload.len());
        assert!(lo <= p && q <= hi, "payload {p:#x}..{q:#x} outside frame {lo:#x}..{hi:#x}");
    }
    assert!(d.payload.len() <= frame.len());

    // VLAN ids kept are bounded; the depth counter may go beyond.
    assert!(d.vlans().len() <= wire::packet::MAX_VLANS);
    assert_eq!(d.vlans().len(), (d.vlan_depth as usize).min(wire::packet::MAX_VLANS));

    // A transport header is only decoded under an IP header, and an IP
    // header always records its ethertype.
    if d.transport != Transport::None {
        assert!(d.ip.is_some(), "transport {:?} without ip", d.transport);
    }
    if d.ip.is_some() {
        assert!(d.ethertype.is_some());
    }

    // Exercise the accessors (Debug walks every field).
    let _ = d.transport.ports();
    let _ = format!("{d:?}");
    if let Some(e) = &d.error {
        let _ = e.to_string();
    }
});
