// ANCHOR: all
//! shm_counter: two processes increment one counter in shared memory; with a lock, with an
//! atomic instruction, and without either, to see what goes wrong.
//!
//! Ports the two examples seed 000 (`000_2472ed93582ebe78.txt`, §2 and §3) points to but does
//! not include, 2_ex_shm_increase2.c (the counter in a mapped file) and
//! 3_ex_increase_map_anon.c (in an anonymous mapping): UNP vol. 2's `incr2.c`/`incr3.c`
//! (§12.3: a mapped file, with a named or a memory-based semaphore) and `incr_map_anon.c`
//! (§12.4), where parent and child each add 1 to the counter N times under a semaphore.
//! Chapter: `docs/src/shm_counter.md`.
//!
//! `--backing` chooses where the counter lives: `file` (a mapped file, incr2/incr3), `anon`
//! (MAP_SHARED | MAP_ANONYMOUS, incr_map_anon), `posix` (a POSIX shm object, shm_open) or
//! `shared-memory` (the same object, made with the shared_memory crate, whose limits it shows).
//! `--sync` chooses how the increments are kept apart: `mutex` (a
//! raw_sync mutex in the region), `robust` (a robust pthread mutex, which survives an owner
//! that dies holding it), `sem`, `sem-named`, `sysv-sem`, `sysv-sem-undo` (the semaphores of
//! UNP's programs), `atomic` (fetch_add), or `none` (a load and a store, so updates get lost).
//!
//! ```text
//! $ shm_counter --loops 1000000 --sync none
//! backing anon, sync none: parent and child each increment the counter 1000000 times
//! counter = 1207719, expected 2000000, lost updates 792281
//! ```
//!
//! This program is the first idea, parent and child. The two others have programs of their
//! own, which this one runs too, for the scripts that use its flags:
//! - two unrelated processes, in two terminals: `shm_counter_pair` (src/bin/shm_counter_pair.rs),
//!   or `shm_counter --backing posix --name /count --role first` then `... --role second`;
//! - a process that dies holding the lock: `shm_counter_dies` (src/bin/shm_counter_dies.rs), or
//!   `shm_counter --child-dies-holding-lock`.
//!
//! Run it with cargo, from anywhere in the workspace (its flags after `--`):
//! `cargo run -p shm_counter --bin shm_counter -- --loops 1000000 --sync none`.
//!
//! Exit status: 0 done, 1 a call failed (the message names it), 2 bad arguments.

#[cfg(not(target_os = "linux"))]
fn main() {
    common::linux_only!("a futex(2) for its state word, robust mutexes")
}

#[cfg(target_os = "linux")]
use std::path::PathBuf;
#[cfg(target_os = "linux")]
use std::time::Instant;

#[cfg(target_os = "linux")]
use clap::Parser;
#[cfg(target_os = "linux")]
use common::{Child, Context, Fork, Interrupts, Result, err_exit, exit_child, fork, usage_error};
#[cfg(target_os = "linux")]
use shm_counter::count::{ChildPeer, ParentPeer, count, per_increment, report};
#[cfg(target_os = "linux")]
use shm_counter::region::{Backing, Region};
#[cfg(target_os = "linux")]
use shm_counter::{Counter, MAX_LOOPS, Sync, dies, pair, parse_name};

/// Two processes increment one counter in shared memory.
#[derive(Parser, Debug)]
#[command(
    name = "shm_counter",
    version,
    after_help = "Ports the counter programs seed 000 (§2, §3) points to: UNP vol. 2's incr2.c, incr3.c,\nincr_map_anon.c. Chapter 8: docs/src/shm_counter.md"
)]
#[cfg(target_os = "linux")]
struct Args {
    /// Increments each process makes (1 to 2^40)
    #[arg(long, value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=MAX_LOOPS))]
    loops: u64,

    /// Where the counter lives
    #[arg(long, value_enum, default_value_t = Backing::Anon)]
    backing: Backing,

    /// How the increments are kept apart
    #[arg(long, value_enum, default_value_t = Sync::Mutex)]
    sync: Sync,

    /// Print every increment, `parent: 0`, `child: 1`, ..., as the C programs do
    #[arg(long)]
    trace: bool,

    /// With --backing file: the file (default: an unnamed temp file, gone at exit)
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,

    /// With --backing posix or shared-memory: the object's name
    /// (default: /shm-by-example.shm_counter.RANDOM)
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    name: Option<String>,

    /// Run as one of two unrelated processes sharing a POSIX shm counter (needs --name)
    #[arg(long, value_enum, requires = "name")]
    role: Option<Role>,

    /// The child takes the lock, increments once, and dies (SIGKILL) holding it
    #[arg(long, conflicts_with = "role")]
    child_dies_holding_lock: bool,

    /// Print the time per increment
    #[arg(long)]
    time: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg(target_os = "linux")]
enum Role {
    /// Create the object, wait for the second, count, report, remove the object
    First,
    /// Open the first's object, count, tell the first
    Second,
}

#[cfg(target_os = "linux")]
fn main() {
    common::default_signals();
    let args = Args::parse();
    if args.role.is_some() && args.backing != Backing::Posix {
        usage_error::<Args>(
            "--role needs --backing posix: only a named object can be opened by another process",
        );
    }
    if args.child_dies_holding_lock && !args.sync.has_lock() {
        usage_error::<Args>(
            "--child-dies-holding-lock needs a lock: a --sync other than atomic or none",
        );
    }
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

#[cfg(target_os = "linux")]
fn run(args: &Args) -> Result<()> {
    // SIGINT and friends wait until this program has removed what it made (and its child).
    let interrupts = Interrupts::block().context("sigprocmask")?;
    let name = args.name.as_deref().unwrap_or_default();
    match args.role {
        Some(Role::First) => {
            let second = format!("shm_counter --backing posix --name {name} --role second");
            pair::first(
                name,
                args.sync,
                args.loops,
                args.trace,
                &second,
                &interrupts,
            )
        }
        Some(Role::Second) => pair::second(name, args.trace, &interrupts),
        None if args.child_dies_holding_lock => {
            dies::holder_dies(args.backing, args.sync, args.loops, &interrupts)
        }
        None => parent_and_child(args, &interrupts),
    }?;
    interrupts.check()
}

// ANCHOR: fork
/// incr2.c, incr3.c, incr_map_anon.c: the counter in a region the child inherits.
#[cfg(target_os = "linux")]
fn parent_and_child(args: &Args, interrupts: &Interrupts) -> Result<()> {
    // ptr = mmap(...): the region, of the --backing kind.
    let mut region = Region::create(args.backing, args.file.as_deref(), args.name.as_deref())?;

    // sem_init(&shared->mutex, 1, 1): the lock goes into the region, beside the counter.
    // SAFETY: the region is REGION bytes, page-aligned, mapped until `region` is dropped at
    // the end of this function, and not shared with anyone yet.
    let mut counter =
        unsafe { Counter::init(region.base(), args.sync, args.loops, region.label()) }?;
    println!(
        "backing {}, sync {}: parent and child each increment the counter {} times",
        region.kind(),
        args.sync.name(),
        args.loops
    );
    let start = Instant::now();
    // The parent's pid, taken before the fork: a child that asked getppid() after it could
    // be told 1 already, if the parent was killed in between, and wait for "1" for ever.
    let parent = ParentPeer::this_process();

    // if (fork() == 0) { for (i = 0; i < nloop; i++) ...; exit(0); }
    // SAFETY: this program starts no threads; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            // The child got a copy of the guards of what the parent made (a POSIX object, a
            // semaphore): the parent removes those; the child must not.
            region.disown();
            counter.disown();
            let mut parent = parent;
            let result = counter
                .ready_and_wait_start(&mut parent, interrupts)
                .and_then(|()| {
                    count(
                        &counter,
                        "child",
                        args.loops,
                        args.trace,
                        &mut parent,
                        true,
                        interrupts,
                    )
                });
            if let Err(err) = result {
                // Interrupted with the parent (one Ctrl-C reaches both): die of it, quietly.
                if let Some(signo) = err.signal_number() {
                    common::signal::reraise(signo);
                }
                eprintln!("shm_counter: child: {err}");
                exit_child(1)
            }
            exit_child(0)
        }
        Fork::Parent(pid) => {
            let mut child = Child::new(pid);
            // Both start counting at the same moment (see ready_and_wait_start).
            counter.wait_ready_and_start(&mut ChildPeer(&mut child), interrupts)?;
            let mut peer = ChildPeer(&mut child);
            count(
                &counter, "parent", args.loops, args.trace, &mut peer, false, interrupts,
            )?;
            // waitpid(pid, &status, 0): not in the C, which exits without waiting.
            let status = child.wait().context("waitpid")?;
            let elapsed = start.elapsed();
            let expected = 2 * args.loops;
            if !status.success() {
                println!("child: {status}");
            }
            // A child that did not finish its count explains a short one (its status above);
            // one that did leaves a count that --sync can give, or the region was tampered with.
            let value = if status.success() {
                counter.result(expected)?
            } else {
                counter.validate()?;
                counter.value()
            };
            report(value, expected);
            if args.sync == Sync::None && value == expected {
                println!(
                    "no update was lost this time: the two loops hardly overlapped (a short run, \
                     one CPU, or a busy machine); run it again, or with more --loops"
                );
            }
            if args.time {
                per_increment(elapsed, expected);
            }
            Ok(())
        }
    }
}
// ANCHOR_END: fork
// ANCHOR_END: all
