//! Seed 002's entries ("mmap as shared memory").

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

use common::{Context, Error, Fork, Mapping, Result, exit_child, fork, waitpid};

use crate::probe::{Entry, Probe, disk_file, errno_name, reserve_and_map, touch};

/// Seed 002's entries, in the chapter's order.
pub const ENTRIES: &[Entry] = &[
    Entry {
        id: "002-1",
        claim: "\"A mutex or a semaphore will do\" for the synchronisation",
        run: which_locks,
    },
    Entry {
        id: "002-2",
        claim: "`mmap` shares memory \"by mapping the same regular file\"",
        run: not_only_a_regular_file,
    },
    Entry {
        id: "002-3",
        claim: "\"mmap returns the address of the mapping\"",
        run: map_failed,
    },
    Entry {
        id: "002-4",
        claim: "\"After munmap, touching the old addresses is a segmentation fault\"",
        run: stale_address,
    },
    Entry {
        id: "002-5",
        claim: "\"Changes are written back to the file only at munmap (or msync)\"",
        run: not_apart_from_the_file,
    },
    Entry {
        id: "002-6",
        claim: "Which program writes and which reads",
        run: which_program_writes,
    },
    Entry {
        id: "002-7",
        claim: "The second listing: five records and five empty ones after `umap ok`",
        run: past_the_end_after_write_back,
    },
    Entry {
        id: "002-8",
        claim: "Conclusion 2: the usable space is \"roughly, but not entirely\" limited by the file's size",
        run: exact_in_pages,
    },
];

const RW: libc::c_int = libc::PROT_READ | libc::PROT_WRITE;

fn shared_anon(len: usize) -> Result<Mapping> {
    // SAFETY: a fresh mapping, touched only through raw pointers.
    unsafe { Mapping::new(len, RW, libc::MAP_SHARED | libc::MAP_ANONYMOUS, None, 0) }
        .context("mmap MAP_SHARED | MAP_ANONYMOUS")
}

/// Forks; the child runs `child` and exits 0 when it returns true. Returns the child's success.
fn in_child(child: impl FnOnce() -> bool) -> Result<bool> {
    // SAFETY: this program starts no threads; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => exit_child(if child() { 0 } else { 1 }),
        Fork::Parent(pid) => Ok(waitpid(pid).context("waitpid")?.success()),
    }
}

/// A process-shared mutex at `m`, robust or not.
///
/// # Safety
///
/// `m` is aligned, writable memory for a pthread_mutex_t that nobody uses yet.
unsafe fn mutex_init(m: *mut libc::pthread_mutex_t, robust: bool) -> Result<()> {
    // SAFETY: an all-zero attribute object is overwritten by init.
    let mut attr: libc::pthread_mutexattr_t = unsafe { std::mem::zeroed() };
    // SAFETY: `attr` is writable memory for the attribute object init fills in.
    let mut rc = unsafe { libc::pthread_mutexattr_init(&mut attr) };
    if rc == 0 {
        // SAFETY: `attr` was initialised just above.
        rc = unsafe { libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED) };
    }
    if rc == 0 && robust {
        // SAFETY: as above.
        rc = unsafe { libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST) };
    }
    if rc == 0 {
        // SAFETY: the caller's promise about `m`; `attr` is initialised.
        rc = unsafe { libc::pthread_mutex_init(m, &attr) };
    }
    // SAFETY: destroying the attribute object (initialised, or left as zeros by a failed init).
    unsafe { libc::pthread_mutexattr_destroy(&mut attr) };
    if rc != 0 {
        return Err(Error::new(
            "pthread_mutex_init",
            std::io::Error::from_raw_os_error(rc),
        ));
    }
    Ok(())
}

/// 002-1: only locks made for processes: a mutex's default is process-private; a shared one
/// whose holder dies stays locked unless it is robust (EOWNERDEAD).
fn which_locks(p: &mut Probe) -> Result<()> {
    // SAFETY: an all-zero attribute object is overwritten by init.
    let mut attr: libc::pthread_mutexattr_t = unsafe { std::mem::zeroed() };
    let mut pshared = -1;
    // SAFETY: `attr` is writable memory for the attribute object init fills in.
    unsafe { libc::pthread_mutexattr_init(&mut attr) };
    // SAFETY: a read of the attribute just initialised.
    unsafe { libc::pthread_mutexattr_getpshared(&attr, &mut pshared) };
    // SAFETY: destroying the initialised attribute object.
    unsafe { libc::pthread_mutexattr_destroy(&mut attr) };
    p.show(format!(
        "pthread_mutexattr_init: pshared is {}",
        if pshared == libc::PTHREAD_PROCESS_PRIVATE {
            "PTHREAD_PROCESS_PRIVATE"
        } else {
            "shared"
        }
    ));
    p.expect(
        pshared == libc::PTHREAD_PROCESS_PRIVATE,
        "the default is not private",
    );
    for robust in [false, true] {
        let page = common::page_size();
        let map = shared_anon(page)?;
        let m = map.as_ptr().cast::<libc::pthread_mutex_t>();
        // SAFETY: the start of a fresh page-aligned shared mapping.
        unsafe { mutex_init(m, robust) }?;
        // The child locks and exits without unlocking.
        // SAFETY: the mutex was initialised above, in memory the child shares.
        let ok = in_child(|| unsafe { libc::pthread_mutex_lock(m) == 0 })?;
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a writable timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
        let deadline = libc::timespec {
            tv_sec: now.tv_sec + 1,
            ..now
        };
        // SAFETY: the mutex initialised above; the deadline is one second away.
        let rc = unsafe { libc::pthread_mutex_timedlock(m, &deadline) };
        let name = if robust {
            "robust"
        } else {
            "process-shared, not robust"
        };
        let got = std::io::Error::from_raw_os_error(rc);
        p.show(format!(
            "{name}: the child locks it and exits; the parent's timed lock = {}",
            if rc == 0 {
                "0".to_string()
            } else {
                errno_name(&got)
            }
        ));
        let want = if robust {
            libc::EOWNERDEAD
        } else {
            libc::ETIMEDOUT
        };
        p.expect(
            ok && rc == want,
            format!("{name}: expected {want}, got {rc}"),
        );
        if rc == libc::EOWNERDEAD {
            // SAFETY: this process holds the mutex (EOWNERDEAD hands it over locked).
            unsafe { libc::pthread_mutex_consistent(m) };
            // SAFETY: as above, now consistent.
            unsafe { libc::pthread_mutex_unlock(m) };
        }
    }
    Ok(())
}

/// 002-2: no regular file needed: /dev/zero, MAP_ANONYMOUS and a POSIX shm object each carry a
/// child's store to its parent.
fn not_only_a_regular_file(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let zero = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/zero")
        .context("open /dev/zero")?;
    // SAFETY: a fresh shared mapping of /dev/zero.
    let dev_zero = unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(zero.as_fd()), 0) }
        .context("mmap /dev/zero")?;
    let anon = shared_anon(page)?;
    let name = format!("/shm-by-example.errata.{:08x}", common::random_u32());
    let cname = std::ffi::CString::new(name.clone()).map_err(|_| Error::msg(&name, "NUL"))?;
    let fd = common::posix::shm_open(&cname, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600)
        .with_context(|| format!("shm_open {name}"))?;
    let _gone = common::posix::Created::new(&cname);
    common::file::reserve(fd.as_fd(), page).context("posix_fallocate")?;
    // SAFETY: the object is one page, reserved.
    let object =
        unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(fd.as_fd()), 0) }.context("mmap")?;
    for (what, map) in [
        ("MAP_SHARED of /dev/zero", &dev_zero),
        ("MAP_SHARED | MAP_ANONYMOUS", &anon),
        ("a POSIX shm object (shm_open)", &object),
    ] {
        let base = map.as_ptr();
        // SAFETY: one page of this program's mapping; the parent reads after waitpid.
        let ok = in_child(|| unsafe {
            base.write_volatile(44);
            true
        })?;
        // SAFETY: as above.
        let seen = unsafe { base.read_volatile() };
        p.show(format!(
            "{what}: the child stores 44, the parent reads {seen}"
        ));
        p.expect(ok && seen == 44, format!("{what}: not shared"));
    }
    Ok(())
}

/// 002-3: on failure mmap returns MAP_FAILED, (void *) -1, not NULL, and sets errno.
fn map_failed(p: &mut Probe) -> Result<()> {
    // SAFETY: a bad descriptor: nothing is mapped.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_SHARED,
            -1,
            0,
        )
    };
    let err = std::io::Error::last_os_error();
    p.show(format!(
        "mmap(..., MAP_SHARED, fd -1, 0) returns {}, errno {}",
        if addr == libc::MAP_FAILED {
            "MAP_FAILED, (void *) -1"
        } else if addr.is_null() {
            "NULL"
        } else {
            "an address"
        },
        errno_name(&err)
    ));
    p.expect(
        addr == libc::MAP_FAILED && !addr.is_null(),
        "not MAP_FAILED",
    );
    Ok(())
}

/// 002-4: after munmap the range is free: a load raises SIGSEGV, until something else is
/// mapped there; then the stale pointer reads that, with no signal.
fn stale_address(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(page as u64)?;
    // A reservation of two pages keeps the range this program's own throughout.
    let map = reserve_and_map(&file, 2, page)?;
    let base = map.as_ptr();
    // SAFETY: the first page of the reservation, mapped from the file just above.
    unsafe { base.write_volatile(55) };
    // SAFETY: unmapping this program's own page; nothing references it.
    unsafe { libc::munmap(base.cast(), page) };
    // SAFETY: inside the reservation's range, unmapped: the child faults.
    let after = unsafe { touch(base, 0, None) }?;
    p.show(format!(
        "store 55, munmap, then a load at the old address: {after}"
    ));
    // SAFETY: MAP_FIXED_NOREPLACE into the now empty range of this program's reservation.
    let again = unsafe {
        libc::mmap(
            base.cast(),
            page,
            RW,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    p.expect(again == base.cast(), "the range could not be mapped again");
    // SAFETY: the new mapping at the same address.
    unsafe { base.wrapping_add(1).write_volatile(66) };
    // SAFETY: as above.
    let stale = unsafe { touch(base, 1, None) }?;
    p.show(format!(
        "a new mmap at that address; the stale pointer reads {stale}, no signal"
    ));
    p.expect(
        after == "SIGSEGV" && stale == "66",
        "the stale address did not behave as said",
    );
    Ok(())
}

/// 002-5: the mapping is the file's page cache, not a copy apart from it: read() by another
/// process sees a store at once, before munmap or msync.
fn not_apart_from_the_file(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(page as u64)?;
    // SAFETY: the file is one page; touched through raw pointers only.
    let map = unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(file.as_fd()), 0) }
        .context("mmap")?;
    // SAFETY: inside the mapping.
    unsafe { map.as_ptr().write_volatile(b'Z') };
    let reader = file.try_clone().context("dup")?;
    let mut byte = [0u8];
    // The other process reads the file with pread, while the mapping is still there.
    let (mut rx, mut tx) = std::io::pipe().context("pipe")?;
    // SAFETY: this program starts no threads; the child ends with exit_child.
    let pid = match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            let mut b = [0u8];
            let ok = reader.read_at(&mut b, 0).is_ok() && tx.write_all(&b).is_ok();
            exit_child(if ok { 0 } else { 1 })
        }
        Fork::Parent(pid) => pid,
    };
    drop(tx);
    std::io::Read::read_exact(&mut rx, &mut byte).context("read pipe")?;
    let ok = waitpid(pid).context("waitpid")?.success();
    p.show(format!(
        "store 'Z' through the mapping; before munmap or msync, another process's pread reads '{}'",
        byte[0] as char
    ));
    p.expect(ok && byte[0] == b'Z', "pread did not see the store");
    p.show("(when the page reaches the disk: 002-7)");
    Ok(())
}

/// 002-6: in the notes' listings, map_normalfile1 creates the file and stores the records,
/// map_normalfile2 only prints them. Read from the seed itself (`$SHM_SEEDS`, else
/// ../shared/seeds beside the checkout).
fn which_program_writes(p: &mut Probe) -> Result<()> {
    // $SHM_SEEDS, else ../shared/seeds beside the checkout: the notes are not in the repository.
    let dir = std::env::var_os("SHM_SEEDS").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds"),
        std::path::PathBuf::from,
    );
    let seed = std::fs::read_dir(&dir)
        .with_context(|| format!("open {} (the notes)", dir.display()))?
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("002_"))
        .ok_or_else(|| Error::msg(dir.display().to_string(), "no seed 002"))?;
    let text = std::fs::read_to_string(seed.path()).context("read seed 002")?;
    // The listings are the two stretches of C that each start with their `int main`.
    let mains: Vec<&str> = text.split("int main").skip(1).take(2).collect();
    let describe = |c: &str| {
        let creates = c.contains("O_CREAT") && c.contains("O_TRUNC");
        let stores = c.contains(".age =") || c.contains("->age =") || c.contains("strcpy");
        match (creates, stores) {
            (true, true) => "creates the file (O_CREAT | O_TRUNC) and stores the records (.age =)",
            (false, false) => "stores nothing (no .age =); it prints",
            _ => "something else",
        }
    };
    if mains.len() < 2 {
        return Err(Error::msg("seed 002", "two listings not found"));
    }
    let (first, second) = (describe(mains[0]), describe(mains[1]));
    p.show(format!(
        "seed 002's first listing, map_normalfile1: {first}"
    ));
    p.show(format!(
        "seed 002's second listing, map_normalfile2: {second}"
    ));
    p.expect(
        first.starts_with("creates") && second.starts_with("stores nothing"),
        "not so",
    );
    Ok(())
}

/// 002-7: past the end of a 40-byte file, in its page: the stores stay in the page cache on
/// tmpfs, and on a disk file system are zeroed when the page is written back (here fsync).
fn past_the_end_after_write_back(p: &mut Probe) -> Result<()> {
    for (what, dir) in [
        ("/var/tmp (disk)", "/var/tmp"),
        ("/dev/shm (tmpfs)", "/dev/shm"),
    ] {
        let file = tempfile::tempfile_in(dir).with_context(|| format!("open a file in {dir}"))?;
        file.set_len(40).context("ftruncate")?;
        let fstype = on_tmpfs(&file)?;
        {
            // SAFETY: one page, of which the file covers 40 bytes: bytes 40 to 79 are in the
            // file's page (no SIGBUS); touched through raw pointers only.
            let map = unsafe { Mapping::new(80, RW, libc::MAP_SHARED, Some(file.as_fd()), 0) }
                .context("mmap")?;
            // SAFETY: byte 60 lies in the mapped page.
            unsafe { map.as_ptr().wrapping_add(60).write_volatile(b'R') };
        }
        file.sync_all().context("fsync")?;
        // SAFETY: as above, a new mapping after munmap and fsync.
        let map =
            unsafe { Mapping::new(80, libc::PROT_READ, libc::MAP_SHARED, Some(file.as_fd()), 0) }
                .context("mmap")?;
        // SAFETY: as above.
        let seen = unsafe { map.as_ptr().wrapping_add(60).read_volatile() };
        p.show(format!(
            "{what}: store 'R' at byte 60 of a 40-byte file, munmap, fsync, map again: {}",
            if seen == 0 {
                "byte 60 reads 0".to_string()
            } else {
                format!("byte 60 reads '{}'", seen as char)
            }
        ));
        let want = if fstype { b'R' } else { 0 };
        p.expect(seen == want, format!("{what}: byte 60 is {seen}"));
    }
    Ok(())
}

fn on_tmpfs(file: &std::fs::File) -> Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a writable statfs and an open descriptor.
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut sfs) } == -1 {
        return Err(Error::last_os_error("fstatfs"));
    }
    #[allow(clippy::unnecessary_cast)] // f_type's type differs between targets
    Ok(sfs.f_type as i64 == libc::TMPFS_MAGIC as i64)
}

/// 002-8: the limit is exact, in pages: a 40-byte file can be touched to the end of its page,
/// and the next page raises SIGBUS.
fn exact_in_pages(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(40)?;
    let map = reserve_and_map(&file, 3, 2 * page)?;
    // SAFETY: inside the two mapped pages.
    let last = unsafe { touch(map.as_ptr(), page - 1, None) }?;
    // SAFETY: as above.
    let next = unsafe { touch(map.as_ptr(), page, None) }?;
    p.show(format!(
        "40-byte file, two pages mapped: ptr[page - 1] {last}, ptr[page] {next}"
    ));
    p.expect(last == "0" && next == "SIGBUS", "not exact in pages");
    Ok(())
}
