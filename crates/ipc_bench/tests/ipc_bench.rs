//! ipc_bench --quick run for real: every transport works and delivers every byte (the
//! figures themselves are not checked: speed belongs in `make bench`, not in a test); each
//! figure is a line as it is measured; the chart only when asked for; the JSON; the options'
//! errors.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use snapbox::file;
use testkit::{Bin, Transcript};

const PROG: Bin = Bin::new("ipc_bench", env!("CARGO_BIN_EXE_ipc_bench"));

const THROUGHPUT_ROWS: [&str; 11] = [
    "memcpy, one thread (limit)",
    "pipe",
    "unix socket",
    "file (pwrite/pread)",
    "mapped file, futex",
    "POSIX shm, futex",
    "System V shm, futex",
    "memfd, futex",
    "POSIX shm, spin then futex",
    "POSIX shm, spin (busy loop)",
    "POSIX shm, zero copy (loan)",
];
/// The rings whose sides may sleep: the wake-ups table and the idle figures.
const SLEEPING_ROWS: [&str; 6] = [
    "mapped file, futex",
    "POSIX shm, futex",
    "System V shm, futex",
    "memfd, futex",
    "POSIX shm, spin then futex",
    "POSIX shm, zero copy (loan)",
];
const LATENCY_ROWS: [&str; 6] = [
    "cache-line ping-pong (limit)",
    "pipe",
    "unix socket",
    "POSIX shm, futex",
    "POSIX shm, spin then futex",
    "POSIX shm, spin (busy loop)",
];

fn quick(extra: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let svg = dir.path().join("chart.svg");
    let out = Command::new(PROG)
        .args(["--quick", "--svg"])
        .arg(&svg)
        .args(extra)
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    (out, dir)
}

#[test]
fn quick_run_reports_every_transport_and_draws_the_chart() {
    let (out, dir) = quick(&[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables: Vec<&str> = stdout.split("\n\n").collect();
    let throughput = tables
        .iter()
        .find(|t| t.starts_with("Throughput"))
        .expect("no throughput table");
    let latency = tables
        .iter()
        .find(|t| t.starts_with("Latency"))
        .expect("no latency table");
    for (table, rows) in [
        (throughput, &THROUGHPUT_ROWS[..]),
        (latency, &LATENCY_ROWS[..]),
    ] {
        let names: Vec<&str> = table
            .lines()
            .skip(2)
            .map(|l| l.get(..30).unwrap_or(l).trim_end())
            .collect();
        assert_eq!(names, rows, "rows of:\n{table}");
        for line in table.lines().skip(3) {
            // A ratio to the limit, or "-" where a spinning transport needs a second CPU.
            assert!(
                line.contains('x') || line.ends_with('-'),
                "no ratio to the limit: {line}"
            );
        }
    }
    let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("POSIX shm, futex"));
    // Every region and temp file was unlinked as soon as it was made.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("chart.svg")]);
}

#[test]
fn json_has_every_figure() {
    let (out, _dir) = quick(&["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing but the JSON on stdout (no header, no progress lines), nothing on stderr.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(
        keys(&json),
        [
            "bytes_per_run",
            "idle_cpu_percent",
            "latency",
            "machine",
            "repeats",
            "throughput",
            "wakeups"
        ]
    );
    assert_eq!(json["bytes_per_run"], 16 << 20);
    assert_eq!(json["repeats"], 1);
    assert!(json["machine"].as_str().unwrap().contains(" page "));
    let throughput = json["throughput"].as_array().unwrap();
    let latency = json["latency"].as_array().unwrap();
    assert_eq!(throughput.len(), THROUGHPUT_ROWS.len() * 3);
    assert_eq!(latency.len(), LATENCY_ROWS.len() * 2);
    let names = |items: &[serde_json::Value]| -> Vec<String> {
        let mut names: Vec<String> = items
            .iter()
            .map(|item| item["transport"].as_str().unwrap().to_owned())
            .collect();
        names.dedup();
        names
    };
    assert_eq!(names(throughput), THROUGHPUT_ROWS);
    assert_eq!(names(latency), LATENCY_ROWS);
    let wakeups = json["wakeups"].as_array().unwrap();
    assert_eq!(names(wakeups), SLEEPING_ROWS);
    for item in wakeups {
        assert_eq!(
            keys(item),
            [
                "futex_wakes_per_message",
                "msg_bytes",
                "ratio_to_limit",
                "transport"
            ]
        );
        // No limit row: a wake-up count is no fraction of anything.
        assert!(item["ratio_to_limit"].is_null(), "{item}");
        // Fewer wake-ups than messages: the rings batch them.
        let median = item["futex_wakes_per_message"]["median"].as_f64().unwrap();
        assert!((0.0..1.0).contains(&median), "{item}");
    }
    let idle = json["idle_cpu_percent"].as_array().unwrap();
    assert_eq!(names(idle), SLEEPING_ROWS);
    for item in idle {
        assert_eq!(keys(item), ["reader", "transport", "writer"]);
        // A side that waits sleeps: a few ms of CPU at most in 300 ms, not a spinning 100 %.
        for side in ["reader", "writer"] {
            let pct = item[side].as_f64().unwrap();
            assert!((0.0..20.0).contains(&pct), "{item}");
        }
    }
    for item in throughput {
        assert_eq!(
            keys(item),
            ["gib_per_s", "msg_bytes", "ratio_to_limit", "transport"]
        );
        assert!(
            item["gib_per_s"]["median"].as_f64().unwrap() > 0.0,
            "{item}"
        );
        // The limit was measured: a ratio, not null.
        assert!(item["ratio_to_limit"].as_f64().is_some(), "{item}");
        assert!(item["msg_bytes"].as_u64().unwrap() >= 4096);
    }
    for item in latency {
        assert_eq!(
            keys(item),
            [
                "msg_bytes",
                "ns_per_round_trip",
                "ratio_to_limit",
                "transport"
            ]
        );
        let figures = &item["ns_per_round_trip"];
        let (min, median, max) = (
            figures["min"].as_f64().unwrap(),
            figures["median"].as_f64().unwrap(),
            figures["max"].as_f64().unwrap(),
        );
        assert!(0.0 < min && min <= median && median <= max, "{item}");
    }
}

/// `--only memfd` selects the memfd ring and nothing else (no other name contains it): its
/// throughput and wake-ups beside the memcpy limit, its idle figures, no round trip.
#[test]
fn only_memfd_selects_the_memfd_row() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let out = run_in(
        dir.path(),
        &["--quick", "--only", "memfd", "--bytes", "64KiB", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = |key: &str| -> Vec<String> {
        let mut names: Vec<String> = json[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["transport"].as_str().unwrap().to_owned())
            .collect();
        names.dedup();
        names
    };
    assert_eq!(
        names("throughput"),
        ["memcpy, one thread (limit)", "memfd, futex"]
    );
    assert_eq!(names("wakeups"), ["memfd, futex"]);
    assert_eq!(names("idle_cpu_percent"), ["memfd, futex"]);
    assert!(names("latency").is_empty(), "{}", json["latency"]);
    // A memfd has no name: nothing is left in $TMPDIR.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left {left:?}");
}

/// Runs ipc_bench with `args`, in the working directory `cwd`, with `cwd` as its `$TMPDIR`.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(PROG)
        .args(args)
        .current_dir(cwd)
        .env("TMPDIR", cwd)
        .output()
        .unwrap()
}

/// The plain lines that stand for the progress bar when stdout is not a terminal, one per
/// figure, as each is measured: the transcript has them all, with each figure written
/// `[FIGURE]`; and the header and the last line. (The tables are checked above.)
#[test]
fn each_figure_is_a_line_as_it_is_measured_when_piped() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    // `PIPE`: --only ignores case.
    let out = run_in(
        dir.path(),
        &["--quick", "--only", "PIPE", "--bytes", "64KiB"],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let blocks: Vec<&str> = stdout.split("\n\n").collect();
    assert_eq!(
        blocks.len(),
        5,
        "header, lines, two tables, took:\n{stdout}"
    );
    let mut text = String::new();
    for (i, line) in blocks[0].lines().enumerate() {
        match line.strip_prefix("ipc_bench on ") {
            Some(machine) if i == 0 => {
                assert!(machine.contains(" page "), "{line}");
                text.push_str("ipc_bench on [MACHINE]\n");
            }
            // A machine with one CPU says so; no row of this run spins.
            _ if line == "one CPU only: the spinning transports are not measured (-)" => {}
            _ => text.push_str(&format!("{line}\n")),
        }
    }
    text.push('\n');
    for line in blocks[1].lines() {
        let mut words = line.rsplitn(3, ' ');
        let (unit, figure, rest) = (
            words.next().unwrap(),
            words.next().unwrap(),
            words.next().unwrap(),
        );
        // (0.00 on a machine busy enough: the figure is printed to two decimals)
        let figure: f64 = figure.parse().unwrap();
        assert!(figure.is_finite() && figure >= 0.0, "{line}");
        text.push_str(&format!("{rest} [FIGURE] {unit}\n"));
    }
    text.push('\n');
    let took = blocks[4].trim_end();
    let secs = took
        .strip_prefix("took ")
        .unwrap()
        .strip_suffix(" s")
        .unwrap();
    assert!(secs.parse::<f64>().is_ok(), "{took}");
    text.push_str("took [SECONDS] s\n");
    snapbox::Assert::new()
        .action_env("SNAPSHOTS")
        .normalize_paths(false)
        .eq(text, file!["transcripts/quick_lines.txt"]);
}

/// No `--svg`, no chart: nothing is written where it runs (it once made `./target/` in any
/// directory it ran from, `--json` or not).
#[test]
fn no_chart_and_no_file_unless_svg_is_given() {
    for json in [false, true] {
        let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
        let mut args = vec!["--quick", "--only", "pipe", "--bytes", "4KiB"];
        if json {
            args.push("--json");
        }
        let out = run_in(dir.path(), &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        if !json {
            assert!(
                stdout.lines().last().unwrap().starts_with("took "),
                "{stdout}"
            );
            assert!(!stdout.contains("chart"), "{stdout}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert!(left.is_empty(), "--json {json}: left {left:?}");
    }
    // With it, the chart and its path on the last line.
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let out = run_in(
        dir.path(),
        &[
            "--quick", "--only", "pipe", "--bytes", "4KiB", "--svg", "c.svg",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("took ") && last.ends_with(" s; chart: c.svg"),
        "{stdout}"
    );
    assert!(
        std::fs::read_to_string(dir.path().join("c.svg"))
            .unwrap()
            .starts_with("<svg")
    );
}

/// `--bytes` takes the sizes as the help and the header print them, and a count agrees
/// with its noun: `1 measured run`, `2 measured runs`, `1 CPU`.
#[test]
fn bytes_as_printed_and_counts_that_agree() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    for (bytes, repeats, header) in [
        (
            "64KiB",
            "1",
            "64 KiB per throughput run, 1 measured run after a warm-up",
        ),
        (
            "2 MiB",
            "2",
            "2 MiB per throughput run, 2 measured runs after a warm-up",
        ),
        (
            "1000",
            "1",
            "1000 B per throughput run, 1 measured run after a warm-up",
        ),
    ] {
        let out = run_in(
            dir.path(),
            &[
                "--quick",
                "--only",
                "pipe",
                "--bytes",
                bytes,
                "--repeats",
                repeats,
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        let second = stdout.lines().nth(1).unwrap();
        assert_eq!(
            second,
            format!(
                "{header}; every byte checksummed by the receiver (--quick: figures not meaningful)"
            )
        );
        let machine = stdout.lines().next().unwrap();
        assert!(
            machine.starts_with("ipc_bench on 1 CPU (") || machine.contains(" CPUs ("),
            "{machine}"
        );
        // repeats + 1 rounds of 8 figures: memcpy and pipe at 3 sizes, pipe at 2.
        let lines = stdout.lines().filter(|l| l.starts_with('[')).count();
        assert_eq!(
            lines,
            8 * (repeats.parse::<usize>().unwrap() + 1),
            "{stdout}"
        );
    }
}

/// Every error of the options: `error: ...` naming the argument, exit status 2, nothing run.
#[test]
fn bad_options_are_usage_errors() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let mut t = Transcript::new(dir.path());
    for args in [
        &["--only", "nosuch"][..],
        &["--only", "pipe", "--only", "nosuch"],
        &["--bytes", "lots"],
        &["--bytes", "1.5GiB"],
        &["--bytes", "1GB"],
        &["--bytes", "99999999999GiB"],
        &["--repeats", "0"],
        &["--fast"],
    ] {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let out = t.run(PROG.path(), &args);
        assert_eq!(out.status.code(), Some(2));
    }
    t.assert_eq(file!["transcripts/usage.txt"]);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left {left:?}");
}

#[test]
fn a_changed_byte_is_caught() {
    let (out, _dir) = quick(&["--corrupt"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ipc_bench: pipe (4 KiB messages): checksum mismatch: the bytes received are not the bytes sent\n"
    );
}
