//! map_grow_file run for real: the classic growth page by page (checked against the page size
//! of this machine, and on 4 KiB pages against the transcript the chapter includes), and the
//! writer/follower pair.

use std::process::{Command, Stdio};

use common::testkit::{self, Transcript};
use snapbox::file;

const PROG: &str = env!("CARGO_BIN_EXE_map_grow_file");

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
    let stdout = testkit::run_ok_in_tmpdir(PROG, dir.path());
    assert_eq!(stdout, classic_output());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the temp file was left behind"
    );
    if common::page_size() == 4096 {
        let mut t = Transcript::new(dir.path());
        t.run(PROG, &[]);
        t.assert_eq(file!["transcripts/classic.txt"]);
    }
}

#[test]
fn classic_growth_of_a_named_file_keeps_it() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.path().join("test.data");
    assert_eq!(testkit::run_ok(PROG, &[path.as_os_str()]), classic_output());
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
    let mut writer = Command::new(PROG)
        .arg("--append")
        .arg("12")
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let follower = Command::new(PROG)
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
        PROG,
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
    t.run(PROG, &["--append".as_ref(), "3".as_ref()]);
    t.run(PROG, &["--append".as_ref(), "0".as_ref(), log.as_os_str()]);
    t.run(
        PROG,
        &["--append".as_ref(), "lots".as_ref(), log.as_os_str()],
    );
    t.run(
        PROG,
        &[
            "--append".as_ref(),
            "3".as_ref(),
            "--follow".as_ref(),
            log.as_os_str(),
        ],
    );
    t.run(PROG, &[dir.path().join("no/such/dir/f").as_os_str()]);
    t.run(
        PROG,
        &["--follow".as_ref(), dir.path().join("missing").as_os_str()],
    );
    t.assert_eq(file!["transcripts/errors.txt"]);
}

#[test]
fn a_signal_at_any_moment_leaves_no_temp_file() {
    testkit::assert_signals_leave_no_temp_file(PROG, env!("CARGO_TARGET_TMPDIR"));
}
