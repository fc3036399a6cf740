//! An exec probe whose `$(VAR)` values come to 2 MiB or more (what the kernel
//! takes for one exec, ARG_MAX as applied under the usual stack limit) is a
//! configuration error, found before anything is started: no more than that
//! is built. A 1 MiB file of references to a long value expanded to tens of
//! gigabytes, and vigil aborted when memory ran out.
//!
//! Nothing here measures time or memory: the expansion bombs are sized so
//! that building them takes gigabytes (6 GB to 30 GB), which the old code
//! allocated before it could exit, where now they exit 2 at once.

mod support;
use support::*;

/// The line of `err` that names `source:LINE:COLUMN: path: `, if any.
fn located<'e>(err: &'e str, source: &str, path: &str) -> Option<&'e str> {
    err.lines().find(|line| {
        line.split_once(&format!("{source}:"))
            .and_then(|(_, rest)| {
                let mut parts = rest.splitn(3, ':');
                let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                let (line, column) = (parts.next()?, parts.next()?);
                let rest = parts.next()?;
                Some(num(line) && num(column) && rest.starts_with(&format!(" {path}: ")))
            })
            .unwrap_or(false)
    })
}

/// Stands for a command that leaves a trace if it runs (`touch started`).
const TOUCH: &str = "TOUCH";

/// Runs `vigil check FILE` and `vigil --config FILE [-- true]` on `config`
/// and asserts exit 2 with an error at each of `expected` (JSON path, a
/// piece of the message) located by line and column, and that nothing ran.
fn refused(tag: &str, config: &serde_json::Value, cli_command: bool, expected: &[(&str, &str)]) {
    let dir = TempDir::new(tag);
    let file = dir.path("service.json");
    let touch = format!("touch {}", dir.path("started").display());
    let text = config.to_string();
    std::fs::write(&file, text.replacen(TOUCH, &touch, 1)).unwrap();
    let f = file.to_str().unwrap();
    let mut start = vec!["--config", f];
    if cli_command {
        start.extend(["--", "true"]);
    }
    for args in [vec!["check", f], start] {
        let out = vigil_env(&args, &[]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{tag} {args:?}: {err:.2000}");
        for (path, want) in expected {
            let line = located(&err, f, path)
                .unwrap_or_else(|| panic!("{tag} {args:?}: no {path} located in {err:.2000}"));
            assert!(
                line.contains(want),
                "{tag} {args:?}: {line:?} lacks {want:?}"
            );
        }
        assert!(
            !dir.path("started").exists(),
            "{tag} {args:?}: the command ran"
        );
    }
}

const ARG_MAX: &str = "expands to more than the 2097152 bytes (2 MiB) the kernel takes for one \
                       program's argv and environment";

#[test]
fn the_expansion_bomb_is_a_configuration_error() {
    // The bomb as found: a 500,000-byte variable, 60,000 references to it in
    // an exec probe (30 GB).
    let probe = std::iter::once("echo")
        .chain(std::iter::repeat_n("$(V)", 60_000))
        .collect::<Vec<_>>();
    let config = serde_json::json!({"containers": [{
        "command": TOUCH,
        "env": [{"name": "V", "value": "x".repeat(500_000)}],
        "liveness_check": {"exec": {"command": probe}}
    }]});
    refused(
        "bounds-bomb",
        &config,
        true,
        &[("containers[0].liveness_check.exec.command", ARG_MAX)],
    );
}

#[test]
fn an_exec_probe_that_expands_past_the_kernels_limits_is_refused_unbuilt() {
    // A variable that fits (100,000 bytes), referenced twice in one word
    // (200,000 bytes) and 60,000 times in all: 6 GB once expanded.
    let mut probe = vec!["echo", "$(V)$(V)"];
    probe.extend(std::iter::repeat_n("$(V)", 60_000));
    let config = serde_json::json!({"containers": [{
        "command": TOUCH,
        "env": [{"name": "V", "value": "x".repeat(100_000)}],
        "liveness_check": {"exec": {"command": probe}}
    }]});
    refused(
        "bounds-probe",
        &config,
        true,
        &[("containers[0].liveness_check.exec.command", ARG_MAX)],
    );
}

#[test]
fn an_inline_probe_expanding_an_inherited_variable_is_refused_too() {
    // `$(V)` from vigil's own environment, the probe from `--liveness` (one
    // argument, so under 128 KiB): 18,000 references to 130,000 bytes, 2.3 GB.
    let argv = [vec!["echo"], vec!["$(V)"; 18_000]].concat();
    let probe = serde_json::json!({"exec": {"command": argv}});
    let probe = probe.to_string();
    let value = "x".repeat(130_000);
    let out = vigil_env(
        &["--liveness", &probe, "--", "true"],
        &[("V", value.as_str())],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err:.2000}");
    let line = located(&err, "--liveness", "liveness_check.exec.command")
        .unwrap_or_else(|| panic!("not located: {err:.2000}"));
    assert!(line.contains(ARG_MAX), "{line}");
    // The same probe within the limits runs.
    let probe = serde_json::json!({"exec": {"command": ["echo", "$(V)", "$(V)"]}});
    let out = vigil_env(
        &["--liveness", &probe.to_string(), "--", "true"],
        &[("V", value.as_str())],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn what_fits_is_accepted() {
    // Just under each limit: a word of 131071 bytes, nine more of 100,000
    // from a variable (with the variable, a little over 1 MB in all).
    let word = "w".repeat(131_071);
    let mut probe = vec!["echo".to_string(), word.clone()];
    probe.extend(std::iter::repeat_n("$(V)".to_string(), 9));
    let config = serde_json::json!({"containers": [{
        "command": format!("true {word}"),
        "env": [{"name": "V", "value": "x".repeat(100_000)}],
        "liveness_check": {"exec": {"command": probe}}
    }]});
    let dir = TempDir::new("bounds-fits");
    let file = dir.path("service.json");
    std::fs::write(&file, config.to_string()).unwrap();
    let out = vigil_env(&["check", "--json", file.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 0, "{:.2000}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let argv = &report["config"]["liveness_check"]["handler"]["exec"]["command"];
    assert_eq!(argv[1].as_str().map(str::len), Some(131_071));
    assert_eq!(argv[10].as_str().map(str::len), Some(100_000));
}
