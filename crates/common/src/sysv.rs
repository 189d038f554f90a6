//! System V shared memory, one function per call: `shmget`, `shmat`/`shmdt` (a guard),
//! `shmctl(IPC_STAT)`, `shmctl(IPC_RMID)` (a guard too, for a segment this process created).

use std::io;
use std::ops::{Deref, DerefMut};
use std::ptr::{self, NonNull};

/// `shmget(key, size, flags)`: the id of the segment under `key`, created if `flags` has
/// `IPC_CREAT` and there is none.
pub fn shmget(key: libc::key_t, size: usize, flags: libc::c_int) -> io::Result<libc::c_int> {
    // SAFETY: shmget takes plain values and touches no memory of ours.
    let shmid = unsafe { libc::shmget(key, size, flags) };
    if shmid == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(shmid)
    }
}

/// `shmctl(shmid, IPC_STAT, &buf)`: the segment's size, attach count, mode, creator, ...
pub fn shmctl_stat(shmid: libc::c_int) -> io::Result<libc::shmid_ds> {
    let mut buf = std::mem::MaybeUninit::<libc::shmid_ds>::uninit();
    // SAFETY: `buf` is a writable shmid_ds for the kernel to fill in.
    if unsafe { libc::shmctl(shmid, libc::IPC_STAT, buf.as_mut_ptr()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: IPC_STAT succeeded, so the kernel has written the whole structure.
    Ok(unsafe { buf.assume_init() })
}

/// The key in an `ipc_perm` (IPC_STAT's `shm_perm`): every C library names the field its
/// own way, `__key` (glibc), `__ipc_perm_key` (musl, in the libc crate), `_key` (macOS),
/// `key` (FreeBSD).
pub fn key_of(perm: &libc::ipc_perm) -> libc::key_t {
    #[cfg(all(target_os = "linux", not(target_env = "musl")))]
    return perm.__key;
    #[cfg(all(target_os = "linux", target_env = "musl"))]
    #[allow(deprecated)] // the libc crate will rename it `__key`
    return perm.__ipc_perm_key;
    #[cfg(target_vendor = "apple")]
    return perm._key;
    #[cfg(target_os = "freebsd")]
    return perm.key;
}

/// `shmctl(shmid, IPC_RMID, NULL)`: marks the segment for removal. It goes once the last
/// process detaches; until then it stays attached where it is, under key 0 (IPC_PRIVATE).
pub fn shmctl_rmid(shmid: libc::c_int) -> io::Result<()> {
    // SAFETY: IPC_RMID does not read the buffer argument, so NULL is allowed.
    if unsafe { libc::shmctl(shmid, libc::IPC_RMID, ptr::null_mut()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A segment this process created, removed (`IPC_RMID`) when dropped unless [`Created::keep`]
/// was called: if the program fails or is interrupted half way, it leaves nothing behind.
#[derive(Debug)]
pub struct Created {
    shmid: Option<libc::c_int>,
}

impl Created {
    /// Takes charge of removing `shmid`.
    pub fn new(shmid: libc::c_int) -> Created {
        Created { shmid: Some(shmid) }
    }

    /// The program got as far as it should: the segment stays, for its partner to use.
    pub fn keep(mut self) {
        self.shmid = None;
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if let Some(shmid) = self.shmid {
            // Nothing to do about a failure in a destructor; `ipcs -m` would show the segment.
            let _ = shmctl_rmid(shmid);
        }
    }
}

/// A segment attached with `shmat`, detached by `shmdt` on drop.
#[derive(Debug)]
pub struct Attached {
    ptr: NonNull<u8>,
    len: usize,
}

impl Attached {
    /// `shmat(shmid, NULL, flags)`, viewed as `len` bytes.
    ///
    /// # Safety
    ///
    /// As for [`crate::Mapping::new`]: while a view from [`Deref`]/[`DerefMut`] is alive, no
    /// other process changes the bytes it covers; `len` is at most the segment's size; and a
    /// mutable view is only taken without `SHM_RDONLY` in `flags`.
    pub unsafe fn new(shmid: libc::c_int, len: usize, flags: libc::c_int) -> io::Result<Attached> {
        // SAFETY: with a NULL address the kernel chooses a free range, so the attach cannot
        // replace memory this program uses; failure is reported as (void *) -1.
        let addr = unsafe { libc::shmat(shmid, ptr::null(), flags) };
        if addr as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(addr.cast::<u8>())
            .ok_or_else(|| io::Error::other("shmat returned NULL"))?;
        Ok(Attached { ptr, len })
    }

    /// The start of the attached segment.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// `shmdt(addr)`, reporting its error (dropping the guard detaches too, silently).
    pub fn shmdt(self) -> io::Result<()> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the guard is consumed, so no view outlives the detach, and Drop will not
        // detach a second time.
        if unsafe { libc::shmdt(this.ptr.as_ptr().cast()) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Deref for Attached {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `len` bytes are attached for as long as `self` lives, and the caller of
        // `Attached::new` promised they are not changed behind the view.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for Attached {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `deref`; the caller promised the attach is writable when this is used.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        // SAFETY: `self` is going away, so no view is left. A failure could only mean the
        // address is not attached; there is nothing to do about it here.
        unsafe { libc::shmdt(self.ptr.as_ptr().cast()) };
    }
}
