//! [`Interrupts`] where there is no `signalfd` (macOS, FreeBSD): the self-pipe trick.
//!
//! A handler for each signal (installed by the signal-hook crate) stores the signal's number
//! in an atomic and writes a byte to a socket; a wait polls that socket beside what it waits
//! for. The handler does nothing else: a store and a `write` are async-signal-safe. A forked
//! child shares the socket but has its own copy of the atomic, so a byte is only a wake-up:
//! the atomic says whether this process was signalled, and every wait looks at it at least
//! every 100 ms.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::SIGNALS;
use crate::Error;

/// SIGHUP, SIGINT and SIGTERM, caught by a handler that wakes a poll through a socket.
#[derive(Debug)]
pub struct Interrupts {
    wake: UnixStream,
    caught: Arc<AtomicUsize>,
}

impl Interrupts {
    /// A handler for each of the three signals, from then on for the life of the process:
    /// a signal no longer kills it, it is noted. Call it before creating anything that must
    /// be removed.
    pub fn block() -> io::Result<Interrupts> {
        let (wake, write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        // A handler must never block: with the socket full, the byte is dropped (the atomic
        // still says which signal came).
        write.set_nonblocking(true)?;
        let caught = Arc::new(AtomicUsize::new(0));
        for signo in SIGNALS {
            signal_hook::flag::register_usize(signo, Arc::clone(&caught), signo as usize)?;
            signal_hook::low_level::pipe::register(signo, write.try_clone()?)?;
        }
        Ok(Interrupts { wake, caught })
    }

    /// Waits until stdin has a line (or is at end of file), or one of the signals arrives.
    /// A signal becomes `Err`, with [`Error::signal`] set.
    pub fn wait_for_stdin(&self) -> Result<(), Error> {
        // SAFETY: stdin is open for the life of the process.
        self.wait_readable(unsafe { BorrowedFd::borrow_raw(libc::STDIN_FILENO) })?;
        super::read_stdin()
    }

    /// Waits until `fd` is readable (a line on a pipe, a connection on a listening socket),
    /// or one of the signals arrives. A signal becomes `Err`, with [`Error::signal`] set.
    pub fn wait_readable(&self, fd: BorrowedFd<'_>) -> Result<(), Error> {
        let mut fds = [
            libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        loop {
            // SAFETY: `fds` is an array of two initialised pollfd structures.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, 100) };
            if n == -1 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(Error::new("poll", err));
                }
            }
            self.check()?;
            if n > 0 && fds[0].revents != 0 {
                return Ok(());
            }
        }
    }

    /// Returns at once: `Err` (with [`Error::signal`] set) if one of the signals has arrived.
    /// For programs that do not wait but work in steps: check between the steps.
    pub fn check(&self) -> Result<(), Error> {
        // Empty the socket: its bytes have done their work (waking a poll).
        while (&self.wake).read(&mut [0; 64]).is_ok_and(|n| n > 0) {}
        match self.caught.load(Ordering::SeqCst) {
            0 => Ok(()),
            signo => Err(Error::signal(signo as libc::c_int)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The only test in this binary that raises the signals: it catches them all (no other
    // test may expect SIGHUP to kill the process).
    #[test]
    fn a_signal_is_noted_not_fatal() {
        let interrupts = Interrupts::block().unwrap();
        assert!(interrupts.check().is_ok());
        // SAFETY: raising a signal has no memory preconditions; the handler is installed.
        unsafe { libc::raise(libc::SIGHUP) };
        let err = interrupts.check().unwrap_err();
        assert_eq!(err.signal_number(), Some(libc::SIGHUP));
        let err = interrupts.wait_for_stdin().unwrap_err();
        assert_eq!(err.signal_number(), Some(libc::SIGHUP));
    }
}
