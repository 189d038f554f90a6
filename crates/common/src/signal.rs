//! SIGINT, SIGTERM and SIGHUP as events, so that a program holding a segment or a shm object
//! when one arrives removes it first, then dies of the signal as it would have.
//!
//! [`Interrupts::block`] blocks the three signals: from then on they wait, pending, instead of
//! killing the process in the middle of a step. Where the program waits (for a line on stdin),
//! [`Interrupts::wait_for_stdin`] waits for the signals too, through a `signalfd`, and turns
//! one into an [`Error`] that `?` carries up through every guard's `Drop`. [`crate::err_exit!`]
//! then re-raises it with its default action: the shell sees the process killed by SIGINT,
//! as if nothing had been caught, but nothing is left behind.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::Error;

/// The signals a user or a service manager sends to stop a program.
const SIGNALS: [libc::c_int; 3] = [libc::SIGHUP, libc::SIGINT, libc::SIGTERM];

/// SIGHUP, SIGINT and SIGTERM, blocked and readable from a `signalfd`.
#[derive(Debug)]
pub struct Interrupts {
    fd: OwnedFd,
}

impl Interrupts {
    /// `sigprocmask(SIG_BLOCK, {SIGHUP, SIGINT, SIGTERM})`, then `signalfd` for the same set.
    /// Call it before creating anything that must be removed.
    pub fn block() -> io::Result<Interrupts> {
        let set = signal_set();
        // SAFETY: `set` is an initialised sigset_t; a NULL old set is allowed.
        if unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: -1 asks for a new signalfd; `set` is initialised.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: signalfd returned a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Interrupts { fd })
    }

    /// Waits until stdin has a line (or is at end of file), or one of the signals arrives.
    /// A signal becomes `Err`, with [`Error::signal`] set.
    pub fn wait_for_stdin(&self) -> Result<(), Error> {
        let mut fds = [
            libc::pollfd {
                fd: libc::STDIN_FILENO,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        loop {
            // SAFETY: `fds` is an array of two initialised pollfd structures.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if n == -1 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::new("poll", err));
            }
            if fds[1].revents != 0 {
                return Err(Error::signal(self.read_signal()?));
            }
            if fds[0].revents != 0 {
                // A line, or end of file (0 bytes): either releases the program.
                io::stdin()
                    .lock()
                    .read(&mut [0; 512])
                    .map_err(|e| Error::new("read stdin", e))?;
                return Ok(());
            }
        }
    }

    /// Returns at once: `Err` (with [`Error::signal`] set) if one of the signals has arrived.
    /// For programs that do not wait but work in steps: check between the steps.
    pub fn check(&self) -> Result<(), Error> {
        let mut fd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one initialised pollfd; a timeout of 0 does not wait.
        let n = unsafe { libc::poll(&mut fd, 1, 0) };
        if n > 0 {
            return Err(Error::signal(self.read_signal()?));
        }
        Ok(())
    }

    fn read_signal(&self) -> Result<libc::c_int, Error> {
        // SAFETY: signalfd_siginfo is plain data; all zeros is a valid value.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = size_of::<libc::signalfd_siginfo>();
        // SAFETY: `info` is a writable buffer of exactly `size` bytes.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), (&raw mut info).cast(), size) };
        if n != size as isize {
            return Err(Error::new("read signalfd", io::Error::last_os_error()));
        }
        Ok(info.ssi_signo as libc::c_int)
    }
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
