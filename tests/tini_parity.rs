//! tini 0.19's own test suite (test/run_inner_tests.py, test/run_outer_tests.py
//! and their helpers), ported to vigil where it applies and not already
//! covered by another file: the subreaper bit set by the parent, the signal
//! configuration the command inherits, signals and exit codes as tini's tests
//! check them, `TINI_KILL_PROCESS_GROUP`, `TINI_VERBOSITY`, exec failure
//! wording, signals to vigil as PID 1, and the terminal.
//!
//! Covered elsewhere: `-s`/`TINI_SUBREAPER` reaping (reaping.rs), `-w` as
//! PID 1 (reaping.rs), the warning without either (reaping.rs), `-g`
//! (signals.rs), `-p` (signals.rs), 126/127 and 128+N (exit_status.rs), usage
//! errors, `-h`, `-l`, `--version` (usage.rs).

mod support;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use support::*;

/// The ways tini's tests make orphans come to the init when it is not PID 1:
/// a parent that set the subreaper bit and exec'd it (tini's
/// subreaper-proxy.py), `-s`, and `TINI_SUBREAPER` set but empty.
fn subreaper_targets() -> Vec<Command> {
    let mut proxy = Command::new(testapp());
    proxy.args(["subreaper", "--", vigil()]);
    let mut flag = Command::new(vigil());
    flag.arg("-s");
    let mut env = Command::new(vigil());
    env.env("TINI_SUBREAPER", "");
    vec![proxy, flag, env]
}

fn describe(cmd: &Command) -> String {
    let env: Vec<String> = cmd
        .get_envs()
        .map(|(k, v)| format!("{}={:?}", k.to_string_lossy(), v.unwrap_or_default()))
        .collect();
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    format!("{} {}", env.join(" "), args.join(" "))
}

#[test]
fn started_by_a_parent_that_set_the_subreaper_bit_vigil_does_not_warn() {
    // tini's "reaping test" through subreaper-proxy.py: the bit survives exec,
    // so the orphans come to vigil although it is neither PID 1 nor given -s.
    let app = testapp_str();
    let o = run(Command::new(&app).args([
        "subreaper",
        "--",
        vigil(),
        "--",
        &app,
        "orphans",
        "100",
        "--wait",
        "15",
    ]));
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "stdout: {} stderr: {err}", stdout(&o));
    assert!(stdout(&o).contains("zombies_left=0"), "{}", stdout(&o));
    assert!(!err.contains("zombie reaping won't work"), "{err}");
    assert!(!err.contains("Reaped zombie process with pid="), "{err}");
}

#[test]
fn reaping_display_for_every_subreaper_target() {
    // tini's "reaping display test": -w names each reaped orphan, whichever
    // way vigil became the orphans' reaper.
    let app = testapp_str();
    for mut target in subreaper_targets() {
        let what = describe(&target);
        let o = run(target.args(["-w", "--", &app, "orphans", "3", "--wait", "15"]));
        let err = stderr(&o);
        assert_eq!(code(&o), 0, "{what}: {err}");
        assert_eq!(
            err.matches("Reaped zombie process with pid=").count(),
            3,
            "{what}: {err}"
        );
        assert!(!err.contains("zombie reaping won't work"), "{what}: {err}");
    }
}

#[test]
fn a_forwarded_signal_kills_the_command_and_vigil_exits_128_plus_n() {
    // tini's "signals test": the command keeps the default action, so the
    // forwarded signal ends it and the init reports 128+N.
    for (sig, n) in [("TERM", 15), ("USR1", 10), ("USR2", 12)] {
        for mut target in subreaper_targets() {
            let what = format!("{sig} via {}", describe(&target));
            let mut v = target
                .args(["--", "sleep", "30"])
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn vigil");
            wait_until("the command to start", || !children_of(v.id()).is_empty());
            send(sig, v.id());
            assert_eq!(wait_exit(&mut v).code(), Some(128 + n), "{what}");
        }
    }
}

/// The part of /proc/self/status that names signals, of `cat` run by the test
/// app's `with-mask OPTS --`, through `vigil -s` or directly.
fn signal_fields(mask_opts: &[&str], through_vigil: bool) -> (u64, u64) {
    let mut cmd = Command::new(testapp());
    cmd.arg("with-mask").args(mask_opts).arg("--");
    if through_vigil {
        cmd.args([vigil(), "-s", "--"]);
    }
    let o = run(cmd.args(["cat", "/proc/self/status"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    let field = |name: &str| {
        let v = text.lines().find_map(|l| l.strip_prefix(name)).unwrap();
        u64::from_str_radix(v.trim(), 16).unwrap()
    };
    (field("SigBlk:"), field("SigIgn:"))
}

fn bits(sigs: &[i32]) -> u64 {
    sigs.iter().fold(0, |m, s| m | 1u64 << (s - 1))
}

#[test]
fn the_command_gets_the_signal_configuration_vigil_inherited() {
    // tini's "signal configuration test" (sigconf-test.c): ignored and blocked
    // signals that the init leaves alone (SEGV, ILL), that tini changes for
    // itself and restores (TTOU, TTIN), and that it takes over to forward
    // (INT, TERM) all reach the command as they were. An ignored SIGINT was
    // lost: vigil's start-up handler for it became SIG_DFL in the command.
    use libc::*;
    let table: &[(&str, &str, &[i32], &[i32])] = &[
        // (--ignore, --block, must be ignored, must be blocked)
        (
            "TTOU,SEGV,INT",
            "TTIN,ILL,TERM",
            &[SIGTTOU, SIGSEGV, SIGINT],
            &[SIGTTIN, SIGILL, SIGTERM],
        ),
        (
            "TERM,TTIN,QUIT",
            "INT,TTOU",
            &[SIGTERM, SIGTTIN, SIGQUIT],
            &[SIGINT, SIGTTOU],
        ),
    ];
    for (ignore, block, ignored, blocked) in table {
        let opts = ["--ignore", ignore, "--block", block];
        let (blk, ign) = signal_fields(&opts, true);
        assert_eq!(
            ign & bits(ignored),
            bits(ignored),
            "SigIgn {ign:x}, {opts:?}"
        );
        assert_eq!(
            blk & bits(blocked),
            bits(blocked),
            "SigBlk {blk:x}, {opts:?}"
        );
        assert_eq!((blk, ign), signal_fields(&opts, false), "{opts:?}");
    }
}

#[test]
fn a_signal_vigils_parent_ignored_is_still_forwarded() {
    // tini blocks every signal, ignored ones too, and so forwards them; the
    // command decides (here it catches SIGINT and exits 0).
    let dir = TempDir::new("ignored-int");
    let rec = dir.path("rec");
    let app = testapp_str();
    let mut v = Command::new(&app)
        .args([
            "with-mask",
            "--ignore",
            "INT,TERM",
            "--",
            vigil(),
            "-s",
            "--",
        ])
        .args([&app, "signals", "--out"])
        .arg(&rec)
        .args(["--until", "INT"])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn vigil");
    wait_until("the recorder", || {
        lines(&rec).last().is_some_and(|l| l == "ready")
    });
    send("INT", v.id());
    assert_eq!(wait_exit(&mut v).code(), Some(0));
    assert_eq!(lines(&rec), ["ready", "SIGINT"]);
}

#[test]
fn tini_kill_process_group_sends_signals_to_the_group() {
    // tini's "process group test (environment variable)": the command ignores
    // SIGUSR1 and waits for its child, which does not; SIGUSR1 to vigil must
    // reach the child, and then everything ends. Any value, even empty, as
    // tini checks only that it is set. (`-g`: signals.rs.)
    let app = testapp_str();
    let script = format!("trap '' USR1; '{app}' with-mask --default USR1 -- sleep 1000 & wait $!");
    for value in ["1", ""] {
        let mut v = Command::new(vigil())
            .env("TINI_KILL_PROCESS_GROUP", value)
            .args(["-s", "--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn vigil");
        // Until the child has exec'd sleep, SIGUSR1 is still ignored in it
        // (inherited from the shell's trap): wait for sleep itself.
        wait_until("the command's child running sleep", || {
            children_of(v.id()).iter().any(|sh| {
                children_of(*sh).iter().any(|c| {
                    std::fs::read_to_string(format!("/proc/{c}/comm"))
                        .is_ok_and(|comm| comm.trim() == "sleep")
                })
            })
        });
        send("USR1", v.id());
        // The child died of SIGUSR1; the shell's `wait` returns its 138.
        assert_eq!(wait_exit(&mut v).code(), Some(138), "{value:?}");
    }
}

#[test]
fn exit_codes_with_dash_e_inclusive_and_exclusive() {
    // tini's "exit code test", without `--` as it runs it: `-e N` turns N into
    // 0, and listing every other code leaves N as it is.
    let app = testapp_str();
    for c in 0..=255u8 {
        let n = c.to_string();
        let o = vigil_run(&["-s", "-e", &n, &app, "exit", &n]);
        assert_eq!(code(&o), 0, "inclusive {c}: {}", stderr(&o));
        let mut args = vec!["-s".to_string()];
        for other in (0..=255u8).filter(|o| *o != c) {
            args.extend(["-e".to_string(), other.to_string()]);
        }
        args.extend([app.clone(), "exit".into(), n.clone()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = vigil_run(&args);
        assert_eq!(code(&o), i32::from(c), "exclusive {c}: {}", stderr(&o));
    }
}

#[test]
fn exec_failure_is_reported_in_tinis_words() {
    // `[FATAL tini (PID)] exec zzzz failed: No such file or directory`: the
    // line ends as tini's does (no " (os error 2)"), for a script that reads it.
    let dir = TempDir::new("exec-words");
    let file = dir.path("not-executable");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    let file = file.to_str().unwrap();
    let table = [
        ("zzzz", 127, "No such file or directory"),
        (file, 126, "Permission denied"),
    ];
    for (cmd, status, words) in table {
        let o = vigil_run(&["-s", cmd]);
        assert_eq!(code(&o), status, "{}", stderr(&o));
        let want = format!("exec {cmd} failed: {words}");
        assert!(
            stderr(&o).lines().any(|l| l.ends_with(&want)),
            "no line ends with {want:?}: {}",
            stderr(&o)
        );
        assert_eq!(stdout(&o), "");
    }
}

#[test]
fn tini_verbosity_sets_the_level_and_dash_v_adds_to_it() {
    // Not PID 1 and no subreaper: the warning is level 1 (WARN), the spawn
    // level 3 (DEBUG). TINI_VERBOSITY=0 silences everything but fatal errors.
    let app = testapp_str();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], bool, bool);
    let table: &[Case] = &[
        // (flags, env, warning shown, debug shown)
        (&[], &[("TINI_VERBOSITY", "0")], false, false),
        (&[], &[("TINI_VERBOSITY", "1")], true, false),
        (&[], &[], true, false),
        (&[], &[("TINI_VERBOSITY", "3")], true, true),
        (&["-vv"], &[("TINI_VERBOSITY", "1")], true, true),
        (&["-v"], &[("TINI_VERBOSITY", "0")], true, false),
        (
            &[],
            &[("TINI_VERBOSITY", "3"), ("VIGIL_VERBOSITY", "0")],
            false,
            false,
        ),
    ];
    for (flags, env, warn, debug) in table {
        let mut cmd = Command::new(vigil());
        cmd.env_remove("TINI_VERBOSITY")
            .env_remove("VIGIL_VERBOSITY");
        cmd.envs(env.iter().copied());
        cmd.args(*flags).args(["--", &app, "exit", "0"]);
        let o = run(&mut cmd);
        let err = stderr(&o);
        assert_eq!(code(&o), 0, "{flags:?} {env:?}: {err}");
        assert_eq!(
            err.contains("zombie reaping won't work"),
            *warn,
            "{flags:?} {env:?}: {err}"
        );
        assert_eq!(err.contains(" DEBUG "), *debug, "{flags:?} {env:?}: {err}");
    }
}

#[test]
fn as_pid_1_a_signal_from_outside_reaches_the_command() {
    // tini's outer "signals test" (`docker kill -s TERM|INT`): PID 1 of a PID
    // namespace gets only signals it has a handler for, or blocked ones; vigil
    // blocks them all, so they are forwarded. (TINI_VERBOSITY=3, as there.)
    for (sig, want) in [("TERM", 143), ("INT", 130)] {
        let mut unshare = Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--mount-proc",
                vigil(),
                "--",
                "sleep",
                "30",
            ])
            .env("TINI_VERBOSITY", "3")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn unshare");
        let mut pid1 = None;
        wait_until("vigil (PID 1) to start the command", || {
            pid1 = children_of(unshare.id()).first().copied();
            pid1.is_some_and(|p| !children_of(p).is_empty())
        });
        send(sig, pid1.unwrap());
        assert_eq!(wait_exit(&mut unshare).code(), Some(want), "{sig}");
    }
}

fn type_on(script: &mut std::process::Child, keys: &[u8]) {
    let tty = script.stdin.as_mut().unwrap();
    tty.write_all(keys).unwrap();
    tty.flush().unwrap();
}

#[test]
fn an_interactive_shell_on_a_terminal_exits_0() {
    // tini's outer "TTY handling" test with `dash` and `exit 0`: the shell
    // gets the terminal (it would stop on SIGTTIN reading it otherwise).
    let dir = TempDir::new("tty-exit");
    let out = dir.path("typescript");
    let mut script = on_a_terminal(&format!("exec {} -s -- sh -i", vigil()), &out);
    wait_until("the shell's prompt", || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains("# ") || s.contains("$ "))
    });
    type_on(&mut script, b"exit 0\n");
    let status = wait_exit(&mut script);
    assert_eq!(
        status.code(),
        Some(0),
        "{:?}",
        std::fs::read_to_string(&out)
    );
}

#[test]
fn ctrl_c_on_a_terminal_ends_the_command_and_vigil_exits_130() {
    // tini's outer "TTY handling" test with a loop and Ctrl-C.
    let dir = TempDir::new("tty-ctrl-c");
    let out = dir.path("typescript");
    let cmd = format!(
        "exec {} -s -- sh -c 'while true; do echo \"#\"; sleep 0.1; done'",
        vigil()
    );
    let mut script = on_a_terminal(&cmd, &out);
    wait_until("the loop's output", || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains('#'))
    });
    type_on(&mut script, b"\x03");
    assert_eq!(wait_exit(&mut script).code(), Some(130));
}

/// The process group and the terminal's foreground group (fields 5 and 8 of
/// /proc/PID/stat) that `cat /proc/self/stat` wrote to `file`.
fn group_and_foreground(file: &Path) -> (i64, i64) {
    let stat = std::fs::read_to_string(file).unwrap();
    let tail = stat.rsplit_once(')').unwrap().1;
    let f: Vec<i64> = tail
        .split_whitespace()
        .skip(1)
        .take(6)
        .map(|v| v.parse().unwrap())
        .collect();
    // state ppid pgrp session tty_nr tpgid: after the state, f[1] is pgrp, f[4] tpgid.
    (f[1], f[4])
}

#[test]
fn the_command_gets_the_terminal_only_when_vigil_is_in_the_foreground() {
    // tini gives the child's group the terminal (tcsetpgrp) in any case; vigil
    // does when its own group holds it, and leaves a shell's foreground alone
    // when it runs as a background job (`set -m` gives the job its own group).
    let dir = TempDir::new("tty-foreground");
    for background in [false, true] {
        let stat = dir.path(&format!("stat-{background}"));
        let inner = format!(
            "{} -s -- sh -c 'cat /proc/self/stat > {}'",
            vigil(),
            stat.display()
        );
        let cmd = if background {
            format!("set -m; {inner} & wait $!")
        } else {
            format!("exec {inner}")
        };
        let mut script = on_a_terminal(&cmd, Path::new("/dev/null"));
        assert_eq!(wait_exit(&mut script).code(), Some(0), "{cmd}");
        let (pgrp, tpgid) = group_and_foreground(&stat);
        if background {
            assert_ne!(pgrp, tpgid, "a background vigil took the terminal");
        } else {
            assert_eq!(pgrp, tpgid, "the command's group is not in the foreground");
        }
    }
}
