//! `mmap(2)` as a guard: the region is unmapped when the guard is dropped.
//!
//! memmap2 is the crate to use for mapping a file, and `map_normalfile` uses it. Its
//! anonymous maps are `MAP_PRIVATE | MAP_ANON`, though, so a child process gets a private
//! copy-on-write copy of them, not shared memory; and it has no way to map with the exact
//! flags a C program passes. [`Mapping`] is the thin `mmap` those examples need: one call,
//! the C arguments as they are, `munmap` on drop.

use std::io;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::{self, NonNull};

/// A region from `mmap`, unmapped by `munmap` on drop.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// `mmap(NULL, len, prot, flags, fd, offset)`; `fd` is `None` for `MAP_ANONYMOUS` (`-1` in C).
    ///
    /// # Safety
    ///
    /// The mapping is read and written through `&[u8]`/`&mut [u8]` views ([`Deref`],
    /// [`DerefMut`]), so the caller promises, for as long as a view is alive:
    /// - nothing else changes the bytes it covers: no other process, thread, or mapping of
    ///   the same object writes them. Hand the memory over with an event (a pipe, `waitpid`,
    ///   a lock) and take a new view after the event, never keep one across it;
    /// - every byte it covers can be accessed with `prot`: no page of the view lies past the
    ///   end of the file (`SIGBUS`), and `prot` includes `PROT_READ` (and `PROT_WRITE` for a
    ///   mutable view).
    pub unsafe fn new(
        len: usize,
        prot: libc::c_int,
        flags: libc::c_int,
        fd: Option<BorrowedFd<'_>>,
        offset: libc::off_t,
    ) -> io::Result<Mapping> {
        let fd = fd.map_or(-1, |fd| fd.as_raw_fd());
        // SAFETY: with a NULL address and no MAP_FIXED the kernel picks a free range, so the
        // call cannot replace memory this program uses; failure is reported as MAP_FAILED.
        let addr = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, fd, offset) };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // mmap never returns NULL on success when no address was asked for; map it to an
        // error rather than trust it (the notes test `p == NULL`, which is never the failure).
        let ptr = NonNull::new(addr.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(Mapping { ptr, len })
    }

    /// The start of the region, for the examples that must touch it without a reference
    /// (probing past the end of a file, atomics shared between processes).
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The length that was asked for. The kernel maps whole pages, so up to the end of the last
    /// page is mapped too.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: `mmap` refuses a length of 0 with `EINVAL`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `msync(addr, len, flags)`: with `MS_SYNC`, write dirty pages of a file mapping back
    /// to the file and wait until they are written.
    pub fn msync(&self, flags: libc::c_int) -> io::Result<()> {
        // SAFETY: the range is exactly the region this guard owns; msync only writes pages
        // back and does not change what the memory holds.
        let rc = unsafe { libc::msync(self.ptr.as_ptr().cast(), self.len, flags) };
        if rc == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// `munmap(addr, len)`, reporting its error (dropping the guard unmaps too, silently).
    pub fn munmap(self) -> io::Result<()> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the guard is consumed, so no view of the region outlives the call and Drop
        // will not unmap it a second time.
        let rc = unsafe { libc::munmap(this.ptr.as_ptr().cast(), this.len) };
        if rc == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

impl Deref for Mapping {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the region is `len` bytes mapped for as long as `self` lives, and the caller
        // of `Mapping::new` promised it is readable and not changed behind the view.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for Mapping {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `deref`, and `&mut self` makes this the only view in this process.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `self` is going away, so no view of the region is left. An error could only
        // mean the range is not mapped, and there is nothing to do about it in a destructor.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_mapping_is_zeroed_and_writable() {
        // SAFETY: a fresh private anonymous mapping that only this test touches.
        let mut map = unsafe {
            Mapping::new(
                100,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                None,
                0,
            )
        }
        .unwrap();
        assert!(map.iter().all(|&b| b == 0));
        map[99] = 7;
        assert_eq!(map[99], 7);
        map.munmap().unwrap();
    }

    #[test]
    fn bad_arguments_are_an_os_error() {
        // SAFETY: the call fails (length 0), so nothing is mapped.
        let err = unsafe {
            Mapping::new(
                0,
                libc::PROT_READ,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                None,
                0,
            )
        }
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }
}
