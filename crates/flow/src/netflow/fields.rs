//! Information elements (v9 field types and IPFIX IEs; the numbers agree
//! below 128) into a [`FlowRecord`], and the flow times made absolute.
//!
//! The first occurrence of an element in a record wins (Cisco templates
//! repeat addresses and ports for inner headers), except that a zero
//! address gives way to a non-zero one (IPv4 and IPv6 elements side by
//! side, the unused one zero). Integers may come in
//! fewer octets than their type (reduced-size encoding, RFC 7011 §6.2) or,
//! from some exporters, more; a value that does not fit its field is
//! ignored, as are addresses and MACs of the wrong length.

use super::Header;
use super::template::{Field, Template, VARIABLE_LENGTH};
use crate::record::FlowRecord;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Seconds from the NTP era (1900) to the Unix epoch.
const NTP_UNIX_OFFSET: i64 = 2_208_988_800;
const NS_PER_MS: i64 = 1_000_000;

/// Sampling parameters of one record (flow or options).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Sampling {
    /// IE 34 samplingInterval (v9 SAMPLING_INTERVAL).
    interval: Option<u32>,
    /// IE 50 samplerRandomInterval (v9 FLOW_SAMPLER_RANDOM_INTERVAL).
    random_interval: Option<u32>,
    /// IE 305/306 samplingPacketInterval / samplingPacketSpace.
    packet_interval: Option<u32>,
    packet_space: Option<u32>,
    /// IE 309/310 samplingSize / samplingPopulation.
    size: Option<u32>,
    population: Option<u32>,
    /// IE 48 samplerId (v9 FLOW_SAMPLER_ID) or IE 302 selectorId.
    pub selector: Option<u64>,
}

impl Sampling {
    /// 1 in how many packets, when the record says.
    pub(super) fn rate(&self) -> Option<u32> {
        if let Some(i) = self.interval.or(self.random_interval) {
            return Some(i);
        }
        if let (Some(n), Some(big_n)) = (self.size, self.population)
            && n > 0
        {
            return Some(big_n / n);
        }
        match self.packet_interval {
            Some(i) if i > 0 => {
                let space = u64::from(self.packet_space.unwrap_or(0));
                u32::try_from((u64::from(i) + space) / u64::from(i)).ok()
            }
            _ => None,
        }
    }
}

/// A record being assembled.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Acc {
    pub rec: FlowRecord,
    packets_total: Option<u64>,
    bytes_total: Option<u64>,
    vlan_dot1q: Option<u16>,
    post_src_mac: Option<[u8; 6]>,
    post_dst_mac: Option<[u8; 6]>,
    first_up: Option<u32>,
    last_up: Option<u32>,
    first_abs: Option<i64>,
    last_abs: Option<i64>,
    first_delta_us: Option<u32>,
    last_delta_us: Option<u32>,
    /// IE 160 systemInitTimeMilliseconds.
    pub init_ms: Option<u64>,
    pub sampling: Sampling,
}

fn uint(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    Some(v.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
}

fn set<T>(slot: &mut Option<T>, v: Option<T>) {
    if slot.is_none() {
        *slot = v;
    }
}

/// Addresses: the first wins, except that an unspecified one (0.0.0.0,
/// ::) gives way to a specified one (templates with both IE 8 and 27, one
/// of them zero).
fn set_addr(slot: &mut Option<IpAddr>, v: Option<IpAddr>) {
    if slot.is_none_or(|a| a.is_unspecified()) && v.is_some_and(|a| !a.is_unspecified() || slot.is_none()) {
        *slot = v;
    }
}

fn num<T: TryFrom<u64>>(v: &[u8]) -> Option<T> {
    uint(v).and_then(|x| T::try_from(x).ok())
}

fn v4(v: &[u8]) -> Option<IpAddr> {
    <[u8; 4]>::try_from(v).ok().map(|a| IpAddr::V4(Ipv4Addr::from(a)))
}

fn v6(v: &[u8]) -> Option<IpAddr> {
    <[u8; 16]>::try_from(v).ok().map(|a| IpAddr::V6(Ipv6Addr::from(a)))
}

fn mac(v: &[u8]) -> Option<[u8; 6]> {
    <[u8; 6]>::try_from(v).ok()
}

/// dateTimeMicroseconds / dateTimeNanoseconds: NTP seconds and fraction.
fn ntp(v: &[u8]) -> Option<i64> {
    let x = u64::from_be_bytes(<[u8; 8]>::try_from(v).ok()?);
    let secs = (x >> 32) as i64 - NTP_UNIX_OFFSET;
    let frac_ns = ((x & 0xffff_ffff) * 1_000_000_000) >> 32;
    Some(secs * 1_000_000_000 + frac_ns as i64)
}

impl Acc {
    /// Applies one field's value. `v9` selects the v9 reading of scope
    /// fields (system, interface, ... rather than IEs) and of the NSEL
    /// elements above 32767.
    pub(super) fn apply(&mut self, f: &Field, v: &[u8], v9: bool) {
        if f.pen != 0 && !v.is_empty() && v.len() <= 8 {
            // Small enterprise elements are kept as `pen:id` numbers.
            if let (Some(slot), Some(value)) = (self.rec.enterprise.iter_mut().find(|e| e.is_none()), uint(v)) {
                *slot = Some(crate::record::EnterpriseValue { pen: f.pen, id: f.id, value });
            }
            return;
        }
        if f.pen != 0 || (v9 && f.scope) || v.is_empty() {
            return;
        }
        let r = &mut self.rec;
        match f.id {
            1 => set(&mut r.bytes, uint(v)),
            2 => set(&mut r.packets, uint(v)),
            85 => set(&mut self.bytes_total, uint(v)),
            86 => set(&mut self.packets_total, uint(v)),
            4 => set(&mut r.protocol, num(v)),
            5 => set(&mut r.tos, num(v)),
            6 => set(&mut r.tcp_flags, num(v)),
            7 => set(&mut r.src_port, num(v)),
            11 => set(&mut r.dst_port, num(v)),
            8 => set_addr(&mut r.src, v4(v)),
            12 => set_addr(&mut r.dst, v4(v)),
            27 => set_addr(&mut r.src, v6(v)),
            28 => set_addr(&mut r.dst, v6(v)),
            9 | 29 => set(&mut r.src_mask, num(v)),
            13 | 30 => set(&mut r.dst_mask, num(v)),
            10 => set(&mut r.in_if, num(v)),
            14 => set(&mut r.out_if, num(v)),
            15 => set_addr(&mut r.next_hop, v4(v)),
            62 => set_addr(&mut r.next_hop, v6(v)),
            18 => set_addr(&mut r.bgp_next_hop, v4(v)),
            63 => set_addr(&mut r.bgp_next_hop, v6(v)),
            16 => set(&mut r.src_as, num(v)),
            17 => set(&mut r.dst_as, num(v)),
            58 => set(&mut r.vlan, num(v)),
            243 => set(&mut self.vlan_dot1q, num(v)),
            61 => set(&mut r.direction, num(v)),
            56 => set(&mut r.src_mac, mac(v)),
            80 => set(&mut r.dst_mac, mac(v)),
            81 => set(&mut self.post_src_mac, mac(v)),
            57 => set(&mut self.post_dst_mac, mac(v)),
            225 => set_addr(&mut r.nat_src, v4(v)),
            226 => set_addr(&mut r.nat_dst, v4(v)),
            281 => set_addr(&mut r.nat_src, v6(v)),
            282 => set_addr(&mut r.nat_dst, v6(v)),
            227 => set(&mut r.nat_src_port, num(v)),
            228 => set(&mut r.nat_dst_port, num(v)),
            // Cisco ASA NSEL v9: NF_F_XLATE_SRC/DST_ADDR_IPV4, _PORT.
            40001 if v9 => set_addr(&mut r.nat_src, v4(v)),
            40002 if v9 => set_addr(&mut r.nat_dst, v4(v)),
            40003 if v9 => set(&mut r.nat_src_port, num(v)),
            40004 if v9 => set(&mut r.nat_dst_port, num(v)),
            21 => set(&mut self.last_up, num(v)),
            22 => set(&mut self.first_up, num(v)),
            150 => set(&mut self.first_abs, num::<u32>(v).map(|s| i64::from(s) * 1_000_000_000)),
            151 => set(&mut self.last_abs, num::<u32>(v).map(|s| i64::from(s) * 1_000_000_000)),
            152 => set(&mut self.first_abs, ms_to_ns(v)),
            153 => set(&mut self.last_abs, ms_to_ns(v)),
            154 | 156 => set(&mut self.first_abs, ntp(v)),
            155 | 157 => set(&mut self.last_abs, ntp(v)),
            158 => set(&mut self.first_delta_us, num(v)),
            159 => set(&mut self.last_delta_us, num(v)),
            160 => set(&mut self.init_ms, uint(v)),
            34 => set(&mut self.sampling.interval, num(v)),
            50 => set(&mut self.sampling.random_interval, num(v)),
            305 => set(&mut self.sampling.packet_interval, num(v)),
            306 => set(&mut self.sampling.packet_space, num(v)),
            309 => set(&mut self.sampling.size, num(v)),
            310 => set(&mut self.sampling.population, num(v)),
            48 | 302 => set(&mut self.sampling.selector, uint(v)),
            _ => {}
        }
    }

    /// The record with totals, fallbacks and times resolved. `init_ms` is
    /// the exporter's systemInitTimeMilliseconds from an earlier options
    /// record (IPFIX); `rate` the sampling rate that applies when the record
    /// itself carries none.
    pub(super) fn finish(self, h: &Header, init_ms: Option<u64>, rate: Option<u32>) -> FlowRecord {
        let mut r = self.rec;
        r.packets = r.packets.or(self.packets_total);
        r.bytes = r.bytes.or(self.bytes_total);
        r.vlan = r.vlan.or(self.vlan_dot1q);
        r.src_mac = r.src_mac.or(self.post_src_mac);
        r.dst_mac = r.dst_mac.or(self.post_dst_mac);
        r.first_uptime_ms = self.first_up.map(u64::from);
        r.last_uptime_ms = self.last_up.map(u64::from);
        let export_ns = h.export_ns();
        let init = self.init_ms.or(init_ms).and_then(|i| i64::try_from(i).ok());
        let from_uptime = |up: u32| -> Option<i64> {
            if h.version == 10 {
                // flowStart/EndSysUpTime count from systemInitTimeMilliseconds.
                init.and_then(|i| i.checked_add(i64::from(up))).and_then(|ms| ms.checked_mul(NS_PER_MS))
            } else {
                // Milliseconds before the header's sysUpTime; a value a little
                // past it (clock skew) or across a 32-bit wrap is read as signed.
                let back = h.sys_uptime_ms?.wrapping_sub(up) as i32;
                Some(export_ns - i64::from(back) * NS_PER_MS)
            }
        };
        let from_delta = |us: u32| export_ns - i64::from(us) * 1_000;
        r.first_ns = self.first_abs.or(self.first_delta_us.map(from_delta)).or(self.first_up.and_then(from_uptime));
        r.last_ns = self.last_abs.or(self.last_delta_us.map(from_delta)).or(self.last_up.and_then(from_uptime));
        r.sampling_interval = self.sampling.rate().or(rate);
        r
    }
}

fn ms_to_ns(v: &[u8]) -> Option<i64> {
    uint(v).and_then(|ms| i64::try_from(ms).ok()).and_then(|ms| ms.checked_mul(NS_PER_MS))
}

/// Reads one record of `tpl` from the start of `data`: the assembled
/// fields and the octets used, or None when it runs past `data`.
pub(super) fn read_record(tpl: &Template, data: &[u8], v9: bool) -> Option<(Acc, usize)> {
    let mut acc = Acc::default();
    let mut at = 0usize;
    for f in tpl.fields.iter() {
        let len = if f.len == VARIABLE_LENGTH {
            let first = *data.get(at)?;
            at += 1;
            if first < 255 {
                usize::from(first)
            } else {
                let l = usize::from(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]));
                at += 2;
                l
            }
        } else {
            usize::from(f.len)
        };
        let v = data.get(at..at.checked_add(len)?)?;
        acc.apply(f, v, v9);
        at += len;
    }
    Some((acc, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(version: u16) -> Header {
        Header {
            version,
            count: 0,
            domain: 0,
            sequence: 0,
            export_secs: 1_000_000,
            export_nanos: 0,
            sys_uptime_ms: (version != 10).then_some(10_000),
        }
    }

    #[test]
    fn sampling_rates() {
        let s = Sampling { size: Some(1), population: Some(256), packet_interval: Some(1), ..Default::default() };
        assert_eq!(s.rate(), Some(256));
        let s = Sampling { packet_interval: Some(1), packet_space: Some(99), ..Default::default() };
        assert_eq!(s.rate(), Some(100));
        let s = Sampling { interval: Some(1000), size: Some(1), population: Some(2), ..Default::default() };
        assert_eq!(s.rate(), Some(1000));
        assert_eq!(Sampling::default().rate(), None);
        assert_eq!(Sampling { packet_interval: Some(0), ..Default::default() }.rate(), None);
    }

    #[test]
    fn uptime_times_v9_and_ipfix() {
        let mut a = Acc::default();
        a.apply(&Field { id: 22, len: 4, pen: 0, scope: false }, &4_000u32.to_be_bytes(), true);
        a.apply(&Field { id: 21, len: 4, pen: 0, scope: false }, &12_000u32.to_be_bytes(), true);
        let r = a.finish(&hdr(9), None, None);
        assert_eq!(r.first_ns, Some(1_000_000 * 1_000_000_000 - 6_000 * NS_PER_MS));
        assert_eq!(r.last_ns, Some(1_000_000 * 1_000_000_000 + 2_000 * NS_PER_MS), "a little past sysUpTime");
        assert_eq!(r.first_uptime_ms, Some(4_000));
        // Wrapped: the flow began before sysUpTime last wrapped.
        let mut a = Acc::default();
        a.apply(&Field { id: 22, len: 4, pen: 0, scope: false }, &u32::MAX.to_be_bytes(), true);
        let r = a.finish(&hdr(9), None, None);
        assert_eq!(r.first_ns, Some(1_000_000 * 1_000_000_000 - 10_001 * NS_PER_MS));
        // IPFIX: only with systemInitTimeMilliseconds.
        let r = a.finish(&hdr(10), None, None);
        assert_eq!((r.first_ns, r.first_uptime_ms), (None, Some(u64::from(u32::MAX))));
        let r = a.finish(&hdr(10), Some(5_000), None);
        assert_eq!(r.first_ns, Some((5_000 + i64::from(u32::MAX)) * NS_PER_MS));
    }

    #[test]
    fn absolute_times() {
        let mut a = Acc::default();
        // 2016-11-11 in NTP seconds, fraction one half.
        let ntp_secs = (1_478_866_159u64 + 2_208_988_800) << 32 | 0x8000_0000;
        a.apply(&Field { id: 154, len: 8, pen: 0, scope: false }, &ntp_secs.to_be_bytes(), false);
        a.apply(&Field { id: 153, len: 8, pen: 0, scope: false }, &1_478_866_160_250u64.to_be_bytes(), false);
        a.apply(&Field { id: 158, len: 4, pen: 0, scope: false }, &5u32.to_be_bytes(), false);
        let r = a.finish(&hdr(10), None, None);
        assert_eq!(r.first_ns, Some(1_478_866_159_500_000_000), "154 wins over the 158 that follows");
        assert_eq!(r.last_ns, Some(1_478_866_160_250_000_000));
    }

    #[test]
    fn first_occurrence_wins_and_fallbacks() {
        let mut a = Acc::default();
        let f = |id, len| Field { id, len, pen: 0, scope: false };
        a.apply(&f(8, 4), &[10, 0, 0, 1], false);
        a.apply(&f(8, 4), &[10, 0, 0, 2], false);
        a.apply(&f(86, 4), &[0, 0, 0, 7], false);
        a.apply(&f(243, 2), &[0, 42], false);
        a.apply(&f(4, 2), &[1, 6], false); // does not fit u8: ignored
        a.apply(&Field { id: 1, len: 4, pen: 9, scope: false }, &[0, 0, 0, 1], false);
        let r = a.finish(&hdr(10), None, Some(10));
        assert_eq!(r.src, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        assert_eq!((r.packets, r.bytes, r.vlan, r.protocol), (Some(7), None, Some(42), None));
        assert_eq!(r.sampling_interval, Some(10));
        // The enterprise element is not IE 1 (octets): it is kept as 9:1.
        assert_eq!(r.enterprise[0], Some(crate::record::EnterpriseValue { pen: 9, id: 1, value: 1 }));
        assert_eq!(r.enterprise[1], None);
    }

    #[test]
    fn only_small_enterprise_elements_are_kept_and_at_most_four() {
        let mut a = Acc::default();
        for id in 0..6u16 {
            a.apply(&Field { id, len: 2, pen: 29305, scope: false }, &id.to_be_bytes(), false);
        }
        a.apply(&Field { id: 99, len: 9, pen: 29305, scope: false }, &[1; 9], false);
        let r = a.finish(&hdr(10), None, None);
        let ids: Vec<u16> = r.enterprise.iter().flatten().map(|e| e.id).collect();
        assert_eq!(ids, [0, 1, 2, 3]);
    }

    #[test]
    fn variable_length_fields() {
        let fields = [
            Field { id: 82, len: VARIABLE_LENGTH, pen: 0, scope: false },
            Field { id: 83, len: VARIABLE_LENGTH, pen: 0, scope: false },
            Field { id: 4, len: 1, pen: 0, scope: false },
        ];
        let tpl = Template::new(&fields, false).unwrap();
        let mut data = vec![2, b'a', b'b', 255, 0, 3, b'x', b'y', b'z', 17];
        let (acc, used) = read_record(&tpl, &data, false).unwrap();
        assert_eq!((used, acc.rec.protocol), (10, Some(17)));
        data.truncate(9);
        assert!(read_record(&tpl, &data, false).is_none());
        assert!(read_record(&tpl, &[255, 0], false).is_none());
    }
}
