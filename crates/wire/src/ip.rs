//! IP protocol numbers shared by IPv4 and IPv6.

pub mod protocol {
    pub const HOPOPT: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const GRE: u8 = 47;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const NO_NEXT: u8 = 59;
    pub const DSTOPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
    pub const SCTP: u8 = 132;

    /// Lower-case name for the protocols we name in events.
    pub const fn name(p: u8) -> Option<&'static str> {
        match p {
            ICMP => Some("icmp"),
            TCP => Some("tcp"),
            UDP => Some("udp"),
            GRE => Some("gre"),
            ESP => Some("esp"),
            AH => Some("ah"),
            ICMPV6 => Some("icmpv6"),
            SCTP => Some("sctp"),
            IPIP => Some("ipip"),
            IPV6 => Some("ipv6"),
            _ => None,
        }
    }
}
