//! file_transfer run for real: a file through each path, arriving whole, with the calls and
//! copies counted; bad input; Ctrl-C and a killed client leave no output and no child. The
//! transcripts are those `docs/src/benchmark.md` includes. Times are never checked here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use snapbox::file;
use testkit::{Background, Bin, Transcript};

const PROG: Bin = Bin::new("file_transfer", env!("CARGO_BIN_EXE_file_transfer"));

/// A file of `len` bytes that are not all alike (a byte lost or moved shows).
fn input(dir: &Path, len: usize) -> std::path::PathBuf {
    let path = dir.join("in");
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4096) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn transcript(dir: &Path) -> Transcript {
    let mut t = Transcript::new(dir);
    t.redact_number_after("read calls from the pipe: ", "[N]");
    t
}

#[test]
fn a_file_goes_through_each_path_and_arrives_whole() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let input = input(dir.path(), 4 << 20);
    let output = dir.path().join("out");
    let mut t = transcript(dir.path());
    t.run(PROG, &[input.as_ref(), output.as_ref()]);
    t.run(
        PROG,
        &[
            "--via".as_ref(),
            "shm".as_ref(),
            "--chunk".as_ref(),
            "1048576".as_ref(),
            input.as_ref(),
            output.as_ref(),
        ],
    );
    t.assert_eq(file!["transcripts/paths.txt"]);
    assert_eq!(
        std::fs::read(&output).unwrap(),
        std::fs::read(&input).unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&output).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let input = input(dir.path(), 100);
    testkit::plant_hostile_names(dir.path());
    let d = dir.path();
    let mut t = transcript(d);
    let (missing, out, link, fifo) = (
        d.join("missing"),
        d.join("out"),
        d.join("link"),
        d.join("fifo"),
    );
    let (input, d) = (input.as_os_str(), d.as_os_str());
    let cases: Vec<Vec<&OsStr>> = vec![
        vec![missing.as_ref(), out.as_ref()],
        vec![input, link.as_ref()],
        vec![input, fifo.as_ref()],
        vec![input, d],
        vec![fifo.as_ref(), out.as_ref()],
        vec![input, input],
        vec!["--chunk".as_ref(), "100".as_ref(), input, out.as_ref()],
        vec![
            "--via".as_ref(),
            "carrier-pigeon".as_ref(),
            input,
            out.as_ref(),
        ],
    ];
    for args in &cases {
        t.run(PROG, args);
    }
    t.assert_eq(file!["transcripts/errors.txt"]);
    testkit::assert_victim_untouched(dir.path());
    assert!(!out.exists(), "a failed run left its output");
}

/// The first client of `bg` (found in /proc as soon as it exists), or panics after 2 s.
fn client_of(bg: &Background) -> libc::pid_t {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if let Some(&child) = children_of(bg.pid()).first() {
            return child;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    panic!("no client found");
}

/// A transfer through a pipe, 4 KiB at a time, three times over (`--time`): long enough to
/// catch its client.
fn slow_run(input: &Path, output: &Path) -> Background {
    let args: [&OsStr; 7] = [
        "--chunk".as_ref(),
        "4096".as_ref(),
        "--via".as_ref(),
        "pipe".as_ref(),
        "--time".as_ref(),
        input.as_ref(),
        output.as_ref(),
    ];
    Background::spawn(PROG, &args)
}

/// Ctrl-C (or SIGTERM) while the client is stopped (SIGSTOP) and the server waits for room in
/// the pipe: the client is killed and reaped, the output this run created removed, within a
/// second; the program dies of the signal.
#[test]
fn an_interrupted_transfer_leaves_no_output_and_no_child() {
    for signo in [libc::SIGINT, libc::SIGTERM] {
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        let input = input(dir.path(), 64 << 20);
        let output = dir.path().join("out");
        let bg = slow_run(&input, &output);
        let client = client_of(&bg);
        testkit::kill(client, libc::SIGSTOP);
        // The pipe fills: the server goes to sleep in poll, waiting for room.
        wait_until_asleep(bg.pid());
        testkit::kill(bg.pid(), signo);
        let start = std::time::Instant::now();
        let out = bg.finish();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
        assert_eq!(out.status.signal(), Some(signo), "{out:?}");
        assert!(!output.exists(), "the output was left behind");
        assert!(
            !Path::new(&format!("/proc/{client}")).exists(),
            "client {client} left"
        );
    }
}

/// A client killed with SIGKILL: the server finds the pipe closed and says so in one line,
/// and removes the output it created.
#[test]
fn a_killed_client_is_one_line_and_no_output() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let input = input(dir.path(), 64 << 20);
    let output = dir.path().join("out");
    let bg = slow_run(&input, &output);
    testkit::kill(client_of(&bg), libc::SIGKILL);
    let out = bg.finish();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        err.starts_with("file_transfer: ") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!output.exists(), "the output was left behind");
}

/// Returns once `pid` is asleep (state `S` in /proc/PID/stat), or panics after 5 s.
fn wait_until_asleep(pid: libc::pid_t) {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            == Some("S")
        {
            return;
        }
        std::thread::yield_now();
    }
    panic!("{pid} never waited");
}

/// The pids whose parent is `pid`, from /proc.
fn children_of(pid: libc::pid_t) -> Vec<libc::pid_t> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<libc::pid_t>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: the fields after the last ')'.
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1));
        if ppid == Some(&pid.to_string()) {
            found.push(child);
        }
    }
    found
}
