//! `--sync sem`, `sem-named`, `sysv-sem` and `sysv-sem-undo`: the three semaphores of UNP's
//! counter programs (and System V's with SEM_UNDO), run for real and compared whole with the
//! transcripts that `docs/src/shm_counter.md` includes. Each test also checks that no named
//! semaphore (`/dev/shm/sem.shm-by-example.*`) and no System V semaphore set of ours is left.
//! The tests of this file run one at a time (a lock): each compares the semaphores before and
//! after, and only they make any.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::sync::Mutex;

use snapbox::file;
use testkit::{Bin, Transcript};

const PROG: Bin = Bin::new("shm_counter", env!("CARGO_BIN_EXE_shm_counter"));
const KINDS: [&str; 4] = ["sem", "sem-named", "sysv-sem", "sysv-sem-undo"];

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn args<'a>(list: &'a [&'a str]) -> Vec<&'a OsStr> {
    list.iter().map(OsStr::new).collect()
}

/// The named semaphores in /dev/shm and the System V semaphore sets there are now.
fn semaphores() -> BTreeSet<String> {
    let mut all: BTreeSet<String> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("sem."))
        .collect();
    let sysv = std::fs::read_to_string("/proc/sysvipc/sem").unwrap();
    all.extend(sysv.lines().skip(1).map(|l| {
        let id = l.split_whitespace().nth(1).unwrap();
        format!("System V semaphore set {id}")
    }));
    all
}

/// Runs `body` alone among this file's tests, and fails if it left a semaphore behind.
fn leaves_no_semaphore(body: impl FnOnce()) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let before = semaphores();
    body();
    let left: Vec<_> = semaphores().difference(&before).cloned().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn every_semaphore_counts_every_increment() {
    leaves_no_semaphore(|| {
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        let mut t = Transcript::new(dir.path());
        for sync in KINDS {
            t.run(PROG, &args(&["--loops", "20000", "--sync", sync]));
        }
        t.assert_eq(file!["transcripts/protected_sem.txt"]);
    });
}

#[test]
fn a_holder_that_dies_keeps_a_semaphore_unless_sem_undo_gives_it_back() {
    leaves_no_semaphore(|| {
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        let mut t = Transcript::new(dir.path());
        for sync in KINDS {
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
        }
        t.assert_eq(file!["transcripts/owner_dies_sem.txt"]);
    });
}

#[test]
fn two_unrelated_processes_share_a_semaphore() {
    leaves_no_semaphore(|| {
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        let mut t = Transcript::new(dir.path());
        for sync in KINDS {
            let name = testkit::unique_shm_name();
            let _gone = testkit::RemoveShm(name.clone());
            t.redact_literal(name.clone(), "[NAME]");
            let first_args = [
                "--backing",
                "posix",
                "--name",
                &name,
                "--loops",
                "20000",
                "--sync",
                sync,
                "--role",
                "first",
            ];
            let mut first = t.start(PROG, &args(&first_args));
            t.line(&mut first);
            t.line(&mut first);
            let second = t.run(
                PROG,
                &args(&["--backing", "posix", "--name", &name, "--role", "second"]),
            );
            if !second.status.success() {
                testkit::kill(first.pid(), libc::SIGINT);
            }
            t.output(&first.finish());
            assert!(!testkit::shm_exists(&name), "{name} left behind");
        }
        t.assert_eq(file!["transcripts/roles_sem.txt"]);
    });
}

/// Ctrl-C while the first waits for a second: the named semaphore and the System V set it made
/// go with its object.
#[test]
fn an_interrupted_first_removes_its_semaphore() {
    leaves_no_semaphore(|| {
        for sync in ["sem-named", "sysv-sem"] {
            let name = testkit::unique_shm_name();
            let _gone = testkit::RemoveShm(name.clone());
            let first_args = [
                "--backing",
                "posix",
                "--name",
                &name,
                "--sync",
                sync,
                "--role",
                "first",
            ];
            let mut first = testkit::Background::spawn(PROG, &args(&first_args));
            first.line();
            testkit::kill(first.pid(), libc::SIGINT);
            let out = first.finish();
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&out.status),
                Some(libc::SIGINT)
            );
            assert!(!testkit::shm_exists(&name), "{name} left behind");
        }
    });
}
