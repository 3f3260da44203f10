//! pcap_chain filters: libpcap compiles, our cBPF machine evaluates.
//!
//! libpcap is opened at run time ([`Compiler::load`]) only when filters are
//! configured, so the binary links no system library. Each expression is
//! compiled once per link type into a classic BPF [`Program`], which the safe
//! interpreter in [`vm`] runs on every packet without FFI or allocation.
//! [`FilterSet`] bundles named expressions for the capture workers.

#![deny(unsafe_code)]

// The FFI to libpcap is the only unsafe code.
#[allow(unsafe_code)]
mod ffi;
mod filterset;
pub mod vm;

pub use ffi::{Compiler, Reference};
pub use filterset::{COMMON_LINKTYPES, DEFAULT_SNAPLEN, FilterSet, Unavailable};
pub use vm::{Insn, Program};

#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    /// No libpcap could be opened; the text says what dlopen reported.
    #[error(
        "libpcap is needed for pcap_chain filters; install Debian's libpcap0.8 (apt-get install libpcap0.8). Loader said: {0}"
    )]
    LibraryMissing(String),
    /// libpcap rejected the expression; `message` is libpcap's own text.
    #[error("cannot compile filter expression {expr:?} for link type {}: {message}", linktype_name(*.linktype))]
    Compile { expr: String, linktype: i32, message: String },
    /// A program failed validation (see [`Program::new`]).
    #[error("invalid BPF program: {0}")]
    Invalid(String),
    /// A named pcap_chain entry failed; wraps the reason.
    #[error("pcap_chain filter {name:?}: {source}")]
    Filter {
        name: String,
        #[source]
        source: Box<BpfError>,
    },
}

/// The DLT value libpcap's compiler expects for a capture file's link type
/// (`LINKTYPE_*`), as libpcap's `linktype_to_dlt` does when it opens a file:
/// the FCS bits of the pcap header's field are dropped, and the few old types
/// whose numbers differ are mapped; the rest pass through, so DLT numbers are
/// accepted too.
pub fn linktype_to_dlt(linktype: i32) -> i32 {
    match linktype & 0x03ff_ffff {
        100 => 11, // ATM_RFC1483
        101 => 12, // RAW (DLT_RAW is 12 on Linux)
        14 => 12,  // OpenBSD's DLT_RAW, found in its capture files
        102 => 15, // SLIP_BSDOS
        103 => 16, // PPP_BSDOS
        other => other,
    }
}

/// "EN10MB (1)" style names for messages.
pub fn linktype_name(linktype: i32) -> String {
    let name = match linktype {
        0 => "NULL",
        1 => "EN10MB",
        10 => "FDDI",
        12 | 101 => "RAW",
        108 => "LOOP",
        113 => "LINUX_SLL",
        228 => "IPV4",
        229 => "IPV6",
        276 => "LINUX_SLL2",
        _ => return linktype.to_string(),
    };
    format!("{name} ({linktype})")
}
