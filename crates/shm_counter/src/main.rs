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
//! (MAP_SHARED | MAP_ANONYMOUS, incr_map_anon) or `posix` (a POSIX shm object made with the
//! `shared_memory` crate). `--sync` chooses how the increments are kept apart: `mutex` (a
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

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use common::{
    Child, Context, Error, Fork, Interrupts, Mapping, Result, err_exit, exit_child, fork,
    usage_error,
};
use shared_memory::{Shmem, ShmemConf};
use shm_counter::{Counter, Peer, REGION, Sync, set_event, wait_event};

/// Two processes increment one counter in shared memory.
#[derive(Parser, Debug)]
#[command(name = "shm_counter", version)]
struct Args {
    /// Increments each process makes
    #[arg(long, value_name = "N", default_value_t = 100_000)]
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

    /// With --backing file: the file (default: a temp file, removed at the end)
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,

    /// With --backing posix: the object's name (default: /shm-by-example.shm_counter.PID)
    #[arg(long, value_name = "NAME")]
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
    /// A POSIX shared-memory object, made with the shared_memory crate
    Posix,
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
    if args.child_dies_holding_lock && !matches!(args.sync, Sync::Mutex | Sync::Robust) {
        usage_error::<Args>(
            "--child-dies-holding-lock needs a lock: --sync mutex or --sync robust",
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
    // ptr = mmap(...): the region, of the --backing kind.
    let mut region = Region::create(args)?;

    // sem_init(&shared->mutex, 1, 1): the lock goes into the region, beside the counter.
    // SAFETY: the region is REGION bytes, page-aligned, mapped until `region` is dropped at
    // the end of this function, and not shared with anyone yet.
    let counter = unsafe { Counter::init(region.base(), args.sync, args.loops) }
        .map_err(|e| Error::msg("lock", e))?;
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
            // The child got a copy of `region`, which for --backing posix says "owner": as
            // owner, shared_memory would shm_unlink the object when it is dropped. The parent
            // made it and removes it; the child must not.
            region.disown();
            // SAFETY: getppid has no preconditions.
            let mut parent = ParentPeer(unsafe { libc::getppid() });
            let result = if args.child_dies_holding_lock {
                counter
                    .increment_and_die_holding_the_lock()
                    .map_err(|e| Error::msg("lock", e))
            } else {
                count(&counter, "child", args, &mut parent, true, interrupts)
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
            report(counter.value(), args.loops + child_increments);
            if args.time {
                per_increment(elapsed, args.loops + child_increments);
            }
            Ok(())
        }
    }
}

/// The first of two unrelated processes: creates the object, counts with the second, reports.
fn first(args: &Args, interrupts: &Interrupts) -> Result<()> {
    let name = args.name.as_deref().unwrap_or_default();
    // shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600); ftruncate; mmap: shared_memory's
    // create() does all three, and makes this process the owner, which shm_unlinks on drop.
    let shmem = ShmemConf::new()
        .os_id(name)
        .size(REGION)
        .create()
        .map_err(|e| shmem_error(format!("create {name}"), e))?;
    // SAFETY: the object is REGION bytes, mapped while `shmem` lives, and the second process
    // cannot use it before it is laid out (it waits for this line to be printed).
    let counter = unsafe { Counter::init(shmem.as_ptr(), args.sync, args.loops) }
        .map_err(|e| Error::msg("lock", e))?;
    let [attached, finished] = counter.events().map_err(|e| Error::msg("event", e))?;
    println!(
        "first: created {name}, sync {}, {} increments each; now start:",
        args.sync.name(),
        args.loops
    );
    println!("  shm_counter --backing posix --name {name} --role second");

    // Wait until the second has attached, a second at a time, so that Ctrl-C still works.
    wait_event(attached.as_ref(), &mut Always, || interrupts.check())?;
    let second_pid = counter.pid(1).load(std::sync::atomic::Ordering::Relaxed);
    println!("first: the second process has attached; counting");
    let mut second = ProcessPeer(second_pid);
    count(&counter, "first", args, &mut second, false, interrupts)?;
    wait_event(finished.as_ref(), &mut second, || interrupts.check())?;
    report(counter.value(), 2 * args.loops);
    println!("first: removing {name} (its owner: shared_memory calls shm_unlink on drop)");
    drop(shmem);
    Ok(())
}

/// The second of two unrelated processes: opens the first's object and counts.
fn second(args: &Args, interrupts: &Interrupts) -> Result<()> {
    let name = args.name.as_deref().unwrap_or_default();
    // shm_open(name, O_RDWR, 0); fstat; mmap: shared_memory's open(). Not the owner: dropping
    // it only unmaps.
    let shmem = ShmemConf::new().os_id(name).open().map_err(|e| {
        shmem_error(format!("open {name}"), e).hint("start the first process first")
    })?;
    if shmem.len() < REGION {
        return Err(Error::msg(
            format!("open {name}"),
            format!("{} bytes: not a shm_counter object", shmem.len()),
        ));
    }
    // SAFETY: the object is at least REGION bytes, mapped while `shmem` lives, and the first
    // process laid it out before printing the line that says to start this one.
    let counter = unsafe { Counter::existing(shmem.as_ptr()) }
        .map_err(|e| Error::msg(format!("open {name}"), e))?;
    let loops = counter.loops();
    let first_pid = counter.pid(0).load(std::sync::atomic::Ordering::Relaxed);
    let mut first = ProcessPeer(first_pid);
    if !first.alive().context("kill")? {
        return Err(Error::msg(
            format!("open {name}"),
            format!(
                "the first process (pid {first_pid}) is gone: a leftover object (make clean-ipc removes it)"
            ),
        ));
    }
    // SAFETY: getpid has no preconditions.
    counter.pid(1).store(
        unsafe { libc::getpid() },
        std::sync::atomic::Ordering::Relaxed,
    );
    let [attached, finished] = counter.events().map_err(|e| Error::msg("event", e))?;
    println!(
        "second: attached {name}, sync {}, {loops} increments each (the first's)",
        counter.sync().name()
    );
    set_event(attached.as_ref()).map_err(|e| Error::msg("event", e))?;

    let args = Args {
        loops,
        ..clone_args(args)
    };
    count(&counter, "second", &args, &mut first, true, interrupts)?;
    set_event(finished.as_ref()).map_err(|e| Error::msg("event", e))?;
    println!("second: done");
    Ok(())
}

/// for (i = 0; i < nloop; i++) { sem_wait(mutex); printf("child: %d\n", (*ptr)++); sem_post(mutex); }
///
/// Every 65536 increments: a Ctrl-C? And, if `needs_peer` (a child without its parent, a
/// second process without the first), is the other still there to report the result?
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
            if needs_peer && !peer.alive().context("kill")? {
                return Err(Error::msg(
                    who.to_owned(),
                    "the other process has ended; stopping",
                ));
            }
        }
        let step = counter
            .increment(peer, |before| {
                if args.trace {
                    println!("{who}: {before}");
                }
            })
            .map_err(|e| Error::msg("lock", e))?;
        if step.recovered {
            println!(
                "{who}: the lock's owner died holding it (EOWNERDEAD); pthread_mutex_consistent made it usable again"
            );
        }
    }
    Ok(())
}

/// shared_memory's errors carry the errno of the call that failed; show it as perror would.
fn shmem_error(context: String, err: shared_memory::ShmemError) -> Error {
    use shared_memory::ShmemError::{
        MapCreateFailed, MapOpenFailed, MappingIdExists, UnknownOsError,
    };
    match err {
        MapCreateFailed(errno) | MapOpenFailed(errno) | UnknownOsError(errno) => {
            Error::new(context, std::io::Error::from_raw_os_error(errno as i32))
        }
        MappingIdExists => Error::new(context, std::io::Error::from_raw_os_error(libc::EEXIST)),
        other => Error::msg(context, other.to_string()),
    }
}

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
    File(Mapping, Option<tempfile::NamedTempFile>),
    Posix(Shmem),
}

impl Region {
    fn create(args: &Args) -> Result<Region> {
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        match args.backing {
            Backing::Anon => {
                // mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANON, -1, 0)
                // SAFETY: a fresh anonymous mapping; its bytes are only touched through atomics
                // and the locks, never through a slice view.
                let map = unsafe {
                    Mapping::new(REGION, rw, libc::MAP_SHARED | libc::MAP_ANONYMOUS, None, 0)
                }
                .context("mmap")?;
                Ok(Region::Anon(map))
            }
            Backing::File => {
                // fd = open(argv[1], O_RDWR | O_CREAT, 0644); write(fd, &zero, ...); mmap(...); close(fd)
                let (file, tmp) = match &args.file {
                    Some(path) => {
                        use std::os::unix::fs::OpenOptionsExt;
                        let file = std::fs::OpenOptions::new()
                            .read(true)
                            .write(true)
                            .create(true)
                            .truncate(true)
                            .mode(0o644)
                            .custom_flags(libc::O_NOFOLLOW) // not a symlink planted in /tmp
                            .open(path)
                            .with_context(|| format!("open {}", path.display()))?;
                        (file, None)
                    }
                    None => {
                        let tmp = tempfile::Builder::new()
                            .prefix("shm_counter.")
                            .tempfile()
                            .context("create a temp file")?;
                        (tmp.reopen().context("open the temp file")?, Some(tmp))
                    }
                };
                file.set_len(REGION as u64).context("ftruncate")?;
                use std::os::fd::AsFd;
                // SAFETY: the file is REGION bytes (just sized), so no page is past its end;
                // its bytes are only touched through atomics and the locks.
                let map =
                    unsafe { Mapping::new(REGION, rw, libc::MAP_SHARED, Some(file.as_fd()), 0) }
                        .context("mmap")?;
                Ok(Region::File(map, tmp))
            }
            Backing::Posix => {
                // SAFETY: getpid has no preconditions.
                let default = format!("/shm-by-example.shm_counter.{}", unsafe { libc::getpid() });
                let name = args.name.as_deref().unwrap_or(&default);
                let shmem = ShmemConf::new()
                    .os_id(name)
                    .size(REGION)
                    .create()
                    .map_err(|e| shmem_error(format!("create {name}"), e))?;
                Ok(Region::Posix(shmem))
            }
        }
    }

    fn base(&self) -> *mut u8 {
        match self {
            Region::Anon(map) | Region::File(map, _) => map.as_ptr(),
            Region::Posix(shmem) => shmem.as_ptr(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Region::Anon(_) => "anon",
            Region::File(..) => "file",
            Region::Posix(_) => "posix",
        }
    }

    /// In a child: whatever happens, do not remove what the parent made.
    fn disown(&mut self) {
        match self {
            Region::Posix(shmem) => {
                shmem.set_owner(false);
            }
            Region::File(_, tmp) => {
                // Forget the temp file's guard: its Drop would delete the parent's file.
                if let Some(tmp) = tmp.take() {
                    std::mem::forget(tmp);
                }
            }
            Region::Anon(_) => {}
        }
    }
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

/// Another process, not our child: alive while kill(pid, 0) finds it.
struct ProcessPeer(libc::pid_t);

impl Peer for ProcessPeer {
    fn alive(&mut self) -> std::io::Result<bool> {
        // SAFETY: signal 0 only checks that the process exists.
        Ok(unsafe { libc::kill(self.0, 0) } == 0)
    }
}

/// While waiting for the second to attach there is no one to ask: it may not exist yet.
struct Always;

impl Peer for Always {
    fn alive(&mut self) -> std::io::Result<bool> {
        Ok(true)
    }
}
