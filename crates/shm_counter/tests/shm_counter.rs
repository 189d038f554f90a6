//! shm_counter run for real. Runs whose output is fixed are compared whole with the
//! transcripts in `tests/transcripts/` (which `docs/src/shm_counter.md` includes); the
//! unprotected runs, whose count varies, are checked line by line.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use snapbox::file;
use testkit::{Bin, Transcript};

const PROG: Bin = Bin::new("shm_counter", env!("CARGO_BIN_EXE_shm_counter"));

fn args<'a>(list: &'a [&'a str]) -> Vec<&'a OsStr> {
    list.iter().map(OsStr::new).collect()
}

/// `counter = C, expected E, lost updates L` → (C, E, L).
fn result_line(stdout: &str) -> (u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("counter = "))
        .expect("no result line");
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1], nums[2])
}

/// Every backing with one `--sync` that protects: no increment lost, nothing left behind.
fn counts_every_increment(sync: &str) -> Transcript {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    t.redact_literal(name.clone(), "[NAME]");
    for backing in ["file", "anon", "posix", "shared-memory"] {
        let mut a = vec!["--loops", "20000", "--sync", sync, "--backing", backing];
        if backing == "posix" || backing == "shared-memory" {
            a.extend(["--name", &name]);
        }
        let out = Command::new(PROG)
            .args(&a)
            .env("TMPDIR", dir.path())
            .output()
            .unwrap();
        t.comment(&format!(
            "shm_counter {}",
            a.join(" ").replace(&name, "[NAME]")
        ));
        t.output(&out);
        assert!(!testkit::shm_exists(&name), "{name} left behind");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a temp file was left behind"
    );
    t
}

#[test]
fn the_mutex_counts_every_increment() {
    counts_every_increment("mutex").assert_eq(file!["transcripts/protected_mutex.txt"]);
}

#[test]
fn the_robust_mutex_counts_every_increment() {
    counts_every_increment("robust").assert_eq(file!["transcripts/protected_robust.txt"]);
}

#[test]
fn fetch_add_counts_every_increment() {
    counts_every_increment("atomic").assert_eq(file!["transcripts/protected_atomic.txt"]);
}

#[test]
fn without_protection_the_arithmetic_of_lost_updates_holds() {
    for backing in ["anon", "file"] {
        let out = testkit::run_ok(
            PROG,
            &args(&["--loops", "300000", "--sync", "none", "--backing", backing]),
        );
        assert!(out.starts_with(&format!(
            "backing {backing}, sync none: parent and child each increment the counter 300000 times\n"
        )));
        let (counter, expected, lost) = result_line(&out);
        assert_eq!(expected, 600_000);
        assert!(
            counter <= expected,
            "more increments than were made: {counter}"
        );
        // The least it can be is 2, not N: on one CPU, one preemption between a load and its
        // store can wipe out a whole time slice of the other process's increments.
        assert!(counter >= 2, "{counter}");
        assert_eq!(lost, expected - counter);
    }
}

#[test]
fn trace_prints_every_value_once_in_order_under_the_lock() {
    let out = testkit::run_ok(PROG, &args(&["--loops", "50", "--trace"]));
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("backing anon, sync mutex: parent and child each increment the counter 50 times")
    );
    let trace: Vec<(&str, u64)> = lines
        .by_ref()
        .take(100)
        .map(|l| {
            let (who, v) = l.split_once(": ").unwrap();
            (who, v.parse().unwrap())
        })
        .collect();
    // Printed while holding the lock: the values come out in order.
    assert_eq!(
        trace.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        (0..100).collect::<Vec<_>>()
    );
    assert_eq!(trace.iter().filter(|(w, _)| *w == "parent").count(), 50);
    assert_eq!(trace.iter().filter(|(w, _)| *w == "child").count(), 50);
    assert_eq!(
        lines.next(),
        Some("counter = 100, expected 100, lost updates 0")
    );
}

/// `--child-dies-holding-lock` with `--sync SYNC`: the child locks, increments once and is
/// killed holding the lock.
fn owner_dies(sync: &str) -> Transcript {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    t.run(
        PROG,
        &args(&[
            "--loops",
            "1000",
            "--sync",
            sync,
            "--child-dies-holding-lock",
        ]),
    );
    t
}

#[test]
fn a_robust_mutex_survives_an_owner_killed_holding_it() {
    owner_dies("robust").assert_eq(file!["transcripts/owner_dies_robust.txt"]);
}

#[test]
fn a_raw_sync_mutex_whose_owner_was_killed_is_one_line_not_a_hang() {
    owner_dies("mutex").assert_eq(file!["transcripts/owner_dies_mutex.txt"]);
}

#[test]
fn two_unrelated_processes_share_a_named_counter() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let mut t = Transcript::new(dir.path());
    t.redact_literal(name.clone(), "[NAME]");
    let common = ["--backing", "posix", "--name", &name, "--loops", "50000"];
    let mut first = t.start(PROG, &args(&[&common[..], &["--role", "first"]].concat()));
    t.line(&mut first);
    t.line(&mut first);
    assert!(testkit::shm_exists(&name));
    let second = t.run(
        PROG,
        &args(&["--backing", "posix", "--name", &name, "--role", "second"]),
    );
    if !second.status.success() {
        // The first would wait for a second for ever: Ctrl-C, and it removes its object.
        testkit::kill(first.pid(), libc::SIGINT);
    }
    t.output(&first.finish());
    t.assert_eq(file!["transcripts/roles.txt"]);
    assert!(
        !testkit::shm_exists(&name),
        "the first process must remove the object"
    );
}

#[test]
fn the_first_process_removes_its_object_when_interrupted() {
    for signo in [libc::SIGINT, libc::SIGTERM] {
        let name = testkit::unique_shm_name();
        let _gone = testkit::RemoveShm(name.clone());
        let mut first = testkit::Background::spawn(
            PROG,
            &args(&["--backing", "posix", "--name", &name, "--role", "first"]),
        );
        first.line();
        assert!(testkit::shm_exists(&name));
        testkit::kill(first.pid(), signo);
        let out = first.finish();
        assert_eq!(out.status.signal(), Some(signo));
        assert!(
            !testkit::shm_exists(&name),
            "object left after signal {signo}"
        );
    }
}

#[test]
fn an_interrupted_parent_takes_its_child_and_its_object_with_it() {
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let mut parent = testkit::Background::spawn(
        PROG,
        &args(&[
            "--backing",
            "posix",
            "--name",
            &name,
            "--loops",
            "4000000000",
            "--sync",
            "robust",
        ]),
    );
    parent.line();
    testkit::kill(parent.pid(), libc::SIGTERM);
    let out = parent.finish();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGTERM),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!testkit::shm_exists(&name), "object left behind");
    // No shm_counter with this name on its command line may still run (the child).
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains(&name),
            "a process was left behind: {}",
            entry.path().display()
        );
    }
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let mut t = Transcript::new(dir.path());
    t.redact_literal(name.clone(), "[NAME]");
    t.run(PROG, &args(&["--loops", "many"]));
    t.run(PROG, &args(&["--sync", "spinlock"]));
    t.run(PROG, &args(&["--role", "first"]));
    t.run(PROG, &args(&["--role", "first", "--name", &name]));
    t.run(
        PROG,
        &args(&["--sync", "atomic", "--child-dies-holding-lock"]),
    );
    t.run(
        PROG,
        &args(&["--backing", "posix", "--name", &name, "--role", "second"]),
    );
    t.run(
        PROG,
        &args(&[
            "--backing",
            "file",
            "--file",
            dir.path().join("no/such/dir/f").to_str().unwrap(),
        ]),
    );
    // A name with a second `/`: a usage error, before any call.
    t.run(
        PROG,
        &args(&["--backing", "posix", "--name", "/a/b", "--role", "second"]),
    );
    t.comment("TMPDIR=[DIR]/no/such/dir shm_counter --backing file");
    let out = Command::new(PROG)
        .args(["--backing", "file"])
        .env("TMPDIR", dir.path().join("no/such/dir"))
        .output()
        .unwrap();
    t.output(&out);
    t.assert_eq(file!["transcripts/errors.txt"]);
}

#[test]
fn the_second_refuses_an_object_that_is_not_a_live_first_ones() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    let second = |name: &str| {
        args(&["--backing", "posix", "--name", name, "--role", "second"])
            .into_iter()
            .map(|s| s.to_owned())
            .collect::<Vec<_>>()
    };

    // A zero-filled object of the right size: not laid out by a first process.
    let zeros = testkit::unique_shm_name();
    let _gone_zeros = testkit::RemoveShm(zeros.clone());
    t.redact_literal(zeros.clone(), "[ZEROS]");
    let c_zeros = std::ffi::CString::new(zeros.clone()).unwrap();
    let fd = common::posix::shm_open(&c_zeros, libc::O_CREAT | libc::O_RDWR, 0o600).unwrap();
    std::fs::File::from(fd).set_len(4096).unwrap();
    let a = second(&zeros);
    t.run(PROG, &a.iter().map(|s| s.as_os_str()).collect::<Vec<_>>());
    common::posix::shm_unlink(&c_zeros).unwrap();

    // The object of a first process killed with SIGKILL, which could not remove it.
    let left = testkit::unique_shm_name();
    let _gone_left = testkit::RemoveShm(left.clone());
    t.redact_literal(left.clone(), "[LEFT]");
    let mut first = t.start(
        PROG,
        &args(&["--backing", "posix", "--name", &left, "--role", "first"]),
    );
    t.line(&mut first);
    t.line(&mut first);
    t.comment("kill -9 the first: it cannot remove its object");
    testkit::kill(first.pid(), libc::SIGKILL);
    assert_eq!(first.finish().status.signal(), Some(libc::SIGKILL));
    assert!(testkit::shm_exists(&left), "SIGKILL leaves the object");
    let a = second(&left);
    t.run(PROG, &a.iter().map(|s| s.as_os_str()).collect::<Vec<_>>());
    common::posix::shm_unlink(&std::ffi::CString::new(left.clone()).unwrap()).unwrap();

    t.assert_eq(file!["transcripts/not_a_first.txt"]);
}
