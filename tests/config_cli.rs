//! The configuration through the built binary: bad configurations exit 2
//! before anything starts, naming the JSON path, line and column; `vigil
//! check` prints the effective configuration and lints it; a good
//! configuration runs its command with its environment.

mod support;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use support::*;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/config/eas-health-check.json"
);

/// Asserts the exit status and a piece of stderr; returns stderr.
fn expect(what: &str, out: &Output, status: i32, needle: &str) -> String {
    let err = stderr(out);
    assert_eq!(code(out), status, "{what}: {err}");
    assert!(err.contains(needle), "{what}: {err:?} lacks {needle:?}");
    err
}

/// What a bad-configuration case writes as its file.
enum Content {
    Json(&'static str),
    Bytes(&'static [u8]),
    /// `[[[...]]]` nested deeper than the reader allows.
    Deep,
    /// A sparse 100 MB file.
    Huge,
    Directory,
    Missing,
}

struct Case {
    name: &'static str,
    content: Content,
    /// Extra arguments before `--`.
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    /// What the message must name: the JSON path, or for problems that have
    /// none, what was wrong.
    needle: &'static str,
}

const fn with(name: &'static str, content: Content, needle: &'static str) -> Case {
    Case {
        name,
        content,
        args: &[],
        env: &[],
        needle,
    }
}

const fn case(name: &'static str, json: &'static str, needle: &'static str) -> Case {
    with(name, Content::Json(json), needle)
}

/// A container around one liveness probe, for the probe cases.
macro_rules! live {
    ($probe:literal) => {
        concat!(
            r#"{"containers": [{"command": "app", "port": 8000, "liveness_check": "#,
            $probe,
            "}]}"
        )
    };
}

fn cases() -> Vec<Case> {
    vec![
        case("not JSON", "hello", ":1:1: expected a JSON value, found 'h'"),
        case("truncated", r#"{"containers": [{"command": "app", "port": 80"#, "containers[0]: expected ',' or '}'"),
        case("trailing comma", r#"{"containers": [{"command": "app",}]}"#, "containers[0]: expected a key"),
        case("duplicate key", r#"{"containers": [{"port": 1, "port": 2}]}"#, "containers[0]: expected each key once"),
        case("comment", "// service\n{}", ":1:1: expected a JSON value, found '/'"),
        case("top level is an array", "[]", ":1:1: expected an object with a \"containers\" array"),
        case("no containers", r#"{"metadata": {"name": "x"}}"#, "containers: expected a \"containers\" array"),
        case("containers is an object", r#"{"containers": {}}"#, "containers: expected an array"),
        case("empty containers", r#"{"containers": []}"#, "containers: expected at least one container"),
        Case {
            args: &["--container", "3"],
            ..case("index out of range", r#"{"containers": [{"command": "app"}]}"#, "containers[3]: expected a container index 0-0")
        },
        case("container is a string", r#"{"containers": ["app"]}"#, "containers[0]: expected a container object"),
        case("command and script", r#"{"containers": [{"command": "a", "script": "b"}]}"#, "containers[0].script: expected \"command\" or \"script\", found both"),
        case("empty command", r#"{"containers": [{"command": "  "}]}"#, "containers[0].command: expected a command line"),
        case("command is a number", r#"{"containers": [{"command": 5}]}"#, "containers[0].command: expected a command line, found the number 5"),
        case("unterminated quote", r#"{"containers": [{"command": "python 'app.py"}]}"#, "containers[0].command: expected a command line, found an unterminated single quote"),
        case("empty script", r#"{"containers": [{"script": ""}]}"#, "containers[0].script: expected a shell script"),
        case("port 0", r#"{"containers": [{"command": "app", "port": 0}]}"#, "containers[0].port: expected an integer 1-65535, found the number 0"),
        case("port 70000", r#"{"containers": [{"command": "app", "port": 70000}]}"#, "containers[0].port: expected an integer 1-65535, found the number 70000"),
        case("port as a string", r#"{"containers": [{"command": "app", "port": "8000"}]}"#, "containers[0].port: expected an integer 1-65535, found the string \"8000\""),
        case("negative port", r#"{"containers": [{"command": "app", "port": -1}]}"#, "containers[0].port: expected an integer 1-65535, found the number -1 (negative"),
        case("fractional port", r#"{"containers": [{"command": "app", "port": 80.5}]}"#, "containers[0].port: expected an integer 1-65535, found the number 80.5 (not a whole number)"),
        case("env is an object", r#"{"containers": [{"command": "app", "env": {"A": "b"}}]}"#, "containers[0].env: expected an array"),
        case("env without a name", r#"{"containers": [{"command": "app", "env": [{"value": "b"}]}]}"#, "containers[0].env[0].name: expected a name"),
        case("env value is a number", r#"{"containers": [{"command": "app", "env": [{"name": "A", "value": 1}]}]}"#, "containers[0].env[0].value: expected a string, found the number 1"),
        case("env name with =", r#"{"containers": [{"command": "app", "env": [{"name": "A=B"}]}]}"#, "containers[0].env[0].name: expected a valid name"),
        case("two handlers", live!(r#"{"http_get": {"path": "/"}, "tcp_socket": {}}"#), "containers[0].liveness_check.tcp_socket: expected one handler, found two"),
        case("no handler", live!(r#"{"period_seconds": 5}"#), "containers[0].liveness_check: expected one handler (\"http_get\", \"tcp_socket\" or \"exec\"), found none"),
        case("probe is an array", live!("[]"), "containers[0].liveness_check: expected a probe object"),
        case("negative period", live!(r#"{"tcp_socket": {}, "period_seconds": -3}"#), "containers[0].liveness_check.period_seconds: expected a number of seconds"),
        case("2^40 seconds", live!(r#"{"tcp_socket": {}, "initial_delay_seconds": 1099511627776}"#), "containers[0].liveness_check.initial_delay_seconds: expected a number of seconds 0-315360000, found the number 1099511627776 (too large)"),
        case("sub-millisecond timeout", live!(r#"{"tcp_socket": {}, "timeout_seconds": 0.0001}"#), "containers[0].liveness_check.timeout_seconds: expected a number of seconds 0-315360000, found the number 0.0001 (shorter than a millisecond)"),
        case("seconds as a string", live!(r#"{"tcp_socket": {}, "timeout_seconds": "1"}"#), "containers[0].liveness_check.timeout_seconds: expected a number of seconds"),
        case("threshold as a string", live!(r#"{"tcp_socket": {}, "failure_threshold": "3"}"#), "containers[0].liveness_check.failure_threshold: expected a whole number 0-2147483647, found the string \"3\""),
        case("huge threshold", live!(r#"{"tcp_socket": {}, "success_threshold": 1e3}"#), "containers[0].liveness_check.success_threshold: expected a whole number"),
        case("empty exec argv", live!(r#"{"exec": {"command": []}}"#), "containers[0].liveness_check.exec.command: expected an argv array of strings"),
        case("exec without command", live!(r#"{"exec": {}}"#), "containers[0].liveness_check.exec.command: expected an argv array"),
        case("exec argv0 empty", live!(r#"{"exec": {"command": [""]}}"#), "containers[0].liveness_check.exec.command[0]: expected a program name"),
        case("exec argv not strings", live!(r#"{"exec": {"command": ["cat", 7]}}"#), "containers[0].liveness_check.exec.command[1]: expected a string"),
        case("exec program not found", live!(r#"{"exec": {"command": ["vigil-no-such-program", "x"]}}"#), "containers[0].liveness_check.exec.command[0]: expected a program the probe can run, found \"vigil-no-such-program\""),
        case("exec path not found", live!(r#"{"exec": {"command": ["/nonexistent/probe"]}}"#), "containers[0].liveness_check.exec.command[0]: expected a program the probe can run"),
        case("path without /", live!(r#"{"http_get": {"path": "health"}}"#), "containers[0].liveness_check.http_get.path: expected a path starting with '/', found the string \"health\""),
        case("bad scheme", live!(r#"{"http_get": {"path": "/", "scheme": "FTP"}}"#), "containers[0].liveness_check.http_get.scheme: expected \"HTTP\" (a bad scheme), found the string \"FTP\""),
        case("HTTPS", live!(r#"{"http_get": {"path": "/", "scheme": "HTTPS"}}"#), "containers[0].liveness_check.http_get.scheme: HTTPS probes are not supported yet"),
        case("http port 0", live!(r#"{"http_get": {"path": "/", "port": 0}}"#), "containers[0].liveness_check.http_get.port: expected an integer 1-65535"),
        case("http port as a string", live!(r#"{"http_get": {"path": "/", "port": "8000"}}"#), "containers[0].liveness_check.http_get.port: expected an integer 1-65535, found the string \"8000\""),
        case("no port anywhere", r#"{"containers": [{"command": "app", "readiness_check": {"tcp_socket": {}}}]}"#, "containers[0].readiness_check.tcp_socket.port: expected a port, found none"),
        case("bad header name", live!(r#"{"http_get": {"path": "/", "http_headers": [{"name": "X Y", "value": "1"}]}}"#), "containers[0].liveness_check.http_get.http_headers[0].name: expected a valid name"),
        case("header value with a line break", live!(r#"{"http_get": {"path": "/", "http_headers": [{"name": "X", "value": "a\r\nB: c"}]}}"#), "containers[0].liveness_check.http_get.http_headers[0].value: expected a header value"),
        case("no command anywhere", r#"{"containers": [{"port": 8000}]}"#, "containers[0].command: expected a command to run, found none"),
        with("non-UTF-8 bytes", Content::Bytes(b"{\"containers\": [{\"command\": \"caf\xe9\"}]}"), ":1:33: expected UTF-8 text, found the byte 0xe9"),
        with("nested too deep", Content::Deep, "expected values nested at most 64 deep"),
        with("100 MB file", Content::Huge, "expected a configuration file of at most 1048576 bytes (1 MiB), found 100000000 bytes"),
        with("a directory", Content::Directory, "expected a JSON file, found a directory"),
        with("no such file", Content::Missing, "cannot open the configuration file"),
        Case {
            args: &["--liveness", r#"{"tcp_socket": {"port": 1}, "period_seconds": -1}"#],
            ..case("bad --liveness", r#"{"containers": [{"command": "app"}]}"#, "--liveness:1:47: liveness_check.period_seconds: expected a number of seconds")
        },
        Case {
            args: &["--startup", "{"],
            ..case("--startup not JSON", r#"{"containers": [{"command": "app"}]}"#, "--startup:1:2: startup_check: expected a key in double quotes")
        },
        Case {
            env: &[("VIGIL_READINESS_CHECK", r#"{"http_get": {"path": "/", "port": 70000}}"#)],
            ..case("bad VIGIL_READINESS_CHECK", r#"{"containers": [{"command": "app"}]}"#, "VIGIL_READINESS_CHECK:1:36: readiness_check.http_get.port: expected an integer 1-65535")
        },
    ]
}

/// Writes the case's configuration; returns the path to give vigil.
fn materialize(content: &Content, dir: &TempDir) -> String {
    let path = dir.path("service.json");
    match content {
        Content::Json(text) => std::fs::write(&path, text).unwrap(),
        Content::Bytes(bytes) => std::fs::write(&path, bytes).unwrap(),
        Content::Deep => std::fs::write(&path, "[".repeat(100)).unwrap(),
        Content::Huge => std::fs::File::create(&path)
            .unwrap()
            .set_len(100_000_000)
            .unwrap(),
        Content::Directory => std::fs::create_dir(&path).unwrap(),
        Content::Missing => {}
    }
    path.to_str().unwrap().to_string()
}

/// Whether `text` has `file:LINE:COLUMN:` somewhere.
fn has_line_and_column(text: &str, file: &str) -> bool {
    text.match_indices(&format!("{file}:")).any(|(i, m)| {
        let rest = &text[i + m.len()..];
        let mut parts = rest.splitn(3, ':');
        let num = |s: Option<&str>| {
            s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        };
        num(parts.next()) && num(parts.next())
    })
}

#[test]
fn bad_configurations_exit_2_before_starting_anything() {
    let cases = cases();
    assert!(cases.len() >= 30, "the table must keep at least 30 cases");
    for (i, c) in cases.iter().enumerate() {
        let dir = TempDir::new(&format!("config-bad-{i}"));
        let file = materialize(&c.content, &dir);
        let marker = dir.path("started");
        let touch = format!("touch {}", marker.display());
        let mut args = vec!["--config", file.as_str()];
        args.extend(c.args);
        // The case without a command must not get one from here.
        if c.name != "no command anywhere" {
            args.extend(["--", "/bin/sh", "-c", touch.as_str()]);
        }
        let started = Instant::now();
        let out = vigil_env(&args, c.env);
        let err = expect(c.name, &out, 2, c.needle);
        assert!(!marker.exists(), "{}: the command was started", c.name);
        if matches!(c.content, Content::Json(_) | Content::Bytes(_))
            && c.args.is_empty()
            && c.env.is_empty()
        {
            assert!(
                has_line_and_column(&err, &file),
                "{}: no line and column in {err:?}",
                c.name
            );
        }
        if matches!(c.content, Content::Huge) {
            // Refused from its size, not read: well under what reading 100 MB takes.
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{}: too slow",
                c.name
            );
        }
    }
}

#[test]
fn check_reports_the_same_problems() {
    for (i, c) in cases().iter().enumerate() {
        // `check` takes no probe flags; the rest applies as at start-up.
        if !c.args.is_empty() && c.args[0] != "--container" {
            continue;
        }
        let dir = TempDir::new(&format!("config-check-{i}"));
        let file = materialize(&c.content, &dir);
        let mut args = vec!["check"];
        args.extend(c.args);
        args.push(&file);
        let out = vigil_env(&args, c.env);
        let err = expect(c.name, &out, 2, c.needle);
        assert!(err.contains("error: "), "{}: {err}", c.name);
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = TempDir::new("config-all");
    let file = dir.path("service.json");
    std::fs::write(
        &file,
        r#"{"containers": [{"command": "app", "port": "80",
            "liveness_check": {"http_get": {"path": "x", "port": 0}, "perod_seconds": 3, "timeout_seconds": -1}}]}"#,
    )
    .unwrap();
    let out = vigil_env(&["check", file.to_str().unwrap()], &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2);
    for needle in [
        "containers[0].port: expected",
        "containers[0].liveness_check.http_get.path: expected",
        "containers[0].liveness_check.http_get.port: expected",
        "containers[0].liveness_check.timeout_seconds: expected",
        "warning: ",
        "containers[0].liveness_check.perod_seconds: unknown key \"perod_seconds\" is ignored (did you mean \"period_seconds\"?)",
        "invalid: 4 error(s), 1 warning(s)",
    ] {
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    }
}

#[test]
fn unreadable_file_is_an_error() {
    // Reading /proc/self/mem at offset 0 fails (EIO) even for root.
    let out = vigil_env(&["check", "/proc/self/mem"], &[]);
    expect("", &out, 2, "cannot read the configuration file");
    // A path through a regular file cannot be opened.
    let out = vigil_env(&["--config", &format!("{FIXTURE}/x"), "--", "true"], &[]);
    expect("", &out, 2, "cannot open the configuration file");
}

#[test]
fn check_the_eas_fixture() {
    let out = vigil_env(&["check", FIXTURE], &[]);
    let (table, err) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), 0, "{err}");
    for needle in [
        "containers[0]",
        r#"["/data/eas/ENV/bin/python", "/data/eas/app1.py"]"#,
        "8000",
        "VAR_NAME=var_value",
        "LISTENING_PORT=8000",
        "http_get http://<pod-ip>:8000/",
        // No readiness_check and a port: the platform's default.
        "tcp_socket <pod-ip>:8000",
        "readiness_check: tcp_socket port 8000 (the platform's default",
    ] {
        assert!(table.contains(needle), "{table} lacks {needle:?}");
    }
    let liveness = table
        .lines()
        .find(|l| l.trim_start().starts_with("liveness"))
        .unwrap();
    let cells: Vec<&str> = liveness.split_whitespace().collect();
    assert_eq!(cells[3..], ["3s", "3s", "1s", "2", "4"], "{liveness}");
    // Loads, with the two warnings: success_threshold 2 on liveness, and a
    // 15 s liveness budget with no startup check for a Python app.
    assert!(err.contains("eas-health-check.json:29:30: containers[0].liveness_check.success_threshold: Kubernetes requires 1"), "{err}");
    assert!(
        err.contains("containers[0].liveness_check: the liveness check gives the app 15s"),
        "{err}"
    );
    assert!(err.contains("valid: 0 error(s), 2 warning(s)"), "{err}");
    // --strict makes the warnings errors.
    let out = vigil_env(&["check", "--strict", FIXTURE], &[]);
    expect("", &out, 2, "invalid: 2 error(s), 0 warning(s)");
    // VIGIL_CONFIG is the default FILE.
    let out = vigil_env(&["check"], &[("VIGIL_CONFIG", FIXTURE)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = vigil_env(&["check"], &[]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("give FILE or set VIGIL_CONFIG"));
}

#[test]
fn check_json_is_machine_readable() {
    let out = vigil_env(&["check", "--json", FIXTURE], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let live = &v["config"]["liveness_check"];
    assert_eq!(live["handler"]["http_get"]["port"], 8000);
    assert_eq!(live["handler"]["http_get"]["path"], "/");
    assert_eq!(live["period_seconds"], 3);
    assert_eq!(live["success_threshold"], 2);
    assert_eq!(v["config"]["port"], 8000);
    let diags = v["diagnostics"].as_array().unwrap();
    // In reading order (line, column), whatever lint produced them.
    let lines: Vec<u64> = diags.iter().map(|d| d["line"].as_u64().unwrap()).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    let d = diags
        .iter()
        .find(|d| d["path"] == "containers[0].liveness_check.success_threshold")
        .unwrap();
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["line"], 29);

    let dir = TempDir::new("config-json");
    let file = dir.path("service.json");
    std::fs::write(&file, r#"{"containers": [{"command": "app", "port": 0}]}"#).unwrap();
    let out = vigil_env(&["check", "--json", file.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 2);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["config"], serde_json::Value::Null);
    assert_eq!(v["diagnostics"][0]["path"], "containers[0].port");
    assert_eq!(v["diagnostics"][0]["column"], 44);
}

#[test]
fn lints() {
    // (container JSON, what the warning says; None: no warning)
    let table: &[(&str, Option<&str>)] = &[
        (r#"{"command": "app", "port": 8080}"#, Some("containers[0].port: port 8080 is reserved by the EAS engine")),
        (r#"{"command": "app", "port": 9090}"#, Some("port 9090 is reserved")),
        (r#"{"command": "app --x | tee log && echo $HOME; true"}"#, Some("containers[0].command: shell syntax (`|`, `&&`, `$HOME`, `;`)")),
        (
            r#"{"command": "app", "port": 8000, "readiness_check": {"tcp_socket": {"port": 8001}}}"#,
            Some("containers[0].readiness_check.tcp_socket.port: the probe checks port 8001 but the container's port is 8000"),
        ),
        (
            r#"{"command": "app", "port": 8000, "readiness_check": {"tcp_socket": {}, "timeout_seconds": 10}}"#,
            Some("containers[0].readiness_check.timeout_seconds: timeout_seconds (10) is not shorter than period_seconds (10)"),
        ),
        (
            r#"{"script": "exec vllm serve m", "port": 8000, "liveness_check": {"tcp_socket": {}}}"#,
            None, // 0 + 3 x 10 = 30s: long enough
        ),
        (
            r#"{"script": "exec vllm serve m", "port": 8000, "liveness_check": {"tcp_socket": {}, "period_seconds": 5}}"#,
            Some("the liveness check gives the app 15s"),
        ),
        (
            r#"{"command": "app", "port": 8000, "liveness_check": {"tcp_socket": {}, "success_threshold": 3}}"#,
            Some("containers[0].liveness_check.success_threshold: Kubernetes requires 1 for a liveness probe"),
        ),
        (
            r#"{"command": "app", "port": 8000, "startup_check": {"tcp_socket": {}, "success_threshold": 2}}"#,
            Some("Kubernetes requires 1 for a startup probe"),
        ),
        (
            r#"{"command": "app", "port": 8000, "readiness_check": {"tcp_socket": {}, "period_seconds": 0.5, "timeout_seconds": 0.25}}"#,
            Some("containers[0].readiness_check.period_seconds: period_seconds is 0.5: vigil accepts decimals, but EAS and Kubernetes take whole seconds"),
        ),
    ];
    let dir = TempDir::new("config-lint");
    let file = dir.path("service.json");
    for (container, want) in table {
        std::fs::write(&file, format!(r#"{{"containers": [{container}]}}"#)).unwrap();
        let out = vigil_env(&["check", file.to_str().unwrap()], &[]);
        let err = stderr(&out);
        assert_eq!(code(&out), 0, "{container}: {err}");
        match want {
            Some(want) => assert!(err.contains(want), "{container}: {err:?} lacks {want:?}"),
            None => assert!(err.contains("0 warning(s)"), "{container}: {err}"),
        }
        let out = vigil_env(&["check", "--strict", file.to_str().unwrap()], &[]);
        let strict = if want.is_some() { 2 } else { 0 };
        assert_eq!(code(&out), strict, "{container} --strict: {}", stderr(&out));
    }
    // A clean configuration: no warnings at all.
    std::fs::write(
        &file,
        r#"{"containers": [{"command": "app", "port": 8000, "readiness_check": {"http_get": {"path": "/ready"}}}]}"#,
    )
    .unwrap();
    let out = vigil_env(&["check", "--strict", file.to_str().unwrap()], &[]);
    expect("", &out, 0, "valid: 0 error(s), 0 warning(s)");
}

#[test]
fn a_good_configuration_runs_with_its_environment() {
    let dir = TempDir::new("config-run");
    let out_file = dir.path("out");
    let file = dir.path("service.json");
    let script = format!(
        r#"echo "$VAR_NAME $LISTENING_PORT $INHERITED $OVERRIDDEN" > {}"#,
        out_file.display()
    );
    let config = serde_json::json!({
        "metadata": {"name": "t", "instance": 1},
        "cloud": {"computing": {"instance_type": "x"}},
        "storage": [], "networking": {}, "dockerAuth": "x",
        "containers": [{
            "image": "x",
            "script": script,
            "port": 8000,
            "env": [{"name": "VAR_NAME", "value": "var value"}, {"name": "OVERRIDDEN", "value": "file"}],
            "readiness_check": {"exec": {"command": ["/bin/sh", "-c", "true $(VAR_NAME)"]}}
        }]
    });
    std::fs::write(&file, config.to_string()).unwrap();
    let f = file.to_str().unwrap();
    let env = [("INHERITED", "yes"), ("OVERRIDDEN", "process")];
    let out = vigil_env(&["--config", f], &env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(lines(&out_file), ["var value 8000 yes file"]);
    // VIGIL_CONFIG does the same.
    std::fs::remove_file(&out_file).unwrap();
    let out = vigil_env(&[], &[("VIGIL_CONFIG", f)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(lines(&out_file), ["var value 8000  file"]);
    // A command after `--` replaces the script, and keeps the file's environment.
    let cmd = format!("echo override $LISTENING_PORT > {}", out_file.display());
    let out = vigil_env(&["--config", f, "--", "/bin/sh", "-c", &cmd], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(lines(&out_file), ["override 8000"]);
    // The command of a `command` line is split into words, quotes and all.
    let config = serde_json::json!({"containers": [{
        "command": format!("/bin/sh -c 'echo \"$0\" \"$1\" > {}' 'a b' c\\ d", out_file.display())
    }]});
    std::fs::write(&file, config.to_string()).unwrap();
    let out = vigil_env(&["--config", f], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(lines(&out_file), ["a b c d"]);
}

#[test]
fn the_fixture_is_the_shared_one() {
    // CI mounts shared/ beside the repository; elsewhere there is nothing to compare.
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/eas-health-check.json");
    if let Ok(original) = std::fs::read(shared) {
        assert_eq!(std::fs::read(FIXTURE).unwrap(), original);
    }
}

#[test]
fn check_prints_cells_longer_than_65535_characters() {
    // A table cell once went through a `format!` width, which aborts past u16::MAX.
    let dir = TempDir::new("config-long-cells");
    let file = dir.path("service.json");
    let long_word = "w".repeat(100_000);
    let long_value = "v".repeat(70_000);
    let long_arg = "a".repeat(70_000);
    let long_path = format!("/{}", "p".repeat(70_000));
    let config = serde_json::json!({"containers": [{
        "command": format!("app {long_word}"),
        "port": 8000,
        "env": [{"name": "LONG", "value": long_value}],
        "liveness_check": {"exec": {"command": ["/bin/sh", "-c", long_arg]}},
        "readiness_check": {"http_get": {"path": long_path}}
    }]});
    std::fs::write(&file, config.to_string()).unwrap();
    let out = vigil_env(&["check", file.to_str().unwrap()], &[]);
    let table = stdout(&out);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for needle in [
        format!(r#"["app", "{long_word}"]"#),
        format!("LONG={long_value}"),
        format!(r#"exec ["/bin/sh", "-c", "{long_arg}"]"#),
        format!("http_get http://<pod-ip>:8000{long_path}"),
    ] {
        assert!(table.contains(&needle), "the table lacks a long cell");
    }
    // The columns after a long cell are still there.
    let liveness = table
        .lines()
        .find(|l| l.trim_start().starts_with("liveness"))
        .unwrap();
    let cells: Vec<&str> = liveness.split_whitespace().collect();
    assert_eq!(cells[cells.len() - 5..], ["0s", "10s", "1s", "1", "3"]);
}

/// A NUL byte can be written in JSON (`\u0000`) but cannot be passed to a
/// program: each place it could go is a configuration error, at its path, line
/// and column, in `vigil check` and at start-up alike.
#[test]
fn nul_bytes_are_configuration_errors() {
    // (container fields, the path named, a piece of the message)
    let table: &[(&str, &str, &str)] = &[
        (
            r#""command": "app\u0000x""#,
            "containers[0].command",
            "found a NUL character",
        ),
        (
            r#""script": "touch x\u0000""#,
            "containers[0].script",
            "found a NUL character",
        ),
        (
            r#""command": "app", "env": [{"name": "A\u0000B", "value": "x"}]"#,
            "containers[0].env[0].name",
            "expected a valid name, found a name with a NUL character",
        ),
        (
            r#""command": "app", "env": [{"name": "A", "value": "x\u0000y"}]"#,
            "containers[0].env[0].value",
            "found a NUL character",
        ),
        (
            r#""command": "app", "liveness_check": {"exec": {"command": ["/bin/true", "a\u0000b"]}}"#,
            "containers[0].liveness_check.exec.command[1]",
            "found a NUL character",
        ),
        (
            r#""command": "app", "liveness_check": {"exec": {"command": ["/bin/tr\u0000ue"]}}"#,
            "containers[0].liveness_check.exec.command[0]",
            "found a NUL character",
        ),
    ];
    for (i, (fields, path, want)) in table.iter().enumerate() {
        let dir = TempDir::new(&format!("config-nul-{i}"));
        let file = dir.path("service.json");
        let marker = dir.path("started");
        // `app` is a command that would leave a trace if it ran.
        let fields = fields.replace(
            r#""command": "app"#,
            &format!(r#""command": "touch {}"#, marker.display()),
        );
        std::fs::write(&file, format!(r#"{{"containers": [{{{fields}}}]}}"#)).unwrap();
        let f = file.to_str().unwrap();
        let needle = format!(": {path}: ");
        for args in [vec!["check", f], vec!["--config", f]] {
            let what = format!("{args:?} with {fields}");
            let out = vigil_env(&args, &[]);
            let err = expect(&what, &out, 2, &needle);
            assert!(err.contains(want), "{what}: {err:?} lacks {want:?}");
            assert!(
                has_line_and_column(&err, f),
                "{what}: no line and column in {err:?}"
            );
            assert!(!marker.exists(), "{what}: the command was started");
        }
    }
    // An inline probe is checked the same way.
    let out = vigil_env(
        &[
            "--liveness",
            r#"{"exec": {"command": ["/bin/true", "\u0000"]}}"#,
            "--",
            "true",
        ],
        &[],
    );
    expect(
        "--liveness",
        &out,
        2,
        "liveness_check.exec.command[1]: expected a string, found a NUL character in it",
    );
}
