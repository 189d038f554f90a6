//! The POSIX pair run for real, compared whole with the transcripts in `tests/transcripts/`,
//! which `docs/src/posix_shm.md` includes. Every test uses a name of its own (shown as
//! `[NAME]`) and checks that no object is left under it.
//! `SNAPSHOTS=overwrite cargo test -p posix_shm` rewrites the transcripts from the real output.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::{CString, OsStr};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use snapbox::file;
use tempfile::TempDir;
use testkit::{Bin, Transcript};

const WRITER: Bin = Bin::new("posix_shm_write", env!("CARGO_BIN_EXE_posix_shm_write"));
const READER: Bin = Bin::new("posix_shm_read", env!("CARGO_BIN_EXE_posix_shm_read"));

/// The writer/reader pairs every session runs with, and must print the same transcript with:
/// the Rust pair, the project's C pair (crates/posix_shm/c/), and each C program with the
/// other side in Rust (the object is the interface: same name, same 36-byte record).
fn pairs() -> [(PathBuf, PathBuf); 4] {
    let c = |name| testkit::c_program(env!("CARGO_TARGET_TMPDIR"), name);
    let (rust_w, rust_r) = (WRITER.path().to_path_buf(), READER.path().to_path_buf());
    let (c_w, c_r) = (c("posix_shm_write"), c("posix_shm_read"));
    [
        (rust_w.clone(), rust_r.clone()),
        (c_w.clone(), c_r.clone()),
        (c_w, rust_r),
        (rust_w, c_r),
    ]
}

fn dir() -> TempDir {
    testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"))
}

/// A transcript and a fresh name for a test, and the guard that removes an object left under
/// the name when the test ends, however it ends; `--name NAME` as arguments.
fn setup(dir: &TempDir) -> (Transcript, String, testkit::RemoveShm) {
    let name = testkit::unique_shm_name();
    let gone = testkit::RemoveShm(name.clone());
    let mut t = Transcript::new(dir.path());
    t.redact_literal(name.clone(), "[NAME]");
    (t, name, gone)
}

fn named<'a>(name: &'a str, rest: &'a [&'a str]) -> Vec<&'a OsStr> {
    let mut args: Vec<&OsStr> = vec!["--name".as_ref(), name.as_ref()];
    args.extend(rest.iter().map(OsStr::new));
    args
}

#[test]
fn writer_then_reader_then_nothing_left() {
    for (writer, reader) in pairs() {
        let d = dir();
        let (mut t, name, _gone) = setup(&d);
        t.run(&writer, &named(&name, &[]));
        assert!(
            testkit::shm_exists(&name),
            "the writer must leave the object for the reader"
        );
        t.run(&reader, &named(&name, &[]));
        t.run(&reader, &named(&name, &[]));
        t.assert_eq(file!["transcripts/pair.txt"]);
        assert!(!testkit::shm_exists(&name));
    }
}

#[test]
fn reader_unlinks_an_object_the_writer_still_maps() {
    for (writer, reader) in pairs() {
        let d = dir();
        let (mut t, name, _gone) = setup(&d);
        let mut writer = t.start(&writer, &named(&name, &["--wait-stdin"]));
        t.line(&mut writer);
        t.line(&mut writer);
        t.run(&reader, &named(&name, &[]));
        t.comment("the name is gone; the writer's mapping still works until it unmaps");
        assert!(!testkit::shm_exists(&name));
        t.run(&reader, &named(&name, &[]));
        t.comment("release the writer: a line on its stdin");
        writer.send_line("");
        t.output(&writer.finish());
        t.assert_eq(file!["transcripts/held.txt"]);
        assert!(!testkit::shm_exists(&name));
    }
}

#[test]
fn unlink_flag_does_what_the_notes_do() {
    for (writer, reader) in pairs() {
        let d = dir();
        let (mut t, name, _gone) = setup(&d);
        t.run(&writer, &named(&name, &["--unlink"]));
        t.run(&reader, &named(&name, &[]));
        t.assert_eq(file!["transcripts/unlink.txt"]);
        assert!(!testkit::shm_exists(&name));
    }
}

#[test]
fn an_object_of_another_size_is_left_alone() {
    for (writer, reader) in pairs() {
        let d = dir();
        let (mut t, name, _gone) = setup(&d);
        let c_name = CString::new(name.clone()).unwrap();
        let fd = common::posix::shm_open(&c_name, libc::O_CREAT | libc::O_RDWR, 0o600).unwrap();
        let file = std::fs::File::from(fd);
        file.set_len(100).unwrap();
        t.comment("someone else's 100-byte object has the name");
        t.run(&writer, &named(&name, &[]));
        t.run(&reader, &named(&name, &[]));
        assert_eq!(
            file.metadata().unwrap().len(),
            100,
            "the object must be untouched"
        );
        assert!(testkit::shm_exists(&name));
        common::posix::shm_unlink(&c_name).unwrap();
        t.assert_eq(file!["transcripts/wrong_size.txt"]);
    }
}

/// The project's C programs on bad input, and under names that are not a regular file: one
/// line each. Differences from the Rust on purpose: a usage line of their own instead of
/// clap's; no check of the name's form (shm_open(3) judges it: EINVAL, which glibc also
/// gives for a directory under the name, where the Rust writer finds out and says so); and
/// "not a regular file" without saying what it is.
#[test]
fn c_bad_input_is_one_line_and_exit_status() {
    let c = |name| testkit::c_program(env!("CARGO_TARGET_TMPDIR"), name);
    let (writer, reader) = (c("posix_shm_write"), c("posix_shm_read"));
    let d = dir();
    let (mut t, name, _gone) = setup(&d);
    t.run(&writer, &["--name".as_ref(), "/a/b".as_ref()]);
    t.run(&reader, &["--name".as_ref()]);
    t.run(&reader, &["--unlink".as_ref()]);
    let path = PathBuf::from("/dev/shm").join(&name[1..]);
    std::fs::create_dir(&path).unwrap();
    t.comment("mkdir /dev/shm/[NAME without its /]");
    t.run(&reader, &named(&name, &[]));
    t.run(&writer, &named(&name, &[]));
    std::fs::remove_dir(&path).unwrap();
    t.assert_eq(file!["transcripts/errors_c.txt"]);
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    t.run(WRITER, &["--name".as_ref(), "xyz".as_ref()]);
    t.run(WRITER, &["--name".as_ref(), "/a/b".as_ref()]);
    t.run(READER, &["--name".as_ref(), "/".as_ref()]);
    t.run(READER, &["--name".as_ref(), "/..".as_ref()]);
    t.run(WRITER, &["--name".as_ref(), "/.".as_ref()]);
    t.run(READER, &["--name".as_ref()]);
    t.run(READER, &["--unlink".as_ref()]);
    t.assert_eq(file!["transcripts/errors.txt"]);
}

#[test]
fn interrupted_writer_unlinks_the_object_it_created() {
    for signo in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let name = testkit::unique_shm_name();
        let _gone = testkit::RemoveShm(name.clone());
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
    let _gone = testkit::RemoveShm(name.clone());
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
        testkit::skip(
            "posix_shm::the_notes_program_unlinks_at_once_and_its_record_is_readable",
            "the notes' C++ program is not here (../shared/seeds; set SHM_SEEDS)",
        );
        return;
    };
    let d = dir();
    let (mut t, name, _gone) = setup(&d);
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
    let _gone = testkit::RemoveShm(name.clone());
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

/// Where Linux keeps the object `/NAME`: `/dev/shm/NAME`.
fn shm_path(name: &str) -> PathBuf {
    PathBuf::from("/dev/shm").join(name.trim_start_matches('/'))
}

/// Runs `program args...` with an empty stdin and fails the test if it has not ended within
/// five seconds (it is then killed): a FIFO under the name must not block it.
fn run_bounded(program: &str, args: &[&OsStr]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{program} still running after 5 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// A full /dev/shm: ftruncate succeeds there (it reserves nothing), and the notes' first
/// store into the mapping dies of SIGBUS. The writer reserves the page first and reports
/// ENOSPC, unlinking what it created; the reader refuses an object with a hole, whose read
/// would fault the same way.
#[test]
fn a_full_dev_shm_is_an_error_not_sigbus() {
    let script = r#"
echo '$ posix_shm_write --name /x; ls /dev/shm'
"$1" --name /x 2>&1; echo "? $?"; ls /dev/shm
echo '# an object of the right size with no page behind it (truncate -s 36)'
truncate -s 36 /dev/shm/hole
echo '$ posix_shm_read --name /hole; ls /dev/shm'
"$2" --name /hole 2>&1; echo "? $?"; ls /dev/shm
"#;
    let Some(mut full) = testkit::in_full_tmpfs("/dev/shm".as_ref(), 0) else {
        return;
    };
    let out = full
        .args(["sh", "-c", script, "sh", WRITER.as_str(), READER.as_str()])
        .output()
        .unwrap();
    let d = dir();
    let mut t = Transcript::new(d.path());
    t.comment("in unshare -rm: /dev/shm is a 64 KiB tmpfs, full");
    t.output(&out);
    t.assert_eq(file!["transcripts/full.txt"]);
}

/// `ulimit -f 0`: SIGXFSZ would kill the writer at ftruncate; it is ignored, so the call
/// fails with EFBIG and the writer says so and unlinks its object.
#[test]
fn a_file_size_limit_is_an_error_not_sigxfsz() {
    let d = dir();
    let (mut t, name, _gone) = setup(&d);
    t.redact_literal(WRITER, "posix_shm_write");
    let script = r#"ulimit -f 0; exec "$0" --name "$1""#;
    t.run(
        "sh",
        &[
            "-c".as_ref(),
            script.as_ref(),
            WRITER.as_ref(),
            name.as_ref(),
        ],
    );
    t.assert_eq(file!["transcripts/ulimit.txt"]);
    assert!(
        !testkit::shm_exists(&name),
        "the writer must unlink its object"
    );
}

/// What another user can plant under the name in /dev/shm: a FIFO (whose open would block
/// for ever), a directory, a symlink. Each is refused at once, in one line, and left as it is.
#[test]
fn a_fifo_directory_or_symlink_under_the_name_is_refused() {
    let d = dir();
    let (mut t, name, _gone) = setup(&d);
    let path = shm_path(&name);
    let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    t.comment("mkfifo /dev/shm/[NAME without its /]");
    for program in [READER.as_str(), WRITER.as_str()] {
        let args = named(&name, &[]);
        t.comment(&format!(
            "$ {} --name [NAME]",
            program.rsplit('/').next().unwrap()
        ));
        t.output(&run_bounded(program, &args));
    }
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    std::fs::remove_file(&path).unwrap();

    std::fs::create_dir(&path).unwrap();
    t.comment("mkdir /dev/shm/[NAME without its /]");
    t.run(READER, &named(&name, &[]));
    t.run(WRITER, &named(&name, &[]));
    assert!(path.is_dir());
    std::fs::remove_dir(&path).unwrap();

    let target = d.path().join("target");
    std::fs::write(&target, b"keep").unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    t.comment("ln -s [DIR]/target /dev/shm/[NAME without its /]");
    t.run(READER, &named(&name, &[]));
    t.run(WRITER, &named(&name, &[]));
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    std::fs::remove_file(&path).unwrap();
    t.assert_eq(file!["transcripts/planted.txt"]);
}

/// `--new`, what the scripts use: a taken name is an error ("File exists"), and the object
/// found there, though it is a student record, is neither written nor unlinked.
#[test]
fn new_refuses_a_taken_name_and_leaves_its_object() {
    for (writer, reader) in pairs() {
        let d = dir();
        let (mut t, name, _gone) = setup(&d);
        t.run(&writer, &named(&name, &["--new"]));
        t.comment("another run draws the same name");
        t.run(&writer, &named(&name, &["--new"]));
        assert!(
            testkit::shm_exists(&name),
            "the first run's object must stay"
        );
        t.run(&reader, &named(&name, &[]));
        t.assert_eq(file!["transcripts/new.txt"]);
        assert!(!testkit::shm_exists(&name));
    }
}
