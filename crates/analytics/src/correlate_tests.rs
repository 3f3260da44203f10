//! `Group::record` against a plain model of it: the entries, their order
//! (it breaks ties when the oldest makes room) and their cold parts.

use super::*;
use crate::util::xorshift;

/// The model: drop the expired ones (swap-remove, in index order), then
/// update the tag's entry, or append it after the first of the oldest made
/// room.
fn model(es: &mut Vec<(i64, u64, String)>, k: usize, tag: u64, now: i64, cutoff: i64, id: &str) {
    let mut j = 0;
    while j < es.len() {
        if es[j].0 < cutoff {
            es.swap_remove(j);
        } else {
            j += 1;
        }
    }
    if let Some(e) = es.iter_mut().find(|e| e.1 == tag) {
        if now >= e.0 {
            (e.0, e.2) = (now, id.to_string());
        }
        return;
    }
    if es.len() >= k {
        let mut oldest = 0;
        for j in 1..es.len() {
            if es[j].0 < es[oldest].0 {
                oldest = j;
            }
        }
        es.swap_remove(oldest);
    }
    es.push((now, tag, id.to_string()));
}

#[test]
fn record_matches_its_model() {
    let mut next = xorshift(0x51f1);
    let mut syms = Syms::new(4);
    let sensor = syms.intern("edge-1");
    for k in [1usize, 2, 3, 5, 8] {
        let mut g = Group::new();
        let (hdr, cbase) = g.add(0, k);
        g.seal();
        g.ensure(0);
        let mut want = Vec::new();
        let mut now = 1_000i64;
        for i in 0..5_000 {
            let r = next();
            // Times mostly forward, sometimes back; a few tags; most ids
            // packed, some not (short or long).
            now += (r % 7) as i64 - 1;
            let tag = (r >> 8) % (k as u64 + 3);
            let cutoff = now - 1 - ((r >> 16) % 12) as i64;
            let id = match (r >> 24) % 9 {
                0 => format!("{i:060}"),
                1 => format!("e{i}"),
                _ => format!("edge-1:{:016x}", r >> 20),
            };
            let ind = IndRef { slot: i, hash: r };
            let len =
                g.record(hdr, cbase, k, tag, now, cutoff, ColdIn { ind, id: EventId::new(&id, "edge-1", sensor) });
            model(&mut want, k, tag, now, cutoff, &id);
            let got: Vec<(i64, u64, String)> = (0..len)
                .map(|j| {
                    let e = g.ent(hdr + 1 + j);
                    (e.ts, e.tag, g.id(cbase + j, &syms))
                })
                .collect();
            assert_eq!(got, want, "k {k}, event {i}");
        }
    }
}
