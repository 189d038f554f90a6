//! Every wait of the benchmark ends: on Ctrl-C (SIGINT, SIGTERM, SIGHUP) within a fraction of
//! a second, and on the death of the other process within a few.
//!
//! Each side carries a `Watch` through its loops. The hot paths only count (`tick`, once per
//! message, round trip, or few thousand turns of a spin loop); every 64 counts the clock is
//! read, and at most every 100 ms the watch looks for real:
//! - the parent: has a signal arrived (SIGINT, SIGTERM, SIGHUP: [`catch_signals`]), has the
//!   child ended (`waitpid(pid, WNOHANG)`)?
//! - a child: has its parent gone (`getppid()` changed)? `PR_SET_PDEATHSIG` kills it anyway;
//!   this is the belt to those braces.
//!
//! A futex wait sleeps 100 ms at most, then looks (`check`). So neither a sleeping nor a
//! spinning side can outlive its partner, and the measurement pays a counter and a branch.
//!
//! The parent's reads and writes on pipes and sockets go through [`Watch::read_exact`] and
//! [`Watch::write_all`]: the signals are caught by a handler installed without `SA_RESTART`,
//! so a `read` or `write` that waits (for a child stopped with SIGSTOP, say) returns `EINTR`
//! when one arrives, and the watch looks at the signals (the partner's death shows there as an
//! end of file or a broken pipe, after the data it sent). (The examples block these signals and read them
//! from a `signalfd` instead, `common::Interrupts`; a blocked signal interrupts nothing, and
//! the benchmark's pipes cannot all be polled without changing what is measured.)

use std::io::{self, Read, Write};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use common::{Child, Error};

/// The last of SIGINT, SIGTERM, SIGHUP that arrived, or 0.
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// The handler: notes the signal, nothing else (an atomic store is async-signal-safe).
extern "C" fn note(signo: libc::c_int) {
    SIGNALLED.store(signo, Ordering::Relaxed);
}

/// The handler of SIGALRM: nothing. Its only job is to interrupt a system call that waits.
extern "C" fn tick(_: libc::c_int) {}

/// `sigaction(SIGINT | SIGTERM | SIGHUP, {note, no SA_RESTART})`: from now on these signals are
/// noted, not fatal, and a system call that waits when one arrives fails with `EINTR`.
///
/// That leaves a gap: a signal that lands after the last look and before a `read` or `write`
/// that then waits (for a child stopped with SIGSTOP) interrupts nothing. So SIGALRM comes too,
/// every [`EVERY`] (`setitimer(ITIMER_REAL)`), to a handler that does nothing, also without
/// `SA_RESTART`: no wait of the parent lasts longer than that without a look. A child does not
/// inherit the timer (fork(2)), and ten signals a second cost the measurement nothing it can
/// see.
pub fn catch_signals() -> io::Result<()> {
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 4] = [
        (libc::SIGHUP, note),
        (libc::SIGINT, note),
        (libc::SIGTERM, note),
        (libc::SIGALRM, tick),
    ];
    for (signo, handler) in handlers {
        // SAFETY: an all-zero sigaction is a valid value (empty mask, no flags).
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = handler as libc::sighandler_t;
        // SAFETY: `action` is initialised; the handlers only store into an atomic, or do
        // nothing; a NULL old action is allowed.
        if unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    let every = libc::timeval {
        tv_sec: 0,
        tv_usec: EVERY.as_micros() as _,
    };
    let timer = libc::itimerval {
        it_interval: every,
        it_value: every,
    };
    // SAFETY: `timer` is initialised; a NULL old value is allowed.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The signal that arrived, if one did.
pub fn signalled() -> Option<libc::c_int> {
    match SIGNALLED.load(Ordering::Relaxed) {
        0 => None,
        signo => Some(signo),
    }
}

/// How often a side looks at its partner and the signals.
pub const EVERY: Duration = Duration::from_millis(100);

/// Why a watch stopped the work.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// The parent was told to stop (SIGINT, SIGTERM, SIGHUP).
    Signal(libc::c_int),
    /// The child ended before its work was done.
    Ended(ExitStatus),
    /// The parent is gone.
    Orphaned,
}

#[derive(Debug)]
enum Side {
    Parent { child: Child },
    Child { parent: libc::pid_t },
}

/// One side's look-out for the other side's death and for Ctrl-C.
#[derive(Debug)]
pub struct Watch {
    side: Side,
    turns: u32,
    next: Instant,
    stop: Option<Stop>,
}

impl Watch {
    /// The parent's watch, in charge of `child` (killed and reaped when the watch is dropped
    /// with the child still running).
    pub fn parent(child: Child) -> Watch {
        Watch::new(Side::Parent { child })
    }

    /// A child's watch over its `parent`.
    pub fn child(parent: libc::pid_t) -> Watch {
        Watch::new(Side::Child { parent })
    }

    fn new(side: Side) -> Watch {
        Watch {
            side,
            turns: 0,
            next: Instant::now() + EVERY,
            stop: None,
        }
    }

    /// Once per message or round trip: a counter, and every 64 counts a look at the clock.
    #[inline]
    pub fn tick(&mut self) -> io::Result<()> {
        self.turns = self.turns.wrapping_add(1);
        if self.turns.is_multiple_of(64) {
            return self.due();
        }
        Ok(())
    }

    /// Looks if the last look is `EVERY` old.
    #[cold]
    #[inline(never)]
    pub fn due(&mut self) -> io::Result<()> {
        if Instant::now() < self.next {
            return Ok(());
        }
        self.check()
    }

    /// Looks now: a signal for the parent, the partner's death for either side. An `Err` means
    /// the work must stop; [`Watch::stopped`] says why.
    pub fn check(&mut self) -> io::Result<()> {
        self.next = Instant::now() + EVERY;
        let stop = match &mut self.side {
            Side::Parent { child } => match signalled() {
                Some(signo) => Some(Stop::Signal(signo)),
                // waitpid(pid, &status, WNOHANG);
                None => child.try_wait()?.map(Stop::Ended),
            },
            Side::Child { parent } => {
                // getppid(): another pid once the parent has died.
                // SAFETY: getppid has no preconditions.
                (unsafe { libc::getppid() } != *parent).then_some(Stop::Orphaned)
            }
        };
        match stop {
            None => Ok(()),
            Some(stop) => {
                self.stop = Some(stop);
                Err(io::Error::other("stopped by the watch"))
            }
        }
    }

    /// Why the work stopped, if the watch stopped it.
    pub fn stopped(&self) -> Option<Stop> {
        self.stop
    }

    /// The parent, after its side of the work failed with `err`: the error to report.
    /// `label` names the run (`pipe (4 KiB messages)`), `who` the child (`receiver`).
    ///
    /// An end of file or a broken pipe usually means the child has just died: it is given a
    /// second to be seen dead (it closed its descriptors on its way out), and its status is
    /// the reason given; a signal that arrived meanwhile ends the program quietly instead.
    pub fn failure(&mut self, err: io::Error, label: &str, who: &str) -> Error {
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.stop.is_none() && Instant::now() < deadline {
            if self.check().is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // A signal first: Ctrl-C reaches the child too, which may be seen dead before it.
        if let Some(signo) = signalled() {
            return Error::signal(signo);
        }
        match self.stop {
            Some(Stop::Signal(signo)) => Error::signal(signo),
            Some(Stop::Ended(status)) => Error::msg(label, format!("{who}: {status}")),
            Some(Stop::Orphaned) | None => Error::new(label, err),
        }
    }

    /// `read_exact` that ends when the watch says so: a `read` interrupted by a signal
    /// (`EINTR`) is not simply retried, the watch looks first.
    pub fn read_exact(&mut self, from: &mut impl Read, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match from.read(buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    // A short read may be a signal's doing: look before reading again.
                    if !buf.is_empty() {
                        self.interrupted()?;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.interrupted()?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `write_all` that ends when the watch says so, as [`Watch::read_exact`].
    pub fn write_all(&mut self, to: &mut impl Write, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match to.write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    // A short write may be a signal's doing: look before writing again.
                    if !buf.is_empty() {
                        self.interrupted()?;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.interrupted()?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// After a `read` or `write` returned `EINTR` (or came back short): only a signal stops it.
    /// The partner's death is not looked for here: it shows as an end of file or a broken pipe
    /// once the data it sent has been read, while `waitpid` could see the death first (the
    /// child writes its last reply, exits, and SIGALRM interrupts the read that would have
    /// returned that reply: a socket's read returns `EINTR` when a signal is pending, data
    /// or not).
    fn interrupted(&mut self) -> io::Result<()> {
        match signalled() {
            Some(signo) => {
                self.stop = Some(Stop::Signal(signo));
                Err(io::Error::other("stopped by the watch"))
            }
            None => Ok(()),
        }
    }

    /// The parent, once its side of the work is done: `waitpid(pid, &status, 0)`.
    pub fn finish(self) -> io::Result<ExitStatus> {
        match self.side {
            Side::Parent { child, .. } => child.wait(),
            Side::Child { .. } => Err(io::Error::other("finish called in the child")),
        }
    }
}
