//! Exercise 3: port seed 002's parent/child program: a mapping made before `fork` is shared.
//!
//! The C: crates/anon_fork/c/anon_fork.c. Read first: docs/src/anon_fork.md ("Step by step",
//! and why MAP_PRIVATE is copy-on-write). The task, and what it must print:
//! exercises/03_anon_fork/README.md. Check: `cargo run -p exercises -- check 3`.
//!
//! Fill in `run`, `child` and `parent` one step at a time: each `todo!()` sits under the C
//! line it ports, starting with `open_backing` at the end (what the mapping is made of:
//! nothing, /dev/zero or a file). The arguments and `main` are done; the checker runs this
//! program under the name `anon_fork`, with the example's own tests.
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

use std::fs::{File, OpenOptions};
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;

use clap::Parser;
use common::{Context, Error, Fork, Mapping, People, Result, exit_child, fork, waitpid};

/// Records in the mapping (the notes map 10 and use 5).
const RECORDS: usize = 10;
/// Records the parent writes and the child reads.
const USED: usize = 5;

/// Share memory between a parent and its child through a mapping made before fork.
#[derive(Parser, Debug)]
#[command(name = "anon_fork", version)]
struct Args {
    /// Map MAP_PRIVATE instead of MAP_SHARED: each process gets its own copy-on-write copy
    #[arg(long)]
    private: bool,

    /// Map /dev/zero instead of MAP_ANONYMOUS, the fallback for systems without it
    #[arg(long, conflicts_with = "file")]
    dev_zero: bool,

    /// Map this file instead (created or truncated, 0644): a file mapping inherited across fork
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    if let Err(err) = run(&args) {
        common::error::exit_with("anon_fork", &err);
    }
}

fn run(args: &Args) -> Result<()> {
    let len = RECORDS * People::SIZE;

    // The object behind the mapping: None for MAP_ANONYMOUS (fd -1), else /dev/zero or a file.
    let backing = open_backing(args, len)?;

    // Step 1. p_map = mmap(NULL, sizeof(people) * 10, PROT_READ | PROT_WRITE,
    //                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    // MAP_PRIVATE with --private; MAP_ANONYMOUS only when there is no backing file.
    // common::Mapping::new is mmap; its `unsafe` needs a `// SAFETY:` comment. Error: "mmap: ...".
    let map: Mapping = todo!("map 10 records, shared or private, anonymous or not");

    // Step 2. close(fd);   the mapping keeps the object referenced.
    drop(backing);

    // Step 3. (not in the notes) a pipe: the child waits on it until the parent has written
    // the records, where the notes have the child sleep(2). Error: "pipe: ...".
    let (ready_rx, ready_tx): (PipeReader, PipeWriter) = todo!("a pipe");

    // Step 4. if (fork() == 0) { child } else { parent }
    // common::fork is fork(2), unsafe: say in `// SAFETY:` why the child may run ordinary
    // code. The child ends with common::exit_child (_exit); on an error it prints
    // "anon_fork: child: {err}" and exits 1. Each side closes its unused end of the pipe.
    todo!("fork; the child runs `child`, the parent `parent`")
}

/// The child: reads the parent's five ages, then sets the first to 100.
fn child(mut map: Mapping, mut ready: PipeReader) -> Result<()> {
    // Step 5. sleep(2);   here: read one byte from the pipe ("read pipe: ..." on error). At
    // end of file (the parent died first) it must fail, not wait forever.
    todo!("wait for the parent's records");

    // Step 6. for (i = 0; i < 5; i++)
    //             printf("child read: the %d people's age is %d\n", i + 1, p_map[i].age);
    //         p_map[0].age = 100;
    todo!("print the five ages, set the first to 100");

    // Step 7. munmap(p_map, sizeof(people) * 10);   ("munmap: ..." on error)
    todo!("unmap")
}

/// The parent: writes five records, lets the child run, reads what the child wrote.
fn parent(mut map: Mapping, mut ready: PipeWriter, child: libc::pid_t) -> Result<()> {
    // Step 8. for (i = 0; i < 5; i++) { name = 'b' + i; p_map[i].age = 20 + i; }
    // (the notes' memcpy copies 2 bytes out of a 1-byte char: copy the one letter)
    todo!("write the five records");

    // Step 9. (the notes: nothing) tell the child: one byte down the pipe, then close it.
    todo!("let the child run");

    // Step 10. sleep(5);   here: waitpid(child). A child that failed is an error:
    //          Error::msg("child", status.to_string()).
    todo!("wait for the child");

    // Step 11. printf("parent read: the first people's age is %d\n", p_map[0].age);
    //          printf("umap\n"); munmap(p_map, sizeof(people) * 10); printf("umap ok\n");
    todo!("read what the child wrote, unmap")
}

/// Opens what the mapping is made of: nothing (MAP_ANONYMOUS), /dev/zero, or a file of `len`
/// bytes.
fn open_backing(args: &Args, len: usize) -> Result<Option<File>> {
    // Step 0a. --dev-zero: fd = open("/dev/zero", O_RDWR);   ("open /dev/zero: ..." on error)
    // Step 0b. --file PATH: fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644), made safe for a
    //          shared directory (no symlink followed, no other user's file emptied, nothing but
    //          a regular file); ftruncate(fd, len); posix_fallocate(fd, 0, len) (not in the
    //          notes: a store into a page with no block behind it raises SIGBUS when the
    //          filesystem is full). Errors: "ftruncate {path}: ...", "fallocate {path}: ...".
    // Neither: Ok(None), for MAP_ANONYMOUS.
    todo!("open what the mapping is made of")
}
