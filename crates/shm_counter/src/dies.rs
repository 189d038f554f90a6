//! A process that dies holding the lock: the child takes it, increments once, and is killed
//! (SIGKILL) before it can give it back. What the parent meets then depends on the lock: a
//! robust mutex says EOWNERDEAD and is repaired; a System V semaphore taken with SEM_UNDO is
//! given back by the kernel; every other lock stays taken for ever, and the parent, seeing its
//! child gone, gives up with one line instead of waiting for ever.

use common::{Child, Context, Fork, Interrupts, Result, exit_child, fork};

use crate::count::{ChildPeer, count, report};
use crate::region::{Backing, Region};
use crate::{Counter, Sync};

// ANCHOR: dies
/// `--child-dies-holding-lock`: the child dies holding the lock; the parent then makes its
/// `loops` increments, if the lock lets it.
pub fn holder_dies(
    backing: Backing,
    sync: Sync,
    loops: u64,
    interrupts: &Interrupts,
) -> Result<()> {
    let mut region = Region::create(backing, None, None)?;
    // SAFETY: the region is REGION bytes, page-aligned, mapped until `region` is dropped at
    // the end of this function, and not shared with anyone yet.
    let mut counter = unsafe { Counter::init(region.base(), sync, loops, region.label()) }?;
    println!(
        "backing {}, sync {}: the child increments once and dies holding the lock; then the parent increments {loops} times",
        region.kind(),
        sync.name(),
    );
    // SAFETY: this program starts no threads; the child ends with exit_child or SIGKILL.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            // What the parent made, the parent removes.
            region.disown();
            counter.disown();
            // lock; (*ptr)++; kill(getpid(), SIGKILL): no unlock, ever.
            if let Err(err) = counter.increment_and_die_holding_the_lock() {
                eprintln!("shm_counter: child: {err}");
            }
            exit_child(1)
        }
        Fork::Parent(pid) => {
            let mut child = Child::new(pid);
            // Let the child take the lock and die first: then the parent's first lock finds
            // it held by a dead process, every time.
            println!("child: took the lock, incremented, and was killed holding it");
            while child.try_wait().context("waitpid")?.is_none() {
                std::thread::yield_now();
            }
            let mut gone = ChildPeer(&mut child);
            count(
                &counter, "parent", loops, false, &mut gone, false, interrupts,
            )?;
            let status = child.wait().context("waitpid")?;
            if !status.success() {
                println!("child: {status}");
            }
            counter.validate()?;
            report(counter.value(), loops + 1);
            Ok(())
        }
    }
}
// ANCHOR_END: dies
