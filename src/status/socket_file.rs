//! The status socket's file, made so that whoever can write its directory
//! can neither redirect vigil's `chown`/`chmod` (root's) onto another file
//! nor connect before the mode and group are set:
//!
//! 1. the target path is checked: a live socket is refused, a stale one
//!    (or a symlink) will be replaced, anything else is refused;
//! 2. a fresh directory, mode 0700, is made next to the target (same
//!    directory, so `rename` works) and opened by descriptor (not a symlink,
//!    vigil's own, 0700: only vigil can write in it);
//! 3. the socket is bound in it (through `/proc/self/fd/N`, so a directory
//!    swapped in under the same name changes nothing), and its group and
//!    mode are set there, relative to that descriptor;
//! 4. it is renamed into place: atomic, and a symlink planted at the target
//!    is replaced, never followed; the directory is removed.

use mio::net::UnixListener;
use nix::fcntl::renameat;
use nix::sys::stat::{fchmodat, FchmodatFlags, Mode};
use nix::unistd::{fchownat, unlinkat, Gid, UnlinkatFlags};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The socket's name inside the private directory.
const NAME: &str = "s";
/// The longest path a client can connect to (`sun_path` less its NUL).
const MAX_PATH: usize = 107;

/// The socket's file: its directory made, a stale socket (or a symlink)
/// replaced, a live one refused, its mode and (`--socket-group`) group set
/// before it appears at `path`. Errors name the path and the reason (exit 2
/// at start-up).
pub(crate) fn bind(path: &Path, mode: u32, group: Option<u32>) -> Result<UnixListener, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", path.display());
    // Bound through a short path and renamed, it could be longer than a
    // client can connect to: refused, as a bind there would be.
    if path.as_os_str().len() > MAX_PATH {
        return Err(fail(
            "cannot listen",
            &format!("the path is over {MAX_PATH} bytes, a Unix socket's limit"),
        ));
    }
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .map_err(|e| {
                    fail(
                        &format!("cannot create the directory {}", dir.display()),
                        &e,
                    )
                })?;
            dir.to_path_buf()
        }
        None => PathBuf::from("."),
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(fail(
                    "another process answers on this socket (is another vigil running?)",
                    &"refusing to replace it",
                ));
            }
            // Stale: the rename below replaces it.
        }
        // Replaced by the rename, never followed.
        Ok(meta) if meta.file_type().is_symlink() => {}
        Ok(_) => {
            return Err(fail(
                "exists and is not a socket",
                &"refusing to replace it",
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail("cannot inspect the path", &e)),
    }
    let private = Private::make(&dir).map_err(|e| {
        fail(
            &format!("cannot make a private directory in {}", dir.display()),
            &e,
        )
    })?;
    let listener = private.bind().map_err(|e| fail("cannot listen", &e))?;
    let fd = Some(private.fd.as_raw_fd());
    if let Some(gid) = group {
        let nofollow = nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW;
        fchownat(fd, NAME, None, Some(Gid::from_raw(gid)), nofollow)
            .map_err(|e| fail(&format!("cannot give it to group {gid}"), &e))?;
    }
    let mode = Mode::from_bits_truncate(mode);
    fchmodat(fd, NAME, mode, FchmodatFlags::FollowSymlink)
        .map_err(|e| fail("cannot set its mode", &e))?;
    renameat(fd, NAME, None, path).map_err(|e| fail("cannot move it into place", &e))?;
    Ok(listener)
}

/// A directory only vigil can write to, removed (with the socket, should it
/// still be there) when dropped.
struct Private {
    path: PathBuf,
    fd: File,
}

impl Private {
    /// `DIR/.vigil-PID-N`, made fresh (a name that exists, whoever made it,
    /// is skipped, never reused) and opened without following a symlink;
    /// it must be a directory of vigil's own that nobody else can write.
    fn make(dir: &Path) -> io::Result<Private> {
        let mut n = 0u32;
        let path = loop {
            let path = dir.join(format!(".vigil-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => break path,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        };
        let fd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(&path);
        let private = match fd {
            Ok(fd) => Private { path, fd },
            Err(e) => {
                let _ = std::fs::remove_dir(&path);
                return Err(e);
            }
        };
        let meta = private.fd.metadata()?;
        if !meta.is_dir()
            || meta.uid() != nix::unistd::geteuid().as_raw()
            || meta.mode() & 0o077 != 0
        {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} was replaced while it was made", private.path.display()),
            ));
        }
        Ok(private)
    }

    /// Listens at `NAME` inside: through the descriptor where `/proc` is
    /// mounted (and a short path, whatever the target's length), else by
    /// path (then `fchmodat` on the descriptor finds no socket, should the
    /// directory have been swapped, and the start fails).
    fn bind(&self) -> io::Result<UnixListener> {
        let by_fd = PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()));
        match by_fd.is_dir() {
            true => UnixListener::bind(by_fd.join(NAME)),
            false => UnixListener::bind(self.path.join(NAME)),
        }
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        let fd = Some(self.fd.as_raw_fd());
        let _ = unlinkat(fd, NAME, UnlinkatFlags::NoRemoveDir);
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vigil-socket-file-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A symlink at the target (planted by whoever can write the directory)
    /// was refused at start, and planted between `listen` and `chmod` it made
    /// root chmod and chown its target. Now it is replaced, never followed,
    /// and the socket appears with its mode and group already set.
    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let dir = temp("symlink");
        let victim = dir.join("victim");
        std::fs::write(&victim, "secret").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let path = dir.join("run/vigil.sock");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let listener = bind(&path, 0o640, Some(4343)).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!((meta.mode() & 0o777, meta.gid()), (0o640, 4343));
        let victim_meta = std::fs::metadata(&victim).unwrap();
        assert_eq!((victim_meta.mode() & 0o777, victim_meta.gid()), (0o600, 0));
        // It answers there, and the private directory is gone.
        std::os::unix::net::UnixStream::connect(&path).unwrap();
        assert_eq!(entries(path.parent().unwrap()), ["vigil.sock"]);
        drop(listener);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stale_live_and_other_files() {
        let dir = temp("checks");
        let path = dir.join("vigil.sock");
        // A stale socket is replaced.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let live = bind(&path, 0o600, None).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        // A live one is refused, and so is a file that is not a socket.
        let err = bind(&path, 0o600, None).unwrap_err();
        assert!(err.contains("another process answers"), "{err}");
        drop(live);
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "data").unwrap();
        let err = bind(&path, 0o600, None).unwrap_err();
        assert!(err.contains("exists and is not a socket"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "data");
        // A path no client could connect to is refused.
        let long = dir.join("x".repeat(120));
        let err = bind(&long, 0o600, None).unwrap_err();
        assert!(err.contains("over 107 bytes"), "{err}");
        // A name taken in the directory (by anyone) is skipped, not reused.
        std::fs::remove_file(&path).unwrap();
        let taken = dir.join(format!(".vigil-{}-0", std::process::id()));
        std::fs::create_dir(&taken).unwrap();
        std::fs::set_permissions(&taken, std::fs::Permissions::from_mode(0o777)).unwrap();
        let _l = bind(&path, 0o660, None).unwrap();
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_socket());
        assert!(entries(&taken).is_empty());
        assert_eq!(entries(&dir).len(), 2, "{:?}", entries(&dir));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
