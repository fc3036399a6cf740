//! `vigil ready` and `vigil status`: the client side of the status socket, for
//! Docker's `HEALTHCHECK`, exec probes and an operator.
//!
//! One request over a blocking Unix stream socket, bounded: 1 s in all
//! (connect, send and read each get what is left), at most 1 MiB read. A
//! `HEALTHCHECK` may run this every second, so the ready path does the least:
//! socket, a send timeout (it bounds the connect), connect, a receive timeout
//! (what is left), send, read, close.
//!
//! Exit codes: `ready` 0 ready, 1 not ready, 2 cannot ask; `status` 0 with a
//! 200 and a JSON object, 2 otherwise. Every failure is one line on stderr.

use crate::log::reason;
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use serde_json::Value;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DEFAULT_SOCKET: &str = "/run/vigil.sock";
/// The whole exchange: connect, send, read.
const DEADLINE: Duration = Duration::from_secs(1);
/// Everything read, head and body.
const MAX_ANSWER: usize = 1024 * 1024;
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 32;

const READYZ: &[u8] = b"GET /readyz HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n";
const STATUS: &[u8] = b"GET /status HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n";

const READY_USAGE: &str = "usage: vigil ready [--socket PATH]";
const STATUS_USAGE: &str = "usage: vigil status [--socket PATH] [--json]";
const READY_HELP: &str = "
Ask a running vigil whether its command is ready (GET /readyz on its status socket).
Exit 0 when ready (silent), 1 when not (the reason on stderr), 2 when it cannot ask.
Gives up after 1s.

  --socket PATH   The status socket (default: VIGIL_SOCKET, then /run/vigil.sock).
";
const STATUS_HELP: &str = "
Show a running vigil's state: the command, readiness and each probe's last attempts
(GET /status on its status socket). Exit 0 on an answer, 2 when it cannot ask.

  --socket PATH   The status socket (default: VIGIL_SOCKET, then /run/vigil.sock).
  --json          Print the JSON document as vigil sent it.
";

/// `vigil ready [--socket PATH]`; `args` are those after `ready`.
#[inline(never)] // not in `main`'s frame, which stays live under the event loop
pub(crate) fn ready(args: Vec<OsString>, env: &dyn Fn(&str) -> Option<OsString>) -> u8 {
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    run(Verb::Ready, args, env, &mut out, &mut err)
}

/// `vigil status [--socket PATH] [--json]`; `args` are those after `status`.
#[inline(never)] // not in `main`'s frame, which stays live under the event loop
pub(crate) fn status(args: Vec<OsString>, env: &dyn Fn(&str) -> Option<OsString>) -> u8 {
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    run(Verb::Status, args, env, &mut out, &mut err)
}

const READY: u8 = 0;
const NOT_READY: u8 = 1;
const CANNOT_ASK: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Ready,
    Status,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Ready => "ready",
            Verb::Status => "status",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Verb::Ready => READY_USAGE,
            Verb::Status => STATUS_USAGE,
        }
    }
}

fn run(
    verb: Verb,
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    match (parse(verb, args, env), verb) {
        (Parsed::Run(opts), Verb::Ready) => ask_ready(&opts, err),
        (Parsed::Run(opts), Verb::Status) => ask_status(&opts, out, err),
        (Parsed::Help, Verb::Ready) => print(out, err, verb, &[READY_USAGE, READY_HELP]),
        (Parsed::Help, Verb::Status) => print(out, err, verb, &[STATUS_USAGE, STATUS_HELP]),
        (Parsed::Wrong(e), _) => fail(err, verb, &format!("{e} ({})", verb.usage())),
    }
}

fn ask_ready(opts: &Options, err: &mut dyn Write) -> u8 {
    match fetch(&opts.socket, READYZ) {
        Ok(answer) if answer.status == 200 => READY,
        Ok(answer) if answer.status == 503 => {
            let line = answer.body.split(|&b| b == b'\n').next().unwrap_or(&[]);
            let line = String::from_utf8_lossy(line);
            let line = line.trim();
            let reason = if line.is_empty() { "not ready" } else { line };
            let _ = writeln!(err, "vigil ready: {}", shortened(&sanitize(reason)));
            NOT_READY
        }
        Ok(answer) => fail(err, Verb::Ready, &answer.unexpected(&opts.socket)),
        Err(e) => fail(err, Verb::Ready, &e),
    }
}

fn ask_status(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let verb = Verb::Status;
    let answer = match fetch(&opts.socket, STATUS) {
        Ok(answer) if answer.status == 200 => answer,
        Ok(answer) => return fail(err, verb, &answer.unexpected(&opts.socket)),
        Err(e) => return fail(err, verb, &e),
    };
    let path = opts.socket.display();
    let value = match serde_json::from_slice::<Value>(&answer.body) {
        Ok(v) if v.is_object() => v,
        Ok(_) => {
            return fail(
                err,
                verb,
                &format!("the answer from {path} is not a JSON object"),
            )
        }
        Err(e) => {
            return fail(
                err,
                verb,
                &format!("the answer from {path} is not JSON: {e}"),
            )
        }
    };
    if opts.json {
        let body = String::from_utf8_lossy(&answer.body);
        let newline = if body.ends_with('\n') { "" } else { "\n" };
        print(out, err, verb, &[&body, newline])
    } else {
        print(out, err, verb, &[&render(&value)])
    }
}

/// Writes `parts` to stdout and flushes it (vigil has no Rust runtime to
/// flush at exit): 0, or 2 with a line on stderr.
fn print(out: &mut dyn Write, err: &mut dyn Write, verb: Verb, parts: &[&str]) -> u8 {
    let written = parts
        .iter()
        .try_for_each(|p| out.write_all(p.as_bytes()))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => 0,
        Err(e) => fail(
            err,
            verb,
            &format!("cannot write to stdout: {}", reason(&e)),
        ),
    }
}

fn fail(err: &mut dyn Write, verb: Verb, message: &str) -> u8 {
    let _ = writeln!(err, "vigil {}: {message}", verb.name());
    CANNOT_ASK
}

struct Options {
    socket: PathBuf,
    json: bool,
}

enum Parsed {
    Run(Options),
    Help,
    Wrong(String),
}

/// `--socket PATH` (else `VIGIL_SOCKET`, else `/run/vigil.sock`), `--json`
/// for `status`, `-h`/`--help`.
fn parse(verb: Verb, args: Vec<OsString>, env: &dyn Fn(&str) -> Option<OsString>) -> Parsed {
    use lexopt::prelude::*;

    let mut socket = None;
    let mut opts = Options {
        socket: PathBuf::new(),
        json: false,
    };
    let mut parser = lexopt::Parser::from_args(args);
    loop {
        let arg = match parser.next() {
            Ok(Some(arg)) => arg,
            Ok(None) => break,
            Err(e) => return Parsed::Wrong(e.to_string()),
        };
        match arg {
            Short('h') | Long("help") => return Parsed::Help,
            Long("socket") => match parser.value() {
                Ok(v) if !v.is_empty() => socket = Some(PathBuf::from(v)),
                Ok(_) => return Parsed::Wrong("--socket needs a path".to_string()),
                Err(e) => return Parsed::Wrong(e.to_string()),
            },
            Long("json") if verb == Verb::Status => opts.json = true,
            other => return Parsed::Wrong(other.unexpected().to_string()),
        }
    }
    opts.socket = socket
        .or_else(|| {
            env("VIGIL_SOCKET")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    Parsed::Run(opts)
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A complete answer: its status and its body.
#[derive(Debug)]
struct Answer {
    status: u16,
    reason: String,
    body: Vec<u8>,
}

impl Answer {
    fn unexpected(&self, socket: &Path) -> String {
        let reason = sanitize(&self.reason);
        let status = format!("{} {reason}", self.status);
        format!(
            "unexpected answer from {}: {}",
            socket.display(),
            status.trim_end()
        )
    }
}

/// What the head said: where the body starts and how long it is.
struct Head {
    status: u16,
    reason: String,
    len: usize,
    content_length: Option<usize>,
}

/// Sends `request` to the socket and reads the answer, all within `DEADLINE`.
/// The error is the line to print (without the "vigil ready: ").
fn fetch(socket: &Path, request: &[u8]) -> Result<Answer, String> {
    let deadline = Instant::now() + DEADLINE;
    let path = socket.display();
    let stream = connect(socket).map_err(|e| {
        if timed_out(&e) {
            format!("cannot connect to {path}: timed out after 1s (its queue is full)")
        } else if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ECONNREFUSED)) {
            format!(
                "cannot connect to {path}: {} (is vigil running with --socket {path}?)",
                reason(&e)
            )
        } else {
            format!("cannot connect to {path}: {}", reason(&e))
        }
    })?;
    // The request is a few dozen bytes on a fresh connection: it fits at once.
    // No SIGPIPE if vigil already closed (vigil's own runtime does not ignore it).
    let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
    match socket::send(stream.as_raw_fd(), request, flags) {
        Ok(n) if n == request.len() => {}
        Ok(_) => return Err(format!("cannot send the request to {path}: a short write")),
        Err(e) => {
            let e = io::Error::from(e);
            return Err(format!("cannot send the request to {path}: {}", reason(&e)));
        }
    }
    read_answer(stream, deadline).map_err(|e| match e {
        ReadError::Io(e) if timed_out(&e) => format!("no answer from {path} within 1s"),
        ReadError::Io(e) => format!("cannot read the answer from {path}: {}", reason(&e)),
        ReadError::Closed(0) => format!("{path} closed the connection without answering"),
        ReadError::Closed(_) => format!("{path} closed the connection in the middle of its answer"),
        ReadError::TooLong => format!("the answer from {path} is over 1 MiB"),
        ReadError::HeadTooLong => format!("the answer from {path} has over 64 KiB of headers"),
        ReadError::Chunked => format!("the answer from {path} has a Transfer-Encoding"),
        ReadError::NotHttp(why) => format!("the answer from {path} is not HTTP ({why})"),
    })
}

/// A blocking Unix stream socket connected to `path`. Its `SO_SNDTIMEO`
/// bounds a connect that waits for room in the listener's backlog.
fn connect(path: &Path) -> io::Result<UnixStream> {
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let stream = UnixStream::from(fd);
    stream.set_write_timeout(Some(DEADLINE))?;
    let addr = UnixAddr::new(path)?;
    socket::connect(stream.as_raw_fd(), &addr)?;
    Ok(stream)
}

#[derive(Debug)]
enum ReadError {
    Io(io::Error),
    /// The peer closed before a complete answer, after this many bytes.
    Closed(usize),
    TooLong,
    HeadTooLong,
    Chunked,
    NotHttp(String),
}

/// Reads until the answer is complete: `Content-Length` bytes of body, or the
/// end of the connection when there is none.
fn read_answer(mut stream: UnixStream, deadline: Instant) -> Result<Answer, ReadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut head: Option<Head> = None;
    let head = loop {
        if let Some(h) = &head {
            if let Some(n) = h.content_length.filter(|n| buf.len() >= h.len + n) {
                buf.truncate(h.len + n);
                break head;
            }
        }
        // Each read may wait only for what is left of the deadline (one
        // read is the rule: vigil's answer comes whole).
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Io(io::ErrorKind::TimedOut.into()));
        }
        stream.set_read_timeout(Some(left)).map_err(ReadError::Io)?;
        if buf.len() == buf.capacity() {
            buf.reserve_exact(buf.len().min(MAX_ANSWER + 1 - buf.len()));
        }
        // Reading one byte past the limit tells 1 MiB from more.
        let start = buf.len();
        buf.resize(buf.capacity().min(MAX_ANSWER + 1), 0);
        let read = stream.read(&mut buf[start..]);
        buf.truncate(start + read.as_ref().map_or(0, |n| *n));
        match read {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
            // The end of the connection ends a body without a length.
            Ok(0) if head.as_ref().is_some_and(|h| h.content_length.is_none()) => break head,
            Ok(0) => return Err(ReadError::Closed(buf.len())),
            Ok(_) if buf.len() > MAX_ANSWER => return Err(ReadError::TooLong),
            Ok(_) if head.is_none() => head = parse_head(&buf)?,
            Ok(_) => {}
        }
    };
    let Some(head) = head else {
        return Err(ReadError::Closed(buf.len()));
    };
    buf.drain(..head.len);
    Ok(Answer {
        status: head.status,
        reason: head.reason,
        body: buf,
    })
}

/// The head, once it is complete; `None` while it is not.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(ReadError::HeadTooLong)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ReadError::NotHttp(e.to_string())),
    };
    let mut content_length = None;
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ReadError::Chunked);
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| ReadError::NotHttp("a bad Content-Length".to_string()))?;
            if n > MAX_ANSWER {
                return Err(ReadError::TooLong);
            }
            content_length = Some(n);
        }
    }
    Ok(Some(Head {
        status: response.code.unwrap_or(0),
        reason: response.reason.unwrap_or("").to_string(),
        len,
        content_length,
    }))
}

/// Text from vigil (or from the app, through a probe's output) made safe for
/// one line of a terminal: control characters are escaped.
fn sanitize(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// At most `MAX_REASON` characters of a reason, for one line of a terminal
/// or a Docker health log.
fn shortened(s: &str) -> String {
    const MAX_REASON: usize = 300;
    match s.char_indices().nth(MAX_REASON) {
        Some((end, _)) => format!("{}...", &s[..end]),
        None => s.to_string(),
    }
}

/// A value as a table cell: "-" when missing, null or empty.
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) if s.is_empty() => "-".to_string(),
        Value::String(s) => sanitize(s),
        Value::Bool(b) => yes_no(*b).to_string(),
        other => sanitize(&other.to_string()),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn ready_since(ready: &Value, since: &Value) -> String {
    match since {
        Value::Null => text(ready),
        since => format!("{} (since {})", text(ready), text(since)),
    }
}

/// `{"code": 1, "signal": null, "text": "exited with status 1"}` → its text.
fn last_exit(v: &Value) -> String {
    match (&v["text"], &v["code"], &v["signal"]) {
        (Value::String(t), _, _) if !t.is_empty() => sanitize(t),
        (_, _, Value::String(s)) => format!("killed by {}", sanitize(s)),
        (_, Value::Number(n), _) => format!("exited with status {n}"),
        _ => text(v),
    }
}

/// `{"ready": true, "status": "Serving 3 models"}` → "ready: Serving 3 models".
fn notify(v: &Value) -> String {
    let ready = match v["ready"] {
        Value::Bool(true) => "ready",
        Value::Bool(false) => "not ready",
        _ => "-",
    };
    match &v["status"] {
        Value::String(s) if !s.is_empty() => format!("{ready}: {}", sanitize(s)),
        _ => ready.to_string(),
    }
}

/// Rows as lines, each column but the last padded to its widest cell.
fn table<const N: usize>(rows: &[[String; N]], indent: &str) -> Vec<String> {
    let mut widths = [0; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = indent.to_string();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < N {
                    let pad = widths[i] - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line.truncate(line.trim_end().len());
            line
        })
        .collect()
}

const PROBES: [&str; 3] = ["startup", "liveness", "readiness"];

/// The `/status` document as the table `vigil status` prints.
fn render(status: &Value) -> String {
    let command = &status["command"];
    let mut about = vec![
        ["phase".to_string(), text(&status["phase"])],
        [
            "ready".into(),
            ready_since(&status["ready"], &status["since"]),
        ],
        ["live".into(), text(&status["live"])],
        ["started".into(), text(&status["started"])],
        ["pid".into(), text(&command["pid"])],
        ["started at".into(), text(&command["started_at"])],
        ["restarts".into(), text(&command["restarts"])],
        ["last exit".into(), last_exit(&command["last_exit"])],
    ];
    if status["notify"].is_object() {
        about.push(["notify".into(), notify(&status["notify"])]);
    }
    let mut lines = table(&about, "");

    let configured: Vec<(&str, &Value)> = PROBES
        .iter()
        .map(|&name| (name, &status["probes"][name]))
        .filter(|(_, probe)| !probe.is_null())
        .collect();
    lines.push(String::new());
    if configured.is_empty() {
        lines.push("no probes configured".to_string());
    } else {
        let mut rows = vec![[
            "probe",
            "handler",
            "target",
            "result",
            "consecutive",
            "attempts",
            "last message",
        ]
        .map(String::from)];
        for (name, probe) in &configured {
            let last = probe["last"].as_array().and_then(|a| a.last());
            rows.push([
                name.to_string(),
                text(&probe["handler"]),
                text(&probe["target"]),
                text(&probe["result"]),
                text(&probe["consecutive"]),
                text(&probe["attempts"]),
                last.map_or_else(|| "-".to_string(), |a| text(&a["message"])),
            ]);
        }
        lines.extend(table(&rows, ""));
    }
    for (name, probe) in &configured {
        if let Some(attempts) = probe["last"].as_array().filter(|a| !a.is_empty()) {
            lines.push(String::new());
            lines.push(format!("{name}, last attempts (newest last):"));
            lines.extend(attempt_lines(attempts));
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// One line per attempt (when, outcome, duration, message), its output under it.
fn attempt_lines(attempts: &[Value]) -> Vec<String> {
    let rows: Vec<[String; 4]> = attempts
        .iter()
        .map(|a| {
            let outcome = match a["success"] {
                Value::Bool(true) => "success".to_string(),
                Value::Bool(false) => "failure".to_string(),
                ref other => text(other),
            };
            let duration = match &a["duration_ms"] {
                Value::Number(n) => format!("{n}ms"),
                other => text(other),
            };
            [text(&a["at"]), outcome, duration, text(&a["message"])]
        })
        .collect();
    let mut lines = Vec::new();
    for (line, attempt) in table(&rows, "  ").into_iter().zip(attempts) {
        lines.push(line);
        if let Some(output) = attempt["output"].as_str().filter(|o| !o.is_empty()) {
            lines.push(format!("    output: {}", sanitize(output)));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ready_file::tests::Scratch;
    use std::os::unix::net::UnixListener;
    use std::sync::mpsc;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    /// A fake vigil's socket; `request` brings back what the client sent.
    struct Fake {
        dir: Scratch,
        path: PathBuf,
        request: mpsc::Receiver<Vec<u8>>,
    }

    /// A socket path where nothing listens.
    fn nobody() -> Fake {
        let dir = Scratch::new("client");
        let path = dir.0.join("vigil.sock");
        Fake {
            dir,
            path,
            request: mpsc::channel().1,
        }
    }

    /// A fake vigil: accepts one connection, reads the request, hands the
    /// connection to `answer`.
    fn serve(answer: impl FnOnce(UnixStream) + Send + 'static) -> Fake {
        let mut fake = nobody();
        let listener = UnixListener::bind(&fake.path).unwrap();
        let (tx, rx) = mpsc::channel();
        fake.request = rx;
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 256];
            while !request.ends_with(b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tx.send(request);
            answer(conn);
        });
        fake
    }

    /// A fake vigil that sends `bytes` and closes.
    fn canned(bytes: impl Into<Vec<u8>>) -> Fake {
        let bytes = bytes.into();
        serve(move |mut conn| {
            // The client may leave before reading it all (the 10 MiB case).
            let _ = conn.write_all(&bytes);
        })
    }

    impl Fake {
        /// `vigil VERB --socket PATH EXTRA...`: (exit status, stdout,
        /// stderr), with PATH written SOCK.
        fn run(&self, verb: Verb, extra: &[&str]) -> (u8, String, String) {
            let mut args = os(&["--socket"]);
            args.push(self.path.as_os_str().to_owned());
            args.extend(os(extra));
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = run(verb, args, &no_env, &mut out, &mut err);
            let path = self.path.display().to_string();
            let text = |b: Vec<u8>| String::from_utf8(b).unwrap().replace(&path, "SOCK");
            (code, text(out), text(err))
        }

        /// The stderr of a VERB that could not ask (exit 2, no stdout).
        fn cannot_ask(&self, verb: Verb, extra: &[&str]) -> String {
            let (code, out, err) = self.run(verb, extra);
            assert_eq!((code, out.as_str()), (2, ""), "{err}");
            err
        }
    }

    fn answer(status: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn ready_on_200_exits_0_silently_and_sends_the_documented_request() {
        let fake = canned(answer("200 OK", "ok\n"));
        assert_eq!(
            fake.run(Verb::Ready, &[]),
            (0, String::new(), String::new())
        );
        assert_eq!(
            fake.request.recv().unwrap(),
            b"GET /readyz HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn a_long_reason_is_one_short_line() {
        assert_eq!(shortened("short"), "short");
        let long = "é".repeat(1000);
        let got = shortened(&long);
        assert_eq!(got.chars().count(), 303);
        assert!(got.ends_with("..."));
    }

    #[test]
    fn ready_on_503_prints_the_reason_and_exits_1() {
        let why = "not ready: readiness probe failed 3 times in a row: HTTP probe failed with statuscode: 500 (http://127.0.0.1:8000/health)";
        for (reply, line) in [
            (answer("503 Service Unavailable", &format!("{why}\n")), why),
            // An empty body still says something.
            (answer("503 Service Unavailable", ""), "not ready"),
            // One line, control characters escaped.
            (
                answer("503 No", "not ready: \x1b[31mred\r\nsecond line"),
                "not ready: \\u{1b}[31mred",
            ),
            // Without a Content-Length the body ends with the connection.
            (
                "HTTP/1.1 503 Service Unavailable\r\n\r\nnot ready: draining\n".to_string(),
                "not ready: draining",
            ),
        ] {
            let expected = (1, String::new(), format!("vigil ready: {line}\n"));
            assert_eq!(canned(reply).run(Verb::Ready, &[]), expected);
        }
    }

    #[test]
    fn answers_that_say_nothing_of_readiness_exit_2() {
        let big = "x".repeat(10 * 1024 * 1024);
        let with_length = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{big}",
            big.len()
        );
        let without_length = format!("HTTP/1.1 200 OK\r\n\r\n{big}");
        for (reply, message) in [
            (
                answer("404 Not Found", "no such path\n").into_bytes(),
                "unexpected answer from SOCK: 404 Not Found",
            ),
            (
                b"HTTP/1.1 500\r\nContent-Length: 0\r\n\r\n".to_vec(),
                "unexpected answer from SOCK: 500",
            ),
            (
                b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec(),
                "the answer from SOCK is not HTTP (invalid HTTP version)",
            ),
            (
                vec![0; 64],
                "the answer from SOCK is not HTTP (invalid HTTP version)",
            ),
            (
                b"HTTP/1.1 200 OK\r\nX-\0: 1\r\n\r\n".to_vec(),
                "the answer from SOCK is not HTTP (invalid header name)",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n".to_vec(),
                "the answer from SOCK is not HTTP (a bad Content-Length)",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
                    .to_vec(),
                "the answer from SOCK has a Transfer-Encoding",
            ),
            (Vec::new(), "SOCK closed the connection without answering"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok\n".to_vec(),
                "SOCK closed the connection in the middle of its answer",
            ),
            (
                with_length.into_bytes(),
                "the answer from SOCK is over 1 MiB",
            ),
            (
                without_length.into_bytes(),
                "the answer from SOCK is over 1 MiB",
            ),
        ] {
            assert_eq!(
                canned(reply).cannot_ask(Verb::Ready, &[]),
                format!("vigil ready: {message}\n")
            );
        }
    }

    /// `answer` never completes an answer: the client gives up at its deadline.
    fn gives_up_within_the_deadline(answer: impl FnOnce(UnixStream) + Send + 'static) {
        let fake = serve(answer);
        let start = Instant::now();
        let err = fake.cannot_ask(Verb::Ready, &[]);
        // A bound on a hang, not a performance assertion.
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(err, "vigil ready: no answer from SOCK within 1s\n");
    }

    #[test]
    fn a_server_that_never_answers_times_out_within_the_deadline() {
        gives_up_within_the_deadline(|mut conn| {
            // Holds the connection open until the client leaves.
            let _ = conn.read_to_end(&mut Vec::new());
        });
    }

    #[test]
    fn a_server_that_trickles_is_bounded_by_the_same_deadline() {
        gives_up_within_the_deadline(|mut conn| {
            // A byte every 100 ms: each read gets something, the answer never ends.
            for b in answer("200 OK", &"x".repeat(100)).bytes() {
                if conn.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    }

    #[test]
    fn no_socket_names_the_path_and_the_reason() {
        let fake = nobody();
        assert_eq!(
            fake.cannot_ask(Verb::Ready, &[]),
            "vigil ready: cannot connect to SOCK: No such file or directory (is vigil running with --socket SOCK?)\n"
        );
        std::fs::write(&fake.path, "").unwrap();
        assert_eq!(
            fake.cannot_ask(Verb::Status, &[]),
            "vigil status: cannot connect to SOCK: Connection refused (is vigil running with --socket SOCK?)\n"
        );
        let long = Fake {
            path: fake.dir.0.join("x".repeat(108)),
            ..fake
        };
        assert_eq!(
            long.cannot_ask(Verb::Ready, &[]),
            "vigil ready: cannot connect to SOCK: File name too long\n"
        );
    }

    #[test]
    fn arguments() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run(Verb::Ready, os(&["--help"]), &no_env, &mut out, &mut err),
            0
        );
        assert!(String::from_utf8(out).unwrap().starts_with(READY_USAGE));
        assert!(err.is_empty());

        for (args, message) in [
            (&["--json"][..], "invalid option '--json'"),
            (&["extra"][..], "unexpected argument \"extra\""),
            (&["--socket"][..], "missing argument for option '--socket'"),
            (&["--socket="][..], "--socket needs a path"),
        ] {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            assert_eq!(run(Verb::Ready, os(args), &no_env, &mut out, &mut err), 2);
            assert!(out.is_empty());
            assert_eq!(
                String::from_utf8(err).unwrap(),
                format!("vigil ready: {message} (usage: vigil ready [--socket PATH])\n")
            );
        }

        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run(Verb::Status, os(&["-h"]), &no_env, &mut out, &mut err),
            0
        );
        assert!(String::from_utf8(out).unwrap().starts_with(STATUS_USAGE));

        let socket = |args: &[&str], env: &dyn Fn(&str) -> Option<OsString>| match parse(
            Verb::Status,
            os(args),
            env,
        ) {
            Parsed::Run(o) => (o.socket, o.json),
            _ => panic!("{args:?} did not parse"),
        };
        let set = |name: &str| (name == "VIGIL_SOCKET").then(|| OsString::from("/env.sock"));
        let empty = |name: &str| (name == "VIGIL_SOCKET").then(OsString::new);
        assert_eq!(
            socket(&[], &no_env),
            (PathBuf::from("/run/vigil.sock"), false)
        );
        assert_eq!(
            socket(&[], &empty),
            (PathBuf::from("/run/vigil.sock"), false)
        );
        assert_eq!(
            socket(&["--json"], &set),
            (PathBuf::from("/env.sock"), true)
        );
        assert_eq!(
            socket(&["--socket=/flag.sock"], &set),
            (PathBuf::from("/flag.sock"), false)
        );
    }

    /// The example of docs/status-socket.md, as it stands there.
    const EXAMPLE: &str = r#"{
  "version": "0.1.0",
  "phase": "running",
  "ready": false,
  "live": true,
  "started": true,
  "since": "2026-11-30T03:20:01.123Z",
  "command": {
    "pid": 12,
    "started_at": "2026-11-30T03:19:58.002Z",
    "restarts": 0,
    "last_exit": null
  },
  "notify": null,
  "probes": {
    "startup": null,
    "liveness": {
      "handler": "http_get",
      "target": "http://127.0.0.1:8000/health",
      "result": "success",
      "consecutive": 12,
      "attempts": 12,
      "last": [
        {"at": "2026-11-30T03:20:10.001Z", "duration_ms": 0.4, "success": true,
         "message": "HTTP probe succeeded with statuscode: 200", "output": "ok"}
      ]
    },
    "readiness": { "...": "as liveness" }
  },
  "counters": {"reaped": 0, "signals_forwarded": 1, "status_requests": 3}
}"#;

    const EXAMPLE_TABLE: &str = "\
phase       running
ready       no (since 2026-11-30T03:20:01.123Z)
live        yes
started     yes
pid         12
started at  2026-11-30T03:19:58.002Z
restarts    0
last exit   -

probe      handler   target                        result   consecutive  attempts  last message
liveness   http_get  http://127.0.0.1:8000/health  success  12           12        HTTP probe succeeded with statuscode: 200
readiness  -         -                             -        -            -         -

liveness, last attempts (newest last):
  2026-11-30T03:20:10.001Z  success  0.4ms  HTTP probe succeeded with statuscode: 200
    output: ok
";

    #[test]
    fn status_renders_the_documented_example() {
        let value: Value = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(render(&value), EXAMPLE_TABLE);
    }

    #[test]
    fn status_renders_what_is_there_and_dashes_for_the_rest() {
        let value = serde_json::json!({
            "phase": "backing-off",
            "ready": false,
            "command": {"pid": null, "restarts": 3,
                        "last_exit": {"code": 137, "signal": "SIGKILL", "text": "killed by SIGKILL"}},
            "notify": {"ready": true, "status": "Serving 3 models"},
            "probes": {"startup": {"handler": "exec", "target": "cat /tmp/up",
                "result": "failure", "consecutive": 2, "attempts": 5,
                "last": [
                    {"at": "t1", "duration_ms": 12, "success": false, "message": "exit status 1",
                     "output": "no\nfile\u{1b}"},
                    {"at": "t2", "success": false, "message": "timed out after 1s"}
                ]}}
        });
        let expected = "\
phase       backing-off
ready       no
live        -
started     -
pid         -
started at  -
restarts    3
last exit   killed by SIGKILL
notify      ready: Serving 3 models

probe    handler  target       result   consecutive  attempts  last message
startup  exec     cat /tmp/up  failure  2            5         timed out after 1s

startup, last attempts (newest last):
  t1  failure  12ms  exit status 1
    output: no\\nfile\\u{1b}
  t2  failure  -     timed out after 1s
";
        assert_eq!(render(&value), expected);
        assert_eq!(
            render(&serde_json::json!({})),
            "phase       -\nready       -\nlive        -\nstarted     -\npid         -\n\
             started at  -\nrestarts    -\nlast exit   -\n\nno probes configured\n"
        );
    }

    #[test]
    fn status_over_the_socket_table_and_json() {
        let fake = canned(answer("200 OK", EXAMPLE));
        assert_eq!(
            fake.run(Verb::Status, &[]),
            (0, EXAMPLE_TABLE.to_string(), String::new())
        );
        assert_eq!(
            fake.request.recv().unwrap(),
            b"GET /status HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n"
        );
        let expected = (0, format!("{EXAMPLE}\n"), String::new());
        assert_eq!(
            canned(answer("200 OK", EXAMPLE)).run(Verb::Status, &["--json"]),
            expected
        );
    }

    #[test]
    fn status_needs_a_200_with_a_json_object() {
        for (reply, message) in [
            (
                answer("200 OK", "ok\n"),
                "the answer from SOCK is not JSON: expected value at line 1 column 1",
            ),
            (
                answer("200 OK", "[]"),
                "the answer from SOCK is not a JSON object",
            ),
            (
                answer("503 Service Unavailable", "not ready\n"),
                "unexpected answer from SOCK: 503 Service Unavailable",
            ),
        ] {
            for extra in [&[][..], &["--json"]] {
                assert_eq!(
                    canned(reply.clone()).cannot_ask(Verb::Status, extra),
                    format!("vigil status: {message}\n")
                );
            }
        }
    }
}
