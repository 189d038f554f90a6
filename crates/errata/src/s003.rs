//! Seed 003's entries ("file mapping, System V and POSIX shared memory").

use std::ffi::CString;
use std::os::fd::AsFd;

use common::{Context, Error, Mapping, Result};

use crate::probe::{Entry, Probe, disk_file, errno_name, reserve_and_map, touch};

/// Seed 003's entries, in the chapter's order.
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
];

/// A System V segment this probe made, removed when dropped.
struct Segment(libc::c_int);

impl Segment {
    /// shmget(key, size, IPC_CREAT | IPC_EXCL | mode), with a random key in the project's
    /// range (0x5342xxxx, which `make clean-ipc` knows), another if that one is taken.
    fn create(size: usize, mode: libc::c_int) -> Result<(Segment, libc::key_t)> {
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

/// A POSIX object this probe made, under a random name; unlinked when dropped.
struct Object {
    name: String,
    fd: std::os::fd::OwnedFd,
    _gone: common::posix::Created,
}

impl Object {
    fn create(len: usize) -> Result<Object> {
        let name = format!("/shm-by-example.errata.{:08x}", common::random_u32());
        let cname = CString::new(name.clone()).map_err(|_| Error::msg(&name, "NUL"))?;
        let fd =
            common::posix::shm_open(&cname, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600)
                .with_context(|| format!("shm_open {name}"))?;
        let _gone = common::posix::Created::new(&cname);
        common::file::reserve(fd.as_fd(), len).context("posix_fallocate")?;
        Ok(Object { name, fd, _gone })
    }
}

/// 003-1: MAP_FAILED is (void *) -1, a pointer that is not NULL: the section's `p == NULL`
/// check lets a failure through.
fn map_failed_is_not_null(p: &mut Probe) -> Result<()> {
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
        "a failed mmap ({}) returns MAP_FAILED: == (void *) -1 {}, == NULL {}",
        errno_name(&err),
        addr as isize == -1,
        addr.is_null()
    ));
    p.expect(
        addr as isize == -1 && !addr.is_null(),
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
    // SAFETY: umask takes and returns a plain value; restored below.
    let old = unsafe { libc::umask(0o022) };
    let made = Segment::create(8, 0o666);
    let dir = tempfile::tempdir().context("mkdtemp");
    // SAFETY: as above.
    let file_mode = dir.as_ref().ok().map(|d| {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let path = d.path().join("f");
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&path)
            .and_then(|f| f.metadata())
            .map(|m| m.permissions().mode() & 0o777)
    });
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let (segment, _key) = made?;
    let ds = common::sysv::shmctl_stat(segment.0).context("shmctl IPC_STAT")?;
    let seg_mode = u32::from(ds.shm_perm.mode) & 0o777;
    let file_mode = file_mode
        .ok_or_else(|| Error::msg("mkdtemp", "failed"))?
        .context("open")?;
    p.show(format!(
        "umask 022: shmget(IPC_CREAT | 0666) gives mode {seg_mode:o}"
    ));
    p.show(format!(
        "umask 022: open(O_CREAT, 0666) gives mode {file_mode:o}"
    ));
    p.expect(
        seg_mode == 0o666 && file_mode == 0o644,
        "the umask applied to the segment",
    );
    let (flagged, _) = Segment::create(8, 0o600 | libc::SHM_NORESERVE)?;
    p.show("shmget(IPC_CREAT | IPC_EXCL | SHM_NORESERVE | 0600) = ok: flags beside the nine bits");
    drop(flagged);
    Ok(())
}

/// 003-4: without SHM_RND an address must be page-aligned (EINVAL otherwise); SHM_RND rounds
/// it down; with NULL, SHM_RND does nothing.
fn shmat_addresses(p: &mut Probe) -> Result<()> {
    let page = common::page_size();
    let (segment, _) = Segment::create(page, 0o600)?;
    let file = disk_file(0)?;
    // A range of this program's own, for the attaches (SHM_REMAP replaces it).
    let range = reserve_and_map(&file, 2, 0)?;
    let base = range.as_ptr().cast::<libc::c_void>();
    // SAFETY: an unaligned address without SHM_RND: refused, nothing attached.
    let r = unsafe { libc::shmat(segment.0, base.wrapping_byte_add(1), libc::SHM_REMAP) };
    let err = std::io::Error::last_os_error();
    p.show(format!(
        "shmat(id, page + 1, 0) = {}",
        if r as isize == -1 {
            format!("(void *) -1 {}", errno_name(&err))
        } else {
            "attached".into()
        }
    ));
    p.expect(
        r as isize == -1 && err.raw_os_error() == Some(libc::EINVAL),
        "no EINVAL",
    );
    // SAFETY: SHM_RND | SHM_REMAP over this program's own reservation, which nothing uses;
    // detached below before the reservation's guard unmaps the range.
    let r = unsafe {
        libc::shmat(
            segment.0,
            base.wrapping_byte_add(1),
            libc::SHM_RND | libc::SHM_REMAP,
        )
    };
    p.show(format!(
        "shmat(id, page + 1, SHM_RND) attaches at {}",
        if r == base {
            "page (rounded down to SHMLBA)"
        } else {
            "another address"
        }
    ));
    p.expect(r == base, "SHM_RND did not round down");
    if r as isize != -1 {
        // SAFETY: the attach just made.
        unsafe { libc::shmdt(r) };
    }
    // SAFETY: NULL address with SHM_RND: the kernel picks; detached at once.
    let r = unsafe { libc::shmat(segment.0, std::ptr::null(), libc::SHM_RND) };
    p.show(format!(
        "shmat(id, NULL, SHM_RND) = {}",
        if r as isize == -1 {
            "-1"
        } else {
            "attached, as with 0"
        }
    ));
    p.expect(r as isize != -1, "NULL with SHM_RND failed");
    if r as isize != -1 {
        // SAFETY: the attach just made.
        unsafe { libc::shmdt(r) };
    }
    Ok(())
}

/// 003-5: IPC_RMID only marks the segment: its key goes at once, the attached memory lives on
/// until the last detach, which is what destroys it.
fn rmid_marks(p: &mut Probe) -> Result<()> {
    let (segment, key) = Segment::create(4096, 0o600)?;
    // SAFETY: a fresh segment of 4096 bytes, attached read-write, touched through raw pointers.
    let at = unsafe { common::sysv::Attached::new(segment.0, 4096, 0) }.context("shmat")?;
    common::sysv::shmctl_rmid(segment.0).context("shmctl IPC_RMID")?;
    p.show("shmat, then shmctl(IPC_RMID)");
    let by_key = common::sysv::shmget(key, 0, 0);
    p.show(format!(
        "shmget(key, 0, 0) = {}",
        by_key
            .as_ref()
            .map_or_else(|e| format!("-1 {}", errno_name(e)), |_| "an id".into())
    ));
    // SAFETY: the attached segment, still mapped.
    unsafe { at.as_ptr().write_volatile(77) };
    // SAFETY: as above.
    let v = unsafe { at.as_ptr().read_volatile() };
    let ds = common::sysv::shmctl_stat(segment.0).context("shmctl IPC_STAT")?;
    let dest = ds.shm_perm.mode & 0o1000 != 0; // SHM_DEST
    p.show(format!(
        "still attached: a store and a load give {v}; IPC_STAT: SHM_DEST {dest}, nattch {}",
        ds.shm_nattch
    ));
    at.shmdt().context("shmdt")?;
    let gone = common::sysv::shmctl_stat(segment.0);
    p.show(format!(
        "shmdt, the last detach; IPC_STAT = {}",
        gone.as_ref().map_or_else(
            |e| format!("-1 {}", errno_name(e)),
            |_| "still there".into()
        )
    ));
    p.expect(
        by_key.err().and_then(|e| e.raw_os_error()) == Some(libc::ENOENT)
            && v == 77
            && dest
            && gone.err().and_then(|e| e.raw_os_error()) == Some(libc::EINVAL),
        "IPC_RMID did not behave as the entry says",
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
