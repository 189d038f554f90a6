//! ipc_bench --quick run for real: every transport works and delivers every byte (the
//! figures themselves are not checked: speed belongs in `make bench`, not in a test).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::process::Command;

use testkit::Bin;

const PROG: Bin = Bin::new("ipc_bench", env!("CARGO_BIN_EXE_ipc_bench"));

const THROUGHPUT_ROWS: [&str; 9] = [
    "memcpy, one thread (limit)",
    "pipe",
    "unix socket",
    "file (pwrite/pread)",
    "mapped file, futex",
    "POSIX shm, futex",
    "System V shm, futex",
    "POSIX shm, spin then futex",
    "POSIX shm, spin (busy loop)",
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
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let throughput = json["throughput"].as_array().unwrap();
    let latency = json["latency"].as_array().unwrap();
    assert_eq!(throughput.len(), THROUGHPUT_ROWS.len() * 3);
    assert_eq!(latency.len(), LATENCY_ROWS.len() * 2);
    for item in throughput {
        assert!(
            item["gib_per_s"]["median"].as_f64().unwrap() > 0.0,
            "{item}"
        );
        assert!(item["msg_bytes"].as_u64().unwrap() >= 4096);
    }
    for item in latency {
        assert!(
            item["ns_per_round_trip"]["min"].as_f64().unwrap() > 0.0,
            "{item}"
        );
    }
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

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [&["--repeats", "0"][..], &["--bytes", "lots"], &["--fast"]] {
        let out = Command::new(PROG).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("error: "),
            "{args:?}"
        );
    }
}
