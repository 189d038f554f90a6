//! The POSIX pair run for real, compared whole with the transcripts in `tests/transcripts/`,
//! which `docs/src/posix_shm.md` includes. Every test uses a name of its own (shown as
//! `[NAME]`) and checks that no object is left under it.
//! `SNAPSHOTS=overwrite cargo test -p posix_shm` rewrites the transcripts from the real output.

use std::ffi::{CString, OsStr};
use std::os::unix::process::ExitStatusExt;

use common::testkit::{self, Transcript};
use snapbox::file;
use tempfile::TempDir;

const WRITER: &str = env!("CARGO_BIN_EXE_posix_shm_write");
const READER: &str = env!("CARGO_BIN_EXE_posix_shm_read");

fn dir() -> TempDir {
    testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"))
}

/// A transcript and a fresh name for a test; `--name NAME` as arguments.
fn setup(dir: &TempDir) -> (Transcript, String) {
    let name = testkit::unique_shm_name();
    let mut t = Transcript::new(dir.path());
    t.redact_literal(name.clone(), "[NAME]");
    (t, name)
}

fn named<'a>(name: &'a str, rest: &'a [&'a str]) -> Vec<&'a OsStr> {
    let mut args: Vec<&OsStr> = vec!["--name".as_ref(), name.as_ref()];
    args.extend(rest.iter().map(OsStr::new));
    args
}

#[test]
fn writer_then_reader_then_nothing_left() {
    let d = dir();
    let (mut t, name) = setup(&d);
    t.run(WRITER, &named(&name, &[]));
    assert!(
        testkit::shm_exists(&name),
        "the writer must leave the object for the reader"
    );
    t.run(READER, &named(&name, &[]));
    t.run(READER, &named(&name, &[]));
    t.assert_eq(file!["transcripts/pair.txt"]);
    assert!(!testkit::shm_exists(&name));
}

#[test]
fn reader_unlinks_an_object_the_writer_still_maps() {
    let d = dir();
    let (mut t, name) = setup(&d);
    let mut writer = t.start(WRITER, &named(&name, &["--wait-stdin"]));
    t.line(&mut writer);
    t.line(&mut writer);
    t.run(READER, &named(&name, &[]));
    t.comment("the name is gone; the writer's mapping still works until it unmaps");
    assert!(!testkit::shm_exists(&name));
    t.run(READER, &named(&name, &[]));
    t.comment("release the writer: a line on its stdin");
    writer.send_line("");
    t.output(&writer.finish());
    t.assert_eq(file!["transcripts/held.txt"]);
    assert!(!testkit::shm_exists(&name));
}

#[test]
fn unlink_flag_does_what_the_notes_do() {
    let d = dir();
    let (mut t, name) = setup(&d);
    t.run(WRITER, &named(&name, &["--unlink"]));
    t.run(READER, &named(&name, &[]));
    t.assert_eq(file!["transcripts/unlink.txt"]);
    assert!(!testkit::shm_exists(&name));
}

#[test]
fn an_object_of_another_size_is_left_alone() {
    let d = dir();
    let (mut t, name) = setup(&d);
    let c_name = CString::new(name.clone()).unwrap();
    let fd = common::posix::shm_open(&c_name, libc::O_CREAT | libc::O_RDWR, 0o600).unwrap();
    let file = std::fs::File::from(fd);
    file.set_len(100).unwrap();
    t.comment("someone else's 100-byte object has the name");
    t.run(WRITER, &named(&name, &[]));
    t.run(READER, &named(&name, &[]));
    assert_eq!(
        file.metadata().unwrap().len(),
        100,
        "the object must be untouched"
    );
    assert!(testkit::shm_exists(&name));
    common::posix::shm_unlink(&c_name).unwrap();
    t.assert_eq(file!["transcripts/wrong_size.txt"]);
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    t.run(WRITER, &["--name".as_ref(), "xyz".as_ref()]);
    t.run(WRITER, &["--name".as_ref(), "/a/b".as_ref()]);
    t.run(READER, &["--name".as_ref(), "/".as_ref()]);
    t.run(READER, &["--name".as_ref()]);
    t.run(READER, &["--unlink".as_ref()]);
    t.assert_eq(file!["transcripts/errors.txt"]);
}

#[test]
fn interrupted_writer_unlinks_the_object_it_created() {
    for signo in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let name = testkit::unique_shm_name();
        let mut writer = testkit::Background::spawn(WRITER, &named(&name, &["--wait-stdin"]));
        writer.line();
        writer.line();
        assert!(testkit::shm_exists(&name));
        testkit::kill(writer.pid(), signo);
        let out = writer.finish();
        assert_eq!(
            out.status.signal(),
            Some(signo),
            "the writer must die of the signal it got"
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        assert!(
            !testkit::shm_exists(&name),
            "object left after signal {signo}"
        );
    }
}

#[test]
fn interrupted_writer_leaves_an_object_it_did_not_create() {
    let name = testkit::unique_shm_name();
    testkit::run_ok(WRITER, &named(&name, &[]));
    let mut writer = testkit::Background::spawn(WRITER, &named(&name, &["--wait-stdin"]));
    writer.line();
    writer.line();
    testkit::kill(writer.pid(), libc::SIGINT);
    assert_eq!(writer.finish().status.signal(), Some(libc::SIGINT));
    let out = testkit::run_ok(READER, &named(&name, &[]));
    assert_eq!(out, "size=36, mode=0600\nname:test, age:29\n");
    assert!(!testkit::shm_exists(&name));
}

/// The notes' C++ program (seed 003 §3.2) as it is, then without its `shm_unlink`, so that
/// the Rust reader can read what it wrote. Its name is the test's own instead of `/xyz`, and
/// the `common.h` it includes (not in the notes) is supplied: the headers and `ERR_EXIT`.
#[test]
fn the_notes_program_unlinks_at_once_and_its_record_is_readable() {
    let Some(source) = testkit::seed_program("003_e9fcb1fc90da33dd.txt", 2) else {
        eprintln!("note: seeds not found (set SHM_SEEDS): C interoperability not checked");
        return;
    };
    let d = dir();
    let (mut t, name) = setup(&d);
    std::fs::write(
        d.path().join("common.h"),
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n\
         #define ERR_EXIT(m) do { perror(m); exit(EXIT_FAILURE); } while (0)\n",
    )
    .unwrap();
    let source = source.replace("\"/xyz\"", &format!("\"{name}\""));
    let kept = source.replace(&format!("shm_unlink(\"{name}\")"), "0");
    assert!(
        source.contains(&name) && kept != source,
        "the seed's program has changed"
    );
    let as_is = testkit::compile_cxx(d.path(), "seed_posix_shm", &source);
    let kept = testkit::compile_cxx(d.path(), "seed_posix_shm_kept", &kept);

    // The C creates its object 0666 less the umask, and prints the mode: fix the umask so the
    // transcript is the same everywhere. (It is process-wide; 022 only takes write permission
    // from group and others, which no other test gives.)
    // SAFETY: umask takes a plain value.
    unsafe { libc::umask(0o022) };
    t.comment("the notes' program: it unlinks its object before exiting");
    t.run(&as_is, &[]);
    t.run(READER, &named(&name, &[]));
    t.comment("the same without shm_unlink: the Rust reader reads the C program's record");
    t.run(&kept, &[]);
    t.run(READER, &named(&name, &[]));
    t.assert_eq(file!["transcripts/c_interop.txt"]);
    assert!(!testkit::shm_exists(&name));
}

/// SIGKILL cannot be caught: the object a killed writer created stays, and
/// `scripts/clean_ipc.sh` (what `make clean-ipc` runs) removes it, and only it.
#[test]
fn after_sigkill_clean_ipc_removes_what_was_left() {
    let name = testkit::unique_shm_name();
    let mut writer = testkit::Background::spawn(WRITER, &named(&name, &["--wait-stdin"]));
    writer.line();
    writer.line();
    testkit::kill(writer.pid(), libc::SIGKILL);
    assert_eq!(writer.finish().status.signal(), Some(libc::SIGKILL));
    assert!(testkit::shm_exists(&name), "SIGKILL runs no cleanup");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/clean_ipc.sh");
    let out = testkit::run_ok(script, &["--only".as_ref(), name.as_ref()]);
    assert_eq!(
        out,
        format!("POSIX shm object: {name}, 36 bytes: removed\n")
    );
    assert!(!testkit::shm_exists(&name));
}
