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
    with_files(
        dir,
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:App:/home/app:/bin/sh\n",
        b"root:x:0:\napp:x:1234:\nvideo:x:44:app\nextra:x:2000:other,app\nagents:x:3000:\n",
        args,
        env,
    )
}

/// `with_accounts` with these files' bytes.
fn with_files(
    dir: &TempDir,
    passwd_bytes: &[u8],
    group_bytes: &[u8],
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let passwd = dir.path("passwd");
    let group = dir.path("group");
    std::fs::write(&passwd, passwd_bytes).unwrap();
    std::fs::write(&group, group_bytes).unwrap();
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
            "--drop-caps: vigil lacks CAP_SETPCAP, which a smaller bounding set for the command needs",
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
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    let dir = open_dir("privs-socket");
    let socket = dir.path("vigil.sock");
    let sock = socket.to_string_lossy().into_owned();
    let log = dir.path("log");
    // Whoever can write the socket's directory plants a symlink to a file
    // of root's: it is replaced, not followed (root's chmod and chown went
    // through it), and the file keeps its mode and group.
    let victim = dir.path("victim");
    std::fs::write(&victim, "root's").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&victim, &socket).unwrap();
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
    // The socket appears with its mode and group already set.
    wait_until("the socket", || {
        std::fs::symlink_metadata(&socket).is_ok_and(|m| m.file_type().is_socket())
    });
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert_eq!((meta.gid(), meta.mode() & 0o777), (4343, 0o660));
    let meta = std::fs::metadata(&victim).unwrap();
    assert_eq!((meta.gid(), meta.mode() & 0o777), (0, 0o600));
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
    // The socket's private directory (0700) is handed to the user. The
    // command stays until vigil has read its READY=1 and stops it (a command
    // that exits at once may be reaped before its datagram is read).
    let dir = TempDir::new("priv-notify");
    let uid_file = dir.path("uid");
    let send = format!(
        "import os, socket, signal\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])\n\
         open('{}', 'w').write('uid %d' % os.getuid())\n\
         signal.signal(signal.SIGTERM, lambda *a: os._exit(0))\n\
         signal.pause()",
        uid_file.display()
    );
    std::fs::set_permissions(&dir.0, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let mut vigil = vigil_cmd(
        vigil(),
        &[
            "-s", "-v", "--notify", "--user", "4242", "--", "python3", "-c", &send,
        ],
        &[],
    )
    .stdin(std::process::Stdio::null())
    .stderr(log)
    .spawn()
    .expect("start vigil");
    let read_log = || std::fs::read_to_string(dir.path("log")).unwrap_or_default();
    wait_until("READY=1 from the command", || {
        read_log().contains("notify: READY=1 from pid")
    });
    support::send("TERM", vigil.id());
    assert_eq!(wait_exit(&mut vigil).code(), Some(0), "{}", read_log());
    assert_eq!(
        std::fs::read_to_string(&uid_file).unwrap_or_default(),
        "uid 4242"
    );
}

/// `vigil ARGS -- sh -c 'touch MARKER'` with these passwd and group bytes:
/// its output, and whether the command started.
fn refused_with(dir: &TempDir, passwd: &[u8], group: &[u8], args: &[&str]) -> (Output, bool) {
    let marker = dir.path("started");
    let _ = std::fs::remove_file(&marker);
    let touch = format!("touch {}", marker.display());
    let mut all: Vec<&str> = vec!["-s"];
    all.extend(args);
    all.extend(["--", "sh", "-c", &touch]);
    let out = with_files(dir, passwd, group, &all, &[]);
    (out, marker.exists())
}

const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:App:/home/app:/bin/sh\n";
const GROUP: &[u8] = b"root:x:0:\napp:x:1234:\nvideo:x:44:app\n";

/// `setresuid(4294967295, ...)` means "unchanged": `--user 4294967295` ran
/// the command as root with every capability. Every id of 2^31 and above,
/// given or read from a file, is refused before anything starts (runc's
/// ErrRange); `--socket-group 4294967295` was silently no group at all.
#[test]
fn ids_the_kernel_reads_as_unchanged_are_refused() {
    let dir = open_dir("privs-range");
    let passwd = b"root:x:0:0:root:/root:/bin/sh\nsvc:x:4294967295:1000::/srv:/bin/sh\n\
                   half:x:1000:2147483648::/srv:/bin/sh\nmember:x:1001:1001::/:/bin/sh\n";
    let group = b"root:x:0:\nneg:x:4294967295:member\nbig:x:2147483648:\n";
    let sock = dir.path("s.sock").to_string_lossy().into_owned();
    type Case<'a> = (&'a [&'a str], &'a str);
    let cases: &[Case] = &[
        (
            &["--user", "4294967295"],
            "--user: user '4294967295': ids above 2147483647 are refused",
        ),
        (
            &["--user", "2147483648"],
            "--user: user '2147483648': ids above 2147483647",
        ),
        (
            &["--user", "0:4294967295"],
            "--user: group '4294967295': ids above 2147483647",
        ),
        (
            &["--user", "svc"],
            "--user: /etc/passwd: user 'svc' has uid 4294967295, above 2147483647",
        ),
        (
            &["--user", "half"],
            "--user: /etc/passwd: user 'half' has gid 2147483648, above",
        ),
        (
            &["--user", "member"],
            "--user: /etc/group: group 'neg' has gid 4294967295, above",
        ),
        (
            &["--user", "root:big"],
            "--user: /etc/group: group 'big' has gid 2147483648",
        ),
        (
            &["--socket", &sock, "--socket-group", "4294967295"],
            "--socket-group 4294967295: group '4294967295': ids above 2147483647",
        ),
        (
            &["--socket", &sock, "--socket-group", "neg"],
            "--socket-group neg: /etc/group: group 'neg' has gid 4294967295",
        ),
    ];
    for (args, want) in cases {
        let (out, started) = refused_with(&dir, passwd, group, args);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
        assert!(!started, "{args:?}: the command started");
    }
    // The largest id allowed runs.
    let (out, started) = refused_with(&dir, passwd, group, &["--user", "2147483647:2147483647"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(started);
}

/// `--user 1000` took the first line with the name `1000` *or* the uid
/// 1000: a user named "1000" with uid 0 won. Numbers match ids only.
#[test]
fn a_number_matches_ids_only_and_a_name_names_only() {
    let dir = open_dir("privs-numeric");
    let out_file = dir.path("cmd");
    let out_path = out_file.to_string_lossy().into_owned();
    let passwd = b"root:x:0:0:root:/root:/bin/sh\n1234:x:0:0:evil:/evil:/bin/sh\n\
                   app:x:1234:1234::/home/app:/bin/sh\n";
    let group = b"root:x:0:\n1234:x:0:\n44:x:0:\napp:x:1234:\nvideo:x:44:app\n";
    for (user, gid, groups) in [
        ("1234", "1234 1234 1234 1234", vec![44, 1234]),
        ("app:44", "44 44 44 44", vec![]),
        ("1234:app", "1234 1234 1234 1234", vec![]),
    ] {
        let _ = std::fs::remove_file(&out_file);
        let args = ["-s", "--user", user, "--", "sh", "-c", DUMP, &out_path];
        let out = with_files(&dir, passwd, group, &args, &[]);
        assert_eq!(code(&out), 0, "{user}: {}", stderr(&out));
        let s = Status::read(&out_file);
        assert_eq!(s.uid, "1234 1234 1234 1234", "{user}");
        assert_eq!(s.gid, gid, "{user}");
        assert_eq!(s.groups, groups, "{user}");
        assert_eq!(s.home, "/home/app", "{user}");
    }
    // --socket-group 44 is gid 44, not the group named "44".
    let socket = dir.path("run/vigil.sock");
    let sock = socket.to_string_lossy().into_owned();
    let script = format!("stat -c %g {sock} > {out_path}");
    let args = [
        "-s",
        "--socket",
        &sock,
        "--socket-group",
        "44",
        "--",
        "sh",
        "-c",
        &script,
    ];
    let out = with_files(&dir, passwd, group, &args, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap().trim(), "44");
}

/// A Latin-1 comment made /etc/passwd "unreadable" (it was read as UTF-8),
/// and `--user 1234` then ran with gid 0 and HOME=/; a file over 16 MiB was
/// silently cut; a NUL in the home failed every start. Now: bytes, a file
/// that exists but cannot be read whole is exit 2, and so is the NUL.
#[test]
fn passwd_and_group_are_read_as_bytes_and_whole() {
    let dir = open_dir("privs-bytes");
    let out_file = dir.path("cmd");
    let out_path = out_file.to_string_lossy().into_owned();
    let passwd =
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:Jos\xe9 Garc\xeda:/home/app:/bin/sh\n";
    let group = b"root:x:0:\nvid\xe9o:x:44:app\napp:x:1234:\n";
    let args = ["-s", "--user", "1234", "--", "sh", "-c", DUMP, &out_path];
    let out = with_files(&dir, passwd, group, &args, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = Status::read(&out_file);
    assert_eq!(
        (s.gid.as_str(), s.home.as_str()),
        ("1234 1234 1234 1234", "/home/app")
    );
    assert_eq!(s.groups, [44, 1234]);

    // Over 16 MiB: the user is on the first line, and still it is refused.
    let mut big = PASSWD.to_vec();
    big.resize(17 << 20, b'\n');
    let (out, started) = refused_with(&dir, &big, GROUP, &["--user", "1234"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("--user: cannot read /etc/passwd: it is larger than 16 MiB"),
        "{err}"
    );
    assert!(!started);
    let (out, started) = refused_with(&dir, PASSWD, &big, &["--user", "app"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot read /etc/group: it is larger"),
        "{}",
        stderr(&out)
    );
    assert!(!started);

    // A NUL in the home: named, before anything starts.
    let nul = b"root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/a\0pp:/bin/sh\n";
    let (out, started) = refused_with(&dir, nul, GROUP, &["--user", "app"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("/etc/passwd: the home directory of user 'app' ('/home/a\\u{0}pp') has a NUL byte, which HOME cannot hold"),
        "{err}"
    );
    assert!(!started);
}

/// 8,000 groups took 21 s to resolve; more than NGROUPS_MAX (65,536) failed
/// at every start. Now linear, and too many is exit 2 before anything starts.
#[test]
fn too_many_groups_are_refused_before_anything_starts() {
    let dir = open_dir("privs-groups");
    let mut group = GROUP.to_vec();
    for gid in 0..65_536u32 {
        group.extend(format!("g{gid}:x:{}:app\n", gid + 10_000).bytes());
    }
    let (out, started) = refused_with(&dir, PASSWD, &group, &["--user", "app"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("--user: user 'app' is in 65538 groups; the kernel allows at most 65536"),
        "{err}"
    );
    assert!(!started);
}

/// Control characters in a user name or a passwd home are escaped, in
/// errors and in `vigil check`.
#[test]
fn control_characters_are_escaped() {
    let dir = open_dir("privs-escape");
    let (out, _) = refused_with(&dir, PASSWD, GROUP, &["--user", "a\x1b[2Jb"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("no user 'a\\u{1b}[2Jb' in /etc/passwd"),
        "{err}"
    );
    assert!(!err.contains('\x1b'), "{err:?}");
    let passwd = b"root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/a\x1b[2Jpp:/bin/sh\n";
    let group = b"root:x:0:\napp:x:1234:\nv\x1bid:x:44:app\n";
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/config/eas-health-check.json"
    );
    let out = with_files(
        &dir,
        passwd,
        group,
        &["check", "--user", "app", fixture],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("/home/a\\u{1b}[2Jpp"), "{table}");
    assert!(table.contains("44(v\\u{1b}id)"), "{table}");
    assert!(!table.contains('\x1b'), "{table:?}");
}

/// `--drop-caps all --keep-caps X` kept nothing ("keep minus drop"); as
/// Docker's `--cap-drop ALL --cap-add X`, X is added back after the drop.
#[test]
fn kept_capabilities_are_added_back_after_the_drop() {
    let kept = CHOWN | NET_BIND_SERVICE;
    for user in [None, Some("4242")] {
        let dir = open_dir("privs-drop-keep");
        let mut args = vec![
            "--drop-caps",
            "all",
            "--keep-caps",
            "chown,net_bind_service",
        ];
        args.extend(user.iter().flat_map(|u| ["--user", u]));
        let (_, cmd, probe) = dump_both(&dir, &args, &[]);
        for s in [&cmd, &probe] {
            assert_eq!(
                (s.cap_bnd, s.cap_eff, s.cap_prm, s.cap_inh, s.cap_amb),
                (kept, kept, kept, kept, kept),
                "{user:?} {s:?}"
            );
        }
    }
}

/// `vigil check` looks at an exec probe's program as root; the probe runs
/// as the user. A root-only program passes the check and every attempt then
/// fails: the failure names the identity it ran as.
#[test]
fn an_exec_probe_that_the_user_cannot_run_names_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = open_dir("privs-probe-perm");
    let script = dir.path("root-only.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    let argv = serde_json::to_string(&[script.to_string_lossy()]).unwrap();
    let startup = format!(
        r#"{{"exec": {{"command": {argv}}}, "period_seconds": 0.1, "failure_threshold": 1}}"#
    );
    let args = [
        "-s",
        "--user",
        "4242",
        "--startup",
        &startup,
        "--",
        "sleep",
        "30",
    ];
    let out = run(&mut vigil_cmd(vigil(), &args, &[]));
    let err = stderr(&out);
    assert_ne!(code(&out), 0, "{err}");
    assert!(
        err.contains(
            "cannot run the probe's program: Permission denied (as uid 4242 gid 0, --user)"
        ),
        "{err}"
    );
    // The diagnosis reads the errno the child reported, not the message's
    // words (which the identity follows).
    assert!(
        err.contains(&format!(
            "startup probe: {} has execute bits (mode 0700) but the kernel refuses to run it",
            script.display()
        )),
        "{err}"
    );
}
