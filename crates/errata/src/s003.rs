//! Seed 003's entries ("file mapping, System V and POSIX shared memory"), and the C bug of its
//! programs that the errata chapter's table says was checked (`c-4`).

use std::ffi::CString;
use std::os::fd::AsFd;

use common::{Context, Error, Mapping, Result};

use crate::probe::{Entry, Object, Probe, errno_name, outcome, reserve_and_map, touch};

/// Seed 003's entries, in the chapter's order, then its programs' bug.
pub const ENTRIES: &[Entry] = &[
    Entry {
        id: "003-1",
        claim: "\"mmap returns -1 on failure\"",
        run: map_failed_is_not_null,
    },
    Entry {
        id: "003-2",
        claim: "\"`void *munmap(void *addr, size_t len)`\"",
        run: munmap_returns_int,
    },
    Entry {
        id: "003-3",
        claim: "shmget's `shmflg` \"is made of nine permission flags, like a file's mode\"",
        run: no_umask,
    },
    Entry {
        id: "003-4",
        claim: "shmat: \"`shmflg` is SHM_RND or SHM_RDONLY\"; the address rules",
        run: shmat_addresses,
    },
    Entry {
        id: "003-5",
        claim: "shmdt \"detaches but does not delete\"; shmctl \"modifies or deletes\"",
        run: rmid_marks,
    },
    Entry {
        id: "003-6",
        claim: "shm_open's `name`: \"the shared memory's name\"",
        run: names,
    },
    Entry {
        id: "003-7",
        claim: "ftruncate \"changes the size of the shared-memory object\"",
        run: resize_while_mapped,
    },
    Entry {
        id: "003-8",
        claim: "shm_unlink \"deletes the shared-memory object\"",
        run: unlink_removes_the_name,
    },
    Entry {
        id: "003-9",
        claim: "shmget \"creates a shared memory segment\"; `key` is \"the segment's name\"",
        run: shmget_opens_too,
    },
    Entry {
        id: "c-4",
        claim: "seed 003 §2.5 writer: `strcpy(p->name, \"barr\")` into `char name[4]`",
        run: strcpy_into_age,
    },
];

/// A System V segment a probe made, removed (`IPC_RMID`) when dropped.
pub(crate) struct Segment(pub(crate) libc::c_int);

impl Segment {
    /// shmget(IPC_PRIVATE, size, IPC_CREAT | mode): a new segment with no key, which no other
    /// run can find or take.
    pub(crate) fn private(size: usize, mode: libc::c_int) -> Result<Segment> {
        common::sysv::shmget(libc::IPC_PRIVATE, size, libc::IPC_CREAT | mode)
            .map(Segment)
            .context("shmget IPC_PRIVATE")
    }

    /// shmget(key, size, IPC_CREAT | IPC_EXCL | mode) with a random key in the project's range
    /// (0x5342xxxx, which `make clean-ipc` knows, never the examples' 1234), another key if
    /// that one is taken: for the probes whose claim is about keys.
    pub(crate) fn with_key(size: usize, mode: libc::c_int) -> Result<(Segment, libc::key_t)> {
        for _ in 0..10 {
            let key = (0x5342_0000 | (common::random_u32() & 0xffff)) as libc::key_t;
            match common::sysv::shmget(key, size, libc::IPC_CREAT | libc::IPC_EXCL | mode) {
                Ok(id) => return Ok((Segment(id), key)),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                Err(e) => return Err(Error::new("shmget", e)),
            }
        }
        Err(Error::msg("shmget", "no free key"))
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        let _ = common::sysv::shmctl_rmid(self.0);
    }
}

/// `-1 ENAME`, or what `ok` says of a success.
fn result<T>(r: &std::io::Result<T>, ok: &str) -> String {
    r.as_ref()
        .map_or_else(|e| format!("-1 {}", errno_name(e)), |_| ok.to_string())
}

/// The errno of a failed call, `None` for a success.
fn errno<T>(r: &std::io::Result<T>) -> Option<i32> {
    r.as_ref().err().and_then(|e| e.raw_os_error())
}

/// 003-1: MAP_FAILED is (void *) -1, a pointer that is not NULL. The section's reader given
/// a missing file: open fails with -1, which its `fd == 1` check lets through; mmap of fd -1
/// fails with MAP_FAILED, which its `p == NULL` check lets through too.
fn map_failed_is_not_null(p: &mut Probe) -> Result<()> {
    let dir = tempfile::tempdir().context("mkdtemp")?;
    let path = dir.path().join("missing");
    let open = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path);
    p.show(format!(
        "the reader, given a missing file: open(\"missing\", O_RDWR) {}; `fd == 1` is false",
        outcome(&open)
    ));
    // SAFETY: fd -1 without MAP_ANONYMOUS: nothing is mapped.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            40,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            -1,
            0,
        )
    };
    let err = std::io::Error::last_os_error();
    p.show(format!(
        "mmap(NULL, 40, PROT_READ | PROT_WRITE, MAP_SHARED, -1, 0) = {} {}",
        if addr == libc::MAP_FAILED {
            "MAP_FAILED"
        } else {
            "an address"
        },
        errno_name(&err)
    ));
    p.show(format!(
        "MAP_FAILED == (void *) -1: {}; MAP_FAILED == NULL: {}, so `p == NULL` is false",
        addr as isize == -1,
        addr.is_null()
    ));
    p.expect(
        errno(&open) == Some(libc::ENOENT) && addr as isize == -1 && !addr.is_null(),
        "MAP_FAILED is not (void *) -1",
    );
    Ok(())
}

/// 003-2: munmap returns an int, 0 or -1.
fn munmap_returns_int(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    // SAFETY: a fresh private anonymous page, unmapped below and not touched.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(Error::last_os_error("mmap"));
    }
    // SAFETY: unaligned: refused before anything is unmapped.
    let bad: libc::c_int = unsafe { libc::munmap(addr.wrapping_byte_add(1), page) };
    let err = std::io::Error::last_os_error();
    // SAFETY: the page mapped above, which nothing references.
    let ok: libc::c_int = unsafe { libc::munmap(addr, page) };
    p.show(format!(
        "munmap(address + 1, page) = {bad} ({}); munmap(address, page) = {ok}",
        errno_name(&err)
    ));
    p.expect(bad == -1 && ok == 0, "munmap did not return 0 and -1");
    Ok(())
}

/// 003-3: the umask does not apply to shmget's mode (it does to a file's), and there are
/// flags beside the nine bits.
fn no_umask(p: &mut Probe) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = tempfile::tempdir().context("mkdtemp")?;
    // SAFETY: umask takes and returns a plain value; restored below; no threads.
    let old = unsafe { libc::umask(0o022) };
    let made = Segment::private(8, 0o666);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(dir.path().join("f"));
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let segment = made?;
    let ds = common::sysv::shmctl_stat(segment.0).context("shmctl IPC_STAT")?;
    #[allow(clippy::useless_conversion)] // a u16 in glibc's ipc_perm, a u32 in musl's
    let seg_mode = u32::from(ds.shm_perm.mode) & 0o777;
    let file_mode = file
        .context("open")?
        .metadata()
        .context("fstat")?
        .permissions()
        .mode()
        & 0o777;
    p.show(format!(
        "umask 022: shmget(IPC_PRIVATE, 8, IPC_CREAT | 0666) gives mode {seg_mode:o}"
    ));
    p.show(format!(
        "umask 022: open(O_CREAT, 0666) gives mode {file_mode:o}"
    ));
    p.expect(
        seg_mode == 0o666 && file_mode == 0o644,
        "the umask applied to the segment",
    );
    let flagged = common::sysv::shmget(
        libc::IPC_PRIVATE,
        8,
        libc::IPC_CREAT | libc::SHM_NORESERVE | 0o600,
    );
    let _flagged = flagged.as_ref().ok().map(|&id| Segment(id));
    p.show(format!(
        "shmget(IPC_PRIVATE, 8, IPC_CREAT | SHM_NORESERVE | 0600) = {}: \
         a flag beside the nine bits",
        result(&flagged, "ok")
    ));
    p.expect(flagged.is_ok(), "SHM_NORESERVE refused");
    Ok(())
}

/// 003-4: an address given without SHM_RND must be page-aligned (EINVAL otherwise), and free
/// (EINVAL over a mapping, unless SHM_REMAP); SHM_RND rounds it down to SHMLBA; with NULL,
/// SHM_RND does nothing.
fn shmat_addresses(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let segment = Segment::private(page, 0o600)?;
    // Two pages of this program's own, PROT_NONE, where the attaches with an address go: an
    // attach given an address never lands on memory that anything else uses.
    // SAFETY: a fresh PROT_NONE mapping that nothing reads.
    let range = unsafe {
        Mapping::new(
            2 * page,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            None,
            0,
        )
    }
    .context("mmap PROT_NONE")?;
    let base = range.as_ptr().cast::<libc::c_void>();
    let shmat = |addr: *const libc::c_void, flags| {
        // SAFETY: `addr` is NULL or in this program's own reservation; with SHM_REMAP the
        // attach replaces part of that reservation, which is restored below.
        let r = unsafe { libc::shmat(segment.0, addr, flags) };
        if r as isize == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(r)
        }
    };
    let taken = shmat(base, 0);
    p.show(format!(
        "shmat(id, page, 0), where this program has a mapping = {}",
        result(&taken, "attached")
    ));
    let unaligned = shmat(base.wrapping_byte_add(1), libc::SHM_REMAP);
    p.show(format!(
        "shmat(id, page + 1, SHM_REMAP) = {}",
        result(&unaligned, "attached")
    ));
    let rounded = shmat(base.wrapping_byte_add(1), libc::SHM_RND | libc::SHM_REMAP);
    p.show(format!(
        "shmat(id, page + 1, SHM_RND | SHM_REMAP) = {}",
        result(
            &rounded,
            if rounded.as_ref().is_ok_and(|&r| r == base) {
                "page: rounded down to SHMLBA"
            } else {
                "another address"
            }
        )
    ));
    for attached in [&taken, &unaligned, &rounded].into_iter().flatten() {
        if *attached == base {
            // Put the reservation back over the attach (which detaches it), so that the range
            // stays this program's until the reservation's guard unmaps it.
            // SAFETY: MAP_FIXED over this program's own attach, inside its reservation.
            let back = unsafe {
                libc::mmap(
                    base,
                    page,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if back == libc::MAP_FAILED {
                return Err(Error::last_os_error("mmap MAP_FIXED"));
            }
        } else {
            // SAFETY: an attach this probe made, elsewhere; nothing references it.
            unsafe { libc::shmdt(*attached) };
        }
    }
    let null = shmat(std::ptr::null(), libc::SHM_RND);
    p.show(format!(
        "shmat(id, NULL, SHM_RND) = {}",
        result(&null, "attached, as with 0")
    ));
    if let Ok(r) = null {
        // SAFETY: the attach just made, which nothing references.
        unsafe { libc::shmdt(r) };
    }
    p.expect(
        errno(&taken) == Some(libc::EINVAL),
        "attached over a mapping",
    );
    p.expect(
        errno(&unaligned) == Some(libc::EINVAL),
        "no EINVAL for page + 1",
    );
    p.expect(
        rounded.as_ref().is_ok_and(|&r| r == base),
        "SHM_RND did not round down",
    );
    p.expect(null.is_ok(), "NULL with SHM_RND failed");
    Ok(())
}

/// 003-5: IPC_RMID only marks the segment: its key goes at once (a new IPC_CREAT makes another
/// segment under it), the attached memory lives on, Linux still attaches it by its id, and the
/// last detach is what destroys it. IPC_STAT reads the segment's state into `buf`.
fn rmid_marks(p: &mut Probe) -> Result<()> {
    let (segment, key) = Segment::with_key(4096, 0o600)?;
    // SAFETY: a fresh segment of 4096 bytes, attached read-write, touched through raw pointers.
    let at = unsafe { common::sysv::Attached::new(segment.0, 4096, 0) }.context("shmat")?;
    common::sysv::shmctl_rmid(segment.0).context("shmctl IPC_RMID")?;
    p.show("shmget(key, IPC_CREAT), shmat, then shmctl(IPC_RMID)");
    let by_key = common::sysv::shmget(key, 0, 0);
    p.show(format!("shmget(key, 0, 0) = {}", result(&by_key, "the id")));
    // SAFETY: the attached segment, still mapped.
    unsafe { at.as_ptr().write_volatile(77) };
    // SAFETY: as above.
    let v = unsafe { at.as_ptr().read_volatile() };
    let ds = common::sysv::shmctl_stat(segment.0).context("shmctl IPC_STAT")?;
    let dest = ds.shm_perm.mode & 0o1000 != 0; // SHM_DEST
    p.show(format!(
        "still attached: a store and a load give {v}; IPC_STAT: SHM_DEST {dest}, nattch {}, key {}",
        ds.shm_nattch,
        common::sysv::key_of(&ds.shm_perm)
    ));
    // SAFETY: a read-only attach by id of the marked segment, never touched.
    let again = unsafe { common::sysv::Attached::new(segment.0, 4096, libc::SHM_RDONLY) };
    p.show(format!(
        "shmat(id) of the marked segment = {} (Linux only)",
        result(&again, "ok")
    ));
    let attached_again = again.is_ok();
    drop(again);
    let second = common::sysv::shmget(key, 4096, libc::IPC_CREAT | libc::IPC_EXCL | 0o600);
    let second_is_new = second.as_ref().is_ok_and(|&id| id != segment.0);
    p.show(format!(
        "shmget(key, 4096, IPC_CREAT | IPC_EXCL) = {}",
        result(
            &second,
            if second_is_new {
                "another segment, under the same key"
            } else {
                "the same id"
            }
        )
    ));
    let _second = second.as_ref().ok().map(|&id| Segment(id));
    at.shmdt().context("shmdt")?;
    let gone = common::sysv::shmctl_stat(segment.0);
    p.show(format!(
        "shmdt, the last detach; IPC_STAT of the first = {}",
        result(&gone, "still there")
    ));
    p.expect(
        errno(&by_key) == Some(libc::ENOENT),
        "the key still finds it",
    );
    p.expect(
        v == 77 && dest && common::sysv::key_of(&ds.shm_perm) == libc::IPC_PRIVATE,
        "not marked as said",
    );
    p.expect(attached_again, "the marked segment could not be attached");
    p.expect(second_is_new, "no second segment under the key");
    p.expect(
        errno(&gone) == Some(libc::EINVAL),
        "not destroyed at the last detach",
    );
    Ok(())
}

/// 003-6: a name is `/` and up to 254 more bytes, no other `/`; it is a file in /dev/shm.
fn names(p: &mut Probe) -> Result<()> {
    let object = Object::create(4096)?;
    let file = format!("/dev/shm{}", object.name);
    let exists = std::path::Path::new(&file).exists();
    p.show(format!(
        "shm_open(\"/NAME\", O_CREAT): /dev/shm/NAME exists: {exists}"
    ));
    let longest = format!(
        "/shm-by-example.errata.{:08x}.{}",
        common::random_u32(),
        "x".repeat(224)
    );
    let too_long = format!("{longest}x");
    for (what, name, want) in [
        (
            "\"/a/b\"",
            "/shm-by-example.errata/b".to_string(),
            Some(libc::EINVAL),
        ),
        ("\"/\" and 255 more bytes", longest, None),
        (
            "\"/\" and 256 more bytes",
            too_long,
            Some(libc::ENAMETOOLONG),
        ),
    ] {
        let c = CString::new(name).map_err(|_| Error::msg(what, "NUL"))?;
        let r = common::posix::shm_open(&c, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600);
        if r.is_ok() {
            let _ = common::posix::shm_unlink(&c);
        }
        p.show(format!(
            "shm_open({what}, O_CREAT) = {}",
            r.as_ref()
                .map_or_else(|e| format!("-1 {}", errno_name(e)), |_| "ok".into())
        ));
        p.expect(
            r.err().and_then(|e| e.raw_os_error()) == want,
            format!("{what}: expected {want:?}"),
        );
    }
    p.expect(exists, "no file in /dev/shm");
    Ok(())
}

/// 003-7: ftruncate changes an object's size at any time, even while it is mapped; a mapping
/// then meets SIGBUS past the new end.
fn resize_while_mapped(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let object = Object::create(2 * page)?;
    let file = std::fs::File::from(object.fd.try_clone().context("dup")?);
    let map = reserve_and_map(&file, 3, 2 * page)?;
    // SAFETY: inside the two mapped pages.
    let before = unsafe { touch(map.as_ptr(), page, None) }?;
    file.set_len(page as u64).context("ftruncate")?;
    // SAFETY: as above.
    let after = unsafe { touch(map.as_ptr(), page, None) }?;
    file.set_len(3 * page as u64).context("ftruncate")?;
    let size = file.metadata().context("fstat")?.len() / page as u64;
    p.show(format!(
        "a 2-page object, mapped: ptr[page] {before}; ftruncate to 1 page: ptr[page] {after}"
    ));
    p.show(format!(
        "ftruncate again, to 3 pages: fstat says {size} pages"
    ));
    p.expect(
        before == "0" && after == "SIGBUS" && size == 3,
        "the resize did not behave as said",
    );
    Ok(())
}

/// 003-8: shm_unlink removes the name; the memory stays while mapped; the name can then make a
/// new, separate object.
fn unlink_removes_the_name(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let object = Object::create(page)?;
    // SAFETY: the object is one page, reserved.
    let map = unsafe {
        Mapping::new(
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            Some(object.fd.as_fd()),
            0,
        )
    }
    .context("mmap")?;
    // SAFETY: inside the mapping.
    unsafe { map.as_ptr().write_volatile(88) };
    let cname = CString::new(object.name.clone()).map_err(|_| Error::msg("name", "NUL"))?;
    common::posix::shm_unlink(&cname).context("shm_unlink")?;
    // SAFETY: as above.
    let still = unsafe { map.as_ptr().read_volatile() };
    p.show(format!(
        "store 88, shm_unlink: the mapping still reads {still}"
    ));
    let again = common::posix::shm_open(&cname, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600)
        .context("shm_open")?;
    let _gone = common::posix::Created::new(&cname);
    let new_size = std::fs::File::from(again)
        .metadata()
        .context("fstat")?
        .len();
    p.show(format!(
        "shm_open(same name, O_CREAT | O_EXCL) = ok: a new object of {new_size} bytes"
    ));
    p.expect(
        still == 88 && new_size == 0,
        "shm_unlink did not behave as said",
    );
    Ok(())
}

/// 003-9: shmget opens as well as creates: flags 0 find the segment under a key and never make
/// one (ENOENT). The key is a number both programs must agree on, not a name; IPC_PRIVATE (0)
/// names nothing: it makes a new segment every time, even without IPC_CREAT.
fn shmget_opens_too(p: &mut Probe) -> Result<()> {
    let (segment, key) = Segment::with_key(8, 0o600)?;
    p.show("shmget(key, 8, IPC_CREAT | IPC_EXCL | 0600) = ok: created");
    let opened = common::sysv::shmget(key, 8, 0);
    p.show(format!(
        "shmget(key, 8, 0) = {}",
        result(
            &opened,
            if opened.as_ref().is_ok_and(|&id| id == segment.0) {
                "the same id: opened"
            } else {
                "another id"
            }
        )
    ));
    p.expect(
        opened.as_ref().is_ok_and(|&id| id == segment.0),
        "flags 0 did not open it",
    );
    drop(segment);
    let gone = common::sysv::shmget(key, 8, 0);
    p.show(format!(
        "after IPC_RMID, shmget(key, 8, 0) = {}: flags 0 never create",
        result(&gone, "an id")
    ));
    p.expect(
        errno(&gone) == Some(libc::ENOENT),
        "flags 0 created a segment",
    );
    let a = common::sysv::shmget(libc::IPC_PRIVATE, 8, 0o600);
    let _a = a.as_ref().ok().map(|&id| Segment(id));
    let b = common::sysv::shmget(libc::IPC_PRIVATE, 8, 0o600);
    let _b = b.as_ref().ok().map(|&id| Segment(id));
    let two = matches!((&a, &b), (Ok(a), Ok(b)) if a != b);
    p.show(format!(
        "shmget(IPC_PRIVATE, 8, 0600), no IPC_CREAT, twice = {}, {}: two new segments: {two}",
        result(&a, "ok"),
        result(&b, "ok")
    ));
    let keyless = match &a {
        Ok(id) => {
            let ds = common::sysv::shmctl_stat(*id).context("shmctl IPC_STAT")?;
            common::sysv::key_of(&ds.shm_perm)
        }
        Err(_) => -1,
    };
    p.show(format!(
        "IPC_STAT of one: key {keyless}, so no other process can find it by key"
    ));
    p.expect(
        two && keyless == libc::IPC_PRIVATE,
        "IPC_PRIVATE did not behave as said",
    );
    Ok(())
}

/// c-4: `strcpy(p->name, "barr")` writes 5 bytes into the 4-byte `name`: the NUL lands on the
/// first byte of `age`. The notes store `age = 20` after it, which hides the bug; the other
/// way round, the age reads 0 (on a little-endian machine, where that byte is the low one).
fn strcpy_into_age(p: &mut Probe) -> Result<()> {
    let segment = Segment::private(8, 0o600)?;
    // SAFETY: a fresh 8-byte segment (a whole page), attached read-write, touched through raw
    // pointers only.
    let at = unsafe { common::sysv::Attached::new(segment.0, 8, 0) }.context("shmat")?;
    let base = at.as_ptr();
    let strcpy_barr = || {
        // SAFETY: bytes 0 to 4 of the attached segment: the 4-byte name and the NUL after it.
        unsafe { std::ptr::copy_nonoverlapping(c"barr".as_ptr().cast(), base, 5) };
    };
    let set_age = |age: i32| {
        // SAFETY: bytes 4 to 7 of the attached segment, the `int age`.
        unsafe { base.wrapping_add(4).cast::<i32>().write_volatile(age) };
    };
    // SAFETY: as above.
    let age = || unsafe { base.wrapping_add(4).cast::<i32>().read_volatile() };
    strcpy_barr();
    set_age(20);
    let notes_order = age();
    p.show(format!(
        "strcpy(p->name, \"barr\") copies 5 bytes; then p->age = 20: age reads {notes_order}"
    ));
    set_age(0);
    set_age(20);
    strcpy_barr();
    let swapped = age();
    p.show(format!(
        "p->age = 20 first, then strcpy: age reads {swapped} (the NUL is its first byte)"
    ));
    let want = if cfg!(target_endian = "little") {
        0
    } else {
        20
    };
    p.expect(
        notes_order == 20 && swapped == want,
        format!("age {notes_order} then {swapped}"),
    );
    Ok(())
}
