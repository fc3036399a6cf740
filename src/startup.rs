//! Start-up: from parsed options to a running event loop. The configuration
//! is resolved (any error stops everything, exit 2), the process settings
//! (subreaper, parent death signal) applied, the probes and the command
//! prepared, and the loop started. Each failing step is a `StartError`
//! variant that names it and maps to a documented exit status.

use crate::cli::RunOptions;
use crate::config;
use crate::config::model::ProbeKind;
use crate::diagnose::Diagnoser;
use crate::event_loop::EventLoop;
use crate::exit_status::code;
use crate::log::{self, debug, fatal, notice, warn};
use crate::privileges::{self, accounts, Privileges};
use crate::probe::per_probe::PerProbe;
use crate::probe::plan::{self, Configured, Plan};
use crate::probe::runner::Runner;
use crate::ready_file::ReadyFile;
use crate::report::Reporter;
use crate::status::record::{ProbeInfo, Record};
use crate::status::server::{self, Server};
use crate::status::socket_file;
use crate::status::Publisher;
use crate::supervisor::dumb_init::DumbInitRules;
use crate::supervisor::{Settings, Supervisor};
use crate::sys::notify::NotifySocket;
use crate::sys::signals::{Inherited, StartupStop};
use crate::sys::{process, spawn};
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::time::SystemTime;

/// Why vigil could not start or run; each maps to an exit status.
#[derive(Debug)]
pub(crate) enum StartError {
    /// The configuration has errors (already printed, one per line).
    Config,
    /// A probe cannot be planned (its host does not resolve).
    Probe {
        key: &'static str,
        reason: String,
    },
    ParentDeathSignal(io::Error),
    Subreaper(io::Error),
    /// The command cannot be prepared (an empty argv, a NUL byte).
    PrepareCommand(io::Error),
    Signals(io::Error),
    EventLoop(io::Error),
    /// The status socket or the ready file cannot be made (names the path).
    Publish(String),
    /// `--notify`: the notify socket cannot be made.
    Notify(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config => write!(f, "the configuration has errors"),
            StartError::Probe { key, reason } => write!(f, "{key}: {reason}"),
            StartError::ParentDeathSignal(e) => {
                write!(f, "cannot set the parent death signal: {e}")
            }
            StartError::Subreaper(e) => write!(f, "cannot register as a child subreaper: {e}"),
            StartError::PrepareCommand(e) => write!(f, "cannot prepare the command: {e}"),
            StartError::Signals(e) => write!(f, "cannot take over signal handling: {e}"),
            StartError::EventLoop(e) => write!(f, "event loop failed: {e}"),
            StartError::Publish(e) => f.write_str(e),
            StartError::Notify(e) => write!(f, "--notify: cannot create the notify socket: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl StartError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            StartError::Config | StartError::Probe { .. } | StartError::Publish(_) => code::CONFIG,
            StartError::PrepareCommand(_) => code::USAGE,
            StartError::ParentDeathSignal(_)
            | StartError::Subreaper(_)
            | StartError::Signals(_)
            | StartError::EventLoop(_)
            | StartError::Notify(_) => code::INTERNAL,
        }
    }
}

/// The status socket and the ready file, made before anything starts: a
/// path that cannot be used stops vigil (exit 2) with its reason.
fn publisher(
    opts: &RunOptions,
    probes: &PerProbe<Option<Configured>>,
) -> Result<Option<Publisher>, StartError> {
    let publish = &opts.publish;
    if publish.socket.is_none() && publish.ready_file.is_none() {
        return Ok(None);
    }
    // Absolute, so they still name the same place once vigil is in `/`.
    let absolute = |p: &std::path::PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let server = match publish.socket.as_ref().map(absolute) {
        Some(path) => {
            let group = match &publish.socket_group {
                Some(spec) => {
                    let spec = spec.trim();
                    // A number needs no file (it is that gid).
                    let groups = match spec.bytes().all(|b| b.is_ascii_digit()) {
                        true => Ok(None),
                        false => privileges::read_accounts_file("/etc/group"),
                    };
                    let gid = groups
                        .and_then(|g| accounts::group_id(spec, g.as_deref()))
                        .map_err(|e| {
                            let spec = accounts::escaped(spec);
                            StartError::Publish(format!("--socket-group {spec}: {e}"))
                        })?;
                    Some(gid)
                }
                None => None,
            };
            let listener = socket_file::bind(&path, publish.socket_mode, group)
                .map_err(|e| StartError::Publish(format!("--socket {e}")))?;
            let max = server::max_connections(process::open_files_limit());
            if max < server::MAX_CONNECTIONS {
                warn!(
                    "--socket: the open files limit (ulimit -n {}) leaves room for {max} \
                     connections to the status socket, not {}",
                    process::open_files_limit().unwrap_or(0),
                    server::MAX_CONNECTIONS
                );
            }
            debug!("serving status on {}", path.display());
            Some(Server::new(listener, path, max))
        }
        None => None,
    };
    let ready_file = match publish.ready_file.as_ref().map(absolute) {
        Some(path) => Some(ReadyFile::new(path).map_err(StartError::Publish)?),
        None => None,
    };
    let info = PerProbe::from_fn(|kind| {
        probes[kind].as_ref().map(|c| ProbeInfo {
            handler: c.run.plan.handler(),
            target: c.run.plan.target(),
        })
    });
    Ok(Some(Publisher {
        server,
        ready_file,
        record: Record::new(info, SystemTime::now()),
    }))
}

/// Runs the command under vigil; returns vigil's exit status. (In a frame
/// of its own, as `start_and_run` and `prepare`: the frames under the event
/// loop stay live and resident for vigil's whole life, so each holds only
/// what the loop needs.)
#[inline(never)]
pub(crate) fn run(opts: RunOptions, inherited: Inherited, startup: StartupStop) -> u8 {
    match start_and_run(opts, inherited, startup) {
        Ok(code) => code,
        Err(e) => {
            if !matches!(e, StartError::Config) {
                fatal!("{e}");
            }
            log::flush();
            e.exit_code()
        }
    }
}

#[inline(never)]
fn start_and_run(
    opts: RunOptions,
    inherited: Inherited,
    startup: StartupStop,
) -> Result<u8, StartError> {
    let (event_loop, supervisor) = prepare(opts, inherited, startup)?;
    event_loop.run(supervisor).map_err(StartError::EventLoop)
}

/// Everything before the loop, in a stack frame of its own: its locals
/// (about 28 KiB of stack: the configuration, the environment, the plans
/// before they are split) are dead once it returns, so the loop does not
/// run below them and `sys::memory::release_code` gives their pages back
/// with start-up's code.
#[inline(never)]
fn prepare(
    opts: RunOptions,
    inherited: Inherited,
    startup: StartupStop,
) -> Result<(EventLoop, Supervisor), StartError> {
    log::set_verbosity(opts.verbosity);
    if opts.dumb_init.is_some() {
        log::set_dumb_init_style();
    }
    // From here on the log never blocks (a stalled reader of stderr), not
    // even before the command starts.
    log::init();
    for w in &opts.warnings {
        warn!("{w}");
    }
    let config = resolve_config(&opts)?;
    let privileges = resolve_privileges(&opts)?;
    if let Some(sig) = opts.parent_death_signal {
        process::set_parent_death_signal(sig).map_err(StartError::ParentDeathSignal)?;
    }
    if opts.subreaper {
        process::set_child_subreaper().map_err(StartError::Subreaper)?;
        debug!("registered as a child subreaper");
    } else if opts.dumb_init.is_none() {
        reaper_check();
    }
    let mut inherited_env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    if let Some(home) = privileges.as_ref().and_then(Privileges::home) {
        // The user's HOME replaces vigil's; the file's `env` still wins.
        inherited_env.retain(|(k, _)| k != "HOME");
        inherited_env.push(("HOME".into(), home.into()));
    }
    let mut env = config.command_env(inherited_env);
    // `--notify`: the socket exists before the command's environment names it.
    let notify = match opts.publish.notify {
        true => {
            let socket = NotifySocket::new().map_err(StartError::Notify)?;
            if let Some(ids) = privileges.as_ref().and_then(|p| p.ids.as_ref()) {
                socket
                    .give_to(ids.uid, ids.gid)
                    .map_err(StartError::Notify)?;
            }
            env.retain(|(k, _)| {
                k != "NOTIFY_SOCKET" && k != "WATCHDOG_USEC" && k != "WATCHDOG_PID"
            });
            env.push(("NOTIFY_SOCKET".into(), socket.path_for_env()));
            if let Some(w) = opts.publish.watchdog {
                env.push(("WATCHDOG_USEC".into(), w.as_micros().to_string().into()));
            }
            debug!("NOTIFY_SOCKET={}", socket.path_for_env().to_string_lossy());
            Some(socket)
        }
        false => None,
    };
    let mut probes = configure_probes(&config, &env, &inherited)?;
    let mut restart = opts.restart;
    if let Some(w) = restart.clamp() {
        warn!("{w}");
    }
    let foreground = process::holds_terminal();
    let dumb = opts.dumb_init;
    let new_session = dumb.is_some_and(|d| d.setsid);
    // dumb-init's single-child mode keeps the command in vigil's group.
    let own_group = dumb.is_none_or(|d| d.setsid);
    let mut command = spawn::Prepared::new(
        &config.argv(),
        &env,
        inherited,
        foreground && !new_session && own_group,
    )
    .map_err(StartError::PrepareCommand)?;
    let mut dumb_init = None;
    if let Some(d) = dumb {
        command = command.dumb_init(new_session, own_group);
        // The command's new session takes the terminal: vigil lets go of
        // it, and the SIGHUP and SIGCONT the kernel then sends a session
        // leader are not the operator's.
        if new_session {
            match process::release_terminal() {
                Some(true) => {
                    crate::sys::signals::discard_pending(&[libc::SIGHUP, libc::SIGCONT]);
                    debug!("let go of the terminal (its SIGHUP and SIGCONT are not passed on)");
                }
                Some(false) => debug!("let go of the terminal (not a session leader)"),
                None => debug!("no terminal to let go of"),
            }
        }
        dumb_init = Some(DumbInitRules {
            kill_after_grace: d.grace_given,
            own_group,
        });
    }
    if let Some(child) = privileges.as_ref().and_then(Privileges::child) {
        command.set_privileges(Some(child.clone()));
        for (_, c) in probes.present_mut() {
            if let plan::Plan::Exec { cmd, .. } = &mut c.run.plan {
                cmd.set_privileges(Some(child.clone()));
            }
        }
    }
    let publisher = publisher(&opts, &probes)?;
    // Each probe's two halves, by kind: the supervisor's timing, the runner's plan.
    let mut timings = PerProbe::default();
    let probes = probes.map(|kind, c| {
        c.map(|Configured { run, timing }| {
            timings[kind] = Some(timing);
            run
        })
    });
    // Failed probes and the command's troubles get diagnosed.
    let targets = PerProbe::from_fn(|kind| probes[kind].as_ref().and_then(|p| p.plan.addr()));
    let programs = PerProbe::from_fn(|kind| probes[kind].as_ref().and_then(|p| p.plan.lookup()));
    let http = PerProbe::from_fn(|kind| match probes[kind].as_ref().map(|p| &p.plan) {
        Some(Plan::Http(plan)) => Some(plan.clone()),
        _ => None,
    });
    let timeouts = PerProbe::from_fn(|kind| {
        probes[kind]
            .as_ref()
            .map_or(Default::default(), |p| p.timeout)
    });
    // Every run has one: a command with no probes gets its start failures said.
    let diagnoser = Diagnoser::new(targets, timings)
        .with_probes(http, timeouts)
        .with_programs(programs)
        .with_shell_command(&command.display);
    let single_start = restart.mode == crate::restart::Mode::Never;
    let mut supervisor = Supervisor::new(Settings {
        grace: opts.grace,
        process_group: opts.process_group,
        rewrites: opts.rewrites,
        expected_codes: opts.expected_codes,
        foreground,
        probes: timings,
        restart,
    })
    .with_drain(opts.publish.drain);
    if opts.publish.notify {
        supervisor = supervisor.with_notify(opts.publish.watchdog);
    }
    if let Some(rules) = dumb_init {
        supervisor = supervisor.with_dumb_init(rules);
    }
    let reporter = Reporter {
        warn_on_reap: opts.warn_on_reap,
        command: command.display.clone(),
    };
    // Everything read relative to the start directory has been read (paths
    // written later were made absolute): vigil keeps no mount busy.
    if let Err(e) = process::leave_working_directory() {
        debug!("staying in the start directory: cannot change to /: {e}");
    }
    // From here on every signal is queued for the event loop, and forwarded.
    startup.end().map_err(StartError::Signals)?;
    let event_loop = EventLoop::new(command, Runner::new(probes), reporter, publisher, notify)
        .map_err(StartError::EventLoop)?
        .with_diagnoser(diagnoser);
    let event_loop = match single_start {
        true => event_loop.with_single_start(),
        false => event_loop,
    };
    Ok((event_loop, supervisor))
}

/// Warns when orphans will not come to vigil: it is not PID 1 and not a child
/// subreaper, not even by its parent's doing (the attribute survives `exec`).
/// As tini: a failed read is a debug line, then the warning.
fn reaper_check() {
    if std::process::id() == 1 {
        return;
    }
    match process::is_child_subreaper() {
        Ok(true) => {
            debug!("already a child subreaper (registered before vigil started)");
            return;
        }
        Ok(false) => {}
        Err(e) => debug!(
            "failed to read the child subreaper attribute: {}",
            log::reason(&e)
        ),
    }
    warn!(
        "vigil is not running as PID 1 and isn't registered as a child subreaper. \
         Zombie processes will not be re-parented to vigil, so zombie reaping won't work. \
         To fix the problem, use the -s option or set the environment variable \
         TINI_SUBREAPER (or VIGIL_SUBREAPER) to register vigil as a child subreaper, \
         or run vigil as PID 1."
    );
}

/// The configuration, before anything starts: every problem is printed, one
/// per line, and any error means exit 2.
fn resolve_config(opts: &RunOptions) -> Result<config::Resolved, StartError> {
    let env = |name: &str| std::env::var_os(name);
    let inputs = config::Inputs {
        file: opts.config.file.clone(),
        container: opts.config.container,
        startup: opts.config.startup.clone(),
        liveness: opts.config.liveness.clone(),
        readiness: opts.config.readiness.clone(),
        command: opts.command.clone(),
        no_default_readiness: opts.config.no_default_readiness,
        env: &env,
    };
    match config::resolve(&inputs) {
        Ok(resolved) => {
            for w in &resolved.warnings {
                warn!("{w}");
            }
            if let Some(note) = resolved.default_readiness_note() {
                notice!("{note}");
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
            Err(StartError::Config)
        }
    }
}

/// `--user`, `--drop-caps`, `--keep-caps`, `--no-new-privs`: `None` when
/// none is given. Every problem is printed, one per line, and means exit 2.
fn resolve_privileges(opts: &RunOptions) -> Result<Option<Privileges>, StartError> {
    if !privileges::requested(&opts.privileges) {
        return Ok(None);
    }
    let resolution = privileges::resolve(&opts.privileges, privileges::Own::read(), true);
    for e in &resolution.errors {
        fatal!("{e}");
    }
    match resolution.privileges {
        Some(p) => {
            if log::enabled(log::Level::Debug) {
                let groups = privileges::read_accounts_file("/etc/group").ok().flatten();
                for row in p.rows(groups.as_deref()) {
                    debug!("the command's {}", row.join(": "));
                }
            }
            Ok(Some(p))
        }
        None => Err(StartError::Config),
    }
}

/// Each configured probe, planned once (address, request, exec argv); a probe
/// host that cannot be resolved is a configuration error.
fn configure_probes(
    config: &config::Resolved,
    env: &[(OsString, OsString)],
    inherited: &Inherited,
) -> Result<PerProbe<Option<Configured>>, StartError> {
    if config::ProbeKind::ALL
        .iter()
        .all(|k| config.probe(*k).is_none())
    {
        return Ok(PerProbe::default()); // no interface to look up for a plain init
    }
    let default_host = crate::probe::host::primary_address();
    let probes = plan::configure(config, default_host, env, inherited).map_err(|(kind, e)| {
        StartError::Probe {
            key: kind.key(),
            reason: e.to_string(),
        }
    })?;
    // Said when a probe connects there (not for exec probes only).
    let uses_default = ProbeKind::ALL.iter().any(|k| {
        probes[*k]
            .as_ref()
            .and_then(|c| c.run.plan.addr())
            .is_some_and(|a| a.ip() == default_host)
    });
    if uses_default {
        notice!("probes connect to {default_host} unless a probe names its host");
    }
    Ok(probes)
}
