//! The network attempts, non-blocking on the event loop: a TCP connect
//! (`tcp_socket`) and an HTTP GET (`http_get`) over a fresh connection. Each
//! is a small state machine driven by readiness events; the runner bounds the
//! whole attempt by the probe's timeout.

use super::http_response::{Progress, Response, ResponseReader};
use super::outcome::NetEvidence;
use super::plan::HttpPlan;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
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

pub(crate) fn close(registry: &Registry, mut stream: TcpStream, how: Close) {
    let _ = registry.deregister(&mut stream);
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

/// Whether the connect has finished: `Ok(true)` connected, `Ok(false)` not yet.
pub(crate) fn connected(stream: &TcpStream) -> io::Result<bool> {
    if let Some(err) = stream.take_error()? {
        return Err(err);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
        Err(e) => Err(e),
    }
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
    Connecting,
    Writing { sent: usize },
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
        }
    }
}

/// One HTTP exchange on one connection.
#[derive(Debug)]
pub(crate) struct HttpExchange {
    pub stream: TcpStream,
    phase: Phase,
    request: Vec<u8>,
    reader: ResponseReader,
    pub marks: Marks,
}

/// What an HTTP exchange came to.
#[derive(Debug)]
pub(crate) enum HttpStep {
    Pending,
    Response(Response),
    Failed(String),
}

impl HttpExchange {
    pub(crate) fn start(
        registry: &Registry,
        token: Token,
        plan: &HttpPlan,
    ) -> io::Result<HttpExchange> {
        Ok(HttpExchange {
            stream: connect(registry, token, plan.addr)?,
            phase: Phase::Connecting,
            request: plan.request(),
            reader: ResponseReader::new(),
            marks: Marks::default(),
        })
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
        loop {
            match self.phase {
                Phase::Connecting => match connected(&self.stream) {
                    Ok(true) => {
                        self.marks.connected = Some(now);
                        self.phase = Phase::Writing { sent: 0 }
                    }
                    Ok(false) => return HttpStep::Pending,
                    Err(e) => return HttpStep::Failed(describe_io(&e)),
                },
                Phase::Writing { sent } => match self.stream.write(&self.request[sent..]) {
                    Ok(n) if sent + n == self.request.len() => {
                        self.marks.sent = Some(now);
                        self.phase = Phase::Reading
                    }
                    Ok(n) => self.phase = Phase::Writing { sent: sent + n },
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return HttpStep::Pending,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return HttpStep::Failed(format!(
                            "sending the request: {}",
                            describe_io(&e)
                        ))
                    }
                },
                Phase::Reading => {
                    let mut buf = [0u8; 4096];
                    let progress = match self.stream.read(&mut buf) {
                        Ok(0) => self.reader.eof(),
                        Ok(n) => {
                            if self.marks.first_byte.is_none() {
                                self.marks.first_byte = Some(now);
                                self.marks.lead = [buf[0], if n > 1 { buf[1] } else { 0 }];
                            }
                            self.reader.feed(&buf[..n])
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
