//! exercises: the porting exercises' checker (`make exercises`, or `cargo run -p exercises --`).
//!
//! Each exercise is a crate under `exercises/` whose `src/main.rs` is a skeleton: the steps of
//! one example program, each a `todo!()` under the C line it ports. You fill them in; this
//! program builds yours and runs the real example's own tests against it (the same
//! transcripts, the same bad input, the same pairing with the C program), by putting your
//! binary, under the example's name, in the directory `$SHM_EXERCISE_BIN_DIR` that the tests'
//! `testkit::Bin` looks in first. Passing an exercise means your port does what the example
//! does.
//!
//! ```text
//! exercises                 list them, then check them in order and stop at the first failing
//! exercises check N         check exercise N only
//! exercises hint N          the next hint for N (the first names the call; the last nearly answers)
//! exercises solution N      where the finished program is, and a diff of yours against it
//! exercises reset N         put the skeleton back (your file is kept beside it as main.rs.orig)
//! exercises watch           check again on every save
//! exercises verify          for `make test`: every skeleton fails every test, every solution passes
//! ```
//!
//! Progress (which exercises passed, which hints you have seen) is kept in
//! `.exercises-progress` at the workspace root, a file of yours that git ignores.

mod list;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use clap::{Parser, Subcommand};
use list::{EXERCISES, Exercise};

/// The porting exercises: check your port with the real example's tests.
#[derive(Parser, Debug)]
#[command(name = "exercises", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List the exercises and their state
    List,
    /// Check exercise N
    Check { n: usize },
    /// Show the next hint for exercise N (or hint K)
    Hint { n: usize, k: Option<usize> },
    /// Where the finished program is, and a diff of yours against it
    Solution { n: usize },
    /// Put exercise N's skeleton back (your file is kept as main.rs.orig)
    Reset { n: usize },
    /// Check the current exercise again on every save (Ctrl-C to stop)
    Watch,
    /// For `make test`: every skeleton fails each of its tests, every solution passes them
    Verify,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        None => run_all(),
        Some(Cmd::List) => {
            list();
            Ok(true)
        }
        Some(Cmd::Check { n }) => exercise(n).and_then(|ex| check(ex, Mode::Learner)),
        Some(Cmd::Hint { n, k }) => exercise(n).and_then(|ex| hint(ex, k)),
        Some(Cmd::Solution { n }) => exercise(n).and_then(solution),
        Some(Cmd::Reset { n }) => exercise(n).and_then(reset),
        Some(Cmd::Watch) => watch(),
        Some(Cmd::Verify) => verify(),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(msg) => {
            eprintln!("exercises: {msg}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, String>;

fn exercise(n: usize) -> Result<&'static Exercise> {
    EXERCISES.iter().find(|ex| ex.id == n).ok_or_else(|| {
        format!(
            "no exercise {n}: they are numbered 1 to {}",
            EXERCISES.len()
        )
    })
}

/// The workspace root: where Cargo.toml and exercises/ are.
fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

// ---------------------------------------------------------------------------------------------
// Progress: `.exercises-progress`, one line per fact: `done DIR` or `hint DIR K`.

fn progress_file() -> PathBuf {
    root().join(".exercises-progress")
}

fn progress() -> BTreeSet<String> {
    std::fs::read_to_string(progress_file())
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn set_progress(line: String, present: bool) {
    let mut lines = progress();
    let changed = if present {
        lines.insert(line)
    } else {
        lines.remove(&line)
    };
    if changed {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        if let Err(err) = std::fs::write(progress_file(), text) {
            eprintln!(
                "exercises: cannot record progress in {}: {err}",
                progress_file().display()
            );
        }
    }
}

fn is_done(ex: &Exercise) -> bool {
    progress().contains(&format!("done {}", ex.dir))
}

/// Whether the skeleton is as git has it: nothing written yet.
fn untouched(ex: &Exercise) -> bool {
    Command::new("git")
        .args(["diff", "--quiet", "HEAD", "--"])
        .arg(ex.path())
        .current_dir(root())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn state(ex: &Exercise) -> &'static str {
    if is_done(ex) {
        "done"
    } else if untouched(ex) {
        "not started"
    } else {
        "in progress"
    }
}

fn list() {
    println!("Porting exercises (exercises/, in the book's order):");
    for ex in EXERCISES {
        println!("  {:>2}. {:<12} {}", ex.id, state(ex), ex.title);
    }
    println!("(done: passed its last check; in progress: changed, not passing yet)");
}

// ---------------------------------------------------------------------------------------------
// Building and checking.

/// Whose programs the example's tests run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// The learner's port, from the exercise crate.
    Learner,
    /// The finished example (for `verify`).
    Solution,
}

/// `cargo build` of one binary of the workspace (their names are unique); returns its path.
/// Compiler errors go to the terminal as cargo renders them.
fn build(bin: &str, quiet: bool) -> Result<Option<PathBuf>> {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
    cargo
        .args(["build", "--message-format=json-render-diagnostics"])
        .arg("--bin")
        .arg(bin)
        .current_dir(root())
        .stdout(Stdio::piped());
    if quiet {
        cargo.arg("--quiet").stderr(Stdio::null());
    }
    let out = cargo
        .output()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    if !out.status.success() {
        return Ok(None);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let exe = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact")
        .filter_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .find(|exe| exe.file_name().is_some_and(|f| f == bin));
    exe.map(Some)
        .ok_or_else(|| format!("cargo built {bin} but named no executable for it"))
}

/// The directory the example's tests look in: the program built for `mode`, under the
/// example binary's name. Returns `None` when it does not compile.
fn bin_dir(ex: &Exercise, mode: Mode, quiet: bool) -> Result<Option<PathBuf>> {
    let (exercise_bin, real_name) = ex.program;
    let exe = match mode {
        Mode::Learner => build(exercise_bin, quiet)?,
        Mode::Solution => build(real_name, quiet)?,
    };
    let Some(exe) = exe else { return Ok(None) };
    // target/debug/NAME -> target/exercises/<mode>/<dir>/
    let target = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("a built program outside a target directory")?;
    let dir = target
        .join("exercises")
        .join(format!("{mode:?}").to_lowercase())
        .join(ex.dir);
    std::fs::create_dir_all(&dir).map_err(|err| format!("mkdir {}: {err}", dir.display()))?;
    let link = dir.join(real_name);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&exe, &link)
        .map_err(|err| format!("symlink {}: {err}", link.display()))?;
    Ok(Some(dir))
}

/// What one run of the example's tests said about each test.
#[derive(Debug)]
struct Outcome {
    passed: Vec<String>,
    failed: Vec<(String, String)>,
    /// Tests that could not check anything here (no user namespaces, not root), and why:
    /// counted neither as passed nor as failed.
    skipped: Vec<(String, String)>,
}

/// Runs the exercise's tests with the programs in `dir`.
fn run_tests(ex: &Exercise, dir: &Path) -> Result<Outcome> {
    // The tests that skip say so in this file (testkit::skip), one `name: why` per line.
    let skip_log = dir.join("skipped.log");
    let _ = std::fs::remove_file(&skip_log);
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
    cargo
        .args(["test", "--quiet", "--no-fail-fast", "-p", ex.example])
        .args(ex.test_targets.iter().flat_map(|t| ["--test", t]))
        .args(["--", "--exact", "--format", "pretty", "--color", "never"])
        .args(ex.tests)
        .env("SHM_EXERCISE_BIN_DIR", dir)
        .env("SHM_SKIP_LOG", &skip_log)
        .env("RUST_BACKTRACE", "0")
        .env("NO_COLOR", "1")
        .current_dir(root());
    let out = cargo
        .output()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut outcome = Outcome {
        passed: Vec::new(),
        failed: Vec::new(),
        skipped: Vec::new(),
    };
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        if let Some(name) = rest.strip_suffix(" ... ok") {
            outcome.passed.push(name.to_owned());
        } else if let Some(name) = rest.strip_suffix(" ... FAILED") {
            outcome
                .failed
                .push((name.to_owned(), failure_text(&text, name)));
        }
    }
    let skips = std::fs::read_to_string(&skip_log).unwrap_or_default();
    for line in skips.lines() {
        let (name, why) = line.split_once(": ").unwrap_or((line, ""));
        if let Some(at) = outcome.passed.iter().position(|p| p == name) {
            outcome.passed.remove(at);
            outcome.skipped.push((name.to_owned(), why.to_owned()));
        }
    }
    // In the exercise's order (libtest reports them as they end): the first is the simplest.
    let order = |name: &str| ex.tests.iter().position(|t| *t == name);
    outcome.failed.sort_by_key(|(name, _)| order(name));
    let seen = outcome.passed.len() + outcome.failed.len() + outcome.skipped.len();
    if seen != ex.tests.len() {
        return Err(format!(
            "the tests of {} did not run as expected ({seen} of {} reported):\n{}{}",
            ex.example,
            ex.tests.len(),
            text,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(outcome)
}

/// The part of libtest's report about `name`: from `---- name stdout ----` to the next test's.
fn failure_text(report: &str, name: &str) -> String {
    let start = format!("---- {name} stdout ----");
    let Some(at) = report.find(&start) else {
        return String::new();
    };
    let body = &report[at + start.len()..];
    let end = [body.find("\n---- "), body.find("\nfailures:\n")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(body.len());
    body[..end].trim().to_owned()
}

/// Checks one exercise, says what is wrong if anything, records a pass.
fn check(ex: &Exercise, mode: Mode) -> Result<bool> {
    println!("\n== Exercise {}: {} ({})", ex.id, ex.title, ex.source());
    let Some(dir) = bin_dir(ex, mode, false)? else {
        println!(
            "\nYour port does not compile yet: the errors are above. Fix the first one, then run\n\
             `cargo run -p exercises -- check {}` again.",
            ex.id
        );
        return Ok(false);
    };
    let outcome = run_tests(ex, &dir)?;
    if outcome.failed.is_empty() {
        println!(
            "passed: {} of {} tests of the example `{}` ({})",
            outcome.passed.len(),
            ex.tests.len(),
            ex.example,
            ex.test_files()
        );
        for (name, why) in &outcome.skipped {
            println!("skipped here: `{name}`: {why}");
        }
        if mode == Mode::Learner {
            set_progress(format!("done {}", ex.dir), true);
        }
        return Ok(true);
    }
    set_progress(format!("done {}", ex.dir), false);
    let (name, text) = &outcome.failed[0];
    println!(
        "failing: {} of {} tests; the first is `{name}` ({}):\n",
        outcome.failed.len(),
        ex.tests.len(),
        ex.test_files()
    );
    println!("{}", explain(text));
    println!(
        "\nRead {} first; the C you port is {}.\n\
         Stuck? `cargo run -p exercises -- hint {}` gives one hint at a time.",
        ex.chapter, ex.c, ex.id
    );
    Ok(false)
}

/// A failure, made shorter and pointed at what to change: the first place where your
/// program's transcript differs from the example's, and a `todo!()` not yet written.
fn explain(text: &str) -> String {
    let text = plain(text);
    let mut out = String::new();
    if let Some((expected, yours)) = first_difference(&text) {
        out.push_str("The first difference from the example's transcript:\n  expected:\n");
        for line in &expected {
            out.push_str(&format!("    {line}\n"));
        }
        out.push_str("  yours:\n");
        for line in &yours {
            out.push_str(&format!("    {line}\n"));
        }
        out.push('\n');
    }
    if let Some(at) = text.find("not yet implemented") {
        let line = text[at..].lines().next().unwrap_or("");
        out.push_str(&format!(
            "Your program reached a step still to write: `{line}`.\n\n"
        ));
    }
    out.push_str("The whole report (`-` lines are the example's, `+` lines yours):\n");
    out.push_str(&tail(&text, 50));
    out
}

/// `text` without ANSI colours and without the lines meant for the example's maintainers.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters, ended by a letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out.lines()
        .filter(|l| !l.contains("SNAPSHOTS=overwrite") && !l.contains("RUST_BACKTRACE"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// From snapbox's diff (`  4      - expected line`, `     4 + your line`), the first run of
/// expected lines and the run of your lines after it, three of each at most.
fn first_difference(text: &str) -> Option<(Vec<String>, Vec<String>)> {
    // A diff line: numbers, then `-` or `+`, then the text.
    let side = |line: &str| -> Option<(char, String)> {
        let rest = line
            .trim_start()
            .trim_start_matches(|c: char| c.is_ascii_digit());
        let rest = rest
            .trim_start()
            .trim_start_matches(|c: char| c.is_ascii_digit());
        let rest = rest.trim_start();
        let mark = rest.chars().next().filter(|c| *c == '-' || *c == '+')?;
        let body = rest[1..].strip_prefix(' ').unwrap_or(&rest[1..]);
        line.trim_start()
            .starts_with(|c: char| c.is_ascii_digit())
            .then(|| (mark, body.to_owned()))
    };
    let lines: Vec<(char, String)> = text.lines().filter_map(side).collect();
    let start = lines.iter().position(|(m, _)| *m == '-' || *m == '+')?;
    let expected: Vec<String> = lines[start..]
        .iter()
        .take_while(|(m, _)| *m == '-')
        .take(3)
        .map(|(_, l)| l.clone())
        .collect();
    let yours: Vec<String> = lines[start..]
        .iter()
        .skip_while(|(m, _)| *m == '-')
        .take_while(|(m, _)| *m == '+')
        .take(3)
        .map(|(_, l)| {
            if l.is_empty() {
                "(an empty line)".to_owned()
            } else {
                l.clone()
            }
        })
        .collect();
    Some((expected, yours))
}

/// The last `n` lines of `text`, with a note of how many were left out.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= n {
        return text.to_owned();
    }
    format!(
        "... ({} lines before these left out)\n{}",
        lines.len() - n,
        lines[lines.len() - n..].join("\n")
    )
}

/// No command: list, then check each exercise not done yet, in order, stopping at the first
/// that fails.
fn run_all() -> Result<bool> {
    list();
    for ex in EXERCISES {
        if is_done(ex) {
            continue;
        }
        if !check(ex, Mode::Learner)? {
            return Ok(false);
        }
    }
    println!("\nEvery exercise passes. Well done.");
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Hints, solutions, reset, watch.

/// The hints of an exercise: the `## Hint K` sections of its hints.md.
fn hints(ex: &Exercise) -> Result<Vec<String>> {
    let path = root().join(ex.path()).join("hints.md");
    let text =
        std::fs::read_to_string(&path).map_err(|err| format!("read {}: {err}", path.display()))?;
    Ok(text
        .split("\n## Hint ")
        .skip(1)
        .map(|section| {
            section
                .split_once('\n')
                .map_or("", |(_, body)| body)
                .trim()
                .to_owned()
        })
        .collect())
}

fn hint(ex: &Exercise, k: Option<usize>) -> Result<bool> {
    let hints = hints(ex)?;
    let seen = (1..=hints.len())
        .take_while(|k| progress().contains(&format!("hint {} {k}", ex.dir)))
        .count();
    let k = k.unwrap_or((seen + 1).min(hints.len()));
    let Some(text) = k.checked_sub(1).and_then(|i| hints.get(i)) else {
        return Err(format!("exercise {} has hints 1 to {}", ex.id, hints.len()));
    };
    println!("Exercise {}, hint {k} of {}:\n\n{text}", ex.id, hints.len());
    if k < hints.len() {
        println!(
            "\n(`cargo run -p exercises -- hint {}` again for hint {})",
            ex.id,
            k + 1
        );
    }
    set_progress(format!("hint {} {k}", ex.dir), true);
    Ok(true)
}

fn solution(ex: &Exercise) -> Result<bool> {
    println!(
        "Exercise {}: the finished program is {}\n(its chapter: {}; the C it ports: {})\n\n\
         Your port against it (diff -u yours finished):\n",
        ex.id, ex.solution, ex.chapter, ex.c
    );
    let status = Command::new("diff")
        .arg("-u")
        .arg(ex.source())
        .arg(ex.solution)
        .current_dir(root())
        .status()
        .map_err(|err| format!("cannot run diff: {err}"))?;
    // diff's status 1 means the files differ: not an error here.
    Ok(status.code().is_some_and(|c| c <= 1))
}

fn reset(ex: &Exercise) -> Result<bool> {
    let source = root().join(ex.source());
    let orig = source.with_extension("rs.orig");
    let skeleton = Command::new("git")
        .arg("show")
        .arg(format!("HEAD:{}", ex.source()))
        .current_dir(root())
        .output()
        .map_err(|err| format!("cannot run git: {err}"))?;
    if !skeleton.status.success() {
        return Err(format!(
            "git has no {} at HEAD: reset needs a git checkout of the project",
            ex.source()
        ));
    }
    std::fs::copy(&source, &orig)
        .map_err(|err| format!("copy {} to {}: {err}", source.display(), orig.display()))?;
    std::fs::write(&source, &skeleton.stdout)
        .map_err(|err| format!("write {}: {err}", source.display()))?;
    set_progress(format!("done {}", ex.dir), false);
    println!(
        "Exercise {}: {} is the skeleton again (as committed at HEAD); your file is {}",
        ex.id,
        ex.source(),
        orig.display()
    );
    Ok(true)
}

fn watch() -> Result<bool> {
    use notify::{RecursiveMode, Watcher};
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher =
        notify::recommended_watcher(tx).map_err(|err| format!("cannot watch files: {err}"))?;
    watcher
        .watch(&root().join("exercises"), RecursiveMode::Recursive)
        .map_err(|err| format!("cannot watch exercises/: {err}"))?;
    loop {
        let Some(ex) = EXERCISES.iter().find(|ex| !is_done(ex)) else {
            println!("\nEvery exercise passes. Well done.");
            return Ok(true);
        };
        if check(ex, Mode::Learner)? {
            continue;
        }
        println!(
            "\nWatching {}: save it to check again (Ctrl-C to stop).",
            ex.source()
        );
        let _ = std::io::stdout().flush();
        // Wait for a save of a Rust file of this exercise, then for the editor to finish.
        loop {
            let event = rx
                .recv()
                .map_err(|_| "the file watcher stopped".to_owned())?;
            let Ok(event) = event else { continue };
            let ours = event.kind.is_modify() || event.kind.is_create();
            let dir = root().join(ex.path());
            if ours
                && event
                    .paths
                    .iter()
                    .any(|p| p.starts_with(&dir) && p.extension().is_some_and(|e| e == "rs"))
            {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        while rx.try_recv().is_ok() {}
    }
}

// ---------------------------------------------------------------------------------------------
// Verify: the proof that the exercises check something.

fn verify() -> Result<bool> {
    let mut ok = true;
    let mut skipped = Vec::new();
    for ex in EXERCISES {
        // What a learner is pointed to exists: the task, the hints, the C, the solution.
        for file in [
            format!("{}/README.md", ex.path()),
            ex.solution.to_owned(),
            ex.c.to_owned(),
            ex.chapter.to_owned(),
        ] {
            if !root().join(&file).is_file() {
                println!("verify: exercise {}: {file} is missing", ex.id);
                ok = false;
            }
        }
        if hints(ex).map_or(0, |h| h.len()) < 2 {
            println!(
                "verify: exercise {}: hints.md needs hints in steps (`## Hint 1`, ...)",
                ex.id
            );
            ok = false;
        }
        // The skeleton: it compiles, and each test fails. A test that passes on a skeleton
        // checks nothing the learner writes.
        let dir = bin_dir(ex, Mode::Learner, true)?
            .ok_or_else(|| format!("exercise {}: the skeleton does not compile", ex.id))?;
        let skeleton = run_tests(ex, &dir)?;
        for name in &skeleton.passed {
            println!(
                "verify: exercise {}: `{name}` passes on the skeleton, so it checks nothing",
                ex.id
            );
            ok = false;
        }
        // The finished example: each test passes.
        let dir = bin_dir(ex, Mode::Solution, true)?
            .ok_or_else(|| format!("exercise {}: {} does not compile", ex.id, ex.example))?;
        let solution = run_tests(ex, &dir)?;
        for (name, why) in &solution.skipped {
            println!("verify: exercise {}: `{name}` skipped here: {why}", ex.id);
            skipped.push(format!("exercise {}: {name}: {why}", ex.id));
        }
        for (name, text) in &solution.failed {
            println!(
                "verify: exercise {}: `{name}` fails on the finished example:\n{}",
                ex.id,
                tail(text, 30)
            );
            ok = false;
        }
    }
    let tests: usize = EXERCISES.iter().map(|ex| ex.tests.len()).sum();
    if ok {
        println!(
            "exercises: {} exercises, {tests} tests: each fails on its skeleton and passes on the finished example{}",
            EXERCISES.len(),
            match skipped.len() {
                0 => String::new(),
                n => format!(" ({n} skipped here, so not checked)"),
            }
        );
    }
    // Into the summary `make test` prints at its end.
    if let Some(log) = std::env::var_os("SHM_SKIP_LOG") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|err| format!("{}: {err}", Path::new(&log).display()))?;
        for line in &skipped {
            writeln!(file, "{line}")
                .map_err(|err| format!("{}: {err}", Path::new(&log).display()))?;
        }
    }
    Ok(ok)
}
