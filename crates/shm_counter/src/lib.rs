//! The shared counter of `shm_counter`: where it lives in the shared region, and the four
//! ways of incrementing it from two processes. See `docs/src/shm_counter.md`.
//!
//! The region is one page:
//!
//! ```text
//! offset 0     the lock: a raw_sync mutex, or a robust pthread_mutex_t   (128 bytes kept)
//! offset 128   the counter, a u64
//! offset 136   --loops of the first process, for the second to use       (--role mode)
//! offset 144   --sync of the first process, for the second to use        (--role mode)
//! offset 148   pid of the first process, pid of the second               (--role mode)
//! offset 156   "SHMC", written last: the region is laid out
//! offset 256   raw_sync event: the second process has attached           (--role mode)
//! offset 512   raw_sync event: the second process has finished           (--role mode)
//! ```

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use raw_sync::Timeout;
use raw_sync::events::{Event, EventImpl, EventInit, EventState};
use raw_sync::locks::{LockImpl, LockInit, Mutex};

/// Bytes in the shared region.
pub const REGION: usize = 4096;
const LOCK: usize = 0;
const COUNTER: usize = 128;
const LOOPS: usize = 136;
const SYNC: usize = 144;
const PIDS: usize = 148;
const MAGIC: usize = 156;
const MAGIC_VALUE: u32 = u32::from_be_bytes(*b"SHMC");
const ATTACHED: usize = 256;
const FINISHED: usize = 512;

const _: () = assert!(size_of::<libc::pthread_mutex_t>() <= COUNTER - LOCK);

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
}

impl Sync {
    fn code(self) -> u32 {
        self as u32
    }

    fn from_code(code: u32) -> Option<Sync> {
        [Sync::Mutex, Sync::Robust, Sync::Atomic, Sync::None]
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
        }
    }
}

/// Whether the other process is still there, so that waiting for a lock it holds, or for an
/// event it would set, never goes on forever.
pub trait Peer {
    /// `false` once the other process has ended.
    fn alive(&mut self) -> std::io::Result<bool>;
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
    /// Lays out a fresh region: the counter at 0, the lock initialised for `sync`.
    ///
    /// # Safety
    ///
    /// `base` is the start of a writable shared region of [`REGION`] bytes, aligned to a page,
    /// that stays mapped while the `Counter` lives, and no other process uses it yet.
    pub unsafe fn init(base: *mut u8, sync: Sync, loops: u64) -> Result<Counter, String> {
        let counter = Counter {
            base,
            sync,
            mutex: None,
        };
        counter.word64(COUNTER).store(0, Ordering::Relaxed);
        counter.word64(LOOPS).store(loops, Ordering::Relaxed);
        counter.word32(SYNC).store(sync.code(), Ordering::Relaxed);
        // SAFETY: getpid has no preconditions.
        counter
            .pid(0)
            .store(unsafe { libc::getpid() }, Ordering::Relaxed);
        let lock = base.wrapping_add(LOCK);
        let mutex = match sync {
            // SAFETY: the lock's bytes are inside the region and unused (the caller's promise).
            Sync::Mutex => Some(
                unsafe { Mutex::new(lock, base.wrapping_add(COUNTER)) }
                    .map_err(|e| e.to_string())?
                    .0,
            ),
            Sync::Robust => {
                // SAFETY: as above; the bytes are aligned for a pthread_mutex_t (page-aligned).
                unsafe { robust_init(lock.cast()) }?;
                None
            }
            Sync::Atomic | Sync::None => None,
        };
        counter.make_events(true)?;
        // Last, with Release: a process that sees the magic sees everything above.
        counter.word32(MAGIC).store(MAGIC_VALUE, Ordering::Release);
        Ok(Counter { mutex, ..counter })
    }

    /// The counter of a region another process laid out, with the `--sync` it chose.
    ///
    /// # Safety
    ///
    /// `base` is the start of a shared region of [`REGION`] bytes, mapped while the `Counter`
    /// lives, that [`Counter::init`] laid out.
    pub unsafe fn existing(base: *mut u8) -> Result<Counter, String> {
        let counter = Counter {
            base,
            sync: Sync::None,
            mutex: None,
        };
        if counter.word32(MAGIC).load(Ordering::Acquire) != MAGIC_VALUE {
            return Err("not a shm_counter object (or not laid out yet)".into());
        }
        let code = counter.word32(SYNC).load(Ordering::Relaxed);
        let sync = Sync::from_code(code)
            .ok_or_else(|| format!("not a shm_counter region (sync code {code})"))?;
        let mutex = match sync {
            // SAFETY: the region was laid out by Counter::init, with the mutex at LOCK.
            Sync::Mutex => Some(
                unsafe {
                    Mutex::from_existing(base.wrapping_add(LOCK), base.wrapping_add(COUNTER))
                }
                .map_err(|e| e.to_string())?
                .0,
            ),
            _ => None,
        };
        Ok(Counter { base, sync, mutex })
    }

    /// The `--sync` the region was laid out for.
    pub fn sync(&self) -> Sync {
        self.sync
    }

    /// The counter's value now.
    pub fn value(&self) -> u64 {
        self.word64(COUNTER).load(Ordering::SeqCst)
    }

    /// One increment, protected as `--sync` says; `peer` is asked whether the other process
    /// is alive when a lock is slow to come.
    pub fn increment(
        &self,
        peer: &mut dyn Peer,
        mut trace: impl FnMut(u64),
    ) -> Result<Step, String> {
        let counter = self.word64(COUNTER);
        match self.sync {
            Sync::Atomic => {
                // One indivisible read-modify-write: no increment can be lost.
                let before = counter.fetch_add(1, Ordering::Relaxed);
                trace(before);
                Ok(Step {
                    before,
                    recovered: false,
                })
            }
            Sync::None => {
                // A load, then a store: two steps, and the other process can increment in
                // between; its update is then overwritten (lost). Atomic load and store, not
                // `*p += 1`: the race is the lesson, undefined behaviour would not be.
                let before = counter.load(Ordering::Relaxed);
                counter.store(before + 1, Ordering::Relaxed);
                trace(before);
                Ok(Step {
                    before,
                    recovered: false,
                })
            }
            Sync::Mutex => {
                let mutex = self.mutex.as_deref().ok_or("no mutex")?;
                let guard = lock_raw_sync(mutex, peer)?;
                // Under the lock, the same load and store as `none`: now nothing can come
                // between them.
                let before = counter.load(Ordering::Relaxed);
                counter.store(before + 1, Ordering::Relaxed);
                trace(before);
                drop(guard);
                Ok(Step {
                    before,
                    recovered: false,
                })
            }
            Sync::Robust => {
                let lock = self.base.wrapping_add(LOCK).cast::<libc::pthread_mutex_t>();
                // SAFETY: Counter::init made a robust mutex there; the region stays mapped.
                let recovered = unsafe { robust_lock(lock) }?;
                let before = counter.load(Ordering::Relaxed);
                counter.store(before + 1, Ordering::Relaxed);
                trace(before);
                // SAFETY: this process holds the lock (robust_lock returned Ok).
                unsafe { robust_unlock(lock) }?;
                Ok(Step { before, recovered })
            }
        }
    }

    /// Locks as [`Counter::increment`] does, increments, and then ends this process with
    /// SIGKILL while it still holds the lock: the other process's problem to survive.
    pub fn increment_and_die_holding_the_lock(&self) -> Result<(), String> {
        match self.sync {
            Sync::Mutex => {
                let mutex = self.mutex.as_deref().ok_or("no mutex")?;
                let guard = mutex.lock().map_err(|e| e.to_string())?;
                self.word64(COUNTER).fetch_add(1, Ordering::Relaxed);
                std::mem::forget(guard);
            }
            Sync::Robust => {
                let lock = self.base.wrapping_add(LOCK).cast::<libc::pthread_mutex_t>();
                // SAFETY: Counter::init made a robust mutex there.
                unsafe { robust_lock(lock) }?;
                self.word64(COUNTER).fetch_add(1, Ordering::Relaxed);
            }
            Sync::Atomic | Sync::None => return Err("there is no lock to die holding".into()),
        }
        // SAFETY: raise takes a plain value; SIGKILL ends the process here.
        unsafe { libc::raise(libc::SIGKILL) };
        unreachable!("SIGKILL cannot be caught")
    }

    /// `--loops` of the process that laid the region out (for the second, in `--role` mode).
    pub fn loops(&self) -> u64 {
        self.word64(LOOPS).load(Ordering::Relaxed)
    }

    /// Pids of the first and the second process (`--role`).
    pub fn pid(&self, which: usize) -> &AtomicI32 {
        assert!(which < 2);
        // SAFETY: PIDS + 4 * which is inside the region, 4-aligned, and only used atomically.
        unsafe { AtomicI32::from_ptr(self.base.wrapping_add(PIDS + 4 * which).cast()) }
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

    /// The two raw_sync events of `--role` mode: "the second has attached" and "has finished".
    /// `fresh`: initialise them (Counter::init does, before the region is marked ready), else
    /// use the ones there.
    fn make_events(&self, fresh: bool) -> Result<[Box<dyn EventImpl>; 2], String> {
        let make = |offset: usize| {
            let mem = self.base.wrapping_add(offset);
            // Each event has its own 256 bytes of the region, more than Event::size_of asks for
            // (checked by a test).
            let made = if fresh {
                // SAFETY: see above; init runs before any other process may use the region.
                unsafe { Event::new(mem, true) }
            } else {
                // SAFETY: see above; init initialised the events before the magic was set.
                unsafe { Event::from_existing(mem) }
            };
            made.map(|(event, _)| event).map_err(|e| e.to_string())
        };
        Ok([make(ATTACHED)?, make(FINISHED)?])
    }

    /// The two events of `--role` mode, as Counter::init laid them out.
    pub fn events(&self) -> Result<[Box<dyn EventImpl>; 2], String> {
        self.make_events(false)
    }
}

/// Waits for `event` a second at a time, asking `peer` and `check` (Ctrl-C) in between.
pub fn wait_event(
    event: &dyn EventImpl,
    peer: &mut dyn Peer,
    mut check: impl FnMut() -> Result<(), common::Error>,
) -> Result<(), common::Error> {
    loop {
        // Whole seconds: see lock_raw_sync.
        if event.wait(Timeout::Val(Duration::from_secs(1))).is_ok() {
            return Ok(());
        }
        check()?;
        if !peer.alive().map_err(|e| common::Error::new("kill", e))? {
            return Err(common::Error::msg("wait", "the other process has ended"));
        }
    }
}

/// Sets an event.
pub fn set_event(event: &dyn EventImpl) -> Result<(), String> {
    event.set(EventState::Signaled).map_err(|e| e.to_string())
}

/// Locks a raw_sync mutex, a second at a time, asking `peer` in between: a raw_sync mutex
/// is not robust, so if its owner died holding it, it stays locked for ever, and this
/// returns an error instead of waiting for ever.
///
/// Whole seconds, because raw_sync 0.1.5 adds the nanoseconds of the timeout to the clock's
/// without carrying into the seconds, and pthread_mutex_timedlock refuses a tv_nsec of 10^9
/// or more with EINVAL (raw_sync issue #39): a timeout with no fraction of a second never
/// overflows.
fn lock_raw_sync<'a>(
    mutex: &'a dyn LockImpl,
    peer: &mut dyn Peer,
) -> Result<raw_sync::locks::LockGuard<'a>, String> {
    loop {
        match mutex.try_lock(Timeout::Val(Duration::from_secs(1))) {
            Ok(guard) => return Ok(guard),
            Err(_) if peer.alive().map_err(|e| e.to_string())? => continue,
            Err(_) => {
                return Err(
                    "the other process died holding the raw_sync mutex, which is not robust: \
                            it stays locked for ever (use --sync robust)"
                        .into(),
                );
            }
        }
    }
}

/// pthread_mutexattr_setpshared(PTHREAD_PROCESS_SHARED) + setrobust(PTHREAD_MUTEX_ROBUST),
/// then pthread_mutex_init.
///
/// # Safety
///
/// `m` points to writable, aligned memory for a pthread_mutex_t that no one uses yet.
unsafe fn robust_init(m: *mut libc::pthread_mutex_t) -> Result<(), String> {
    let mut attr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
    // SAFETY: pthread_mutexattr_init initialises the attribute object it is given.
    check("pthread_mutexattr_init", unsafe {
        libc::pthread_mutexattr_init(attr.as_mut_ptr())
    })?;
    // SAFETY: initialised just above.
    let mut attr = unsafe { attr.assume_init() };
    // SAFETY: `attr` is an initialised attribute object.
    let shared =
        unsafe { libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED) };
    check("pthread_mutexattr_setpshared", shared)?;
    // SAFETY: as above.
    let robust =
        unsafe { libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST) };
    check("pthread_mutexattr_setrobust", robust)?;
    // SAFETY: the caller's promise about `m`; `attr` is initialised.
    let init = unsafe { libc::pthread_mutex_init(m, &attr) };
    // SAFETY: `attr` is no longer needed once the mutex is initialised.
    unsafe { libc::pthread_mutexattr_destroy(&mut attr) };
    check("pthread_mutex_init", init)
}

/// pthread_mutex_lock on a robust mutex. `Ok(true)`: its owner had died holding it
/// (EOWNERDEAD); pthread_mutex_consistent has made it usable again, and this process holds it.
///
/// # Safety
///
/// `m` points to a robust mutex made by [`robust_init`], in memory mapped for the call.
unsafe fn robust_lock(m: *mut libc::pthread_mutex_t) -> Result<bool, String> {
    // SAFETY: the caller's promise.
    match unsafe { libc::pthread_mutex_lock(m) } {
        0 => Ok(false),
        libc::EOWNERDEAD => {
            // The data the dead owner protected may be half-updated; here it is one counter,
            // whose store either happened or not. Mark the mutex consistent and go on.
            // SAFETY: this process holds the mutex (EOWNERDEAD hands it over locked).
            check("pthread_mutex_consistent", unsafe {
                libc::pthread_mutex_consistent(m)
            })?;
            Ok(true)
        }
        rc => check("pthread_mutex_lock", rc).map(|()| false),
    }
}

/// pthread_mutex_unlock.
///
/// # Safety
///
/// This process holds the mutex `m`.
unsafe fn robust_unlock(m: *mut libc::pthread_mutex_t) -> Result<(), String> {
    // SAFETY: the caller's promise.
    check("pthread_mutex_unlock", unsafe {
        libc::pthread_mutex_unlock(m)
    })
}

/// pthread functions return the error number instead of setting errno.
fn check(call: &str, rc: libc::c_int) -> Result<(), String> {
    if rc == 0 {
        return Ok(());
    }
    let reason = std::io::Error::from_raw_os_error(rc).to_string();
    let reason = reason
        .split(" (os error")
        .next()
        .unwrap_or(&reason)
        .to_owned();
    Err(format!("{call}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_fits() {
        assert!(<Event as EventInit>::size_of(None) <= FINISHED - ATTACHED);
        assert!(<Event as EventInit>::size_of(None) <= REGION - FINISHED);
        assert!(<Mutex as LockInit>::size_of(None) <= COUNTER - LOCK);
    }
}
