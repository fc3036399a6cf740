//! Shared helpers of the tests that drive the built binaries: where they are,
//! running with a deadline, and polling a condition against a deadline (never
//! a fixed sleep).
#![allow(dead_code)]

pub mod probes;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Generous upper bound for anything a test waits for; a healthy run takes
/// milliseconds, and only a broken vigil ever reaches it.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How often a condition is re-checked while waiting.
pub const POLL: Duration = Duration::from_millis(2);

pub fn vigil() -> &'static str {
    env!("CARGO_BIN_EXE_vigil")
}

/// The test app, built next to vigil (`cargo build -p vigil-testapp` once per
/// test binary, a no-op when it is up to date, so it is never stale).
pub fn testapp() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = Path::new(vigil()).with_file_name("vigil-testapp");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "vigil-testapp"])
            .status()
            .expect("run cargo build -p vigil-testapp");
        assert!(status.success(), "building vigil-testapp failed");
        assert!(path.exists(), "{} missing after the build", path.display());
        path
    })
}

pub fn testapp_str() -> String {
    testapp().to_string_lossy().into_owned()
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vigil-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `cond` every 2 ms until it holds; panics with `what` at the deadline.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL); // poll interval; the deadline bounds the wait
    }
}

/// Waits for `child` to end, killing it and failing at the deadline.
pub fn wait_exit(child: &mut Child) -> ExitStatus {
    wait_exit_or_report(child, String::new)
}

/// Like `wait_exit`, but at the deadline `report` runs first (while `child`
/// still lives, so its children are still its own) and what it returns is
/// added to the failure message.
pub fn wait_exit_or_report(child: &mut Child, report: impl FnOnce() -> String) -> ExitStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let report = report();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "process {} did not exit before the deadline\n{report}",
                child.id()
            );
        }
        std::thread::sleep(POLL); // poll interval; the deadline bounds the wait
    }
}

/// Runs a command to completion with captured output, bounded by the deadline.
pub fn run(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || read_all(stdout));
    let err = std::thread::spawn(move || read_all(stderr));
    let status = wait_exit(&mut child);
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

fn read_all(mut r: impl std::io::Read) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = r.read_to_end(&mut v);
    v
}

/// `curl --unix-socket SOCKET http://vigil/PATH`: its body (within `secs`).
pub fn curl_socket(socket: &Path, path: &str, secs: &str) -> String {
    let out = run(Command::new("curl").args([
        "-s",
        "--max-time",
        secs,
        "--unix-socket",
        socket.to_str().unwrap(),
        &format!("http://vigil{path}"),
    ]));
    stdout(&out)
}

/// `vigil ARGS...` with captured output.
pub fn vigil_run(args: &[&str]) -> Output {
    run(Command::new(vigil()).args(args))
}

/// `vigil ARGS` with the configuration variables (and `V`, the tests' own
/// variable) cleared from the inherited environment and `env` set.
pub fn vigil_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(vigil());
    cmd.args(args);
    for var in [
        "VIGIL_CONFIG",
        "VIGIL_STARTUP_CHECK",
        "VIGIL_LIVENESS_CHECK",
        "VIGIL_READINESS_CHECK",
        "VIGIL_NO_DEFAULT_READINESS",
        "VIGIL_SOCKET",
        "VIGIL_READY_FILE",
        "VIGIL_DRAIN",
        "VIGIL_NOTIFY",
        "VIGIL_WATCHDOG",
        "V",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    run(&mut cmd)
}

pub fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {:?}", o.status))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Lines of a file that may not exist yet.
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Whether `pid` is gone (no /proc entry) or a zombie.
pub fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, t)| matches!(t.split_whitespace().next(), Some("Z" | "X"))),
    }
}

/// The live children of `pid` (by the parent pid in /proc/N/stat).
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|n| {
            std::fs::read_to_string(format!("/proc/{n}/stat")).is_ok_and(|stat| {
                // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
                stat.rsplit_once(')')
                    .and_then(|(_, t)| t.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// If `child` still runs: SIGKILL to it and everything under it (children
/// first, so none is re-parented and missed), then reaped.
pub fn kill_tree(child: &mut Child) {
    if child.try_wait().ok().flatten().is_none() {
        let mut tree = vec![child.id()];
        let mut i = 0;
        while i < tree.len() {
            tree.extend(children_of(tree[i]));
            i += 1;
        }
        for pid in tree.iter().skip(1) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The state and signal fields of /proc/PID/status (State, SigQ, SigPnd,
/// ShdPnd, SigBlk, SigIgn, SigCgt) on one line, or "gone".
pub fn signal_report(pid: u32) -> String {
    const FIELDS: &[&str] = &[
        "State:", "SigQ:", "SigPnd:", "ShdPnd:", "SigBlk:", "SigIgn:", "SigCgt:",
    ];
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => format!("pid {pid}: gone"),
        Ok(status) => {
            let fields: Vec<String> = status
                .lines()
                .filter(|l| FIELDS.iter().any(|f| l.starts_with(f)))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            format!("pid {pid}: {}", fields.join(", "))
        }
    }
}

/// The blocked-signal mask of a process, from /proc.
pub fn sig_blocked(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

/// Sends a signal by name through the test app (real-time signals included).
pub fn send(sig: &str, pid: u32) {
    let st = Command::new(testapp())
        .args(["send", sig, &pid.to_string()])
        .status()
        .expect("run testapp send");
    assert!(st.success(), "sending {sig} to {pid} failed");
}

/// Runs `cmd` (a shell command line) on a new terminal made by `script`: what
/// is written to the child's stdin is typed there, and the terminal's output
/// is recorded to `typescript`. `script` exits with the command's status.
pub fn on_a_terminal(cmd: &str, typescript: &Path) -> Child {
    Command::new("script")
        .args(["-qfec", cmd])
        .arg(typescript)
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn script")
}
