//! What the three paths of `file_transfer` share: waits that end on Ctrl-C, the counts each
//! side keeps of its system calls, and the check that the output is the input.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Context, Error, Interrupts, Mapping, Result};

/// The system calls one side made, and the bytes they copied.
#[derive(Debug, Default, Clone, Copy)]
pub struct Calls {
    /// `read` calls that returned data (not the last one, at end of file, which returns 0).
    pub reads: u64,
    /// `write` calls.
    pub writes: u64,
    /// Bytes those calls copied (each `read` or `write` copies its bytes once).
    pub copied: u64,
}

/// Where the child leaves its [`Calls`] for the parent: a shared page, read after `waitpid`.
#[derive(Debug)]
pub struct Report(Mapping);

impl Report {
    /// A `MAP_SHARED | MAP_ANONYMOUS` page, made before `fork`.
    pub fn new() -> Result<Report> {
        // SAFETY: a fresh shared page, touched only through the atomics below.
        let map = unsafe {
            Mapping::new(
                common::page_size(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                None,
                0,
            )
        }
        .context("mmap")?;
        Ok(Report(map))
    }

    fn word(&self, i: usize) -> &AtomicU64 {
        // SAFETY: words 0 to 2 of a page-aligned page of this mapping, only touched atomically.
        unsafe { AtomicU64::from_ptr(self.0.as_ptr().cast::<u64>().wrapping_add(i)) }
    }

    /// The child's counts, stored for the parent.
    pub fn store(&self, calls: Calls) {
        self.word(0).store(calls.reads, Ordering::Relaxed);
        self.word(1).store(calls.writes, Ordering::Relaxed);
        self.word(2).store(calls.copied, Ordering::Relaxed);
    }

    /// What the child stored (after `waitpid`).
    pub fn load(&self) -> Calls {
        Calls {
            reads: self.word(0).load(Ordering::Relaxed),
            writes: self.word(1).load(Ordering::Relaxed),
            copied: self.word(2).load(Ordering::Relaxed),
        }
    }
}

/// Waits until `fd` can be read (`POLLIN`) or written (`POLLOUT`), 100 ms at a time, looking
/// for Ctrl-C in between: a partner that is stopped never keeps this process waiting.
pub fn wait_for(fd: &impl AsFd, events: libc::c_short, interrupts: &Interrupts) -> Result<()> {
    loop {
        let mut pfd = libc::pollfd {
            fd: fd.as_fd().as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: one initialised pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, 100) };
        if n == -1 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(Error::last_os_error("poll"));
        }
        if n > 0 {
            return Ok(()); // ready, or the other end closed: the call says which
        }
        interrupts.check()?;
    }
}

/// Reads `file` into `buf` until `buf` is full or the file ends; one [`Calls`] entry per
/// `read` that returned data.
pub fn read_full(file: &mut impl Read, buf: &mut [u8], calls: &mut Calls) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                calls.reads += 1;
                calls.copied += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `write` until all of `buf` is written; one [`Calls`] entry per `write`.
pub fn write_all(file: &mut impl Write, buf: &[u8], calls: &mut Calls) -> io::Result<()> {
    let mut n = 0;
    while n < buf.len() {
        match file.write(&buf[n..]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(k) => {
                n += k;
                calls.writes += 1;
                calls.copied += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether `output` holds exactly the bytes of `input`, compared from the start.
pub fn identical(input: &mut File, output: &mut File) -> io::Result<bool> {
    use std::io::{Seek, SeekFrom};
    input.seek(SeekFrom::Start(0))?;
    output.seek(SeekFrom::Start(0))?;
    let (mut a, mut b) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let mut none = Calls::default();
        let n = read_full(input, &mut a, &mut none)?;
        let m = read_full(output, &mut b, &mut none)?;
        if n != m || a[..n] != b[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// `prctl(PR_SET_PDEATHSIG, SIGKILL)` in a forked child: it dies with its parent, even one
/// killed by SIGKILL, and never writes on alone. FreeBSD: `procctl(PROC_PDEATHSIG_CTL)`.
/// macOS has no such call: there the child finds its parent gone when the pipe or the
/// handshake it waits on ends.
pub fn die_with_parent() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes plain values.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL)
    };
    #[cfg(target_os = "freebsd")]
    {
        let mut signo = libc::SIGKILL;
        // SAFETY: PROC_PDEATHSIG_CTL reads one int through its last argument.
        unsafe {
            libc::procctl(
                libc::P_PID,
                0,
                libc::PROC_PDEATHSIG_CTL,
                (&raw mut signo).cast(),
            )
        };
    }
}

/// `fcntl(fd, F_SETFL, O_NONBLOCK)`: a write that would block returns `EAGAIN` instead, so
/// that [`send`] can wait for room while it looks for Ctrl-C.
pub fn set_nonblocking(fd: &impl AsFd) -> Result<()> {
    let fd = fd.as_fd().as_raw_fd();
    // SAFETY: F_GETFL and F_SETFL take plain values on an open descriptor.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags == -1 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } == -1 {
        return Err(Error::last_os_error("fcntl O_NONBLOCK"));
    }
    Ok(())
}

/// Writes all of `buf` into the non-blocking pipe `tx`, waiting for room as needed (Ctrl-C
/// ends the wait); a reader that has gone is `EPIPE`, one line.
pub fn send(
    tx: &mut (impl Write + AsFd),
    buf: &[u8],
    calls: &mut Calls,
    interrupts: &Interrupts,
) -> Result<()> {
    let mut n = 0;
    while n < buf.len() {
        match tx.write(&buf[n..]) {
            Ok(k) => {
                n += k;
                calls.writes += 1;
                calls.copied += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_for(tx, libc::POLLOUT, interrupts)?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                return Err(Error::new("write pipe", e).hint("the client has ended"));
            }
            Err(e) => return Err(Error::new("write pipe", e)),
        }
    }
    Ok(())
}

/// While it lives, SIGPIPE is blocked, so that a write into a pipe whose reader has ended
/// fails with `EPIPE` (one line: "the client has ended") instead of killing the server.
/// Dropped, it takes back a SIGPIPE that came meanwhile (`sigtimedwait`, no wait) and unblocks.
/// Only around the server's own pipe: standard output keeps the default, so that
/// `file_transfer ... | head` ends quietly.
#[derive(Debug)]
pub struct NoSigpipe(());

/// `sigpending` has SIGPIPE: a write hit a closed pipe while the signal was blocked.
fn sigpipe_pending() -> bool {
    let mut pending = sigpipe_set();
    // SAFETY: `pending` is an initialised set for sigpending to overwrite.
    if unsafe { libc::sigpending(&mut pending) } == -1 {
        return false;
    }
    // SAFETY: `pending` is initialised.
    unsafe { libc::sigismember(&pending, libc::SIGPIPE) == 1 }
}

fn sigpipe_set() -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is overwritten by sigemptyset.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a writable sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    // SAFETY: as above, initialised.
    unsafe { libc::sigaddset(&mut set, libc::SIGPIPE) };
    set
}

impl NoSigpipe {
    /// `pthread_sigmask(SIG_BLOCK, {SIGPIPE})`.
    pub fn block() -> Result<NoSigpipe> {
        let set = sigpipe_set();
        // SAFETY: an initialised set; no old set wanted.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(Error::new(
                "pthread_sigmask",
                io::Error::from_raw_os_error(rc),
            ));
        }
        Ok(NoSigpipe(()))
    }
}

impl Drop for NoSigpipe {
    fn drop(&mut self) {
        let set = sigpipe_set();
        if sigpipe_pending() {
            let mut signo = 0;
            // SAFETY: an initialised set; SIGPIPE is pending, so sigwait takes it at once.
            unsafe { libc::sigwait(&set, &mut signo) };
        }
        // SAFETY: an initialised set.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}
