//! filesize_vs_mapsize run for real. Every run's accesses are checked against the rule the
//! chapter states, for this machine's page size; on 4 KiB pages the whole output is also
//! compared with the transcripts in `tests/transcripts/`, which `docs/src/filesize_vs_mapsize.md`
//! includes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;

use common::testkit::{self, Transcript};
use snapbox::file;

const PROG: &str = env!("CARGO_BIN_EXE_filesize_vs_mapsize");

/// What an access at `offset` must do: a byte of a page the file covers reads 0; a page of
/// the mapping that the file does not reach raises SIGBUS; past the mapping, SIGSEGV.
fn rule(offset: u64, filesize: u64, mapsize: u64) -> String {
    let ps = common::page_size() as u64;
    if offset >= mapsize.div_ceil(ps) * ps {
        "SIGSEGV".into()
    } else if offset >= filesize.div_ceil(ps) * ps {
        "SIGBUS".into()
    } else {
        "0".into()
    }
}

/// Checks every `ptr[N] = X` line of every `filesize = F, mapsize = M` section against
/// [`rule`], and that the offsets are the C program's: first and last byte of each page up to
/// max(F, M), then the first byte after. Returns how many sections it checked.
fn check_rule(output: &str) -> usize {
    let ps = common::page_size() as u64;
    let mut sections = 0;
    let mut current: Option<(u64, u64, Vec<u64>)> = None;
    let mut finish = |section: Option<(u64, u64, Vec<u64>)>| {
        if let Some((f, m, seen)) = section {
            let pages = f.max(m).div_ceil(ps);
            let mut want: Vec<u64> = (0..pages).flat_map(|p| [p * ps, p * ps + ps - 1]).collect();
            want.push(pages * ps);
            assert_eq!(seen, want, "offsets probed for filesize {f}, mapsize {m}");
            sections += 1;
        }
    };
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("filesize = ") {
            let (f, m) = rest.split_once(", mapsize = ").unwrap();
            finish(current.take());
            current = Some((f.parse().unwrap(), m.parse().unwrap(), Vec::new()));
        } else if let Some(rest) = line.strip_prefix("ptr[") {
            let (offset, rest) = rest.split_once("] = ").unwrap();
            let outcome = rest.split_whitespace().next().unwrap();
            let (f, m, seen) = current.as_mut().expect("a ptr line before any section");
            let offset: u64 = offset.parse().unwrap();
            assert_eq!(
                outcome,
                rule(offset, *f, *m),
                "ptr[{offset}] with filesize {f}, mapsize {m}"
            );
            seen.push(offset);
        }
    }
    finish(current.take());
    sections
}

fn on_4k_pages() -> bool {
    let four_k = common::page_size() == 4096;
    if !four_k {
        eprintln!(
            "note: pages are {} bytes here: outputs checked against the rule only",
            common::page_size()
        );
    }
    four_k
}

#[test]
fn the_notes_two_cases_leave_no_temp_file() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let stdout = testkit::run_ok_in_tmpdir(PROG, dir.path());
    assert_eq!(check_rule(&stdout), 2);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the temp file was left behind"
    );
    if on_4k_pages() {
        let mut t = Transcript::new(dir.path());
        t.run(PROG, &[]);
        t.assert_eq(file!["transcripts/notes.txt"]);
    }
}

#[test]
fn edge_sizes_follow_the_rule() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.path().join("f");
    let ps = common::page_size() as u64;
    let pairs = [
        (2 * ps, 2 * ps), // both exact page multiples, equal
        (ps, 3 * ps),     // exact multiples, mapping larger
        (3 * ps, ps),     // exact multiples, file larger
        (0, 100),         // empty file
        (100, 1),         // mapping of 1 byte: still a whole page
        (ps + 1, ps),     // one byte into a second file page, not mapped
        (ps, ps + 1),     // one byte into a second mapped page, no file page
    ];
    let mut t = Transcript::new(dir.path());
    for (f, m) in pairs {
        let out = t.run(
            PROG,
            &[
                path.as_os_str(),
                f.to_string().as_ref(),
                m.to_string().as_ref(),
            ],
        );
        assert!(
            out.status.success(),
            "{f} {m}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(check_rule(&String::from_utf8(out.stdout).unwrap()), 1);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            f,
            "the mapping changed the file's size"
        );
    }
    if on_4k_pages() {
        t.assert_eq(file!["transcripts/edges.txt"]);
    }
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let f = dir.path().join("f");
    let f = f.as_os_str();
    let mut t = Transcript::new(dir.path());
    let args = |a: &'static str, b: &'static str| [f, OsStr::new(a), OsStr::new(b)];
    t.run(PROG, &args("5000", "many"));
    t.run(PROG, &args("-1", "5000"));
    t.run(PROG, &args("5000", "0"));
    t.run(PROG, &args("99999999999", "5000"));
    t.run(PROG, &[f, OsStr::new("5000")]);
    t.run(
        PROG,
        &[
            dir.path().join("no/such/dir/f").as_os_str(),
            "1".as_ref(),
            "1".as_ref(),
        ],
    );
    t.run(PROG, &[dir.path().as_os_str(), "1".as_ref(), "1".as_ref()]);
    t.assert_eq(file!["transcripts/errors.txt"]);
}

#[test]
fn a_signal_at_any_moment_leaves_no_temp_file() {
    testkit::assert_signals_leave_no_temp_file(PROG, env!("CARGO_TARGET_TMPDIR"));
}
