//! Benchmark helpers (`make bench`, bench/run.sh). Each driver runs the init
//! under test as PID 1 of a fresh PID namespace:
//!
//!   unshare --pid --fork --mount-proc INIT... vigil-testapp <child> DIR
//!
//! and signals the init from outside by its pid in our namespace (the child
//! of `unshare`). Times are CLOCK_MONOTONIC, which is system-wide, so a time
//! taken in one process can be subtracted from one taken in another.
//!
//!   latency --runs R --out FILE -- INIT...   SIGTERM to the init -> the child
//!                                            has the signal; microseconds
//!   latency-child DIR                        blocks SIGTERM, writes DIR/ready,
//!                                            waits for it, writes DIR/t (ns)
//!   reap-drain --runs R --n N --out FILE -- INIT...
//!                                            stop the init, let N zombies pile
//!                                            up, continue it: time until its
//!                                            PID namespace holds only itself
//!                                            and the child; microseconds
//!   reap-child N DIR                         waits for DIR/go, leaves N
//!                                            orphans, writes DIR/made, exits
//!                                            once DIR/done exists
//!   restart-child FILE [CODE]                appends `START_NS EXIT_NS` to
//!                                            FILE and exits with CODE (0):
//!                                            the command a restart benchmark
//!                                            restarts (bench/run.sh)
//!
//! Drivers print one summary line (`runs=.. p50_us=.. p99_us=..`) and write
//! every sample, one per line, to --out.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Whether `mode` is one of the benchmark sub-commands.
pub fn handles(mode: &str) -> bool {
    matches!(
        mode,
        "latency" | "latency-child" | "reap-drain" | "reap-child" | "restart-child"
    )
}

pub fn run(mode: &str, rest: &[String]) {
    match mode {
        "latency-child" => latency_child(Path::new(arg(rest, 0))),
        "reap-child" => reap_child(arg(rest, 0).parse().expect("N"), Path::new(arg(rest, 1))),
        "restart-child" => restart_child(
            arg(rest, 0),
            rest.get(1).map_or(0, |c| c.parse().expect("CODE")),
        ),
        "latency" => {
            let (opts, init) = split(rest);
            let runs = opt(opts, "--runs", 200);
            let out = flag(opts, "--out");
            samples_report(&out, (0..runs).map(|i| latency_once(init, i)).collect());
        }
        "reap-drain" => {
            let (opts, init) = split(rest);
            let runs = opt(opts, "--runs", 5);
            let n = opt(opts, "--n", 10_000);
            let out = flag(opts, "--out");
            samples_report(&out, (0..runs).map(|i| drain_once(init, n, i)).collect());
        }
        _ => unreachable!("bench::handles said yes to {mode}"),
    }
}

fn arg(rest: &[String], i: usize) -> &str {
    rest.get(i)
        .map(String::as_str)
        .unwrap_or_else(|| die("missing argument"))
}

fn die(msg: &str) -> ! {
    eprintln!("vigil-testapp bench: {msg}");
    std::process::exit(64)
}

/// Options before `--`, the init's command line after it.
fn split(rest: &[String]) -> (&[String], &[String]) {
    let sep = rest
        .iter()
        .position(|a| a == "--")
        .unwrap_or_else(|| die("expected -- INIT..."));
    let init = &rest[sep + 1..];
    if init.is_empty() {
        die("no init command after --");
    }
    (&rest[..sep], init)
}

fn flag(opts: &[String], name: &str) -> String {
    opts.iter()
        .position(|a| a == name)
        .and_then(|i| opts.get(i + 1).cloned())
        .unwrap_or_else(|| die(&format!("missing {name}")))
}

fn opt(opts: &[String], name: &str, default: usize) -> usize {
    opts.iter()
        .position(|a| a == name)
        .and_then(|i| opts.get(i + 1)?.parse().ok())
        .unwrap_or(default)
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the valid local timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Polls `cond` every `step` until it holds; dies after `limit`.
fn wait_until(what: &str, step: Duration, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() > deadline {
            die(&format!("timed out waiting for {what}"));
        }
        std::thread::sleep(step);
    }
}

/// A fresh scratch directory for one run.
fn scratch(tag: &str, i: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-bench-{tag}-{}-{i}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Starts `unshare --pid --fork --mount-proc INIT... SELF CHILD_ARGS...` and
/// returns it with the init's pid in our namespace (unshare's only child).
fn start(init: &[String], child_args: &[&str]) -> (Child, i32) {
    let me = std::env::current_exe().expect("current_exe");
    let unshare = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .args(init)
        .arg(me)
        .args(child_args)
        .spawn()
        .unwrap_or_else(|e| die(&format!("spawn unshare: {e}")));
    let parent = unshare.id();
    let mut pid = None;
    wait_until(
        "the init to start",
        Duration::from_micros(200),
        Duration::from_secs(10),
        || {
            pid = child_of(parent);
            pid.is_some()
        },
    );
    (unshare, pid.expect("init pid"))
}

/// The first process whose parent is `ppid` (scans /proc/*/stat: this
/// kernel may lack /proc/PID/task/TID/children).
fn child_of(ppid: u32) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| stat_field(*pid, 1).and_then(|p| p.parse().ok()) == Some(ppid))
}

/// Field `i` after the `(comm)` of /proc/PID/stat: 0 is the state, 1 the ppid.
fn stat_field(pid: i32, i: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let tail = stat.rsplit_once(')')?.1;
    tail.split_whitespace().nth(i).map(str::to_owned)
}

fn finish(mut unshare: Child, dir: &Path) {
    let _ = unshare.wait();
    let _ = std::fs::remove_dir_all(dir);
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill takes only integers.
    if unsafe { libc::kill(pid, sig) } != 0 {
        die(&format!(
            "kill({pid}, {sig}): {}",
            std::io::Error::last_os_error()
        ));
    }
}

/// One SIGTERM forwarding sample in nanoseconds.
fn latency_once(init: &[String], i: usize) -> u64 {
    let dir = scratch("latency", i);
    let d = dir.to_str().expect("utf-8 temp dir");
    let (unshare, pid) = start(init, &["latency-child", d]);
    wait_until(
        "the child to be ready",
        Duration::from_micros(500),
        Duration::from_secs(10),
        || dir.join("ready").exists(),
    );
    // Let the init settle back into its wait for events.
    std::thread::sleep(Duration::from_millis(5));
    let t0 = monotonic_ns();
    signal(pid, libc::SIGTERM);
    let t = dir.join("t");
    wait_until(
        "the child's timestamp",
        Duration::from_micros(200),
        Duration::from_secs(10),
        || std::fs::metadata(&t).is_ok_and(|m| m.len() > 0),
    );
    let t1: u64 = std::fs::read_to_string(&t)
        .expect("read t")
        .trim()
        .parse()
        .expect("timestamp");
    finish(unshare, &dir);
    t1.saturating_sub(t0)
}

/// Blocks SIGTERM, says ready, takes the time the moment SIGTERM arrives.
fn latency_child(dir: &Path) {
    // SAFETY: sigset calls on a valid local set; sigwaitinfo may take a null
    // siginfo pointer.
    let sig = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        std::fs::write(dir.join("ready"), "ready\n").expect("write ready");
        loop {
            let s = libc::sigwaitinfo(&set, std::ptr::null_mut());
            if s >= 0 {
                break s;
            }
        }
    };
    let t = monotonic_ns();
    debug_assert_eq!(sig, libc::SIGTERM);
    // Write to a temp name and rename, so the driver never reads half a line.
    let tmp = dir.join("t.tmp");
    std::fs::write(&tmp, format!("{t}\n")).expect("write t");
    std::fs::rename(&tmp, dir.join("t")).expect("rename t");
}

/// Processes in the init's PID namespace (zombies included), counted from its
/// own /proc mount: readdir only, no per-process reads.
fn namespace_processes(init: i32) -> usize {
    std::fs::read_dir(format!("/proc/{init}/root/proc"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().as_encoded_bytes()[0].is_ascii_digit())
                .count()
        })
        .unwrap_or(0)
}

/// One reaping sample: nanoseconds from SIGCONT to the init having reaped
/// all `n` zombies that piled up while it was stopped.
fn drain_once(init: &[String], n: usize, i: usize) -> u64 {
    let dir = scratch("drain", i);
    let d = dir.to_str().expect("utf-8 temp dir");
    let ns = n.to_string();
    let (unshare, pid) = start(init, &["reap-child", &ns, d]);
    let step = Duration::from_millis(1);
    let limit = Duration::from_secs(60);
    wait_until("the child to be ready", step, limit, || {
        dir.join("ready").exists()
    });
    // SIGSTOP from outside the namespace reaches even a PID 1.
    signal(pid, libc::SIGSTOP);
    wait_until("the init to stop", step, limit, || {
        stat_field(pid, 0).as_deref() == Some("T")
    });
    std::fs::write(dir.join("go"), "").expect("write go");
    wait_until("the orphans", step, limit, || dir.join("made").exists());
    let before = namespace_processes(pid);
    if before < n + 2 {
        die(&format!("expected {} processes, saw {before}", n + 2));
    }
    let t0 = monotonic_ns();
    signal(pid, libc::SIGCONT);
    // Spin: the init runs on the other core; granularity is one readdir.
    while namespace_processes(pid) > 2 {}
    let t1 = monotonic_ns();
    std::fs::write(dir.join("done"), "").expect("write done");
    finish(unshare, &dir);
    t1 - t0
}

fn reap_child(n: usize, dir: &Path) {
    std::fs::write(dir.join("ready"), "").expect("write ready");
    let step = Duration::from_millis(1);
    let limit = Duration::from_secs(60);
    wait_until("go", step, limit, || dir.join("go").exists());
    for _ in 0..n {
        fork_orphan_own_session();
    }
    std::fs::write(dir.join("made"), "").expect("write made");
    wait_until("done", step, limit, || dir.join("done").exists());
}

/// `signals::fork_orphan`, but the orphan starts its own session first. While
/// the init is stopped, zombies pile up; were they in our process group (which
/// vigil, tini and catatonit make a group of its own in the init's session),
/// each further orphan's exit would walk all of them in the kernel to decide
/// whether the group became orphaned (`will_become_orphaned_pgrp`), and
/// leaving N zombies would cost O(N^2): about 4 s instead of 1 s for 10,000.
/// Under dumb-init (which starts a session for its child) it never did. The
/// setup is not what is timed, but this keeps it short and equal for all.
fn fork_orphan_own_session() {
    // SAFETY: the test app is single-threaded here, and the forked processes
    // call only setsid, fork and _exit (async-signal-safe) before exiting.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            libc::setsid();
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

/// One run of the command a restart benchmark restarts: the time it started
/// and the time it is about to exit, one line appended to `file`. The start is
/// taken as soon as `main` has picked this mode, after exec and the runtime's
/// start-up (a few µs for this static binary); the exit stamp comes before the
/// one `write` and `_exit`, so the gap to the next run's start contains them.
fn restart_child(file: &str, code: i32) -> ! {
    let start = monotonic_ns();
    let path = std::ffi::CString::new(file).unwrap_or_else(|_| die("FILE has a NUL byte"));
    // SAFETY: open takes a NUL-terminated path and integer flags.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        die(&format!("open {file}: {}", std::io::Error::last_os_error()));
    }
    let line = format!("{start} {}\n", monotonic_ns());
    // SAFETY: write reads `line`'s bytes, which outlive the call; _exit
    // ends the process without running anything else.
    unsafe {
        // O_APPEND: one write, one whole line.
        if libc::write(fd, line.as_ptr().cast(), line.len()) != line.len() as isize {
            die(&format!(
                "write {file}: {}",
                std::io::Error::last_os_error()
            ));
        }
        libc::_exit(code)
    }
}

/// Writes every sample (microseconds, 1 decimal) to `out`; prints percentiles.
fn samples_report(out: &str, mut ns: Vec<u64>) {
    let lines: Vec<String> = ns
        .iter()
        .map(|v| format!("{:.1}", *v as f64 / 1000.0))
        .collect();
    std::fs::write(out, lines.join("\n") + "\n").expect("write --out");
    ns.sort_unstable();
    let pct = |p: f64| {
        let i = ((ns.len() as f64 * p).ceil() as usize).clamp(1, ns.len()) - 1;
        ns[i] as f64 / 1000.0
    };
    println!(
        "runs={} min_us={:.1} p50_us={:.1} p90_us={:.1} p99_us={:.1} max_us={:.1}",
        ns.len(),
        pct(0.0),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
}
