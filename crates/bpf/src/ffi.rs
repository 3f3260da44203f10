//! libpcap, opened at run time: the binary links no system library, and only
//! configurations with pcap_chain filters need libpcap installed. This is the
//! crate's only `unsafe` code.

use crate::{BpfError, Insn, Program};
use libloading::Library;
use std::ffi::{CStr, CString, c_char, c_int, c_long, c_uint, c_void};
use std::sync::{Arc, Mutex};

/// Tried in order: Debian/Ubuntu ship libpcap.so.0.8 (a symlink named .so.1
/// on some releases), other distributions .so.1; the bare name needs the
/// -dev package.
const SONAMES: [&str; 3] = ["libpcap.so.1", "libpcap.so.0.8", "libpcap.so"];

/// `PCAP_NETMASK_UNKNOWN`: `ip broadcast` then fails to compile, as in tcpdump
/// without an interface.
const NETMASK_UNKNOWN: u32 = 0xffff_ffff;

/// `struct bpf_program`.
#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    bf_insns: *mut Insn,
}

/// `struct pcap_pkthdr` (`struct timeval` is two `long`s on Linux).
#[repr(C)]
struct PktHdr {
    tv_sec: c_long,
    tv_usec: c_long,
    caplen: u32,
    len: u32,
}

type OpenDead = unsafe extern "C" fn(c_int, c_int) -> *mut c_void;
type Compile = unsafe extern "C" fn(*mut c_void, *mut BpfProgram, *const c_char, c_int, u32) -> c_int;
type GetErr = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type FreeCode = unsafe extern "C" fn(*mut BpfProgram);
type Close = unsafe extern "C" fn(*mut c_void);
type LibVersion = unsafe extern "C" fn() -> *const c_char;
type OfflineFilter = unsafe extern "C" fn(*const BpfProgram, *const PktHdr, *const u8) -> c_int;

struct Lib {
    open_dead: OpenDead,
    compile: Compile,
    geterr: GetErr,
    freecode: FreeCode,
    close: Close,
    offline_filter: OfflineFilter,
    /// Old libpcaps' compiler keeps global state (a yacc parser).
    lock: Mutex<()>,
    /// pcap_lib_version(), e.g. "libpcap version 1.10.3 (with TPACKET_V3)".
    version: String,
    /// Keeps the function pointers above valid; dropped last.
    _lib: Library,
    soname: &'static str,
}

/// Handle on the loaded libpcap; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Compiler {
    lib: Arc<Lib>,
}

impl std::fmt::Debug for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiler").field("library", &self.lib.soname).field("version", &self.lib.version).finish()
    }
}

impl Compiler {
    /// Opens libpcap (once per call; keep and clone the result).
    pub fn load() -> Result<Compiler, BpfError> {
        let mut errors = Vec::new();
        for soname in SONAMES {
            // SAFETY: loading libpcap runs only its (trivial) ELF constructors.
            match unsafe { Library::new(soname) } {
                Ok(lib) => return Self::bind(lib, soname),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(BpfError::LibraryMissing(errors.join("; ")))
    }

    fn bind(lib: Library, soname: &'static str) -> Result<Compiler, BpfError> {
        fn sym<T: Copy>(lib: &Library, soname: &str, name: &str) -> Result<T, BpfError> {
            // SAFETY: each `T` below is the C prototype of `name` from <pcap/pcap.h>; the copied
            // function pointer stays valid because `Lib` owns the library.
            unsafe { lib.get::<T>(name.as_bytes()) }
                .map(|s| *s)
                .map_err(|e| BpfError::LibraryMissing(format!("{soname} lacks {name}: {e}")))
        }
        let lib_version: LibVersion = sym(&lib, soname, "pcap_lib_version")?;
        // SAFETY: pcap_lib_version takes no arguments and returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(lib_version()) }.to_string_lossy().into_owned();
        Ok(Compiler {
            lib: Arc::new(Lib {
                open_dead: sym(&lib, soname, "pcap_open_dead")?,
                compile: sym(&lib, soname, "pcap_compile")?,
                geterr: sym(&lib, soname, "pcap_geterr")?,
                freecode: sym(&lib, soname, "pcap_freecode")?,
                close: sym(&lib, soname, "pcap_close")?,
                offline_filter: sym(&lib, soname, "pcap_offline_filter")?,
                lock: Mutex::new(()),
                version,
                _lib: lib,
                soname,
            }),
        })
    }

    /// Which file was loaded, e.g. "libpcap.so.0.8".
    pub fn library(&self) -> &'static str {
        self.lib.soname
    }

    /// libpcap's own version string, for the startup log.
    pub fn version(&self) -> &str {
        &self.lib.version
    }

    /// Compiles `expr` for captures of `linktype` (a capture file's LINKTYPE or
    /// a DLT number, 1 = Ethernet; see [`crate::linktype_to_dlt`]) with
    /// libpcap's optimizer, and validates the result.
    pub fn compile(&self, expr: &str, linktype: i32, snaplen: u32) -> Result<Program, BpfError> {
        let raw = self.compile_raw(expr, linktype, snaplen)?;
        Program::new(raw.insns().to_vec()).map_err(|e| BpfError::Compile {
            expr: expr.to_owned(),
            linktype,
            message: format!("libpcap's code is not usable here: {e}"),
        })
    }

    /// libpcap's own interpreter (`pcap_offline_filter`) on a freshly compiled
    /// `expr`: the oracle for differential tests.
    pub fn reference(&self, expr: &str, linktype: i32, snaplen: u32) -> Result<Reference, BpfError> {
        self.compile_raw(expr, linktype, snaplen).map(Reference)
    }

    /// One-shot form of [`Compiler::reference`] (compiles on every call).
    pub fn reference_matches(
        &self,
        expr: &str,
        linktype: i32,
        snaplen: u32,
        packet: &[u8],
        wire_len: u32,
    ) -> Result<bool, BpfError> {
        Ok(self.reference(expr, linktype, snaplen)?.run(packet, wire_len) != 0)
    }

    /// libpcap's interpreter on any validated program (ours or libpcap's).
    pub fn reference_run(&self, program: &Program, packet: &[u8], wire_len: u32) -> u32 {
        let prog =
            BpfProgram { bf_len: program.insns().len() as c_uint, bf_insns: program.insns().as_ptr() as *mut Insn };
        offline_filter(&self.lib, &prog, packet, wire_len)
    }

    fn compile_raw(&self, expr: &str, linktype: i32, snaplen: u32) -> Result<RawProgram, BpfError> {
        let fail = |message: String| BpfError::Compile { expr: expr.to_owned(), linktype, message };
        let c_expr = CString::new(expr).map_err(|_| fail("the expression contains a NUL byte".into()))?;
        let snaplen = snaplen.min(i32::MAX as u32) as c_int;
        let lib = &*self.lib;
        let _guard = lib.lock.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: plain constructor; a null return is handled.
        let pcap = unsafe { (lib.open_dead)(crate::linktype_to_dlt(linktype), snaplen) };
        if pcap.is_null() {
            return Err(fail("pcap_open_dead failed (out of memory?)".into()));
        }
        let mut prog = BpfProgram { bf_len: 0, bf_insns: std::ptr::null_mut() };
        // SAFETY: `pcap` is a live handle, `prog` a writable bpf_program, `c_expr` NUL-terminated.
        let rc = unsafe { (lib.compile)(pcap, &mut prog, c_expr.as_ptr(), 1, NETMASK_UNKNOWN) };
        let result = if rc != 0 {
            // SAFETY: pcap_geterr returns the handle's NUL-terminated error buffer, which lives
            // until pcap_close below; it is copied first.
            let msg = unsafe { CStr::from_ptr((lib.geterr)(pcap)) }.to_string_lossy().into_owned();
            Err(fail(msg))
        } else {
            Ok(RawProgram { prog, lib: self.lib.clone() })
        };
        // SAFETY: `pcap` came from pcap_open_dead and is not used afterwards; the compiled
        // program is a separate allocation that outlives the handle.
        unsafe { (lib.close)(pcap) };
        result
    }
}

fn offline_filter(lib: &Lib, prog: &BpfProgram, packet: &[u8], wire_len: u32) -> u32 {
    let caplen = packet.len().min(u32::MAX as usize) as u32;
    let hdr = PktHdr { tv_sec: 0, tv_usec: 0, caplen, len: wire_len };
    // SAFETY: `prog` points at `bf_len` instructions that either passed `Program::new` or came
    // from pcap_compile (libpcap aborts on unknown opcodes and trusts jump offsets, so nothing
    // else may reach here); libpcap reads at most `caplen` bytes of `packet` and writes nothing.
    unsafe { (lib.offline_filter)(prog, &hdr, packet.as_ptr()) as u32 }
}

/// A `bpf_program` owned by libpcap, freed on drop.
struct RawProgram {
    prog: BpfProgram,
    lib: Arc<Lib>,
}

// SAFETY: the program is immutable after pcap_compile and owned by this value alone;
// pcap_offline_filter only reads it.
unsafe impl Send for RawProgram {}
// SAFETY: as above, shared access is read-only.
unsafe impl Sync for RawProgram {}

impl RawProgram {
    fn insns(&self) -> &[Insn] {
        if self.prog.bf_insns.is_null() {
            return &[];
        }
        // SAFETY: pcap_compile set `bf_insns` to `bf_len` instructions whose layout `Insn`
        // repeats (`#[repr(C)]` u16, u8, u8, u32); they live until pcap_freecode in drop.
        unsafe { std::slice::from_raw_parts(self.prog.bf_insns, self.prog.bf_len as usize) }
    }
}

impl Drop for RawProgram {
    fn drop(&mut self) {
        // SAFETY: `prog` was filled by pcap_compile and is freed exactly once.
        unsafe { (self.lib.freecode)(&mut self.prog) };
    }
}

/// A program compiled by libpcap and run by libpcap's interpreter.
pub struct Reference(RawProgram);

impl Reference {
    /// libpcap's verdict: `pcap_offline_filter`'s return value (0 = reject).
    pub fn run(&self, packet: &[u8], wire_len: u32) -> u32 {
        offline_filter(&self.0.lib, &self.0.prog, packet, wire_len)
    }

    pub fn matches(&self, packet: &[u8], wire_len: u32) -> bool {
        self.run(packet, wire_len) != 0
    }

    /// libpcap's instructions, unvalidated.
    pub fn insns(&self) -> &[Insn] {
        self.0.insns()
    }
}
