//! anon_fork run for real, each variant compared whole with its transcript in
//! `tests/transcripts/`, which `docs/src/anon_fork.md` includes.
//! `SNAPSHOTS=overwrite cargo test -p anon_fork` rewrites them from the real output.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;

use snapbox::file;
use testkit::{Bin, Transcript};

const ANON_FORK: Bin = Bin::new("anon_fork", env!("CARGO_BIN_EXE_anon_fork"));

fn session(args: &[&OsStr]) -> Transcript {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    t.run(ANON_FORK, args);
    t
}

#[test]
fn shared_anonymous_mapping_is_seen_by_both() {
    session(&[]).assert_eq(file!["transcripts/shared.txt"]);
}

#[test]
fn private_mapping_is_copied_on_write() {
    session(&["--private".as_ref()]).assert_eq(file!["transcripts/private.txt"]);
}

#[test]
fn dev_zero_mapping_is_shared_like_an_anonymous_one() {
    session(&["--dev-zero".as_ref()]).assert_eq(file!["transcripts/dev_zero.txt"]);
}

#[test]
fn private_dev_zero_mapping_is_copied_on_write() {
    session(&["--dev-zero".as_ref(), "--private".as_ref()])
        .assert_eq(file!["transcripts/private_dev_zero.txt"]);
}

#[test]
fn file_mapping_is_shared_across_fork_and_lands_in_the_file() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.path().join("demo1");
    let mut t = Transcript::new(dir.path());
    t.run(ANON_FORK, &["--file".as_ref(), path.as_ref()]);
    t.assert_eq(file!["transcripts/file.txt"]);

    // What the parent and the child wrote is in the file: ages 100, 21..24 after names b..f.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 80);
    let people: &[common::People] = bytemuck::cast_slice(&bytes);
    let got: Vec<_> = people[..5]
        .iter()
        .map(|p| (p.name_lossy().into_owned(), p.age))
        .collect();
    let want: Vec<_> = [("b", 100), ("c", 21), ("d", 22), ("e", 23), ("f", 24)]
        .iter()
        .map(|&(n, a)| (n.to_owned(), a))
        .collect();
    assert_eq!(got, want);
    assert!(people[5..].iter().all(|p| *p == common::People::default()));
}

/// The project's C program (crates/anon_fork/c/anon_fork.c) prints, for every variant, the
/// Rust's transcript, and leaves the same file: parent and child are one program here, so
/// this is its C-against-Rust check.
#[test]
fn c_program_prints_the_same_transcripts() {
    let c = testkit::c_program(env!("CARGO_TARGET_TMPDIR"), "anon_fork");
    for (args, expected) in [
        (&[][..], file!["transcripts/shared.txt"]),
        (&["--private"][..], file!["transcripts/private.txt"]),
        (&["--dev-zero"][..], file!["transcripts/dev_zero.txt"]),
        (
            &["--dev-zero", "--private"][..],
            file!["transcripts/private_dev_zero.txt"],
        ),
    ] {
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        let mut t = Transcript::new(dir.path());
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        t.run(&c, &args);
        t.assert_eq(expected);
    }
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.path().join("demo1");
    let mut t = Transcript::new(dir.path());
    t.run(&c, &["--file".as_ref(), path.as_ref()]);
    t.assert_eq(file!["transcripts/file.txt"]);
    let rust = dir.path().join("demo1.rust");
    testkit::run_ok(ANON_FORK, &["--file".as_ref(), rust.as_ref()]);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&rust).unwrap(),
        "the C and the Rust leave different bytes in the file"
    );
}

/// The C program on bad input: one line each. Differences from the Rust on purpose: a usage
/// line of its own instead of clap's, and "not a regular file" without saying what it is.
#[test]
fn c_bad_input_is_one_line_and_exit_status() {
    let c = testkit::c_program(env!("CARGO_TARGET_TMPDIR"), "anon_fork");
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    testkit::plant_hostile_names(d);
    let p = |name: &str| d.join(name).into_os_string();
    let mut t = Transcript::new(d);
    t.run(&c, &["--file".as_ref(), &p("no/such/dir/demo1")]);
    t.run(&c, &["--file".as_ref(), d.as_os_str()]);
    t.run(&c, &["--file".as_ref(), &p("link")]);
    t.run(&c, &["--file".as_ref(), "/dev/null".as_ref()]);
    t.run(&c, &["--file".as_ref(), &p("x"), "--dev-zero".as_ref()]);
    t.run(&c, &["--shared".as_ref()]);
    t.assert_eq(file!["transcripts/errors_c.txt"]);
    testkit::assert_victim_untouched(d);
}

#[test]
fn output_order_holds_when_stdout_is_a_file() {
    // Parent and child write to one open file: the order must come from the handover (pipe,
    // waitpid), not from luck, and nothing may be printed twice by a buffer copied by fork.
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let out_path = dir.path().join("out.txt");
    let out = std::fs::File::create(&out_path).unwrap();
    let status = std::process::Command::new(ANON_FORK)
        .stdout(out)
        .status()
        .unwrap();
    assert!(status.success());
    let expected = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/shared.txt"),
    )
    .unwrap();
    let printed = std::fs::read_to_string(&out_path).unwrap();
    assert_eq!(format!("$ anon_fork\n{printed}"), expected);
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    testkit::plant_hostile_names(d);
    let p = |name: &str| d.join(name).into_os_string();
    let mut t = Transcript::new(d);
    t.run(ANON_FORK, &["--file".as_ref(), &p("no/such/dir/demo1")]);
    t.run(ANON_FORK, &["--file".as_ref(), d.as_os_str()]);
    t.run(ANON_FORK, &["--file".as_ref(), &p("link")]);
    t.run(ANON_FORK, &["--file".as_ref(), &p("fifo")]);
    t.run(ANON_FORK, &["--file".as_ref(), "/dev/null".as_ref()]);
    t.run(
        ANON_FORK,
        &["--file".as_ref(), &p("x"), "--dev-zero".as_ref()],
    );
    t.run(ANON_FORK, &["--shared".as_ref()]);
    t.assert_eq(file!["transcripts/errors.txt"]);
    testkit::assert_victim_untouched(d);
}

#[test]
fn a_closed_stdout_ends_it_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    // The child prints first and dies of SIGPIPE; the parent reports that, in one line.
    let out = testkit::run_into_closed_pipe(ANON_FORK, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", out.status);
    assert_eq!(out.status.signal(), None);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "anon_fork: child: signal: 13 (SIGPIPE)\n"
    );
}

/// A full tmpfs: ftruncate succeeds (it reserves nothing) and the parent's first store into
/// the mapping would die of SIGBUS; anon_fork reserves the blocks first and reports ENOSPC.
#[test]
fn a_full_tmpfs_is_an_error_not_sigbus() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let script = r#"
echo '$ anon_fork --file demo'
"$1" --file demo 2>&1; echo "? $?"
"#;
    let Some(mut full) = testkit::in_full_tmpfs(dir.path(), 0) else {
        return;
    };
    let out = full
        .args(["sh", "-c", script, "sh", ANON_FORK.as_str()])
        .output()
        .unwrap();
    let mut t = Transcript::new(dir.path());
    t.comment("in unshare -rm: the current directory is a 64 KiB tmpfs, full");
    t.output(&out);
    t.assert_eq(file!["transcripts/full.txt"]);
}

/// `ulimit -f 0`: ftruncate fails with EFBIG ("File too large"), reported in one line;
/// SIGXFSZ is ignored, so it does not kill the program.
#[test]
fn a_file_size_limit_is_an_error_not_sigxfsz() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    t.redact_literal(ANON_FORK, "anon_fork");
    let file = dir.path().join("demo");
    let script = r#"ulimit -f 0; exec "$0" --file "$1""#;
    t.run(
        "sh",
        &[
            "-c".as_ref(),
            script.as_ref(),
            ANON_FORK.as_ref(),
            file.as_ref(),
        ],
    );
    t.assert_eq(file!["transcripts/ulimit.txt"]);
}

/// A file of the same name that another user owns is neither truncated nor written. Only
/// root can make such a file here; as another user this test says it was skipped.
#[test]
fn another_users_file_is_not_truncated() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.path().join("demo");
    if !testkit::another_users_file(&file, b"theirs") {
        return;
    }
    let mut t = Transcript::new(dir.path());
    t.run(ANON_FORK, &["--file".as_ref(), file.as_ref()]);
    t.assert_eq(file!["transcripts/other_user.txt"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"theirs");
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), 65534);
}
