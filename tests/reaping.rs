//! Zombie reaping: as PID 1 of a fresh PID namespace, and as a subreaper when
//! not PID 1. The test app leaves 1,000 orphaned zombies and then polls /proc
//! until none whose parent is vigil is left (exit 0) or its limit passes (1).

mod support;
use std::process::Command;
use support::*;

fn assert_all_reaped(o: &std::process::Output) {
    assert_eq!(code(o), 0, "stdout: {} stderr: {}", stdout(o), stderr(o));
    assert!(
        stdout(o).contains("orphans=1000 ") && stdout(o).contains("zombies_left=0"),
        "{}",
        stdout(o)
    );
}

#[test]
fn as_pid1_in_a_new_pid_namespace_no_zombie_is_left() {
    let app = testapp_str();
    let o = run(Command::new("unshare").args([
        "--pid",
        "--fork",
        "--mount-proc",
        vigil(),
        "--",
        &app,
        "orphans",
        "1000",
        "--wait",
        "15",
    ]));
    assert_all_reaped(&o);
    assert!(
        !stderr(&o).contains("not running as PID 1"),
        "vigil must know it is PID 1: {}",
        stderr(&o)
    );
}

#[test]
fn as_subreaper_no_zombie_is_left() {
    let app = testapp_str();
    assert_all_reaped(&vigil_run(&[
        "-s", "--", &app, "orphans", "1000", "--wait", "15",
    ]));
    // The environment variables do the same as -s, even when empty.
    for var in ["TINI_SUBREAPER", "VIGIL_SUBREAPER"] {
        let o = run(Command::new(vigil())
            .env(var, "")
            .args(["--", &app, "orphans", "1000", "--wait", "15"]));
        assert_all_reaped(&o);
        assert!(
            !stderr(&o).contains("isn't registered as a child subreaper"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn without_pid1_or_subreaper_vigil_warns() {
    let o = vigil_run(&["--", &testapp_str(), "exit", "0"]);
    assert_eq!(code(&o), 0);
    assert!(
        stderr(&o).contains("zombie reaping won't work"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dash_w_logs_each_reaped_zombie() {
    let o = run(Command::new("unshare").args([
        "--pid",
        "--fork",
        "--mount-proc",
        vigil(),
        "-w",
        "--",
        &testapp_str(),
        "orphans",
        "3",
        "--wait",
        "15",
    ]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let n = stderr(&o)
        .matches("Reaped zombie process with pid=")
        .count();
    assert_eq!(n, 3, "{}", stderr(&o));
}
