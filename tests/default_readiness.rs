//! The platform's default readiness probe through the built binary: a
//! service.json that names a port and no readiness_check gets a tcp_socket
//! probe on that port, as EAS gives it; `vigil check` shows it, and
//! `--no-default-readiness` (or `VIGIL_NO_DEFAULT_READINESS`) turns it off.

mod support;
use support::probes::*;
use support::*;

/// The note `vigil check` prints and start-up logs, for `port`.
fn note(port: u16) -> String {
    format!(
        "readiness_check: tcp_socket port {port} (the platform's default: the service names a \
         port and no readiness_check); --no-default-readiness or VIGIL_NO_DEFAULT_READINESS=1 \
         turns it off"
    )
}

/// A service.json of one container, written to `dir`; its path.
fn service(dir: &TempDir, container: &str) -> String {
    let path = dir.path("service.json");
    std::fs::write(&path, format!(r#"{{"containers": [{container}]}}"#)).unwrap();
    path.to_string_lossy().into_owned()
}

/// vigil ARGS --config FILE -- testapp http ... APP_ARGS, where FILE names
/// the app's port and no readiness_check.
fn run_service(tag: &str, args: &[&str], app_args: &[&str]) -> Run {
    let dir = TempDir::new(tag);
    let port = free_port();
    let file = service(&dir, &format!(r#"{{"command": "unused", "port": {port}}}"#));
    let args: Vec<&str> = args.iter().copied().chain(["--config", &file]).collect();
    Run::start_in(dir, port, &args, app_args)
}

/// `vigil check --json ARGS`'s `config`, which must be valid.
fn check_config(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let args: Vec<&str> = ["check", "--json"].iter().chain(args).copied().collect();
    let out = vigil_env(&args, env);
    assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["config"].clone()
}

/// Asserts that `config` (from `check_config`) has no readiness probe.
fn assert_no_readiness(config: &serde_json::Value) {
    assert_eq!(config["default_readiness"], false, "{config}");
    assert_eq!(
        config["readiness_check"],
        serde_json::Value::Null,
        "{config}"
    );
}

/// The readiness row of `vigil check`'s table, as its cells.
fn readiness_row(table: &str) -> Vec<String> {
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("readiness "))
        .unwrap_or_else(|| panic!("no readiness row in {table}"));
    row.split_whitespace().map(String::from).collect()
}

#[test]
fn check_shows_the_default() {
    let dir = TempDir::new("default-check");
    let file = service(&dir, r#"{"command": "app", "port": 8000}"#);
    let out = vigil_env(&["check", &file], &[]);
    let table = stdout(&out);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        readiness_row(&table),
        [
            "readiness",
            "tcp_socket",
            "<pod-ip>:8000",
            "0s",
            "10s",
            "1s",
            "1",
            "3"
        ]
    );
    assert!(table.contains(&format!("\n  {}\n", note(8000))), "{table}");
    // Nothing to warn about: it is what the platform does.
    assert!(
        stderr(&out).contains("valid: 0 error(s), 0 warning(s)"),
        "{}",
        stderr(&out)
    );

    let config = check_config(&[&file], &[]);
    assert_eq!(config["default_readiness"], true);
    assert_eq!(
        config["readiness_check"],
        serde_json::json!({
            "handler": {"tcp_socket": {"host": null, "port": 8000}},
            "initial_delay_seconds": 0,
            "period_seconds": 10,
            "timeout_seconds": 1,
            "success_threshold": 1,
            "failure_threshold": 3
        })
    );
}

#[test]
fn check_without_the_default() {
    let dir = TempDir::new("default-off");
    let file = service(&dir, r#"{"command": "app", "port": 8000}"#);
    // (args, env): each switches it off.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (&["check", "--no-default-readiness", &file], &[]),
        (&["check", &file, "--no-default-readiness"], &[]),
        (&["check", &file], &[("VIGIL_NO_DEFAULT_READINESS", "1")]),
        (&["check", &file], &[("VIGIL_NO_DEFAULT_READINESS", "")]),
    ];
    for (args, env) in cases {
        let out = vigil_env(args, env);
        let table = stdout(&out);
        assert_eq!(code(&out), 0, "{args:?} {env:?}: {}", stderr(&out));
        assert_eq!(
            readiness_row(&table),
            ["readiness", "-"],
            "{args:?} {env:?}"
        );
        assert!(!table.contains("platform's default"), "{args:?}: {table}");
    }
    assert_no_readiness(&check_config(&["--no-default-readiness", &file], &[]));
}

#[test]
fn an_explicit_readiness_check_wins() {
    let dir = TempDir::new("default-explicit");
    let file = service(
        &dir,
        r#"{"command": "app", "port": 8000, "readiness_check": {"http_get": {"path": "/ready"}, "period_seconds": 5}}"#,
    );
    let out = vigil_env(&["check", &file], &[]);
    let table = stdout(&out);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        readiness_row(&table)[1..3],
        ["http_get", "http://<pod-ip>:8000/ready"]
    );
    assert!(!table.contains("platform's default"), "{table}");

    // From the environment, over a file without one.
    let file = service(&dir, r#"{"command": "app", "port": 8000}"#);
    let env = [(
        "VIGIL_READINESS_CHECK",
        r#"{"exec": {"command": ["true"]}}"#,
    )];
    let config = check_config(&[&file], &env);
    assert_eq!(config["default_readiness"], false);
    assert_eq!(
        config["readiness_check"]["handler"]["exec"]["command"],
        serde_json::json!(["true"])
    );
}

#[test]
fn no_port_no_default() {
    let dir = TempDir::new("default-no-port");
    let file = service(&dir, r#"{"command": "app"}"#);
    assert_no_readiness(&check_config(&[&file], &[]));
}

#[test]
fn the_switch_takes_no_value() {
    let dir = TempDir::new("default-usage");
    let file = service(&dir, r#"{"command": "app", "port": 8000}"#);
    let want = "unexpected argument for option '--no-default-readiness'";
    for args in [
        &["--config", &file, "--no-default-readiness=1"][..],
        &["check", "--no-default-readiness=yes", &file][..],
    ] {
        let out = vigil_env(args, &[]);
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("usage: vigil"), "{}", stderr(&out));
    }
}

#[test]
fn a_run_is_ready_only_once_the_app_listens() {
    // The app listens half a second after it starts; the first attempt, at
    // command start, is refused, the next one (10 s later) connects.
    let mut run = run_service(
        "default-run",
        &[],
        &["--start-delay", "0.5", "--term-exit", "0"],
    );
    run.wait_log("readiness: ready");
    let log = run.log();
    assert!(
        log.contains(&format!(
            "NOTE  vigil ({})] {}",
            run.child.id(),
            note(run.port)
        )),
        "{log}"
    );
    let listening = run
        .line_of("testapp http: listening on")
        .expect("the app's line");
    let ready = run.line_of("readiness: ready").unwrap();
    assert!(listening < ready, "{log}");
    run.term();
    assert_eq!(run.exit_code(), 0, "{}", run.log());
}

#[test]
fn a_run_without_the_default_has_no_readiness_probe() {
    // The app "loads its model" for a minute; with no probe at all vigil is
    // ready (INFO, -v) as soon as the command runs.
    let mut run = run_service(
        "default-run-off",
        &["-v", "--no-default-readiness"],
        &["--start-delay", "60", "--term-exit", "0"],
    );
    run.wait_log("] ready\n");
    // The app's SIGTERM handler is in place before it says it loads.
    run.wait_log("testapp http: loading for 60s");
    let log = run.log();
    assert!(!log.contains("platform's default"), "{log}");
    assert!(!log.contains("probes connect to"), "{log}");
    run.term();
    assert_eq!(run.exit_code(), 0, "{}", run.log());
}
