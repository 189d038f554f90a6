//! Shared memory for the benchmarks, of the three kinds the examples teach: a mapped file,
//! a POSIX shm object, a System V segment. Each is made, mapped and at once unlinked (or
//! marked for removal) before the fork: the child inherits the mapping, and nothing is left
//! behind however the benchmark ends, even by SIGKILL.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;

use common::Mapping;
use common::sysv::{self, Attached};

/// Where the shared bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MappedFile,
    PosixShm,
    SysvShm,
}

/// A shared region of `len` bytes, page-aligned, zero-filled.
#[derive(Debug)]
pub enum Region {
    Mapped(Mapping),
    Sysv(Attached),
}

impl Region {
    pub fn new(kind: Kind, len: usize) -> io::Result<Region> {
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        match kind {
            Kind::MappedFile => {
                // A temp file with no name (O_TMPFILE where the filesystem has it): gone when
                // the last descriptor and mapping go.
                let file = tempfile::tempfile()?;
                file.set_len(len as u64)?;
                map(&file, len, rw)
            }
            Kind::PosixShm => {
                // SAFETY: getpid has no preconditions.
                let name = CString::new(format!("/ipc_bench.{}", unsafe { libc::getpid() }))?;
                let fd = common::posix::shm_open(
                    &name,
                    libc::O_CREAT | libc::O_EXCL | libc::O_RDWR,
                    0o600,
                )?;
                // Unlinked at once: the mapping keeps the memory.
                common::posix::shm_unlink(&name)?;
                let file = File::from(fd);
                file.set_len(len as u64)?;
                map(&file, len, rw)
            }
            Kind::SysvShm => {
                let shmid = sysv::shmget(libc::IPC_PRIVATE, len, libc::IPC_CREAT | 0o600)?;
                // SAFETY: a new segment of `len` bytes, attached read-write; the benchmark
                // hands its bytes between the processes through futex words (`Ring` in throughput.rs).
                let attached = unsafe { Attached::new(shmid, len, 0) };
                // Marked for removal at once: it goes when the last process detaches.
                sysv::shmctl_rmid(shmid)?;
                Ok(Region::Sysv(attached?))
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

fn map(file: &File, len: usize, prot: libc::c_int) -> io::Result<Region> {
    // SAFETY: the file is `len` bytes long, so every page is backed; the benchmark hands its
    // bytes between the processes through futex words (`Ring` in throughput.rs) and never keeps a view
    // across a handoff.
    let map = unsafe { Mapping::new(len, prot, libc::MAP_SHARED, Some(file.as_fd()), 0) }?;
    Ok(Region::Mapped(map))
}
