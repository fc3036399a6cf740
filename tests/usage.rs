//! Usage errors exit 1 with one clear line and the usage, and start nothing;
//! the informational flags exit 0.

mod support;
use support::*;

#[test]
fn bad_usage_exits_1_and_starts_nothing() {
    let dir = TempDir::new("usage");
    let marker = dir.path("started");
    let m = marker.to_str().unwrap();
    let table: &[(&[&str], &str)] = &[
        (&["-x", "--", "touch", m], "invalid option '-x'"),
        (&["--nope", "--", "touch", m], "invalid option '--nope'"),
        (&[], "missing command"),
        (&["-s", "-g"], "missing command"),
        (
            &["-p", "SIGBOGUS", "--", "touch", m],
            "unknown signal 'SIGBOGUS'",
        ),
        (&["-p", "0", "--", "touch", m], "unknown signal '0'"),
        (&["--rewrite", "TERM", "--", "touch", m], "expected FROM:TO"),
        (
            &["--rewrite", "TERM:NOPE", "--", "touch", m],
            "unknown signal 'NOPE'",
        ),
        (
            &["--rewrite", "KILL:TERM", "--", "touch", m],
            "never reaches vigil",
        ),
        (
            &["-e", "300", "--", "touch", m],
            "expected an exit code 0-255",
        ),
        (&["--grace", "-3", "--", "touch", m], "negative"),
        (&["--grace", "3 days", "--", "touch", m], "unknown unit"),
        (&["-p"], "missing argument"),
    ];
    for (args, want) in table {
        let o = vigil_run(args);
        is_usage_error(&format!("{args:?}"), &o, want);
        assert!(!marker.exists(), "{args:?} started the command");
    }
}

/// Exit 1, one line naming the problem, then exactly the usage.
fn is_usage_error(what: &str, o: &std::process::Output, want: &str) {
    assert_eq!(code(o), 1, "{what}: {}", stderr(o));
    let err = stderr(o);
    assert!(err.contains(want), "{what}: {err}");
    assert!(err.contains("usage: vigil"), "{what}: {err}");
    let (first, rest) = err.split_once('\n').unwrap_or((&err, ""));
    assert!(first.starts_with("vigil: "), "{what}: {err}");
    assert_eq!(
        rest.trim_end(),
        vigil::cli::USAGE.trim_end(),
        "one error line, then exactly the usage: {err}"
    );
}

#[test]
fn bad_usage_with_the_environment() {
    let dir = TempDir::new("usage-env");
    let marker = dir.path("started");
    let m = marker.to_str().unwrap();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let table: &[Case] = &[
        // `--container` chooses within a configuration file; there is none.
        (
            &["--container", "1", "--", "touch", m],
            &[],
            "--container 1 needs a configuration file",
        ),
        (
            &["--container", "0", "--", "touch", m],
            &[("VIGIL_CONFIG", "")],
            "--container 0 needs a configuration file",
        ),
        // The level is 0-4, as the message says.
        (
            &["--", "touch", m],
            &[("VIGIL_VERBOSITY", "9")],
            "invalid VIGIL_VERBOSITY '9': expected a number 0-4",
        ),
        (
            &["--", "touch", m],
            &[("TINI_VERBOSITY", "5")],
            "invalid TINI_VERBOSITY '5': expected a number 0-4",
        ),
    ];
    for (args, env, want) in table {
        let mut cmd = std::process::Command::new(vigil());
        cmd.args(*args);
        for var in ["VIGIL_CONFIG", "VIGIL_VERBOSITY", "TINI_VERBOSITY"] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let o = run(&mut cmd);
        is_usage_error(&format!("{args:?} {env:?}"), &o, want);
        assert!(!marker.exists(), "{args:?} {env:?} started the command");
    }
}

#[test]
fn informational_flags() {
    let o = vigil_run(&["--version"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).starts_with("vigil version "), "{}", stdout(&o));
    let o = vigil_run(&["-h"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("-p SIGNAL") && stdout(&o).contains("TINI_SUBREAPER"));
    let o = vigil_run(&["-l"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("MIT License"));
}
