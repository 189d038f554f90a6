//! `memfd_share::by_hand` (descriptor passing with the libc crate alone) against the real
//! programs, which use rustix: the same bytes on the socket, in both directions.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};

use memfd_share::{SEALS, SIZE, by_hand, records};
use rustix::fs::{MemfdFlags, fcntl_add_seals, fcntl_get_seals, memfd_create};

const WRITER: &str = env!("CARGO_BIN_EXE_memfd_write");
const READER: &str = env!("CARGO_BIN_EXE_memfd_read");

/// What memfd_read prints for the sealed people object.
fn reader_output() -> String {
    let mut out = format!(
        "received a descriptor: {SIZE} bytes, seals: {}\n",
        memfd_share::seal_names(SEALS)
    );
    for p in records() {
        out.push_str(&format!("name: {} age {};\n", p.name_lossy(), p.age));
    }
    out
}

#[test]
fn libc_receives_what_memfd_write_sends() {
    let name = format!("@shm-by-example.t.{:08x}", common::random_u32());
    let mut writer = testkit::Background::spawn(
        WRITER,
        &[OsStr::new(&name), "--count".as_ref(), "1".as_ref()],
    );
    writer.line();
    writer.line();
    let sock = UnixStream::connect_addr(
        &<std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(&name[1..])
            .unwrap(),
    )
    .unwrap();
    let fd = by_hand::recv_fd(sock.as_fd()).unwrap();
    assert_eq!(fcntl_get_seals(&fd).unwrap(), SEALS);
    let mut file = std::fs::File::from(fd);
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes, bytemuck::cast_slice::<_, u8>(&records()));
    assert!(writer.line().starts_with("sent the descriptor to pid "));
    assert!(writer.finish().status.success());
}

#[test]
fn memfd_read_receives_what_libc_sends() {
    let dir = testkit::disk_dir(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.path().join("by_hand.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let fd = memfd_create(c"people", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    let file = std::fs::File::from(fd);
    std::os::unix::fs::FileExt::write_all_at(&file, bytemuck::cast_slice(&records()), 0).unwrap();
    fcntl_add_seals(&file, SEALS).unwrap();
    let reader = Command::new(READER)
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (conn, _) = listener.accept().unwrap();
    by_hand::send_fd(conn.as_fd(), file.as_fd()).unwrap();
    let out = reader.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), reader_output());
    assert!(out.status.success());
}
