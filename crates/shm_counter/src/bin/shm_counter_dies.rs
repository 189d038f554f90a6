// ANCHOR: all
//! shm_counter_dies: the child takes the lock, increments once, and is killed (SIGKILL)
//! holding it; then the parent tries to make its increments. Which locks survive that?
//!
//! What seed 000's counter programs (UNP vol. 2's `incr2.c`, `incr3.c`) never show: their
//! semaphore stays taken for ever when its holder dies. The same as
//! `shm_counter --child-dies-holding-lock`. Chapter: `docs/src/shm_counter.md`, "A process
//! that dies holding the lock".
//!
//! ```text
//! $ shm_counter_dies --sync robust       # EOWNERDEAD: the parent repairs the mutex, counts
//! $ shm_counter_dies --sync sysv-sem-undo # the kernel gives the semaphore back
//! $ shm_counter_dies --sync sem          # taken for ever: the parent gives up, one line
//! ```
//!
//! Run it with cargo, from anywhere in the workspace (its flags after `--`):
//! `cargo run -p shm_counter --bin shm_counter_dies -- --sync robust`.
//!
//! Exit status: 0 the parent counted, 1 the lock stayed taken or a call failed, 2 bad arguments.

#[cfg(not(target_os = "linux"))]
fn main() {
    common::linux_only!("a futex(2) for its state word, robust mutexes")
}

#[cfg(target_os = "linux")]
use clap::Parser;
#[cfg(target_os = "linux")]
use common::{Context, Interrupts, Result, err_exit, usage_error};
#[cfg(target_os = "linux")]
use shm_counter::region::Backing;
#[cfg(target_os = "linux")]
use shm_counter::{MAX_LOOPS, Sync, dies};

/// The child dies holding the lock; does the parent get it?
#[derive(Parser, Debug)]
#[command(
    name = "shm_counter_dies",
    version,
    after_help = "A holder that dies, which seed 000's counter programs never show.\nChapter 8: docs/src/shm_counter.md, \"A process that dies holding the lock\""
)]
#[cfg(target_os = "linux")]
struct Args {
    /// The lock: any --sync but atomic and none
    #[arg(long, value_enum, default_value_t = Sync::Robust)]
    sync: Sync,

    /// Increments the parent makes after the child's one
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=MAX_LOOPS))]
    loops: u64,

    /// Where the counter lives
    #[arg(long, value_enum, default_value_t = Backing::Anon)]
    backing: Backing,
}

#[cfg(target_os = "linux")]
fn main() {
    common::default_signals();
    let args = Args::parse();
    if !args.sync.has_lock() {
        usage_error::<Args>("--sync atomic and --sync none have no lock to die holding");
    }
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

#[cfg(target_os = "linux")]
fn run(args: &Args) -> Result<()> {
    // SIGINT and friends wait until this program has removed what it made (and its child).
    let interrupts = Interrupts::block().context("sigprocmask")?;
    dies::holder_dies(args.backing, args.sync, args.loops, &interrupts)?;
    interrupts.check()
}
// ANCHOR_END: all
