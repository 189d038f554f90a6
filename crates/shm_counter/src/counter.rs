// ANCHOR: all
//! The shared counter of `shm_counter`: where it lives in the shared region, the four ways of
//! incrementing it from two processes, and the checks that keep a process from trusting a
//! region someone else may have overwritten. See `docs/src/shm_counter.md`. The calls the C
//! makes for each way (a load and a store, fetch_add, the mutexes' set-up) are in `ops.rs`.
//!
//! The region is one page:
//!
//! ```text
//! offset 0     the lock: a raw_sync mutex, a robust pthread_mutex_t, or a sem_t
//!              (128 bytes kept)
//! offset 128   the counter, a u64
//! offset 136   --loops of the first process, for the second to use       (--role mode)
//! offset 144   "SHMC", written last: the region is laid out
//! offset 148   the layout's version (2)
//! offset 152   the region's size (4096)
//! offset 156   --sync of the first process (its code)
//! offset 160   state: 1 waiting for a second, 2 a second attached, 3 the second finished
//! offset 164   the semaphore's key (System V) or the random part of its name (named POSIX)
//! offset 168   start (parent and child): 1 the child is ready, 2 both go
//! ```
//!
//! Every wait (for the lock, for the other process) is a loop of short timed waits: between
//! two, the process looks for Ctrl-C, checks the header again, and asks whether the other
//! process is still there.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use common::{Error, Interrupts, Result};
use raw_sync::Timeout;
use raw_sync::locks::LockImpl;

use crate::ops::{self, check};
use crate::sem::{self, Semaphore, Wait};

/// Bytes in the shared region.
pub const REGION: usize = 4096;
/// The most increments one process makes (`--loops`), about 10^12: hours of counting. Twice
/// that fits the counter with room to spare; a header that says more (or 0) is garbage.
pub const MAX_LOOPS: u64 = 1 << 40;
const LOCK: usize = 0;
const COUNTER: usize = 128;
const LOOPS: usize = 136;
const MAGIC: usize = 144;
const VERSION: usize = 148;
const SIZE: usize = 152;
const SYNC: usize = 156;
const STATE: usize = 160;
const SEM_KEY: usize = 164;
const START: usize = 168;
const MAGIC_VALUE: u32 = u32::from_be_bytes(*b"SHMC");
const VERSION_VALUE: u32 = 2;

/// `STATE`: the first waits for a second.
const WAITING: u32 = 1;
/// `STATE`: a second has attached (only one may: compare-and-swap from WAITING).
const ATTACHED: u32 = 2;
/// `STATE`: the second has made all its increments.
const FINISHED: u32 = 3;
/// `STATE`: one of the two found the lock's bytes garbage (behind a header that was right) and
/// stopped; the header now says so to the other (no valid state), whichever it looks at next.
const BROKEN: u32 = 0xdead;

/// How long one timed wait lasts before the loop looks at Ctrl-C, the header and the partner.
const SLICE: Duration = Duration::from_millis(100);

const _: () = assert!(size_of::<libc::pthread_mutex_t>() <= COUNTER - LOCK);
const _: () = assert!(size_of::<libc::sem_t>() <= COUNTER - LOCK);

/// How the two processes keep their increments apart.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// A raw_sync mutex (a process-shared pthread mutex) in the region
    Mutex,
    /// A robust process-shared pthread mutex: survives an owner that dies holding it
    Robust,
    /// One atomic read-modify-write (fetch_add), no lock
    Atomic,
    /// No protection: a load, then a store (updates get lost)
    None,
    /// An unnamed POSIX semaphore in the region: sem_init(sem, 1, 1) (UNP's incr3.c)
    Sem,
    /// A named POSIX semaphore: sem_open, sem_unlink (UNP's incr2.c)
    SemNamed,
    /// A System V semaphore: semget, semop
    SysvSem,
    /// A System V semaphore taken with SEM_UNDO: the kernel gives it back if its holder dies
    SysvSemUndo,
}

impl Sync {
    fn code(self) -> u32 {
        self as u32
    }

    fn from_code(code: u32) -> Option<Sync> {
        [
            Sync::Mutex,
            Sync::Robust,
            Sync::Atomic,
            Sync::None,
            Sync::Sem,
            Sync::SemNamed,
            Sync::SysvSem,
            Sync::SysvSemUndo,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }

    /// The name as `--sync` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Sync::Mutex => "mutex",
            Sync::Robust => "robust",
            Sync::Atomic => "atomic",
            Sync::None => "none",
            Sync::Sem => "sem",
            Sync::SemNamed => "sem-named",
            Sync::SysvSem => "sysv-sem",
            Sync::SysvSemUndo => "sysv-sem-undo",
        }
    }

    /// Whether there is a lock, or a semaphore used as one, to take and to die holding.
    pub fn has_lock(self) -> bool {
        !matches!(self, Sync::Atomic | Sync::None)
    }
}

/// Whether the other process is still there, so that waiting for a lock it holds, or for a
/// state it would set, never goes on forever.
pub trait Peer {
    /// `false` once the other process has ended.
    fn alive(&mut self) -> io::Result<bool>;
}

/// While the first waits for a second, there is no one to ask: it may not exist yet.
#[derive(Debug)]
pub struct Anyone;

impl Peer for Anyone {
    fn alive(&mut self) -> io::Result<bool> {
        Ok(true)
    }
}

/// The other process of `--role` mode, seen through an open file description lock (OFD lock,
/// `fcntl(F_OFD_SETLK)`) it holds on one byte of the object: the kernel drops the lock when
/// the process ends, however it ends. Unlike a pid, it means the same in every PID namespace
/// that shares the object.
#[derive(Debug)]
pub struct Holder<'a> {
    fd: BorrowedFd<'a>,
    byte: i64,
}

/// Byte of the object whose OFD lock the first process holds.
pub const FIRST_BYTE: i64 = 0;
/// Byte of the object whose OFD lock the second process holds.
pub const SECOND_BYTE: i64 = 1;

impl<'a> Holder<'a> {
    /// The process that holds (or held) the lock on `byte` of `fd`'s object.
    pub fn new(fd: BorrowedFd<'a>, byte: i64) -> Holder<'a> {
        Holder { fd, byte }
    }
}

impl Peer for Holder<'_> {
    fn alive(&mut self) -> io::Result<bool> {
        // fcntl(fd, F_OFD_GETLK, {F_WRLCK, byte}): would a write lock on the byte conflict?
        let mut fl = flock(libc::F_WRLCK, self.byte);
        // SAFETY: `fl` is an initialised struct flock the call fills in.
        if unsafe { libc::fcntl(self.fd.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(i32::from(fl.l_type) != libc::F_UNLCK)
    }
}

/// `fcntl(fd, F_OFD_SETLK, {F_WRLCK, byte})`: this process's mark on the object, held until it
/// ends. `Ok(false)`: another open file description holds it already.
pub fn hold(fd: BorrowedFd<'_>, byte: i64) -> io::Result<bool> {
    let fl = flock(libc::F_WRLCK, byte);
    // SAFETY: `fl` is an initialised struct flock.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_SETLK, &fl) } == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EAGAIN | libc::EACCES) => Ok(false),
        _ => Err(err),
    }
}

fn flock(kind: libc::c_int, byte: i64) -> libc::flock {
    // SAFETY: struct flock is plain data; all zeros is a valid value (l_pid must be 0 for
    // OFD locks).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte;
    fl.l_len = 1;
    fl
}

/// What one increment found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The counter's value before this increment.
    pub before: u64,
    /// The robust mutex's last owner died holding it; this increment made it consistent.
    pub recovered: bool,
}

/// The counter and its lock, in a shared region.
pub struct Counter {
    base: *mut u8,
    sync: Sync,
    mutex: Option<Box<dyn LockImpl>>,
    sem: Option<Semaphore>,
    /// The first's `--loops`: its own, or, for the second, what the header said at attach.
    /// The header must go on saying it.
    loops: u64,
    /// Names the region in errors: `/NAME: not a shm_counter region`.
    label: String,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counter")
            .field("base", &self.base)
            .field("sync", &self.sync)
            .finish()
    }
}

impl Counter {
    /// Lays out a fresh region: the counter at 0, the lock initialised for `sync`, the header.
    ///
    /// # Safety
    ///
    /// `base` is the start of a writable shared region of [`REGION`] bytes, aligned to a page,
    /// that stays mapped while the `Counter` lives, and no other process uses it yet.
    // ANCHOR: init
    pub unsafe fn init(base: *mut u8, sync: Sync, loops: u64, label: &str) -> Result<Counter> {
        let counter = Counter {
            base,
            sync,
            mutex: None,
            sem: None,
            loops,
            label: label.to_owned(),
        };
        if !(1..=MAX_LOOPS).contains(&loops) {
            return Err(Error::msg(
                "--loops",
                format!("1 to {MAX_LOOPS}, not {loops}"),
            ));
        }
        counter.word64(COUNTER).store(0, Ordering::Relaxed);
        counter.word64(LOOPS).store(loops, Ordering::Relaxed);
        counter
            .word32(VERSION)
            .store(VERSION_VALUE, Ordering::Relaxed);
        counter.word32(SIZE).store(REGION as u32, Ordering::Relaxed);
        counter.word32(SYNC).store(sync.code(), Ordering::Relaxed);
        counter.word32(STATE).store(WAITING, Ordering::Relaxed);
        let lock = base.wrapping_add(LOCK);
        let mut sem = None;
        let mutex = match sync {
            // SAFETY: the lock's bytes are inside the region and unused (the caller's promise).
            Sync::Mutex => Some(unsafe { ops::mutex_init(lock, base.wrapping_add(COUNTER)) }?),
            Sync::Robust => {
                // SAFETY: as above; the bytes are aligned for a pthread_mutex_t (page-aligned).
                unsafe { ops::robust_init(lock.cast()) }?;
                None
            }
            Sync::Sem | Sync::SemNamed | Sync::SysvSem | Sync::SysvSemUndo => {
                // SAFETY: as above, for a sem_t.
                let (made, key) = unsafe { new_semaphore(sync, lock.cast()) }?;
                counter.word32(SEM_KEY).store(key, Ordering::Relaxed);
                sem = Some(made);
                None
            }
            Sync::Atomic | Sync::None => None,
        };
        // Last, with Release: a process that sees the magic sees everything above.
        counter.word32(MAGIC).store(MAGIC_VALUE, Ordering::Release);
        Ok(Counter {
            mutex,
            sem,
            ..counter
        })
    }
    // ANCHOR_END: init

    /// The counter of a region another process laid out, with the `--sync` it chose. The
    /// header is checked first: magic, version, size, sync code, state, loops (1 to
    /// [`MAX_LOOPS`], remembered), and a counter no greater than twice the loops.
    ///
    /// # Safety
    ///
    /// `base` is the start of a shared region of [`REGION`] bytes, aligned to a page, mapped
    /// while the `Counter` lives.
    pub unsafe fn existing(base: *mut u8, label: &str) -> Result<Counter> {
        let mut counter = Counter {
            base,
            sync: Sync::None,
            mutex: None,
            sem: None,
            loops: 0,
            label: label.to_owned(),
        };
        let code = counter.word32(SYNC).load(Ordering::Relaxed);
        counter.sync = Sync::from_code(code).ok_or_else(|| counter.garbage())?;
        let loops = counter.word64(LOOPS).load(Ordering::Relaxed);
        if !(1..=MAX_LOOPS).contains(&loops) {
            return Err(counter.garbage());
        }
        counter.loops = loops;
        counter.validate()?;
        if counter.sync == Sync::Mutex {
            // SAFETY: the header says Counter::init put a raw_sync mutex at LOCK.
            let mutex =
                unsafe { ops::mutex_existing(base.wrapping_add(LOCK), base.wrapping_add(COUNTER)) }
                    .ok_or_else(|| counter.garbage())?;
            counter.mutex = Some(mutex);
        }
        let key = counter.word32(SEM_KEY).load(Ordering::Relaxed);
        counter.sem = match counter.sync {
            // The sem_t is the region's own bytes: the header, checked, is all there is to see.
            Sync::Sem => Some(Semaphore::Unnamed(base.wrapping_add(LOCK).cast())),
            Sync::SemNamed => Some(
                sem::sem_open_existing(&sem_name(key))
                    .map_err(|e| Error::new(format!("sem_open {}", sem_name(key)), e))?,
            ),
            Sync::SysvSem | Sync::SysvSemUndo => Some(
                sem::semget_existing(key as libc::key_t, counter.sync == Sync::SysvSemUndo)
                    .map_err(|e| Error::new(format!("semget {key:#010x}"), e))?,
            ),
            _ => None,
        };
        Ok(counter)
    }

    /// The header still says what `init` wrote, and the counter is no greater than the
    /// increments of both processes: else `NAME: not a shm_counter region`. Checked on
    /// attach, before every lock, and after every timed wait.
    pub fn validate(&self) -> Result<()> {
        let ok = self.word32(MAGIC).load(Ordering::Acquire) == MAGIC_VALUE
            && self.word32(VERSION).load(Ordering::Relaxed) == VERSION_VALUE
            && self.word32(SIZE).load(Ordering::Relaxed) == REGION as u32
            && self.word32(SYNC).load(Ordering::Relaxed) == self.sync.code()
            && (WAITING..=FINISHED).contains(&self.word32(STATE).load(Ordering::Relaxed))
            && self.word64(LOOPS).load(Ordering::Relaxed) == self.loops
            && self.word64(COUNTER).load(Ordering::Relaxed) <= 2 * self.loops;
        if ok { Ok(()) } else { Err(self.garbage()) }
    }

    fn garbage(&self) -> Error {
        Error::msg(self.label.clone(), "not a shm_counter region")
    }

    /// [`Counter::garbage`], found in the lock of a region whose header was right: the state
    /// word set to [`BROKEN`] first, so that the other process says the same, not "the other
    /// process has ended".
    fn broken(&self) -> Error {
        let state = self.word32(STATE);
        state.store(BROKEN, Ordering::SeqCst);
        futex_wake(state);
        self.garbage()
    }

    /// The `--sync` the region was laid out for.
    pub fn sync(&self) -> Sync {
        self.sync
    }

    /// The counter's value now.
    pub fn value(&self) -> u64 {
        self.word64(COUNTER).load(Ordering::SeqCst)
    }

    /// `--loops` of the process that laid the region out (for the second, in `--role` mode):
    /// as the header said at attach.
    pub fn loops(&self) -> u64 {
        self.loops
    }

    /// The counter at the end, when `expected` increments were made: the header checked, and
    /// the count one that `--sync` can give. With a lock or `fetch_add`, exactly `expected`;
    /// with `none`, at most that (updates get lost, never made up). Anything else was written
    /// by someone else: `NAME: not a shm_counter region`, not a result.
    pub fn result(&self, expected: u64) -> Result<u64> {
        self.validate()?;
        let value = self.value();
        let possible = match self.sync {
            Sync::None => value <= expected,
            _ => value == expected,
        };
        if possible {
            Ok(value)
        } else {
            Err(self.garbage())
        }
    }

    /// One increment, protected as `--sync` says. While a lock is slow to come: Ctrl-C ends
    /// the wait, so does a header that changed, and so does a `peer` that has ended.
    // ANCHOR: increment
    pub fn increment(
        &self,
        peer: &mut dyn Peer,
        interrupts: &Interrupts,
        mut trace: impl FnMut(u64),
    ) -> Result<Step> {
        let counter = self.word64(COUNTER);
        let mut recovered = false;
        let before = match self.sync {
            // One indivisible read-modify-write: no increment can be lost.
            Sync::Atomic => ops::increment_atomic(counter),
            // A load, then a store: the other process can increment in between.
            Sync::None => ops::increment_racy(counter),
            Sync::Mutex => {
                let mutex = self.mutex.as_deref().ok_or_else(|| self.garbage())?;
                let guard = self.lock_raw_sync(mutex, peer, interrupts)?;
                // Under the lock, the same load and store as `none`: now nothing can come
                // between them.
                let before = ops::increment_racy(counter);
                trace(before);
                // Unlocked by hand, not by the guard's drop, which panics if the unlock fails
                // (as it does on a mutex overwritten meanwhile).
                std::mem::forget(guard);
                mutex.release().map_err(|e| {
                    let failed = Error::msg("pthread_mutex_unlock", e.to_string());
                    self.validate().err().unwrap_or(failed)
                })?;
                return Ok(Step { before, recovered });
            }
            Sync::Robust => {
                let lock = self.base.wrapping_add(LOCK).cast::<libc::pthread_mutex_t>();
                recovered = self.lock_robust(lock, peer, interrupts)?;
                let before = ops::increment_racy(counter);
                trace(before);
                // Not unlocked if the header changed while it was held: that is not our mutex.
                self.validate()?;
                // SAFETY: this process holds the lock (lock_robust returned Ok).
                // A failure there most likely means the region was overwritten meanwhile.
                unsafe { ops::robust_unlock(lock) }
                    .map_err(|e| self.validate().err().unwrap_or(e))?;
                return Ok(Step { before, recovered });
            }
            Sync::Sem | Sync::SemNamed | Sync::SysvSem | Sync::SysvSemUndo => {
                let sem = self.sem.as_ref().ok_or_else(|| self.garbage())?;
                self.lock_sem(sem, peer, interrupts)?;
                let before = ops::increment_racy(counter);
                trace(before);
                self.validate()?;
                sem.post().map_err(|e| {
                    let failed = Error::new("sem_post", e);
                    self.validate().err().unwrap_or(failed)
                })?;
                return Ok(Step { before, recovered });
            }
        };
        trace(before);
        Ok(Step { before, recovered })
    }
    // ANCHOR_END: increment

    /// Locks as [`Counter::increment`] does, increments, and then ends this process with
    /// SIGKILL while it still holds the lock: the other process's problem to survive.
    pub fn increment_and_die_holding_the_lock(&self) -> Result<()> {
        match self.sync {
            Sync::Mutex => {
                let mutex = self.mutex.as_deref().ok_or_else(|| self.garbage())?;
                let guard = mutex
                    .lock()
                    .map_err(|e| Error::msg("pthread_mutex_lock", e.to_string()))?;
                self.word64(COUNTER).fetch_add(1, Ordering::Relaxed);
                std::mem::forget(guard);
            }
            Sync::Robust => {
                let lock = self.base.wrapping_add(LOCK).cast::<libc::pthread_mutex_t>();
                // SAFETY: Counter::init made a robust mutex there, in this process.
                check("pthread_mutex_lock", unsafe {
                    libc::pthread_mutex_lock(lock)
                })?;
                self.word64(COUNTER).fetch_add(1, Ordering::Relaxed);
            }
            Sync::Sem | Sync::SemNamed | Sync::SysvSem | Sync::SysvSemUndo => {
                let sem = self.sem.as_ref().ok_or_else(|| self.garbage())?;
                while sem.wait(SLICE).map_err(|e| Error::new("sem_wait", e))? != Wait::Taken {}
                self.word64(COUNTER).fetch_add(1, Ordering::Relaxed);
            }
            Sync::Atomic | Sync::None => {
                return Err(Error::msg("lock", "there is no lock to die holding"));
            }
        }
        // SAFETY: raise takes a plain value; SIGKILL ends the process here.
        unsafe { libc::raise(libc::SIGKILL) };
        unreachable!("SIGKILL cannot be caught")
    }

    /// A raw_sync mutex is not robust: if its owner died holding it, it stays locked for ever.
    /// Timed tries, [`SLICE`] at most each, with Ctrl-C, the header and `peer` looked at in
    /// between, so that this returns an error instead of waiting for ever.
    ///
    /// A try that fails other than by timing out met mutex bytes that are not a mutex (glibc
    /// says `EINVAL` of a mutex kind it does not know): `NAME: not a shm_counter region`, not
    /// another try. The one `EINVAL` that is no garbage is raw_sync's own (issue #39, see
    /// [`within_this_second`]), and the clock tells when that one can have happened.
    fn lock_raw_sync<'a>(
        &self,
        mutex: &'a dyn LockImpl,
        peer: &mut dyn Peer,
        interrupts: &Interrupts,
    ) -> Result<raw_sync::locks::LockGuard<'a>> {
        // The partner found gone: one more try (it may have let go, or just ended), then no more.
        let mut gone = false;
        loop {
            self.validate()?;
            let before = realtime()?;
            let timeout = within_this_second(&before);
            let err = match mutex.try_lock(Timeout::Val(timeout)) {
                Ok(guard) => return Ok(guard),
                Err(err) => err,
            };
            match raw_sync_errno(&*err) {
                Some(libc::ETIMEDOUT) => {}
                Some(libc::EINVAL) if deadline_may_overflow(&before, timeout)? => {}
                _ => return Err(self.broken()),
            }
            interrupts.check()?;
            self.validate()?;
            if gone {
                return Err(Error::msg(
                    "lock",
                    "the other process died holding the raw_sync mutex, which is not robust: \
                     it stays locked for ever (use --sync robust)",
                ));
            }
            gone = !peer
                .alive()
                .map_err(|e| Error::new("fcntl F_OFD_GETLK", e))?;
        }
    }

    /// pthread_mutex_timedlock on the robust mutex, [`SLICE`] at a time. `Ok(true)`: its owner
    /// had died holding it (EOWNERDEAD); pthread_mutex_consistent has made it usable again.
    /// A partner that died holding it is EOWNERDEAD; one that is stopped (SIGSTOP) is
    /// ETIMEDOUT for as long as it is, and Ctrl-C still ends the wait.
    ///
    /// EOWNERDEAD needs the kernel to find the mutex in the dead owner's memory: one that had
    /// unmapped the region before it ended (as unwinding from a panic does) leaves it locked
    /// for ever, as does a third process that holds it. So between two tries `peer` is asked
    /// too: once it has ended, one more try, and then an error instead of waiting for ever.
    fn lock_robust(
        &self,
        m: *mut libc::pthread_mutex_t,
        peer: &mut dyn Peer,
        interrupts: &Interrupts,
    ) -> Result<bool> {
        let mut gone = false;
        loop {
            self.validate()?;
            let deadline = deadline(SLICE)?;
            // SAFETY: the header says Counter::init made a robust mutex at `m`, in the region
            // mapped for the call. (A process that overwrites the region between that check
            // and this call can still corrupt the mutex under glibc: see the chapter.)
            match unsafe { libc::pthread_mutex_timedlock(m, &deadline) } {
                0 => return Ok(false),
                libc::EOWNERDEAD => {
                    // The data the dead owner protected may be half-updated; here it is one
                    // counter, whose store either happened or not. Mark the mutex consistent.
                    self.validate()?;
                    // SAFETY: this process holds the mutex (EOWNERDEAD hands it over locked).
                    unsafe { ops::robust_consistent(m) }?;
                    return Ok(true);
                }
                libc::ETIMEDOUT => interrupts.check()?,
                // The mutex Counter::init made fails in no other way (EINVAL, EAGAIN, ...): its
                // bytes were overwritten. The header may not show it yet (the lock comes first
                // in the region, so a writer that fills it from the start reaches it first).
                _ => return Err(self.broken()),
            }
            self.validate()?;
            if gone {
                return Err(Error::msg(
                    "lock",
                    "the other process has ended, and the robust mutex is still locked: \
                     no one is left to unlock it",
                ));
            }
            gone = !peer
                .alive()
                .map_err(|e| Error::new("fcntl F_OFD_GETLK", e))?;
        }
    }

    /// Takes the semaphore, [`SLICE`] at a time, with Ctrl-C, the header and `peer` looked at
    /// between two waits. A holder that died gives nothing back (but with `SEM_UNDO`, where the
    /// kernel does): once `peer` has ended, one more wait, then an error instead of for ever.
    fn lock_sem(
        &self,
        sem: &Semaphore,
        peer: &mut dyn Peer,
        interrupts: &Interrupts,
    ) -> Result<()> {
        let mut gone = false;
        loop {
            self.validate()?;
            match sem.wait(SLICE) {
                Ok(Wait::Taken) => return Ok(()),
                Ok(Wait::TimedOut) => interrupts.check()?,
                // Removed (EIDRM), or bytes that are no semaphore (EINVAL).
                Err(e) => {
                    let failed = Error::new("sem_wait", e);
                    return Err(self.validate().err().unwrap_or(failed));
                }
            }
            self.validate()?;
            if gone {
                return Err(Error::msg(
                    "lock",
                    "the other process died holding the semaphore, and nothing gives it back: \
                     it stays taken for ever (--sync sysv-sem-undo has the kernel give it back)",
                ));
            }
            gone = !peer
                .alive()
                .map_err(|e| Error::new("fcntl F_OFD_GETLK", e))?;
        }
    }

    /// In a child after fork: the semaphore the parent made, the parent removes.
    pub fn disown(&mut self) {
        if let Some(sem) = &mut self.sem {
            sem.disown();
        }
    }

    /// `sem_unlink` of a named semaphore this process made, once every process that needs it
    /// has it open: from then on, nothing is left with a name, even after a SIGKILL.
    pub fn unlink_semaphore(&mut self) -> Result<()> {
        match &mut self.sem {
            Some(sem) => sem.unlink().map_err(|e| Error::new("sem_unlink", e)),
            None => Ok(()),
        }
    }

    /// The child, after fork: says it is ready, then waits until the parent says go, so that
    /// both count at the same time (else a short count can end before the other has started,
    /// and `--sync none` loses nothing). Waits end on Ctrl-C and when the parent is gone.
    pub fn ready_and_wait_start(
        &self,
        parent: &mut dyn Peer,
        interrupts: &Interrupts,
    ) -> Result<()> {
        let start = self.word32(START);
        start.store(1, Ordering::Release);
        futex_wake(start);
        self.wait_word(START, 2, parent, interrupts)
    }

    /// The parent: waits until the child is ready, then says go.
    pub fn wait_ready_and_start(
        &self,
        child: &mut dyn Peer,
        interrupts: &Interrupts,
    ) -> Result<()> {
        self.wait_word(START, 1, child, interrupts)?;
        let start = self.word32(START);
        start.store(2, Ordering::Release);
        futex_wake(start);
        Ok(())
    }

    fn wait_word(
        &self,
        offset: usize,
        target: u32,
        peer: &mut dyn Peer,
        interrupts: &Interrupts,
    ) -> Result<()> {
        let word = self.word32(offset);
        loop {
            interrupts.check()?;
            let alive = peer.alive().map_err(|e| Error::new("waitpid", e))?;
            self.validate()?;
            let now = word.load(Ordering::Acquire);
            if now >= target {
                return Ok(());
            }
            if !alive {
                return Err(Error::msg("wait", "the other process has ended"));
            }
            futex_wait(word, now, SLICE);
        }
    }

    /// The first, until a second has attached ([`Counter::wait_attached`]) or finished.
    fn wait_state(&self, target: u32, peer: &mut dyn Peer, interrupts: &Interrupts) -> Result<()> {
        let state = self.word32(STATE);
        loop {
            interrupts.check()?;
            // Asked before the state is read: if the peer is gone, the state read after is final.
            let alive = peer
                .alive()
                .map_err(|e| Error::new("fcntl F_OFD_GETLK", e))?;
            self.validate()?;
            let now = state.load(Ordering::Acquire);
            if now >= target {
                return Ok(());
            }
            if !alive {
                return Err(Error::msg("wait", "the other process has ended"));
            }
            futex_wait(state, now, SLICE);
        }
    }

    /// The first waits for a second to attach.
    pub fn wait_attached(&self, interrupts: &Interrupts) -> Result<()> {
        self.wait_state(ATTACHED, &mut Anyone, interrupts)
    }

    /// The first waits for the second to finish.
    pub fn wait_finished(&self, second: &mut dyn Peer, interrupts: &Interrupts) -> Result<()> {
        self.wait_state(FINISHED, second, interrupts)
    }

    /// The second attaches: compare-and-swap of the state from "waiting" to "attached", so
    /// that a second second is refused instead of counting beside the first two.
    pub fn attach(&self) -> Result<()> {
        let state = self.word32(STATE);
        match state.compare_exchange(WAITING, ATTACHED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                futex_wake(state);
                Ok(())
            }
            Err(ATTACHED | FINISHED) => Err(Error::msg(
                self.label.clone(),
                "a second process is already attached to this first",
            )),
            Err(_) => Err(self.garbage()),
        }
    }

    /// Whether the second has made all its increments (then its end is no error).
    pub fn finished(&self) -> bool {
        self.word32(STATE).load(Ordering::Acquire) == FINISHED
    }

    /// The second is done.
    pub fn finish(&self) -> Result<()> {
        self.validate()?;
        let state = self.word32(STATE);
        state.store(FINISHED, Ordering::Release);
        futex_wake(state);
        Ok(())
    }

    fn word64(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: `offset` is one of the 8-aligned u64 slots of the layout, inside the region;
        // both processes only touch it atomically.
        unsafe { AtomicU64::from_ptr(self.base.wrapping_add(offset).cast()) }
    }

    fn word32(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: as for word64, for a 4-aligned u32 slot.
        unsafe { AtomicU32::from_ptr(self.base.wrapping_add(offset).cast()) }
    }
}

/// futex(word, FUTEX_WAIT, expected, timeout): sleeps while `word` holds `expected`, at most
/// `timeout`. Not FUTEX_PRIVATE: the word is shared with another process. Every outcome
/// (woken, timed out, the word already changed, EINTR) is fine: the caller looks again.
fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as _,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a valid, aligned u32 for the call; `ts` lives across it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts,
            std::ptr::null::<u32>(),
            0,
        )
    };
}

/// futex(word, FUTEX_WAKE, INT_MAX): wakes whoever waits on `word`.
fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE only reads its address.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX) };
}

/// clock_gettime(CLOCK_REALTIME) + `d`, carried into the seconds: the absolute deadline
/// pthread_mutex_timedlock takes.
fn deadline(d: Duration) -> Result<libc::timespec> {
    let now = realtime()?;
    let nsec = now.tv_nsec as u64 + u64::from(d.subsec_nanos());
    Ok(libc::timespec {
        tv_sec: now
            .tv_sec
            .saturating_add((d.as_secs() + nsec / 1_000_000_000) as _),
        tv_nsec: (nsec % 1_000_000_000) as libc::c_long,
    })
}

/// A timeout for raw_sync that ends before the clock's next whole second: [`SLICE`], or half
/// the time left in the second that `now` (the clock just read) is in.
///
/// raw_sync 0.1.5 adds the nanoseconds of a timeout to the clock's without carrying into the
/// seconds, and pthread_mutex_timedlock refuses a tv_nsec of 10^9 or more with EINVAL (raw_sync
/// issue #39). raw_sync reads the clock a little after `now`; half of what is left leaves it
/// that little. (If it reads it later than that, or in the next second, the try fails at once
/// with EINVAL: [`deadline_may_overflow`] tells, and the loop simply tries again.)
fn within_this_second(now: &libc::timespec) -> Duration {
    let left = 999_999_999 - now.tv_nsec as u64;
    SLICE.min(Duration::from_nanos((left / 2).max(1)))
}

/// Whether raw_sync, reading the clock after `before` and adding `timeout`, can have made a
/// tv_nsec of 10^9 or more: its reading was at most now's.
fn deadline_may_overflow(before: &libc::timespec, timeout: Duration) -> Result<bool> {
    let now = realtime()?;
    Ok(now.tv_sec != before.tv_sec
        || now.tv_nsec as u64 + u64::from(timeout.subsec_nanos()) >= 1_000_000_000)
}

/// The error number in one of raw_sync's lock errors, `Failed to acquire mutex : 110`.
fn raw_sync_errno(err: &dyn std::error::Error) -> Option<i32> {
    err.to_string().rsplit(' ').next()?.parse().ok()
}

/// Makes the semaphore `sync` asks for: the unnamed one at `lock` (in the region), or a named
/// or System V one under a random name or key, another if that is taken. Returns it and the
/// key (or the name's random part) for the header, which tells the second where it is.
///
/// # Safety
///
/// For `Sync::Sem`, as [`sem::sem_init`] says of `lock`.
unsafe fn new_semaphore(sync: Sync, lock: *mut libc::sem_t) -> Result<(Semaphore, u32)> {
    let mut tries = 0;
    loop {
        let r = common::random_u32();
        let made = match sync {
            // SAFETY: the caller's promise.
            Sync::Sem => unsafe { sem::sem_init(lock) }.map_err(|e| (e, "sem_init".to_owned())),
            Sync::SemNamed => sem::sem_open_create(&sem_name(r))
                .map_err(|e| (e, format!("sem_open {}", sem_name(r)))),
            _ => {
                let key = sem_key(r);
                sem::semget_create(key as libc::key_t, sync == Sync::SysvSemUndo)
                    .map_err(|e| (e, format!("semget {key:#010x}")))
            }
        };
        match made {
            Ok(sem) => {
                let key = if sync == Sync::SemNamed {
                    r
                } else {
                    sem_key(r)
                };
                return Ok((sem, key));
            }
            Err((e, _)) if e.kind() == io::ErrorKind::AlreadyExists && tries < 10 => tries += 1,
            Err((e, call)) => return Err(Error::new(call, e)),
        }
    }
}

/// A named semaphore's name: `/shm-by-example.shm_counter.sem.RANDOM`, the file
/// `/dev/shm/sem.shm-by-example.shm_counter.sem.RANDOM` (which `make clean-ipc` knows).
fn sem_name(r: u32) -> String {
    format!("/shm-by-example.shm_counter.sem.{r:08x}")
}

/// A System V semaphore's key, in the range `make clean-ipc` knows: 0x5342xxxx.
fn sem_key(r: u32) -> u32 {
    0x5342_0000 | (r & 0xffff)
}

/// `--name`: a name as `shm_open` wants it (`common::posix::parse_name`), kept as a `String`.
pub fn parse_name(s: &str) -> std::result::Result<String, String> {
    common::posix::parse_name(s).map(|_| s.to_owned())
}

fn realtime() -> Result<libc::timespec> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a writable timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) } == -1 {
        return Err(Error::last_os_error("clock_gettime"));
    }
    Ok(now)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use raw_sync::locks::{LockInit, Mutex};

    #[test]
    fn the_layout_fits() {
        assert!(<Mutex as LockInit>::size_of(None) <= COUNTER - LOCK);
        const { assert!(STATE + 4 <= REGION) };
    }

    #[test]
    fn a_raw_sync_timeout_never_crosses_a_second() {
        for _ in 0..1000 {
            let now = realtime().unwrap();
            let d = within_this_second(&now);
            assert!(d <= SLICE && !d.is_zero());
            assert!(now.tv_nsec as u64 + u64::from(d.subsec_nanos()) < 1_000_000_000);
        }
        for ns in [0, 900_000_000, 999_999_998, 999_999_999] {
            let now = libc::timespec {
                tv_sec: 1,
                tv_nsec: ns,
            };
            assert!(ns as u64 + within_this_second(&now).as_nanos() as u64 <= 1_000_000_000);
        }
        let t = deadline(Duration::from_millis(999)).unwrap();
        assert!((0..1_000_000_000).contains(&t.tv_nsec));
    }

    #[test]
    fn raw_sync_errors_carry_their_number() {
        let e: Box<dyn std::error::Error> = "Failed to acquire mutex : 110".into();
        assert_eq!(raw_sync_errno(&*e), Some(libc::ETIMEDOUT));
        let e: Box<dyn std::error::Error> = "Failed to acquire mutex : 22".into();
        assert_eq!(raw_sync_errno(&*e), Some(libc::EINVAL));
        let e: Box<dyn std::error::Error> = "something else".into();
        assert_eq!(raw_sync_errno(&*e), None);
    }
}
// ANCHOR_END: all
