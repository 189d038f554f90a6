//! [`Interrupts`] on Linux: the three signals blocked, and read from a `signalfd`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::signal_set;
use crate::Error;

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
