//! Touching memory that may not be there: each access runs in a forked child, and how the
//! child ended says what happened. In C the first SIGBUS or SIGSEGV ends the program; here
//! the parent lives on to report every access.

use std::fmt;
use std::io;
use std::os::unix::process::ExitStatusExt;

use crate::{Fork, exit_child, fork, waitpid};

/// What one access did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The byte read (before the write, if one was asked for).
    Value(u8),
    /// The signal the access raised: `SIGBUS` or `SIGSEGV`.
    Signal(libc::c_int),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Outcome::Value(v) => write!(f, "{v}"),
            Outcome::Signal(libc::SIGBUS) => f.write_str("SIGBUS"),
            Outcome::Signal(libc::SIGSEGV) => f.write_str("SIGSEGV"),
            Outcome::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// Reads the byte at `addr` in a child process, then writes `write` there if given, and
/// reports the value read or the signal that killed the child. A write to a `MAP_SHARED`
/// mapping is seen by this process too, as in the C programs that write after each read.
///
/// # Safety
///
/// - The process is single-threaded (it forks; see [`crate::fork`]).
/// - `addr` lies in a mapping this program made and owns (a file mapping, or a `PROT_NONE`
///   reservation around one): the access may fault, but it can never touch memory that
///   belongs to anything else, such as the heap or another library's mapping.
pub unsafe fn probe(addr: *mut u8, write: Option<u8>) -> io::Result<Outcome> {
    // SAFETY: the caller guarantees the process is single-threaded.
    match unsafe { fork() }? {
        Fork::Child => {
            // The default action for the two signals: Rust's runtime handles SIGSEGV and
            // SIGBUS to report stack overflows; this child should simply die of them.
            for signo in [libc::SIGBUS, libc::SIGSEGV] {
                // SAFETY: SIG_DFL installs no handler.
                unsafe { libc::signal(signo, libc::SIG_DFL) };
            }
            // A fault here is the expected answer, not a crash to keep: no core dump.
            no_core_dump();
            // SAFETY: the caller guarantees `addr` is in a mapping of this program's, so the
            // access either succeeds or raises SIGBUS/SIGSEGV, which ends this child before
            // the read returns. Volatile: the access must happen, exactly once, here.
            let value = unsafe { addr.read_volatile() };
            if let Some(w) = write {
                // SAFETY: as for the read, which has just succeeded on the same byte.
                unsafe { addr.write_volatile(w) };
            }
            exit_child(i32::from(value))
        }
        Fork::Parent(pid) => {
            let status = waitpid(pid)?;
            match (status.code(), status.signal()) {
                (Some(code), _) => Ok(Outcome::Value(code as u8)),
                (None, Some(signo)) => Ok(Outcome::Signal(signo)),
                (None, None) => Err(io::Error::other(format!("probe child: {status}"))),
            }
        }
    }
}

/// No core dump for this process: `prctl(PR_SET_DUMPABLE, 0)` on Linux (it holds even where
/// `core_pattern` pipes cores to a collector, which ignores `RLIMIT_CORE`), elsewhere
/// `setrlimit(RLIMIT_CORE, 0)`.
fn no_core_dump() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain values.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0)
    };
    #[cfg(not(target_os = "linux"))]
    {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `zero` is an initialised rlimit.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
    }
}
