//! Synthetic frames and indicators for benchmarks and tests. Deterministic:
//! everything comes from a seeded xorshift generator.

use core::net::IpAddr;
use intel::set::IpKey;
use intel::{Indicator, IndicatorType, SetBuilder};
use std::io::{self, Write};
use std::sync::Arc;

/// xorshift64*: small, fast, reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn v4(&mut self) -> u32 {
        self.next_u64() as u32
    }
    pub fn v6(&mut self) -> u128 {
        // Global unicast 2000::/3, as real traffic would be.
        let hi = (self.next_u64() & 0x1fff_ffff_ffff_ffff) | 0x2000_0000_0000_0000;
        ((hi as u128) << 64) | self.next_u64() as u128
    }
}

/// Builds frames layer by layer. Checksums are left zero (the decoder does
/// not verify them, as NIC offload makes them meaningless in captures).
pub struct FrameBuilder {
    pub buf: Vec<u8>,
}

impl FrameBuilder {
    pub fn ethernet(vlans: &[(u16, u16)], ethertype: u16) -> Self {
        let mut buf = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        for (tpid, vid) in vlans {
            buf.extend_from_slice(&tpid.to_be_bytes());
            buf.extend_from_slice(&vid.to_be_bytes());
        }
        buf.extend_from_slice(&ethertype.to_be_bytes());
        FrameBuilder { buf }
    }

    pub fn raw() -> Self {
        FrameBuilder { buf: Vec::new() }
    }

    /// IPv4 header with the given L4 protocol and payload length to follow.
    pub fn ipv4(mut self, src: u32, dst: u32, proto: u8, l4_len: usize) -> Self {
        let total = (20 + l4_len) as u16;
        self.buf.extend_from_slice(&[0x45, 0]);
        self.buf.extend_from_slice(&total.to_be_bytes());
        self.buf.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
        self.buf.extend_from_slice(&src.to_be_bytes());
        self.buf.extend_from_slice(&dst.to_be_bytes());
        self
    }

    pub fn ipv6(mut self, src: u128, dst: u128, next: u8, payload_len: usize) -> Self {
        self.buf.extend_from_slice(&[0x60, 0, 0, 0]);
        self.buf.extend_from_slice(&(payload_len as u16).to_be_bytes());
        self.buf.extend_from_slice(&[next, 64]);
        self.buf.extend_from_slice(&src.to_be_bytes());
        self.buf.extend_from_slice(&dst.to_be_bytes());
        self
    }

    pub fn tcp(mut self, sport: u16, dport: u16, flags: u8, payload: usize) -> Self {
        self.buf.extend_from_slice(&sport.to_be_bytes());
        self.buf.extend_from_slice(&dport.to_be_bytes());
        self.buf.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        self.buf.resize(self.buf.len() + payload, 0);
        self
    }

    pub fn udp(mut self, sport: u16, dport: u16, payload: usize) -> Self {
        self.buf.extend_from_slice(&sport.to_be_bytes());
        self.buf.extend_from_slice(&dport.to_be_bytes());
        self.buf.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.resize(self.buf.len() + payload, 0);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// A synthetic indicator population like a large aggregated feed.
pub struct SyntheticIntel {
    pub builder: SetBuilder,
    /// Some listed addresses, for traffic that should hit.
    pub listed: Vec<IpAddr>,
}

/// `total` indicator values: 2/3 IPv4 hosts, 1/5 IPv6 hosts, 1/10 IPv4
/// CIDRs (/8–/30, mostly /24), the rest IPv6 CIDRs (/32–/64).
pub fn synthetic_keys(total: usize, seed: u64) -> Vec<IpKey> {
    let mut rng = Rng::new(seed);
    let n_v4 = total * 2 / 3;
    let n_v6 = total / 5;
    let n_c4 = total / 10;
    (0..total)
        .map(|i| {
            if i < n_v4 {
                IpKey::V4(rng.v4(), 32)
            } else if i < n_v4 + n_v6 {
                IpKey::V6(rng.v6(), 128)
            } else if i < n_v4 + n_v6 + n_c4 {
                // Shaped like DROP-style lists: mostly /24, some /16–/23 and
                // /25–/30, a handful of very short prefixes.
                let len = match rng.below(10_000) {
                    0 => 8 + rng.below(8) as u8,
                    1..=500 => 16 + rng.below(8) as u8,
                    501..=3000 => 25 + rng.below(6) as u8,
                    _ => 24,
                };
                IpKey::V4(intel::lpm::Key::mask(rng.v4(), len), len)
            } else {
                let len = 32 + rng.below(33) as u8;
                IpKey::V6(intel::lpm::Key::mask(rng.v6(), len), len)
            }
        })
        .collect()
}

fn kind_of(key: &IpKey) -> IndicatorType {
    if key.is_host() { IndicatorType::Ip } else { IndicatorType::Cidr }
}

/// [`synthetic_keys`] compiled into a builder. One value in 1000 is also
/// returned in `listed`, for traffic that should hit.
pub fn synthetic_intel(total: usize, seed: u64) -> SyntheticIntel {
    let feed: Arc<str> = Arc::from("synthetic");
    let threat: Arc<str> = Arc::from("bench");
    let mut builder = SetBuilder::new();
    let mut listed = Vec::new();
    for (i, key) in synthetic_keys(total, seed).into_iter().enumerate() {
        if i % 1000 == 0 {
            listed.push(match key {
                IpKey::V4(a, _) => IpAddr::from(core::net::Ipv4Addr::from(a)),
                IpKey::V6(a, _) => IpAddr::from(core::net::Ipv6Addr::from(a)),
            });
        }
        let mut indicator = Indicator::new(format!("s{i}"), kind_of(&key), key.to_string(), &feed);
        indicator.threat_type = Some(threat.clone());
        builder.add(indicator);
    }
    SyntheticIntel { builder, listed }
}

/// Writes [`synthetic_keys`] as an original-format CSV feed.
pub fn write_feed(out: &mut impl Write, total: usize, seed: u64) -> io::Result<()> {
    writeln!(out, "id,type,threat_type,ip,dns,value")?;
    for (i, key) in synthetic_keys(total, seed).iter().enumerate() {
        writeln!(out, "s{i},{},bench,,,{key}", kind_of(key).name())?;
    }
    Ok(())
}

/// Writes frames as a little-endian microsecond pcap (Ethernet), 1 µs apart.
pub fn write_pcap(out: &mut impl Write, frames: &[Vec<u8>]) -> io::Result<()> {
    let start = 1_795_928_400u64 * 1_000_000;
    write_pcap_frames(out, frames.iter().enumerate().map(|(i, f)| (start + i as u64, f.as_slice())))
}

/// Writes `(time in µs since the epoch, frame)` as a little-endian
/// microsecond pcap (Ethernet).
pub fn write_pcap_timed(out: &mut impl Write, frames: &[(u64, Vec<u8>)]) -> io::Result<()> {
    write_pcap_frames(out, frames.iter().map(|(t, f)| (*t, f.as_slice())))
}

fn write_pcap_frames<'f>(out: &mut impl Write, frames: impl Iterator<Item = (u64, &'f [u8])>) -> io::Result<()> {
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        out.write_all(&v.to_le_bytes())?;
    }
    for (t, f) in frames {
        for v in [(t / 1_000_000) as u32, (t % 1_000_000) as u32, f.len() as u32, f.len() as u32] {
            out.write_all(&v.to_le_bytes())?;
        }
        out.write_all(f)?;
    }
    Ok(())
}

/// A mixed corpus of Ethernet frames: IPv4 TCP/UDP, IPv6 TCP/UDP, 802.1Q
/// and QinQ tags, sizes 64–1514. About `hit_per_mille`/1000 of the packets
/// carry a listed address.
pub fn synthetic_corpus(count: usize, listed: &[IpAddr], hit_per_mille: u64, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let shape = rng.below(100);
        let payload = match rng.below(10) {
            0..=4 => 0,
            5..=7 => rng.below(200) as usize,
            _ => 1000 + rng.below(400) as usize,
        };
        let hit = !listed.is_empty() && rng.below(1000) < hit_per_mille;
        let pick_v4 = |rng: &mut Rng| -> u32 {
            if hit {
                for _ in 0..16 {
                    if let IpAddr::V4(a) = listed[rng.below(listed.len() as u64) as usize] {
                        return u32::from(a);
                    }
                }
            }
            rng.v4()
        };
        let src4 = pick_v4(&mut rng);
        let dst4 = rng.v4();
        let (sport, dport) = (1024 + rng.below(60000) as u16, [80, 443, 123, 22, 8080][rng.below(5) as usize]);
        let frame = match shape {
            0..=54 => {
                FrameBuilder::ethernet(&[], 0x0800).ipv4(src4, dst4, 6, 20 + payload).tcp(sport, dport, 0x18, payload)
            }
            55..=74 => FrameBuilder::ethernet(&[], 0x0800).ipv4(src4, dst4, 17, 8 + payload).udp(sport, dport, payload),
            75..=84 => FrameBuilder::ethernet(&[], 0x86dd)
                .ipv6(rng.v6(), rng.v6(), 6, 20 + payload)
                .tcp(sport, dport, 0x10, payload),
            85..=89 => {
                FrameBuilder::ethernet(&[], 0x86dd).ipv6(rng.v6(), rng.v6(), 17, 8 + payload).udp(sport, dport, payload)
            }
            90..=96 => FrameBuilder::ethernet(&[(0x8100, 100)], 0x0800)
                .ipv4(src4, dst4, 17, 8 + payload)
                .udp(sport, dport, payload),
            _ => FrameBuilder::ethernet(&[(0x88a8, 200), (0x8100, 2001)], 0x0800)
                .ipv4(src4, dst4, 6, 20 + payload)
                .tcp(sport, dport, 0x02, payload),
        };
        out.push(frame.finish());
    }
    out
}

/// A label of 3–10 lower-case letters.
fn label(rng: &mut Rng) -> String {
    let n = 3 + rng.below(8) as usize;
    (0..n).map(|_| (b'a' + rng.below(26) as u8) as char).collect()
}

const TLDS: [&str; 8] = ["com", "net", "org", "info", "ru", "xyz", "top", "example"];

/// A registrable-looking domain: 2–3 labels.
pub fn domain(rng: &mut Rng) -> String {
    let tld = TLDS[rng.below(TLDS.len() as u64) as usize];
    match rng.below(3) {
        0 => format!("{}.{}.{tld}", label(rng), label(rng)),
        _ => format!("{}.{tld}", label(rng)),
    }
}

/// Writes `total` mixed indicators as an original-format CSV feed: 40%
/// IPv4, 10% IPv6, 10% CIDRs, 25% domains, 10% URLs, 3% e-mail addresses,
/// 2% SHA-256 hashes. Returns some listed domains for lookups that hit.
pub fn write_mixed_feed(out: &mut impl Write, total: usize, seed: u64) -> io::Result<Vec<String>> {
    let mut rng = Rng::new(seed);
    let mut listed = Vec::new();
    writeln!(out, "id,type,threat_type,ip,dns,value")?;
    for i in 0..total {
        match rng.below(100) {
            0..=39 => writeln!(out, "m{i},ip,bench,{},,", core::net::Ipv4Addr::from(rng.v4()))?,
            40..=49 => writeln!(out, "m{i},ip,bench,{},,", core::net::Ipv6Addr::from(rng.v6()))?,
            50..=59 => {
                let len = 16 + rng.below(13) as u8;
                let key = IpKey::V4(intel::lpm::Key::mask(rng.v4(), len), len);
                writeln!(out, "m{i},cidr,bench,,,{key}")?
            }
            60..=84 => {
                let d = domain(&mut rng);
                if listed.len() < 100_000 && rng.below(10) == 0 {
                    listed.push(d.clone());
                }
                writeln!(out, "m{i},domain,bench,,{d},")?
            }
            85..=94 => writeln!(
                out,
                "m{i},url,bench,,,http://{}/{}/{}.php",
                domain(&mut rng),
                label(&mut rng),
                label(&mut rng)
            )?,
            95..=97 => writeln!(out, "m{i},email,bench,,,{}@{}", label(&mut rng), domain(&mut rng))?,
            _ => writeln!(
                out,
                "m{i},sha256,bench,,,{:016x}{:016x}{:016x}{:016x}",
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64()
            )?,
        }
    }
    Ok(listed)
}

/// The wire form of a name (uncompressed).
fn dns_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// A DNS response like a resolver's: one question for `qname` (type A),
/// a CNAME answer (owner compressed to the question) to `cname`, and an A
/// answer for the CNAME target (owner compressed to it).
pub fn dns_response(id: u16, qname: &str, cname: &str, addr: [u8; 4]) -> Vec<u8> {
    let mut m = Vec::with_capacity(128);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
    dns_name(&mut m, qname);
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10]);
    let mut target = Vec::new();
    dns_name(&mut target, cname);
    m.extend_from_slice(&(target.len() as u16).to_be_bytes());
    let target_at = m.len() as u16;
    m.extend(target);
    m.extend_from_slice(&(0xc000 | target_at).to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
    m.extend_from_slice(&addr);
    m
}

/// An Ethernet/IPv4/UDP frame from port 53 carrying `message`.
pub fn dns_frame(message: &[u8], client: u32, resolver: u32) -> Vec<u8> {
    let mut f = FrameBuilder::ethernet(&[], 0x0800)
        .ipv4(resolver, client, 17, 8 + message.len())
        .udp(53, 40_000, message.len())
        .finish();
    let start = f.len() - message.len();
    f[start..].copy_from_slice(message);
    f
}
