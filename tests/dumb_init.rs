//! vigil started as `dumb-init` (a symlink of that name): dumb-init 1.2's
//! flags, variables, messages and process behaviour, through the binary.

mod support;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use support::*;

/// A `dumb-init` symlink to vigil in `dir`.
fn dumb_init(dir: &TempDir) -> PathBuf {
    let link = dir.path("dumb-init");
    if !link.exists() {
        symlink(vigil(), &link).expect("symlink dumb-init");
    }
    link
}

/// `dumb-init ARGS` with the dumb-init and vigil variables cleared, `env` set.
fn command(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(dumb_init(dir));
    cmd.args(args);
    for var in ["DUMB_INIT_SETSID", "DUMB_INIT_DEBUG", "VIGIL_VERBOSITY"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn start(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> Child {
    command(dir, args, env)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dumb-init")
}

/// `dumb-init FLAGS testapp signals --out DIR/signals`, once the app records:
/// vigil, the command's pid and the file it records in.
fn recorder(dir: &TempDir, flags: &[&str]) -> (Child, u32, PathBuf) {
    let file = dir.path("signals");
    let app = testapp_str();
    let mut args = flags.to_vec();
    args.extend([app.as_str(), "signals", "--out", file.to_str().unwrap()]);
    let vigil = start(dir, &args, &[]);
    wait_ready(&file);
    let child = children_of(vigil.id())[0];
    (vigil, child, file)
}

/// Field `n` (1-based, as proc(5) numbers them) of /proc/PID/stat.
fn stat_field(pid: u32, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(n - 3).map(str::to_string)
}

fn state(pid: u32) -> String {
    stat_field(pid, 3).unwrap_or_else(|| "gone".into())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn wait_ready(path: &Path) {
    wait_until(&format!("{} ready", path.display()), || {
        read(path).starts_with("ready")
    });
}

#[test]
fn an_exec_failure_is_reported_in_dumb_inits_words_with_status_2() {
    let dir = TempDir::new("di-exec");
    let out = run(&mut command(&dir, &["/nonexistent/app", "x"], &[]));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "[dumb-init] /nonexistent/app: No such file or directory\n"
    );
    let script = dir.path("not-executable");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let out = run(&mut command(&dir, &[script.to_str().unwrap()], &[]));
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        format!("[dumb-init] {}: Permission denied\n", script.display())
    );
}

#[test]
fn help_version_and_usage_errors_as_dumb_init() {
    let dir = TempDir::new("di-usage");
    let link = dumb_init(&dir);
    let name = link.display();
    // (args, exit status, stderr starts with)
    let table: &[(&[&str], i32, String)] = &[
        (&["-h"], 0, "dumb-init v1.2.5".into()),
        (&["--help"], 0, "dumb-init v1.2.5".into()),
        (&["-V"], 0, "dumb-init v1.2.5".into()),
        (&["--version"], 0, "dumb-init v1.2.5".into()),
        (
            &[],
            1,
            format!("Usage: {name} [option] program [args]\nTry {name} --help for full usage.\n"),
        ),
        (
            &["-x", "true"],
            1,
            format!("{name}: invalid option -- 'x'\n"),
        ),
        (
            &["--bogus", "true"],
            1,
            format!("{name}: unrecognized option '--bogus'\n"),
        ),
        (
            &["-r", "15:99", "true"],
            1,
            "Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and 31.\n"
                .into(),
        ),
    ];
    for (args, status, want) in table {
        let out = run(&mut command(&dir, args, &[]));
        assert_eq!(code(&out), *status, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with(want.as_str()),
            "{args:?}: {:?} does not start with {want:?}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    // Under its own name vigil keeps its interface.
    let out = vigil_run(&["-V"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
}

#[test]
fn the_command_runs_in_a_new_session_unless_single_child() {
    let dir = TempDir::new("di-setsid");
    let file = dir.path("sid");
    let report = format!(
        "echo $$ $(cut -d' ' -f6 /proc/self/stat) > {}",
        file.display()
    );
    // (args, env, new session)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], bool);
    let table: &[Case] = &[
        (&[], &[], true),
        (&[], &[("DUMB_INIT_SETSID", "1")], true),
        (&["-c"], &[], false),
        (&["--single-child"], &[], false),
        (&[], &[("DUMB_INIT_SETSID", "0")], false),
    ];
    let own_session = stat_field(std::process::id(), 6).unwrap();
    for (flags, env, new_session) in table {
        let _ = std::fs::remove_file(&file);
        let mut args = flags.to_vec();
        args.extend(["sh", "-c", &report]);
        let out = run(&mut command(&dir, &args, env));
        assert_eq!(code(&out), 0, "{flags:?} {env:?}: {}", stderr(&out));
        let text = read(&file);
        let (pid, sid) = text.trim().split_once(' ').expect("pid and sid");
        if *new_session {
            assert_eq!(pid, sid, "{flags:?} {env:?}: the shell leads its session");
        } else {
            assert_eq!(sid, own_session, "{flags:?} {env:?}: the test's session");
        }
    }
}

/// Starts `testapp tree` (a child and a grandchild in one group, each
/// recording signals) under dumb-init with `flags`; returns vigil and the files.
fn tree(dir: &TempDir, flags: &[&str]) -> (Child, PathBuf, PathBuf) {
    let out = dir.path("tree");
    std::fs::create_dir_all(&out).unwrap();
    let app = testapp_str();
    let mut args = flags.to_vec();
    args.extend([app.as_str(), "tree", "--out", out.to_str().unwrap()]);
    let vigil = start(dir, &args, &[]);
    let (child, grandchild) = (out.join("child"), out.join("grandchild"));
    wait_ready(&child);
    wait_ready(&grandchild);
    (vigil, child, grandchild)
}

#[test]
fn signals_reach_the_whole_group_and_the_rest_gets_sigterm_when_the_command_exits() {
    let dir = TempDir::new("di-group");
    let (mut vigil, child, grandchild) = tree(&dir, &[]);
    send("USR1", vigil.id());
    wait_until("USR1 in the child and the grandchild", || {
        read(&grandchild).contains("SIGUSR1") && read(&child).contains("SIGUSR1")
    });
    // TERM to the group ends both; vigil exits with the command's status.
    send("TERM", vigil.id());
    assert_eq!(wait_exit(&mut vigil).code(), Some(0));
    wait_until("TERM in the grandchild", || {
        read(&grandchild).contains("SIGTERM")
    });
}

#[test]
fn single_child_mode_signals_the_command_only() {
    let dir = TempDir::new("di-single");
    let (mut vigil, child, grandchild) = tree(&dir, &["-c"]);
    send("USR1", vigil.id());
    wait_until("USR1 in the child", || read(&child).contains("SIGUSR1"));
    send("TERM", vigil.id());
    assert_eq!(wait_exit(&mut vigil).code(), Some(0));
    assert!(read(&child).contains("SIGTERM"));
    // The grandchild got neither signal (vigil exited after its last send).
    assert_eq!(read(&grandchild), "ready\n");
    let pids = Command::new("pkill")
        .args(["-f", grandchild.to_str().unwrap()])
        .status();
    assert!(pids.is_ok());
}

#[test]
fn the_rewrite_table_maps_and_drops_signals() {
    let dir = TempDir::new("di-rewrite");
    let file = dir.path("signals");
    let app = testapp_str();
    let mut vigil = start(
        &dir,
        &[
            "-r",
            "10:12",
            "--rewrite",
            "15:0",
            "-r2:15",
            &app,
            "signals",
            "--out",
            file.to_str().unwrap(),
        ],
        &[],
    );
    wait_ready(&file);
    send("TERM", vigil.id()); // dropped
    send("USR1", vigil.id()); // as USR2
    wait_until("USR2", || read(&file).contains("SIGUSR2"));
    send("INT", vigil.id()); // as TERM: the app exits 0
    assert_eq!(wait_exit(&mut vigil).code(), Some(0));
    assert_eq!(read(&file), "ready\nSIGUSR2\nSIGTERM\n");
}

#[test]
fn verbose_output_from_the_flag_or_the_variable() {
    let dir = TempDir::new("di-verbose");
    for (args, env) in [
        (&["-v", "true"][..], &[][..]),
        (&["--verbose", "true"], &[]),
        (&["true"], &[("DUMB_INIT_DEBUG", "1")]),
    ] {
        let out = run(&mut command(&dir, args, env));
        assert_eq!(code(&out), 0);
        let err = stderr(&out);
        assert!(err.contains("[dumb-init] spawned true as pid "), "{err}");
        assert!(err.lines().all(|l| l.starts_with("[dumb-init] ")), "{err}");
    }
    // Quiet by default, as dumb-init.
    let out = run(&mut command(&dir, &["true"], &[("DUMB_INIT_DEBUG", "0")]));
    assert_eq!((code(&out), stderr(&out)), (0, String::new()));
}

#[test]
fn job_control_stops_vigil_and_the_command_and_sigcont_resumes_both() {
    let dir = TempDir::new("di-tstp");
    // Not PID 1 (the kernel would not stop a namespace's init).
    let (mut vigil, child, file) = recorder(&dir, &[]);
    for sig in ["TSTP", "TTIN", "TTOU"] {
        send(sig, vigil.id());
        wait_until(&format!("both stopped after {sig}"), || {
            state(vigil.id()) == "T" && state(child) == "T"
        });
        send("CONT", vigil.id());
        wait_until(&format!("both running after CONT ({sig})"), || {
            state(vigil.id()) != "T" && state(child) != "T"
        });
    }
    // The stops went as SIGSTOP (the app cannot catch it); CONT was passed on.
    wait_until("three CONTs", || {
        read(&file).matches("SIGCONT").count() == 3
    });
    assert!(!read(&file).contains("SIGTSTP"), "{}", read(&file));
    send("TERM", vigil.id());
    assert_eq!(wait_exit(&mut vigil).code(), Some(0));
}

#[test]
fn in_single_child_mode_the_stop_is_passed_on_as_received() {
    let dir = TempDir::new("di-tstp-c");
    let (mut vigil, _child, file) = recorder(&dir, &["-c"]);
    send("TSTP", vigil.id());
    wait_until("vigil stopped", || state(vigil.id()) == "T");
    wait_until("TSTP recorded", || read(&file).contains("SIGTSTP"));
    send("CONT", vigil.id());
    wait_until("vigil running", || state(vigil.id()) != "T");
    send("TERM", vigil.id());
    assert_eq!(wait_exit(&mut vigil).code(), Some(0));
}

#[test]
fn vigil_exits_with_the_command_without_waiting_for_the_rest_of_its_group() {
    let dir = TempDir::new("di-exit");
    let pid_file = dir.path("leftover");
    let app = testapp_str();
    // The leftover ignores SIGTERM; under vigil's own name it would be given
    // the whole grace (30 s) and then SIGKILL before vigil exits.
    let started = std::time::Instant::now();
    let mut vigil = start(
        &dir,
        &[
            "--grace",
            "30s",
            &app,
            "leave-behind",
            "--pid-file",
            pid_file.to_str().unwrap(),
        ],
        &[],
    );
    let status = wait_exit(&mut vigil);
    let elapsed = started.elapsed();
    assert_eq!(status.code(), Some(0));
    let leftover: u32 = read(&pid_file).trim().parse().expect("leftover pid");
    // vigil did not wait: the TERM-ignoring leftover still runs.
    assert!(!is_dead(leftover), "the leftover was killed: vigil waited");
    eprintln!("dumb-init exit after the command's: {elapsed:?} from start");
    send("KILL", leftover);
}

/// Kills a vigil and its children should the test fail while they run.
struct KillTree(u32);

impl Drop for KillTree {
    fn drop(&mut self) {
        for pid in children_of(self.0) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = Command::new("kill")
            .args(["-KILL", &self.0.to_string()])
            .status();
    }
}

/// The working directory of `pid`, from /proc.
fn cwd(pid: u32) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default()
}

#[test]
fn vigil_leaves_its_start_directory_while_the_command_and_probes_start_in_it() {
    for personality in ["vigil", "dumb-init"] {
        let dir = TempDir::new("di-cwd");
        let start_dir = dir.path("start");
        std::fs::create_dir_all(&start_dir).unwrap();
        let program = match personality {
            "vigil" => PathBuf::from(vigil()),
            _ => dumb_init(&dir),
        };
        let mut cmd = Command::new(program);
        if personality == "vigil" {
            cmd.arg("-s");
        }
        cmd.args([
            "--ready-file",
            "ready",
            "--readiness",
            r#"{"exec":{"command":["sh","-c","pwd > probe-cwd"]},"period_seconds":1}"#,
            "--",
            "sh",
            "-c",
            "pwd > command-cwd; exec sleep 1000",
        ])
        .current_dir(&start_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
        for var in ["DUMB_INIT_SETSID", "VIGIL_READY_FILE", "VIGIL_SOCKET"] {
            cmd.env_remove(var);
        }
        let mut vigil = cmd.spawn().expect("start");
        // Relative paths are the start directory's: the probe's output and
        // the ready file appear there.
        let ready = start_dir.join("ready");
        wait_until("the ready file", || ready.exists());
        // (Each is written in two steps, truncate then write: wait for it.)
        for file in ["probe-cwd", "command-cwd"] {
            wait_until(file, || {
                read(&start_dir.join(file)).trim() == start_dir.to_str().unwrap()
            });
        }
        let guard = KillTree(vigil.id());
        let child = children_of(vigil.id())
            .into_iter()
            .find(|p| read(Path::new(&format!("/proc/{p}/comm"))).trim() == "sleep")
            .expect("the command");
        assert_eq!(
            cwd(child),
            start_dir,
            "{personality}: the command's directory"
        );
        assert_eq!(
            cwd(vigil.id()),
            Path::new("/"),
            "{personality}: vigil's own"
        );
        send("TERM", vigil.id());
        wait_exit(&mut vigil);
        std::mem::forget(guard);
        assert!(
            !ready.exists(),
            "{personality}: the ready file is removed at exit"
        );
    }
}

#[test]
fn on_a_terminal_the_kernels_hand_off_signals_are_not_passed_on_and_the_operators_are() {
    let dir = TempDir::new("di-tty");
    let file = dir.path("signals");
    let pid_file = dir.path("pid");
    let link = dumb_init(&dir);
    // `exec`: dumb-init leads the terminal's session, so letting go of the
    // terminal makes the kernel send it SIGHUP and SIGCONT.
    let cmd = format!(
        "echo $$ > {pid}; exec {di} {app} signals --out {out}",
        pid = pid_file.display(),
        di = link.display(),
        app = testapp_str(),
        out = file.display()
    );
    let mut script = on_a_terminal(&cmd, &dir.path("typescript"));
    wait_ready(&file);
    let vigil: u32 = read(&pid_file).trim().parse().expect("vigil's pid");
    let _guard = KillTree(vigil);
    send("USR1", vigil);
    wait_until("USR1", || read(&file).contains("SIGUSR1"));
    // The hand-off SIGHUP/SIGCONT never reached the command (a SIGHUP before
    // its handlers were in place would have killed it).
    assert_eq!(read(&file), "ready\nSIGUSR1\n");
    // The operator's first SIGHUP and SIGCONT are passed on.
    send("HUP", vigil);
    wait_until("HUP", || read(&file).contains("SIGHUP"));
    send("CONT", vigil);
    wait_until("CONT", || read(&file).contains("SIGCONT"));
    send("TERM", vigil);
    wait_exit(&mut script);
}

#[test]
fn a_stop_signal_rewritten_to_0_changes_nothing() {
    let dir = TempDir::new("di-drop-term");
    let file = dir.path("signals");
    let socket = dir.path("vigil.sock");
    let app = testapp_str();
    let mut vigil = start(
        &dir,
        &[
            "-r",
            "15:0",
            "--socket",
            socket.to_str().unwrap(),
            &app,
            "signals",
            "--out",
            file.to_str().unwrap(),
        ],
        &[],
    );
    wait_ready(&file);
    send("TERM", vigil.id());
    send("USR1", vigil.id());
    wait_until("USR1", || read(&file).contains("SIGUSR1"));
    // Not stopping: the phase is still running, the command got no TERM.
    let status = run(Command::new(support::vigil()).args([
        "status",
        "--json",
        "--socket",
        socket.to_str().unwrap(),
    ]));
    assert!(
        stdout(&status).contains(r#""phase":"running""#),
        "{}",
        stdout(&status)
    );
    assert_eq!(read(&file), "ready\nSIGUSR1\n");
    send("INT", vigil.id()); // passed on: the app records it, then TERM ends it
    wait_until("INT", || read(&file).contains("SIGINT"));
    send("KILL", children_of(vigil.id())[0]);
    assert_eq!(wait_exit(&mut vigil).code(), Some(137));
}

#[test]
fn the_command_gets_no_blocked_or_ignored_signal_from_vigils_parent() {
    let dir = TempDir::new("di-mask");
    let file = dir.path("status");
    let link = dumb_init(&dir);
    let report = format!(
        "grep -E '^(SigBlk|SigIgn)' /proc/self/status > {}",
        file.display()
    );
    let out = run(Command::new(testapp()).args([
        "with-mask",
        "--block",
        "USR1,TERM",
        "--ignore",
        "USR2,INT",
        "--",
        link.to_str().unwrap(),
        "sh",
        "-c",
        &report,
    ]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let got = read(&file);
    // Signals 1-31, as dumb-init resets them (real-time ones it leaves).
    let low = |field: &str| {
        got.lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .map(|m| m & 0x7fff_ffff)
    };
    assert_eq!(low("SigBlk:"), Some(0), "{got}");
    assert_eq!(low("SigIgn:"), Some(0), "{got}");
}

#[test]
fn two_stops_in_a_row_are_undone_by_one_sigcont() {
    let dir = TempDir::new("di-two-stops");
    let (mut vigil, child, _file) = recorder(&dir, &[]);
    send("TSTP", vigil.id());
    send("TTIN", vigil.id());
    wait_until("both stopped", || {
        state(vigil.id()) == "T" && state(child) == "T"
    });
    send("CONT", vigil.id());
    wait_until("both running after one CONT", || {
        state(vigil.id()) != "T" && state(child) != "T"
    });
    send("TERM", vigil.id());
    assert_eq!(wait_exit(&mut vigil).code(), Some(0));
}

#[test]
fn in_single_child_mode_the_command_stays_in_vigils_process_group() {
    let dir = TempDir::new("di-c-group");
    let file = dir.path("signals");
    for (flags, same) in [(&["-c"][..], true), (&[][..], false)] {
        let _ = std::fs::remove_file(&file);
        let (mut vigil, child, _) = recorder(&dir, flags);
        let pgid = |pid: u32| stat_field(pid, 5).unwrap_or_default();
        assert_eq!(pgid(child) == pgid(vigil.id()), same, "{flags:?}");
        send("TERM", vigil.id());
        assert_eq!(wait_exit(&mut vigil).code(), Some(0));
    }
}

#[test]
fn restarts_and_exec_probes_start_in_the_start_directory_even_once_it_is_gone() {
    let dir = TempDir::new("di-cwd-gone");
    let start_dir = dir.path("start");
    std::fs::create_dir_all(&start_dir).unwrap();
    let runs = dir.path("runs");
    let script = format!(
        "readlink /proc/$$/cwd >> {}; exec sleep 1000",
        runs.display()
    );
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let mut vigil = Command::new(support::vigil())
        .args([
            "-s",
            "-vvv",
            "--restart",
            "always",
            "--liveness",
            r#"{"exec":{"command":["sh","-c","pwd >/dev/null"]},"period_seconds":0.05,"failure_threshold":1}"#,
            "--",
            "sh",
            "-c",
            &script,
        ])
        .current_dir(&start_dir)
        .stdin(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let _guard = KillTree(vigil.id());
    let log = || read(&dir.path("log"));
    wait_until("the first run", || read(&runs).lines().count() == 1);
    std::fs::remove_dir(&start_dir).unwrap();
    // The exec probe keeps succeeding in the deleted directory...
    let before = log().matches("liveness probe succeeded").count();
    wait_until("5 more probe successes", || {
        log().matches("liveness probe succeeded").count() >= before + 5
    });
    assert!(!log().contains("liveness probe failed"), "{}", log());
    // ... and a restart starts there too.
    send("TERM", children_of(vigil.id())[0]);
    wait_until("the second run", || read(&runs).lines().count() == 2);
    let second = read(&runs).lines().nth(1).unwrap().to_string();
    assert_eq!(second, format!("{} (deleted)", start_dir.display()));
    send("TERM", vigil.id());
    wait_exit(&mut vigil);
}
