// ANCHOR: all
//! anon_fork: a parent and its child share memory through a mapping made before `fork`.
//!
//! Ports seed 002's parent/child program (`002_7650189f7af18478.txt`, "mmap范例", example 2),
//! with the variants of seed 004 (map `/dev/zero` where `MAP_ANONYMOUS` is missing) and seed
//! 001 (demo1: a file mapping inherited across fork). Chapter: `docs/src/anon_fork.md`.
//!
//! The parent maps 10 `people` records `MAP_SHARED | MAP_ANONYMOUS` and forks. The child
//! inherits the mapping: not a copy, the same pages. The parent writes ages 20..24, the child
//! reads them and sets the first to 100, and the parent reads 100 back. The notes order the
//! two with `sleep(2)` and `sleep(5)`; here the child waits on a pipe for the parent's "done",
//! and the parent on `waitpid` for the child's exit.
//!
//! ```text
//! $ anon_fork
//! child read: the 1 people's age is 20
//! child read: the 2 people's age is 21
//! child read: the 3 people's age is 22
//! child read: the 4 people's age is 23
//! child read: the 5 people's age is 24
//! parent read: the first people's age is 100
//! umap
//! umap ok
//! ```
//!
//! `--private` maps `MAP_PRIVATE` (the child reads zeros, the parent keeps 20: copy-on-write),
//! `--dev-zero` maps `/dev/zero`, `--file PATH` maps a file.
//!
//! Run it with cargo, from anywhere in the workspace (its flags after `--`):
//! `cargo run -p anon_fork`, `cargo run -p anon_fork -- --private`.
//!
//! Exit status: 0 done, 1 a call failed (the message names it), 2 bad arguments.

use std::fs::{File, OpenOptions};
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;

use clap::Parser;
use common::{Context, Error, Fork, Mapping, People, Result, err_exit, exit_child, fork, waitpid};

/// Records in the mapping (the notes map 10 and use 5).
const RECORDS: usize = 10;
/// Records the parent writes and the child reads.
const USED: usize = 5;

/// Share memory between a parent and its child through a mapping made before fork.
#[derive(Parser, Debug)]
#[command(
    name = "anon_fork",
    version,
    after_help = "Ports seed 002's parent/child program (example 2), with seed 004's /dev/zero and seed\n001's demo1. Chapter 2: docs/src/anon_fork.md"
)]
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
        err_exit!(err);
    }
}

fn run(args: &Args) -> Result<()> {
    let len = RECORDS * People::SIZE;

    // ANCHOR: mmap
    // The object behind the mapping: none for MAP_ANONYMOUS (fd -1), else an open file.
    let backing = open_backing(args, len)?;
    let share = if args.private {
        libc::MAP_PRIVATE
    } else {
        libc::MAP_SHARED
    };
    let flags = if backing.is_none() {
        share | libc::MAP_ANONYMOUS
    } else {
        share
    };

    // p_map = mmap(NULL, sizeof(people) * 10, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    // SAFETY: `len` bytes of zeroed memory (anonymous, /dev/zero, or a file sized to `len`
    // with its blocks reserved), so every byte is readable and writable. Parent and child take
    // turns, handing the records over with the pipe and waitpid, and each takes a new view
    // after every handover.
    let map = unsafe {
        Mapping::new(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            backing.as_ref().map(File::as_fd),
            0,
        )
    }
    .context("mmap")?;

    // close(fd); the mapping keeps the file (or /dev/zero) referenced.
    drop(backing);
    // ANCHOR_END: mmap

    // ANCHOR: fork
    // Not in the notes: the child waits on this pipe until the parent has written the records
    // (the notes have the child sleep(2) and hope).
    let (ready_rx, ready_tx) = io::pipe().context("pipe")?;

    // if (fork() == 0) { ...child... }
    // SAFETY: this program starts no threads, so the child may run ordinary code; it ends
    // with exit_child (_exit), so it runs none of the parent's destructors.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            drop(ready_tx);
            let code = match child(map, ready_rx) {
                Ok(()) => 0,
                Err(err) => {
                    eprintln!("anon_fork: child: {err}");
                    1
                }
            };
            exit_child(code)
        }
        Fork::Parent(pid) => {
            drop(ready_rx);
            parent(map, ready_tx, pid)
        }
    }
    // ANCHOR_END: fork
}

// ANCHOR: child
/// The child: reads the parent's five ages, then sets the first to 100.
fn child(mut map: Mapping, mut ready: PipeReader) -> Result<()> {
    // sleep(2) in the notes. read() returns when the parent writes, or at end of file if the
    // parent died first: then there is nothing to read, and the child must not wait forever.
    ready.read_exact(&mut [0u8]).context("read pipe")?;

    let people: &mut [People] = bytemuck::cast_slice_mut(&mut map[..]);
    // printf("child read: the %d people's age is %d\n", i + 1, p_map[i].age);
    for (i, p) in people[..USED].iter().enumerate() {
        println!("child read: the {} people's age is {}", i + 1, p.age);
    }
    // p_map[0].age = 100;
    people[0].age = 100;

    // munmap(p_map, sizeof(people) * 10); exit(0) would unmap it too.
    map.munmap().context("munmap")
}
// ANCHOR_END: child

// ANCHOR: parent
/// The parent: writes five records, lets the child run, reads what the child wrote.
fn parent(mut map: Mapping, mut ready: PipeWriter, child: libc::pid_t) -> Result<()> {
    // for (i = 0; i < 5; i++) { temp += 1; memcpy(p_map[i].name, &temp, 2); p_map[i].age = 20 + i; }
    // The names are 'b'..'f' ('a' + 1 first). The notes' memcpy copies 2 bytes out of a
    // 1-byte char, reading past it; set_name copies the one byte and zero-fills the rest.
    let people: &mut [People] = bytemuck::cast_slice_mut(&mut map[..]);
    for (i, (p, name)) in people[..USED].iter_mut().zip(b'b'..).enumerate() {
        p.set_name(&[name]);
        p.age = 20 + i as i32;
    }

    // The records are written: let the child read them (the notes' sleep(5) instead waits and
    // hopes the child has finished).
    ready.write_all(b"!").context("write pipe")?;
    drop(ready);

    // waitpid(pid, &status, 0): when the child has exited, it has read and written.
    let status = waitpid(child).context("waitpid")?;
    if !status.success() {
        return Err(Error::msg("child", status.to_string()));
    }
    // ANCHOR_END: parent

    // ANCHOR: unmap
    let people: &[People] = bytemuck::cast_slice(&map[..]);
    println!("parent read: the first people's age is {}", people[0].age);
    println!("umap");
    // munmap(p_map, sizeof(people) * 10);
    map.munmap().context("munmap")?;
    println!("umap ok");
    // ANCHOR_END: unmap
    Ok(())
}

/// Opens what the mapping is made of: nothing (MAP_ANONYMOUS), /dev/zero, or a file of `len`
/// bytes.
fn open_backing(args: &Args, len: usize) -> Result<Option<File>> {
    if args.dev_zero {
        // fd = open("/dev/zero", O_RDWR);
        let zero = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/zero")
            .context("open /dev/zero")?;
        return Ok(Some(zero));
    }
    let Some(path) = &args.file else {
        return Ok(None);
    };
    // fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    // common::file::create is that open made safe for a shared directory: no symlink planted
    // under the name is followed, no other user's file is truncated, and a FIFO, a device or
    // a directory is refused before a byte is written.
    let file = common::file::create(path, 0o644)?;
    // ftruncate(fd, len);
    // The whole mapping lies inside the file, so no page of it lies past its end. Past
    // `ulimit -f` this fails with EFBIG: common::default_signals ignores SIGXFSZ.
    file.set_len(len as u64)
        .with_context(|| format!("ftruncate {}", path.display()))?;
    // posix_fallocate(fd, 0, len); not in the notes.
    // ftruncate reserves no block: on a full filesystem the parent's first store into the
    // mapping would find none and die of SIGBUS. Reserving them now reports ENOSPC instead.
    common::file::reserve(file.as_fd(), len)
        .with_context(|| format!("fallocate {}", path.display()))?;
    Ok(Some(file))
}
// ANCHOR_END: all
