//! The status socket and the ready file (docs/status-socket.md), with real
//! clients: curl, Python's prometheus_client parser, raw sockets for the
//! hostile ones.

mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::probes::{http_probe, Run};
use support::*;

/// `curl --unix-socket`: (HTTP status, body).
fn curl(socket: &Path, path: &str) -> (u16, String) {
    curl_for(socket, path, "5")
}

/// The same, giving up after `secs` (how `/events` streams end here).
fn curl_for(socket: &Path, path: &str, secs: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            secs,
            "-w",
            "\n%{http_code}",
            "--unix-socket",
        ])
        .arg(socket)
        .arg(format!("http://vigil{path}"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

struct Served {
    run: Run,
    socket: PathBuf,
    ready_file: PathBuf,
}

/// vigil with the socket, the ready file and an HTTP readiness probe of
/// `/health` every 100 ms that fails at the first failure.
fn served(tag: &str, extra: &[&str]) -> Served {
    let dir = TempDir::new(tag);
    let socket = dir.path("run/vigil.sock");
    let ready_file = dir.path("run/ready");
    let port = support::probes::free_port();
    let ready = http_probe(port, "/health", r#", "failure_threshold": 1"#);
    let mut args = vec![
        "-s".to_string(),
        "--socket".into(),
        socket.to_string_lossy().into_owned(),
        "--ready-file".into(),
        ready_file.to_string_lossy().into_owned(),
        "--readiness".into(),
        ready,
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = Run::start_in(dir, port, &args, &["--term-exit", "0"]);
    Served {
        run,
        socket,
        ready_file,
    }
}

#[test]
fn every_endpoint_answers_curl_and_the_ready_file_follows_readiness() {
    let s = served("status-endpoints", &[]);
    s.run.wait_log("readiness: ready");
    wait_until("the ready file", || s.ready_file.exists());
    let body = std::fs::read_to_string(&s.ready_file).unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).expect("one line of JSON");
    assert!(v["pid"].as_i64().unwrap() > 0, "{body}");
    assert_eq!(v["restarts"], 0, "{body}");

    assert_eq!(curl(&s.socket, "/readyz"), (200, "ok\n".into()));
    assert_eq!(curl(&s.socket, "/livez"), (200, "ok\n".into()));
    assert_eq!(curl(&s.socket, "/startupz"), (200, "ok\n".into()));
    let (code, verbose) = curl(&s.socket, "/readyz?verbose");
    assert_eq!(
        (code, verbose.as_str()),
        (200, "[+]command ok\n[+]readiness ok\nreadyz check passed\n")
    );
    let (code, status) = curl(&s.socket, "/status");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    assert_eq!(v["phase"], "running");
    assert_eq!(v["ready"], true);
    assert_eq!(v["probes"]["readiness"]["handler"], "http_get");
    assert!(
        !v["probes"]["readiness"]["last"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{status}"
    );
    let (code, metrics) = curl(&s.socket, "/metrics");
    assert_eq!(code, 200);
    assert!(metrics.contains("vigil_ready 1\n"), "{metrics}");
    assert_eq!(curl(&s.socket, "/nope").0, 404);
    let (code, events) = curl_for(&s.socket, "/events?since=0", "1");
    assert_eq!(code, 200, "the stream ends at curl's --max-time");
    assert!(
        events.contains(r#""event":"ready","ready":true"#),
        "{events}"
    );

    // The app fails: not ready within a probe period, and the reason is said.
    s.run.control("/health status 500");
    wait_until("/readyz to say 503", || curl(&s.socket, "/readyz").0 == 503);
    let (_, why) = curl(&s.socket, "/readyz");
    assert!(
        why.starts_with("not ready: readiness probe failed")
            && why.contains("HTTP probe failed with statuscode: 500")
            && why.ends_with("/health)\n"),
        "{why}"
    );
    wait_until("the ready file to go", || !s.ready_file.exists());
    s.run.control("");
    wait_until("the ready file again", || s.ready_file.exists());

    // Both files go when vigil exits.
    let mut run = s.run;
    run.term();
    assert_eq!(run.exit_code(), 0);
    assert!(!s.ready_file.exists(), "ready file left behind");
    assert!(!s.socket.exists(), "socket left behind");
}

#[test]
fn metrics_parse_with_prometheus_client() {
    let s = served("status-metrics", &[]);
    s.run.wait_log("readiness: ready");
    let (code, text) = curl(&s.socket, "/metrics");
    assert_eq!(code, 200);
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
names = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    names[family.name] = (family.type, len(family.samples))
for name in sorted(names):
    print(name, *names[name])
"#;
    // make test-deps puts the wheel in target/pydeps (a pure-Python wheel
    // imports as a zip); an installed prometheus_client does as well.
    let wheels: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/target/pydeps"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().to_string_lossy().into_owned())
            .filter(|p| p.ends_with(".whl"))
            .collect();
    let mut py = Command::new("python3")
        .env("PYTHONPATH", wheels.join(":"))
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with prometheus_client (make test-deps)");
    py.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = String::from_utf8_lossy(&out.stdout);
    for want in [
        "vigil_up gauge 1",
        "vigil_ready gauge 1",
        "vigil_restarts counter 1",
        "vigil_probe_attempts counter 2",
        // 14 buckets, +Inf, sum and count, for the one probe.
        "vigil_probe_duration_seconds histogram 17",
        "vigil_reaped counter 1",
        "vigil_signals_forwarded counter 1",
        "vigil_status_requests counter 1",
        "vigil_events_dropped counter 1",
        "vigil_status_connections_refused counter 1",
    ] {
        assert!(
            parsed.lines().any(|l| l == want),
            "{want} not in:\n{parsed}"
        );
    }
}

/// Reads until the peer closes; false if it is still open at the deadline.
fn closed_by_peer(stream: &mut UnixStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return true,
        }
    }
    false
}

fn probe_attempts(socket: &Path) -> u64 {
    let (_, status) = curl(socket, "/status");
    let v: serde_json::Value = serde_json::from_str(&status).unwrap_or_default();
    v["probes"]["readiness"]["attempts"].as_u64().unwrap_or(0)
}

#[test]
fn hostile_clients_get_bounded_answers_and_slow_nothing() {
    let s = served("status-hostile", &[]);
    s.run.wait_log("readiness: ready");

    // A head over 8 KiB: 431, then closed.
    let mut big = UnixStream::connect(&s.socket).unwrap();
    let head = format!(
        "GET /readyz HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    let _ = big.write_all(head.as_bytes());
    let mut answer = String::new();
    let _ = big.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");

    // Garbage and NUL bytes: 400, closed.
    let mut garbage = UnixStream::connect(&s.socket).unwrap();
    garbage.write_all(b"\x00\x01\x02\xff\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = garbage.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");

    // 64 idle connections and one sending a byte at a time: the socket still
    // answers, the probe still runs, and all of them are closed in the end.
    let mut idle: Vec<UnixStream> = (0..64)
        .map(|_| UnixStream::connect(&s.socket).unwrap())
        .collect();
    let mut loris = UnixStream::connect(&s.socket).unwrap();
    let before = probe_attempts(&s.socket);
    assert_eq!(curl(&s.socket, "/readyz").0, 200);
    wait_until("more probe attempts", || {
        probe_attempts(&s.socket) >= before + 5
    });
    let start = Instant::now();
    let mut loris_closed = false;
    for b in b"GET /readyz HTTP/1.1\r\n".iter().cycle().take(40) {
        if loris.write_all(&[*b]).is_err() {
            loris_closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250)); // a byte every 250 ms, the attack's pace
    }
    assert!(
        loris_closed || closed_by_peer(&mut loris, Duration::from_secs(10)),
        "a client sending a byte every 250 ms is still connected after {:?}",
        start.elapsed()
    );
    for (i, conn) in idle.iter_mut().enumerate() {
        assert!(
            closed_by_peer(conn, Duration::from_secs(10)),
            "idle connection {i} still open"
        );
    }
    assert_eq!(curl(&s.socket, "/readyz").0, 200);
}

#[test]
fn pipelined_requests_are_all_answered_in_order() {
    let s = served("status-pipeline", &[]);
    s.run.wait_log("readiness: ready");
    let mut conn = UnixStream::connect(&s.socket).unwrap();
    let mut requests = String::new();
    for i in 0..100 {
        let path = ["/readyz", "/livez", "/startupz", "/nope"][i % 4];
        requests.push_str(&format!("GET {path} HTTP/1.1\r\nHost: vigil\r\n\r\n"));
    }
    requests.push_str("GET /readyz HTTP/1.1\r\nConnection: close\r\n\r\n");
    conn.write_all(requests.as_bytes()).unwrap();
    let mut answers = String::new();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.read_to_string(&mut answers).unwrap();
    let statuses: Vec<&str> = answers
        .lines()
        .filter(|l| l.starts_with("HTTP/1.1 "))
        .map(|l| &l[9..12])
        .collect();
    let want: Vec<&str> = (0..101)
        .map(|i| if i % 4 == 3 && i < 100 { "404" } else { "200" })
        .collect();
    assert_eq!(statuses, want);
}

#[test]
fn connections_past_the_limit_are_closed_at_once() {
    let s = served("status-limit", &[]);
    s.run.wait_log("readiness: ready");
    let held: Vec<UnixStream> = (0..128)
        .map(|_| UnixStream::connect(&s.socket).unwrap())
        .collect();
    // The 129th: accepted and closed, so it reads EOF at once.
    let mut extra = UnixStream::connect(&s.socket).unwrap();
    assert!(closed_by_peer(&mut extra, Duration::from_secs(3)));
    drop(held);
    wait_until("the socket to answer again", || {
        curl(&s.socket, "/readyz").0 == 200
    });
    let (_, metrics) = curl(&s.socket, "/metrics");
    assert!(
        metrics.contains("vigil_status_connections_refused_total 1\n"),
        "{metrics}"
    );
}

#[test]
fn an_events_client_that_never_reads_is_dropped_and_counted() {
    let dir = TempDir::new("status-events-stall");
    let socket = dir.path("vigil.sock");
    // An exec readiness probe failing every 10 ms with 600 bytes to say.
    let ready = r#"{"exec": {"command": ["sh", "-c", "printf '%0600d' 0; exit 1"]}, "period_seconds": 0.01, "timeout_seconds": 1}"#;
    let mut vigil = Command::new(vigil())
        .arg("--socket")
        .arg(&socket)
        .args(["-s", "--readiness", ready, "--", "sleep", "300"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the socket", || socket.exists());
    let mut stalled = UnixStream::connect(&socket).unwrap();
    stalled
        .write_all(b"GET /events HTTP/1.1\r\nHost: vigil\r\n\r\n")
        .unwrap();
    wait_until("the stalled client to be dropped", || {
        let (_, m) = curl(&socket, "/metrics");
        m.contains("vigil_events_dropped_total 1")
    });
    // Other clients are served meanwhile.
    assert_eq!(curl(&socket, "/livez").0, 200);
    send("TERM", vigil.id());
    wait_exit(&mut vigil);
}

#[test]
fn events_since_replays_what_was_missed() {
    let s = served("status-since", &[]);
    s.run.wait_log("readiness: ready");
    let (_, all) = curl_for(&s.socket, "/events?since=0", "1");
    let seqs: Vec<u64> = all
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["seq"].as_u64())
        .collect();
    assert!(seqs.len() >= 3, "{all}");
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "numbered without gaps: {seqs:?}"
    );
    let (_, after) = curl_for(&s.socket, &format!("/events?since={}", seqs[1]), "1");
    let first: serde_json::Value = serde_json::from_str(after.lines().next().unwrap()).unwrap();
    assert_eq!(first["seq"].as_u64(), Some(seqs[2]), "{after}");
}

#[test]
fn unusable_paths_stop_vigil_before_anything_starts() {
    let dir = TempDir::new("status-paths");
    let marker = dir.path("started");
    let touch = format!("touch {}", marker.display());
    let file = dir.path("a-file");
    std::fs::write(&file, "").unwrap();
    let live = dir.path("live.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&live).unwrap();
    let long = format!("{}/{}", dir.path("").display(), "s".repeat(120));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--socket".into(), format!("{}/x.sock", file.display())],
            "cannot create the directory",
        ),
        (
            vec!["--socket".into(), file.display().to_string()],
            "exists and is not a socket",
        ),
        (
            vec!["--socket".into(), live.display().to_string()],
            "another process answers on this socket",
        ),
        (vec!["--socket".into(), long], "cannot listen"),
        (
            vec!["--ready-file".into(), format!("{}/ready", file.display())],
            "--ready-file",
        ),
    ];
    for (args, want) in cases {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(["--", "sh", "-c", &touch]);
        let o = vigil_run(&all);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(!marker.exists(), "{args:?}: the command ran");
    }
}

#[test]
fn a_stale_socket_is_replaced() {
    let dir = TempDir::new("status-stale");
    let socket = dir.path("vigil.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap()); // left behind
    assert!(socket.exists());
    let mut vigil = Command::new(vigil())
        .arg("--socket")
        .arg(&socket)
        .args(["-s", "--", "sleep", "300"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("vigil to answer", || curl(&socket, "/livez").0 == 200);
    let mode = std::fs::metadata(&socket).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o660);
    send("TERM", vigil.id());
    wait_exit(&mut vigil);
    assert!(!socket.exists());
}

fn vigil_ready(socket: &Path) -> (i32, String) {
    let o = run(Command::new(vigil())
        .arg("ready")
        .arg("--socket")
        .arg(socket));
    (code(&o), stderr(&o))
}

#[test]
fn drain_reports_not_ready_at_once_while_the_app_still_serves() {
    let s = served("status-drain", &["-v", "--drain", "3s"]);
    s.run.wait_log("readiness: ready");
    assert_eq!(vigil_ready(&s.socket), (0, String::new()));
    send("TERM", s.run.child.id());
    wait_until("/readyz to say 503", || curl(&s.socket, "/readyz").0 == 503);
    let (_, why) = curl(&s.socket, "/readyz");
    assert!(why.contains("draining"), "{why}");
    assert!(
        !s.ready_file.exists(),
        "the ready file must go with readiness"
    );
    let (code, err) = vigil_ready(&s.socket);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("draining"), "{err}");
    let (_, status) = curl(&s.socket, "/status");
    assert!(status.contains(r#""phase":"draining""#), "{status}");
    // The app still serves during the drain: it has not had the signal.
    let mut app = std::net::TcpStream::connect(("127.0.0.1", s.run.port)).unwrap();
    app.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = [0u8; 12];
    app.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    let (_, events) = curl_for(&s.socket, "/events?since=0", "0.5");
    assert!(events.contains(r#""event":"stopping""#), "{events}");
    assert!(!s.run.log().contains("drained for"), "{}", s.run.log());
    let mut run = s.run;
    assert_eq!(run.exit_code(), 0);
    assert!(
        run.log()
            .contains("drained for 3s: passing SIGTERM to the command"),
        "{}",
        run.log()
    );
}

#[test]
fn a_second_sigterm_ends_the_drain_at_once() {
    let s = served("status-drain-twice", &["--drain", "60s"]);
    s.run.wait_log("readiness: ready");
    send("TERM", s.run.child.id());
    wait_until("/readyz to say 503", || curl(&s.socket, "/readyz").0 == 503);
    send("TERM", s.run.child.id());
    let mut run = s.run;
    // Within the test deadline (20 s), not the 60 s drain.
    assert_eq!(run.exit_code(), 0);
}

#[test]
fn sd_notify_ready_counts_for_readiness_and_status_shows() {
    let dir = TempDir::new("status-notify");
    let socket = dir.path("vigil.sock");
    let go = dir.path("go");
    // The app says READY=1 and STATUS= when the test creates `go`, over the
    // socket vigil names in NOTIFY_SOCKET (abstract when it starts with @).
    let app = format!(
        r#"while [ ! -e {go} ]; do sleep 0.01; done
python3 -c '
import os, socket
a = os.environ["NOTIFY_SOCKET"]
a = "\0" + a[1:] if a.startswith("@") else a
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1\nSTATUS=Serving 3 models", a)
'
exec sleep 300"#,
        go = go.display()
    );
    let mut vigil = Command::new(vigil())
        .arg("--socket")
        .arg(&socket)
        .args(["-s", "--notify", "--", "sh", "-c", &app])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the socket", || curl(&socket, "/readyz").0 == 503);
    let (_, why) = curl(&socket, "/readyz");
    assert_eq!(
        why,
        "not ready: no READY=1 from the command yet (--notify)\n"
    );
    let (code, err) = vigil_ready(&socket);
    assert_eq!(code, 1, "{err}");
    std::fs::write(&go, "").unwrap();
    wait_until("READY=1 to count", || curl(&socket, "/readyz").0 == 200);
    assert_eq!(vigil_ready(&socket).0, 0);
    let (_, status) = curl(&socket, "/status");
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(v["notify"]["state"], "ready", "{status}");
    assert_eq!(v["notify"]["status"], "Serving 3 models", "{status}");
    send("TERM", vigil.id());
    wait_exit(&mut vigil);
}

#[test]
fn vigil_ready_cannot_ask_without_a_socket() {
    let dir = TempDir::new("status-no-socket");
    let (code, err) = vigil_ready(&dir.path("none.sock"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("none.sock"), "{err}");
}

#[test]
fn a_missed_watchdog_stops_the_command_like_a_failed_liveness_probe() {
    // READY=1 then silence: --watchdog 300ms stops the command (exit 3).
    let app = r#"python3 -c '
import os, socket, time
a = os.environ["NOTIFY_SOCKET"]
a = "\0" + a[1:] if a.startswith("@") else a
assert os.environ["WATCHDOG_USEC"] == "300000", os.environ.get("WATCHDOG_USEC")
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", a)
time.sleep(300)
'"#;
    let o = vigil_run(&[
        "-s",
        "--notify",
        "--watchdog",
        "300ms",
        "--",
        "sh",
        "-c",
        app,
    ]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no WATCHDOG=1 within 300ms: stopping the command"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_client_pipelining_without_end_delays_no_signal() {
    // One connection pipelining /status as fast as it reads the answers kept
    // vigil's loop on it: SIGUSR1s 100 ms apart merged (18 of 40 arrived).
    let dir = TempDir::new("status-pipeflood");
    let socket = dir.path("vigil.sock");
    let rec = dir.path("rec");
    let mut vigil = Command::new(vigil())
        .arg("--socket")
        .arg(&socket)
        .args(["-s", "--", &testapp_str(), "signals", "--out"])
        .arg(&rec)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the recorder", || {
        lines(&rec).last().is_some_and(|l| l == "ready")
    });
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooders: Vec<_> = (0..2)
        .map(|_| {
            let (socket, stop) = (socket.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut conn = UnixStream::connect(&socket).unwrap();
                let mut reader = conn.try_clone().unwrap();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 1 << 16];
                    while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
                });
                let batch = "GET /status HTTP/1.1\r\nHost: vigil\r\n\r\n".repeat(64);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if conn.write_all(batch.as_bytes()).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    for _ in 0..20 {
        send("USR1", vigil.id());
        std::thread::sleep(Duration::from_millis(100)); // the pace of the signals under test
    }
    wait_until("20 SIGUSR1 to reach the command", || {
        lines(&rec).iter().filter(|l| *l == "SIGUSR1").count() == 20
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    send("TERM", vigil.id());
    wait_exit(&mut vigil);
    for f in flooders {
        let _ = f.join();
    }
}

#[test]
fn events_streams_are_bounded_and_since_must_be_a_number() {
    let s = served("status-streams", &[]);
    s.run.wait_log("readiness: ready");
    assert_eq!(curl(&s.socket, "/events?since=5x").0, 400);
    assert_eq!(curl(&s.socket, "/events?since=-1").0, 400);
    let streams: Vec<UnixStream> = (0..32)
        .map(|_| {
            let mut c = UnixStream::connect(&s.socket).unwrap();
            c.write_all(b"GET /events HTTP/1.1\r\n\r\n").unwrap();
            c
        })
        .collect();
    wait_until("the 33rd stream to be refused", || {
        curl_for(&s.socket, "/events", "1").0 == 503
    });
    assert_eq!(
        curl(&s.socket, "/readyz").0,
        200,
        "short requests still have room"
    );
    drop(streams);
}
