//! Starting the command: `clone(CLONE_VM | CLONE_VFORK)` + `exec` (what
//! `posix_spawn` does) with everything the child needs (argv, envp, candidate
//! paths, the signal state to restore) built before, so the child runs only
//! async-signal-safe calls until `exec`.
//!
//! The child starts in the directory vigil was started in: vigil itself
//! moves to `/`, and `Prepared` keeps an `O_PATH` descriptor of the start
//! directory for `fchdir` (the same directory even when it was deleted,
//! renamed, lazily unmounted, or longer than PATH_MAX), which the caller
//! drops once nothing more will start there (`forget_directory`).
//!
//! A failed step in the child (`exec`, `chdir`, `setsid`) is reported to
//! vigil in a word of the memory they share until `exec` (the step and the
//! errno; vigil reads it when `clone` returns, that is once the child has
//! exec'd or exited: no pipe to make, poll and close per start), and the child exits 127 (not found) or 126 (found but not
//! executable), the shell convention tini follows, or the status the
//! personality asks for (dumb-init: 2).

use super::privileges::ChildPrivileges;
use super::signals::Inherited;
use crate::exit_status::code;
use nix::errno::Errno;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// execvp's search path when PATH is unset.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What glibc's execvp (and so tini) runs a file without a `#!` line with.
const SHELL: &[u8] = b"/bin/sh";

/// A command ready to start: argv and envp are built once; the program's
/// path is looked up again at each start (a restart finds a program that
/// appeared meanwhile), before `clone`, so the child allocates nothing.
pub(crate) struct Prepared {
    pub display: String,
    /// `Some` for a program found at start-up (exec probes): no PATH search.
    program: Option<CString>,
    argv0: OsString,
    path: Option<OsString>,
    argv: Vec<CString>,
    envp: Vec<CString>,
    envp_ptrs: Vec<*const libc::c_char>,
    inherited: Inherited,
    foreground: bool,
    /// Where the child starts (an `O_PATH` descriptor of vigil's start
    /// directory; `None`: where vigil is).
    cwd: Option<OwnedFd>,
    /// That directory's path, for diagnoses of a failed start (kept after
    /// `forget_directory`).
    start_dir: Option<PathBuf>,
    /// A new session for the child (dumb-init) rather than a new process group.
    new_session: bool,
    /// No process group of its own (dumb-init's single-child mode).
    same_group: bool,
    /// Every standard signal back to its default action and none blocked
    /// (dumb-init), rather than what vigil inherited (tini).
    reset_signals: bool,
    /// The child's exit status when a step before `exec` fails (`None`: 127/126).
    failure_status: Option<u8>,
    /// `--user`, `--drop-caps`, ...: applied in the child only.
    privileges: Option<ChildPrivileges>,
}

/// An `O_PATH` descriptor of the current directory, unless that is `/`.
fn start_directory() -> Option<OwnedFd> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    // O_PATH: no access to the directory itself is needed (nor kept).
    let here = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(".")
        .ok()?;
    let is_root = match (here.metadata(), std::fs::metadata("/")) {
        (Ok(h), Ok(r)) => h.dev() == r.dev() && h.ino() == r.ino(),
        _ => false,
    };
    (!is_root).then(|| OwnedFd::from(here))
}

/// The step a child reports as failed.
const STEP_EXEC: i32 = 0;
const STEP_CHDIR: i32 = 1;
const STEP_SETSID: i32 = 2;
/// `--user`, `--drop-caps`...: this plus the privilege step's number.
const STEP_PRIVILEGES: i32 = 16;

fn cstring(bytes: Vec<u8>, what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte"),
        )
    })
}

fn null_terminated<'a>(v: impl IntoIterator<Item = &'a CStr>) -> Vec<*const libc::c_char> {
    v.into_iter()
        .map(CStr::as_ptr)
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The paths execvp tries for `argv0`, in order: `argv0` itself when it holds
/// a slash, else each PATH entry joined with it (an empty entry is the current
/// directory); none for an empty name, which execvp reports as not found.
fn candidates(argv0: &OsStr, path: Option<&OsStr>) -> Vec<OsString> {
    if argv0.is_empty() {
        return Vec::new();
    }
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
        .collect()
}

impl Prepared {
    /// `env` is the command's whole environment, in order.
    /// `foreground`: give the command the terminal on stdin.
    pub(crate) fn new(
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
            .map(|(_, v)| v.clone());
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
        let envp_ptrs = null_terminated(envp.iter().map(CString::as_c_str));
        // The directory vigil was started in, before vigil leaves it.
        let cwd = start_directory();
        let start_dir = cwd.as_ref().and_then(|_| std::env::current_dir().ok());
        Ok(Prepared {
            display: argv0.to_string_lossy().into_owned(),
            program: None,
            argv0: argv0.clone(),
            path,
            argv,
            envp,
            envp_ptrs,
            inherited,
            foreground,
            cwd,
            start_dir,
            new_session: false,
            same_group: false,
            reset_signals: false,
            failure_status: None,
            privileges: None,
        })
    }

    /// Nothing more will start in the start directory: let go of it, so
    /// vigil keeps no mount busy.
    pub(crate) fn forget_directory(&mut self) {
        self.cwd = None;
    }

    /// dumb-init's way: the child in a new session (taking stdin's terminal
    /// as its own when it can) or, without one, in vigil's own process
    /// group (`own_group` false); every standard signal at its default
    /// action and unblocked; exit status 2 when it cannot be run.
    pub(crate) fn dumb_init(mut self, new_session: bool, own_group: bool) -> Prepared {
        self.new_session = new_session;
        self.same_group = !own_group;
        self.reset_signals = true;
        self.failure_status = Some(2);
        self
    }

    /// The identity and capabilities each start gets (`None`: vigil's own).
    pub(crate) fn set_privileges(&mut self, privileges: Option<ChildPrivileges>) {
        self.privileges = privileges;
    }

    /// The uid and gid a start switches to (`--user`), for messages.
    pub(crate) fn run_as(&self) -> Option<(u32, u32)> {
        let ids = self.privileges.as_ref()?.ids.as_ref()?;
        Some((ids.uid, ids.gid))
    }

    /// A command run from a known program path (found at start-up) rather than
    /// searched on PATH; never given the terminal.
    pub(crate) fn with_program(
        program: &str,
        argv: &mut [OsString],
        env: &[(OsString, OsString)],
        inherited: Inherited,
    ) -> io::Result<Prepared> {
        let mut p = Prepared::new(argv, env, inherited, false)?;
        p.program = Some(cstring(program.as_bytes().to_vec(), "program path")?);
        Ok(p)
    }

    /// This start's candidate paths, each with its argv and the argv of
    /// running it with `/bin/sh` should it have no `#!` line.
    fn exec_plan(&self) -> io::Result<ExecPlan> {
        let paths = match &self.program {
            Some(p) => vec![p.clone()],
            None => candidates(&self.argv0, self.path.as_deref())
                .into_iter()
                .map(|p| cstring(p.into_vec(), "command path"))
                .collect::<io::Result<Vec<_>>>()?,
        };
        let shell = CString::new(SHELL).expect("no NUL");
        let argv = null_terminated(self.argv.iter().map(CString::as_c_str));
        let script_argvs = paths
            .iter()
            .map(|p| {
                let rest = self.argv.iter().skip(1).map(CString::as_c_str);
                null_terminated([shell.as_c_str(), p.as_c_str()].into_iter().chain(rest))
            })
            .collect();
        Ok(ExecPlan {
            shell,
            paths,
            argv,
            script_argvs,
        })
    }
}

/// Everything one start's child reads, built in the parent.
struct ExecPlan {
    shell: CString,
    paths: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    /// Per path: `/bin/sh PATH ARGS...`.
    script_argvs: Vec<Vec<*const libc::c_char>>,
}

/// Which step of starting a process failed.
#[derive(Debug)]
pub struct SpawnError {
    pub step: &'static str,
    pub source: io::Error,
}

impl From<SpawnError> for io::Error {
    fn from(e: SpawnError) -> io::Error {
        io::Error::new(e.source.kind(), e.to_string())
    }
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.source)
    }
}

/// Where a start looks for the program: what `diagnose::exec` reads when
/// the start fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lookup {
    /// The program as looked for: argv[0], or the path found at start-up.
    pub name: OsString,
    /// The PATH searched (`None` when the name holds a slash).
    pub path: Option<OsString>,
    /// The paths tried, in order, relative ones made absolute from the
    /// directory the child starts in (vigil itself is in `/`).
    pub candidates: Vec<OsString>,
}

impl Prepared {
    /// Where each start looks for the program (computed anew: off the hot path).
    pub(crate) fn lookup(&self) -> Lookup {
        if let Some(p) = &self.program {
            let name = OsString::from_vec(p.as_bytes().to_vec());
            return Lookup {
                candidates: vec![name.clone()],
                name,
                path: None,
            };
        }
        let path = (!self.argv0.as_bytes().contains(&b'/')).then(|| {
            self.path
                .clone()
                .unwrap_or_else(|| OsString::from(DEFAULT_PATH))
        });
        let cwd = &self.start_dir;
        let candidates = candidates(&self.argv0, self.path.as_deref())
            .into_iter()
            .map(|c| match cwd {
                Some(dir) if !c.as_bytes().starts_with(b"/") => {
                    let rel = c.as_bytes().strip_prefix(b"./").unwrap_or(c.as_bytes());
                    dir.join(OsStr::from_bytes(rel)).into_os_string()
                }
                _ => c,
            })
            .collect();
        Lookup {
            name: self.argv0.clone(),
            path,
            candidates,
        }
    }

    /// Whether it runs the dumb-init way (`Prepared::dumb_init`).
    pub(crate) fn is_dumb_init(&self) -> bool {
        self.failure_status.is_some()
    }

    /// Whether the command is given the terminal at each start.
    pub(crate) fn foreground(&self) -> bool {
        self.foreground
    }
}

/// A started command. `report` is what the child said before `exec`
/// (`report_word`), 0 when `exec` succeeded.
#[derive(Debug)]
pub(crate) struct Child {
    pub pid: i32,
    report: u64,
}

/// Why a child could not run its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartFailure {
    /// `exec` failed (its errno).
    Exec(Errno),
    /// The directory vigil was started in is gone or out of reach.
    Chdir(Errno),
    /// `setsid` failed.
    Setsid(Errno),
    /// A step of `--user`, `--drop-caps`...: `step << 16 | errno`.
    Privileges { word: i32 },
}

impl StartFailure {
    pub(crate) fn errno(&self) -> Errno {
        match self {
            StartFailure::Exec(e) | StartFailure::Chdir(e) | StartFailure::Setsid(e) => *e,
            StartFailure::Privileges { word } => Errno::from_raw(word & 0xffff),
        }
    }
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The C library's words (strerror), as tini and dumb-init print them.
        let err = io::Error::from_raw_os_error(self.errno() as i32).to_string();
        let err = err.split(" (os error").next().unwrap_or(&err);
        match self {
            StartFailure::Exec(_) => write!(f, "{err}"),
            StartFailure::Chdir(_) => {
                write!(f, "cannot change to the directory vigil started in: {err}")
            }
            StartFailure::Setsid(_) => write!(f, "cannot start a new session: {err}"),
            StartFailure::Privileges { word } => {
                let e = super::privileges::reported_error(*word).to_string();
                f.write_str(e.split(" (os error").next().unwrap_or(&e))
            }
        }
    }
}

impl Child {
    /// Why the child could not run its program, once it has ended.
    /// Non-blocking: `None` when exec succeeded (or nothing was written).
    pub(crate) fn exec_error(&mut self) -> Option<StartFailure> {
        let (step, errno) = read_report(std::mem::take(&mut self.report))?;
        let errno = Errno::from_raw(errno);
        Some(match step {
            s if s >= STEP_PRIVILEGES => StartFailure::Privileges {
                word: (s - STEP_PRIVILEGES) << 16 | errno as i32,
            },
            STEP_CHDIR => StartFailure::Chdir(errno),
            STEP_SETSID => StartFailure::Setsid(errno),
            _ => StartFailure::Exec(errno),
        })
    }
}

/// The child's report of a failed step: a set top bit, the step, the errno.
fn report_word(step: i32, err: i32) -> u64 {
    1 << 63 | u64::from(step as u32 & 0x7fff_ffff) << 32 | u64::from(err as u32)
}

/// The step and errno of a report, `None` for "nothing reported".
fn read_report(word: u64) -> Option<(i32, i32)> {
    (word >> 63 == 1).then_some((((word >> 32) & 0x7fff_ffff) as i32, word as u32 as i32))
}

/// Where a child's standard streams go instead of vigil's own (exec probes:
/// stdin from /dev/null, stdout and stderr into one capture pipe).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Redirect {
    pub stdin: RawFd,
    pub output: RawFd,
}

/// What the child needs, passed to it through `clone`'s argument.
struct ChildArgs<'a> {
    cmd: &'a Prepared,
    plan: &'a ExecPlan,
    redirect: Option<Redirect>,
    /// Written by the child before it exits on a failed step (shared memory:
    /// CLONE_VM), read by vigil when `clone` returns.
    report: AtomicU64,
}

/// The child's stack: it only runs `exec_child` (a few syscalls, no
/// allocation, no formatting), far below this.
const CHILD_STACK: usize = 64 * 1024;

/// The children's stack (its top), made at the first start and kept, with a
/// guard page below it: every restart and exec probe used to map and unmap
/// 64 KiB and fault in its pages again. One child at a time uses it: the
/// lock is held until `clone` returns, when the child has exec'd or exited
/// (unit tests start children from several threads; vigil has one).
static CHILD_STACK_TOP: Mutex<usize> = Mutex::new(0);

/// Maps the children's stack; its top, 16-byte aligned.
fn map_child_stack() -> io::Result<usize> {
    let page = 4096;
    // SAFETY: a fresh anonymous private mapping (no address given, so it
    // replaces nothing), never unmapped; mprotect only changes the lowest
    // page of that same mapping to a guard.
    unsafe {
        let base = libc::mmap(
            std::ptr::null_mut(),
            CHILD_STACK + page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        libc::mprotect(base, page, libc::PROT_NONE);
        Ok((base as usize + page + CHILD_STACK) & !15)
    }
}

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` that `spawn` keeps alive on its stack
    // until the child has exec'd or exited (CLONE_VFORK suspends it until then).
    let args = unsafe { &*(arg as *const ChildArgs) };
    exec_child(args.cmd, args.plan, args.redirect, &args.report)
}

/// Starts `cmd`, its stdio redirected when `redirect` is given, the way
/// `posix_spawn` does: `clone(CLONE_VM | CLONE_VFORK)` shares vigil's memory
/// (no page tables to copy: a fork cost ~100 us of vigil's CPU per restart or
/// exec probe) and suspends vigil until the child has exec'd or exited. The
/// caller has every signal blocked, so nothing can run in the child before it
/// restores the inherited mask, and vigil installs no signal handlers that
/// could run on the shared memory.
pub(crate) fn spawn(cmd: &Prepared, redirect: Option<Redirect>) -> Result<Child, SpawnError> {
    let plan = cmd.exec_plan().map_err(|source| SpawnError {
        step: "cannot look up the program",
        source,
    })?;
    let args = ChildArgs {
        cmd,
        plan: &plan,
        redirect,
        report: AtomicU64::new(0),
    };
    // x86_64 and aarch64 stacks grow down: the child gets the top.
    let mut top = CHILD_STACK_TOP.lock().unwrap_or_else(|e| e.into_inner());
    if *top == 0 {
        *top = map_child_stack().map_err(|source| SpawnError {
            step: "cannot map the child's stack",
            source,
        })?;
    }
    // SAFETY: the child runs `child_main` on its own stack (the mapping
    // under `top`, never unmapped, used by no other child while the lock is
    // held) and touches only `args` (alive until clone returns, which with
    // CLONE_VFORK is after the child exec'd or exited) and async-signal-safe
    // calls (see `exec_child`); it never returns into vigil's frames. vigil is
    // single-threaded, so no other thread sees the shared memory meanwhile.
    let pid = unsafe {
        libc::clone(
            child_main,
            *top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &args as *const ChildArgs as *mut libc::c_void,
        )
    };
    if pid < 0 {
        return Err(SpawnError {
            step: "fork failed",
            source: io::Error::last_os_error(),
        });
    }
    drop(top);
    let child = nix::unistd::Pid::from_raw(pid);
    // The child makes its own process group too; doing it here as well (as
    // shells do) means the group exists when spawn returns, so a signal sent
    // to it at once (`-g`, a probe stop) cannot miss it. EACCES (the child
    // already exec'd) and ESRCH are fine. A child in a new session has made
    // it before `clone` returned (CLONE_VFORK).
    if !cmd.new_session && !cmd.same_group {
        let _ = nix::unistd::setpgid(child, child);
    }
    Ok(Child {
        pid,
        report: args.report.load(Ordering::SeqCst),
    })
}

/// In the child: reports `step` failed with `err` and exits.
fn fail(cmd: &Prepared, report: &AtomicU64, step: i32, err: i32) -> ! {
    // An atomic store: a plain write to memory vigil reads once the child
    // has exited (async-signal-safe).
    report.store(report_word(step, err), Ordering::SeqCst);
    let status = cmd.failure_status.unwrap_or(
        if step == STEP_EXEC && matches!(err, libc::ENOENT | libc::ENOTDIR) {
            code::NOT_FOUND
        } else {
            code::NOT_EXECUTABLE
        },
    );
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(i32::from(status)) }
}

/// In the child: whether the file at `path` starts with the ELF magic
/// (open, read and close only, all async-signal-safe; no allocation).
fn is_elf(path: &CStr) -> bool {
    let mut magic = [0u8; 4];
    // SAFETY: `path` is a live NUL-terminated string; `magic` a live local
    // buffer of the length passed; the fd is ours and closed before return.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let n = libc::read(fd, magic.as_mut_ptr().cast(), magic.len());
        libc::close(fd);
        n == 4 && magic == *b"\x7fELF"
    }
}

/// Runs in the child: async-signal-safe calls only, no allocation.
fn exec_child(
    cmd: &Prepared,
    plan: &ExecPlan,
    redirect: Option<Redirect>,
    report: &AtomicU64,
) -> ! {
    // SAFETY: every call below is async-signal-safe (POSIX list: setpgid,
    // setsid, ioctl, chdir, getpid, tcsetpgrp, dup2, sigaction via signal,
    // sigprocmask as a raw system call, execve, open, read, close (`is_elf`),
    // _exit; the privilege changes are raw system calls on numbers
    // prepared before clone); every pointer passed was built before clone and
    // outlives the calls (argv/envp arrays are NULL-terminated and point into
    // CStrings owned by `cmd` and `plan`).
    unsafe {
        if cmd.new_session {
            if libc::setsid() < 0 {
                fail(cmd, report, STEP_SETSID, Errno::last_raw());
            }
            // Take stdin's terminal, which vigil let go of (TIOCNOTTY), as
            // this session's own; without one (or still another session's)
            // this fails, as it does for dumb-init, and that is fine.
            libc::ioctl(0, libc::TIOCSCTTY, 0);
        } else if !cmd.same_group {
            libc::setpgid(0, 0);
        }
        if let Some(dir) = &cmd.cwd {
            if libc::fchdir(dir.as_raw_fd()) < 0 {
                fail(cmd, report, STEP_CHDIR, Errno::last_raw());
            }
        }
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
        if let Some(Err(word)) = cmd.privileges.as_ref().map(ChildPrivileges::apply) {
            fail(cmd, report, STEP_PRIVILEGES + (word >> 16), word & 0xffff);
        }
        if cmd.reset_signals {
            // dumb-init's child: handlers reset at exec, nothing ignored or
            // blocked. (The child has its own dispositions: no CLONE_SIGHAND.)
            for sig in 1..32 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            super::signals::restore_mask_in_child(&super::signals::Mask(0));
        } else {
            if cmd.inherited.sigchld_ignored {
                libc::signal(libc::SIGCHLD, libc::SIG_IGN);
            }
            super::signals::restore_mask_in_child(&cmd.inherited.mask);
        }
        let mut err = libc::ENOENT;
        let mut saw_eacces = false;
        for (path, script_argv) in plan.paths.iter().zip(&plan.script_argvs) {
            libc::execve(path.as_ptr(), plan.argv.as_ptr(), cmd.envp_ptrs.as_ptr());
            err = Errno::last_raw();
            match err {
                libc::EACCES => saw_eacces = true,
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ELOOP | libc::ENAMETOOLONG => {}
                libc::ENOEXEC => {
                    // An ELF the kernel cannot run (another machine's) is no
                    // script: report it rather than have /bin/sh choke on it.
                    if is_elf(path) {
                        break;
                    }
                    // No `#!` line: glibc's execvp (tini's) runs it with
                    // /bin/sh; if that fails too, the file's own error stands.
                    libc::execve(
                        plan.shell.as_ptr(),
                        script_argv.as_ptr(),
                        cmd.envp_ptrs.as_ptr(),
                    );
                    break;
                }
                _ => break,
            }
        }
        if saw_eacces && err != libc::EACCES && matches!(err, libc::ENOENT | libc::ENOTDIR) {
            err = libc::EACCES;
        }
        fail(cmd, report, STEP_EXEC, err)
    }
}

// The raw pointers in `Prepared` point into its own CStrings.
impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("argv", &self.argv)
            .field("program", &self.program)
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
        assert_eq!(
            got,
            ["/nonexistent/sh", "/bin/sh", "/usr/bin/sh"].map(OsString::from)
        );
        assert_eq!(
            candidates(OsStr::new("x"), Some(OsStr::new(":/bin"))),
            ["./x", "/bin/x"].map(OsString::from)
        );
        // execvp("") is "not found", not the directories of PATH.
        assert!(candidates(OsStr::new(""), Some(OsStr::new("/bin"))).is_empty());
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
