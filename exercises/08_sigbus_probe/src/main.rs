//! Exercise 8: port UNP's `test1.c` (crates/filesize_vs_mapsize/c/filesize_vs_mapsize.c):
//! what an access does when a mapping is larger, or smaller, than its file.
//!
//! Read first: docs/src/filesize_vs_mapsize.md ("What happens, and why", "Step by step", "How
//! a probe works", "Why the reservation"). The task, and what it must print:
//! exercises/08_sigbus_probe/README.md. Check: `cargo run -p exercises -- check 8`.
//!
//! Fill in the steps of `run` and `test`: each `todo!()` sits under the C line it ports. The
//! arguments, `main`, `reason`, `picture` and `Reservation` (mmap PROT_NONE, then MAP_FIXED
//! over it) are done; the checker runs this program under the name `filesize_vs_mapsize`,
//! with the example's own tests.
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
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::ptr::{self, NonNull};

use clap::Parser;
use common::probe::{Outcome, probe};
use common::{Context, Error, Interrupts, Result, page_size, usage_error};

/// More pages than this are not probed (each probe is a fork): a usage error.
const MAX_PAGES: u64 = 63;

/// Map a file larger or smaller than the mapping and report what every access does.
#[derive(Parser, Debug)]
#[command(name = "filesize_vs_mapsize", version)]
struct Args {
    /// File to create (or truncate); without arguments, the notes' two cases run in a temp file
    #[arg(requires_all = ["filesize", "mapsize"])]
    file: Option<PathBuf>,

    /// Bytes in the file
    filesize: Option<u64>,

    /// Bytes to map
    mapsize: Option<u64>,
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
        common::error::exit_with("filesize_vs_mapsize", &err);
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
        test(&file, &p, 5000, 15000, &interrupts)?;
        println!();
        test(&file, &p, 15000, 5000, &interrupts)?;
        return interrupts.check();
    };
    // Step 1. fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);  made safe for a shared
    // directory (no symlink followed, no other user's file emptied, only a regular file).
    let file: File = todo!("create the file, or empty one of our own");
    test(
        &file,
        &path.display().to_string(),
        filesize,
        mapsize,
        &interrupts,
    )?;
    // close(fd);
    drop(file);
    interrupts.check()
}

/// The C program: one file size, one mapping size, every page probed. `p` names the file in
/// errors.
fn test(file: &File, p: &str, filesize: u64, mapsize: u64, interrupts: &Interrupts) -> Result<()> {
    let ps = page_size() as u64;

    // Step 2. ftruncate(fd, 0);  (the O_TRUNC again: the notes' second case reuses the file)
    //         lseek(fd, filesize - 1, SEEK_SET); write(fd, "", 1);   (not for filesize 0)
    //         posix_fallocate(fd, 0, filesize);   (not in the C: a store into a hole on a
    //         full disk raises SIGBUS, which would pass for the lesson's)
    // Errors: "ftruncate {p}: ...", "lseek {p}: ...", "write {p}: ...", "fallocate {p}: ...".
    todo!("make the file `filesize` bytes long, every block reserved");

    // Step 3. (not in the C) reserve the pages a probe can reach, one more than the larger
    //         size covers: Reservation::new((pages + 1) * ps)   ("mmap PROT_NONE: ...")
    //         ptr = mmap(NULL, mapsize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    //         here over the reservation's start, with MAP_FIXED: reserved.map_file(..)
    //         printf("filesize = %ld, mapsize = %ld\n"); printf("PAGESIZE = %ld\n");
    let pages: u64 = todo!("the larger size, in pages");
    let reserved: Reservation = todo!("reserve the pages a probe can reach");
    let ptr: NonNull<u8> = todo!("map the file over the reservation's start, and print the sizes");

    // Step 4. for (i = 0; i < max(filesize, mapsize); i += pagesize) {
    //             ptr[i] and ptr[i + pagesize - 1]: read, print, store 1 }
    //         then ptr[i], the first byte after the last page.
    // Each access in a child: `unsafe { probe(addr, Some(1)) }` (common::probe), whose
    // `// SAFETY:` says why `addr` lies in the reservation; print each as
    // `println!("{line:<20} {}", reason(offset, outcome, filesize, mapsize.next_multiple_of(ps)))` with
    // `line = format!("ptr[{offset}] = {outcome}")`, and Ctrl-C looked at between two
    // (`interrupts.check()?`). Then a blank line and the picture.
    let offsets: Vec<u64> = todo!("the offsets: first and last byte of each page, then one more");
    let outcomes: Vec<Outcome> = todo!("probe each offset, print each outcome");
    println!();
    picture(filesize, mapsize, ps, &offsets, &outcomes);
    // munmap: dropping the reservation unmaps its whole range, the file mapping in it too.
    drop(reserved);
    Ok(())
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
