//! Two unrelated processes share the counter: the first creates a named POSIX object and
//! waits; the second, started by hand in another terminal, opens it by name. Neither is the
//! other's parent, so each learns that the other is alive from an OFD lock the other holds on
//! one byte of the object (see `Holder`), and the first removes the object on every way out.

use common::{Context, Error, Interrupts, Result};

use crate::count::{count, report};
use crate::region::{Backing, Region};
use crate::{Counter, FIRST_BYTE, Holder, Peer, SECOND_BYTE, Sync, hold};

// ANCHOR: first
/// The first of two unrelated processes: creates the object `name`, says how to start the
/// second (`start_second`), counts with it, reports, removes the object.
pub fn first(
    name: &str,
    sync: Sync,
    loops: u64,
    trace: bool,
    start_second: &str,
    interrupts: &Interrupts,
) -> Result<()> {
    // shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600); ftruncate; posix_fallocate; mmap.
    let region = Region::create(Backing::Posix, None, Some(name))?;
    // SAFETY: the object is REGION bytes, mapped while `region` lives, and no second can use
    // it before the magic word is set, last, by init.
    let mut counter = unsafe { Counter::init(region.base(), sync, loops, name) }?;
    // fcntl(fd, F_OFD_SETLK, byte 0): "the first is alive", for the second to see.
    if !hold(region.fd(), FIRST_BYTE).context("fcntl F_OFD_SETLK")? {
        return Err(Error::msg(
            name,
            "another process holds the first's lock on it",
        ));
    }
    println!(
        "first: created {name}, sync {}, {loops} increments each; now start:",
        sync.name()
    );
    println!("  {start_second}");

    // Wait until the second has attached; Ctrl-C or a region overwritten end the wait.
    counter.wait_attached(interrupts)?;
    // sem_unlink: the second has its named semaphore open (if --sync sem-named); no name left.
    counter.unlink_semaphore()?;
    println!("first: the second process has attached; counting");
    let mut second = Holder::new(region.fd(), SECOND_BYTE);
    count(
        &counter,
        "first",
        loops,
        trace,
        &mut second,
        true,
        interrupts,
    )?;
    counter.wait_finished(&mut second, interrupts)?;
    report(counter.result(2 * loops)?, 2 * loops);
    println!("first: removing {name} (shm_unlink)");
    drop(region);
    Ok(())
}
// ANCHOR_END: first

// ANCHOR: second
/// The second of two unrelated processes: opens the first's object `name` and counts, as many
/// increments as the first said in the region, protected as it chose.
pub fn second(name: &str, trace: bool, interrupts: &Interrupts) -> Result<()> {
    // shm_open(name, O_RDWR, 0); fstat; mmap.
    let region = Region::open(name)?;
    // SAFETY: the object is REGION bytes (Region::open checked), mapped while `region` lives.
    let counter = unsafe { Counter::existing(region.base(), name) }?;
    // A first that was killed could not remove its object: its OFD lock went with it.
    let mut first = Holder::new(region.fd(), FIRST_BYTE);
    if !first.alive().context("fcntl F_OFD_GETLK")? {
        return Err(Error::msg(
            format!("open {name}"),
            "the first process is gone: a leftover object (make clean-ipc removes it)",
        ));
    }
    // fcntl(fd, F_OFD_SETLK, byte 1), then the state from "waiting" to "attached": one second
    // per first.
    if !hold(region.fd(), SECOND_BYTE).context("fcntl F_OFD_SETLK")? {
        return Err(Error::msg(
            name,
            "a second process is already attached to this first",
        ));
    }
    counter.attach()?;
    let loops = counter.loops();
    println!(
        "second: attached {name}, sync {}, {loops} increments each (the first's)",
        counter.sync().name()
    );
    count(
        &counter, "second", loops, trace, &mut first, true, interrupts,
    )?;
    counter.finish()?;
    println!("second: done");
    Ok(())
}
// ANCHOR_END: second
