//! Moving bytes from one process to another, each transport in its own way, every byte
//! checksummed by the receiver.
//!
//! One run: the parent makes the channel, forks, the child (the receiver) gets ready and says
//! so, the parent starts the clock, sends `count` messages, and stops the clock when the
//! child reports the sum of its checksums, which must be the sum the parent expects.

use std::fs::File;
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::{Duration, Instant};

use common::{Child, Context, Error, Fork, Result, exit_child, fork};

use crate::data::{Source, buffer, checksum};
use crate::futex::{Wait, publish, wait_for};
use crate::region::{Kind, Region};
use crate::report::size_name;
use crate::watch::Watch;

/// A way of moving bytes between two processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// pipe(2), write(2) and read(2)
    Pipe,
    /// socketpair(AF_UNIX, SOCK_STREAM), write and read
    UnixSocket,
    /// a regular file: pwrite, a byte down a pipe to say so, pread, a byte back
    File,
    /// a ring of message slots (2 MiB of them) in shared memory, handed over with futex words
    Ring(Kind, Wait),
}

impl Transport {
    /// Every transport, in the order the table shows them.
    pub const ALL: [Transport; 8] = [
        Transport::Pipe,
        Transport::UnixSocket,
        Transport::File,
        Transport::Ring(Kind::MappedFile, Wait::Block),
        Transport::Ring(Kind::PosixShm, Wait::Block),
        Transport::Ring(Kind::SysvShm, Wait::Block),
        Transport::Ring(Kind::PosixShm, Wait::SpinThenBlock),
        Transport::Ring(Kind::PosixShm, Wait::Spin),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Transport::Pipe => "pipe",
            Transport::UnixSocket => "unix socket",
            Transport::File => "file (pwrite/pread)",
            Transport::Ring(Kind::MappedFile, _) => "mapped file, futex",
            Transport::Ring(Kind::SysvShm, _) => "System V shm, futex",
            Transport::Ring(Kind::PosixShm, Wait::Block) => "POSIX shm, futex",
            Transport::Ring(Kind::PosixShm, Wait::SpinThenBlock) => "POSIX shm, spin then futex",
            Transport::Ring(Kind::PosixShm, Wait::Spin) => "POSIX shm, spin (busy loop)",
        }
    }

    /// Whether it needs a CPU for each process (it spins while the other side works).
    pub fn spins(self) -> bool {
        matches!(self, Transport::Ring(_, Wait::Spin))
    }
}

/// Bytes of message slots in a ring (two 1 MiB slots, or 512 of 4 KiB): enough for the
/// writer to run ahead while the reader wakes up, so that a sleep and a wakeup are paid
/// once per many messages, not once per message.
const RING: usize = 2 << 20;

/// Slots in the ring for messages of `msg` bytes: at least two, so that the writer fills
/// one while the reader checksums another.
fn slots(msg: usize) -> usize {
    (RING / msg).clamp(2, 512)
}

/// The ring's first pages hold the handoff words, one cache line each; the slots follow,
/// page-aligned.
fn header(slots: usize) -> usize {
    (64 * (slots + 2)).next_multiple_of(4096)
}

/// The file transport keeps two slots (pwrite one while the reader preads the other).
const FILE_SLOTS: usize = 2;

/// Sends `count` messages of `msg` bytes through `transport`; returns the time from the first
/// byte sent to the receiver's last checksum. Errors name the run (`pipe (4 KiB messages)`);
/// Ctrl-C stops the run (`Error::signal`), and so does the receiver's death.
pub fn run(transport: Transport, msg: usize, count: u64, corrupt: bool) -> Result<Duration> {
    let label = format!("{} ({} messages)", transport.name(), size_name(msg));
    let mut src = Source::new(msg);
    let expected = (0..count).fold(0u64, |sum, seq| sum.wrapping_add(src.expected(seq)));
    let mut channel = Channel::new(transport, msg)?;
    // The child's line back: one byte when it is ready, then its sum of checksums.
    let (mut from_child, to_parent) = io::pipe().context("pipe")?;

    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the benchmark starts no threads; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            drop(from_child);
            crate::cpu::child_setup(parent);
            let mut watch = Watch::child(parent);
            let result = receive(&mut channel, msg, count, to_parent, &mut watch);
            if let Err(err) = result {
                // A child whose parent has gone ends quietly: nobody is left to read it.
                if watch.stopped().is_none() {
                    eprintln!("ipc_bench: {}: receiver: {err}", transport.name());
                }
                exit_child(1)
            }
            exit_child(0)
        }
        Fork::Parent(pid) => {
            let mut watch = Watch::parent(Child::new(pid));
            drop(to_parent);
            channel.parent_side();
            let sent = (|| {
                watch.read_exact(&mut from_child, &mut [0u8])?; // ready
                let start = Instant::now();
                send(&mut channel, &mut src, count, corrupt, &mut watch)?;
                let mut sum = [0u8; 8];
                watch.read_exact(&mut from_child, &mut sum)?;
                Ok((start.elapsed(), sum))
            })();
            let (elapsed, sum) = sent.map_err(|e| watch.failure(e, &label, "receiver"))?;
            let status = watch
                .finish()
                .with_context(|| format!("{label}: waitpid"))?;
            if !status.success() {
                return Err(Error::msg(label, format!("receiver: {status}")));
            }
            if u64::from_ne_bytes(sum) != expected {
                return Err(Error::msg(
                    label,
                    "checksum mismatch: the bytes received are not the bytes sent",
                ));
            }
            Ok(elapsed)
        }
    }
}

/// Both ends of a channel until the fork; then each process drops the end it does not use.
enum Channel {
    Stream {
        tx: Option<OwnedFd>,
        rx: Option<OwnedFd>,
    },
    File {
        file: File,
        notify: (Option<PipeReader>, Option<PipeWriter>),
        ack: (Option<PipeReader>, Option<PipeWriter>),
    },
    Ring {
        region: Region,
        wait: Wait,
        msg: usize,
    },
}

impl Channel {
    fn new(transport: Transport, msg: usize) -> Result<Channel> {
        Ok(match transport {
            Transport::Pipe => {
                let (rx, tx) = io::pipe().context("pipe")?;
                // A pipe holds 64 KiB by default; let it hold a whole message, up to the
                // system's limit (/proc/sys/fs/pipe-max-size, 1 MiB by default).
                // SAFETY: F_SETPIPE_SZ takes an int; failure leaves the size as it was.
                unsafe {
                    libc::fcntl(
                        tx.as_raw_fd(),
                        libc::F_SETPIPE_SZ,
                        msg.max(65536) as libc::c_int,
                    )
                };
                Channel::Stream {
                    tx: Some(tx.into()),
                    rx: Some(rx.into()),
                }
            }
            Transport::UnixSocket => {
                let (a, b) = std::os::unix::net::UnixStream::pair().context("socketpair")?;
                Channel::Stream {
                    tx: Some(a.into()),
                    rx: Some(b.into()),
                }
            }
            Transport::File => {
                let what = format!("a temp file in {}", std::env::temp_dir().display());
                let file = tempfile::tempfile().with_context(|| format!("open {what}"))?;
                // ftruncate(fd, 2 * msg); no posix_fallocate: pwrite and pread, not a
                // mapping, so a full disk is an error from pwrite, never a signal.
                file.set_len((FILE_SLOTS * msg) as u64)
                    .with_context(|| format!("ftruncate {what}"))?;
                let (nr, nw) = io::pipe().context("pipe")?;
                let (ar, aw) = io::pipe().context("pipe")?;
                Channel::File {
                    file,
                    notify: (Some(nr), Some(nw)),
                    ack: (Some(ar), Some(aw)),
                }
            }
            Transport::Ring(kind, wait) => {
                let slots = slots(msg);
                Channel::Ring {
                    region: Region::new(kind, header(slots) + slots * msg)?,
                    wait,
                    msg,
                }
            }
        })
    }

    /// The parent sends: it keeps the sending ends.
    fn parent_side(&mut self) {
        match self {
            Channel::Stream { rx, .. } => drop(rx.take()),
            Channel::File { notify, ack, .. } => {
                drop(notify.0.take());
                drop(ack.1.take());
            }
            Channel::Ring { .. } => {}
        }
    }

    /// The child receives: it keeps the receiving ends.
    fn child_side(&mut self) {
        match self {
            Channel::Stream { tx, .. } => drop(tx.take()),
            Channel::File { notify, ack, .. } => {
                drop(notify.1.take());
                drop(ack.0.take());
            }
            Channel::Ring { .. } => {}
        }
    }
}

fn send(
    channel: &mut Channel,
    src: &mut Source,
    count: u64,
    corrupt: bool,
    watch: &mut Watch,
) -> io::Result<()> {
    match channel {
        Channel::Stream { tx: Some(tx), .. } => {
            let mut tx = File::from(tx.try_clone()?);
            for seq in 0..count {
                watch.tick()?;
                let msg = src.message(seq);
                if corrupt && seq == count / 2 {
                    let mut bad = msg.to_vec();
                    bad[msg.len() / 2] ^= 1;
                    watch.write_all(&mut tx, &bad)?;
                } else {
                    watch.write_all(&mut tx, msg)?;
                }
            }
            Ok(())
        }
        Channel::File {
            file,
            notify: (_, Some(notify)),
            ack: (Some(ack), _),
        } => {
            let mut credits = FILE_SLOTS as u64;
            for seq in 0..count {
                watch.tick()?;
                if credits == 0 {
                    watch.read_exact(ack, &mut [0u8])?;
                    credits += 1;
                }
                let msg = src.message(seq);
                let offset = (seq as usize % FILE_SLOTS) * msg.len();
                file.write_all_at(msg, offset as u64)?;
                if corrupt && seq == count / 2 {
                    file.write_all_at(&[msg[msg.len() / 2] ^ 1], (offset + msg.len() / 2) as u64)?;
                }
                watch.write_all(notify, &[0])?;
                credits -= 1;
            }
            Ok(())
        }
        Channel::Ring { region, wait, msg } => {
            let ring = Ring::new(region, *msg);
            for seq in 0..count {
                watch.tick()?;
                let k = seq as usize % ring.slots;
                // Wait until the reader has emptied slot k.
                wait_for(ring.full(k), 0, ring.writer_sleeping(), *wait, watch)?;
                let slot = ring.slot_mut(k);
                slot.copy_from_slice(src.message(seq));
                if corrupt && seq == count / 2 {
                    slot[*msg / 2] ^= 1;
                }
                publish(ring.full(k), 1, ring.reader_sleeping(), *wait);
            }
            Ok(())
        }
        _ => Err(io::Error::other("channel used on the wrong side")),
    }
}

fn receive(
    channel: &mut Channel,
    msg: usize,
    count: u64,
    mut to_parent: PipeWriter,
    watch: &mut Watch,
) -> io::Result<()> {
    channel.child_side();
    to_parent.write_all(&[1])?; // ready
    let mut sum = 0u64;
    match channel {
        Channel::Stream { rx: Some(rx), .. } => {
            let mut rx = File::from(rx.try_clone()?);
            let mut buf = buffer(msg);
            for _ in 0..count {
                watch.tick()?;
                let bytes = &mut bytemuck::cast_slice_mut(&mut buf)[..msg];
                rx.read_exact(bytes)?;
                sum = sum.wrapping_add(checksum(bytes));
            }
        }
        Channel::File {
            file,
            notify: (Some(notify), _),
            ack: (_, Some(ack)),
        } => {
            let mut buf = buffer(msg);
            for seq in 0..count {
                watch.tick()?;
                notify.read_exact(&mut [0u8])?;
                let bytes = &mut bytemuck::cast_slice_mut(&mut buf)[..msg];
                file.read_exact_at(bytes, ((seq as usize % FILE_SLOTS) * msg) as u64)?;
                sum = sum.wrapping_add(checksum(bytes));
                ack.write_all(&[0])?;
            }
        }
        Channel::Ring { region, wait, msg } => {
            let ring = Ring::new(region, *msg);
            for seq in 0..count {
                watch.tick()?;
                let k = seq as usize % ring.slots;
                wait_for(ring.full(k), 1, ring.reader_sleeping(), *wait, watch)?;
                // Checksummed where it lies: shared memory needs no copy out.
                sum = sum.wrapping_add(checksum(ring.slot(k)));
                publish(ring.full(k), 0, ring.writer_sleeping(), *wait);
            }
        }
        _ => return Err(io::Error::other("channel used on the wrong side")),
    }
    to_parent.write_all(&sum.to_ne_bytes())
}

/// The ring's layout over a region: `full[k]` (0 empty, 1 full) on its own cache line each,
/// the two sleeping flags, then the slots.
struct Ring<'a> {
    base: *mut u8,
    msg: usize,
    slots: usize,
    _region: &'a Region,
}

impl<'a> Ring<'a> {
    fn new(region: &'a Region, msg: usize) -> Ring<'a> {
        Ring {
            base: region.as_ptr(),
            msg,
            slots: slots(msg),
            _region: region,
        }
    }

    fn full(&self, k: usize) -> &AtomicU64 {
        // SAFETY: 64 * k is one of the 64-aligned words of the header, inside the region,
        // which both processes only touch atomically.
        unsafe { AtomicU64::from_ptr(self.base.wrapping_add(64 * k).cast()) }
    }

    fn word(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: `offset` is one of the 64-aligned words of the header page, inside the
        // region, which both processes only touch atomically.
        unsafe { AtomicU32::from_ptr(self.base.wrapping_add(offset).cast()) }
    }

    fn reader_sleeping(&self) -> &AtomicU32 {
        self.word(64 * self.slots)
    }

    fn writer_sleeping(&self) -> &AtomicU32 {
        self.word(64 * (self.slots + 1))
    }

    /// Slot `k`, for the writer: only while `full[k]` is 0 (the reader is done with it).
    #[allow(clippy::mut_from_ref)]
    fn slot_mut(&self, k: usize) -> &mut [u8] {
        let start = self.base.wrapping_add(header(self.slots) + k * self.msg);
        // SAFETY: the slot lies inside the region; the writer takes this view only after it
        // has seen full[k] == 0 (Acquire) and drops it before publishing full[k] = 1
        // (Release), so the reader never looks at it meanwhile.
        unsafe { std::slice::from_raw_parts_mut(start, self.msg) }
    }

    /// Slot `k`, for the reader: only while `full[k]` is 1.
    fn slot(&self, k: usize) -> &[u8] {
        let start = self.base.wrapping_add(header(self.slots) + k * self.msg);
        // SAFETY: as for slot_mut, the other way round: the reader looks only between seeing
        // full[k] == 1 and publishing full[k] = 0, while the writer leaves the slot alone.
        unsafe { std::slice::from_raw_parts(start, self.msg) }
    }
}
