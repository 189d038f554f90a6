//! The loop both processes run, and what they print at the end: UNP's
//! `for (i = 0; i < nloop; i++) { sem_wait(mutex); printf("child: %d\n", (*ptr)++); sem_post(mutex); }`.

use std::time::Duration;

use common::{Child, Context, Error, Interrupts, Result};

use crate::{Counter, Peer};

// ANCHOR: count
/// `loops` increments of `counter`, each protected as the region's `--sync` says; with
/// `trace`, each value printed as `who: VALUE`, as the C programs print them.
///
/// Every 65536 increments: a Ctrl-C? And, if `needs_peer` (a child without its parent, one of
/// the --role pair without the other), is the other still there (or, for the second, done)?
pub fn count(
    counter: &Counter,
    who: &str,
    loops: u64,
    trace: bool,
    peer: &mut dyn Peer,
    needs_peer: bool,
    interrupts: &Interrupts,
) -> Result<()> {
    for i in 0..loops {
        if i % 65_536 == 0 {
            interrupts.check()?;
            // The region first: a partner that ended because it found garbage was no death.
            counter.validate()?;
            if needs_peer && !peer.alive().context("peer")? {
                // Looked at again: one that stopped on garbage in the lock said so in the
                // region before it ended.
                counter.validate()?;
                if !counter.finished() {
                    return Err(Error::msg(
                        who.to_owned(),
                        "the other process has ended; stopping",
                    ));
                }
            }
        }
        let step = counter.increment(peer, interrupts, |before| {
            if trace {
                println!("{who}: {before}");
            }
        })?;
        if step.recovered {
            println!(
                "{who}: the lock's owner died holding it (EOWNERDEAD); pthread_mutex_consistent made it usable again"
            );
        }
    }
    Ok(())
}
// ANCHOR_END: count

/// `counter = 200000, expected 200000, lost updates 0`
pub fn report(value: u64, expected: u64) {
    println!(
        "counter = {value}, expected {expected}, lost updates {}",
        expected.saturating_sub(value)
    );
}

/// `--time`: `12.3 ns per increment (200000 increments in 2.5 ms)`
pub fn per_increment(elapsed: Duration, increments: u64) {
    let ns = elapsed.as_nanos() as f64 / increments as f64;
    println!(
        "{ns:.1} ns per increment ({increments} increments in {:.1} ms)",
        elapsed.as_secs_f64() * 1e3
    );
}

/// The child, seen from the parent: alive until waitpid says otherwise.
#[derive(Debug)]
pub struct ChildPeer<'a>(pub &'a mut Child);

impl Peer for ChildPeer<'_> {
    fn alive(&mut self) -> std::io::Result<bool> {
        Ok(self.0.try_wait()?.is_none())
    }
}

/// The parent, seen from the child: gone once the child has been handed to another parent.
#[derive(Debug)]
pub struct ParentPeer(pub libc::pid_t);

impl ParentPeer {
    /// This process, as the parent of the child it is about to fork: call it before `fork`.
    pub fn this_process() -> ParentPeer {
        // SAFETY: getpid has no preconditions.
        ParentPeer(unsafe { libc::getpid() })
    }
}

impl Peer for ParentPeer {
    fn alive(&mut self) -> std::io::Result<bool> {
        // SAFETY: getppid has no preconditions.
        Ok(unsafe { libc::getppid() } == self.0)
    }
}
