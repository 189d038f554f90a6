//! Seed 000's entries ("POSIX shared memory", after UNP vol. 2, chapter 12).

use std::io::{Read, Seek, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

use common::{Context, Error, Fork, Mapping, Result, exit_child, fork};

use crate::probe::{
    Entry, Probe, RW, disk_file, errno_name, in_child, outcome, page_faults, reserve_and_map,
    shared_anon, touch,
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
        claim: "\"macOS's man page says a mapping that is not a multiple of the page size is \
                extended\"",
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

/// A shared read-write mapping of the first `len` bytes of `file`.
fn shared_file(file: &std::fs::File, len: usize) -> std::io::Result<Mapping> {
    // SAFETY: a fresh mapping, touched only through raw pointers.
    unsafe { Mapping::new(len, RW, libc::MAP_SHARED, Some(file.as_fd()), 0) }
}

/// What `/proc/self/io` counts of a process's `read` and `write` calls (`syscr`, `syscw`) and
/// of the bytes they copied between the kernel and the process (`rchar`, `wchar`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Io {
    reads: u64,
    writes: u64,
    bytes_read: u64,
    bytes_written: u64,
}

impl Io {
    fn calls(&self) -> u64 {
        self.reads + self.writes
    }

    fn bytes(&self) -> u64 {
        self.bytes_read + self.bytes_written
    }

    fn plus(&self, other: &Io) -> Io {
        Io {
            reads: self.reads + other.reads,
            writes: self.writes + other.writes,
            bytes_read: self.bytes_read + other.bytes_read,
            bytes_written: self.bytes_written + other.bytes_written,
        }
    }
}

/// Counts the `read` and `write` calls the process makes from its start to [`IoMeter::count`].
/// `/proc/self` is the process that opens it: a forked child starts a meter of its own. A tool
/// that makes calls inside the process (valgrind does) adds its own to the counts.
struct IoMeter {
    file: std::fs::File,
    start: Io,
    /// The bytes of the first reading, whose `pread` the next reading counts.
    start_len: u64,
}

impl IoMeter {
    fn start() -> Result<IoMeter> {
        let file = std::fs::File::open("/proc/self/io").context("open /proc/self/io")?;
        let (start, start_len) = Self::read(&file)?;
        Ok(IoMeter {
            file,
            start,
            start_len,
        })
    }

    /// One `pread` of the counters (and how many bytes it returned), which the kernel adds
    /// to them after it has printed them: it shows in the next reading, not in this one.
    fn read(file: &std::fs::File) -> Result<(Io, u64)> {
        let mut buf = [0u8; 1024];
        let n = file.read_at(&mut buf, 0).context("read /proc/self/io")?;
        let text = std::str::from_utf8(&buf[..n])
            .ok()
            .filter(|_| n < buf.len());
        let field = |name: &str| {
            text?
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
        };
        match (
            field("syscr"),
            field("syscw"),
            field("rchar"),
            field("wchar"),
        ) {
            (Some(reads), Some(writes), Some(bytes_read), Some(bytes_written)) => Ok((
                Io {
                    reads,
                    writes,
                    bytes_read,
                    bytes_written,
                },
                n as u64,
            )),
            _ => Err(Error::msg("/proc/self/io", "no syscr, syscw, rchar, wchar")),
        }
    }

    /// The calls and bytes since [`IoMeter::start`], the meter's own first reading taken out.
    fn count(&self) -> Result<Io> {
        let (now, _) = Self::read(&self.file)?;
        let start = &self.start;
        Ok(Io {
            reads: now.reads.saturating_sub(start.reads + 1),
            writes: now.writes.saturating_sub(start.writes),
            bytes_read: now
                .bytes_read
                .saturating_sub(start.bytes_read + self.start_len),
            bytes_written: now.bytes_written.saturating_sub(start.bytes_written),
        })
    }
}

/// The `read`/`write` calls that `copy` makes in this process.
fn own_io(copy: impl FnOnce() -> std::io::Result<()>) -> Result<Io> {
    let meter = IoMeter::start()?;
    copy().context("copy")?;
    meter.count()
}

/// A forked child that runs its work under an [`IoMeter`] of its own and leaves the counts in
/// a page it shares with the parent.
struct Measured {
    child: common::Child,
    report: Mapping,
}

impl Measured {
    /// Forks; the child runs `work` (`true`: it succeeded), then exits.
    fn spawn(work: impl FnOnce() -> bool) -> Result<Measured> {
        let report = shared_anon(common::page_size())?;
        let slot = report.as_ptr().cast::<Io>();
        // SAFETY: this program starts no threads; the child ends with exit_child.
        match unsafe { fork() }.context("fork")? {
            Fork::Child => {
                let counted = IoMeter::start().ok().and_then(|meter| {
                    let done = work();
                    meter.count().ok().filter(|_| done)
                });
                if let Some(io) = counted {
                    // SAFETY: the page is shared, page-aligned and larger than an Io; the
                    // parent reads it only after waitpid.
                    unsafe { slot.write_volatile(io) };
                }
                exit_child(if counted.is_some() { 0 } else { 1 })
            }
            Fork::Parent(pid) => Ok(Measured {
                child: common::Child::new(pid),
                report,
            }),
        }
    }

    /// Waits for the child: its counts, or `None` if its work or its meter failed.
    fn wait(self) -> Result<Option<Io>> {
        let ok = self.child.wait().context("waitpid")?.success();
        // SAFETY: the child has ended; the page holds an Io (all zeros if it wrote none).
        Ok(ok.then(|| unsafe { self.report.as_ptr().cast::<Io>().read_volatile() }))
    }
}

/// 000-1: what can be counted of "fastest" without a clock (`/proc/self/io` counts each
/// process's `read` and `write` calls and the bytes they copy). Through a pipe, 1 MiB is copied
/// into the kernel by the sender's `write`s and out of it by the receiver's `read`s; through a
/// shared mapping, neither side makes a call or copies a byte: the receiver reads the bytes
/// where the sender stored them. Speed itself is `make bench`'s, never a test's.
fn fastest(p: &mut Probe) -> Result<()> {
    const MESSAGE: usize = 64 << 10;
    const MESSAGES: usize = 16;
    const BYTES: usize = MESSAGE * MESSAGES;
    let (mut rx, mut tx) = std::io::pipe().context("pipe")?;
    // The closure takes `tx`: the parent's copy is closed when `spawn` returns, so a sender
    // that fails ends the receiver's reads.
    let sender = Measured::spawn(move || {
        let message = vec![7u8; MESSAGE];
        (0..MESSAGES).all(|_| tx.write_all(&message).is_ok())
    })?;
    let mut buf = vec![0u8; MESSAGE];
    let mut intact = true;
    let received = own_io(|| {
        for _ in 0..MESSAGES {
            rx.read_exact(&mut buf)?;
            intact &= buf.iter().all(|&b| b == 7);
        }
        Ok(())
    })?;
    let sent = sender.wait()?.unwrap_or_default();
    p.show("a pipe, 16 messages of 64 KiB:");
    p.show(format!(
        "  sender: {} write calls, {} bytes copied into the kernel",
        sent.writes, sent.bytes_written
    ));
    p.show(format!(
        "  receiver: {} read calls, {} bytes copied out of it",
        if received.reads >= MESSAGES as u64 {
            "16 or more"
        } else {
            "fewer than 16"
        },
        received.bytes_read
    ));
    p.expect(
        intact
            && sent.writes == MESSAGES as u64
            && sent.bytes_written == BYTES as u64
            && received.reads >= MESSAGES as u64
            && received.bytes_read == BYTES as u64,
        "the pipe did not copy 1 MiB into the kernel and out again",
    );

    let region = shared_anon(BYTES)?;
    let base = region.as_ptr();
    let sender = Measured::spawn(|| {
        // SAFETY: the region is BYTES long and shared; the parent reads it only after waitpid.
        unsafe { std::ptr::write_bytes(base, 7, BYTES) };
        true
    })?;
    let sent = sender.wait()?;
    let mut intact = false;
    let received = own_io(|| {
        // SAFETY: the sender has ended; nothing writes the region any more.
        let bytes = unsafe { std::slice::from_raw_parts(base, BYTES) };
        intact = bytes.iter().all(|&b| b == 7);
        Ok(())
    })?;
    p.show("a shared mapping, the same 1 MiB:");
    if let Some(sent) = sent {
        p.show(format!(
            "  sender: {} read or write calls, {} bytes copied: it stores into the mapping",
            sent.calls(),
            sent.bytes()
        ));
    }
    p.show(format!(
        "  receiver: {} read or write calls, {} bytes copied: it reads the bytes in place",
        received.calls(),
        received.bytes()
    ));
    p.expect(
        intact && sent == Some(Io::default()) && received == Io::default(),
        "the shared mapping made calls, or the receiver did not see the bytes",
    );
    p.show("(waiting for the other side is still a call: 000-2; how fast each is: make bench)");
    Ok(())
}

/// 000-2: the kernel still takes part: every page a process stores into for the first time is a
/// page fault, handled by the kernel, in that process; the pages of a second process that maps
/// the same memory fault again, although they hold data already.
fn without_the_kernel(p: &mut Probe) -> Result<()> {
    const PAGES: usize = 64;
    let page = common::page_size();
    let file = tempfile::tempfile_in("/dev/shm").context("open a file in /dev/shm")?;
    file.set_len((PAGES * page) as u64).context("ftruncate")?;
    let map = shared_file(&file, PAGES * page).context("mmap")?;
    let store_into_each = |base: *mut u8, value: u8| {
        let before = page_faults();
        for i in 0..PAGES {
            // SAFETY: inside a mapping of PAGES pages of this program's file.
            unsafe { base.wrapping_add(i * page).write_volatile(value) };
        }
        page_faults() - before
    };
    let faults = store_into_each(map.as_ptr(), 1);
    p.show(format!(
        "first store into each of {PAGES} new pages: {} page faults",
        if faults >= PAGES as u64 {
            "at least 64"
        } else {
            "fewer than 64"
        }
    ));
    p.expect(faults >= PAGES as u64, format!("only {faults} page faults"));
    let again = store_into_each(map.as_ptr(), 2);
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
    let other_faulted = in_child(|| {
        shared_file(&file, PAGES * page)
            .is_ok_and(|other| store_into_each(other.as_ptr(), 3) >= PAGES as u64)
    })?;
    p.show(format!(
        "a second process maps the same file and stores into each page: {}",
        if other_faulted {
            "at least 64 page faults of its own"
        } else {
            "fewer than 64 page faults"
        }
    ));
    p.expect(other_faulted, "the second process did not fault");
    Ok(())
}

/// 000-3: the notes' scenario, counted by `/proc/self/io`: a file goes from a server (this
/// process) to a client (a child) that writes it out. Through a pipe that is four `read` or
/// `write` calls, four copies of the file; through shared memory, two. Each copy is between
/// the kernel and a process.
fn four_and_two(p: &mut Probe) -> Result<()> {
    const LEN: usize = 4096;
    let mut input = disk_file(0)?;
    input.write_all(&[b'x'; LEN]).context("write")?;
    let out_pipe = disk_file(0)?;
    let out_shm = disk_file(0)?;
    let mut buf = [0u8; LEN];
    let describe = |server: &Io, client: &Option<Io>| {
        let client = client.unwrap_or_default();
        let all = server.plus(&client);
        format!(
            "server {} read + {} write, client {} read + {} write: {} copies, {} bytes",
            server.reads,
            server.writes,
            client.reads,
            client.writes,
            all.calls(),
            all.bytes()
        )
    };
    // Through a pipe: read(file), write(pipe) by the server; read(pipe), write(file) by the
    // client. 4096 bytes fit in any pipe, so the server's write does not wait for the client.
    let (mut rx, mut tx) = std::io::pipe().context("pipe")?;
    let server = own_io(|| {
        let n = input.read_at(&mut buf, 0)?;
        tx.write_all(&buf[..n])
    })?;
    drop(tx);
    let client = Measured::spawn(|| {
        let mut got = [0u8; LEN];
        rx.read_exact(&mut got).is_ok() && out_pipe.write_all_at(&got, 0).is_ok()
    })?
    .wait()?;
    p.show(format!("through a pipe: {}", describe(&server, &client)));
    let by_pipe = client.map(|c| server.plus(&c));
    // Through shared memory: the server reads the file into the region, the client writes the
    // region to the output file.
    let region = shared_anon(LEN)?;
    let base = region.as_ptr();
    let server = own_io(|| {
        // SAFETY: the region is LEN bytes, and nothing else uses it until the client starts.
        let view = unsafe { std::slice::from_raw_parts_mut(base, LEN) };
        input.read_exact_at(view, 0)
    })?;
    let client = Measured::spawn(|| {
        // SAFETY: as above; the server no longer writes the region.
        let view = unsafe { std::slice::from_raw_parts(base, LEN) };
        out_shm.write_all_at(view, 0).is_ok()
    })?
    .wait()?;
    p.show(format!(
        "through shared memory: {}",
        describe(&server, &client)
    ));
    let by_shm = client.map(|c| server.plus(&c));
    let mut copied = [[0u8; LEN]; 2];
    out_pipe.read_exact_at(&mut copied[0], 0).context("read")?;
    out_shm.read_exact_at(&mut copied[1], 0).context("read")?;
    p.expect(
        by_pipe.is_some_and(|io| io.calls() == 4 && io.bytes() == 4 * LEN as u64)
            && by_shm.is_some_and(|io| io.calls() == 2 && io.bytes() == 2 * LEN as u64)
            && copied.iter().all(|c| c.iter().all(|&b| b == b'x')),
        "not four copies and two",
    );
    p.show(
        "each copy is a read or a write: between the kernel and a process, never kernel to kernel",
    );
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
        "mmap(taken address, MAP_FIXED): at that address; the 42 stored there before reads {now}"
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
    // MS_INVALIDATE asks that other mappings of the file drop what they hold. The one kind
    // that can hold something else than the page cache is a private copy.
    // SAFETY: as for `map`.
    let private = unsafe { Mapping::new(page, RW, libc::MAP_PRIVATE, Some(file.as_fd()), 0) }
        .context("mmap MAP_PRIVATE")?;
    // SAFETY: inside the private mapping; the store gives it a copy of the page of its own.
    unsafe { private.as_ptr().write_volatile(b'P') };
    file.write_at(b"V", 0).context("pwrite")?;
    let flags = libc::MS_SYNC | libc::MS_INVALIDATE;
    // SAFETY: msync of this program's shared mapping.
    let rc = unsafe { libc::msync(base, page, flags) };
    // SAFETY: inside the private mapping.
    let kept = unsafe { private.as_ptr().read_volatile() };
    p.show("a MAP_PRIVATE mapping of the file stores 'P' (a copy of its own); pwrite 'V'");
    p.show(format!(
        "msync(the shared mapping, MS_SYNC | MS_INVALIDATE) = {rc}; the private copy reads '{}'",
        kept as char
    ));
    p.expect(
        rc == 0 && kept == b'P',
        "MS_INVALIDATE failed, or changed the private copy",
    );
    // A locked mapping: MAP_LOCKED rather than mlock, which AddressSanitizer turns into a
    // call that does nothing.
    // SAFETY: as for `map`; unmapped when dropped.
    let locked = unsafe {
        Mapping::new(
            page,
            RW,
            libc::MAP_SHARED | libc::MAP_LOCKED,
            Some(file.as_fd()),
            0,
        )
    }
    .context("mmap MAP_LOCKED")?;
    let flags = libc::MS_ASYNC | libc::MS_INVALIDATE;
    // SAFETY: msync of this program's mapping.
    let rc = unsafe { libc::msync(locked.as_ptr().cast(), page, flags) };
    let busy: std::io::Result<()> = if rc == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    };
    p.show(format!(
        "a MAP_SHARED | MAP_LOCKED mapping: msync(MS_ASYNC | MS_INVALIDATE) {}",
        outcome(&busy)
    ));
    p.expect(
        busy.err().and_then(|e| e.raw_os_error()) == Some(libc::EBUSY),
        "no EBUSY on a locked mapping",
    );
    Ok(())
}

/// 000-6: a file needs a size, not data: ftruncate alone, and the mapping reads zeros and
/// takes stores.
fn size_not_data(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let file = disk_file(0)?;
    file.set_len(page as u64).context("ftruncate")?;
    p.show("a new, empty file; ftruncate(fd, page size); no write");
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
    let on_tmpfs = tempfile::tempfile_in("/dev/shm").context("open a file in /dev/shm")?;
    on_tmpfs.set_len(4096).context("ftruncate")?;
    let files: Vec<(&str, std::io::Result<std::os::fd::OwnedFd>, Option<i32>)> = vec![
        ("a regular file", regular.try_clone().map(Into::into), None),
        (
            "a file on tmpfs (/dev/shm)",
            on_tmpfs.try_clone().map(Into::into),
            None,
        ),
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
            "/proc/self/maps",
            open_nb("/proc/self/maps".as_ref()).map(Into::into),
            Some(libc::ENODEV),
        ),
        (
            "/sys/devices/system/cpu/online",
            open_nb("/sys/devices/system/cpu/online".as_ref()).map(Into::into),
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
    let mut byte = [0u8; 1];
    let n = file.read_at(&mut byte, page as u64 - 1).context("pread")?;
    p.show(format!(
        "pread(fd, 1 byte, offset page - 1) = {n}: the end of the file"
    ));
    p.expect(
        last == "0" && next == "SIGSEGV" && size == 100 && n == 0,
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
