//! Where the counter lives (`--backing`): a mapped file (UNP's incr2.c and incr3.c), an
//! anonymous mapping (incr_map_anon.c), a POSIX shared-memory object, or the same object made
//! by the shared_memory crate. Each is made, sized and reserved the same careful way, and
//! removed by whoever made it, on every way out.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use common::{Context, Error, Mapping, Result};
use shared_memory::{Shmem, ShmemConf, ShmemError};

use crate::REGION;

/// Where the counter lives.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// A regular file, mapped MAP_SHARED (incr2.c, incr3.c)
    File,
    /// MAP_SHARED | MAP_ANONYMOUS, shared with the child by fork (incr_map_anon.c)
    Anon,
    /// A POSIX shared-memory object (shm_open), removed at the end
    Posix,
    /// The same, made with the shared_memory crate (parent and child only: no descriptor)
    SharedMemory,
}

/// The shared region, of one of the kinds, and what keeps it alive.
pub enum Region {
    Anon(Mapping),
    File(Mapping),
    Posix(Mapping, OwnedFd, String, Option<common::posix::Created>),
    Crate(Shmem),
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Region({}: {})", self.kind(), self.label())
    }
}

impl Region {
    /// The parent's or the first's region, new: of kind `backing`, at `file` (for
    /// `Backing::File`; `None`, an unnamed temp file) or under `name` (for the POSIX kinds;
    /// `None`, a random name).
    pub fn create(backing: Backing, file: Option<&Path>, name: Option<&str>) -> Result<Region> {
        match backing {
            Backing::Anon => {
                // mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANON, -1, 0)
                // SAFETY: a fresh anonymous mapping; its bytes are only touched through atomics
                // and the locks, never through a slice view.
                let map = unsafe {
                    Mapping::new(REGION, RW, libc::MAP_SHARED | libc::MAP_ANONYMOUS, None, 0)
                }
                .context("mmap")?;
                Ok(Region::Anon(map))
            }
            Backing::File => {
                // fd = open(argv[1], O_RDWR | O_CREAT, 0644): never through a symlink, never
                // another user's file, never a FIFO or a device (common::file::create).
                // Without --file the name is not needed: an unnamed file (O_TMPFILE), which
                // nothing can leave behind, not even SIGKILL.
                let (file, label, made) = match file {
                    Some(path) => {
                        let existed = path.symlink_metadata().is_ok();
                        let file = common::file::create(path, 0o644)?;
                        (file, path.display().to_string(), (!existed).then_some(path))
                    }
                    None => {
                        let dir = std::env::temp_dir().display().to_string();
                        let file = tempfile::tempfile()
                            .with_context(|| format!("open {dir} (O_TMPFILE)"))?;
                        (file, format!("unnamed temp file in {dir}"), None)
                    }
                };
                // SAFETY: size_and_map sizes and reserves the file first.
                let map = unsafe { size_and_map(file.as_fd(), &label) }.inspect_err(|_| {
                    // A file this run made and could not size (full disk, ulimit -f): unlink it.
                    if let Some(path) = made {
                        let _ = std::fs::remove_file(path);
                    }
                })?;
                // close(fd): the mapping keeps the file.
                Ok(Region::File(map))
            }
            Backing::Posix => {
                let (name, fd, created) = create_object(name)?;
                // SAFETY: as above.
                let map = unsafe { size_and_map(fd.as_fd(), &name) }?;
                Ok(Region::Posix(map, fd, name, Some(created)))
            }
            Backing::SharedMemory => create_with_crate(name).map(Region::Crate),
        }
    }

    /// The second's region: the first's object, if it is one.
    pub fn open(name: &str) -> Result<Region> {
        let cname = CString::new(name)
            .map_err(|_| Error::msg(format!("open {name}"), "a NUL in the name"))?;
        // shm_open(name, O_RDWR, 0): refuses a FIFO or a directory under the name.
        let fd = common::posix::shm_open(&cname, libc::O_RDWR, 0).map_err(|e| {
            let enoent = e.raw_os_error() == Some(libc::ENOENT);
            let err = Error::new(format!("open {name}"), e);
            if enoent {
                err.hint("start the first process first")
            } else {
                err
            }
        })?;
        // fstat, lseek(SEEK_HOLE): exactly one page, with no hole. A shorter object would
        // fault past its end; one with a hole could fault on a full /dev/shm even on a read.
        let file = std::fs::File::from(fd.try_clone().context("dup")?);
        let size = file
            .metadata()
            .with_context(|| format!("fstat {name}"))?
            .len();
        let holes = common::file::has_holes(&file).with_context(|| format!("lseek {name}"))?;
        if size != REGION as u64 || holes {
            return Err(Error::msg(name, "not a shm_counter region"));
        }
        // SAFETY: the object is REGION bytes, with no hole (checked just above). Another user
        // could shrink it afterwards (ftruncate): the mapping would then fault; only the
        // object's owner, the first, can do that (mode 0600).
        let map = unsafe { Mapping::new(REGION, RW, libc::MAP_SHARED, Some(fd.as_fd()), 0) }
            .context("mmap")?;
        Ok(Region::Posix(map, fd, name.to_owned(), None))
    }

    pub fn base(&self) -> *mut u8 {
        match self {
            Region::Anon(map) | Region::File(map) | Region::Posix(map, ..) => map.as_ptr(),
            Region::Crate(shmem) => shmem.as_ptr(),
        }
    }

    /// The descriptor of a POSIX object, whose OFD locks say who is alive (--role).
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Region::Posix(_, fd, ..) => fd.as_fd(),
            Region::Anon(_) | Region::File(_) | Region::Crate(_) => {
                unreachable!("--role needs --backing posix")
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Region::Anon(_) => "anon",
            Region::File(_) => "file",
            Region::Posix(..) => "posix",
            Region::Crate(_) => "shared-memory",
        }
    }

    /// Names the region in errors.
    pub fn label(&self) -> &str {
        match self {
            Region::Anon(_) => "anonymous mapping",
            Region::File(_) => "file",
            Region::Posix(_, _, name, _) => name,
            Region::Crate(shmem) => shmem.get_os_id(),
        }
    }

    /// In a child: whatever happens, do not remove what the parent made.
    pub fn disown(&mut self) {
        if let Region::Posix(_, _, _, created) = self
            && let Some(created) = created.take()
        {
            created.keep();
        }
        if let Region::Crate(shmem) = self {
            shmem.set_owner(false);
        }
    }
}

const RW: libc::c_int = libc::PROT_READ | libc::PROT_WRITE;

/// shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600), with a guard that shm_unlinks it on every
/// way out. Without --name, a random name, and another one if that is taken (EEXIST).
fn create_object(given: Option<&str>) -> Result<(String, OwnedFd, common::posix::Created)> {
    let mut tries = 0;
    loop {
        let name = match given {
            Some(name) => name.to_owned(),
            None => format!("/shm-by-example.shm_counter.{:08x}", common::random_u32()),
        };
        let cname = CString::new(name.clone())
            .map_err(|_| Error::msg(format!("create {name}"), "a NUL in the name"))?;
        match common::posix::shm_open(&cname, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600) {
            Ok(fd) => return Ok((name, fd, common::posix::Created::new(&cname))),
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists
                    && given.is_none()
                    && tries < 10 =>
            {
                tries += 1
            }
            Err(e) => return Err(Error::new(format!("create {name}"), e)),
        }
    }
}

/// The shared_memory crate's `ShmemConf::create()`: shm_open(O_CREAT | O_EXCL | O_RDWR, 0600),
/// ftruncate and mmap in one call; the process that created the object owns it, and dropping
/// the owner's `Shmem` calls shm_unlink. Without --name, a random name, and another one if that
/// is taken.
///
/// Its limit: it hands out no file descriptor, and its ftruncate reserves nothing, so on a
/// full /dev/shm the first store would die of SIGBUS. The way around it is a second shm_open
/// of the object by its name, to posix_fallocate it before anything is stored. (No descriptor
/// also means no OFD lock to tell who is alive: --role uses --backing posix.)
fn create_with_crate(given: Option<&str>) -> Result<Shmem> {
    let mut tries = 0;
    let shmem = loop {
        let name = match given {
            Some(name) => name.to_owned(),
            None => format!("/shm-by-example.shm_counter.{:08x}", common::random_u32()),
        };
        match ShmemConf::new().os_id(&name).size(REGION).create() {
            Ok(shmem) => break shmem,
            Err(ShmemError::MappingIdExists) if given.is_none() && tries < 10 => tries += 1,
            Err(e) => return Err(shmem_error(format!("create {name}"), e)),
        }
    };
    let name = shmem.get_os_id();
    let cname = CString::new(name).map_err(|_| Error::msg(name, "a NUL in the name"))?;
    // fd = shm_open(name, O_RDWR, 0); posix_fallocate(fd, 0, REGION); close(fd);
    // On failure, returning drops `shmem`, the owner, which unlinks the object.
    let fd = common::posix::shm_open(&cname, libc::O_RDWR, 0)
        .with_context(|| format!("shm_open {name}"))?;
    common::file::reserve(fd.as_fd(), REGION).with_context(|| format!("fallocate {name}"))?;
    Ok(shmem)
}

/// shared_memory's errors carry the errno of the call that failed; show it as perror would.
fn shmem_error(context: String, err: ShmemError) -> Error {
    match err {
        ShmemError::MapCreateFailed(errno)
        | ShmemError::MapOpenFailed(errno)
        | ShmemError::UnknownOsError(errno) => {
            Error::new(context, std::io::Error::from_raw_os_error(errno as i32))
        }
        ShmemError::MappingIdExists => {
            Error::new(context, std::io::Error::from_raw_os_error(libc::EEXIST))
        }
        other => Error::msg(context, other.to_string()),
    }
}

/// ftruncate(fd, REGION); posix_fallocate(fd, 0, REGION); mmap(..., MAP_SHARED, fd, 0).
///
/// ftruncate only sets the size: on a full filesystem the first store into the mapping would
/// find no page and die of SIGBUS. posix_fallocate reserves the pages first, or fails with
/// ENOSPC (EFBIG under `ulimit -f`), which is one line and exit 1.
///
/// # Safety
///
/// `fd` is a new regular file or object of this process that no one else sizes or shrinks.
unsafe fn size_and_map(fd: std::os::fd::BorrowedFd<'_>, label: &str) -> Result<Mapping> {
    let file = std::fs::File::from(fd.try_clone_to_owned().context("dup")?);
    file.set_len(REGION as u64)
        .with_context(|| format!("ftruncate {label}"))?;
    common::file::reserve(fd, REGION).with_context(|| format!("fallocate {label}"))?;
    // SAFETY: the file is REGION bytes, all reserved, so no page of the mapping can fault;
    // its bytes are only touched through atomics and the locks.
    unsafe { Mapping::new(REGION, RW, libc::MAP_SHARED, Some(fd), 0) }.context("mmap")
}
