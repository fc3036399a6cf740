//! The configuration as plain data: what to run, its environment and port,
//! and the three probes with every number resolved. Nothing here reads files
//! or runs anything; `parse` builds these types and `check --json` prints them.

use super::diagnostic::{Diagnostic, Location, Locations};
use super::sort;
use serde::{Serialize, Serializer};
use std::ffi::OsString;
use std::time::Duration;

/// Kubernetes' defaults for the five numbers of a probe.
pub const DEFAULT_INITIAL_DELAY: Duration = Duration::ZERO;
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(10);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
pub const DEFAULT_SUCCESS_THRESHOLD: u32 = 1;
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;

/// The shell `script` runs with.
pub const SHELL: &str = "/bin/sh";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// `command` from the file: the line as written and the words it splits into.
    Line { line: String, argv: Vec<String> },
    /// `script` from the file: run with `/bin/sh -c`.
    Script(String),
    /// The words given after `--` (or as positional arguments) to vigil.
    Argv(#[serde(serialize_with = "lossy_strings")] Vec<OsString>),
}

impl Command {
    /// The argv to exec.
    pub fn argv(&self) -> Vec<OsString> {
        match self {
            Command::Line { argv, .. } => argv.iter().map(OsString::from).collect(),
            Command::Script(s) => vec![SHELL.into(), "-c".into(), s.into()],
            Command::Argv(argv) => argv.clone(),
        }
    }
}

fn lossy_strings<S: Serializer>(v: &[OsString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|a| a.to_string_lossy()))
}

/// `env` entries looked up by name in O(log n): their indices sorted by name,
/// stably, so the last entry of a name (the value the command sees) ends its run.
pub struct EnvIndex<'e> {
    env: &'e [NameValue],
    by_name: Vec<usize>,
}

impl<'e> EnvIndex<'e> {
    pub fn new(env: &'e [NameValue]) -> EnvIndex<'e> {
        let by_name = sort::merge_order(env.len(), &|a, b| env[a].name <= env[b].name);
        EnvIndex { env, by_name }
    }

    /// The index in `env` of the last entry named `name`.
    pub fn last(&self, name: &str) -> Option<usize> {
        let past = sort::upper_bound(&self.by_name, &|i| self.env[i].name.as_str() > name);
        let i = *self.by_name.get(past.checked_sub(1)?)?;
        (self.env[i].name == name).then_some(i)
    }
}

/// An `env` entry or an HTTP header: both are `{"name", "value"}` in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    pub const ALL: [ProbeKind; 3] = [
        ProbeKind::Startup,
        ProbeKind::Liveness,
        ProbeKind::Readiness,
    ];

    /// The key in a container object.
    pub fn key(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startup_check",
            ProbeKind::Liveness => "liveness_check",
            ProbeKind::Readiness => "readiness_check",
        }
    }

    pub fn flag(self) -> &'static str {
        match self {
            ProbeKind::Startup => "--startup",
            ProbeKind::Liveness => "--liveness",
            ProbeKind::Readiness => "--readiness",
        }
    }

    pub fn env_var(self) -> &'static str {
        match self {
            ProbeKind::Startup => "VIGIL_STARTUP_CHECK",
            ProbeKind::Liveness => "VIGIL_LIVENESS_CHECK",
            ProbeKind::Readiness => "VIGIL_READINESS_CHECK",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startup",
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub handler: Handler,
    #[serde(rename = "initial_delay_seconds", serialize_with = "seconds")]
    pub initial_delay: Duration,
    #[serde(rename = "period_seconds", serialize_with = "seconds")]
    pub period: Duration,
    #[serde(rename = "timeout_seconds", serialize_with = "seconds")]
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
    /// Where the probe object was given (its source and JSON path).
    #[serde(skip)]
    pub at: Location,
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    if d.subsec_nanos() == 0 {
        s.serialize_u64(d.as_secs())
    } else {
        s.serialize_f64(d.as_secs_f64())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Handler {
    HttpGet(HttpGet),
    TcpSocket(TcpSocket),
    Exec(Exec),
}

impl Handler {
    /// The port the handler connects to (none for exec).
    pub fn port(&self) -> Option<u16> {
        match self {
            Handler::HttpGet(h) => Some(h.port),
            Handler::TcpSocket(t) => Some(t.port),
            Handler::Exec(_) => None,
        }
    }

    pub fn key(&self) -> &'static str {
        match self {
            Handler::HttpGet(_) => "http_get",
            Handler::TcpSocket(_) => "tcp_socket",
            Handler::Exec(_) => "exec",
        }
    }
}

/// Only plain HTTP is supported; `HTTPS` is refused as a configuration error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scheme {
    #[serde(rename = "HTTP")]
    Http,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpGet {
    pub scheme: Scheme,
    /// `None`: the container's primary non-loopback address (SPEC section 4).
    pub host: Option<String>,
    pub port: u16,
    pub path: String,
    pub http_headers: Vec<NameValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpSocket {
    pub host: Option<String>,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exec {
    /// The argv, `$(VAR)` already expanded from the command's environment.
    pub command: Vec<String>,
    /// Where `command[0]` was found on the command's PATH.
    pub program: String,
}

/// The effective configuration: every source merged, every default applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The configuration file read, if any, and the index of the container used.
    pub file: Option<String>,
    pub container: Option<usize>,
    pub command: Command,
    /// Added to (and overriding) the inherited environment, in order; includes
    /// `LISTENING_PORT` when a port is known.
    pub env: Vec<NameValue>,
    pub port: Option<u16>,
    pub startup_check: Option<Probe>,
    pub liveness_check: Option<Probe>,
    pub readiness_check: Option<Probe>,
    /// `readiness_check` is the platform's default: the file names a port and
    /// no source gave a readiness probe.
    pub default_readiness: bool,
    #[serde(skip)]
    pub warnings: Vec<Diagnostic>,
    #[serde(skip)]
    pub locations: Locations,
}

impl Resolved {
    pub fn probe(&self, kind: ProbeKind) -> Option<&Probe> {
        match kind {
            ProbeKind::Startup => self.startup_check.as_ref(),
            ProbeKind::Liveness => self.liveness_check.as_ref(),
            ProbeKind::Readiness => self.readiness_check.as_ref(),
        }
    }

    /// What `vigil check` shows and start-up logs when readiness is the
    /// platform's default.
    pub fn default_readiness_note(&self) -> Option<String> {
        let port = self.readiness_check.as_ref()?.handler.port()?;
        self.default_readiness.then(|| {
            format!(
                "readiness_check: tcp_socket port {port} (the platform's default: the service \
                 names a port and no readiness_check); --no-default-readiness or \
                 VIGIL_NO_DEFAULT_READINESS=1 turns it off"
            )
        })
    }

    pub fn argv(&self) -> Vec<OsString> {
        self.command.argv()
    }

    /// The command's environment: `inherited` with the configuration's `env`
    /// laid over it. A name is replaced in place rather than appended, since
    /// `getenv` returns the first of duplicate entries; of an `env` name given
    /// twice, the last value wins. O(n log n): each name is looked up in an
    /// index, not searched for through the whole environment.
    pub fn command_env(&self, inherited: Vec<(OsString, OsString)>) -> Vec<(OsString, OsString)> {
        let mut env = inherited;
        let index = EnvIndex::new(&self.env);
        // By the index of each name's last entry: that name was laid over.
        let mut done = vec![false; self.env.len()];
        let mut lay_over = |name: &str| {
            let i = index.last(name)?;
            if done[i] {
                return None;
            }
            done[i] = true;
            Some(OsString::from(&self.env[i].value))
        };
        for (name, value) in &mut env {
            // The first entry of a name only: it is the one `getenv` returns.
            if let Some(v) = name.to_str().and_then(&mut lay_over) {
                *value = v;
            }
        }
        for var in &self.env {
            if let Some(v) = lay_over(&var.name) {
                env.push((OsString::from(&var.name), v));
            }
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_env_of_many_names_is_not_quadratic() {
        // 100,000 inherited variables and 100,000 of the file's, half of them
        // the same names: each of the file's was looked for through every
        // inherited one (10 billion comparisons).
        let n = 100_000;
        let inherited: Vec<(OsString, OsString)> = (0..n)
            .map(|i| (format!("V{i}").into(), "inherited".into()))
            .collect();
        let r = Resolved {
            file: None,
            container: None,
            command: Command::Script("x".into()),
            env: (n / 2..n + n / 2)
                .map(|i| NameValue {
                    name: format!("V{i}"),
                    value: "file".into(),
                })
                .chain(std::iter::once(NameValue {
                    name: "V0".into(),
                    value: "again".into(),
                }))
                .collect(),
            port: None,
            startup_check: None,
            liveness_check: None,
            readiness_check: None,
            default_readiness: false,
            warnings: Vec::new(),
            locations: Locations::default(),
        };
        let env = r.command_env(inherited);
        assert_eq!(env.len(), n + n / 2);
        // In place, in order; a later entry of the same name wins.
        assert_eq!(env[0], ("V0".into(), "again".into()));
        assert_eq!(env[1], ("V1".into(), "inherited".into()));
        assert_eq!(env[n / 2], (format!("V{}", n / 2).into(), "file".into()));
        assert_eq!(env[n], (format!("V{n}").into(), "file".into()));
    }
}
