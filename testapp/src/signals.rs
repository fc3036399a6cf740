//! Signal helpers of the test app. Test support code, so the few raw libc
//! calls live here with their SAFETY notes rather than in vigil's `sys`.

use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};
use signal_hook::iterator::Signals;
use std::io::Write;

/// Every signal a process can catch, except SIGCHLD (not forwarded by an init)
/// and the ones signal-hook refuses (KILL, STOP, ILL, FPE, SEGV).
pub fn catchable() -> Vec<i32> {
    let mut v: Vec<i32> = (1..32)
        .filter(|s| {
            !matches!(
                *s,
                libc::SIGKILL
                    | libc::SIGSTOP
                    | libc::SIGCHLD
                    | libc::SIGILL
                    | libc::SIGFPE
                    | libc::SIGSEGV
            )
        })
        .collect();
    v.extend([libc::SIGRTMIN(), libc::SIGRTMIN() + 1, libc::SIGRTMAX()]);
    v
}

/// `TERM`, `SIGTERM`, `15`, `RTMIN`, `RTMIN+2`, `RTMAX`: vigil's own parser.
pub fn parse(s: &str) -> i32 {
    vigil::signal_name::parse(s, false).unwrap_or_else(|e| panic!("{e}"))
}

/// `SIGTERM`, `SIGRTMIN+2`: vigil's own names, so tests compare like with like.
pub fn name(sig: i32) -> String {
    vigil::signal_name::name(sig)
}

/// Runs `register`, which installs signal handlers, with every signal
/// blocked, then restores the mask.
///
/// signal-hook-registry installs its OS handler (`sigaction`) before it
/// publishes the action that handler dispatches to. A signal that arrives in
/// between finds no action and falls back to the previous disposition, which
/// it runs only if that was a handler: from SIG_DFL the signal is silently
/// lost, neither recorded nor acted on. Blocked, it stays pending and is
/// delivered when the mask is restored, to the complete handler.
pub fn with_signals_blocked<T>(register: impl FnOnce() -> T) -> T {
    let mut old = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), Some(&mut old))
        .expect("block signals");
    let registered = register();
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None).expect("restore the signal mask");
    registered
}

/// Appends each received signal's name to `out` (after a first "ready" line,
/// written once every handler is in place); exits 0 on `until`. A signal that
/// arrives before the handlers exist has its default action; none is lost
/// while they are installed (see `with_signals_blocked`).
pub fn record(out: &str, until: i32) -> ! {
    let mut signals =
        with_signals_blocked(|| Signals::new(catchable())).expect("register signal handlers");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .expect("open output");
    writeln!(file, "ready").expect("write");
    for sig in signals.forever() {
        writeln!(file, "{}", name(sig)).expect("write");
        if sig == until {
            std::process::exit(0);
        }
    }
    unreachable!("signal iterator ended")
}

/// Consumes `sig` without acting on it.
pub fn ignore(sig: i32) {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(sig, flag).expect("register");
}

/// Restores the default action of `sig`, unblocks it and raises it.
pub fn die(sig: i32) -> ! {
    // SAFETY: SIG_DFL installs no handler; sigset calls take valid local sets.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
    }
    std::process::exit(99)
}

/// Sets exactly this blocked mask and makes `ignored` ignored, everything else
/// default (SIGPIPE included, which Rust's runtime ignores), before an exec.
pub fn set_mask_and_ignored(blocked: &[i32], ignored: &[i32], defaults: &[i32]) {
    // SAFETY: plain syscalls on valid local sigsets; no handler is installed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        // The raw call, as glibc refuses to touch 32 and 33: an all-zero
        // kernel sigaction (handler, flags, restorer, mask) is SIG_DFL.
        for &s in defaults {
            let act = [0u64; 4];
            libc::syscall(
                libc::SYS_rt_sigaction,
                s,
                act.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            );
        }
        for &s in ignored {
            libc::signal(s, libc::SIG_IGN);
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in blocked {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Forks a child that forks a grandchild and exits; both exit at once, so the
/// grandchild becomes an orphaned zombie for the reaper. Waits for the child.
pub fn fork_orphan() {
    // SAFETY: the test app is single-threaded here, and the forked processes
    // call only fork and _exit (async-signal-safe) before exiting.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            if libc::fork() == 0 {
                libc::_exit(0);
            }
            libc::_exit(0);
        }
        if pid > 0 {
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
}

/// Clears close-on-exec on `f`, so an exec'd program inherits it.
pub fn inheritable(f: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETFD on an fd we own; no pointers involved.
    unsafe {
        libc::fcntl(f.as_raw_fd(), libc::F_SETFD, 0);
    }
}

/// kill(2) with a raw signal number.
pub fn send(pid: i32, sig: i32) -> bool {
    // SAFETY: kill takes only integers.
    unsafe { libc::kill(pid, sig) == 0 }
}
