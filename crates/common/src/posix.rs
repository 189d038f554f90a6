//! POSIX shared memory, one function per call: `shm_open`, `shm_unlink`, and a guard that
//! unlinks an object this process created if it fails or is interrupted half way.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// `shm_open(name, oflag, mode)`: a descriptor for the object, closed when dropped.
///
/// Not in the notes: `O_NONBLOCK` is added to `oflag`, and what was opened must be a regular
/// file. On Linux, `shm_open("/f")` is `open("/dev/shm/f")`, and anyone can put a FIFO there
/// (`mkfifo /dev/shm/f`): opening it for reading would block for ever, and its "contents"
/// are not memory. `O_NONBLOCK` makes that open return at once (a regular file ignores the
/// flag); the `fstat` after it refuses the FIFO, a directory (`/..`) or a device with
/// `not a regular file (a FIFO)`.
pub fn shm_open(name: &CStr, oflag: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    // macOS declares `shm_open(const char *, int, ...)`: the mode goes through C's `...`,
    // where its 16-bit `mode_t` is promoted to `unsigned int`. Rust does not promote: pass
    // the promoted type, or the callee reads 16 bits of garbage.
    #[cfg(target_os = "macos")]
    let mode = libc::c_uint::from(mode);
    // SAFETY: `name` is a NUL-terminated string.
    let fd = unsafe { libc::shm_open(name.as_ptr(), oflag | libc::O_NONBLOCK, mode) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: shm_open returned a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // macOS keeps its objects outside any filesystem (no FIFO can hide under a name), and
    // its fstat reports only their permission bits, with no file type: nothing to check.
    #[cfg(not(target_os = "macos"))]
    crate::file::not_regular(std::os::fd::AsFd::as_fd(&fd))?;
    Ok(fd)
}

/// The size `fstat` reports for an object `ftruncate`d to `len` bytes: `len`, but on macOS
/// `len` rounded up to a whole page (its objects are kept in pages, and say so).
pub fn object_size(len: usize) -> u64 {
    #[cfg(target_os = "macos")]
    let len = len.next_multiple_of(crate::page_size());
    len as u64
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

/// A name as `shm_open` wants it, for clap's `value_parser`: `/` then 1 to 254 characters,
/// none of them `/` or NUL, and not `/.` or `/..` (on Linux those name `/dev/shm` and `/dev`,
/// directories, not objects). Linux accepts a few other forms; portable programs use this one.
pub fn parse_name(s: &str) -> Result<CString, String> {
    let Some(rest) = s.strip_prefix('/') else {
        return Err("a shm name starts with '/', as in /xyz".into());
    };
    if rest.is_empty() || rest.len() > 254 || rest.contains('/') {
        return Err("a shm name is '/' and 1 to 254 characters without another '/'".into());
    }
    if rest == "." || rest == ".." {
        return Err("a shm name cannot be '/.' or '/..' (a directory, not an object)".into());
    }
    CString::new(s).map_err(|_| "a shm name cannot contain a NUL byte".into())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_like_shm_overview_says() {
        assert_eq!(parse_name("/xyz").unwrap().as_bytes(), b"/xyz");
        for bad in ["xyz", "/", "/a/b", "/.", "/..", "/a\0b"] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
        assert!(parse_name(&format!("/{}", "x".repeat(255))).is_err());
        assert!(parse_name("/...").is_ok());
    }
}
