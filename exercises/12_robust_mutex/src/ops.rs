//! Exercise 12: port the robust mutex of `--sync robust`: the calls that make a
//! process-shared mutex robust, and what a process does when it gets the lock of an owner that
//! died holding it. (crates/shm_counter/c/shm_counter.c has no robust mode: its `init` step
//! makes the process-shared mutex you start from; pthread_mutexattr_setrobust(3) and
//! pthread_mutex_consistent(3) give the rest.) counter.rs locks it with
//! `pthread_mutex_timedlock`, 100 ms at a time, and calls your functions.
//!
//! Read first: docs/src/shm_counter.md ("A process that dies holding the lock",
//! "Robust mutexes"). The task: exercises/12_robust_mutex/README.md. Check: `cargo run -p exercises -- check 12`.
//!
//! Each `todo!()` sits under the C line it ports. `check` is given; the functions of the other
//! exercises (10: the raw_sync mutex, 11: the atomic increment) are not needed here.
// A skeleton: the parameters are not used until you write the steps.
#![allow(unused_variables, unused_imports)]

use std::io;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Error, Result};
use raw_sync::locks::LockImpl;

/// `(*counter)++` as two steps: a load, then a store; returns the value before. Under the
/// mutex nothing comes between them; without it (`--sync none`) updates get lost.
pub fn increment_racy(counter: &AtomicU64) -> u64 {
    // Step 1. before = __atomic_load_n(counter, __ATOMIC_RELAXED);
    // Step 2. __atomic_store_n(counter, before + 1, __ATOMIC_RELAXED);
    //         (an atomic load and store, not `*p += 1`: a race on plain memory is undefined
    //         behaviour; and wrapping, so that bytes someone else wrote cannot make it panic)
    todo!("load, then store the value plus one")
}

/// Exercise 11 ports this.
pub fn increment_atomic(counter: &AtomicU64) -> u64 {
    unimplemented!("exercise 11: --sync atomic")
}

/// Exercise 10 ports this.
///
/// # Safety
///
/// As the example's.
pub unsafe fn mutex_init(lock: *mut u8, data: *mut u8) -> Result<Box<dyn LockImpl>> {
    unimplemented!("exercise 10: --sync mutex")
}

/// Exercise 10 ports this.
///
/// # Safety
///
/// As the example's.
pub unsafe fn mutex_existing(lock: *mut u8, data: *mut u8) -> Option<Box<dyn LockImpl>> {
    unimplemented!("exercise 10: --sync mutex")
}

/// A robust, process-shared mutex at `m`.
///
/// # Safety
///
/// `m` points to writable, aligned memory for a pthread_mutex_t that no one uses yet.
pub unsafe fn robust_init(m: *mut libc::pthread_mutex_t) -> Result<()> {
    // Step 3. pthread_mutexattr_t attr; pthread_mutexattr_init(&attr);
    //         (in Rust the attribute object starts as MaybeUninit, and is assumed initialised
    //         only once pthread_mutexattr_init has returned 0)
    // Step 4. pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    // Step 5. pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    // Step 6. pthread_mutex_init(m, &attr); pthread_mutexattr_destroy(&attr);
    //         (each returns an error number, not -1 and errno: `check` turns it into an error
    //         naming the call)
    todo!("the attribute object, shared and robust, then the mutex")
}

/// After a lock returned `EOWNERDEAD`: the lock is this process's, and the data its dead owner
/// guarded may be half-updated. Mark the mutex usable again.
///
/// # Safety
///
/// This process holds the robust mutex `m`.
pub unsafe fn robust_consistent(m: *mut libc::pthread_mutex_t) -> Result<()> {
    // Step 7. pthread_mutex_consistent(m);
    //         (without it, the next unlock makes the mutex unusable for good: ENOTRECOVERABLE)
    todo!("pthread_mutex_consistent")
}

/// # Safety
///
/// This process holds the mutex `m`.
pub unsafe fn robust_unlock(m: *mut libc::pthread_mutex_t) -> Result<()> {
    // Step 8. pthread_mutex_unlock(m);
    todo!("pthread_mutex_unlock")
}

/// Given: pthread functions return the error number instead of setting errno.
pub fn check(call: &str, rc: libc::c_int) -> Result<()> {
    if rc == 0 {
        return Ok(());
    }
    Err(Error::new(call, io::Error::from_raw_os_error(rc)))
}
