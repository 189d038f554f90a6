//! Shared memory with no name: `memfd_write` makes an anonymous file with `memfd_create`,
//! writes the notes' `people` records into it, seals it so it can no longer change size (or
//! content), and hands the descriptor itself to each `memfd_read` that connects to its UNIX
//! socket (`sendmsg` with `SCM_RIGHTS`). `memfd_shrink` shows what the seal protects a reader
//! from. See `docs/src/memfd_share.md`.
//!
//! What the programs agree on lives here: the records, the socket's address, the seals.
//! memfd is Linux's (3.17) and FreeBSD's (13); elsewhere (macOS) the programs say so in one
//! line and point at the portable near-equivalent, a POSIX shm object unlinked at once.

use std::fmt;

use common::People;

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub mod by_hand;

/// Records in the object: the ten map_normalfile1 writes, `a` aged 20 to `j` aged 29.
pub const RECORDS: usize = 10;

/// The object's size: exactly the records, 80 bytes.
pub const SIZE: usize = RECORDS * People::SIZE;

/// What `memfd_create` names the object. Not a path: the name is only shown in
/// `/proc/PID/fd` (`/memfd:people (deleted)`) and `/proc/PID/maps`, and two objects may share it.
pub const MEMFD_NAME: &std::ffi::CStr = c"people";

/// The records, as map_normalfile1 makes them: `a` aged 20, `b` aged 21, ... `j` aged 29.
pub fn records() -> [People; RECORDS] {
    let mut all = [People::default(); RECORDS];
    for (i, p) in (0u8..).zip(all.iter_mut()) {
        p.set_name(&[b'a' + i]);
        p.age = 20 + i32::from(i);
    }
    all
}

/// The longest socket path a `sockaddr_un` holds: `sun_path` is 108 bytes on Linux, 104 on
/// the BSDs and macOS, with room for the NUL.
#[cfg(target_os = "linux")]
pub const MAX_SOCKET_PATH: usize = 107;
#[cfg(not(target_os = "linux"))]
pub const MAX_SOCKET_PATH: usize = 103;

/// Where the writer listens: a path in the file system, or (Linux only) a name in the abstract
/// namespace, written `@name`, which is no file at all and vanishes with the last descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socket {
    Path(std::path::PathBuf),
    Abstract(Vec<u8>),
}

impl Socket {
    /// clap's parser for the SOCKET argument.
    pub fn parse(s: &str) -> Result<Socket, String> {
        if let Some(name) = s.strip_prefix('@') {
            if !cfg!(target_os = "linux") {
                return Err("an abstract socket name (@...) is Linux's; give a path".into());
            }
            if name.is_empty() || name.len() > MAX_SOCKET_PATH - 1 {
                return Err(format!("@ and 1 to {} bytes", MAX_SOCKET_PATH - 1));
            }
            return Ok(Socket::Abstract(name.as_bytes().to_vec()));
        }
        if s.is_empty() || s.len() > MAX_SOCKET_PATH {
            return Err(format!(
                "a socket path is 1 to {MAX_SOCKET_PATH} bytes (sockaddr_un's sun_path); \
                 this one is {}",
                s.len()
            ));
        }
        Ok(Socket::Path(s.into()))
    }

    /// The address for `bind` and `connect`.
    pub fn addr(&self) -> rustix::io::Result<rustix::net::SocketAddrUnix> {
        match self {
            Socket::Path(path) => rustix::net::SocketAddrUnix::new(path.as_path()),
            #[cfg(target_os = "linux")]
            Socket::Abstract(name) => rustix::net::SocketAddrUnix::new_abstract_name(name),
            #[cfg(not(target_os = "linux"))]
            Socket::Abstract(_) => Err(rustix::io::Errno::NOSYS),
        }
    }
}

impl fmt::Display for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Socket::Path(path) => write!(f, "{}", path.display()),
            Socket::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
        }
    }
}

/// The seals the writer adds: the size can neither shrink nor grow, the content can no longer
/// be written, and no seal can be added or removed after these.
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub const SEALS: rustix::fs::SealFlags = rustix::fs::SealFlags::SHRINK
    .union(rustix::fs::SealFlags::GROW)
    .union(rustix::fs::SealFlags::WRITE)
    .union(rustix::fs::SealFlags::SEAL);

/// Seals as C names them: `F_SEAL_SHRINK | F_SEAL_GROW`, or `none`.
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub fn seal_names(seals: rustix::fs::SealFlags) -> String {
    use rustix::fs::SealFlags;
    let known = [
        (SealFlags::SHRINK, "F_SEAL_SHRINK"),
        (SealFlags::GROW, "F_SEAL_GROW"),
        (SealFlags::WRITE, "F_SEAL_WRITE"),
        (SealFlags::SEAL, "F_SEAL_SEAL"),
    ];
    let mut names: Vec<String> = known
        .iter()
        .filter(|(flag, _)| seals.contains(*flag))
        .map(|(_, name)| (*name).to_string())
        .collect();
    let rest = seals.bits() & !known.iter().fold(0, |all, (flag, _)| all | flag.bits());
    if rest != 0 {
        // F_SEAL_FUTURE_WRITE (0x10), F_SEAL_EXEC (0x20), and any later one.
        names.push(format!("{rest:#x}"));
    }
    if names.is_empty() {
        "none".into()
    } else {
        names.join(" | ")
    }
}

/// The `main` of a memfd program where there is no memfd (macOS): one line, exit 1.
#[macro_export]
macro_rules! no_memfd {
    () => {{
        let prog = env!("CARGO_BIN_NAME");
        eprintln!(
            "{prog}: memfd_create is not available on {}; the near-equivalent is shm_open with a \
             random name and shm_unlink at once (docs/src/memfd_share.md)",
            std::env::consts::OS
        );
        std::process::exit(1)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_a_to_j_aged_20_to_29() {
        let all = records();
        assert_eq!(all[0].name(), b"a");
        assert_eq!(all[0].age, 20);
        assert_eq!(all[9].name(), b"j");
        assert_eq!(all[9].age, 29);
        assert_eq!(SIZE, 80);
    }

    #[test]
    fn socket_argument() {
        assert_eq!(Socket::parse("/tmp/s"), Ok(Socket::Path("/tmp/s".into())));
        assert!(Socket::parse("").is_err());
        assert!(Socket::parse(&"x".repeat(MAX_SOCKET_PATH + 1)).is_err());
        #[cfg(target_os = "linux")]
        assert_eq!(Socket::parse("@s"), Ok(Socket::Abstract(b"s".to_vec())));
        assert!(Socket::parse("@").is_err());
    }

    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    #[test]
    fn seals_by_their_c_names() {
        use rustix::fs::SealFlags;
        assert_eq!(seal_names(SealFlags::empty()), "none");
        assert_eq!(
            seal_names(SEALS),
            "F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL"
        );
        assert_eq!(
            seal_names(SealFlags::SHRINK | SealFlags::from_bits_retain(0x20)),
            "F_SEAL_SHRINK | 0x20"
        );
    }
}
