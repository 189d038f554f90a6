// ANCHOR: all
//! map_normalfile1: the writer of the file-mapping pair.
//!
//! Ports `map_normalfile1.c` from seed 002 (`002_7650189f7af18478.txt`, "mmap范例", example 1);
//! seed 003's write half (§1.4) is the same program with `--records 5`.
//! Chapter: `docs/src/map_normalfile.md`.
//!
//! It makes a file 5 `people` records long, maps 10 records of it `MAP_SHARED`, fills all 10
//! and holds the mapping for 10 seconds, so that `map_normalfile2`, an unrelated process that
//! maps the same file, can print them. All 10 are visible while the page is in memory, though
//! the file holds only 5: a mapping covers whole pages, and bytes past the end of the file
//! exist in the page but are never written to the file.
//!
//! Start this one first; run the reader in another terminal within the 10 seconds, then again
//! after `umap ok`:
//!
//! ```text
//! $ map_normalfile1 /var/tmp/test_shm              $ map_normalfile2 /var/tmp/test_shm
//! initialize over                                  name: a age 20;
//! umap ok                                          ...
//!                                                  name: j age 29;
//! ```
//!
//! Scripts and tests release the mapping on an event instead of the timer: with `--wait-stdin`
//! it holds until a line (or end of file) arrives on stdin.
//!
//! Run it with cargo, from anywhere in the workspace (its arguments after `--`):
//! `cargo run -p map_normalfile --bin map_normalfile1 -- /var/tmp/test_shm`.
//!
//! Exit status: 0 done, 1 a call failed (the message names it), 2 bad arguments.

use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use common::{Context, People, Result, err_exit, usage_error};
use map_normalfile::{FILE_RECORDS, MAP_RECORDS, max_records};
use memmap2::MmapOptions;

/// Make a file 5 records long, map 10 records of it MAP_SHARED, fill them, hold the mapping.
#[derive(Parser, Debug)]
#[command(
    name = "map_normalfile1",
    version,
    after_help = "Ports seed 002's map_normalfile1.c (\"mmap范例\", example 1).\nChapter 1: docs/src/map_normalfile.md"
)]
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
        err_exit!(err);
    }
}

fn run(args: &Args) -> Result<()> {
    let path = args.file.display();

    // ANCHOR: open
    // fd = open(argv[1], O_CREAT | O_RDWR | O_TRUNC, 0644);
    // The notes ask for 0777: nothing here is executable, and only the owner writes it.
    // common::file::create is that open made safe for a shared directory like /tmp: it never
    // follows a symlink planted under the name, never truncates another user's file, and
    // refuses a FIFO, a device or a directory before a byte is written.
    let mut file = common::file::create(&args.file, 0o644)?;
    // ANCHOR_END: open

    // ANCHOR: size
    // lseek(fd, sizeof(people) * 5 - 1, SEEK_SET); write(fd, " ", 1);
    // Writing the last byte makes the file 5 records (40 bytes) long; the bytes before it read
    // as zeros. Which byte is written does not matter: record 5's age overwrites it below.
    let last_byte = (FILE_RECORDS * People::SIZE - 1) as u64;
    file.seek(SeekFrom::Start(last_byte))
        .with_context(|| format!("lseek {path}"))?;
    // Past `ulimit -f` this write fails with EFBIG: common::default_signals ignores SIGXFSZ.
    file.write_all(b" ")
        .with_context(|| format!("write {path}"))?;

    // posix_fallocate(fd, 0, sizeof(people) * 5); not in the notes.
    // A store into a mapped page that has no block behind it raises SIGBUS when the
    // filesystem is full. The write above usually got the block; this makes sure the whole
    // file has one (a filesystem may delay allocating), or says ENOSPC here instead.
    common::file::reserve(file.as_fd(), FILE_RECORDS * People::SIZE)
        .with_context(|| format!("fallocate {path}"))?;
    // ANCHOR_END: size

    // ANCHOR: mmap
    // p_map = mmap(NULL, sizeof(people) * 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    // Twice the file's length: the kernel maps the whole page, so records 6..10 are memory
    // that other mappings of the file share, but they lie past the end of the file.
    let len = args.records * People::SIZE;
    // SAFETY: the mapping is `len` bytes of a file this process has just sized and reserved;
    // `len` fits in the file's one page (checked in main), so every byte of it can be touched
    // without SIGBUS.
    // No one else writes the file while the records are filled: the reader only reads.
    let mut map = unsafe { MmapOptions::new().len(len).map_mut(&file) }
        .with_context(|| format!("mmap {path}"))?;

    // close(fd); the mapping holds its own reference to the file.
    drop(file);
    // ANCHOR_END: mmap

    // ANCHOR: fill
    // for (i = 0; i < 10; i++) { sprintf(p_map[i].name, "%c", 'a' + i); p_map[i].age = 20 + i; }
    let people: &mut [People] = bytemuck::cast_slice_mut(&mut map[..]);
    for (i, (p, name)) in people.iter_mut().zip(b'a'..).enumerate() {
        p.set_name(&[name]);
        p.age = 20 + i as i32;
    }
    println!("initialize over");
    // ANCHOR_END: fill

    // ANCHOR: hold
    // sleep(10); the reader runs now, in another process.
    hold(args).context("read stdin")?;
    // ANCHOR_END: hold

    // ANCHOR: unmap
    // msync(p_map, sizeof(people) * 10, MS_SYNC);
    // Not in the notes. It writes the page to the file now, and on a disk filesystem writing
    // the page back clears the bytes past the end of the file, records 6..10. Without it the
    // reader sees them until the kernel writes the page back on its own.
    if !args.no_msync {
        map.flush().with_context(|| format!("msync {path}"))?;
    }

    // munmap(p_map, sizeof(people) * 10);
    drop(map);
    println!("umap ok");
    // ANCHOR_END: unmap
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
// ANCHOR_END: all
