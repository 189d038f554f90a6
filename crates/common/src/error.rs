//! Error reporting in the notes' style: `ERR_EXIT(m)` is `perror(m); exit(EXIT_FAILURE)`.
//!
//! A failing step returns an [`Error`] that knows which call (and argument) failed and why;
//! `main` hands it to [`err_exit!`], the one place that prints it:
//!
//! ```text
//! map_normalfile2: open /x: No such file or directory
//! ```
//!
//! Unlike C's `ERR_EXIT`, the error travels up with `?` first, so every guard on the way
//! (a mapping, an attached segment, a shm name) is dropped before the process exits.
//!
//! [`err_exit!`]: crate::err_exit!

use std::fmt;
use std::io::{self, Write};

/// What failed and why: `context` is the call and its argument (`open /tmp/x`), `source` the
/// OS reason, or a message for a check of the program's own (a file too short to be ours).
#[derive(Debug)]
pub struct Error {
    context: String,
    source: io::Error,
    hint: Option<String>,
    signal: Option<i32>,
}

/// `Result` with [`Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error from a call, with the call's context.
    pub fn new(context: impl Into<String>, source: io::Error) -> Self {
        Error {
            context: context.into(),
            source,
            hint: None,
            signal: None,
        }
    }

    /// The program was told to stop by `signo` (SIGINT, SIGTERM, SIGHUP) while it waited.
    /// [`err_exit!`] prints nothing for it and re-raises the signal, once every guard between
    /// the wait and `main` has cleaned up.
    ///
    /// [`err_exit!`]: crate::err_exit!
    pub fn signal(signo: i32) -> Self {
        let name = crate::signal::name(signo);
        Error {
            signal: Some(signo),
            ..Error::msg("interrupted", name)
        }
    }

    /// Adds what the user can do about it: `...: No such file or directory; run sysv_write first`.
    pub fn hint(self, hint: impl Into<String>) -> Self {
        Error {
            hint: Some(hint.into()),
            ..self
        }
    }

    /// The signal this error stands for, if it is one.
    pub fn signal_number(&self) -> Option<i32> {
        self.signal
    }

    /// The error of the libc call that just failed (its `errno`), as `perror` reports it.
    pub fn last_os_error(context: impl Into<String>) -> Self {
        Error::new(context, io::Error::last_os_error())
    }

    /// A failed check of the program's own, with no OS error behind it.
    pub fn msg(context: impl Into<String>, message: impl Into<String>) -> Self {
        Error::new(context, io::Error::other(message.into()))
    }

    /// The `errno` value, if this came from the OS.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, reason(&self.source))?;
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The OS reason as `perror` prints it: the strerror text alone. (io::Error prints
/// "No such file or directory (os error 2)".)
pub fn reason(err: &io::Error) -> String {
    let text = err.to_string();
    match err.raw_os_error() {
        Some(code) => match text.strip_suffix(&format!(" (os error {code})")) {
            Some(stripped) => stripped.to_string(),
            None => text,
        },
        None => text,
    }
}

/// Adds the failing call to an `io::Result`, as the argument of `perror` does in C.
pub trait Context<T> {
    /// `open(path)?` becomes `open(path).context(format!("open {}", path.display()))?`.
    fn context(self, context: impl Into<String>) -> Result<T>;
    /// Like [`Context::context`], building the text only when there is an error.
    fn with_context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::new(context, source))
    }

    fn with_context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|source| Error::new(context(), source))
    }
}

/// The same for rustix's calls, which return its own `Errno` (the OS error, as a number).
impl<T> Context<T> for std::result::Result<T, rustix::io::Errno> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|errno| Error::new(context, errno.into()))
    }

    fn with_context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|errno| Error::new(context(), errno.into()))
    }
}

/// Prints `prog: err` on stderr and exits with status 1; an interruption instead ends the
/// process by its signal, silently, as an uncaught signal would. Use it through [`err_exit!`].
///
/// [`err_exit!`]: crate::err_exit!
pub fn exit_with(prog: &str, err: &Error) -> ! {
    // What the program printed before the error stays in order with it.
    let _ = io::stdout().flush();
    if let Some(signo) = err.signal {
        crate::signal::reraise(signo);
    }
    eprintln!("{prog}: {err}");
    std::process::exit(1)
}

/// `ERR_EXIT` for Rust: prints `program: error` on stderr and exits with status 1.
///
/// The program name is the binary's own (`CARGO_BIN_NAME`), whatever path it was started by;
/// a porting exercise's build of an example (`ex10_shm_counter`) speaks as the example
/// (`shm_counter`), see [`program_name`].
///
/// ```text
/// if let Err(err) = run(&args) {
///     common::err_exit!(err);
/// }
/// ```
#[macro_export]
macro_rules! err_exit {
    ($err:expr) => {
        $crate::error::exit_with($crate::error::program_name(env!("CARGO_BIN_NAME")), &$err)
    };
}

/// `main` of a program that needs what only Linux has, elsewhere: one line naming the
/// program, what it needs and the system it is on (`ipc_bench: needs Linux (futex(2));
/// this is macos`), exit 1.
#[macro_export]
macro_rules! linux_only {
    ($needs:expr) => {{
        let prog = $crate::error::program_name(env!("CARGO_BIN_NAME"));
        eprintln!(
            "{prog}: needs Linux ({}); this is {}",
            $needs,
            std::env::consts::OS
        );
        std::process::exit(1)
    }};
}

/// The name a program prints in its errors: `bin`, less the `exNN_` of a porting exercise's
/// binary (`ex10_shm_counter` is exercise 10's build of `shm_counter`, checked by
/// `shm_counter`'s own tests and transcripts).
pub fn program_name(bin: &str) -> &str {
    match bin.as_bytes() {
        [b'e', b'x', a, b, b'_', ..] if a.is_ascii_digit() && b.is_ascii_digit() => &bin[5..],
        _ => bin,
    }
}

/// A bad argument that the parser could not catch (one that depends on the page size, say):
/// prints `error: message`, the usage text, and exits with status 2, as clap does for the rest.
pub fn usage_error<P: clap::CommandFactory>(message: impl fmt::Display) -> ! {
    P::command()
        .error(clap::error::ErrorKind::ValueValidation, message)
        .exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exercise_binary_speaks_as_its_example() {
        assert_eq!(program_name("ex10_shm_counter"), "shm_counter");
        assert_eq!(program_name("shm_counter"), "shm_counter");
        assert_eq!(program_name("exa_b"), "exa_b");
    }

    #[test]
    fn os_error_reads_like_perror() {
        let err = Error::new("open /x", io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(err.to_string(), "open /x: No such file or directory");
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn own_check_prints_its_message() {
        let err = Error::msg("/tmp/f", "file is 3 bytes");
        assert_eq!(err.to_string(), "/tmp/f: file is 3 bytes");
        assert_eq!(err.raw_os_error(), None);
    }
}
