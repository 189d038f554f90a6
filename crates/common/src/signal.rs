//! SIGINT, SIGTERM and SIGHUP as events, so that a program holding a segment or a shm object
//! when one arrives removes it first, then dies of the signal as it would have.
//!
//! [`Interrupts::block`] blocks the three signals: from then on they wait, pending, instead of
//! killing the process in the middle of a step. Where the program waits (for a line on stdin),
//! [`Interrupts::wait_for_stdin`] waits for the signals too, and turns one into an [`Error`]
//! that `?` carries up through every guard's `Drop`. [`crate::err_exit!`] then re-raises it
//! with its default action: the shell sees the process killed by SIGINT, as if nothing had
//! been caught, but nothing is left behind.
//!
//! Two ways to wait for a signal and for a descriptor at once:
//! - Linux: block the signals and read them from a `signalfd` (`signal/signalfd.rs`). Nothing
//!   runs in signal context.
//! - Everywhere else (macOS and FreeBSD have no `signalfd`): a handler that notes the signal
//!   and writes a byte to a pipe, the "self-pipe trick" (`signal/selfpipe.rs`, by the
//!   signal-hook crate). It is built and tested on Linux too, so both behave the same.
//!
//! [`Error`]: crate::Error

#[cfg(any(not(target_os = "linux"), test))]
mod selfpipe;
#[cfg(target_os = "linux")]
mod signalfd;

#[cfg(not(target_os = "linux"))]
pub use selfpipe::Interrupts;
#[cfg(target_os = "linux")]
pub use signalfd::Interrupts;

/// The signals a user or a service manager sends to stop a program.
const SIGNALS: [libc::c_int; 3] = [libc::SIGHUP, libc::SIGINT, libc::SIGTERM];

/// Reads what stdin has (poll said it has something): a line, or end of file (0 bytes).
/// Either releases a program waiting for Enter.
fn read_stdin() -> Result<(), crate::Error> {
    use std::io::Read;
    std::io::stdin()
        .lock()
        .read(&mut [0; 512])
        .map_err(|e| crate::Error::new("read stdin", e))?;
    Ok(())
}

/// Ends the process by `signo` with the signal's default action (the shell then reports it
/// as killed by that signal, exit status 128 + `signo`).
pub fn reraise(signo: libc::c_int) -> ! {
    // SAFETY: SIG_DFL installs no handler.
    unsafe { libc::signal(signo, libc::SIG_DFL) };
    let set = signal_set();
    // SAFETY: `set` is initialised; a NULL old set is allowed.
    unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    // SAFETY: raising a signal has no memory preconditions.
    unsafe { libc::raise(signo) };
    // Only reached if the default action does not end the process (it does for all three).
    std::process::exit(128 + signo)
}

fn signal_set() -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given.
    unsafe { libc::sigemptyset(set.as_mut_ptr()) };
    // SAFETY: initialised by sigemptyset just above.
    let mut set = unsafe { set.assume_init() };
    for signo in SIGNALS {
        // SAFETY: `set` is initialised and `signo` a valid signal number.
        unsafe { libc::sigaddset(&mut set, signo) };
    }
    set
}

/// `SIGINT` for 2, and so on: the name the C constant has.
pub fn name(signo: libc::c_int) -> &'static str {
    match signo {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
