// ANCHOR: all
//! sysv_write: the writer of the System V pair.
//!
//! Ports the write program of seed 003 §2.5 (`003_e9fcb1fc90da33dd.txt`, "system V共享内存"),
//! with seed 004's `ftok` for choosing a key. Chapter: `docs/src/sysv_shm.md`.
//!
//! It creates (or opens) the segment under the key, one `people` record long, attaches it,
//! writes the name `barr` and the age 20 into it, and detaches. The segment outlives the
//! program: it belongs to the kernel until someone removes it, which `sysv_read` does after
//! printing the record.
//!
//! Start this one first, then `sysv_read` with the same key:
//!
//! ```text
//! $ sysv_write                     # key 1234, as in the notes; prints nothing
//! $ ipcs -m                        # the segment: key 0x000004d2, 8 bytes, perms 600
//! $ sysv_read
//! name:barr, age:20
//! ```
//!
//! `--wait-stdin` keeps the segment attached until a line arrives on stdin, so that another
//! process can watch `shm_nattch`; SIGINT, SIGTERM or SIGHUP while it waits detach it, remove
//! it if this run created it, and end the program by that signal.
//!
//! `--new` makes a taken key an error (`shmget KEY: File exists`) instead of writing into
//! what is there: the project's scripts draw a random key and draw again on that error.
//!
//! Run it with cargo, from anywhere in the workspace (its flags after `--`):
//! `cargo run -p sysv_shm --bin sysv_write`.
//!
//! Exit status: 0 done, 1 a call failed (the message names it), 2 bad arguments.

use clap::Parser;
use common::sysv::{self, Attached};
use common::{Context, Error, Interrupts, People, Result, err_exit};
use sysv_shm::{KeyArgs, key_hex};

/// Create a System V segment under a key and write one people record into it.
#[derive(Parser, Debug)]
#[command(
    name = "sysv_write",
    version,
    after_help = "Ports the write program of seed 003 §2.5, with seed 004's ftok.\nChapter 3: docs/src/sysv_shm.md"
)]
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
        err_exit!(err);
    }
}

fn run(args: &Args) -> Result<()> {
    let key = args.key.key::<Args>()?;
    let k = key_hex(key);
    // Not in the notes: from here on, SIGINT and friends wait until this program can clean up.
    let interrupts = Interrupts::block().context("sigprocmask")?;

    // ANCHOR: shmget
    // shmid = shmget(1234, sizeof(people), IPC_CREAT | IPC_EXCL | 0600);
    // The notes ask for 0666: any user could then read and change the record; 0600 keeps it
    // to its owner (`ipcs -m` shows perms 600). IPC_EXCL, not in the notes, makes the call
    // fail if the key is taken, so this run knows whether the segment is its own: if it is,
    // a failure from here on removes it again (the guard's Drop).
    let (shmid, created) =
        match sysv::shmget(key, People::SIZE, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) {
            Ok(shmid) => (shmid, Some(sysv::Created::new(shmid))),
            // The key is taken: by an earlier writer's record, or by something else. Open it.
            // (With --new a taken key is an error, reported below.)
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && !args.new => {
                let shmid = sysv::shmget(key, 0, 0).with_context(|| format!("shmget {k}"))?;
                (shmid, None)
            }
            Err(e) => return Err(Error::new(format!("shmget {k}"), e)),
        };
    // ANCHOR_END: shmget

    // ANCHOR: stat
    // shmctl(shmid, IPC_STAT, &ds); not in the notes. A segment found under the key must be
    // exactly one record, or it is someone else's and is left alone.
    let ds = sysv::shmctl_stat(shmid).with_context(|| format!("shmctl {k} IPC_STAT"))?;
    // A copy of the field: macOS packs shmid_ds, and a packed field cannot be borrowed.
    let size = ds.shm_segsz;
    if size != People::SIZE {
        let why = format!(
            "a segment of {} bytes has this key, not one {}-byte people record; left alone",
            size,
            People::SIZE
        );
        return Err(Error::msg(format!("key {k}"), why));
    }
    // ANCHOR_END: stat

    // ANCHOR: shmat
    // p = shmat(shmid, NULL, 0);
    // The notes pass SHM_RND, which only rounds an address given in the second argument; with
    // NULL the kernel chooses the address and the flag does nothing.
    // SAFETY: the segment is exactly one record (checked above), attached read-write. The
    // reader only runs once this program has detached (or, with --wait-stdin, reads while
    // this one waits and writes nothing).
    let mut p =
        unsafe { Attached::new(shmid, People::SIZE, 0) }.with_context(|| format!("shmat {k}"))?;
    // ANCHOR_END: shmat

    // ANCHOR: write
    // strcpy(p->name, "barr"); p->age = 20;
    // strcpy writes 5 bytes, "barr" and its NUL, into a 4-byte field: the NUL lands in the
    // first byte of age. set_name writes the 4 bytes and nothing past them.
    let people: &mut People = bytemuck::from_bytes_mut(&mut p[..]);
    people.set_name(b"barr");
    people.age = 20;
    // ANCHOR_END: write

    // ANCHOR: hold
    if args.wait_stdin {
        println!("written; attached until a line arrives on stdin");
        interrupts.wait_for_stdin()?;
    }
    // ANCHOR_END: hold

    // ANCHOR: shmdt
    // shmdt(p);
    p.shmdt().with_context(|| format!("shmdt {k}"))?;
    // The segment stays for sysv_read to find.
    if let Some(created) = created {
        created.keep();
    }
    // A signal that came while this program worked ends it now, with everything in order.
    interrupts.check()
    // ANCHOR_END: shmdt
}
// ANCHOR_END: all
