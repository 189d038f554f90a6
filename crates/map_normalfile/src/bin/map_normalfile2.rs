// ANCHOR: all
//! map_normalfile2: the reader of the file-mapping pair.
//!
//! Ports `map_normalfile2.c` from seed 002 (`002_7650189f7af18478.txt`, "mmap范例", example 1);
//! seed 003's read half (§1.4) is the same program with `--records 5`.
//! Chapter: `docs/src/map_normalfile.md`.
//!
//! It maps 10 `people` records of a file that `map_normalfile1` made 5 records long and prints
//! them. Run it while the writer holds its mapping and it prints all 10, the 5 past the end of
//! the file included: both processes map the same page of the page cache. Run it after the
//! writer's `umap ok` and what it prints for records 6..10 depends on whether that page was
//! written back to a disk (they read as zeros) or is on tmpfs (they survive).
//!
//! ```text
//! $ map_normalfile2 /var/tmp/test_shm      # map_normalfile1 is holding its mapping
//! name: a age 20;
//! name: b age 21;
//! ...
//! name: j age 29;
//! ```
//!
//! Run it with cargo, from anywhere in the workspace (its arguments after `--`):
//! `cargo run -p map_normalfile --bin map_normalfile2 -- /var/tmp/test_shm`.
//!
//! Exit status: 0 done, 1 a call failed or the file is not one the writer made, 2 bad arguments.

use std::path::PathBuf;

use clap::Parser;
use common::{Context, Error, People, Result, err_exit, usage_error};
use map_normalfile::{FILE_RECORDS, MAP_RECORDS, max_records};
use memmap2::MmapOptions;

/// Map 10 records of a file made by map_normalfile1 and print them.
#[derive(Parser, Debug)]
#[command(
    name = "map_normalfile2",
    version,
    after_help = "Ports seed 002's map_normalfile2.c (\"mmap范例\", example 1).\nChapter 1: docs/src/map_normalfile.md"
)]
struct Args {
    /// File written by map_normalfile1
    file: PathBuf,

    /// Records to map and print
    #[arg(long, value_name = "N", default_value_t = MAP_RECORDS)]
    records: usize,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    if args.records == 0 {
        usage_error::<Args>("--records must be at least 1");
    }
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

fn run(args: &Args) -> Result<()> {
    let path = args.file.display();

    // ANCHOR: open
    // fd = open(argv[1], O_RDONLY);
    // The notes open with O_CREAT | O_RDWR, 0777: a missing file is created empty, and reading
    // its mapping then dies of SIGBUS. The reader only reads, so it opens read-only and never
    // creates. common::file::open_regular adds O_NONBLOCK, so a FIFO under the name does not
    // wait for a writer, and then refuses anything that is not a regular file.
    let file = common::file::open_regular(&args.file, false)?;
    // ANCHOR_END: open

    // ANCHOR: size
    // fstat(fd, &st); not in the notes. Mapping past the last page of a file is legal, but
    // touching that memory raises SIGBUS; check the size first and say what is wrong instead.
    let st = file.metadata().with_context(|| format!("fstat {path}"))?;
    let file_len = usize::try_from(st.len()).unwrap_or(usize::MAX);
    let want = FILE_RECORDS * People::SIZE;
    if file_len < want {
        return Err(Error::msg(
            path.to_string(),
            format!(
                "file is {file_len} bytes, shorter than the {want} that map_normalfile1 writes; run it first"
            ),
        ));
    }
    if args.records > max_records(file_len) {
        return Err(Error::msg(
            path.to_string(),
            format!(
                "{} records would reach past the last page of this {file_len}-byte file (SIGBUS); at most {} fit",
                args.records,
                max_records(file_len)
            ),
        ));
    }

    // fstatfs(fd, &sfs); not in the notes. On tmpfs even a read of a page with no block
    // behind it (a hole, as `truncate -s 40` makes) needs a new page, and on a full tmpfs it
    // raises SIGBUS. map_normalfile1 reserves its blocks; a file with a hole is not its work.
    // (On a disk filesystem a hole reads as zeros without taking space.)
    let holes = common::file::has_holes(&file).with_context(|| format!("lseek {path}"))?;
    if holes && on_tmpfs(&file).with_context(|| format!("fstatfs {path}"))? {
        return Err(Error::msg(
            path.to_string(),
            "file has a hole (bytes never written) on tmpfs, where reading it could fault; map_normalfile1 writes no holes",
        ));
    }
    // ANCHOR_END: size

    // ANCHOR: mmap
    // p_map = mmap(NULL, sizeof(people) * 10, PROT_READ, MAP_SHARED, fd, 0);
    // PROT_READ: the notes map it writable, but this program never writes.
    let len = args.records * People::SIZE;
    // SAFETY: the file is at least 40 bytes and `len` ends within its last page (checked
    // above), so every mapped byte is readable. The writer changes the records only before it
    // prints "initialize over", and this program is started after that line.
    let map = unsafe { MmapOptions::new().len(len).map(&file) }
        .with_context(|| format!("mmap {path}"))?;
    // ANCHOR_END: mmap

    // ANCHOR: print
    // for (i = 0; i < 10; i++) printf("name: %s age %d;\n", p_map[i].name, p_map[i].age);
    let people: &[People] = bytemuck::cast_slice(&map[..]);
    for p in people {
        println!("name: {} age {};", p.name_lossy(), p.age);
    }
    // ANCHOR_END: print

    // ANCHOR: unmap
    // munmap(p_map, sizeof(people) * 10);
    drop(map);
    // ANCHOR_END: unmap
    Ok(())
}

/// `fstatfs(fd)`: whether the file lives on a tmpfs (`/dev/shm`, often `/tmp`).
fn on_tmpfs(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::fd::AsFd;
    common::file::on_tmpfs(file.as_fd())
}
// ANCHOR_END: all
