// ANCHOR: all
//! memfd_write: shared memory with no name, handed to each reader as a descriptor.
//!
//! Beyond the notes (they end at `shm_open`); its C twin is `c/memfd_write.c`.
//! Chapter: `docs/src/memfd_share.md`.
//!
//! It makes an anonymous file (`memfd_create`), sizes it to the ten `people` records that
//! map_normalfile1 writes, maps it, writes them, unmaps it, and seals it: from then on no
//! process can shrink it, grow it or write to it (`fcntl(F_ADD_SEALS)`). Then it listens on a
//! UNIX socket and sends the descriptor itself to each reader that connects (`sendmsg` with
//! `SCM_RIGHTS`), until Ctrl-C. The object has no name anywhere: it lives while a descriptor or
//! a mapping refers to it, and nothing of it can outlive the processes, even after SIGKILL.
//! The socket is the only name, and this program removes it on every way out but SIGKILL.
//!
//! ```text
//! $ memfd_write /tmp/people.sock               # or @people: Linux's abstract namespace
//! memfd people: 80 bytes, seals: F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL
//! listening on /tmp/people.sock; Ctrl-C to stop
//! sent the descriptor to pid 4242                # memfd_read /tmp/people.sock, elsewhere
//! ```
//!
//! `--no-seals` sends the object unsealed (memfd_read refuses it, and says why); `--count N`
//! stops after N readers.
//!
//! Run it with cargo, from anywhere in the workspace (its arguments after `--`):
//! `cargo run -p memfd_share --bin memfd_write -- /tmp/people.sock`.
//!
//! Exit status: 0 done, 1 a call failed (the message names it), 2 bad arguments; killed by the
//! signal that stopped it (SIGINT, SIGTERM, SIGHUP), once the socket is removed.

use clap::Parser;
use memfd_share::Socket;

/// Put the ten people records in a sealed memfd and send its descriptor to every reader.
#[derive(Parser, Debug)]
#[command(
    name = "memfd_write",
    version,
    after_help = "Beyond the notes: memfd_create, seals and SCM_RIGHTS.\nChapter 5: docs/src/memfd_share.md"
)]
struct Args {
    /// UNIX socket to listen on: a path, or @NAME in Linux's abstract namespace (no file)
    #[arg(value_parser = Socket::parse)]
    socket: Socket,

    /// Send the object without seals (a reader refuses it)
    #[arg(long)]
    no_seals: bool,

    /// Stop after sending the descriptor to N readers (default: until Ctrl-C)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
fn main() {
    let _ = Args::parse();
    memfd_share::no_memfd!()
}

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
fn main() {
    common::default_signals();
    let args = Args::parse();
    if let Err(err) = write::run(&args) {
        common::err_exit!(err);
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod write {
    use std::fs::File;
    use std::io::IoSlice;
    use std::mem::MaybeUninit;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    use std::path::{Path, PathBuf};

    use common::{Context, Error, Interrupts, People, Result};
    use memfd_share::{MEMFD_NAME, SEALS, SIZE, Socket, records, seal_names};
    use memmap2::MmapOptions;
    use rustix::fs::{MemfdFlags, fcntl_add_seals, fcntl_get_seals, memfd_create};
    use rustix::io::Errno;
    use rustix::net::{
        AddressFamily, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags,
        SocketType, accept_with, listen, sendmsg, socket_with,
    };

    use super::Args;

    pub fn run(args: &Args) -> Result<()> {
        // Not in C's usual version: from here on SIGINT and friends wait until the socket
        // can be removed.
        let interrupts = Interrupts::block().context("sigprocmask")?;

        // ANCHOR: memfd_create
        // fd = memfd_create("people", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        // A file with no name in any directory: it lives while a descriptor or a mapping
        // refers to it. Without MFD_ALLOW_SEALING it could never be sealed.
        let fd = memfd_create(MEMFD_NAME, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
            .context("memfd_create people")?;
        // A memfd is a file on an internal tmpfs: File's set_len is ftruncate.
        let file = File::from(fd);
        // ANCHOR_END: memfd_create

        // ANCHOR: ftruncate
        // ftruncate(fd, 80); posix_fallocate(fd, 0, 80);
        // ftruncate reserves no page; without the reservation a store into the mapping could
        // die of SIGBUS when memory (or the cgroup's share of it) is short.
        file.set_len(SIZE as u64).context("ftruncate memfd")?;
        common::file::reserve(file.as_fd(), SIZE).context("fallocate memfd")?;
        // ANCHOR_END: ftruncate

        // ANCHOR: mmap
        // p = mmap(NULL, 80, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        // SAFETY: the object is this process's alone (nobody else has the descriptor yet),
        // exactly SIZE bytes long, all reserved; the mapping is SIZE bytes.
        let mut map =
            unsafe { MmapOptions::new().len(SIZE).map_mut(&file) }.context("mmap memfd")?;
        let people: &mut [People] = bytemuck::cast_slice_mut(&mut map[..]);
        people.copy_from_slice(&records());
        // munmap(p, 80);
        // F_SEAL_WRITE is refused (EBUSY) while a writable shared mapping exists.
        drop(map);
        // ANCHOR_END: mmap

        // ANCHOR: seal
        // fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        // From here on the object is 80 bytes of these records for ever: a reader that maps it
        // can trust its size (no SIGBUS) and its content (no one changes it).
        if !args.no_seals {
            fcntl_add_seals(&file, SEALS).context("fcntl F_ADD_SEALS")?;
        }
        let seals = fcntl_get_seals(&file).context("fcntl F_GET_SEALS")?;
        println!("memfd people: {SIZE} bytes, seals: {}", seal_names(seals));
        // ANCHOR_END: seal

        // ANCHOR: listen
        // s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        // Non-blocking: a reader that connects and leaves before accept does not hold accept.
        let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
        let listener = socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None)
            .context("socket AF_UNIX")?;
        // bind(s, SOCKET); listen(s, 8);
        let _bound = bind(&listener, &args.socket)?;
        listen(&listener, 8).with_context(|| format!("listen {}", args.socket))?;
        println!("listening on {}; Ctrl-C to stop", args.socket);
        // ANCHOR_END: listen

        // ANCHOR: serve
        let mut served = 0;
        while args.count.is_none_or(|count| served < count) {
            // poll({s, signalfd}): a connection, or Ctrl-C (which removes the socket).
            interrupts.wait_readable(listener.as_fd())?;
            // c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
            let conn = match accept_with(&listener, SocketFlags::CLOEXEC) {
                Ok(conn) => conn,
                // Gone again before accept, or a signal: back to the wait.
                Err(Errno::AGAIN | Errno::CONNABORTED | Errno::INTR) => continue,
                Err(e) => return Err(e).context("accept"),
            };
            // getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len);
            // Anyone may connect to an abstract name (it has no permissions): only this
            // user's processes get the descriptor.
            let (uid, pid) = peer(&conn).context("getsockopt SO_PEERCRED")?;
            if uid != rustix::process::geteuid().as_raw() {
                println!("refused a reader of user {uid}: not this program's user");
                continue;
            }
            // sendmsg(c, &msg, MSG_NOSIGNAL); msg carries one byte and SCM_RIGHTS {fd}.
            match send_fd(&conn, file.as_fd()) {
                Ok(()) => println!("sent the descriptor to pid {pid}"),
                // A reader that died before it read: report it, serve the next.
                Err(e) => println!(
                    "sendmsg to pid {pid}: {}; the reader has gone",
                    common::error::reason(&e)
                ),
            }
            // close(c);
            drop(conn);
            served += 1;
        }
        // ANCHOR_END: serve
        // A signal that came while this program worked ends it now, with the socket removed.
        interrupts.check()
    }

    // ANCHOR: send_fd
    /// `sendmsg` with one data byte (a stream carries ancillary data only beside data) and an
    /// `SCM_RIGHTS` message holding `fd`: the reader receives a new descriptor for the same
    /// open file, as if it had been `dup`ed into its process.
    fn send_fd(conn: &OwnedFd, fd: BorrowedFd<'_>) -> std::io::Result<()> {
        let fds = [fd];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        // MSG_NOSIGNAL: a reader that has gone makes this fail with EPIPE, not kill us.
        sendmsg(
            conn,
            &[IoSlice::new(b"M")],
            &mut control,
            SendFlags::NOSIGNAL,
        )?;
        Ok(())
    }
    // ANCHOR_END: send_fd

    /// The connected process's user and pid: `SO_PEERCRED` on Linux (pid 0 for a process
    /// outside this one's PID namespace); FreeBSD's `getpeereid` gives the user only (the pid
    /// is shown as 0).
    fn peer(conn: &OwnedFd) -> std::io::Result<(u32, i32)> {
        #[cfg(target_os = "linux")]
        {
            // libc, not rustix's socket_peercred: its pid is non-zero by type, and the kernel
            // gives 0 for a peer outside this process's PID namespace (a writer in a
            // container, a reader on the host).
            use std::os::fd::AsRawFd;
            let mut cred = libc::ucred {
                pid: 0,
                uid: 0,
                gid: 0,
            };
            let mut len = size_of::<libc::ucred>() as libc::socklen_t;
            // SAFETY: `cred` is a writable ucred and `len` its size, as SO_PEERCRED wants.
            let rc = unsafe {
                libc::getsockopt(
                    conn.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_PEERCRED,
                    (&raw mut cred).cast(),
                    &mut len,
                )
            };
            if rc == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok((cred.uid, cred.pid))
        }
        #[cfg(target_os = "freebsd")]
        {
            use std::os::fd::AsRawFd;
            let (mut uid, mut gid) = (0, 0);
            // SAFETY: a connected socket and two writable ids.
            if unsafe { libc::getpeereid(conn.as_raw_fd(), &mut uid, &mut gid) } == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok((uid, 0))
        }
    }

    // ANCHOR: bind
    /// `bind(s, SOCKET)`, owner-only (`umask(077)` around it: connecting needs write
    /// permission on the socket file). A socket file that no writer listens on any more (one
    /// killed by SIGKILL leaves it) is removed and bound again; anything else under the name
    /// is left alone. Returns what removes the socket file on the way out.
    fn bind(listener: &OwnedFd, socket: &Socket) -> Result<Option<Unlink>> {
        let addr = socket.addr().with_context(|| format!("bind {socket}"))?;
        // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
        let old = unsafe { libc::umask(0o077) };
        let mut bound = rustix::net::bind(listener, &addr);
        if bound == Err(Errno::ADDRINUSE)
            && let Socket::Path(path) = socket
            && is_stale(path, &addr)
        {
            match std::fs::remove_file(path) {
                Ok(()) => println!("removed {socket}: a socket no writer listens on"),
                Err(e) => eprintln!("memfd_write: unlink {socket}: {e}"),
            }
            bound = rustix::net::bind(listener, &addr);
        }
        // SAFETY: as above; the old mask back.
        unsafe { libc::umask(old) };
        match bound {
            Ok(()) => Ok(match socket {
                Socket::Path(path) => Some(Unlink(path.clone())),
                Socket::Abstract(_) => None,
            }),
            Err(Errno::ADDRINUSE) => Err(Error::new(
                format!("bind {socket}"),
                Errno::ADDRINUSE.into(),
            )
            .hint("another writer listens there, or it is not a socket; left alone")),
            Err(e) => Err(e).with_context(|| format!("bind {socket}")),
        }
    }

    /// Whether `path` is a socket of this user's that nobody listens on: `connect` is refused.
    fn is_stale(path: &Path, addr: &rustix::net::SocketAddrUnix) -> bool {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return false;
        };
        if !meta.file_type().is_socket() || meta.uid() != rustix::process::geteuid().as_raw() {
            return false;
        }
        let Ok(probe) = socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        ) else {
            return false;
        };
        rustix::net::connect(&probe, addr) == Err(Errno::CONNREFUSED)
    }
    // ANCHOR_END: bind

    /// `unlink(SOCKET)` when dropped: on a normal end, an error, or a caught signal.
    #[derive(Debug)]
    struct Unlink(PathBuf);

    impl Drop for Unlink {
        fn drop(&mut self) {
            // Only a socket: if something else has taken the name since, it is not ours.
            let is_socket =
                std::fs::symlink_metadata(&self.0).is_ok_and(|m| m.file_type().is_socket());
            if is_socket && let Err(e) = std::fs::remove_file(&self.0) {
                eprintln!("memfd_write: unlink {}: {e}", self.0.display());
            }
        }
    }
}
// ANCHOR_END: all
