//! What every probe shares: the entry table, the printed evidence, the verdict.

use std::io;
use std::os::fd::AsRawFd;

use common::{Context, Mapping, Result};

/// One entry of the errata chapter and the probe that shows it.
#[derive(Debug)]
pub struct Entry {
    /// The id the chapter gives it, `001-4`.
    pub id: &'static str,
    /// The notes' claim, in the chapter's words.
    pub claim: &'static str,
    /// Makes the calls, prints them with [`Probe::show`], and checks with [`Probe::expect`]
    /// what the entry says. An `Err` is a call the probe needs that failed (not evidence).
    pub run: fn(&mut Probe) -> Result<()>,
}

/// The evidence one probe prints, and whether it matched the entry.
#[derive(Debug, Default)]
pub struct Probe {
    mismatches: Vec<String>,
}

impl Probe {
    /// Runs `entry`'s probe: its claim, its evidence, then `verdict: holds` or what differed.
    /// Returns whether the entry holds on this machine.
    pub fn run(entry: &Entry) -> Result<bool> {
        println!("{}: {}", entry.id, entry.claim);
        let mut probe = Probe::default();
        (entry.run)(&mut probe)?;
        if probe.mismatches.is_empty() {
            println!("verdict: holds");
            Ok(true)
        } else {
            for m in &probe.mismatches {
                println!("verdict: DOES NOT HOLD here: {m}");
            }
            Ok(false)
        }
    }

    /// Prints one line of evidence: a call and what it returned, or what was seen.
    pub fn show(&mut self, line: impl AsRef<str>) {
        println!("{}", line.as_ref());
    }

    /// Checks one thing the entry says; when it is false, the verdict says `what`.
    pub fn expect(&mut self, holds: bool, what: impl Into<String>) {
        if !holds {
            self.mismatches.push(what.into());
        }
    }
}

/// `Ok` or the errno's name, as a probe prints a call's result: `= 0`, `= -1 EINVAL`.
pub fn outcome<T>(result: &io::Result<T>) -> String {
    match result {
        Ok(_) => "= ok".to_string(),
        Err(e) => format!("= -1 {}", errno_name(e)),
    }
}

/// The symbolic name of an OS error (`EINVAL`), which does not change with the locale.
pub fn errno_name(err: &io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return err.to_string();
    };
    let name = match code {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EIDRM => "EIDRM",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EOWNERDEAD => "EOWNERDEAD",
        libc::ENOTRECOVERABLE => "ENOTRECOVERABLE",
        libc::ERANGE => "ERANGE",
        _ => return format!("errno {code}"),
    };
    name.to_string()
}

/// A new file of `len` bytes in `/var/tmp` (a disk file system where there is one), unnamed:
/// `O_TMPFILE`, gone when closed, whatever happens.
pub fn disk_file(len: u64) -> Result<std::fs::File> {
    let file = tempfile::tempfile_in("/var/tmp")
        .or_else(|_| tempfile::tempfile())
        .context("open a temporary file")?;
    file.set_len(len).context("ftruncate")?;
    Ok(file)
}

/// `pages` pages of `PROT_NONE` (a reservation: any access raises SIGSEGV), with the first
/// `map_len` bytes replaced by a shared mapping of `file` (`MAP_FIXED` over the reservation,
/// the one safe use of it). Every probe address stays inside what this program mapped.
pub fn reserve_and_map(file: &std::fs::File, pages: usize, map_len: usize) -> Result<Mapping> {
    let page = common::page_size();
    // SAFETY: a fresh PROT_NONE mapping; nothing reads it through a reference.
    let reserved = unsafe {
        Mapping::new(
            pages * page,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            None,
            0,
        )
    }
    .context("mmap PROT_NONE")?;
    if map_len > 0 {
        // SAFETY: MAP_FIXED over the start of the reservation this function just made, which
        // nothing else uses; the reservation's guard unmaps the whole range.
        let addr = unsafe {
            libc::mmap(
                reserved.as_ptr().cast(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                file.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(common::Error::last_os_error("mmap MAP_FIXED"));
        }
    }
    Ok(reserved)
}

/// Reads the byte at `base + offset` in a forked child (then stores `write` there, if given):
/// `0`, or `SIGBUS`, `SIGSEGV`.
///
/// # Safety
///
/// `base + offset` lies in a mapping or reservation of this program's own.
pub unsafe fn touch(base: *mut u8, offset: usize, write: Option<u8>) -> Result<String> {
    // SAFETY: the caller's promise; this program starts no threads.
    let outcome =
        unsafe { common::probe::probe(base.wrapping_add(offset), write) }.context("fork")?;
    Ok(outcome.to_string())
}

/// `getrusage(RUSAGE_SELF).ru_minflt + ru_majflt`: the page faults this process has taken.
pub fn page_faults() -> u64 {
    // SAFETY: an all-zero rusage is a valid value for the kernel to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    (usage.ru_minflt + usage.ru_majflt) as u64
}

/// `PROT_READ | PROT_WRITE`.
pub const RW: libc::c_int = libc::PROT_READ | libc::PROT_WRITE;

/// A `MAP_SHARED | MAP_ANONYMOUS` mapping of `len` bytes (the parent-and-child kind).
pub fn shared_anon(len: usize) -> Result<Mapping> {
    // SAFETY: a fresh mapping, touched only through raw pointers by the probes.
    unsafe { Mapping::new(len, RW, libc::MAP_SHARED | libc::MAP_ANONYMOUS, None, 0) }
        .context("mmap MAP_SHARED | MAP_ANONYMOUS")
}

/// Forks; the child runs `child` and exits 0 when it returns true. Returns the child's success.
pub fn in_child(child: impl FnOnce() -> bool) -> Result<bool> {
    // SAFETY: this program starts no threads; the child ends with exit_child.
    match unsafe { common::fork() }.context("fork")? {
        common::Fork::Child => common::exit_child(if child() { 0 } else { 1 }),
        common::Fork::Parent(pid) => Ok(common::waitpid(pid).context("waitpid")?.success()),
    }
}

/// A POSIX shm object a probe made, under a random name, `len` bytes reserved; unlinked when
/// dropped.
#[derive(Debug)]
pub struct Object {
    /// Its name, `/shm-by-example.errata.RANDOM`.
    pub name: String,
    /// The descriptor `shm_open` returned.
    pub fd: std::os::fd::OwnedFd,
    _gone: common::posix::Created,
}

impl Object {
    /// `shm_open(O_CREAT | O_EXCL | O_RDWR, 0600)`, then `posix_fallocate(len)`.
    pub fn create(len: usize) -> Result<Object> {
        use std::os::fd::AsFd;
        let name = format!("/shm-by-example.errata.{:08x}", common::random_u32());
        let cname =
            std::ffi::CString::new(name.clone()).map_err(|_| common::Error::msg(&name, "NUL"))?;
        let fd =
            common::posix::shm_open(&cname, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600)
                .with_context(|| format!("shm_open {name}"))?;
        let _gone = common::posix::Created::new(&cname);
        common::file::reserve(fd.as_fd(), len).context("posix_fallocate")?;
        Ok(Object { name, fd, _gone })
    }
}
