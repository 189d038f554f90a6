//! Seed 004's entries ("System V shared memory and mmap flags").

use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};

use common::{Context, Error, Fork, Mapping, Result, exit_child, fork, waitpid};

use crate::probe::{Entry, Object, Probe, RW, disk_file, errno_name, in_child, outcome};
use crate::s003::Segment;

/// Seed 004's entries, in the chapter's order.
pub const ENTRIES: &[Entry] = &[
    Entry {
        id: "004-1",
        claim: "\"The two common ways to share memory are System V and mmap\"",
        run: three_ways,
    },
    Entry {
        id: "004-2",
        claim: "\"ftok creates a unique key\"",
        run: ftok_not_unique,
    },
    Entry {
        id: "004-3",
        claim: "shmget's size \"must be a multiple of 4 KiB, because x86 pages are 4 KiB\"",
        run: any_size,
    },
    Entry {
        id: "004-4",
        claim: "shmat: `shmaddr` 0 attaches \"at the first available address\"; returns a pointer",
        run: attach_addresses,
    },
    Entry {
        id: "004-5",
        claim: "mmap maps \"the file's disk addresses\" one to one onto virtual addresses",
        run: pages_read_in_on_access,
    },
    Entry {
        id: "004-6",
        claim: "MAP_PRIVATE \"makes a copy of the file; changes are not carried to the file\"",
        run: copy_on_write,
    },
    Entry {
        id: "004-7",
        claim: "\"An anonymous mapping cannot be shared with other processes\"",
        run: anonymous_shared_with_children,
    },
    Entry {
        id: "004-8",
        claim: "MAP_DENYWRITE: \"writes to the file other than through the mapping are refused\"",
        run: denywrite_ignored,
    },
    Entry {
        id: "004-9",
        claim: "MAP_LOCKED: \"the mapping is locked and never swapped\"",
        run: locked_counts_against_the_limit,
    },
    Entry {
        id: "004-10",
        claim: "\"Where MAP_ANONYMOUS is missing, fopen /dev/zero and map it\"",
        run: dev_zero,
    },
];

/// Whether a byte `base` points to, stored by a child, is what the parent reads after.
fn crosses(base: *mut u8, value: u8) -> Result<bool> {
    // SAFETY: `base` is the start of a shared region of this program's; the parent reads after
    // waitpid.
    let ok = in_child(|| unsafe {
        base.write_volatile(value);
        true
    })?;
    // SAFETY: as above.
    Ok(ok && unsafe { base.read_volatile() } == value)
}

/// 004-1: three ways, not two: System V, a mapped file, and POSIX shared memory each carry a
/// child's store to its parent.
fn three_ways(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let segment = Segment::private(page, 0o600)?;
    // SAFETY: a fresh segment of one page, touched through raw pointers.
    let at = unsafe { common::sysv::Attached::new(segment.0, page, 0) }.context("shmat")?;
    let file = disk_file(page as u64)?;
    // SAFETY: the file is one page.
    let mapped = unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(file.as_fd()), 0) }
        .context("mmap")?;
    let shm = Object::create(page)?;
    // SAFETY: the object is one page, reserved.
    let posix = unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(shm.fd.as_fd()), 0) }
        .context("mmap")?;
    for (what, base) in [
        ("System V (shmget, shmat)", at.as_ptr()),
        ("mmap of a file", mapped.as_ptr()),
        ("POSIX (shm_open, mmap)", posix.as_ptr()),
    ] {
        let ok = crosses(base, 12)?;
        p.show(format!("{what}: a child's store reaches the parent: {ok}"));
        p.expect(ok, format!("{what}: not shared"));
    }
    Ok(())
}

/// 004-2: ftok's key is (proj_id & 0xff) << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff),
/// glibc's formula: proj_id 70 and 326 give the same key, and two files whose inode numbers
/// differ by a multiple of 65536 on one file system collide. tmpfs numbers its inodes one
/// after the other, so in a directory of /dev/shm a collision comes within 65536 new files;
/// and a file deleted and made again there gets a new number, so a new key.
fn ftok_not_unique(p: &mut Probe) -> Result<()> {
    let ftok = |path: &std::path::Path, id: libc::c_int| -> Result<libc::key_t> {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::msg("path", "NUL"))?;
        // SAFETY: a NUL-terminated path.
        match unsafe { libc::ftok(c.as_ptr(), id) } {
            -1 => Err(Error::last_os_error("ftok")),
            key => Ok(key),
        }
    };
    let dir = tempfile::tempdir_in("/dev/shm").context("mkdtemp in /dev/shm")?;
    let first = dir.path().join("first");
    let create = |path: &std::path::Path| -> Result<u64> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .context("open")?;
        Ok(file.metadata().context("fstat")?.ino())
    };
    let first_ino = create(&first)?;
    let meta = std::fs::metadata(&first).context("stat")?;
    let k70 = ftok(&first, 70)?;
    let formula =
        ((70u32 & 0xff) << 24) | ((meta.dev() as u32 & 0xff) << 16) | (meta.ino() as u32 & 0xffff);
    p.show(format!(
        "ftok(file, 70) == 70 << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff): {}",
        k70 as u32 == formula
    ));
    let same_id = ftok(&first, 326)? == k70;
    p.show(format!("ftok(file, 70) == ftok(file, 326): {same_id}"));

    // Files made and removed one after the other until one's inode number is the first's
    // plus a multiple of 65536 (bounded, in case other programs make many files meanwhile).
    let other = dir.path().join("other");
    let mut collided = false;
    for _ in 0..4 * 65536 {
        let ino = create(&other)?;
        if ino != first_ino && ino % 65536 == first_ino % 65536 {
            collided = true;
            break;
        }
        std::fs::remove_file(&other).context("unlink")?;
    }
    let collision = collided && ftok(&other, 70)? == k70;
    p.show(
        "in a directory of /dev/shm, files made until one's inode number is the first's \
         + a multiple of 65536:",
    );
    p.show(format!(
        "  two different files, ftok(first, 70) == ftok(that one, 70): {collision}"
    ));
    std::fs::remove_file(&first).context("unlink")?;
    create(&first)?;
    let renewed = ftok(&first, 70)? != k70;
    p.show(format!(
        "the first file deleted and made again (tmpfs gives it a new inode number): \
         a new key: {renewed}"
    ));
    p.expect(k70 as u32 == formula && same_id, "ftok is not that formula");
    p.expect(collision, "no two files with one key");
    p.expect(renewed, "the same key for a new file");
    Ok(())
}

/// 004-3: any size from 1 byte: the kernel rounds the memory up, shm_segsz keeps the size
/// asked for; 0 with IPC_CREAT is EINVAL; opening with a size larger than the segment's too.
fn any_size(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    for size in [1usize, 5000] {
        let segment = Segment::private(size, 0o600)?;
        let ds = common::sysv::shmctl_stat(segment.0).context("shmctl IPC_STAT")?;
        // SAFETY: attached read-write; the kernel gives the segment whole pages.
        let at = unsafe { common::sysv::Attached::new(segment.0, size, 0) }.context("shmat")?;
        let last = size.div_ceil(page) * page - 1;
        // SAFETY: the last byte of the segment's last page, which the kernel allocated.
        unsafe { at.as_ptr().wrapping_add(last).write_volatile(1) };
        p.show(format!(
            "shmget(IPC_PRIVATE, {size}) = ok: shm_segsz {}; byte {last}, the last of its \
             last page, takes a store",
            ds.shm_segsz
        ));
        p.expect(
            ds.shm_segsz == size,
            format!("shm_segsz {} for {size}", ds.shm_segsz),
        );
    }
    let zero = common::sysv::shmget(libc::IPC_PRIVATE, 0, libc::IPC_CREAT | 0o600);
    if let Ok(id) = zero {
        let _ = common::sysv::shmctl_rmid(id);
    }
    p.show(format!(
        "shmget(IPC_PRIVATE, 0, IPC_CREAT) {}",
        outcome(&zero)
    ));
    p.expect(
        zero.err().and_then(|e| e.raw_os_error()) == Some(libc::EINVAL),
        "size 0 accepted",
    );
    // Opening by key: a key of the project's range, for this probe only.
    let (_segment, key) = Segment::with_key(8, 0o600)?;
    let larger = common::sysv::shmget(key, 9, 0);
    let any = common::sysv::shmget(key, 0, 0);
    p.show(format!(
        "an 8-byte segment: shmget(key, 9, 0) {}; shmget(key, 0, 0) {}",
        outcome(&larger),
        outcome(&any)
    ));
    p.expect(
        larger.err().and_then(|e| e.raw_os_error()) == Some(libc::EINVAL) && any.is_ok(),
        "opening by size did not behave as said",
    );
    Ok(())
}

/// 004-4: with NULL the kernel picks an address, not "the first": two attaches of one segment
/// get two addresses; on failure, (void *) -1.
fn attach_addresses(p: &mut Probe) -> Result<()> {
    let segment = Segment::private(4096, 0o600)?;
    // SAFETY: two read-only attaches of a fresh segment, never touched.
    let a = unsafe { common::sysv::Attached::new(segment.0, 4096, libc::SHM_RDONLY) }
        .context("shmat")?;
    // SAFETY: as above.
    let b = unsafe { common::sysv::Attached::new(segment.0, 4096, libc::SHM_RDONLY) }
        .context("shmat")?;
    p.show(format!(
        "two shmat(id, NULL, SHM_RDONLY) in one process: {}",
        if a.as_ptr() == b.as_ptr() {
            "one address"
        } else {
            "two addresses"
        }
    ));
    // SAFETY: a bad id: nothing is attached.
    let bad = unsafe { libc::shmat(-1, std::ptr::null(), 0) };
    let err = std::io::Error::last_os_error();
    p.show(format!(
        "shmat(-1, NULL, 0) = {} {}",
        if bad as isize == -1 {
            "(void *) -1"
        } else {
            "an address"
        },
        errno_name(&err)
    ));
    p.expect(
        a.as_ptr() != b.as_ptr() && bad as isize == -1,
        "not as said",
    );
    Ok(())
}

/// 004-5: mmap maps file offsets onto page-cache pages, read in on first access (mincore);
/// nothing ties an address to a disk block, and a file on tmpfs has none.
fn pages_read_in_on_access(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    for (what, dir) in [
        ("a file on /var/tmp", "/var/tmp"),
        ("a file on /dev/shm (tmpfs)", "/dev/shm"),
    ] {
        let file = tempfile::tempfile_in(dir).with_context(|| format!("open a file in {dir}"))?;
        file.set_len(4 * page as u64).context("ftruncate")?;
        // SAFETY: the file is four pages; only loads, through raw pointers.
        let map = unsafe {
            Mapping::new(
                4 * page,
                libc::PROT_READ,
                libc::MAP_SHARED,
                Some(file.as_fd()),
                0,
            )
        }
        .context("mmap")?;
        let resident = |map: &Mapping| -> Result<[bool; 4]> {
            let mut vec = [0u8; 4];
            // SAFETY: `vec` has one byte per page of the 4-page mapping.
            if unsafe { libc::mincore(map.as_ptr().cast(), 4 * page, vec.as_mut_ptr()) } == -1 {
                return Err(Error::last_os_error("mincore"));
            }
            Ok(vec.map(|b| b & 1 != 0))
        };
        let before = resident(&map)?.iter().filter(|&&r| r).count();
        // SAFETY: the third page, inside the file.
        unsafe { map.as_ptr().wrapping_add(2 * page).read_volatile() };
        let after = resident(&map)?[2];
        p.show(format!(
            "{what}, 4 pages mapped: {before} in memory; after a load from page 2, \
             page 2 is in memory: {after}"
        ));
        p.expect(
            before == 0 && after,
            format!("{what}: pages were not read in on access"),
        );
    }
    Ok(())
}

/// 004-6: MAP_PRIVATE copies nothing at mmap: a page not yet stored into shows a later pwrite
/// to the file; the page stored into was copied and does not; the file never sees the stores.
fn copy_on_write(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(2 * page as u64)?;
    // SAFETY: the file is two pages; touched through raw pointers only.
    let map = unsafe { Mapping::new(2 * page, RW, libc::MAP_PRIVATE, Some(file.as_fd()), 0) }
        .context("mmap")?;
    // SAFETY: the first page.
    unsafe { map.as_ptr().write_volatile(b'p') };
    file.write_at(b"F", 0).context("pwrite")?;
    file.write_at(b"F", page as u64).context("pwrite")?;
    // SAFETY: the first page of the mapping.
    let stored = unsafe { map.as_ptr().read_volatile() };
    // SAFETY: the second page of the mapping.
    let untouched = unsafe { map.as_ptr().wrapping_add(page).read_volatile() };
    let mut byte = [0u8];
    file.read_at(&mut byte, 0).context("pread")?;
    p.show(format!(
        "MAP_PRIVATE, store 'p' in page 0, then pwrite 'F' to both pages: \
         page 0 reads '{}', page 1 reads '{}', the file's byte 0 is '{}'",
        stored as char, untouched as char, byte[0] as char
    ));
    p.expect(
        stored == b'p' && untouched == b'F' && byte[0] == b'F',
        "not copy-on-write as said",
    );
    Ok(())
}

/// 004-7: MAP_SHARED | MAP_ANONYMOUS is shared with a child; MAP_PRIVATE | MAP_ANONYMOUS is
/// copied on write.
fn anonymous_shared_with_children(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    for (what, flags, want) in [
        ("MAP_SHARED | MAP_ANONYMOUS", libc::MAP_SHARED, true),
        ("MAP_PRIVATE | MAP_ANONYMOUS", libc::MAP_PRIVATE, false),
    ] {
        // SAFETY: a fresh anonymous page, touched through raw pointers only.
        let map = unsafe { Mapping::new(page, RW, flags | libc::MAP_ANONYMOUS, None, 0) }
            .context("mmap")?;
        let ok = crosses(map.as_ptr(), 21)?;
        p.show(format!("{what}: a child's store reaches the parent: {ok}"));
        p.expect(ok == want, format!("{what}: {ok}"));
    }
    Ok(())
}

/// 004-8: MAP_DENYWRITE is ignored: the mapping succeeds on a file open for writing, and
/// write() to the file still works.
fn denywrite_ignored(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(page as u64)?;
    // SAFETY: the file is one page; the mapping is only read.
    let map = unsafe {
        Mapping::new(
            page,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_DENYWRITE,
            Some(file.as_fd()),
            0,
        )
    };
    p.show(format!(
        "mmap(MAP_DENYWRITE) of a file open for writing {}",
        outcome(&map)
    ));
    let written = file.write_at(b"w", 0);
    p.show(format!("pwrite to the file {}", outcome(&written)));
    p.expect(
        map.is_ok() && written.is_ok(),
        "MAP_DENYWRITE refused a write",
    );
    Ok(())
}

/// 004-9: MAP_LOCKED counts against RLIMIT_MEMLOCK: with a 64 KiB limit, an ordinary user's
/// 16 MiB locked mapping fails with EAGAIN (run in a child, as uid 65534 if this is root,
/// which is exempt); a small one is locked (VmLck in /proc/self/status).
fn locked_counts_against_the_limit(p: &mut Probe) -> Result<()> {
    let (mut rx, mut tx) = std::io::pipe().context("pipe")?;
    // SAFETY: this program starts no threads; the child ends with exit_child.
    let pid = match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            use std::io::Write;
            // Root is exempt from the limit: become an ordinary user first (in this child).
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } == 0 {
                // SAFETY: setgid and setuid take plain values; this child only.
                if unsafe { libc::setgid(65534) } != 0 || unsafe { libc::setuid(65534) } != 0 {
                    exit_child(2);
                }
            }
            let lim = libc::rlimit {
                rlim_cur: 64 << 10,
                rlim_max: 64 << 10,
            };
            // SAFETY: `lim` is an initialised rlimit.
            if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) } != 0 {
                exit_child(3);
            }
            let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_LOCKED;
            // SAFETY: a fresh anonymous mapping that is never touched; the process ends soon.
            let big = unsafe { libc::mmap(std::ptr::null_mut(), 16 << 20, RW, flags, -1, 0) };
            let big = if big == libc::MAP_FAILED {
                std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
            } else {
                0
            };
            // SAFETY: as above.
            let small = unsafe { libc::mmap(std::ptr::null_mut(), 16 << 10, RW, flags, -1, 0) };
            let small_locked = small != libc::MAP_FAILED;
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let vmlck = status
                .lines()
                .find(|l| l.starts_with("VmLck:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("?")
                .to_string();
            let line = format!("{big} {small_locked} {vmlck}\n");
            exit_child(if tx.write_all(line.as_bytes()).is_ok() {
                0
            } else {
                1
            })
        }
        Fork::Parent(pid) => pid,
    };
    drop(tx);
    let mut line = String::new();
    std::io::Read::read_to_string(&mut rx, &mut line).context("read pipe")?;
    let ok = waitpid(pid).context("waitpid")?.success();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (big, small, vmlck) = match fields[..] {
        [b, s, v] => (b.parse::<i32>().unwrap_or(-1), s == "true", v.to_string()),
        _ => (-1, false, String::new()),
    };
    let big_err = std::io::Error::from_raw_os_error(big);
    p.show(format!(
        "an ordinary user, RLIMIT_MEMLOCK 64 KiB: mmap(16 MiB, MAP_LOCKED) = {}",
        if big == 0 {
            "ok".to_string()
        } else {
            format!("-1 {}", errno_name(&big_err))
        }
    ));
    p.show(format!(
        "mmap(16 KiB, MAP_LOCKED) = {}; VmLck {vmlck} kB",
        if small { "ok" } else { "-1" }
    ));
    p.expect(
        ok && big == libc::EAGAIN && small && vmlck == "16",
        "MAP_LOCKED did not behave as said",
    );
    Ok(())
}

/// 004-10: open("/dev/zero") and MAP_SHARED: shared with a child like MAP_ANONYMOUS; two
/// mappings of /dev/zero are two separate objects.
fn dev_zero(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let zero = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/zero")
        .context("open /dev/zero")?;
    // SAFETY: fresh shared mappings of /dev/zero, touched through raw pointers only.
    let a = unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(zero.as_fd()), 0) }
        .context("mmap")?;
    // SAFETY: as above.
    let b = unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(zero.as_fd()), 0) }
        .context("mmap")?;
    let ok = crosses(a.as_ptr(), 33)?;
    // SAFETY: the second mapping, one page.
    let other = unsafe { b.as_ptr().read_volatile() };
    p.show(format!(
        "open(\"/dev/zero\", O_RDWR), mmap(MAP_SHARED): a child's store reaches the parent: {ok}"
    ));
    p.show(format!(
        "a second mmap of /dev/zero reads {other}: a separate object"
    ));
    p.expect(ok && other == 0, "/dev/zero did not behave as said");
    Ok(())
}
