//! Runs probe attempts on the event loop: at most one attempt per probe at a
//! time, each under a fixed token, bounded by the probe's timeout. Turns
//! readiness events, deadlines and reaped pids into outcomes; decides
//! nothing about results (that is `state` and the supervisor).

use super::exec::ExecAttempt;
use super::net::{self, Close, HttpExchange, HttpStep, Wake};
use super::outcome::{NetEvidence, Outcome};
use super::per_probe::PerProbe;
use super::plan::{HttpPlan, Plan, ProbePlan};
use crate::config::model::ProbeKind;
use crate::duration;
use crate::exit_status::ChildStatus;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Redirects followed at most, as the kubelet.
pub(crate) const MAX_REDIRECTS: u32 = 10;
/// Killed probe processes whose reap is still to come, at most.
const MAX_KILLED: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Started {
    Running {
        deadline: Instant,
    },
    /// Decided at once (e.g. the connect failed immediately).
    Done(Outcome),
    /// Could not even start (fork failed): does not count.
    Unable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reap {
    NotOurs,
    /// A probe process killed at its timeout: already counted.
    Swallowed,
    Done(ProbeKind, Outcome),
}

/// Where an event left an attempt.
enum Step {
    Pending,
    Redirect(HttpPlan),
    Done {
        success: bool,
        warning: bool,
        message: String,
        output: String,
        close: Close,
    },
}

impl Step {
    fn done(success: bool, message: String, close: Close) -> Step {
        Step::Done {
            success,
            warning: false,
            message,
            output: String::new(),
            close,
        }
    }
}

fn outcome(
    started: Instant,
    target: String,
    success: bool,
    message: String,
    output: String,
    now: Instant,
) -> Outcome {
    Outcome {
        success,
        warning: false,
        message,
        target,
        output,
        duration: now.saturating_duration_since(started),
        net: None,
        cannot_run: None,
    }
}

/// The kubelet's reading of a response: 2xx success, 3xx followed to the same
/// host (at most `MAX_REDIRECTS`) or else success with a note, anything else failure.
fn http_verdict(r: &super::http_response::Response, plan: &HttpPlan, redirects: u32) -> Step {
    // The first 1024 characters, in one allocation of their size.
    let text = String::from_utf8_lossy(&r.body);
    let end = text.char_indices().nth(1024).map_or(text.len(), |(i, _)| i);
    let body = text[..end].to_string();
    let done = |success, message, output| Step::Done {
        success,
        warning: false,
        message,
        output,
        close: Close::Graceful,
    };
    match r.status {
        200..=299 => done(
            true,
            format!("HTTP probe succeeded with statuscode: {}", r.status),
            body,
        ),
        300..=399 => {
            // Go's client follows these codes only; any other 3xx is final.
            let follow = r
                .location
                .as_deref()
                .filter(|_| matches!(r.status, 301 | 302 | 303 | 307 | 308))
                .and_then(|loc| net::redirect_target(plan, loc));
            match follow {
                // Go's client, which the kubelet uses, gives up and fails.
                Some(_) if redirects >= MAX_REDIRECTS => done(
                    false,
                    format!("HTTP probe failed: stopped after {MAX_REDIRECTS} redirects"),
                    body,
                ),
                // Same host (any case) by construction: same address, no lookup
                // (a name lookup would block the loop).
                Some((host, port, path)) => Step::Redirect(plan.redirected(
                    SocketAddr::new(plan.addr.ip(), port),
                    host,
                    path,
                )),
                // The app's Location, its control characters escaped (a
                // C1 CSI is UTF-8): the message is one line of the log.
                None => Step::Done {
                    success: true,
                    warning: true,
                    message: format!(
                        "HTTP probe succeeded with a redirect it did not follow (statuscode: {}, Location: {})",
                        r.status,
                        crate::privileges::accounts::escaped(r.location.as_deref().unwrap_or("none"))
                    ),
                    output: body,
                    close: Close::Graceful,
                },
            }
        }
        _ => done(
            false,
            format!("HTTP probe failed with statuscode: {}", r.status),
            body,
        ),
    }
}

/// What an attempt makes of a response, for a diagnosis' one-off check
/// (`diagnose::check`), which must read answers as attempts do.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Success; `warning`: with a redirect it did not follow.
    Success {
        warning: bool,
    },
    Failure,
    /// A redirect to follow, as the request to send next.
    Follow(HttpPlan),
}

pub(crate) fn verdict(
    r: &super::http_response::Response,
    plan: &HttpPlan,
    redirects: u32,
) -> Verdict {
    match http_verdict(r, plan, redirects) {
        Step::Done {
            success: true,
            warning,
            ..
        } => Verdict::Success { warning },
        Step::Redirect(next) => Verdict::Follow(next),
        Step::Done { .. } | Step::Pending => Verdict::Failure,
    }
}

// At most one running attempt per probe (three in all): size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Io {
    Tcp(TcpStream),
    Http {
        exchange: HttpExchange,
        /// Where a followed redirect leads (`None`: the probe's own plan).
        redirected: Option<Box<HttpPlan>>,
        redirects: u32,
    },
    Exec(ExecAttempt),
}

#[derive(Debug)]
struct Attempt {
    started: Instant,
    deadline: Instant,
    target: String,
    /// The event loop's token for this probe's socket or pipe.
    token: Token,
    /// The socket is registered with the loop (an attempt that finishes
    /// at its start never is).
    registered: bool,
    io: Io,
}

/// What every attempt of a probe reuses, made once: its target as logs name
/// it and an `http_get`'s request bytes.
struct Made {
    target: String,
    request: Option<Rc<[u8]>>,
}

pub(crate) struct Runner {
    plans: PerProbe<Option<ProbePlan>>,
    made: PerProbe<Option<Made>>,
    attempts: PerProbe<Option<Attempt>>,
    killed: Vec<i32>,
}

impl Runner {
    pub(crate) fn new(plans: PerProbe<Option<ProbePlan>>) -> Runner {
        let made = PerProbe::from_fn(|k| {
            plans[k].as_ref().map(|p| Made {
                target: p.plan.target(),
                request: match &p.plan {
                    Plan::Http(plan) => Some(plan.request().into()),
                    _ => None,
                },
            })
        });
        Runner {
            plans,
            made,
            attempts: PerProbe::default(),
            killed: Vec::new(),
        }
    }

    /// Starts an attempt whose socket or pipe is registered under `token`.
    pub(crate) fn start(
        &mut self,
        probe: ProbeKind,
        token: Token,
        registry: &Registry,
        now: Instant,
    ) -> Started {
        if self.attempts[probe].is_some() {
            return Started::Unable("an attempt is still running".into());
        }
        let (Some(p), Some(made)) = (&self.plans[probe], &self.made[probe]) else {
            return Started::Unable("no such probe".into());
        };
        let deadline = now + p.timeout;
        let failed = |target: String, message: String| {
            Started::Done(Outcome {
                success: false,
                warning: false,
                message,
                target,
                output: String::new(),
                duration: Duration::ZERO,
                net: None,
                cannot_run: None,
            })
        };
        // Out of descriptors or memory is vigil's own state, not the app's:
        // the attempt does not start, and does not count as a failure.
        let unable = |target: &str, e: &std::io::Error| {
            let own = [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM];
            e.raw_os_error().filter(|c| own.contains(c)).map(|_| {
                Started::Unable(format!(
                    "cannot open a socket for {target}: {e} (vigil's own limit)"
                ))
            })
        };
        let target = made.target.clone();
        let io = match &p.plan {
            Plan::Tcp { addr } => match TcpStream::connect(*addr) {
                Ok(s) => Io::Tcp(s),
                Err(e) => {
                    if let Some(not_started) = unable(&target, &e) {
                        return not_started;
                    }
                    return failed(target, net::describe_io(&e));
                }
            },
            Plan::Http(plan) => {
                let request = made.request.clone().expect("an http_get's request");
                match HttpExchange::unregistered(plan.addr, request) {
                    Ok(exchange) => Io::Http {
                        exchange,
                        redirected: None,
                        redirects: 0,
                    },
                    Err(e) => {
                        if let Some(not_started) = unable(&target, &e) {
                            return not_started;
                        }
                        return failed(target, net::describe_io(&e));
                    }
                }
            }
            Plan::Exec { cmd, display } => match ExecAttempt::start(registry, token, cmd) {
                Ok(a) => Io::Exec(a),
                Err(e) => {
                    return Started::Unable(format!("cannot start exec probe {display}: {e}"))
                }
            },
        };
        let registered = matches!(io, Io::Exec(_));
        let a = Attempt {
            started: now,
            deadline,
            target,
            token,
            registered,
            io,
        };
        // A network attempt goes as far as it can at once (on loopback: the
        // whole tcp_socket attempt, an http_get's request sent).
        if registered {
            self.attempts[probe] = Some(a);
        } else if let Some(outcome) = self.advance(probe, a, registry, now, Wake::Start) {
            return Started::Done(outcome);
        }
        Started::Running { deadline }
    }

    /// A readiness event on a probe's token; `closed`: the event says the
    /// peer closed or the socket has an error.
    pub(crate) fn on_event(
        &mut self,
        probe: ProbeKind,
        registry: &Registry,
        now: Instant,
        closed: bool,
    ) -> Option<Outcome> {
        let a = self.attempts[probe].take()?;
        self.advance(probe, a, registry, now, Wake::Ready { closed })
    }

    /// Advances an attempt: its outcome, or `None` with the attempt kept
    /// (and its socket registered) while it waits.
    fn advance(
        &mut self,
        probe: ProbeKind,
        mut a: Attempt,
        registry: &Registry,
        now: Instant,
        wake: Wake,
    ) -> Option<Outcome> {
        // The final response's status and challenge, for the evidence.
        let mut answered = (0, false);
        let step = match &mut a.io {
            Io::Tcp(stream) => match net::connected(stream) {
                Ok(false) => Step::Pending,
                Ok(true) => Step::done(true, "connected".into(), Close::Graceful),
                Err(e) => Step::done(false, net::describe_io(&e), Close::Reset),
            },
            Io::Http {
                exchange,
                redirected,
                redirects,
            } => match exchange.step(now, wake) {
                HttpStep::Pending => Step::Pending,
                HttpStep::Failed(why) => Step::done(false, why, Close::Reset),
                HttpStep::Response(r) => {
                    answered = (r.status, r.www_authenticate);
                    let plan = match (redirected.as_deref(), &self.plans[probe]) {
                        (Some(plan), _) => plan,
                        (
                            None,
                            Some(ProbePlan {
                                plan: Plan::Http(plan),
                                ..
                            }),
                        ) => plan,
                        (None, _) => unreachable!("an http_get has an HTTP plan"),
                    };
                    http_verdict(&r, plan, *redirects)
                }
            },
            Io::Exec(e) => {
                e.drain(registry);
                Step::Pending
            }
        };
        match step {
            Step::Pending => {
                if !a.registered {
                    let (source, interest) = match &mut a.io {
                        Io::Tcp(s) => (s, Interest::WRITABLE | Interest::READABLE),
                        Io::Http { exchange, .. } => {
                            let interest = exchange.interest();
                            (&mut exchange.stream, interest)
                        }
                        Io::Exec(_) => unreachable!("exec attempts register at their start"),
                    };
                    if let Err(e) = registry.register(source, a.token, interest) {
                        return Some(self.unwatchable(a, &e, now));
                    }
                    a.registered = true;
                }
                self.attempts[probe] = Some(a);
                None
            }
            Step::Redirect(next) => {
                let Io::Http {
                    exchange,
                    redirects,
                    ..
                } = a.io
                else {
                    unreachable!("redirects are HTTP")
                };
                net::close(exchange.stream, Close::Graceful);
                match HttpExchange::start(registry, a.token, &next) {
                    Ok(exchange) => {
                        a.io = Io::Http {
                            exchange,
                            redirected: Some(Box::new(next)),
                            redirects: redirects + 1,
                        };
                        a.registered = true;
                        self.attempts[probe] = Some(a);
                        None
                    }
                    Err(e) => Some(outcome(
                        a.started,
                        a.target,
                        false,
                        net::describe_io(&e),
                        String::new(),
                        now,
                    )),
                }
            }
            Step::Done {
                success,
                warning,
                message,
                output,
                close,
            } => {
                let evidence = match a.io {
                    Io::Tcp(s) => {
                        net::close(s, close);
                        NetEvidence {
                            connected: success.then(|| now.saturating_duration_since(a.started)),
                            ..NetEvidence::default()
                        }
                    }
                    Io::Http { exchange, .. } => {
                        let mut e = exchange.marks.evidence(a.started);
                        (e.status, e.www_authenticate) = answered;
                        net::close(exchange.stream, close);
                        e
                    }
                    Io::Exec(_) => unreachable!("exec attempts end when reaped"),
                };
                let mut o = outcome(a.started, a.target, success, message, output, now);
                o.warning = warning;
                o.net = Some(evidence);
                Some(o)
            }
        }
    }

    /// The attempt's deadline passed: it fails as a timeout.
    pub(crate) fn on_deadline(
        &mut self,
        probe: ProbeKind,
        registry: &Registry,
        now: Instant,
    ) -> Option<Outcome> {
        let a = self.attempts[probe].as_ref()?;
        if now < a.deadline {
            return None;
        }
        let timeout = self.plans[probe]
            .as_ref()
            .map_or(Duration::ZERO, |p| p.timeout);
        let mut message = format!("timeout after {}", duration::display(timeout));
        let mut output = String::new();
        let mut evidence = None;
        let a = self.attempts[probe].take().expect("attempt");
        match a.io {
            Io::Tcp(s) => {
                evidence = Some(NetEvidence {
                    timed_out: true,
                    ..NetEvidence::default()
                });
                net::close(s, Close::Reset)
            }
            Io::Http { exchange, .. } => {
                message.push_str(&format!(" ({})", exchange.phase_name()));
                evidence = Some(NetEvidence {
                    timed_out: true,
                    ..exchange.marks.evidence(a.started)
                });
                net::close(exchange.stream, Close::Reset);
            }
            Io::Exec(e) => {
                let pid = e.pid;
                output = e.kill(registry);
                if self.killed.len() == MAX_KILLED {
                    self.killed.remove(0);
                }
                self.killed.push(pid);
                message.push_str(": the probe's process group got SIGKILL");
            }
        }
        let mut o = outcome(a.started, a.target, false, message, output, now);
        o.net = evidence;
        Some(o)
    }

    /// The attempt's socket could not be registered to wait (out of
    /// memory or a limit of epoll's): it fails at once, reset.
    fn unwatchable(&self, a: Attempt, e: &std::io::Error, now: Instant) -> Outcome {
        let message = format!("cannot wait for the socket: {}", net::describe_io(e));
        match a.io {
            Io::Tcp(s) => net::close(s, Close::Reset),
            Io::Http { exchange, .. } => net::close(exchange.stream, Close::Reset),
            Io::Exec(_) => {}
        }
        outcome(a.started, a.target, false, message, String::new(), now)
    }

    /// A reaped pid: an exec probe's end, or not ours.
    pub(crate) fn on_reaped(
        &mut self,
        pid: i32,
        status: ChildStatus,
        registry: &Registry,
        now: Instant,
    ) -> Reap {
        if let Some(i) = self.killed.iter().position(|p| *p == pid) {
            self.killed.swap_remove(i);
            return Reap::Swallowed;
        }
        let probe = ProbeKind::ALL.into_iter().find(
            |k| matches!(&self.attempts[*k], Some(Attempt { io: Io::Exec(e), .. }) if e.pid == pid),
        );
        let Some(probe) = probe else {
            return Reap::NotOurs;
        };
        let a = self.attempts[probe].take().expect("attempt");
        let Io::Exec(e) = a.io else { unreachable!() };
        let f = e.finish(registry, status);
        let mut o = outcome(a.started, a.target, f.ok, f.message, f.output, now);
        o.cannot_run = f.cannot_run;
        Reap::Done(probe, o)
    }

    /// Whether an attempt of any probe is in flight.
    pub(crate) fn in_flight(&self) -> bool {
        ProbeKind::ALL
            .into_iter()
            .any(|k| self.attempts[k].is_some())
    }

    /// Ends every running attempt (the command stopped): sockets reset, exec
    /// probes killed. Their outcomes are dropped.
    pub(crate) fn cancel_all(&mut self, registry: &Registry) {
        for probe in ProbeKind::ALL {
            if self.attempts[probe].is_some() {
                let _ = self.on_deadline(
                    probe,
                    registry,
                    Instant::now() + Duration::from_secs(3600 * 24 * 365),
                );
            }
        }
    }
}
