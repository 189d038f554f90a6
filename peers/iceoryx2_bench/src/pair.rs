//! The two processes of a measurement, and the iceoryx2 domain, names and nodes they use.
//!
//! As in ipc_bench: the parent forks, the child moves to the second CPU and dies with its
//! parent (`cpu::child_setup`), each side carries a `Watch` (the other side's death and Ctrl-C
//! end every wait), and a pipe each way carries what iceoryx2 does not: the child's "ready",
//! the parent's "go", the child's results, and the parent's "done".
//!
//! No iceoryx2 object exists across a fork: each process makes its own node, services and
//! ports after it, and drops them before it ends (the child before `exit_child`).
//!
//! Nothing is left behind. iceoryx2 keeps files in /dev/shm and under a root directory
//! (/tmp/iceoryx2 by default), some of them for as long as any program may use the same
//! *domain* (its global segment, the `nodes` and `services` directories). So each run of this
//! program is a domain of its own ([`Domain`]): a root directory `$TMPDIR/iceoryx2_bench.TAG`
//! and a /dev/shm prefix `iox2bTAG_`, both removed at its end. A node of a process that was
//! killed (the parent kills its child on an error or Ctrl-C) is removed before that by
//! iceoryx2's own cleanup (`DeadNodeView::try_remove_stale_resources`); a run killed whole
//! (SIGKILL) leaves its domain, which the next run, or `iceoryx2_bench --cleanup`, finds (its
//! lock is free) and removes the same way.

use std::fs::{self, File};
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{Child, Context, Error, Fork, Result, exit_child, fork};
use iceoryx2::prelude::*;
use ipc_bench::watch::{Watch, signalled};

/// Names of the services of one measurement: random, so that two runs at once, or a run
/// beside something else that uses iceoryx2, never meet (a pid alone is not unique across PID
/// namespaces that share /dev/shm).
#[derive(Debug, Clone)]
pub struct Names {
    base: String,
}

impl Names {
    pub fn new() -> Names {
        Names {
            base: format!(
                "shm-by-example/iceoryx2_bench/{:08x}{:08x}",
                common::random_u32(),
                common::random_u32()
            ),
        }
    }

    /// The service called `what` in this measurement (`data`, `ping`, ...).
    pub fn service(&self, what: &str) -> io::Result<ServiceName> {
        let name = format!("{}/{what}", self.base);
        ServiceName::new(&name).map_err(|e| io::Error::other(format!("service name {name}: {e:?}")))
    }
}

impl Default for Names {
    fn default() -> Names {
        Names::new()
    }
}

/// A node for one side: iceoryx2's signal handling off, since this program has its own
/// (ipc_bench's: Ctrl-C is noted, and every wait looks at it).
pub fn node(name: &str) -> io::Result<Node<ipc::Service>> {
    let node_name =
        NodeName::new(name).map_err(|e| io::Error::other(format!("node name {name}: {e:?}")))?;
    NodeBuilder::new()
        .config(config())
        .name(&node_name)
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()
        .map_err(|e| io::Error::other(format!("create an iceoryx2 node: {e}")))
}

/// This run's domain (the default one until [`Domain::create`]).
static CONFIG: OnceLock<Config> = OnceLock::new();

fn config() -> &'static Config {
    CONFIG.get_or_init(Config::default)
}

/// The iceoryx2 configuration of the domain tagged `tag` under `dir`.
fn domain_config(dir: &Path, tag: &str) -> io::Result<Config> {
    let mut config = Config::default();
    let bad = |e| io::Error::other(format!("iceoryx2 domain {}: {e:?}", dir.display()));
    config.global.prefix = FileName::new(format!("iox2b{tag}_").as_bytes()).map_err(bad)?;
    let root = format!("{}/", dir.display());
    let root = iceoryx2::prelude::Path::new(root.as_bytes()).map_err(bad)?;
    config.global.set_root_path(&root);
    Ok(config)
}

/// This run's iceoryx2 domain: its root directory (locked while the run lives), its /dev/shm
/// prefix. Dropping it removes both, with whatever they hold.
#[derive(Debug)]
pub struct Domain {
    dir: PathBuf,
    tag: String,
    _lock: File,
}

impl Domain {
    /// Makes the directory (mode 0700, a new name: never one that exists), locks it, and makes
    /// it the domain of every node this process and its children create.
    pub fn create() -> Result<Domain> {
        let tmp = std::env::temp_dir();
        let (dir, tag) = loop {
            let tag = format!("{:08x}", common::random_u32());
            let dir = tmp.join(format!("{DIR_PREFIX}{tag}"));
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => break (dir, tag),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::new(format!("mkdir {}", dir.display()), e)),
            }
        };
        let domain = Domain {
            _lock: lock(&dir)
                .and_then(|lock| lock.ok_or_else(|| io::Error::other("locked by another")))
                .with_context(|| format!("flock {}", dir.display()))?,
            dir,
            tag,
        };
        let config = domain_config(&domain.dir, &domain.tag).context("iceoryx2 config")?;
        CONFIG
            .set(config)
            .map_err(|_| Error::msg("iceoryx2 config", "set twice"))?;
        Ok(domain)
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        remove_domain(&self.dir, &self.tag);
    }
}

/// The root directories of this program's domains: `iceoryx2_bench.` and 8 hex digits.
const DIR_PREFIX: &str = "iceoryx2_bench.";

/// `open(dir, O_RDONLY)` and `flock(LOCK_EX | LOCK_NB)`: the lock, or None if a live run holds
/// it. (A forked child shares the parent's lock; it is gone when both are.)
fn lock(dir: &Path) -> io::Result<Option<File>> {
    let file = File::open(dir)?;
    // SAFETY: flock takes a descriptor this File owns, and plain flags.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(file));
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(None),
        _ => Err(err),
    }
}

/// Removes a domain: first the nodes of dead processes, by iceoryx2's own cleanup (every node
/// of the domain is dead by now, or is a child's that was killed), then what iceoryx2 keeps
/// while a domain may be used (its global segment in /dev/shm, the directories), and anything
/// else with the domain's prefix: the domain is this program's alone.
fn remove_domain(dir: &Path, tag: &str) -> usize {
    let mut removed = 0;
    if let Ok(config) = domain_config(dir, tag) {
        let _ = Node::<ipc::Service>::list(&config, |state| {
            if let NodeState::Dead(view) = state
                && view.try_remove_stale_resources().is_ok()
            {
                removed += 1;
            }
            CallbackProgression::Continue
        });
    }
    let prefix = format!("iox2b{tag}_");
    if let Ok(entries) = fs::read_dir("/dev/shm") {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let _ = fs::remove_dir_all(dir);
    removed
}

/// Removes the domains of runs that were killed (SIGKILL: nothing of theirs ran to clean up):
/// this user's `iceoryx2_bench.*` directories in the temp directory whose lock is free.
/// Returns (domains, nodes) removed.
pub fn remove_dead_domains() -> (usize, usize) {
    let (mut domains, mut nodes) = (0, 0);
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return (0, 0);
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(tag) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        if tag.len() != 8 || !tag.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let dir = entry.path();
        // lstat: a directory of this user's, not a symlink to one.
        let Ok(st) = fs::symlink_metadata(&dir) else {
            continue;
        };
        if !st.is_dir() || st.uid() != me {
            continue;
        }
        if let Ok(Some(_lock)) = lock(&dir) {
            nodes += remove_domain(&dir, tag);
            domains += 1;
        }
    }
    (domains, nodes)
}

/// An iceoryx2 error as an io::Error, with what was being done.
pub fn failed(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// One look per message or wait: the watch (the partner's death; Ctrl-C for the parent), and
/// Ctrl-C for the child too, which gets it from the terminal with its parent and ends at once,
/// dropping its iceoryx2 objects, instead of being killed with them.
#[inline]
pub fn look(watch: &mut Watch) -> io::Result<()> {
    watch.tick()?;
    if signalled().is_some() {
        return Err(io::Error::other("stopped by a signal"));
    }
    Ok(())
}

/// The child's ends of the two pipes.
#[derive(Debug)]
pub struct ChildLink {
    to_parent: PipeWriter,
    from_parent: PipeReader,
}

impl ChildLink {
    /// Tells the parent that this side's ports exist (or, the second time, are connected).
    pub fn ready(&mut self) -> io::Result<()> {
        self.to_parent.write_all(&[1])
    }

    /// Waits until the parent's ports exist.
    pub fn wait_go(&mut self) -> io::Result<()> {
        self.from_parent.read_exact(&mut [0u8])
    }

    /// Sends the results, then waits until the parent has everything it needs from this side
    /// (the last reply of a ping-pong must not go with the publisher that sent it).
    pub fn report(&mut self, words: [u64; 2]) -> io::Result<()> {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&words[0].to_ne_bytes());
        bytes[8..].copy_from_slice(&words[1].to_ne_bytes());
        self.to_parent.write_all(&bytes)?;
        // One byte, or an end of file if the parent is gone: either way, done.
        let _ = self.from_parent.read(&mut [0u8]);
        Ok(())
    }
}

/// The parent's ends of the two pipes.
#[derive(Debug)]
pub struct ParentLink {
    from_child: PipeReader,
    to_child: PipeWriter,
}

impl ParentLink {
    /// Waits for the child's ports (or, the second time, for their connections).
    pub fn ready(&mut self, watch: &mut Watch) -> io::Result<()> {
        watch.read_exact(&mut self.from_child, &mut [0u8])
    }

    /// Tells the child that this side's ports exist.
    pub fn go(&mut self, watch: &mut Watch) -> io::Result<()> {
        watch.write_all(&mut self.to_child, &[1])
    }

    /// A test, for a wait inside iceoryx2 (which a Watch cannot reach), of whether the child
    /// has ended: its end of the pipe is closed (`poll`, POLLHUP), or Ctrl-C has come.
    pub fn child_gone(&self) -> impl Fn() -> bool + Send + 'static {
        let fd = self.from_child.as_raw_fd();
        move || {
            if signalled().is_some() {
                return true;
            }
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, a zero timeout. The descriptor is the parent's end of
            // the pipe, open for as long as the publisher whose handler calls this.
            let n = unsafe { libc::poll(&mut pfd, 1, 0) };
            n == 1 && pfd.revents & (libc::POLLHUP | libc::POLLERR) != 0
        }
    }

    /// The child's results; then lets it go.
    pub fn report(&mut self, watch: &mut Watch) -> io::Result<[u64; 2]> {
        let mut bytes = [0u8; 16];
        watch.read_exact(&mut self.from_child, &mut bytes)?;
        watch.write_all(&mut self.to_child, &[1])?;
        let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or_default());
        Ok([word(&bytes[..8]), word(&bytes[8..])])
    }
}

/// Forks: `child` runs in the child (on the second CPU), `parent` here; returns what `parent`
/// returns once the child has ended well. `label` names the measurement in errors, `who` the
/// child (`receiver`).
pub fn two_processes<T>(
    label: &str,
    who: &str,
    child: impl FnOnce(&mut ChildLink, &mut Watch) -> io::Result<()>,
    parent: impl FnOnce(&mut ParentLink, &mut Watch) -> io::Result<T>,
) -> Result<T> {
    let (from_child, to_parent) = io::pipe().context("pipe")?;
    let (from_parent, to_child) = io::pipe().context("pipe")?;
    // SAFETY: getpid has no preconditions.
    let parent_pid = unsafe { libc::getpid() };
    // SAFETY: this program starts no threads (iceoryx2 starts none either), and no iceoryx2
    // object is alive here; the child ends with exit_child.
    match unsafe { fork() }.context("fork")? {
        Fork::Child => {
            drop(from_child);
            drop(to_child);
            ipc_bench::cpu::child_setup(parent_pid);
            let mut watch = Watch::child(parent_pid);
            let mut link = ChildLink {
                to_parent,
                from_parent,
            };
            // Every iceoryx2 object of the child lives and dies inside `child`.
            if let Err(err) = child(&mut link, &mut watch) {
                // A child whose parent has gone, or that Ctrl-C stopped, ends quietly.
                if watch.stopped().is_none() && signalled().is_none() {
                    eprintln!("iceoryx2_bench: {label}: {who}: {err}");
                }
                exit_child(1)
            }
            exit_child(0)
        }
        Fork::Parent(pid) => {
            drop(to_parent);
            drop(from_parent);
            let mut watch = Watch::parent(Child::new(pid));
            let mut link = ParentLink {
                from_child,
                to_child,
            };
            let value = parent(&mut link, &mut watch).map_err(|e| watch.failure(e, label, who))?;
            let status = watch
                .finish()
                .with_context(|| format!("{label}: waitpid"))?;
            if !status.success() {
                return Err(Error::msg(label, format!("{who}: {status}")));
            }
            Ok(value)
        }
    }
}
