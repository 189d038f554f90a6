//! filesize_vs_mapsize run for real. Every run's accesses are checked against the rule the
//! chapter states, for this machine's page size; on 4 KiB pages the whole output is also
//! compared with the transcripts in `tests/transcripts/`, which `docs/src/filesize_vs_mapsize.md`
//! includes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};

use snapbox::file;
use testkit::{Bin, Transcript};

const PROG: Bin = Bin::new(
    "filesize_vs_mapsize",
    env!("CARGO_BIN_EXE_filesize_vs_mapsize"),
);

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
    let stdout = testkit::run_ok_in_tmpdir(PROG.as_str(), dir.path());
    assert_eq!(check_rule(&stdout), 2);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the temp file was left behind"
    );
    if on_4k_pages() {
        let mut t = Transcript::new(dir.path());
        t.run(PROG.as_str(), &[]);
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
            PROG.as_str(),
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

/// A transcript without the Rust's pictures of the pages (the blank line, then `page:` to
/// `(# file bytes ...)`), which the C does not draw.
fn without_pictures(transcript: &str) -> String {
    let mut out = Vec::new();
    let mut in_picture = false;
    for line in transcript.lines() {
        if line.starts_with("page:") {
            in_picture = true;
            out.pop(); // the blank line before it
        }
        if !in_picture {
            out.push(line);
        }
        if line.starts_with("(# file bytes") {
            in_picture = false;
        }
    }
    out.iter().map(|l| format!("{l}\n")).collect()
}

/// The project's C program (crates/filesize_vs_mapsize/c/) makes the same accesses with the
/// same outcomes, line for line: the Rust's transcripts less their pictures of the pages,
/// which the C does not draw. The notes' two cases in a temp file, and the edge sizes.
#[test]
fn c_program_makes_the_same_accesses() {
    if !on_4k_pages() {
        return;
    }
    let c = testkit::c_program(env!("CARGO_TARGET_TMPDIR"), "filesize_vs_mapsize");
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    let out = t.run(&c, &[]);
    assert!(out.status.success());
    let notes = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/transcripts/notes.txt"
    ))
    .unwrap();
    assert_eq!(t.text(), without_pictures(&notes));

    let path = dir.path().join("f");
    let mut t = Transcript::new(dir.path());
    for (f, m) in [
        (8192, 8192),
        (4096, 12288),
        (12288, 4096),
        (0, 100),
        (100, 1),
        (4097, 4096),
        (4096, 4097),
    ] {
        t.run(
            &c,
            &[
                path.as_os_str(),
                f.to_string().as_ref(),
                m.to_string().as_ref(),
            ],
        );
    }
    let edges = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/transcripts/edges.txt"
    ))
    .unwrap();
    assert_eq!(t.text(), without_pictures(&edges));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "the C left a temp file (or lost f)"
    );
}

/// The C program on bad input: one line each, its own usage lines (exit status 2), no
/// symlink followed.
#[test]
fn c_bad_input_is_one_line_and_exit_status() {
    let c = testkit::c_program(env!("CARGO_TARGET_TMPDIR"), "filesize_vs_mapsize");
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    testkit::plant_hostile_names(d);
    let p = |name: &str| d.join(name).into_os_string();
    let mut t = Transcript::new(d);
    t.run(&c, &[&p("f")]);
    t.run(&c, &[&p("f"), "-1".as_ref(), "100".as_ref()]);
    t.run(&c, &[&p("f"), "100".as_ref(), "0".as_ref()]);
    t.run(&c, &[&p("f"), "ten".as_ref(), "100".as_ref()]);
    t.run(&c, &[&p("f"), "100".as_ref(), "1000000".as_ref()]);
    t.run(&c, &[&p("link"), "100".as_ref(), "100".as_ref()]);
    t.run(&c, &[d.as_os_str(), "100".as_ref(), "100".as_ref()]);
    t.run(&c, &["/dev/null".as_ref(), "100".as_ref(), "100".as_ref()]);
    t.assert_eq(file!["transcripts/errors_c.txt"]);
    testkit::assert_victim_untouched(d);
}

#[test]
fn bad_input_is_one_line_and_exit_status() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let f = dir.path().join("f");
    let f = f.as_os_str();
    let mut t = Transcript::new(dir.path());
    let args = |a: &'static str, b: &'static str| [f, OsStr::new(a), OsStr::new(b)];
    t.run(PROG.as_str(), &args("5000", "many"));
    t.run(PROG.as_str(), &args("-1", "5000"));
    t.run(PROG.as_str(), &args("5000", "0"));
    t.run(PROG.as_str(), &args("99999999999", "5000"));
    t.run(PROG.as_str(), &[f, OsStr::new("5000")]);
    t.run(
        PROG.as_str(),
        &[
            dir.path().join("no/such/dir/f").as_os_str(),
            "1".as_ref(),
            "1".as_ref(),
        ],
    );
    t.run(
        PROG.as_str(),
        &[dir.path().as_os_str(), "1".as_ref(), "1".as_ref()],
    );
    t.assert_eq(file!["transcripts/errors.txt"]);
}

#[test]
fn a_signal_at_any_moment_leaves_no_temp_file() {
    testkit::assert_signals_leave_no_temp_file(PROG.as_str(), env!("CARGO_TARGET_TMPDIR"));
}

/// `cmd`, recorded in `t` under the comment `shown` (the real command runs through a wrapper).
fn run_shown(t: &mut Transcript, shown: &str, cmd: &mut Command) -> Output {
    t.comment(shown);
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    t.output(&out);
    out
}

#[test]
fn the_largest_sizes_probe_inside_the_reservation_and_one_more_is_refused() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.path().join("f");
    let max = 63 * common::page_size() as u64;
    // 63 pages mapped, and the file one byte short of them, then 63 pages of file, 1 byte mapped:
    // the last probe is the first byte past the last page, inside the PROT_NONE reservation.
    for (f, m) in [(max - 1, max), (max, 1), (0, max)] {
        let (fs, ms) = (f.to_string(), m.to_string());
        let out = testkit::run_ok(PROG.as_str(), &[path.as_os_str(), fs.as_ref(), ms.as_ref()]);
        assert_eq!(check_rule(&out), 1, "{f} {m}");
    }
    let mut t = Transcript::new(dir.path());
    let over = (max + 1).to_string();
    t.run(
        PROG.as_str(),
        &[path.as_os_str(), "1".as_ref(), over.as_ref()],
    );
    t.run(
        PROG.as_str(),
        &[path.as_os_str(), over.as_ref(), "1".as_ref()],
    );
    t.run(
        PROG.as_str(),
        &[
            path.as_os_str(),
            u64::MAX.to_string().as_ref(),
            "1".as_ref(),
        ],
    );
    if on_4k_pages() {
        t.assert_eq(file!["transcripts/extremes.txt"]);
    }
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
        // Killed after 30 s: an open of a FIFO that blocks fails the test instead of hanging it.
        let out = run_shown(
            &mut t,
            &format!("filesize_vs_mapsize {p} 5000 15000"),
            Command::new("timeout")
                .args(["-s", "KILL", "30", PROG.as_str()])
                .arg(&path)
                .args(["5000", "15000"]),
        );
        assert_eq!(out.status.code(), Some(1));
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    t.assert_eq(file!["transcripts/not_regular.txt"]);
}

#[test]
fn past_ulimit_f_an_error_not_sigxfsz() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let d = dir.path();
    let f = d.join("f");
    let mut t = Transcript::new(d);
    for (shown, args) in [
        ("filesize_vs_mapsize", vec![]),
        (
            "filesize_vs_mapsize [DIR]/f 5000 15000",
            vec![f.as_os_str(), "5000".as_ref(), "15000".as_ref()],
        ),
    ] {
        let out = run_shown(
            &mut t,
            &format!("ulimit -f 0; TMPDIR=[DIR] {shown}"),
            Command::new("sh")
                .args(["-c", "ulimit -f 0 && exec \"$0\" \"$@\"", PROG.as_str()])
                .args(args)
                .env("TMPDIR", d),
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
fn on_a_full_filesystem_an_error_not_a_sigbus_that_passes_for_the_lesson() {
    // A 64 KiB tmpfs with one page free: the write of the file's last byte takes it, and the
    // pages before it cannot be had. Without a reservation a probe of the file's first page
    // raises SIGBUS, and the output reads like the lesson's "past the file".
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let m = dir.path().join("m");
    std::fs::create_dir(&m).unwrap();
    let mut t = Transcript::new(dir.path());
    t.comment("each run: a 64 KiB tmpfs mounted at [DIR]/m, all but 4096 bytes used; TMPDIR=[DIR]/m; cd [DIR]/m");
    for args in [vec![], vec!["f", "5000", "15000"]] {
        let Some(mut full) = testkit::in_full_tmpfs(&m, 4096) else {
            return;
        };
        let out = run_shown(
            &mut t,
            format!("filesize_vs_mapsize {}", args.join(" ")).trim_end(),
            full.arg(PROG.as_str()).args(&args).env("TMPDIR", &m),
        );
        assert_eq!(out.status.code(), Some(1));
    }
    t.assert_eq(file!["transcripts/full_tmpfs.txt"]);
}

#[test]
fn sigkill_at_any_moment_leaves_nothing_in_tmpdir() {
    testkit::assert_sigkill_leaves_no_temp_file(PROG.as_str(), 36, env!("CARGO_TARGET_TMPDIR"));
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
        &[path.as_os_str(), "1".as_ref(), "1".as_ref()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.ends_with(": owned by uid 65534, not by you; not truncated\n"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"keep");
}

/// The book's figures of chapter 6 are this program's `--svg` output: a mapping larger than
/// the file, smaller, and of the same size. `SNAPSHOTS=overwrite` rewrites them. They are
/// drawn for 4 KiB pages, and the figure states the page size: elsewhere the test is skipped.
#[test]
fn the_books_figures_are_the_programs_svg_output() {
    if common::page_size() != 4096 {
        testkit::skip_this("the book's figures are drawn for 4 KiB pages");
        return;
    }
    // The crate's own program, whatever SHM_EXERCISE_BIN_DIR says: the figures are its output.
    let prog = env!("CARGO_BIN_EXE_filesize_vs_mapsize");
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let figures = testkit::workspace_root().join("docs/src/figures");
    let overwrite = std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite");
    let mut differ = Vec::new();
    for (name, filesize, mapsize) in [
        ("larger", "5000", "15000"),
        ("smaller", "15000", "5000"),
        ("equal", "8192", "8192"),
    ] {
        let svg = dir.path().join(format!("{name}.svg"));
        let out = Command::new(prog)
            .arg("--svg")
            .arg(&svg)
            .arg(dir.path().join("f"))
            .args([filesize, mapsize])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let got = std::fs::read_to_string(&svg).unwrap();
        let book = figures.join(format!("filesize_vs_mapsize_{name}.svg"));
        let want = std::fs::read_to_string(&book).unwrap_or_default();
        if want == got {
            continue;
        }
        if overwrite {
            std::fs::write(&book, &got).unwrap();
            eprintln!("rewrote {}", book.display());
            continue;
        }
        let line = want
            .lines()
            .zip(got.lines())
            .position(|(w, g)| w != g)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        differ.push(format!(
            "{}: differs from line {} on:\n  book:    {}\n  program: {}",
            book.display(),
            line + 1,
            want.lines().nth(line).unwrap_or("(end of file)"),
            got.lines().nth(line).unwrap_or("(end of file)"),
        ));
    }
    assert!(
        differ.is_empty(),
        "the book's figures are not the program's output (SNAPSHOTS=overwrite rewrites \
         them):\n{}",
        differ.join("\n")
    );
}

/// Without arguments, `--svg` draws the notes' two cases, one below the other.
#[test]
fn svg_of_the_notes_two_cases() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let svg = dir.path().join("notes.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_filesize_vs_mapsize"))
        .arg("--svg")
        .arg(&svg)
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&svg).unwrap();
    let ps = common::page_size();
    for title in [
        format!("filesize = 5000, mapsize = 15000, pages of {ps} bytes"),
        format!("filesize = 15000, mapsize = 5000, pages of {ps} bytes"),
    ] {
        assert_eq!(text.matches(&title).count(), 1, "{title} in {text}");
    }
    assert!(
        text.starts_with("<svg ") && text.ends_with("</svg>\n"),
        "{text}"
    );
    // Owner-writable, not world-writable, as the data file.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&svg).unwrap().permissions());
    assert_eq!(mode & 0o022, 0, "{mode:o}");
}

/// `--svg` at a symlink, a FIFO, a directory, in a missing directory: one line, exit 1, and
/// nothing written through.
#[test]
fn svg_refuses_what_is_not_a_regular_file() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    testkit::plant_hostile_names(dir.path());
    let prog = env!("CARGO_BIN_EXE_filesize_vs_mapsize");
    for name in ["link", "fifo", ".", "no/such/dir.svg"] {
        let out = Command::new("timeout")
            .args(["-s", "KILL", "30", prog, "--svg"])
            .arg(dir.path().join(name))
            .arg(dir.path().join("f"))
            .args(["100", "100"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "--svg {name}: {err}");
        assert!(
            err.starts_with("filesize_vs_mapsize: ") && err.lines().count() == 1,
            "{err}"
        );
    }
    testkit::assert_victim_untouched(dir.path());
}
