//! Command-line flags and `TINI_*` / `VIGIL_*` environment variables, with
//! tini's meaning. Parsing is pure: the environment comes in as a lookup
//! function so tests can give any.
//!
//! Precedence: defaults < environment < flags. `-v` adds to the verbosity the
//! environment set (or to the default 1). Configuration flags (`--config`,
//! `--startup`, ...) are only collected here; `config::resolve` merges them
//! with the file and `VIGIL_*` variables.
//!
//! `vigil check ...` (the first argument exactly `check`) is the configuration
//! checker; `vigil -- check` runs a program named `check`.

use crate::duration;
use crate::exit_status::ExpectedCodes;
use crate::privileges;
use crate::restart;
use crate::signal_name::{self, Rewrites};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

mod dumb_init;
pub use dumb_init::{is_dumb_init, parse as parse_dumb_init};

pub const USAGE: &str = "usage: vigil [-h] [-s] [-g] [-p SIGNAL] [-e EXIT_CODE] [-v] [-w] [-l] [--grace DURATION] [--rewrite FROM:TO] [--config FILE] [--container N] [--startup JSON] [--liveness JSON] [--readiness JSON] [--no-default-readiness] [--restart POLICY] [--backoff-initial DURATION] [--backoff-max DURATION] [--backoff-reset DURATION] [--max-restarts N] [--socket PATH] [--socket-mode MODE] [--socket-group GROUP] [--ready-file PATH] [--drain DURATION] [--notify] [--watchdog DURATION] [--user USER[:GROUP]] [--drop-caps all|CAP,...] [--keep-caps CAP,...] [--no-new-privs] [--version] [--] [COMMAND [ARG...]]
       vigil check [--json] [--strict] [--container N] [--no-default-readiness] [--user ...] [--drop-caps ...] [--keep-caps ...] [--no-new-privs] [FILE]
       vigil ready [--socket PATH]
       vigil status [--socket PATH] [--json]";

pub const HELP: &str = "\
vigil: a tiny init for containers that serve models and web apps.

Execute COMMAND as a child of vigil: reap zombies, forward signals, exit with its status.

Options:
  --version            Show version and exit.
  -h, --help           Show this help message and exit.
  -s                   Register as a process subreaper (requires Linux >= 3.4).
  -p SIGNAL            Trigger SIGNAL when vigil's parent dies.
  -v                   Generate more verbose output. Repeat up to 3 times.
  -w                   Print a warning when processes are getting reaped.
  -g                   Send signals to the child's process group.
  -e EXIT_CODE         Remap EXIT_CODE (0-255) to 0. Repeatable.
  -l                   Show license and exit.
  --grace DURATION     Time the command gets to stop after SIGTERM/SIGINT/SIGQUIT
                       before its process group gets SIGKILL (default 30s).
  --rewrite FROM:TO    Send signal TO when signal FROM arrives; TO=0 drops FROM.
                       Repeatable (e.g. --rewrite TERM:QUIT for nginx).
  --config FILE        Read an EAS service.json: command, port, env and probes.
  --container N        Use containers[N] of the file (default 0).
  --startup JSON       The startup probe, as an EAS probe object (overrides the file).
  --liveness JSON      The liveness probe, likewise.
  --readiness JSON     The readiness probe, likewise.
                       COMMAND, when given, overrides the file's command or script.
  --no-default-readiness
                       No readiness probe unless one is given; without it, a file that
                       names a port and no readiness_check gets the platform's default,
                       a tcp_socket probe on that port.
  --restart POLICY     Restart the command in place when it ends: always, on-failure
                       (non-zero exit, signal or probe kill) or never (default).
  --backoff-initial DURATION
                       Delay before the second restart in a row (default 10s); the
                       first is immediate, then it doubles.
  --backoff-max DURATION
                       The longest delay between restarts (default 300s).
  --backoff-reset DURATION
                       A command that ran this long starts a fresh sequence (default 600s).
  --max-restarts N     Give up after N restarts in all: exit with the status of the
                       last end (3 if a probe stopped it).
  --socket PATH        Serve readiness and status over HTTP on a Unix socket:
                       /readyz, /livez, /startupz, /status, /metrics, /events
                       (docs/status-socket.md).
  --socket-mode MODE   The socket's permissions, octal (default 0660).
  --socket-group GROUP The socket's group (default: vigil's).
  --ready-file PATH    A file that exists exactly while vigil reports ready.
  --drain DURATION     On SIGTERM, report not ready for DURATION while the command
                       still serves, then pass the signal on (default 0).
  --notify             Offer NOTIFY_SOCKET (sd_notify) to the command: its READY=1 is
                       needed for readiness, its STATUS= shows in /status.
  --watchdog DURATION  With --notify: the command must send WATCHDOG=1 this often, or
                       it is stopped like a failed liveness probe.
  --user USER[:GROUP]  Run the command and exec probes as USER, with its groups and HOME.
  --drop-caps all|CAP,...
                       Remove these capabilities from the command and exec probes.
  --keep-caps CAP,...  Give them only these capabilities, even as a --user (added back
                       after --drop-caps, as Docker's --cap-drop ALL --cap-add CAP).
  --no-new-privs       Set no_new_privs for the command and exec probes.

vigil check [--json] [--strict] [--container N] [--no-default-readiness] [FILE]
  Validate FILE (default: VIGIL_CONFIG), print the effective configuration and
  warn about settings likely to fail on EAS. Exit 0 if valid (warnings are
  printed), 2 on errors; --strict treats warnings as errors; --json for machines;
  --no-default-readiness as above.

vigil ready [--socket PATH]
  Ask a running vigil whether it is ready (for HEALTHCHECK and exec probes):
  exit 0 ready, 1 not ready (why on stderr), 2 cannot ask.
vigil status [--socket PATH] [--json]
  Print what a running vigil knows: phase, command, restarts, each probe.

Environment variables:
  TINI_SUBREAPER, VIGIL_SUBREAPER            Register as a subreaper (any value, even empty).
  TINI_VERBOSITY, VIGIL_VERBOSITY            Set the verbosity level (default: 1).
  TINI_KILL_PROCESS_GROUP, VIGIL_KILL_PROCESS_GROUP
                                             Send signals to the child's process group.
  VIGIL_GRACE                                Same as --grace.
  VIGIL_RESTART, VIGIL_BACKOFF_INITIAL, VIGIL_BACKOFF_MAX, VIGIL_BACKOFF_RESET,
  VIGIL_MAX_RESTARTS                         Same as the restart flags.
  VIGIL_CONFIG                               Same as --config.
  VIGIL_STARTUP_CHECK, VIGIL_LIVENESS_CHECK, VIGIL_READINESS_CHECK
                                             Probe objects as JSON; flags override them,
                                             they override the file.
  VIGIL_NO_DEFAULT_READINESS                 Same as --no-default-readiness (any value, even empty).
  VIGIL_SOCKET, VIGIL_READY_FILE, VIGIL_DRAIN, VIGIL_WATCHDOG
                                             Same as --socket, --ready-file, --drain, --watchdog
                                             (VIGIL_SOCKET is also where vigil ready/status ask).
  VIGIL_NOTIFY                               Same as --notify (any value, even empty).
  VIGIL_USER, VIGIL_DROP_CAPS, VIGIL_KEEP_CAPS, VIGIL_NO_NEW_PRIVS
                                             Same as --user, --drop-caps, --keep-caps and
                                             --no-new-privs (the last: any value, even empty).

Configuration precedence: defaults < file < environment < flags (docs/configuration.md).
";

pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// The highest level `VIGIL_VERBOSITY` / `TINI_VERBOSITY` takes (TRACE).
pub const MAX_VERBOSITY: u8 = 4;

/// Everything `vigil [OPTIONS] -- COMMAND` needs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    pub subreaper: bool,
    pub process_group: bool,
    pub parent_death_signal: Option<i32>,
    pub expected_codes: ExpectedCodes,
    pub verbosity: u8,
    pub warn_on_reap: bool,
    pub grace: Duration,
    pub rewrites: Rewrites,
    /// The restart policy, `initial` not yet clamped to `max` (`Policy::clamp`).
    pub restart: restart::Policy,
    pub config: ConfigFlags,
    /// Empty when the configuration file is to provide it.
    pub command: Vec<OsString>,
    /// How vigil tells others what it knows.
    pub publish: Publish,
    /// `--user`, `--drop-caps`, `--keep-caps`, `--no-new-privs`: for the
    /// command and exec probes; resolved at start-up (`privileges::resolve`).
    pub privileges: privileges::Request,
    /// What was accepted but is likely a mistake (`--max-restarts` with the
    /// policy `never`), for vigil to log as warnings before it starts.
    pub warnings: Vec<String>,
    /// Started as `dumb-init`: its behaviour (`cli/dumb_init.rs`).
    pub dumb_init: Option<DumbInit>,
}

/// What running as `dumb-init` changes, beside its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumbInit {
    /// The command runs in a new session (dumb-init's default; `-c` and
    /// `DUMB_INIT_SETSID=0` turn it off).
    pub setsid: bool,
    /// `--grace` or `VIGIL_GRACE` was given: a stop signal's grace ends in
    /// SIGKILL (dumb-init itself never sends one).
    pub grace_given: bool,
}

/// The default `--socket-mode`.
pub const DEFAULT_SOCKET_MODE: u32 = 0o660;

/// The status socket, the ready file, sd_notify and the drain on stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub socket: Option<PathBuf>,
    pub socket_mode: u32,
    /// `--socket-group`: a name or a number, looked up at start-up.
    pub socket_group: Option<String>,
    pub ready_file: Option<PathBuf>,
    /// Reported not ready for this long before a stop signal is passed on.
    pub drain: Duration,
    /// `--notify`: the command speaks sd_notify.
    pub notify: bool,
    pub watchdog: Option<Duration>,
}

impl Default for Publish {
    fn default() -> Self {
        Publish {
            socket: None,
            socket_mode: DEFAULT_SOCKET_MODE,
            socket_group: None,
            ready_file: None,
            drain: Duration::ZERO,
            notify: false,
            watchdog: None,
        }
    }
}

/// The configuration flags as given; `config::resolve` gives them meaning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFlags {
    pub file: Option<PathBuf>,
    pub container: Option<usize>,
    pub startup: Option<String>,
    pub liveness: Option<String>,
    pub readiness: Option<String>,
    /// `--no-default-readiness` or `VIGIL_NO_DEFAULT_READINESS`.
    pub no_default_readiness: bool,
}

/// `vigil check [--json] [--strict] [--container N] [--no-default-readiness] [FILE]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// `None`: `VIGIL_CONFIG`.
    pub file: Option<PathBuf>,
    pub container: Option<usize>,
    pub json: bool,
    pub strict: bool,
    /// `--no-default-readiness` or `VIGIL_NO_DEFAULT_READINESS`.
    pub no_default_readiness: bool,
    /// The privilege flags and variables, to show what the command gets.
    pub privileges: privileges::Request,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Run(Box<RunOptions>),
    Check(CheckOptions),
    /// `vigil ready ARGS`: the client parses its own arguments.
    Ready(Vec<OsString>),
    /// `vigil status ARGS`.
    Status(Vec<OsString>),
    Help,
    Version,
    License,
    /// Print `text` on stderr and exit with `code` (dumb-init's help,
    /// version and usage errors, worded as dumb-init words them).
    Say {
        text: String,
        code: u8,
    },
}

/// A usage mistake: vigil prints it with the usage line and exits 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<lexopt::Error> for UsageError {
    fn from(e: lexopt::Error) -> Self {
        UsageError(e.to_string())
    }
}

fn env_str(env: &dyn Fn(&str) -> Option<OsString>, name: &str) -> Option<String> {
    env(name).map(|v| v.to_string_lossy().into_owned())
}

/// A variable that carries a value: empty counts as unset (an `ENV X=` line).
fn env_value(env: &dyn Fn(&str) -> Option<OsString>, name: &str) -> Option<String> {
    env_str(env, name).filter(|v| !v.trim().is_empty())
}

/// The restart variables and the flag each stands for.
const RESTART_ENV: [(&str, &str); 5] = [
    ("VIGIL_RESTART", "restart"),
    ("VIGIL_BACKOFF_INITIAL", "backoff-initial"),
    ("VIGIL_BACKOFF_MAX", "backoff-max"),
    ("VIGIL_BACKOFF_RESET", "backoff-reset"),
    ("VIGIL_MAX_RESTARTS", "max-restarts"),
];

/// Sets the restart option `key` (a flag name without `--`) from `value`;
/// `source` names the flag or variable in the error.
fn restart_option(
    policy: &mut restart::Policy,
    key: &str,
    value: &str,
    source: &str,
) -> Result<(), UsageError> {
    let fail = |e: String| UsageError(format!("{source}: {e}"));
    let time = || duration::parse(value).map_err(|e| fail(e.to_string()));
    match key {
        "restart" => policy.mode = restart::Mode::parse(value).map_err(fail)?,
        "backoff-initial" => policy.initial = time()?,
        "backoff-max" => policy.max = time()?,
        "backoff-reset" => policy.reset = time()?,
        _ => {
            let n = value.trim().parse().map_err(|_| {
                fail(format!(
                    "invalid number of restarts '{value}': expected a whole number 0-{}",
                    u32::MAX
                ))
            })?;
            policy.max_restarts = Some(n);
        }
    }
    Ok(())
}

fn container_index(parser: &mut lexopt::Parser) -> Result<usize, UsageError> {
    use lexopt::ValueExt;
    let v = parser.value()?.string()?;
    v.trim().parse().map_err(|_| {
        UsageError(format!(
            "invalid --container '{v}': expected a container index (0, 1, ...)"
        ))
    })
}

/// A flag's path value, which may not be empty.
fn path_value(parser: &mut lexopt::Parser, flag: &str) -> Result<PathBuf, UsageError> {
    let v = parser.value()?;
    if v.is_empty() {
        return Err(UsageError(format!(
            "{flag}: expected a path, found nothing"
        )));
    }
    Ok(v.into())
}

/// A switch, as `TINI_SUBREAPER`: on when set, even empty.
fn no_default_readiness(env: &dyn Fn(&str) -> Option<OsString>) -> bool {
    env("VIGIL_NO_DEFAULT_READINESS").is_some()
}

fn parse_check(
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Invocation, UsageError> {
    use lexopt::prelude::*;

    let mut opts = CheckOptions {
        no_default_readiness: no_default_readiness(env),
        privileges: privileges::Request::from_env(env),
        ..CheckOptions::default()
    };
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Invocation::Help),
            Long("json") => opts.json = true,
            Long("strict") => opts.strict = true,
            Long("container") => opts.container = Some(container_index(&mut parser)?),
            Long("no-default-readiness") => opts.no_default_readiness = true,
            Long(key @ ("user" | "drop-caps" | "keep-caps")) => {
                let key = key.to_string();
                let v = parser.value()?.string()?;
                opts.privileges.set(&key, v, &format!("--{key}"));
            }
            Long("no-new-privs") => opts.privileges.no_new_privs = true,
            Value(file) if opts.file.is_none() => opts.file = Some(file.into()),
            Value(extra) => {
                return Err(UsageError(format!(
                    "vigil check takes one FILE, found another: '{}'",
                    extra.to_string_lossy()
                )))
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Invocation::Check(opts))
}

/// Where the restart limit and the policy came from, for the warning that
/// a limit without a restart policy has no effect.
#[derive(Debug, Default)]
struct Given {
    max_restarts_from: Option<&'static str>,
    mode_given: bool,
}

fn time(v: &str, source: &str) -> Result<Duration, UsageError> {
    duration::parse(v).map_err(|e| UsageError(format!("{source}: {e}")))
}

/// The run options the environment sets, before any flag. `tini_vars`: the
/// `TINI_*` names count too (not under the dumb-init personality).
fn from_env(
    env: &dyn Fn(&str) -> Option<OsString>,
    tini_vars: bool,
) -> Result<(RunOptions, Given), UsageError> {
    let either = |vigil: &'static str, tini: &'static str| {
        let names: &[&str] = if tini_vars { &[vigil, tini] } else { &[vigil] };
        names.iter().any(|n| env(n).is_some())
    };
    let mut opts = RunOptions {
        subreaper: either("VIGIL_SUBREAPER", "TINI_SUBREAPER"),
        process_group: either("VIGIL_KILL_PROCESS_GROUP", "TINI_KILL_PROCESS_GROUP"),
        parent_death_signal: None,
        expected_codes: ExpectedCodes::default(),
        verbosity: 1,
        warn_on_reap: false,
        grace: DEFAULT_GRACE,
        rewrites: Rewrites::default(),
        restart: restart::Policy::default(),
        config: ConfigFlags {
            no_default_readiness: no_default_readiness(env),
            ..ConfigFlags::default()
        },
        command: Vec::new(),
        publish: Publish {
            socket: env_value(env, "VIGIL_SOCKET").map(PathBuf::from),
            ready_file: env_value(env, "VIGIL_READY_FILE").map(PathBuf::from),
            notify: env("VIGIL_NOTIFY").is_some(),
            ..Publish::default()
        },
        privileges: privileges::Request::from_env(env),
        warnings: Vec::new(),
        dumb_init: None,
    };
    let names: &[&str] = if tini_vars {
        &["VIGIL_VERBOSITY", "TINI_VERBOSITY"]
    } else {
        &["VIGIL_VERBOSITY"]
    };
    let verbosity = names.iter().find_map(|n| env_value(env, n).map(|v| (n, v)));
    if let Some((name, v)) = verbosity {
        opts.verbosity = v
            .trim()
            .parse()
            .ok()
            .filter(|level| *level <= MAX_VERBOSITY)
            .ok_or_else(|| UsageError(format!("invalid {name} '{v}': expected a number 0-4")))?;
    }
    let given = Given {
        max_restarts_from: env_value(env, "VIGIL_MAX_RESTARTS").map(|_| "VIGIL_MAX_RESTARTS"),
        mode_given: env_value(env, "VIGIL_RESTART").is_some(),
    };
    if let Some(v) = env_value(env, "VIGIL_GRACE") {
        opts.grace = time(&v, "VIGIL_GRACE")?;
    }
    if let Some(v) = env_value(env, "VIGIL_DRAIN") {
        opts.publish.drain = time(&v, "VIGIL_DRAIN")?;
    }
    if let Some(v) = env_value(env, "VIGIL_WATCHDOG") {
        opts.publish.watchdog = Some(time(&v, "VIGIL_WATCHDOG")?);
    }
    for (name, key) in RESTART_ENV {
        if let Some(v) = env_value(env, name) {
            restart_option(&mut opts.restart, key, &v, name)?;
        }
    }
    Ok((opts, given))
}

/// vigil's own long options of a run (configuration, restart, publishing),
/// which every personality takes; `Ok(false)`: `key` is not one of them.
fn long_option(
    key: &str,
    parser: &mut lexopt::Parser,
    opts: &mut RunOptions,
    given: &mut Given,
) -> Result<bool, UsageError> {
    use lexopt::ValueExt;
    match key {
        "grace" => opts.grace = time(&parser.value()?.string()?, "--grace")?,
        "restart" | "backoff-initial" | "backoff-max" | "backoff-reset" | "max-restarts" => {
            match key {
                "max-restarts" => given.max_restarts_from = Some("--max-restarts"),
                "restart" => given.mode_given = true,
                _ => {}
            }
            let v = parser.value()?.string()?;
            restart_option(&mut opts.restart, key, &v, &format!("--{key}"))?;
        }
        "config" => opts.config.file = Some(parser.value()?.into()),
        "container" => opts.config.container = Some(container_index(parser)?),
        "startup" => opts.config.startup = Some(parser.value()?.string()?),
        "liveness" => opts.config.liveness = Some(parser.value()?.string()?),
        "readiness" => opts.config.readiness = Some(parser.value()?.string()?),
        "no-default-readiness" => opts.config.no_default_readiness = true,
        "socket" => opts.publish.socket = Some(path_value(parser, "--socket")?),
        "socket-mode" => {
            let v = parser.value()?.string()?;
            opts.publish.socket_mode = u32::from_str_radix(v.trim(), 8)
                .ok()
                .filter(|m| *m <= 0o777)
                .ok_or_else(|| {
                    UsageError(format!(
                        "invalid --socket-mode '{v}': expected octal permissions such as 0660"
                    ))
                })?;
        }
        "socket-group" => opts.publish.socket_group = Some(parser.value()?.string()?),
        "user" | "drop-caps" | "keep-caps" => {
            let v = parser.value()?.string()?;
            opts.privileges.set(key, v, &format!("--{key}"));
        }
        "no-new-privs" => opts.privileges.no_new_privs = true,
        "ready-file" => opts.publish.ready_file = Some(path_value(parser, "--ready-file")?),
        "drain" => opts.publish.drain = time(&parser.value()?.string()?, "--drain")?,
        "notify" => opts.publish.notify = true,
        "watchdog" => opts.publish.watchdog = Some(time(&parser.value()?.string()?, "--watchdog")?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// The checks across options once all are read.
fn finish(
    mut opts: RunOptions,
    given: Given,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<RunOptions, UsageError> {
    // Without a configuration file there is nowhere else a command could come from.
    let file_given =
        opts.config.file.is_some() || env_str(env, "VIGIL_CONFIG").is_some_and(|v| !v.is_empty());
    if opts.command.is_empty() && !file_given {
        return Err(UsageError("missing command: nothing to run".into()));
    }
    if let (Some(n), false) = (opts.config.container, file_given) {
        return Err(UsageError(format!(
            "--container {n} needs a configuration file: give --config FILE or set VIGIL_CONFIG"
        )));
    }
    if let (Some(w), false) = (opts.publish.watchdog, opts.publish.notify) {
        return Err(UsageError(format!(
            "--watchdog {} needs --notify: the command sends WATCHDOG=1 over sd_notify",
            duration::display(w)
        )));
    }
    if opts.publish.watchdog.is_some_and(|w| w.is_zero()) {
        opts.publish.watchdog = None;
    }
    if let (Some(source), Some(n), restart::Mode::Never) = (
        given.max_restarts_from,
        opts.restart.max_restarts,
        opts.restart.mode,
    ) {
        let default = if given.mode_given {
            ""
        } else {
            " (the default)"
        };
        opts.warnings.push(format!(
            "{source} {n} has no effect: the restart policy is never{default}, so the command \
             is not restarted; give --restart on-failure or always"
        ));
    }
    Ok(opts)
}

#[inline(never)] // not in `main`'s frame, which stays live under the event loop
pub fn parse(
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Invocation, UsageError> {
    use lexopt::prelude::*;

    match args.first().and_then(|a| a.to_str()) {
        Some("check") => return parse_check(args[1..].to_vec(), env),
        Some("ready") => return Ok(Invocation::Ready(args[1..].to_vec())),
        Some("status") => return Ok(Invocation::Status(args[1..].to_vec())),
        _ => {}
    }

    let (mut opts, mut given) = from_env(env, true)?;
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Invocation::Help),
            Long("version") => return Ok(Invocation::Version),
            Short('l') => return Ok(Invocation::License),
            Short('s') => opts.subreaper = true,
            Short('g') => opts.process_group = true,
            Short('w') => opts.warn_on_reap = true,
            Short('v') => opts.verbosity = opts.verbosity.saturating_add(1),
            Short('p') => {
                let v = parser.value()?.string()?;
                let sig = signal_name::parse(&v, false)
                    .map_err(|e| UsageError(format!("invalid -p: {e}")))?;
                opts.parent_death_signal = Some(sig);
            }
            Short('e') => {
                let v = parser.value()?.string()?;
                let code: u8 = v.trim().parse().map_err(|_| {
                    UsageError(format!("invalid -e '{v}': expected an exit code 0-255"))
                })?;
                opts.expected_codes.add(code);
            }
            Long("rewrite") => {
                let v = parser.value()?.string()?;
                opts.rewrites.add(&v).map_err(UsageError)?;
            }
            Long(key) => {
                let key = key.to_owned();
                if !long_option(&key, &mut parser, &mut opts, &mut given)? {
                    return Err(UsageError(format!("invalid option '--{key}'")));
                }
            }
            Value(first) => {
                opts.command.push(first);
                opts.command.extend(parser.raw_args()?);
                break;
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Invocation::Run(Box::new(finish(opts, given, env)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<RunOptions, UsageError> {
        let env: HashMap<String, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        match parse(os(args), &|k| env.get(k).cloned())? {
            Invocation::Run(o) => Ok(*o),
            other => panic!("expected Run, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = run(&["sleep", "1"], &[]).unwrap();
        assert_eq!(o.command, os(&["sleep", "1"]));
        assert!(!o.subreaper && !o.process_group && !o.warn_on_reap);
        assert_eq!(o.verbosity, 1);
        assert_eq!(o.grace, Duration::from_secs(30));
        assert_eq!(o.parent_death_signal, None);
    }

    #[test]
    fn tini_flags() {
        let o = run(
            &[
                "-sgwvv", "-p", "SIGTERM", "-e", "143", "-e3", "--grace", "500ms", "--", "app",
                "-s",
            ],
            &[],
        )
        .unwrap();
        assert!(o.subreaper && o.process_group && o.warn_on_reap);
        assert_eq!(o.verbosity, 3);
        assert_eq!(o.parent_death_signal, Some(libc::SIGTERM));
        assert!(o.expected_codes.contains(143) && o.expected_codes.contains(3));
        assert_eq!(o.grace, Duration::from_millis(500));
        assert_eq!(o.command, os(&["app", "-s"]));
    }

    #[test]
    fn options_after_the_command_belong_to_it() {
        let o = run(&["-s", "app", "-g", "--", "x"], &[]).unwrap();
        assert!(!o.process_group);
        assert_eq!(o.command, os(&["app", "-g", "--", "x"]));
    }

    #[test]
    fn environment() {
        let o = run(
            &["-v", "app"],
            &[
                ("TINI_SUBREAPER", ""),
                ("TINI_VERBOSITY", "2"),
                ("TINI_KILL_PROCESS_GROUP", "1"),
                ("VIGIL_GRACE", "5"),
            ],
        )
        .unwrap();
        assert!(o.subreaper && o.process_group);
        assert_eq!(o.verbosity, 3);
        assert_eq!(o.grace, Duration::from_secs(5));
        // A flag beats the environment.
        let o = run(&["--grace", "1", "app"], &[("VIGIL_GRACE", "5")]).unwrap();
        assert_eq!(o.grace, Duration::from_secs(1));
        // VIGIL_ beats TINI_.
        let o = run(
            &["app"],
            &[("TINI_VERBOSITY", "3"), ("VIGIL_VERBOSITY", "0")],
        )
        .unwrap();
        assert_eq!(o.verbosity, 0);
        // An empty value (`ENV VIGIL_GRACE=`) is unset, for every value variable.
        let empty = [
            ("VIGIL_GRACE", ""),
            ("VIGIL_VERBOSITY", " "),
            ("VIGIL_RESTART", ""),
            ("VIGIL_BACKOFF_INITIAL", ""),
            ("VIGIL_MAX_RESTARTS", ""),
        ];
        let o = run(&["app"], &empty).unwrap();
        assert_eq!((o.grace, o.verbosity), (DEFAULT_GRACE, 1));
        assert_eq!(o.restart, restart::Policy::default());
    }

    #[test]
    fn info_invocations() {
        let p = |a: &[&str]| parse(os(a), &|_| None).unwrap();
        assert_eq!(p(&["-h"]), Invocation::Help);
        assert_eq!(p(&["--help", "x"]), Invocation::Help);
        assert_eq!(p(&["--version"]), Invocation::Version);
        assert_eq!(p(&["-l"]), Invocation::License);
    }

    #[test]
    fn configuration_flags() {
        let o = run(
            &[
                "--config",
                "s.json",
                "--container",
                "1",
                "--startup",
                "{}",
                "--liveness",
                "{\"a\":1}",
                "--readiness",
                "[]",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            o.config,
            ConfigFlags {
                file: Some("s.json".into()),
                container: Some(1),
                startup: Some("{}".into()),
                liveness: Some("{\"a\":1}".into()),
                readiness: Some("[]".into()),
                no_default_readiness: false,
            }
        );
        // The file may provide the command.
        assert!(o.command.is_empty());
        let o = run(&[], &[("VIGIL_CONFIG", "/etc/service.json")]).unwrap();
        assert!(o.command.is_empty() && o.config.file.is_none());
        let o = run(&["--config", "s.json", "--", "app", "--config", "x"], &[]).unwrap();
        assert_eq!(o.command, os(&["app", "--config", "x"]));
    }

    #[test]
    fn check_subcommand() {
        let p = |a: &[&str]| parse(os(a), &|_| None);
        assert_eq!(
            p(&["check"]).unwrap(),
            Invocation::Check(CheckOptions::default())
        );
        assert_eq!(
            p(&["check", "--json", "--strict", "--container", "2", "s.json"]).unwrap(),
            Invocation::Check(CheckOptions {
                file: Some("s.json".into()),
                container: Some(2),
                json: true,
                strict: true,
                no_default_readiness: false,
                privileges: privileges::Request::default(),
            })
        );
        assert!(p(&["check", "a", "b"]).unwrap_err().0.contains("one FILE"));
        assert!(p(&["check", "--bogus"]).is_err());
        // Anywhere but first, or after `--`, `check` is a command to run.
        let Invocation::Run(o) = p(&["--", "check"]).unwrap() else {
            panic!()
        };
        assert_eq!(o.command, os(&["check"]));
    }

    #[test]
    fn usage_errors() {
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
        let table: &[Case] = &[
            (&[], &[], "missing command"),
            (&["-s"], &[], "missing command"),
            (&["--"], &[], "missing command"),
            (&["-x", "app"], &[], "invalid option '-x'"),
            (&["--bogus", "app"], &[], "invalid option '--bogus'"),
            (&["-p"], &[], "missing argument"),
            (&["-p", "SIGNOPE", "app"], &[], "unknown signal 'SIGNOPE'"),
            (&["-e", "256", "app"], &[], "invalid -e '256'"),
            (&["-e", "x", "app"], &[], "invalid -e 'x'"),
            (&["--rewrite", "TERM", "app"], &[], "expected FROM:TO"),
            (
                &["--rewrite", "TERM:BOGUS", "app"],
                &[],
                "unknown signal 'BOGUS'",
            ),
            (&["--grace", "-1", "app"], &[], "negative"),
            (&["--grace", "soon", "app"], &[], "invalid duration 'soon'"),
            (
                &["app"],
                &[("TINI_VERBOSITY", "loud")],
                "invalid TINI_VERBOSITY",
            ),
            (&["app"], &[("VIGIL_GRACE", "x")], "VIGIL_GRACE"),
            (&["app"], &[("VIGIL_RESTART", "x")], "VIGIL_RESTART"),
            (&["--container", "x", "app"], &[], "invalid --container 'x'"),
            (
                &["--container", "-1", "app"],
                &[],
                "invalid --container '-1'",
            ),
            (&["--liveness"], &[], "missing argument"),
            (&[], &[("VIGIL_CONFIG", "")], "missing command"),
            (
                &["--container", "1", "app"],
                &[],
                "--container 1 needs a configuration file: give --config FILE or set VIGIL_CONFIG",
            ),
            (
                &["--container", "0", "app"],
                &[("VIGIL_CONFIG", "")],
                "--container 0 needs a configuration file",
            ),
            (
                &["app"],
                &[("VIGIL_VERBOSITY", "9")],
                "invalid VIGIL_VERBOSITY '9': expected a number 0-4",
            ),
            (
                &["app"],
                &[("TINI_VERBOSITY", "5")],
                "invalid TINI_VERBOSITY '5': expected a number 0-4",
            ),
        ];
        for (args, env, want) in table {
            let err = run(args, env).expect_err(&format!("{args:?}"));
            assert!(
                err.0.contains(want),
                "{args:?}: {err} does not contain {want:?}"
            );
        }
    }

    #[test]
    fn no_default_readiness_from_the_flag_or_the_variable() {
        // (args, env, expected), for runs and for `vigil check`.
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], bool);
        let table: &[Case] = &[
            (&[], &[], false),
            (&["--no-default-readiness"], &[], true),
            (&[], &[("VIGIL_NO_DEFAULT_READINESS", "1")], true),
            // A switch, as TINI_SUBREAPER: set is on, even empty.
            (&[], &[("VIGIL_NO_DEFAULT_READINESS", "")], true),
            (
                &["--no-default-readiness"],
                &[("VIGIL_NO_DEFAULT_READINESS", "1")],
                true,
            ),
        ];
        let env_of = |env: &[(&str, &str)]| -> HashMap<String, OsString> {
            env.iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect()
        };
        for (args, env, want) in table {
            let run_args: Vec<&str> = args.iter().copied().chain(["app"]).collect();
            let o = run(&run_args, env).unwrap();
            assert_eq!(o.config.no_default_readiness, *want, "{args:?} {env:?}");
            let vars = env_of(env);
            let check_args: Vec<&str> = ["check"].into_iter().chain(args.iter().copied()).collect();
            let Invocation::Check(c) = parse(os(&check_args), &|k| vars.get(k).cloned()).unwrap()
            else {
                panic!("{check_args:?}: expected Check")
            };
            assert_eq!(c.no_default_readiness, *want, "check {args:?} {env:?}");
        }
        // After the command, it is the command's.
        let o = run(&["app", "--no-default-readiness"], &[]).unwrap();
        assert!(!o.config.no_default_readiness);
        // It takes no value.
        let err = run(&["--no-default-readiness=1", "app"], &[]).unwrap_err();
        assert!(err.0.contains("--no-default-readiness"), "{err}");
        let err = parse(os(&["check", "--no-default-readiness=no"]), &|_| None).unwrap_err();
        assert!(err.0.contains("--no-default-readiness"), "{err}");
    }

    #[test]
    fn privilege_flags_beat_their_variables() {
        let env = [
            ("VIGIL_USER", "1000"),
            ("VIGIL_DROP_CAPS", "all"),
            ("VIGIL_KEEP_CAPS", "chown"),
        ];
        let o = run(&["app"], &env).unwrap();
        let p = &o.privileges;
        assert_eq!(p.user.as_ref().unwrap().source, "VIGIL_USER");
        assert_eq!(p.drop_caps.as_ref().unwrap().value, "all");
        assert!(!p.no_new_privs);
        let args = [
            "--user",
            "app:video",
            "--keep-caps",
            "NET_BIND_SERVICE",
            "--no-new-privs",
            "--socket-group",
            "agents",
            "app",
            "--user",
            "x",
        ];
        let o = run(&args, &env).unwrap();
        let p = &o.privileges;
        let user = p.user.as_ref().unwrap();
        assert_eq!(
            (user.source.as_str(), user.value.as_str()),
            ("--user", "app:video")
        );
        assert_eq!(p.keep_caps.as_ref().unwrap().value, "NET_BIND_SERVICE");
        // The variable stays where no flag replaces it.
        assert_eq!(p.drop_caps.as_ref().unwrap().source, "VIGIL_DROP_CAPS");
        assert!(p.no_new_privs);
        assert_eq!(o.publish.socket_group.as_deref(), Some("agents"));
        // After the command, `--user` is the command's.
        assert_eq!(o.command, os(&["app", "--user", "x"]));
        let o = run(&["app"], &[("VIGIL_NO_NEW_PRIVS", "")]).unwrap();
        assert!(o.privileges.no_new_privs);
        // `vigil check` takes them too.
        let Invocation::Check(c) = parse(
            os(&["check", "--user", "1:2", "--drop-caps", "all"]),
            &|_| None,
        )
        .unwrap() else {
            panic!("expected Check")
        };
        assert_eq!(c.privileges.user.unwrap().value, "1:2");
        assert_eq!(c.privileges.drop_caps.unwrap().value, "all");
        assert!(run(&["--user"], &[])
            .unwrap_err()
            .0
            .contains("missing argument"));
    }

    #[test]
    fn container_with_a_configuration_file() {
        let o = run(&["--config", "s.json", "--container", "1"], &[]).unwrap();
        assert_eq!(o.config.container, Some(1));
        let o = run(&["--container", "1"], &[("VIGIL_CONFIG", "s.json")]).unwrap();
        assert_eq!(o.config.container, Some(1));
    }

    #[test]
    fn verbosity_from_the_environment_is_0_to_4() {
        for level in 0..=4u8 {
            let o = run(&["app"], &[("VIGIL_VERBOSITY", &level.to_string())]).unwrap();
            assert_eq!(o.verbosity, level);
        }
        // `-v` still adds to it.
        let o = run(&["-v", "app"], &[("TINI_VERBOSITY", "4")]).unwrap();
        assert_eq!(o.verbosity, 5);
    }

    #[test]
    fn max_restarts_without_restarts_is_a_warning() {
        // (args, env, the warning expected; None: no warning)
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], Option<&'a str>);
        let table: &[Case] = &[
            (&["app"], &[], None),
            (
                &["--max-restarts", "3", "app"],
                &[],
                Some("--max-restarts 3 has no effect: the restart policy is never (the default), so the command is not restarted; give --restart on-failure or always"),
            ),
            (
                &["--restart", "never", "--max-restarts", "3", "app"],
                &[],
                Some("--max-restarts 3 has no effect: the restart policy is never, so"),
            ),
            (
                &["app"],
                &[("VIGIL_MAX_RESTARTS", "2"), ("VIGIL_RESTART", "never")],
                Some("VIGIL_MAX_RESTARTS 2 has no effect: the restart policy is never, so"),
            ),
            (&["--restart", "on-failure", "--max-restarts", "3", "app"], &[], None),
            (&["--max-restarts", "3", "app"], &[("VIGIL_RESTART", "always")], None),
            (&["--restart", "never", "app"], &[], None),
        ];
        for (args, env, want) in table {
            let o = run(args, env).unwrap();
            match want {
                None => assert!(o.warnings.is_empty(), "{args:?}: {:?}", o.warnings),
                Some(want) => {
                    assert_eq!(o.warnings.len(), 1, "{args:?}: {:?}", o.warnings);
                    assert!(
                        o.warnings[0].starts_with(want),
                        "{args:?}: {:?}",
                        o.warnings
                    );
                }
            }
            // Still a valid invocation, the limit kept as given.
            assert!(!o.command.is_empty());
        }
    }
}
