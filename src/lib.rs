//! vigil: a tiny PID-1 init for containers that serve models and web apps.
//!
//! Module map: `cli` (flags and env), `config` (service.json, `VIGIL_*` and
//! flags merged into one plain value), `check` (`vigil check`), `supervisor`
//! (the pure state machine that decides), `event_loop` (the one mio loop that
//! performs), `sys` (every raw OS call), plus small helpers (`duration`,
//! `signal_name`, `exit_status`, `timers`, `log`).

pub mod check;
pub mod cli;
pub mod config;
pub mod duration;
pub mod event_loop;
pub mod exit_status;
pub mod log;
pub mod probe;
pub mod restart;
pub mod signal_name;
pub mod supervisor;
pub mod sys;
pub mod timers;

use cli::{Invocation, RunOptions};
use exit_status::code;
use std::ffi::OsString;
use std::io::Write;

pub const LICENSE: &str = include_str!("../LICENSE");

/// The whole program, given the arguments after argv[0]; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    // First of all, before anything can arrive unnoticed: block every signal.
    let inherited = match sys::signals::take_over() {
        Ok(i) => i,
        Err(e) => {
            fatal!("cannot take over signal handling: {e}");
            return i32::from(code::INTERNAL);
        }
    };
    // Until the command exists, SIGINT and SIGTERM end vigil at once: reading
    // a configuration from a FIFO or a hung file system must not hold them.
    let startup = match sys::signals::StartupStop::begin() {
        Ok(s) => s,
        Err(e) => {
            fatal!("cannot take over signal handling: {e}");
            return i32::from(code::INTERNAL);
        }
    };
    let status = match cli::parse(args, &|name| std::env::var_os(name)) {
        Ok(Invocation::Run(opts)) => run(*opts, inherited, startup),
        Ok(Invocation::Check(opts)) => check::run(
            &opts,
            &|name| std::env::var_os(name),
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
        Ok(Invocation::Help) => print(&format!("{}\n\n{}", cli::USAGE, cli::HELP)),
        Ok(Invocation::Version) => print(&format!("vigil version {}\n", env!("CARGO_PKG_VERSION"))),
        Ok(Invocation::License) => print(LICENSE),
        Err(e) => {
            eprintln!("vigil: {e}\n{}", cli::USAGE);
            code::USAGE
        }
    };
    i32::from(status)
}

fn print(text: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    // No Rust runtime start-up means no flush at exit either: flush here.
    let ok = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if ok.is_ok() {
        0
    } else {
        code::INTERNAL
    }
}

/// The configuration, before anything starts: every problem is printed, one
/// per line, and any error means exit 2.
fn resolve_config(opts: &RunOptions) -> Result<config::Resolved, u8> {
    let env = |name: &str| std::env::var_os(name);
    let inputs = config::Inputs {
        file: opts.config.file.clone(),
        container: opts.config.container,
        startup: opts.config.startup.clone(),
        liveness: opts.config.liveness.clone(),
        readiness: opts.config.readiness.clone(),
        command: opts.command.clone(),
        env: &env,
    };
    match config::resolve(&inputs) {
        Ok(resolved) => {
            for w in &resolved.warnings {
                warn!("{w}");
            }
            Ok(resolved)
        }
        Err(diagnostics) => {
            for d in &diagnostics {
                if d.is_error() {
                    fatal!("{d}");
                } else {
                    warn!("{d}");
                }
            }
            Err(code::CONFIG)
        }
    }
}

type ProbePlans = (
    [Option<probe::state::Timing>; 3],
    [Option<probe::runner::ProbePlan>; 3],
);

/// Each configured probe's timing and plan (address, request, exec argv),
/// computed once; a probe host that cannot be resolved is a configuration error.
fn probe_plans(
    config: &config::Resolved,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
    inherited: &sys::signals::Inherited,
) -> Result<ProbePlans, u8> {
    let mut timings = [None; 3];
    let mut plans = [None, None, None];
    if config::ProbeKind::ALL
        .iter()
        .all(|k| config.probe(*k).is_none())
    {
        return Ok((timings, plans)); // no interface to look up for a plain init
    }
    let default_host = probe::host::primary_address();
    for (i, kind) in config::ProbeKind::ALL.iter().enumerate() {
        let Some(p) = config.probe(*kind) else {
            continue;
        };
        match probe::plan::build(p, default_host, env, inherited) {
            Ok(plan) => {
                plans[i] = Some(probe::runner::ProbePlan {
                    plan,
                    timeout: p.timeout,
                });
                timings[i] = Some(probe::state::Timing {
                    initial_delay: p.initial_delay,
                    period: p.period,
                    success_threshold: p.success_threshold,
                    failure_threshold: p.failure_threshold,
                });
            }
            Err(e) => {
                fatal!("{}: {e}", kind.key());
                return Err(code::CONFIG);
            }
        }
    }
    notice!("probes connect to {default_host} unless a probe names its host");
    Ok((timings, plans))
}

fn run(
    opts: RunOptions,
    inherited: sys::signals::Inherited,
    startup: sys::signals::StartupStop,
) -> u8 {
    log::set_verbosity(opts.verbosity);
    for w in &opts.warnings {
        warn!("{w}");
    }
    let config = match resolve_config(&opts) {
        Ok(c) => c,
        Err(status) => return status,
    };
    if let Some(sig) = opts.parent_death_signal {
        if let Err(e) = sys::process::set_parent_death_signal(sig) {
            fatal!("cannot set the parent death signal: {e}");
            return code::INTERNAL;
        }
    }
    let pid1 = std::process::id() == 1;
    if opts.subreaper {
        if let Err(e) = sys::process::set_child_subreaper() {
            fatal!("cannot register as a child subreaper: {e}");
            return code::INTERNAL;
        }
        debug!("registered as a child subreaper");
    } else if !pid1 {
        warn!(
            "vigil is not running as PID 1 and isn't registered as a child subreaper. \
             Zombie processes will not be re-parented to vigil, so zombie reaping won't work. \
             To fix the problem, use the -s option or set the environment variable \
             TINI_SUBREAPER (or VIGIL_SUBREAPER) to register vigil as a child subreaper, \
             or run vigil as PID 1."
        );
    }
    let env = config.command_env(std::env::vars_os().collect());
    let (timings, plans) = match probe_plans(&config, &env, &inherited) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let mut restart = opts.restart;
    if let Some(w) = restart.clamp() {
        warn!("{w}");
    }
    let foreground = nix::unistd::isatty(0).unwrap_or(false);
    let command = match sys::spawn::Prepared::new(&config.argv(), &env, inherited, foreground) {
        Ok(c) => c,
        Err(e) => {
            fatal!("cannot prepare the command: {e}");
            return code::USAGE;
        }
    };
    let supervisor = supervisor::Supervisor::new(supervisor::Settings {
        grace: opts.grace,
        process_group: opts.process_group,
        rewrites: opts.rewrites,
        expected_codes: opts.expected_codes,
        warn_on_reap: opts.warn_on_reap,
        foreground,
        probes: timings,
        restart,
    });
    let runner = probe::runner::Runner::new(plans);
    // From here on the log never blocks the loop (a stalled reader of stderr).
    log::init();
    // From here on every signal is queued for the event loop, and forwarded.
    if let Err(e) = startup.end() {
        fatal!("cannot take over signal handling: {e}");
        return code::INTERNAL;
    }
    let result = event_loop::EventLoop::new(command, runner).and_then(|l| l.run(supervisor));
    match result {
        Ok(code) => code,
        Err(e) => {
            fatal!("event loop failed: {e}");
            code::INTERNAL
        }
    }
}
