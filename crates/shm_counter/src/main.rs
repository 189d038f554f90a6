// ANCHOR: all
//! shm_counter: two processes increment one counter in shared memory; with a lock, with an
//! atomic instruction, and without either, to see what goes wrong.
//!
//! Ports the two examples seed 000 (`000_2472ed93582ebe78.txt`, §2 and §3) points to but does
//! not include, 2_ex_shm_increase2.c (the counter in a mapped file) and
//! 3_ex_increase_map_anon.c (in an anonymous mapping): UNP vol. 2's `incr2.c`/`incr3.c`
//! (§12.3: a mapped file, with a named or a memory-based semaphore) and `incr_map_anon.c`
//! (§12.4), where parent and child each add 1 to the counter N times under a semaphore.
//! Chapter: `docs/src/shm_counter.md`.
//!
//! `--backing` chooses where the counter lives: `file` (a mapped file, incr2/incr3), `anon`
//! (MAP_SHARED | MAP_ANONYMOUS, incr_map_anon), `posix` (a POSIX shm object, shm_open) or
//! `shared-memory` (the same object, made with the shared_memory crate, whose limits it shows).
//! `--sync` chooses how the increments are kept apart: `mutex` (a
//! raw_sync mutex in the region), `robust` (a robust pthread mutex, which survives an owner
//! that dies holding it), `atomic` (fetch_add), or `none` (a load and a store, so updates get
//! lost).
//!
//! ```text
//! $ shm_counter --loops 1000000 --sync none
//! backing anon, sync none: parent and child each increment the counter 1000000 times
//! counter = 1207719, expected 2000000, lost updates 792281
//! ```
//!
//! Two unrelated processes, in two terminals (the first creates the object and removes it):
//!
//! ```text
//! $ shm_counter --backing posix --name /count --role first
//! $ shm_counter --backing posix --name /count --role second
//! ```
//!
//! Exit status: 0 done, 1 a call failed (the message names it), 2 bad arguments.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use common::{
    Child, Context, Error, Fork, Interrupts, Mapping, Result, err_exit, exit_child, fork,
    usage_error,
};
use shared_memory::{Shmem, ShmemConf, ShmemError};
use shm_counter::{
    Counter, FIRST_BYTE, Holder, MAX_LOOPS, Peer, REGION, SECOND_BYTE, Sync, hold, parse_name,
};

/// Two processes increment one counter in shared memory.
#[derive(Parser, Debug)]
#[command(name = "shm_counter", version)]
struct Args {
    /// Increments each process makes (1 to 2^40)
    #[arg(long, value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=MAX_LOOPS))]
    loops: u64,

    /// Where the counter lives
    #[arg(long, value_enum, default_value_t = Backing::Anon)]
    backing: Backing,

    /// How the increments are kept apart
    #[arg(long, value_enum, default_value_t = Sync::Mutex)]
    sync: Sync,

    /// Print every increment, `parent: 0`, `child: 1`, ..., as the C programs do
    #[arg(long)]
    trace: bool,

    /// With --backing file: the file (default: an unnamed temp file, gone at exit)
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,

    /// With --backing posix or shared-memory: the object's name
    /// (default: /shm-by-example.shm_counter.RANDOM)
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    name: Option<String>,

    /// Run as one of two unrelated processes sharing a POSIX shm counter (needs --name)
    #[arg(long, value_enum, requires = "name")]
    role: Option<Role>,

    /// The child takes the lock, increments once, and dies (SIGKILL) holding it
    #[arg(long, conflicts_with = "role")]
    child_dies_holding_lock: bool,

    /// Print the time per increment
    #[arg(long)]
    time: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Backing {
    /// A regular file, mapped MAP_SHARED (incr2.c, incr3.c)
    File,
    /// MAP_SHARED | MAP_ANONYMOUS, shared with the child by fork (incr_map_anon.c)
    Anon,
    /// A POSIX shared-memory object (shm_open), removed at the end
    Posix,
    /// The same, made with the shared_memory crate (parent and child only: no descriptor)
    SharedMemory,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Create the object, wait for the second, count, report, remove the object
    First,
    /// Open the first's object, count, tell the first
    Second,
}

fn main() {
    common::default_signals();
    let args = Args::parse();
    if args.role.is_some() && args.backing != Backing::Posix {
        usage_error::<Args>(
            "--role needs --backing posix: only a named object can be opened by another process",
        );
    }
    if args.child_dies_holding_lock && !args.sync.has_lock() {
        usage_error::<Args>(
            "--child-dies-holding-lock needs a lock: a --sync other than atomic or none",
        );
    }
    if let Err(err) = run(&args) {
        err_exit!(err);
    }
}

fn run(args: &Args) -> Result<()> {
    // SIGINT and friends wait until this program has removed what it made (and its child).
    let interrupts = Interrupts::block().context("sigprocmask")?;
    match args.role {
        None => parent_and_child(args, &interrupts),
        Some(Role::First) => first(args, &interrupts),
        Some(Role::Second) => second(args, &interrupts),
    }?;
    interrupts.check()
}

/// incr2.c, incr3.c, incr_map_anon.c: the counter in a region the child inherits.
fn parent_and_child(args: &Args, interrupts: &Interrupts) -> Result<()> {
    // ANCHOR: fork
    // ptr = mmap(...): the region, of the --backing kind.
    let mut region = Region::create(args)?;

    // sem_init(&shared->mutex, 1, 1): the lock goes into the region, beside the counter.
    // SAFETY: the region is REGION bytes, page-aligned, mapped until `region` is dropped at
    // the end of this function, and not shared with anyone yet.
    let mut counter =
        unsafe { Counter::init(region.base(), args.sync, args.loops, region.label()) }?;
    println!(
        "backing {}, sync {}: parent and child each increment the counter {} times",
        region.kind(),
        args.sync.name(),
        args.loops
    );
    let start = Instant::now();

    // if (fork() == 0) { for (i = 0; i < nloop; i++) ...; exit(0); }
    // SAFETY: this program starts no threads; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            // The child got a copy of `region`, whose guard for --backing posix would
            // shm_unlink the object when it is dropped. The parent made it and removes it; the
            // child must not.
            region.disown();
            counter.disown();
            // SAFETY: getppid has no preconditions.
            let mut parent = ParentPeer(unsafe { libc::getppid() });
            let result = if args.child_dies_holding_lock {
                counter.increment_and_die_holding_the_lock()
            } else {
                counter
                    .ready_and_wait_start(&mut parent, interrupts)
                    .and_then(|()| count(&counter, "child", args, &mut parent, true, interrupts))
            };
            if let Err(err) = result {
                // Interrupted with the parent (one Ctrl-C reaches both): die of it, quietly.
                if let Some(signo) = err.signal_number() {
                    common::signal::reraise(signo);
                }
                eprintln!("shm_counter: child: {err}");
                exit_child(1)
            }
            exit_child(0)
        }
        Fork::Parent(pid) => {
            let mut child = Child::new(pid);
            if args.child_dies_holding_lock {
                // Let the child take the lock and die first: then the parent's first lock
                // finds it held by a dead process, every time.
                println!("child: takes the lock, increments once, and is killed holding it");
                while child.try_wait().context("waitpid")?.is_none() {
                    std::thread::yield_now();
                }
            } else {
                // Both start counting at the same moment (see ready_and_wait_start).
                counter.wait_ready_and_start(&mut ChildPeer(&mut child), interrupts)?;
            }
            count(
                &counter,
                "parent",
                args,
                &mut ChildPeer(&mut child),
                false,
                interrupts,
            )?;
            // waitpid(pid, &status, 0): not in the C, which exits without waiting.
            let status = child.wait().context("waitpid")?;
            let elapsed = start.elapsed();
            let child_increments = if args.child_dies_holding_lock {
                1
            } else {
                args.loops
            };
            if !status.success() {
                println!("child: {status}");
            }
            let expected = args.loops + child_increments;
            // A child that did not finish its count explains a short one (its status above);
            // one that did leaves a count that --sync can give, or the region was tampered with.
            let value = if status.success() {
                counter.result(expected)?
            } else {
                counter.validate()?;
                counter.value()
            };
            report(value, expected);
            if args.sync == Sync::None && value == expected {
                println!(
                    "no update was lost this time: the two loops hardly overlapped (a short run, one CPU, \
                     or a busy machine); run it again, or with more --loops"
                );
            }
            if args.time {
                per_increment(elapsed, args.loops + child_increments);
            }
            Ok(())
        }
    }
    // ANCHOR_END: fork
}

/// The first of two unrelated processes: creates the object, counts with the second, reports.
fn first(args: &Args, interrupts: &Interrupts) -> Result<()> {
    // ANCHOR: first
    let name = args.name.as_deref().unwrap_or_default();
    // shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600); ftruncate; posix_fallocate; mmap.
    let region = Region::create(args)?;
    // SAFETY: the object is REGION bytes, mapped while `region` lives, and no second can use
    // it before the magic word is set, last, by init.
    let mut counter = unsafe { Counter::init(region.base(), args.sync, args.loops, name) }?;
    // fcntl(fd, F_OFD_SETLK, byte 0): "the first is alive", for the second to see.
    if !hold(region.fd(), FIRST_BYTE).context("fcntl F_OFD_SETLK")? {
        return Err(Error::msg(
            name,
            "another process holds the first's lock on it",
        ));
    }
    println!(
        "first: created {name}, sync {}, {} increments each; now start:",
        args.sync.name(),
        args.loops
    );
    println!("  shm_counter --backing posix --name {name} --role second");

    // Wait until the second has attached; Ctrl-C or a region overwritten end the wait.
    counter.wait_attached(interrupts)?;
    // sem_unlink: the second has its named semaphore open (if --sync sem-named); no name left.
    counter.unlink_semaphore()?;
    println!("first: the second process has attached; counting");
    let mut second = Holder::new(region.fd(), SECOND_BYTE);
    count(&counter, "first", args, &mut second, true, interrupts)?;
    counter.wait_finished(&mut second, interrupts)?;
    report(counter.result(2 * args.loops)?, 2 * args.loops);
    println!("first: removing {name} (shm_unlink)");
    drop(region);
    Ok(())
    // ANCHOR_END: first
}

/// The second of two unrelated processes: opens the first's object and counts.
fn second(args: &Args, interrupts: &Interrupts) -> Result<()> {
    // ANCHOR: second
    let name = args.name.as_deref().unwrap_or_default();
    // shm_open(name, O_RDWR, 0); fstat; mmap.
    let region = Region::open(name)?;
    // SAFETY: the object is REGION bytes (Region::open checked), mapped while `region` lives.
    let counter = unsafe { Counter::existing(region.base(), name) }?;
    // A first that was killed could not remove its object: its OFD lock went with it.
    let mut first = Holder::new(region.fd(), FIRST_BYTE);
    if !first.alive().context("fcntl F_OFD_GETLK")? {
        return Err(Error::msg(
            format!("open {name}"),
            "the first process is gone: a leftover object (make clean-ipc removes it)",
        ));
    }
    // fcntl(fd, F_OFD_SETLK, byte 1), then the state from "waiting" to "attached": one second
    // per first.
    if !hold(region.fd(), SECOND_BYTE).context("fcntl F_OFD_SETLK")? {
        return Err(Error::msg(
            name,
            "a second process is already attached to this first",
        ));
    }
    counter.attach()?;
    let loops = counter.loops();
    println!(
        "second: attached {name}, sync {}, {loops} increments each (the first's)",
        counter.sync().name()
    );

    let args = Args {
        loops,
        ..clone_args(args)
    };
    count(&counter, "second", &args, &mut first, true, interrupts)?;
    counter.finish()?;
    println!("second: done");
    Ok(())
    // ANCHOR_END: second
}
// ANCHOR: count

/// for (i = 0; i < nloop; i++) { sem_wait(mutex); printf("child: %d\n", (*ptr)++); sem_post(mutex); }
///
/// Every 65536 increments: a Ctrl-C? And, if `needs_peer` (a child without its parent, one of
/// the --role pair without the other), is the other still there (or, for the second, done)?
fn count(
    counter: &Counter,
    who: &str,
    args: &Args,
    peer: &mut dyn Peer,
    needs_peer: bool,
    interrupts: &Interrupts,
) -> Result<()> {
    for i in 0..args.loops {
        if i % 65_536 == 0 {
            interrupts.check()?;
            // The region first: a partner that ended because it found garbage was no death.
            counter.validate()?;
            if needs_peer && !peer.alive().context("peer")? {
                // Looked at again: one that stopped on garbage in the lock said so in the
                // region before it ended.
                counter.validate()?;
                if !counter.finished() {
                    return Err(Error::msg(
                        who.to_owned(),
                        "the other process has ended; stopping",
                    ));
                }
            }
        }
        let step = counter.increment(peer, interrupts, |before| {
            if args.trace {
                println!("{who}: {before}");
            }
        })?;
        if step.recovered {
            println!(
                "{who}: the lock's owner died holding it (EOWNERDEAD); pthread_mutex_consistent made it usable again"
            );
        }
    }
    Ok(())
}
// ANCHOR_END: count

fn report(value: u64, expected: u64) {
    println!(
        "counter = {value}, expected {expected}, lost updates {}",
        expected.saturating_sub(value)
    );
}

fn per_increment(elapsed: std::time::Duration, increments: u64) {
    let ns = elapsed.as_nanos() as f64 / increments as f64;
    println!(
        "{ns:.1} ns per increment ({increments} increments in {:.1} ms)",
        elapsed.as_secs_f64() * 1e3
    );
}

fn clone_args(args: &Args) -> Args {
    Args {
        file: args.file.clone(),
        name: args.name.clone(),
        ..*args
    }
}

/// The shared region, of one of the three kinds, and what keeps it alive.
enum Region {
    Anon(Mapping),
    File(Mapping),
    Posix(Mapping, OwnedFd, String, Option<common::posix::Created>),
    Crate(Shmem),
}

impl Region {
    /// The parent's or the first's region, new.
    fn create(args: &Args) -> Result<Region> {
        match args.backing {
            Backing::Anon => {
                // mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANON, -1, 0)
                // SAFETY: a fresh anonymous mapping; its bytes are only touched through atomics
                // and the locks, never through a slice view.
                let map = unsafe {
                    Mapping::new(REGION, RW, libc::MAP_SHARED | libc::MAP_ANONYMOUS, None, 0)
                }
                .context("mmap")?;
                Ok(Region::Anon(map))
            }
            Backing::File => {
                // fd = open(argv[1], O_RDWR | O_CREAT, 0644): never through a symlink, never
                // another user's file, never a FIFO or a device (common::file::create).
                // Without --file the name is not needed: an unnamed file (O_TMPFILE), which
                // nothing can leave behind, not even SIGKILL.
                let (file, label, made) = match &args.file {
                    Some(path) => {
                        let existed = path.symlink_metadata().is_ok();
                        let file = common::file::create(path, 0o644)?;
                        (file, path.display().to_string(), (!existed).then_some(path))
                    }
                    None => {
                        let dir = std::env::temp_dir().display().to_string();
                        let file = tempfile::tempfile()
                            .with_context(|| format!("open {dir} (O_TMPFILE)"))?;
                        (file, format!("unnamed temp file in {dir}"), None)
                    }
                };
                // SAFETY: size_and_map sizes and reserves the file first.
                let map = unsafe { size_and_map(file.as_fd(), &label) }.inspect_err(|_| {
                    // A file this run made and could not size (full disk, ulimit -f): unlink it.
                    if let Some(path) = made {
                        let _ = std::fs::remove_file(path);
                    }
                })?;
                // close(fd): the mapping keeps the file.
                Ok(Region::File(map))
            }
            Backing::Posix => {
                let (name, fd, created) = create_object(args.name.as_deref())?;
                // SAFETY: as above.
                let map = unsafe { size_and_map(fd.as_fd(), &name) }?;
                Ok(Region::Posix(map, fd, name, Some(created)))
            }
            Backing::SharedMemory => create_with_crate(args.name.as_deref()).map(Region::Crate),
        }
    }

    /// The second's region: the first's object, if it is one.
    fn open(name: &str) -> Result<Region> {
        let cname = CString::new(name)
            .map_err(|_| Error::msg(format!("open {name}"), "a NUL in the name"))?;
        // shm_open(name, O_RDWR, 0): refuses a FIFO or a directory under the name.
        let fd = common::posix::shm_open(&cname, libc::O_RDWR, 0).map_err(|e| {
            let enoent = e.raw_os_error() == Some(libc::ENOENT);
            let err = Error::new(format!("open {name}"), e);
            if enoent {
                err.hint("start the first process first")
            } else {
                err
            }
        })?;
        // fstat, lseek(SEEK_HOLE): exactly one page, with no hole. A shorter object would
        // fault past its end; one with a hole could fault on a full /dev/shm even on a read.
        let file = std::fs::File::from(fd.try_clone().context("dup")?);
        let size = file
            .metadata()
            .with_context(|| format!("fstat {name}"))?
            .len();
        let holes = common::file::has_holes(&file).with_context(|| format!("lseek {name}"))?;
        if size != REGION as u64 || holes {
            return Err(Error::msg(name, "not a shm_counter region"));
        }
        // SAFETY: the object is REGION bytes, with no hole (checked just above). Another user
        // could shrink it afterwards (ftruncate): the mapping would then fault; only the
        // object's owner, the first, can do that (mode 0600).
        let map = unsafe { Mapping::new(REGION, RW, libc::MAP_SHARED, Some(fd.as_fd()), 0) }
            .context("mmap")?;
        Ok(Region::Posix(map, fd, name.to_owned(), None))
    }

    fn base(&self) -> *mut u8 {
        match self {
            Region::Anon(map) | Region::File(map) | Region::Posix(map, ..) => map.as_ptr(),
            Region::Crate(shmem) => shmem.as_ptr(),
        }
    }

    /// The descriptor of a POSIX object, whose OFD locks say who is alive (--role).
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Region::Posix(_, fd, ..) => fd.as_fd(),
            Region::Anon(_) | Region::File(_) | Region::Crate(_) => {
                unreachable!("--role needs --backing posix")
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Region::Anon(_) => "anon",
            Region::File(_) => "file",
            Region::Posix(..) => "posix",
            Region::Crate(_) => "shared-memory",
        }
    }

    /// Names the region in errors.
    fn label(&self) -> &str {
        match self {
            Region::Anon(_) => "anonymous mapping",
            Region::File(_) => "file",
            Region::Posix(_, _, name, _) => name,
            Region::Crate(shmem) => shmem.get_os_id(),
        }
    }

    /// In a child: whatever happens, do not remove what the parent made.
    fn disown(&mut self) {
        if let Region::Posix(_, _, _, created) = self
            && let Some(created) = created.take()
        {
            created.keep();
        }
        if let Region::Crate(shmem) = self {
            shmem.set_owner(false);
        }
    }
}

const RW: libc::c_int = libc::PROT_READ | libc::PROT_WRITE;

/// shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600), with a guard that shm_unlinks it on every
/// way out. Without --name, a random name, and another one if that is taken (EEXIST).
fn create_object(given: Option<&str>) -> Result<(String, OwnedFd, common::posix::Created)> {
    let mut tries = 0;
    loop {
        let name = match given {
            Some(name) => name.to_owned(),
            None => format!("/shm-by-example.shm_counter.{:08x}", common::random_u32()),
        };
        let cname = CString::new(name.clone())
            .map_err(|_| Error::msg(format!("create {name}"), "a NUL in the name"))?;
        match common::posix::shm_open(&cname, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600) {
            Ok(fd) => return Ok((name, fd, common::posix::Created::new(&cname))),
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists
                    && given.is_none()
                    && tries < 10 =>
            {
                tries += 1
            }
            Err(e) => return Err(Error::new(format!("create {name}"), e)),
        }
    }
}

/// The shared_memory crate's `ShmemConf::create()`: shm_open(O_CREAT | O_EXCL | O_RDWR, 0600),
/// ftruncate and mmap in one call; the process that created the object owns it, and dropping
/// the owner's `Shmem` calls shm_unlink. Without --name, a random name, and another one if that
/// is taken.
///
/// Its limit: it hands out no file descriptor, and its ftruncate reserves nothing, so on a
/// full /dev/shm the first store would die of SIGBUS. The way around it is a second shm_open
/// of the object by its name, to posix_fallocate it before anything is stored. (No descriptor
/// also means no OFD lock to tell who is alive: --role uses --backing posix.)
fn create_with_crate(given: Option<&str>) -> Result<Shmem> {
    let mut tries = 0;
    let shmem = loop {
        let name = match given {
            Some(name) => name.to_owned(),
            None => format!("/shm-by-example.shm_counter.{:08x}", common::random_u32()),
        };
        match ShmemConf::new().os_id(&name).size(REGION).create() {
            Ok(shmem) => break shmem,
            Err(ShmemError::MappingIdExists) if given.is_none() && tries < 10 => tries += 1,
            Err(e) => return Err(shmem_error(format!("create {name}"), e)),
        }
    };
    let name = shmem.get_os_id();
    let cname = CString::new(name).map_err(|_| Error::msg(name, "a NUL in the name"))?;
    // fd = shm_open(name, O_RDWR, 0); posix_fallocate(fd, 0, REGION); close(fd);
    // On failure, returning drops `shmem`, the owner, which unlinks the object.
    let fd = common::posix::shm_open(&cname, libc::O_RDWR, 0)
        .with_context(|| format!("shm_open {name}"))?;
    common::file::reserve(fd.as_fd(), REGION).with_context(|| format!("fallocate {name}"))?;
    Ok(shmem)
}

/// shared_memory's errors carry the errno of the call that failed; show it as perror would.
fn shmem_error(context: String, err: ShmemError) -> Error {
    match err {
        ShmemError::MapCreateFailed(errno)
        | ShmemError::MapOpenFailed(errno)
        | ShmemError::UnknownOsError(errno) => {
            Error::new(context, std::io::Error::from_raw_os_error(errno as i32))
        }
        ShmemError::MappingIdExists => {
            Error::new(context, std::io::Error::from_raw_os_error(libc::EEXIST))
        }
        other => Error::msg(context, other.to_string()),
    }
}

/// ftruncate(fd, REGION); posix_fallocate(fd, 0, REGION); mmap(..., MAP_SHARED, fd, 0).
///
/// ftruncate only sets the size: on a full filesystem the first store into the mapping would
/// find no page and die of SIGBUS. posix_fallocate reserves the pages first, or fails with
/// ENOSPC (EFBIG under `ulimit -f`), which is one line and exit 1.
///
/// # Safety
///
/// `fd` is a new regular file or object of this process that no one else sizes or shrinks.
unsafe fn size_and_map(fd: std::os::fd::BorrowedFd<'_>, label: &str) -> Result<Mapping> {
    let file = std::fs::File::from(fd.try_clone_to_owned().context("dup")?);
    file.set_len(REGION as u64)
        .with_context(|| format!("ftruncate {label}"))?;
    common::file::reserve(fd, REGION).with_context(|| format!("fallocate {label}"))?;
    // SAFETY: the file is REGION bytes, all reserved, so no page of the mapping can fault;
    // its bytes are only touched through atomics and the locks.
    unsafe { Mapping::new(REGION, RW, libc::MAP_SHARED, Some(fd), 0) }.context("mmap")
}

/// The child, seen from the parent: alive until waitpid says otherwise.
struct ChildPeer<'a>(&'a mut Child);

impl Peer for ChildPeer<'_> {
    fn alive(&mut self) -> std::io::Result<bool> {
        Ok(self.0.try_wait()?.is_none())
    }
}

/// The parent, seen from the child: gone once the child has been handed to another parent.
struct ParentPeer(libc::pid_t);

impl Peer for ParentPeer {
    fn alive(&mut self) -> std::io::Result<bool> {
        // SAFETY: getppid has no preconditions.
        Ok(unsafe { libc::getppid() } == self.0)
    }
}
// ANCHOR_END: all
