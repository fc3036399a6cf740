//! Writing vigil's log to stderr without ever blocking. The command shares
//! vigil's stderr open file description, so its flags (O_NONBLOCK) must not
//! change; instead vigil opens its own description of the same pipe or
//! terminal (`/proc/self/fd/2`, non-blocking), sends with MSG_DONTWAIT on a
//! socket, and otherwise (a non-root vigil cannot reopen a pipe that root
//! owns) writes at most PIPE_BUF bytes, and only when `poll` says a pipe
//! buffer is free: such a write never waits.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

pub(crate) enum Stderr {
    /// A non-blocking description of our own for the pipe or terminal on fd 2.
    Own(File),
    /// A stream socket on fd 2 (journald): sent to with MSG_DONTWAIT.
    Socket,
    /// A file, or what could not be reopened: written when `poll` allows it,
    /// at most `PIPE_BUF` bytes at a time.
    Shared,
}

fn fd2() -> BorrowedFd<'static> {
    // SAFETY: fd 2 is never closed by vigil; a borrowed fd that is not open
    // makes each call fail with EBADF, which is handled like any write error.
    unsafe { BorrowedFd::borrow_raw(2) }
}

impl Stderr {
    pub(crate) fn open() -> Stderr {
        let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
            return Stderr::Shared;
        };
        let ft = meta.file_type();
        if ft.is_socket() {
            return Stderr::Socket;
        }
        if ft.is_fifo() || ft.is_char_device() {
            let own = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
                .open("/proc/self/fd/2");
            if let Ok(f) = own {
                return Stderr::Own(f);
            }
        }
        Stderr::Shared
    }

    /// The fd whose writability the event loop may wait for (a regular
    /// file cannot be waited for, but never makes a write wait either).
    pub(crate) fn pollable(&self) -> RawFd {
        match self {
            Stderr::Own(f) => f.as_raw_fd(),
            Stderr::Socket | Stderr::Shared => 2,
        }
    }

    /// Writes what fits now; `WouldBlock` when nothing does.
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stderr::Own(f) => f.write(buf),
            Stderr::Socket => nix::sys::socket::send(
                2,
                buf,
                nix::sys::socket::MsgFlags::MSG_DONTWAIT | nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
            )
            .map_err(io::Error::from),
            Stderr::Shared => {
                let mut fds = [nix::poll::PollFd::new(fd2(), nix::poll::PollFlags::POLLOUT)];
                match nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO) {
                    // With one free pipe buffer, up to PIPE_BUF bytes go in
                    // at once; a larger write could wait for the reader.
                    Ok(1) => nix::unistd::write(fd2(), &buf[..buf.len().min(libc::PIPE_BUF)])
                        .map_err(io::Error::from),
                    Ok(_) => Err(io::ErrorKind::WouldBlock.into()),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }
}
