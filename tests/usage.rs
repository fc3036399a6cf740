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
        assert_eq!(code(&o), 1, "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(err.contains("usage: vigil"), "{args:?}: {err}");
        let (first, rest) = err.split_once('\n').unwrap_or((&err, ""));
        assert!(first.starts_with("vigil: "), "{args:?}: {err}");
        assert_eq!(
            rest.trim_end(),
            vigil::cli::USAGE.trim_end(),
            "one error line, then exactly the usage: {err}"
        );
        assert!(!marker.exists(), "{args:?} started the command");
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
