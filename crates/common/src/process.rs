//! The fork/wait steps of the parent–child examples.

use std::io::{self, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// Which side of `fork()` this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// The parent, with the child's pid.
    Parent(libc::pid_t),
    /// The child. It must end with [`exit_child`], never by returning from `main`.
    Child,
}

/// `fork()`, after flushing stdout so the child does not print the parent's buffered output
/// a second time.
///
/// # Safety
///
/// The process must be single-threaded. The child gets a copy of the calling thread only;
/// a lock another thread held (in the allocator, in stdout) stays locked in the child forever.
/// The examples start no threads.
pub unsafe fn fork() -> io::Result<Fork> {
    io::stdout().flush()?;
    // SAFETY: the caller guarantees the process is single-threaded, so the child starts
    // with every lock released and may go on running ordinary Rust code.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid)),
    }
}

/// `waitpid(pid, &status, 0)`, retried if a signal interrupts it; the status decoded as
/// `std` decodes it (`exit status: 0`, `signal: 7 (SIGBUS)`).
pub fn waitpid(pid: libc::pid_t) -> io::Result<ExitStatus> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid place for the kernel to store the child's status.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc != -1 {
            return Ok(ExitStatus::from_raw(status));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// A forked child the parent is responsible for: [`Child::wait`] reaps it; if the parent
/// leaves early (an error, a signal), dropping the guard kills and reaps it, so no child
/// process outlives the program.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    status: Option<ExitStatus>,
}

impl Child {
    /// Takes charge of the child `pid` (from [`Fork::Parent`]).
    pub fn new(pid: libc::pid_t) -> Child {
        Child { pid, status: None }
    }

    /// The child's pid.
    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// `waitpid(pid, &status, WNOHANG)`: how the child ended, or `None` if it is running.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            let mut status = 0;
            // SAFETY: `status` is a valid place for the kernel to store the child's status.
            match unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) } {
                -1 => return Err(io::Error::last_os_error()),
                0 => {}
                _ => self.status = Some(ExitStatus::from_raw(status)),
            }
        }
        Ok(self.status)
    }

    /// `waitpid(pid, &status, 0)`: waits for the child to end.
    pub fn wait(mut self) -> io::Result<ExitStatus> {
        let status = match self.status {
            Some(status) => status,
            None => waitpid(self.pid)?,
        };
        self.status = Some(status);
        Ok(status)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_none() {
            // SAFETY: kill takes plain values; the pid is our unreaped child, so it cannot
            // have been reused by another process.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let _ = waitpid(self.pid);
        }
    }
}

/// Ends a forked child: flushes stdout, then `_exit(code)`.
///
/// `_exit`, not `exit`: the child shares the parent's guards (a mapping, a temp file, a shm
/// name) by copy, and must not run the destructors or `atexit` handlers that release them
/// for the parent. The notes' children call `exit(0)`, which in C flushes stdio for them.
pub fn exit_child(code: i32) -> ! {
    let _ = io::stdout().flush();
    // SAFETY: _exit ends the process at once; it is always safe to call.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waitpid_reports_how_a_child_ended() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        let status = waitpid(pid).unwrap();
        assert_eq!(status.code(), Some(3));
        // The child is reaped: std must not find it again.
        assert!(child.try_wait().is_err());
    }
}
