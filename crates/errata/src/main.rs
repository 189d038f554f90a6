//! errata: the proofs behind `docs/src/errata.md`, one probe per entry.
//!
//! Every entry of the errata chapter says "See it: `errata ID`". The probe makes the calls the
//! claim is about, prints each call and what it returned, and ends with a verdict: whether this
//! machine still behaves as the entry says. `make test` runs every probe and compares what it
//! prints with `tests/transcripts/ID.txt`, so an erratum that stops being true on some kernel
//! fails the build there.
//!
//! ```text
//! $ errata 001-4
//! 001-4: "The offset must be a multiple of 4 KiB, and greater than 0"
//! mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) = ok
//! ...
//! verdict: holds
//! ```
//!
//! `errata --list` lists the entries, `errata all` runs every probe.
//!
//! Run it with cargo, from anywhere in the workspace (its arguments after `--`):
//! `cargo run -p errata -- 001-4`, `cargo run -p errata -- --list`.
//!
//! Exit status: 0 every probe holds, 1 one does not (or a call it needs failed), 2 bad arguments.

#[cfg(not(target_os = "linux"))]
fn main() {
    common::linux_only!("its probes check the Linux kernel's own behaviour")
}

#[cfg(target_os = "linux")]
mod probe;
#[cfg(target_os = "linux")]
mod s000;
#[cfg(target_os = "linux")]
mod s001;
#[cfg(target_os = "linux")]
mod s002;
#[cfg(target_os = "linux")]
mod s003;
#[cfg(target_os = "linux")]
mod s004;

#[cfg(target_os = "linux")]
use clap::Parser;
#[cfg(target_os = "linux")]
use common::{Error, Interrupts, err_exit, usage_error};
#[cfg(target_os = "linux")]
use probe::{Entry, Probe};

/// Run the probe behind an entry of the errata chapter and print its evidence.
#[derive(Parser, Debug)]
#[command(
    name = "errata",
    version,
    after_help = "The probes behind the book's errata of seeds 000 to 004.\nChapter: docs/src/errata.md"
)]
#[cfg(target_os = "linux")]
struct Args {
    /// Entry ids (`001-4`), or `all`
    #[arg(value_name = "ID", required_unless_present = "list")]
    ids: Vec<String>,

    /// List the entries and their claims
    #[arg(long)]
    list: bool,
}

/// Every entry, in the chapter's order.
#[cfg(target_os = "linux")]
fn entries() -> impl Iterator<Item = &'static Entry> {
    [
        s000::ENTRIES,
        s001::ENTRIES,
        s002::ENTRIES,
        s003::ENTRIES,
        s004::ENTRIES,
    ]
    .into_iter()
    .flatten()
}

#[cfg(target_os = "linux")]
fn main() {
    common::default_signals();
    let args = Args::parse();
    if args.list {
        for entry in entries() {
            println!("{:<7} {}", entry.id, entry.claim);
        }
        return;
    }
    let chosen: Vec<&Entry> = if args.ids.iter().any(|id| id == "all") {
        entries().collect()
    } else {
        let mut chosen = Vec::new();
        for id in &args.ids {
            match entries().find(|e| e.id == id) {
                Some(entry) => chosen.push(entry),
                None => usage_error::<Args>(&format!("no entry {id}; `errata --list` lists them")),
            }
        }
        chosen
    };
    // Ctrl-C waits, pending, until the probe that runs ends and drops its temporary files.
    let interrupts = match Interrupts::block() {
        Ok(interrupts) => interrupts,
        Err(err) => err_exit!(Error::new("sigprocmask", err)),
    };
    let mut all_hold = true;
    for (n, entry) in chosen.into_iter().enumerate() {
        if n > 0 {
            println!();
        }
        match Probe::run(entry).and_then(|holds| interrupts.check().map(|()| holds)) {
            Ok(holds) => all_hold &= holds,
            Err(err) => err_exit!(err),
        }
    }
    if !all_hold {
        std::process::exit(1);
    }
}
