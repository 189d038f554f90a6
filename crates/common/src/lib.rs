//! What two or more of the shm-by-example programs share, and nothing else.
//!
//! - [`People`]: the notes' `people` record, byte for byte the C layout.
//! - [`err_exit!`] and [`Error`]: errors printed as `prog: call argument: OS reason`, exit 1,
//!   like the notes' `ERR_EXIT(m)` (`perror(m); exit(EXIT_FAILURE)`); [`usage_error`] for bad
//!   arguments (usage text, exit 2).
//! - [`Mapping`]: one `mmap(2)` region whose `Drop` calls `munmap(2)`, for the mappings
//!   memmap2 does not make (memmap2's anonymous maps are `MAP_PRIVATE`: see `anon_fork`).
//! - [`sysv`] and [`posix`]: the System V and POSIX shared-memory calls, each a function, with
//!   guards that detach, and that remove what this process created if it stops half way.
//! - [`fork`], [`waitpid`], [`exit_child`]: the fork/wait steps of the parent–child examples.
//! - [`Interrupts`]: SIGINT/SIGTERM/SIGHUP as events, so guards clean up before the process dies.
//! - [`probe`]: one access to memory that may fault, in a forked child; SIGBUS/SIGSEGV reported.
//! - [`page_size`]: `sysconf(_SC_PAGESIZE)`; never assume 4096.
//! - [`file`]: create a file without following a symlink or truncating someone else's, refuse
//!   what is not a regular file, and reserve its blocks before a mapping stores into it.
//! - [`default_signals`]: `prog | head` ends the program quietly, as it ends a C program, and
//!   a file past `ulimit -f` is an error (`File too large`), not a death by SIGXFSZ.
//! - [`random_u32`]: the random part of a unique name (a pid alone is not unique).
//!
//! [`file`]: mod@file
#![cfg(unix)]

pub mod error;
pub mod file;
pub mod mapping;
pub mod people;
pub mod posix;
pub mod probe;
pub mod process;
pub mod signal;
pub mod sysv;

pub use error::{Context, Error, Result, usage_error};
pub use mapping::Mapping;
pub use people::People;
pub use process::{Child, Fork, exit_child, fork, waitpid};
pub use signal::Interrupts;

/// The two signal dispositions every program here wants; call it first thing in `main`.
///
/// - `SIGPIPE` back to its default action, which Rust's runtime sets to "ignore" before
///   `main`. With `SIGPIPE` ignored, `println!` to a pipe whose reader has gone
///   (`prog | head -1`) fails with `EPIPE`, and `println!` panics on that. A C program is killed
///   quietly by `SIGPIPE` instead, which is what the shell and the user expect; so is this one.
/// - `SIGXFSZ` ignored. Under `ulimit -f` (`RLIMIT_FSIZE`), a call that would make a file
///   larger than the limit (`ftruncate`, `posix_fallocate`, `write`) sends SIGXFSZ, whose
///   default action kills the process, core and all; ignored, the same call fails with `EFBIG`
///   (`File too large`), an error the program reports in one line.
pub fn default_signals() {
    // SAFETY: SIG_DFL installs no handler, so no code of ours can run in signal context.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // SAFETY: SIG_IGN installs no handler either.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
}

/// 32 random bits from the kernel (the getrandom crate: `getrandom(2)` on Linux and
/// FreeBSD, `getentropy` on macOS), for names that must not collide: a pid is unique only in
/// its PID namespace, and containers that share System V IPC or `/dev/shm` have PID
/// namespaces of their own.
pub fn random_u32() -> u32 {
    getrandom::u32().unwrap_or_else(|_| {
        // It only fails before the kernel's pool is ready, at early boot. Mix the time and
        // pid instead: still not the pid alone.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        t ^ std::process::id().rotate_left(16)
    })
}

/// The size of a page, from `sysconf(_SC_PAGESIZE)`: 4096 on x86-64, 16384 on Apple silicon
/// and some arm64 Linux kernels. mmap works in whole pages, so every length and offset rule
/// in these examples is stated in pages.
pub fn page_size() -> usize {
    // SAFETY: sysconf only reads a system constant; it has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    // POSIX requires _SC_PAGESIZE to be supported, so -1 cannot happen on a conforming system.
    usize::try_from(size).unwrap_or(4096)
}
