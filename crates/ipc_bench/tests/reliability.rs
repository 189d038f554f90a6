//! ipc_bench under attack: a child killed mid-run, Ctrl-C (with the child running or
//! stopped), SIGKILL of the benchmark itself (the memfd ring's too), a
//! planted symlink (or FIFO, directory, another user's file) at the chart's path, a full
//! /dev/shm or $TMPDIR, `ulimit -f 0`, a reader of its output gone mid-run. Each run ends
//! with one line (or by its signal, silently) and leaves nothing behind.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use testkit::Bin;

const PROG: Bin = Bin::new("ipc_bench", env!("CARGO_BIN_EXE_ipc_bench"));

/// A long run of the transports whose name contains `only`: long enough to be caught mid-run.
fn start(only: &str, dir: &Path) -> Child {
    Command::new(PROG)
        .args(["--only", only, "--repeats", "100", "--svg"])
        .arg(dir.join("chart.svg"))
        .env("TMPDIR", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The children of `pid` now (from /proc/PID/task/*/children).
fn children_of(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// Waits (10 s at most) until the benchmark `bench` has a child at work, and returns its pid.
fn a_child_of(bench: &mut Child) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(&child) = children_of(bench.id()).first() {
            return child;
        }
        assert!(
            bench.try_wait().unwrap().is_none(),
            "ipc_bench ended before a child was seen"
        );
        assert!(Instant::now() < deadline, "no child seen in 10 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The POSIX shm objects a process has mapped, by their names in /dev/shm (`(deleted)` or not).
fn shm_mapped_by(pid: u32) -> Vec<PathBuf> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let mut names: Vec<PathBuf> = maps
        .lines()
        .filter_map(|l| l.find("/dev/shm/").map(|at| &l[at..]))
        .map(|name| PathBuf::from(name.trim_end_matches(" (deleted)")))
        .collect();
    names.dedup();
    names
}

/// Whether `pid` still runs: it exists and is not a zombie.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        }
        Err(_) => false,
    }
}

/// Whether `pid` is stopped (state T).
fn stopped(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().unwrap_or("").trim_start();
    state.starts_with('T')
}

/// Waits for `child` to end, `within` at most (then kills it and fails the test); returns its
/// output and how long it took.
fn ends_within(mut child: Child, within: Duration, what: &str) -> (Output, Duration) {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), start.elapsed());
        }
        if start.elapsed() > within {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "ipc_bench still runs {within:?} after {what}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn two_cpus() -> bool {
    std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2
}

/// Sends `signo` to `pid`; false if it has already ended.
fn signal(pid: u32, signo: libc::c_int) -> bool {
    // SAFETY: kill takes plain values.
    unsafe { libc::kill(pid as libc::pid_t, signo) == 0 }
}

#[test]
fn a_killed_child_ends_the_run_with_one_line() {
    // A sleeping wait (futex), a spinning one, and a pipe.
    for only in ["POSIX shm, futex", "spin (busy loop)", "pipe"] {
        if only.contains("spin") && !two_cpus() {
            testkit::skip_this(&format!(
                "{only}: one CPU, the spinning transports are not run"
            ));
            continue;
        }
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        let mut bench = start(only, dir.path());
        // The child of one run may end before the signal reaches it: then take the next one.
        let child = loop {
            let child = a_child_of(&mut bench);
            // (kill succeeds on a zombie too: look first that it still runs)
            if running(child) && signal(child, libc::SIGKILL) {
                break child;
            }
        };
        let (out, took) = ends_within(bench, Duration::from_secs(5), "its child died");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{only}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{only}: {stderr}");
        assert!(
            stderr.starts_with("ipc_bench: ")
                && (stderr.contains(": receiver: ") || stderr.contains(": answering process: "))
                && stderr.ends_with(": signal: 9 (SIGKILL)\n"),
            "{only}: {stderr}"
        );
        assert!(took < Duration::from_secs(3), "{only}: took {took:?}");
        assert!(!running(child), "{only}: the child still runs");
        // The header and the figures measured before, and no table.
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with("ipc_bench on "), "{only}: {stdout}");
        assert!(!stdout.contains("Throughput"), "{only}: {stdout}");
    }
}

#[test]
fn sigint_or_sigterm_ends_the_run_within_a_second_and_leaves_nothing() {
    // The last two with the child stopped (SIGSTOP) first: the parent then waits in a full
    // pipe's write, or sleeps on a futex nobody will wake.
    let cases = [
        ("POSIX shm, futex", libc::SIGINT, false),
        ("spin (busy loop)", libc::SIGTERM, false),
        ("pipe", libc::SIGINT, false),
        ("pipe", libc::SIGTERM, true),
        ("POSIX shm, futex", libc::SIGHUP, true),
    ];
    for (only, signo, stop_child) in cases {
        if only.contains("spin") && !two_cpus() {
            testkit::skip_this(&format!(
                "{only}: one CPU, the spinning transports are not run"
            ));
            continue;
        }
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        let mut bench = start(only, dir.path());
        let child = a_child_of(&mut bench);
        let objects = shm_mapped_by(child);
        if only.contains("shm") {
            assert!(!objects.is_empty(), "{only}: no shm object mapped");
        }
        if stop_child {
            assert!(signal(child, libc::SIGSTOP));
            // Stopped once /proc says so (state T): then the parent is left waiting.
            let deadline = Instant::now() + Duration::from_secs(5);
            while !stopped(child) {
                assert!(
                    Instant::now() < deadline,
                    "{only}: child {child} not stopped"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        assert!(signal(bench.id(), signo));
        let (out, took) = ends_within(bench, Duration::from_secs(5), "the signal");
        assert!(
            took <= Duration::from_secs(1),
            "{only} (child stopped: {stop_child}): took {took:?}"
        );
        // Ended by the signal, quietly, as an uncaught signal would end it.
        assert_eq!(out.status.signal(), Some(signo), "{only}: {}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{only}");
        // Its child killed and reaped (not even a zombie is left), its objects gone.
        assert!(
            !Path::new(&format!("/proc/{child}")).exists(),
            "{only}: child {child} left"
        );
        for object in objects {
            assert!(!object.exists(), "{only}: {} left", object.display());
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert!(left.is_empty(), "{only}: left {left:?}");
    }
}

#[test]
fn sigkill_of_the_benchmark_leaves_no_child_and_no_object() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut bench = start("POSIX shm, futex", dir.path());
    let child = a_child_of(&mut bench);
    let objects = shm_mapped_by(child);
    assert!(!objects.is_empty(), "no shm object mapped");
    // Unlinked as soon as it was made: only the mappings hold it.
    for object in &objects {
        assert!(!object.exists(), "{} has a name mid-run", object.display());
    }
    assert!(signal(bench.id(), libc::SIGKILL));
    let (out, _) = ends_within(bench, Duration::from_secs(5), "SIGKILL");
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    // PR_SET_PDEATHSIG: the child dies with its parent.
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(child) {
        assert!(
            Instant::now() < deadline,
            "child {child} outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left {left:?}");
}

/// The memfd ring's region has no name at all: mid-run the child maps `/memfd:ipc_bench
/// (deleted)` (what the kernel calls it), no /dev/shm object, and $TMPDIR is empty; after
/// `kill -9` of the benchmark its child dies too, and $TMPDIR is still empty.
#[test]
fn the_memfd_ring_has_no_name_even_mid_run() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut bench = start("memfd", dir.path());
    let deadline = Instant::now() + Duration::from_secs(10);
    // The child of one run may end before its maps are read: then take the next one.
    let (child, maps) = loop {
        let child = a_child_of(&mut bench);
        let maps = std::fs::read_to_string(format!("/proc/{child}/maps")).unwrap_or_default();
        if running(child) && !maps.is_empty() {
            break (child, maps);
        }
        assert!(Instant::now() < deadline, "no child's maps read in 10 s");
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(
        maps.lines()
            .any(|l| l.ends_with(" /memfd:ipc_bench (deleted)")),
        "no memfd mapped:\n{maps}"
    );
    assert_eq!(shm_mapped_by(child), Vec::<PathBuf>::new());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "mid-run: {left:?}");
    assert!(signal(bench.id(), libc::SIGKILL));
    let (out, _) = ends_within(bench, Duration::from_secs(5), "SIGKILL");
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(child) {
        assert!(
            Instant::now() < deadline,
            "child {child} outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left {left:?}");
}

/// Runs `cmd` with an empty stdin to the end, 30 s at most (then kills it and fails the test).
fn run_bounded(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ends_within(child, Duration::from_secs(30), "it was started").0
}

/// A quick run that writes its chart to `svg`, ended within 30 s.
fn quick_to(svg: &Path, dir: &Path) -> Output {
    run_bounded(
        Command::new(PROG)
            .args([
                "--quick",
                "--only",
                "pipe",
                "--repeats",
                "1",
                "--bytes",
                "4096",
            ])
            .arg("--svg")
            .arg(svg)
            .env("TMPDIR", dir),
    )
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn the_chart_is_never_written_through_a_symlink_or_into_a_non_file() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    let victim = d.join("victim");
    std::fs::write(&victim, "keep me\n").unwrap();
    let link = d.join("link.svg");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let fifo = d.join("fifo.svg");
    mkfifo(&fifo);
    let subdir = d.join("dir.svg");
    std::fs::create_dir(&subdir).unwrap();
    let cases = [
        (&link, "a symbolic link; not followed"),
        (&fifo, "not a regular file (a FIFO)"),
        (&subdir, "not a regular file (a directory)"),
    ];
    for (path, why) in cases {
        let out = quick_to(path, d);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("ipc_bench: open {}: {why}\n", path.display())
        );
        assert_eq!(out.status.code(), Some(1));
        // Refused before anything was measured.
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    assert!(link.is_symlink());
    let mut left: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["dir.svg", "fifo.svg", "link.svg", "victim"]);
    // An own chart from an earlier run is replaced (by a new file: rename).
    let own = d.join("own.svg");
    std::fs::write(&own, "old").unwrap();
    let out = quick_to(&own, d);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&own).unwrap().starts_with("<svg"));
}

#[test]
fn another_users_chart_is_not_replaced() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let theirs = dir.path().join("theirs.svg");
    if !testkit::another_users_file(&theirs, b"theirs\n") {
        return;
    }
    let out = quick_to(&theirs, dir.path());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "ipc_bench: open {}: owned by uid 65534, not by you; not replaced\n",
            theirs.display()
        )
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "theirs\n");
}

/// `ipc_bench: fallocate /shm-by-example.ipc_bench.1a2b3c4d: ...` with the random part as
/// XXXXXXXX.
fn redact_name(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr).into_owned();
    let prefix = "/shm-by-example.ipc_bench.";
    match s.find(prefix) {
        Some(at) => {
            let hex = &s[at + prefix.len()..];
            let n = hex.chars().take_while(char::is_ascii_hexdigit).count();
            assert_eq!(n, 8, "{s}");
            format!("{}XXXXXXXX{}", &s[..at + prefix.len()], &hex[n..])
        }
        None => s,
    }
}

#[test]
fn a_full_dev_shm_is_one_line_not_a_sigbus() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let Some(mut full) = testkit::in_full_tmpfs("/dev/shm".as_ref(), 0) else {
        return;
    };
    let script = r#""$0" --quick --only "POSIX shm, futex" --svg "$1/chart.svg" >/dev/null
echo "status $?, left in /dev/shm: $(ls -A /dev/shm | tr '\n' ' ')""#;
    let out = run_bounded(
        full.args(["sh", "-c", script, PROG.as_str()])
            .arg(dir.path()),
    );
    assert_eq!(
        redact_name(&out.stderr),
        "ipc_bench: fallocate /shm-by-example.ipc_bench.XXXXXXXX: No space left on device\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "status 1, left in /dev/shm: fill \n"
    );
}

#[test]
fn a_full_tmpdir_is_one_line_not_a_sigbus() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    let Some(mut in_full) = testkit::in_full_tmpfs(&full, 0) else {
        return;
    };
    let script = r#"TMPDIR=$1/full "$0" --quick --only "mapped file" --svg "$1/chart.svg" >/dev/null
echo "status $?, left: $(ls -A "$1/full" | tr '\n' ' ')""#;
    let out = run_bounded(
        in_full
            .args(["sh", "-c", script, PROG.as_str()])
            .arg(dir.path()),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "ipc_bench: fallocate a temp file in {}: No space left on device\n",
            full.display()
        )
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "status 1, left: fill \n"
    );
}

#[test]
fn ulimit_f_0_is_one_line_not_a_sigxfsz() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let out = run_bounded(
        Command::new("sh")
            .args([
                "-c",
                r#"ulimit -f 0; exec "$0" --quick --only "POSIX shm, futex" --svg "$1/chart.svg""#,
                PROG.as_str(),
            ])
            .arg(dir.path()),
    );
    assert_eq!(
        redact_name(&out.stderr),
        "ipc_bench: ftruncate /shm-by-example.ipc_bench.XXXXXXXX: File too large\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// A reader of its lines that goes away mid-run (`ipc_bench | head -1`): SIGPIPE is ignored
/// while measuring (a dead child is an `EPIPE`, reported), so the next progress line's
/// `EPIPE` ends the run as SIGPIPE would have, silently, its child reaped.
#[test]
fn a_reader_gone_mid_run_ends_it_as_sigpipe_would() {
    use std::io::BufRead;
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut bench = start("pipe", dir.path());
    let mut lines = std::io::BufReader::new(bench.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    assert!(first.starts_with("ipc_bench on "), "{first}");
    let child = a_child_of(&mut bench);
    drop(lines);
    let (out, _) = ends_within(bench, Duration::from_secs(5), "its reader went away");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(
        !Path::new(&format!("/proc/{child}")).exists(),
        "child {child} left"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left {left:?}");
}
