//! Seed 000's entries ("POSIX shared memory", after UNP vol. 2, chapter 12).

use std::io::{Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

use common::{Context, Error, Fork, Mapping, Result, exit_child, fork, waitpid};

use crate::probe::{
    Entry, Probe, disk_file, errno_name, outcome, page_faults, reserve_and_map, touch,
};

/// Seed 000's entries, in the chapter's order.
pub const ENTRIES: &[Entry] = &[
    Entry {
        id: "000-1",
        claim: "\"Shared memory is the fastest form of IPC\"",
        run: fastest,
    },
    Entry {
        id: "000-2",
        claim: "\"Once mapped, data passes between the processes without the kernel\"",
        run: without_the_kernel,
    },
    Entry {
        id: "000-3",
        claim: "\"Four kernel-to-kernel interactions without shared memory, two with it\"",
        run: four_and_two,
    },
    Entry {
        id: "000-4",
        claim: "`addr` and `MAP_FIXED` (\"interprets addr exactly ???\"; \"do not use MAP_FIXED\")",
        run: map_fixed,
    },
    Entry {
        id: "000-5",
        claim: "`msync` \"synchronises memory with the disk\"",
        run: msync_flags,
    },
    Entry {
        id: "000-6",
        claim: "\"A file mapping needs a file that was opened and written to initialise it\"",
        run: size_not_data,
    },
    Entry {
        id: "000-7",
        claim: "\"Not every file can be mapped\"",
        run: not_every_file,
    },
    Entry {
        id: "000-8",
        claim: "\"Why mmap? No read, write or lseek: simpler code\"",
        run: errors_change_shape,
    },
    Entry {
        id: "000-9",
        claim: "\"macOS's man page says a mapping that is not a multiple of the page size is extended\"",
        run: last_page_extended,
    },
    Entry {
        id: "000-10",
        claim: "\"SIGBUS means an access inside the mapping but past the size of the object\"",
        run: sigbus_by_pages,
    },
    Entry {
        id: "000-11",
        claim: "\"To map a growing file, map far more than it holds and use it as it grows\"",
        run: growing_file,
    },
];

const RW: libc::c_int = libc::PROT_READ | libc::PROT_WRITE;

/// A shared anonymous mapping of `len` bytes (the parent-and-child kind).
fn shared_anon(len: usize) -> Result<Mapping> {
    // SAFETY: a fresh mapping, touched only through raw pointers below.
    unsafe { Mapping::new(len, RW, libc::MAP_SHARED | libc::MAP_ANONYMOUS, None, 0) }
        .context("mmap MAP_SHARED | MAP_ANONYMOUS")
}

/// Runs `child` in a forked child (exit status 0 when it returns `true`), waits for it.
fn in_child(child: impl FnOnce() -> bool) -> Result<bool> {
    // SAFETY: this program starts no threads; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => exit_child(if child() { 0 } else { 1 }),
        Fork::Parent(pid) => Ok(waitpid(pid).context("waitpid")?.success()),
    }
}

/// 000-1: what can be counted of "fastest" without a clock: through a pipe, 1 MiB costs
/// `write` and `read` calls that copy every byte into and out of the kernel; through a shared
/// mapping the receiver reads the bytes where the sender put them, with no call at all.
/// (Speed itself is `make bench`'s, never a test's.)
fn fastest(p: &mut Probe) -> Result<()> {
    const BYTES: usize = 1 << 20;
    const CHUNK: usize = 64 << 10;
    let (mut rx, mut tx) = std::io::pipe().context("pipe")?;
    // SAFETY: this program starts no threads; the child ends with exit_child.
    let pid = match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            let ok = (0..BYTES / CHUNK).all(|_| tx.write_all(&[7u8; CHUNK]).is_ok());
            exit_child(if ok { 0 } else { 1 })
        }
        Fork::Parent(pid) => pid,
    };
    drop(tx);
    let mut buf = vec![0u8; CHUNK];
    let (mut reads, mut got) = (0, 0);
    loop {
        let n = rx.read(&mut buf).context("read pipe")?;
        if n == 0 {
            break;
        }
        reads += 1;
        got += n;
    }
    p.show(format!(
        "pipe: 1 MiB = {} write calls by the sender, {} read calls by the receiver: \
         every byte copied into the kernel and out again",
        BYTES / CHUNK,
        if reads >= BYTES / CHUNK {
            "16 or more"
        } else {
            "fewer than 16"
        }
    ));
    let ok = waitpid(pid).context("waitpid")?.success();
    p.expect(
        ok && got == BYTES && reads >= BYTES / CHUNK,
        "the pipe did not carry 1 MiB",
    );
    let map = shared_anon(BYTES)?;
    let base = map.as_ptr();
    let ok = in_child(|| {
        // SAFETY: the mapping is BYTES long and shared; the parent reads it only after
        // waitpid.
        unsafe { std::ptr::write_bytes(base, 7, BYTES) };
        true
    })?;
    // SAFETY: the child has ended; nobody else writes the mapping now.
    let all = unsafe { std::slice::from_raw_parts(base, BYTES) }
        .iter()
        .all(|&b| b == 7);
    p.show("shared mapping: 1 MiB stored by the child, read in place by the parent: 0 calls");
    p.expect(ok && all, "the parent did not see the child's 1 MiB");
    p.show("(how fast each is: make bench, chapter 8)");
    Ok(())
}

/// 000-2: the kernel still takes part: the first touch of each page of a new shared mapping is
/// a page fault, handled by the kernel, in each process.
fn without_the_kernel(p: &mut Probe) -> Result<()> {
    const PAGES: usize = 64;
    let page = common::page_size();
    let map = shared_anon(PAGES * page)?;
    let before = page_faults();
    for i in 0..PAGES {
        // SAFETY: inside the mapping, which nothing else uses.
        unsafe { map.as_ptr().wrapping_add(i * page).write_volatile(1) };
    }
    let faults = page_faults() - before;
    p.show(format!(
        "first store into each of {PAGES} new pages: {} page faults",
        if faults >= PAGES as u64 {
            "at least 64"
        } else {
            "fewer than 64"
        }
    ));
    p.expect(faults >= PAGES as u64, format!("only {faults} page faults"));
    let before = page_faults();
    for i in 0..PAGES {
        // SAFETY: as above.
        unsafe { map.as_ptr().wrapping_add(i * page).write_volatile(2) };
    }
    let again = page_faults() - before;
    // Not 0: anything else this process does (its allocator, a sanitizer's shadow memory) can
    // fault too. The pages themselves fault no more.
    p.show(format!(
        "second store into each: {}",
        if again < 8 {
            "fewer than 8 page faults in all"
        } else {
            "page faults again"
        }
    ));
    p.expect(again < 8, format!("{again} page faults the second time"));
    Ok(())
}

/// 000-3: a file sent from a server to a client through a pipe takes four copies, each between
/// the kernel and a process; through a shared buffer, two, still through the kernel.
fn four_and_two(p: &mut Probe) -> Result<()> {
    const LEN: usize = 4096;
    let mut input = disk_file(0)?;
    input.write_all(&[b'x'; LEN]).context("write")?;
    let out_pipe = disk_file(0)?;
    let out_shm = disk_file(0)?;
    let mut buf = [0u8; LEN];
    // Through a pipe: read(file), write(pipe), read(pipe), write(file).
    let (mut rx, mut tx) = std::io::pipe().context("pipe")?;
    let n1 = input.read_at(&mut buf, 0).context("read")?;
    let n2 = tx.write(&buf[..n1]).context("write pipe")?;
    let n3 = rx.read(&mut buf).context("read pipe")?;
    let n4 = out_pipe.write_at(&buf[..n3], 0).context("write")?;
    p.show(format!(
        "pipe: read(file) {n1}, write(pipe) {n2}, read(pipe) {n3}, write(file) {n4}: 4 copies"
    ));
    // Through shared memory: read(file) straight into the region, write(file) from it.
    let region = shared_anon(LEN)?;
    // SAFETY: the region is LEN bytes, used by this process only here.
    let view = unsafe { std::slice::from_raw_parts_mut(region.as_ptr(), LEN) };
    let m1 = input.read_at(view, 0).context("read")?;
    let m2 = out_shm.write_at(&view[..m1], 0).context("write")?;
    p.show(format!(
        "shared memory: read(file) {m1} into the region, write(file) {m2}: 2 copies"
    ));
    p.expect(
        [n1, n2, n3, n4, m1, m2].iter().all(|&n| n == LEN),
        "a short copy",
    );
    p.show("every copy is between the kernel and a process, none between kernel and kernel");
    Ok(())
}

/// 000-4: without MAP_FIXED, `addr` is a hint; MAP_FIXED replaces what was there;
/// MAP_FIXED_NOREPLACE refuses with EEXIST.
fn map_fixed(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let taken = shared_anon(page)?;
    // SAFETY: inside the mapping.
    unsafe { taken.as_ptr().write_volatile(42) };
    let addr = taken.as_ptr().cast::<libc::c_void>();
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    // SAFETY: no MAP_FIXED: the kernel picks another address if `addr` is taken.
    let hint = unsafe { libc::mmap(addr, page, RW, flags, -1, 0) };
    p.show(format!(
        "mmap(taken address, no MAP_FIXED): {}",
        if hint == addr {
            "at that address"
        } else {
            "another address"
        }
    ));
    p.expect(
        hint != libc::MAP_FAILED && hint != addr,
        "the hint replaced a mapping",
    );
    if hint != libc::MAP_FAILED {
        // SAFETY: the mapping just made, used by nothing.
        unsafe { libc::munmap(hint, page) };
    }
    // SAFETY: MAP_FIXED_NOREPLACE never replaces anything.
    let noreplace = unsafe { libc::mmap(addr, page, RW, flags | libc::MAP_FIXED_NOREPLACE, -1, 0) };
    let err = std::io::Error::last_os_error();
    p.show(format!(
        "mmap(taken address, MAP_FIXED_NOREPLACE) = {}",
        if noreplace == libc::MAP_FAILED {
            format!("-1 {}", errno_name(&err))
        } else {
            "ok".into()
        }
    ));
    p.expect(
        noreplace == libc::MAP_FAILED && err.raw_os_error() == Some(libc::EEXIST),
        "no EEXIST",
    );
    // SAFETY: MAP_FIXED over a page of this program's own mapping `taken`, which is unmapped
    // by its guard afterwards; nothing else lives there.
    let fixed = unsafe { libc::mmap(addr, page, RW, flags | libc::MAP_FIXED, -1, 0) };
    p.expect(fixed == addr, "MAP_FIXED did not map at the address");
    // SAFETY: the new mapping at `addr`, one page.
    let now = unsafe { taken.as_ptr().read_volatile() };
    p.show(format!(
        "mmap(taken address, MAP_FIXED): at that address; the byte 42 stored there before now reads {now}"
    ));
    p.expect(now == 0, "the old mapping survived MAP_FIXED");
    Ok(())
}

/// 000-5: msync's flags as Linux checks them, and that another reader sees a store through
/// the mapping at once, without msync: there is one page cache.
fn msync_flags(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(page as u64)?;
    // SAFETY: the file is one page long; the mapping is touched only through raw pointers.
    let map = unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(file.as_fd()), 0) }
        .context("mmap")?;
    let base = map.as_ptr().cast::<libc::c_void>();
    let cases: [(&str, *mut libc::c_void, libc::c_int, Option<i32>); 5] = [
        ("MS_SYNC", base, libc::MS_SYNC, None),
        ("MS_ASYNC", base, libc::MS_ASYNC, None),
        (
            "MS_SYNC | MS_ASYNC",
            base,
            libc::MS_SYNC | libc::MS_ASYNC,
            Some(libc::EINVAL),
        ),
        ("0 (neither)", base, 0, None),
        (
            "MS_SYNC, address not page-aligned",
            base.wrapping_byte_add(1),
            libc::MS_SYNC,
            Some(libc::EINVAL),
        ),
    ];
    for (name, addr, flags, want) in cases {
        // SAFETY: msync of (part of) this program's mapping; a bad argument is an error.
        let rc = unsafe { libc::msync(addr, page - 1, flags) };
        let got = (rc == -1).then(std::io::Error::last_os_error);
        let shown = got
            .as_ref()
            .map_or("= 0".to_string(), |e| format!("= -1 {}", errno_name(e)));
        p.show(format!("msync({name}) {shown}"));
        let got = got.and_then(|e| e.raw_os_error());
        p.expect(
            got == want,
            format!("msync({name}): expected {want:?}, got {got:?}"),
        );
    }
    // SAFETY: inside the mapping.
    unsafe { map.as_ptr().write_volatile(b'M') };
    let mut byte = [0u8];
    file.read_at(&mut byte, 0).context("pread")?;
    p.show(format!(
        "store 'M' through the mapping, no msync; pread of the file reads '{}'",
        byte[0] as char
    ));
    p.expect(byte[0] == b'M', "read() did not see the store");
    file.write_at(b"W", 0).context("pwrite")?;
    // SAFETY: inside the mapping.
    let seen = unsafe { map.as_ptr().read_volatile() };
    p.show(format!(
        "pwrite 'W' to the file, no MS_INVALIDATE; the mapping reads '{}'",
        seen as char
    ));
    p.expect(seen == b'W', "the mapping did not see the write");
    Ok(())
}

/// 000-6: a file needs a size, not data: ftruncate alone, and the mapping reads zeros and
/// takes stores.
fn size_not_data(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(0)?;
    file.set_len(page as u64).context("ftruncate")?;
    p.show("open(O_CREAT) a new file, ftruncate(fd, page size); no write");
    // SAFETY: the file is one page; touched through raw pointers only.
    let map = unsafe { Mapping::new(page, RW, libc::MAP_SHARED, Some(file.as_fd()), 0) }
        .context("mmap")?;
    // SAFETY: inside the mapping, backed by the file.
    let first = unsafe { map.as_ptr().read_volatile() };
    // SAFETY: as above.
    unsafe { map.as_ptr().wrapping_add(page - 1).write_volatile(9) };
    let mut byte = [0u8];
    file.read_at(&mut byte, page as u64 - 1).context("pread")?;
    p.show(format!(
        "mmap: ptr[0] reads {first}; ptr[page - 1] = 9, and the file holds {}",
        byte[0]
    ));
    p.expect(
        first == 0 && byte[0] == 9,
        "the sized file did not map as the entry says",
    );
    Ok(())
}

/// 000-7: which files mmap refuses, and with which error.
fn not_every_file(p: &mut Probe) -> Result<()> {
    let dir = tempfile::tempdir().context("mkdtemp")?;
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::msg("fifo", "NUL"))?;
    // SAFETY: a NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == -1 {
        return Err(Error::last_os_error("mkfifo"));
    }
    let (pipe_r, _pipe_w) = std::io::pipe().context("pipe")?;
    let (sock, _other) = std::os::unix::net::UnixStream::pair().context("socketpair")?;
    let open_nb = |path: &std::path::Path| {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
    };
    let regular = disk_file(4096)?;
    let files: Vec<(&str, std::io::Result<std::os::fd::OwnedFd>, Option<i32>)> = vec![
        ("a regular file", regular.try_clone().map(Into::into), None),
        (
            "/dev/zero",
            open_nb("/dev/zero".as_ref()).map(Into::into),
            None,
        ),
        ("a pipe", Ok(pipe_r.into()), Some(libc::ENODEV)),
        ("a FIFO", open_nb(&fifo).map(Into::into), Some(libc::ENODEV)),
        ("a socket", Ok(sock.into()), Some(libc::ENODEV)),
        (
            "a directory",
            open_nb(dir.path()).map(Into::into),
            Some(libc::ENODEV),
        ),
        (
            "/dev/null",
            open_nb("/dev/null".as_ref()).map(Into::into),
            Some(libc::ENODEV),
        ),
        (
            "/dev/urandom",
            open_nb("/dev/urandom".as_ref()).map(Into::into),
            Some(libc::ENODEV),
        ),
        (
            "/proc/self/status",
            open_nb("/proc/self/status".as_ref()).map(Into::into),
            Some(libc::ENODEV),
        ),
        (
            "/proc/cpuinfo",
            open_nb("/proc/cpuinfo".as_ref()).map(Into::into),
            Some(libc::EIO),
        ),
    ];
    for (name, fd, want) in files {
        let fd = fd.with_context(|| format!("open {name}"))?;
        // SAFETY: a mapping never touched; dropped at once.
        let got =
            unsafe { Mapping::new(4096, libc::PROT_READ, libc::MAP_SHARED, Some(fd.as_fd()), 0) };
        p.show(format!("mmap({name}) {}", outcome(&got)));
        let got = got.err().and_then(|e| e.raw_os_error());
        p.expect(
            got == want,
            format!("{name}: expected {want:?}, got {got:?}"),
        );
    }
    Ok(())
}

/// 000-8: errors change shape: read() past the end of a file returns 0, a load from a mapped
/// page past it raises SIGBUS; so does a load after another process shortened the file.
fn errors_change_shape(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let mut file = disk_file(page as u64)?;
    file.seek(std::io::SeekFrom::Start(page as u64))
        .context("lseek")?;
    let n = file.read(&mut [0u8; 16]).context("read")?;
    p.show(format!("read() at the end of a one-page file = {n}"));
    p.expect(n == 0, "read past the end did not return 0");
    let map = reserve_and_map(&file, 3, 2 * page)?;
    // SAFETY: the second page is in this program's mapping, past the end of the file.
    let past = unsafe { touch(map.as_ptr(), page, None) }?;
    p.show(format!(
        "a load from the mapping's second page, past the end of the file: {past}"
    ));
    p.expect(past == "SIGBUS", "no SIGBUS past the end of the file");
    // SAFETY: the first page, inside the file.
    let before = unsafe { touch(map.as_ptr(), 0, None) }?;
    file.set_len(0).context("ftruncate")?;
    // SAFETY: as above.
    let after = unsafe { touch(map.as_ptr(), 0, None) }?;
    p.show(format!(
        "ptr[0] reads {before}; after ftruncate(fd, 0): {after}"
    ));
    p.expect(
        before == "0" && after == "SIGBUS",
        "a shortened file did not raise SIGBUS",
    );
    Ok(())
}

/// 000-9: a mapping is made of whole pages: one byte mapped of a 100-byte file gives a page,
/// whose bytes past the file read 0, and a store there never reaches the file.
fn last_page_extended(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(100)?;
    let map = reserve_and_map(&file, 2, 1)?;
    // SAFETY: the last byte of the first page, which the one-byte mapping covers.
    let last = unsafe { touch(map.as_ptr(), page - 1, Some(5)) }?;
    p.show(format!(
        "100-byte file, mmap(len 1): ptr[page - 1] reads {last} (a store of 5 there too)"
    ));
    // SAFETY: the first byte past the first page, in the reservation.
    let next = unsafe { touch(map.as_ptr(), page, None) }?;
    p.show(format!("ptr[page]: {next}"));
    let size = file.metadata().context("fstat")?.len();
    p.show(format!("the file is still {size} bytes"));
    p.expect(
        last == "0" && next == "SIGSEGV" && size == 100,
        "the page was not extended as said",
    );
    Ok(())
}

/// 000-10: SIGBUS goes by pages: the notes' first case, a 5000-byte file mapped 15000 bytes.
fn sigbus_by_pages(p: &mut Probe) -> Result<()> {
    let file = disk_file(5000)?;
    let map = reserve_and_map(&file, 5, 15000)?;
    let page = common::page_size();
    let want = [
        (0, "0"),
        (4999, "0"),
        (8191, "0"),
        (8192, "SIGBUS"),
        (14999, "SIGBUS"),
        (16384, "SIGSEGV"),
    ];
    if page != 4096 {
        p.show(format!(
            "page size {page}, not 4096: the offsets below are for 4096"
        ));
    }
    for (offset, expected) in want {
        // SAFETY: every offset is inside the 5-page reservation.
        let got = unsafe { touch(map.as_ptr(), offset, None) }?;
        p.show(format!(
            "5000-byte file, 15000-byte mapping: ptr[{offset}] {got}"
        ));
        p.expect(
            page != 4096 || got == expected,
            format!("ptr[{offset}]: expected {expected}"),
        );
    }
    Ok(())
}

/// 000-11: a page past the end of the file raises SIGBUS until the file grows past it, then
/// works, with no new mmap.
fn growing_file(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(0)?;
    let map = reserve_and_map(&file, 4, 4 * page)?;
    for grown in 1..=3u64 {
        // SAFETY: inside the 4-page mapping.
        let before = unsafe { touch(map.as_ptr(), (grown as usize - 1) * page, None) }?;
        file.set_len(grown * page as u64).context("ftruncate")?;
        // SAFETY: as above.
        let after = unsafe { touch(map.as_ptr(), (grown as usize - 1) * page, None) }?;
        p.show(format!(
            "page {}: {before}; after ftruncate to {grown} pages: {after}",
            grown - 1
        ));
        p.expect(
            before == "SIGBUS" && after == "0",
            format!("page {} did not grow", grown - 1),
        );
    }
    Ok(())
}
