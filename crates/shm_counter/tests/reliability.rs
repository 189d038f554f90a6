//! shm_counter under attack and bad luck: paths that are not a new regular file, a full
//! filesystem, `ulimit -f 0`, a partner stopped or killed mid-wait, Ctrl-C, a region
//! overwritten with garbage, a second second, SIGKILL, two runs in separate PID namespaces.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use snapbox::file;
use testkit::{Background, Bin, Transcript};

const PROG: Bin = Bin::new("shm_counter", env!("CARGO_BIN_EXE_shm_counter"));

fn args<'a>(list: &'a [&'a str]) -> Vec<&'a OsStr> {
    list.iter().map(OsStr::new).collect()
}

/// Whether our child `pid` has ended within `limit` (it is left to be reaped by `finish`).
/// Whether `pid` is seen asleep in a futex wait (`/proc/PID/wchan`) within `limit`.
fn waits_on_a_futex(pid: libc::pid_t, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        if wchan.starts_with("futex") {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn ends_within(pid: libc::pid_t, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        // SAFETY: siginfo_t is plain data; all zeros is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid with WNOHANG | WNOWAIT only looks: the child stays to be reaped.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        assert_eq!(rc, 0, "waitid: {}", std::io::Error::last_os_error());
        // SAFETY: filled in by waitid (0 if the child has not ended).
        if unsafe { info.si_pid() } == pid {
            return true;
        }
        std::thread::yield_now();
    }
    false
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A first with `sync` and (nearly) endless loops, and a second attached to it, both counting.
fn pair(name: &str, sync: &str) -> (Background, Background) {
    let mut first = Background::spawn(
        PROG,
        &args(&[
            "--backing",
            "posix",
            "--name",
            name,
            "--role",
            "first",
            "--sync",
            sync,
            "--loops",
            "4000000000",
        ]),
    );
    first.line();
    first.line();
    let mut second = Background::spawn(
        PROG,
        &args(&["--backing", "posix", "--name", name, "--role", "second"]),
    );
    second.line();
    (first, second)
}

/// Overwrites the object `name` with `bytes` in place (no O_TRUNC: that would shrink it).
fn overwrite(name: &str, bytes: &[u8]) {
    let path = Path::new("/dev/shm").join(name.trim_start_matches('/'));
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// 4096 bytes of noise from a fixed seed (xorshift), the same every run.
fn noise() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn a_file_path_that_is_not_a_new_or_own_regular_file_is_refused() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    let mut t = Transcript::new(d);
    let fifo = d.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::fs::create_dir(d.join("dir")).unwrap();
    std::fs::write(d.join("target"), "keep me\n").unwrap();
    std::os::unix::fs::symlink(d.join("target"), d.join("link")).unwrap();
    for path in [
        fifo.to_str().unwrap(),
        d.join("dir").to_str().unwrap(),
        d.join("link").to_str().unwrap(),
        "/dev/null",
    ] {
        t.run(
            PROG,
            &args(&["--backing", "file", "--file", path, "--loops", "10"]),
        );
    }
    t.assert_eq(file!["transcripts/file_paths.txt"]);
    assert_eq!(std::fs::read(d.join("target")).unwrap(), b"keep me\n");

    // Another user's file: not truncated, not written. Only root can make one to try.
    let theirs = d.join("theirs");
    if !testkit::another_users_file(&theirs, b"theirs\n") {
        return;
    }
    let out = testkit::run(
        PROG,
        &args(&["--backing", "file", "--file", theirs.to_str().unwrap()]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "shm_counter: open {}: owned by uid 65534, not by you; not truncated\n",
            theirs.display()
        )
    );
    assert_eq!(std::fs::read(&theirs).unwrap(), b"theirs\n");
}

/// Runs `script` (with `$P` the program), then `ls DIR`, where `dir` is a full 64 KiB tmpfs,
/// and returns its stdout; None (reported skipped) where namespaces are not available.
fn on_a_full_tmpfs(dir: &str, script: &str) -> Option<String> {
    let out = testkit::in_full_tmpfs(Path::new(dir), 0)?
        .args(["sh", "-c", &format!("{script}; ls {dir}")])
        .env("P", PROG)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_full_filesystem_is_one_line_and_nothing_left() {
    // Every run: its stderr, its exit status; then what is left on the filesystem: `fill` only.
    let run =
        "{ \"$P\" $ARGS 2>&1; echo \"? $?\"; } | sed 's/counter\\.[0-9a-f]\\{8\\}/counter.RANDOM/'";
    let shm = on_a_full_tmpfs(
        "/dev/shm",
        &[
            run.replace("$ARGS", "--backing posix --loops 10"),
            run.replace("$ARGS", "--backing posix --name /full --role first"),
            run.replace("$ARGS", "--backing shared-memory --loops 10"),
        ]
        .join("; "),
    );
    if let Some(out) = shm {
        assert_eq!(
            out,
            "shm_counter: fallocate /shm-by-example.shm_counter.RANDOM: No space left on device\n? 1\n\
             shm_counter: fallocate /full: No space left on device\n? 1\n\
             shm_counter: fallocate /shm-by-example.shm_counter.RANDOM: No space left on device\n? 1\n\
             fill\n"
        );
    }
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path().to_str().unwrap();
    let file = on_a_full_tmpfs(
        d,
        &[
            run.replace("$ARGS", &format!("--backing file --file {d}/counter")),
            format!("export TMPDIR={d}"),
            run.replace("$ARGS", "--backing file"),
        ]
        .join("; "),
    );
    if let Some(out) = file {
        assert_eq!(
            out,
            format!(
                "shm_counter: fallocate {d}/counter: No space left on device\n? 1\n\
                 shm_counter: fallocate unnamed temp file in {d}: No space left on device\n? 1\n\
                 fill\n"
            )
        );
    }
}

#[test]
fn ulimit_f_0_is_one_line_and_nothing_left() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path().to_str().unwrap();
    let out = Command::new("sh")
        .args([
            "-c",
            "ulimit -f 0; \"$P\" --backing file --file \"$D/counter\"; echo \"? $?\"; \
             \"$P\" --backing file; echo \"? $?\"",
        ])
        .env("P", PROG)
        .env("D", d)
        .env("TMPDIR", d)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "? 1\n? 1\n");
    assert_eq!(
        stderr(&out),
        format!(
            "shm_counter: ftruncate {d}/counter: File too large\n\
             shm_counter: ftruncate unnamed temp file in {d}: File too large\n"
        )
    );
    assert_eq!(std::fs::read_dir(d).unwrap().count(), 0, "a file was left");
}

/// Takes the lock at offset 0 of the object `name` (a pthread mutex for both `--sync mutex`
/// and `--sync robust`) and keeps it until the closure returns: a partner that never lets go.
/// If the stopped second holds it already, the try times out, and it stays held all the same.
fn holding_the_lock<T>(name: &str, f: impl FnOnce() -> T) -> T {
    use std::os::fd::AsRawFd;
    let path = Path::new("/dev/shm").join(name.trim_start_matches('/'));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    // SAFETY: a new shared mapping of the object's one page; only the mutex is touched.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED);
    let m = base.cast::<libc::pthread_mutex_t>();
    let mut deadline = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut deadline) };
    deadline.tv_sec += 1;
    // SAFETY: the first laid a process-shared mutex out at offset 0 and still maps it.
    let locked = unsafe { libc::pthread_mutex_timedlock(m, &deadline) };
    assert!(locked == 0 || locked == libc::ETIMEDOUT, "{locked}");
    let result = f();
    if locked == 0 {
        // SAFETY: this thread holds it.
        unsafe { libc::pthread_mutex_unlock(m) };
    }
    // SAFETY: mapped above, no reference into it remains.
    unsafe { libc::munmap(base, 4096) };
    result
}

#[test]
fn ctrl_c_ends_a_lock_wait_on_a_stopped_partner_within_a_second() {
    for sync in ["mutex", "robust"] {
        let name = testkit::unique_shm_name();
        let _gone = testkit::RemoveShm(name.clone());
        let (first, second) = pair(&name, sync);
        testkit::kill(second.pid(), libc::SIGSTOP);
        let ended = holding_the_lock(&name, || {
            testkit::kill(first.pid(), libc::SIGINT);
            ends_within(first.pid(), Duration::from_secs(1))
        });
        testkit::kill(second.pid(), libc::SIGCONT);
        assert!(ended, "--sync {sync}: Ctrl-C waited for the lock");
        let out = first.finish();
        assert_eq!(out.status.signal(), Some(libc::SIGINT), "{}", stderr(&out));
        assert!(!testkit::shm_exists(&name), "{name} left behind");
        // The second, woken, finds the first gone.
        assert!(ends_within(second.pid(), Duration::from_secs(3)));
        let out = second.finish();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out),
            "shm_counter: second: the other process has ended; stopping\n"
        );
    }
}

#[test]
fn a_partner_killed_mid_count_ends_the_other_with_one_line() {
    for sync in ["mutex", "robust", "atomic"] {
        let name = testkit::unique_shm_name();
        let _gone = testkit::RemoveShm(name.clone());
        let (first, second) = pair(&name, sync);
        testkit::kill(second.pid(), libc::SIGKILL);
        assert!(
            ends_within(first.pid(), Duration::from_secs(3)),
            "--sync {sync}: the first counts on alone"
        );
        let out = first.finish();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err == "shm_counter: first: the other process has ended; stopping\n"
                || err.starts_with("shm_counter: lock: the other process died holding")
                    && err.lines().count() == 1,
            "--sync {sync}: {err}"
        );
        assert!(!testkit::shm_exists(&name), "{name} left behind");
        second.finish();
    }
    // The first killed: the second stops too.
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let (first, second) = pair(&name, "robust");
    testkit::kill(first.pid(), libc::SIGKILL);
    assert!(ends_within(second.pid(), Duration::from_secs(3)));
    let out = second.finish();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "shm_counter: second: the other process has ended; stopping\n"
    );
    first.finish();
    common::posix::shm_unlink(&std::ffi::CString::new(name).unwrap()).unwrap();
}

#[test]
fn garbage_in_the_region_is_one_line_on_both_sides() {
    let not_ours = |name: &str| format!("shm_counter: {name}: not a shm_counter region\n");

    // While the first waits for a second.
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let mut first = Background::spawn(
        PROG,
        &args(&[
            "--backing",
            "posix",
            "--name",
            &name,
            "--role",
            "first",
            "--sync",
            "robust",
        ]),
    );
    first.line();
    first.line();
    overwrite(&name, &[0x41; 4096]);
    assert!(
        ends_within(first.pid(), Duration::from_secs(1)),
        "the first waits on"
    );
    let out = first.finish();
    assert_eq!(
        (out.status.code(), stderr(&out)),
        (Some(1), not_ours(&name))
    );
    assert!(!testkit::shm_exists(&name), "{name} left behind");

    // While both count, with each lock, 0x41 bytes or noise.
    for sync in ["mutex", "robust"] {
        for bytes in [vec![0x41; 4096], noise()] {
            let name = testkit::unique_shm_name();
            let _gone = testkit::RemoveShm(name.clone());
            let (first, second) = pair(&name, sync);
            overwrite(&name, &bytes);
            for side in [first, second] {
                assert!(
                    ends_within(side.pid(), Duration::from_secs(3)),
                    "--sync {sync}"
                );
                let out = side.finish();
                assert_eq!(
                    (out.status.code(), stderr(&out)),
                    (Some(1), not_ours(&name)),
                    "--sync {sync}"
                );
            }
            assert!(!testkit::shm_exists(&name), "{name} left behind");
        }
    }

    // A second started on a garbage object of the right size, and on one of the wrong size.
    for size in [4096, 8192] {
        let name = testkit::unique_shm_name();
        let _gone = testkit::RemoveShm(name.clone());
        let path = Path::new("/dev/shm").join(name.trim_start_matches('/'));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap()
            .write_all(&vec![0x41; size])
            .unwrap();
        let out = testkit::run(
            PROG,
            &args(&["--backing", "posix", "--name", &name, "--role", "second"]),
        );
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            (out.status.code(), stderr(&out)),
            (Some(1), not_ours(&name)),
            "{size} bytes"
        );
    }
}

#[test]
fn a_second_second_is_refused() {
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let (first, second) = pair(&name, "mutex");
    let out = testkit::run(
        PROG,
        &args(&["--backing", "posix", "--name", &name, "--role", "second"]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("shm_counter: {name}: a second process is already attached to this first\n")
    );
    assert!(out.stdout.is_empty());
    testkit::kill(first.pid(), libc::SIGTERM);
    first.finish();
    second.finish();
    assert!(!testkit::shm_exists(&name));
}

#[test]
fn sigkill_leaves_no_temp_file() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut parent = Background::spawn(
        "env",
        &args(&[
            &format!("TMPDIR={}", dir.path().display()),
            PROG.as_str(),
            "--backing",
            "file",
            "--loops",
            "4000000000",
        ]),
    );
    parent.line();
    testkit::kill(parent.pid(), libc::SIGKILL);
    parent.finish();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a temp file was left behind"
    );
}

#[test]
fn runs_in_separate_pid_namespaces_do_not_collide() {
    let ns = |loops: &str| {
        args(&[
            "-rpf",
            PROG.as_str(),
            "--backing",
            "posix",
            "--sync",
            "atomic",
            "--loops",
            loops,
        ])
        .into_iter()
        .map(OsStr::to_owned)
        .collect::<Vec<_>>()
    };
    let probe = Command::new("unshare")
        .args(["-rpf", "true"])
        .output()
        .unwrap();
    if !probe.status.success() {
        testkit::skip_this(&format!("unshare -rpf: {}", stderr(&probe).trim()));
        return;
    }
    // Both are pid 1 of their namespace: a name made from the pid would be the same. The
    // first counts long enough for the second to run beside it, and ends by itself (a pid 1
    // ignores SIGTERM from outside its namespace).
    let a = ns("10000000");
    let mut first = Background::spawn(
        "unshare",
        &a.iter().map(|s| s.as_os_str()).collect::<Vec<_>>(),
    );
    first.line();
    let b = ns("1000");
    let out = Command::new("unshare").args(&b).output().unwrap();
    let first = first.finish();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("counter = 2000, expected 2000"));
}

/// Overwrites `bytes.len()` bytes of the object `name` at `offset`, in place.
fn overwrite_at(name: &str, offset: u64, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let path = Path::new("/dev/shm").join(name.trim_start_matches('/'));
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, offset).unwrap();
}

/// A first with `sync` and `loops`, waiting for a second.
fn first_waiting(name: &str, sync: &str, loops: &str) -> Background {
    let mut first = Background::spawn(
        PROG,
        &args(&[
            "--backing",
            "posix",
            "--name",
            name,
            "--role",
            "first",
            "--sync",
            sync,
            "--loops",
            loops,
        ]),
    );
    first.line();
    first.line();
    first
}

fn second_of(name: &str) -> Background {
    Background::spawn(
        PROG,
        &args(&["--backing", "posix", "--name", name, "--role", "second"]),
    )
}

/// `side` ends within `limit`, with exit status 1 and `NAME: not a shm_counter region`.
fn ends_with_garbage(side: Background, name: &str, limit: Duration, what: &str) {
    assert!(ends_within(side.pid(), limit), "{what}: still running");
    let out = side.finish();
    assert_eq!(
        (out.status.code(), stderr(&out)),
        (
            Some(1),
            format!("shm_counter: {name}: not a shm_counter region\n")
        ),
        "{what}"
    );
}

#[test]
fn a_counter_out_of_range_is_garbage_not_a_panic() {
    // u64::MAX at the counter while the first waits (stopped, so that the second meets it):
    // the second refuses to attach, the first stops when it looks again.
    for sync in ["robust", "mutex", "atomic", "none"] {
        let name = testkit::unique_shm_name();
        let _gone = testkit::RemoveShm(name.clone());
        let first = first_waiting(&name, sync, "1000");
        testkit::kill(first.pid(), libc::SIGSTOP);
        overwrite_at(&name, 128, &u64::MAX.to_le_bytes());
        let second = second_of(&name);
        let ended = ends_within(second.pid(), Duration::from_secs(3));
        testkit::kill(first.pid(), libc::SIGCONT);
        assert!(ended, "--sync {sync}: the second counts on");
        ends_with_garbage(
            second,
            &name,
            Duration::from_secs(1),
            &format!("--sync {sync}: second"),
        );
        ends_with_garbage(
            first,
            &name,
            Duration::from_secs(3),
            &format!("--sync {sync}: first"),
        );
        assert!(!testkit::shm_exists(&name), "{name} left behind");
    }
}

/// Reads the u64 at `offset` of the object `name`.
fn read_at(name: &str, offset: u64) -> u64 {
    use std::os::unix::fs::FileExt;
    let path = Path::new("/dev/shm").join(name.trim_start_matches('/'));
    let mut word = [0; 8];
    std::fs::File::open(path)
        .unwrap()
        .read_exact_at(&mut word, offset)
        .unwrap();
    u64::from_le_bytes(word)
}

#[test]
fn a_count_that_sync_atomic_cannot_give_is_no_result() {
    // Both count with fetch_add; the counter is set back to 0 while both are stopped mid-count.
    // Before, the first reported "lost updates" of --sync atomic, with exit status 0.
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let mut first = first_waiting(&name, "atomic", "10000000");
    let mut second = second_of(&name);
    second.line();
    first.line();
    let stop = |signo| {
        for pid in [second.pid(), first.pid()] {
            testkit::kill(pid, signo);
        }
    };
    loop {
        std::thread::sleep(Duration::from_millis(20));
        stop(libc::SIGSTOP);
        let now = read_at(&name, 128);
        assert!(now < 20_000_000, "counted too fast for the test");
        if now > 0 {
            break;
        }
        stop(libc::SIGCONT);
    }
    overwrite_at(&name, 128, &0u64.to_le_bytes());
    stop(libc::SIGCONT);
    assert!(ends_within(second.pid(), Duration::from_secs(30)));
    let out = second.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    ends_with_garbage(first, &name, Duration::from_secs(3), "first");
    assert!(!testkit::shm_exists(&name), "{name} left behind");
}

/// The test plays a second that dies holding the robust mutex in a way the kernel cannot
/// repair (its mapping gone before it ends, as after a panic that unwound): the mutex stays
/// locked (here by the test), the second's OFD lock goes. The first gives up within seconds.
#[test]
fn a_robust_lock_held_after_the_partner_is_gone_is_given_up() {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicU32, Ordering};
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let mut first = first_waiting(&name, "robust", "1000");
    let path = Path::new("/dev/shm").join(name.trim_start_matches('/'));
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap()
    };
    let file = open();
    // SAFETY: a new shared mapping of the object's one page.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED);
    let m = base.cast::<libc::pthread_mutex_t>();
    // SAFETY: the first laid out a robust process-shared mutex at offset 0; no one uses it yet.
    assert_eq!(unsafe { libc::pthread_mutex_lock(m) }, 0);
    // The second's mark: an OFD lock on byte 1, on its own open file description.
    let mark = open();
    // SAFETY: struct flock is plain data; all zeros is valid (l_pid 0 for OFD locks).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 1;
    fl.l_len = 1;
    // SAFETY: an initialised struct flock.
    let marked = unsafe { libc::fcntl(mark.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    assert_eq!(marked, 0);
    // The state word at 160: waiting (1) -> attached (2).
    let word = base.cast::<u8>().wrapping_add(160).cast::<u32>();
    // SAFETY: a 4-aligned u32 of the mapping; the first only touches it atomically.
    let state = unsafe { AtomicU32::from_ptr(word) };
    assert!(
        state
            .compare_exchange(1, 2, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    );
    assert_eq!(
        first.line(),
        "first: the second process has attached; counting"
    );
    // The event: the first is asleep in the kernel's futex wait for the mutex this test holds.
    assert!(
        waits_on_a_futex(first.pid(), Duration::from_secs(3)),
        "the first never waited for the lock"
    );
    drop(mark); // the second "ends"; the mutex stays locked
    let ended = ends_within(first.pid(), Duration::from_secs(3));
    // SAFETY: this thread holds it.
    unsafe { libc::pthread_mutex_unlock(m) };
    // SAFETY: mapped above; nothing refers into it any more (`state` is not used again).
    unsafe { libc::munmap(base, 4096) };
    assert!(ended, "the first waits for the lock for ever");
    let out = first.finish();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("shm_counter: lock: the other process has ended")
            && err.lines().count() == 1,
        "{err}"
    );
    assert!(!testkit::shm_exists(&name), "{name} left behind");
}

#[test]
fn garbage_in_the_mutex_bytes_alone_is_one_line_on_both_sides() {
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let first = first_waiting(&name, "mutex", "1000");
    // The raw_sync mutex's first 40 bytes; the header stays right.
    overwrite(&name, &[b'A'; 40]);
    let second = second_of(&name);
    ends_with_garbage(second, &name, Duration::from_secs(3), "second");
    ends_with_garbage(first, &name, Duration::from_secs(3), "first");
    assert!(!testkit::shm_exists(&name), "{name} left behind");
}

#[test]
fn loops_in_the_header_are_checked_on_both_sides() {
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let first = first_waiting(&name, "atomic", "1000");
    testkit::kill(first.pid(), libc::SIGSTOP);
    // Absurd: the second refuses them.
    for loops in [u64::MAX, 0] {
        overwrite_at(&name, 136, &loops.to_le_bytes());
        let second = second_of(&name);
        let ended = ends_within(second.pid(), Duration::from_secs(3));
        if !ended {
            testkit::kill(first.pid(), libc::SIGCONT);
        }
        ends_with_garbage(
            second,
            &name,
            Duration::from_secs(1),
            &format!("loops {loops}"),
        );
    }
    // Plausible: the second counts 128 and is done; the first, its own 1000 in mind, is not
    // fooled into a result.
    overwrite_at(&name, 136, &0x80u64.to_le_bytes());
    let second = testkit::run(
        PROG,
        &args(&["--backing", "posix", "--name", &name, "--role", "second"]),
    );
    testkit::kill(first.pid(), libc::SIGCONT);
    assert!(second.status.success(), "{}", stderr(&second));
    ends_with_garbage(first, &name, Duration::from_secs(3), "first");
    assert!(!testkit::shm_exists(&name), "{name} left behind");
}

#[test]
fn a_name_that_is_not_one_object_is_a_usage_error() {
    for name in ["/..", "/.", "/a/b", "noslash", "/"] {
        for role in [&[][..], &["--role", "first"], &["--role", "second"]] {
            let mut a = vec!["--backing", "posix", "--name", name];
            a.extend(role);
            let out = testkit::run(PROG, &args(&a));
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{name} {role:?}: {err}");
            assert!(
                err.starts_with(&format!(
                    "error: invalid value '{name}' for '--name <NAME>': a shm name"
                )),
                "{name}: {err}"
            );
            assert!(out.stdout.is_empty());
        }
    }
}
