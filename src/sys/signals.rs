//! Taking over signal handling: vigil blocks every signal and reads them from
//! a `signalfd`, so a signal that arrives at any time after start-up is queued
//! by the kernel and never lost, and no handler code runs asynchronously.
//! Blocked signals are queued even for PID 1, whose default-action signals the
//! kernel would otherwise drop.
//!
//! Masks are the kernel's own 64-bit sets, passed with raw system calls: the C
//! libraries' `sigfillset` leaves out the signals they keep for themselves
//! (glibc 32-33, musl 32-34), which would then kill vigil with their default
//! action, and musl's `sigprocmask` hides them from the mask it returns.
//!
//! Until the command exists, SIGINT and SIGTERM end vigil at once (a
//! configuration read from a FIFO or a slow file system would otherwise hold
//! them forever): `StartupStop` lets them through to a handler that exits.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A kernel signal set: bit N-1 stands for signal N (1-64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mask(pub u64);

impl Mask {
    pub(crate) const ALL: Mask = Mask(!0);

    pub(crate) fn of(signals: &[i32]) -> Mask {
        Mask(signals.iter().fold(0, |m, s| m | 1u64 << (s - 1)))
    }

    pub(crate) fn contains(self, sig: i32) -> bool {
        (1..=64).contains(&sig) && self.0 & (1u64 << (sig - 1)) != 0
    }
}

/// What vigil inherited and must give back to the command before `exec`.
#[derive(Debug, Clone)]
pub(crate) struct Inherited {
    pub mask: Mask,
    pub sigchld_ignored: bool,
}

/// `rt_sigprocmask` on the kernel's 8-byte set. `new` None only reads.
fn sigprocmask(how: libc::c_int, new: Option<Mask>) -> io::Result<Mask> {
    let mut old = 0u64;
    let new_ptr = new
        .as_ref()
        .map_or(std::ptr::null(), |m| &m.0 as *const u64);
    // SAFETY: both pointers are to live u64s (or null for "no new mask") and the
    // size passed is theirs, 8 bytes, the kernel's sigset size on Linux.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            how,
            new_ptr,
            &mut old as *mut u64,
            8usize,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Mask(old))
}

/// Sets the signal mask from the child between `clone` and `exec`: one raw
/// system call, async-signal-safe, no allocation.
pub(crate) fn restore_mask_in_child(mask: &Mask) {
    // SAFETY: as in `sigprocmask`: a live u64 and its size.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &mask.0 as *const u64,
            std::ptr::null_mut::<u64>(),
            8usize,
        );
    }
}

/// The current disposition of `sig` (SIG_DFL, SIG_IGN or a handler), unchanged.
fn disposition(sig: i32) -> io::Result<libc::sighandler_t> {
    // SAFETY: a null `act` only reads; `old` is a live, writable sigaction.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut old) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(old.sa_sigaction)
    }
}

fn set_disposition(sig: i32, handler: libc::sighandler_t) -> io::Result<libc::sighandler_t> {
    // SAFETY: an all-zero sigaction is valid (empty mask, no flags); the
    // handler is SIG_DFL, SIG_IGN or `exit_on_stop` below, which is
    // async-signal-safe. vigil has no other thread to race on dispositions.
    unsafe {
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = handler;
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, &new, &mut old) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(old.sa_sigaction)
    }
}

/// Blocks every signal (the synchronous faults too: the kernel still delivers a
/// real fault with its default action) and makes sure SIGCHLD is not ignored,
/// since an ignored SIGCHLD makes the kernel reap children before vigil can
/// read their status. Returns what must be restored in the command.
pub(crate) fn take_over() -> io::Result<Inherited> {
    let mask = sigprocmask(libc::SIG_SETMASK, Some(Mask::ALL))?;
    let old = set_disposition(libc::SIGCHLD, libc::SIG_DFL)?;
    Ok(Inherited {
        mask,
        sigchld_ignored: old == libc::SIG_IGN,
    })
}

/// Takes `signals` off the pending set, if they are pending (they are
/// blocked): the SIGHUP and SIGCONT the kernel sends a session leader that
/// lets go of its terminal are not the operator's.
pub(crate) fn discard_pending(signals: &[i32]) {
    let set = Mask::of(signals);
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    for _ in signals {
        // SAFETY: `set` is a live kernel sigset of 8 bytes (the size passed),
        // the info pointer may be null, `zero` is a live timespec: a poll
        // that returns at once with a pending signal of `set` or EAGAIN.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigtimedwait,
                &set.0 as *const u64,
                std::ptr::null_mut::<libc::siginfo_t>(),
                &zero as *const libc::timespec,
                8usize,
            )
        };
        if rc <= 0 {
            return;
        }
    }
}

/// The signals that end vigil while nothing has started.
const STARTUP_STOP: [i32; 2] = [libc::SIGINT, libc::SIGTERM];

extern "C" fn exit_on_stop(sig: libc::c_int) {
    let msg: &[u8] = if sig == libc::SIGINT {
        b"vigil: SIGINT before the command started: exiting\n"
    } else {
        b"vigil: SIGTERM before the command started: exiting\n"
    };
    // SAFETY: poll, write and _exit are async-signal-safe; `msg` is static
    // and `fds` a live local. The message is written only when it fits at
    // once (a stalled reader of stderr must not hold the exit up).
    unsafe {
        let mut fds = libc::pollfd {
            fd: 2,
            events: libc::POLLOUT,
            revents: 0,
        };
        if libc::poll(&mut fds, 1, 0) == 1 && fds.revents & libc::POLLOUT != 0 {
            libc::write(2, msg.as_ptr().cast(), msg.len());
        }
        libc::_exit(128 + sig);
    }
}

/// While alive, SIGINT and SIGTERM exit vigil at once with 128+N (the shell's
/// status for a death by that signal), as nothing has started that could
/// receive them. `end` blocks them again before the command starts; a signal
/// that arrives after that is queued for the signalfd as any other.
///
/// One that vigil's parent ignored (`sh -c 'vigil -- app &'` ignores SIGINT)
/// is left alone: still ignored, so the command inherits that as tini's does,
/// and blocked all along, so it is queued and forwarded like any other (a
/// blocked signal is never discarded for being ignored).
pub(crate) struct StartupStop {
    /// The signals given the exit handler, to be set back to SIG_DFL.
    handled: Mask,
}

impl StartupStop {
    pub(crate) fn begin() -> io::Result<StartupStop> {
        let mut handled = Mask(0);
        for sig in STARTUP_STOP {
            if disposition(sig)? == libc::SIG_IGN {
                continue;
            }
            set_disposition(
                sig,
                exit_on_stop as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )?;
            handled.0 |= Mask::of(&[sig]).0;
        }
        // A whole new mask, not an unblock: musl's sigaction unblocks the
        // signals it keeps for itself (33, 34) when the first handler is
        // installed, and they must stay blocked.
        sigprocmask(libc::SIG_SETMASK, Some(Mask(!handled.0)))?;
        Ok(StartupStop { handled })
    }

    pub(crate) fn end(self) -> io::Result<()> {
        sigprocmask(libc::SIG_SETMASK, Some(Mask::ALL))?;
        // A signal that arrived in between stays pending: SIG_DFL discards
        // only pending signals whose default is to be ignored. (Setting
        // SIG_IGN would discard it: the ignored ones are not touched.)
        for sig in STARTUP_STOP {
            if self.handled.contains(sig) {
                set_disposition(sig, libc::SIG_DFL)?;
            }
        }
        Ok(())
    }
}

/// One signal read from the signalfd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    pub signal: i32,
    /// The sending process (0 for the kernel, or a sender outside vigil's
    /// PID namespace).
    pub sender: i32,
    /// `si_code`: SI_USER (0) for kill(2) and for the kernel's own SIGPIPE and
    /// SIGXFSZ; another process cannot forge it with `rt_sigqueueinfo`.
    pub code: i32,
}

impl Received {
    /// Raised by vigil's own action (a write to a reader that left, past a
    /// file size limit), as opposed to sent by someone.
    pub(crate) fn raised_by(&self, own_pid: i32) -> bool {
        self.sender == own_pid && self.code == libc::SI_USER
    }
}

/// A non-blocking, close-on-exec signalfd for every signal.
pub(crate) struct SignalFd(OwnedFd);

impl SignalFd {
    pub(crate) fn new() -> io::Result<SignalFd> {
        let mask = Mask::ALL;
        // SAFETY: the mask pointer is to a live u64 and 8 is its size.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_signalfd4,
                -1,
                &mask.0 as *const u64,
                8usize,
                libc::SFD_NONBLOCK | libc::SFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: signalfd4 returned a new fd that nothing else owns.
        Ok(SignalFd(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }))
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Reads every queued signal until the fd would block.
    pub(crate) fn drain(&mut self, out: &mut Vec<Received>) -> io::Result<()> {
        const SIZE: usize = std::mem::size_of::<libc::signalfd_siginfo>();
        loop {
            // SAFETY: signalfd_siginfo is plain integers; all-zero is valid.
            let mut info: [libc::signalfd_siginfo; 8] = unsafe { std::mem::zeroed() };
            // SAFETY: the buffer is `info`, writable for its whole size.
            let n = unsafe {
                libc::read(
                    self.0.as_raw_fd(),
                    info.as_mut_ptr().cast(),
                    std::mem::size_of_val(&info),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok(()),
                    _ => return Err(e),
                }
            }
            let count = n as usize / SIZE;
            out.extend(info[..count].iter().map(|i| Received {
                signal: i.ssi_signo as i32,
                sender: i.ssi_pid as i32,
                code: i.ssi_code,
            }));
            if count < info.len() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_signal_the_kernel_raised_for_vigil_is_its_own() {
        let own = 1;
        let r = |sender, code| Received {
            signal: libc::SIGPIPE,
            sender,
            code,
        };
        assert!(r(own, libc::SI_USER).raised_by(own)); // its own write's SIGPIPE
        assert!(!r(7, libc::SI_USER).raised_by(own)); // kill(2) from another process
        assert!(!r(0, libc::SI_USER).raised_by(own)); // from outside the namespace
        assert!(!r(own, libc::SI_QUEUE).raised_by(own)); // rt_sigqueueinfo forging the pid
    }

    #[test]
    fn masks() {
        assert!(Mask::ALL.contains(32) && Mask::ALL.contains(64) && Mask::ALL.contains(1));
        let m = Mask::of(&[libc::SIGINT, libc::SIGTERM]);
        assert_eq!(m.0, (1 << 1) | (1 << 14));
        assert!(m.contains(libc::SIGTERM) && !m.contains(libc::SIGHUP));
        assert!(!m.contains(0) && !m.contains(65));
    }
}
