//! Exercise 11: port the two increments of crates/shm_counter/c/shm_counter.c that take no
//! lock: `--sync none`, a load and a store, which loses updates; and `--sync atomic`, one
//! atomic read-modify-write, which loses none.
//!
//! Read first: docs/src/shm_counter.md ("What goes wrong without a lock",
//! "Why not `*p += 1`"). The task: exercises/11_counter_atomic/README.md. Check: `cargo run -p exercises -- check 11`.
//!
//! Each `todo!()` sits under the C line it ports. `check` is given; the functions of the other
//! exercises (10: the mutex, 12: the robust mutex) are not needed without a lock.
// A skeleton: the parameters are not used until you write the steps.
#![allow(unused_variables, unused_imports)]

use std::io;
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

/// One indivisible read-modify-write: no increment can be lost. Returns the value before.
pub fn increment_atomic(counter: &AtomicU64) -> u64 {
    // Step 3. return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    //         (C11: atomic_fetch_add_explicit(counter, 1, memory_order_relaxed); Relaxed is
    //         enough: the counter guards no other data)
    todo!("one fetch_add")
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
