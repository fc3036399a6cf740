//! Least privilege (README "Running the app as a non-root user"): `--user`,
//! `--drop-caps`, `--keep-caps` and `--no-new-privs` (and their `VIGIL_*`
//! variables) as the command and an exec probe see them in their own
//! `/proc/self/status`; names from a passwd and group file bind-mounted in a
//! private mount namespace; bad input exits 2 before anything starts; the
//! status socket's group and the peer in its debug lines. Root only, as all
//! tests here.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use support::*;

/// The command and the exec probe both write their status and HOME here.
/// (Written whole, then renamed: a reader never sees half of it.)
const DUMP: &str =
    "cat /proc/self/status > \"$0.tmp\"; echo \"HOME=$HOME\" >> \"$0.tmp\"; mv \"$0.tmp\" \"$0\"";

/// The privilege and configuration variables cleared from the environment,
/// so only what a test sets counts.
const CLEARED: [&str; 10] = [
    "VIGIL_USER",
    "VIGIL_DROP_CAPS",
    "VIGIL_KEEP_CAPS",
    "VIGIL_NO_NEW_PRIVS",
    "VIGIL_CONFIG",
    "VIGIL_STARTUP_CHECK",
    "VIGIL_LIVENESS_CHECK",
    "VIGIL_READINESS_CHECK",
    "VIGIL_SOCKET",
    "VIGIL_NOTIFY",
];

fn vigil_cmd(program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for var in CLEARED {
        cmd.env_remove(var);
    }
    cmd.env("HOME", "/vigil-home").envs(env.iter().copied());
    cmd
}

/// A directory anyone may write to (the command may not be root).
fn open_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    std::fs::set_permissions(&dir.0, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    dir
}

/// `vigil ARGS --startup EXEC -- sh -c DUMP cmd`: the startup probe dumps
/// its status to `probe`, the command its own to `cmd` and then waits (at
/// most the tests' deadline) for the probe's, so vigil exits with both.
fn dump_both(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> (Output, Status, Status) {
    let (cmd, probe) = (dir.path("cmd"), dir.path("probe"));
    let probe_argv = serde_json::to_string(&["sh", "-c", DUMP, &probe.to_string_lossy()]).unwrap();
    let startup = format!(r#"{{"exec": {{"command": {probe_argv}}}, "period_seconds": 0.1}}"#);
    let script = format!(
        "{DUMP}; i=0; while [ ! -s \"$1\" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done"
    );
    let mut all: Vec<&str> = vec!["-s", "--startup", &startup];
    all.extend(args);
    let cmd_path = cmd.to_string_lossy().into_owned();
    let probe_path = probe.to_string_lossy().into_owned();
    all.extend(["--", "sh", "-c", &script, &cmd_path, &probe_path]);
    let out = run(&mut vigil_cmd(vigil(), &all, env));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The command writes its file before it waits for the probe's.
    wait_until("the probe's status", || probe.exists());
    (out, Status::read(&cmd), Status::read(&probe))
}

/// The fields of a `/proc/PID/status` that concern identity, plus HOME.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Status {
    uid: String,
    gid: String,
    /// Sorted, as numbers.
    groups: Vec<u32>,
    cap_inh: u64,
    cap_prm: u64,
    cap_eff: u64,
    cap_bnd: u64,
    cap_amb: u64,
    no_new_privs: String,
    home: String,
}

impl Status {
    fn parse(text: &str) -> Status {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mask = |name: &str| u64::from_str_radix(&field(name), 16).unwrap();
        let mut groups: Vec<u32> = field("Groups")
            .split_whitespace()
            .map(|g| g.parse().unwrap())
            .collect();
        groups.sort_unstable();
        Status {
            uid: field("Uid"),
            gid: field("Gid"),
            groups,
            cap_inh: mask("CapInh"),
            cap_prm: mask("CapPrm"),
            cap_eff: mask("CapEff"),
            cap_bnd: mask("CapBnd"),
            cap_amb: mask("CapAmb"),
            no_new_privs: field("NoNewPrivs"),
            home: text
                .lines()
                .find_map(|l| l.strip_prefix("HOME="))
                .unwrap_or_else(|| panic!("no HOME in {text}"))
                .to_string(),
        }
    }

    fn read(path: &Path) -> Status {
        Status::parse(&std::fs::read_to_string(path).unwrap())
    }

    /// This test process's own (HOME as the tests set it for vigil).
    fn own() -> Status {
        let text = std::fs::read_to_string("/proc/self/status").unwrap();
        Status::parse(&format!("{text}HOME=/vigil-home\n"))
    }
}

const CHOWN: u64 = 1 << 0;
const NET_BIND_SERVICE: u64 = 1 << 10;
const NET_RAW: u64 = 1 << 13;

#[test]
fn the_command_and_an_exec_probe_run_as_the_user_with_the_kept_capabilities() {
    let own = Status::own();
    assert_eq!(
        own.cap_eff & (CHOWN | NET_BIND_SERVICE),
        CHOWN | NET_BIND_SERVICE
    );
    let kept = CHOWN | NET_BIND_SERVICE;
    let want = Status {
        uid: "4242 4242 4242 4242".into(),
        gid: "4343 4343 4343 4343".into(),
        groups: vec![],
        cap_inh: kept,
        cap_prm: kept,
        cap_eff: kept,
        cap_bnd: kept,
        cap_amb: kept,
        no_new_privs: "1".into(),
        // A uid passwd does not know gets HOME "/", as Docker gives it.
        home: "/".into(),
    };
    let args = [
        "--user",
        "4242:4343",
        "--keep-caps",
        "CAP_NET_BIND_SERVICE,chown",
        "--no-new-privs",
    ];
    let dir = open_dir("privs-keep");
    let (_, cmd, probe) = dump_both(&dir, &args, &[]);
    assert_eq!(cmd, want);
    assert_eq!(probe, want);
    // The same from the environment.
    let env = [
        ("VIGIL_USER", "4242:4343"),
        ("VIGIL_KEEP_CAPS", "net_bind_service,CHOWN"),
        ("VIGIL_NO_NEW_PRIVS", ""),
    ];
    let dir = open_dir("privs-keep-env");
    let (_, cmd, probe) = dump_both(&dir, &[], &env);
    assert_eq!(cmd, want);
    assert_eq!(probe, want);
}

#[test]
fn dropped_capabilities_leave_every_set() {
    let own = Status::own();
    assert_ne!(own.cap_bnd & NET_RAW, 0, "the test needs CAP_NET_RAW");
    // Root keeps root's sets, less the dropped one.
    let dir = open_dir("privs-drop-root");
    let (_, cmd, probe) = dump_both(&dir, &["--drop-caps", "NET_RAW"], &[]);
    for s in [&cmd, &probe] {
        assert_eq!(s.uid, own.uid);
        assert_eq!(s.cap_bnd, own.cap_bnd & !NET_RAW, "{s:?}");
        assert_eq!(s.cap_eff, own.cap_bnd & !NET_RAW, "{s:?}");
        assert_eq!(s.cap_prm, own.cap_bnd & !NET_RAW, "{s:?}");
        assert_eq!((s.cap_inh, s.cap_amb), (0, 0));
        assert_eq!(s.no_new_privs, "0");
        assert_eq!(s.home, "/vigil-home");
    }
    // `all`: nothing anywhere.
    let dir = open_dir("privs-drop-all");
    let (_, cmd, probe) = dump_both(&dir, &[], &[("VIGIL_DROP_CAPS", "all")]);
    for s in [&cmd, &probe] {
        assert_eq!(
            (s.cap_bnd, s.cap_eff, s.cap_prm, s.cap_inh, s.cap_amb),
            (0, 0, 0, 0, 0),
            "{s:?}"
        );
    }
    // A non-root user: nothing effective, the bounding set less the dropped.
    // A uid passwd does not know gets gid 0, as with Docker.
    let dir = open_dir("privs-drop-user");
    let (_, cmd, probe) = dump_both(&dir, &["--user", "4242", "--drop-caps", "net_raw"], &[]);
    for s in [&cmd, &probe] {
        assert_eq!(s.uid, "4242 4242 4242 4242");
        assert_eq!(s.gid, "0 0 0 0");
        assert_eq!(s.groups, [0]);
        assert_eq!(s.cap_bnd, own.cap_bnd & !NET_RAW, "{s:?}");
        assert_eq!((s.cap_eff, s.cap_prm, s.cap_amb), (0, 0, 0), "{s:?}");
    }
}

/// Runs `vigil ARGS` in a private mount namespace where `passwd` and `group`
/// are bind-mounted over /etc's (the host's files stay untouched).
fn with_accounts(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> Output {
    let passwd = dir.path("passwd");
    let group = dir.path("group");
    std::fs::write(
        &passwd,
        "root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:App:/home/app:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        &group,
        "root:x:0:\napp:x:1234:\nvideo:x:44:app\nextra:x:2000:other,app\nagents:x:3000:\n",
    )
    .unwrap();
    let script = "mount --bind \"$1\" /etc/passwd && mount --bind \"$2\" /etc/group && shift 2 && exec \"$@\"";
    let mut all = vec![
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
    ];
    let (p, g) = (passwd.to_string_lossy(), group.to_string_lossy());
    all.extend([p.as_ref(), g.as_ref(), vigil()]);
    all.extend(args);
    run(&mut vigil_cmd("unshare", &all, env))
}

#[test]
fn names_come_from_the_passwd_and_group_files() {
    let dir = open_dir("privs-names");
    let out_file = dir.path("cmd");
    let out_path = out_file.to_string_lossy().into_owned();
    let args = ["-s", "--user", "app", "--", "sh", "-c", DUMP, &out_path];
    let out = with_accounts(&dir, &args, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = Status::read(&out_file);
    assert_eq!(s.uid, "1234 1234 1234 1234");
    assert_eq!(s.gid, "1234 1234 1234 1234");
    // The primary group and every group that lists the user, as initgroups.
    assert_eq!(s.groups, [44, 1234, 2000]);
    assert_eq!(s.home, "/home/app");
    assert_eq!((s.cap_eff, s.cap_prm, s.cap_amb), (0, 0, 0));

    // USER:GROUP by names: that group only.
    let _ = std::fs::remove_file(&out_file);
    let args = ["-s", "--", "sh", "-c", DUMP, &out_path];
    let out = with_accounts(&dir, &args, &[("VIGIL_USER", "app:video")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = Status::read(&out_file);
    assert_eq!((s.gid.as_str(), s.groups.len()), ("44 44 44 44", 0));

    // vigil check shows the identity by name.
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/config/eas-health-check.json"
    );
    let out = with_accounts(&dir, &["check", "--user", "app", fixture], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("uid=1234(app) gid=1234(app) groups=1234(app),44(video),2000(extra)"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("/home/app"), "{}", stdout(&out));

    // --socket-group by name.
    let socket = dir.path("run/vigil.sock");
    let sock = socket.to_string_lossy().into_owned();
    let script = format!("stat -c %g {sock} > {out_path}");
    let args = [
        "-s",
        "--socket",
        &sock,
        "--socket-group",
        "agents",
        "--",
        "sh",
        "-c",
        &script,
    ];
    let out = with_accounts(&dir, &args, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap().trim(), "3000");
}

#[test]
fn bad_input_exits_2_before_anything_starts() {
    let dir = open_dir("privs-bad");
    let marker = dir.path("started");
    let touch = format!("touch {}", marker.display());
    // (vigil's flags, env, the message expected)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            &["--user", "no-such-user-vigil"],
            &[],
            "--user: no user 'no-such-user-vigil' in /etc/passwd",
        ),
        (
            &["--user", "root:no-such-group-vigil"],
            &[],
            "--user: no group 'no-such-group-vigil' in /etc/group",
        ),
        (
            &["--user", ":0"],
            &[],
            "--user: ':0': expected USER[:GROUP]",
        ),
        (
            &[],
            &[("VIGIL_USER", "no-such-user-vigil")],
            "VIGIL_USER: no user 'no-such-user-vigil'",
        ),
        (
            &["--drop-caps", "NET_ADMIN,CAP_BOGUS"],
            &[],
            "--drop-caps: unknown capability 'CAP_BOGUS'",
        ),
        (
            &[],
            &[("VIGIL_KEEP_CAPS", "bogus")],
            "VIGIL_KEEP_CAPS: unknown capability 'bogus'",
        ),
        (
            &["--keep-caps", "all"],
            &[],
            "--keep-caps: 'all' keeps everything",
        ),
        (
            &[
                "--socket",
                "/tmp/vigil-privs-bad.sock",
                "--socket-group",
                "no-such-group-vigil",
            ],
            &[],
            "--socket-group no-such-group-vigil: no group 'no-such-group-vigil' in /etc/group",
        ),
    ];
    for (args, env, want) in cases {
        let mut all: Vec<&str> = vec!["-s"];
        all.extend(*args);
        all.extend(["--", "sh", "-c", &touch]);
        let out = run(&mut vigil_cmd(vigil(), &all, env));
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{args:?} {env:?}: {err}");
        assert!(
            err.contains(want),
            "{args:?} {env:?}: {err:?} lacks {want:?}"
        );
        assert!(!marker.exists(), "{args:?}: the command started");
    }
    // vigil not root (nobody, no capabilities): --user and --drop-caps are refused.
    let setpriv = [
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "--inh-caps=-all",
    ];
    let refused: &[(&[&str], &str)] = &[
        (
            &["--user", "4242"],
            "--user: needs vigil to run as root: it lacks cap_setuid",
        ),
        (
            &["--drop-caps", "NET_RAW"],
            "--drop-caps: needs vigil to run as root: it lacks cap_setpcap",
        ),
        (
            &["--keep-caps", "CHOWN"],
            "--keep-caps: vigil itself does not have cap_chown",
        ),
    ];
    for (args, want) in refused {
        let mut all: Vec<&str> = setpriv.to_vec();
        all.extend([vigil(), "-s"]);
        all.extend(*args);
        all.extend(["--", "sh", "-c", &touch]);
        let out = run(&mut vigil_cmd("setpriv", &all, &[]));
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
        assert!(!marker.exists(), "{args:?}: the command started");
    }
    // --no-new-privs needs nothing.
    let mut all: Vec<&str> = setpriv.to_vec();
    all.extend([vigil(), "-s", "--no-new-privs", "--", "sh", "-c", &touch]);
    let out = run(&mut vigil_cmd("setpriv", &all, &[]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(marker.exists());
}

#[test]
fn the_status_socket_names_its_peer_and_takes_its_group() {
    use std::io::{Read, Write};
    use std::os::unix::fs::MetadataExt;
    let dir = open_dir("privs-socket");
    let socket = dir.path("vigil.sock");
    let sock = socket.to_string_lossy().into_owned();
    let log = dir.path("log");
    let mut child = vigil_cmd(
        vigil(),
        &[
            "-s",
            "-vvv",
            "--socket",
            &sock,
            "--socket-group",
            "4343",
            "--socket-mode",
            "0660",
            "--",
            "sleep",
            "30",
        ],
        &[],
    )
    .stderr(std::fs::File::create(&log).unwrap())
    .spawn()
    .unwrap();
    wait_until("the socket", || socket.exists());
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!((meta.gid(), meta.mode() & 0o777), (4343, 0o660));
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    stream
        .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let want = format!("status: GET /livez from pid {} uid 0", std::process::id());
    wait_until("the request's debug line", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(&want)
    });
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_exit(&mut child);
}

#[test]
fn vigil_check_shows_what_the_command_gets() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/config/eas-health-check.json"
    );
    let args = [
        "check",
        "--user",
        "4242:4343",
        "--keep-caps",
        "chown",
        "--no-new-privs",
        fixture,
    ];
    let out = run(&mut vigil_cmd(vigil(), &args, &[]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    for needle in [
        "uid=4242 gid=4343 groups=-",
        "cap_effective    0000000000000001 cap_chown",
        "cap_ambient      0000000000000001 cap_chown",
        "no_new_privs     true",
    ] {
        assert!(table.contains(needle), "{table} lacks {needle:?}");
    }
    let mut json_args = vec!["check", "--json"];
    json_args.extend(&args[1..]);
    let out = run(&mut vigil_cmd(
        vigil(),
        &json_args,
        &[("VIGIL_DROP_CAPS", "kill")],
    ));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v["privileges"];
    assert_eq!(
        (p["uid"].as_u64(), p["gid"].as_u64()),
        (Some(4242), Some(4343))
    );
    assert_eq!(p["home"], "/");
    assert_eq!(p["capabilities"]["permitted"]["mask"], "0000000000000001");
    assert_eq!(p["capabilities"]["bounding"]["names"], "cap_chown");
    assert_eq!(p["no_new_privs"], true);
    // An unknown name is an error there too; not being root only a warning.
    let out = run(&mut vigil_cmd(
        vigil(),
        &["check", "--keep-caps", "nope", fixture],
        &[],
    ));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("error: --keep-caps: unknown capability 'nope'"),
        "{}",
        stderr(&out)
    );
    let setpriv = [
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        vigil(),
    ];
    let mut all: Vec<&str> = setpriv.to_vec();
    all.extend(["check", "--user", "0", fixture]);
    let out = run(&mut vigil_cmd("setpriv", &all, &[]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: --user: needs vigil to run as root: it lacks cap_setuid"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_command_run_as_a_user_can_still_use_the_notify_socket() {
    // The socket's private directory (0700) is handed to the user.
    let send = "import os, socket\n\
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
                s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])\n\
                print('uid', os.getuid())";
    let args = [
        "-s", "-v", "--notify", "--user", "4242", "--", "python3", "-c", send,
    ];
    let out = run(&mut vigil_cmd(vigil(), &args, &[]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "uid 4242");
    assert!(
        stderr(&out).contains("notify: READY=1 from pid"),
        "{}",
        stderr(&out)
    );
}
