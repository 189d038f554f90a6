//! Seed 001's entries ("memory mapping for IPC").

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;

use common::{Child, Context, Fork, Mapping, Result, exit_child, fork};

use crate::probe::{Entry, Probe, RW, disk_file, in_child, outcome, reserve_and_map, touch};

/// Seed 001's entries, in the chapter's order.
pub const ENTRIES: &[Entry] = &[
    Entry {
        id: "001-1",
        claim: "\"Each process has its own mapped area, not one shared block\"",
        run: one_copy,
    },
    Entry {
        id: "001-2",
        claim: "\"The disk file is the bridge: data goes to the disk and from there to the other \
                process\"",
        run: no_disk_needed,
    },
    Entry {
        id: "001-3",
        claim: "\"The mapping is allocated in multiples of 4 KiB\"",
        run: whole_pages,
    },
    Entry {
        id: "001-4",
        claim: "\"The offset must be a multiple of 4 KiB, and greater than 0\"",
        run: offset_rules,
    },
    Entry {
        id: "001-5",
        claim: "\"The open file must be greater than 0\"",
        run: fd_zero_and_empty_file,
    },
    Entry {
        id: "001-6",
        claim: "\"For IPC, map PROT_READ | PROT_WRITE; the file's open mode must equal the \
                mapping's\"",
        run: open_modes,
    },
    Entry {
        id: "001-7",
        claim: "\"munmap's length: the same as mmap's\"",
        run: munmap_ranges,
    },
    Entry {
        id: "001-8",
        claim: "\"Reading and writing a mapping does not block, unlike a pipe\"",
        run: loads_do_not_wait,
    },
];

/// A shared mapping of the whole of `file` (`len` bytes).
fn map_file(file: &std::fs::File, len: usize, prot: libc::c_int) -> std::io::Result<Mapping> {
    // SAFETY: the file covers `len` bytes; the mapping is touched through raw pointers only.
    unsafe { Mapping::new(len, prot, libc::MAP_SHARED, Some(file.as_fd()), 0) }
}

/// 001-1: two mappings of one file, at two addresses, are one copy of the data: a store
/// through either is read through the other, and a child's store is the parent's too.
fn one_copy(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(page as u64)?;
    let a = map_file(&file, page, RW).context("mmap")?;
    let b = map_file(&file, page, RW).context("mmap")?;
    p.show(format!(
        "two mmap(MAP_SHARED) of one file in one process: {}",
        if a.as_ptr() == b.as_ptr() {
            "the same address"
        } else {
            "two addresses"
        }
    ));
    // SAFETY: both are one-page mappings of this program's own file.
    unsafe { a.as_ptr().write_volatile(17) };
    // SAFETY: as above.
    let through_b = unsafe { b.as_ptr().read_volatile() };
    p.show(format!(
        "store 17 through the first, read through the second: {through_b}"
    ));
    let base = a.as_ptr();
    // SAFETY: as above; the parent reads only after waitpid.
    let ok = in_child(|| unsafe {
        base.wrapping_add(1).write_volatile(23);
        true
    })?;
    // SAFETY: as above.
    let from_child = unsafe { b.as_ptr().wrapping_add(1).read_volatile() };
    p.show(format!(
        "the child stores 23 through its copy of the first; the parent reads {from_child}"
    ));
    p.expect(
        a.as_ptr() != b.as_ptr() && through_b == 17 && ok && from_child == 23,
        "not one copy",
    );
    Ok(())
}

/// 001-2: no disk between the processes: a file on tmpfs (no disk at all) and an anonymous
/// mapping (no file at all) carry a child's store to its parent just the same.
fn no_disk_needed(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let tmpfs = tempfile::tempfile_in("/dev/shm").context("open a file in /dev/shm")?;
    tmpfs.set_len(page as u64).context("ftruncate")?;
    let on_tmpfs = map_file(&tmpfs, page, RW).context("mmap")?;
    // SAFETY: a fresh shared anonymous mapping of one page.
    let anon = unsafe { Mapping::new(page, RW, libc::MAP_SHARED | libc::MAP_ANONYMOUS, None, 0) }
        .context("mmap")?;
    for (name, map) in [
        ("a file on tmpfs (/dev/shm)", &on_tmpfs),
        ("MAP_SHARED | MAP_ANONYMOUS", &anon),
    ] {
        let base = map.as_ptr();
        // SAFETY: one page of this program's mapping; the parent reads after waitpid.
        let ok = in_child(|| unsafe {
            base.write_volatile(31);
            true
        })?;
        // SAFETY: as above.
        let seen = unsafe { base.read_volatile() };
        p.show(format!(
            "{name}: the child stores 31, the parent reads {seen}"
        ));
        p.expect(ok && seen == 31, format!("{name}: the store did not cross"));
    }
    Ok(())
}

/// 001-3: a mapping of 1 byte takes a whole page, of the size sysconf says (not always 4 KiB).
fn whole_pages(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(page as u64)?;
    let one = map_file(&file, 1, libc::PROT_READ).context("mmap")?;
    let start = one.as_ptr() as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").context("read /proc/self/maps")?;
    let len = maps.lines().find_map(|line| {
        let (range, _) = line.split_once(' ')?;
        let (lo, hi) = range.split_once('-')?;
        let lo = usize::from_str_radix(lo, 16).ok()?;
        let hi = usize::from_str_radix(hi, 16).ok()?;
        (lo == start).then_some(hi - lo)
    });
    p.show(format!(
        "mmap(len 1): /proc/self/maps shows {}",
        match len {
            Some(l) if l == page => "one page of sysconf(_SC_PAGESIZE) bytes".to_string(),
            Some(l) => format!("{l} bytes"),
            None => "no such mapping".to_string(),
        }
    ));
    p.expect(len == Some(page), "the mapping is not one page");
    let pow2 = page.is_power_of_two() && page >= 4096;
    p.show(format!(
        "sysconf(_SC_PAGESIZE) is {}",
        if pow2 {
            "a power of two, 4096 or more"
        } else {
            "something else"
        }
    ));
    p.expect(pow2, format!("page size {page}"));
    // SAFETY: a mapping never touched.
    let zero = unsafe { Mapping::new(0, libc::PROT_READ, libc::MAP_SHARED, Some(file.as_fd()), 0) };
    p.show(format!("mmap(len 0) {}", outcome(&zero)));
    p.expect(
        zero.err().and_then(|e| e.raw_os_error()) == Some(libc::EINVAL),
        "len 0 mapped",
    );
    Ok(())
}

/// 001-4: 0 is a valid offset; an offset that is not a multiple of the page size is EINVAL;
/// a negative one is EINVAL too unless it is page-aligned, which gives EOVERFLOW: read as an
/// unsigned number it lies past the largest file size, like the largest page-aligned positive
/// offset, while 2^62, far past the end of the file but not of the largest one, maps.
fn offset_rules(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(2 * page as u64)?;
    let cases: [(&str, libc::off_t, Option<i32>); 7] = [
        ("0", 0, None),
        ("the page size", page as libc::off_t, None),
        ("100", 100, Some(libc::EINVAL)),
        ("-1", -1, Some(libc::EINVAL)),
        (
            "minus the page size",
            -(page as libc::off_t),
            Some(libc::EOVERFLOW),
        ),
        ("2^62", 1 << 62, None),
        (
            "2^63 minus the page size",
            libc::off_t::MAX - page as libc::off_t + 1,
            Some(libc::EOVERFLOW),
        ),
    ];
    for (name, offset, want) in cases {
        // SAFETY: a fresh mapping that nothing reads; it is unmapped when dropped at once.
        let got = unsafe {
            Mapping::new(
                page,
                libc::PROT_READ,
                libc::MAP_SHARED,
                Some(file.as_fd()),
                offset,
            )
        };
        p.show(format!(
            "mmap(NULL, page, PROT_READ, MAP_SHARED, fd, {name}) {}",
            outcome(&got)
        ));
        let got = got.err().and_then(|e| e.raw_os_error());
        p.expect(
            got == want,
            format!("offset {name}: expected {want:?}, got {got:?}"),
        );
    }
    Ok(())
}

/// 001-5: descriptor 0 maps like any other; -1 without MAP_ANONYMOUS is EBADF; an empty file
/// maps, and its first byte raises SIGBUS.
fn fd_zero_and_empty_file(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(page as u64)?;
    let fd = file.as_raw_fd();
    // In a child, whose standard input can be replaced without harm.
    let ok = in_child(|| {
        // SAFETY: dup2 of an open descriptor onto 0, in this child only.
        if unsafe { libc::dup2(fd, 0) } != 0 {
            return false;
        }
        // SAFETY: a mapping of descriptor 0 that is never touched.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ,
                libc::MAP_SHARED,
                0,
                0,
            )
        };
        addr != libc::MAP_FAILED
    })?;
    p.show(format!(
        "dup2(file, 0); mmap(..., fd 0, 0) {}",
        if ok { "= ok" } else { "failed" }
    ));
    p.expect(ok, "descriptor 0 did not map");
    // SAFETY: fd -1 without MAP_ANONYMOUS; nothing is mapped.
    let bad = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ,
            libc::MAP_SHARED,
            -1,
            0,
        )
    };
    let err = std::io::Error::last_os_error();
    let bad: std::io::Result<()> = if bad == libc::MAP_FAILED {
        Err(err)
    } else {
        Ok(())
    };
    p.show(format!("mmap(..., MAP_SHARED, fd -1, 0) {}", outcome(&bad)));
    p.expect(
        bad.err().and_then(|e| e.raw_os_error()) == Some(libc::EBADF),
        "fd -1: no EBADF",
    );
    let empty = disk_file(0)?;
    let map = reserve_and_map(&empty, 2, page)?;
    p.show("an empty file: mmap(len page) = ok");
    // SAFETY: inside this program's mapping.
    let first = unsafe { touch(map.as_ptr(), 0, None) }?;
    p.show(format!("ptr[0]: {first}"));
    p.expect(
        first == "SIGBUS",
        "ptr[0] of an empty file did not raise SIGBUS",
    );
    Ok(())
}

/// One row of 001-6: what it is, (read, write, append), prot, flags, the errno expected.
type Case = (
    &'static str,
    (bool, bool, bool),
    libc::c_int,
    libc::c_int,
    Option<i32>,
);

/// 001-6: what open mode each kind of mapping needs: not equality.
fn open_modes(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let dir = tempfile::tempdir_in("/var/tmp")
        .or_else(|_| tempfile::tempdir())
        .context("mkdtemp")?;
    let path = dir.path().join("f");
    // A new file (O_EXCL, no symlink followed) in this probe's own directory.
    std::io::Write::write_all(&mut common::file::create(&path, 0o600)?, &vec![0u8; page])
        .context("write")?;
    let open = |read: bool, write: bool, append: bool| {
        std::fs::OpenOptions::new()
            .read(read)
            .write(write)
            .append(append)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
    };
    let cases: [Case; 6] = [
        (
            "O_RDONLY, PROT_READ, MAP_SHARED",
            (true, false, false),
            libc::PROT_READ,
            libc::MAP_SHARED,
            None,
        ),
        (
            "O_RDONLY, PROT_WRITE, MAP_SHARED",
            (true, false, false),
            RW,
            libc::MAP_SHARED,
            Some(libc::EACCES),
        ),
        (
            "O_RDONLY, PROT_WRITE, MAP_PRIVATE",
            (true, false, false),
            RW,
            libc::MAP_PRIVATE,
            None,
        ),
        (
            "O_WRONLY, PROT_WRITE, MAP_SHARED",
            (false, true, false),
            libc::PROT_WRITE,
            libc::MAP_SHARED,
            Some(libc::EACCES),
        ),
        (
            "O_RDWR, PROT_READ, MAP_SHARED",
            (true, true, false),
            libc::PROT_READ,
            libc::MAP_SHARED,
            None,
        ),
        (
            "O_RDWR | O_APPEND, PROT_WRITE, MAP_SHARED",
            (true, true, true),
            RW,
            libc::MAP_SHARED,
            None,
        ),
    ];
    for (name, (r, w, a), prot, flags, want) in cases {
        let file = open(r, w, a).with_context(|| format!("open ({name})"))?;
        // SAFETY: a mapping never touched.
        let got = unsafe { Mapping::new(page, prot, flags, Some(file.as_fd()), 0) };
        p.show(format!("{name}: mmap {}", outcome(&got)));
        let got = got.err().and_then(|e| e.raw_os_error());
        p.expect(
            got == want,
            format!("{name}: expected {want:?}, got {got:?}"),
        );
    }
    Ok(())
}

/// 001-7: munmap takes any page-aligned range: the middle page of three can go alone; an
/// unaligned address is EINVAL; a range with nothing mapped is no error.
fn munmap_ranges(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(3 * page as u64)?;
    let map = reserve_and_map(&file, 3, 3 * page)?;
    let base = map.as_ptr();
    // SAFETY: the middle page of this program's mapping, which nothing references.
    let rc = unsafe { libc::munmap(base.wrapping_add(page).cast(), page) };
    p.show(format!("munmap(middle page of three) = {rc}"));
    for i in 0..3 {
        // SAFETY: each page lies in the range this program mapped; the middle one is now
        // unmapped, so its access faults in the child.
        let got = unsafe { touch(base, i * page, None) }?;
        p.show(format!("page {i}: {got}"));
        p.expect(
            got == if i == 1 { "SIGSEGV" } else { "0" },
            format!("page {i}: {got}"),
        );
    }
    // SAFETY: an unaligned address: refused before anything is unmapped.
    let unaligned = unsafe { libc::munmap(base.wrapping_add(1).cast(), page) };
    let err = std::io::Error::last_os_error();
    let unaligned: std::io::Result<()> = if unaligned == -1 { Err(err) } else { Ok(()) };
    p.show(format!("munmap(address + 1) {}", outcome(&unaligned)));
    p.expect(
        unaligned.err().and_then(|e| e.raw_os_error()) == Some(libc::EINVAL),
        "no EINVAL",
    );
    // SAFETY: the middle page again: nothing is mapped there any more.
    let again = unsafe { libc::munmap(base.wrapping_add(page).cast(), page) };
    p.show(format!(
        "munmap(the middle page again, nothing mapped) = {again}"
    ));
    p.expect(rc == 0 && again == 0, "munmap failed");
    Ok(())
}

/// 001-8: a load never waits for the writer, where a pipe's `read` would: it finds what is
/// there now, nothing yet or half a record. Only the programs' own ordering (here a pipe the
/// writer and the reader pass turns through) makes the reader wait.
fn loads_do_not_wait(p: &mut Probe) -> Result<()> {
    use std::io::{Read, Write};
    let (mut empty, _writer) = std::io::pipe().context("pipe")?;
    // SAFETY: fcntl on a descriptor this function owns.
    if unsafe { libc::fcntl(empty.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) } == -1 {
        return Err(common::Error::last_os_error("fcntl"));
    }
    let got = empty.read(&mut [0u8; 1]);
    p.show(format!(
        "read(an empty pipe, O_NONBLOCK) {}: without O_NONBLOCK it waits for data",
        outcome(&got)
    ));
    p.expect(
        got.err().and_then(|e| e.raw_os_error()) == Some(libc::EAGAIN),
        "the empty pipe did not say EAGAIN",
    );
    let page = common::page_size();
    // SAFETY: a fresh shared anonymous page, holding a record of two bytes.
    let map = unsafe { Mapping::new(page, RW, libc::MAP_SHARED | libc::MAP_ANONYMOUS, None, 0) }
        .context("mmap")?;
    let (first, second) = (map.as_ptr(), map.as_ptr().wrapping_add(1));
    // The writer gives the reader its turns through one pipe, and reads what it saw from another.
    let (mut turn_rx, mut turn_tx) = std::io::pipe().context("pipe")?;
    let (mut seen_rx, mut seen_tx) = std::io::pipe().context("pipe")?;
    // SAFETY: this program starts no threads; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            // The reader: loads the record, reports what it found, waits for its turn, again.
            let mut turn = [0u8];
            let ok = (0..2).all(|_| {
                // SAFETY: the record's two bytes, in the shared page; the writer stores only
                // while this reader waits for its turn.
                let seen = [first, second].map(|field| unsafe { field.read_volatile() });
                seen_tx.write_all(&seen).is_ok() && turn_rx.read_exact(&mut turn).is_ok()
            });
            exit_child(if ok { 0 } else { 1 })
        }
        Fork::Parent(pid) => {
            let child = Child::new(pid);
            drop((seen_tx, turn_rx));
            let mut seen = [[0u8; 2]; 2];
            seen_rx.read_exact(&mut seen[0]).context("read pipe")?;
            // SAFETY: the record's first byte; the reader waits for its turn.
            unsafe { first.write_volatile(1) };
            turn_tx.write_all(&[0]).context("write pipe")?;
            seen_rx.read_exact(&mut seen[1]).context("read pipe")?;
            // SAFETY: the record's second byte; the reader waits for its turn again.
            unsafe { second.write_volatile(2) };
            turn_tx.write_all(&[0]).context("write pipe")?;
            let ok = child.wait().context("waitpid")?.success();
            p.show(format!(
                "the reader loads a record of two fields before the writer stores: {} and {}, \
                 at once",
                seen[0][0], seen[0][1]
            ));
            p.show(format!(
                "the writer stores the first field only; the reader loads {} and {}: half a record",
                seen[1][0], seen[1][1]
            ));
            p.expect(
                ok && seen == [[0, 0], [1, 0]],
                "the loads waited, or saw something else",
            );
        }
    }
    Ok(())
}
