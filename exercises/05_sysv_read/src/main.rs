//! Exercise 5: port `sysv_read.c`, the reader of the System V pair.
//!
//! The C: crates/sysv_shm/c/sysv_read.c. Read first: docs/src/sysv_shm.md ("Step by step",
//! "What shmctl(IPC_STAT) says", "Removing a segment: IPC_RMID"). The task, and what it must
//! print: exercises/05_sysv_read/README.md. Check: `cargo run -p exercises -- check 5`.
//!
//! Fill in `run` one step at a time: each `todo!()` sits under the C line it ports. The
//! arguments, the signal plumbing (`Interrupts`), `print_stat` and `main` are done; the
//! checker runs this program under the name `sysv_read`, with the example's own tests.
// A skeleton: the steps after the first `todo!()` cannot run yet, and their variables are
// not used until you write them.
#![allow(unreachable_code, unused_variables, unused_imports, dead_code)]
#![allow(clippy::diverging_sub_expression)]

use clap::Parser;
use common::sysv::{self, Attached};
use common::{Context, Error, Interrupts, People, Result};
use sysv_shm::{KeyArgs, key_hex};

/// Print the people record in the System V segment under a key, then remove the segment.
#[derive(Parser, Debug)]
#[command(name = "sysv_read", version)]
struct Args {
    #[command(flatten)]
    key: KeyArgs,

    /// Print what shmctl(IPC_STAT) knows of the segment before reading it
    #[arg(long)]
    stat: bool,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    if let Err(err) = run(&args) {
        common::error::exit_with("sysv_read", &err);
    }
}

fn run(args: &Args) -> Result<()> {
    let key = args.key.key::<Args>()?;
    let k = key_hex(key);
    let interrupts = Interrupts::block().context("sigprocmask")?;

    // Step 1. shmid = shmget(key, 0, 0);   never IPC_CREAT: find the segment, never make one.
    // A missing key reads "shmget {k}: No such file or directory; no segment has this key:
    // run sysv_write first": common::Error::new(..).hint("no segment has this key: run
    // sysv_write first") on ENOENT.
    let shmid: libc::c_int = todo!("find the segment under the key");

    // Step 2. shmctl(shmid, IPC_STAT, &ds); if (ds.shm_segsz != sizeof(people)) -> refuse:
    // Error::msg(format!("key {k}"), format!("the segment is {} bytes, not one 8-byte people
    // record; left alone", ds.shm_segsz))
    todo!("one record, or left alone");

    // Step 3. p = shmat(shmid, NULL, SHM_RDONLY);   ("shmat {k}: ...")
    //         with --stat: IPC_STAT again (now this process is attached too), print_stat.
    let p: Attached = todo!("attach read-only");

    // Step 4. printf("name:%.4s, age:%d\n", p->name, p->age);
    todo!("print the record");

    // Step 5. shmdt(p);   ("shmdt {k}: ...")
    todo!("detach");

    // Step 6. shmctl(shmid, IPC_RMID, NULL);   ("shmctl {k} IPC_RMID: ...")
    todo!("remove the segment");

    // A signal that came while this program worked ends it now, with the segment gone.
    interrupts.check()
}

/// What IPC_STAT says, by the names of the C fields.
fn print_stat(shmid: libc::c_int, ds: &libc::shmid_ds) {
    println!("shmctl(IPC_STAT) of shmid {shmid}:");
    println!("  shm_perm.__key  {}", key_hex(sysv::key_of(&ds.shm_perm)));
    println!("  shm_perm.mode   {:04o}", ds.shm_perm.mode & 0o777);
    // `{ ds.shm_segsz }` copies the field: macOS packs shmid_ds, and format! borrows.
    println!("  shm_segsz       {}", { ds.shm_segsz });
    println!("  shm_nattch      {}", ds.shm_nattch);
    println!("  shm_cpid        {}", ds.shm_cpid);
    println!("  shm_lpid        {}", ds.shm_lpid);
}
