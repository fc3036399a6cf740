//! Process-level calls: reaping, signalling, prctl settings.

use crate::exit_status::ChildStatus;
use nix::errno::Errno;
use std::io;

/// Reaps every child that has ended (`waitpid(-1, WNOHANG)` until nothing is
/// left), the command, its orphans and probe processes alike. The raw status
/// is decoded here: a child killed by a real-time signal is an end like any
/// other (nix's `waitpid` returns an error for it after the kernel has already
/// reaped the child, which would lose its status and stop the loop).
pub(crate) fn reap_all(out: &mut Vec<(i32, ChildStatus)>) {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a live int for the kernel to write.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            // Without WUNTRACED/WCONTINUED only ends are reported.
            if let Some(end) = ChildStatus::from_raw(status) {
                out.push((pid, end));
            }
        } else if pid == 0 || Errno::last() != Errno::EINTR {
            return; // nothing more has ended, or ECHILD: no children at all
        }
    }
}

/// `kill(2)` with a raw signal number, so real-time signals work too.
/// `pid` < 0 addresses a process group.
pub(crate) fn send_signal(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: kill has no memory-safety preconditions; it only takes integers.
    let rc = unsafe { libc::kill(pid, sig) };
    Errno::result(rc).map(drop)
}

/// Whether any process (zombies included) is still in process group `pgid`.
pub(crate) fn group_exists(pgid: i32) -> bool {
    !matches!(send_signal(-pgid, 0), Err(Errno::ESRCH))
}

/// Whether vigil's own process group holds the terminal on stdin: only then
/// is the terminal vigil's to give to the command (in a shell's background
/// job it is the shell's).
pub(crate) fn holds_terminal() -> bool {
    let stdin = std::io::stdin();
    nix::unistd::tcgetpgrp(&stdin).is_ok_and(|pg| pg == nix::unistd::getpgrp())
}

/// The command's group `pgid` held the terminal and has ended: vigil takes it
/// back, so Ctrl-C while it waits to restart reaches vigil, not an empty group.
/// (Signals are blocked, so SIGTTOU does not stop vigil.)
pub(crate) fn take_terminal_back(pgid: i32) {
    let stdin = std::io::stdin();
    if nix::unistd::tcgetpgrp(&stdin).is_ok_and(|pg| pg.as_raw() == pgid) {
        let _ = nix::unistd::tcsetpgrp(&stdin, nix::unistd::getpgrp());
    }
}

/// Stops vigil itself (SIGSTOP, which cannot be blocked) until a SIGCONT;
/// as PID 1 of a namespace the kernel ignores it.
pub(crate) fn stop_self() {
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
}

/// Lets go of the controlling terminal on stdin (TIOCNOTTY), so the
/// command's new session can take it. `None`: there was none to let go of;
/// `Some(true)`: vigil led its session, so the kernel has just sent it a
/// SIGHUP and a SIGCONT (they wait, blocked, for the loop).
pub(crate) fn release_terminal() -> Option<bool> {
    // SAFETY: TIOCNOTTY takes no argument; fd 0 is at worst not a terminal
    // (ENOTTY) or closed (EBADF), both reported as errors.
    let rc = unsafe { libc::ioctl(0, libc::TIOCNOTTY) };
    if rc < 0 {
        return None;
    }
    Some(nix::unistd::getsid(None).ok() == Some(nix::unistd::getpid()))
}

/// Moves vigil to `/`, so it keeps no mount busy; the command and exec
/// probes still start in the directory vigil was started in (`spawn`).
pub(crate) fn leave_working_directory() -> io::Result<()> {
    std::env::set_current_dir("/")
}

/// Registers vigil as a child subreaper, so orphans of its descendants are
/// re-parented to it even when it is not PID 1.
pub(crate) fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag, no pointers.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    Errno::result(rc).map(drop).map_err(io::Error::from)
}

/// Whether vigil is a child subreaper already: the attribute survives `exec`,
/// so the parent may have set it before starting vigil (tini's test harness
/// does, and so can any supervisor).
pub(crate) fn is_child_subreaper() -> io::Result<bool> {
    let mut bit: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int through its pointer
    // argument, here `bit`, which lives across the call.
    let rc = unsafe {
        libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut bit as *mut libc::c_int as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    Errno::result(rc).map(|_| bit != 0).map_err(io::Error::from)
}

/// Asks the kernel to send `sig` to vigil when its parent dies.
pub(crate) fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number, no pointers.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
    Errno::result(rc).map(drop).map_err(io::Error::from)
}

/// The soft limit on open files (`ulimit -n`), `None` when unlimited or unknown.
pub(crate) fn open_files_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into `lim`, which it owns.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}
