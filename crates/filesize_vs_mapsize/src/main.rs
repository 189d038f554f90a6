// ANCHOR: all
//! filesize_vs_mapsize: what happens when a mapping is larger, or smaller, than its file.
//!
//! Ports the first question of seed 000 §B (`000_2472ed93582ebe78.txt`: "当映射的内存大于文件大小？",
//! and its example 5_ex_shm_test_filesize_mmapsize.c, not included in the notes; the program is
//! UNP vol. 2's `test1.c`, §12.6). Chapter: `docs/src/filesize_vs_mapsize.md`.
//!
//! It makes a file FILESIZE bytes long, maps MAPSIZE bytes of it, and touches the first and
//! the last byte of every page up to the larger of the two sizes, then the first byte after.
//! The C program dies at the first fault; here each access runs in a forked child, so every
//! one is reported: the value read, `SIGBUS` (inside the mapping but past the file's last
//! page: no file page to map), or `SIGSEGV` (past the end of the mapping). A `PROT_NONE`
//! reservation around the mapping makes the SIGSEGV certain, where C would touch whatever
//! the loader placed next.
//!
//! ```text
//! $ filesize_vs_mapsize                  # the notes' two cases: 5000/15000, 15000/5000
//! $ filesize_vs_mapsize /tmp/f 5000 15000
//! filesize = 5000, mapsize = 15000
//! PAGESIZE = 4096
//! ptr[0] = 0           in the file
//! ...
//! ptr[8192] = SIGBUS   in the mapping, past the last page of the file
//! ```
//!
//! Run it with cargo, from anywhere in the workspace (its arguments after `--`):
//! `cargo run -p filesize_vs_mapsize`, `cargo run -p filesize_vs_mapsize -- /tmp/f 5000 15000`.
//!
//! Exit status: 0 done (faults are part of the output), 1 a call failed, 2 bad arguments.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::ptr::{self, NonNull};

use clap::Parser;
use common::probe::{Outcome, probe};
use common::{Context, Error, Interrupts, Result, err_exit, page_size, usage_error};
use filesize_vs_mapsize::svg;

/// More pages than this are not probed (each probe is a fork): a usage error.
const MAX_PAGES: u64 = 63;

/// Map a file larger or smaller than the mapping and report what every access does.
#[derive(Parser, Debug)]
#[command(
    name = "filesize_vs_mapsize",
    version,
    after_help = "Ports seed 000 §B's first question (UNP vol. 2's test1.c, §12.6).\nChapter 6: docs/src/filesize_vs_mapsize.md"
)]
struct Args {
    /// File to create (or truncate); without arguments, the notes' two cases run in a temp file
    #[arg(requires_all = ["filesize", "mapsize"])]
    file: Option<PathBuf>,

    /// Bytes in the file
    filesize: Option<u64>,

    /// Bytes to map
    mapsize: Option<u64>,

    /// Also draw the page map of each case as an SVG figure into PATH (a new file, or one of
    /// yours: never through a symlink)
    #[arg(long, value_name = "PATH")]
    svg: Option<PathBuf>,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    for size in [args.filesize, args.mapsize].into_iter().flatten() {
        if size.div_ceil(page_size() as u64) > MAX_PAGES {
            usage_error::<Args>(format!(
                "{size} bytes is more than {MAX_PAGES} pages: too many accesses to probe"
            ));
        }
    }
    if args.mapsize == Some(0) {
        usage_error::<Args>("mapsize must be at least 1: mmap refuses a length of 0");
    }
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

fn run(args: &Args) -> Result<()> {
    // The probes take a moment: a Ctrl-C between them must still remove the temp file.
    let interrupts = Interrupts::block().context("sigprocmask")?;
    let (Some(path), Some(filesize), Some(mapsize)) = (&args.file, args.filesize, args.mapsize)
    else {
        // The notes' two cases, in a file with no name (O_TMPFILE): nothing to remove, and
        // nothing left behind, however the program ends, SIGKILL included.
        let dir = std::env::temp_dir();
        let p = format!("a temp file in {}", dir.display());
        let file = tempfile::tempfile_in(&dir).with_context(|| format!("open {p}"))?;
        let larger = test(&file, &p, 5000, 15000, &interrupts)?;
        println!();
        let smaller = test(&file, &p, 15000, 5000, &interrupts)?;
        svg::write(args.svg.as_deref(), &[larger, smaller])?;
        return interrupts.check();
    };
    // ANCHOR: open
    // fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    // No symlink followed, no other user's file truncated, nothing but a regular file.
    let file = common::file::create(path, 0o644)?;
    // ANCHOR_END: open
    let case = test(
        &file,
        &path.display().to_string(),
        filesize,
        mapsize,
        &interrupts,
    )?;
    // close(fd);
    drop(file);
    svg::write(args.svg.as_deref(), &[case])?;
    interrupts.check()
}

/// The C program: one file size, one mapping size, every page probed. `p` names the file in
/// errors. Returns the probes made, for `--svg`.
fn test(
    file: &File,
    p: &str,
    filesize: u64,
    mapsize: u64,
    interrupts: &Interrupts,
) -> Result<svg::Case> {
    let ps = page_size() as u64;

    // ANCHOR: size
    // The O_TRUNC of the open, again: the notes' second case reuses the first one's file.
    file.set_len(0).with_context(|| format!("ftruncate {p}"))?;

    // lseek(fd, filesize - 1, SEEK_SET); write(fd, "", 1);
    // (With filesize 0 there is no last byte to write: the file stays empty.)
    if filesize > 0 {
        let mut fd = file;
        fd.seek(SeekFrom::Start(filesize - 1))
            .with_context(|| format!("lseek {p}"))?;
        fd.write_all(&[0]).with_context(|| format!("write {p}"))?;
        // posix_fallocate(fd, 0, filesize); not in the C. The write above fills only the last
        // page: the pages before it are holes, and on a full disk a store into one raises
        // SIGBUS, which would pass for the lesson's "past the file" SIGBUS. Reserve them all.
        common::file::reserve(file.as_fd(), filesize as usize)
            .with_context(|| format!("fallocate {p}"))?;
    }
    // ANCHOR_END: size

    // ANCHOR: mmap
    // Not in the C: reserve every page a probe can reach, one more than the larger size
    // covers, with PROT_NONE. The file is then mapped over the start of the reservation, so
    // the first page past the mapping is ours too, and touching it is a certain SIGSEGV.
    let pages = filesize.max(mapsize).div_ceil(ps);
    let reserved = Reservation::new(((pages + 1) * ps) as usize).context("mmap PROT_NONE")?;

    // ptr = mmap(NULL, mapsize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    // Here at the reservation's address, with MAP_FIXED, which replaces those pages of it.
    let ptr = reserved
        .map_file(mapsize as usize, file)
        .with_context(|| format!("mmap {p}"))?;

    // pagesize = sysconf(_SC_PAGESIZE); printf("PAGESIZE = %ld\n", pagesize);
    println!("filesize = {filesize}, mapsize = {mapsize}");
    println!("PAGESIZE = {ps}");
    // ANCHOR_END: mmap

    // ANCHOR: probe
    // for (i = 0; i < max(filesize, mapsize); i += pagesize) {
    //     printf("ptr[%d] = %d\n", i, ptr[i]); ptr[i] = 1;
    //     printf("ptr[%d] = %d\n", i + pagesize - 1, ptr[i + pagesize - 1]); ptr[i + pagesize - 1] = 1;
    // }
    // printf("ptr[%d] = %d\n", i, ptr[i]);
    let mut offsets: Vec<u64> = (0..pages)
        .flat_map(|page| [page * ps, page * ps + ps - 1])
        .collect();
    offsets.push(pages * ps);
    let mut outcomes = Vec::with_capacity(offsets.len());
    for &offset in &offsets {
        interrupts.check()?;
        // Every probe stays inside the reservation: offset <= pages * ps < its length.
        if offset >= reserved.len as u64 {
            return Err(Error::msg(
                format!("probe ptr[{offset}]"),
                "past the reservation",
            ));
        }
        let addr = ptr.as_ptr().wrapping_add(offset as usize);
        // SAFETY: this program starts no threads; `offset` is below the reservation's length
        // (checked above), so the byte lies in the reservation, which this program owns whole.
        let outcome =
            unsafe { probe(addr, Some(1)) }.with_context(|| format!("probe ptr[{offset}]"))?;
        let line = format!("ptr[{offset}] = {outcome}");
        println!(
            "{line:<20} {}",
            reason(offset, outcome, filesize, mapsize.next_multiple_of(ps))
        );
        outcomes.push(outcome);
    }

    println!();
    picture(filesize, mapsize, ps, &offsets, &outcomes);
    // ANCHOR_END: probe
    // ANCHOR: munmap
    // munmap: dropping the reservation unmaps its whole range, the file mapping in it too.
    drop(reserved);
    // ANCHOR_END: munmap
    let probes = offsets.into_iter().zip(outcomes).collect();
    Ok(svg::Case {
        filesize,
        mapsize,
        page_size: ps,
        probes,
    })
}

/// Why an access did what it did, by where it was: the mapping ends at `mapped`, the end of
/// its last page. Linux sends SIGBUS inside the mapping and SIGSEGV past it; macOS sends
/// SIGBUS for both here (past the mapping lies this program's PROT_NONE reservation).
fn reason(offset: u64, outcome: Outcome, filesize: u64, mapped: u64) -> &'static str {
    match outcome {
        Outcome::Value(_) if offset < filesize => "in the file",
        Outcome::Value(_) => "past the end of the file, in its last page: not written to the file",
        Outcome::Signal(libc::SIGBUS | libc::SIGSEGV) if offset < mapped => {
            "in the mapping, past the last page of the file"
        }
        Outcome::Signal(libc::SIGBUS | libc::SIGSEGV) => "past the end of the mapping",
        Outcome::Signal(_) => "unexpected signal",
    }
}

/// File pages against mapped pages, and what an access to each page did.
fn picture(filesize: u64, mapsize: u64, ps: u64, offsets: &[u64], outcomes: &[Outcome]) {
    const W: u64 = 8; // characters a page
    let pages = offsets.last().map_or(0, |last| last / ps + 1);
    let (mut head, mut file, mut map, mut access) = (
        "page:    ".to_owned(),
        "file:    ".to_owned(),
        "mapping: ".to_owned(),
        "access:  ".to_owned(),
    );
    for page in 0..pages {
        let start = page * ps;
        head.push_str(&format!("{page:<9}"));
        // '#' for bytes of the file, '.' for the rest of the file's last page.
        let in_file = filesize.saturating_sub(start).min(ps);
        let cell = match in_file {
            0 => " ".repeat(W as usize),
            n => {
                let hashes = (n * W).div_ceil(ps);
                "#".repeat(hashes as usize) + &".".repeat((W - hashes) as usize)
            }
        };
        file.push_str(&cell);
        file.push(' ');
        map.push_str(if start < mapsize {
            "======== "
        } else {
            "         "
        });
        let outcome = offsets
            .iter()
            .zip(outcomes)
            .find(|(o, _)| **o / ps == page)
            .map(|(_, o)| *o);
        let word = match outcome {
            Some(Outcome::Value(_)) => "ok".to_owned(),
            Some(signal) => signal.to_string(),
            None => String::new(),
        };
        access.push_str(&format!("{word:<9}"));
    }
    for line in [head, file, map, access] {
        println!("{}", line.trim_end());
    }
    println!(
        "(# file bytes, . rest of the file's last page, = mapped page; a mapping covers whole pages)"
    );
}

/// A range of address space reserved with `PROT_NONE`: any access to it raises SIGSEGV until
/// something is mapped over it. Unmapped, with whatever was mapped into it, when dropped.
struct Reservation {
    ptr: NonNull<u8>,
    len: usize,
}

impl Reservation {
    /// mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    fn new(len: usize) -> std::io::Result<Reservation> {
        #[cfg(not(target_os = "freebsd"))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        // FreeBSD has no MAP_NORESERVE: it never counts a PROT_NONE mapping against memory.
        #[cfg(target_os = "freebsd")]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        // SAFETY: a NULL address without MAP_FIXED cannot replace an existing mapping; pages
        // with PROT_NONE and no backing store use no memory.
        let addr = unsafe { libc::mmap(ptr::null_mut(), len, libc::PROT_NONE, flags, -1, 0) };
        if addr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(addr.cast()).ok_or_else(|| std::io::Error::other("mmap returned NULL"))?;
        Ok(Reservation { ptr, len })
    }

    /// mmap(start, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0): the file,
    /// mapped over the start of the reservation.
    fn map_file(&self, len: usize, file: &File) -> std::io::Result<NonNull<u8>> {
        if len > self.len {
            return Err(std::io::Error::other(
                "the file mapping must fit in the reservation",
            ));
        }
        let (prot, flags) = (
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_FIXED,
        );
        // SAFETY: MAP_FIXED replaces only pages of this reservation (`len` fits in it, checked
        // above), which nothing else uses; the reservation unmaps them when dropped.
        let addr = unsafe {
            libc::mmap(
                self.ptr.as_ptr().cast(),
                len,
                prot,
                flags,
                file.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(self.ptr)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // SAFETY: the range is this reservation's, with the file mapping inside it; no
        // pointer into it is used after this.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
// ANCHOR_END: all
