//! dumb-init's rules, for vigil started as `dumb-init` (`cli/dumb_init.rs`):
//!
//! - When the command exits, the rest of its group gets SIGTERM (as
//!   `--rewrite` maps it; dropped, nothing) and vigil exits at once with the
//!   command's status, without waiting for the group (vigil's own drain stays
//!   the default under its own name). A restart policy given with vigil's
//!   flags still restarts; the drain then happens between runs as usual.
//! - SIGTSTP, SIGTTIN and SIGTTOU are forwarded, then vigil stops itself, so
//!   job control works under a shell; SIGCONT (forwarded like any signal)
//!   wakes both.
//! - When vigil, a session leader, let go of its terminal for the command's
//!   new session, the kernel sent it a SIGHUP and a SIGCONT: the first of
//!   each is not the operator's and is not forwarded.

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DumbInitRules {
    /// Signals whose first arrival is not forwarded.
    pub ignore_once: Vec<i32>,
}

fn is_job_control_stop(sig: i32) -> bool {
    matches!(sig, libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
}

impl Supervisor {
    /// Takes dumb-init's rules.
    pub(crate) fn with_dumb_init(mut self, rules: DumbInitRules) -> Self {
        self.dumb_init = Some(rules);
        self
    }

    /// Whether `sig` is one to let pass once (it is then forgotten).
    pub(super) fn ignored_once(&mut self, sig: i32, out: &mut Out) -> bool {
        let Some(rules) = self.dumb_init.as_mut() else {
            return false;
        };
        match rules.ignore_once.iter().position(|s| *s == sig) {
            Some(i) => {
                rules.ignore_once.remove(i);
                out.say(Change::IgnoredOnce { signal: sig });
                true
            }
            None => false,
        }
    }

    /// After a job-control stop was forwarded: vigil stops too.
    pub(super) fn suspend_after(&self, sig: i32, out: &mut Out) {
        if self.dumb_init.is_some() && is_job_control_stop(sig) {
            out.say(Change::Suspending { signal: sig });
            out.act(Action::SuspendSelf);
        }
    }

    /// The command (`pid`) has ended as `end`: under dumb-init's rules, when
    /// no restart can follow, the rest of its group gets SIGTERM and vigil
    /// exits now. Whether it did.
    pub(super) fn exit_with_command(
        &mut self,
        pid: i32,
        end: &End,
        then: AfterDrain,
        now: Instant,
        out: &mut Out,
    ) -> bool {
        let restart_possible =
            then == AfterDrain::Decide && self.settings.restart.mode != restart::Mode::Never;
        if self.dumb_init.is_none() || restart_possible {
            return false;
        }
        // Single-child mode sends nothing: dumb-init's SIGTERM would go to
        // the command's pid, which is already reaped (and could be reused).
        if self.settings.process_group {
            out.say(Change::ForwardingToGroup {
                signal: libc::SIGTERM,
                pgid: pid,
            });
            self.forward(Target::Group(pid), libc::SIGTERM, out);
        }
        self.phase = Phase::Done;
        self.update_ready(out);
        self.exit(end.code, now, out);
        true
    }
}
