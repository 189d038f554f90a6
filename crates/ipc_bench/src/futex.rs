//! The handoff between the two processes: a word in shared memory, and the futex(2) calls
//! that let one side sleep until the other changes it.
//!
//! Three ways to wait, chosen per transport:
//! - `Block`: look once, then sleep in the kernel (FUTEX_WAIT) until woken;
//! - `SpinThenBlock`: look again and again for a few microseconds, then sleep;
//! - `Spin`: never sleep (burns a CPU; only sensible with a CPU for each process).
//!
//! The word is a u64 (a ring slot's "full", a ping-pong's 8-byte message); futex(2) works on
//! 32 bits, so the kernel is given its low half, which changes whenever the word does here.
//!
//! No wait is for ever: a sleep lasts 100 ms at most, and a spinning side reads the clock every
//! 4096 turns; each time, the side's [`Watch`] looks at the partner (has it died?) and, in the
//! parent, at the signals (Ctrl-C). A wait the watch stops returns `Err`.
//!
//! A side that sleeps says so in a flag, so that the other side only pays for FUTEX_WAKE
//! when someone is asleep. The flag and the word are both SeqCst: either the waker sees the
//! flag, or the sleeper's FUTEX_WAIT sees the new value and does not sleep.

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
    loop {
        sleeping.store(1, Ordering::SeqCst);
        let now = word.load(Ordering::SeqCst);
        if now == want {
            sleeping.store(0, Ordering::SeqCst);
            return Ok(());
        }
        let woken = futex_wait(word, now, EVERY);
        sleeping.store(0, Ordering::SeqCst);
        if word.load(Ordering::Acquire) == want {
            return Ok(());
        }
        if !woken {
            // 100 ms without a word from the other side, or a signal: is it still there?
            look(watch.check(), watch, || {
                word.load(Ordering::Acquire) == want
            })?;
        }
    }
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
    if how == Wait::Spin {
        word.store(value, Ordering::Release);
        return;
    }
    word.store(value, Ordering::SeqCst);
    // A load, not a swap(0): in a ring the flag covers every slot, and the sleeper may be
    // waiting on another slot's word than this one; only the sleeper clears it, once awake.
    // (Until it runs, each publish pays a FUTEX_WAKE that finds no one: cheap, and rare.)
    if other_sleeping.load(Ordering::SeqCst) != 0 {
        futex_wake(word);
    }
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
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs() as _,
        tv_nsec: timeout.subsec_nanos().into(),
    };
    // SAFETY: the low half of a live, aligned u64 is a live, aligned u32; FUTEX_WAIT only
    // reads it (in the kernel), and the timeout is a valid relative timespec. EAGAIN (the
    // value changed) and EINTR just return to the caller's loop.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            low_half(word),
            libc::FUTEX_WAIT,
            expected as u32,
            &raw const timeout,
        )
    };
    let errno = io::Error::last_os_error().raw_os_error();
    rc != -1 || !matches!(errno, Some(libc::ETIMEDOUT | libc::EINTR))
}

/// futex(word, FUTEX_WAKE, 1): wakes one process sleeping on `word`.
pub fn futex_wake(word: &AtomicU64) {
    // SAFETY: as for futex_wait; FUTEX_WAKE does not touch memory.
    unsafe { libc::syscall(libc::SYS_futex, low_half(word), libc::FUTEX_WAKE, 1) };
}
