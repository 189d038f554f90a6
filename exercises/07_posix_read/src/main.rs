//! Exercise 7: port `posix_shm_read.c`, the reader of the POSIX shared-memory pair.
//!
//! The C: crates/posix_shm/c/posix_shm_read.c. Read first: docs/src/posix_shm.md ("Step by
//! step", "A full /dev/shm, and what else can be under the name"). The task, and what it
//! must print: exercises/07_posix_read/README.md. Check: `cargo run -p exercises -- check 7`.
//!
//! Fill in `run` one step at a time: each `todo!()` sits under the C line it ports. The
//! arguments, the signal plumbing (`Interrupts`) and `main` are done; the checker runs this
//! program under the name `posix_shm_read`, with the example's own tests.
// A skeleton: the steps after the first `todo!()` cannot run yet, and their variables are
// not used until you write them.
#![allow(unreachable_code, unused_variables, unused_imports)]
#![allow(clippy::diverging_sub_expression)]

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use clap::Parser;
use common::posix;
use common::{Context, Error, Interrupts, Mapping, Result};
use posix_shm::{DEFAULT_NAME, Student, parse_name};

/// Print the student record in a POSIX shared-memory object, then unlink the object.
#[derive(Parser, Debug)]
#[command(name = "posix_shm_read", version)]
struct Args {
    /// Name of the object: '/' and up to 254 characters
    #[arg(long, default_value = DEFAULT_NAME, value_parser = parse_name)]
    name: std::ffi::CString,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    if let Err(err) = run(&args) {
        common::error::exit_with("posix_shm_read", &err);
    }
}

fn run(args: &Args) -> Result<()> {
    let name = args.name.as_c_str();
    let n = name.to_string_lossy();
    let interrupts = Interrupts::block().context("sigprocmask")?;

    // Step 1. fd = shm_open(name, O_RDONLY, 0);   never O_CREAT. common::posix::shm_open
    // (O_NONBLOCK, and only a regular file). A missing name reads "shm_open {n}: No such file
    // or directory; run posix_shm_write first" (Error::new(..).hint(..) on ENOENT).
    let file: File = todo!("open the object, never creating it");

    // Step 2. fstat(fd, &buf); printf("size=%lld, mode=%04o\n", ...); then the size must be
    // 36: Error::msg(format!("shm_open {n}"), format!("the object is {} bytes, not one
    // 36-byte student record; left alone", size)).
    // And (the Rust port only) no hole: common::file::has_holes ("lseek {n}: ..."); with one,
    // "the object has a page that was never written (a hole), not a student record; left alone".
    todo!("print size and mode; one record with no hole, or left alone");

    // Step 3. p = mmap(NULL, sizeof(struct student), PROT_READ, MAP_SHARED, fd, 0);
    let p: Mapping = todo!("map it read-only");

    // Step 4. printf("name:%s, age:%d\n", p->name, p->age);
    todo!("print the record");

    // Step 5. munmap(p, ...); close(fd);   Step 6. shm_unlink(name);   ("shm_unlink {n}: ...")
    todo!("unmap, close, unlink");

    // A signal that came while this program worked ends it now, with the object gone.
    interrupts.check()
}
