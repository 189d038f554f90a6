//! Test support for the example crates' integration tests (feature `testkit`).
//!
//! Tests run the real binaries and compare whole transcripts. Everything here keeps them
//! safe to run in parallel: every test works in a directory of its own, and a program a test
//! started is killed and reaped if the test fails half way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};

use tempfile::TempDir;

/// A fresh directory on a disk-backed filesystem: inside cargo's `target/tmp` (the directory
/// `CARGO_TARGET_TMPDIR` names), not `/tmp`, which is tmpfs on many systems.
pub fn disk_dir(target_tmpdir: &str) -> TempDir {
    tempfile::Builder::new().prefix("shm-by-example.").tempdir_in(target_tmpdir).unwrap()
}

/// A fresh directory in `/dev/shm`, which is tmpfs on Linux.
pub fn tmpfs_dir() -> TempDir {
    tempfile::Builder::new().prefix("shm-by-example.").tempdir_in("/dev/shm").unwrap()
}

/// Whether `path` is on tmpfs, whose pages are never written back to a disk.
pub fn is_tmpfs(path: &Path) -> bool {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is a NUL-terminated string and `buf` a valid statfs to fill in.
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &mut buf) };
    assert_eq!(rc, 0, "statfs {}: {}", path.display(), std::io::Error::last_os_error());
    #[allow(clippy::unnecessary_cast)] // f_type is i64 here, u32 or i32 on other targets
    let tmpfs = buf.f_type as i64 == libc::TMPFS_MAGIC as i64;
    tmpfs
}

/// Runs a program to the end and returns its output; stdin is empty.
pub fn run(program: impl AsRef<OsStr>, args: &[&OsStr]) -> Output {
    Command::new(program).args(args).stdin(Stdio::null()).output().unwrap()
}

/// Stdout and stderr of a finished program as text, with `dir` written as `[DIR]`.
pub fn text(bytes: &[u8], dir: &Path) -> String {
    String::from_utf8_lossy(bytes).replace(dir.to_str().unwrap(), "[DIR]")
}

/// A program running in the background whose output the test reads line by line (to wait
/// for its "ready" line) and whose stdin the test writes (to release it).
#[derive(Debug)]
pub struct Background {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    transcript: String,
}

impl Background {
    /// Starts `program args...` with piped stdin and stdout; stderr goes to a pipe too, and
    /// is returned by [`Background::finish`].
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
        Background { child, stdin, stdout, transcript: String::new() }
    }

    /// The process id, to send it a signal.
    pub fn pid(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.child.id()).unwrap()
    }

    /// Blocks until the program prints a whole line, and returns it (without the newline).
    /// Fails the test if the program ends first.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).unwrap();
        assert!(n > 0 && line.ends_with('\n'), "program ended before printing a line (got {line:?})");
        self.transcript.push_str(&line);
        line.pop();
        line
    }

    /// Writes one line to the program's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes the program's stdin (it reads end of file), waits for it to end, and returns
    /// its status with everything it printed: the lines read so far and the rest.
    pub fn finish(mut self) -> Output {
        drop(self.stdin.take());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).unwrap();
        self.transcript.push_str(&rest);
        let mut stderr = Vec::new();
        if let Some(mut err) = self.child.stderr.take() {
            std::io::Read::read_to_end(&mut err, &mut stderr).unwrap();
        }
        let status = self.child.wait().unwrap();
        Output { status, stdout: std::mem::take(&mut self.transcript).into_bytes(), stderr }
    }
}

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

/// `dir/name` as a `PathBuf`, for building arguments.
pub fn path_in(dir: &TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
