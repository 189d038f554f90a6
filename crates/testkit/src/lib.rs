//! Test support for the example crates' integration tests (a dev-dependency only).
//!
//! Tests run the real binaries and compare whole transcripts: a [`Transcript`] records each
//! command line as `$ program args`, then everything it printed, then `? status` when the status
//! is not 0 (as trycmd writes it), with the test's directory shown as `[DIR]`. The transcript
//! files the tests compare against are the ones the book includes.
//!
//! Everything here keeps tests safe to run in parallel: every test works in a directory of its
//! own, and a program a test started is killed and reaped if the test fails half way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A fresh directory on a disk-backed filesystem: inside cargo's `target/tmp` (pass
/// `env!("CARGO_TARGET_TMPDIR")`), not `/tmp`, which is tmpfs on many systems.
pub fn disk_dir(target_tmpdir: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix("shm-by-example.")
        .tempdir_in(target_tmpdir)
        .unwrap()
}

/// A fresh directory in `/dev/shm`, which is tmpfs on Linux.
pub fn tmpfs_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("shm-by-example.")
        .tempdir_in("/dev/shm")
        .unwrap()
}

/// Whether `path` is on tmpfs, whose pages are never written back to a disk.
pub fn is_tmpfs(path: &Path) -> bool {
    let dir = std::fs::File::open(path).unwrap();
    common::file::on_tmpfs(std::os::fd::AsFd::as_fd(&dir))
        .unwrap_or_else(|e| panic!("fstatfs {}: {e}", path.display()))
}

/// A console session being recorded.
///
/// What would differ from run to run is redacted: the test's directory is written `[DIR]`,
/// the pid of every program the transcript started `[PID]`, and a number after a label given
/// to [`Transcript::redact_number_after`] by its placeholder. A byte that is not printable is
/// written `\xNN`, and output that does not end with a newline gets one, with a comment.
#[derive(Debug)]
pub struct Transcript {
    text: String,
    dir: PathBuf,
    pids: Vec<String>,
    labels: Vec<(&'static str, &'static str)>,
    literals: Vec<(String, &'static str)>,
}

impl Transcript {
    /// A new transcript; `dir` (the test's directory) is written as `[DIR]`.
    pub fn new(dir: &Path) -> Transcript {
        Transcript {
            text: String::new(),
            dir: dir.to_owned(),
            pids: Vec::new(),
            labels: Vec::new(),
            literals: Vec::new(),
        }
    }

    /// Writes `value` (a key, a shm name chosen for this test) as `placeholder`.
    pub fn redact_literal(&mut self, value: impl Into<String>, placeholder: &'static str) {
        self.literals.push((value.into(), placeholder));
    }

    /// Writes the number that follows `label` (as in `shmid 32768`) as `placeholder`.
    pub fn redact_number_after(&mut self, label: &'static str, placeholder: &'static str) {
        self.labels.push((label, placeholder));
    }

    /// Runs `program args...` to the end with an empty stdin, records it, returns its output.
    pub fn run(&mut self, program: impl AsRef<Path>, args: &[&OsStr]) -> Output {
        let program = program.as_ref();
        self.command(program, args, "");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.pids.push(child.id().to_string());
        let out = child.wait_with_output().unwrap();
        self.output(&out);
        out
    }

    /// Starts `program args...` in the background (recorded as `$ ... &`); read its lines with
    /// [`Transcript::line`].
    pub fn start(&mut self, program: impl AsRef<Path>, args: &[&OsStr]) -> Background {
        let program = program.as_ref();
        self.command(program, args, " &");
        let bg = Background::spawn(program, args);
        self.pids.push(bg.pid().to_string());
        bg
    }

    /// Waits for the next line of a background program and records it.
    pub fn line(&mut self, bg: &mut Background) -> String {
        let line = bg.line();
        let shown = self.redact(line.as_bytes());
        self.text.push_str(&shown);
        self.text.push('\n');
        line
    }

    /// Records a comment line (`# ...`), for what happens between commands.
    pub fn comment(&mut self, text: &str) {
        self.text.push_str("# ");
        self.text.push_str(text);
        self.text.push('\n');
    }

    /// Records what a finished program printed (stdout, then stderr) and its status.
    pub fn output(&mut self, out: &Output) {
        for stream in [&out.stdout, &out.stderr] {
            let text = self.redact(stream);
            self.text.push_str(&text);
            if !text.is_empty() && !text.ends_with('\n') {
                self.text
                    .push_str("\n# (no newline at the end of that output)\n");
            }
        }
        match out.status.code() {
            Some(0) => {}
            Some(code) => self.text.push_str(&format!("? {code}\n")),
            None => self.text.push_str(&format!("? {}\n", out.status)),
        }
    }

    /// The transcript so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Compares the whole transcript with `expected` (usually `snapbox::file![...]`).
    /// `SNAPSHOTS=overwrite cargo test` rewrites the files from the real output.
    #[track_caller]
    pub fn assert_eq(&self, expected: impl snapbox::IntoData) {
        snapbox::Assert::new()
            .action_env("SNAPSHOTS")
            .normalize_paths(false)
            .eq(self.text.clone(), expected);
    }

    fn command(&mut self, program: &Path, args: &[&OsStr], suffix: &str) {
        let name = program
            .file_name()
            .unwrap_or(program.as_os_str())
            .to_string_lossy();
        let mut line = format!("$ {name}");
        for arg in args {
            line.push(' ');
            line.push_str(&self.redact(arg.as_encoded_bytes()));
        }
        self.text.push_str(&line);
        self.text.push_str(suffix);
        self.text.push('\n');
    }

    fn redact(&self, bytes: &[u8]) -> String {
        let mut text = String::from_utf8_lossy(bytes).replace(self.dir.to_str().unwrap(), "[DIR]");
        for (value, placeholder) in &self.literals {
            text = text.replace(value.as_str(), placeholder);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(c) = rest.chars().next() {
            if c.is_ascii_digit() {
                // A whole number: a pid of ours, a labelled number, or itself.
                let end = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                let (number, after) = rest.split_at(end);
                let label = self.labels.iter().find(|(label, _)| out.ends_with(label));
                match label {
                    Some((_, placeholder)) => out.push_str(placeholder),
                    None if self.pids.iter().any(|pid| pid == number) => out.push_str("[PID]"),
                    None => out.push_str(number),
                }
                rest = after;
                continue;
            }
            if c.is_control() && c != '\n' && c != '\t' {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
        out
    }
}

/// A program running in the background whose output is read line by line (to wait for its
/// "ready" line) and whose stdin is written (to release it).
#[derive(Debug)]
pub struct Background {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Background {
    /// Starts `program args...` with stdin, stdout and stderr piped.
    pub fn spawn(program: impl AsRef<OsStr>, args: &[&OsStr]) -> Background {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Background {
            child,
            stdin,
            stdout,
        }
    }

    /// The process id, to send it a signal.
    pub fn pid(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.child.id()).unwrap()
    }

    /// Blocks until the program prints a whole line and returns it without the newline.
    /// Fails the test if the program ends first.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        if !line.ends_with('\n') {
            // It ended: say how, with what it said on stderr, which is usually why.
            let mut stderr = String::new();
            if let Some(mut err) = self.child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            let status = self.child.wait().unwrap();
            panic!(
                "program ended ({status}) before printing a whole line (got {line:?}); its stderr:\n{stderr}"
            );
        }
        line.pop();
        line
    }

    /// Writes one line to the program's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin, waits for the program to end, and returns what it printed after the lines
    /// already read, with its status. A program can wait for ever when its partner failed (a
    /// first process waiting for a second that crashed, as a learner's port in an exercise
    /// may): after [`FINISH_LIMIT`] it is stopped (SIGTERM, then SIGKILL), and the test fails saying so, with what it
    /// printed, instead of hanging.
    pub fn finish(mut self) -> Output {
        drop(self.stdin.take());
        let stderr_pipe = self.child.stderr.take();
        let child = &mut self.child;
        let stdout_pipe = &mut self.stdout;
        // Read while waiting: a program that prints more than a pipe holds must not block.
        let (stdout, stderr, killed) = std::thread::scope(|s| {
            let stdout = s.spawn(move || {
                let mut v = Vec::new();
                stdout_pipe.read_to_end(&mut v).unwrap();
                v
            });
            let stderr = s.spawn(move || {
                let mut v = Vec::new();
                if let Some(mut pipe) = stderr_pipe {
                    pipe.read_to_end(&mut v).unwrap();
                }
                v
            });
            // At the limit SIGTERM, which the examples end on, removing what they made; two
            // seconds later SIGKILL.
            let deadline = Instant::now() + FINISH_LIMIT;
            let mut killed = false;
            while matches!(child.try_wait(), Ok(None)) {
                let now = Instant::now();
                if now > deadline + Duration::from_secs(2) {
                    let _ = child.kill();
                    break;
                }
                if now > deadline && !killed {
                    killed = true;
                    // SAFETY: kill takes plain values; the child is not reaped yet.
                    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (stdout.join().unwrap(), stderr.join().unwrap(), killed)
        });
        let status = self.child.wait().unwrap();
        assert!(
            !killed,
            "still running after {FINISH_LIMIT:?}, stopped: its partner probably failed\nstdout:\n{}stderr:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

/// How long [`Background::finish`] waits for a program to end.
pub const FINISH_LIMIT: Duration = Duration::from_secs(60);

impl Drop for Background {
    fn drop(&mut self) {
        // Only reached with the program still running when a test failed half way: do not
        // leave it behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An example binary as a test names it: `const READER: Bin = Bin::new("map_normalfile2",
/// env!("CARGO_BIN_EXE_map_normalfile2"));`. It is the crate's own binary, unless the exercise
/// checker (`cargo run -p exercises`) runs the example's tests against a learner's port: then
/// `$SHM_EXERCISE_BIN_DIR` holds a program of the same name, and that one runs instead. So an
/// exercise is checked by the very tests, transcripts and C pairings the example passes.
#[derive(Clone, Copy, Debug)]
pub struct Bin {
    name: &'static str,
    built: &'static str,
}

impl Bin {
    /// `name` is the binary's name, `built` cargo's path to it (`env!("CARGO_BIN_EXE_<name>")`).
    pub const fn new(name: &'static str, built: &'static str) -> Bin {
        Bin { name, built }
    }

    /// The program to run: `$SHM_EXERCISE_BIN_DIR/<name>` when that exists, else the crate's.
    pub fn path(&self) -> &'static Path {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        static RESOLVED: OnceLock<Mutex<HashMap<&'static str, &'static Path>>> = OnceLock::new();
        let mut resolved = RESOLVED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        resolved.entry(self.name).or_insert_with(|| {
            let exercise = std::env::var_os("SHM_EXERCISE_BIN_DIR")
                .map(|dir| PathBuf::from(dir).join(self.name))
                .filter(|path| path.exists());
            // Once per binary and test process: a leak of a few bytes, so that the path can be
            // lent out for as long as the tests run.
            Box::leak(
                exercise
                    .unwrap_or_else(|| PathBuf::from(self.built))
                    .into_boxed_path(),
            )
        })
    }

    /// [`Bin::path`] as a `&str`, for the helpers that take one.
    pub fn as_str(&self) -> &'static str {
        self.path().to_str().unwrap()
    }
}

impl AsRef<Path> for Bin {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl From<Bin> for String {
    fn from(bin: Bin) -> String {
        bin.as_str().to_owned()
    }
}

impl AsRef<OsStr> for Bin {
    fn as_ref(&self) -> &OsStr {
        self.path().as_os_str()
    }
}

/// The workspace's root directory (where `Cargo.toml` and `crates/` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's own C program `name` (`crates/<example>/c/<name>.c`), compiled for this test
/// run, as `make c` compiles it: `cc -std=c11 -Wall -Wextra -Werror -O2`, plus
/// `-fsanitize=address,undefined` when `SHM_C_SANITIZE=1` (as `make test` sets it).
///
/// The binary has the same file name as the Rust one, so a transcript of it is the same text
/// when the two programs print the same lines. It is built once per run into
/// `target_tmpdir/c/` (pass `env!("CARGO_TARGET_TMPDIR")`), under a temp name renamed into
/// place, so tests in parallel (threads or processes) never see a half-written binary.
pub fn c_program(target_tmpdir: &str, name: &str) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(bin) = built.get(name) {
        return bin.clone();
    }

    let root = workspace_root();
    let source = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path().join("c").join(format!("{name}.c")))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no crates/*/c/{name}.c"));
    let sanitize = std::env::var("SHM_C_SANITIZE").is_ok_and(|v| v == "1");
    let dir = Path::new(target_tmpdir)
        .join("c")
        .join(if sanitize { "sanitize" } else { "plain" });
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join(name);
    let temp = dir.join(format!("{name}.{:08x}.tmp", common::random_u32()));
    let mut cc = Command::new(std::env::var_os("CC").unwrap_or("cc".into()));
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-I"])
        .arg(root.join("crates/common/c"));
    if sanitize {
        cc.args([
            "-g",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
        ]);
    }
    let out = cc.arg("-o").arg(&temp).arg(&source).output().unwrap();
    assert!(
        out.status.success(),
        "cc {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&temp, &bin).unwrap();
    built.insert(name.to_owned(), bin.clone());
    bin
}

/// The name of the running test (libtest names each test's thread after it).
pub fn this_test() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

/// [`skip`] for the running test.
pub fn skip_this(why: &str) {
    skip(&this_test(), why);
}

/// Reports a test that checks nothing here, and why: on stderr, and as a line appended to
/// the file `$SHM_SKIP_LOG` names, from which `make test` prints its summary of skipped
/// tests. A skipped test must never look like a pass.
pub fn skip(test: &str, why: &str) {
    eprintln!("skipped: {test}: {why}");
    if let Some(log) = std::env::var_os("SHM_SKIP_LOG") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        // One write(2) per line: O_APPEND keeps lines from parallel tests whole.
        file.write_all(format!("{test}: {why}\n").as_bytes())
            .unwrap();
    }
}

/// Plants in `dir` what a hostile or unlucky user leaves under a name a program is given:
/// `victim`, a file holding `precious`; `link`, a symlink to it; and `fifo`, a FIFO. After the
/// program has run on them, [`assert_victim_untouched`] checks that no symlink was followed.
pub fn plant_hostile_names(dir: &Path) {
    std::fs::write(dir.join("victim"), b"precious").unwrap();
    std::os::unix::fs::symlink(dir.join("victim"), dir.join("link")).unwrap();
    let fifo =
        std::ffi::CString::new(dir.join("fifo").into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
}

/// `victim` (see [`plant_hostile_names`]) still holds `precious`: no write went through `link`.
#[track_caller]
pub fn assert_victim_untouched(dir: &Path) {
    assert_eq!(
        std::fs::read(dir.join("victim")).unwrap(),
        b"precious",
        "a program followed the symlink `link` and wrote into `victim`"
    );
}

/// The notes this project ports, if they are where the workspace expects them: `$SHM_SEEDS`,
/// else `../shared/seeds` beside the checkout. They are not part of the repository.
pub fn seeds_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SHM_SEEDS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds"),
    };
    dir.is_dir().then_some(dir)
}

/// The `nth` (from 0) fenced code block of seed file `seed` that contains `int main`: the C
/// programs, as the notes print them. `None` if the seeds are not here.
pub fn seed_program(seed: &str, nth: usize) -> Option<String> {
    let text = std::fs::read_to_string(seeds_dir()?.join(seed)).ok()?;
    let mut programs = text
        .split("```")
        .skip(1)
        .step_by(2) // inside a fence: "cpp\n<code>"
        .filter(|block| block.contains("int main"))
        .map(|block| {
            block
                .split_once('\n')
                .map_or("", |(_lang, code)| code)
                .to_owned()
        });
    programs.nth(nth)
}

/// Compiles C `source` into `dir/name` with the system's `cc` (`c++` when `cxx`: some of the
/// notes' programs are C++), with `dir` on the include path, and returns the binary's path.
pub fn compile_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    compile(dir, name, source, false)
}

/// [`compile_c`] for a program the notes wrote in C++.
pub fn compile_cxx(dir: &Path, name: &str, source: &str) -> PathBuf {
    compile(dir, name, source, true)
}

fn compile(dir: &Path, name: &str, source: &str, cxx: bool) -> PathBuf {
    let (compiler, ext) = if cxx { ("c++", "cpp") } else { ("cc", "c") };
    let src = dir.join(format!("{name}.{ext}"));
    std::fs::write(&src, source).unwrap();
    let bin = dir.join(name);
    let out = Command::new(compiler)
        .arg("-w")
        .arg("-I")
        .arg(dir)
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{compiler} {name}.{ext} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Runs a program to the end with an empty stdin.
pub fn run(program: impl AsRef<OsStr>, args: &[&OsStr]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs a program that must succeed with nothing on stderr, and returns its stdout.
#[track_caller]
pub fn run_ok(program: impl AsRef<OsStr>, args: &[&OsStr]) -> String {
    ok_stdout(run(program, args))
}

/// [`run_ok`] with no arguments and `TMPDIR` set to `dir`, for a program that makes a temp
/// file there (the test then checks that it is gone).
#[track_caller]
pub fn run_ok_in_tmpdir(program: impl AsRef<OsStr>, dir: &Path) -> String {
    let out = Command::new(program)
        .env("TMPDIR", dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok_stdout(out)
}

#[track_caller]
fn ok_stdout(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{}: {stderr}",
        out.status
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a program whose stdout is a pipe already closed at the other end, as in
/// `program | head -0`, and returns its status and stderr.
pub fn run_into_closed_pipe(program: impl AsRef<OsStr>, args: &[&OsStr]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// A System V key in this project's test namespace, `0x5342....` ("SB"), that no segment has
/// now: 16 random bits, never the pid (runs in two PID namespaces that share System V IPC
/// would meet). `scripts/clean_ipc.sh` knows the namespace.
///
/// A key free now can be taken before the test uses it; the writers create with `IPC_EXCL`,
/// so such a collision is an error the test sees, never a segment shared by mistake.
pub fn unique_key() -> libc::key_t {
    for _ in 0..1000 {
        let key = (0x5342_0000 | (common::random_u32() & 0xffff)) as libc::key_t;
        if !segment_exists(key) {
            return key;
        }
    }
    panic!("no free key in 0x5342....: run make clean-ipc");
}

/// Removes, when it is dropped, the System V segment under its key, if one is left: a test
/// whose program failed half way (a learner's port in an exercise, which panics at a step not
/// yet written) must leave nothing behind either. `let _gone = RemoveSegment(key);` right
/// after the key is chosen.
#[derive(Debug)]
pub struct RemoveSegment(pub libc::key_t);

impl Drop for RemoveSegment {
    fn drop(&mut self) {
        if let Ok(shmid) = common::sysv::shmget(self.0, 0, 0) {
            let _ = common::sysv::shmctl_rmid(shmid);
        }
    }
}

/// [`RemoveSegment`] for a POSIX shm name: `shm_unlink` when dropped, if the object is left.
#[derive(Debug)]
pub struct RemoveShm(pub String);

impl Drop for RemoveShm {
    fn drop(&mut self) {
        if let Ok(name) = std::ffi::CString::new(self.0.as_bytes()) {
            let _ = common::posix::shm_unlink(&name);
        }
    }
}

/// Whether a System V segment has `key`.
pub fn segment_exists(key: libc::key_t) -> bool {
    match common::sysv::shmget(key, 0, 0) {
        Ok(_) => true,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => false,
        Err(e) => panic!("shmget {key:#x}: {e}"),
    }
}

/// A POSIX shm name in this project's test namespace, `/shm-by-example.t.RANDOM`, that no
/// object has now: 48 random bits, never the pid alone (see [`unique_key`]). 30 characters:
/// macOS takes no more than 31.
pub fn unique_shm_name() -> String {
    loop {
        let r = (u64::from(common::random_u32()) << 16) | u64::from(common::random_u32() >> 16);
        let name = format!("/shm-by-example.t.{r:012x}");
        if !shm_exists(&name) {
            return name;
        }
    }
}

/// Whether a POSIX shm object has `name` (on Linux: whether `/dev/shm/NAME` exists).
pub fn shm_exists(name: &str) -> bool {
    Path::new("/dev/shm")
        .join(name.trim_start_matches('/'))
        .exists()
}

/// Stops `pid` with SIGSTOP and returns once it is stopped: `kill` returns before the signal
/// has taken effect, and a test that relies on the process doing nothing from now on must
/// wait for that. A child of the test is waited for (`waitid(WSTOPPED | WNOWAIT)`, which
/// leaves its status to be collected later); any other process is watched for `T` in
/// `/proc/PID/stat`.
pub fn stop(pid: libc::pid_t) {
    kill(pid, libc::SIGSTOP);
    // SAFETY: siginfo_t is plain data; all zeros is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // WEXITED too: a child that died instead returns at once (and is left to be reaped).
    let flags = libc::WSTOPPED | libc::WEXITED | libc::WNOWAIT;
    loop {
        // SAFETY: `info` is a writable siginfo_t; the other arguments are plain values.
        let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        if rc == 0 {
            return;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECHILD) => break,
            _ => panic!("waitid {pid}: {}", std::io::Error::last_os_error()),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses.
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if state == Some('T') {
            return;
        }
        assert!(Instant::now() < deadline, "{pid} did not stop: {stat}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Sends `signo` to `pid`.
pub fn kill(pid: libc::pid_t, signo: libc::c_int) {
    // SAFETY: kill takes plain values.
    let rc = unsafe { libc::kill(pid, signo) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Runs `program` (which makes a temp file in `$TMPDIR`) nine times, sending it SIGINT,
/// SIGTERM or SIGHUP at once: the signal lands before, during or after its work, whichever
/// it happens to be, and in every case no temp file may be left and the program must end
/// well or by that signal.
pub fn assert_signals_leave_no_temp_file(program: &str, target_tmpdir: &str) {
    use std::os::unix::process::ExitStatusExt;
    let signals = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
    for (round, signo) in signals.into_iter().cycle().take(9).enumerate() {
        let dir = disk_dir(target_tmpdir);
        let mut child = Command::new(program)
            .env("TMPDIR", dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        if round % 3 == 1 {
            std::thread::yield_now();
        }
        kill(child.id() as libc::pid_t, signo);
        let status = child.wait().unwrap();
        assert!(
            status.success() || status.signal() == Some(signo),
            "{status}"
        );
        let left = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(left, 0, "temp file left after {status}");
    }
}

/// A command that runs in a new user and mount namespace (`unshare -rm`) where `dir` (which
/// must exist) is a 64 KiB tmpfs, filled by a file `fill` to all but `free` bytes, and is the
/// current directory, with the umask 022. The caller adds what to run there: the program and
/// its arguments (`.arg(PROG).args(...)`), or a script
/// (`.args(["sh", "-c", SCRIPT, "sh", ARGS...])`). `None`, reported [`skip`]ped, where user
/// namespaces or tmpfs mounts are not available (tried once per test binary).
pub fn in_full_tmpfs(dir: &Path, free: usize) -> Option<Command> {
    const SETUP: &str = r#"umask 022
mount -t tmpfs -o size=64k tmpfs "$FULL" && head -c $((65536 - FREE)) /dev/zero > "$FULL/fill" &&
cd "$FULL" || { echo "in_full_tmpfs: setting up a full tmpfs at $FULL failed" >&2; exit 99; }
unset FULL FREE
exec "$0" "$@""#;
    static AVAILABLE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let available = AVAILABLE.get_or_init(|| {
        let probe = Command::new("unshare")
            .args([
                "-rm",
                "sh",
                "-c",
                r#"mount -t tmpfs -o size=64k tmpfs "$0""#,
            ])
            .arg(dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if !probe.status.success() {
            return Err(String::from_utf8_lossy(&probe.stderr).trim().to_owned());
        }
        Ok(())
    });
    if let Err(why) = available {
        skip_this(&format!(
            "unshare -rm with a tmpfs mount failed ({why}): full tmpfs not checked"
        ));
        return None;
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["-rm", "sh", "-c", SETUP])
        .env("FULL", dir)
        .env("FREE", free.to_string());
    Some(cmd)
}

/// Writes `contents` to `path` and gives the file to another user (uid and gid 65534), for
/// the tests that such a file is neither truncated nor written. Only root can give a file
/// away (and only to a user its namespace maps): elsewhere `false`, reported [`skip`]ped.
pub fn another_users_file(path: &Path, contents: &[u8]) -> bool {
    std::fs::write(path, contents).unwrap();
    if let Err(e) = std::os::unix::fs::chown(path, Some(65534), Some(65534)) {
        skip_this(&format!(
            "cannot make a file another user owns (chown: {e})"
        ));
        return false;
    }
    true
}

/// Runs `program` (which makes a temp file in `$TMPDIR` and prints `lines` lines) eight times,
/// killing it with SIGKILL after a random number of its lines (the first time at once): the
/// moment is an event, not a delay, and varies from round to round. SIGKILL runs no cleanup,
/// so no temp file may have had a name to leave behind.
pub fn assert_sigkill_leaves_no_temp_file(program: &str, lines: u32, target_tmpdir: &str) {
    for round in 0..8 {
        let dir = disk_dir(target_tmpdir);
        let mut child = Command::new(program)
            .env("TMPDIR", dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let at = if round == 0 {
            0
        } else {
            common::random_u32() % lines
        };
        let mut out = BufReader::new(child.stdout.take().unwrap());
        for _ in 0..at {
            out.read_line(&mut String::new()).unwrap();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "after SIGKILL at line {at}: {left:?}");
    }
}
