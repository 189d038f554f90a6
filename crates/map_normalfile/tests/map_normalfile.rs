//! The writer/reader pair run for real, compared whole with the transcripts in
//! `tests/transcripts/`, which `docs/src/map_normalfile.md` includes.
//! `SNAPSHOTS=overwrite cargo test -p map_normalfile` rewrites them from the real output.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use snapbox::file;
use testkit::{Bin, Transcript};

const WRITER: Bin = Bin::new("map_normalfile1", env!("CARGO_BIN_EXE_map_normalfile1"));
const READER: Bin = Bin::new("map_normalfile2", env!("CARGO_BIN_EXE_map_normalfile2"));

/// The project's own C program `name` (crates/map_normalfile/c/NAME.c), built for this run.
fn c(name: &str) -> PathBuf {
    testkit::c_program(env!("CARGO_TARGET_TMPDIR"), name)
}

/// The notes' session: the writer holds its mapping while the reader runs, is released, and
/// the reader runs again after `umap ok`. `records` is passed to both when given.
fn pair(dir: &Path, records: Option<&str>) -> Transcript {
    pair_of(dir, records, WRITER.path(), READER.path())
}

/// [`pair`] with any writer and reader: Rust, C, or one of each.
fn pair_of(dir: &Path, records: Option<&str>, writer: &Path, reader: &Path) -> Transcript {
    let file = dir.join("test_shm");
    let mut opts: Vec<&OsStr> = Vec::new();
    if let Some(n) = records {
        opts.extend([OsStr::new("--records"), OsStr::new(n)]);
    }
    let mut t = Transcript::new(dir);

    let writer_args = [&opts[..], &["--wait-stdin".as_ref(), file.as_ref()]].concat();
    let mut writer = t.start(writer, &writer_args);
    assert_eq!(t.line(&mut writer), "initialize over");

    let reader_args = [&opts[..], &[file.as_os_str()]].concat();
    t.run(reader, &reader_args);

    t.comment("release the writer: a line on its stdin");
    writer.send_line("");
    t.output(&writer.finish());

    t.run(reader, &reader_args);
    t
}

/// The transcript a disk session must match: `pair_tmpfs.txt` where cargo's target/tmp is
/// itself on tmpfs (said on stderr), else `pair_disk.txt`.
#[track_caller]
fn assert_disk_pair(dir: &Path, t: &Transcript) {
    if testkit::is_tmpfs(dir) {
        eprintln!(
            "note: {} is on tmpfs here, so the disk-backed case cannot be shown",
            dir.display()
        );
        t.assert_eq(file!["transcripts/pair_tmpfs.txt"]);
    } else {
        t.assert_eq(file!["transcripts/pair_disk.txt"]);
    }
}

#[test]
fn disk_file_reads_zeros_past_end_of_file_after_umap() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let t = pair(dir.path(), None);
    assert_disk_pair(dir.path(), &t);
}

/// The project's C pair prints, line for line, what the Rust pair prints: the same
/// transcripts, on a disk and on tmpfs.
#[test]
fn c_programs_print_the_same_transcripts() {
    let (writer, reader) = (c("map_normalfile1"), c("map_normalfile2"));
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    assert_disk_pair(dir.path(), &pair_of(dir.path(), None, &writer, &reader));
    let dir = testkit::tmpfs_dir();
    pair_of(dir.path(), None, &writer, &reader).assert_eq(file!["transcripts/pair_tmpfs.txt"]);
}

/// C writer with the Rust reader, Rust writer with the C reader: the same session, the same
/// lines, on a disk and on tmpfs. The file is the interface: same layout, same bytes.
#[test]
fn c_and_rust_share_the_file_both_ways() {
    let (c_writer, c_reader) = (c("map_normalfile1"), c("map_normalfile2"));
    for (writer, reader) in [
        (c_writer.as_path(), READER.path()),
        (WRITER.path(), c_reader.as_path()),
    ] {
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        assert_disk_pair(dir.path(), &pair_of(dir.path(), None, writer, reader));
        let dir = testkit::tmpfs_dir();
        pair_of(dir.path(), None, writer, reader).assert_eq(file!["transcripts/pair_tmpfs.txt"]);
    }
}

#[test]
fn tmpfs_file_keeps_the_records_past_end_of_file() {
    let dir = testkit::tmpfs_dir();
    pair(dir.path(), None).assert_eq(file!["transcripts/pair_tmpfs.txt"]);
}

#[test]
fn seed_003_variant_maps_only_the_file() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    pair(dir.path(), Some("5")).assert_eq(file!["transcripts/records5.txt"]);
}

#[test]
fn writer_leaves_a_five_record_owner_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.path().join("test_shm");
    let out = testkit::run_ok(WRITER, &["--hold".as_ref(), "0".as_ref(), file.as_ref()]);
    assert_eq!(out, "initialize over\numap ok\n");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(
        meta.len(),
        40,
        "the mapping must not change the file's size"
    );
    assert_eq!(
        meta.permissions().mode() & 0o022,
        0,
        "group/other must not be able to write"
    );
    let bytes = std::fs::read(&file).unwrap();
    let people: &[common::People] = bytemuck::cast_slice(&bytes);
    let names: Vec<_> = people
        .iter()
        .map(|p| (p.name_lossy().into_owned(), p.age))
        .collect();
    let expected: Vec<_> = ["a", "b", "c", "d", "e"]
        .iter()
        .zip(20..)
        .map(|(n, a)| (n.to_string(), a))
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    std::fs::write(d.join("empty"), b"").unwrap();
    std::fs::write(d.join("short"), b"abc").unwrap();
    testkit::plant_hostile_names(d);

    let mut t = Transcript::new(d);
    let p = |name: &str| d.join(name).into_os_string();
    t.run(READER, &[]);
    t.run(READER, &[&p("missing")]);
    t.run(READER, &[&p("empty")]);
    t.run(READER, &[&p("short")]);
    t.run(READER, &[d.as_os_str()]);
    t.run(READER, &[&p("fifo")]);
    t.run(READER, &["--records".as_ref(), "0".as_ref(), &p("short")]);
    t.run(WRITER, &[]);
    t.run(WRITER, &[&p("no/such/dir/test_shm")]);
    t.run(WRITER, &[d.as_os_str()]);
    t.run(WRITER, &[&p("link")]);
    t.run(WRITER, &["--hold".as_ref(), "0".as_ref(), &p("fifo")]);
    t.run(
        WRITER,
        &["--hold".as_ref(), "0".as_ref(), "/dev/null".as_ref()],
    );
    t.run(READER, &["/dev/null".as_ref()]);
    t.run(
        WRITER,
        &["--records".as_ref(), "many".as_ref(), &p("test_shm")],
    );
    t.run(
        WRITER,
        &["--hold".as_ref(), "soon".as_ref(), &p("test_shm")],
    );
    t.assert_eq(file!["transcripts/errors.txt"]);
    testkit::assert_victim_untouched(d);
}

/// The C programs on the bad input the Rust ones get, where they take it (no `--records`,
/// no `--hold`). Differences, on purpose: a usage line of the C's own instead of clap's
/// (still exit status 2), and "not a regular file" without saying what it is instead.
#[test]
fn c_bad_input_is_one_line_and_exit_status() {
    let (writer, reader) = (c("map_normalfile1"), c("map_normalfile2"));
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    std::fs::write(d.join("empty"), b"").unwrap();
    std::fs::write(d.join("short"), b"abc").unwrap();
    testkit::plant_hostile_names(d);

    let mut t = Transcript::new(d);
    let p = |name: &str| d.join(name).into_os_string();
    t.run(&reader, &[]);
    t.run(&reader, &[&p("missing")]);
    t.run(&reader, &[&p("empty")]);
    t.run(&reader, &[&p("short")]);
    t.run(&reader, &[d.as_os_str()]);
    t.run(&reader, &[&p("fifo")]);
    t.run(&reader, &["/dev/null".as_ref()]);
    t.run(&writer, &[]);
    t.run(&writer, &["--hold".as_ref(), "0".as_ref(), &p("test_shm")]);
    t.run(&writer, &[&p("no/such/dir/test_shm")]);
    t.run(&writer, &[d.as_os_str()]);
    t.run(&writer, &[&p("link")]);
    t.run(&writer, &["--wait-stdin".as_ref(), &p("fifo")]);
    t.run(&writer, &["--wait-stdin".as_ref(), "/dev/null".as_ref()]);
    t.assert_eq(file!["transcripts/errors_c.txt"]);
    testkit::assert_victim_untouched(d);
}

#[test]
fn records_past_the_last_page_are_refused() {
    // The limit depends on the page size, so this one is not a transcript.
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.path().join("test_shm");
    testkit::run_ok(WRITER, &["--hold".as_ref(), "0".as_ref(), file.as_ref()]);
    let fit = common::page_size() / common::People::SIZE;
    let too_many = (fit + 1).to_string();
    let out = testkit::run(
        READER,
        &["--records".as_ref(), too_many.as_ref(), file.as_ref()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "map_normalfile2: {}: {too_many} records would reach past the last page of this 40-byte file (SIGBUS); at most {fit} fit\n",
            file.display()
        )
    );
    let ok = testkit::run_ok(
        READER,
        &[
            "--records".as_ref(),
            fit.to_string().as_ref(),
            file.as_ref(),
        ],
    );
    assert_eq!(ok.lines().count(), fit);

    let out = testkit::run(
        WRITER,
        &["--records".as_ref(), too_many.as_ref(), file.as_ref()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with(&format!("error: --records must be 1 to {fit}:"))
    );
}

/// The notes' own C programs (compiled from the seed) and the Rust ones share the file both
/// ways: same layout, same bytes. The C writer's `sleep(10)` is replaced by a wait on stdin,
/// with a `fflush` because its stdout is a pipe; nothing else is changed.
#[test]
fn c_and_rust_programs_share_the_file_both_ways() {
    const SEED: &str = "002_7650189f7af18478.txt";
    let (Some(c_writer), Some(c_reader)) = (
        testkit::seed_program(SEED, 0),
        testkit::seed_program(SEED, 1),
    ) else {
        testkit::skip(
            "map_normalfile::c_and_rust_programs_share_the_file_both_ways",
            "the notes' C programs are not here (../shared/seeds; set SHM_SEEDS)",
        );
        return;
    };
    let held = c_writer.replace("sleep ( 10 );", "fflush ( stdout ); getchar ( );");
    assert_ne!(
        held, c_writer,
        "the seed's writer no longer has `sleep ( 10 );`"
    );

    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let c_writer = testkit::compile_c(dir.path(), "seed_map_normalfile1", &held);
    let c_reader = testkit::compile_c(dir.path(), "seed_map_normalfile2", &c_reader);
    let file = dir.path().join("test_shm");
    let mut t = Transcript::new(dir.path());

    t.comment("the seed's C writer, the Rust reader");
    let mut writer = t.start(&c_writer, &[file.as_ref()]);
    assert_eq!(t.line(&mut writer), "initialize over");
    t.run(READER, &[file.as_ref()]);
    writer.send_line("");
    t.output(&writer.finish());

    t.comment("the Rust writer, the seed's C reader");
    let mut writer = t.start(WRITER, &["--wait-stdin".as_ref(), file.as_ref()]);
    assert_eq!(t.line(&mut writer), "initialize over");
    t.run(&c_reader, &[file.as_ref()]);
    writer.send_line("");
    t.output(&writer.finish());

    t.assert_eq(file!["transcripts/c_interop.txt"]);
}

#[test]
fn a_closed_stdout_ends_the_reader_quietly_by_sigpipe() {
    use std::os::unix::process::ExitStatusExt;
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.path().join("test_shm");
    testkit::run_ok(WRITER, &["--hold".as_ref(), "0".as_ref(), file.as_ref()]);
    let out = testkit::run_into_closed_pipe(READER, &[file.as_ref()]);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{}", out.status);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "no panic message, no error line"
    );
}

#[test]
fn records_stored_before_a_sigkill_are_in_the_file() {
    use std::os::unix::process::ExitStatusExt;
    // SIGKILL gives the writer no chance to msync or munmap: the stores are in the page
    // cache, which the file and every later mapping share, so the records are there anyway
    // (the five the file holds; a disk copy follows at the next writeback).
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.path().join("test_shm");
    let mut writer = testkit::Background::spawn(WRITER, &["--wait-stdin".as_ref(), file.as_ref()]);
    assert_eq!(writer.line(), "initialize over");
    testkit::kill(writer.pid(), libc::SIGKILL);
    assert_eq!(writer.finish().status.signal(), Some(libc::SIGKILL));
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes.len(), 40);
    let people: &[common::People] = bytemuck::cast_slice(&bytes);
    let got: Vec<_> = people
        .iter()
        .map(|p| (p.name_lossy().into_owned(), p.age))
        .collect();
    let want: Vec<_> = ["a", "b", "c", "d", "e"]
        .iter()
        .zip(20..)
        .map(|(n, a)| (n.to_string(), a))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn sigint_and_sigterm_while_holding_leave_the_file_and_nothing_else() {
    use std::os::unix::process::ExitStatusExt;
    // The writer holds only a mapping of the user's file: the kernel unmaps it when the
    // process dies, the file stays (it is the user's), and no other file appears.
    for signo in [libc::SIGINT, libc::SIGTERM] {
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        let file = dir.path().join("test_shm");
        let mut writer =
            testkit::Background::spawn(WRITER, &["--wait-stdin".as_ref(), file.as_ref()]);
        assert_eq!(writer.line(), "initialize over");
        testkit::kill(writer.pid(), signo);
        let out = writer.finish();
        assert_eq!(out.status.signal(), Some(signo));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("test_shm")]);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), 40);
    }
}

/// A full tmpfs: the writer fails at its write (or its fallocate) with ENOSPC, never by
/// SIGBUS at a store; the reader refuses a file with a hole, whose read would fault there.
#[test]
fn a_full_tmpfs_is_an_error_not_sigbus() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let script = r#"
echo '$ map_normalfile1 --hold 0 test_shm'
"$1" --hold 0 test_shm 2>&1; echo "? $?"
echo '# a 40-byte file with no block behind it (truncate -s 40)'
truncate -s 40 hole
echo '$ map_normalfile2 hole'
"$2" hole 2>&1; echo "? $?"
"#;
    let Some(mut full) = testkit::in_full_tmpfs(dir.path(), 0) else {
        return;
    };
    let out = full
        .args(["sh", "-c", script, "sh", WRITER.as_str(), READER.as_str()])
        .output()
        .unwrap();
    let mut t = Transcript::new(dir.path());
    t.comment("in unshare -rm: the current directory is a 64 KiB tmpfs, full");
    t.output(&out);
    t.assert_eq(file!["transcripts/full.txt"]);
}

/// `ulimit -f 0`: the writer's one-byte write past offset 0 fails with EFBIG ("File too
/// large"), reported in one line; SIGXFSZ is ignored, so it does not kill the writer.
#[test]
fn a_file_size_limit_is_an_error_not_sigxfsz() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    t.redact_literal(WRITER.as_str(), "map_normalfile1");
    let file = dir.path().join("test_shm");
    let script = r#"ulimit -f 0; exec "$0" --hold 0 "$1""#;
    t.run(
        "sh",
        &[
            "-c".as_ref(),
            script.as_ref(),
            WRITER.as_ref(),
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
    let file = dir.path().join("test_shm");
    if !testkit::another_users_file(&file, b"theirs") {
        return;
    }
    let mut t = Transcript::new(dir.path());
    t.run(WRITER, &["--hold".as_ref(), "0".as_ref(), file.as_ref()]);
    t.assert_eq(file!["transcripts/other_user.txt"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"theirs");
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), 65534);
}
