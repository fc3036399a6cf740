//! Starting the command: `clone(CLONE_VM | CLONE_VFORK)` + `exec` (what
//! `posix_spawn` does) with everything the child needs (argv, envp, candidate
//! paths, the signal state to restore) built before, so the child runs only
//! async-signal-safe calls until `exec`.
//!
//! `exec` failure is reported to vigil through a close-on-exec pipe (the errno
//! as four bytes), and the child exits 127 (not found) or 126 (found but not
//! executable), the shell convention tini follows.

use super::signals::Inherited;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// execvp's search path when PATH is unset.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A command ready to fork: every byte the child touches is allocated here.
pub struct Prepared {
    pub display: String,
    candidates: Vec<CString>,
    argv: Vec<CString>,
    envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    inherited: Inherited,
    foreground: bool,
}

fn cstring(bytes: Vec<u8>, what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte"),
        )
    })
}

fn null_terminated(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The paths execvp would try for `argv0`, keeping only those that exist
/// (the child still tries them in order and reports what exec says).
fn candidates(argv0: &OsStr, path: Option<&OsStr>) -> Vec<OsString> {
    if argv0.as_bytes().contains(&b'/') {
        return vec![argv0.to_os_string()];
    }
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    path.as_bytes()
        .split(|b| *b == b':')
        .map(|dir| {
            let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
            Path::new(OsStr::from_bytes(dir))
                .join(argv0)
                .into_os_string()
        })
        .filter(|p| Path::new(p).symlink_metadata().is_ok())
        .collect()
}

impl Prepared {
    /// `env` is the command's whole environment, in order.
    /// `foreground`: give the command the terminal on stdin.
    pub fn new(
        argv: &[OsString],
        env: &[(OsString, OsString)],
        inherited: Inherited,
        foreground: bool,
    ) -> io::Result<Prepared> {
        let argv0 = argv
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let path = env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_os_str());
        let candidates = candidates(argv0, path)
            .into_iter()
            .map(|p| cstring(p.into_vec(), "command path"))
            .collect::<io::Result<Vec<_>>>()?;
        let argv = argv
            .iter()
            .map(|a| cstring(a.clone().into_vec(), "an argument"))
            .collect::<io::Result<Vec<_>>>()?;
        let envp = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.clone().into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstring(kv, "an environment variable")
            })
            .collect::<io::Result<Vec<_>>>()?;
        let argv_ptrs = null_terminated(&argv);
        let envp_ptrs = null_terminated(&envp);
        Ok(Prepared {
            display: argv0.to_string_lossy().into_owned(),
            candidates,
            argv,
            envp,
            argv_ptrs,
            envp_ptrs,
            inherited,
            foreground,
        })
    }
}

impl Prepared {
    /// A command run from a known program path (found at start-up) rather than
    /// searched on PATH; never given the terminal.
    pub fn with_program(
        program: &str,
        argv: &mut [OsString],
        env: &[(OsString, OsString)],
        inherited: Inherited,
    ) -> io::Result<Prepared> {
        let mut p = Prepared::new(argv, env, inherited, false)?;
        p.candidates = vec![cstring(program.as_bytes().to_vec(), "program path")?];
        Ok(p)
    }
}

/// A started command. `exec_error` is the read end of the report pipe.
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
    exec_error: File,
}

impl Child {
    /// The errno of a failed exec, once the child has ended. Non-blocking:
    /// `None` when exec succeeded (or nothing was written).
    pub fn exec_error(&mut self) -> Option<io::Error> {
        let mut buf = [0u8; 4];
        match self.exec_error.read(&mut buf) {
            Ok(4) => Some(io::Error::from_raw_os_error(i32::from_ne_bytes(buf))),
            _ => None,
        }
    }
}

/// Where a child's standard streams go instead of vigil's own (exec probes:
/// stdin from /dev/null, stdout and stderr into one capture pipe).
#[derive(Debug, Clone, Copy)]
pub struct Redirect {
    pub stdin: RawFd,
    pub output: RawFd,
}

/// What the child needs, passed to it through `clone`'s argument.
struct ChildArgs<'a> {
    cmd: &'a Prepared,
    redirect: Option<Redirect>,
    report_fd: RawFd,
}

/// The child's stack: it only runs `exec_child` (a few syscalls, no
/// allocation, no formatting), far below this.
const CHILD_STACK: usize = 64 * 1024;

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` that `spawn` keeps alive on its stack
    // until the child has exec'd or exited (CLONE_VFORK suspends it until then).
    let args = unsafe { &*(arg as *const ChildArgs) };
    exec_child(args.cmd, args.redirect, args.report_fd)
}

/// Starts `cmd`, its stdio redirected when `redirect` is given, the way
/// `posix_spawn` does: `clone(CLONE_VM | CLONE_VFORK)` shares vigil's memory
/// (no page tables to copy: a fork cost ~100 us of vigil's CPU per restart or
/// exec probe) and suspends vigil until the child has exec'd or exited. The
/// caller has every signal blocked, so nothing can run in the child before it
/// restores the inherited mask, and vigil installs no signal handlers that
/// could run on the shared memory.
pub fn spawn(cmd: &Prepared, redirect: Option<Redirect>) -> io::Result<Child> {
    let (read_end, write_end): (OwnedFd, OwnedFd) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
    let args = ChildArgs {
        cmd,
        redirect,
        report_fd: write_end.as_raw_fd(),
    };
    let mut stack = vec![0u8; CHILD_STACK];
    // x86_64 and aarch64 stacks grow down: pass the (16-byte aligned) top.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;
    // SAFETY: the child runs `child_main` on its own stack (`stack`, alive
    // until clone returns, which with CLONE_VFORK is after the child exec'd or
    // exited) and touches only `args` (alive as long) and async-signal-safe
    // calls (see `exec_child`); it never returns into vigil's frames. vigil is
    // single-threaded, so no other thread sees the shared memory meanwhile.
    let pid = unsafe {
        libc::clone(
            child_main,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &args as *const ChildArgs as *mut libc::c_void,
        )
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    drop(stack);
    let child = nix::unistd::Pid::from_raw(pid);
    // The child makes its own process group too; doing it here as well (as
    // shells do) means the group exists when spawn returns, so a signal sent
    // to it at once (`-g`, a probe stop) cannot miss it. EACCES (the child
    // already exec'd) and ESRCH are fine.
    let _ = nix::unistd::setpgid(child, child);
    drop(write_end);
    Ok(Child {
        pid,
        exec_error: File::from(read_end),
    })
}

/// Runs in the child: async-signal-safe calls only, no allocation.
fn exec_child(cmd: &Prepared, redirect: Option<Redirect>, report_fd: RawFd) -> ! {
    // SAFETY: every call below is async-signal-safe (POSIX list: setpgid,
    // getpid, tcsetpgrp, dup2, sigaction via signal, sigprocmask, execve,
    // write, _exit); every pointer passed was built before fork and outlives
    // the calls (argv/envp arrays are NULL-terminated and point into CStrings
    // owned by `cmd`).
    unsafe {
        libc::setpgid(0, 0);
        if let Some(r) = redirect {
            // dup2 clears close-on-exec on the targets; the sources stay
            // close-on-exec and vanish at exec.
            libc::dup2(r.stdin, 0);
            libc::dup2(r.output, 1);
            libc::dup2(r.output, 2);
        }
        if cmd.foreground {
            // Errors (no controlling terminal) are fine: then there is no job control to give.
            libc::tcsetpgrp(0, libc::getpid());
        }
        if cmd.inherited.sigchld_ignored {
            libc::signal(libc::SIGCHLD, libc::SIG_IGN);
        }
        libc::sigprocmask(
            libc::SIG_SETMASK,
            cmd.inherited.mask.as_ref(),
            std::ptr::null_mut(),
        );
        let mut err = libc::ENOENT;
        let mut saw_eacces = false;
        for path in &cmd.candidates {
            libc::execve(
                path.as_ptr(),
                cmd.argv_ptrs.as_ptr(),
                cmd.envp_ptrs.as_ptr(),
            );
            err = Errno::last_raw();
            match err {
                libc::EACCES => saw_eacces = true,
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ELOOP | libc::ENAMETOOLONG => {}
                _ => break,
            }
        }
        if saw_eacces && err != libc::EACCES && matches!(err, libc::ENOENT | libc::ENOTDIR) {
            err = libc::EACCES;
        }
        let bytes = err.to_ne_bytes();
        libc::write(report_fd, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(if matches!(err, libc::ENOENT | libc::ENOTDIR) {
            127
        } else {
            126
        })
    }
}

// The raw pointers in `Prepared` point into its own CStrings.
impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("argv", &self.argv)
            .field("candidates", &self.candidates)
            .field("env_len", &self.envp.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_search() {
        let got = candidates(
            OsStr::new("sh"),
            Some(OsStr::new("/nonexistent:/bin:/usr/bin")),
        );
        assert!(!got.is_empty());
        assert!(got.iter().all(|p| Path::new(p).ends_with("sh")));
        assert!(candidates(OsStr::new("no-such-cmd-vigil"), Some(OsStr::new("/bin"))).is_empty());
        assert_eq!(
            candidates(OsStr::new("./x"), None),
            vec![OsString::from("./x")]
        );
        assert_eq!(
            candidates(OsStr::new("/a/b"), None),
            vec![OsString::from("/a/b")]
        );
    }
}
