//! Capture errors: each says what failed, on which interface, and what to do about it.
//!
//! The OS error is part of the message (not a `source()`), so `{:#}` chains print it once.

use std::io;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    #[error("capture on {interface:?}: invalid configuration: {reason}")]
    InvalidConfig { interface: String, reason: String },

    #[error("no such interface {interface} (list them with `ip link`; names are per network namespace)")]
    NoSuchInterface { interface: String },

    #[error(
        "capture on {interface}: {op} failed: {os}; needs CAP_NET_RAW (run as root or \
         setcap cap_net_raw,cap_net_admin+ep on the binary)"
    )]
    PermissionDenied { interface: String, op: &'static str, os: io::Error },

    #[error(
        "capture on {interface}: cannot allocate the ring ({block_count} blocks of {block_size} bytes): {os}; \
         lower ring_bytes or free memory"
    )]
    RingAlloc { interface: String, block_size: usize, block_count: usize, os: io::Error },

    #[error(
        "capture on {interface}: cannot join fanout group {group_id} ({mode}): {os}; the group already exists \
         in this network namespace with another mode or interface, pick another group_id"
    )]
    Fanout { interface: String, group_id: u16, mode: &'static str, os: io::Error },

    #[error(
        "capture on {interface}: the interface is down (ENETDOWN); bring it up (`ip link set {interface} up`), \
         capture resumes then"
    )]
    InterfaceDown { interface: String },

    #[error("capture on {interface}: {op} failed: {os}")]
    Os { interface: String, op: &'static str, os: io::Error },

    #[error("drop privileges: unknown user {user:?} (create it, or name an existing user)")]
    UnknownUser { user: String },

    #[error("drop privileges to {user:?}: {op} failed: {os} (switching user needs root, i.e. CAP_SETUID/CAP_SETGID)")]
    DropPrivileges { user: String, op: &'static str, os: io::Error },
}

impl CaptureError {
    /// Maps an errno from socket setup: EPERM/EACCES get the capability hint, ENODEV/ENXIO the
    /// missing-interface one, anything else is reported as is.
    pub(crate) fn from_os(interface: &str, op: &'static str, os: io::Error) -> CaptureError {
        let interface = interface.to_owned();
        match os.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => CaptureError::PermissionDenied { interface, op, os },
            Some(libc::ENODEV | libc::ENXIO) => CaptureError::NoSuchInterface { interface },
            Some(libc::ENETDOWN) => CaptureError::InterfaceDown { interface },
            _ => CaptureError::Os { interface, op, os },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_interface_and_fix() {
        let e = CaptureError::from_os("eth9", "socket(AF_PACKET)", io::Error::from_raw_os_error(libc::EPERM));
        let msg = e.to_string();
        assert!(msg.contains("eth9") && msg.contains("CAP_NET_RAW") && msg.contains("setcap"), "{msg}");
        let e = CaptureError::from_os("eth9", "bind", io::Error::from_raw_os_error(libc::ENODEV));
        assert_eq!(e.to_string(), "no such interface eth9 (list them with `ip link`; names are per network namespace)");
        let e = CaptureError::from_os("eth9", "poll", io::Error::from_raw_os_error(libc::EIO));
        assert!(e.to_string().starts_with("capture on eth9: poll failed: "), "{e}");
    }
}
