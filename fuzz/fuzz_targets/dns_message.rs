//! `wire::dns` over arbitrary messages: the whole walk, every RDATA and
//! every name's presentation form. Beyond "never panics, never loops",
//! checks invariants that hold for any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::dns::{Entry, MAX_NAME_LEN, MAX_TEXT_LEN, Message, NameText, RData};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::new_checked(data) else {
        assert!(data.len() < wire::dns::MIN_LEN);
        return;
    };
    let counts = [m.question_count(), m.answer_count(), m.authority_count(), m.additional_count()];
    let total: usize = counts.iter().map(|&c| c as usize).sum();
    let mut seen = 0usize;
    let mut text = NameText::new();
    let mut check_name = |n: &wire::dns::Name<'_>| {
        n.write_text(&mut text);
        assert!(text.as_str().len() <= MAX_TEXT_LEN);
        // Labels of a validated name fit in 255 octets on the wire.
        let wire_len: usize = n.labels().map(|l| l.len() + 1).sum::<usize>() + 1;
        assert!(wire_len <= MAX_NAME_LEN, "{wire_len}");
        assert!(n.labels().all(|l| !l.is_empty() && l.len() <= 63));
    };
    for e in m.entries() {
        seen += 1;
        match e {
            Ok(Entry::Question(q)) => check_name(&q.name),
            Ok(Entry::Record(r)) => {
                check_name(&r.name);
                // RDATA borrows the message.
                let (lo, hi) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
                let p = r.rdata.as_ptr() as usize;
                assert!(r.rdata.is_empty() || (lo <= p && p + r.rdata.len() <= hi));
                match r.data() {
                    Ok(RData::Name(n)) => check_name(&n),
                    Ok(RData::Mx { exchange, .. }) => check_name(&exchange),
                    Ok(RData::Srv { target, .. }) | Ok(RData::Svcb { target, .. }) => check_name(&target),
                    Ok(RData::Soa { mname, rname, .. }) => {
                        check_name(&mname);
                        check_name(&rname);
                    }
                    Ok(RData::Txt(t)) => assert!(t.strings().map(|s| s.len() + 1).sum::<usize>() == r.rdata.len()),
                    Ok(RData::Opt(o)) => {
                        let _ = o.client_subnet();
                        assert!(o.options().map(|x| x.1.len() + 4).sum::<usize>() == r.rdata.len());
                    }
                    _ => {}
                }
            }
            Err(e) => {
                let _ = e.reason();
            }
        }
    }
    // The walk yields at most one item per counted entry (plus the error
    // of a header cut short).
    assert!(seen <= total + usize::from(!m.has_header()), "{seen} > {total}");
});
