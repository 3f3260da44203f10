//! Dropping root after the rings are open (open sockets keep working without CAP_NET_RAW).

use std::ffi::{CString, c_char};
use std::io;
use std::mem::MaybeUninit;

use crate::CaptureError;

/// Largest getpwnam_r buffer we try before giving up (entries are normally < 1 KiB).
const MAX_PW_BUF: usize = 1 << 20;

/// Switches the whole process to `user` and its primary group: supplementary groups become just
/// that group, then setgid, then setuid (in that order: after setuid we could not change groups).
/// Fails if the user is unknown, if any step fails, or if root could be regained afterwards.
pub fn drop_privileges(user: &str) -> Result<(), CaptureError> {
    let (uid, gid) = lookup_user(user)?;
    let fail =
        |op: &'static str| CaptureError::DropPrivileges { user: user.to_owned(), op, os: io::Error::last_os_error() };
    // glibc applies set*id/setgroups to every thread of the process, not just the caller.
    // SAFETY: one gid read from a live local, count 1.
    if unsafe { libc::setgroups(1, &gid) } != 0 {
        return Err(fail("setgroups"));
    }
    // SAFETY: plain syscall on integer arguments.
    if unsafe { libc::setgid(gid) } != 0 {
        return Err(fail("setgid"));
    }
    // SAFETY: plain syscall on integer arguments.
    if unsafe { libc::setuid(uid) } != 0 {
        return Err(fail("setuid"));
    }
    // SAFETY: plain syscall; succeeding here would mean the drop did not stick.
    if uid != 0 && unsafe { libc::setuid(0) } == 0 {
        return Err(CaptureError::DropPrivileges {
            user: user.to_owned(),
            op: "setuid (root could be regained)",
            os: io::Error::from_raw_os_error(libc::EPERM),
        });
    }
    Ok(())
}

/// uid and gid of `user` via getpwnam_r (thread safe), growing the buffer on ERANGE.
pub(crate) fn lookup_user(user: &str) -> Result<(libc::uid_t, libc::gid_t), CaptureError> {
    let unknown = || CaptureError::UnknownUser { user: user.to_owned() };
    let cname = CString::new(user).map_err(|_| unknown())?;
    let mut buf: Vec<c_char> = vec![0; 1024];
    loop {
        let mut pwd = MaybeUninit::<libc::passwd>::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: the name is NUL-terminated, `pwd` and
        // `result` are writable locals, and `buf` is writable for `buf.len()` bytes.
        let rc =
            unsafe { libc::getpwnam_r(cname.as_ptr(), pwd.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < MAX_PW_BUF {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(CaptureError::DropPrivileges {
                user: user.to_owned(),
                op: "getpwnam_r",
                os: io::Error::from_raw_os_error(rc),
            });
        }
        if result.is_null() {
            return Err(unknown());
        }
        // SAFETY: on success with a non-null result, getpwnam_r filled `pwd`; we only read the
        // two integer fields (the string pointers into `buf` are not kept).
        let pwd = unsafe { pwd.assume_init() };
        return Ok((pwd.pw_uid, pwd.pw_gid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_root_and_rejects_unknown() {
        assert_eq!(lookup_user("root").unwrap(), (0, 0));
        let e = drop_privileges("sdn-no-such-user-xyz").unwrap_err();
        assert!(matches!(e, CaptureError::UnknownUser { .. }), "{e}");
        assert!(e.to_string().contains("unknown user \"sdn-no-such-user-xyz\""), "{e}");
        assert!(matches!(drop_privileges("bad\0name"), Err(CaptureError::UnknownUser { .. })));
    }
}
