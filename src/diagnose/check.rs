//! The one-off checks a diagnosis runs at the first failure of a kind:
//! after a 404/405 the common health paths on the same server, after a 400
//! the same request with `Host: localhost`. Non-blocking on the event loop,
//! with the probe's own `HttpExchange`, under the loop's check token, each
//! exchange bounded by the probe's timeout. Not probe attempts: nothing
//! here is counted or changes a verdict.

use super::answer::{Check, HEALTH_PATHS, LOCAL_HOST};
use crate::probe::net::{self, Close, HttpExchange, HttpStep};
use crate::probe::plan::HttpPlan;
use mio::{Registry, Token};
use std::time::{Duration, Instant};

/// Where a check is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CheckStep {
    /// Running: its current exchange ends by this deadline.
    Pending(Instant),
    /// Over: the health path that answered 2xx, or `Some("")` when the
    /// request passed with `Host: localhost`; `None` when nothing passed.
    Done(Option<&'static str>),
}

#[derive(Debug)]
pub(crate) struct OneOff {
    check: Check,
    plan: HttpPlan,
    timeout: Duration,
    token: Token,
    /// The `HEALTH_PATHS` index of the exchange running (`LocalHost`: 0).
    at: usize,
    exchange: Option<HttpExchange>,
    deadline: Instant,
}

impl OneOff {
    /// Starts `check` against the probe's `plan` (its own path is not
    /// tried again).
    pub(crate) fn start(
        check: Check,
        plan: &HttpPlan,
        timeout: Duration,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> (OneOff, CheckStep) {
        let mut one = OneOff {
            check,
            plan: plan.clone(),
            timeout,
            token,
            at: 0,
            exchange: None,
            deadline: now,
        };
        let step = one.from(0, registry, now);
        (one, step)
    }

    /// The request of exchange `at`, if there is one.
    fn request(&self, at: usize) -> Option<HttpPlan> {
        match self.check {
            Check::HealthPaths { .. } => {
                let path = HEALTH_PATHS.get(at)?;
                Some(
                    self.plan
                        .redirected(self.plan.addr, self.plan.host.clone(), path.to_string()),
                )
            }
            Check::LocalHost if at == 0 => {
                let mut p = self.plan.clone();
                p.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("host"));
                p.headers.push(("Host".into(), LOCAL_HOST.into()));
                Some(p)
            }
            Check::LocalHost => None,
        }
    }

    /// Starts the first exchange from `at` on that can start.
    fn from(&mut self, mut at: usize, registry: &Registry, now: Instant) -> CheckStep {
        while let Some(plan) = self.request(at) {
            if plan.path != self.plan.path || matches!(self.check, Check::LocalHost) {
                if let Ok(x) = HttpExchange::start(registry, self.token, &plan) {
                    self.at = at;
                    self.exchange = Some(x);
                    self.deadline = now + self.timeout;
                    return CheckStep::Pending(self.deadline);
                }
            }
            at += 1;
        }
        CheckStep::Done(None)
    }

    fn passed(&self) -> CheckStep {
        CheckStep::Done(Some(match self.check {
            Check::HealthPaths { .. } => HEALTH_PATHS[self.at],
            Check::LocalHost => "",
        }))
    }

    /// A readiness event on the check's token.
    pub(crate) fn on_event(&mut self, registry: &Registry, now: Instant) -> CheckStep {
        let Some(x) = self.exchange.as_mut() else {
            return CheckStep::Done(None);
        };
        let ok = match x.advance(now) {
            HttpStep::Pending => return CheckStep::Pending(self.deadline),
            HttpStep::Response(r) => (200..300).contains(&r.status),
            HttpStep::Failed(_) => false,
        };
        let x = self.exchange.take().expect("exchange");
        net::close(
            registry,
            x.stream,
            if ok { Close::Graceful } else { Close::Reset },
        );
        if ok {
            return self.passed();
        }
        self.from(self.at + 1, registry, now)
    }

    /// The check's deadline passed: its exchange failed; the next one starts.
    pub(crate) fn on_deadline(&mut self, registry: &Registry, now: Instant) -> CheckStep {
        if now < self.deadline {
            return CheckStep::Pending(self.deadline);
        }
        self.cancel(registry);
        self.from(self.at + 1, registry, now)
    }

    /// Ends the exchange running, if any.
    pub(crate) fn cancel(&mut self, registry: &Registry) {
        if let Some(x) = self.exchange.take() {
            net::close(registry, x.stream, Close::Reset);
        }
    }
}
