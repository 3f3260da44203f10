//! Per-packet copies of what hits point at. Application messages may live
//! in reassembly buffers that change on the next packet, so the text of a
//! matched value and the message behind it are copied here, once per hit,
//! into one buffer reused from packet to packet.

use crate::app::Carrier;
use core::net::IpAddr;

/// A range of the scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    start: u32,
    len: u32,
}

/// What was observed: an address, or text held in the scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitValue {
    Ip(IpAddr),
    Text(Span),
}

/// The application message a hit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppRef {
    /// The packet's own headers.
    None,
    /// A whole DNS message.
    Dns {
        message: Span,
        carrier: Carrier,
    },
    Http {
        method: Span,
        host: Span,
        target: Span,
        user_agent: Span,
        carrier: Carrier,
    },
    Tls {
        sni: Span,
        version: u16,
        carrier: Carrier,
    },
    Smtp {
        field: &'static str,
        carrier: Carrier,
    },
    /// A flow record (NetFlow, IPFIX or an sFlow sample), by its index in
    /// the scratch's flow list.
    Flow {
        index: u32,
    },
    /// A syslog message (copied whole) and the token that matched in it.
    Syslog {
        message: Span,
        token_offset: u32,
        token_len: u32,
        peer: IpAddr,
    },
}

impl AppRef {
    pub fn carrier(&self) -> Option<&Carrier> {
        match self {
            AppRef::None => None,
            AppRef::Dns { carrier, .. }
            | AppRef::Http { carrier, .. }
            | AppRef::Tls { carrier, .. }
            | AppRef::Smtp { carrier, .. } => Some(carrier),
            AppRef::Flow { .. } | AppRef::Syslog { .. } => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct Scratch {
    buf: Vec<u8>,
    flows: Vec<(flow::FlowContext, flow::FlowRecord)>,
}

impl Scratch {
    pub fn clear(&mut self) {
        self.buf.clear();
        self.flows.clear();
    }

    /// Keeps a flow record a hit refers to.
    pub fn push_flow(&mut self, ctx: &flow::FlowContext, rec: &flow::FlowRecord) -> AppRef {
        self.flows.push((*ctx, *rec));
        AppRef::Flow { index: (self.flows.len() - 1) as u32 }
    }

    pub fn flow(&self, index: u32) -> Option<&(flow::FlowContext, flow::FlowRecord)> {
        self.flows.get(index as usize)
    }

    pub fn push(&mut self, bytes: &[u8]) -> Span {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(bytes);
        Span { start, len: bytes.len() as u32 }
    }

    pub fn bytes(&self, s: Span) -> &[u8] {
        self.buf.get(s.start as usize..(s.start + s.len) as usize).unwrap_or_default()
    }

    /// Text spans hold what the parsers produced; non-UTF-8 octets (rare:
    /// raw header bytes) are shown as an empty string rather than lost in
    /// a panic.
    pub fn text(&self, s: Span) -> &str {
        core::str::from_utf8(self.bytes(s)).unwrap_or_default()
    }
}
