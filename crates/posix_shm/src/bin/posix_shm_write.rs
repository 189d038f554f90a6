// ANCHOR: all
//! posix_shm_write: the writer of the POSIX shared-memory pair.
//!
//! Ports the program of seed 003 §3.2 (`003_e9fcb1fc90da33dd.txt`, "posix共享内存").
//! Chapter: `docs/src/posix_shm.md`.
//!
//! It creates the shared-memory object `/xyz` (`shm_open`), makes it one `student` record
//! long (`ftruncate`), prints its size and mode (`fstat`), maps it and writes `test` / 29.
//! The notes' program then unlinks the object at once, so no other process can ever open it;
//! this one leaves it for `posix_shm_read`, which prints the record and unlinks it. `--unlink`
//! does what the notes do.
//!
//! ```text
//! $ posix_shm_write
//! size=36, mode=0600
//! $ ls -l /dev/shm/xyz             # Linux keeps POSIX shm objects on a tmpfs
//! -rw------- 1 you you 36 ... /dev/shm/xyz
//! $ posix_shm_read
//! size=36, mode=0600
//! name:test, age:29
//! ```
//!
//! `--wait-stdin` keeps the object mapped until a line arrives on stdin; SIGINT, SIGTERM or
//! SIGHUP while it waits unmap it, unlink it if this run created it, and end the program by
//! that signal.
//!
//! `--new` makes a taken name an error (`shm_open NAME: File exists`) instead of writing
//! into what is there: the project's scripts draw a random name and draw again on that error.
//!
//! Run it with cargo, from anywhere in the workspace (its flags after `--`):
//! `cargo run -p posix_shm --bin posix_shm_write`.
//!
//! Exit status: 0 done, 1 a call failed (the message names it), 2 bad arguments.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use clap::Parser;
use common::posix;
use common::{Context, Error, Interrupts, Mapping, Result, err_exit};
use posix_shm::{DEFAULT_NAME, Student, parse_name};

/// Create a POSIX shared-memory object, size it to one student record, and write the record.
#[derive(Parser, Debug)]
#[command(
    name = "posix_shm_write",
    version,
    after_help = "Ports the program of seed 003 §3.2.\nChapter 4: docs/src/posix_shm.md"
)]
struct Args {
    /// Name of the object: '/' and up to 254 characters
    #[arg(long, default_value = DEFAULT_NAME, value_parser = parse_name)]
    name: std::ffi::CString,

    /// Unlink the object before exiting, as the notes' program does (no reader can open it)
    #[arg(long)]
    unlink: bool,

    /// Keep the object mapped until a line (or end of file) arrives on stdin
    #[arg(long)]
    wait_stdin: bool,

    /// Fail with "File exists" if the name is taken, instead of writing into the object found
    /// there (for scripts: another run that drew the same name must not be shared by chance)
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
    let name = args.name.as_c_str();
    let n = name.to_string_lossy();
    // Not in the notes: from here on, SIGINT and friends wait until this program can clean up.
    let interrupts = Interrupts::block().context("sigprocmask")?;

    // ANCHOR: shm_open
    // fd = shm_open("/xyz", O_CREAT | O_EXCL | O_RDWR, 0600);
    // The notes ask for 0666: any user could read and change the record; 0600 is the owner's.
    // O_EXCL, not in the notes, makes the call fail if the name is taken, so this run knows
    // whether the object is its own: if it is, a failure from here on unlinks it again.
    let (fd, created) =
        match posix::shm_open(name, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600) {
            Ok(fd) => (fd, Some(posix::Created::new(name))),
            // The name is taken: by an earlier writer's record, or by something else. Open it.
            // (With --new a taken name is an error, reported below.)
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && !args.new => {
                let fd = posix::shm_open(name, libc::O_RDWR, 0)
                    .or_else(|e| explain_einval(name, e))
                    .with_context(|| format!("shm_open {n}"))?;
                (fd, None)
            }
            Err(e) => return Err(Error::new(format!("shm_open {n}"), e)),
        };
    // The object is a file on tmpfs: File's set_len is ftruncate, its metadata is fstat.
    let file = File::from(fd);
    // ANCHOR_END: shm_open

    // ANCHOR: check
    // fstat(fd, &buf); not in the notes. An object found under the name must be exactly one
    // record, or it is someone else's and is left alone. (A new one is 0 bytes long.)
    let size = file.metadata().with_context(|| format!("fstat {n}"))?.len();
    if created.is_none() && size != posix::object_size(Student::SIZE) {
        let why = format!(
            "an object of {size} bytes has this name, not one {}-byte student record; left alone",
            Student::SIZE
        );
        return Err(Error::msg(format!("shm_open {n}"), why));
    }
    // ANCHOR_END: check

    // ANCHOR: ftruncate
    // ftruncate(fd, sizeof(struct student));
    // Past `ulimit -f` this fails with EFBIG: common::default_signals ignores SIGXFSZ.
    // (Only if it is not that size already: macOS allows one ftruncate per object.)
    if size != posix::object_size(Student::SIZE) {
        file.set_len(Student::SIZE as u64)
            .with_context(|| format!("ftruncate {n}"))?;
    }

    // posix_fallocate(fd, 0, sizeof(struct student)); not in the notes.
    // ftruncate only sets the size: no page is reserved, and on a full /dev/shm the first
    // store into the mapping would find none and die of SIGBUS. Reserving the page now turns
    // that into ENOSPC here, and the object this run created is unlinked again.
    common::file::reserve(file.as_fd(), Student::SIZE).with_context(|| format!("fallocate {n}"))?;
    // ANCHOR_END: ftruncate

    // ANCHOR: fstat
    // fstat(fd, &buf); printf("size=%d, mode=%o\n", buf.st_size, buf.st_mode & 0777);
    // The notes print the mode with %d: 420 for 0644. Octal is how modes are read.
    let st = file.metadata().with_context(|| format!("fstat {n}"))?;
    println!("size={}, mode={:04o}", st.size(), st.mode() & 0o777);
    // ANCHOR_END: fstat

    // ANCHOR: mmap
    // p = mmap(NULL, buf.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    // The notes map PROT_WRITE alone; x86 lets such a page be read too, but POSIX does not
    // promise it, and this program reads what it maps (through a Rust reference).
    let len = st.size() as usize;
    // SAFETY: the object is exactly `len` bytes (set just above), all of them reserved, mapped
    // readable and writable.
    // The reader opens it only after this program is done writing.
    let mut p = unsafe {
        Mapping::new(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            Some(file.as_fd()),
            0,
        )
    }
    .with_context(|| format!("mmap {n}"))?;
    // ANCHOR_END: mmap

    // ANCHOR: write
    // strcpy(p->name, "test"); p->age = 29;
    let student: &mut Student = bytemuck::from_bytes_mut(&mut p[..]);
    student.set_name(b"test");
    student.age = 29;
    // ANCHOR_END: write

    // ANCHOR: hold
    if args.wait_stdin {
        println!("written; mapped until a line arrives on stdin");
        interrupts.wait_for_stdin()?;
    }
    // ANCHOR_END: hold

    // ANCHOR: unmap
    // munmap(p, buf.st_size); close(fd); the notes leave both to exit.
    p.munmap().with_context(|| format!("munmap {n}"))?;
    drop(file);

    // shm_unlink("/xyz"); the notes do it here, so the object is gone before anyone reads it.
    if args.unlink {
        posix::shm_unlink(name).with_context(|| format!("shm_unlink {n}"))?;
    }
    // Done: the object stays for posix_shm_read (or is already unlinked).
    if let Some(created) = created {
        created.keep();
    }
    // A signal that came while this program worked ends it now, with everything in order.
    interrupts.check()
    // ANCHOR_END: unmap
}

/// glibc's `shm_open` turns `EISDIR` into `EINVAL` ("Invalid argument"), which blames the
/// name. When the name is valid (clap checked it) and a directory holds it, a read-only open
/// gets as far as the `fstat` that says so: `not a regular file (a directory)`.
fn explain_einval(
    name: &std::ffi::CStr,
    e: std::io::Error,
) -> std::io::Result<std::os::fd::OwnedFd> {
    if e.raw_os_error() != Some(libc::EINVAL) {
        return Err(e);
    }
    match posix::shm_open(name, libc::O_RDONLY, 0) {
        Err(better) => Err(better),
        Ok(_) => Err(e),
    }
}
// ANCHOR_END: all
