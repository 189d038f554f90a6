// ANCHOR: all
//! sysv_read: the reader of the System V pair.
//!
//! Ports the read program of seed 003 §2.5 (`003_e9fcb1fc90da33dd.txt`, "system V共享内存").
//! Chapter: `docs/src/sysv_shm.md`.
//!
//! It finds the segment `sysv_write` made under the key, attaches it read-only, prints the
//! record, detaches, and removes the segment (`IPC_RMID`). With `--stat` it first prints what
//! the kernel knows of the segment (`shmctl(IPC_STAT)`).
//!
//! ```text
//! $ sysv_write
//! $ sysv_read
//! name:barr, age:20
//! $ sysv_read
//! sysv_read: shmget 0x000004d2: No such file or directory; no segment has this key: run sysv_write first
//! ```
//!
//! Run it with cargo, from anywhere in the workspace (its flags after `--`):
//! `cargo run -p sysv_shm --bin sysv_read`.
//!
//! Exit status: 0 done, 1 a call failed or the segment is not a people record, 2 bad arguments.

use clap::Parser;
use common::sysv::{self, Attached};
use common::{Context, Error, Interrupts, People, Result, err_exit};
use sysv_shm::{KeyArgs, key_hex};

/// Print the people record in the System V segment under a key, then remove the segment.
#[derive(Parser, Debug)]
#[command(
    name = "sysv_read",
    version,
    after_help = "Ports the read program of seed 003 §2.5.\nChapter 3: docs/src/sysv_shm.md"
)]
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
        err_exit!(err);
    }
}

fn run(args: &Args) -> Result<()> {
    let key = args.key.key::<Args>()?;
    let k = key_hex(key);
    // Not in the notes: a SIGINT now waits until the segment is removed, as it would have been.
    let interrupts = Interrupts::block().context("sigprocmask")?;

    // ANCHOR: shmget
    // shmid = shmget(1234, 0, 0);
    // No IPC_CREAT: find the segment, never make one. (The notes pass sizeof(STU) as the size;
    // 0 accepts a segment of any size, which the check below then judges.)
    let shmid = sysv::shmget(key, 0, 0).map_err(|e| {
        let missing = e.raw_os_error() == Some(libc::ENOENT);
        let err = Error::new(format!("shmget {k}"), e);
        if missing {
            err.hint("no segment has this key: run sysv_write first")
        } else {
            err
        }
    })?;
    // ANCHOR_END: shmget

    // ANCHOR: stat
    // shmctl(shmid, IPC_STAT, &ds); not in the notes.
    let ds = sysv::shmctl_stat(shmid).with_context(|| format!("shmctl {k} IPC_STAT"))?;
    // A copy of the field: macOS packs shmid_ds, and a packed field cannot be borrowed.
    let size = ds.shm_segsz;
    if size != People::SIZE {
        return Err(Error::msg(
            format!("key {k}"),
            format!(
                "the segment is {} bytes, not one {}-byte people record; left alone",
                size,
                People::SIZE
            ),
        ));
    }
    // ANCHOR_END: stat

    // ANCHOR: shmat
    // p = shmat(shmid, NULL, SHM_RDONLY);
    // SAFETY: the segment is exactly one record (checked above), attached read-only and only
    // read through a shared view. The writer has written it before this program was started.
    let p = unsafe { Attached::new(shmid, People::SIZE, libc::SHM_RDONLY) }
        .with_context(|| format!("shmat {k}"))?;

    if args.stat {
        // Again, now that this process is attached too.
        let ds = sysv::shmctl_stat(shmid).with_context(|| format!("shmctl {k} IPC_STAT"))?;
        print_stat(shmid, &ds);
    }
    // ANCHOR_END: shmat

    // ANCHOR: read
    // printf("name:%s, age:%d", p->name, p->age);
    // The name has no NUL (all 4 bytes are used), so the notes' %s reads on into age and
    // prints a stray byte; name() stops at the field's end. The notes also end without "\n".
    let people: &People = bytemuck::from_bytes(&p[..]);
    println!("name:{}, age:{}", people.name_lossy(), people.age);
    // ANCHOR_END: read

    // ANCHOR: shmdt
    // shmdt(p);
    p.shmdt().with_context(|| format!("shmdt {k}"))?;
    // ANCHOR_END: shmdt

    // ANCHOR: rmid
    // shmctl(shmid, IPC_RMID, NULL);
    // The segment would otherwise stay until reboot (or ipcrm).
    sysv::shmctl_rmid(shmid).with_context(|| format!("shmctl {k} IPC_RMID"))?;
    // A signal that came while this program worked ends it now, with the segment gone.
    interrupts.check()
    // ANCHOR_END: rmid
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
// ANCHOR_END: all
