//! Whole-frame decoding: link layer to transport, into a flat summary.

use crate::error::{DecodeError, Layer};
use crate::ethernet::{self, ethertype};
use crate::ip::protocol;
use crate::link::LinkType;
use crate::tunnel::{self, GreInner};
use crate::{icmp, ipv4, ipv6, mpls, null, sll, tcp, udp};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// VLAN ids kept per frame; deeper tags are walked and counted but not kept.
pub const MAX_VLANS: usize = 8;
/// Tags / labels walked before a frame is reported as too deep.
pub const MAX_STACK: usize = 32;
/// Encapsulations looked through before a frame is reported as too deep.
pub const MAX_TUNNELS: u8 = 4;

/// Fragmentation state of the IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fragment {
    #[default]
    None,
    /// Offset 0 with more fragments to come: the transport header is here.
    First,
    /// Offset > 0: no transport header, not decoded further.
    NonFirst,
}

/// The transport header, when decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    #[default]
    None,
    Tcp {
        src_port: u16,
        dst_port: u16,
        flags: u8,
        seq: u32,
    },
    Udp {
        src_port: u16,
        dst_port: u16,
    },
    Icmp {
        icmp_type: u8,
        code: u8,
    },
    Icmpv6 {
        icmp_type: u8,
        code: u8,
    },
    /// A TCP/UDP header cut short after its ports (as tcpdump, we keep them).
    PortsOnly {
        protocol: u8,
        src_port: u16,
        dst_port: u16,
    },
}

impl Transport {
    pub fn ports(&self) -> Option<(u16, u16)> {
        match *self {
            Transport::Tcp { src_port, dst_port, .. }
            | Transport::Udp { src_port, dst_port }
            | Transport::PortsOnly { src_port, dst_port, .. } => Some((src_port, dst_port)),
            _ => None,
        }
    }
}

/// The network-layer summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHeader {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Upper-layer protocol (after IPv6 extension headers).
    pub protocol: u8,
    pub ttl: u8,
    pub fragment: Fragment,
    /// Identification, offset (bytes) and more-fragments flag of a
    /// fragment (IPv4 flags/offset or the IPv6 fragment header).
    pub frag: Option<FragmentInfo>,
}

/// Where a fragment belongs, for reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentInfo {
    pub ident: u32,
    pub offset: u32,
    pub more: bool,
}

/// A frame decoded as far as it goes. When `error` is set, everything decoded
/// before the damaged layer is still valid (a truncated TCP header leaves the
/// IP addresses usable).
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    pub link: LinkType,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    vlans: [u16; MAX_VLANS],
    /// Number of VLAN tags walked (may exceed MAX_VLANS).
    pub vlan_depth: u8,
    pub mpls_labels: u8,
    /// The innermost ethertype (or equivalent), when there is one.
    pub ethertype: Option<u16>,
    /// The innermost IP header.
    pub ip: Option<IpHeader>,
    /// The outermost IP header, when tunnels were looked through.
    pub outer: Option<IpHeader>,
    /// The outermost encapsulation removed, and how many were.
    pub tunnel: Option<tunnel::Kind>,
    pub tunnel_depth: u8,
    pub transport: Transport,
    /// The transport payload (or the IP payload when the transport is not
    /// decoded), as captured.
    pub payload: &'a [u8],
    /// The innermost IP payload (after IPv6 extension headers): what a
    /// fragment contributes to its datagram.
    pub ip_payload: &'a [u8],
    pub error: Option<DecodeError>,
}

impl<'a> Decoded<'a> {
    fn new(link: LinkType) -> Self {
        Decoded {
            link,
            src_mac: None,
            dst_mac: None,
            vlans: [0; MAX_VLANS],
            vlan_depth: 0,
            mpls_labels: 0,
            ethertype: None,
            ip: None,
            outer: None,
            tunnel: None,
            tunnel_depth: 0,
            transport: Transport::None,
            payload: &[],
            ip_payload: &[],
            error: None,
        }
    }

    /// VLAN ids, outermost first (at most MAX_VLANS).
    pub fn vlans(&self) -> &[u16] {
        &self.vlans[..(self.vlan_depth as usize).min(MAX_VLANS)]
    }

    fn fail(&mut self, e: DecodeError) {
        self.error = Some(e);
    }

    /// Moves the current IP header aside before decoding an encapsulated
    /// packet; false (with the error set) when the nesting is too deep.
    fn enter_tunnel(&mut self, kind: tunnel::Kind) -> bool {
        if self.tunnel_depth >= MAX_TUNNELS {
            self.error = Some(DecodeError::TooDeep(Layer::Tunnel));
            return false;
        }
        if self.outer.is_none() {
            self.outer = self.ip;
        }
        self.tunnel.get_or_insert(kind);
        self.tunnel_depth += 1;
        self.ip = None;
        self.transport = Transport::None;
        true
    }
}

/// Decodes one captured frame. Never panics; the first damaged layer is
/// reported in `error`.
pub fn decode(link: LinkType, frame: &[u8]) -> Decoded<'_> {
    // One value filled in place: moving it through every layer cost a
    // memcpy per call once the frame summary grew past 128 bytes.
    let mut decoded = Decoded::new(link);
    let d = &mut decoded;
    match link {
        LinkType::Ethernet => decode_ethernet(d, frame),
        LinkType::RawIp => decode_ip_by_nibble(d, frame),
        LinkType::Ipv4 => decode_ipv4(d, frame),
        LinkType::Ipv6 => decode_ipv6(d, frame),
        LinkType::Null => match null::parse_null(frame) {
            Ok((4, rest)) => decode_ipv4(d, rest),
            Ok((_, rest)) => decode_ipv6(d, rest),
            Err(e) => d.fail(e),
        },
        LinkType::Loop => match null::parse_loop(frame) {
            Ok((4, rest)) => decode_ipv4(d, rest),
            Ok((_, rest)) => decode_ipv6(d, rest),
            Err(e) => d.fail(e),
        },
        LinkType::LinuxSll | LinkType::LinuxSll2 => {
            let parsed = if link == LinkType::LinuxSll { sll::parse_sll(frame) } else { sll::parse_sll2(frame) };
            match parsed {
                Ok(c) => {
                    d.src_mac = c.src_mac;
                    decode_ethertype(d, c.protocol, c.payload, 0)
                }
                Err(e) => d.fail(e),
            }
        }
        LinkType::Fddi => decode_fddi(d, frame),
        LinkType::Other(n) => d.fail(DecodeError::UnsupportedLinkType(n)),
    }
    decoded
}

/// FDDI: frame control (1), destination and source addresses (6 + 6),
/// then 802.2 LLC; SNAP carries the ethertype. Other LLC is not IP.
fn decode_fddi<'a>(d: &mut Decoded<'a>, frame: &'a [u8]) {
    let Some((header, rest)) = frame.split_at_checked(13) else {
        return d.fail(DecodeError::Truncated(Layer::Fddi));
    };
    let mac = |at: usize| <[u8; 6]>::try_from(&header[at..at + 6]).ok();
    d.dst_mac = mac(1);
    d.src_mac = mac(7);
    if let Some((ethertype, payload)) = ethernet::llc_snap(rest) {
        decode_ethertype(d, ethertype, payload, 0);
    }
}

fn decode_ethernet<'a>(d: &mut Decoded<'a>, frame: &'a [u8]) {
    let eth = match ethernet::Frame::new_checked(frame) {
        Ok(e) => e,
        Err(e) => return d.fail(e),
    };
    d.src_mac = Some(eth.src());
    d.dst_mac = Some(eth.dst());
    decode_type_or_len(d, eth.type_or_len(), eth.payload(), 0)
}

/// An Ethernet type/length field: 802.3 lengths lead to LLC/SNAP.
fn decode_type_or_len<'a>(d: &mut Decoded<'a>, tl: u16, rest: &'a [u8], depth: usize) {
    if tl < 0x0600 {
        if let Some((t, payload)) = ethernet::llc_snap(rest) {
            decode_ethertype(d, t, payload, depth + 1);
        }
        return;
    }
    decode_ethertype(d, tl, rest, depth)
}

fn decode_ethertype<'a>(d: &mut Decoded<'a>, mut ty: u16, mut rest: &'a [u8], mut depth: usize) {
    loop {
        if depth >= MAX_STACK {
            return d.fail(DecodeError::TooDeep(Layer::Vlan));
        }
        depth += 1;
        if ethertype::is_vlan(ty) {
            let tag = match ethernet::VlanTag::new_checked(rest) {
                Ok(t) => t,
                Err(e) => return d.fail(e),
            };
            if (d.vlan_depth as usize) < MAX_VLANS {
                d.vlans[d.vlan_depth as usize] = tag.vid();
            }
            d.vlan_depth = d.vlan_depth.saturating_add(1);
            ty = tag.inner_type();
            rest = tag.payload();
            if ty < 0x0600 {
                return decode_type_or_len(d, ty, rest, depth);
            }
            continue;
        }
        d.ethertype = Some(ty);
        return match ty {
            ethertype::IPV4 => decode_ipv4(d, rest),
            ethertype::IPV6 => decode_ipv6(d, rest),
            ethertype::MPLS_UC | ethertype::MPLS_MC => decode_mpls(d, rest, depth),
            ethertype::PPPOE_SESSION => match ethernet::pppoe_session(rest) {
                Ok((Some(t), payload)) => decode_ethertype(d, t, payload, depth),
                Ok((None, _)) => {}
                Err(e) => d.fail(e),
            },
            _ => {}
        };
    }
}

fn decode_mpls<'a>(d: &mut Decoded<'a>, mut rest: &'a [u8], depth: usize) {
    loop {
        if d.mpls_labels as usize >= MAX_STACK {
            return d.fail(DecodeError::TooDeep(Layer::Mpls));
        }
        let entry = match mpls::LabelEntry::new_checked(rest) {
            Ok(e) => e,
            Err(e) => return d.fail(e),
        };
        d.mpls_labels += 1;
        rest = entry.payload();
        if entry.bottom_of_stack() {
            break;
        }
    }
    // MPLS does not say what it carries: guess from the first nibble, as
    // tcpdump and Wireshark do. 0 is a pseudowire control word before an
    // Ethernet frame (RFC 4448).
    match rest.first().map(|b| b >> 4) {
        Some(4) => decode_ipv4(d, rest),
        Some(6) => decode_ipv6(d, rest),
        Some(0) if rest.len() >= 4 => match ethernet::Frame::new_checked(&rest[4..]) {
            Ok(eth) => decode_type_or_len(d, eth.type_or_len(), eth.payload(), depth + 1),
            Err(e) => d.fail(e),
        },
        _ => {}
    }
}

fn decode_ip_by_nibble<'a>(d: &mut Decoded<'a>, buf: &'a [u8]) {
    match buf.first().map(|b| b >> 4) {
        Some(6) => decode_ipv6(d, buf),
        None => d.fail(DecodeError::Truncated(Layer::Ipv4)),
        _ => decode_ipv4(d, buf),
    }
}

fn decode_ipv4<'a>(d: &mut Decoded<'a>, buf: &'a [u8]) {
    let p = match ipv4::Packet::new_checked(buf) {
        Ok(p) => p,
        Err(e) => return d.fail(e),
    };
    let fragment = if p.frag_offset() != 0 {
        Fragment::NonFirst
    } else if p.more_frags() {
        Fragment::First
    } else {
        Fragment::None
    };
    d.ethertype.get_or_insert(ethertype::IPV4);
    d.ip = Some(IpHeader {
        src: IpAddr::V4(Ipv4Addr::from(p.src_u32())),
        dst: IpAddr::V4(Ipv4Addr::from(p.dst_u32())),
        protocol: p.protocol(),
        ttl: p.ttl(),
        fragment,
        frag: (fragment != Fragment::None).then(|| FragmentInfo {
            ident: u32::from(p.ident()),
            offset: u32::from(p.frag_offset()),
            more: p.more_frags(),
        }),
    });
    d.ip_payload = p.payload();
    if fragment == Fragment::NonFirst {
        d.payload = p.payload();
        return;
    }
    decode_transport(d, p.protocol(), p.payload(), false)
}

fn decode_ipv6<'a>(d: &mut Decoded<'a>, buf: &'a [u8]) {
    let p = match ipv6::Packet::new_checked(buf) {
        Ok(p) => p,
        Err(e) => return d.fail(e),
    };
    d.ethertype.get_or_insert(ethertype::IPV6);
    let mut ip = IpHeader {
        src: IpAddr::V6(Ipv6Addr::from(p.src_bytes())),
        dst: IpAddr::V6(Ipv6Addr::from(p.dst_bytes())),
        protocol: p.next_header(),
        ttl: p.hop_limit(),
        fragment: Fragment::None,
        frag: None,
    };
    let upper = match ipv6::walk_extensions(p.next_header(), p.payload()) {
        Ok(u) => u,
        Err(e) => {
            d.ip = Some(ip);
            return d.fail(e);
        }
    };
    ip.protocol = upper.protocol;
    ip.fragment = match upper.fragment {
        Some(f) if f.offset != 0 => Fragment::NonFirst,
        Some(f) if f.more => Fragment::First,
        _ => Fragment::None,
    };
    ip.frag = upper.fragment.filter(|_| ip.fragment != Fragment::None).map(|f| FragmentInfo {
        ident: f.ident,
        offset: u32::from(f.offset),
        more: f.more,
    });
    d.ip = Some(ip);
    d.ip_payload = upper.payload;
    if ip.fragment == Fragment::NonFirst {
        d.payload = upper.payload;
        return;
    }
    decode_transport(d, upper.protocol, upper.payload, true)
}

fn decode_transport<'a>(d: &mut Decoded<'a>, proto: u8, buf: &'a [u8], v6: bool) {
    d.payload = buf;
    match proto {
        protocol::IPIP | protocol::IPV6 => {
            if !d.enter_tunnel(tunnel::Kind::IpInIp) {
                return;
            }
            return if proto == protocol::IPIP { decode_ipv4(d, buf) } else { decode_ipv6(d, buf) };
        }
        protocol::GRE => return decode_gre(d, buf),
        _ => {}
    }
    let result = match proto {
        protocol::TCP => tcp::Segment::new_checked(buf).map(|s| {
            d.payload = s.payload();
            Transport::Tcp { src_port: s.src_port(), dst_port: s.dst_port(), flags: s.flags(), seq: s.seq() }
        }),
        protocol::UDP => match udp::Datagram::new_checked(buf) {
            Ok(u) if u.dst_port() == tunnel::VXLAN_PORT => {
                if let Ok(Some(inner)) = tunnel::parse_vxlan(u.payload()) {
                    if d.enter_tunnel(tunnel::Kind::Vxlan) {
                        decode_ethernet(d, inner);
                    }
                    return;
                }
                d.payload = u.payload();
                Ok(Transport::Udp { src_port: u.src_port(), dst_port: u.dst_port() })
            }
            Ok(u) => {
                d.payload = u.payload();
                Ok(Transport::Udp { src_port: u.src_port(), dst_port: u.dst_port() })
            }
            Err(e) => Err(e),
        },
        protocol::ICMP if !v6 => icmp::Message::new_checked(buf, Layer::Icmp).map(|m| {
            d.payload = m.payload();
            Transport::Icmp { icmp_type: m.msg_type(), code: m.code() }
        }),
        protocol::ICMPV6 if v6 => icmp::Message::new_checked(buf, Layer::Icmpv6).map(|m| {
            d.payload = m.payload();
            Transport::Icmpv6 { icmp_type: m.msg_type(), code: m.code() }
        }),
        _ => Ok(Transport::None),
    };
    match result {
        Ok(t) => d.transport = t,
        Err(e) => {
            if matches!(e, DecodeError::Truncated(_))
                && matches!(proto, protocol::TCP | protocol::UDP)
                && buf.len() >= 4
            {
                d.transport = Transport::PortsOnly {
                    protocol: proto,
                    src_port: u16::from_be_bytes([buf[0], buf[1]]),
                    dst_port: u16::from_be_bytes([buf[2], buf[3]]),
                };
            }
            d.fail(e)
        }
    }
}

fn decode_gre<'a>(d: &mut Decoded<'a>, buf: &'a [u8]) {
    let inner = match tunnel::parse_gre(buf) {
        Ok(inner) => inner,
        Err(e) => return d.fail(e),
    };
    match inner {
        GreInner::Ethertype(0x6558, frame) if d.enter_tunnel(tunnel::Kind::Gre) => decode_ethernet(d, frame),
        GreInner::Ethertype(t @ (ethertype::IPV4 | ethertype::IPV6 | ethertype::MPLS_UC), rest)
            if d.enter_tunnel(tunnel::Kind::Gre) =>
        {
            decode_ethertype(d, t, rest, 0)
        }
        GreInner::ErspanEthernet(frame) if d.enter_tunnel(tunnel::Kind::Erspan) => decode_ethernet(d, frame),
        _ => {}
    }
}
