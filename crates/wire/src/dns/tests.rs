use super::*;

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        m.extend_from_slice(&c.to_be_bytes());
    }
    m
}

fn name(labels: &[&str]) -> Vec<u8> {
    let mut n = Vec::new();
    for l in labels {
        n.push(l.len() as u8);
        n.extend_from_slice(l.as_bytes());
    }
    n.push(0);
    n
}

fn text(n: &Name<'_>) -> String {
    let mut t = NameText::new();
    n.write_text(&mut t);
    t.as_str().to_string()
}

/// A response: question www.Example.com A, answer CNAME (compressed
/// owner) → cdn.example.net, answer A 192.0.2.1, OPT with ECS.
fn response() -> Vec<u8> {
    let mut m = header(0x1234, 0x8180, [1, 2, 0, 1]);
    m.extend(name(&["www", "Example", "com"]));
    m.extend_from_slice(&[0, 1, 0, 1]);
    // CNAME: owner = pointer to offset 12.
    m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60]);
    let target = name(&["cdn", "example", "net"]);
    m.extend_from_slice(&(target.len() as u16).to_be_bytes());
    let cname_target_at = m.len();
    m.extend(target);
    // A: owner = pointer to the CNAME target.
    m.extend_from_slice(&[0xc0, cname_target_at as u8, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 192, 0, 2, 1]);
    // OPT: root owner, udp 4096, ext rcode 0, version 0, DO; ECS 198.51.100/24.
    m.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100]);
    m
}

#[test]
fn walks_a_response() {
    let buf = response();
    let m = Message::new_checked(&buf).unwrap();
    assert_eq!((m.id(), m.qr(), m.opcode(), m.rd(), m.ra(), m.rcode()), (0x1234, true, 0, true, true, 0));
    let entries: Vec<_> = m.entries().collect::<Result<_>>().unwrap();
    assert_eq!(entries.len(), 4);
    let Entry::Question(q) = entries[0] else { panic!() };
    assert_eq!((text(&q.name), q.qtype, q.qclass), ("www.Example.com".into(), 1, 1));
    let Entry::Record(cname) = entries[1] else { panic!() };
    assert_eq!((text(&cname.name), cname.section, cname.ttl), ("www.Example.com".into(), Section::Answer, 60));
    let RData::Name(t) = cname.data().unwrap() else { panic!() };
    assert_eq!(text(&t), "cdn.example.net");
    let Entry::Record(a) = entries[2] else { panic!() };
    assert_eq!(text(&a.name), "cdn.example.net");
    assert!(matches!(a.data(), Ok(RData::A(x)) if x == Ipv4Addr::new(192, 0, 2, 1)));
    let Entry::Record(opt) = entries[3] else { panic!() };
    assert_eq!(opt.section, Section::Additional);
    let RData::Opt(o) = opt.data().unwrap() else { panic!() };
    assert_eq!((o.udp_size(), o.version(), o.dnssec_ok(), o.ext_rcode()), (4096, 0, true, 0));
    let ecs = o.client_subnet().unwrap();
    assert_eq!((ecs.family, ecs.source_prefix, ecs.address), (1, 24, Some(IpAddr::from([198, 51, 100, 0]))));
    assert!(opt.name.is_root());
}

#[test]
fn rejects_malformed_names() {
    // Pointer to itself.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(Message::new_checked(&m).unwrap().entries().next().unwrap().unwrap_err(), DnsError::PointerLoop);
    // Two pointers to each other.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&[0xc0, 14, 0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(Message::new_checked(&m).unwrap().entries().next().unwrap().unwrap_err(), DnsError::PointerLoop);
    // A label of 64 octets is a reserved label type.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.push(64);
    m.extend_from_slice(&[b'a'; 64]);
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(Message::new_checked(&m).unwrap().entries().next().unwrap().unwrap_err(), DnsError::BadLabel);
    // 5 labels of 63 octets: 321 octets.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    for _ in 0..5 {
        m.push(63);
        m.extend_from_slice(&[b'a'; 63]);
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(Message::new_checked(&m).unwrap().entries().next().unwrap().unwrap_err(), DnsError::NameTooLong);
    // A label past the end.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&[10, b'a']);
    assert_eq!(Message::new_checked(&m).unwrap().entries().next().unwrap().unwrap_err(), DnsError::Truncated);
    // A pointer past the end.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&[0xc0, 200, 0, 1, 0, 1]);
    assert_eq!(Message::new_checked(&m).unwrap().entries().next().unwrap().unwrap_err(), DnsError::BadPointer);
    assert_eq!(Message::new_checked(&[]).unwrap_err(), DnsError::Empty);
    assert_eq!(Message::new_checked(b"XXX").unwrap_err(), DnsError::TruncatedHeader);
    let short = Message::new_checked(&[0x88, 0x88, 1, 0, 0, 1, 0, 0]).unwrap();
    assert_eq!((short.id(), short.rd(), short.question_count(), short.additional_count()), (0x8888, true, 1, 0));
    let walk: Vec<_> = short.entries().map(|e| e.err()).collect();
    assert_eq!(walk, [Some(DnsError::TruncatedHeader)]);
    // fuzz/regressions/dns_message/short-header-walk: all counts zero,
    // still one error (the fuzz target's bound had to allow it).
    let zeros = Message::new_checked(&[3, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(zeros.entries().map(|e| e.err()).collect::<Vec<_>>(), [Some(DnsError::TruncatedHeader)]);
}

#[test]
fn follows_forward_pointers_and_long_chains() {
    // Question 1's name points forward to question 2's name.
    let mut m = header(1, 0, [2, 0, 0, 0]);
    m.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1]);
    m.extend(name(&["fwd", "example"]));
    m.extend_from_slice(&[0, 1, 0, 1]);
    let names: Vec<_> = Message::new_checked(&m)
        .unwrap()
        .entries()
        .map(|e| match e.unwrap() {
            Entry::Question(q) => text(&q.name),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(names, ["fwd.example", "fwd.example"]);
    // A chain of MAX_POINTERS + 1 pointers, each to the next.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    let base = m.len();
    for i in 0..=MAX_POINTERS {
        let next = base + 2 * (i + 1);
        m.extend_from_slice(&[0xc0 | (next >> 8) as u8, next as u8]);
    }
    m.extend(name(&["deep"]));
    m.extend_from_slice(&[0, 1, 0, 1]);
    assert_eq!(Message::new_checked(&m).unwrap().entries().next().unwrap().unwrap_err(), DnsError::PointerDepth);
}

#[test]
fn escapes_octets_in_presentation() {
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&[4, b'a', b'.', 0, b'\\', 0, 0, 1, 0, 1]);
    let Some(Ok(Entry::Question(q))) = Message::new_checked(&m).unwrap().entries().next() else { panic!() };
    assert_eq!(text(&q.name), r"a\.\000\\");
}

#[test]
fn bogus_counts_end_in_an_error_not_a_long_loop() {
    let mut m = header(1, 0x8000, [65535, 65535, 65535, 65535]);
    m.extend(name(&["a"]));
    m.extend_from_slice(&[0, 1, 0, 1]);
    let all: Vec<_> = Message::new_checked(&m).unwrap().entries().collect();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].unwrap_err(), DnsError::Truncated);
}

#[test]
fn rejects_rdata_that_does_not_fit() {
    let mut m = header(1, 0x8000, [0, 1, 0, 0]);
    m.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5]);
    let Some(Ok(Entry::Record(r))) = Message::new_checked(&m).unwrap().entries().next() else { panic!() };
    assert_eq!(r.data().unwrap_err(), DnsError::BadRdata);
}
