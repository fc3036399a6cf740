//! Socket options the standard library and mio do not offer.

use nix::sys::socket::{getsockopt, setsockopt, sockopt};
use std::io;
use std::os::fd::AsFd;
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
pub(crate) fn peer_credentials(sock: &impl AsFd) -> io::Result<(i32, u32)> {
    let cred = getsockopt(sock, sockopt::PeerCredentials).map_err(io::Error::from)?;
    Ok((cred.pid(), cred.uid()))
}
