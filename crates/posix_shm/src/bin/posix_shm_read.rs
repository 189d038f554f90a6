// ANCHOR: all
//! posix_shm_read: the reader of the POSIX shared-memory pair.
//!
//! Seed 003 §3.2 has only a writer, which unlinks its object at once; this is the reader it
//! needs: it opens the object by name, prints the record, and unlinks it, the way seed 003's
//! System V reader removes its segment. Chapter: `docs/src/posix_shm.md`.
//!
//! ```text
//! $ posix_shm_write
//! size=36, mode=0600
//! $ posix_shm_read
//! size=36, mode=0600
//! name:test, age:29
//! $ posix_shm_read
//! posix_shm_read: shm_open /xyz: No such file or directory; run posix_shm_write first
//! ```
//!
//! Run it with cargo, from anywhere in the workspace (its flags after `--`):
//! `cargo run -p posix_shm --bin posix_shm_read`.
//!
//! Exit status: 0 done, 1 a call failed or the object is not a student record, 2 bad arguments.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use clap::Parser;
use common::posix;
use common::{Context, Error, Interrupts, Mapping, Result, err_exit};
use posix_shm::{DEFAULT_NAME, Student, parse_name};

/// Print the student record in a POSIX shared-memory object, then unlink the object.
#[derive(Parser, Debug)]
#[command(
    name = "posix_shm_read",
    version,
    after_help = "The reader seed 003 §3.2 needs (it has only a writer).\nChapter 4: docs/src/posix_shm.md"
)]
struct Args {
    /// Name of the object: '/' and up to 254 characters
    #[arg(long, default_value = DEFAULT_NAME, value_parser = parse_name)]
    name: std::ffi::CString,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

fn run(args: &Args) -> Result<()> {
    let name = args.name.as_c_str();
    let n = name.to_string_lossy();
    // A SIGINT now waits until the object is unlinked, as it would have been.
    let interrupts = Interrupts::block().context("sigprocmask")?;

    // ANCHOR: shm_open
    // fd = shm_open("/xyz", O_RDONLY, 0);
    // No O_CREAT: open the writer's object, never make an empty one. common's shm_open adds
    // O_NONBLOCK and refuses what is not a regular file: a FIFO planted under the name would
    // otherwise block this open for ever, with SIGINT blocked.
    let fd = posix::shm_open(name, libc::O_RDONLY, 0).map_err(|e| {
        let missing = e.raw_os_error() == Some(libc::ENOENT);
        let err = Error::new(format!("shm_open {n}"), e);
        if missing {
            err.hint("run posix_shm_write first")
        } else {
            err
        }
    })?;
    let file = File::from(fd);
    // ANCHOR_END: shm_open

    // ANCHOR: fstat
    // fstat(fd, &buf); printf("size=%d, mode=%o\n", ...);
    let st = file.metadata().with_context(|| format!("fstat {n}"))?;
    println!("size={}, mode={:04o}", st.size(), st.mode() & 0o777);
    if st.size() != posix::object_size(Student::SIZE) {
        let why = format!(
            "the object is {} bytes, not one {}-byte student record; left alone",
            st.size(),
            Student::SIZE
        );
        return Err(Error::msg(format!("shm_open {n}"), why));
    }
    // Not in the notes: a page of the object that was never written or reserved is a hole,
    // and on a full /dev/shm even reading a hole through a mapping needs a new page: SIGBUS.
    // The writer reserves its page (posix_fallocate); an object with a hole is not its work.
    let holes = common::file::has_holes(&file).with_context(|| format!("lseek {n}"))?;
    if holes {
        let why = "the object has a page that was never written (a hole), \
                   not a student record; left alone";
        return Err(Error::msg(format!("shm_open {n}"), why));
    }
    // ANCHOR_END: fstat

    // ANCHOR: mmap
    // p = mmap(NULL, buf.st_size, PROT_READ, MAP_SHARED, fd, 0);
    // SAFETY: the object is exactly one record with its page allocated (checked above), mapped
    // read-only and only read. The writer has finished writing before this program is started.
    let p = unsafe {
        Mapping::new(
            Student::SIZE,
            libc::PROT_READ,
            libc::MAP_SHARED,
            Some(file.as_fd()),
            0,
        )
    }
    .with_context(|| format!("mmap {n}"))?;
    // ANCHOR_END: mmap

    // ANCHOR: read
    // printf("name:%s, age:%d\n", p->name, p->age);
    let student: &Student = bytemuck::from_bytes(&p[..]);
    println!("name:{}, age:{}", student.name_lossy(), student.age);
    // ANCHOR_END: read

    // ANCHOR: unmap
    // munmap(p, buf.st_size); close(fd);
    p.munmap().with_context(|| format!("munmap {n}"))?;
    drop(file);
    // ANCHOR_END: unmap

    // ANCHOR: shm_unlink
    // shm_unlink("/xyz");
    // Without it the object stays in /dev/shm until reboot.
    posix::shm_unlink(name).with_context(|| format!("shm_unlink {n}"))?;
    // A signal that came while this program worked ends it now, with the object gone.
    interrupts.check()
    // ANCHOR_END: shm_unlink
}
// ANCHOR_END: all
