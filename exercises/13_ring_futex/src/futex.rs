//! Exercise 13: port the handoff of crates/ipc_bench/c/futex_handoff.c: `wait_for` (the
//! sleep on a word until the other side changes it), `publish` (change it, and wake the other
//! side if it sleeps), and the two futex(2) calls under them. The ring, the mailbox, the
//! regions and the watch are the example's own; every shared-memory row of ipc_bench goes
//! through the functions of this file.
//!
//! Read first: docs/src/benchmark.md ("The transports: copies and system calls", "What the
//! sleeping flag costs"; its "The code" shows the finished file: read it after you have tried).
//! The task: exercises/13_ring_futex/README.md. Check: `cargo run -p exercises -- check 13`.
//!
//! Each `todo!()` sits under the C line it ports. `Wait`, the spinning part of `wait_for`,
//! `spin_until`, `look` and `low_half` are given.
// A skeleton: the steps after the first `todo!()` cannot run yet, and their variables are not
// used until you write them.
#![allow(unreachable_code, unused_variables, unused_imports, dead_code)]

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::watch::{EVERY, Stop, Watch};

/// How a side waits for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Block,
    SpinThenBlock,
    Spin,
}

/// How long `SpinThenBlock` spins before it sleeps.
const SPIN_FOR: Duration = Duration::from_micros(50);

/// How many turns a spinning side makes between two looks at the clock (each a few ns).
const SPIN_TURNS: u32 = 4096;

/// Waits until `word` holds `want`. `sleeping` is this side's flag; `watch` ends the wait
/// (`Err`) if the partner dies or, in the parent, a signal arrives.
#[inline]
pub fn wait_for(
    word: &AtomicU64,
    want: u64,
    sleeping: &AtomicU32,
    how: Wait,
    watch: &mut Watch,
) -> io::Result<()> {
    if word.load(Ordering::Acquire) == want {
        return Ok(());
    }
    if how != Wait::Block {
        // The clock is read only every 256 turns, and first after 256: a wait that ends
        // quickly, the common case, never pays for it.
        let mut deadline: Option<Instant> = None;
        let mut n: u32 = 0;
        loop {
            if word.load(Ordering::Acquire) == want {
                return Ok(());
            }
            std::hint::spin_loop();
            n = n.wrapping_add(1);
            if how == Wait::Spin && n.is_multiple_of(SPIN_TURNS) {
                look(watch.due(), watch, || word.load(Ordering::Acquire) == want)?;
            }
            if how == Wait::SpinThenBlock && n.is_multiple_of(256) {
                let now = Instant::now();
                match deadline {
                    None => deadline = Some(now + SPIN_FOR),
                    Some(end) if now > end => break,
                    Some(_) => {}
                }
            }
        }
    }
    // The C's wait_for, from here: sleep until the word changes.
    // Step 1. atomic_store(sleeping, 1);  uint32_t now = atomic_load(word);
    //         (SeqCst, both: either the waker sees the flag, or FUTEX_WAIT sees the new value)
    // Step 2. if (now == want) { atomic_store(sleeping, 0); return; }
    // Step 3. if (!futex_wait(word, now)) check_partner();   atomic_store(sleeping, 0);
    //         (here `futex_wait(word, now, EVERY)`; after a timeout, the watch looks:
    //         `look(watch.check(), watch, || word.load(Ordering::Acquire) == want)?`)
    //         and round again until the word holds `want`
    todo!("the sleeping loop: the flag, FUTEX_WAIT, the watch")
}

/// Spins until `word` holds `want` (the cache-line ping-pong), looking at the clock every
/// 4096 turns, like `Wait::Spin`.
#[inline]
pub fn spin_until(word: &AtomicU32, want: u32, watch: &mut Watch) -> io::Result<()> {
    let mut n: u32 = 0;
    while word.load(Ordering::Acquire) != want {
        std::hint::spin_loop();
        n = n.wrapping_add(1);
        if n.is_multiple_of(SPIN_TURNS) {
            look(watch.due(), watch, || word.load(Ordering::Acquire) == want)?;
        }
    }
    Ok(())
}

/// The result of a look by the watch, during a wait for `done`. A partner that has ended may
/// have ended after its last store (a child exits once its last reply is written): the wait
/// then looks at its word once more, and only fails if the word is still not what it waits for.
fn look(watched: io::Result<()>, watch: &Watch, done: impl Fn() -> bool) -> io::Result<()> {
    match watched {
        Err(_) if matches!(watch.stopped(), Some(Stop::Ended(_))) && done() => Ok(()),
        other => other,
    }
}

/// Sets `word` to `value` and wakes the other side if its flag says it sleeps. With `Spin`
/// the other side never sleeps: a plain Release store, no flag to read, no fence.
pub fn publish(word: &AtomicU64, value: u64, other_sleeping: &AtomicU32, how: Wait) {
    // Step 4. atomic_store(word, value);
    //         (with `Wait::Spin` nobody sleeps: a Release store, and return)
    // Step 5. if (atomic_load(other_sleeping)) futex_wake(word);
    todo!("store, and wake the other side if its flag says it sleeps")
}

/// The address of the low 32 bits of `word`, which is what the futex calls watch.
fn low_half(word: &AtomicU64) -> *mut u32 {
    let offset = if cfg!(target_endian = "little") { 0 } else { 1 };
    word.as_ptr().cast::<u32>().wrapping_add(offset)
}

/// futex(word, FUTEX_WAIT, expected, &timeout): sleeps while the low half of `word` still
/// holds the low half of `expected`, for `timeout` at most; returns false if the time ran
/// out or a signal interrupted the sleep.
/// Not FUTEX_PRIVATE_FLAG: the word is shared between processes.
fn futex_wait(word: &AtomicU64, expected: u64, timeout: Duration) -> bool {
    // Step 6. syscall(SYS_futex, word, FUTEX_WAIT, expected, &timeout, NULL, 0)
    //         (on the low half of the word: `low_half(word)`, `expected as u32`; a relative
    //         libc::timespec; not FUTEX_PRIVATE_FLAG, the word is shared between processes)
    //         == -1: return errno != ETIMEDOUT && errno != EINTR;
    todo!("FUTEX_WAIT, at most `timeout`")
}

/// futex(word, FUTEX_WAKE, 1): wakes one process sleeping on `word`.
pub fn futex_wake(word: &AtomicU64) {
    // Step 7. syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
    todo!("FUTEX_WAKE, one waiter")
}
