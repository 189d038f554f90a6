//! The C twins (`crates/memfd_share/c/`) run with and against the Rust programs, compared whole
//! with the transcripts in `tests/transcripts/c_*.txt`.
//!
//! A transcript does not say which language ran: the binaries have the same names, and every
//! test runs each combination (writer and reader, each Rust or C) against the same file, so
//! the descriptor crosses from C to Rust and from Rust to C, and the two print the same lines.
//! Each test has sockets of its own: a file in a temp directory of its own (`[DIR]`), or an
//! abstract name with 32 random bits (`@[NAME]`).
//!
//! `SNAPSHOTS=overwrite cargo test -p memfd_share --test c_interop` rewrites the transcripts
//! from the real output (from the last combination: run the tests again without it, so that
//! every combination is compared with the file); `SHM_C_SANITIZE=1` builds the C under ASan
//! and UBSan.
#![cfg(target_os = "linux")] // the C programs are Linux's (signalfd, SO_PEERCRED)
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::fs::{MemfdFlags, SealFlags};
use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use snapbox::file;
use tempfile::TempDir;
use testkit::{Background, Bin, Transcript};

const WRITER: Bin = Bin::new("memfd_write", env!("CARGO_BIN_EXE_memfd_write"));
const READER: Bin = Bin::new("memfd_read", env!("CARGO_BIN_EXE_memfd_read"));
const SHRINK: Bin = Bin::new("memfd_shrink", env!("CARGO_BIN_EXE_memfd_shrink"));

/// The project's C program `name`, built for this run (as `make c` builds it).
fn c(name: &str) -> PathBuf {
    testkit::c_program(env!("CARGO_TARGET_TMPDIR"), name)
}

/// A program and the language it is written in, for the message of a test that fails.
type Prog = (&'static str, PathBuf);

/// The Rust program `bin` and its C twin.
fn both(bin: Bin, name: &str) -> [Prog; 2] {
    [("Rust", bin.path().to_path_buf()), ("C", c(name))]
}

/// Every writer with every reader: C to C, C to Rust, Rust to C, and Rust to Rust, which the
/// others must print the same lines as.
fn pairs() -> Vec<(Prog, Prog)> {
    let mut all = Vec::new();
    for writer in both(WRITER, "memfd_write") {
        for reader in both(READER, "memfd_read") {
            all.push((writer.clone(), reader.clone()));
        }
    }
    all
}

fn dir() -> TempDir {
    testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"))
}

/// A transcript of `dir`, and an abstract socket name of its own, shown as `@[NAME]`.
fn setup(dir: &TempDir) -> (Transcript, String) {
    let name = format!("shm-by-example.t.{:08x}", common::random_u32());
    let mut t = Transcript::new(dir.path());
    t.redact_literal(name.clone(), "[NAME]");
    (t, format!("@{name}"))
}

/// `[DIR]/name`: a socket file's path, which must fit in `sun_path`.
fn sock_path(dir: &TempDir, name: &str) -> String {
    let path = dir.path().join(name).to_str().unwrap().to_owned();
    assert!(
        path.len() <= 107,
        "{path}: too long for sockaddr_un; move the target directory"
    );
    path
}

fn args<'a>(list: &[&'a str]) -> Vec<&'a OsStr> {
    list.iter().map(|a| OsStr::new(*a)).collect()
}

/// Starts `writer` on `sock` with `extra` arguments and records its two first lines.
fn start_writer(t: &mut Transcript, writer: &Path, sock: &str, extra: &[&str]) -> Background {
    let mut list = vec![sock];
    list.extend_from_slice(extra);
    let mut bg = t.start(writer, &args(&list));
    t.line(&mut bg);
    t.line(&mut bg);
    bg
}

fn is_socket(path: &str) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

// ---------------------------------------------------------------------------------------
// The descriptor crosses

/// The descriptor goes from each writer to each reader, over an abstract name and over a
/// socket file, which the writer makes owner-only and removes when it ends.
#[test]
fn the_descriptor_crosses_between_c_and_rust() {
    for ((w_lang, writer), (r_lang, reader)) in pairs() {
        eprintln!("writer {w_lang}, reader {r_lang}");
        let d = dir();
        let (mut t, name) = setup(&d);
        t.comment("over an abstract name: no file anywhere");
        let bg = start_writer(&mut t, &writer, &name, &["--count", "1"]);
        t.run(&reader, &args(&[&name]));
        t.output(&bg.finish());

        t.comment("over a socket file, which the writer removes when it ends");
        let path = sock_path(&d, "people.sock");
        let bg = start_writer(&mut t, &writer, &path, &["--count", "1"]);
        let mode = std::fs::symlink_metadata(&path)
            .unwrap()
            .permissions()
            .mode();
        assert!(is_socket(&path), "{path} must be a socket");
        assert_eq!(mode & 0o077, 0, "the socket must be owner-only: {mode:o}");
        t.run(&reader, &args(&[&path]));
        t.output(&bg.finish());
        assert!(!is_socket(&path), "the writer must remove its socket");
        t.assert_eq(file!["transcripts/c_interop.txt"]);
    }
}

/// A reader keeps the object mapped after the writer has ended and closed its descriptor:
/// the object lives while a mapping refers to it.
#[test]
fn the_reader_keeps_the_object_after_the_writer_ends() {
    for ((w_lang, writer), (r_lang, reader)) in pairs() {
        eprintln!("writer {w_lang}, reader {r_lang}");
        let d = dir();
        let (mut t, name) = setup(&d);
        let w = start_writer(&mut t, &writer, &name, &["--count", "1"]);
        let mut r = t.start(&reader, &args(&[&name, "--wait-stdin"]));
        for _ in 0..12 {
            t.line(&mut r);
        }
        t.output(&w.finish());
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", r.pid())).unwrap();
        assert!(
            maps.contains("/memfd:people (deleted)"),
            "the reader must still map the object:\n{maps}"
        );
        t.comment("the writer has ended; the reader still maps the object (/proc/PID/maps:");
        t.comment("/memfd:people (deleted)). A line on its stdin, and it reads the object again:");
        r.send_line("");
        t.output(&r.finish());
        t.assert_eq(file!["transcripts/c_held.txt"]);
    }
}

// ---------------------------------------------------------------------------------------
// Refusals and errors: the same lines from C and Rust

/// `--no-seals`: every reader refuses the object, and says why.
#[test]
fn an_unsealed_object_is_refused() {
    for ((w_lang, writer), (r_lang, reader)) in pairs() {
        eprintln!("writer {w_lang}, reader {r_lang}");
        let d = dir();
        let (mut t, name) = setup(&d);
        let bg = start_writer(&mut t, &writer, &name, &["--no-seals", "--count", "1"]);
        t.run(&reader, &args(&[&name]));
        t.output(&bg.finish());
        t.assert_eq(file!["transcripts/c_unsealed.txt"]);
    }
}

/// No writer: no socket file, an abstract name nobody has, a file that is not a socket.
#[test]
fn a_reader_without_a_writer_says_what_to_start() {
    for (lang, reader) in both(READER, "memfd_read") {
        eprintln!("reader {lang}");
        let d = dir();
        let (mut t, name) = setup(&d);
        t.run(&reader, &args(&[&sock_path(&d, "people.sock")]));
        t.run(&reader, &args(&[&name]));
        std::fs::write(d.path().join("notes.txt"), "not a socket\n").unwrap();
        t.run(&reader, &args(&[&sock_path(&d, "notes.txt")]));
        t.assert_eq(file!["transcripts/c_no_writer.txt"]);
    }
}

/// What the writer finds under its socket's name: a file, a symlink or a FIFO (left alone), a
/// socket nobody listens on any more (removed, then bound), a writer that listens there (left
/// alone).
#[test]
fn what_is_under_the_name_is_left_alone_or_removed() {
    for (lang, writer) in both(WRITER, "memfd_write") {
        eprintln!("writer {lang}");
        let d = dir();
        let (mut t, name) = setup(&d);
        let path = sock_path(&d, "people.sock");

        t.comment("a file, a symlink to it, a FIFO");
        testkit::plant_hostile_names(d.path());
        for planted in ["victim", "link", "fifo"] {
            t.run(&writer, &args(&[&sock_path(&d, planted)]));
        }
        testkit::assert_victim_untouched(d.path());
        assert!(std::fs::symlink_metadata(d.path().join("link")).is_ok_and(|m| m.is_symlink()));

        t.comment("a socket that nobody listens on (its writer was killed) has the name");
        drop(UnixListener::bind(&path).unwrap());
        let mut bg = t.start(&writer, &args(&[&path]));
        for _ in 0..3 {
            t.line(&mut bg);
        }
        testkit::kill(bg.pid(), libc::SIGTERM);
        t.output(&bg.finish());
        assert!(!is_socket(&path), "the writer must remove its socket");

        t.comment("another memfd_write listens on the socket file, and on the abstract name");
        let mut first = Background::spawn(WRITER, &args(&[&path]));
        first.line();
        first.line();
        t.run(&writer, &args(&[&path]));
        assert!(is_socket(&path), "the other writer's socket must be left");
        let mut first_abstract = Background::spawn(WRITER, &args(&[&name]));
        first_abstract.line();
        first_abstract.line();
        t.run(&writer, &args(&[&name]));
        for bg in [first, first_abstract] {
            testkit::kill(bg.pid(), libc::SIGTERM);
            assert_eq!(bg.finish().status.signal(), Some(libc::SIGTERM));
        }
        t.assert_eq(file!["transcripts/c_names.txt"]);
    }
}

/// A fake writer that accepts one reader on `path` and does `act` with the connection;
/// returns what undoes it if the reader never connected.
fn fake_writer(path: &str, act: Box<dyn FnOnce(UnixStream) + Send>) -> impl FnOnce() {
    let listener = UnixListener::bind(path).unwrap();
    let thread = std::thread::spawn(move || act(listener.accept().unwrap().0));
    let path = path.to_owned();
    move || {
        // A reader that failed before it connected leaves the accept waiting: this ends it.
        if !thread.is_finished() {
            let _ = UnixStream::connect(&path);
        }
        thread.join().unwrap();
        std::fs::remove_file(&path).unwrap();
    }
}

/// memfd_write's message: one byte `M` with `fds` beside it (`SCM_RIGHTS`), or none.
fn send_fds(conn: &UnixStream, fds: &[BorrowedFd<'_>]) {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() {
        assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
    }
    rustix::net::sendmsg(
        conn,
        &[IoSlice::new(b"M")],
        &mut control,
        SendFlags::NOSIGNAL,
    )
    .unwrap();
}

/// A memfd of `len` bytes with `seals`.
fn memfd(len: u64, seals: SealFlags) -> std::fs::File {
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    let file = std::fs::File::from(rustix::fs::memfd_create("people", flags).unwrap());
    file.set_len(len).unwrap();
    rustix::fs::fcntl_add_seals(&file, seals).unwrap();
    file
}

/// What a writer that is not memfd_write may send: each reader checks it before mapping
/// anything, and refuses it in the same words.
#[test]
fn the_reader_refuses_what_another_writer_sends() {
    for (lang, reader) in both(READER, "memfd_read") {
        eprintln!("reader {lang}");
        let d = dir();
        let mut t = Transcript::new(d.path());
        let path = sock_path(&d, "other.sock");
        let case = |t: &mut Transcript, what: &str, act: Box<dyn FnOnce(UnixStream) + Send>| {
            t.comment(what);
            let done = fake_writer(&path, act);
            t.run(&reader, &args(&[&path]));
            done();
        };
        case(
            &mut t,
            "a writer that closes the connection",
            Box::new(drop),
        );
        case(
            &mut t,
            "a writer that sends its byte without a descriptor",
            Box::new(|conn| send_fds(&conn, &[])),
        );
        case(
            &mut t,
            "a writer that sends two descriptors",
            Box::new(|conn| {
                let (a, b) = (memfd(80, SealFlags::SHRINK), memfd(80, SealFlags::SHRINK));
                send_fds(&conn, &[a.as_fd(), b.as_fd()]);
            }),
        );
        case(
            &mut t,
            "a writer that sends a pipe",
            Box::new(|conn| {
                let (r, _w) = std::io::pipe().unwrap();
                send_fds(&conn, &[r.as_fd()]);
            }),
        );
        let plain = d.path().join("plain");
        case(
            &mut t,
            "a writer that sends a regular file, which cannot carry seals",
            Box::new(move |conn| {
                let file = std::fs::File::create(plain).unwrap();
                send_fds(&conn, &[file.as_fd()]);
            }),
        );
        case(
            &mut t,
            "a writer that sends a sealed memfd of 40 bytes",
            Box::new(|conn| {
                let file = memfd(40, SealFlags::SHRINK | SealFlags::WRITE | SealFlags::SEAL);
                send_fds(&conn, &[file.as_fd()]);
            }),
        );
        t.assert_eq(file!["transcripts/c_other_writer.txt"]);
    }
}

/// A writer that never answers (stopped, say, before it accepts): each reader gives up after
/// 5 seconds. Both run at once, so that the test takes 5 seconds, not 10.
#[test]
fn a_writer_that_never_answers_times_the_reader_out() {
    let d = dir();
    let mut t = Transcript::new(d.path());
    let path = sock_path(&d, "silent.sock");
    // Listening but never accepting: connect succeeds (the connection waits in the backlog).
    let _listener = UnixListener::bind(&path).unwrap();
    let readers = both(READER, "memfd_read");
    let outputs: Vec<_> = std::thread::scope(|s| {
        let running: Vec<_> = readers
            .iter()
            .map(|(_, reader)| {
                let path = &path;
                s.spawn(move || testkit::run(reader, &args(&[path])))
            })
            .collect();
        running.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for ((lang, _), out) in readers.iter().zip(outputs) {
        t.comment(&format!("memfd_read [DIR]/silent.sock ({lang})"));
        t.output(&out);
    }
    t.assert_eq(file!["transcripts/c_silent.txt"]);
}

/// A reader of another user is refused (anyone may connect to an abstract name): the writer
/// says so and serves the next. Only root can run a program as another user.
#[test]
fn a_reader_of_another_user_is_refused() {
    if !rustix::process::geteuid().is_root() {
        testkit::skip_this("not root: no reader of another user to run");
        return;
    }
    for ((w_lang, writer), (r_lang, reader)) in pairs() {
        eprintln!("writer {w_lang}, reader {r_lang}");
        let d = dir();
        let (mut t, name) = setup(&d);
        let mut bg = start_writer(&mut t, &writer, &name, &["--count", "1"]);
        t.comment("memfd_read @[NAME], run as user 65534");
        let out = Command::new(&reader)
            .arg(&name)
            .uid(65534)
            .gid(65534)
            .stdin(Stdio::null())
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                testkit::skip_this(&format!("cannot run a program as user 65534: {e}"));
                return;
            }
        };
        t.output(&out);
        t.line(&mut bg);
        t.run(&reader, &args(&[&name]));
        t.output(&bg.finish());
        t.assert_eq(file!["transcripts/c_other_user.txt"]);
    }
}

/// A reader that connects and leaves before the writer sends: the writer says so and goes
/// on. The writer is stopped (SIGSTOP) while the reader comes and goes, so that the order is
/// certain.
#[test]
fn a_writer_reports_a_reader_that_has_gone() {
    for (lang, writer) in both(WRITER, "memfd_write") {
        eprintln!("memfd_write {lang}");
        let d = dir();
        let (mut t, name) = setup(&d);
        t.redact_number_after("to pid ", "[PID]");
        let bg = start_writer(&mut t, &writer, &name, &["--count", "1"]);
        testkit::stop(bg.pid());
        t.comment("the writer stopped; a reader connects and closes the connection at once");
        let addr = rustix::net::SocketAddrUnix::new_abstract_name(&name.as_bytes()[1..]).unwrap();
        let conn = rustix::net::socket(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::STREAM,
            None,
        )
        .unwrap();
        rustix::net::connect(&conn, &addr).unwrap();
        drop(conn);
        testkit::kill(bg.pid(), libc::SIGCONT);
        t.output(&bg.finish());
        t.assert_eq(file!["transcripts/c_reader_gone.txt"]);
    }
}

// ---------------------------------------------------------------------------------------
// memfd_shrink, signals, arguments

/// memfd_shrink in C prints what the Rust prints: SIGBUS without the seal, age 29 with it.
#[test]
fn c_shrink_prints_what_the_rust_prints() {
    for (lang, shrink) in both(SHRINK, "memfd_shrink") {
        eprintln!("memfd_shrink {lang}");
        let d = dir();
        let mut t = Transcript::new(d.path());
        t.run(&shrink, &[]);
        t.assert_eq(file!["transcripts/c_shrink.txt"]);
    }
}

/// SIGINT, SIGTERM or SIGHUP while a writer waits: its socket file is removed, and it dies of
/// the signal, saying nothing. The same for a reader waiting with `--wait-stdin`.
#[test]
fn a_signal_removes_the_socket_and_ends_the_program_by_it() {
    for (lang, writer) in both(WRITER, "memfd_write") {
        for signo in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            let d = dir();
            let path = sock_path(&d, "people.sock");
            let mut bg = Background::spawn(&writer, &args(&[&path]));
            bg.line();
            bg.line();
            assert!(is_socket(&path));
            testkit::kill(bg.pid(), signo);
            let out = bg.finish();
            assert_eq!(out.status.signal(), Some(signo), "{lang} writer");
            assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{lang} writer");
            assert!(!is_socket(&path), "{lang} writer left its socket");
        }
    }
    for ((w_lang, writer), (r_lang, reader)) in pairs() {
        let d = dir();
        let (_, name) = setup(&d);
        let mut w = Background::spawn(&writer, &args(&[&name, "--count", "1"]));
        w.line();
        w.line();
        let mut r = Background::spawn(&reader, &args(&[&name, "--wait-stdin"]));
        for _ in 0..12 {
            r.line();
        }
        testkit::kill(r.pid(), libc::SIGINT);
        let out = r.finish();
        let who = format!("{r_lang} reader of a {w_lang} writer");
        assert_eq!(out.status.signal(), Some(libc::SIGINT), "{who}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{who}");
        assert!(w.finish().status.success());
    }
}

/// The C programs on bad arguments: a usage line of their own and exit status 2, where the
/// Rust ones print clap's lines (the same status; the same reasons for a bad SOCKET).
#[test]
fn c_bad_arguments_are_one_line_and_exit_status_2() {
    let (writer, reader, shrink) = (c("memfd_write"), c("memfd_read"), c("memfd_shrink"));
    let d = dir();
    let mut t = Transcript::new(d.path());
    let long = "x".repeat(108);
    let long_abstract = format!("@{}", "x".repeat(107));
    t.run(&writer, &[]);
    t.run(&writer, &args(&["@"]));
    t.run(&writer, &args(&[&long]));
    t.run(&writer, &args(&[&long_abstract]));
    t.run(&writer, &args(&["s", "--count", "0"]));
    t.run(&writer, &args(&["s", "--count", "-1"]));
    t.run(&writer, &args(&["s", "--count"]));
    t.run(&writer, &args(&["s", "--seals"]));
    t.run(&reader, &args(&["a", "b"]));
    t.run(&reader, &args(&["--wait-stdin"]));
    t.run(&shrink, &args(&["now"]));
    t.assert_eq(file!["transcripts/c_usage.txt"]);
}
