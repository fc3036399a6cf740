//! The network attempts, non-blocking on the event loop: a TCP connect
//! (`tcp_socket`) and an HTTP GET (`http_get`) over a fresh connection. Each
//! is a small state machine driven by readiness events; the runner bounds the
//! whole attempt by the probe's timeout.
//!
//! An attempt costs few system calls: the runner tries it as far as it goes
//! right after the connect (on loopback the connect has finished when it
//! returns, so an `http_get` sends its request at once and a `tcp_socket` is
//! done), registers the socket with the loop only if it must wait, never
//! deregisters it (closing the socket removes it from epoll), and does not read
//! again after a short read unless the peer closed (a later arrival is a new
//! edge-triggered event).

use super::http_response::{Progress, Response, ResponseReader};
use super::outcome::NetEvidence;
use super::plan::HttpPlan;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How a probe socket closes: after a complete exchange with a plain close
/// (the kernel finishes the FIN handshake in the background), after a timeout
/// or error with an immediate reset. The kubelet sets a 1 s linger instead
/// (kubelet #89898), but on Linux a lingering close() blocks until the peer
/// acknowledges, even on a non-blocking socket: with one thread that would
/// stall every signal, reap and probe behind a slow peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Close {
    Graceful,
    Reset,
}

/// No deregistration: closing the socket's only descriptor (probe sockets are
/// close-on-exec, so no spawned child keeps one) removes it from epoll.
pub(crate) fn close(stream: TcpStream, how: Close) {
    if how == Close::Reset {
        let _ = crate::sys::socket::set_linger(&stream, Some(Duration::ZERO));
    }
    drop(stream);
}

/// Starts a non-blocking connect; readiness for writing says it finished.
pub(crate) fn connect(
    registry: &Registry,
    token: Token,
    addr: SocketAddr,
) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr)?;
    registry.register(&mut stream, token, Interest::WRITABLE | Interest::READABLE)?;
    Ok(stream)
}

/// Whether the connect has finished: `Ok(true)` connected, `Ok(false)` not
/// yet. A connected socket has a peer (one system call); only one without
/// is asked for the connect's error.
pub(crate) fn connected(stream: &TcpStream) -> io::Result<bool> {
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e)
            if e.kind() == io::ErrorKind::NotConnected
                || e.raw_os_error() == Some(libc::EINPROGRESS) =>
        {
            match stream.take_error()? {
                Some(err) => Err(err),
                None => Ok(false),
            }
        }
        Err(e) => Err(e),
    }
}

/// Whether an error of the first write says the connection had been made
/// (and then reset or shut) rather than that the connect failed: a reset
/// in SYN_SENT is ECONNREFUSED, after it ECONNRESET or EPIPE.
fn made_then_lost(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ECONNRESET | libc::EPIPE))
}

/// "connection refused", "no route to host": the kernel's words, lower case.
pub(crate) fn describe_io(e: &io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s);
    // The kernel's messages are ASCII ("Connection refused").
    let mut out = s.to_string();
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_lowercase();
    }
    out
}

#[derive(Debug)]
enum Phase {
    /// The connect may still run: the first write tells (EAGAIN: not yet).
    Connecting,
    Writing {
        sent: usize,
    },
    Reading,
}

/// When an exchange reached each phase (the loop's clock at the readiness
/// event that got it there: no clock read of its own), and the response's
/// first two bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Marks {
    pub connected: Option<Instant>,
    pub sent: Option<Instant>,
    pub first_byte: Option<Instant>,
    pub last_byte: Option<Instant>,
    pub lead: [u8; 2],
}

impl Marks {
    /// The marks as evidence, counted from `started`.
    pub(crate) fn evidence(&self, started: Instant) -> NetEvidence {
        let since = |t: Option<Instant>| t.map(|t| t.saturating_duration_since(started));
        NetEvidence {
            connected: since(self.connected),
            sent: since(self.sent),
            first_byte: since(self.first_byte),
            last_byte: since(self.last_byte),
            lead: self.lead,
            status: 0,
            www_authenticate: false,
            timed_out: false,
        }
    }
}

/// One HTTP exchange on one connection.
#[derive(Debug)]
pub(crate) struct HttpExchange {
    pub stream: TcpStream,
    phase: Phase,
    /// The request bytes, shared with the probe's plan (built once).
    request: Rc<[u8]>,
    reader: ResponseReader,
    pub marks: Marks,
}

/// What woke an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Its start, right after the connect: as far as it goes without reading.
    Start,
    /// A readiness event; `closed`: the peer closed or the socket has an
    /// error (read on to the end even after a short read).
    Ready { closed: bool },
}

/// Bytes read at once.
const READ_SIZE: usize = 4096;

/// What an HTTP exchange came to.
#[derive(Debug)]
pub(crate) enum HttpStep {
    Pending,
    Response(Response),
    Failed(String),
}

impl HttpExchange {
    /// Starts an exchange registered under `token` at once (a diagnosis' check).
    pub(crate) fn start(
        registry: &Registry,
        token: Token,
        plan: &HttpPlan,
    ) -> io::Result<HttpExchange> {
        let stream = connect(registry, token, plan.addr)?;
        Ok(HttpExchange::on(stream, plan.request().into()))
    }

    /// Starts the connect without registering it: the caller advances it
    /// with `Wake::Start` and registers it for `interest()` if it must wait.
    pub(crate) fn unregistered(addr: SocketAddr, request: Rc<[u8]>) -> io::Result<HttpExchange> {
        Ok(HttpExchange::on(TcpStream::connect(addr)?, request))
    }

    fn on(stream: TcpStream, request: Rc<[u8]>) -> HttpExchange {
        HttpExchange {
            stream,
            phase: Phase::Connecting,
            request,
            reader: ResponseReader::new(),
            marks: Marks::default(),
        }
    }

    /// What the exchange waits for: writing until the request is out.
    pub(crate) fn interest(&self) -> Interest {
        match self.phase {
            Phase::Reading => Interest::READABLE,
            _ => Interest::READABLE | Interest::WRITABLE,
        }
    }

    /// Where the exchange is, for a timeout message.
    pub(crate) fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::Connecting => "while connecting",
            Phase::Writing { .. } => "while sending the request",
            Phase::Reading => "while awaiting the response",
        }
    }

    /// Advances on a readiness event (seen at `now`) as far as the socket allows.
    pub(crate) fn advance(&mut self, now: Instant) -> HttpStep {
        self.step(now, Wake::Ready { closed: true })
    }

    /// Advances as far as the socket allows; see `Wake`.
    pub(crate) fn step(&mut self, now: Instant, wake: Wake) -> HttpStep {
        loop {
            match self.phase {
                // The write is the connect's test: it fails with the
                // connect's error, waits (EAGAIN) while it runs.
                Phase::Connecting => match self.stream.write(&self.request) {
                    Ok(n) => {
                        self.marks.connected = Some(now);
                        self.phase = Phase::Writing { sent: 0 };
                        self.wrote(n, now);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return HttpStep::Pending,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if made_then_lost(&e) => {
                        self.marks.connected = Some(now);
                        return HttpStep::Failed(format!(
                            "sending the request: {}",
                            describe_io(&e)
                        ));
                    }
                    Err(e) => return HttpStep::Failed(describe_io(&e)),
                },
                Phase::Writing { sent } => match self.stream.write(&self.request[sent..]) {
                    Ok(n) => self.wrote(n, now),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return HttpStep::Pending,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return HttpStep::Failed(format!(
                            "sending the request: {}",
                            describe_io(&e)
                        ))
                    }
                },
                // The response comes after a round trip: not looked for at the start.
                Phase::Reading if wake == Wake::Start => return HttpStep::Pending,
                Phase::Reading => {
                    let mut buf = [MaybeUninit::<u8>::uninit(); READ_SIZE];
                    let mut drained = false;
                    let progress = match crate::sys::socket::recv(&self.stream, &mut buf) {
                        Ok([]) => self.reader.eof(),
                        Ok(got) => {
                            if self.marks.first_byte.is_none() {
                                self.marks.first_byte = Some(now);
                                self.marks.lead = [got[0], got.get(1).copied().unwrap_or(0)];
                            }
                            // A short read took all there was: what comes
                            // later is a new event, unless the peer closed.
                            drained =
                                got.len() < READ_SIZE && wake == Wake::Ready { closed: false };
                            self.reader.feed(got)
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return HttpStep::Pending
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            return HttpStep::Failed(format!(
                                "reading the response: {}",
                                describe_io(&e)
                            ))
                        }
                    };
                    match progress {
                        Progress::NeedMore if drained => return HttpStep::Pending,
                        Progress::NeedMore => {}
                        Progress::Done(r) => {
                            self.marks.last_byte = Some(now);
                            return HttpStep::Response(r);
                        }
                        Progress::Failed(why) => return HttpStep::Failed(why),
                    }
                }
            }
        }
    }
}

impl HttpExchange {
    /// `n` more bytes of the request went out.
    fn wrote(&mut self, n: usize, now: Instant) {
        let Phase::Writing { sent } = self.phase else {
            return;
        };
        if sent + n == self.request.len() {
            self.marks.sent = Some(now);
            self.phase = Phase::Reading;
        } else {
            self.phase = Phase::Writing { sent: sent + n };
        }
    }
}

/// Where a redirect leads, if it is one the kubelet follows: a relative
/// location, or an absolute `http://` URL on the same host name. Returns
/// (host, port, path); `None` means: do not follow.
pub(crate) fn redirect_target(current: &HttpPlan, location: &str) -> Option<(String, u16, String)> {
    if location.starts_with('/') && !location.starts_with("//") {
        return Some((
            current.host.clone(),
            current.addr.port(),
            location.to_string(),
        ));
    }
    let rest = location.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (
            h,
            after
                .strip_prefix(':')
                .map_or(Some(80), |p| p.parse().ok())?,
        )
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, 80),
        }
    };
    (host.eq_ignore_ascii_case(&current.host)).then(|| (host.to_string(), port, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> HttpPlan {
        HttpPlan {
            addr: "10.0.0.5:8000".parse().unwrap(),
            host: "10.0.0.5".into(),
            path: "/".into(),
            headers: vec![],
        }
    }

    #[test]
    fn which_redirects_are_followed() {
        type Target<'a> = Option<(&'a str, u16, &'a str)>;
        let table: &[(&str, Target)] = &[
            ("/healthz", Some(("10.0.0.5", 8000, "/healthz"))),
            ("http://10.0.0.5:8000/ok", Some(("10.0.0.5", 8000, "/ok"))),
            ("http://10.0.0.5:9000/ok", Some(("10.0.0.5", 9000, "/ok"))),
            ("http://10.0.0.5", Some(("10.0.0.5", 80, "/"))),
            ("http://10.0.0.6:8000/ok", None),
            ("https://10.0.0.5:8443/ok", None),
            ("//10.0.0.5/ok", None),
            ("healthz", None),
            ("http://10.0.0.5:xx/ok", None),
        ];
        for (loc, want) in table {
            let got = redirect_target(&plan(), loc);
            let want = want.map(|(h, p, path)| (h.to_string(), p, path.to_string()));
            assert_eq!(got, want, "{loc}");
        }
    }

    #[test]
    fn io_errors_read_like_the_kernel() {
        let e = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(describe_io(&e), "connection refused");
    }
}
