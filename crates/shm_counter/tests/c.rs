//! The project's C program, crates/shm_counter/c/shm_counter.c, against the Rust port: the
//! same transcripts where it has the same options (it has no `--sync robust`, no `--backing
//! shared-memory`, no `--child-dies-holding-lock`), and the two unrelated processes of
//! `--role` mode mixed: a C first with a Rust second, and the other way round, sharing one
//! region, its pthread mutex included.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use snapbox::file;
use testkit::{Bin, Transcript};

const RUST: Bin = Bin::new("shm_counter", env!("CARGO_BIN_EXE_shm_counter"));

fn c() -> PathBuf {
    testkit::c_program(env!("CARGO_TARGET_TMPDIR"), "shm_counter")
}

fn args<'a>(list: &'a [&'a str]) -> Vec<&'a OsStr> {
    list.iter().map(OsStr::new).collect()
}

/// `protected_mutex.txt` and `protected_atomic.txt` less the runs the C program cannot make
/// (`--backing shared-memory`).
fn protected_without_rust_only_runs() -> String {
    let text = ["mutex", "atomic"]
        .map(|sync| {
            std::fs::read_to_string(format!(
                "{}/tests/transcripts/protected_{sync}.txt",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        })
        .concat();
    let mut out = String::new();
    let mut keep = true;
    for line in text.lines() {
        if line.starts_with("# shm_counter") {
            keep = !line.contains("robust") && !line.contains("shared-memory");
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Every protected run the C program can make prints the Rust's lines, and leaves nothing.
#[test]
fn c_protected_runs_print_the_rust_transcript() {
    let c = c();
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    t.redact_literal(name.clone(), "[NAME]");
    for sync in ["mutex", "atomic"] {
        for backing in ["file", "anon", "posix"] {
            let mut a = vec!["--loops", "20000", "--sync", sync, "--backing", backing];
            if backing == "posix" {
                a.extend(["--name", &name]);
            }
            let out = Command::new(&c)
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
    }
    assert_eq!(t.text(), protected_without_rust_only_runs());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Without a lock the C loses updates as the Rust does, within the same arithmetic; the
/// count varies, so it is checked, not compared.
#[test]
fn c_without_protection_the_arithmetic_of_lost_updates_holds() {
    let out = testkit::run_ok(
        c(),
        &args(&["--loops", "300000", "--sync", "none", "--backing", "anon"]),
    );
    let line = out.lines().nth(1).unwrap();
    let nums: Vec<u64> = line
        .split(|ch: char| !ch.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let (counter, expected, lost) = (nums[0], nums[1], nums[2]);
    assert_eq!(expected, 600_000);
    assert!((2..=expected).contains(&counter), "{counter}");
    assert_eq!(lost, expected - counter);
}

/// `--trace` under the lock: every value once, in order, 50 from each process.
#[test]
fn c_trace_prints_every_value_once_in_order() {
    let out = testkit::run_ok(c(), &args(&["--loops", "50", "--trace"]));
    let values: Vec<u64> = out
        .lines()
        .skip(1)
        .take(100)
        .map(|l| l.split_once(": ").unwrap().1.parse().unwrap())
        .collect();
    assert_eq!(values, (0..100).collect::<Vec<_>>());
    assert_eq!(out.matches("parent: ").count(), 50);
    assert_eq!(out.matches("child: ").count(), 50);
    assert!(out.ends_with("counter = 100, expected 100, lost updates 0\n"));
}

/// The `--role` session of `roles.txt`, with `first` and `second` the given programs.
fn roles(first_prog: &Path, second_prog: &Path) {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    let mut t = Transcript::new(dir.path());
    t.redact_literal(name.clone(), "[NAME]");
    let common = ["--backing", "posix", "--name", &name, "--loops", "50000"];
    let mut first = t.start(
        first_prog,
        &args(&[&common[..], &["--role", "first"]].concat()),
    );
    t.line(&mut first);
    t.line(&mut first);
    let second = t.run(
        second_prog,
        &args(&["--backing", "posix", "--name", &name, "--role", "second"]),
    );
    if !second.status.success() {
        // The first would wait for a second for ever: Ctrl-C, and it removes its object.
        testkit::kill(first.pid(), libc::SIGINT);
    }
    t.output(&first.finish());
    t.assert_eq(file!["transcripts/roles.txt"]);
    assert!(!testkit::shm_exists(&name), "the first must remove it");
}

#[test]
fn c_first_and_c_second_print_the_rust_transcript() {
    let c = c();
    roles(&c, &c);
}

/// The region is the interface: layout, header, the OFD locks and the pthread mutex that the
/// Rust's raw_sync makes. A C first counts with a Rust second ...
#[test]
fn a_c_first_and_a_rust_second_share_the_counter() {
    roles(&c(), RUST.path());
}

/// ... and a Rust first with a C second.
#[test]
fn a_rust_first_and_a_c_second_share_the_counter() {
    roles(RUST.path(), &c());
}

/// Ctrl-C (or SIGTERM) while the C first waits: it removes its object and ends by the signal.
#[test]
fn the_c_first_removes_its_object_when_interrupted() {
    for signo in [libc::SIGINT, libc::SIGTERM] {
        let name = testkit::unique_shm_name();
        let _gone = testkit::RemoveShm(name.clone());
        let mut first = testkit::Background::spawn(
            c(),
            &args(&["--backing", "posix", "--name", &name, "--role", "first"]),
        );
        first.line();
        assert!(testkit::shm_exists(&name));
        testkit::kill(first.pid(), signo);
        let out = first.finish();
        assert_eq!(out.status.signal(), Some(signo));
        assert!(!testkit::shm_exists(&name), "left after signal {signo}");
    }
}

/// Bad input: one line, exit status 2 for an argument, 1 for a failed call or check. Its own
/// wording, and the Rust-only options refused by name.
#[test]
fn c_bad_input_is_one_line_and_exit_status() {
    let c = c();
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    let name = testkit::unique_shm_name();
    let _gone = testkit::RemoveShm(name.clone());
    t.redact_literal(name.clone(), "[NAME]");
    t.run(&c, &args(&["--loops", "0"]));
    t.run(&c, &args(&["--loops"]));
    t.run(&c, &args(&["--sync", "robust"]));
    t.run(&c, &args(&["--backing", "shared-memory"]));
    t.run(&c, &args(&["--backing", "posix"]));
    t.run(&c, &args(&["--role", "second", "--name", "xyz"]));
    t.run(
        &c,
        &args(&["--backing", "posix", "--name", &name, "--role", "second"]),
    );
    t.assert_eq(file!["transcripts/errors_c.txt"]);
}
