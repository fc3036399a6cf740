//! The command inherits exactly the fds vigil inherited: 0-2 and whatever
//! vigil's parent passed on, never one of vigil's own (signalfd, epoll, pipes).

mod support;
use std::process::Command;
use support::*;

#[test]
fn the_command_sees_exactly_the_inherited_fds() {
    let app = testapp_str();
    let list = |through_vigil: bool| {
        let mut cmd = Command::new(&app);
        cmd.args(["open-fds", "100", "--"]);
        if through_vigil {
            cmd.args([vigil(), "--"]);
        }
        let o = run(cmd.args([app.as_str(), "fds"]));
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        stdout(&o)
            .split_whitespace()
            .map(|s| s.parse::<i32>().unwrap())
            .collect::<Vec<_>>()
    };
    let direct = list(false);
    assert!(
        direct.len() >= 103,
        "control: 0-2 plus 100 inherited fds, got {direct:?}"
    );
    assert!(direct.starts_with(&[0, 1, 2]));
    assert_eq!(list(true), direct);
}

#[test]
fn vigils_own_fds_are_close_on_exec() {
    // Started with only 0-2 (std closes nothing else it opened: all CLOEXEC),
    // the command must see nothing beyond what the test process passes.
    let app = testapp_str();
    let direct = stdout(&run(Command::new(&app).arg("fds")));
    let under = stdout(&vigil_run(&["--", &app, "fds"]));
    assert_eq!(under, direct);
}
