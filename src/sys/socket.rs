//! Socket options the standard library and mio do not offer.

use nix::sys::socket::{setsockopt, sockopt};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

/// SO_LINGER: `None` off; `Some(d)` on with `d` (zero resets the connection on close).
pub(crate) fn set_linger(sock: &impl AsFd, linger: Option<Duration>) -> io::Result<()> {
    let value = libc::linger {
        l_onoff: i32::from(linger.is_some()),
        l_linger: linger.map_or(0, |d| d.as_secs() as i32),
    };
    setsockopt(sock, sockopt::Linger, &value).map_err(io::Error::from)
}

/// SO_PEERCRED: the (pid, uid) of the process that connected to a Unix
/// socket, as the kernel recorded it at connect (pid 0: not in vigil's pid
/// namespace).
pub(crate) fn peer_credentials(sock: &impl AsRawFd) -> io::Result<(i32, u32)> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are live locals; getsockopt writes at most
    // `len` bytes into `cred` and the length it wrote into `len`.
    let ret = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((cred.pid, cred.uid))
}

/// recv(2) into a buffer that need not be initialized (no 4 KiB memset per
/// read): returns the bytes received, empty at the end of the stream.
pub(crate) fn recv<'a>(
    sock: &impl AsRawFd,
    buf: &'a mut [MaybeUninit<u8>],
) -> io::Result<&'a [u8]> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into the live
    // buffer `buf` during the call only.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: recv returned n <= buf.len(): the first n bytes are initialized.
    Ok(unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) })
}
