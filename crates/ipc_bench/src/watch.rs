//! Every wait of the benchmark ends: on Ctrl-C (SIGINT, SIGTERM, SIGHUP) within a fraction of
//! a second, and on the death of the other process within a few.
//!
//! Each side carries a `Watch` through its loops. The hot paths only count (`tick`, once per
//! message, round trip, or few thousand turns of a spin loop); every 64 counts the clock is
//! read, and at most every 100 ms the watch looks for real:
//! - the parent: has a signal arrived (the `signalfd` of [`Interrupts`]), has the child ended
//!   (`waitpid(pid, WNOHANG)`)?
//! - a child: has its parent gone (`getppid()` changed)? `PR_SET_PDEATHSIG` kills it anyway;
//!   this is the belt to those braces.
//!
//! A futex wait sleeps 100 ms at most, then looks (`check`). So neither a sleeping nor a
//! spinning side can outlive its partner, and the measurement pays a counter and a branch.

use std::io;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use common::{Child, Error, Interrupts};

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

enum Side<'a> {
    Parent {
        interrupts: &'a Interrupts,
        child: Child,
    },
    Child {
        parent: libc::pid_t,
    },
}

/// One side's look-out for the other side's death and for Ctrl-C.
pub struct Watch<'a> {
    side: Side<'a>,
    turns: u32,
    next: Instant,
    stop: Option<Stop>,
}

impl<'a> Watch<'a> {
    /// The parent's watch, in charge of `child` (killed and reaped when the watch is dropped
    /// with the child still running).
    pub fn parent(interrupts: &'a Interrupts, child: Child) -> Watch<'a> {
        Watch::new(Side::Parent { interrupts, child })
    }

    /// A child's watch over its `parent`.
    pub fn child(parent: libc::pid_t) -> Watch<'a> {
        Watch::new(Side::Child { parent })
    }

    fn new(side: Side<'a>) -> Watch<'a> {
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
            Side::Parent { interrupts, child } => {
                if let Err(err) = interrupts.check() {
                    match err.signal_number() {
                        Some(signo) => Some(Stop::Signal(signo)),
                        None => return Err(io::Error::other(err.to_string())),
                    }
                } else {
                    // waitpid(pid, &status, WNOHANG);
                    child.try_wait()?.map(Stop::Ended)
                }
            }
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
        match self.stop {
            Some(Stop::Signal(signo)) => Error::signal(signo),
            Some(Stop::Ended(status)) => Error::msg(label, format!("{who}: {status}")),
            Some(Stop::Orphaned) | None => Error::new(label, err),
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
