//! The memfd programs run for real, compared whole with the transcripts in
//! `tests/transcripts/`, which `docs/src/memfd_share.md` includes. Every test listens on a
//! socket of its own: a path in a directory of its own (shown as `[DIR]`), or an abstract name
//! with 32 random bits in it (shown as `@[NAME]`).
//! `SNAPSHOTS=overwrite cargo test -p memfd_share` rewrites the transcripts from the real output.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;
use std::os::unix::net::UnixListener;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::time::{Duration, Instant};

use snapbox::file;
use tempfile::TempDir;
use testkit::{Bin, Transcript};

const WRITER: Bin = Bin::new("memfd_write", env!("CARGO_BIN_EXE_memfd_write"));
const READER: Bin = Bin::new("memfd_read", env!("CARGO_BIN_EXE_memfd_read"));
const SHRINK: Bin = Bin::new("memfd_shrink", env!("CARGO_BIN_EXE_memfd_shrink"));

fn dir() -> TempDir {
    testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"))
}

/// An abstract socket name no other test uses, and the transcript that shows it as `@[NAME]`.
fn abstract_name(t: &mut Transcript) -> String {
    let name = format!("shm-by-example.t.{:08x}", common::random_u32());
    t.redact_literal(name.clone(), "[NAME]");
    format!("@{name}")
}

fn args<'a>(list: &'a [&'a str]) -> Vec<&'a OsStr> {
    list.iter().map(OsStr::new).collect()
}

/// What `/dev/shm` holds that a memfd program could have made: nothing named after it.
fn dev_shm_people() -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("people") || n.contains("memfd"))
        .collect()
}

/// Where `pid`'s descriptors point: a memfd shows as `/memfd:people (deleted)`, a file that is
/// in no directory.
fn fd_targets(pid: libc::pid_t) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// Whether a process listens on `socket` (a path, or `@name`): a connect that is not refused.
fn listening(socket: &str) -> bool {
    let addr = memfd_share::Socket::parse(socket).unwrap().addr().unwrap();
    let s = rustix::net::socket(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::STREAM,
        None,
    )
    .unwrap();
    rustix::net::connect(&s, &addr).is_ok()
}

#[test]
fn the_descriptor_crosses_to_two_readers_on_a_path() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    let sock = d.path().join("people.sock");
    let sock = sock.to_str().unwrap();
    let mut writer = t.start(WRITER, &args(&[sock, "--count", "2"]));
    t.line(&mut writer);
    t.line(&mut writer);
    let meta = std::fs::symlink_metadata(sock).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o700,
        "the socket must be the owner's only"
    );
    assert!(
        fd_targets(writer.pid())
            .iter()
            .any(|target| target == "/memfd:people (deleted)"),
        "the writer holds a memfd, in no directory"
    );
    t.run(READER, &args(&[sock]));
    t.line(&mut writer);
    t.run(READER, &args(&[sock]));
    t.line(&mut writer);
    t.output(&writer.finish());
    t.comment("the writer removed its socket");
    assert!(!Path::new(sock).exists());
    t.assert_eq(file!["transcripts/pair.txt"]);
}

#[test]
fn an_abstract_name_leaves_no_file() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    let name = abstract_name(&mut t);
    let mut writer = t.start(WRITER, &args(&[&name, "--count", "1"]));
    t.line(&mut writer);
    t.line(&mut writer);
    t.run(READER, &args(&[&name]));
    t.line(&mut writer);
    t.output(&writer.finish());
    assert!(!listening(&name));
    t.run(READER, &args(&[&name]));
    t.assert_eq(file!["transcripts/abstract.txt"]);
}

#[test]
fn an_unsealed_object_is_refused() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    let name = abstract_name(&mut t);
    let mut writer = t.start(WRITER, &args(&[&name, "--no-seals", "--count", "1"]));
    t.line(&mut writer);
    t.line(&mut writer);
    t.run(READER, &args(&[&name]));
    t.line(&mut writer);
    t.output(&writer.finish());
    t.assert_eq(file!["transcripts/unsealed.txt"]);
}

#[test]
fn the_seal_refuses_a_shrink_that_kills_an_unsealed_reader() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    t.run(SHRINK, &[]);
    t.assert_eq(file!["transcripts/shrink.txt"]);
}

#[test]
fn sigkill_of_either_side_leaves_nothing() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    let before = dev_shm_people();
    let name = abstract_name(&mut t);
    let path = d.path().join("people.sock");
    let path = path.to_str().unwrap();

    t.comment("a reader holds the mapping; its writer is killed");
    let mut writer = t.start(WRITER, &args(&[&name]));
    t.line(&mut writer);
    t.line(&mut writer);
    let mut reader = t.start(READER, &args(&[&name, "--wait-stdin"]));
    for _ in 0..12 {
        t.line(&mut reader);
    }
    t.line(&mut writer);
    t.comment("kill -KILL the writer");
    testkit::kill(writer.pid(), libc::SIGKILL);
    let out = writer.finish();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    t.output(&out);
    t.comment("its abstract name went with it");
    assert!(!listening(&name));
    t.run(READER, &args(&[&name]));
    t.comment("the reader's mapping still holds the object; release the reader");
    reader.send_line("");
    t.output(&reader.finish());

    t.comment("a reader holding the mapping is killed");
    let mut writer = t.start(WRITER, &args(&[path, "--count", "1"]));
    t.line(&mut writer);
    t.line(&mut writer);
    let mut reader = t.start(READER, &args(&[path, "--wait-stdin"]));
    for _ in 0..12 {
        t.line(&mut reader);
    }
    t.line(&mut writer);
    t.comment("kill -KILL the reader");
    testkit::kill(reader.pid(), libc::SIGKILL);
    let out = reader.finish();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    t.output(&out);
    t.output(&writer.finish());
    assert!(!Path::new(path).exists());

    t.comment("a writer on a path is killed: the socket file is the one thing left");
    let mut writer = t.start(WRITER, &args(&[path]));
    t.line(&mut writer);
    t.line(&mut writer);
    t.comment("kill -KILL the writer");
    testkit::kill(writer.pid(), libc::SIGKILL);
    let out = writer.finish();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    t.output(&out);
    assert!(Path::new(path).exists() && !listening(path));
    t.run(READER, &args(&[path]));
    t.comment("the next writer finds nobody listening on it and takes the name back");
    let mut writer = t.start(WRITER, &args(&[path, "--count", "1"]));
    t.line(&mut writer);
    t.line(&mut writer);
    t.line(&mut writer);
    t.run(READER, &args(&[path]));
    t.line(&mut writer);
    t.output(&writer.finish());
    assert!(!Path::new(path).exists());
    assert_eq!(dev_shm_people(), before, "a name appeared in /dev/shm");
    t.assert_eq(file!["transcripts/sigkill.txt"]);
}

#[test]
fn ctrl_c_removes_the_socket() {
    for signo in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let d = dir();
        let sock = d.path().join("people.sock");
        let mut writer = testkit::Background::spawn(WRITER, &args(&[sock.to_str().unwrap()]));
        writer.line();
        writer.line();
        let start = Instant::now();
        testkit::kill(writer.pid(), signo);
        let out = writer.finish();
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "a signal must end the wait at once"
        );
        assert_eq!(out.status.signal(), Some(signo), "it ends by the signal");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!sock.exists(), "the socket must be removed");
    }
}

#[test]
fn a_name_that_is_not_a_stale_socket_is_left_alone() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    testkit::plant_hostile_names(d.path());
    let live = d.path().join("live.sock");
    let _listener = UnixListener::bind(&live).unwrap();
    for name in ["victim", "link", "fifo", "live.sock"] {
        let path = d.path().join(name);
        t.run(WRITER, &args(&[path.to_str().unwrap(), "--count", "1"]));
    }
    testkit::assert_victim_untouched(d.path());
    assert!(d.path().join("link").is_symlink() && d.path().join("fifo").exists());
    assert!(listening(live.to_str().unwrap()));
    t.assert_eq(file!["transcripts/left_alone.txt"]);
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    // A fixed length, whatever the test's directory: the message gives it.
    let long = format!("/{}", "x".repeat(120));
    t.run(WRITER, &args(&[]));
    t.run(WRITER, &args(&["@"]));
    t.run(WRITER, &args(&[&long]));
    t.run(WRITER, &args(&["/tmp/s", "--count", "0"]));
    t.run(
        READER,
        &args(&[d.path().join("nobody.sock").to_str().unwrap()]),
    );
    let name = abstract_name(&mut t);
    t.run(READER, &args(&[&name]));
    t.run(READER, &args(&[d.path().to_str().unwrap()]));
    t.assert_eq(file!["transcripts/errors.txt"]);
}

#[test]
fn a_writer_that_never_sends_does_not_hold_the_reader() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    let sock = d.path().join("silent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    t.comment("a socket whose owner accepts and never sends");
    let start = Instant::now();
    let accepted = std::thread::spawn(move || listener.accept().unwrap());
    t.run(READER, &args(&[sock.to_str().unwrap()]));
    let waited = start.elapsed();
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(8)).contains(&waited),
        "waited {waited:?}"
    );
    drop(accepted.join().unwrap());
    t.assert_eq(file!["transcripts/silent.txt"]);
}

/// Any user may connect to an abstract name: the writer gives the descriptor to its own user
/// only. Needs root to run a reader as another user.
#[test]
fn another_users_reader_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        testkit::skip_this("needs root, to run a reader as another user");
        return;
    }
    let d = dir();
    let mut t = Transcript::new(d.path());
    let name = abstract_name(&mut t);
    let mut writer = t.start(WRITER, &args(&[&name, "--count", "1"]));
    t.line(&mut writer);
    t.line(&mut writer);
    t.comment("as user nobody (65534):");
    let out = std::process::Command::new(READER.path())
        .arg(&name)
        .uid(65534)
        .output()
        .unwrap();
    t.output(&out);
    t.line(&mut writer);
    t.run(READER, &args(&[&name]));
    t.line(&mut writer);
    t.output(&writer.finish());
    t.assert_eq(file!["transcripts/other_user.txt"]);
}

/// An object sealed against shrinking but not against writing: its writer could change the
/// records while the reader reads them through a slice, and the reader refuses it. Rust and C
/// readers alike; the writer is this test, with `by_hand::send_fd`.
#[test]
fn an_object_that_can_still_be_written_is_refused() {
    use rustix::fs::{MemfdFlags, SealFlags, fcntl_add_seals, memfd_create};
    use std::os::fd::AsFd;
    let c_reader = testkit::c_program(env!("CARGO_TARGET_TMPDIR"), "memfd_read");
    for reader in [READER.path().to_path_buf(), c_reader] {
        let d = dir();
        let mut t = Transcript::new(d.path());
        let sock = d.path().join("writable.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let fd = memfd_create(c"people", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
        let file = std::fs::File::from(fd);
        let records = memfd_share::records();
        std::os::unix::fs::FileExt::write_all_at(&file, bytemuck::cast_slice(&records), 0).unwrap();
        fcntl_add_seals(&file, SealFlags::SHRINK | SealFlags::GROW).unwrap();
        t.comment("a writer that seals the size only, and keeps the right to write");
        let bg = t.start(&reader, &args(&[sock.to_str().unwrap()]));
        let (conn, _) = listener.accept().unwrap();
        memfd_share::by_hand::send_fd(conn.as_fd(), file.as_fd()).unwrap();
        t.output(&bg.finish());
        t.assert_eq(file!["transcripts/writable.txt"]);
    }
}

/// A writer in a PID namespace of its own (as in a container) serves a reader outside it,
/// whose pid it cannot know: `SO_PEERCRED` gives 0, which the writer prints. Needs
/// `unshare -pf` (root, or user namespaces with `-rpf`).
#[test]
fn a_reader_outside_the_writers_pid_namespace_is_served() {
    let unshare = |extra: &str| {
        std::process::Command::new("unshare")
            .args([extra, "true"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let Some(flags) = ["-pf", "-rpf"].into_iter().find(|f| unshare(f)) else {
        testkit::skip_this("no PID namespace here (unshare -pf or -rpf)");
        return;
    };
    let name = format!("@shm-by-example.t.{:08x}", common::random_u32());
    let mut writer = testkit::Background::spawn(
        "unshare",
        &args(&[flags, WRITER.as_str(), &name, "--count", "1"]),
    );
    writer.line();
    writer.line();
    let out = std::process::Command::new(READER.path())
        .arg(&name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("name: j age 29;\n"));
    assert_eq!(writer.line(), "sent the descriptor to pid 0");
    assert!(writer.finish().status.success());
}
