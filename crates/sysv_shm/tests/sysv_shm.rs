//! The System V pair run for real, compared whole with the transcripts in
//! `tests/transcripts/`, which `docs/src/sysv_shm.md` includes. Every test uses a key of its
//! own (shown as `[KEY]`) and checks that no segment is left under it.
//! `SNAPSHOTS=overwrite cargo test -p sysv_shm` rewrites the transcripts from the real output.

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

use snapbox::file;
use sysv_shm::key_hex;
use tempfile::TempDir;
use testkit::{Bin, Transcript};

const WRITER: Bin = Bin::new("sysv_write", env!("CARGO_BIN_EXE_sysv_write"));
const READER: Bin = Bin::new("sysv_read", env!("CARGO_BIN_EXE_sysv_read"));

/// The writer/reader pairs every session runs with, and must print the same transcript with:
/// the Rust pair, the project's C pair (crates/sysv_shm/c/), and each C program with the
/// other side in Rust (the segment is the interface: same key, same 8-byte record).
fn pairs() -> [(PathBuf, PathBuf); 4] {
    let c = |name| testkit::c_program(env!("CARGO_TARGET_TMPDIR"), name);
    let (rust_w, rust_r) = (WRITER.path().to_path_buf(), READER.path().to_path_buf());
    let (c_w, c_r) = (c("sysv_write"), c("sysv_read"));
    [
        (rust_w.clone(), rust_r.clone()),
        (c_w.clone(), c_r.clone()),
        (c_w, rust_r),
        (rust_w, c_r),
    ]
}

/// A transcript for a test that works under `key`.
fn transcript(dir: &TempDir, key: libc::key_t) -> Transcript {
    let mut t = Transcript::new(dir.path());
    t.redact_literal(key_hex(key), "[KEY]");
    t.redact_number_after("shmid ", "[SHMID]");
    t
}

fn dir() -> TempDir {
    testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"))
}

#[test]
fn writer_then_reader_then_nothing_left() {
    for (writer, reader) in pairs() {
        let key = testkit::unique_key();
        let _gone = testkit::RemoveSegment(key);
        let k = key_hex(key);
        let d = dir();
        let mut t = transcript(&d, key);
        t.run(&writer, &["--key".as_ref(), k.as_ref()]);
        assert!(
            testkit::segment_exists(key),
            "the writer must leave the segment for the reader"
        );
        t.run(&reader, &["--key".as_ref(), k.as_ref(), "--stat".as_ref()]);
        t.run(&reader, &["--key".as_ref(), k.as_ref()]);
        t.assert_eq(file!["transcripts/pair.txt"]);
        assert!(!testkit::segment_exists(key));
    }
}

#[test]
fn reader_removes_a_segment_still_attached_by_the_writer() {
    for (writer, reader) in pairs() {
        let key = testkit::unique_key();
        let _gone = testkit::RemoveSegment(key);
        let k = key_hex(key);
        let d = dir();
        let mut t = transcript(&d, key);
        let mut writer = t.start(
            &writer,
            &["--key".as_ref(), k.as_ref(), "--wait-stdin".as_ref()],
        );
        t.line(&mut writer);
        t.run(&reader, &["--key".as_ref(), k.as_ref(), "--stat".as_ref()]);
        t.comment(
            "IPC_RMID took the key away at once; the segment itself lives until the writer detaches",
        );
        t.run(&reader, &["--key".as_ref(), k.as_ref()]);
        t.comment("release the writer: a line on its stdin");
        writer.send_line("");
        t.output(&writer.finish());
        t.assert_eq(file!["transcripts/held.txt"]);
        assert!(!testkit::segment_exists(key));
    }
}

#[test]
fn ftok_gives_both_programs_the_same_key() {
    let d = dir();
    let path = d.path().join("keyfile");
    std::fs::write(&path, b"").unwrap();
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    let key = unsafe { libc::ftok(c_path.as_ptr(), 70) };
    let _gone = testkit::RemoveSegment(key);
    let mut t = transcript(&d, key);
    let ftok = |id: &'static str| [OsStr::new("--ftok"), path.as_os_str(), OsStr::new(id)];
    t.run(WRITER, &ftok("70"));
    t.run(READER, &ftok("70"));
    t.run(READER, &ftok("70"));
    t.assert_eq(file!["transcripts/ftok.txt"]);
}

#[test]
fn a_segment_of_another_size_is_left_alone() {
    for (writer, reader) in pairs() {
        let d = dir();
        let mut t = Transcript::new(d.path());
        t.redact_number_after("shmid ", "[SHMID]");
        for (size, what) in [(64, "larger"), (4, "smaller")] {
            let key = testkit::unique_key();
            let _gone = testkit::RemoveSegment(key);
            let k = key_hex(key);
            t.redact_literal(k.clone(), "[KEY]");
            t.comment(&format!(
                "someone else's {size}-byte segment ({what} than a record) has the key"
            ));
            let shmid = common::sysv::shmget(key, size, libc::IPC_CREAT | 0o600).unwrap();
            t.run(&writer, &["--key".as_ref(), k.as_ref()]);
            t.run(&reader, &["--key".as_ref(), k.as_ref()]);
            let ds = common::sysv::shmctl_stat(shmid).unwrap();
            assert_eq!(
                { ds.shm_segsz },
                size,
                "the segment must still be there, same size"
            );
            assert_eq!({ ds.shm_atime }, 0, "nobody may have attached it");
            common::sysv::shmctl_rmid(shmid).unwrap();
        }
        t.assert_eq(file!["transcripts/wrong_size.txt"]);
    }
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    let missing = d.path().join("missing");
    t.run(WRITER, &["--key".as_ref(), "0".as_ref()]);
    t.run(WRITER, &["--key".as_ref(), "twelve".as_ref()]);
    t.run(
        WRITER,
        &[
            "--key".as_ref(),
            "1".as_ref(),
            "--ftok".as_ref(),
            "/".as_ref(),
            "1".as_ref(),
        ],
    );
    t.run(WRITER, &["--ftok".as_ref(), missing.as_ref(), "1".as_ref()]);
    t.run(READER, &["--ftok".as_ref(), "/".as_ref(), "0".as_ref()]);
    t.run(READER, &["--ftok".as_ref(), "/".as_ref(), "256".as_ref()]);
    t.run(READER, &["--ftok".as_ref(), "/".as_ref()]);
    t.assert_eq(file!["transcripts/errors.txt"]);
}

#[test]
fn interrupted_writer_removes_the_segment_it_created() {
    for signo in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let key = testkit::unique_key();
        let _gone = testkit::RemoveSegment(key);
        let k = key_hex(key);
        let mut writer = testkit::Background::spawn(
            WRITER,
            &["--key".as_ref(), k.as_ref(), "--wait-stdin".as_ref()],
        );
        writer.line();
        assert!(testkit::segment_exists(key));
        testkit::kill(writer.pid(), signo);
        let out = writer.finish();
        assert_eq!(
            out.status.signal(),
            Some(signo),
            "the writer must die of the signal it got"
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        assert!(
            !testkit::segment_exists(key),
            "segment left after signal {signo}"
        );
    }
}

#[test]
fn interrupted_writer_leaves_a_segment_it_did_not_create() {
    let key = testkit::unique_key();
    let _gone = testkit::RemoveSegment(key);
    let k = key_hex(key);
    testkit::run_ok(WRITER, &["--key".as_ref(), k.as_ref()]);
    let mut writer = testkit::Background::spawn(
        WRITER,
        &["--key".as_ref(), k.as_ref(), "--wait-stdin".as_ref()],
    );
    writer.line();
    testkit::kill(writer.pid(), libc::SIGTERM);
    assert_eq!(writer.finish().status.signal(), Some(libc::SIGTERM));
    // Still there for the reader, which removes it.
    assert_eq!(
        testkit::run_ok(READER, &["--key".as_ref(), k.as_ref()]),
        "name:barr, age:20\n"
    );
    assert!(!testkit::segment_exists(key));
}

/// The project's C programs on bad input: one line, exit status 2 for a bad argument and 1
/// for a failed call. Differences from the Rust on purpose: a usage line of their own instead
/// of clap's, and no `--ftok` (an unknown option, so a usage error).
#[test]
fn c_bad_input_is_one_line_and_exit_status() {
    let c = |name| testkit::c_program(env!("CARGO_TARGET_TMPDIR"), name);
    let (writer, reader) = (c("sysv_write"), c("sysv_read"));
    let d = dir();
    let mut t = Transcript::new(d.path());
    t.run(&writer, &["--key".as_ref(), "0".as_ref()]);
    t.run(&writer, &["--key".as_ref(), "twelve".as_ref()]);
    t.run(&writer, &["--key".as_ref()]);
    t.run(&writer, &["--ftok".as_ref(), "/".as_ref(), "1".as_ref()]);
    t.run(
        &reader,
        &["--stat".as_ref(), "--key".as_ref(), "0x".as_ref()],
    );
    t.run(&reader, &["extra".as_ref()]);
    t.assert_eq(file!["transcripts/errors_c.txt"]);
}

/// The notes' own C programs (seed 003 §2.5) and the Rust ones share the segment both ways.
/// The one change to the C: the test's key instead of 1234, so that tests can run in parallel.
#[test]
fn c_and_rust_programs_share_the_segment_both_ways() {
    let Some(block) = testkit::seed_program("003_e9fcb1fc90da33dd.txt", 1) else {
        testkit::skip(
            "sysv_shm::c_and_rust_programs_share_the_segment_both_ways",
            "the notes' C programs are not here (../shared/seeds; set SHM_SEEDS)",
        );
        return;
    };
    let (c_writer, c_reader) = block
        .split_once("//===================================read")
        .unwrap();
    let headers = &c_writer[..c_writer.find("int main").unwrap()];
    let c_reader = format!("{headers}{c_reader}");
    let key = testkit::unique_key();
    let _gone = testkit::RemoveSegment(key);
    let k = key_hex(key);
    let (c_writer, c_reader) = (c_writer.replace("1234", &k), c_reader.replace("1234", &k));
    assert!(
        c_writer.contains(&k) && c_reader.contains(&k),
        "the seed no longer uses key 1234"
    );

    let d = dir();
    let c_writer = testkit::compile_c(d.path(), "seed_sysv_write", &c_writer);
    let c_reader = testkit::compile_c(d.path(), "seed_sysv_read", &c_reader);
    let mut t = transcript(&d, key);
    t.comment("the seed's C writer, the Rust reader");
    t.run(&c_writer, &[]);
    t.run(READER, &["--key".as_ref(), k.as_ref(), "--stat".as_ref()]);
    t.comment("the Rust writer, the seed's C reader");
    t.run(WRITER, &["--key".as_ref(), k.as_ref()]);
    t.run(&c_reader, &[]);
    t.assert_eq(file!["transcripts/c_interop.txt"]);
    assert!(!testkit::segment_exists(key));
}

/// SIGKILL cannot be caught: the segment a killed writer created stays, and
/// `scripts/clean_ipc.sh` (what `make clean-ipc` runs) removes it, and only it.
#[test]
fn after_sigkill_clean_ipc_removes_what_was_left() {
    let key = testkit::unique_key();
    let _gone = testkit::RemoveSegment(key);
    let k = key_hex(key);
    let mut writer = testkit::Background::spawn(
        WRITER,
        &["--key".as_ref(), k.as_ref(), "--wait-stdin".as_ref()],
    );
    writer.line();
    testkit::kill(writer.pid(), libc::SIGKILL);
    assert_eq!(writer.finish().status.signal(), Some(libc::SIGKILL));
    assert!(testkit::segment_exists(key), "SIGKILL runs no cleanup");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/clean_ipc.sh");
    let out = testkit::run_ok(script, &["--only".as_ref(), k.as_ref()]);
    assert!(
        out.starts_with(&format!("System V segment: key {k}, shmid ")),
        "{out}"
    );
    assert!(out.ends_with(", 8 bytes: removed\n"), "{out}");
    assert!(!testkit::segment_exists(key));
}

/// `--new`, what the scripts use: a taken key is an error ("File exists"), and the segment
/// found there, though it is a people record, is neither written nor removed.
#[test]
fn new_refuses_a_taken_key_and_leaves_its_segment() {
    for (writer, reader) in pairs() {
        let key = testkit::unique_key();
        let _gone = testkit::RemoveSegment(key);
        let k = key_hex(key);
        let d = dir();
        let mut t = transcript(&d, key);
        t.run(&writer, &["--key".as_ref(), k.as_ref(), "--new".as_ref()]);
        t.comment("another run draws the same key");
        t.run(&writer, &["--key".as_ref(), k.as_ref(), "--new".as_ref()]);
        assert!(
            testkit::segment_exists(key),
            "the first run's segment must stay"
        );
        t.run(&reader, &["--key".as_ref(), k.as_ref()]);
        t.assert_eq(file!["transcripts/new.txt"]);
        assert!(!testkit::segment_exists(key));
    }
}
