// ANCHOR: all
//! shm_counter_pair: two unrelated processes increment one counter in a named POSIX
//! shared-memory object. Neither is the other's parent: they meet by the object's name.
//!
//! Ports the counter programs seed 000 (§2, §3) points to, UNP vol. 2's `incr2.c` (§12.3),
//! whose parent and child open a semaphore by name, taken one step further: two programs
//! started by hand. The same as `shm_counter --backing posix --name NAME --role first|second`.
//! Chapter: `docs/src/shm_counter.md`, "Two unrelated processes".
//!
//! ```text
//! $ shm_counter_pair first /count           # terminal 1: creates /count, waits
//! $ shm_counter_pair second /count          # terminal 2: opens it; both count
//! ```
//!
//! The first removes the object on every way out (Ctrl-C included); a first killed with
//! SIGKILL leaves it, and `make clean-ipc` removes it.
//!
//! Run it with cargo, from anywhere in the workspace (its arguments after `--`), in two
//! terminals: `cargo run -p shm_counter --bin shm_counter_pair -- first /count`, then
//! `cargo run -p shm_counter --bin shm_counter_pair -- second /count`.
//!
//! Exit status: 0 done, 1 a call failed (the message names it), 2 bad arguments.

#[cfg(not(target_os = "linux"))]
fn main() {
    common::linux_only!("a futex(2) for its state word, robust mutexes")
}

#[cfg(target_os = "linux")]
use clap::Parser;
#[cfg(target_os = "linux")]
use common::{Context, Interrupts, Result, err_exit};
#[cfg(target_os = "linux")]
use shm_counter::{MAX_LOOPS, Sync, pair, parse_name};

/// Two unrelated processes increment one counter in a named POSIX shm object.
#[derive(Parser, Debug)]
#[command(
    name = "shm_counter_pair",
    version,
    after_help = "Ports UNP vol. 2's incr2.c (seed 000, §2) as two unrelated processes.\nChapter 8: docs/src/shm_counter.md, \"Two unrelated processes\""
)]
#[cfg(target_os = "linux")]
struct Args {
    /// first: create NAME and wait for a second; second: open the first's NAME
    #[arg(value_enum)]
    role: Role,

    /// The object's name, as shm_open takes it (/count)
    #[arg(value_parser = parse_name)]
    name: String,

    /// Increments each process makes (the first's choice; 1 to 2^40)
    #[arg(long, value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=MAX_LOOPS))]
    loops: u64,

    /// How the increments are kept apart (the first's choice)
    #[arg(long, value_enum, default_value_t = Sync::Mutex)]
    sync: Sync,

    /// Print every increment, `first: 0`, `second: 1`, ...
    #[arg(long)]
    trace: bool,
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
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

#[cfg(target_os = "linux")]
fn run(args: &Args) -> Result<()> {
    // SIGINT and friends wait until this program has removed what it made.
    let interrupts = Interrupts::block().context("sigprocmask")?;
    match args.role {
        Role::First => {
            let second = format!("shm_counter_pair second {}", args.name);
            pair::first(
                &args.name,
                args.sync,
                args.loops,
                args.trace,
                &second,
                &interrupts,
            )
        }
        Role::Second => pair::second(&args.name, args.trace, &interrupts),
    }?;
    interrupts.check()
}
// ANCHOR_END: all
