//! POSIX shared memory, one function per call: `shm_open`, `shm_unlink`, and a guard that
//! unlinks an object this process created if it fails or is interrupted half way.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

/// `shm_open(name, oflag, mode)`: a descriptor for the object, closed when dropped.
///
/// Not in the notes: `O_NONBLOCK` is added to `oflag`, and what was opened must be a regular
/// file. On Linux, `shm_open("/f")` is `open("/dev/shm/f")`, and anyone can put a FIFO there
/// (`mkfifo /dev/shm/f`): opening it for reading would block for ever, and its "contents"
/// are not memory. `O_NONBLOCK` makes that open return at once (a regular file ignores the
/// flag); the `fstat` after it refuses the FIFO, a directory (`/..`) or a device with
/// `not a regular file (a FIFO)`.
pub fn shm_open(name: &CStr, oflag: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a NUL-terminated string.
    let fd = unsafe { libc::shm_open(name.as_ptr(), oflag | libc::O_NONBLOCK, mode) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: shm_open returned a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    crate::file::not_regular(fd.as_fd())?;
    Ok(fd)
}

/// `shm_unlink(name)`: removes the name at once; the memory goes when the last mapping and
/// descriptor of it are gone.
pub fn shm_unlink(name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is a NUL-terminated string.
    if unsafe { libc::shm_unlink(name.as_ptr()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// An object this process created, unlinked when dropped unless [`Created::keep`] was called.
#[derive(Debug)]
pub struct Created {
    name: Option<CString>,
}

impl Created {
    /// Takes charge of unlinking `name`.
    pub fn new(name: &CStr) -> Created {
        Created {
            name: Some(name.to_owned()),
        }
    }

    /// The program got as far as it should: the object stays, for its partner to use.
    pub fn keep(mut self) {
        self.name = None;
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if let Some(name) = &self.name {
            // Nothing to do about a failure in a destructor; `ls /dev/shm` would show it.
            let _ = shm_unlink(name);
        }
    }
}
