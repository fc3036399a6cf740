//! `config::resolve` through the library: the EAS fixture field by field, and
//! precedence between defaults, file, environment and flags.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;
use vigil::config::{
    self, Command, Handler, HttpGet, Inputs, NameValue, ProbeKind, Resolved, Scheme, TcpSocket,
};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/config/eas-health-check.json"
);

/// A file written for one test, removed after it.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, text: &str) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("vigil-config-{tag}-{}.json", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What a test gives `resolve`: flags, environment and command.
#[derive(Default)]
struct Given<'a> {
    file: Option<&'a str>,
    container: Option<usize>,
    flags: [Option<&'a str>; 3],
    env: &'a [(&'a str, &'a str)],
    command: &'a [&'a str],
    no_default_readiness: bool,
}

fn resolve(g: Given) -> Result<Resolved, Vec<config::Diagnostic>> {
    let env: HashMap<String, OsString> = g
        .env
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    let lookup = |name: &str| env.get(name).cloned();
    let [startup, liveness, readiness] = g.flags.map(|f| f.map(String::from));
    config::resolve(&Inputs {
        file: g.file.map(PathBuf::from),
        container: g.container,
        startup,
        liveness,
        readiness,
        command: g.command.iter().map(OsString::from).collect(),
        no_default_readiness: g.no_default_readiness,
        env: &lookup,
    })
}

fn ok(g: Given) -> Resolved {
    resolve(g).unwrap_or_else(|d| {
        panic!(
            "{}",
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

#[test]
fn the_eas_fixture_field_by_field() {
    let r = ok(Given {
        file: Some(FIXTURE),
        ..Given::default()
    });
    assert_eq!(r.file.as_deref(), Some(FIXTURE));
    assert_eq!(r.container, Some(0));
    assert_eq!(
        r.command,
        Command::Line {
            line: "/data/eas/ENV/bin/python /data/eas/app1.py".into(),
            argv: vec![
                "/data/eas/ENV/bin/python".into(),
                "/data/eas/app1.py".into()
            ],
        }
    );
    assert_eq!(r.argv(), ["/data/eas/ENV/bin/python", "/data/eas/app1.py"]);
    assert_eq!(r.port, Some(8000));
    let nv = |n: &str, v: &str| NameValue {
        name: n.into(),
        value: v.into(),
    };
    assert_eq!(
        r.env,
        [nv("VAR_NAME", "var_value"), nv("LISTENING_PORT", "8000")]
    );
    assert_eq!(r.startup_check, None);
    // No readiness_check and a port: the platform's default, a tcp_socket on it.
    let ready = r.readiness_check.as_ref().unwrap();
    assert!(r.default_readiness);
    assert_eq!(
        ready.handler,
        Handler::TcpSocket(TcpSocket {
            host: None,
            port: 8000
        })
    );
    assert_eq!(ready.at.path, "containers[0].port");
    let live = r.liveness_check.as_ref().unwrap();
    assert_eq!(
        live.handler,
        Handler::HttpGet(HttpGet {
            scheme: Scheme::Http,
            host: None,
            port: 8000,
            path: "/".into(),
            http_headers: vec![],
        })
    );
    assert_eq!(live.initial_delay, Duration::from_secs(3));
    assert_eq!(live.period, Duration::from_secs(3));
    assert_eq!(live.timeout, Duration::from_secs(1));
    assert_eq!(live.success_threshold, 2);
    assert_eq!(live.failure_threshold, 4);
    assert_eq!(live.at.path, "containers[0].liveness_check");
    // It loads, with the warning that Kubernetes would want success_threshold 1.
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert_eq!(
        r.warnings[0].at.path,
        "containers[0].liveness_check.success_threshold"
    );
    assert_eq!(
        (r.warnings[0].at.line, r.warnings[0].at.column),
        (Some(29), Some(30))
    );
}

#[test]
fn command_env_overrides_in_place() {
    let r = ok(Given {
        file: Some(FIXTURE),
        ..Given::default()
    });
    let os = |s: &str| OsString::from(s);
    let env = r.command_env(vec![(os("PATH"), os("/bin")), (os("VAR_NAME"), os("old"))]);
    assert_eq!(
        env,
        [
            (os("PATH"), os("/bin")),
            (os("VAR_NAME"), os("var_value")),
            (os("LISTENING_PORT"), os("8000")),
        ]
    );
}

const FILE: &str = r#"{"containers": [
  {"command": "first"},
  {"script": "exec app --port $LISTENING_PORT", "port": 7000,
   "env": [{"name": "PROBE_ARG", "value": "from-file"}],
   "startup_check": {"tcp_socket": {}, "period_seconds": 1},
   "liveness_check": {"tcp_socket": {}, "period_seconds": 2},
   "readiness_check": {"tcp_socket": {}, "period_seconds": 3}}
]}"#;

fn period(r: &Resolved, kind: ProbeKind) -> u64 {
    r.probe(kind).unwrap().period.as_secs()
}

#[test]
fn precedence_defaults_file_env_flags() {
    let file = TempFile::new("precedence", FILE);
    let path = file.0.to_str().unwrap();
    // The file alone: containers[1] by flag.
    let r = ok(Given {
        file: Some(path),
        container: Some(1),
        ..Given::default()
    });
    assert_eq!(
        r.command,
        Command::Script("exec app --port $LISTENING_PORT".into())
    );
    assert_eq!(
        r.argv(),
        ["/bin/sh", "-c", "exec app --port $LISTENING_PORT"]
    );
    assert_eq!([1, 2, 3], ProbeKind::ALL.map(|k| period(&r, k)));
    // Defaults fill what the file leaves out.
    let live = r.liveness_check.as_ref().unwrap();
    assert_eq!(
        (live.timeout, live.failure_threshold),
        (Duration::from_secs(1), 3)
    );

    // The environment replaces the file's probe whole; a flag replaces both.
    let env = [
        (
            "VIGIL_STARTUP_CHECK",
            r#"{"tcp_socket": {}, "period_seconds": 11}"#,
        ),
        (
            "VIGIL_LIVENESS_CHECK",
            r#"{"tcp_socket": {}, "period_seconds": 12}"#,
        ),
    ];
    let r = ok(Given {
        file: Some(path),
        container: Some(1),
        env: &env,
        flags: [
            None,
            Some(r#"{"http_get": {"path": "/live"}, "period_seconds": 22}"#),
            None,
        ],
        ..Given::default()
    });
    assert_eq!([11, 22, 3], ProbeKind::ALL.map(|k| period(&r, k)));
    let live = r.liveness_check.as_ref().unwrap();
    // An inline probe that names no port takes the file's; its own fields
    // that it leaves out are defaults, not the file's.
    assert_eq!(live.handler.port(), Some(7000));
    assert_eq!(live.at.source, "--liveness");
    assert_eq!(
        r.startup_check.as_ref().unwrap().at.source,
        "VIGIL_STARTUP_CHECK"
    );

    // A command after `--` replaces the file's.
    let r = ok(Given {
        file: Some(path),
        container: Some(1),
        command: &["my", "app"],
        ..Given::default()
    });
    assert_eq!(r.argv(), ["my", "app"]);
    assert_eq!(r.port, Some(7000));
}

#[test]
fn config_file_flag_beats_vigil_config() {
    let file = TempFile::new("flag-beats-env", FILE);
    let path = file.0.to_str().unwrap();
    let r = ok(Given {
        env: &[("VIGIL_CONFIG", FIXTURE)],
        ..Given::default()
    });
    assert_eq!(r.port, Some(8000));
    let r = ok(Given {
        file: Some(path),
        env: &[("VIGIL_CONFIG", FIXTURE)],
        ..Given::default()
    });
    assert_eq!(r.argv(), ["first"]);
    assert_eq!(r.port, None);
}

#[test]
fn everything_without_a_file() {
    let r = ok(Given {
        env: &[(
            "VIGIL_READINESS_CHECK",
            r#"{"tcp_socket": {"port": 9000, "host": "127.0.0.1"}}"#,
        )],
        flags: [
            Some(r#"{"exec": {"command": ["sh", "-c", "test $(HOME) = /root"]}}"#),
            None,
            None,
        ],
        command: &["app"],
        ..Given::default()
    });
    assert_eq!(r.file, None);
    assert_eq!(r.port, None);
    assert!(r.env.is_empty());
    assert_eq!(
        r.readiness_check.as_ref().unwrap().handler,
        Handler::TcpSocket(TcpSocket {
            host: Some("127.0.0.1".into()),
            port: 9000
        })
    );
    // $(HOME) is not defined in this test's environment, so it stays as written.
    let Handler::Exec(e) = &r.startup_check.as_ref().unwrap().handler else {
        panic!()
    };
    assert_eq!(e.command, ["sh", "-c", "test $(HOME) = /root"]);
    assert!(e.program.ends_with("/sh"), "{}", e.program);

    // No command at all is an error named after the command line.
    let err = resolve(Given::default()).unwrap_err();
    assert_eq!(
        err[0].to_string().split(": ").take(2).collect::<Vec<_>>(),
        ["command line", "command"]
    );
}

#[test]
fn exec_probe_expands_from_the_command_env() {
    let file = TempFile::new("expand", FILE);
    let path = file.0.to_str().unwrap();
    let probe = r#"{"exec": {"command": ["/bin/sh", "$(PROBE_ARG)", "$(LISTENING_PORT)", "$(FROM_PROCESS)", "$$(PROBE_ARG)"]}}"#;
    let r = ok(Given {
        file: Some(path),
        container: Some(1),
        flags: [None, None, Some(probe)],
        env: &[("FROM_PROCESS", "proc"), ("PROBE_ARG", "from-process")],
        ..Given::default()
    });
    let Handler::Exec(e) = &r.readiness_check.as_ref().unwrap().handler else {
        panic!()
    };
    // The file's env wins over the process's, as it does for the command.
    assert_eq!(
        e.command,
        ["/bin/sh", "from-file", "7000", "proc", "$(PROBE_ARG)"]
    );
    // The program is found on the command's PATH, which the file may set.
    let probe = r#"{"exec": {"command": ["sh"]}}"#;
    let err = resolve(Given {
        command: &["app"],
        flags: [None, None, Some(probe)],
        env: &[("PATH", "/nonexistent")],
        ..Given::default()
    })
    .unwrap_err();
    assert_eq!(err[0].at.path, "readiness_check.exec.command[0]");
    assert!(
        err[0]
            .message
            .contains("not on the command's PATH (/nonexistent)"),
        "{}",
        err[0]
    );
}

#[test]
fn the_platforms_default_readiness_is_the_last_resort() {
    let file = TempFile::new("default-readiness", FILE);
    let path = file.0.to_str().unwrap();
    // (file, container, no_default_readiness, the readiness probe's period; None: no probe)
    let table: &[(&str, usize, bool, Option<u64>)] = &[
        (FIXTURE, 0, false, Some(10)), // a port, no readiness_check
        (FIXTURE, 0, true, None),      // switched off
        (path, 0, false, None),        // no port
        (path, 1, false, Some(3)),     // the file's own
    ];
    for (file, container, no_default_readiness, want) in table {
        let r = ok(Given {
            file: Some(file),
            container: Some(*container),
            no_default_readiness: *no_default_readiness,
            ..Given::default()
        });
        let period = r.readiness_check.as_ref().map(|p| p.period.as_secs());
        assert_eq!(period, *want, "{file} [{container}] {no_default_readiness}");
        assert_eq!(
            r.default_readiness,
            *want == Some(10),
            "{file} [{container}]"
        );
    }
}
