//! Taking over signal handling: vigil blocks every signal and reads them from
//! a `signalfd`, so a signal that arrives at any time after start-up is queued
//! by the kernel and never lost, and no handler code runs asynchronously.
//! Blocked signals are queued even for PID 1, whose default-action signals the
//! kernel would otherwise drop.

use nix::errno::Errno;
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::io;

/// What vigil inherited and must give back to the command before `exec`.
#[derive(Clone)]
pub struct Inherited {
    pub mask: SigSet,
    pub sigchld_ignored: bool,
}

/// Blocks every signal (the synchronous faults too: the kernel still delivers a
/// real fault with its default action) and makes sure SIGCHLD is not ignored,
/// since an ignored SIGCHLD makes the kernel reap children before vigil can
/// read their status. Returns what must be restored in the command.
pub fn take_over() -> io::Result<Inherited> {
    let mut mask = SigSet::empty();
    signal::sigprocmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut mask),
    )?;
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: installing SIG_DFL runs no code of ours in signal context, and
    // vigil has no other thread that could race on the disposition.
    let old = unsafe { signal::sigaction(Signal::SIGCHLD, &default) }?;
    Ok(Inherited {
        mask,
        sigchld_ignored: old.handler() == SigHandler::SigIgn,
    })
}

/// A non-blocking, close-on-exec signalfd for every signal.
pub fn signal_fd() -> io::Result<SignalFd> {
    Ok(SignalFd::with_flags(
        &SigSet::all(),
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )?)
}

/// Reads every queued signal number until the fd would block.
pub fn drain(fd: &mut SignalFd, out: &mut Vec<i32>) -> io::Result<()> {
    loop {
        match fd.read_signal() {
            Ok(Some(info)) => out.push(info.ssi_signo as i32),
            Ok(None) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
