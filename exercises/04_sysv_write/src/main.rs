//! Exercise 4: port `sysv_write.c`, the writer of the System V pair.
//!
//! The C: crates/sysv_shm/c/sysv_write.c. Read first: docs/src/sysv_shm.md ("What is
//! shared, and why it works", "Step by step", "Removing a segment"). The task, and what it
//! must print: exercises/04_sysv_write/README.md. Check: `cargo run -p exercises -- check 4`.
//!
//! Fill in `run` one step at a time: each `todo!()` sits under the C line it ports. The
//! arguments (`--key`, `--ftok`, `--new`, `--wait-stdin`), the signal plumbing
//! (`Interrupts`: a Ctrl-C waits until the program has cleaned up) and `main` are done; the
//! checker runs this program under the name `sysv_write`, with the example's own tests.
// A skeleton: the steps after the first `todo!()` cannot run yet, and their variables are
// not used until you write them.
#![allow(unreachable_code, unused_variables, unused_imports, unused_mut)]
#![allow(clippy::diverging_sub_expression)]

use clap::Parser;
use common::sysv::{self, Attached, Created};
use common::{Context, Error, Interrupts, People, Result};
use sysv_shm::{KeyArgs, key_hex};

/// Create a System V segment under a key and write one people record into it.
#[derive(Parser, Debug)]
#[command(name = "sysv_write", version)]
struct Args {
    #[command(flatten)]
    key: KeyArgs,

    /// Keep the segment attached until a line (or end of file) arrives on stdin
    #[arg(long)]
    wait_stdin: bool,

    /// Fail with "File exists" if the key is taken, instead of writing into the segment found
    /// there (for scripts: another run that drew the same key must not be shared by chance)
    #[arg(long)]
    new: bool,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    if let Err(err) = run(&args) {
        common::error::exit_with("sysv_write", &err);
    }
}

fn run(args: &Args) -> Result<()> {
    let key = args.key.key::<Args>()?;
    let k = key_hex(key);
    let interrupts = Interrupts::block().context("sigprocmask")?;

    // Step 1. shmid = shmget(key, sizeof(people), IPC_CREAT | IPC_EXCL | 0600);
    //         if (errno == EEXIST && !new) shmid = shmget(key, 0, 0);
    // (the notes: IPC_CREAT | 0666, no IPC_EXCL). common::sysv::shmget; a segment this run
    // made gets a `Created` guard, which removes it if a later step fails, and is kept at
    // the end. Error: "shmget {k}: ..." (with --new, EEXIST is that error).
    let (shmid, created): (libc::c_int, Option<Created>) =
        todo!("create the segment, or open the one under the key");

    // Step 2. shmctl(shmid, IPC_STAT, &ds); if (ds.shm_segsz != sizeof(people)) -> refuse.
    // Error: Error::msg(format!("key {k}"), format!("a segment of {} bytes has this key, not
    //        one 8-byte people record; left alone", ds.shm_segsz))
    todo!("a segment found under the key must be one record");

    // Step 3. p = shmat(shmid, NULL, 0);   (the notes: SHM_RND, which does nothing with NULL)
    // common::sysv::Attached::new is shmat, unsafe: say in `// SAFETY:` why the 8 bytes may
    // be written. Error: "shmat {k}: ...".
    let mut p: Attached = todo!("attach the segment");

    // Step 4. memcpy(p->name, "barr", 4); p->age = 20;   (the notes: strcpy, 5 bytes into 4)
    todo!("write the record");

    // Step 5. with --wait-stdin: printf("written; attached until a line arrives on stdin\n");
    //         then wait for the line (or a signal): `interrupts.wait_for_stdin()`.
    todo!("hold the segment while a reader looks");

    // Step 6. shmdt(p);   ("shmdt {k}: ..."), then keep what this run created.
    todo!("detach; the segment stays for sysv_read");

    // A signal that came while this program worked ends it now, with everything in order.
    interrupts.check()
}
