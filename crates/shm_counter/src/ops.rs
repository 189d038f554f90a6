// ANCHOR: all
//! The calls of crates/shm_counter/c/shm_counter.c that a port writes, one function each: the
//! increment of `--sync none` and of `--sync atomic`, the raw_sync mutex's set-up, and the
//! robust pthread mutex's calls. `counter.rs` calls them, and does the rest: the region's
//! layout, the checks of its header, the timed waits. (Porting exercises 10 to 12 hand out this
//! file as a skeleton.)

use std::io;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Error, Result};
use raw_sync::locks::{LockImpl, LockInit, Mutex};

// ANCHOR: racy
/// `(*counter)++` as the C's `--sync none` does it: a load, then a store. Two steps, and the
/// other process can increment in between; its update is then overwritten (lost). Atomic load
/// and store, not `*p += 1`: the race is the lesson, undefined behaviour would not be. Returns
/// the value before.
pub fn increment_racy(counter: &AtomicU64) -> u64 {
    let before = counter.load(Ordering::Relaxed);
    // Wrapping, as fetch_add does: the bytes are shared, and whoever else writes them must not
    // make this process panic (the header's check catches the value later).
    counter.store(before.wrapping_add(1), Ordering::Relaxed);
    before
}
// ANCHOR_END: racy

// ANCHOR: atomic
/// `atomic_fetch_add_explicit(counter, 1, memory_order_relaxed)`: one indivisible
/// read-modify-write, so no increment can be lost. Relaxed: the counter guards nothing else.
pub fn increment_atomic(counter: &AtomicU64) -> u64 {
    counter.fetch_add(1, Ordering::Relaxed)
}
// ANCHOR_END: atomic

// ANCHOR: mutex
/// `pthread_mutexattr_setpshared(PTHREAD_PROCESS_SHARED)` and `pthread_mutex_init` at `lock`,
/// through raw_sync: a process-shared mutex guarding `data`, made by the process that lays the
/// region out.
///
/// # Safety
///
/// `lock` points to writable memory, shared and aligned, with room for the mutex, that no
/// other process uses yet; `data` is the memory it guards.
pub unsafe fn mutex_init(lock: *mut u8, data: *mut u8) -> Result<Box<dyn LockImpl>> {
    // SAFETY: the caller's promise.
    let (mutex, _size) = unsafe { Mutex::new(lock, data) }
        .map_err(|e| Error::msg("pthread_mutex_init", e.to_string()))?;
    Ok(mutex)
}

/// The mutex another process made at `lock` with [`mutex_init`]: raw_sync's `from_existing`
/// (in C, a cast of the shared address). `None` when raw_sync refuses the bytes there.
///
/// # Safety
///
/// `lock` and `data` are as [`mutex_init`] was given them, in a region still mapped.
pub unsafe fn mutex_existing(lock: *mut u8, data: *mut u8) -> Option<Box<dyn LockImpl>> {
    // SAFETY: the caller's promise.
    let (mutex, _size) = unsafe { Mutex::from_existing(lock, data) }.ok()?;
    Some(mutex)
}
// ANCHOR_END: mutex

// ANCHOR: robust
/// `pthread_mutexattr_setpshared(PTHREAD_PROCESS_SHARED)` and
/// `pthread_mutexattr_setrobust(PTHREAD_MUTEX_ROBUST)`, then `pthread_mutex_init`.
///
/// # Safety
///
/// `m` points to writable, aligned memory for a pthread_mutex_t that no one uses yet.
pub unsafe fn robust_init(m: *mut libc::pthread_mutex_t) -> Result<()> {
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

/// `pthread_mutex_consistent`, after a lock returned `EOWNERDEAD`: without it, the next unlock
/// makes the mutex unusable for good (`ENOTRECOVERABLE`).
///
/// # Safety
///
/// This process holds the robust mutex `m` (EOWNERDEAD hands it over locked).
pub unsafe fn robust_consistent(m: *mut libc::pthread_mutex_t) -> Result<()> {
    // SAFETY: the caller's promise.
    check("pthread_mutex_consistent", unsafe {
        libc::pthread_mutex_consistent(m)
    })
}

/// `pthread_mutex_unlock`.
///
/// # Safety
///
/// This process holds the mutex `m`.
pub unsafe fn robust_unlock(m: *mut libc::pthread_mutex_t) -> Result<()> {
    // SAFETY: the caller's promise.
    check("pthread_mutex_unlock", unsafe {
        libc::pthread_mutex_unlock(m)
    })
}
// ANCHOR_END: robust

/// pthread functions return the error number instead of setting errno: `rc` to a `Result`.
pub fn check(call: &str, rc: libc::c_int) -> Result<()> {
    if rc == 0 {
        return Ok(());
    }
    Err(Error::new(call, io::Error::from_raw_os_error(rc)))
}
// ANCHOR_END: all
