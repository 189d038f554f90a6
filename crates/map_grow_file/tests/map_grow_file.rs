//! map_grow_file run for real: the classic growth page by page (checked against the page size
//! of this machine, and on 4 KiB pages against the transcript the chapter includes), and the
//! writer/follower pair.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::process::{Command, Stdio};

use snapbox::file;
use testkit::{Bin, Transcript};

const PROG: Bin = Bin::new("map_grow_file", env!("CARGO_BIN_EXE_map_grow_file"));

/// The classic output for this machine's page size: the C program's lines, with a SIGBUS
/// probe before each growth and the closing line.
fn classic_output() -> String {
    let ps = common::page_size();
    let mut out = String::new();
    for i in (ps..=8 * ps).step_by(ps) {
        out += &format!(
            "{:<20} before: the file is {} bytes\n",
            format!("ptr[{}] = SIGBUS", i - 1),
            i - ps
        );
        out += &format!("setting file size to {i}\nptr[{}] = 0\n", i - 1);
    }
    out + &format!(
        "the file is {} bytes; it holds the 8 bytes of 1 written through the mapping\n",
        8 * ps
    )
}

#[test]
fn classic_growth_page_by_page_leaves_no_temp_file() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let stdout = testkit::run_ok_in_tmpdir(PROG.as_str(), dir.path());
    assert_eq!(stdout, classic_output());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the temp file was left behind"
    );
    if common::page_size() == 4096 {
        let mut t = Transcript::new(dir.path());
        t.run(PROG.as_str(), &[]);
        t.assert_eq(file!["transcripts/classic.txt"]);
    }
}

/// The project's C program (crates/map_grow_file/c/, UNP's test2.c) prints the Rust's
/// classic run line for line, in a temp file and in a named one, and leaves no temp file.
#[test]
fn c_program_prints_the_classic_run() {
    let c = testkit::c_program(env!("CARGO_TARGET_TMPDIR"), "map_grow_file");
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    assert_eq!(testkit::run_ok_in_tmpdir(&c, dir.path()), classic_output());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let path = dir.path().join("test.data");
    assert_eq!(testkit::run_ok(&c, &[path.as_os_str()]), classic_output());
    let rust = dir.path().join("rust.data");
    testkit::run_ok(PROG.as_str(), &[rust.as_os_str()]);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&rust).unwrap(),
        "the C and the Rust leave different files"
    );
}

/// The C program on bad input: one line each, a usage line of its own; it has no --append
/// or --follow (the Rust port's two-process mode), so those are usage errors.
#[test]
fn c_bad_input_is_one_line_and_exit_status() {
    let c = testkit::c_program(env!("CARGO_TARGET_TMPDIR"), "map_grow_file");
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    testkit::plant_hostile_names(d);
    let mut t = Transcript::new(d);
    t.run(
        &c,
        &["--append".as_ref(), "3".as_ref(), d.join("f").as_ref()],
    );
    t.run(&c, &[d.join("link").as_os_str()]);
    t.run(&c, &[d.as_os_str()]);
    t.run(&c, &["/dev/null".as_ref()]);
    t.run(&c, &[d.join("no/such/dir/f").as_os_str()]);
    t.assert_eq(file!["transcripts/errors_c.txt"]);
    testkit::assert_victim_untouched(d);
}

#[test]
fn classic_growth_of_a_named_file_keeps_it() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.path().join("test.data");
    assert_eq!(
        testkit::run_ok(PROG.as_str(), &[path.as_os_str()]),
        classic_output()
    );
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 8 * common::page_size());
    let ps = common::page_size();
    let ones: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == 1)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(ones, (1..=8).map(|p| p * ps - 1).collect::<Vec<_>>());
}

#[test]
fn follower_reads_every_record_the_writer_appends() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.path().join("log");
    let mut writer = Command::new(PROG.as_str())
        .arg("--append")
        .arg("12")
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let follower = Command::new(PROG.as_str())
        .arg("--follow")
        .arg(&path)
        .stdin(writer.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(writer.wait().unwrap().success());
    assert!(
        follower.status.success(),
        "{}",
        String::from_utf8_lossy(&follower.stderr)
    );
    let mut t = Transcript::new(dir.path());
    t.comment("map_grow_file --append 12 [DIR]/log | map_grow_file --follow [DIR]/log");
    t.output(&follower);
    t.assert_eq(file!["transcripts/follow.txt"]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 12 * 512);
}

#[test]
fn writer_announces_each_record_with_the_file_size() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    t.run(
        PROG.as_str(),
        &[
            "--append".as_ref(),
            "3".as_ref(),
            dir.path().join("log").as_os_str(),
        ],
    );
    t.assert_eq(file!["transcripts/append.txt"]);
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let log = dir.path().join("log");
    let mut t = Transcript::new(dir.path());
    t.run(PROG.as_str(), &["--append".as_ref(), "3".as_ref()]);
    t.run(
        PROG.as_str(),
        &["--append".as_ref(), "0".as_ref(), log.as_os_str()],
    );
    t.run(
        PROG.as_str(),
        &["--append".as_ref(), "lots".as_ref(), log.as_os_str()],
    );
    t.run(
        PROG.as_str(),
        &[
            "--append".as_ref(),
            "3".as_ref(),
            "--follow".as_ref(),
            log.as_os_str(),
        ],
    );
    t.run(
        PROG.as_str(),
        &[dir.path().join("no/such/dir/f").as_os_str()],
    );
    t.run(
        PROG.as_str(),
        &["--follow".as_ref(), dir.path().join("missing").as_os_str()],
    );
    t.assert_eq(file!["transcripts/errors.txt"]);
}

#[test]
fn a_signal_at_any_moment_leaves_no_temp_file() {
    testkit::assert_signals_leave_no_temp_file(PROG.as_str(), env!("CARGO_TARGET_TMPDIR"));
}

/// Runs map_grow_file with `args` and `stdin`, recorded in `t` under `shown` (the command as
/// a comment, since the real one runs through a wrapper or a pipe).
fn run_with(
    t: &mut Transcript,
    shown: &str,
    mut cmd: Command,
    stdin: &[u8],
) -> std::process::Output {
    use std::io::Write;
    t.comment(shown);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A follower that fails at the first line may be gone before the rest is written.
    let _ = input.write_all(stdin);
    drop(input);
    let out = child.wait_with_output().unwrap();
    t.output(&out);
    out
}

/// map_grow_file ARGS, killed if it has not ended within 30 s (an open of a FIFO that
/// blocks for ever fails the test instead of hanging it).
fn prog(args: &[&std::ffi::OsStr]) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args(["-s", "KILL", "30", PROG.as_str()]).args(args);
    cmd
}

/// A file of `len` bytes, every block written (no hole).
fn written_file(path: &std::path::Path, len: usize) {
    std::fs::write(path, vec![b'x'; len]).unwrap();
}

#[test]
fn follower_reads_up_to_the_last_record_of_its_mapping_and_no_further() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    // The last record inside the 1 MiB mapping: all 2048 are printed.
    let log = dir.path().join("log");
    let writer = testkit::run_ok(
        PROG.as_str(),
        &["--append".as_ref(), "2048".as_ref(), log.as_os_str()],
    );
    assert_eq!(writer.lines().count(), 2048);
    let mut scratch = Transcript::new(dir.path()); // 2048 lines: checked here, not kept
    let out = run_with(
        &mut scratch,
        "last record",
        prog(&["--follow".as_ref(), log.as_os_str()]),
        b"appended record 2048: x\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let want: String = (0..2048)
        .map(|n| format!("record {} (offset {})\n", n + 1, n * 512))
        .collect();
    assert_eq!(stdout, want);

    // Past it, in files that hold those records: the first record outside the mapping, one
    // far outside, and one in a 1 GiB file, far past the mapping's end.
    let big = dir.path().join("big");
    written_file(&big, 4 << 20);
    let huge = dir.path().join("huge");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let mut t = Transcript::new(dir.path());
    for (file, name, record) in [
        (&log, "log", 2049),
        (&big, "big", 2049),
        (&big, "big", 4096),
        (&huge, "huge", 2_000_000),
    ] {
        let line = format!("appended record {record}: x\n");
        let out = run_with(
            &mut t,
            &format!("echo 'appended record {record}: x' | map_grow_file --follow [DIR]/{name}"),
            prog(&["--follow".as_ref(), file.as_os_str()]),
            line.as_bytes(),
        );
        assert!(
            out.stdout.is_empty(),
            "a record past the mapping was printed"
        );
    }
    t.assert_eq(file!["transcripts/past_the_mapping.txt"]);
}

#[test]
fn follower_refuses_a_file_with_holes() {
    // A sparse file reads as zeros on most filesystems, but on a full tmpfs a load from a hole
    // needs a page there is none of, and raises SIGBUS: the follower refuses holes everywhere.
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let sparse = dir.path().join("sparse");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let mut t = Transcript::new(dir.path());
    run_with(
        &mut t,
        "echo 'appended record 3: x' | map_grow_file --follow [DIR]/sparse",
        prog(&["--follow".as_ref(), sparse.as_os_str()]),
        b"appended record 3: x\n",
    );
    t.assert_eq(file!["transcripts/holes.txt"]);
}

#[test]
fn what_is_not_a_regular_file_is_refused_before_a_byte_is_written() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    let target = d.join("target");
    std::fs::write(&target, "keep").unwrap();
    std::os::unix::fs::symlink(&target, d.join("symlink")).unwrap();
    let fifo =
        std::ffi::CString::new(d.join("fifo").into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: `fifo` is a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::fs::create_dir(d.join("dir")).unwrap();
    let mut t = Transcript::new(d);
    for path in [
        d.join("fifo"),
        d.join("dir"),
        d.join("symlink"),
        "/dev/null".into(),
    ] {
        let p = path.to_str().unwrap().replace(d.to_str().unwrap(), "[DIR]");
        for args in [vec![], vec!["--append", "1"]] {
            let mut argv: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
            argv.push(path.as_os_str());
            let shown = format!("map_grow_file {} {p}", args.join(" "));
            let out = run_with(&mut t, &shown.replace("  ", " "), prog(&argv), b"");
            assert_eq!(out.status.code(), Some(1));
        }
        // The follower reads: it follows a symlink, and refuses the rest.
        run_with(
            &mut t,
            &format!("echo 'appended record 1: x' | map_grow_file --follow {p}"),
            prog(&["--follow".as_ref(), path.as_os_str()]),
            b"appended record 1: x\n",
        );
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    t.assert_eq(file!["transcripts/not_regular.txt"]);
}

/// `sh -c 'ulimit -f 0; exec map_grow_file ARGS'`.
fn ulimit_f0(args: &[&std::ffi::OsStr], tmpdir: &std::path::Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -f 0 && exec \"$0\" \"$@\"", PROG.as_str()])
        .args(args)
        .env("TMPDIR", tmpdir);
    cmd
}

#[test]
fn past_ulimit_f_an_error_not_sigxfsz() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    let mut t = Transcript::new(d);
    let f = d.join("f");
    for (shown, args) in [
        ("map_grow_file", vec![]),
        ("map_grow_file [DIR]/f", vec![f.as_os_str()]),
        (
            "map_grow_file --append 3 [DIR]/f",
            vec!["--append".as_ref(), "3".as_ref(), f.as_os_str()],
        ),
    ] {
        let out = run_with(
            &mut t,
            &format!("ulimit -f 0; TMPDIR=[DIR] {shown}"),
            ulimit_f0(&args, d),
            b"",
        );
        assert_eq!(out.status.code(), Some(1));
    }
    std::fs::remove_file(&f).unwrap();
    assert_eq!(
        std::fs::read_dir(d).unwrap().count(),
        0,
        "a temp file was left"
    );
    t.assert_eq(file!["transcripts/ulimit.txt"]);
}

#[test]
fn on_a_full_filesystem_an_error_not_sigbus() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    let m = d.join("m");
    std::fs::create_dir(&m).unwrap();
    let mut t = Transcript::new(d);
    t.comment("each run: a 64 KiB tmpfs mounted at [DIR]/m, full; TMPDIR=[DIR]/m; cd [DIR]/m");
    for args in [vec![], vec!["log"], vec!["--append", "3", "log"]] {
        let Some(mut cmd) = testkit::in_full_tmpfs(&m, 0) else {
            return;
        };
        cmd.arg(PROG.as_str()).args(&args).env("TMPDIR", &m);
        let shown = format!("map_grow_file {}", args.join(" "));
        let out = run_with(&mut t, shown.trim_end(), cmd, b"");
        assert_eq!(out.status.code(), Some(1));
    }
    // The follower, given a file with holes: a load from a hole needs a page, and there is none.
    let Some(mut cmd) = testkit::in_full_tmpfs(&m, 0) else {
        return;
    };
    let script = r#"truncate -s 1M sparse && exec "$0" "$@""#;
    cmd.args(["sh", "-c", script, PROG.as_str(), "--follow", "sparse"])
        .env("TMPDIR", &m);
    let out = run_with(
        &mut t,
        "truncate -s 1M sparse; echo 'appended record 3: x' | map_grow_file --follow sparse",
        cmd,
        b"appended record 3: x\n",
    );
    assert_eq!(out.status.code(), Some(1));
    t.assert_eq(file!["transcripts/full_tmpfs.txt"]);
}

#[test]
fn sigkill_at_any_moment_leaves_nothing_in_tmpdir() {
    testkit::assert_sigkill_leaves_no_temp_file(PROG.as_str(), 25, env!("CARGO_TARGET_TMPDIR"));
}

#[test]
fn another_users_file_is_not_truncated() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.path().join("theirs");
    if !testkit::another_users_file(&path, b"keep") {
        return;
    }
    let out = testkit::run(
        PROG.as_str(),
        &["--append".as_ref(), "1".as_ref(), path.as_os_str()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.ends_with(": owned by uid 65534, not by you; not truncated\n"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"keep");
}
