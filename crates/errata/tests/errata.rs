//! Every probe of `errata` prints what `tests/transcripts/ID.txt` holds, and every entry of the
//! errata chapter has a probe that its "See it" names.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use testkit::{Bin, Transcript};

const ERRATA: Bin = Bin::new("errata", env!("CARGO_BIN_EXE_errata"));

/// The ids `errata --list` prints.
fn ids() -> Vec<String> {
    let list = testkit::run_ok(ERRATA, &["--list".as_ref()]);
    list.lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn every_probe_prints_its_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let transcripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut failed = Vec::new();
    for id in ids() {
        // The one probe that reads the notes, which are not part of the repository.
        if id == "002-6" && testkit::seeds_dir().is_none() {
            testkit::skip(
                "errata 002-6",
                "the notes are not in ../shared/seeds ($SHM_SEEDS)",
            );
            continue;
        }
        let mut t = Transcript::new(dir.path());
        t.run(ERRATA, &[id.as_ref()]);
        let file = transcripts.join(format!("{id}.txt"));
        let expected = std::fs::read_to_string(&file).unwrap_or_default();
        if t.text() != expected {
            if std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite") {
                std::fs::write(&file, t.text()).unwrap();
            } else {
                failed.push(format!(
                    "--- {id}: expected ({})\n{expected}--- got\n{}",
                    file.display(),
                    t.text()
                ));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Every `**ID**` entry of errata.md has a probe, its "See it" runs `errata ID`, and every probe
/// is an entry of the chapter.
#[test]
fn every_entry_has_a_probe() {
    let chapter =
        std::fs::read_to_string(testkit::workspace_root().join("docs/src/errata.md")).unwrap();
    let probes: BTreeSet<String> = ids().into_iter().collect();
    let mut entries = BTreeSet::new();
    let mut missing = Vec::new();
    for block in chapter.split("\n**").skip(1) {
        let Some((id, _)) = block.split_once("**") else {
            continue;
        };
        if !id.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        entries.insert(id.to_string());
        let entry = block.split("\n\n**").next().unwrap_or(block);
        if !entry.contains(&format!("errata {id}")) {
            missing.push(format!("{id}: its \"See it\" does not run `errata {id}`"));
        }
        if !probes.contains(id) {
            missing.push(format!("{id}: no probe (`errata --list`)"));
        }
    }
    // The probes of the C bugs table (c-1, ...) are named in its rows, not as entries.
    for id in probes.difference(&entries) {
        if id.starts_with("c-") {
            if !chapter.contains(&format!("errata {id}")) {
                missing.push(format!(
                    "{id}: no row of the C bugs table runs `errata {id}`"
                ));
            }
            continue;
        }
        missing.push(format!("{id}: a probe with no entry in errata.md"));
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
