//! The project's C program beside ipc_bench, crates/ipc_bench/c/futex_handoff.c: the ring's
//! futex handoff alone (the C that porting exercise 13 ports to `src/futex.rs`). Its
//! transcript, and its bad input.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;

use snapbox::file;
use testkit::Transcript;

#[test]
fn c_futex_handoff_delivers_every_message() {
    let c = testkit::c_program(env!("CARGO_TARGET_TMPDIR"), "futex_handoff");
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    t.run(&c, &[]);
    t.run(&c, &[OsStr::new("1")]);
    t.run(&c, &[OsStr::new("0")]);
    t.run(&c, &[OsStr::new("1"), OsStr::new("2")]);
    t.assert_eq(file!["transcripts/futex_handoff.txt"]);
}
