// ANCHOR: all
//! map_grow_file: map a region much larger than a file, and use more of it as the file grows.
//!
//! Ports the second question of seed 000 §B (`000_2472ed93582ebe78.txt`: "如何映射一个持续增长的文件？",
//! and its example 6_ex_shm_test2_map_inc_file.c, not included in the notes; the program is
//! UNP vol. 2's `test2.c`, §12.6). Chapter: `docs/src/map_grow_file.md`.
//!
//! The classic run maps 8 pages of an empty file, then grows the file a page at a time with
//! `ftruncate`. Before each growth the next page raises SIGBUS (mapped, but no file page behind
//! it); after it the page reads 0 and can be written. Each access runs in a forked child, so
//! the SIGBUS is reported instead of ending the program.
//!
//! ```text
//! $ map_grow_file
//! ptr[4095] = SIGBUS   before: the file is 0 bytes
//! setting file size to 4096
//! ptr[4095] = 0
//! ...
//! setting file size to 32768
//! ptr[32767] = 0
//! ```
//!
//! The real use, two processes: `--append N FILE` grows FILE a record at a time and writes each
//! record through its mapping, printing a line per record; `--follow FILE`, fed those lines on
//! stdin, maps the large region once and prints each new record, like `tail -f`, reading only
//! below the file size `fstat` reports and inside its mapping, and refusing a file with holes,
//! so it never faults:
//!
//! ```text
//! $ map_grow_file --append 12 /tmp/log | map_grow_file --follow /tmp/log
//! ```
//!
//! Run it with cargo, from anywhere in the workspace (its arguments after `--`):
//! `cargo run -p map_grow_file`, `cargo run -p map_grow_file -- --append 12 /tmp/log`.
//!
//! Exit status: 0 done (the SIGBUS probes are part of the output), 1 a call failed, 2 bad
//! arguments.

use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use clap::Parser;
use common::people::{field_str, set_field_str};
use common::probe::{Outcome, probe};
use common::{Context, Error, Interrupts, Result, err_exit, page_size};
use memmap2::{MmapOptions, MmapRaw};

/// Pages the classic run maps: 8, which is the C program's 32768 bytes with 4 KiB pages.
const PAGES: usize = 8;
/// Bytes in one record of the append/follow mode.
const RECORD: usize = 512;
/// Bytes both --append and --follow map: much more than the file will hold.
const REGION: usize = 1 << 20;
/// Records the region holds: 2048. No record past it is ever read or written.
const RECORDS: usize = REGION / RECORD;

/// Map a region much larger than a file, and use more of it as the file grows.
#[derive(Parser, Debug)]
#[command(
    name = "map_grow_file",
    version,
    after_help = "Ports seed 000 §B's second question (UNP vol. 2's test2.c, §12.6).\nChapter 7: docs/src/map_grow_file.md"
)]
struct Args {
    /// File to create (or truncate); the classic run uses a temp file if none is given
    file: Option<PathBuf>,

    /// Write N records, growing the file by one record (512 bytes) before each
    #[arg(long, value_name = "N", conflicts_with = "follow", requires = "file",
          value_parser = clap::value_parser!(u16).range(1..=RECORDS as i64))]
    append: Option<u16>,

    /// Follow FILE as --append grows it: one line on stdin per appended record
    #[arg(long, requires = "file")]
    follow: bool,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    let result = match (args.append, args.follow, &args.file) {
        (Some(n), _, Some(file)) => append(file, usize::from(n)),
        (None, true, Some(file)) => follow(file),
        _ => classic(args.file.as_deref()),
    };
    if let Err(err) = result {
        err_exit!(err);
    }
}

/// The C program: grow the file a page at a time under a mapping of 8 pages.
fn classic(path: Option<&Path>) -> Result<()> {
    let interrupts = Interrupts::block().context("sigprocmask")?;
    // ANCHOR: open
    let (mut file, p) = match path {
        // fd = open(FILE, O_RDWR | O_CREAT | O_TRUNC, 0644);
        // No symlink followed, no other user's file truncated, nothing but a regular file.
        Some(path) => (
            common::file::create(path, 0o644)?,
            path.display().to_string(),
        ),
        // The C program's test.data, as a file with no name (O_TMPFILE): nothing to remove,
        // and nothing left behind, however the program ends, SIGKILL included.
        None => {
            let dir = std::env::temp_dir();
            let p = format!("a temp file in {}", dir.display());
            let file = tempfile::tempfile_in(&dir).with_context(|| format!("open {p}"))?;
            (file, p)
        }
    };
    // ANCHOR_END: open
    let ps = page_size();
    let size = PAGES * ps;

    // ANCHOR: mmap
    // ptr = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    // The file is 0 bytes: every page of the mapping lies past its end, for now.
    // MmapRaw (memmap2) gives a pointer, not a slice: these bytes may not be there to read.
    let ptr = MmapOptions::new()
        .len(size)
        .map_raw(&file)
        .with_context(|| format!("mmap {p}"))?;
    // ANCHOR_END: mmap

    // ANCHOR: grow
    // for (i = 4096; i <= SIZE; i += 4096) {
    for i in (ps..=size).step_by(ps) {
        interrupts.check()?;
        // Not in the C: the last byte of the next page, before the file covers it.
        let before = probe_at(&ptr, i - 1, None)?;
        println!(
            "{:<20} before: the file is {} bytes",
            format!("ptr[{}] = {before}", i - 1),
            i - ps
        );

        // printf("setting file size to %d\n", i); ftruncate(fd, i);
        println!("setting file size to {i}");
        file.set_len(i as u64)
            .with_context(|| format!("ftruncate {p}"))?;
        // posix_fallocate(fd, 0, i); not in the C: ftruncate reserves no block, and on a full
        // disk the store below would raise SIGBUS, which is not this lesson's.
        common::file::reserve(file.as_fd(), i).with_context(|| format!("fallocate {p}"))?;

        // printf("ptr[%d] = %d\n", i - 1, ptr[i - 1]);
        // And write 1 there, which the C does not: the new page is the file's now.
        let after = probe_at(&ptr, i - 1, Some(1))?;
        println!("ptr[{}] = {after}", i - 1);
    }
    // ANCHOR_END: grow

    // ANCHOR: check
    // Not in the C: the bytes written through the mapping are in the file; read(2) them
    // through the descriptor (the temp file has no name to open).
    drop(ptr);
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .with_context(|| format!("read {p}"))?;
    let ones = bytes.iter().filter(|&&b| b == 1).count();
    println!(
        "the file is {} bytes; it holds the {ones} bytes of 1 written through the mapping",
        bytes.len()
    );
    // A signal that came while this program worked ends it now.
    interrupts.check()
    // ANCHOR_END: check
}

/// One access at `offset` of the mapping, in a child process.
fn probe_at(ptr: &MmapRaw, offset: usize, write: Option<u8>) -> Result<Outcome> {
    if offset >= ptr.len() {
        return Err(Error::msg(
            format!("probe ptr[{offset}]"),
            "past the mapping",
        ));
    }
    let addr = ptr.as_mut_ptr().wrapping_add(offset);
    // SAFETY: this program starts no threads, and `offset` is inside the mapping (checked
    // above), which this program made: the access can fault (SIGBUS) but touches nothing else.
    unsafe { probe(addr, write) }.with_context(|| format!("probe ptr[{offset}]"))
}

/// The writer: grow the file by a record, write the record through the mapping, tell stdout.
fn append(path: &Path, records: usize) -> Result<()> {
    let p = path.display();
    if records > RECORDS {
        return Err(Error::msg(
            "--append",
            format!("{records} records do not fit in {REGION} bytes"),
        ));
    }
    // fd = open(FILE, O_RDWR | O_CREAT | O_TRUNC, 0644), made safe for a shared directory.
    let file = common::file::create(path, 0o644)?;

    // ptr = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0); once, for good.
    let ptr = MmapOptions::new()
        .len(REGION)
        .map_raw(&file)
        .with_context(|| format!("mmap {p}"))?;

    for n in 0..records {
        // ftruncate(fd, (n + 1) * RECORD): first make the record's bytes part of the file; a
        // store to a page past the end of the file would raise SIGBUS.
        let end = (n + 1) * RECORD;
        file.set_len(end as u64)
            .with_context(|| format!("ftruncate {p}"))?;
        // posix_fallocate(fd, 0, end): ftruncate reserves no block; on a full disk the store
        // below would raise SIGBUS. Reserve them first, and report ENOSPC instead.
        common::file::reserve(file.as_fd(), end).with_context(|| format!("fallocate {p}"))?;

        let start = ptr.as_mut_ptr().wrapping_add(n * RECORD);
        // SAFETY: n < records <= RECORDS, so the record's bytes lie in the mapping (REGION
        // bytes) and, since the ftruncate, in the file, with blocks reserved; the follower
        // reads a record only after this line announces it.
        let record = unsafe { std::slice::from_raw_parts_mut(start, RECORD) };
        set_field_str(record, format!("record {}", n + 1).as_bytes());

        // The event the follower waits for: the record is complete.
        println!("appended record {}: file size {end}", n + 1);
    }
    Ok(())
}

/// The follower: one mapping of the whole region; on each event, the records the file holds.
fn follow(path: &Path) -> Result<()> {
    let p = path.display();
    let mut events = std::io::stdin().lock().lines();

    // Wait for the first record: the writer has created (and truncated) the file by then.
    let Some(first) = events.next() else {
        return Ok(());
    };
    let mut announced = parse_event(&first.context("read stdin")?)?;

    // fd = open(FILE, O_RDONLY); ptr = mmap(NULL, REGION, PROT_READ, MAP_SHARED, fd, 0);
    // A FIFO, a device or a directory is refused (and a FIFO does not block the open).
    let file: File = common::file::open_regular(path, false)?;
    let ptr = MmapOptions::new()
        .len(REGION)
        .map_raw_read_only(&file)
        .with_context(|| format!("mmap {p}"))?;

    let mut next = 0; // records printed so far
    loop {
        // fstat(fd, &st): the file's size now. Nothing at or past it is read: that is the rule
        // that keeps a reader of a growing file from SIGBUS. Nothing past the mapping either
        // (parse_event refuses such a record; the bound here is the one the loads rely on):
        // a file can be far larger than the mapping, and a load past it reads other memory.
        let size = file.metadata().with_context(|| format!("fstat {p}"))?.len();
        let in_file = usize::try_from(size / RECORD as u64).unwrap_or(usize::MAX);
        let complete = announced.min(in_file).min(RECORDS);
        // lseek(fd, next * RECORD, SEEK_HOLE): on a full tmpfs even a load from a hole needs a
        // new page, and there is none: SIGBUS. The writer reserves every record it announces,
        // so a hole among them means another program made the file; refuse it.
        if next < complete {
            let hole = seek_hole(&file, next * RECORD).with_context(|| format!("lseek {p}"))?;
            if hole < complete * RECORD {
                let why = format!(
                    "record {} lies in a hole (no block behind it): not a file map_grow_file --append wrote",
                    hole / RECORD + 1
                );
                return Err(Error::msg(p.to_string(), why));
            }
        }
        while next < complete {
            let start = ptr.as_ptr().wrapping_add(next * RECORD);
            // SAFETY: next < RECORDS, so the record lies inside the mapping; it lies below the
            // file's size, and its writer finished it before announcing it; nothing writes it
            // again.
            let record = unsafe { std::slice::from_raw_parts(start, RECORD) };
            println!(
                "{} (offset {})",
                String::from_utf8_lossy(field_str(record)),
                next * RECORD
            );
            next += 1;
        }
        match events.next() {
            Some(line) => announced = parse_event(&line.context("read stdin")?)?,
            None => return Ok(()),
        }
    }
}

/// `lseek(fd, offset, SEEK_HOLE)`: the offset of the first hole at or after `offset` (the
/// file's size if there is none).
fn seek_hole(file: &File, offset: usize) -> std::io::Result<usize> {
    let offset = libc::off_t::try_from(offset).map_err(std::io::Error::other)?;
    // SAFETY: lseek takes plain values; a bad descriptor or offset is reported through errno.
    let hole = unsafe { libc::lseek(file.as_raw_fd(), offset, libc::SEEK_HOLE) };
    if hole < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(usize::try_from(hole).unwrap_or(usize::MAX))
}

/// `appended record N: file size S` → N, if record N lies inside the mapping.
fn parse_event(line: &str) -> Result<usize> {
    let n: usize = line
        .strip_prefix("appended record ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            Error::msg(
                "stdin",
                format!("not a line from map_grow_file --append: {line:?}"),
            )
        })?;
    if n > RECORDS {
        // The writer never announces one: the follower maps REGION bytes, records 1 to 2048.
        let why =
            format!("record {n} is past the mapping ({REGION} bytes: records 1 to {RECORDS})");
        return Err(Error::msg("stdin", why));
    }
    Ok(n)
}
// ANCHOR_END: all
