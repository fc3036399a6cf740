//! vigil-testapp: the program vigil's tests run under vigil. One binary, one
//! behaviour per sub-command, so every test states exactly what the command
//! does. Static like vigil, so it also runs in `FROM scratch` images.
//!
//!   signals --out FILE [--until SIG]   record each signal received, one name per
//!                                      line ("ready" first); exit 0 on SIG (TERM)
//!   tree --out DIR                     a child and a grandchild in one process
//!                                      group, both recording signals in DIR
//!   orphans N [--wait SECS]            leave N orphaned zombies for the init to
//!                                      reap; with --wait, poll /proc until none
//!                                      of them is left: exit 0, else 1
//!   exit CODE                          exit with CODE
//!   die SIG                            kill itself with SIG (default action)
//!   fds                                print the open fds, space separated
//!   ignore-term [--ready FILE]         ignore SIGTERM and wait forever
//!   leave-behind --pid-file FILE       start a TERM-ignoring process in the same
//!                                      process group, write its pid, exit 0
//!   open-fds N -- CMD...               open N fds without close-on-exec, exec CMD
//!   send SIG PID                       kill(PID, SIG), real-time signals too
//!   with-mask [--block SIGS] [--ignore SIGS] [--default SIGS] -- CMD...
//!                                      exec CMD with that signal mask/ignore set
//!   sleep SECS                         exit 0 after SECS
//!   subreaper -- CMD...                become a child subreaper, then exec CMD,
//!                                      which keeps the attribute (as tini's
//!                                      test harness, subreaper-proxy.py)
//!   http --port P ...                  an HTTP server whose answers a control
//!                                      file sets per path (see http.rs)
//!   latency|latency-child|reap-drain|reap-child ...
//!                                      benchmark helpers, see bench.rs

mod bench;
mod http;
mod signals;

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!("usage: vigil-testapp signals|tree|orphans|exit|die|fds|ignore-term|leave-behind|with-mask|subreaper|sleep ...");
    std::process::exit(64)
}

pub(crate) fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else { usage() };
    let rest = &args[1..];
    match mode.as_str() {
        "signals" => {
            let out = flag(rest, "--out").unwrap_or_else(|| usage());
            let until = flag(rest, "--until").unwrap_or_else(|| "TERM".into());
            signals::record(&out, signals::parse(&until))
        }
        "tree" => {
            let dir = flag(rest, "--out").unwrap_or_else(|| usage());
            let me = std::env::current_exe().expect("current_exe");
            // Deliberately never waited for: it must outlive this process's
            // handling and end by the signals the test sends.
            #[allow(clippy::zombie_processes)]
            let _child = Command::new(me)
                .args(["signals", "--out", &format!("{dir}/grandchild")])
                .spawn()
                .expect("spawn grandchild");
            signals::record(&format!("{dir}/child"), libc::SIGTERM)
        }
        "orphans" => {
            let n: usize = rest
                .first()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| usage());
            let wait =
                flag(rest, "--wait").map(|s| Duration::from_secs_f64(s.parse().expect("secs")));
            orphans(n, wait)
        }
        "exit" => std::process::exit(
            rest.first()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| usage()),
        ),
        "die" => signals::die(signals::parse(rest.first().unwrap_or_else(|| usage()))),
        "fds" => {
            let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
                .expect("read /proc/self/fd")
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect();
            fds.sort_unstable();
            // The directory listing itself used one fd: the highest that is
            // no longer open.
            fds.retain(|fd| std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok());
            let text: Vec<String> = fds.iter().map(i32::to_string).collect();
            println!("{}", text.join(" "));
        }
        "ignore-term" => {
            signals::ignore(libc::SIGTERM);
            if let Some(f) = flag(rest, "--ready") {
                std::fs::write(f, "ready\n").expect("write ready file");
            }
            loop {
                std::thread::park();
            }
        }
        "leave-behind" => {
            let pid_file = flag(rest, "--pid-file").unwrap_or_else(|| usage());
            let me = std::env::current_exe().expect("current_exe");
            let ready = format!("{pid_file}.ready");
            // Deliberately left behind: the test checks that vigil cleans it up.
            #[allow(clippy::zombie_processes)]
            let child = Command::new(me)
                .args(["ignore-term", "--ready", &ready])
                .spawn()
                .expect("spawn");
            wait_for(
                || std::path::Path::new(&ready).exists(),
                Duration::from_secs(10),
            );
            std::fs::write(&pid_file, child.id().to_string()).expect("write pid file");
        }
        "with-mask" => {
            let sep = rest
                .iter()
                .position(|a| a == "--")
                .unwrap_or_else(|| usage());
            let (opts, cmd) = (&rest[..sep], &rest[sep + 1..]);
            let list = |name| {
                flag(opts, name)
                    .map(|s| s.split(',').map(signals::parse).collect::<Vec<_>>())
                    .unwrap_or_default()
            };
            signals::set_mask_and_ignored(&list("--block"), &list("--ignore"), &list("--default"));
            let err = Command::new(&cmd[0]).args(&cmd[1..]).exec();
            eprintln!("with-mask: exec {}: {err}", cmd[0]);
            std::process::exit(127)
        }
        "subreaper" => {
            let sep = rest
                .iter()
                .position(|a| a == "--")
                .unwrap_or_else(|| usage());
            let cmd = &rest[sep + 1..];
            nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
            let err = Command::new(&cmd[0]).args(&cmd[1..]).exec();
            eprintln!("subreaper: exec {}: {err}", cmd[0]);
            std::process::exit(127)
        }
        "open-fds" => {
            let n: usize = rest
                .first()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| usage());
            let sep = rest
                .iter()
                .position(|a| a == "--")
                .unwrap_or_else(|| usage());
            let mut keep = Vec::new();
            for _ in 0..n {
                let f = std::fs::File::open("/dev/null").expect("open /dev/null");
                signals::inheritable(&f);
                keep.push(f);
            }
            let cmd = &rest[sep + 1..];
            let err = Command::new(&cmd[0]).args(&cmd[1..]).exec();
            eprintln!("open-fds: exec {}: {err}", cmd[0]);
            std::process::exit(127)
        }
        "send" => {
            let sig = signals::parse(rest.first().unwrap_or_else(|| usage()));
            let pid: i32 = rest
                .get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| usage());
            std::process::exit(if signals::send(pid, sig) { 0 } else { 1 })
        }
        "http" => http::run(rest),
        "sleep" => {
            let secs: f64 = rest
                .first()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| usage());
            std::thread::sleep(Duration::from_secs_f64(secs));
        }
        m if bench::handles(m) => bench::run(m, rest),
        _ => usage(),
    }
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
fn wait_for(mut cond: impl FnMut() -> bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}

/// Leaves `n` orphans: each child forks a grandchild and exits at once; the
/// grandchild exits too, and its zombie belongs to whoever reaps orphans (PID 1
/// or the nearest subreaper). With `wait`, polls /proc until no zombie whose
/// parent is our parent is left.
fn orphans(n: usize, wait: Option<Duration>) {
    let start = Instant::now();
    for _ in 0..n {
        signals::fork_orphan();
    }
    let made = start.elapsed();
    let Some(limit) = wait else { return };
    let reaper = std::os::unix::process::parent_id();
    let mut left = 0;
    let ok = wait_for(
        || {
            left = zombies_of(reaper);
            left == 0
        },
        limit,
    );
    println!(
        "orphans={n} made_in_ms={} reaped_in_ms={} zombies_left={left}",
        made.as_millis(),
        start.elapsed().as_millis()
    );
    std::process::exit(if ok { 0 } else { 1 })
}

/// Zombies (state Z) whose parent is `ppid`, read from /proc.
fn zombies_of(ppid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid ...: comm may contain spaces, so split after ')'.
            let Some(tail) = stat.rsplit_once(')').map(|(_, t)| t) else {
                return false;
            };
            let mut it = tail.split_whitespace();
            it.next() == Some("Z") && it.next().and_then(|p| p.parse::<u32>().ok()) == Some(ppid)
        })
        .count()
}
