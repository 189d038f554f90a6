//! Exercise 2: port `map_normalfile1.c`, the writer of the file-mapping pair.
//!
//! The C: crates/map_normalfile/c/map_normalfile1.c. Read first: docs/src/map_normalfile.md,
//! "Step by step" and "What the port fixes in the C". The task, and what it must print:
//! exercises/02_map_writer/README.md. Check: `cargo run -p exercises -- check 2`.
//!
//! Fill in `run` one step at a time: each `todo!()` sits under the C line it ports. The
//! arguments, `hold` and `main` are done; the checker runs this program under the name
//! `map_normalfile1`, with the example's own tests.
// A skeleton: the steps after the first `todo!()` cannot run yet, and their variables are
// not used until you write them.
#![allow(unreachable_code, unused_variables, unused_imports, unused_mut)]
#![allow(clippy::diverging_sub_expression)]

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use common::{Context, People, Result, usage_error};
use map_normalfile::{FILE_RECORDS, MAP_RECORDS, max_records};
use memmap2::{MmapMut, MmapOptions};

/// Make a file 5 records long, map 10 records of it MAP_SHARED, fill them, hold the mapping.
#[derive(Parser, Debug)]
#[command(name = "map_normalfile1", version)]
struct Args {
    /// File to create (or truncate) and map; created owner-writable (0644)
    file: PathBuf,

    /// Records to map and fill; the file itself is always 5 records long
    #[arg(long, value_name = "N", default_value_t = MAP_RECORDS)]
    records: usize,

    /// Seconds to hold the mapping after `initialize over` (the C program's sleep(10))
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    hold: u64,

    /// Hold the mapping until a line or end of file arrives on stdin, not for --hold seconds
    #[arg(long, conflicts_with = "hold")]
    wait_stdin: bool,

    /// Unmap without msync(MS_SYNC) first, as the C program does
    #[arg(long)]
    no_msync: bool,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    let fits = max_records(FILE_RECORDS * People::SIZE);
    if args.records == 0 || args.records > fits {
        usage_error::<Args>(format!(
            "--records must be 1 to {fits}: the file is one page long, and a record past its last page would raise SIGBUS"
        ));
    }
    if let Err(err) = run(&args) {
        common::error::exit_with("map_normalfile1", &err);
    }
}

fn run(args: &Args) -> Result<()> {
    let path = args.file.display();

    // Step 1. fd = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_NONBLOCK, 0644);
    //         fstat: a regular file of ours, else refuse; ftruncate(fd, 0);
    // (the notes: O_CREAT | O_RDWR | O_TRUNC, 00777). One call of `common` does all of it.
    let mut file: File = todo!("create the file, or empty one of our own; never follow a symlink");

    // Step 2. lseek(fd, sizeof(people) * 5 - 1, SEEK_SET); write(fd, " ", 1);
    // Errors read "lseek {path}: ..." and "write {path}: ...".
    todo!("make the file 5 records (40 bytes) long");

    // Step 3. posix_fallocate(fd, 0, sizeof(people) * 5);   (not in the notes)
    // Error: "fallocate {path}: ...".
    todo!("reserve the file's blocks before the first store into the mapping");

    // Step 4. p_map = mmap(NULL, sizeof(people) * records, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    //         close(fd);
    let mut map: MmapMut = todo!("map `records` records read-write, then close the file");

    // Step 5. for (i = 0; i < records; i++) { p_map[i].name = 'a' + i; p_map[i].age = 20 + i; }
    //         printf("initialize over\n");
    todo!("fill the records, then say so");

    // Step 6. sleep(10);   (or, with --wait-stdin, until a line arrives: `hold` is written)
    hold(args).context("read stdin")?;

    // Step 7. msync(p_map, sizeof(people) * records, MS_SYNC);   (not in the notes; skipped
    //         with --no-msync)   munmap(p_map, ...);   printf("umap ok\n");
    todo!("write the page back, unmap, say so");
    Ok(())
}

/// Keeps the mapping for `--hold` seconds, or until stdin has a line for us.
fn hold(args: &Args) -> io::Result<()> {
    if args.wait_stdin {
        io::stdin().read_line(&mut String::new())?;
    } else {
        std::thread::sleep(Duration::from_secs(args.hold));
    }
    Ok(())
}
