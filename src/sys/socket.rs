//! Socket options the standard library and mio do not offer.

use nix::sys::socket::{setsockopt, sockopt};
use std::io;
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
