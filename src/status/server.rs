//! The status socket: a Unix stream listener and at most `MAX_CONNECTIONS`
//! connections, all non-blocking on the event loop's poll. Every input and
//! output is bounded, a connection that does not send a whole request in
//! `REQUEST_TIMEOUT` is closed, and nothing waits: a client can slow nothing.

use super::events::missed_line;
use super::http::{self, Method, Parsed, Request, Response, EVENTS_HEAD, MAX_HEAD};
use super::record::Record;
use super::render::{self, Check};
use crate::supervisor::Supervisor;
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Connections served at once; the next is accepted and closed.
pub(crate) const MAX_CONNECTIONS: usize = 128;
/// How long a connection may take to send a whole request.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Output a client may leave unread before it is dropped.
pub(crate) const MAX_PENDING: usize = 64 * 1024;
/// Requests of one connection answered in one go: a client pipelining
/// hundreds waits for the next turn, and the loop's timers with it do not.
const REQUESTS_PER_TURN: usize = 4;
/// `/events` streams at once: the rest of the connections stay for short requests.
pub(crate) const MAX_STREAMS: usize = 32;
/// Input a streaming (`/events`) client may send; it has nothing to say.
const MAX_STREAM_INPUT: usize = 4 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Waiting for a request, until the deadline.
    Reading { deadline: Instant },
    /// A response is being written, until the deadline; then the connection
    /// closes or reads again.
    Responding { close: bool, deadline: Instant },
    /// `/events`: lines are appended as changes happen, until the client leaves.
    Streaming,
}

struct Conn {
    stream: UnixStream,
    input: Vec<u8>,
    output: Vec<u8>,
    mode: Mode,
}

pub(crate) struct Server {
    listener: UnixListener,
    path: PathBuf,
    conns: Vec<Option<Conn>>,
    /// `MAX_CONNECTIONS`, or fewer under a low `ulimit -n`.
    max_conns: usize,
}

/// Descriptors kept for everything but the socket's clients: the loop's
/// own, three probe attempts, a spawn's pipe, the log.
const FD_RESERVE: u64 = 32;

/// How many connections fit under the open files limit `limit`: the probes
/// must never run out of descriptors because of the socket's clients.
pub(crate) fn max_connections(limit: Option<u64>) -> usize {
    match limit {
        None => MAX_CONNECTIONS,
        Some(n) => (n.saturating_sub(FD_RESERVE) as usize).min(MAX_CONNECTIONS),
    }
}

/// The socket's file: its directory made, a stale socket replaced, a live
/// one refused, its mode and (`--socket-group`) group set. Errors name the
/// path and the reason (exit 2 at start-up).
pub(crate) fn bind(path: &Path, mode: u32, group: Option<u32>) -> Result<UnixListener, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(|e| {
                fail(
                    &format!("cannot create the directory {}", dir.display()),
                    &e,
                )
            })?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(fail(
                    "another process answers on this socket (is another vigil running?)",
                    &"refusing to replace it",
                ));
            }
            std::fs::remove_file(path).map_err(|e| fail("cannot remove the stale socket", &e))?;
        }
        Ok(_) => {
            return Err(fail(
                "exists and is not a socket",
                &"refusing to replace it",
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail("cannot inspect the path", &e)),
    }
    let listener = UnixListener::bind(path).map_err(|e| fail("cannot listen", &e))?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid))
            .map_err(|e| fail(&format!("cannot give it to group {gid}"), &e))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| fail("cannot set its mode", &e))?;
    Ok(listener)
}

/// What the server needs from the rest of vigil to answer.
pub(crate) struct Context<'a> {
    pub supervisor: &'a Supervisor,
    pub record: &'a mut Record,
}

impl Server {
    pub(crate) fn new(listener: UnixListener, path: PathBuf, max_conns: usize) -> Server {
        Server {
            listener,
            path,
            conns: Vec::new(),
            max_conns,
        }
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.listener, token, Interest::READABLE)
    }

    /// Accepts at most `max` waiting connections; returns the slots that got
    /// one, and whether more may wait (`max` were taken).
    pub(crate) fn accept(
        &mut self,
        registry: &Registry,
        token: impl Fn(usize) -> Token,
        now: Instant,
        record: &mut Record,
        max: usize,
    ) -> (Vec<usize>, bool) {
        let mut accepted = Vec::new();
        for _ in 0..max {
            let mut stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock, or out of descriptors: try again on the next connection.
                Err(_) => return (accepted, false),
            };
            let free = self.conns.iter().position(Option::is_none);
            let slot = match free {
                Some(slot) => slot,
                None if self.conns.len() < self.max_conns => {
                    self.conns.push(None);
                    self.conns.len() - 1
                }
                None => {
                    record.metrics.connections_refused += 1;
                    continue; // dropped: closed at once
                }
            };
            if registry
                .register(
                    &mut stream,
                    token(slot),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .is_err()
            {
                continue;
            }
            self.conns[slot] = Some(Conn {
                stream,
                input: Vec::new(),
                output: Vec::new(),
                mode: Mode::Reading {
                    deadline: now + REQUEST_TIMEOUT,
                },
            });
            accepted.push(slot);
        }
        (accepted, true)
    }

    /// When the connection in `slot` must have sent its request, or taken
    /// its answer, if it must.
    pub(crate) fn deadline(&self, slot: usize) -> Option<Instant> {
        match self.conns.get(slot)?.as_ref()?.mode {
            Mode::Reading { deadline } | Mode::Responding { deadline, .. } => Some(deadline),
            Mode::Streaming => None,
        }
    }

    /// The connection's deadline passed: closed if it still has not sent its
    /// request or taken its answer.
    pub(crate) fn on_deadline(&mut self, slot: usize, registry: &Registry, now: Instant) {
        if self.deadline(slot).is_some_and(|d| d <= now) {
            self.close(slot, registry);
        }
    }

    /// The connection in `slot` can be read or written; true when it has
    /// more to do at once (it stopped after `REQUESTS_PER_TURN` requests).
    pub(crate) fn on_ready(
        &mut self,
        slot: usize,
        registry: &Registry,
        ctx: Context<'_>,
        now: Instant,
    ) -> bool {
        let streams = self
            .conns
            .iter()
            .flatten()
            .filter(|c| c.mode == Mode::Streaming)
            .count();
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return false;
        };
        match serve(conn, ctx, streams, now) {
            Ok(more) => more,
            Err(Closed) => {
                self.close(slot, registry);
                false
            }
        }
    }

    /// Appends an event line to every `/events` stream; a client whose unread
    /// output would pass `MAX_PENDING` is dropped.
    pub(crate) fn broadcast(&mut self, line: &str, registry: &Registry, record: &mut Record) {
        for slot in 0..self.conns.len() {
            let Some(conn) = self.conns[slot].as_mut() else {
                continue;
            };
            if conn.mode != Mode::Streaming {
                continue;
            }
            if conn.output.len() + line.len() > MAX_PENDING {
                record.metrics.events_dropped += 1;
                self.close(slot, registry);
                continue;
            }
            conn.output.extend_from_slice(line.as_bytes());
            if flush(conn).is_err() {
                self.close(slot, registry);
            }
        }
    }

    fn close(&mut self, slot: usize, registry: &Registry) {
        if let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) {
            let _ = registry.deregister(&mut conn.stream);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_files_limit_bounds_the_connections() {
        let cases = [
            (None, MAX_CONNECTIONS),
            (Some(1_048_576), MAX_CONNECTIONS),
            (Some(160), MAX_CONNECTIONS),
            (Some(100), 68),
            (Some(40), 8),
            (Some(20), 0),
        ];
        for (limit, want) in cases {
            assert_eq!(max_connections(limit), want, "{limit:?}");
        }
    }
}

#[derive(Debug)]
struct Closed;

impl From<io::Error> for Closed {
    fn from(_: io::Error) -> Closed {
        Closed
    }
}

/// Writes what is pending; `Ok(true)` once all is out.
fn flush(conn: &mut Conn) -> Result<bool, Closed> {
    while !conn.output.is_empty() {
        match conn.stream.write(&conn.output) {
            Ok(0) => return Err(Closed),
            Ok(n) => {
                conn.output.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Closed),
        }
    }
    Ok(true)
}

/// Reads what the client sent, up to `limit` bytes held; `Err` once it left.
fn fill(conn: &mut Conn, limit: usize) -> Result<(), Closed> {
    let mut buf = [0u8; 2048];
    while conn.input.len() < limit {
        match conn.stream.read(&mut buf) {
            Ok(0) => return Err(Closed),
            Ok(n) => conn.input.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Closed),
        }
    }
    Ok(())
}

/// Moves the connection on as far as it can go without waiting, answering at
/// most `REQUESTS_PER_TURN` requests; `Ok(true)`: it stopped there.
fn serve(conn: &mut Conn, ctx: Context<'_>, streams: usize, now: Instant) -> Result<bool, Closed> {
    let mut answered = 0;
    loop {
        match conn.mode {
            Mode::Responding { close, .. } => {
                if !flush(conn)? {
                    return Ok(false);
                }
                if close {
                    return Err(Closed);
                }
                conn.mode = Mode::Reading {
                    deadline: now + REQUEST_TIMEOUT,
                };
            }
            Mode::Streaming => {
                flush(conn)?;
                // Nothing is expected from the client but its leaving.
                fill(conn, MAX_STREAM_INPUT)?;
                if conn.input.len() >= MAX_STREAM_INPUT {
                    return Err(Closed);
                }
                conn.input.clear();
                return Ok(false);
            }
            Mode::Reading { .. } => {
                // Input already held (a pipelined request) is parsed first;
                // a client that left after sending a request is still answered.
                let left = fill(conn, MAX_HEAD + 1).is_err();
                match http::parse(&conn.input) {
                    Parsed::Incomplete if left => return Err(Closed),
                    Parsed::Incomplete => return Ok(false),
                    Parsed::TooLarge => reply(conn, 431, "request head too large\n", false, false),
                    Parsed::Bad => reply(conn, 400, "bad request\n", false, false),
                    Parsed::Request(req, len) => {
                        conn.input.drain(..len);
                        if crate::log::enabled(crate::log::Level::Debug) {
                            log_request(&conn.stream, &req);
                        }
                        ctx.record.metrics.status_requests += 1;
                        answer(conn, &req, &ctx, streams, left);
                        answered += 1;
                        if answered == REQUESTS_PER_TURN {
                            flush(conn)?;
                            return Ok(true);
                        }
                    }
                }
            }
        }
    }
}

/// The debug line of a request: what was asked, and who asked (the peer's
/// pid and uid, SO_PEERCRED), so an operator can see which agent reads the
/// socket. Off the idle path: only at `-vvv`.
#[cold]
#[inline(never)]
fn log_request(stream: &UnixStream, req: &Request) {
    let method = match req.method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Other => "(other method)",
    };
    match crate::sys::socket::peer_credentials(stream) {
        Ok((pid, uid)) => {
            crate::log::debug!("status: {method} {} from pid {pid} uid {uid}", req.path)
        }
        Err(e) => crate::log::debug!("status: {method} {} from an unknown peer: {e}", req.path),
    }
}

/// The answer is in the output: the client has `REQUEST_TIMEOUT` to take it.
fn respond(conn: &mut Conn, close: bool) {
    conn.mode = Mode::Responding {
        close,
        deadline: Instant::now() + REQUEST_TIMEOUT,
    };
}

fn reply(conn: &mut Conn, status: u16, body: &str, keep_alive: bool, head_only: bool) {
    let content_type = "text/plain; charset=utf-8";
    reply_typed(conn, status, content_type, body, keep_alive, head_only);
}

fn reply_typed(
    conn: &mut Conn,
    status: u16,
    content_type: &str,
    body: &str,
    keep_alive: bool,
    head_only: bool,
) {
    Response {
        status,
        content_type,
        body,
        keep_alive,
        head_only,
    }
    .write(&mut conn.output);
    respond(conn, !keep_alive);
}

/// Routes one request; the answer goes to the connection's output.
/// `streams`: the `/events` streams open now.
fn answer(conn: &mut Conn, req: &Request, ctx: &Context<'_>, streams: usize, left: bool) {
    let (supervisor, record) = (ctx.supervisor, &*ctx.record);
    let keep = req.keep_alive && !left;
    let head = req.method == Method::Head;
    if req.method == Method::Other {
        return reply(conn, 405, "only GET and HEAD\n", keep, false);
    }
    let check = match req.path.as_str() {
        "/readyz" => Some(Check::Ready),
        "/livez" => Some(Check::Live),
        "/startupz" => Some(Check::Started),
        _ => None,
    };
    if let Some(check) = check {
        let verbose = http::query_value(&req.query, "verbose").is_some();
        let (status, body) = render::health(&supervisor.status(), record, check, verbose);
        return reply(conn, status, &body, keep, head);
    }
    match req.path.as_str() {
        "/status" => {
            let body = render::status_json(&supervisor.status(), record);
            reply_typed(conn, 200, "application/json", &body, keep, head);
        }
        "/metrics" => {
            let body = render::metrics(&supervisor.status(), record);
            let content_type = "text/plain; version=0.0.4; charset=utf-8";
            reply_typed(conn, 200, content_type, &body, keep, head);
        }
        "/events" if head => {
            conn.output.extend_from_slice(EVENTS_HEAD);
            respond(conn, true);
        }
        "/events" if streams >= MAX_STREAMS => {
            let body = format!("too many /events streams (at most {MAX_STREAMS})\n");
            reply(conn, 503, &body, false, false);
        }
        "/events" => {
            let since = match http::query_value(&req.query, "since").map(str::parse::<u64>) {
                Some(Err(_)) => {
                    let body = "since: expected a sequence number (0, 1, ...)\n";
                    return reply(conn, 400, body, keep, false);
                }
                Some(Ok(n)) => Some(n),
                None => None,
            };
            conn.output.extend_from_slice(EVENTS_HEAD);
            if let Some(since) = since {
                let replay = record.history.since(since);
                if let Some((from, to)) = replay.missed {
                    conn.output
                        .extend_from_slice(missed_line(from, to).as_bytes());
                }
                for line in replay.lines {
                    conn.output.extend_from_slice(line.as_bytes());
                }
            }
            conn.mode = Mode::Streaming;
        }
        _ => reply(
            conn,
            404,
            "not found: try /readyz, /livez, /startupz, /status, /metrics or /events\n",
            keep,
            head,
        ),
    }
}
