//! Seed 002's entries ("mmap as shared memory"), and the C bugs of its programs that the errata
//! chapter's table says were checked (`c-1` to `c-3`).

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};

use common::{Child, Context, Error, Fork, Mapping, Result, exit_child, fork, waitpid};

use crate::probe::{
    Entry, Object, Probe, RW, disk_file, errno_name, in_child, outcome, reserve_and_map,
    shared_anon, touch,
};

/// Seed 002's entries, in the chapter's order, then its programs' bugs.
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
        run: five_records_after_write_back,
    },
    Entry {
        id: "002-8",
        claim: "Conclusion 2: the usable space is \"roughly, but not entirely\" limited by \
                the file's size",
        run: exact_in_pages,
    },
    Entry {
        id: "002-9",
        claim: "\"Not the usual inheritance: the address mmap returns is kept by parent and \
                child together\"",
        run: fork_copies_every_mapping_alike,
    },
    Entry {
        id: "002-10",
        claim: "`flags`: \"given by the constants MAP_SHARED, MAP_PRIVATE\"",
        run: exactly_one_of_shared_and_private,
    },
    Entry {
        id: "c-1",
        claim: "seed 002 `map_normalfile1.c`: `open(..., O_CREAT | O_RDWR | O_TRUNC, 00777)`",
        run: writer_mode_777,
    },
    Entry {
        id: "c-2",
        claim: "seed 002 `map_normalfile2.c` given a missing file: `O_CREAT | O_RDWR` in a reader",
        run: reader_creates_an_empty_file,
    },
    Entry {
        id: "c-3",
        claim: "seed 002 `map_normalfile2.c` given a FIFO: its `mmap` is not checked",
        run: reader_given_a_fifo,
    },
];

/// Whether a store of `value` at `base` by a child is what the parent then reads there.
///
/// # Safety
///
/// `base` is a writable byte of this program's own (a variable or a mapping).
unsafe fn child_store_seen(base: *mut u8, value: u8) -> Result<bool> {
    // SAFETY: the caller's promise; the parent reads only after waitpid.
    let ok = in_child(|| unsafe {
        base.write_volatile(value);
        true
    })?;
    // SAFETY: as above.
    Ok(ok && unsafe { base.read_volatile() } == value)
}

/// The state letter of process `pid` in `/proc/PID/stat`: `R` running, `S` asleep, `Z` ended.
fn proc_state(pid: libc::pid_t) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// An absolute CLOCK_REALTIME time `ms` milliseconds from now, for the timed waits.
fn deadline_in(ms: i64) -> libc::timespec {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let nsec = now.tv_nsec + ms * 1_000_000;
    libc::timespec {
        tv_sec: now.tv_sec + nsec / 1_000_000_000,
        tv_nsec: nsec % 1_000_000_000,
    }
}

/// Forks a child that runs `wait` (a wait with a deadline 0.5 s away, returning 0 or an errno
/// number); once the child sleeps in it, the parent runs `release`. Returns what the child's
/// wait returned.
fn wake_a_waiting_child(wait: impl FnOnce() -> i32, release: impl FnOnce()) -> Result<i32> {
    // SAFETY: this program starts no threads; the child ends with exit_child.
    let pid = match unsafe { fork() }.context("fork")? {
        Fork::Child => exit_child(wait()),
        Fork::Parent(pid) => pid,
    };
    let child = Child::new(pid);
    // Release only once the child is asleep in its wait (a release before that would simply
    // let it through): the child does nothing else that sleeps.
    for _ in 0..400 {
        match proc_state(pid) {
            Some('S') | Some('Z') | None => break,
            _ => std::thread::sleep(std::time::Duration::from_millis(1)),
        }
    }
    release();
    let status = child.wait().context("waitpid")?;
    status
        .code()
        .ok_or_else(|| Error::msg("the waiting child", status.to_string()))
}

/// `0`, or the errno's name.
fn rc_name(rc: i32) -> String {
    if rc == 0 {
        "0".to_string()
    } else {
        errno_name(&std::io::Error::from_raw_os_error(rc))
    }
}

/// A mutex at `m`, process-private (the default) or process-shared, robust or not.
///
/// # Safety
///
/// `m` is aligned, writable memory for a pthread_mutex_t that nobody uses yet.
unsafe fn mutex_init(m: *mut libc::pthread_mutex_t, pshared: bool, robust: bool) -> Result<()> {
    // SAFETY: an all-zero attribute object is overwritten by init.
    let mut attr: libc::pthread_mutexattr_t = unsafe { std::mem::zeroed() };
    // SAFETY: `attr` is writable memory for the attribute object init fills in.
    let mut rc = unsafe { libc::pthread_mutexattr_init(&mut attr) };
    if rc == 0 && pshared {
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

/// 002-1: only locks made for processes. A mutex's default is process-private: in shared memory
/// its unlock does not wake a waiter in another process, which waits out its timeout though
/// the mutex is free; the same for `sem_init(sem, 0, ...)` and `sem_post`. Made process-shared,
/// both wake the child. And a process-shared mutex whose holder dies stays locked unless it is
/// robust (EOWNERDEAD).
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
    let page = common::page_size();

    p.show("in MAP_SHARED memory, the parent holds the lock; the child waits (0.5 s at most);");
    p.show("once it sleeps, the parent releases the lock. The child's wait returns:");
    for pshared in [false, true] {
        let map = shared_anon(page)?;
        let m = map.as_ptr().cast::<libc::pthread_mutex_t>();
        // SAFETY: the start of a fresh page-aligned shared mapping.
        unsafe { mutex_init(m, pshared, false) }?;
        // SAFETY: the mutex was initialised just above.
        unsafe { libc::pthread_mutex_lock(m) };
        let rc = wake_a_waiting_child(
            // SAFETY: the mutex, in memory the child shares; the child only waits on it.
            || unsafe { libc::pthread_mutex_timedlock(m, &deadline_in(500)) },
            // SAFETY: the parent holds the mutex it locked above.
            || unsafe {
                libc::pthread_mutex_unlock(m);
            },
        )?;
        let (what, want) = if pshared {
            ("PTHREAD_PROCESS_SHARED mutex", 0)
        } else {
            ("default mutex", libc::ETIMEDOUT)
        };
        p.show(format!(
            "  {what}: pthread_mutex_timedlock = {}",
            rc_name(rc)
        ));
        p.expect(rc == want, format!("{what}: {}", rc_name(rc)));
    }
    for pshared in [0, 1] {
        let map = shared_anon(page)?;
        let sem = map.as_ptr().cast::<libc::sem_t>();
        // SAFETY: the start of a fresh page-aligned shared mapping, room for a sem_t.
        if unsafe { libc::sem_init(sem, pshared, 0) } == -1 {
            return Err(Error::last_os_error("sem_init"));
        }
        let rc = wake_a_waiting_child(
            || {
                // SAFETY: the semaphore, in memory the child shares.
                if unsafe { libc::sem_timedwait(sem, &deadline_in(500)) } == 0 {
                    0
                } else {
                    std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
                }
            },
            // SAFETY: the semaphore initialised above.
            || unsafe {
                libc::sem_post(sem);
            },
        )?;
        let want = if pshared == 1 { 0 } else { libc::ETIMEDOUT };
        p.show(format!(
            "  sem_init(sem, {pshared}, 0), sem_post: sem_timedwait = {}",
            rc_name(rc)
        ));
        p.expect(
            rc == want,
            format!("sem_init pshared {pshared}: {}", rc_name(rc)),
        );
    }

    for robust in [false, true] {
        let map = shared_anon(page)?;
        let m = map.as_ptr().cast::<libc::pthread_mutex_t>();
        // SAFETY: the start of a fresh page-aligned shared mapping.
        unsafe { mutex_init(m, true, robust) }?;
        // The child locks and exits without unlocking.
        // SAFETY: the mutex was initialised above, in memory the child shares.
        let ok = in_child(|| unsafe { libc::pthread_mutex_lock(m) == 0 })?;
        // SAFETY: the mutex initialised above; the deadline is half a second away.
        let rc = unsafe { libc::pthread_mutex_timedlock(m, &deadline_in(500)) };
        let name = if robust {
            "process-shared and robust"
        } else {
            "process-shared, not robust"
        };
        p.show(format!(
            "{name}: the child locks it and exits; the parent's timed lock = {}",
            rc_name(rc)
        ));
        let want = if robust {
            libc::EOWNERDEAD
        } else {
            libc::ETIMEDOUT
        };
        p.expect(ok && rc == want, format!("{name}: {}", rc_name(rc)));
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
    let shm = Object::create(page)?;
    // SAFETY: the object is one page, reserved.
    let object = unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(shm.fd.as_fd()), 0) }
        .context("mmap")?;
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
    if again != base.cast() {
        return Ok(());
    }
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

/// A shared mapping of the whole first page of `file` (which holds at least one byte).
fn map_page(file: &std::fs::File, prot: libc::c_int) -> Result<Mapping> {
    let page = common::page_size();
    // SAFETY: the file's first page exists; the mapping is touched through raw pointers only.
    unsafe { Mapping::new(page, prot, libc::MAP_SHARED, Some(file.as_fd()), 0) }.context("mmap")
}

/// Forks a child that runs `f` on its copy of `file`'s descriptor and writes the byte it
/// returns down a pipe; returns that byte.
fn in_another_process(
    file: &std::fs::File,
    f: impl FnOnce(&std::fs::File) -> Option<u8>,
) -> Result<u8> {
    let (mut rx, mut tx) = std::io::pipe().context("pipe")?;
    // SAFETY: this program starts no threads; the child ends with exit_child.
    let pid = match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            let ok = f(file).is_some_and(|b| tx.write_all(&[b]).is_ok());
            exit_child(if ok { 0 } else { 1 })
        }
        Fork::Parent(pid) => pid,
    };
    drop(tx);
    let mut byte = [0u8];
    let read = std::io::Read::read_exact(&mut rx, &mut byte);
    let ok = waitpid(pid).context("waitpid")?.success();
    read.context("read pipe")?;
    if !ok {
        return Err(Error::msg("the other process", "failed"));
    }
    Ok(byte[0])
}

/// 002-5: the mapping is the file's page cache, not a copy apart from it: another process's
/// pread sees a store at once, before munmap or msync, and a pwrite is in the mapping at once.
/// munmap writes nothing back: a byte stored past the end of a 40-byte file, in its page, is
/// still there after munmap, where a write-back would have zeroed it (as fsync then does).
fn not_apart_from_the_file(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(page as u64)?;
    let map = map_page(&file, RW)?;
    // SAFETY: inside the mapping.
    unsafe { map.as_ptr().write_volatile(b'Z') };
    let read = in_another_process(&file, |f| {
        let mut b = [0u8];
        f.read_at(&mut b, 0).ok().map(|_| b[0])
    })?;
    p.show(format!(
        "store 'Z' through the mapping; before munmap or msync, another process's pread reads '{}'",
        read as char
    ));
    in_another_process(&file, |f| f.write_at(b"W", 1).ok().map(|_| 0))?;
    // SAFETY: inside the mapping.
    let written = unsafe { map.as_ptr().wrapping_add(1).read_volatile() };
    p.show(format!(
        "another process pwrites 'W' to the file: the mapping reads '{}' at once",
        written as char
    ));
    p.expect(read == b'Z' && written == b'W', "not the file's pages");

    let file = disk_file(40)?;
    {
        let map = map_page(&file, RW)?;
        // SAFETY: byte 60 lies in the file's first page, which is mapped.
        unsafe { map.as_ptr().wrapping_add(60).write_volatile(b'R') };
    }
    let after_munmap = byte_60(&file)?;
    file.sync_all().context("fsync")?;
    let after_fsync = byte_60(&file)?;
    p.show(format!(
        "a 40-byte file in /var/tmp: store 'R' at byte 60 (past the end, in its page), \
         munmap, map again: {}",
        shown(after_munmap)
    ));
    p.show(format!(
        "then fsync, which writes the page back (zeroing what lies past the end), \
         and map again: {}",
        shown(after_fsync)
    ));
    p.expect(
        after_munmap == b'R' && after_fsync == 0,
        "munmap wrote the page back",
    );
    Ok(())
}

/// Byte 60 of `file`'s first page, read through a new mapping.
fn byte_60(file: &std::fs::File) -> Result<u8> {
    let map = map_page(file, libc::PROT_READ)?;
    // SAFETY: byte 60 lies in the mapped page.
    Ok(unsafe { map.as_ptr().wrapping_add(60).read_volatile() })
}

fn shown(byte: u8) -> String {
    if byte == 0 {
        "it reads 0".to_string()
    } else {
        format!("it reads '{}'", byte as char)
    }
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

/// How many of the 10 records of the writer's 80-byte mapping of `file` a new mapping shows:
/// those whose `age` (the `int` at byte 8 * i + 4) is not 0.
fn records_seen(file: &std::fs::File) -> Result<usize> {
    let map = map_page(file, libc::PROT_READ)?;
    Ok((0..10)
        .filter(|i| {
            // SAFETY: bytes 0 to 79 lie in the mapped page; an unaligned-safe read.
            let age = unsafe {
                map.as_ptr()
                    .wrapping_add(8 * i + 4)
                    .cast::<i32>()
                    .read_unaligned()
            };
            age != 0
        })
        .count())
}

/// 002-7: the writer's calls on a 40-byte file (10 records, 80 bytes, munmap), then the
/// reader's mapping: on a disk file system all 10 until the page is written back (fsync, what
/// sync does), then 5; on tmpfs, 10 even after fsync.
fn five_records_after_write_back(p: &mut Probe) -> Result<()> {
    for (what, dir) in [
        ("/var/tmp (a disk file system)", "/var/tmp"),
        ("/dev/shm (tmpfs)", "/dev/shm"),
    ] {
        let file = tempfile::tempfile_in(dir).with_context(|| format!("open a file in {dir}"))?;
        file.set_len(40).context("ftruncate")?;
        let tmpfs = on_tmpfs(&file)?;
        {
            let map = map_page(&file, RW)?;
            for i in 0..10usize {
                let rec = map.as_ptr().wrapping_add(8 * i);
                // SAFETY: records 0 to 9 lie in the first page of the mapping.
                unsafe { rec.write_volatile(b'a' + i as u8) };
                let age = rec.wrapping_add(4).cast::<i32>();
                // SAFETY: as above.
                unsafe { age.write_unaligned(20 + i as i32) };
            }
        }
        let after_munmap = records_seen(&file)?;
        file.sync_all().context("fsync")?;
        let after_sync = records_seen(&file)?;
        p.show(format!(
            "{what}: 10 records stored in a 40-byte file, munmap: the reader sees \
             {after_munmap}; after fsync: {after_sync}"
        ));
        let want = if tmpfs { 10 } else { 5 };
        p.expect(
            after_munmap == 10 && after_sync == want,
            format!("{what}: {after_munmap} then {after_sync}"),
        );
    }
    Ok(())
}

fn on_tmpfs(file: &std::fs::File) -> Result<bool> {
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

/// 002-9: fork treats every mapping alike, as it treats an ordinary variable: what decides
/// whether a child's store reaches the parent is MAP_SHARED, for a file as for MAP_ANONYMOUS;
/// a MAP_PRIVATE mapping, anonymous or not, is copied on write like the variable.
fn fork_copies_every_mapping_alike(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let mut variable = 0u8;
    let file = disk_file(2 * page as u64)?;
    let anon = |flags| {
        // SAFETY: a fresh anonymous page, touched through raw pointers only.
        unsafe { Mapping::new(page, RW, flags | libc::MAP_ANONYMOUS, None, 0) }.context("mmap")
    };
    let of_file = |flags, offset| {
        // SAFETY: the file is two pages; touched through raw pointers only.
        unsafe { Mapping::new(page, RW, flags, Some(file.as_fd()), offset) }.context("mmap")
    };
    let private_anon = anon(libc::MAP_PRIVATE)?;
    let private_file = of_file(libc::MAP_PRIVATE, 0)?;
    let shared_anon = anon(libc::MAP_SHARED)?;
    let shared_file = of_file(libc::MAP_SHARED, page as libc::off_t)?;
    p.show("fork; the child stores 9 in each, the parent then reads:");
    for (what, base, shared) in [
        (
            "an ordinary variable",
            std::ptr::addr_of_mut!(variable),
            false,
        ),
        ("MAP_PRIVATE | MAP_ANONYMOUS", private_anon.as_ptr(), false),
        ("MAP_PRIVATE of a file", private_file.as_ptr(), false),
        ("MAP_SHARED | MAP_ANONYMOUS", shared_anon.as_ptr(), true),
        ("MAP_SHARED of a file", shared_file.as_ptr(), true),
    ] {
        // SAFETY: a byte of this program's own: the variable, or the start of a mapping.
        let seen = unsafe { child_store_seen(base, 9) }?;
        p.show(format!("  {what}: {}", if seen { 9 } else { 0 }));
        p.expect(seen == shared, format!("{what}: {seen}"));
    }
    Ok(())
}

/// 002-10: exactly one of MAP_SHARED and MAP_PRIVATE: neither is EINVAL; both together are
/// 0x3, MAP_SHARED_VALIDATE on Linux, a shared mapping that refuses flags it does not know
/// (EOPNOTSUPP) where MAP_SHARED ignores them.
fn exactly_one_of_shared_and_private(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(page as u64)?;
    let map = |flags| {
        // SAFETY: the file is one page; the mapping is touched through raw pointers only.
        unsafe { Mapping::new(page, RW, flags, Some(file.as_fd()), 0) }
    };
    let neither = map(0);
    p.show(format!(
        "mmap(NULL, page, PROT_READ | PROT_WRITE, 0, fd, 0) {}",
        outcome(&neither)
    ));
    let both = map(libc::MAP_SHARED | libc::MAP_PRIVATE);
    p.show(format!(
        "MAP_SHARED | MAP_PRIVATE is {:#x}, MAP_SHARED_VALIDATE {:#x}: mmap {}",
        libc::MAP_SHARED | libc::MAP_PRIVATE,
        libc::MAP_SHARED_VALIDATE,
        outcome(&both)
    ));
    let mut shared = false;
    if let Ok(both) = &both {
        // SAFETY: the start of the mapping just made.
        shared = unsafe { child_store_seen(both.as_ptr(), 5) }?;
        p.show(format!(
            "  and a child's store through it reaches the parent: {shared}"
        ));
    }
    // A bit no flag of Linux uses (flags 0x100 to 0x4000 are defined one by one, and 0x200
    // is not among them).
    const UNUSED: libc::c_int = 0x200;
    let ignored = map(libc::MAP_SHARED | UNUSED);
    let refused = map(libc::MAP_SHARED_VALIDATE | UNUSED);
    p.show(format!(
        "with a bit no flag uses (0x200): mmap(MAP_SHARED | 0x200) {}; \
         mmap(MAP_SHARED_VALIDATE | 0x200) {}",
        outcome(&ignored),
        outcome(&refused)
    ));
    let errno = |r: &std::io::Result<Mapping>| r.as_ref().err().and_then(|e| e.raw_os_error());
    p.expect(errno(&neither) == Some(libc::EINVAL), "neither: not EINVAL");
    p.expect(both.is_ok() && shared, "both: not a shared mapping");
    p.expect(
        ignored.is_ok() && errno(&refused) == Some(libc::EOPNOTSUPP),
        "MAP_SHARED_VALIDATE did not refuse an unknown flag",
    );
    Ok(())
}

/// A new directory of this program's own, 0700, removed when dropped.
fn scratch_dir() -> Result<tempfile::TempDir> {
    tempfile::tempdir().context("mkdtemp")
}

/// c-1: the writer's `open(argv[1], O_CREAT | O_RDWR | O_TRUNC, 00777)` under the usual
/// umask 022 makes a file everyone can read, and execute: rwxr-xr-x.
fn writer_mode_777(p: &mut Probe) -> Result<()> {
    let dir = scratch_dir()?;
    let path = dir.path().join("test_shm");
    // SAFETY: umask takes and returns a plain value; restored below; no threads.
    let old = unsafe { libc::umask(0o022) };
    let made = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o777)
        .open(&path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let mode = made
        .context("open")?
        .metadata()
        .context("fstat")?
        .permissions()
        .mode()
        & 0o777;
    p.show(format!(
        "umask 022; open(\"test_shm\", O_CREAT | O_RDWR | O_TRUNC, 00777): mode {mode:o}, {}",
        rwx(mode)
    ));
    p.expect(mode == 0o755, format!("mode {mode:o}"));
    Ok(())
}

/// `ls -l`'s rwxr-xr-x for the nine permission bits of `mode`.
fn rwx(mode: u32) -> String {
    (0..9)
        .map(|i| {
            if mode & (0o400 >> i) == 0 {
                '-'
            } else {
                ['r', 'w', 'x'][i % 3]
            }
        })
        .collect()
}

/// c-2: the reader's `open(argv[1], O_CREAT | O_RDWR, 00777)` on a missing name creates an
/// empty file; its unchecked mmap of 80 bytes succeeds, and the first load raises SIGBUS.
fn reader_creates_an_empty_file(p: &mut Probe) -> Result<()> {
    let dir = scratch_dir()?;
    let path = dir.path().join("mistyped");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o777)
        .open(&path);
    p.show(format!(
        "open(\"mistyped\", O_CREAT | O_RDWR, 00777) {}",
        outcome(&file)
    ));
    let file = file.context("open")?;
    let size = file.metadata().context("fstat")?.len();
    p.show(format!("  a new file of {size} bytes"));
    // SAFETY: a mapping of the empty file, touched only in a forked child.
    let map = unsafe { Mapping::new(80, RW, libc::MAP_SHARED, Some(file.as_fd()), 0) };
    p.show(format!(
        "mmap(NULL, 80, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) {}",
        outcome(&map)
    ));
    let map = map.context("mmap")?;
    // SAFETY: the first byte of the mapping just made.
    let load = unsafe { touch(map.as_ptr(), 0, None) }?;
    p.show(format!(
        "the first load, p_map[0].name[0]: {load} (a shell reports exit status 135)"
    ));
    p.expect(size == 0 && load == "SIGBUS", "no SIGBUS");
    Ok(())
}

/// c-3: the reader given a FIFO: open(O_CREAT | O_RDWR) returns at once (a FIFO opened for
/// reading and writing does not wait), mmap fails with ENODEV and returns MAP_FAILED, which
/// the program then reads records from.
fn reader_given_a_fifo(p: &mut Probe) -> Result<()> {
    let dir = scratch_dir()?;
    let path = dir.path().join("fifo");
    let cpath = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::msg("path", "NUL"))?;
    // SAFETY: a NUL-terminated path in this program's own directory.
    if unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) } == -1 {
        return Err(Error::last_os_error("mkfifo"));
    }
    let fifo = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o777)
        .open(&path);
    p.show(format!(
        "mkfifo fifo; open(\"fifo\", O_CREAT | O_RDWR, 00777) {}",
        outcome(&fifo)
    ));
    let fifo = fifo.context("open")?;
    // SAFETY: an mmap of a FIFO, which fails; nothing is mapped.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            80,
            RW,
            libc::MAP_SHARED,
            fifo.as_raw_fd(),
            0,
        )
    };
    let err = std::io::Error::last_os_error();
    p.show(format!(
        "mmap(NULL, 80, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) = {} {}",
        if addr == libc::MAP_FAILED {
            "MAP_FAILED"
        } else {
            "an address"
        },
        errno_name(&err)
    ));
    p.show("  unchecked: p_map is (void *) -1, where the first printf reads (not done here)");
    p.expect(
        addr == libc::MAP_FAILED && err.raw_os_error() == Some(libc::ENODEV),
        "the FIFO was not refused with ENODEV",
    );
    Ok(())
}
