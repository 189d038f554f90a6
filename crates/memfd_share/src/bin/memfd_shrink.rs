// ANCHOR: all
//! memfd_shrink: why memfd_read insists on `F_SEAL_SHRINK`.
//!
//! Beyond the notes; chapter: `docs/src/memfd_share.md`. It is filesize_vs_mapsize's lesson
//! (a mapping past the end of its file raises SIGBUS) with a hostile writer in it.
//!
//! It makes the people memfd twice, maps it as a reader would, and has the writer shrink it
//! to nothing (`ftruncate(fd, 0)`) under the mapping. Each read of the last record runs in a
//! forked child (as filesize_vs_mapsize's probes do), standing for the reader's next access,
//! so that the parent lives on to report it:
//!
//! ```text
//! $ memfd_shrink
//! without seals:
//!   reader reads record 10: age 29
//!   writer: ftruncate(fd, 0): done
//!   reader reads record 10: SIGBUS
//! with F_SEAL_SHRINK:
//!   reader reads record 10: age 29
//!   writer: ftruncate(fd, 0): Operation not permitted
//!   reader reads record 10: age 29
//! ```
//!
//! Run it with cargo, from anywhere in the workspace: `cargo run -p memfd_share --bin memfd_shrink`.
//!
//! Exit status: 0 done, 1 a call failed or a read did not do what is shown above, 2 bad
//! arguments.

use clap::Parser;

/// Shrink a memfd under a reader's mapping, without and with F_SEAL_SHRINK.
#[derive(Parser, Debug)]
#[command(
    name = "memfd_shrink",
    version,
    after_help = "Beyond the notes: what a seal guarantees.\nChapter 5: docs/src/memfd_share.md"
)]
struct Args {}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
fn main() {
    let _ = Args::parse();
    memfd_share::no_memfd!()
}

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
fn main() {
    common::default_signals();
    let _ = Args::parse();
    if let Err(err) = shrink::run() {
        common::err_exit!(err);
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod shrink {
    use std::fs::File;
    use std::os::fd::AsFd;

    use common::probe::{Outcome, probe};
    use common::{Context, Error, Mapping, People, Result};
    use memfd_share::{MEMFD_NAME, RECORDS, SIZE, records};
    use rustix::fs::{MemfdFlags, SealFlags, fcntl_add_seals, memfd_create};

    /// The byte the reader reads: the low byte of record 10's age (29).
    const LAST_AGE: usize = (RECORDS - 1) * People::SIZE + std::mem::offset_of!(People, age);

    pub fn run() -> Result<()> {
        println!("without seals:");
        let died = shrink_under_reader(SealFlags::empty())?;
        println!("with F_SEAL_SHRINK:");
        let lived = shrink_under_reader(SealFlags::SHRINK)?;
        match (died, lived) {
            (Outcome::Signal(_), Outcome::Value(29)) => Ok(()),
            _ => Err(Error::msg(
                "probe",
                "the reads did not end as the chapter says",
            )),
        }
    }

    /// Makes the people memfd with `seals`, maps it, shrinks it, and returns what the reader's
    /// read after the shrink did.
    fn shrink_under_reader(seals: SealFlags) -> Result<Outcome> {
        // ANCHOR: setup
        // fd = memfd_create("people", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        // ftruncate(fd, 80); posix_fallocate(fd, 0, 80);
        let fd = memfd_create(MEMFD_NAME, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
            .context("memfd_create people")?;
        let file = File::from(fd);
        file.set_len(SIZE as u64).context("ftruncate memfd")?;
        common::file::reserve(file.as_fd(), SIZE).context("fallocate memfd")?;
        // pwrite(fd, records, 80, 0);
        std::os::unix::fs::FileExt::write_all_at(&file, bytemuck::cast_slice(&records()), 0)
            .context("pwrite memfd")?;
        // fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
        if !seals.is_empty() {
            fcntl_add_seals(&file, seals).context("fcntl F_ADD_SEALS")?;
        }
        // ANCHOR_END: setup

        // ANCHOR: reader
        // p = mmap(NULL, 80, PROT_READ, MAP_SHARED, fd, 0);   the reader's mapping
        // SAFETY: 80 bytes of a file that is 80 bytes now, mapped read-only. This program
        // reads it only through `probe`, in a child, because the file is about to shrink
        // under it.
        let map = unsafe {
            Mapping::new(
                SIZE,
                libc::PROT_READ,
                libc::MAP_SHARED,
                Some(file.as_fd()),
                0,
            )
        }
        .context("mmap memfd")?;
        // SAFETY: LAST_AGE < SIZE: the address is inside the mapping this program owns.
        let age = unsafe { map.as_ptr().add(LAST_AGE) };
        report(age)?;
        // ANCHOR_END: reader

        // ANCHOR: shrink
        // ftruncate(fd, 0);   the writer (any process holding the descriptor)
        match file.set_len(0) {
            Ok(()) => println!("  writer: ftruncate(fd, 0): done"),
            Err(e) => println!("  writer: ftruncate(fd, 0): {}", common::error::reason(&e)),
        }
        report(age)
        // ANCHOR_END: shrink
    }

    /// Reads the byte at `age` in a forked child and prints what happened.
    fn report(age: *mut u8) -> Result<Outcome> {
        // SAFETY: single-threaded; `age` is inside a mapping this program made and still
        // holds. The read may fault (that is the point), in the child only.
        let outcome = unsafe { probe(age, None) }.context("fork")?;
        match outcome {
            Outcome::Value(v) => println!("  reader reads record 10: age {v}"),
            Outcome::Signal(_) => println!("  reader reads record 10: {outcome}"),
        }
        Ok(outcome)
    }
}
// ANCHOR_END: all
