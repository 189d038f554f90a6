//! Exercise 10: port the calls of crates/shm_counter/c/shm_counter.c that `--sync mutex`
//! makes: the increment (a load and a store, which the lock makes safe), and the set-up of a
//! process-shared mutex in the region, through raw_sync.
//!
//! Read first: docs/src/shm_counter.md ("Step by step", "raw_sync's mutex is not robust").
//! The task: exercises/10_counter_lock/README.md. Check: `cargo run -p exercises -- check 10`.
//!
//! Each `todo!()` sits under the C line it ports. `check` is given; the functions of the other
//! exercises (11: the atomic increment, 12: the robust mutex) are not needed by `--sync mutex`.
// A skeleton: the parameters are not used until you write the steps.
#![allow(unused_variables, unused_imports)]

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Error, Result};
use raw_sync::locks::{LockImpl, LockInit, Mutex};

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

/// A process-shared mutex at `lock`, guarding `data`, made by the process that lays the region
/// out.
///
/// # Safety
///
/// `lock` points to writable memory, shared and aligned, with room for the mutex, that no
/// other process uses yet; `data` is the memory it guards.
pub unsafe fn mutex_init(lock: *mut u8, data: *mut u8) -> Result<Box<dyn LockImpl>> {
    // Step 3. pthread_mutexattr_init(&attr);
    //         pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    //         pthread_mutex_init((pthread_mutex_t *)base, &attr);
    //         pthread_mutexattr_destroy(&attr);
    //         raw_sync makes all four calls; on failure: ERRX_EXIT("pthread_mutex_init: failed")
    todo!("raw_sync's Mutex::new at lock, guarding data")
}

/// The mutex another process made at `lock` with [`mutex_init`]; `None` when raw_sync refuses
/// the bytes there.
///
/// # Safety
///
/// `lock` and `data` are as [`mutex_init`] was given them, in a region still mapped.
pub unsafe fn mutex_existing(lock: *mut u8, data: *mut u8) -> Option<Box<dyn LockImpl>> {
    // Step 4. pthread_mutex_t *mutex = (pthread_mutex_t *)base;
    //         (C casts the shared address; raw_sync wants to be told the mutex exists)
    todo!("raw_sync's Mutex::from_existing")
}

/// Exercise 12 ports this.
///
/// # Safety
///
/// As the example's.
pub unsafe fn robust_init(m: *mut libc::pthread_mutex_t) -> Result<()> {
    unimplemented!("exercise 12: --sync robust")
}

/// Exercise 12 ports this.
///
/// # Safety
///
/// As the example's.
pub unsafe fn robust_consistent(m: *mut libc::pthread_mutex_t) -> Result<()> {
    unimplemented!("exercise 12: --sync robust")
}

/// Exercise 12 ports this.
///
/// # Safety
///
/// As the example's.
pub unsafe fn robust_unlock(m: *mut libc::pthread_mutex_t) -> Result<()> {
    unimplemented!("exercise 12: --sync robust")
}

/// Given: pthread functions return the error number instead of setting errno.
pub fn check(call: &str, rc: libc::c_int) -> Result<()> {
    if rc == 0 {
        return Ok(());
    }
    Err(Error::new(call, io::Error::from_raw_os_error(rc)))
}
