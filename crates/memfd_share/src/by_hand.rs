//! Passing a descriptor with the libc crate alone, for comparison with the rustix calls the
//! programs use (`send_fd` in memfd_write.rs, `receive_fd` in memfd_read.rs). The same
//! `sendmsg`/`recvmsg`, with the control buffer built by hand as in C: `CMSG_SPACE`,
//! `CMSG_FIRSTHDR`, `CMSG_DATA`, each an `unsafe` pointer step. `docs/src/porting.md`
//! ("Shared memory with no name") weighs the two; `tests/by_hand.rs` runs these against the
//! real programs in both directions.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// A control buffer for one descriptor, aligned for `cmsghdr` (a `[u8; N]` would not be).
#[repr(C)]
union Control {
    header: libc::cmsghdr,
    bytes: [u8; 64],
}

/// The bytes `CMSG_SPACE(sizeof(int))` asks for; the buffer above must hold them.
fn space_for_one_fd() -> usize {
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    let space = unsafe { libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) } as usize;
    assert!(
        space <= size_of::<Control>(),
        "CMSG_SPACE({space}) > buffer"
    );
    space
}

/// `sendmsg(sock, {"M", 1}, SCM_RIGHTS {fd}, MSG_NOSIGNAL)`.
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut byte = *b"M";
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = Control { bytes: [0; 64] };
    let space = space_for_one_fd();
    // SAFETY: msghdr is plain data; all zeros is a valid (empty) value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = (&raw mut control).cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg_control points at `space` bytes, enough for one header: CMSG_FIRSTHDR
    // returns a pointer into them.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    // SAFETY: cmsghdr is plain data; all zeros is a valid value.
    let mut header: libc::cmsghdr = unsafe { std::mem::zeroed() };
    header.cmsg_level = libc::SOL_SOCKET;
    header.cmsg_type = libc::SCM_RIGHTS;
    // SAFETY: CMSG_LEN is arithmetic on its argument.
    header.cmsg_len = unsafe { libc::CMSG_LEN(size_of::<libc::c_int>() as u32) } as _;
    // SAFETY: `cmsg` is the first header of the buffer: aligned (the union) and writable.
    unsafe { cmsg.write(header) };
    // SAFETY: CMSG_DATA is arithmetic on a header pointer inside the buffer.
    let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<libc::c_int>();
    // SAFETY: the int after the header, inside the `space` bytes; maybe unaligned in
    // principle, hence write_unaligned.
    unsafe { data.write_unaligned(fd.as_raw_fd()) };
    // SAFETY: `msg` points at live buffers: the byte, the iovec and the control data.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if n == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `recvmsg(sock, 1 byte, room for one descriptor, MSG_CMSG_CLOEXEC)`: the descriptor, or an
/// error if none (or more than one) came.
pub fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = Control { bytes: [0; 64] };
    // SAFETY: msghdr is plain data; all zeros is a valid (empty) value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = (&raw mut control).cast();
    msg.msg_controllen = space_for_one_fd() as _;
    // SAFETY: `msg` points at live, writable buffers of the sizes it gives.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n == -1 {
        return Err(io::Error::last_os_error());
    }
    // Every descriptor that arrived must be taken, or it stays open in this process.
    let mut fds = Vec::new();
    // SAFETY: recvmsg filled msg_controllen bytes of the buffer; CMSG_FIRSTHDR and
    // CMSG_NXTHDR walk the headers inside them and return NULL at the end.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: a header inside the filled part of the buffer, aligned by CMSG_FIRSTHDR
        // and CMSG_NXTHDR.
        let header = unsafe { cmsg.read() };
        if header.cmsg_level == libc::SOL_SOCKET && header.cmsg_type == libc::SCM_RIGHTS {
            // SAFETY: CMSG_LEN is arithmetic.
            let data_len = header.cmsg_len as usize - unsafe { libc::CMSG_LEN(0) } as usize;
            // SAFETY: CMSG_DATA is arithmetic on a header pointer inside the buffer.
            let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<libc::c_int>();
            for i in 0..data_len / size_of::<libc::c_int>() {
                // SAFETY: the i-th int of this header's data, inside the filled buffer.
                let raw = unsafe { data.wrapping_add(i).read_unaligned() };
                // SAFETY: the kernel has just installed this descriptor for this process.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
        // SAFETY: as above: the next header, or NULL.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 || fds.len() > 1 {
        return Err(io::Error::other(
            "more than one descriptor arrived; refused",
        ));
    }
    fds.pop()
        .ok_or_else(|| io::Error::other("no descriptor arrived"))
}
