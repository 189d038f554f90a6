//! The programs of one idea each: `shm_counter_pair` (two unrelated processes) and
//! `shm_counter_dies` (a holder that dies), run for real and compared whole with the
//! transcripts that `docs/src/shm_counter.md` includes. They do what `shm_counter --role` and
//! `shm_counter --child-dies-holding-lock` do (tests/shm_counter.rs).

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;

use snapbox::file;
use testkit::{Bin, Transcript};

const PAIR: Bin = Bin::new("shm_counter_pair", env!("CARGO_BIN_EXE_shm_counter_pair"));
const DIES: Bin = Bin::new("shm_counter_dies", env!("CARGO_BIN_EXE_shm_counter_dies"));

fn args<'a>(list: &'a [&'a str]) -> Vec<&'a OsStr> {
    list.iter().map(OsStr::new).collect()
}

#[test]
fn shm_counter_pair_runs_a_first_and_a_second() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let mut t = Transcript::new(dir.path());
    t.redact_literal(name.clone(), "[NAME]");
    let mut first = t.start(PAIR, &args(&["first", &name, "--loops", "50000"]));
    t.line(&mut first);
    t.line(&mut first);
    let second = t.run(PAIR, &args(&["second", &name]));
    if !second.status.success() {
        testkit::kill(first.pid(), libc::SIGINT);
    }
    t.output(&first.finish());
    t.run(PAIR, &args(&["second", &name]));
    t.run(PAIR, &args(&["third", &name]));
    t.assert_eq(file!["transcripts/pair.txt"]);
    assert!(!testkit::shm_exists(&name), "{name} left behind");
}

#[test]
fn shm_counter_dies_shows_which_locks_survive() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    for sync in ["robust", "mutex", "sysv-sem-undo", "atomic"] {
        t.run(DIES, &args(&["--sync", sync]));
    }
    t.assert_eq(file!["transcripts/dies.txt"]);
}
