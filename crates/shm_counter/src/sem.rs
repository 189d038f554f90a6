// ANCHOR: all
//! The three semaphores UNP's counter programs use, one function per call of the C: an unnamed
//! POSIX semaphore in the shared region (`sem_init(sem, 1, 1)`, incr3.c), a named one
//! (`sem_open` / `sem_unlink`, incr2.c), and a System V semaphore (`semget` / `semop`, with
//! and without `SEM_UNDO`). A semaphore of value 1 is a lock: `wait` takes it, `post` gives it
//! back. Every wait is timed, so that the caller can look at Ctrl-C and at its partner between
//! two waits.
//!
//! What happens when a holder dies is where they differ. A POSIX semaphore (unnamed or named)
//! is a number: nobody owns it, so nothing gives back what a dead process took, and it stays
//! at 0 for ever. A System V `semop` with `SEM_UNDO` is recorded by the kernel, which undoes
//! it when the process ends, however it ends: the semaphore comes back. But unlike a robust
//! mutex's `EOWNERDEAD`, nobody is told that the data it guarded may be half updated.

use std::ffi::CString;
use std::io;
use std::time::Duration;

/// The result of one timed wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// This process holds the semaphore.
    Taken,
    /// The timeout passed first (or a signal interrupted the wait): the caller looks around
    /// and waits again.
    TimedOut,
}

/// One of the three kinds, as this process sees it.
#[derive(Debug)]
pub enum Semaphore {
    /// `sem_t` in the shared region (`sem_init(sem, 1, 1)`).
    Unnamed(*mut libc::sem_t),
    /// `sem_open(name)`: a file `/dev/shm/sem.NAME` mapped by every process that opens it.
    Named {
        sem: *mut libc::sem_t,
        /// The name, while this process must still `sem_unlink` it.
        owned: Option<CString>,
    },
    /// `semget`: a set of one semaphore in the kernel, by its id.
    SysV {
        id: libc::c_int,
        /// `SEM_UNDO`: the kernel gives back what a process that ends still holds.
        undo: bool,
        /// This process made it, and removes it (`IPC_RMID`) when dropped.
        owned: bool,
    },
}

// ANCHOR: unnamed
/// `sem_init(sem, 1, 1)`: pshared 1, a semaphore that works between processes because it lies
/// in memory they share; value 1, free.
///
/// # Safety
///
/// `sem` points to writable, aligned memory for a `sem_t` in a shared mapping, that nobody
/// uses yet and that stays mapped while the semaphore is used.
pub unsafe fn sem_init(sem: *mut libc::sem_t) -> io::Result<Semaphore> {
    // SAFETY: the caller's promise.
    if unsafe { libc::sem_init(sem, 1, 1) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(Semaphore::Unnamed(sem))
}
// ANCHOR_END: unnamed

// ANCHOR: named
/// `sem_open(name, O_CREAT | O_EXCL, 0600, 1)`: a new named semaphore, owner-only; this process
/// unlinks it (on drop, or sooner with [`Semaphore::unlink`]).
pub fn sem_open_create(name: &str) -> io::Result<Semaphore> {
    let cname = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let mode: libc::c_uint = 0o600;
    let value: libc::c_uint = 1;
    // SAFETY: a NUL-terminated name; with O_CREAT, sem_open reads a mode_t and an unsigned
    // int, passed as c_uint each (what variadic arguments of those types are promoted to).
    let sem = unsafe { libc::sem_open(cname.as_ptr(), libc::O_CREAT | libc::O_EXCL, mode, value) };
    if sem == libc::SEM_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(Semaphore::Named {
        sem,
        owned: Some(cname),
    })
}

/// `sem_open(name, 0)`: the named semaphore another process made.
pub fn sem_open_existing(name: &str) -> io::Result<Semaphore> {
    let cname = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a NUL-terminated name; without O_CREAT no further argument is read.
    let sem = unsafe { libc::sem_open(cname.as_ptr(), 0) };
    if sem == libc::SEM_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(Semaphore::Named { sem, owned: None })
}
// ANCHOR_END: named

// ANCHOR: sysv
/// `semget(key, 1, IPC_CREAT | IPC_EXCL | 0600)`, then `semctl(id, 0, SETVAL, 1)`: a new set of
/// one System V semaphore, free. Removed (`IPC_RMID`) when the returned value is dropped.
pub fn semget_create(key: libc::key_t, undo: bool) -> io::Result<Semaphore> {
    // SAFETY: semget takes plain values.
    let id = unsafe { libc::semget(key, 1, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
    if id == -1 {
        return Err(io::Error::last_os_error());
    }
    let sem = Semaphore::SysV {
        id,
        undo,
        owned: true,
    };
    // SAFETY: SETVAL reads its fourth argument as an int (the union semun's `val`).
    if unsafe { libc::semctl(id, 0, libc::SETVAL, 1 as libc::c_int) } == -1 {
        return Err(io::Error::last_os_error()); // `sem` is dropped: IPC_RMID
    }
    Ok(sem)
}

/// `semget(key, 0, 0)`: the set another process made, if it is one semaphore of this user's.
pub fn semget_existing(key: libc::key_t, undo: bool) -> io::Result<Semaphore> {
    // SAFETY: semget takes plain values.
    let id = unsafe { libc::semget(key, 0, 0) };
    if id == -1 {
        return Err(io::Error::last_os_error());
    }
    // semctl(id, 0, IPC_STAT, &ds): never trust a set someone else may have made.
    // SAFETY: semid_ds is plain data; all zeros is a valid value for the kernel to overwrite.
    let mut ds: semid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one semid_ds through its fourth argument.
    if unsafe { libc::semctl(id, 0, libc::IPC_STAT, &mut ds as *mut semid_ds) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if ds.sem_nsems != 1 || ds.sem_perm.uid != me || ds.sem_perm.mode & 0o077 != 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok(Semaphore::SysV {
        id,
        undo,
        owned: false,
    })
}
// ANCHOR_END: sysv

#[cfg(not(target_env = "musl"))]
use libc::semid_ds;

/// musl's `struct semid_ds` on 64-bit targets, which the libc crate does not declare.
#[cfg(target_env = "musl")]
#[repr(C)]
#[allow(non_camel_case_types)]
struct semid_ds {
    sem_perm: libc::ipc_perm,
    sem_otime: i64,
    __unused1: libc::c_long,
    sem_ctime: i64,
    __unused2: libc::c_long,
    sem_nsems: libc::c_ushort,
    __sem_nsems_pad: [u8; 6],
    __unused3: libc::c_long,
    __unused4: libc::c_long,
}

unsafe extern "C" {
    /// glibc's `semtimedop(2)`, which the libc crate does not declare for Linux.
    fn semtimedop(
        semid: libc::c_int,
        sops: *mut libc::sembuf,
        nsops: libc::size_t,
        timeout: *const libc::timespec,
    ) -> libc::c_int;
}

impl Semaphore {
    // ANCHOR: wait
    /// Takes the semaphore, waiting at most `timeout`: `sem_timedwait` (an absolute
    /// `CLOCK_REALTIME` deadline), or `semtimedop(id, {0, -1, SEM_UNDO?}, timeout)`.
    pub fn wait(&self, timeout: Duration) -> io::Result<Wait> {
        let rc = match *self {
            Semaphore::Unnamed(sem) | Semaphore::Named { sem, .. } => {
                let deadline = deadline(timeout)?;
                // SAFETY: `sem` is a semaphore set up by sem_init or sem_open, mapped.
                unsafe { libc::sem_timedwait(sem, &deadline) }
            }
            Semaphore::SysV { id, undo, .. } => {
                let mut op = sembuf(-1, undo);
                let ts = timespec(timeout);
                // SAFETY: one initialised sembuf and a relative timeout, both live across the
                // call.
                unsafe { semtimedop(id, &mut op, 1, &ts) }
            }
        };
        if rc == 0 {
            return Ok(Wait::Taken);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ETIMEDOUT | libc::EAGAIN | libc::EINTR) => Ok(Wait::TimedOut),
            _ => Err(err),
        }
    }
    // ANCHOR_END: wait

    // ANCHOR: post
    /// Gives the semaphore back: `sem_post`, or `semop(id, {0, +1, SEM_UNDO?}, 1)` (with
    /// `SEM_UNDO` on both sides, so that the kernel's record of this process comes back to 0).
    pub fn post(&self) -> io::Result<()> {
        let rc = match *self {
            // SAFETY: as in `wait`.
            Semaphore::Unnamed(sem) | Semaphore::Named { sem, .. } => unsafe {
                libc::sem_post(sem)
            },
            Semaphore::SysV { id, undo, .. } => {
                let mut op = sembuf(1, undo);
                // SAFETY: one initialised sembuf.
                unsafe { libc::semop(id, &mut op, 1) }
            }
        };
        if rc == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    // ANCHOR_END: post

    /// `sem_unlink(name)` now, for a named semaphore this process made: the processes that
    /// have it open keep it, and nothing is left with a name, even after a SIGKILL.
    pub fn unlink(&mut self) -> io::Result<()> {
        if let Semaphore::Named { owned, .. } = self
            && let Some(name) = owned.take()
        {
            // SAFETY: a NUL-terminated name.
            if unsafe { libc::sem_unlink(name.as_ptr()) } == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// In a child after fork: what the parent made, the parent removes.
    pub fn disown(&mut self) {
        match self {
            Semaphore::Named { owned, .. } => *owned = None,
            Semaphore::SysV { owned, .. } => *owned = false,
            Semaphore::Unnamed(_) => {}
        }
    }
}

impl Drop for Semaphore {
    /// `sem_close` and `sem_unlink`, or `semctl(id, 0, IPC_RMID)`, for what this process made.
    /// An unnamed semaphore goes with the region (`sem_destroy` matters only where a system
    /// gives it resources of its own; Linux gives none).
    fn drop(&mut self) {
        let _ = self.unlink();
        match *self {
            Semaphore::Unnamed(_) => {}
            Semaphore::Named { sem, .. } => {
                // SAFETY: sem_open returned `sem`, and nothing uses it after the drop.
                unsafe { libc::sem_close(sem) };
            }
            Semaphore::SysV { id, owned, .. } => {
                if owned {
                    // SAFETY: IPC_RMID takes no fourth argument.
                    unsafe { libc::semctl(id, 0, libc::IPC_RMID) };
                }
            }
        }
    }
}

fn sembuf(op: libc::c_short, undo: bool) -> libc::sembuf {
    libc::sembuf {
        sem_num: 0,
        sem_op: op,
        sem_flg: if undo {
            libc::SEM_UNDO as libc::c_short
        } else {
            0
        },
    }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs() as _,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// clock_gettime(CLOCK_REALTIME) + `d`: the absolute deadline sem_timedwait takes.
fn deadline(d: Duration) -> io::Result<libc::timespec> {
    let mut now = timespec(Duration::ZERO);
    // SAFETY: `now` is a writable timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) } == -1 {
        return Err(io::Error::last_os_error());
    }
    let nsec = now.tv_nsec as u64 + u64::from(d.subsec_nanos());
    Ok(libc::timespec {
        tv_sec: now
            .tv_sec
            .saturating_add((d.as_secs() + nsec / 1_000_000_000) as _),
        tv_nsec: (nsec % 1_000_000_000) as libc::c_long,
    })
}
// ANCHOR_END: all
