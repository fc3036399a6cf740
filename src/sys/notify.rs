//! The sd_notify socket (`--notify`): a Unix datagram socket whose address
//! the command finds in `NOTIFY_SOCKET`, as systemd offers one. Non-blocking,
//! close-on-exec, with `SO_PASSCRED`, so the kernel attaches the sender's real
//! pid to every datagram (`SCM_CREDENTIALS`; an unprivileged sender cannot
//! claim another pid).
//!
//! Where it lives: a filesystem socket, `notify` in a directory of vigil's
//! own (`vigil-<pid>-<tag>`, mode 0700, so only vigil's user and root can
//! send) under `$XDG_RUNTIME_DIR`, `/run` or `/tmp`, the first where vigil
//! may create it; both are removed on drop. Without any (a `FROM scratch`
//! image, a read-only root file system) an abstract socket,
//! `@vigil-notify-<pid>-<tag>`, which needs no file system but which any
//! process of the network namespace can reach: the supervisor listens to
//! the command's process group only either way.
//!
//! Datagrams are bounded by the caller's buffer (`MAX_DATAGRAM`): a longer
//! one is cut by the kernel (`MSG_TRUNC`) and skipped whole. File
//! descriptors sent along (`BARRIER=1`, `FDSTORE=1`) find no room in the
//! control buffer, which holds the credentials only, so the kernel closes
//! them: none reaches vigil, and a sender waiting on its barrier is released.

use nix::sys::socket::{
    bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, UnixAddr,
};
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The largest datagram taken; systemd's own limit is about the same page.
pub(crate) const MAX_DATAGRAM: usize = 4096;

/// The control buffer: room for exactly one `ucred`, nothing more.
// SAFETY: CMSG_SPACE only computes a size from its argument.
const CRED_SPACE: usize = unsafe { libc::CMSG_SPACE(size_of::<libc::ucred>() as u32) } as usize;
// SAFETY: as above, CMSG_LEN only computes a size.
const CRED_LEN: usize = unsafe { libc::CMSG_LEN(size_of::<libc::ucred>() as u32) } as usize;

/// Aligned storage for the control buffer (cmsghdr wants its alignment).
#[repr(C, align(8))]
struct Control([u8; CRED_SPACE]);

#[derive(Debug)]
pub(crate) struct NotifySocket {
    fd: OwnedFd,
    /// The `NOTIFY_SOCKET` value: the path, or `@name` when abstract.
    name: OsString,
    /// The directory vigil made for the socket (`None`: abstract).
    dir: Option<PathBuf>,
    /// Datagrams skipped as longer than the caller's buffer.
    oversized: u64,
}

/// Base directories to try, in order.
fn base_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(xdg) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        if xdg.is_absolute() {
            dirs.push(xdg);
        }
    }
    dirs.push(PathBuf::from("/run"));
    dirs.push(PathBuf::from("/tmp"));
    dirs
}

/// `<pid>-<tag>`: unique per vigil, and across restarts of a container
/// (vigil is pid 1 every time; a stale directory may survive in /tmp).
fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{:x}", std::process::id(), nanos as u64)
}

impl NotifySocket {
    /// A socket in a private directory of the first base that takes one,
    /// or an abstract one.
    pub(crate) fn new() -> io::Result<NotifySocket> {
        NotifySocket::in_dirs(&base_dirs())
    }

    /// As `new`, trying `bases` in order; none (or none usable): abstract.
    pub(crate) fn in_dirs(bases: &[PathBuf]) -> io::Result<NotifySocket> {
        let fd = socket(
            AddressFamily::Unix,
            SockType::Datagram,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        setsockopt(&fd, sockopt::PassCred, &true)?;
        let unique = unique_name();
        for base in bases {
            let dir = base.join(format!("vigil-{unique}"));
            if let Ok(path) = bind_in(&fd, &dir) {
                return Ok(NotifySocket {
                    fd,
                    name: path.into_os_string(),
                    dir: Some(dir),
                    oversized: 0,
                });
            }
        }
        let name = format!("vigil-notify-{unique}");
        bind(fd.as_raw_fd(), &UnixAddr::new_abstract(name.as_bytes())?)?;
        Ok(NotifySocket {
            fd,
            name: format!("@{name}").into(),
            dir: None,
            oversized: 0,
        })
    }

    /// `--user`: the command's user owns the private directory and the
    /// socket, so it can still send (and nobody else can). An abstract
    /// socket has no owner.
    pub(crate) fn give_to(&self, uid: u32, gid: u32) -> io::Result<()> {
        if let Some(dir) = &self.dir {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
            std::os::unix::fs::chown(&self.name, Some(uid), Some(gid))?;
        }
        Ok(())
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The value of `NOTIFY_SOCKET` for the command.
    pub(crate) fn path_for_env(&self) -> OsString {
        self.name.clone()
    }

    /// How many datagrams were skipped as too long since the last call.
    pub(crate) fn take_oversized(&mut self) -> u64 {
        std::mem::take(&mut self.oversized)
    }

    /// The next datagram and its sender's pid (0: not in vigil's pid
    /// namespace); `None` when there is none left (EAGAIN). Datagrams longer
    /// than `buf` are skipped and counted (`take_oversized`).
    pub(crate) fn recv<'b>(&mut self, buf: &'b mut [u8]) -> io::Result<Option<(i32, &'b [u8])>> {
        loop {
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut control = Control([0; CRED_SPACE]);
            // SAFETY: msghdr is plain old data; all-zero is a valid empty one.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.0.as_mut_ptr().cast();
            msg.msg_controllen = CRED_SPACE as _;
            // SAFETY: msg points at `iov` (over `buf`, `buf.len()` bytes) and at
            // `control` (CRED_SPACE bytes), all live and writable for the call.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
            if n < 0 {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::WouldBlock => return Ok(None),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(err),
                }
            }
            if msg.msg_flags & libc::MSG_TRUNC != 0 {
                self.oversized += 1;
                continue;
            }
            let pid = sender_pid(&msg);
            return Ok(Some((pid, &buf[..n as usize])));
        }
    }
}

/// The pid in the `SCM_CREDENTIALS` that `recvmsg` wrote into `msg`'s
/// control buffer (0 when there is none).
fn sender_pid(msg: &libc::msghdr) -> i32 {
    // SAFETY: `msg` was filled by recvmsg; CMSG_FIRSTHDR reads only its
    // control pointer and length, and returns null when no header fits.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    if cmsg.is_null() {
        return 0;
    }
    // SAFETY: non-null, so it points at a whole cmsghdr inside the control
    // buffer, which is aligned for it.
    let hdr = unsafe { &*cmsg };
    if hdr.cmsg_level != libc::SOL_SOCKET
        || hdr.cmsg_type != libc::SCM_CREDENTIALS
        || (hdr.cmsg_len as usize) < CRED_LEN
    {
        return 0;
    }
    // SAFETY: the header's length covers a whole ucred after it; it is read
    // unaligned, as CMSG_DATA promises no alignment for the payload type.
    let cred: libc::ucred = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
    cred.pid
}

/// Makes `dir` (0700) and binds `fd` to `dir/notify`; undoes the directory
/// on failure.
fn bind_in(fd: &OwnedFd, dir: &Path) -> io::Result<PathBuf> {
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    let path = dir.join("notify");
    let bound = UnixAddr::new(&path).and_then(|addr| bind(fd.as_raw_fd(), &addr));
    match bound {
        Ok(()) => Ok(path),
        Err(e) => {
            let _ = std::fs::remove_dir(dir);
            Err(e.into())
        }
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_file(dir.join("notify"));
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The process group of `pid`, `None` when it is gone or unknown (pid 0 from
/// another pid namespace must not become `getpgid(0)`, vigil's own group).
pub(crate) fn process_group(pid: i32) -> Option<i32> {
    if pid <= 0 {
        return None;
    }
    nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid)))
        .ok()
        .map(|pg| pg.as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{sendto, MsgFlags};

    fn temp_base(name: &str) -> PathBuf {
        let base = std::env::temp_dir().join(format!("vigil-notify-test-{name}-{}", unique_name()));
        std::fs::create_dir_all(&base).unwrap();
        base
    }

    /// What `NOTIFY_SOCKET` names, as sd_notify reads it.
    fn address(sock: &NotifySocket) -> UnixAddr {
        let name = sock.path_for_env().into_string().unwrap();
        match name.strip_prefix('@') {
            Some(abs) => UnixAddr::new_abstract(abs.as_bytes()).unwrap(),
            None => UnixAddr::new(name.as_str()).unwrap(),
        }
    }

    fn client() -> OwnedFd {
        socket(
            AddressFamily::Unix,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap()
    }

    /// Sends `payload` to `sock` from a socket of the test's own.
    fn send(sock: &NotifySocket, payload: &[u8]) {
        let to = address(sock);
        sendto(client().as_raw_fd(), payload, &to, MsgFlags::empty()).unwrap();
    }

    fn own_pid() -> i32 {
        std::process::id() as i32
    }

    #[test]
    fn a_datagram_comes_with_its_senders_pid() {
        let base = temp_base("path");
        let mut sock = NotifySocket::in_dirs(std::slice::from_ref(&base)).unwrap();
        let path = PathBuf::from(sock.path_for_env());
        assert!(path.starts_with(&base), "{path:?}");
        let dir = path.parent().unwrap().to_path_buf();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let mut buf = [0u8; MAX_DATAGRAM];
        assert_eq!(sock.recv(&mut buf).unwrap(), None);
        send(&sock, b"READY=1\nSTATUS=up");
        send(&sock, b"");
        assert_eq!(
            sock.recv(&mut buf).unwrap(),
            Some((own_pid(), &b"READY=1\nSTATUS=up"[..]))
        );
        assert_eq!(sock.recv(&mut buf).unwrap(), Some((own_pid(), &b""[..])));
        assert_eq!(sock.recv(&mut buf).unwrap(), None);
        assert_eq!(
            process_group(own_pid()),
            Some(nix::unistd::getpgrp().as_raw())
        );
        assert_eq!(process_group(0), None);
        assert_eq!(process_group(-1), None);
        drop(sock);
        assert!(!dir.exists(), "removed on drop");
        std::fs::remove_dir(&base).unwrap();
    }

    #[test]
    fn without_a_usable_directory_it_is_abstract() {
        let missing = PathBuf::from("/nonexistent-vigil-base/deeper");
        // A path longer than sun_path holds: its directory is undone.
        let long = temp_base(&"x".repeat(80));
        let mut sock = NotifySocket::in_dirs(&[missing, long.clone()]).unwrap();
        let name = sock.path_for_env().into_string().unwrap();
        assert!(name.starts_with("@vigil-notify-"), "{name}");
        assert_eq!(std::fs::read_dir(&long).unwrap().count(), 0);
        std::fs::remove_dir(&long).unwrap();
        send(&sock, b"WATCHDOG=1");
        let mut buf = [0u8; MAX_DATAGRAM];
        assert_eq!(
            sock.recv(&mut buf).unwrap(),
            Some((own_pid(), &b"WATCHDOG=1"[..]))
        );
    }

    #[test]
    fn oversized_datagrams_are_skipped_whole_and_counted() {
        let mut sock = NotifySocket::in_dirs(&[]).unwrap();
        send(&sock, &vec![b'x'; MAX_DATAGRAM + 1]);
        send(&sock, &vec![b'y'; MAX_DATAGRAM]);
        send(&sock, b"READY=1");
        let mut buf = [0u8; MAX_DATAGRAM];
        let (pid, got) = sock.recv(&mut buf).unwrap().unwrap();
        assert_eq!((pid, got.len()), (own_pid(), MAX_DATAGRAM));
        assert!(got.iter().all(|&b| b == b'y'));
        assert_eq!(
            sock.recv(&mut buf).unwrap(),
            Some((own_pid(), &b"READY=1"[..]))
        );
        assert_eq!(sock.take_oversized(), 1);
        assert_eq!(sock.take_oversized(), 0);
    }

    #[test]
    fn nul_bytes_and_invalid_utf8_arrive_as_sent() {
        let mut sock = NotifySocket::in_dirs(&[]).unwrap();
        let payload = b"READY=1\0STATUS=\xff\xfe\n\0";
        send(&sock, payload);
        let mut buf = [0u8; MAX_DATAGRAM];
        assert_eq!(
            sock.recv(&mut buf).unwrap(),
            Some((own_pid(), &payload[..]))
        );
    }

    #[test]
    fn file_descriptors_sent_along_are_closed_by_the_kernel() {
        // BARRIER=1 as sd_notify_barrier sends it: the write end of a pipe,
        // whose reader waits until every copy is closed.
        let mut sock = NotifySocket::in_dirs(&[]).unwrap();
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        let client = client();
        let addr = address(&sock);
        let payload = b"BARRIER=1";
        let mut iov = libc::iovec {
            iov_base: payload.as_ptr() as *mut _,
            iov_len: payload.len(),
        };
        // SAFETY: CMSG_SPACE only computes a size.
        let space = unsafe { libc::CMSG_SPACE(size_of::<i32>() as u32) } as usize;
        let mut control = vec![0u64; space.div_ceil(8)];
        // SAFETY: msghdr is plain old data; all-zero is a valid empty one.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = addr.as_ptr() as *mut _;
        msg.msg_namelen = nix::sys::socket::SockaddrLike::len(&addr);
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer has room for one header and one int.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<i32>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), write_end.as_raw_fd());
        }
        // SAFETY: msg points at live buffers (address, payload, control).
        let sent = unsafe { libc::sendmsg(client.as_raw_fd(), &msg, 0) };
        assert_eq!(sent, payload.len() as isize);
        drop(write_end);
        let mut buf = [0u8; MAX_DATAGRAM];
        assert_eq!(
            sock.recv(&mut buf).unwrap(),
            Some((own_pid(), &payload[..]))
        );
        // Every copy of the write end is gone: the reader sees the end.
        let mut byte = [0u8; 1];
        assert_eq!(nix::unistd::read(read_end.as_raw_fd(), &mut byte), Ok(0));
    }
}
