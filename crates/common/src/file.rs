//! Files the programs create, open and size, made safe for shared directories and full disks.
//!
//! The notes' `open(path, O_CREAT | O_RDWR | O_TRUNC, 0777)` does three things nobody wants in
//! a directory such as `/tmp`, which every user can write:
//! - it follows a symlink another user planted under the name, and truncates what it points to;
//! - it truncates a file of the same name that belongs to someone else;
//! - it opens whatever is there: a FIFO (the open blocks for ever), a device (the program then
//!   writes into it), a directory.
//!
//! [`create`] and [`open_regular`] refuse all of that before a byte is written. [`reserve`] is
//! the step the notes leave out between `ftruncate` and the first store into a new mapping:
//! `ftruncate` only sets a size, it reserves no block, so on a full filesystem (a full
//! `/dev/shm` above all) the first store into the mapping finds no page to put the byte in and
//! the kernel kills the process with SIGBUS. `posix_fallocate` reserves the blocks first, and
//! fails with `ENOSPC` instead, which a program can report.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::{Context, Error, Result};

/// `open(path, O_RDWR | O_CREAT | O_TRUNC, mode)`, made safe for a shared directory.
///
/// - `O_CREAT | O_EXCL | O_NOFOLLOW` first: a new file is ours, made with `mode`.
/// - If the name is taken, it is opened without `O_CREAT` and without following a symlink
///   (`Too many levels of symbolic links`), and with `O_NONBLOCK`, so a FIFO does not block the
///   open. Then `fstat`: anything that is not a regular file (a FIFO, a device, a directory) is
///   refused, and so is a file another user owns; then `flock(LOCK_EX | LOCK_NB)`: a file
///   another run still has mapped is refused too (truncating it would SIGBUS that run); only
///   then is it truncated to 0 bytes.
///
/// Errors name the call and the path: `open /tmp/x: not a regular file (a FIFO)`.
pub fn create(path: &Path, mode: u32) -> Result<File> {
    let p = path.display();
    let new = OpenOptions::new()
        .read(true) // a MAP_SHARED mapping with PROT_WRITE needs the fd open for reading too
        .write(true)
        .create_new(true) // O_CREAT | O_EXCL, which never follows a symlink
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    match new {
        Ok(file) => {
            lock(&file, &p.to_string())?;
            return Ok(file);
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::new(format!("open {p}"), e)),
    }
    // The name is taken: open what is there, and look at it before changing a byte.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("open {p}"))?;
    check_regular(&file, &format!("open {p}"))?;
    let st = file.metadata().with_context(|| format!("fstat {p}"))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if st.uid() != me {
        let why = format!("owned by uid {}, not by you; not truncated", st.uid());
        return Err(Error::msg(format!("open {p}"), why));
    }
    lock(&file, &p.to_string())?;
    // O_TRUNC, now that the file is known to be ours and no other run of ours uses it.
    file.set_len(0).with_context(|| format!("ftruncate {p}"))?;
    Ok(file)
}

/// `flock(fd, LOCK_EX | LOCK_NB)`: the file is this run's. Another run of a writer that has the
/// same file mapped holds the lock (a mapping keeps the open file, and its lock, after `close`):
/// truncating the file under that mapping would kill the other run with SIGBUS, so this run
/// stops instead. The lock goes when the last descriptor and mapping of the file are gone.
fn lock(file: &File, path: &str) -> Result<()> {
    // SAFETY: flock takes plain values; the descriptor is open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        let why = "in use by another process (flock); not truncated";
        return Err(Error::msg(format!("open {path}"), why));
    }
    Err(Error::new(format!("flock {path}"), err))
}

/// `open(path, O_RDONLY)` (or `O_RDWR` with `write`) for a file another program made, refusing
/// anything that is not a regular file. `O_NONBLOCK` keeps a FIFO from blocking the open for
/// ever; a regular file ignores it.
pub fn open_regular(path: &Path, write: bool) -> Result<File> {
    let p = path.display();
    let file = OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("open {p}"))?;
    check_regular(&file, &format!("open {p}"))?;
    Ok(file)
}

/// `fstat(fd)` and `S_ISREG`: an error naming what the descriptor is if it is not a regular
/// file, with `context` (`open /tmp/x`) before it. POSIX shm objects are regular files on
/// Linux (they live on tmpfs) and on FreeBSD.
pub fn check_regular(fd: &impl AsFd, context: &str) -> Result<()> {
    not_regular(fd.as_fd()).with_context(|| context.to_owned())
}

/// [`check_regular`] as an `io::Error`, for the wrappers of single calls (`shm_open`).
pub(crate) fn not_regular(fd: BorrowedFd<'_>) -> io::Result<()> {
    let file = File::from(fd.try_clone_to_owned()?);
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(io::Error::other(format!("not a regular file ({what})")))
}

/// `fstatfs(fd)`: whether the file lives on a tmpfs (`/dev/shm`, often `/tmp`), whose pages
/// are never written back to a disk. Linux names the filesystem by a number (`f_type`,
/// `TMPFS_MAGIC`), macOS and FreeBSD by a name (`f_fstypename`, `"tmpfs"`).
pub fn on_tmpfs(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut sfs = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `sfs` is a writable statfs-sized buffer; a bad descriptor is reported as EBADF.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), sfs.as_mut_ptr()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatfs succeeded, so it filled `sfs`.
    let sfs = unsafe { sfs.assume_init() };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[allow(clippy::unnecessary_cast)] // f_type is i64 on glibc x86-64, u32 or i32 elsewhere
    let tmpfs = sfs.f_type as i64 == libc::TMPFS_MAGIC as i64;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: f_fstypename is a NUL-terminated name inside the structure.
    let tmpfs = unsafe { std::ffi::CStr::from_ptr(sfs.f_fstypename.as_ptr()) } == c"tmpfs";
    Ok(tmpfs)
}

/// `posix_fallocate(fd, 0, len)`: reserve the blocks for the first `len` bytes, growing the
/// file to `len` if it is shorter. After it, stores into a mapping of those bytes cannot fail
/// for want of space; without it, on a full filesystem, the first store raises SIGBUS.
///
/// Returns `EFBIG` (`File too large`) past `ulimit -f`, if SIGXFSZ is ignored
/// ([`crate::default_signals`]).
pub fn reserve(fd: BorrowedFd<'_>, len: usize) -> io::Result<()> {
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    #[cfg(not(target_os = "macos"))]
    loop {
        // SAFETY: posix_fallocate takes plain values; a bad descriptor is reported as EBADF.
        // It returns the error number instead of setting errno.
        match unsafe { libc::posix_fallocate(fd.as_raw_fd(), 0, len) } {
            0 => return Ok(()),
            // A signal's handler ran during a long reservation (tmpfs checks): try again.
            libc::EINTR => continue,
            // FreeBSD: ZFS cannot reserve (copy on write). Size the file, as macOS does.
            #[cfg(target_os = "freebsd")]
            libc::EINVAL | libc::EOPNOTSUPP => return grow(fd, len),
            errno => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
    // macOS has no posix_fallocate, and its POSIX shm objects take one ftruncate only:
    // size the object if it is shorter, reserving nothing.
    #[cfg(target_os = "macos")]
    grow(fd, len)
}

/// `ftruncate(fd, len)` if the file is shorter than `len`: where nothing can be reserved.
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
fn grow(fd: BorrowedFd<'_>, len: libc::off_t) -> io::Result<()> {
    let file = File::from(fd.try_clone_to_owned()?);
    if file.metadata()?.len() < len as u64 {
        file.set_len(len as u64)?;
    }
    Ok(())
}

/// Whether the file has a hole below its size: `lseek(fd, 0, SEEK_HOLE)` finds one before
/// `st_size`. A reader of an object another process wrote refuses one with holes: on a full
/// tmpfs even a read of a hole needs a new page, and there is none: SIGBUS.
///
/// Not `st_blocks`: blocks reserved past the end of the file (`fallocate --keep-size`) count
/// there too, while the page a reader will touch stays a hole. On tmpfs, a page reserved by
/// `posix_fallocate` and never written also counts as a hole here; the writers in this project
/// write every page they reserve. A filesystem without `SEEK_HOLE` reports none (the whole
/// file is data), as lseek(2) allows.
pub fn has_holes(file: &File) -> io::Result<bool> {
    let size = file.metadata()?.len();
    if size == 0 {
        return Ok(false);
    }
    // SAFETY: lseek takes plain values; errors are reported through errno.
    let hole = unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_HOLE) };
    if hole == -1 {
        let err = io::Error::last_os_error();
        // No SEEK_HOLE here (ESPIPE: a macOS shm object, which lives in no filesystem and
        // has no holes; EINVAL: a filesystem without SEEK_HOLE): nothing to refuse.
        if matches!(err.raw_os_error(), Some(libc::ESPIPE | libc::EINVAL)) {
            return Ok(false);
        }
        return Err(err);
    }
    Ok((hole as u64) < size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    /// A new file with `bytes` in it, in a directory of the test's own.
    fn put(path: &Path, bytes: &[u8]) {
        use std::io::Write;
        let mut file = File::create_new(path).unwrap();
        file.write_all(bytes).unwrap();
    }

    #[test]
    fn creates_a_new_file_with_the_mode() {
        let d = dir();
        let path = d.path().join("f");
        let file = create(&path, 0o600).unwrap();
        let mode = file.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    #[test]
    fn truncates_an_own_file() {
        let d = dir();
        let path = d.path().join("f");
        put(&path, b"old");
        let file = create(&path, 0o644).unwrap();
        assert_eq!(file.metadata().unwrap().len(), 0);
    }

    #[test]
    fn refuses_a_file_another_run_has_mapped() {
        let d = dir();
        let path = d.path().join("f");
        let first = create(&path, 0o644).unwrap();
        first.set_len(100).unwrap();
        let err = create(&path, 0o644).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("in use by another process (flock); not truncated")
        );
        assert_eq!(first.metadata().unwrap().len(), 100);
        drop(first);
        create(&path, 0o644).unwrap();
    }

    #[test]
    fn refuses_a_symlink_and_leaves_its_target() {
        let d = dir();
        let target = d.path().join("target");
        put(&target, b"keep");
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = create(&link, 0o644).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    }

    #[test]
    fn refuses_a_fifo_without_blocking() {
        let d = dir();
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = create(&fifo, 0o644).unwrap_err();
        assert!(
            err.to_string().ends_with("not a regular file (a FIFO)"),
            "{err}"
        );
        let err = open_regular(&fifo, false).unwrap_err();
        assert!(
            err.to_string().ends_with("not a regular file (a FIFO)"),
            "{err}"
        );
    }

    #[test]
    fn refuses_a_directory_and_a_device() {
        let d = dir();
        let err = create(d.path(), 0o644).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        let err = create(Path::new("/dev/null"), 0o644).unwrap_err();
        assert!(err.to_string().contains("a character device"), "{err}");
    }

    #[test]
    fn reserve_grows_and_allocates() {
        let d = dir();
        let file = create(&d.path().join("f"), 0o600).unwrap();
        file.set_len(10_000).unwrap();
        reserve(file.as_fd(), 10_000).unwrap();
        assert_eq!(file.metadata().unwrap().len(), 10_000);
        assert!(file.metadata().unwrap().blocks() * 512 >= 10_000);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_hole_is_seen_even_with_blocks_past_the_end() {
        let d = dir();
        let file = create(&d.path().join("f"), 0o600).unwrap();
        file.set_len(36).unwrap();
        assert!(has_holes(&file).unwrap());
        // fallocate(FALLOC_FL_KEEP_SIZE) past the end: st_blocks grows, page 0 stays a hole.
        // SAFETY: plain values; the descriptor is open.
        let rc =
            unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 65536, 4096) };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        assert!(has_holes(&file).unwrap());
        use std::io::Write;
        (&file).write_all(&[1; 36]).unwrap();
        assert!(!has_holes(&file).unwrap());
    }
}
