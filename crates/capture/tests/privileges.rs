//! drop_privileges for real, in a child process (the test binary re-run with one test selected),
//! so the other tests keep running as root.

use std::process::Command;

use capture::{CaptureError, Ring, RingConfig, drop_privileges};

const CHILD_ENV: &str = "SDN_CAPTURE_DROP_CHILD";

#[test]
fn drop_to_nobody_in_child() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping drop_to_nobody_in_child: needs root");
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_drops_privileges", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("{text}");
    assert!(out.status.success(), "child failed");
    assert!(text.contains("child: dropped to nobody"), "child test did not run");
}

/// Does the work when started by `drop_to_nobody_in_child`; a no-op otherwise.
#[test]
fn child_drops_privileges() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    // Opened as root: must keep working after the drop.
    let mut ring =
        Ring::open(&RingConfig { promiscuous: false, ring_bytes: 1 << 20, ..RingConfig::new("lo") }).unwrap();
    drop_privileges("nobody").unwrap();
    // SAFETY: plain id getters without preconditions.
    let ids = unsafe { (libc::getuid(), libc::geteuid(), libc::getgid(), libc::getegid()) };
    assert_eq!(ids, (65534, 65534, 65534, 65534));
    let mut groups = [0 as libc::gid_t; 8];
    // SAFETY: `groups` is writable for 8 entries.
    let n = unsafe { libc::getgroups(8, groups.as_mut_ptr()) };
    assert_eq!(&groups[..n as usize], &[65534]);
    ring.kernel_stats().unwrap();

    let e = Ring::open(&RingConfig::new("lo")).unwrap_err();
    assert!(matches!(e, CaptureError::PermissionDenied { .. }), "{e}");
    assert!(e.to_string().contains("CAP_NET_RAW"), "{e}");
    let e = drop_privileges("root").unwrap_err();
    assert!(matches!(e, CaptureError::DropPrivileges { .. }), "{e}");
    println!(
        "child: dropped to nobody; new socket refused: {e0}",
        e0 = Ring::open(&RingConfig::new("lo")).unwrap_err()
    );
}
