// ANCHOR: all
//! memfd_read: receive a memfd's descriptor over a UNIX socket, check its seals, map it and
//! print its records.
//!
//! Beyond the notes; its C twin is `c/memfd_read.c`. Chapter: `docs/src/memfd_share.md`.
//!
//! It connects to memfd_write's socket and receives the descriptor (`recvmsg`, `SCM_RIGHTS`):
//! a descriptor of its own for the writer's object, which has no name it could have opened.
//! Before it maps anything it checks what it got, since the bytes and the size are another
//! process's: a regular file, sealed against shrinking and writing (`F_GET_SEALS`), exactly
//! ten records long (`fstat`). Then it maps it read-only and prints the records as map_normalfile2 does.
//! An object that could still shrink is refused: its writer could cut the pages from under
//! this mapping, and the next read would die of SIGBUS (`memfd_shrink` shows it).
//!
//! ```text
//! $ memfd_read /tmp/people.sock
//! received a descriptor: 80 bytes, seals: F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL
//! name: a age 20;
//! ...
//! name: j age 29;
//! ```
//!
//! `--wait-stdin` keeps the mapping until a line arrives on stdin, then reads the last record
//! again: the object outlives its writer for as long as this mapping does.
//!
//! Run it with cargo, from anywhere in the workspace (its arguments after `--`):
//! `cargo run -p memfd_share --bin memfd_read -- /tmp/people.sock`.
//!
//! Exit status: 0 done, 1 a call failed or the object was refused (the message says why),
//! 2 bad arguments.

use clap::Parser;
use memfd_share::Socket;

/// Receive the people memfd from memfd_write, check its seals and size, and print it.
#[derive(Parser, Debug)]
#[command(
    name = "memfd_read",
    version,
    after_help = "Beyond the notes: memfd_create, seals and SCM_RIGHTS.\nChapter 5: docs/src/memfd_share.md"
)]
struct Args {
    /// memfd_write's UNIX socket: a path, or @NAME in Linux's abstract namespace
    #[arg(value_parser = Socket::parse)]
    socket: Socket,

    /// Keep the object mapped until a line (or end of file) arrives on stdin
    #[arg(long)]
    wait_stdin: bool,
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
    if let Err(err) = read::run(&args) {
        common::err_exit!(err);
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod read {
    use std::fs::File;
    use std::io::IoSliceMut;
    use std::mem::MaybeUninit;
    use std::os::fd::OwnedFd;
    use std::time::Duration;

    use common::{Context, Error, Interrupts, People, Result};
    use memfd_share::{SIZE, Socket, seal_names};
    use memmap2::MmapOptions;
    use rustix::fs::{SealFlags, fcntl_get_seals};
    use rustix::io::Errno;
    use rustix::net::sockopt::{Timeout, set_socket_timeout};
    use rustix::net::{
        AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
        SocketFlags, SocketType, connect, recvmsg, socket_with,
    };

    use super::Args;

    /// How long the reader waits for the descriptor: a writer that accepted and then stopped
    /// (SIGSTOP, a debugger) must not hold it for ever. A writer that dies closes the
    /// connection, which ends the wait at once.
    const RECV_TIMEOUT: Duration = Duration::from_secs(5);

    pub fn run(args: &Args) -> Result<()> {
        let sock = &args.socket;

        // ANCHOR: connect
        // s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); connect(s, SOCKET);
        let s = socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .context("socket AF_UNIX")?;
        let addr = sock.addr().with_context(|| format!("connect {sock}"))?;
        connect(&s, &addr).map_err(|e| {
            let err = Error::new(format!("connect {sock}"), e.into());
            match e {
                // A file that is no socket (a directory, say) refuses as a dead socket does.
                Errno::CONNREFUSED if !is_socket_or_abstract(sock) => err.hint("not a socket"),
                Errno::NOENT | Errno::CONNREFUSED => {
                    err.hint(format!("start memfd_write {sock} first"))
                }
                _ => err,
            }
        })?;
        // setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, 5 s);
        set_socket_timeout(&s, Timeout::Recv, Some(RECV_TIMEOUT))
            .context("setsockopt SO_RCVTIMEO")?;
        // ANCHOR_END: connect

        // ANCHOR: recvmsg
        // recvmsg(s, &msg, MSG_CMSG_CLOEXEC); the descriptor arrives in msg's control data.
        let fd = receive_fd(&s).with_context(|| format!("recvmsg {sock}"))?;
        let file = File::from(fd);
        // ANCHOR_END: recvmsg

        // ANCHOR: check
        // fstat(fd, &st); fcntl(fd, F_GET_SEALS); fstat(fd, &st);
        // Another process's object: check it before mapping it.
        let st = file.metadata().context("fstat")?;
        if !st.file_type().is_file() {
            return Err(Error::msg(
                "fstat",
                "the descriptor is not a regular file; refused",
            ));
        }
        // EINVAL: not a file that can carry seals (not a memfd, or one made without
        // MFD_ALLOW_SEALING... which reports F_SEAL_SEAL instead).
        let seals = fcntl_get_seals(&file).map_err(|e| {
            Error::new("fcntl F_GET_SEALS", e.into()).hint("not a sealable memfd; refused")
        })?;
        // fstat(fd, &st) again: the size only now, after the seals. One read before them
        // could be stale: a writer may cut the object and then seal it in between.
        let len = file.metadata().context("fstat")?.len();
        println!(
            "received a descriptor: {len} bytes, seals: {}",
            seal_names(seals)
        );
        if !seals.contains(SealFlags::SHRINK) {
            let why = "no F_SEAL_SHRINK: the writer could shrink the object under this \
                       mapping and the next read would die of SIGBUS; refused";
            return Err(Error::msg("fcntl F_GET_SEALS", why));
        }
        // F_SEAL_WRITE cannot be added while a writable shared mapping exists, and refuses
        // every write and writable mapping after: the bytes this program reads through a
        // Rust slice cannot change under it (a change would be a data race).
        if !seals.contains(SealFlags::WRITE) {
            let why = "no F_SEAL_WRITE: the writer could change the records while this \
                       program reads them; refused";
            return Err(Error::msg("fcntl F_GET_SEALS", why));
        }
        // Sealed against shrinking, the size read after the seals stays at least this.
        if len != SIZE as u64 {
            let why = format!("{len} bytes, not {SIZE} (ten people records); refused");
            return Err(Error::msg("fstat", why));
        }
        // ANCHOR_END: check

        // ANCHOR: mmap
        // p = mmap(NULL, 80, PROT_READ, MAP_SHARED, fd, 0);
        // SAFETY: the object is SIZE bytes and sealed against shrinking and writing (checked
        // above): every mapped byte stays backed and no process can change it while the
        // slice below lives. The mapping is read-only.
        let map = unsafe { MmapOptions::new().len(SIZE).map(&file) }.context("mmap")?;
        // ANCHOR_END: mmap

        // ANCHOR: print
        // for (i = 0; i < 10; i++) printf("name: %.4s age %d;\n", p[i].name, p[i].age);
        let people: &[People] = bytemuck::cast_slice(&map[..]);
        for p in people {
            println!("name: {} age {};", p.name_lossy(), p.age);
        }
        // ANCHOR_END: print

        if args.wait_stdin {
            println!("mapped until a line arrives on stdin");
            let interrupts = Interrupts::block().context("sigprocmask")?;
            interrupts.wait_for_stdin()?;
            // The writer may be gone by now: the mapping holds the object all the same.
            let last = &people[people.len() - 1];
            println!(
                "after the wait: name: {} age {};",
                last.name_lossy(),
                last.age
            );
        }

        // ANCHOR: munmap
        // munmap(p, 80); close(fd);
        // The last reference to the object goes with this reader's descriptor and mapping,
        // unless the writer still holds its own.
        drop(map);
        drop(file);
        // ANCHOR_END: munmap
        Ok(())
    }

    /// Whether SOCKET is an abstract name, or a path to a socket file (`lstat`).
    fn is_socket_or_abstract(sock: &Socket) -> bool {
        use std::os::unix::fs::FileTypeExt;
        match sock {
            Socket::Abstract(_) => true,
            Socket::Path(path) => {
                std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
            }
        }
    }

    // ANCHOR: receive_fd
    /// `recvmsg` of memfd_write's one byte with room for one descriptor beside it.
    /// `MSG_CMSG_CLOEXEC`: the descriptor is close-on-exec from the moment it arrives.
    fn receive_fd(s: &OwnedFd) -> std::io::Result<OwnedFd> {
        let mut byte = [0u8; 1];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let msg = match recvmsg(
            s,
            &mut [IoSliceMut::new(&mut byte)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(msg) => msg,
            Err(Errno::AGAIN) => {
                let why = format!(
                    "no descriptor within {} s; the writer is not answering",
                    RECV_TIMEOUT.as_secs()
                );
                return Err(std::io::Error::other(why));
            }
            Err(e) => return Err(e.into()),
        };
        // Every descriptor that arrived is now ours (an OwnedFd closes it when dropped).
        let mut fds: Vec<OwnedFd> = Vec::new();
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(received) = message {
                fds.extend(received);
            }
        }
        if msg.flags.contains(ReturnFlags::CTRUNC) || fds.len() > 1 {
            return Err(std::io::Error::other(
                "more than one descriptor arrived; refused",
            ));
        }
        match fds.pop() {
            Some(fd) => Ok(fd),
            None if msg.bytes == 0 => Err(std::io::Error::other(
                "the writer closed the connection without sending a descriptor",
            )),
            None => Err(std::io::Error::other("a message came with no descriptor")),
        }
    }
    // ANCHOR_END: receive_fd
}
// ANCHOR_END: all
