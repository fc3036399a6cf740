//! The one-off checks a diagnosis runs at the first failure of a kind:
//! after a 404/405 the common health paths on the same server, after a 400
//! the same request with `Host: localhost`. Non-blocking on the event loop,
//! with the probe's own `HttpExchange`, under the loop's check token, each
//! request bounded by the probe's timeout. A response is read as an attempt
//! reads it (`runner::verdict`: the same redirects followed); a request that
//! gets no answer ends the check with `NoAnswer`, never as a non-2xx. Not
//! probe attempts: nothing here is counted or changes a verdict.

use super::answer::{Check, CheckAnswer, HEALTH_PATHS, LOCAL_HOST};
use crate::duration::display;
use crate::probe::net::{self, Close, HttpExchange, HttpStep};
use crate::probe::plan::HttpPlan;
use crate::probe::runner::{verdict, Verdict};
use mio::{Registry, Token};
use std::time::{Duration, Instant};

/// Where a check is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CheckStep {
    /// A request runs: it ends by this deadline.
    Pending(Instant),
    /// Between two requests: the next starts with `OneOff::next`.
    Between,
    Done(CheckAnswer),
}

/// The request running, after the redirects it followed.
#[derive(Debug)]
struct Exchange {
    x: HttpExchange,
    plan: HttpPlan,
    redirects: u32,
    /// The health path asked for (`""`: the `Host: localhost` request).
    path: &'static str,
}

#[derive(Debug)]
pub(crate) struct OneOff {
    check: Check,
    plan: HttpPlan,
    timeout: Duration,
    /// The index of the next request (`HEALTH_PATHS`; `LocalHost`: 0).
    at: usize,
    exchange: Option<Exchange>,
    deadline: Instant,
}

impl OneOff {
    /// A check of `check` against the probe's `plan` (its own path is not
    /// tried again); nothing is sent before `next`.
    pub(crate) fn new(check: Check, plan: &HttpPlan, timeout: Duration) -> OneOff {
        OneOff {
            check,
            plan: plan.clone(),
            timeout,
            at: 0,
            exchange: None,
            deadline: Instant::now(),
        }
    }

    /// How long one of its requests may take.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A request runs.
    pub(crate) fn busy(&self) -> bool {
        self.exchange.is_some()
    }

    /// The request `at` sends, with the health path it asks for, if there is
    /// one; `None` past the last. The probe's own path is skipped.
    fn request(&self, at: usize) -> Option<Option<(&'static str, HttpPlan)>> {
        match self.check {
            Check::HealthPaths { .. } => {
                let path = *HEALTH_PATHS.get(at)?;
                Some((path != self.plan.path).then(|| {
                    let p = self.plan.addr;
                    (
                        path,
                        self.plan.redirected(p, self.plan.host.clone(), path.into()),
                    )
                }))
            }
            Check::LocalHost if at == 0 => {
                let mut p = self.plan.clone();
                p.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("host"));
                p.headers.push(("Host".into(), LOCAL_HOST.into()));
                Some(Some(("", p)))
            }
            Check::LocalHost => None,
        }
    }

    /// Whether a request is left to send.
    fn more(&self) -> bool {
        (self.at..)
            .map_while(|at| self.request(at))
            .any(|r| r.is_some())
    }

    /// Sends the next request (none runs) under `token`: `Done(NotPassed)`
    /// when none is left.
    pub(crate) fn next(&mut self, registry: &Registry, token: Token, now: Instant) -> CheckStep {
        while let Some(request) = self.request(self.at) {
            self.at += 1;
            let Some((path, plan)) = request else {
                continue;
            };
            return match HttpExchange::start(registry, token, &plan) {
                Ok(x) => {
                    self.exchange = Some(Exchange {
                        x,
                        plan,
                        redirects: 0,
                        path,
                    });
                    self.deadline = now + self.timeout;
                    CheckStep::Pending(self.deadline)
                }
                Err(e) => no_answer(path, net::describe_io(&e)),
            };
        }
        CheckStep::Done(CheckAnswer::NotPassed)
    }

    /// A readiness event on the check's token.
    pub(crate) fn on_event(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> CheckStep {
        let Some(e) = self.exchange.as_mut() else {
            return CheckStep::Between; // a late event of a request already over
        };
        let r = match e.x.advance(now) {
            HttpStep::Pending => return CheckStep::Pending(self.deadline),
            HttpStep::Response(r) => r,
            HttpStep::Failed(why) => {
                let e = self.exchange.take().expect("exchange");
                net::close(e.x.stream, Close::Reset);
                return no_answer(e.path, why);
            }
        };
        let e = self.exchange.take().expect("exchange");
        net::close(e.x.stream, Close::Graceful);
        match verdict(&r, &e.plan, e.redirects) {
            Verdict::Follow(plan) => match HttpExchange::start(registry, token, &plan) {
                // Within the same deadline, as an attempt's redirects.
                Ok(x) => {
                    self.exchange = Some(Exchange {
                        x,
                        plan,
                        redirects: e.redirects + 1,
                        path: e.path,
                    });
                    CheckStep::Pending(self.deadline)
                }
                Err(err) => no_answer(e.path, net::describe_io(&err)),
            },
            Verdict::Success { warning: false } => CheckStep::Done(CheckAnswer::Passed(e.path)),
            Verdict::Success { warning: true } | Verdict::Failure if self.more() => {
                CheckStep::Between
            }
            Verdict::Success { warning: true } | Verdict::Failure => {
                CheckStep::Done(CheckAnswer::NotPassed)
            }
        }
    }

    /// The check's deadline passed: its request got no answer in time.
    pub(crate) fn on_deadline(&mut self, now: Instant) -> CheckStep {
        if self.exchange.is_none() {
            return CheckStep::Between;
        }
        if now < self.deadline {
            return CheckStep::Pending(self.deadline);
        }
        let path = self.exchange.as_ref().map_or("", |e| e.path);
        self.cancel();
        no_answer(path, format!("timeout after {}", display(self.timeout)))
    }

    /// Ends the request running, if any.
    pub(crate) fn cancel(&mut self) {
        if let Some(e) = self.exchange.take() {
            net::close(e.x.stream, Close::Reset);
        }
    }
}

fn no_answer(path: &'static str, why: String) -> CheckStep {
    CheckStep::Done(CheckAnswer::NoAnswer { path, why })
}
