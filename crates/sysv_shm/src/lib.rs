//! System V shared memory between two unrelated processes: `sysv_write` creates a segment
//! under a key and writes one `people` record into it, `sysv_read` finds the segment by the
//! same key, prints the record and removes the segment. See `docs/src/sysv_shm.md`.
//!
//! What the two programs agree on lives here: how the key is chosen.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;

use common::{Context, Result, usage_error};

/// The notes' key: `shmget(1234, ...)`, `0x000004d2` in `ipcs -m`.
pub const DEFAULT_KEY: libc::key_t = 1234;

/// How the key is chosen: the notes' 1234, `--key`, or `ftok` (seed 004).
#[derive(clap::Args, Debug)]
pub struct KeyArgs {
    /// Key of the segment, decimal or 0x-hex [default: 1234, the notes' key]
    #[arg(long, value_name = "KEY", value_parser = parse_key, conflicts_with = "ftok")]
    key: Option<libc::key_t>,

    /// Make the key with ftok(PATH, PROJ_ID): an existing file and a number from 1 to 255
    #[arg(long, num_args = 2, value_names = ["PATH", "PROJ_ID"])]
    ftok: Option<Vec<OsString>>,
}

impl KeyArgs {
    /// The key, from `--key`, from `ftok(path, proj_id)`, or the notes' 1234. A bad PROJ_ID
    /// is a usage error (exit 2) for the parser `P`.
    pub fn key<P: clap::CommandFactory>(&self) -> Result<libc::key_t> {
        let Some([path, proj_id]) = self.ftok.as_deref() else {
            return Ok(self.key.unwrap_or(DEFAULT_KEY));
        };
        let proj_id = match proj_id.to_str().and_then(|s| s.parse::<u8>().ok()) {
            Some(id @ 1..) => id,
            _ => usage_error::<P>(format!(
                "--ftok PROJ_ID must be a number from 1 to 255, not {:?}",
                proj_id.to_string_lossy()
            )),
        };
        let c_path = CString::new(path.clone().into_vec()).map_err(|_| {
            common::Error::msg(
                format!("ftok {}", path.to_string_lossy()),
                "path contains a NUL byte",
            )
        })?;
        // key = ftok(path, proj_id): made from the file's inode and device numbers and the low
        // 8 bits of proj_id. The same file gives the same key to every process, for as long as
        // the file is not replaced by another.
        // SAFETY: `c_path` is NUL-terminated.
        let key = unsafe { libc::ftok(c_path.as_ptr(), libc::c_int::from(proj_id)) };
        if key == -1 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("ftok {}", path.to_string_lossy()));
        }
        Ok(key)
    }
}

/// `1234`, `0x4d2`: a key as `ipcs` shows it or as C writes it. 0 is `IPC_PRIVATE`, a request
/// for a new segment with no key, which another process cannot find: refused.
fn parse_key(s: &str) -> std::result::Result<libc::key_t, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).map(|k| k as libc::key_t),
        None => s.parse::<libc::key_t>(),
    };
    match parsed {
        Ok(0) => Err("0 is IPC_PRIVATE, which no other process can find".into()),
        Ok(key) => Ok(key),
        Err(e) => Err(e.to_string()),
    }
}

/// `0x000004d2`: a key as `ipcs -m` prints it.
pub fn key_hex(key: libc::key_t) -> String {
    format!("{:#010x}", key as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_as_ipcs_prints_them() {
        assert_eq!(parse_key("1234"), Ok(1234));
        assert_eq!(parse_key("0x4d2"), Ok(1234));
        assert_eq!(parse_key("0xffffffff"), Ok(-1));
        assert!(parse_key("0").is_err());
        assert!(parse_key("key").is_err());
        assert_eq!(key_hex(1234), "0x000004d2");
        assert_eq!(key_hex(-1), "0xffffffff");
    }
}
