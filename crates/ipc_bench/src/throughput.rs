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
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Child, Context, Error, Fork, Result, exit_child, fork};

use crate::data::{Source, buffer, checksum};
use crate::futex::{Wait, futex_wake, wait_for};
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
    /// a ring of message slots (2 MiB of them, or 8 slots) in shared memory, handed over with
    /// futex words
    Ring(Kind, Wait),
    /// the POSIX shm ring (spin then futex), with no copy: the sender builds each message in
    /// its slot (a loan, as iceoryx2 calls it) instead of copying it there
    Loan,
}

impl Transport {
    /// Every transport, in the order the table shows them.
    pub const ALL: [Transport; 10] = [
        Transport::Pipe,
        Transport::UnixSocket,
        Transport::File,
        Transport::Ring(Kind::MappedFile, Wait::Block),
        Transport::Ring(Kind::PosixShm, Wait::Block),
        Transport::Ring(Kind::SysvShm, Wait::Block),
        Transport::Ring(Kind::Memfd, Wait::Block),
        Transport::Ring(Kind::PosixShm, Wait::SpinThenBlock),
        Transport::Ring(Kind::PosixShm, Wait::Spin),
        Transport::Loan,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Transport::Pipe => "pipe",
            Transport::UnixSocket => "unix socket",
            Transport::File => "file (pwrite/pread)",
            Transport::Ring(Kind::MappedFile, _) => "mapped file, futex",
            Transport::Ring(Kind::SysvShm, _) => "System V shm, futex",
            Transport::Ring(Kind::Memfd, _) => "memfd, futex",
            Transport::Ring(Kind::PosixShm, Wait::Block) => "POSIX shm, futex",
            Transport::Ring(Kind::PosixShm, Wait::SpinThenBlock) => "POSIX shm, spin then futex",
            Transport::Ring(Kind::PosixShm, Wait::Spin) => "POSIX shm, spin (busy loop)",
            Transport::Loan => "POSIX shm, zero copy (loan)",
        }
    }

    /// Whether it needs a CPU for each process (it spins while the other side works).
    pub fn spins(self) -> bool {
        matches!(self, Transport::Ring(_, Wait::Spin))
    }

    /// Whether it is a ring whose sides may sleep (and be woken by FUTEX_WAKE).
    pub fn sleeps(self) -> bool {
        matches!(
            self,
            Transport::Ring(_, Wait::Block | Wait::SpinThenBlock) | Transport::Loan
        )
    }
}

/// Bytes of message slots in a ring: enough for the writer to run on while the reader wakes
/// up, so that a sleep and a wake-up are paid once per many messages, not once per message;
/// and no more than a core's L2 cache holds (an 8 MiB ring measured a quarter slower).
const RING: usize = 2 << 20;

/// Slots in the ring for messages of `msg` bytes: sized in bytes (RING), but never fewer than
/// 8, so that the big messages are batched too, and never more than 512.
fn slots(msg: usize) -> usize {
    (RING / msg).clamp(8, 512)
}

/// How many messages a side lets pile up for a sleeping partner before it wakes it: a
/// quarter of the ring. A sleeper then pays one wake-up per quarter ring, and the other side
/// still has three quarters to fill (or empty) while it wakes.
fn batch(slots: usize) -> usize {
    (slots / 4).max(1)
}

/// The ring's first pages hold the handoff words, one cache line each; the slots follow,
/// page-aligned.
fn header(slots: usize) -> usize {
    (64 * (slots + 4)).next_multiple_of(4096)
}

/// The file transport keeps two slots (pwrite one while the reader preads the other).
const FILE_SLOTS: usize = 2;

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// From the first byte sent to the receiver's last checksum.
    pub elapsed: Duration,
    /// FUTEX_WAKE calls, both sides together (rings only; 0 for the others).
    pub wakes: u64,
    /// CPU time (user and system) of the writer and of the reader during the run.
    pub cpu: (Duration, Duration),
}

/// How long a side of a ring waits, with nothing to do, in [`idle`].
pub const IDLE: Duration = Duration::from_millis(300);

/// What a ring costs while no data moves: the CPU each side uses while it waits for the
/// other, as a share of the time it waits ([`IDLE`]). The writer first waits IDLE before its
/// first message (the reader idles), then fills the ring and waits for a free slot, while the
/// reader waits IDLE after its first message (the writer idles). Returns (writer, reader),
/// in % of one CPU.
pub fn idle(transport: Transport) -> Result<(f64, f64)> {
    let msg = 4096;
    // Message 0, then enough to fill every slot and wait for one more.
    let count = slots(msg) as u64 + 2;
    let m = run_with(transport, msg, count, false, IDLE)?;
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / IDLE.as_secs_f64();
    Ok((pct(m.cpu.0), pct(m.cpu.1)))
}

/// CPU time this process has used, user and system: getrusage(RUSAGE_SELF).
fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value for the kernel to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a writable rusage; RUSAGE_SELF cannot fail.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Sends `count` messages of `msg` bytes through `transport`; returns the time from the first
/// byte sent to the receiver's last checksum. Errors name the run (`pipe (4 KiB messages)`);
/// Ctrl-C stops the run (`Error::signal`), and so does the receiver's death.
pub fn run(transport: Transport, msg: usize, count: u64, corrupt: bool) -> Result<Measured> {
    run_with(transport, msg, count, corrupt, Duration::ZERO)
}

/// [`run`], with a ring's sides pausing for `pause` (see [`idle`]).
fn run_with(
    transport: Transport,
    msg: usize,
    count: u64,
    corrupt: bool,
    pause: Duration,
) -> Result<Measured> {
    let label = format!("{} ({} messages)", transport.name(), size_name(msg));
    let mut src = Source::new(msg);
    let expected = (0..count).fold(0u64, |sum, seq| sum.wrapping_add(src.expected(seq)));
    let mut channel = Channel::new(transport, msg)?;
    if let Channel::Ring { pause: p, .. } = &mut channel {
        *p = pause;
    }
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
                let cpu = cpu_time();
                let wakes = send(&mut channel, &mut src, count, corrupt, &mut watch)?;
                let cpu = cpu_time() - cpu;
                let mut sum = [0u8; 8];
                watch.read_exact(&mut from_child, &mut sum)?;
                let elapsed = start.elapsed();
                let mut child = [0u8; 16];
                watch.read_exact(&mut from_child, &mut child)?;
                let [w, c] = bytemuck::cast::<[u8; 16], [u64; 2]>(child);
                Ok((elapsed, sum, wakes + w, (cpu, Duration::from_nanos(c))))
            })();
            let (elapsed, sum, wakes, cpu) =
                sent.map_err(|e| watch.failure(e, &label, "receiver"))?;
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
            Ok(Measured {
                elapsed,
                wakes,
                cpu,
            })
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
        /// The sender builds messages in their slots (Transport::Loan).
        loan: bool,
        /// The writer waits this long before its first message, the reader after it ([`idle`]).
        pause: Duration,
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
                    loan: false,
                    pause: Duration::ZERO,
                }
            }
            Transport::Loan => {
                let slots = slots(msg);
                Channel::Ring {
                    region: Region::new(Kind::PosixShm, header(slots) + slots * msg)?,
                    wait: Wait::SpinThenBlock,
                    msg,
                    loan: true,
                    pause: Duration::ZERO,
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

/// Sends the messages; returns the FUTEX_WAKE calls it made.
fn send(
    channel: &mut Channel,
    src: &mut Source,
    count: u64,
    corrupt: bool,
    watch: &mut Watch,
) -> io::Result<u64> {
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
            Ok(0)
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
            Ok(0)
        }
        Channel::Ring {
            region,
            wait,
            msg,
            loan,
            pause,
        } => {
            let ring = Ring::new(region, *msg);
            let mut reader = Partner::new(Side::Reader);
            let mut waits = 0;
            std::thread::sleep(*pause);
            for seq in 0..count {
                watch.tick()?;
                let k = seq as usize % ring.slots;
                // Wait until the reader has emptied slot k; the reader must be awake for
                // that, whatever the batch says.
                if ring.full(k).load(Ordering::Acquire) != 0 {
                    reader.wake(&ring);
                    waits = ring.announce(Side::Writer, k, waits);
                    wait_for(ring.full(k), 0, ring.sleeping(Side::Writer), *wait, watch)?;
                }
                let slot = ring.slot_mut(k);
                if !*loan {
                    slot.copy_from_slice(src.message(seq));
                } else if seq < ring.slots as u64 {
                    // A loan: the message is built where it will be read. Building it here
                    // means writing its payload (the same in every message) the first time
                    // the slot is used, then only its sequence number.
                    slot.copy_from_slice(src.message(seq));
                } else {
                    slot[..8].copy_from_slice(&seq.to_ne_bytes());
                }
                if corrupt && seq == count / 2 {
                    slot[*msg / 2] ^= 1;
                }
                ring.publish(k, 1, *wait);
                if *wait != Wait::Spin {
                    reader.published(&ring, k);
                }
            }
            // The last messages: a reader asleep on them must not wait for a batch.
            reader.wake(&ring);
            Ok(reader.wakes)
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
    let cpu = cpu_time();
    let mut sum = 0u64;
    let mut wakes = 0u64;
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
        Channel::Ring {
            region,
            wait,
            msg,
            pause,
            ..
        } => {
            let ring = Ring::new(region, *msg);
            let mut writer = Partner::new(Side::Writer);
            let mut waits = 0;
            for seq in 0..count {
                if seq == 1 {
                    std::thread::sleep(*pause);
                }
                watch.tick()?;
                let k = seq as usize % ring.slots;
                // Nothing to read: the writer must be awake to write it.
                if ring.full(k).load(Ordering::Acquire) != 1 {
                    writer.wake(&ring);
                    waits = ring.announce(Side::Reader, k, waits);
                    wait_for(ring.full(k), 1, ring.sleeping(Side::Reader), *wait, watch)?;
                }
                // Checksummed where it lies: shared memory needs no copy out.
                sum = sum.wrapping_add(checksum(ring.slot(k)));
                ring.publish(k, 0, *wait);
                if *wait != Wait::Spin {
                    writer.published(&ring, k);
                }
            }
            writer.wake(&ring);
            wakes = writer.wakes;
        }
        _ => return Err(io::Error::other("channel used on the wrong side")),
    }
    let cpu = (cpu_time() - cpu).as_nanos() as u64;
    to_parent.write_all(&sum.to_ne_bytes())?;
    to_parent.write_all(bytemuck::bytes_of(&[wakes, cpu]))
}

/// The two sides of a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Writer,
    Reader,
}

/// The other side of a ring, as this side sees it: whether it sleeps, on which slot, and
/// whether this side has woken it for that sleep already.
///
/// Batching: a side that publishes a slot does not wake a sleeping partner at once, but when
/// `batch` slots are ready for it, or when it must wait itself, or at its end. The partner
/// sleeps on the word of the slot it needs next and says which in its `waits_on` word
/// (with a generation number, so that two sleeps on the same slot a lap apart differ).
struct Partner {
    side: Side,
    /// The `waits_on` value of the sleep this side last woke.
    woken: u32,
    wakes: u64,
}

impl Partner {
    fn new(side: Side) -> Partner {
        // 0 is the word's value in a new ring, which no announced wait has: its generation
        // starts at 1. (Reading the word here instead would race with a first announce.)
        Partner {
            side,
            woken: 0,
            wakes: 0,
        }
    }

    /// The slot the partner sleeps on, if it sleeps and this side has not woken it yet.
    fn asleep_on(&self, ring: &Ring<'_>) -> Option<(usize, u32)> {
        if ring.sleeping(self.side).load(Ordering::SeqCst) == 0 {
            return None;
        }
        let waits_on = ring.waits_on(self.side).load(Ordering::SeqCst);
        (waits_on != self.woken).then_some(((waits_on & 0xffff) as usize, waits_on))
    }

    /// This side has just published slot `k`: wake the partner if it sleeps on a slot that is
    /// now `batch` slots or more behind `k`, all of them ready for it.
    fn published(&mut self, ring: &Ring<'_>, k: usize) {
        if let Some((j, waits_on)) = self.asleep_on(ring) {
            let ready = (k + ring.slots - j) % ring.slots + 1;
            if ready >= ring.batch {
                self.wake_on(ring, j, waits_on);
            }
        }
    }

    /// Wake the partner now if it sleeps: this side is about to wait for it, or has ended.
    fn wake(&mut self, ring: &Ring<'_>) {
        if let Some((j, waits_on)) = self.asleep_on(ring) {
            self.wake_on(ring, j, waits_on);
        }
    }

    fn wake_on(&mut self, ring: &Ring<'_>, j: usize, waits_on: u32) {
        futex_wake(ring.full(j));
        self.woken = waits_on;
        self.wakes += 1;
    }
}

/// The ring's layout over a region: `full[k]` (0 empty, 1 full) on its own cache line each,
/// the two sleeping flags, the two `waits_on` words, then the slots.
struct Ring<'a> {
    base: *mut u8,
    msg: usize,
    slots: usize,
    batch: usize,
    _region: &'a Region,
}

impl<'a> Ring<'a> {
    fn new(region: &'a Region, msg: usize) -> Ring<'a> {
        let slots = slots(msg);
        Ring {
            base: region.as_ptr(),
            msg,
            slots,
            batch: batch(slots),
            _region: region,
        }
    }

    /// Stores `value` in `full[k]`. A side that may sleep (not `Spin`) stores it SeqCst, and
    /// the other side then reads the sleeping flag SeqCst: either it sees the flag, or the
    /// sleeper, which sets its flag before it looks at the word, sees the value.
    fn publish(&self, k: usize, value: u64, how: Wait) {
        let order = if how == Wait::Spin {
            Ordering::Release
        } else {
            Ordering::SeqCst
        };
        self.full(k).store(value, order);
    }

    /// Before this side waits on slot `k`: says which slot, with a new generation number.
    /// Returns the generation, for the next call.
    fn announce(&self, side: Side, k: usize, waits: u32) -> u32 {
        let waits = waits.wrapping_add(1);
        self.waits_on(side)
            .store((waits << 16) | k as u32, Ordering::SeqCst);
        waits
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

    /// A side's sleeping flag (set by `wait_for` while it sleeps).
    fn sleeping(&self, side: Side) -> &AtomicU32 {
        match side {
            Side::Reader => self.word(64 * self.slots),
            Side::Writer => self.word(64 * (self.slots + 1)),
        }
    }

    /// The slot a side waits on (low 16 bits) and the generation of that wait (high 16).
    fn waits_on(&self, side: Side) -> &AtomicU32 {
        match side {
            Side::Reader => self.word(64 * (self.slots + 2)),
            Side::Writer => self.word(64 * (self.slots + 3)),
        }
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
