//! `vigil-testapp http`: the HTTP server the probe tests point vigil at. Its
//! behaviour is set per path in a control file that is read again on every
//! request, so a test changes it while the server runs (write a temp file,
//! rename it over the control file).
//!
//!   http --port P [--bind ADDR] [--control FILE] [--requests FILE]
//!        [--start-delay SECS] [--ignore-term | --term-exit N] [--orphans N]
//!
//! Control file: one rule per line, `PATH BEHAVIOUR [ARG]`, `*` for any path,
//! the first match wins; no match answers 200 "ok".
//!   status N             answer N
//!   hang                 read the request, never answer
//!   slow-body            200 with a 100-byte body sent one byte per 100 ms
//!   close-mid            half a status line and headers, then close
//!   redirect LOC [N]     answer N (302) with Location: LOC
//!   headers-forever      a status line, then headers without end
//!   huge-body            200 with Content-Length 1 GB, zeros until the peer leaves
//!   garbage              bytes that are not HTTP, then close
//!   reset                half a status line, then a reset (RST, not FIN)
//!   exit N               answer 200, then the whole server exits with N
//!   answer N FILE        answer N with FILE: header lines, a blank line, the body
//!   tls-alert            a TLS alert record (15 03 01 00 02 02 46), then close,
//!                        as a server that speaks HTTPS on the port
//!   close                close at once without a byte
//!   host-only NAME       200 when the Host header (without port) is NAME, else
//!                        400 "Bad Request (400)" (as Django's ALLOWED_HOSTS)
//! `--requests FILE` appends each request's head (and a blank line) to FILE.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

struct Opts {
    control: Option<String>,
    requests: Option<String>,
}

pub fn run(args: &[String]) -> ! {
    let flag = |name: &str| crate::flag(args, name);
    let port: u16 = flag("--port")
        .and_then(|p| p.parse().ok())
        .expect("--port P");
    let bind = flag("--bind").unwrap_or_else(|| "0.0.0.0".into());
    if args.iter().any(|a| a == "--ignore-term") {
        crate::signals::ignore(libc::SIGTERM);
    }
    if let Some(code) = flag("--term-exit").and_then(|c| c.parse::<i32>().ok()) {
        // Exit with `code` on SIGTERM, as a well-behaved app does.
        let mut term = crate::signals::with_signals_blocked(|| {
            signal_hook::iterator::Signals::new([libc::SIGTERM])
        })
        .expect("signals");
        std::thread::spawn(move || {
            if term.forever().next().is_some() {
                std::process::exit(code);
            }
        });
    }
    if let Some(n) = flag("--orphans").and_then(|n| n.parse::<usize>().ok()) {
        for _ in 0..n {
            crate::signals::fork_orphan();
        }
    }
    if let Some(secs) = flag("--start-delay").and_then(|s| s.parse::<f64>().ok()) {
        // The app's own behaviour (a model loading), not a test's wait. The
        // line tells a test that the SIGTERM handler is in place.
        eprintln!("testapp http: loading for {secs}s");
        std::thread::sleep(Duration::from_secs_f64(secs));
    }
    let listener = TcpListener::bind((bind.as_str(), port)).unwrap_or_else(|e| {
        eprintln!("testapp http: bind {bind}:{port}: {e}");
        std::process::exit(70)
    });
    eprintln!("testapp http: listening on {bind}:{port}");
    let opts = std::sync::Arc::new(Opts {
        control: flag("--control"),
        requests: flag("--requests"),
    });
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let opts = opts.clone();
        std::thread::spawn(move || serve(conn, &opts));
    }
    std::process::exit(0)
}

/// The request head, read up to the blank line (at most 64 KiB).
fn read_head(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).ok().filter(|n| *n > 0)?;
        head.extend_from_slice(&buf[..n]);
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn rule_for(control: Option<&str>, path: &str) -> Vec<String> {
    let text = control
        .and_then(|f| std::fs::read_to_string(f).ok())
        .unwrap_or_default();
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|w| w.len() >= 2 && (w[0] == "*" || w[0] == path))
        .map(|w| w[1..].to_vec())
        .unwrap_or_default()
}

fn respond(conn: &mut TcpStream, status: u16, extra: &str, body: &str) {
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
}

/// Blocks until the peer closes (or a long while passes).
fn until_peer_leaves(conn: &mut TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(300)));
    let mut buf = [0u8; 256];
    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
}

/// Closes with a reset: SO_LINGER on with a zero timeout makes close(2)
/// send RST and drop what is unsent.
fn reset(conn: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads `linger` (a live local of the size given)
    // during the call only; the fd is the open socket `conn` owns.
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(conn);
}

fn serve(mut conn: TcpStream, opts: &Opts) {
    let Some(head) = read_head(&mut conn) else {
        return;
    };
    if let Some(f) = &opts.requests {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(f)
        {
            let _ = file.write_all(head.as_bytes());
        }
    }
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let rule = rule_for(opts.control.as_deref(), &path);
    let arg = |i: usize| rule.get(i).cloned().unwrap_or_default();
    match rule.first().map(String::as_str) {
        None => respond(&mut conn, 200, "", "ok\n"),
        Some("status") => {
            let code: u16 = arg(1).parse().unwrap_or(500);
            respond(&mut conn, code, "", &format!("status {code}\n"));
        }
        Some("hang") => until_peer_leaves(&mut conn),
        Some("slow-body") => {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
            for _ in 0..100 {
                if conn.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100)); // the hostile server's pace
            }
        }
        Some("close-mid") => {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Le");
        }
        Some("redirect") => {
            let code: u16 = arg(2).parse().unwrap_or(302);
            respond(&mut conn, code, &format!("Location: {}\r\n", arg(1)), "");
        }
        Some("headers-forever") => {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\n");
            while conn
                .write_all(
                    b"X-Forever: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                )
                .is_ok()
            {}
        }
        Some("huge-body") => {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n");
            let zeros = [0u8; 65536];
            let mut sent = 0u64;
            while sent < 1 << 30 && conn.write_all(&zeros).is_ok() {
                sent += zeros.len() as u64;
            }
        }
        Some("garbage") => {
            let _ = conn.write_all(b"\x00\x01\x02 this is not HTTP \xff\r\n\r\n");
        }
        Some("reset") => {
            let _ = conn.write_all(b"HTTP/1.1 20");
            reset(conn);
        }
        Some("exit") => {
            respond(&mut conn, 200, "", "bye\n");
            let _ = conn.flush();
            std::process::exit(arg(1).parse().unwrap_or(1));
        }
        Some("answer") => {
            let code: u16 = arg(1).parse().unwrap_or(500);
            let text = std::fs::read_to_string(arg(2)).unwrap_or_default();
            let (headers, body) = text.split_once("\n\n").unwrap_or(("", &text));
            let extra: String = headers.lines().map(|h| format!("{h}\r\n")).collect();
            respond(&mut conn, code, &extra, body);
        }
        Some("tls-alert") => {
            let _ = conn.write_all(b"\x15\x03\x01\x00\x02\x02\x46");
        }
        Some("close") => drop(conn),
        Some("host-only") => {
            let host = head
                .lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
                })
                .map(|(_, v)| v.trim())
                .unwrap_or("");
            let name = host.rsplit_once(':').map_or(host, |(n, _)| n);
            match name == arg(1) {
                true => respond(&mut conn, 200, "", "ok\n"),
                false => respond(&mut conn, 400, "", "Bad Request (400)\n"),
            }
        }
        Some(other) => respond(
            &mut conn,
            500,
            "",
            &format!("testapp: unknown behaviour {other}\n"),
        ),
    }
}
