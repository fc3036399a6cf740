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
//! - A stop signal is passed on and that is all: no grace, no SIGKILL after
//!   it (dumb-init never escalates), unless `--grace` was given; a stop
//!   signal rewritten to 0 does nothing. vigil's own stops (a failed check)
//!   keep their grace.
//! - In single-child mode the command stays in vigil's process group (no
//!   group of its own, no terminal handed over), so Ctrl-Z stops both.

use super::*;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DumbInitRules {
    /// `--grace` was given: a stop signal's grace ends in SIGKILL.
    pub kill_after_grace: bool,
    /// The command has a process group of its own (not in single-child mode).
    pub own_group: bool,
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

    /// Whether a stop by signal ends in SIGKILL after the grace.
    pub(super) fn kills_after_grace(&self) -> bool {
        self.dumb_init.is_none_or(|r| r.kill_after_grace)
    }

    /// Whether `sig`, a stop signal, stops the command: under dumb-init's
    /// rules one rewritten to 0 is dropped and does nothing more.
    pub(super) fn stops(&self, sig: i32) -> bool {
        is_stop_signal(sig)
            && (self.dumb_init.is_none() || self.settings.rewrites.apply(sig).is_some())
    }

    /// How vigil's own signals reach the command (`pid`): its group, or
    /// itself when it has none of its own (dumb-init's single-child mode).
    pub(super) fn command_target(&self, pid: i32) -> Target {
        match self.dumb_init {
            Some(r) if !r.own_group => Target::Process(pid),
            _ => Target::Group(pid),
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
