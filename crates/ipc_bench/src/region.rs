//! Shared memory for the benchmarks, of the four kinds the examples teach: a mapped file,
//! a POSIX shm object, a System V segment, a memfd. Each is made, mapped and at once unlinked
//! (or marked for removal) before the fork: the child inherits the mapping, and nothing is left
//! behind however the benchmark ends, even by SIGKILL. A memfd has no name at all, so nothing
//! is left behind even for an instant: there is nothing to unlink.
//!
//! A file, shm object or memfd is sized with `ftruncate` and then reserved with
//! `posix_fallocate` before anything is stored in it: `ftruncate` reserves no page, and on a
//! full `/dev/shm` (or a full `$TMPDIR`) the first store into the mapping would find none and
//! die of SIGBUS. The reservation fails with `No space left on device` instead, which ends the
//! benchmark with one line. (A memfd's pages come from the kernel's own tmpfs mount, not from
//! `/dev/shm`: a full `/dev/shm` does not stop it.)

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;

use common::sysv::{self, Attached};
use common::{Context, Mapping, Result};
use rustix::fs::{MemfdFlags, memfd_create};

/// Where the shared bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MappedFile,
    PosixShm,
    SysvShm,
    /// memfd_create(2): tmpfs pages, as a POSIX shm object's, with no name in any directory.
    Memfd,
}

/// A shared region of `len` bytes, page-aligned, zero-filled.
#[derive(Debug)]
pub enum Region {
    Mapped(Mapping),
    Sysv(Attached),
}

impl Region {
    pub fn new(kind: Kind, len: usize) -> Result<Region> {
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        match kind {
            Kind::MappedFile => {
                // A temp file with no name (O_TMPFILE where the filesystem has it): gone when
                // the last descriptor and mapping go.
                let dir = std::env::temp_dir();
                let what = format!("a temp file in {}", dir.display());
                let file = tempfile::tempfile().with_context(|| format!("open {what}"))?;
                size(&file, len, &what)?;
                map(&file, len, rw).with_context(|| format!("mmap {what}"))
            }
            Kind::PosixShm => {
                let (name, fd) = shm_create()?;
                let n = name.to_string_lossy();
                // Unlinked at once: the mapping keeps the memory.
                // shm_unlink(name);
                common::posix::shm_unlink(&name).with_context(|| format!("shm_unlink {n}"))?;
                let file = File::from(fd);
                size(&file, len, &n)?;
                map(&file, len, rw).with_context(|| format!("mmap {n}"))
            }
            Kind::SysvShm => {
                let shmid = sysv::shmget(libc::IPC_PRIVATE, len, libc::IPC_CREAT | 0o600)
                    .context("shmget IPC_PRIVATE")?;
                // SAFETY: a new segment of `len` bytes, attached read-write; the benchmark
                // hands its bytes between the processes through futex words (`Ring` in throughput.rs).
                let attached = unsafe { Attached::new(shmid, len, 0) };
                // Marked for removal at once: it goes when the last process detaches.
                sysv::shmctl_rmid(shmid).with_context(|| format!("shmctl {shmid} IPC_RMID"))?;
                Ok(Region::Sysv(
                    attached.with_context(|| format!("shmat {shmid}"))?,
                ))
            }
            Kind::Memfd => {
                // A file with no name anywhere, only a descriptor: nothing to unlink, ever.
                // fd = memfd_create("ipc_bench", MFD_CLOEXEC);
                let fd = memfd_create("ipc_bench", MemfdFlags::CLOEXEC)
                    .context("memfd_create ipc_bench")?;
                // What /proc/PID/fd and /proc/PID/maps call it.
                let what = "memfd:ipc_bench";
                let file = File::from(fd);
                size(&file, len, what)?;
                map(&file, len, rw).with_context(|| format!("mmap {what}"))
            }
        }
    }

    pub fn as_ptr(&self) -> *mut u8 {
        match self {
            Region::Mapped(map) => map.as_ptr(),
            Region::Sysv(attached) => attached.as_ptr(),
        }
    }
}

/// A new POSIX shm object with a name of its own: `/shm-by-example.ipc_bench.` and 32 random
/// bits (never the pid alone, which another PID namespace sharing `/dev/shm` may also have; and
/// in the project's namespace, which `make clean-ipc` knows). O_EXCL makes a name already taken
/// an error: then another name is drawn.
fn shm_create() -> Result<(CString, std::os::fd::OwnedFd)> {
    let mut tries = 0;
    loop {
        let name = format!("/shm-by-example.ipc_bench.{:08x}", common::random_u32());
        let c = CString::new(name.as_str()).map_err(|e| common::Error::new(&name, e.into()))?;
        // shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
        match common::posix::shm_open(&c, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600) {
            Ok(fd) => return Ok((c, fd)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 10 => tries += 1,
            Err(e) => return Err(common::Error::new(format!("shm_open {name}"), e)),
        }
    }
}

/// ftruncate, then posix_fallocate: the size, and the pages behind it.
fn size(file: &File, len: usize, what: &str) -> Result<()> {
    // ftruncate(fd, len);
    file.set_len(len as u64)
        .with_context(|| format!("ftruncate {what}"))?;
    // posix_fallocate(fd, 0, len); before the first store: a full /dev/shm is an error here,
    // not a SIGBUS there.
    common::file::reserve(file.as_fd(), len).with_context(|| format!("fallocate {what}"))
}

fn map(file: &File, len: usize, prot: libc::c_int) -> io::Result<Region> {
    // SAFETY: the file is `len` bytes long, so every page is backed; the benchmark hands its
    // bytes between the processes through futex words (`Ring` in throughput.rs) and never keeps a view
    // across a handoff.
    let map = unsafe { Mapping::new(len, prot, libc::MAP_SHARED, Some(file.as_fd()), 0) }?;
    Ok(Region::Mapped(map))
}
