//! Round trips of a small message: the parent sends it, the child answers. What a round trip
//! costs is mostly how the other process learns that something has arrived: a wakeup by the
//! kernel, or a cache line that changes under a spinning core.

use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Child, Context, Error, Fork, Result, exit_child, fork};

use crate::futex::{Wait, publish, spin_until, wait_for};
use crate::region::{Kind, Region};
use crate::watch::Watch;

/// The largest message a ping-pong carries: one cache line.
pub const MAX_MSG: usize = 64;

/// A way of bouncing a message between two processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinger {
    /// Two pipes, one each way
    Pipe,
    /// One socketpair(AF_UNIX, SOCK_STREAM)
    UnixSocket,
    /// A mailbox in POSIX shm, one cache line: the message's first 8 bytes (sequence number
    /// and its complement) as one atomic word, the rest right after it on the same line
    Shm(Wait),
    /// The limit: one atomic word in shared memory, set by one side and awaited (spinning) by
    /// the other; no message at all
    CacheLine,
}

impl Pinger {
    pub const ALL: [Pinger; 6] = [
        Pinger::CacheLine,
        Pinger::Pipe,
        Pinger::UnixSocket,
        Pinger::Shm(Wait::Block),
        Pinger::Shm(Wait::SpinThenBlock),
        Pinger::Shm(Wait::Spin),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Pinger::CacheLine => "cache-line ping-pong (limit)",
            Pinger::Pipe => "pipe",
            Pinger::UnixSocket => "unix socket",
            Pinger::Shm(Wait::Block) => "POSIX shm, futex",
            Pinger::Shm(Wait::SpinThenBlock) => "POSIX shm, spin then futex",
            Pinger::Shm(Wait::Spin) => "POSIX shm, spin (busy loop)",
        }
    }

    /// Whether it needs a CPU for each process.
    pub fn spins(self) -> bool {
        matches!(self, Pinger::CacheLine | Pinger::Shm(Wait::Spin))
    }
}

/// `rounds` round trips of a `msg`-byte message (8 or 64 bytes); returns the time of one.
/// Ctrl-C stops it (`Error::signal`), and so does the child's death.
pub fn run(pinger: Pinger, msg: usize, rounds: u64) -> Result<Duration> {
    match msg {
        8 => run_sized::<8>(pinger, rounds),
        MAX_MSG => run_sized::<MAX_MSG>(pinger, rounds),
        _ => Err(Error::msg(
            pinger.name(),
            format!("a message of {msg} bytes: 8 or {MAX_MSG} only"),
        )),
    }
}

/// `run` for a message of `N` bytes: the size is a constant in the loops, so that copying,
/// stamping and checking a message are a few unrolled moves, not calls to memcpy and a loop.
fn run_sized<const N: usize>(pinger: Pinger, rounds: u64) -> Result<Duration> {
    let label = pinger.name();
    let mut link = Link::new(pinger)?;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the benchmark starts no threads; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            crate::cpu::child_setup(parent);
            link.keep(false);
            let mut watch = Watch::child(parent);
            if let Err(err) = link.answer::<N>(rounds, &mut watch) {
                // A child whose parent has gone ends quietly: nobody is left to read it.
                if watch.stopped().is_none() {
                    eprintln!("ipc_bench: {}: answering: {err}", pinger.name());
                }
                exit_child(1)
            }
            exit_child(0)
        }
        Fork::Parent(pid) => {
            let mut watch = Watch::parent(Child::new(pid));
            // The child's ends closed here: its death is an end of file or a broken pipe.
            link.keep(true);
            let elapsed = link
                .ask::<N>(rounds, &mut watch)
                .map_err(|e| watch.failure(e, label, "answering process"))?;
            let status = watch
                .finish()
                .with_context(|| format!("{label}: waitpid"))?;
            if !status.success() {
                return Err(Error::msg(label, format!("answering process: {status}")));
            }
            Ok(elapsed / rounds as u32)
        }
    }
}

enum Link {
    /// (read end, write end) of the pipe to the child and of the pipe to the parent; after
    /// the fork each side keeps only the two ends it uses
    Pipes {
        to_child: (Option<File>, Option<File>),
        to_parent: (Option<File>, Option<File>),
    },
    /// the parent's end and the child's end; after the fork each side keeps its own
    Socket(Option<File>, Option<File>),
    Shm {
        region: Region,
        wait: Wait,
    },
    CacheLine(Region),
}

/// In the shm region, used by both directions in turn: the whole message on the first cache
/// line, its first 8 bytes at 0 (the head: one atomic word, stored last and with Release), its
/// other bytes right after, at 8. Whatever the size, a round trip moves that one line there
/// and back, like the limit. The parent's sleeping flag is at 128, the child's at 192 (only
/// touched by a side about to sleep, and read by the other side to see whether to wake it).
const HEAD: usize = 0;
const BODY: usize = 8;
const PARENT_SLEEPING: usize = 128;
const CHILD_SLEEPING: usize = 192;

/// Round trip `i` asks with sequence number 2i + 1 and is answered with 2i + 2 (the mailbox
/// starts at 0); in the mailbox both go through the same cache line, as in the limit.
fn seqs(i: u64) -> (u32, u32) {
    let request = (2 * i + 1) as u32;
    (request, request + 1)
}

impl Link {
    fn new(pinger: Pinger) -> Result<Link> {
        Ok(match pinger {
            Pinger::Pipe => {
                let (a, b) = io::pipe().context("pipe")?;
                let (c, d) = io::pipe().context("pipe")?;
                Link::Pipes {
                    to_child: (Some(file(a)), Some(file(b))),
                    to_parent: (Some(file(c)), Some(file(d))),
                }
            }
            Pinger::UnixSocket => {
                let (a, b) = std::os::unix::net::UnixStream::pair().context("socketpair")?;
                Link::Socket(Some(file(a)), Some(file(b)))
            }
            Pinger::Shm(wait) => Link::Shm {
                region: Region::new(Kind::PosixShm, 4096)?,
                wait,
            },
            Pinger::CacheLine => Link::CacheLine(Region::new(Kind::PosixShm, 4096)?),
        })
    }

    /// After the fork: the parent (`parent` true) closes the child's ends and the child the
    /// parent's, so that either side's death is an end of file for the other, not a wait.
    fn keep(&mut self, parent: bool) {
        match self {
            Link::Pipes {
                to_child,
                to_parent,
            } => {
                if parent {
                    drop(to_child.0.take());
                    drop(to_parent.1.take());
                } else {
                    drop(to_child.1.take());
                    drop(to_parent.0.take());
                }
            }
            Link::Socket(mine, theirs) => drop(if parent { theirs.take() } else { mine.take() }),
            Link::Shm { .. } | Link::CacheLine(_) => {}
        }
    }

    /// The parent: `rounds` requests of `N` bytes, each time waiting for the answer.
    fn ask<const N: usize>(&mut self, rounds: u64, watch: &mut Watch) -> io::Result<Duration> {
        let mut out = [0u8; N];
        let mut back = [0u8; N];
        let (out, back) = (&mut out, &mut back);
        let start = Instant::now();
        for i in 0..rounds {
            watch.tick()?;
            let (request, reply) = seqs(i);
            match self {
                Link::Pipes {
                    to_child: (_, Some(tx)),
                    to_parent: (Some(rx), _),
                } => {
                    stamp(out, request);
                    watch.write_all(tx, out.as_slice())?;
                    watch.read_exact(rx, back.as_mut_slice())?;
                }
                Link::Socket(Some(sock), _) => {
                    stamp(out, request);
                    watch.write_all(sock, out.as_slice())?;
                    watch.read_exact(sock, back.as_mut_slice())?;
                }
                Link::Shm { region, wait } => {
                    stamp(out, request);
                    put(region, out, CHILD_SLEEPING, *wait);
                    take(region, back, head(reply), PARENT_SLEEPING, *wait, watch)?;
                }
                Link::CacheLine(region) => {
                    let word = word(region, HEAD);
                    word.store(request, Ordering::Release);
                    spin_until(word, reply, watch)?;
                    continue;
                }
                _ => return Err(wrong_side()),
            }
            check(back, reply)?;
        }
        Ok(start.elapsed())
    }

    /// The child: answers `rounds` requests of `N` bytes.
    fn answer<const N: usize>(&mut self, rounds: u64, watch: &mut Watch) -> io::Result<()> {
        let mut buf = [0u8; N];
        let buf = &mut buf;
        for i in 0..rounds {
            watch.tick()?;
            let (request, reply) = seqs(i);
            match self {
                Link::Pipes {
                    to_child: (Some(rx), _),
                    to_parent: (_, Some(tx)),
                } => {
                    rx.read_exact(buf)?;
                    check(buf, request)?;
                    stamp(buf, reply);
                    tx.write_all(buf)?;
                }
                Link::Socket(_, Some(sock)) => {
                    sock.read_exact(buf)?;
                    check(buf, request)?;
                    stamp(buf, reply);
                    sock.write_all(buf)?;
                }
                Link::Shm { region, wait } => {
                    take(region, buf, head(request), CHILD_SLEEPING, *wait, watch)?;
                    check(buf, request)?;
                    stamp(buf, reply);
                    put(region, buf, PARENT_SLEEPING, *wait);
                }
                Link::CacheLine(region) => {
                    let word = word(region, HEAD);
                    spin_until(word, request, watch)?;
                    word.store(reply, Ordering::Release);
                }
                _ => return Err(wrong_side()),
            }
        }
        Ok(())
    }
}

fn wrong_side() -> io::Error {
    io::Error::other("link used on the wrong side")
}

/// Writes `msg` into the mailbox: its bytes after the first 8 into the body, then the first
/// 8 (sequence number and complement) into the head with one Release store, so that a reader
/// who sees the head sees the body. Wakes the other side if its flag at `taker` says it sleeps.
#[inline]
fn put<const N: usize>(region: &Region, msg: &[u8; N], taker: usize, how: Wait) {
    let body = region.as_ptr().wrapping_add(BODY);
    // SAFETY: the body is the N - 8 bytes after the head, on the head's cache line inside
    // the region; the other side reads them only after it sees the new head (published
    // below with Release), and it wrote its own message there before publishing the head
    // this side waited for.
    unsafe { std::ptr::copy_nonoverlapping(msg[8..].as_ptr(), body, N - 8) };
    publish(head_word(region), head_of(msg), flag(region, taker), how);
}

/// Waits for the mailbox's head to be `want` (this side's flag at `sleeping`), then copies
/// the message into `out`. `watch` ends the wait if the other side dies.
#[inline]
fn take<const N: usize>(
    region: &Region,
    out: &mut [u8; N],
    want: u64,
    sleeping: usize,
    wait: Wait,
    watch: &mut Watch,
) -> io::Result<()> {
    wait_for(head_word(region), want, flag(region, sleeping), wait, watch)?;
    out[..8].copy_from_slice(&want.to_ne_bytes());
    let body = region.as_ptr().wrapping_add(BODY);
    // SAFETY: the other side finished the body before it published the head (seen with
    // Acquire in wait_for), and does not touch the mailbox again until this side answers.
    unsafe { std::ptr::copy_nonoverlapping(body, out[8..].as_mut_ptr(), N - 8) };
    Ok(())
}

fn head_word(region: &Region) -> &AtomicU64 {
    // SAFETY: the head is the first, 64-aligned u64 of the region, mapped as long as the
    // borrow of `region`; both processes touch it only atomically.
    unsafe { AtomicU64::from_ptr(region.as_ptr().wrapping_add(HEAD).cast()) }
}

/// The CacheLine limit's word, or a sleeping flag.
fn word(region: &Region, at: usize) -> &AtomicU32 {
    // SAFETY: `at` is a 64-aligned word in the first page of the region, mapped as long as
    // the borrow of `region`; both processes touch it only atomically.
    unsafe { AtomicU32::from_ptr(region.as_ptr().wrapping_add(at).cast()) }
}

fn flag(region: &Region, at: usize) -> &AtomicU32 {
    word(region, at)
}

/// Any descriptor as a File, for its read_exact and write_all.
fn file(fd: impl Into<std::os::fd::OwnedFd>) -> File {
    File::from(fd.into())
}

/// A message with sequence number `seq`: `seq` in the first 4 bytes, its complement in the
/// next 4, the rest filled with its low byte.
#[inline]
fn stamp<const N: usize>(msg: &mut [u8; N], seq: u32) {
    msg[..8].copy_from_slice(&head(seq).to_ne_bytes());
    msg[8..].fill(seq as u8);
}

/// The first 8 bytes of message `seq`, as the u64 the mailbox's head holds.
#[inline]
fn head(seq: u32) -> u64 {
    let mut first = [0u8; 8];
    first[..4].copy_from_slice(&seq.to_ne_bytes());
    first[4..].copy_from_slice(&(!seq).to_ne_bytes());
    u64::from_ne_bytes(first)
}

/// The first 8 bytes of `msg`, as a u64.
#[inline]
fn head_of<const N: usize>(msg: &[u8; N]) -> u64 {
    u64::from_ne_bytes(msg[..8].try_into().unwrap_or_default())
}

/// Whether `msg` is message `seq`, every byte of it. The body's bytes are compared without
/// stopping at the first difference (an OR of XORs), which the compiler turns into a few
/// vector compares; inlined, so that they compare the bytes as they were loaded from the
/// mailbox, without storing them first.
#[inline(always)]
fn check<const N: usize>(msg: &[u8; N], seq: u32) -> io::Result<()> {
    let fill = seq as u8;
    let diff = msg[8..].iter().fold(0u8, |acc, &b| acc | (b ^ fill));
    if head_of(msg) != head(seq) || diff != 0 {
        return Err(changed(seq));
    }
    Ok(())
}

/// The error of a message that arrived changed: out of the loops, so that `check` stays small.
#[cold]
#[inline(never)]
fn changed(seq: u32) -> io::Error {
    io::Error::other(format!("message {seq} arrived changed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte counts: a message passes its own check, and fails it with any one byte
    /// changed, or when checked as another sequence number.
    fn every_byte_is_checked<const N: usize>() {
        let mut msg = [0u8; N];
        stamp(&mut msg, 0x1234_5678);
        assert!(check(&msg, 0x1234_5678).is_ok());
        assert!(check(&msg, 0x1234_5679).is_err());
        for i in 0..N {
            let mut changed = msg;
            changed[i] ^= 1;
            assert!(check(&changed, 0x1234_5678).is_err(), "byte {i} of {N}");
        }
    }

    #[test]
    fn a_changed_byte_of_a_message_is_caught() {
        every_byte_is_checked::<8>();
        every_byte_is_checked::<MAX_MSG>();
    }
}
