//! Exercise 6: port `posix_shm_write.c`, the writer of the POSIX shared-memory pair.
//!
//! The C: crates/posix_shm/c/posix_shm_write.c. Read first: docs/src/posix_shm.md ("Step by
//! step", "Names", "A full /dev/shm, and what else can be under the name"). The task, and
//! what it must print: exercises/06_posix_write/README.md. Check:
//! `cargo run -p exercises -- check 6`.
//!
//! Fill in `run` one step at a time: each `todo!()` sits under the C line it ports. The
//! arguments, the signal plumbing (`Interrupts`), `explain_einval` and `main` are done; the
//! checker runs this program under the name `posix_shm_write`, with the example's own tests.
// A skeleton: the steps after the first `todo!()` cannot run yet, and their variables are
// not used until you write them.
#![allow(
    unreachable_code,
    unused_variables,
    unused_imports,
    unused_mut,
    dead_code
)]
#![allow(clippy::diverging_sub_expression)]

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use clap::Parser;
use common::posix;
use common::{Context, Error, Interrupts, Mapping, Result};
use posix_shm::{DEFAULT_NAME, Student, parse_name};

/// Create a POSIX shared-memory object, size it to one student record, and write the record.
#[derive(Parser, Debug)]
#[command(name = "posix_shm_write", version)]
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
        common::error::exit_with("posix_shm_write", &err);
    }
}

fn run(args: &Args) -> Result<()> {
    let name = args.name.as_c_str();
    let n = name.to_string_lossy();
    let interrupts = Interrupts::block().context("sigprocmask")?;

    // Step 1. fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    //         if (errno == EEXIST && !new) fd = shm_open(name, O_RDWR, 0);
    // (the notes: O_CREAT | O_RDWR, 0666). common::posix::shm_open also refuses what is not a
    // regular file; an object this run made gets a `posix::Created` guard (unlinked if a
    // later step fails). On the second open, `.or_else(|e| explain_einval(name, e))` turns
    // glibc's EINVAL for a directory into what it is. Errors: "shm_open {n}: ...".
    let (file, created): (File, Option<posix::Created>) =
        todo!("create the object, or open the one under the name");

    // Step 2. fstat(fd, &buf); an object found under the name (not created) must be 36 bytes:
    // Error::msg(format!("shm_open {n}"), format!("an object of {size} bytes has this name,
    // not one 36-byte student record; left alone"))
    todo!("an object found under the name must be one record");

    // Step 3. ftruncate(fd, sizeof(struct student));   ("ftruncate {n}: ...")
    //         posix_fallocate(fd, 0, sizeof(struct student));   ("fallocate {n}: ...")
    todo!("size the object, and reserve its page");

    // Step 4. fstat(fd, &buf); printf("size=%lld, mode=%04o\n", buf.st_size, buf.st_mode & 0777);
    todo!("print its size and mode");

    // Step 5. p = mmap(NULL, buf.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    // common::Mapping::new, unsafe: `// SAFETY:` says why every byte may be touched.
    let mut p: Mapping = todo!("map the object");

    // Step 6. strcpy(p->name, "test"); p->age = 29;
    todo!("write the record");

    // Step 7. with --wait-stdin: "written; mapped until a line arrives on stdin", then
    //         `interrupts.wait_for_stdin()`.
    todo!("hold the mapping while a reader looks");

    // Step 8. munmap(p, buf.st_size); close(fd); with --unlink: shm_unlink(name);
    //         then keep what this run created.
    todo!("unmap, close, unlink only with --unlink");

    // A signal that came while this program worked ends it now, with everything in order.
    interrupts.check()
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
