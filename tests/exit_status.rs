//! vigil exits with the command's status: 0-255 as is, 128+N for signal N,
//! 127/126 for not found/not executable, `-e` remapping.

mod support;
use support::*;

#[test]
fn exit_codes_0_to_255_pass_through() {
    let app = testapp_str();
    for c in 0..=255 {
        let o = vigil_run(&["--", &app, "exit", &c.to_string()]);
        assert_eq!(code(&o), c, "exit {c}: {}", stderr(&o));
    }
}

#[test]
fn dash_e_remaps_listed_codes_to_zero() {
    let app = testapp_str();
    let table: &[(&[&str], i32)] = &[
        (&["-e", "3", "--", &app, "exit", "3"], 0),
        (&["-e", "3", "--", &app, "exit", "4"], 4),
        (&["-e", "3", "-e", "4", "--", &app, "exit", "4"], 0),
        (&["-e", "143", "--", &app, "die", "TERM"], 0),
        (&["-e", "143", "--", &app, "die", "KILL"], 137),
        (&["-e", "0", "--", &app, "exit", "0"], 0),
    ];
    for (args, want) in table {
        let o = vigil_run(args);
        assert_eq!(code(&o), *want, "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn death_by_signal_gives_128_plus_n() {
    let app = testapp_str();
    let table = [
        ("TERM", 143),
        ("HUP", 129),
        ("USR1", 138),
        ("USR2", 140),
        ("QUIT", 131),
        ("KILL", 137),
        ("INT", 130),
        ("PIPE", 141),
    ];
    for (sig, want) in table {
        let o = vigil_run(&["--", &app, "die", sig]);
        assert_eq!(code(&o), want, "die {sig}: {}", stderr(&o));
    }
}

#[test]
fn command_not_found_is_127() {
    let o = vigil_run(&["--", "vigil-no-such-command"]);
    assert_eq!(code(&o), 127);
    assert!(
        stderr(&o).contains("exec vigil-no-such-command failed: No such file or directory"),
        "{}",
        stderr(&o)
    );
    let o = vigil_run(&["--", "/nonexistent/dir/cmd"]);
    assert_eq!(code(&o), 127);
}

#[test]
fn command_not_executable_is_126() {
    let dir = TempDir::new("noexec");
    let file = dir.path("script");
    std::fs::write(&file, "#!/bin/sh\nexit 0\n").unwrap();
    let file = file.to_string_lossy().into_owned();
    let o = vigil_run(&["--", &file]);
    assert_eq!(code(&o), 126, "{}", stderr(&o));
    assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));
    // A directory is found but cannot be executed either.
    let d = dir.0.to_string_lossy().into_owned();
    assert_eq!(code(&vigil_run(&["--", &d])), 126);
    // Found through PATH but not executable: 126, not 127.
    let o = run(std::process::Command::new(vigil())
        .env("PATH", &dir.0)
        .args(["--", "script"]));
    assert_eq!(code(&o), 126, "{}", stderr(&o));
}

#[test]
fn exit_status_survives_an_ignored_sigchld() {
    // A parent that ignores SIGCHLD passes that on; vigil must still see its
    // child's status (an ignored SIGCHLD makes the kernel auto-reap).
    let app = testapp_str();
    let o = run(std::process::Command::new(&app).args([
        "with-mask",
        "--ignore",
        "CHLD",
        "--",
        vigil(),
        "--",
        &app,
        "exit",
        "7",
    ]));
    assert_eq!(code(&o), 7, "{}", stderr(&o));
}
